"""The audit trail (SPEC capability 10): append-only, hash-chained, anchored, verifiable.

To tamper as an attacker with database access would, a test first removes the
append-only triggers inside its own transaction (rolled back afterwards).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from registry import create_app, db
from registry.audit.chain import HASHED_FIELDS, canonical_event, canonical_json
from registry.audit.models import GENESIS_HASH, AuditAction, AuditAnchor, AuditEvent
from registry.audit.services import (
    REDACTED,
    Actor,
    ChainReport,
    record,
    verify_chain,
)
from registry.auth.models import User
from registry.breaches import services as breaches
from registry.breaches.services import BreachAnswers, SubjectKind
from registry.channels.models import Channel
from tests.conftest import (
    Browser,
    _postgres_url,
    csrf_token,
    migrated_database,
    settings_for,
)

SEQ_CELL = re.compile(r"<tr [^>]*data-seq=\"(\d+)\"")


def fresh_session(connection: Connection) -> Session:
    """A session that has cached nothing, as the ``audit verify`` command has."""
    return Session(bind=connection, join_transaction_mode="create_savepoint")


def verify(connection: Connection) -> ChainReport:
    with fresh_session(connection) as session:
        return verify_chain(session)


def allow_tampering(connection: Connection) -> None:
    """Remove the append-only protection, as an attacker with the database's owner rights could."""
    if connection.dialect.name == "sqlite":
        connection.execute(text("DROP TRIGGER audit_events_no_update"))
        connection.execute(text("DROP TRIGGER audit_events_no_delete"))
    else:
        connection.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))


def event_count(connection: Connection) -> int:
    return connection.execute(select(func.count()).select_from(AuditEvent)).scalar_one()


@pytest.fixture
def trail(app: Flask, make_user: Callable[..., User], make_channel: Callable[..., Channel]) -> int:
    """A realistic trail of at least ten events; returns how many."""
    make_user("auditor")
    make_channel("active")
    make_channel("rejected")
    count = db.session().execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    assert count >= 10
    return count


def invoke(app: Flask, *args: str) -> Result:
    """Run a ``flask`` command as a fresh process would: its own app context and session."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args))


# --- the chain --------------------------------------------------------------------------------


def test_a_fresh_chain_verifies(app: Flask, connection: Connection, trail: int) -> None:
    """Every event links to the one before, the first to the genesis hash, and the anchor holds the head."""
    report = verify(connection)
    assert report.ok, report.describe()
    assert report.checked == trail
    anchor = connection.execute(select(AuditAnchor.seq, AuditAnchor.head_hash)).one()
    assert (anchor.seq, anchor.head_hash) == (trail, report.head_hash)
    first = connection.execute(select(AuditEvent.prev_hash).where(AuditEvent.seq == 1)).scalar_one()
    assert first == GENESIS_HASH
    seqs = connection.execute(select(AuditEvent.seq).order_by(AuditEvent.seq)).scalars().all()
    assert seqs == list(range(1, trail + 1))
    assert report.describe().startswith(f"Audit chain intact: {trail} events checked")


def test_the_database_refuses_to_change_or_delete_events(app: Flask, connection: Connection, trail: int) -> None:
    """Append-only is enforced by the database itself, not only by the application."""
    attempts = [
        update(AuditEvent).where(AuditEvent.seq == 2).values(details="{}"),
        delete(AuditEvent).where(AuditEvent.seq == trail),
    ]
    if connection.dialect.name == "postgresql":
        attempts.append(text("TRUNCATE audit_events"))
    for statement in attempts:
        with pytest.raises(DBAPIError) as refused, connection.begin_nested():
            connection.execute(statement)
        assert "append-only" in str(refused.value)
    assert event_count(connection) == trail
    assert verify(connection).ok


EDITS = [
    ("details", json.dumps({"from": "requested", "to": "approved"}, separators=(",", ":"))),
    ("actor", "Somebody Else"),
    ("occurred_at", dt.datetime(2020, 1, 1, 9, 30, tzinfo=dt.UTC)),
    ("action", "channel:withdraw"),
    ("object_id", "CH-9999"),
    ("actor_id", None),
]


def test_an_edited_event_is_named(app: Flask, connection: Connection, trail: int) -> None:
    """Changing what an event says, who did it, when, or what it is about breaks its hash; the report names it."""
    target = trail // 2
    allow_tampering(connection)
    original = connection.execute(select(AuditEvent.__table__).where(AuditEvent.seq == target)).one()._mapping
    for column, value in EDITS:
        connection.execute(update(AuditEvent).where(AuditEvent.seq == target).values({column: value}))

        report = verify(connection)

        assert not report.ok, column
        assert (report.broken_seq, report.checked) == (target, target - 1), column
        assert report.describe().startswith(f"Audit chain broken at event {target} (id "), column
        assert "its contents do not match its keyed hash (the event was changed" in report.describe()
        connection.execute(update(AuditEvent).where(AuditEvent.seq == target).values({column: original[column]}))
        assert verify(connection).ok, f"restoring {column}"


def test_an_edited_link_is_named(app: Flask, connection: Connection, trail: int) -> None:
    """Pointing an event at a different predecessor breaks the chain at that event."""
    allow_tampering(connection)
    connection.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(prev_hash="f" * 64))
    report = verify(connection)
    assert (report.ok, report.broken_seq) == (False, 3)
    assert "its link to the previous event does not match" in report.describe()


def test_a_deleted_middle_event_is_detected(app: Flask, connection: Connection, trail: int) -> None:
    """A gap in the sequence names the event after it and says how many are missing."""
    target = trail // 2
    allow_tampering(connection)
    connection.execute(delete(AuditEvent).where(AuditEvent.seq == target))

    report = verify(connection)

    assert not report.ok
    assert report.broken_seq == target + 1
    assert f"expected event {target} next but found {target + 1}: 1 event(s) missing before it." in report.describe()


def test_truncating_the_last_events_is_detected_by_the_anchor(
    app: Flask,
    connection: Connection,
    trail: int,
) -> None:
    """Removing the newest events leaves a consistent chain, but the anchor remembers how long it was."""
    allow_tampering(connection)
    connection.execute(delete(AuditEvent).where(AuditEvent.seq > trail - 2))

    report = verify(connection)

    assert not report.ok
    assert report.checked == trail - 2
    assert report.broken_seq == trail - 1
    assert f"the anchor records {trail} events" in report.describe()
    assert f"the table holds {trail - 2}" in report.describe()
    assert "events were removed from the end" in report.describe()


def test_truncating_every_event_is_detected(app: Flask, connection: Connection, trail: int) -> None:
    """An emptied table does not pass for a new, empty chain."""
    allow_tampering(connection)
    connection.execute(delete(AuditEvent))
    report = verify(connection)
    assert (report.ok, report.checked, report.broken_seq) == (False, 0, 1)


def test_a_missing_anchor_is_reported(app: Flask, connection: Connection, trail: int) -> None:
    """Without its anchor the chain cannot be trusted."""
    connection.execute(delete(AuditAnchor))
    report = verify(connection)
    assert not report.ok
    assert report.describe() == "Audit chain broken at the chain's end: the anchor row is missing."


# --- what an event holds ----------------------------------------------------------------------


def test_secrets_never_reach_an_event(app: Flask, connection: Connection, make_user: Callable[..., User]) -> None:
    """Values under secret-looking keys, at any depth, are stored as "[redacted]"; the rest as given."""
    user = make_user("comms")
    event = record(
        AuditAction.CHANNEL_UPDATE,
        "channel",
        "CH-0001",
        {
            "password": "hunter2-hunter2",
            "api_token": "tok_abcdef",
            "client_secret": "s3cr3t",
            "totp": "123456",
            "nested": {"recovery_codes": ["aaa-bbb"], "Seed": "JBSWY3DP", "kept": "visible"},
            "note": "Handle corrected",
        },
        actor=user,
    )
    db.session().commit()
    stored = connection.execute(select(AuditEvent.details).where(AuditEvent.id == event.id)).scalar_one()
    details = json.loads(stored)
    assert details == {
        "password": REDACTED,
        "api_token": REDACTED,
        "client_secret": REDACTED,
        "totp": REDACTED,
        "nested": {"recovery_codes": REDACTED, "Seed": REDACTED, "kept": "visible"},
        "note": "Handle corrected",
    }
    for secret in ("hunter2", "tok_abcdef", "s3cr3t", "123456", "aaa-bbb", "JBSWY3DP"):
        assert secret not in stored
    assert event.actor_id == user.id and event.actor == user.label


def test_a_password_never_reaches_the_trail_when_a_user_is_created(
    app: Flask,
    connection: Connection,
    make_user: Callable[..., User],
) -> None:
    """Creating a user and failing to sign in leave no password anywhere in the trail."""
    password = "a very particular passphrase 913"
    make_user("staff", email="careful@example.nhs.uk", password=password)
    client = app.test_client()
    client.post(
        "/login", data={"email": "careful@example.nhs.uk", "password": password + "x", "csrf_token": csrf_token(client)}
    )
    everything = " ".join(connection.execute(select(AuditEvent.details)).scalars())
    assert "particular passphrase" not in everything
    assert (
        connection.execute(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "user:sign_in_failed")
        ).scalar_one()
        == 1
    )


# --- the command ------------------------------------------------------------------------------


def test_audit_verify_command_reports_the_count(app: Flask, connection: Connection, trail: int) -> None:
    """``flask audit verify`` exits 0 and says how many events it checked."""
    result = invoke(app, "audit", "verify")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{trail} events checked; the chain is intact (head ")


def test_audit_verify_command_names_the_first_broken_event(app: Flask, connection: Connection, trail: int) -> None:
    """With two edited events, the command exits 1 naming the first of them."""
    allow_tampering(connection)
    connection.execute(update(AuditEvent).where(AuditEvent.seq.in_([4, 7])).values(actor="Mallory"))

    result = invoke(app, "audit", "verify")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("Audit chain broken at event 4 (id ")


def test_audit_verify_command_detects_truncation(app: Flask, connection: Connection, trail: int) -> None:
    """The command catches removed newest events through the anchor."""
    allow_tampering(connection)
    connection.execute(delete(AuditEvent).where(AuditEvent.seq == trail))
    result = invoke(app, "audit", "verify")
    assert result.exit_code == 1
    assert f"event {trail}" in result.stderr and "removed from the end" in result.stderr


# --- the browser ------------------------------------------------------------------------------


def test_auditors_comms_and_admins_browse_and_filter_the_trail(
    app: Flask,
    make_channel: Callable[..., Channel],
    browser_as: Callable[..., Browser],
) -> None:
    """The trail is listed newest first and filters by object, action and person."""
    channel = make_channel("active")
    other = make_channel("requested")
    for role in ("auditor", "comms", "admin"):
        browser = browser_as(role)

        everything = [int(s) for s in SEQ_CELL.findall(browser.get("/audit?per_page=100").get_data(as_text=True))]
        by_object = browser.get(f"/audit?object=channel:{channel.reference}").get_data(as_text=True)
        by_action = browser.get("/audit?action=channel:activate").get_data(as_text=True)
        by_family = browser.get(f"/audit?action=channel&object={other.reference}").get_data(as_text=True)
        by_person = browser.get(f"/audit?actor={browser.user.email}").get_data(as_text=True)  # type: ignore[attr-defined]

        assert everything == sorted(everything, reverse=True) and len(everything) >= 8, role
        assert len(SEQ_CELL.findall(by_object)) == 3
        assert all(f"channel:{a}" in by_object for a in ("request", "approve", "activate"))
        assert other.reference not in by_object.split("<tbody")[1]
        assert len(SEQ_CELL.findall(by_action)) == 1 and channel.reference in by_action
        assert len(SEQ_CELL.findall(by_family)) == 1
        # Their own doings only: setting up two-factor sign-in (every role that reads the trail must), then signing in.
        expected = ["user:sign_in", "user:two_factor_enrol"]
        assert re.findall(r"<code>(user:[a-z_]+)</code>", by_person) == expected, role
        checked = browser.post("/audit/verify")
        assert checked.status_code == 200
        assert "The chain is intact" in checked.get_data(as_text=True)


def test_the_trail_exports_as_csv_and_the_export_is_audited(
    app: Flask,
    connection: Connection,
    make_channel: Callable[..., Channel],
    browser_as: Callable[..., Browser],
) -> None:
    """Auditors (and comms) download the filtered events with their hashes; downloading is itself an event."""
    channel = make_channel("active")
    auditor = browser_as("auditor")
    before = event_count(connection)

    response = auditor.get(f"/audit/export.csv?object={channel.reference}")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert 'filename="audit-trail.csv"' in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["action"] for r in rows] == ["channel:activate", "channel:approve", "channel:request"]
    assert all(len(r["hash"]) == 64 and len(r["prev_hash"]) == 64 for r in rows)
    assert event_count(connection) == before + 1
    last = connection.execute(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).one()
    assert (last.action, last.actor_id) == ("audit:export", auditor.user.id)  # type: ignore[attr-defined]
    assert json.loads(last.details) == {"filters": {"object": channel.reference}, "rows": 3}
    assert browser_as("comms").get("/audit/export.csv").status_code == 200


def test_staff_and_managers_cannot_see_the_trail(
    app: Flask,
    connection: Connection,
    browser_as: Callable[..., Browser],
) -> None:
    """The trail is for auditors, comms and admins only."""
    browsers = [browser_as("staff"), browser_as("manager")]
    before = event_count(connection)
    for browser in browsers:
        assert browser.get("/audit").status_code == 403
        assert browser.get("/audit/export.csv").status_code == 403
        assert browser.post("/audit/verify").status_code == 403
    assert event_count(connection) == before


def test_signed_out_visitors_are_sent_to_sign_in(app: Flask) -> None:
    """Nobody reads the trail without signing in."""
    response = app.test_client().get("/audit/export.csv")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


# --- several writers --------------------------------------------------------------------------


@pytest.fixture
def separate_database(tmp_path: Path) -> Iterator[str]:
    """A database of its own, migrated to head, where threads really commit."""
    with migrated_database(_postgres_url(), tmp_path, "concurrent.db") as url:
        yield url


def test_concurrent_writers_form_one_gapless_chain(separate_database: str, tmp_path: Path) -> None:
    """Two writers appending 50 events each, one transaction per event, leave one intact chain of 100."""
    engine = (
        db.make_engine(separate_database, pool_size=4)
        if separate_database.startswith("postgresql")
        else (db.make_engine(separate_database))
    )
    app = create_app(settings_for(separate_database, tmp_path / "instance"))
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def write(label: str) -> None:
        try:
            start.wait()
            for number in range(50):
                with app.app_context(), Session(engine) as session:
                    record(
                        AuditAction.CHANNEL_UPDATE,
                        "channel",
                        f"{label}-{number}",
                        {"n": number},
                        actor=Actor.system(label),
                        session=session,
                    )
                    session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(label,)) for label in ("writer-a", "writer-b")]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert failures == []
        with app.app_context(), Session(engine) as session:
            report = verify_chain(session)
            seqs = session.execute(select(AuditEvent.seq).order_by(AuditEvent.seq)).scalars().all()
            actors = session.execute(select(AuditEvent.actor, func.count()).group_by(AuditEvent.actor)).all()
    finally:
        engine.dispose()
        db.database(app).engine.dispose()
    assert report.ok, report.describe()
    assert report.checked == 100
    assert seqs == list(range(1, 101))
    assert dict(actors) == {"writer-a": 50, "writer-b": 50}


def test_breach_report_events_are_read_only_by_those_who_may_read_every_case(
    app: Flask,
    make_user: Callable[..., User],
    browser_as: Callable[..., Browser],
    api_token: Callable[[User], dict[str, str]],
) -> None:
    """A breach report's events name who reported it and who handles it: the trail shows them to
    auditors (who may read every case) and to nobody else who reads the trail (comms, admins)."""
    reporter = make_user("staff", name="Robin Whistle")
    made = breaches.report_breach(
        BreachAnswers(
            account="@someone",
            link="https://x.com/someone/status/1",
            description="Posted a ward photo.",
            clauses=("6.11",),
            reputational_risk=False,
            subject_kind=SubjectKind.UNKNOWN,
            subject_user="",
        ),
        [],
        reporter,
    )
    db.session().commit()
    seen: dict[str, bool] = {}
    for role in ("auditor", "comms", "admin"):
        browser = browser_as(role)
        page = browser.get(f"/audit?object=breach_report:{made.reference}").get_data(as_text=True)
        listed = (
            app.test_client()
            .get(f"/api/v1/audit-events?object=breach_report:{made.reference}", headers=api_token(browser.user))
            .get_json()["items"]
        )
        exported = browser.get(f"/audit/export.csv?object=breach_report:{made.reference}").get_data(as_text=True)
        seen[role] = "Robin Whistle" in page
        assert seen[role] == bool(listed) == (made.reference in exported), role
    assert seen == {"auditor": True, "comms": False, "admin": False}


# --- the canonical form every link covers ---------------------------------------------------------

AWKWARD = [
    "",
    'quote " and \\ backslash',
    "é\u2028\x00\x1f\ud800 🙂",
    0,
    -5,
    10**30,
    None,
    True,
    1.5,
    ["x", 1],
    {"b": 1, "a": None},
]


@pytest.mark.parametrize("value", AWKWARD, ids=repr)
def test_an_events_canonical_form_is_the_canonical_json_of_its_fields(value: object) -> None:
    """Events are serialised field by field for speed; the text must stay byte for byte what the
    canonical JSON of the fields gives (sorted keys, no spaces, Unicode as itself), or every existing
    link would stop matching."""
    moment = dt.datetime(2026, 1, 5, 9, 1, 2, 345, tzinfo=dt.UTC)
    fields = {name: value for name in HASHED_FIELDS} | {"occurred_at": moment}
    envelope = {**fields, "occurred_at": "2026-01-05T09:01:02.000345Z"}
    assert canonical_event(fields) == canonical_json(envelope)
    assert canonical_event(fields | {"seq": 7}) == canonical_json(envelope | {"seq": 7})
    # A time read without its zone (as SQLite keeps it) is UTC; one in another zone is converted.
    assert canonical_event(fields | {"occurred_at": moment.replace(tzinfo=None)}) == canonical_json(envelope)
    summer = moment.astimezone(dt.timezone(dt.timedelta(hours=1)))
    assert canonical_event(fields | {"occurred_at": summer}) == canonical_json(envelope)
