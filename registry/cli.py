"""Command line (``flask --app wsgi …``): the contracts in SPEC.md.

Each command runs in one transaction; refusals print a plain-English message
on standard error and exit with status 1, changing nothing.

Each command imports the services it runs when it runs: every process (each command, each server
worker, ``flask --help``) registers all the commands, and one runs at most one of them.
"""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, Protocol, TypeVar

import click
from flask import Flask, current_app, has_app_context
from flask.cli import AppGroup

import config as registry_config
from registry import db, spreadsheets
from registry.auth.permissions import Role
from registry.crypto import VaultError, vault
from registry.errors import RegistryError
from registry.spreadsheets import Refused, Report
from registry.vault.formats import Format

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

    from registry.audit.services import Actor


def cli_actor() -> Actor:
    from registry.audit.services import Actor

    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return Actor.system(f"command line ({who})")


def fail(message: str) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(1)


def alembic_config(url: str | None = None, instance_path: str | None = None) -> AlembicConfig:
    """Alembic's settings for the Registry's migrations on ``url`` (default: the app's database);
    migrations that move files find the instance folder in ``attributes["instance_path"]`` (the
    app's own, when there is an app).

    Alembic is imported here and in the ``db`` commands, not when the app starts: only they use it.
    """
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(db.MIGRATIONS_PATH))
    cfg.set_main_option("sqlalchemy.url", (url or db.database().url).replace("%", "%%"))
    folder = instance_path or (current_app.instance_path if has_app_context() else None)
    if folder:
        cfg.attributes["instance_path"] = folder
    return cfg


db_cli = AppGroup("db", help="The database schema (Alembic migrations).")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head). Safe to run again."""
    from alembic import command

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
    from alembic import command

    with db.database().engine.connect() as connection:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)
        connection.commit()
    click.echo(f"Database is at {revision}.")


class Imported(Protocol):
    @property
    def plan(self) -> Report[Any]: ...


Done = TypeVar("Done", bound=Imported)


def run_import(
    file: Path, dry_run: bool, plan: Callable[[bytes], Report[Any]], apply: Callable[[bytes], Done]
) -> Done | None:
    """An import from a file, as the ``users`` and ``channels`` commands run it: the report by row, and
    the changes in one transaction (None after a dry run). Refusals print the report and exit 1."""
    size = file.stat().st_size
    if size > spreadsheets.MAX_BYTES:
        fail(f"Not imported: {file} is {spreadsheets.size_text(size)}; the most one import takes is 2 MB. Split it.")
    data = file.read_bytes()
    if dry_run:
        checked = plan(data)
        db.session().rollback()
        for line in checked.lines():
            click.echo(line)
        if not checked.ok:
            fail(f"Dry run: {checked.summary()}")
        click.echo(f"Dry run, nothing changed: {checked.summary()}")
        return None
    try:
        with db.transaction():
            applied = apply(data)
    except Refused as exc:
        for line in exc.plan.lines():
            click.echo(line)
        fail(f"Not imported: {exc.plan.summary()}")
    except RegistryError as exc:
        fail(f"Not imported: {exc.message}")
    for line in applied.plan.lines(done=True):
        click.echo(line)
    return applied


users_cli = AppGroup("users", help="People who sign in.")


@users_cli.command("create")
@click.argument("email")
@click.option("--name", required=True, help="Full name.")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice([r.value for r in Role]),
    help="A role; repeat for several.",
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (required).")
@click.option(
    "--line-manager",
    "line_manager",
    metavar="EMAIL",
    help="Their line manager (an active user with the manager role): breach reports about them go there first.",
)
def users_create(email: str, name: str, roles: tuple[str, ...], password_stdin: bool, line_manager: str | None) -> None:
    """Create a user who can sign in with EMAIL."""
    from registry.auth import managers
    from registry.auth import services as accounts

    if not password_stdin:
        fail("Give the password on standard input with --password-stdin (never on the command line).")
    password = sys.stdin.readline().rstrip("\r\n")
    try:
        with db.transaction():
            manager = accounts.find_user(line_manager) if line_manager else None
            if line_manager and manager is None:
                fail(f"Not created: there is no user {line_manager} to be their line manager.")
            user = accounts.create_user(
                email=email,
                name=name,
                roles=roles,
                password=password,
                actor=cli_actor(),
                enrol_permit=True,
            )
            if manager is not None:
                managers.set_line_manager(user, manager, actor=cli_actor())
    except RegistryError as exc:
        details = getattr(exc, "errors", None) or {"": exc.message}
        fail("Not created: " + " ".join(details.values()))
    click.echo(
        f"Created {user.email} with roles {', '.join(sorted(roles))}"
        + (f" and line manager {manager.email}." if manager is not None else ".")
    )


@users_cli.command("deactivate")
@click.argument("email")
def users_deactivate(email: str) -> None:
    """A leaver: they are signed out everywhere and can no longer sign in."""
    from registry.auth import services as accounts

    try:
        with db.transaction():
            user = accounts.find_user(email)
            if user is None:
                fail(f"There is no user {email}.")
            report = accounts.deactivate(user, actor=cli_actor())
    except RegistryError as exc:
        fail(exc.message)
    click.echo(f"Deactivated {email}; their sessions and tokens no longer work.")
    click.echo(report.summary(), err=True)


@users_cli.command("break-glass")
@click.argument("email")
@click.option("--on/--off", "on", required=True, help="Make it a break-glass account, or no longer one.")
def users_break_glass(email: str, on: bool) -> None:
    """An emergency account that may sign in with its password when REGISTRY_LOCAL_SIGN_IN is break-glass
    (for when the identity provider is down). Keep few, with strong passwords and two-factor sign-in."""
    from registry.auth import services as accounts

    try:
        with db.transaction():
            user = accounts.find_user(email)
            if user is None:
                fail(f"There is no user {email}.")
            changed = accounts.set_break_glass(user, on, actor=cli_actor())
    except RegistryError as exc:
        fail(exc.message)
    if not changed:
        click.echo(f"{email} was already {'a' if on else 'not a'} break-glass account; nothing changed.")
    else:
        click.echo(f"{email} is {'now' if on else 'no longer'} a break-glass account.")


@users_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and report what each row would do; change nothing.")
@click.option(
    "--send-setup-links",
    is_flag=True,
    help="E-mail each new user a single-use set-up link (24 hours) to choose a password. Off by default: "
    "with NHSmail sign-in they need none, and a first import may be thousands of people.",
)
def users_import(file: Path, dry_run: bool, send_setup_links: bool) -> None:
    """Create or update users from FILE, a CSV file with a header row (an ESR export, say).

    \b
    Columns (case, spaces and underscores do not matter; other columns are ignored and named):
      email               required; who the row is about
      name                required; their full name
      roles               optional; staff, manager, comms, auditor, admin, hr, on-call (separated by ; , | or spaces)
      line manager email  optional; an existing user or someone in the file, with the manager role

    \b
    A new address makes a user with no password and the roles named (staff when none). They sign in
    with NHSmail where it is set up; otherwise send them set-up links (--send-setup-links, or one at a
    time with `users setup-link EMAIL`).
    An existing user gets the file's name and line manager (an empty cell: none; without the column,
    line managers are left alone) and the roles named that they lack. Roles are never removed.
    Privileged roles (comms, admin, auditor, hr) are granted at once: this is the system operator's tool.

    \b
    All or nothing: every problem of every row is reported with its row number (the header is row 1)
    and nothing changes unless there are none. Running the same file again changes nothing.
    Text must be UTF-8 (with or without a byte-order mark); at most 2 MB and 20,000 people.
    """
    from registry.auth import importing
    from registry.notifications import services as notifications

    if send_setup_links and not notifications.smtp_configured():
        fail(
            "Not imported: this Registry has no e-mail server, so set-up links cannot be e-mailed. Print one for "
            "a person with `flask --app wsgi users setup-link EMAIL`."
        )
    applied = run_import(
        file,
        dry_run,
        lambda data: importing.plan(data, actor=cli_actor()),
        lambda data: importing.apply(data, actor=cli_actor(), send_setup_links=send_setup_links, source="command line"),
    )
    if applied is not None:
        links = f" {applied.setup_links} set-up links e-mailed." if send_setup_links else ""
        click.echo(f"Imported: {applied.plan.summary()}{links}")


channels_cli = AppGroup("channels", help="Channels: the Trust's social media accounts.")


@channels_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and report what each row would do; change nothing.")
def channels_import(file: Path, dry_run: bool) -> None:
    """Bring the Trust's existing accounts into the registry from FILE, a CSV or XLSX inventory.

    \b
    Columns (first row; case, spaces and underscores do not matter; other columns are ignored and named):
      url                 required; the account's web address or handle
      platform            needed when url is a handle rather than a web address
      display name, department, purpose, audience
                          required for official accounts, as on a request
      sponsor             required; the email address of the member of staff responsible (a user)
      administrators      optional; users' email addresses separated by ;, each with its platform
                          role in brackets if not admin: jo.bloggs@nhs.net (editor); sam.lee@nhs.net
      next review date    optional; 31/03/2027 or 2027-03-31 (default: a year from today)
      official            optional; "no" records the account for monitoring instead (with evidence)
      evidence            for unofficial accounts: why it looks like the Trust's

    \b
    Each official account becomes an active channel with its sponsor as requester, its administrators
    on the roster, a history step "Imported from FILE row N" and one audit event. An account already in
    the registry is left as it is, so running the same file again creates nothing.
    All or nothing: every problem of every row is reported with its row number (the header is row 1)
    and nothing changes unless there are none. At most 2 MB and 20,000 accounts.
    """
    from registry.channels import importing as inventory

    applied = run_import(
        file, dry_run, inventory.plan, lambda data: inventory.apply(data, actor=cli_actor(), filename=file.name)
    )
    if applied is not None:
        click.echo(f"Imported: {applied.plan.summary()}")


@users_cli.command("setup-link")
@click.argument("email")
def users_setup_link(email: str) -> None:
    """Print a new single-use set-up link for EMAIL (24 hours; earlier links stop working).

    For a Registry without an e-mail server, or a link that never arrived: hand it to the person
    yourself. With it they choose a password (if they have none) and set up two-factor sign-in.
    """
    from registry.auth import services as accounts
    from registry.auth import setup_links
    from registry.auth.models import SetupReason

    try:
        with db.transaction():
            user = accounts.find_user(email)
            if user is None:
                fail(f"There is no user {email}.")
            link = setup_links.issue(user, SetupReason.OPERATOR, actor=cli_actor(), send=False)
            address = setup_links.address(link)
    except RegistryError as exc:
        fail(exc.message)
    click.echo(address)
    click.echo(
        f"Give this link to {user.name} only; it works once, until {link.expires_at:%d %B %Y %H:%M} UTC.", err=True
    )


credentials_cli = AppGroup("credentials", help="Channels' secrets in custody.")


@credentials_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "file_format",
    required=True,
    type=click.Choice([f.value for f in Format]),
    help="keepass: a KeePass database (KDBX 3 or 4); bitwarden-json: Bitwarden's unencrypted JSON export; "
    "csv: columns url, username, password, totp, notes (Bitwarden's CSV names are accepted too).",
)
@click.option("--dry-run", is_flag=True, help="Read the file and report what each entry would do; store nothing.")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the KeePass database's password from the first line of standard input (otherwise it is asked for).",
)
def credentials_import(file: Path, file_format: str, dry_run: bool, password_stdin: bool) -> None:
    """Take existing secrets into custody from FILE, matching each entry to a channel by its web address.

    \b
    Kept: passwords, two-factor (TOTP) seeds (otpauth:// addresses, KeePassXC's otp attribute, the older
    "TOTP Seed" fields), notes, and fields named "recovery codes", "recovery email", "recovery phone".
    User names are not kept: the report says "username present".
    An entry whose address matches no live channel (or a retired one), or that has nothing to keep, is
    reported and skipped; choose its channel on the page (/credentials/import) instead.

    \b
    All or nothing: every problem is reported with its entry (or CSV row) number and nothing is stored
    unless there are none. A secret the channel already holds is unchanged: running the same file again
    stores nothing. No secret is ever printed.
    """
    from registry.vault import importing as secrets_import

    chosen = Format(file_format)
    size = file.stat().st_size
    if size > secrets_import.MAX_BYTES:
        fail(f"Not imported: {file} is {spreadsheets.size_text(size)}; the most one import takes is 5 MB.")
    password: str | None = None
    if chosen is Format.KEEPASS:
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = click.prompt("KeePass password", hide_input=True, err=True)
    data = file.read_bytes()
    try:
        if dry_run:
            checked = secrets_import.plan(data, chosen, password=password)
            db.session().rollback()
        else:
            with db.transaction():
                checked = secrets_import.apply(
                    data, chosen, password=password, actor=cli_actor(), source="command line"
                )
    except secrets_import.Refused as exc:
        for line in secrets_import.report_lines(exc.plan):
            click.echo(line)
        fail(f"Not imported: {exc.plan.summary()}")
    except RegistryError as exc:
        fail(f"Not imported: {exc.message}")
    for line in secrets_import.report_lines(checked, done=not dry_run):
        click.echo(line)
    if not checked.ok:
        fail(f"Dry run: {checked.summary()}")
    if dry_run:
        click.echo(f"Dry run, nothing stored: {checked.summary()}")
    else:
        click.echo(f"Imported: {checked.summary(done=True)}")


@credentials_cli.command("assess")
@click.option(
    "--batch-size",
    default=500,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="Passwords assessed per transaction.",
)
def credentials_assess(batch_size: int) -> None:
    """Work out password health for every stored secret (in memory; prints none).

    \b
    Every channel's current password is decrypted in memory and judged again: weak (under
    12 characters or easy to guess), its keyed fingerprint under the first REGISTRY_FINGERPRINT_KEYS key
    (for reuse across channels), and known breached (REGISTRY_BREACHED_PASSWORDS_FILE, when set). Other
    kinds of secret are not assessed. Prints counts only; one audit event (credential:assess) is written
    with the first batch. Each batch commits whole: safe to interrupt, and a rerun assesses everything again.
    """
    from registry.audit.models import AuditAction
    from registry.audit.services import record
    from registry.vault import health as password_health
    from registry.vault import services as custody

    after = total = 0
    try:
        while True:
            with db.transaction():
                if total == 0:
                    record(
                        AuditAction.CREDENTIAL_ASSESS,
                        "vault",
                        "passwords",
                        {
                            "fingerprint_key_id": password_health.fingerprint_key().key_id,
                            "breached_list": password_health.breach_list_configured(),
                        },
                        actor=cli_actor(),
                    )
                after, done = password_health.assess_batch(after, batch_size, custody.open_version)
            total += done
            if done < batch_size:
                break
            click.echo(f"Assessed {total} so far.", err=True)
    except RegistryError as exc:
        fail(f"Stopped after assessing {total}: {exc.message}")
    found = password_health.summary()
    db.session().rollback()
    click.echo(f"Assessed {total} password{'' if total == 1 else 's'}.")
    click.echo(
        f"Of {found.passwords} passwords of channels with an account: {found.weak} weak, {found.reused} reused on "
        f"another channel, {found.old} past their rotation date, "
        + (
            f"{found.breached} known breached ({found.breach_unchecked} could not be checked)."
            if password_health.breach_list_configured()
            else "breach not checked (REGISTRY_BREACHED_PASSWORDS_FILE is not set)."
        )
    )
    if found.not_assessed:
        click.echo(f"{found.not_assessed} not assessed.")


tokens_cli = AppGroup("tokens", help="API tokens.")


@tokens_cli.command("create")
@click.argument("email")
def tokens_create(email: str) -> None:
    """Print a new API token for EMAIL (one line; shown only once)."""
    from registry.auth import services as accounts

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
    """Check every event's link, the anchor, and the trail against every signed checkpoint of this
    database's chain in REGISTRY_AUDIT_CHECKPOINT_FILE; exit 1 naming the first broken event (or line)."""
    from registry import alerts
    from registry.audit.services import verify_chain

    report = verify_chain()
    db.session().rollback()
    if not report.ok:
        with db.transaction():  # the alert is sent as this commits
            alerts.raise_alert(
                alerts.AlertEvent.AUDIT_VERIFICATION_FAILED,
                title="The audit trail failed verification",
                text=f"`audit verify` found: {report.describe()} Investigate before trusting the trail.",
                link="/audit",
                facts={"Checked by": "audit verify (command line)"},
            )
        fail(report.describe())
    click.echo(
        f"{report.checked} events checked; the chain is intact (head {report.head_hash}). {report.checkpoint_summary()}"
    )


@audit_cli.command("checkpoint")
def audit_checkpoint() -> None:
    """Append a signed checkpoint of the audit chain's head to REGISTRY_AUDIT_CHECKPOINT_FILE and the log.

    Run it from a timer (a systemd timer or cron job, every 15 minutes say): a database administrator
    could remove the events written since the last checkpoint without trace, so the interval bounds
    what can be lost. Each line is also logged at INFO for a SIEM. It refuses (exit 1, nothing written)
    when the head contradicts itself or an earlier checkpoint; `audit verify` then names the damage.
    """
    from registry.audit.chain import CheckpointRefused, take_checkpoint

    try:
        checkpoint, path = take_checkpoint()
    except CheckpointRefused as exc:
        db.session().rollback()
        fail(str(exc))
    except OSError as exc:
        db.session().rollback()
        path = current_app.extensions["registry.settings"].audit_checkpoint_file
        fail(f"Could not append to the checkpoint file {path}: {exc.strerror or exc}.")
    click.echo(f"Checkpoint of event {checkpoint.seq} (hash {checkpoint.hash}) appended to {path}.")


keys_cli = AppGroup("keys", help="Vault master keys.")


@keys_cli.command("generate")
def keys_generate() -> None:
    """Print a new KEY_ID:KEY entry for REGISTRY_MASTER_KEYS."""
    click.echo(registry_config.generate_master_key_entry())


@keys_cli.command("rotate")
@click.option(
    "--batch-size",
    # Each batch costs the same six statements, a commit flushed to disk and an audit event; ten
    # thousand rewraps hold their row locks (which nothing but rotation takes) for well under a second.
    default=10_000,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Secrets rewrapped per transaction.",
)
def keys_rotate(batch_size: int) -> None:
    """Rewrap every data key under the first master key, a batch per transaction.

    Safe to interrupt (even kill -9) and run again: each batch commits whole or not at all.
    """
    from registry.audit.models import AuditAction
    from registry.audit.services import record
    from registry.vault import services as custody

    primary = vault().primary_key_id
    rotation = custody.KeyRotation()
    total = 0
    try:
        while True:
            with db.transaction():
                done = rotation.batch(batch_size)
                if done:
                    record(AuditAction.KEYS_ROTATE, "vault", primary, {"rewrapped": done}, actor=cli_actor())
            if not done:
                break
            total += done
            click.echo(f"Rewrapped {total} so far.", err=True)
    except VaultError as exc:
        fail(f"Stopped after rewrapping {total}: {exc}")
    remaining = custody.remaining_by_key()
    db.session().rollback()
    click.echo(f"Rewrapped {total} data key{'' if total == 1 else 's'} under {primary}.")
    click.echo("Secrets under each key id: " + (", ".join(f"{k}: {n}" for k, n in sorted(remaining.items())) or "none"))


@keys_cli.command("verify")
def keys_verify() -> None:
    """Decrypt every stored secret in memory (printing none); exit 1 naming each one that fails."""
    from registry.vault import services as custody

    checked, failures = custody.verify_all()
    db.session().rollback()
    if failures:
        for failure in failures:
            click.echo(failure, err=True)
        fail(f"{len(failures)} of {checked} secrets could not be decrypted.")
    click.echo(f"{checked} secrets decrypted; all can be read.")


roster_cli = AppGroup("roster", help="The administrator roster.")


@roster_cli.command("expire")
def roster_expire() -> None:
    """End every grant past its expiry date, flagging its channel's credentials for rotation (run daily)."""
    from registry.roster import services as roster

    with db.transaction():
        ended = roster.expire_due()
    click.echo(f"{ended} roster grant{'' if ended == 1 else 's'} expired.")


reminders_cli = AppGroup("reminders", help="Reminders of what is due.")


@reminders_cli.command("send")
def reminders_send() -> None:
    """Send the day's reminders (run daily) and retry e-mail (and webhook alerts) that could not be sent before."""
    from registry.alerts import services as alert_services
    from registry.notifications import reminders
    from registry.notifications import services as notifications

    with db.transaction():
        report = reminders.send()
    # Today's messages went out as the transaction committed; this retries earlier ones (and any alert
    # to a webhook whose wait is over, should the `alerts send` timer be missing).
    notifications.deliver(db.session())
    alert_services.deliver(db.session())
    click.echo(report.summary(reminders.delivery_of(report.ids)))


alerts_cli = AppGroup("alerts", help="Alerts sent to webhooks (Teams, Slack, signed JSON).")


@alerts_cli.command("send")
def alerts_send() -> None:
    """Retry webhook deliveries whose wait after a refusal is over (run every minute or so from a timer).

    Alerts are sent as their change commits; this sends those a receiver refused, after a backoff of
    1, 5 and 15 minutes, then 1 and 4 hours, and gives up after 6 tries. Prints counts, never a body.
    """
    from registry.alerts import services as alert_services

    report = alert_services.deliver(db.session())
    click.echo(
        f"Webhook deliveries: {report.sent} sent, {report.waiting} waiting to be retried, {report.failed} failed; "
        f"{alert_services.waiting()} waiting in all."
    )


report_cli = AppGroup("report", help="The monthly report to senior management and the Board (policy 11.2).")


@report_cli.command("generate")
@click.argument("month")
@click.option(
    "--format",
    "output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: print the report's figures as JSON on standard output (and nothing else).",
)
def report_generate(month: str, output: str) -> None:
    """Build the draft of MONTH's report (YYYY-MM), or build it again. An issued report is never rebuilt."""
    from registry.reports import services as reports

    try:
        with db.transaction():
            report = reports.generate(month, cli_actor())
    except RegistryError as exc:
        details = getattr(exc, "errors", None) or {"": exc.message}
        fail("Not generated: " + " ".join(details.values()))
    done = f"Draft report for {reports.month_label(report.month)} generated (SHA-256 {report.sha256})."
    if output == "json":
        click.echo(json.dumps(report.figures, indent=2, sort_keys=True))
        click.echo(done, err=True)
    else:
        click.echo(done)


@report_cli.command("show")
@click.argument("month")
def report_show(month: str) -> None:
    """Print MONTH's report (draft or issued) as it is stored: its figures as JSON."""
    from registry.reports import services as reports

    try:
        report = reports.get(month)
    except RegistryError as exc:
        fail(exc.message)
    click.echo(json.dumps(report.figures, indent=2, sort_keys=True))
    click.echo(
        f"{report.status_enum.label} report for {reports.month_label(report.month)} (SHA-256 {report.sha256}).",
        err=True,
    )
    db.session().rollback()


retention_cli = AppGroup("retention", help="Retention periods of personal data.")


@retention_cli.command("apply")
def retention_apply() -> None:
    """Anonymise what has passed its retention period: breach reports closed more than
    REGISTRY_BREACH_RETENTION_YEARS (default 6) years ago. Run it daily; running it again changes nothing."""
    from registry.breaches import services as breaches

    with db.transaction():
        result = breaches.apply_retention(cli_actor())
    closed_before = result.closed_before.date().isoformat()
    click.echo(
        f"{result.anonymised} breach report{'' if result.anonymised == 1 else 's'} closed before {closed_before} "
        f"anonymised; {result.files_removed} evidence file{'' if result.files_removed == 1 else 's'} removed."
    )


demo_cli = AppGroup("demo", help="Demonstration data.")


@demo_cli.command("seed")
def demo_seed() -> None:
    """Load a realistic demo data set into an empty database (never in production)."""
    from registry import demo

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
    """Print the demo users' e-mail addresses and passwords, and a fresh set-up link for each privileged
    demo user who has not yet set up two-factor sign-in (which needs the link, not just the password)."""
    from registry import demo

    if current_app.extensions["registry.settings"].is_production:
        fail("Demo sign-ins are never printed in production.")
    with db.transaction():
        text = demo.sign_ins_text(Path(current_app.instance_path), cli_actor())
    click.echo(text)


def init_app(app: Flask) -> None:
    groups = (
        db_cli,
        users_cli,
        credentials_cli,
        channels_cli,
        tokens_cli,
        audit_cli,
        keys_cli,
        roster_cli,
        reminders_cli,
        alerts_cli,
        report_cli,
        retention_cli,
        demo_cli,
    )
    for group in groups:
        app.cli.add_command(group)
