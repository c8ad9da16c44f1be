"""The audit trail against someone who can write the database but holds no key outside it (issue 9 §4).

Each attack is carried out as a database administrator would: the append-only triggers are
removed inside the test's own transaction (rolled back afterwards), rows are deleted or
rewritten, and the anchor is brought into line. ``audit verify`` is then run as the command.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import hmac
import io
import json
import logging
import os
import re
import stat
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pikepdf
import pytest
from alembic import command
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from flask import Flask
from sqlalchemy import delete, select, text, update
from sqlalchemy.engine import Connection

import config as registry_config
from registry import PROJECT_ROOT, create_app, db
from registry.audit import checkpoints
from registry.audit.chain import take_checkpoint
from registry.audit.keyring import AuditKeyring
from registry.audit.models import GENESIS_HASH, AuditAction, AuditAnchor, AuditEvent
from registry.audit.services import Actor, event_hash, record
from registry.auth.models import User
from registry.channels.models import Channel
from registry.cli import alembic_config
from registry.reports import figures as compute
from registry.reports import services as reports
from tests.conftest import (
    TEST_AUDIT_KEYS,
    Browser,
    _postgres_url,
    fresh_postgres_database,
    migrate,
    settings_for,
)
from tests.test_audit import allow_tampering, fresh_session, invoke, verify
from tests.test_audit import trail as trail  # noqa: PLC0414 - the fixture, shared with the chain's own tests


def rewrite_from(
    connection: Connection, target: int, change: Callable[[AuditEvent], None], *, until: int | None = None
) -> str:
    """Change event ``target`` and recompute every later hash (to event ``until``, or the end) with the
    project's own unkeyed function, then point the anchor at the new head, as the issue's attacker did.
    Returns the new hash of the last event rewritten."""
    with fresh_session(connection) as session:
        statement = select(AuditEvent).where(AuditEvent.seq >= target - 1).order_by(AuditEvent.seq)
        if until is not None:
            statement = statement.where(AuditEvent.seq <= until)
        events = session.execute(statement).scalars().all()
        previous = events[0].hash
        for event in events[1:]:
            if event.seq == target:
                change(event)
            event.prev_hash = previous
            event.hash = event_hash(event, previous)
            previous = event.hash
            session.flush()
        session.commit()
    if until is None:
        connection.execute(update(AuditAnchor).values(head_hash=previous))
    return previous


# --- the two attacks of the issue -------------------------------------------------------------


def test_truncating_the_tail_and_rewriting_the_anchor_is_named_by_a_checkpoint(
    app: Flask, connection: Connection, trail: int
) -> None:
    """Attack 1: the newest events are deleted and the anchor is set to the new last event. The
    chain left behind is self-consistent; a signed checkpoint taken before still names the cut."""
    taken = invoke(app, "audit", "checkpoint")
    keep = trail - 3
    allow_tampering(connection)
    new_head = connection.execute(select(AuditEvent.hash).where(AuditEvent.seq == keep)).scalar_one()
    connection.execute(delete(AuditEvent).where(AuditEvent.seq > keep))
    connection.execute(update(AuditAnchor).values(seq=keep, head_hash=new_head))

    result = invoke(app, "audit", "verify")

    assert result.exit_code == 1, result.output
    assert taken.exit_code == 0, taken.output
    line = json.loads(app.extensions["registry.settings"].audit_checkpoint_file.read_text(encoding="utf-8"))
    assert result.stdout == ""
    assert result.stderr == (
        f"Audit chain broken at event {keep + 1}: the checkpoint of {line['at']} (line 1 of the checkpoint file) "
        f"records event {trail} but the trail ends at {keep} (events were removed from the end).\n"
    )


def test_an_event_rewritten_with_the_projects_own_hash_function_is_named(
    app: Flask, connection: Connection, trail: int
) -> None:
    """Attack 2: an event is edited and every later hash recomputed with the project's (unkeyed)
    function, and the anchor updated. Without the audit key the first rewritten link fails,
    with or without a checkpoint."""
    target = trail - 3
    allow_tampering(connection)
    rewrite_from(connection, target, lambda event: setattr(event, "details", json.dumps({"forged": True})))

    result = invoke(app, "audit", "verify")

    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert result.stderr.startswith(f"Audit chain broken at event {target} (id ")
    assert "its contents do not match its keyed hash" in result.stderr


def test_a_rewritten_tail_passed_off_as_unkeyed_events_is_named(app: Flask, connection: Connection, trail: int) -> None:
    """Attack 2, by someone who knows the scheme: the rewritten events claim to have no key, as
    events from before keyed links do. Unkeyed events are only accepted before the first keyed one."""
    target = trail - 3

    def forge(event: AuditEvent) -> None:
        event.details = json.dumps({"forged": True})

    allow_tampering(connection)
    connection.execute(update(AuditEvent).where(AuditEvent.seq >= target).values(key_id=None))
    rewrite_from(connection, target, forge)

    result = invoke(app, "audit", "verify")

    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"Audit chain broken at event {target} (id ")
    assert "it has no audit key, yet it follows keyed events" in result.stderr


# --- signed checkpoints -----------------------------------------------------------------------


def checkpoint_file(app: Flask) -> Path:
    return app.extensions["registry.settings"].audit_checkpoint_file


def checkpoint_lines(app: Flask) -> list[dict[str, Any]]:
    return [json.loads(line) for line in checkpoint_file(app).read_text(encoding="utf-8").splitlines()]


def derived_public_key(entry: str) -> str:
    """The checkpoint public key of a ``KEY_ID:KEY`` audit key entry, worked out as the README tells
    anyone to: HKDF-SHA256 of the key with the signing label, as an Ed25519 private key."""
    encoded = entry.partition(":")[2]
    key = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    seed = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"social-channel-registry audit checkpoint signing v1"
    ).derive(key)
    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def signature_checks(line: dict[str, Any]) -> bool:
    """Check a line with nothing but its own public key and the documented message format."""
    fields = {name: value for name, value in line.items() if name != "signature"}
    message = (
        b"social-channel-registry audit checkpoint v1\n"
        + json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()
    )
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(line["public_key"])).verify(
            bytes.fromhex(line["signature"]), message
        )
    except InvalidSignature:
        return False
    return True


def test_a_checkpoint_is_one_signed_line_in_a_private_file_and_in_the_log(
    app: Flask, connection: Connection, trail: int, caplog: pytest.LogCaptureFixture
) -> None:
    """``audit checkpoint`` appends the head (chain id, event number, hash, time, key id, public key and an
    Ed25519 signature anyone can check with that public key) to a file only its owner can read, and logs it."""
    caplog.set_level(logging.INFO, logger="registry.audit.checkpoints")
    anchor = connection.execute(select(AuditAnchor)).one()
    path = checkpoint_file(app)
    assert not path.exists()

    first = invoke(app, "audit", "checkpoint")
    second = invoke(app, "audit", "checkpoint")

    assert (first.exit_code, second.exit_code) == (0, 0), first.output + second.output
    assert first.stdout == f"Checkpoint of event {trail} (hash {anchor.head_hash}) appended to {path}.\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = checkpoint_lines(app)
    assert len(lines) == 2
    line = lines[0]
    assert set(line) == {"v", "chain_id", "seq", "hash", "at", "key_id", "public_key", "signature"}
    assert (line["chain_id"], line["seq"], line["hash"]) == (anchor.chain_id, trail, anchor.head_hash)
    assert line["key_id"] == TEST_AUDIT_KEYS.partition(":")[0]
    assert line["public_key"] == derived_public_key(TEST_AUDIT_KEYS)
    taken = dt.datetime.strptime(line["at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    assert abs(taken - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
    assert all(signature_checks(each) for each in lines)
    logged = [r.getMessage() for r in caplog.records if r.name == "registry.audit.checkpoints"]
    assert logged == [f"audit checkpoint {text}" for text in path.read_text(encoding="utf-8").splitlines()]
    assert all("\n" not in message for message in logged)
    # Taking a checkpoint is not itself an event: the file and the log are its record.
    assert connection.execute(select(AuditAnchor.seq)).scalar_one() == trail


def test_audit_verify_checks_every_checkpoint_of_its_chain(app: Flask, connection: Connection, trail: int) -> None:
    """With checkpoints taken as the trail grew, ``audit verify`` says how many agree with it."""
    assert invoke(app, "audit", "checkpoint").exit_code == 0
    record(AuditAction.CHANNEL_UPDATE, "channel", "CH-0001", {"note": "later"}, actor=Actor.system("tests"))
    db.session().commit()
    assert invoke(app, "audit", "checkpoint").exit_code == 0

    result = invoke(app, "audit", "verify")

    assert result.exit_code == 0, result.output
    head_hash = connection.execute(select(AuditAnchor.head_hash)).scalar_one()
    assert result.stdout == (
        f"{trail + 1} events checked; the chain is intact (head {head_hash}). "
        "2 signed checkpoints of this chain agree.\n"
    )


@pytest.mark.parametrize(
    ("forgery", "problem"),
    [
        ("hash", "has a signature that does not check with audit key"),
        ("seq", "has a signature that does not check with audit key"),
        ("key", "is signed with audit key 'kforged', which is not in REGISTRY_AUDIT_KEYS"),
        ("garbage", "is not JSON"),
        ("fields", "does not have exactly the fields of a checkpoint."),
    ],
)
def test_a_forged_checkpoint_line_is_refused_naming_its_line(
    app: Flask, connection: Connection, trail: int, forgery: str, problem: str
) -> None:
    """A line whose signature does not check, or that is signed with a key this deployment does not
    hold, or that is not a checkpoint at all, makes ``audit verify`` fail and name the line."""
    assert invoke(app, "audit", "checkpoint").exit_code == 0
    genuine = checkpoint_lines(app)[0]
    if forgery == "hash":
        forged: Any = {**genuine, "hash": "a" * 64}
    elif forgery == "seq":
        forged = {**genuine, "seq": genuine["seq"] + 5}
    elif forgery == "key":
        other = Ed25519PrivateKey.generate()
        fields = {
            **genuine,
            "key_id": "kforged",
            "seq": genuine["seq"] + 5,
            "public_key": other.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex(),
        }
        del fields["signature"]
        message = (
            b"social-channel-registry audit checkpoint v1\n"
            + json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()
        )
        forged = {**fields, "signature": other.sign(message).hex()}
    elif forgery == "garbage":
        forged = "not a checkpoint"
    else:
        forged = {**genuine, "note": "extra"}
    with checkpoint_file(app).open("a", encoding="utf-8") as handle:
        handle.write((forged if isinstance(forged, str) else json.dumps(forged)) + "\n")

    result = invoke(app, "audit", "verify")
    refused = invoke(app, "audit", "checkpoint")

    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert result.stderr.startswith(f"Audit checkpoints cannot be trusted: line 2 of the checkpoint file {problem}")
    assert refused.exit_code == 1
    assert refused.stderr.startswith(f"The checkpoint file cannot be trusted: line 2 of the checkpoint file {problem}")
    assert len(checkpoint_lines(app) if forgery != "garbage" else checkpoint_file(app).read_text().splitlines()) == 2


def test_the_timer_checks_only_the_latest_signature_and_verify_checks_them_all(
    app: Flask, connection: Connection, trail: int
) -> None:
    """So that a timer run costs the same in year five as on day one, ``audit checkpoint`` checks the
    signature of the latest checkpoint only; ``audit verify`` checks every line and names an older forgery."""
    for number in range(2):
        record(AuditAction.CHANNEL_UPDATE, "channel", "CH-0001", {"n": number}, actor=Actor.system("t"))
        db.session().commit()
        assert invoke(app, "audit", "checkpoint").exit_code == 0
    lines = checkpoint_file(app).read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    first["signature"] = ("0" if first["signature"][0] != "0" else "1") + first["signature"][1:]
    checkpoint_file(app).write_text("\n".join([json.dumps(first), lines[1]]) + "\n", encoding="utf-8")

    timer = invoke(app, "audit", "checkpoint")
    result = invoke(app, "audit", "verify")

    assert timer.exit_code == 0, timer.output
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "Audit checkpoints cannot be trusted: line 1 of the checkpoint file has a signature that does not check"
    )


def test_checkpoints_of_another_database_are_ignored_and_counted(
    app: Flask, connection: Connection, trail: int
) -> None:
    """A checkpoint file shared with another deployment (its own chain, its own audit key) does not
    stand in the way: its lines are counted, not checked against this trail."""
    other_key = registry_config.generate_master_key_entry()
    keyring = AuditKeyring(registry_config.parse_master_keys(other_key))
    foreign = checkpoints.sign(keyring, str(uuid.uuid4()), 99_999, "b" * 64, dt.datetime.now(dt.UTC))
    path = checkpoint_file(app)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(foreign.as_line() + "\n", encoding="utf-8")
    assert invoke(app, "audit", "checkpoint").exit_code == 0

    result = invoke(app, "audit", "verify")

    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("1 signed checkpoint of this chain agrees; 1 of other databases ignored.\n")


def test_a_swapped_chain_id_breaks_every_keyed_link(app: Flask, connection: Connection, trail: int) -> None:
    """The chain id is part of every keyed link: giving the anchor another one (to make this trail's
    checkpoints look like another database's) breaks the chain at its first event."""
    connection.execute(update(AuditAnchor).values(chain_id=str(uuid.uuid4())))

    report = verify(connection)

    assert (report.ok, report.broken_seq) == (False, 1)
    assert "its contents do not match its keyed hash" in report.describe()


def test_a_trail_replaced_under_a_new_chain_id_is_named_by_the_old_checkpoints(
    app: Flask, connection: Connection, trail: int
) -> None:
    """Emptying the trail and starting again under a new chain id, so that the application itself keys
    the new events, does not make the old checkpoints someone else's: they are signed with this
    deployment's key, so ``audit verify`` refuses them, naming the line."""
    assert invoke(app, "audit", "checkpoint").exit_code == 0
    old_chain = connection.execute(select(AuditAnchor.chain_id)).scalar_one()
    new_chain = str(uuid.uuid4())
    allow_tampering(connection)
    connection.execute(delete(AuditEvent))
    connection.execute(update(AuditAnchor).values(seq=0, head_hash=GENESIS_HASH, head_key_id=None, chain_id=new_chain))
    record(AuditAction.CHANNEL_UPDATE, "channel", "CH-0001", {"note": "a fresh start"}, actor=Actor.system("tests"))
    db.session().commit()

    result = invoke(app, "audit", "verify")

    assert result.exit_code == 1, result.output
    assert result.stderr == (
        f"Audit checkpoints cannot be trusted: line 1 of the checkpoint file is a checkpoint of chain {old_chain} "
        f"under this deployment's audit key, but this database's chain is {new_chain}: its chain id was "
        "changed (the trail replaced), or the database was recreated, in which case move the old checkpoint "
        "file aside.\n"
    )


def test_a_trail_rewritten_as_unkeyed_events_after_a_checkpoint_is_named(
    app: Flask, connection: Connection, make_channel: Callable[..., Channel]
) -> None:
    """A checkpoint of an empty trail, then events: rewriting all of them as unkeyed events (which
    anyone can compute) is refused, because every event after a checkpoint is keyed."""
    assert invoke(app, "audit", "checkpoint").exit_code == 0
    make_channel("active")
    allow_tampering(connection)
    connection.execute(update(AuditEvent).values(key_id=None))
    connection.execute(update(AuditAnchor).values(head_key_id=None))
    rewrite_from(connection, 1, lambda event: setattr(event, "actor", "Somebody Else"))

    report = verify(connection)

    assert (report.ok, report.broken_seq) == (False, 1)
    assert "it has no audit key, yet it comes after event 0 of the checkpoint of" in report.describe()


def test_the_checkpoint_command_refuses_to_sign_a_cut_trail(
    app: Flask, connection: Connection, trail: int, caplog: pytest.LogCaptureFixture
) -> None:
    """After the tail was cut and the anchor moved, the timer's next run refuses (exit 1, logged as an
    error, nothing appended) instead of signing the shorter trail."""
    assert invoke(app, "audit", "checkpoint").exit_code == 0
    line = checkpoint_lines(app)[0]
    allow_tampering(connection)
    new_head = connection.execute(select(AuditEvent.hash).where(AuditEvent.seq == trail - 1)).scalar_one()
    connection.execute(delete(AuditEvent).where(AuditEvent.seq == trail))
    connection.execute(update(AuditAnchor).values(seq=trail - 1, head_hash=new_head))
    caplog.set_level(logging.ERROR, logger="registry.audit.chain")

    refused = invoke(app, "audit", "checkpoint")

    message = (
        f"The checkpoint of {line['at']} (line 1 of the checkpoint file) records event {trail} but the trail "
        f"ends at {trail - 1} (events were removed from the end): run `audit verify`."
    )
    assert (refused.exit_code, refused.stdout, refused.stderr) == (1, "", message + "\n")
    assert len(checkpoint_lines(app)) == 1
    assert [r.getMessage() for r in caplog.records] == [f"audit checkpoint refused: {message}"]


def test_the_checkpoint_command_refuses_a_head_it_cannot_vouch_for(
    app: Flask, connection: Connection, trail: int
) -> None:
    """A head event changed after it was written (or an anchor pointing elsewhere) is not signed."""
    allow_tampering(connection)
    connection.execute(update(AuditEvent).where(AuditEvent.seq == trail).values(actor="Somebody Else"))

    refused = invoke(app, "audit", "checkpoint")

    assert refused.exit_code == 1
    assert refused.stderr.startswith(f"The head, event {trail}, cannot be signed: its contents do not match its keyed")
    assert not checkpoint_file(app).exists()


def test_the_checkpoint_command_explains_a_file_it_cannot_write(
    app: Flask, connection: Connection, database_url: str, tmp_path: Path, trail: int
) -> None:
    """Where the file cannot be written, the command says so plainly, exits 1 and writes nothing."""
    directory = tmp_path / "a-directory"
    directory.mkdir()
    other = create_app(settings_for(database_url, AUDIT_CHECKPOINT_FILE=str(directory)))
    other.extensions["registry.db"].bind_override = connection
    try:
        result = invoke(other, "audit", "checkpoint")
    finally:
        db.database(other).engine.dispose()
    assert result.exit_code == 1
    assert result.stderr == f"Could not append to the checkpoint file {directory}: Is a directory.\n"
    assert list(directory.iterdir()) == []


# --- trails written before keyed links --------------------------------------------------------


def write_unkeyed_trail(connection: Connection, count: int) -> None:
    """Events as the Registry wrote them before keyed links: plain SHA-256 links, no key id, and an
    anchor whose head has no key."""
    anchor = connection.execute(select(AuditAnchor)).one()
    assert anchor.seq == 0
    previous = GENESIS_HASH
    start = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
    for seq in range(1, count + 1):
        event = SimpleNamespace(
            seq=seq,
            occurred_at=start + dt.timedelta(minutes=seq),
            actor_id=None,
            actor="command line (ops)",
            action="channel:update",
            object_type="channel",
            object_id=f"CH-{seq:04d}",
            address=None,
            details=json.dumps({"note": f"old event {seq}"}, separators=(",", ":")),
        )
        digest = event_hash(event, previous)  # type: ignore[arg-type]
        connection.execute(
            AuditEvent.__table__.insert().values(**vars(event), prev_hash=previous, hash=digest, key_id=None)
        )
        previous = digest
    connection.execute(update(AuditAnchor).values(seq=count, head_hash=previous, head_key_id=None))


def test_an_unkeyed_trail_keeps_verifying_and_the_switch_to_keyed_links_is_an_event(
    app: Flask, connection: Connection
) -> None:
    """Events from before keyed links stay checkable; the first event written afterwards is preceded
    by an ``audit:keyed`` event (itself keyed) giving their number and head hash."""
    write_unkeyed_trail(connection, 6)
    old_head = connection.execute(select(AuditAnchor.head_hash)).scalar_one()
    before = verify(connection)
    assert before.ok and (before.checked, before.unkeyed) == (6, 6), before.describe()
    assert "The first 6 are from before keyed links and have plain SHA-256 links." in before.describe()

    record(AuditAction.CHANNEL_UPDATE, "channel", "CH-0001", {"note": "after the upgrade"}, actor=Actor.system("t"))
    record(AuditAction.CHANNEL_UPDATE, "channel", "CH-0002", {"note": "and another"}, actor=Actor.system("t"))
    db.session().commit()

    rows = connection.execute(select(AuditEvent).where(AuditEvent.seq > 6).order_by(AuditEvent.seq)).all()
    key_id = TEST_AUDIT_KEYS.partition(":")[0]
    assert [(r.seq, r.action, r.actor, r.key_id) for r in rows] == [
        (7, "audit:keyed", "system", key_id),
        (8, "channel:update", "t", key_id),
        (9, "channel:update", "t", key_id),
    ]
    assert json.loads(rows[0].details) == {"unkeyed_events": 6, "unkeyed_head_hash": old_head}
    assert rows[0].prev_hash == old_head
    after = verify(connection)
    assert after.ok and (after.checked, after.unkeyed) == (9, 6), after.describe()


def test_an_unkeyed_prefix_rewritten_after_the_switch_is_named(app: Flask, connection: Connection) -> None:
    """Once the switch is written, its keyed link covers the head of the unkeyed events: rewriting
    them all, consistently, with the project's own unkeyed function still breaks the chain there."""
    write_unkeyed_trail(connection, 6)
    record(AuditAction.CHANNEL_UPDATE, "channel", "CH-0001", {"note": "after the upgrade"}, actor=Actor.system("t"))
    db.session().commit()
    allow_tampering(connection)
    new_head = rewrite_from(connection, 3, lambda event: setattr(event, "actor", "Somebody Else"), until=6)
    # The switch cannot be recomputed without the key: the attacker points it at the new head and
    # makes its details agree, which is all they can do.
    connection.execute(
        update(AuditEvent)
        .where(AuditEvent.seq == 7)
        .values(
            prev_hash=new_head,
            details=json.dumps(
                {"unkeyed_events": 6, "unkeyed_head_hash": new_head}, separators=(",", ":"), sort_keys=True
            ),
        )
    )

    report = verify(connection)

    assert (report.ok, report.broken_seq, report.checked) == (False, 7, 6)
    assert "its contents do not match its keyed hash" in report.describe()


def rewrite_unkeyed_prefix(connection: Connection, target: int) -> None:
    """Rewrite event ``target`` of an all-unkeyed trail and recompute every later hash and the anchor."""
    rewrite_from(connection, target, lambda event: setattr(event, "details", json.dumps({"forged": True})))


def test_an_unkeyed_trail_rewritten_before_the_switch_is_named_by_a_checkpoint(
    app: Flask, connection: Connection
) -> None:
    """Before any keyed event follows them, unkeyed events are only as strong as plain SHA-256: a
    consistent rewrite passes the links and the anchor. A checkpoint taken before names it."""
    write_unkeyed_trail(connection, 6)
    assert invoke(app, "audit", "checkpoint").exit_code == 0
    line = checkpoint_lines(app)[0]
    original = connection.execute(select(AuditEvent.hash).where(AuditEvent.seq == 6)).scalar_one()
    allow_tampering(connection)
    rewrite_unkeyed_prefix(connection, 2)
    forged = connection.execute(select(AuditEvent.hash).where(AuditEvent.seq == 6)).scalar_one()
    event_id = connection.execute(select(AuditEvent.id).where(AuditEvent.seq == 6)).scalar_one()

    result = invoke(app, "audit", "verify")

    assert result.exit_code == 1, result.output
    assert result.stderr == (
        f"Audit chain broken at event 6 (id {event_id}): the checkpoint of {line['at']} (line 1 of the checkpoint "
        f"file) records hash {original[:12]}… for it, but the trail holds {forged[:12]}… (this event, or the "
        "trail before it, was rewritten).\n"
    )
    assert line["seq"] == 6 and line["hash"] == original


def test_an_old_unkeyed_database_migrated_forward_verifies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A database at revision 0012 with a trail written by the old code: after ``db upgrade`` it has a
    chain id, its events keep no key and verify; the next event is preceded by the switch."""
    monkeypatch.setenv("REGISTRY_INSTANCE_PATH", str(tmp_path / "instance"))
    with own_database(tmp_path) as url:
        migrate(url, "0012")
        engine = db.make_engine(url)
        try:
            with engine.begin() as connection:
                previous = GENESIS_HASH
                for seq in range(1, 5):
                    event = SimpleNamespace(
                        seq=seq,
                        occurred_at=dt.datetime(2026, 3, 1, 12, seq, tzinfo=dt.UTC),
                        actor_id=None,
                        actor="command line (ops)",
                        action="channel:update",
                        object_type="channel",
                        object_id=f"CH-{seq:04d}",
                        address="10.0.0.7",
                        details='{"note":"before keyed links"}',
                    )
                    digest = event_hash(event, previous)  # type: ignore[arg-type]
                    connection.execute(
                        text(
                            "INSERT INTO audit_events (seq, occurred_at, actor_id, actor, action, object_type, "
                            "object_id,"
                            " address, details, prev_hash, hash) VALUES (:seq, :occurred_at, :actor_id, "
                            ":actor, :action,"
                            " :object_type, :object_id, :address, :details, :prev_hash, :hash)"
                        ),
                        {**vars(event), "prev_hash": previous, "hash": digest},
                    )
                    previous = digest
                connection.execute(text("UPDATE audit_anchor SET seq = 4, head_hash = :h"), {"h": previous})
            migrate(url, "head")
            with engine.connect() as connection:
                anchor = connection.execute(select(AuditAnchor)).one()
                keys = connection.execute(select(AuditEvent.key_id)).scalars().all()
            assert uuid.UUID(anchor.chain_id).version == 4
            assert (anchor.seq, anchor.head_hash, anchor.head_key_id, keys) == (4, previous, None, [None] * 4)
        finally:
            engine.dispose()

        app = create_app(settings_for(url))
        try:
            assert invoke(app, "audit", "verify").stdout.startswith("4 events checked; the chain is intact")
            with app.app_context(), db.transaction():
                record(AuditAction.CHANNEL_UPDATE, "channel", "CH-0001", {"note": "after"}, actor=Actor.system("t"))
            result = invoke(app, "audit", "verify")
            with app.app_context():
                actions = db.session().execute(select(AuditEvent.action).order_by(AuditEvent.seq)).scalars().all()
                db.session().rollback()
        finally:
            db.database(app).engine.dispose()
        assert result.exit_code == 0 and result.stdout.startswith("6 events checked; the chain is intact"), (
            result.output
        )
        assert actions == ["channel:update"] * 4 + ["audit:keyed", "channel:update"]


class own_database:
    """A database nothing else uses, committed for real: SQLite in ``directory`` or a new PostgreSQL one."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.postgres = fresh_postgres_database(_postgres_url()) if _postgres_url() else None

    def __enter__(self) -> str:
        return self.postgres.__enter__() if self.postgres else f"sqlite:///{self.directory / 'own.db'}"

    def __exit__(self, *exc: object) -> None:
        if self.postgres:
            self.postgres.__exit__(*exc)


def test_the_downgrade_refuses_once_any_event_is_keyed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Going back to 0012 would drop the key ids the keyed events need to be checked: refused, changing nothing."""
    monkeypatch.setenv("REGISTRY_INSTANCE_PATH", str(tmp_path / "instance"))
    with own_database(tmp_path) as url:
        migrate(url, "0013")
        app = create_app(settings_for(url))
        try:
            with app.app_context(), db.transaction():
                record(AuditAction.CHANNEL_UPDATE, "channel", "CH-0001", {"note": "keyed"}, actor=Actor.system("t"))
        finally:
            db.database(app).engine.dispose()
        engine = db.make_engine(url)
        try:
            with (
                engine.connect() as connection,
                pytest.raises(RuntimeError, match="1 audit events are linked by a keyed"),
            ):
                cfg = alembic_config(url)
                cfg.attributes["connection"] = connection
                command.downgrade(cfg, "0012")
            with engine.connect() as connection:
                assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0013"
                assert connection.execute(select(AuditEvent.key_id)).scalars().all() == [TEST_AUDIT_KEYS.split(":")[0]]
        finally:
            engine.dispose()


# --- the keys -----------------------------------------------------------------------------------


def keyed_app(database_url: str, connection: Connection, audit_keys: str) -> Flask:
    """Another application on this test's transaction, with its own ``REGISTRY_AUDIT_KEYS``."""
    other = create_app(settings_for(database_url, AUDIT_KEYS=audit_keys))
    other.extensions["registry.db"].bind_override = connection
    return other


def test_a_new_audit_key_keys_new_events_and_old_ones_still_check(
    app: Flask, connection: Connection, database_url: str, trail: int
) -> None:
    """After a new key is put first (the old kept after it), new events and checkpoints use the new key
    and everything verifies; drop the old key and the first event it keyed is named."""
    assert invoke(app, "audit", "checkpoint").exit_code == 0
    new = registry_config.generate_master_key_entry()
    rotated = keyed_app(database_url, connection, f"{new},{TEST_AUDIT_KEYS}")
    try:
        with rotated.app_context():
            record(AuditAction.CHANNEL_UPDATE, "channel", "CH-0001", {"note": "new key"}, actor=Actor.system("t"))
            db.session().commit()
        assert invoke(rotated, "audit", "checkpoint").exit_code == 0
        both = invoke(rotated, "audit", "verify")
        without_old = invoke(keyed_app(database_url, connection, new), "audit", "verify")
    finally:
        db.database(rotated).engine.dispose()

    new_id, old_id = new.split(":")[0], TEST_AUDIT_KEYS.split(":")[0]
    keys = connection.execute(select(AuditEvent.key_id).order_by(AuditEvent.seq)).scalars().all()
    assert keys == [old_id] * trail + [new_id]
    assert [line["key_id"] for line in checkpoint_lines(app)] == [old_id, new_id]
    assert checkpoint_lines(app)[1]["public_key"] == derived_public_key(new)
    assert both.exit_code == 0, both.output
    assert both.stdout.endswith("2 signed checkpoints of this chain agree.\n")
    assert without_old.exit_code == 1
    assert without_old.stderr == (
        f"Audit checkpoints cannot be trusted: line 1 of the checkpoint file is signed with audit key {old_id!r}, "
        "which is not in REGISTRY_AUDIT_KEYS (keep retired audit keys configured after the current one).\n"
    )


def test_an_event_under_an_unknown_key_is_named(
    app: Flask, connection: Connection, database_url: str, trail: int
) -> None:
    """Without the key that linked them, the events cannot be checked: the first is named, with the key."""
    stranger = keyed_app(database_url, connection, registry_config.generate_master_key_entry())
    try:
        result = invoke(stranger, "audit", "verify")
    finally:
        db.database(stranger).engine.dispose()
    assert result.exit_code == 1
    assert result.stderr.startswith("Audit chain broken at event 1 (id ")
    assert f"it is linked with audit key {TEST_AUDIT_KEYS.split(':')[0]!r}, which is not in REGISTRY_AUDIT_KEYS" in (
        result.stderr
    )


def test_a_second_switch_to_keyed_links_is_named(app: Flask, connection: Connection, trail: int) -> None:
    """Clearing the anchor's head key makes the next write record a switch that the trail contradicts."""
    connection.execute(update(AuditAnchor).values(head_key_id=None))
    record(AuditAction.CHANNEL_UPDATE, "channel", "CH-0001", {"note": "later"}, actor=Actor.system("t"))
    db.session().commit()

    report = verify(connection)

    assert (report.ok, report.broken_seq) == (False, trail + 1)
    assert "it records a switch to keyed links that does not match the trail" in report.describe()


def test_development_generates_the_audit_key_once_into_the_instance_folder(tmp_path: Path) -> None:
    """Outside production a missing REGISTRY_AUDIT_KEYS is generated once, readable by its owner only,
    and used again; the checkpoint file defaults to the instance folder."""
    values = {"ENV": "development", "MASTER_KEYS": registry_config.generate_master_key_entry()}
    first = registry_config.load_settings(values, tmp_path)
    second = registry_config.load_settings(values, tmp_path)
    stored = tmp_path / "audit_keys"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert first.audit_keys == second.audit_keys == registry_config.parse_master_keys(stored.read_text())
    assert first.audit_checkpoint_file == tmp_path / "audit-checkpoints.jsonl"
    chosen = registry_config.load_settings({**values, "AUDIT_CHECKPOINT_FILE": "/var/lib/registry/cp.jsonl"}, tmp_path)
    assert chosen.audit_checkpoint_file == Path("/var/lib/registry/cp.jsonl")


def test_production_refuses_to_start_without_the_audit_key(tmp_path: Path) -> None:
    """Production never generates an audit key: it stops, naming the variable."""
    values = {
        "ENV": "production",
        "DATABASE_URL": "postgresql://db/registry",
        "SECRET_KEY": "s" * 48,
        "MASTER_KEYS": registry_config.generate_master_key_entry(),
        "FINGERPRINT_KEYS": registry_config.generate_master_key_entry(),
    }
    with pytest.raises(registry_config.ConfigError) as refused:
        registry_config.load_settings(values, tmp_path)
    assert str(refused.value) == "Production needs real values: set REGISTRY_AUDIT_KEYS (see README: Configuration)."
    assert not (tmp_path / "audit_keys").exists()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("nokey", "REGISTRY_AUDIT_KEYS entry 1 is not KEY_ID:KEY"),
        (
            "a1:" + base64.urlsafe_b64encode(b"short").decode(),
            "REGISTRY_AUDIT_KEYS entry 'a1' must decode to 32 bytes.",
        ),
        ("same", "REGISTRY_AUDIT_KEYS reuses a key of REGISTRY_MASTER_KEYS: give the audit chain keys of its own."),
    ],
)
def test_a_wrong_audit_key_is_refused_with_a_message_naming_it(tmp_path: Path, value: str, message: str) -> None:
    master = registry_config.generate_master_key_entry()
    audit = "a2:" + master.split(":")[1] if value == "same" else value
    with pytest.raises(registry_config.ConfigError) as refused:
        registry_config.load_settings({"ENV": "testing", "MASTER_KEYS": master, "AUDIT_KEYS": audit}, tmp_path)
    assert str(refused.value).startswith(message)
    assert master.split(":")[1] not in str(refused.value)


# --- where the trail is shown -----------------------------------------------------------------


def test_the_dashboard_card_names_an_event_rewritten_with_the_projects_own_function(
    app: Flask, connection: Connection, browser_as: Callable[..., Browser]
) -> None:
    """The card re-checks the newest events by the keyed rules, so attack 2 shows there at once."""
    browser = browser_as("auditor")
    target = connection.execute(select(AuditAnchor.seq)).scalar_one() - 1
    allow_tampering(connection)
    rewrite_from(connection, target, lambda event: setattr(event, "actor", "Somebody Else"))

    page = " ".join(browser.get("/").get_data(as_text=True).split())

    assert "The audit chain is broken" in page
    assert f"Audit chain broken at event {target}" in page and "keyed hash (the event was changed" in page


def test_the_monthly_report_shows_the_last_checkpoint_and_its_public_key_and_keeps_them_when_issued(
    app: Flask, connection: Connection, make_user: Callable[..., User], browser_as: Callable[..., Browser]
) -> None:
    """A checkpoint taken during the month appears in the report's figures, page, CSV and PDF with the
    public key that checks it; issuing freezes them, so a later checkpoint does not change the report."""
    comms = make_user("comms")
    month = reports.default_month()
    period = compute.period_of(*(int(part) for part in month.split("-")))
    taken, _path = take_checkpoint(now=period.end - dt.timedelta(days=2))
    db.session().rollback()
    draft = reports.generate(month, comms)
    db.session().commit()
    reports.issue(draft, draft.sha256, comms)
    db.session().commit()
    later, _path = take_checkpoint()
    db.session().rollback()

    frozen = reports.get(month).figures["audit"]["checkpoint"]
    assert frozen == {
        "seq": taken.seq,
        "hash": taken.hash,
        "at": taken.at,
        "chain_id": taken.chain_id,
        "key_id": TEST_AUDIT_KEYS.split(":")[0],
        "public_key": derived_public_key(TEST_AUDIT_KEYS),
    }
    assert later.seq > taken.seq
    browser = browser_as(user=comms)
    page = " ".join(browser.get(f"/reports/{month}").get_data(as_text=True).split())
    for shown in (
        f'<span class="app-hash">{taken.hash}</span>',
        f'<span class="app-hash">{taken.public_key}</span>',
        f"> {taken.at} </dd>",
    ):
        assert shown in page, shown
    assert re.search(rf"Event number in the checkpoint </dt> <dd [^>]*> {taken.seq} </dd>", page)
    assert later.hash not in page
    rows = {
        row["figure"]: row["value"]
        for row in csv.DictReader(io.StringIO(browser.get(f"/reports/{month}/export.csv").get_data(as_text=True)))
    }
    assert (rows["audit.checkpoint.seq"], rows["audit.checkpoint.hash"], rows["audit.checkpoint.at"]) == (
        str(taken.seq),
        taken.hash,
        taken.at,
    )
    assert rows["audit.checkpoint.public_key"] == taken.public_key
    pdf = browser.get(f"/reports/{month}/export.pdf")
    assert pdf.status_code == 200, pdf.get_data(as_text=True)[:300]
    drawn = pdf_text(pdf.get_data())
    assert taken.hash in drawn and taken.public_key in drawn and taken.at in drawn
    assert later.hash not in drawn


def pdf_text(data: bytes) -> list[str]:
    """The strings a PDF draws, decoded through each font's ToUnicode map (fpdf2 draws glyph codes
    of two bytes with an embedded font, so the words are not in the file as text)."""
    drawn: list[str] = []
    with pikepdf.open(io.BytesIO(data)) as document:
        for page in document.pages:
            maps = {
                str(name): {
                    int(code, 16): chr(int(char, 16))
                    for code, char in re.findall(
                        r"<([0-9A-F]{4})> <([0-9A-F]{4})>", font.ToUnicode.read_bytes().decode()
                    )
                }
                for name, font in page.Resources.Font.items()
                if "/ToUnicode" in font
            }
            glyphs: dict[int, str] = {}
            for operands, operator in pikepdf.parse_content_stream(page):
                if operator == pikepdf.Operator("Tf"):
                    glyphs = maps.get(str(operands[0]), {})
                elif operator == pikepdf.Operator("Tj"):
                    raw = bytes(operands[0])
                    drawn.append(
                        "".join(glyphs.get(int.from_bytes(raw[i : i + 2]), "?") for i in range(0, len(raw), 2))
                    )
    return drawn


def test_a_report_without_a_checkpoint_says_so(
    app: Flask, make_user: Callable[..., User], browser_as: Callable[..., Browser]
) -> None:
    comms = make_user("comms")
    month = reports.default_month()
    reports.generate(month, comms)
    db.session().commit()
    figures = reports.get(month).figures["audit"]["checkpoint"]
    assert (figures["seq"], figures["hash"], figures["at"]) == (None, None, None)
    assert figures["public_key"] == derived_public_key(TEST_AUDIT_KEYS)
    page = " ".join(browser_as(user=comms).get(f"/reports/{month}").get_data(as_text=True).split())
    assert "None yet: the checkpoint timer had not run" in page


# --- the commands, as an operator's timer runs them --------------------------------------------


def test_the_commands_as_separate_processes(tmp_path: Path) -> None:
    """``flask --app wsgi audit checkpoint`` then ``audit verify`` in processes of their own, configured
    only by the environment, on a database that really commits; then the tail is cut and the anchor moved."""
    with own_database(tmp_path) as url:
        migrate(url)
        environment = {
            **{name: value for name, value in os.environ.items() if not name.startswith(("REGISTRY_", "FLASK_"))},
            "REGISTRY_ENV": "testing",
            "REGISTRY_DATABASE_URL": url,
            "REGISTRY_SECRET_KEY": "s" * 40,
            "REGISTRY_MASTER_KEYS": registry_config.generate_master_key_entry(),
            "REGISTRY_AUDIT_KEYS": TEST_AUDIT_KEYS,
            "REGISTRY_INSTANCE_PATH": str(tmp_path / "instance"),
            "REGISTRY_AUDIT_CHECKPOINT_FILE": str(tmp_path / "checkpoints" / "audit.jsonl"),
        }

        def flask(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "flask", "--app", "wsgi", *args],
                cwd=PROJECT_ROOT,
                env=environment,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )

        app = create_app(settings_for(url))
        try:
            with app.app_context(), db.transaction():
                for number in range(5):
                    record(AuditAction.CHANNEL_UPDATE, "channel", f"CH-{number:04d}", {}, actor=Actor.system("t"))
            taken = flask("audit", "checkpoint")
            verified = flask("audit", "verify")
            engine = db.make_engine(url)
            try:
                with engine.begin() as connection:
                    allow_tampering(connection)
                    head3 = connection.execute(select(AuditEvent.hash).where(AuditEvent.seq == 3)).scalar_one()
                    connection.execute(delete(AuditEvent).where(AuditEvent.seq > 3))
                    connection.execute(update(AuditAnchor).values(seq=3, head_hash=head3))
            finally:
                engine.dispose()
            cut = flask("audit", "verify")
            again = flask("audit", "checkpoint")
        finally:
            db.database(app).engine.dispose()

    path = tmp_path / "checkpoints" / "audit.jsonl"
    line = json.loads(path.read_text(encoding="utf-8"))
    assert taken.returncode == 0, taken.stderr
    assert taken.stdout == f"Checkpoint of event 5 (hash {line['hash']}) appended to {path}.\n"
    assert f"audit checkpoint {path.read_text(encoding='utf-8').strip()}" in taken.stderr  # the log, for a SIEM
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout == (
        f"5 events checked; the chain is intact (head {line['hash']}). 1 signed checkpoint of this chain agrees.\n"
    )
    assert (cut.returncode, cut.stdout) == (1, "")
    assert cut.stderr.strip().endswith(
        f"Audit chain broken at event 4: the checkpoint of {line['at']} (line 1 of the checkpoint file) records "
        "event 5 but the trail ends at 3 (events were removed from the end)."
    )
    assert again.returncode == 1 and "records event 5 but the trail ends at 3" in again.stderr
    assert len(path.read_text(encoding="utf-8").splitlines()) == 1


# --- the link formats -------------------------------------------------------------------------


def test_an_event_written_before_keyed_links_keeps_the_hash_it_was_written_with() -> None:
    """The unkeyed link is exactly the previous release's: this hash was computed by its
    ``event_hash`` (commit f60360f) for this event, so trails it wrote still check."""
    event = SimpleNamespace(
        seq=41,
        occurred_at=dt.datetime(2026, 3, 1, 12, 30, 5, 250, tzinfo=dt.UTC),
        actor_id=7,
        actor="Sam Jones (sam.jones@example.nhs.uk)",
        action="channel:approve",
        object_type="channel",
        object_id="CH-0012",
        address="10.0.0.7",
        details='{"from":"requested","reason":"Meets policy 6.2 – approved","to":"approved"}',
    )
    assert event_hash(event, "ab" * 32) == "972f98fc75ea163542a447d93ab5eb4344e8af1c3e5af8905e378ad48b666659"  # type: ignore[arg-type]


def test_a_keyed_link_can_be_recomputed_by_anyone_holding_the_audit_key(
    app: Flask, connection: Connection, trail: int
) -> None:
    """The keyed link as documented: HMAC-SHA256, keyed by HKDF-SHA256 of the audit key with the link
    label, over the label, chain id, key id, previous hash and the event's canonical JSON, one per line."""
    anchor = connection.execute(select(AuditAnchor)).one()
    row = connection.execute(select(AuditEvent.__table__).where(AuditEvent.seq == trail)).one()._mapping
    encoded = TEST_AUDIT_KEYS.partition(":")[2]
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"social-channel-registry audit link v1").derive(
        base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    )
    envelope = {
        name: row[name]
        for name in ("seq", "actor_id", "actor", "action", "object_type", "object_id", "address", "details")
    }
    envelope["occurred_at"] = row["occurred_at"].astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    message = "\n".join(
        (
            "social-channel-registry audit link v1",
            anchor.chain_id,
            row["key_id"],
            row["prev_hash"],
            json.dumps(envelope, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
        )
    ).encode()
    assert hmac.new(key, message, "sha256").hexdigest() == row["hash"]
