"""Command line (``flask --app wsgi …``): the contracts in SPEC.md.

Each command runs in one transaction; refusals print a plain-English message
on standard error and exit with status 1, changing nothing.
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

import click
from alembic import command
from alembic.config import Config as AlembicConfig
from flask import Flask, current_app
from flask.cli import AppGroup

import config as registry_config
from registry import db, demo
from registry.audit.services import Actor, verify_chain
from registry.auth import services as accounts
from registry.auth.permissions import Role
from registry.errors import RegistryError


def cli_actor() -> Actor:
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return Actor.system(f"command line ({who})")


def fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)


def alembic_config(url: str | None = None) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(db.MIGRATIONS_PATH))
    cfg.set_main_option("sqlalchemy.url", (url or db.database().url).replace("%", "%%"))
    return cfg


db_cli = AppGroup("db", help="The database schema (Alembic migrations).")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head). Safe to run again."""
    with db.database().engine.connect() as connection:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)
        connection.commit()
    click.echo(f"Database is at {revision}.")


@db_cli.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (for example 'base')."""
    with db.database().engine.connect() as connection:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)
        connection.commit()
    click.echo(f"Database is at {revision}.")


users_cli = AppGroup("users", help="People who sign in.")


@users_cli.command("create")
@click.argument("email")
@click.option("--name", required=True, help="Full name.")
@click.option(
    "--role", "roles", multiple=True, required=True, type=click.Choice([r.value for r in Role]),
    help="A role; repeat for several.",
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (required).")
def users_create(email: str, name: str, roles: tuple[str, ...], password_stdin: bool) -> None:
    """Create a user who can sign in with EMAIL."""
    if not password_stdin:
        fail("Give the password on standard input with --password-stdin (never on the command line).")
    password = sys.stdin.readline().rstrip("\r\n")
    try:
        with db.transaction():
            user = accounts.create_user(email=email, name=name, roles=roles, password=password, actor=cli_actor())
    except RegistryError as exc:
        details = getattr(exc, "errors", None) or {"": exc.message}
        fail("Not created: " + " ".join(details.values()))
    click.echo(f"Created {user.email} with roles {', '.join(sorted(roles))}.")


@users_cli.command("deactivate")
@click.argument("email")
def users_deactivate(email: str) -> None:
    """A leaver: they are signed out everywhere and can no longer sign in."""
    try:
        with db.transaction():
            user = accounts.find_user(email)
            if user is None:
                fail(f"There is no user {email}.")
            accounts.deactivate(user, actor=cli_actor())
    except RegistryError as exc:
        fail(exc.message)
    click.echo(f"Deactivated {email}; their sessions and tokens no longer work.")


tokens_cli = AppGroup("tokens", help="API tokens.")


@tokens_cli.command("create")
@click.argument("email")
def tokens_create(email: str) -> None:
    """Print a new API token for EMAIL (one line; shown only once)."""
    try:
        with db.transaction():
            user = accounts.find_user(email)
            if user is None:
                fail(f"There is no user {email}.")
            _token, value = accounts.create_token(user, actor=cli_actor())
    except RegistryError as exc:
        fail(exc.message)
    click.echo(value)


audit_cli = AppGroup("audit", help="The audit trail.")


@audit_cli.command("verify")
def audit_verify() -> None:
    """Check every event's hash and link; exit 1 naming the first broken event."""
    report = verify_chain()
    db.session().rollback()
    if not report.ok:
        fail(report.describe())
    click.echo(f"{report.checked} events checked; the chain is intact (head {report.head_hash}).")


keys_cli = AppGroup("keys", help="Vault master keys.")


@keys_cli.command("generate")
def keys_generate() -> None:
    """Print a new KEY_ID:KEY entry for REGISTRY_MASTER_KEYS."""
    click.echo(registry_config.generate_master_key_entry())


demo_cli = AppGroup("demo", help="Demonstration data.")


@demo_cli.command("seed")
def demo_seed() -> None:
    """Load a realistic demo data set into an empty database (never in production)."""
    settings = current_app.extensions["registry.settings"]
    if settings.is_production:
        fail("Demo data is never loaded in production.")
    try:
        with db.transaction():
            created = demo.seed(Path(current_app.instance_path))
    except RegistryError as exc:
        fail(exc.message)
    click.echo("Demo data loaded." if created else "Demo data already present: nothing changed.")


@demo_cli.command("sign-ins")
def demo_sign_ins() -> None:
    """Print the demo users' e-mail addresses and passwords."""
    click.echo(demo.sign_ins_text(Path(current_app.instance_path)))


def init_app(app: Flask) -> None:
    for group in (db_cli, users_cli, tokens_cli, audit_cli, keys_cli, demo_cli):
        app.cli.add_command(group)
