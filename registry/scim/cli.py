"""``flask --app wsgi scim token create|list|revoke``: the provisioning client's bearer tokens.

Each command imports the services when it runs (as in ``registry.cli``).
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from registry import db
from registry.cli import cli_actor, fail
from registry.errors import RegistryError

scim_cli = AppGroup("scim", help="Provisioning by the identity provider (SCIM 2.0).")
token_cli = AppGroup("token", help="Bearer tokens of the provisioning client.")
scim_cli.add_command(token_cli)


@token_cli.command("create")
@click.option("--label", default="Entra ID", show_default=True, help="Names the provisioning client.")
def token_create(label: str) -> None:
    """Print a new bearer token for the provisioning client (one line; shown only once)."""
    from registry.scim import services

    try:
        with db.transaction():
            _token, value = services.create_token(label, actor=cli_actor())
    except RegistryError as exc:
        fail(exc.message)
    click.echo(value)


@token_cli.command("list")
def token_list() -> None:
    """Each token: its number, label, first characters, when made, last used and revoked."""
    from registry.scim import services

    for token in services.tokens():
        used = f"last used {token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never used"
        state = f"revoked {token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "live"
        click.echo(
            f"{token.id}\t{token.label}\t{token.prefix}…\tmade {token.created_at:%Y-%m-%d %H:%M}\t{used}\t{state}"
        )


@token_cli.command("revoke")
@click.argument("token_id", type=int)
def token_revoke(token_id: int) -> None:
    """Stop token TOKEN_ID (its number in ``scim token list``) working at once."""
    from registry.scim import services

    try:
        with db.transaction():
            token = services.revoke_token(token_id, actor=cli_actor())
    except RegistryError as exc:
        fail(exc.message)
    click.echo(f"Revoked SCIM token {token.id} ({token.label}).")
