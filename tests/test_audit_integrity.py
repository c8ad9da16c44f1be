"""The audit trail against someone who can write the database but holds no key outside it (issue 9 §4).

Each attack is carried out as a database administrator would: the append-only triggers are
removed inside the test's own transaction (rolled back afterwards), rows are deleted or
rewritten, and the anchor is brought into line. ``audit verify`` is then run as the command.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import stat
import uuid
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
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
from registry import create_app, db
from registry.audit import checkpoints
from registry.audit.keyring import AuditKeyring
from registry.audit.models import GENESIS_HASH, AuditAction, AuditAnchor, AuditEvent
from registry.audit.services import Actor, event_hash, record
from registry.channels.models import Channel
from tests.conftest import (
    TEST_AUDIT_KEYS,
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
        f"Audit checkpoints cannot be trusted: line 1 of the checkpoint file is a checkpoint of chain {old_chain}, "
        f"signed with this deployment's audit key, but this database's chain is {new_chain}: its chain id was "
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
                            "INSERT INTO audit_events (seq, occurred_at, actor_id, actor, action, object_type, object_id,"
                            " address, details, prev_hash, hash) VALUES (:seq, :occurred_at, :actor_id, :actor, :action,"
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
