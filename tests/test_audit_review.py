"""A security review of issue 9's audit trail (parts 2 and 4): the attacks that got through.

Each test carries out an attack as the issue's attackers would: a database administrator who can
write every table but holds no audit key and cannot write the checkpoint file, and an auditor who
is the subject of a breach case. Each failed against the code before its fix.
"""

from __future__ import annotations

import io
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, insert, select, text, update
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from registry import create_app, db
from registry.audit.chain import check_newest, plain_hash
from registry.audit.models import AuditAction, AuditAnchor, AuditEvent
from registry.audit.services import (
    Actor,
    AuditFilters,
    canonical_event,
    record,
    search_events,
    verify_chain,
)
from registry.breaches import services as breaches
from registry.breaches.services import BreachAnswers, SubjectKind
from registry.errors import Invalid
from registry.web.dashboard import audit_status
from tests.conftest import Browser, settings_for
from tests.test_audit import allow_tampering, invoke, verify
from tests.test_audit import separate_database as separate_database  # noqa: PLC0414 - the fixture
from tests.test_audit import trail as trail  # noqa: PLC0414 - the fixture
from tests.test_audit_integrity import checkpoint_file, checkpoint_lines
from tests.test_audit_subject import Scene, csv_rows, page_seqs
from tests.test_audit_subject import scene as scene  # noqa: PLC0414 - the fixture

# --- helpers ------------------------------------------------------------------------------------


def append_unkeyed(connection: Connection, count: int) -> int:
    """Append ``count`` events after the head as a database administrator can: plain SHA-256 links
    (the project's own unkeyed function) and no key id, as events from before keyed links have,
    and move the anchor to the last. Returns the last event's number."""
    anchor = connection.execute(select(AuditAnchor)).one()
    seq, previous = anchor.seq, anchor.head_hash
    for _ in range(count):
        seq += 1
        fields: dict[str, Any] = {
            "seq": seq,
            "occurred_at": db.utcnow(),
            "actor_id": None,
            "actor": "Innocent Bystander",
            "action": "credential:reveal",
            "object_type": "channel",
            "object_id": "CH-0001",
            "address": None,
            "details": "{}",
        }
        digest = plain_hash(previous, canonical_event(fields))
        connection.execute(insert(AuditEvent).values(**fields, prev_hash=previous, hash=digest, key_id=None))
        previous = digest
    connection.execute(update(AuditAnchor).values(seq=seq, head_hash=previous, head_key_id=None))
    return seq


def shown_plainly(output: str) -> bool:
    """Whether a command's output is only text: no carriage return or terminal escape that could
    redraw what the operator sees."""
    return all(character.isprintable() for line in output.splitlines() for character in line)


# --- the database administrator ------------------------------------------------------------------


def test_an_anchor_rewritten_with_terminal_codes_cannot_make_verify_look_intact(
    app: Flask, connection: Connection, trail: int
) -> None:
    """The anchor's fields are quoted in ``audit verify``'s message. A key id of a carriage return,
    "clear line", a fake verdict and "conceal" (27 characters, within the column) redrew the line as
    "Audit chain intact" on the operator's terminal; the exit status alone still said otherwise."""
    connection.execute(update(AuditAnchor).values(head_key_id="\r\x1b[2KAudit chain intact\x1b[8m"))

    with app.app_context():
        result = app.test_cli_runner().invoke(args=["audit", "verify"], color=True)

    assert result.exit_code == 1
    assert shown_plainly(result.stderr), repr(result.stderr)
    assert result.stderr.startswith("Audit chain broken at the chain's end: the anchor row was changed:")


def test_a_rewritten_hash_cannot_put_terminal_codes_into_the_timers_refusal(
    app: Flask, connection: Connection, trail: int, caplog: pytest.LogCaptureFixture
) -> None:
    """The timer quotes the hash it finds where a checkpoint recorded another, on the terminal and
    in the log a SIEM reads: a hash rewritten as control codes is shown escaped."""
    assert invoke(app, "audit", "checkpoint").exit_code == 0
    record(
        AuditAction.CHANNEL_UPDATE,
        "channel",
        "CH-0001",
        {"n": 1},
        actor=Actor.system("tests"),
    )
    db.session().commit()
    allow_tampering(connection)
    # The checkpointed event, not the head: the timer checks the head's own link first.
    connection.execute(update(AuditEvent).where(AuditEvent.seq == trail).values(hash="\r\x1b[2KOK\n"))

    with app.app_context():
        refused = app.test_cli_runner().invoke(args=["audit", "checkpoint"], color=True)

    assert refused.exit_code == 1
    assert shown_plainly(refused.stderr), repr(refused.stderr)
    assert all(shown_plainly(record.getMessage()) for record in caplog.records)


def test_the_timer_refuses_to_sign_an_unkeyed_event_appended_after_keyed_ones(
    app: Flask, connection: Connection, trail: int
) -> None:
    """A forged event appended after the head with a plain SHA-256 link (as events from before
    keyed links have) was signed by the next timer run: the checkpoint file, and the Board report
    that prints its latest line, then vouched for the forgery."""
    assert invoke(app, "audit", "checkpoint").exit_code == 0
    allow_tampering(connection)
    forged = append_unkeyed(connection, 1)

    refused = invoke(app, "audit", "checkpoint")

    assert refused.exit_code == 1, refused.output
    assert refused.stderr.startswith(f"The head, event {forged}, cannot be signed: it has no audit key, yet it")
    assert len(checkpoint_lines(app)) == 1
    assert not verify(connection).ok


def test_the_timer_refuses_an_unkeyed_head_after_keyed_events_without_any_checkpoint(
    app: Flask, connection: Connection, trail: int
) -> None:
    """The same before the first checkpoint: an unkeyed event may only come before every keyed one."""
    allow_tampering(connection)
    append_unkeyed(connection, 1)

    refused = invoke(app, "audit", "checkpoint")

    assert refused.exit_code == 1, refused.output
    assert "it has no audit key, yet it follows keyed events" in refused.stderr
    assert not checkpoint_file(app).exists()


def test_the_dashboard_card_names_a_window_of_forged_unkeyed_events(
    app: Flask, connection: Connection, trail: int
) -> None:
    """The card re-checks the newest events. When every one of them was forged as an unkeyed event
    after keyed ones, it started "part-way along the chain" and accepted them all."""
    allow_tampering(connection)
    append_unkeyed(connection, 3)

    status = audit_status(newest=3)

    assert not status.report.ok
    assert status.report.broken_seq == trail + 1
    assert "it has no audit key, yet it follows keyed events" in (status.report.problem or "")


def first_event_id(connection: Connection, *, last: bool = False) -> int:
    column = AuditEvent.id.desc() if last else AuditEvent.id
    return connection.execute(select(AuditEvent.id).order_by(column).limit(1)).scalar_one()


def test_an_event_whose_time_is_not_a_time_is_named_not_a_traceback(
    app: Flask, connection: Connection, trail: int
) -> None:
    """An event whose time was removed (PostgreSQL, once its NOT NULL is dropped) or replaced by
    other text (SQLite keeps what it is given) made ``audit verify`` stop with a Python traceback
    instead of naming the event."""
    target = trail - 2
    allow_tampering(connection)
    if connection.dialect.name == "postgresql":
        connection.execute(text("ALTER TABLE audit_events ALTER COLUMN occurred_at DROP NOT NULL"))
        connection.execute(update(AuditEvent).where(AuditEvent.seq == target).values(occurred_at=None))
    else:
        connection.execute(
            text("UPDATE audit_events SET occurred_at = 'the day before' WHERE seq = :seq"),
            {"seq": target},
        )

    result = invoke(app, "audit", "verify")

    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Audit chain broken at event {target}"), result.stderr
    assert "its time is not a time" in result.stderr


def test_an_event_whose_number_is_not_a_number_is_named_not_a_traceback(
    app: Flask, connection: Connection, trail: int
) -> None:
    """The same for an event number made text: on SQLite the last event's (text sorts after every
    number), on PostgreSQL the column's type (its first row, "1", is then read first)."""
    allow_tampering(connection)
    if connection.dialect.name == "postgresql":
        connection.execute(text("ALTER TABLE audit_events ALTER COLUMN seq TYPE text USING seq::text"))
        named = first_event_id(connection)
    else:
        connection.execute(
            text("UPDATE audit_events SET seq = 'the last' WHERE seq = :seq"),
            {"seq": trail},
        )
        named = first_event_id(connection, last=True)

    result = invoke(app, "audit", "verify")

    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Audit chain broken at the event with id {named}: its number is not"), (
        result.stderr
    )


@pytest.fixture
def writer_meanwhile(separate_database: str, tmp_path: Path) -> Iterator[tuple[Flask, Engine, Callable[[], int]]]:
    """An application on a database of its own, with 20 events, and a function that commits one more
    event from another connection, as another process does, and returns how many it committed."""
    engine = db.make_engine(separate_database)
    other = db.make_engine(separate_database)
    app = create_app(settings_for(separate_database, tmp_path / "instance"))
    committed = 0

    def write() -> int:
        nonlocal committed
        with Session(other) as session:
            record(
                AuditAction.CHANNEL_UPDATE,
                "channel",
                "CH-0001",
                {"by": "another process"},
                actor=Actor.system("worker"),
                session=session,
            )
            session.commit()
        committed += 1
        return committed

    try:
        with app.app_context():
            for _ in range(20):
                write()
            committed = 0
            yield app, engine, write
    finally:
        engine.dispose()
        other.dispose()
        db.database(app).engine.dispose()


def interleave(engine: Engine, write: Callable[[], int], url: str) -> Callable[[], bool]:
    """Before the check's statement that reads the events, another process commits an event.

    On SQLite the check's transaction holds the write lock (``BEGIN IMMEDIATE``), so nobody can
    commit meanwhile; the returned function tells whether a writer really got in."""
    got_in = threading.Event()

    @event.listens_for(engine, "before_cursor_execute")
    def commit_first(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "FROM audit_events" not in statement or "ORDER BY audit_events.seq" not in statement or got_in.is_set():
            return
        if url.startswith("postgresql"):
            write()
            got_in.set()
            return
        probe = sqlite3.connect(make_url(url).database, timeout=0.2)
        try:
            probe.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            assert "locked" in str(exc)
        else:
            got_in.set()
        finally:
            probe.close()

    return got_in.is_set


def test_a_full_check_during_writes_by_other_processes_is_not_a_false_alarm(
    writer_meanwhile: tuple[Flask, Engine, Callable[[], int]], separate_database: str
) -> None:
    """On PostgreSQL every statement reads what was committed when it began: an event another
    process committed after the check had read the anchor made ``audit verify`` (and the page's
    check, and the Board report's) say that events were removed or the anchor changed."""
    app, engine, write = writer_meanwhile
    writer_got_in = interleave(engine, write, separate_database)

    with app.app_context(), Session(engine) as session:
        report = verify_chain(session)

    assert report.ok, report.describe()
    assert writer_got_in() is separate_database.startswith("postgresql")
    assert report.checked == 20 + (1 if writer_got_in() else 0)


def test_the_dashboard_card_during_writes_by_other_processes_is_not_a_false_alarm(
    writer_meanwhile: tuple[Flask, Engine, Callable[[], int]], separate_database: str
) -> None:
    """The same for the dashboard card, which told every reader "The audit chain is broken"."""
    app, engine, write = writer_meanwhile
    writer_got_in = interleave(engine, write, separate_database)

    with app.app_context(), Session(engine) as session:
        seq, _head, report = check_newest(5, session)

    assert report.ok, report.describe()
    assert writer_got_in() is separate_database.startswith("postgresql")
    assert seq == 20 + (1 if writer_got_in() else 0)


# --- the subject of a breach case ----------------------------------------------------------------


def reference_forms(scene: Scene) -> list[str]:
    """Ways an auditor may ask the trail for the case or its evidence file: the breach pages take a
    reference in any case, with or without the dash and the leading zeros."""
    number, upload = scene.case.id, scene.evidence[0]
    return [
        f"br-{number}",
        f"BR{number}",
        f"br-{number:04d}",
        f"breach_report:br-{number}",
        f"Breach_Report : BR-{number:04d}",
        f"upload:{upload}",
        f"UPLOAD: {upload}",
        upload,
    ]


@pytest.mark.parametrize("form", range(8))
def test_an_export_asked_for_by_another_form_of_the_reference_is_not_shown_to_the_subject(
    app: Flask, scene: Scene, browser_as: Callable[..., Browser], form: int
) -> None:
    """An export is recorded with the filter it was asked for: the reference, so who is looking
    into the case. Only the exact ``BR-0001`` was withheld from the case's subject; ``br-1``,
    ``BR1`` (which the breach pages accept) and the evidence file's upload id were shown."""
    query = reference_forms(scene)[form]
    auditor = browser_as(user=scene.auditor)
    before = page_seqs(auditor, "action=audit:export")

    rows = csv_rows(auditor, f"object={query}")

    [export] = page_seqs(auditor, "action=audit:export") - before
    assert export not in page_seqs(browser_as(user=scene.subject), "action=audit:export")
    assert rows, "the auditor's search finds what they asked for"


def test_a_case_reference_in_another_form_finds_the_cases_events(app: Flask, scene: Scene) -> None:
    """The same forms, searched through the API by another auditor, find the same events as the
    reference the trail holds: the filter reads a reference as the breach pages do."""

    def found(value: str) -> set[int]:
        filters = AuditFilters.parse({"object": value}, strict=True)
        return {e.seq for e in db.session().execute(search_events(filters, viewer=scene.auditor)).scalars()}

    exact = found(scene.case.reference)
    assert len(exact) == 3
    for form in reference_forms(scene)[:5]:
        assert found(form) == exact, form


def test_a_refused_evidence_file_is_not_shown_to_the_subject_of_a_case(
    app: Flask, scene: Scene, browser_as: Callable[..., Browser]
) -> None:
    """A refused evidence file names someone who was reporting a breach, and it is not linked to a
    case: the reporter usually tries again with another file a minute later, when the case appears
    (as a gap in the event numbers the subject can read). Auditors who are not the subject of a case
    read it; the subject does not."""
    with pytest.raises(Invalid):
        breaches.report_breach(
            BreachAnswers(
                account="@night_owl on X",
                link="",
                description="Posted a photo of the ward.",
                clauses=("6.11",),
                reputational_risk=False,
                subject_kind=SubjectKind.USER,
                subject_user=scene.subject.email,
            ),
            [FileStorage(io.BytesIO(b"<svg></svg>"), "post.svg")],
            scene.reporter,
        )
    db.session().commit()
    refused = (
        db.session()
        .execute(
            select(AuditEvent.seq).where(
                AuditEvent.action == "upload:refused",
                AuditEvent.object_id == "evidence",
            )
        )
        .scalar_one()
    )

    assert refused in page_seqs(browser_as(user=scene.auditor), "action=upload")
    assert refused not in page_seqs(browser_as(user=scene.subject), "action=upload")
    assert (
        json.loads(db.session().execute(select(AuditEvent.details).where(AuditEvent.seq == refused)).scalar_one())[
            "field"
        ]
        == "evidence"
    )
