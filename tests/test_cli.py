"""The command-line contracts of SPEC (``flask --app wsgi …``), run as an operator would.

Each command runs in an app context of its own, as in a separate process. ``db
upgrade`` needs a database of its own and is tested in ``test_migrations.py``.
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

import config as registry_config
from registry import create_app, db
from registry.audit.models import AuditAnchor, AuditEvent
from registry.auth import services as accounts
from registry.auth.models import ApiToken, User
from registry.auth.permissions import Role
from registry.channels.models import Channel
from registry.channels.workflow import ChannelStatus
from registry.monitoring.models import UnauthorisedAccount
from tests.conftest import (
    TEST_PASSWORD,
    Browser,
    csrf_token,
    settings_for,
)

STRONG = "plum orbit lantern seventeen"


def invoke(app: Flask, *args: str, input: str | None = None) -> Result:
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args), input=input)


def events(connection: Connection) -> int:
    return connection.execute(select(AuditAnchor.seq)).scalar_one()


def find(email: str) -> User | None:
    db.session().expire_all()
    return accounts.find_user(email)


# --- users create -----------------------------------------------------------------------------


def test_users_create_reads_the_password_from_stdin(app: Flask, connection: Connection) -> None:
    """The new user has every role given and can sign in with the password piped in."""
    result = invoke(
        app,
        "users",
        "create",
        "New.Person@Example.NHS.uk",
        "--name",
        "New Person",
        "--role",
        "comms",
        "--role",
        "auditor",
        "--password-stdin",
        input=STRONG + "\n",
    )

    assert result.exit_code == 0, result.output
    assert result.stdout == "Created new.person@example.nhs.uk with roles auditor, comms.\n"
    user = find("new.person@example.nhs.uk")
    assert user is not None
    assert {r.value for r in user.roles} == {"comms", "auditor"}
    assert STRONG not in (user.password_hash or "")
    client = app.test_client()
    signed_in = client.post("/login", data={"email": user.email, "password": STRONG, "csrf_token": csrf_token(client)})
    assert signed_in.status_code == 302
    event = connection.execute(
        select(AuditEvent).where(AuditEvent.action == "user:create").order_by(AuditEvent.seq.desc()).limit(1)
    ).one()
    assert event.actor.startswith("command line (")
    assert STRONG not in event.details


WEAK = ["weak@example.nhs.uk", "--name", "Weak", "--role", "staff", "--password-stdin"]
REFUSALS = [
    (WEAK, "password123", "Not created: Your password must be at least 12 characters long."),
    (WEAK, "password1234", "Not created: That password is one of the most commonly used passwords. Choose another."),
    (WEAK, "aaaaaaaaaaaaaaaa", "Not created: That password is too easy to guess."),
    (
        ["not-an-email", *WEAK[1:]],
        STRONG,
        "Not created: Enter an email address in the correct format, like name@example.nhs.uk",
    ),
    ([WEAK[0], "--name", "   ", *WEAK[3:]], STRONG, "Not created: Enter the person's full name."),
    (WEAK[:-1], STRONG, "Give the password on standard input with --password-stdin (never on the command line)."),
]


def test_users_create_refuses_with_a_message_and_creates_nothing(app: Flask, connection: Connection) -> None:
    """A weak password, a bad address, no name or no ``--password-stdin``: exit 1 with a plain-English
    message on stderr (never echoing the password), and nothing changes."""
    before = events(connection)
    for args, password, message in REFUSALS:
        result = invoke(app, "users", "create", *args, input=password + "\n")
        assert result.exit_code == 1, message
        assert result.stdout == ""
        assert result.stderr.startswith(message), result.stderr
        assert password not in result.stderr
    assert find("weak@example.nhs.uk") is None
    assert events(connection) == before


def test_users_create_refuses_a_duplicate_and_an_unknown_role(
    app: Flask,
    connection: Connection,
    make_user: Callable[..., User],
) -> None:
    """An e-mail already in use exits 1; a role outside the vocabulary is a usage error (exit 2)."""
    existing = make_user("staff")
    before = events(connection)

    duplicate = invoke(
        app,
        "users",
        "create",
        existing.email.upper(),
        "--name",
        "Again",
        "--role",
        "staff",
        "--password-stdin",
        input=STRONG + "\n",
    )
    unknown = invoke(
        app,
        "users",
        "create",
        "someone@example.nhs.uk",
        "--name",
        "Someone",
        "--role",
        "superuser",
        "--password-stdin",
        input=STRONG + "\n",
    )

    assert duplicate.exit_code == 1
    assert "There is already a user with this email address." in duplicate.stderr
    assert unknown.exit_code == 2
    assert "superuser" in unknown.stderr
    assert events(connection) == before


# --- users deactivate -------------------------------------------------------------------------


def test_users_deactivate_signs_a_leaver_out_everywhere(
    app: Flask,
    connection: Connection,
    make_user: Callable[..., User],
    browser_as: Callable[..., Browser],
    api_token: Callable[[User], dict[str, str]],
) -> None:
    """A leaver's browser session and API tokens stop working at once, and they cannot sign in again."""
    leaver = make_user("comms")
    browser = browser_as(user=leaver)
    headers = api_token(leaver)
    assert browser.get("/account").status_code == 200
    assert app.test_client().get("/api/v1/channels", headers=headers).status_code == 200

    result = invoke(app, "users", "deactivate", leaver.email)

    assert result.exit_code == 0, result.output
    assert result.stdout == f"Deactivated {leaver.email}; their sessions and tokens no longer work.\n"
    assert browser.get("/account").status_code == 302
    assert app.test_client().get("/api/v1/channels", headers=headers).status_code == 401
    client = app.test_client()
    again = client.post(
        "/login", data={"email": leaver.email, "password": TEST_PASSWORD, "csrf_token": csrf_token(client)}
    )
    assert again.status_code == 200
    assert "Enter a correct email address and password." in again.get_data(as_text=True)
    last = connection.execute(
        select(AuditEvent.action, AuditEvent.object_id).where(AuditEvent.action == "user:deactivate")
    ).one()
    assert last.object_id == str(leaver.id)


def test_users_deactivate_refuses_unknown_and_already_deactivated_users(
    app: Flask,
    connection: Connection,
    make_user: Callable[..., User],
) -> None:
    """Exit 1 with a message; nothing is recorded."""
    user = make_user("staff")
    assert invoke(app, "users", "deactivate", user.email).exit_code == 0
    before = events(connection)

    unknown = invoke(app, "users", "deactivate", "nobody@example.nhs.uk")
    again = invoke(app, "users", "deactivate", user.email)

    assert (unknown.exit_code, unknown.stderr) == (1, "There is no user nobody@example.nhs.uk.\n")
    assert again.exit_code == 1
    assert again.stderr == f"{user.name} is already deactivated.\n"
    assert events(connection) == before


# --- users break-glass ------------------------------------------------------------------------


def test_users_break_glass_marks_an_emergency_account_audited(
    app: Flask, connection: Connection, make_user: Callable[..., User]
) -> None:
    admin = make_user("admin")
    done = invoke(app, "users", "break-glass", admin.email, "--on")
    assert (done.exit_code, done.stdout) == (0, f"{admin.email} is now a break-glass account.\n")
    assert find(admin.email).break_glass is True  # type: ignore[union-attr]
    [event] = db.session().execute(select(AuditEvent).where(AuditEvent.action == "user:break_glass")).scalars()
    assert (event.object_id, event.details, event.actor_id) == (str(admin.id), '{"break_glass":true}', None)

    before = events(connection)
    again = invoke(app, "users", "break-glass", admin.email, "--on")
    assert (again.exit_code, again.stdout) == (
        0,
        f"{admin.email} was already a break-glass account; nothing changed.\n",
    )
    assert events(connection) == before
    off = invoke(app, "users", "break-glass", admin.email, "--off")
    assert (off.exit_code, off.stdout) == (0, f"{admin.email} is no longer a break-glass account.\n")
    assert find(admin.email).break_glass is False  # type: ignore[union-attr]


def test_users_break_glass_refuses_unknown_and_deactivated_users(
    app: Flask, connection: Connection, make_user: Callable[..., User]
) -> None:
    leaver = make_user("staff")
    assert invoke(app, "users", "deactivate", leaver.email).exit_code == 0
    before = events(connection)
    unknown = invoke(app, "users", "break-glass", "nobody@example.nhs.uk", "--on")
    gone = invoke(app, "users", "break-glass", leaver.email, "--on")
    assert (unknown.exit_code, unknown.stderr) == (1, "There is no user nobody@example.nhs.uk.\n")
    assert (gone.exit_code, gone.stderr) == (
        1,
        f"{leaver.name} is deactivated: a leaver cannot be a break-glass account.\n",
    )
    assert events(connection) == before


# --- tokens create ----------------------------------------------------------------------------


def test_tokens_create_prints_one_line_that_works_as_a_bearer_token(
    app: Flask,
    connection: Connection,
    make_user: Callable[..., User],
) -> None:
    """Standard output is the token and nothing else; it acts as its user; only its hash is stored."""
    user = make_user("auditor")

    result = invoke(app, "tokens", "create", user.email)

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and result.stdout == lines[0] + "\n"
    token = lines[0]
    assert re.fullmatch(r"[A-Za-z0-9_\-]{32,}", token), token
    response = app.test_client().get("/api/v1/channels", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert (
        app.test_client().get("/api/v1/audit-events", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    )
    stored = connection.execute(select(ApiToken.token_hash, ApiToken.prefix).where(ApiToken.user_id == user.id)).one()
    assert token not in stored.token_hash
    assert token.startswith(stored.prefix)


def test_tokens_create_refuses_unknown_and_deactivated_users(
    app: Flask,
    connection: Connection,
    make_user: Callable[..., User],
) -> None:
    """No token for someone who does not exist or has left; stdout stays empty."""
    leaver = make_user("staff")
    invoke(app, "users", "deactivate", leaver.email)

    unknown = invoke(app, "tokens", "create", "nobody@example.nhs.uk")
    left = invoke(app, "tokens", "create", leaver.email)

    assert (unknown.exit_code, unknown.stdout) == (1, "")
    assert "There is no user nobody@example.nhs.uk." in unknown.stderr
    assert (left.exit_code, left.stdout) == (1, "")
    assert f"{leaver.email} is deactivated: a token cannot be issued." in left.stderr
    assert connection.execute(select(func.count()).select_from(ApiToken)).scalar_one() == 0


# --- audit verify, keys generate --------------------------------------------------------------


def test_audit_verify_counts_the_events(
    app: Flask, connection: Connection, make_channel: Callable[..., Channel]
) -> None:
    """Exit 0 naming the number of events checked (the broken cases are in ``test_audit.py``)."""
    make_channel("active")
    result = invoke(app, "audit", "verify")
    assert result.exit_code == 0
    assert result.stdout.startswith(f"{events(connection)} events checked; the chain is intact (head ")


def test_keys_generate_prints_one_new_master_key_entry(app: Flask) -> None:
    """One line ``KEY_ID:KEY`` with KEY the URL-safe base64 of 32 random bytes, accepted as configuration."""
    first = invoke(app, "keys", "generate")
    second = invoke(app, "keys", "generate")

    assert first.exit_code == 0
    assert len(first.stdout.splitlines()) == 1 and first.stdout.endswith("\n")
    key_id, _, key = first.stdout.strip().partition(":")
    assert re.fullmatch(r"[A-Za-z0-9_-]+", key_id)
    assert len(base64.urlsafe_b64decode(key)) == 32
    assert first.stdout != second.stdout
    (parsed,) = registry_config.parse_master_keys(first.stdout.strip())
    assert parsed.key_id == key_id


# --- demo seed --------------------------------------------------------------------------------


def test_demo_seed_loads_every_state_and_one_user_per_role_once(app: Flask, connection: Connection) -> None:
    """A realistic set: every channel state, every role, monitoring findings, an intact audit trail;
    a second run changes nothing."""
    first = invoke(app, "demo", "seed")

    assert first.exit_code == 0, first.output
    assert first.stdout == "Demo data loaded.\n"
    statuses = set(connection.execute(select(Channel.status).distinct()).scalars())
    assert statuses == {s.value for s in ChannelStatus}
    users = db.session().execute(select(User)).scalars().all()
    assert {role.value for user in users for role in user.roles} == {role.value for role in Role}
    assert connection.execute(select(func.count()).select_from(UnauthorisedAccount)).scalar_one() >= 1
    # Account security: checked healthy, needing attention, and never checked.
    healths = set(connection.execute(select(Channel.health).where(Channel.status == "active").distinct()).scalars())
    assert healths == {"healthy", "needs_attention", "unchecked"}
    assert invoke(app, "audit", "verify").exit_code == 0
    sign_ins = invoke(app, "demo", "sign-ins").stdout
    assert all(user.email in sign_ins for user in users)
    counts = (
        connection.execute(select(func.count()).select_from(Channel)).scalar_one(),
        connection.execute(select(func.count()).select_from(User)).scalar_one(),
        events(connection),
    )

    second = invoke(app, "demo", "seed")

    assert second.exit_code == 0
    assert second.stdout == "Demo data already present: nothing changed.\n"
    assert (
        connection.execute(select(func.count()).select_from(Channel)).scalar_one(),
        connection.execute(select(func.count()).select_from(User)).scalar_one(),
        events(connection),
    ) == counts


def test_demo_seed_refuses_in_production(
    database_url: str,
    connection: Connection,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Production never gets demo accounts with known passwords."""
    monkeypatch.setenv("REGISTRY_INSTANCE_PATH", str(tmp_path / "instance"))
    settings = settings_for(database_url, tmp_path / "instance")
    settings.update(ENV="production", SECRET_KEY=secrets.token_urlsafe(48), TESTING=False)
    production = create_app(settings)
    production.extensions["registry.db"].bind_override = connection

    result = invoke(production, "demo", "seed")

    assert result.exit_code == 1
    assert result.stderr == "Demo data is never loaded in production.\n"
    assert connection.execute(select(func.count()).select_from(User)).scalar_one() == 0
    assert not (tmp_path / "instance" / "demo-sign-ins.txt").exists()
