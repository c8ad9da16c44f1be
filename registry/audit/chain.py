"""The audit chain: how each event is linked to the one before, and how the whole trail is checked.

Each event's ``hash`` is an HMAC-SHA256, under the audit key named by its ``key_id``, over the
chain id, that key id, the previous event's hash and the event's canonical form. Events written
before keyed links (``key_id`` NULL) keep the plain SHA-256 link they were written with. The
first event written on such a trail afterwards is an ``audit:keyed`` event, itself keyed, that
gives the number of unkeyed events before it and their head hash; unkeyed events are accepted
only as that prefix. ``audit checkpoint`` signs the head into a file outside the database
(:mod:`registry.audit.checkpoints`), and :func:`verify_chain` checks the trail against every
checkpoint of its chain there.

What this guarantees against someone who can write every table (a database administrator, or
whoever steals the database's credentials) but holds no audit key and cannot write the
checkpoint file or the log:

* They cannot change, insert, reorder or remove a keyed event, nor relabel one as unkeyed, with
  another key id or under another chain id, without ``audit verify`` naming the first event
  affected: recomputing a keyed link needs the key, and an unkeyed event after a keyed one (or
  after the event of any checkpoint) is refused.
* They cannot cut events that a checkpoint records, nor hide the cut by updating the anchor:
  the checkpoint names the event number and hash it saw. Nor can they replace the whole trail
  with a new one under a new chain id: a checkpoint signed with this deployment's key for
  another chain is refused, not ignored.
* They can remove events newer than the last checkpoint and set the anchor to match: nothing
  outside the database remembers those. How often the timer runs ``audit checkpoint`` bounds
  what can be lost this way.
* They can rewrite events written before keyed links while no keyed event follows them and no
  checkpoint records them: such a trail is only as strong as plain SHA-256. The first keyed
  event's link covers their head, and so does the first checkpoint: take one right after
  upgrading. Until a first checkpoint exists, a trail keyed from its first event can likewise be
  replaced whole by unkeyed events passed off as older ones: take one right after installing too.
* They can break the trail so that it fails to verify (that is detection, not prevention),
  and whoever holds the audit key can write anything: keep ``REGISTRY_AUDIT_KEYS`` out of the
  database and its backups.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from flask import current_app
from sqlalchemy import ColumnElement, DateTime, RowMapping, exists, func, select, type_coerce
from sqlalchemy.orm import Session

from config import KEY_ID_PATTERN
from registry import db
from registry.audit import checkpoints
from registry.audit.checkpoints import Checkpoint, CheckpointFile, CheckpointFileError
from registry.audit.keyring import AuditKeyring, current_keyring
from registry.audit.models import GENESIS_HASH, AuditAction, AuditAnchor, AuditEvent

log = logging.getLogger(__name__)

HASHED_FIELDS: Final = (
    "seq",
    "occurred_at",
    "actor_id",
    "actor",
    "action",
    "object_type",
    "object_id",
    "address",
    "details",
)
SWITCH: Final = str(AuditAction.AUDIT_KEYED)
_HEX64 = re.compile(r"[0-9a-f]{64}")
_CHAIN_ID = re.compile(r"[0-9A-Za-z-]{1,64}")


def shown(value: object) -> str:
    """``value`` as text safe to quote on a terminal or in a log line: anything read from the
    database may hold carriage returns or escape codes that would redraw what the operator sees."""
    text = str(value)
    return text if text.isprintable() else ascii(text)


def anchor_problem(anchor: Any) -> str | None:
    """What about the anchor row the Registry never writes, or None. Its fields are quoted in
    every verdict, so they are checked before anything else is."""
    if type(anchor.seq) is not int or anchor.seq < 0:
        return "its event count is not a whole number."
    if not isinstance(anchor.head_hash, str) or not _HEX64.fullmatch(anchor.head_hash):
        return "its head hash is not a hash."
    if not isinstance(anchor.chain_id, str) or not _CHAIN_ID.fullmatch(anchor.chain_id):
        return "its chain id is not one the Registry makes."
    if anchor.head_key_id is not None and (
        not isinstance(anchor.head_key_id, str) or not KEY_ID_PATTERN.fullmatch(anchor.head_key_id)
    ):
        return "its head's key id is not an audit key id."
    return None


# One encoder, made once: json.dumps with options builds a new one per call, which dominated the check.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, Unicode as itself: the same text for the same value, always."""
    return _CANONICAL.encode(value)


def _timestamp(moment: dt.datetime) -> str:
    """``2026-01-05T09:01:00.000000Z``: what every event's link has covered since the first release.

    A time without a zone is UTC: the check reads times as SQLite stores them (see :func:`_trail`).
    """
    if moment.tzinfo is None:
        return moment.isoformat(timespec="microseconds") + "Z"
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds").removesuffix("+00:00") + "Z"


#: JSON text of a string as the canonical encoder writes it (ensure_ascii off): json's own C function.
_encode_text: Final = json.encoder.encode_basestring


def _json_value(value: Any) -> str:
    """``value`` as :func:`canonical_json` writes it: text, whole numbers and null directly (what events
    hold), anything else through the encoder itself."""
    kind = type(value)
    if kind is str:
        return _encode_text(value)
    if kind is int:
        return int.__repr__(value)
    if value is None:
        return "null"
    return canonical_json(value)


def canonical_event(fields: Mapping[str, Any]) -> str:
    """The event's hashed fields as canonical JSON: what its link covers besides the previous hash.

    Byte for byte what :func:`canonical_json` makes of a dict of :data:`HASHED_FIELDS` (sorted keys,
    no spaces, Unicode as itself), written out directly: checking a trail of 100,000s of events spent
    a third of its time building, sorting and encoding those dicts.
    """
    value, text = _json_value, _encode_text
    action, actor, actor_id, address = fields["action"], fields["actor"], fields["actor_id"], fields["address"]
    details, object_id, object_type = fields["details"], fields["object_id"], fields["object_type"]
    return (
        f'{{"action":{text(action) if type(action) is str else value(action)},'
        f'"actor":{text(actor) if type(actor) is str else value(actor)},'
        f'"actor_id":{value(actor_id)},"address":{value(address)},'
        f'"details":{text(details) if type(details) is str else value(details)},'
        f'"object_id":{text(object_id) if type(object_id) is str else value(object_id)},'
        f'"object_type":{text(object_type) if type(object_type) is str else value(object_type)},'
        f'"occurred_at":"{_timestamp(fields["occurred_at"])}","seq":{value(fields["seq"])}}}'
    )


def plain_hash(prev_hash: str, canonical: str) -> str:
    """The unkeyed SHA-256 link of events written before keyed links."""
    return hashlib.sha256(f"{prev_hash}\n{canonical}".encode()).hexdigest()


def event_hash(event: AuditEvent, prev_hash: str) -> str:
    """The unkeyed SHA-256 link of ``event`` to ``prev_hash``, as events before keyed links have it."""
    return plain_hash(prev_hash, canonical_event({name: getattr(event, name) for name in HASHED_FIELDS}))


def switch_details(seq: int, prev_hash: str) -> dict[str, Any]:
    """What the ``audit:keyed`` event at ``seq`` says: the unkeyed events before it and their head."""
    return {"unkeyed_events": seq - 1, "unkeyed_head_hash": prev_hash}


class LinkRules:
    """The rules each event meets, applied to consecutive events in sequence order.

    ``previous`` is what came before the first event given: ``"genesis"``, ``"unkeyed"``,
    ``"keyed"``, or ``"unknown"`` when a check starts part-way along the chain.
    ``first_checkpoint`` is the earliest checkpoint of the chain: every later event is keyed.
    """

    def __init__(
        self,
        keyring: AuditKeyring,
        chain_id: str,
        *,
        previous: str = "genesis",
        first_checkpoint: Checkpoint | None = None,
    ) -> None:
        self.keyring = keyring
        self.chain_id = chain_id
        self.previous = previous
        self.first_checkpoint = first_checkpoint
        self.unkeyed = 0

    def problem(self, row: Mapping[Any, Any], prev_hash: str) -> str | None:
        """What is wrong with ``row`` linked to ``prev_hash``, or None; then it becomes the previous event."""
        if not isinstance(row["occurred_at"], dt.datetime):
            return "its time is not a time (the event was changed)."
        key_id = row["key_id"]
        canonical = canonical_event(row)
        if key_id is None:
            if self.previous == "keyed":
                return (
                    "it has no audit key, yet it follows keyed events: every event since the switch to keyed "
                    "links is keyed, so this one was forged or altered."
                )
            if self.first_checkpoint is not None and row["seq"] > self.first_checkpoint.seq:
                return (
                    f"it has no audit key, yet it comes after event {self.first_checkpoint.seq} of "
                    f"{self.first_checkpoint.describe()}, and every event after a checkpoint is keyed: "
                    "this one was forged or altered."
                )
            if not hmac.compare_digest(plain_hash(prev_hash, canonical), row["hash"]):
                return "its contents do not match its hash (the event was changed)."
            self.previous = "unkeyed"
            self.unkeyed += 1
            return None
        if key_id not in self.keyring:
            return (
                f"it is linked with audit key {key_id!r}, which is not in REGISTRY_AUDIT_KEYS "
                "(keep retired audit keys configured after the current one)."
            )
        if row["action"] == SWITCH:
            if self.previous in ("genesis", "keyed") or row["details"] != canonical_json(
                switch_details(row["seq"], prev_hash)
            ):
                return (
                    "it records a switch to keyed links that does not match the trail: the switch comes straight "
                    "after the last unkeyed event and gives their number and head hash."
                )
        elif self.previous == "unkeyed":
            return "it is the first keyed event, but the switch to keyed links (audit:keyed) does not come before it."
        expected = self.keyring.link(key_id, self.chain_id, prev_hash, canonical)
        if not hmac.compare_digest(expected, row["hash"]):
            return "its contents do not match its keyed hash (the event was changed, or its key id, or the chain's id)."
        self.previous = "keyed"
        return None


@dataclass(frozen=True)
class ChainReport:
    """The outcome of a check: how far it got and, when broken, where and why."""

    ok: bool
    checked: int
    head_hash: str
    broken_seq: int | None = None
    broken_id: int | None = None
    problem: str | None = None
    #: Events from before keyed links (checked by their plain SHA-256 link).
    unkeyed: int = 0
    #: Checkpoints of this chain the trail was checked against, and those of other databases ignored.
    checkpoints: int = 0
    foreign_checkpoints: int = 0
    #: The line of the checkpoint file that cannot be trusted, when that is what is wrong.
    checkpoint_line: int | None = field(default=None, compare=False)

    def describe(self) -> str:
        if self.ok:
            text = f"Audit chain intact: {self.checked} events checked; head {self.head_hash}."
            if self.unkeyed:
                text += f" The first {self.unkeyed} are from before keyed links and have plain SHA-256 links."
            return f"{text} {self.checkpoint_summary()}"
        if self.checkpoint_line is not None:
            return f"Audit checkpoints cannot be trusted: {self.problem}"
        if self.broken_seq is not None:
            where = f"event {self.broken_seq}" + (f" (id {self.broken_id})" if self.broken_id is not None else "")
        elif self.broken_id is not None:
            where = f"the event with id {self.broken_id}"
        else:
            where = "the chain's end"
        return f"Audit chain broken at {where}: {self.problem}"

    def checkpoint_summary(self) -> str:
        """How many signed checkpoints the trail agrees with, and how many of other databases were ignored."""
        if self.checkpoints == 0:
            text = "No signed checkpoint of this chain yet (run `audit checkpoint` from a timer)"
        elif self.checkpoints == 1:
            text = "1 signed checkpoint of this chain agrees"
        else:
            text = f"{self.checkpoints} signed checkpoints of this chain agree"
        if self.foreign_checkpoints:
            text += f"; {self.foreign_checkpoints} of other databases ignored"
        return text + "."


def _settings_file() -> Path:
    path: Path = current_app.extensions["registry.settings"].audit_checkpoint_file
    return path


def _anchor(session: Session) -> AuditAnchor | None:
    return session.execute(select(AuditAnchor).where(AuditAnchor.id == 1)).scalar_one_or_none()


def _anchor_now(session: Session) -> Any:
    """The anchor's values as they are committed now (a plain row, never one cached by the session)."""
    table = AuditAnchor.__table__
    return session.execute(select(table).where(table.c.id == 1)).one_or_none()


#: How often a check reads the anchor again when other processes keep appending while it runs.
_CATCH_UP = 5


def _previous_kind(session: Session, seq: int) -> str:
    """How the events before ``seq`` are linked, for a check that starts at ``seq`` rather than at the
    genesis: "keyed" when any is (an unkeyed event may not follow one), else "unkeyed"."""
    table = AuditEvent.__table__
    keyed = session.execute(select(exists().where(table.c.key_id.is_not(None), table.c.seq < seq))).scalar_one()
    return "keyed" if keyed else "unkeyed"


def verify_chain(
    session: Session | None = None,
    batch_size: int = 2000,
    *,
    keyring: AuditKeyring | None = None,
    checkpoint_file: Path | None = None,
) -> ChainReport:
    """Check every link in order, the end against the anchor, and the trail against every signed
    checkpoint of its chain in the checkpoint file.

    Names the first event whose link, sequence number or key is wrong or that differs from a
    checkpoint; the anchor, or the latest checkpoint, when events are missing from the end; or
    the first line of the checkpoint file that cannot be trusted. Events other processes commit
    while it runs are checked too, never mistaken for events appended behind the anchor's back.
    """
    session = session or db.session()
    keyring = keyring or current_keyring()
    anchor = _anchor_now(session)
    if anchor is None:
        return ChainReport(False, 0, GENESIS_HASH, problem="the anchor row is missing.")
    if (wrong := anchor_problem(anchor)) is not None:
        return ChainReport(False, 0, GENESIS_HASH, problem=f"the anchor row was changed: {wrong}")
    signed = _signed_checkpoints(anchor.chain_id, keyring, checkpoint_file)
    if isinstance(signed, ChainReport):
        return signed
    walk = _Walk(session, keyring, anchor.chain_id, signed, batch_size)
    failure = walk.check(None)
    # On PostgreSQL each statement reads what was committed when it began, so events may have been
    # committed after the anchor was read. An event and the anchor's move commit together: the
    # anchor read again covers every event read so far, and then the events it adds are checked.
    for _attempt in range(_CATCH_UP):
        if failure is not None or walk.checked <= anchor.seq:
            break
        now = _anchor_now(session)
        if now is None or now.seq == anchor.seq or anchor_problem(now) is not None or now.chain_id != anchor.chain_id:
            break
        anchor = now
        if anchor.seq > walk.checked:
            failure = walk.check(walk.checked)
    return failure or walk.end(anchor)


def _signed_checkpoints(chain_id: str, keyring: AuditKeyring, path: Path | None) -> CheckpointFile | ChainReport:
    """The checkpoints of the chain in the checkpoint file, or the report of why the file cannot be trusted."""
    try:
        signed = checkpoints.read(path or _settings_file(), keyring, chain_id)
    except CheckpointFileError as exc:
        return ChainReport(False, 0, GENESIS_HASH, problem=str(exc), checkpoint_line=exc.line)
    for checkpoint in signed.own:
        if checkpoint.seq == 0 and checkpoint.hash != GENESIS_HASH:
            problem = f"{checkpoint.describe()} records an empty trail with a hash other than the genesis hash."
            return ChainReport(False, 0, GENESIS_HASH, problem=problem, checkpoint_line=checkpoint.line)
    return signed


def _trail() -> list[ColumnElement[Any]]:
    """The audit table's columns as a full check reads them: the time as the database keeps it (on
    SQLite, UTC without a zone; :func:`_timestamp` knows), without converting each of 100,000s of
    rows to an aware time first."""
    table = AuditEvent.__table__
    return [
        type_coerce(column, DateTime(timezone=True)).label(column.name) if column.name == "occurred_at" else column
        for column in table.c
    ]


class _Walk:
    """One full check of the trail in sequence order: how far it has got, and what each event is checked against."""

    def __init__(
        self, session: Session, keyring: AuditKeyring, chain_id: str, signed: CheckpointFile, batch_size: int
    ) -> None:
        self.session = session
        self.batch_size = batch_size
        self.signed = signed
        self.rules = LinkRules(
            keyring, chain_id, first_checkpoint=min(signed.own, key=lambda c: c.seq) if signed.own else None
        )
        self.at_seq: dict[int, list[Checkpoint]] = {}
        for checkpoint in signed.own:
            self.at_seq.setdefault(checkpoint.seq, []).append(checkpoint)
        self.expected_prev = GENESIS_HASH
        self.expected_seq = 1
        self.checked = 0
        self.last_key_id: str | None = None

    def report(
        self, ok: bool, broken_seq: int | None = None, broken_id: int | None = None, problem: str | None = None
    ) -> ChainReport:
        return ChainReport(
            ok,
            self.checked,
            self.expected_prev,
            broken_seq,
            broken_id,
            problem,
            self.rules.unkeyed,
            checkpoints=len(self.signed.own),
            foreign_checkpoints=self.signed.foreign,
        )

    def broken(self, row: RowMapping, problem: str) -> ChainReport:
        return self.report(False, row["seq"], row["id"], problem)

    def check(self, after: int | None, through: int | None = None) -> ChainReport | None:
        """Check the events after event ``after`` (all of them for None), up to event ``through`` (to the
        end for None), in order; a report if one is wrong."""
        table = AuditEvent.__table__
        statement = select(*_trail()).order_by(table.c.seq).execution_options(yield_per=self.batch_size)
        if after is not None:
            statement = statement.where(table.c.seq > after)
        if through is not None:
            statement = statement.where(table.c.seq <= through)
        # Plain rows rather than ORM objects: the check is hashing 100,000s of events.
        rows = iter(self.session.execute(statement).mappings())
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return None
            except (TypeError, ValueError):
                # SQLite keeps whatever it is given, and a time that is not one fails as its row is read.
                problem = "it cannot be read: its time is not a time (the event was changed)."
                return self.report(False, self.expected_seq, None, problem)
            failure = self.check_event(row)
            if failure is not None:
                return failure
            self.expected_prev = row["hash"]
            self.last_key_id = row["key_id"]
            self.expected_seq += 1
            self.checked += 1

    def check_event(self, row: RowMapping) -> ChainReport | None:
        """What is wrong with the next event: its number, its link, its contents, or a checkpoint of it."""
        seq = row["seq"]
        if type(seq) is not int:
            return self.report(False, None, row["id"], "its number is not a whole number (the event was changed).")
        if seq != self.expected_seq:
            return self.broken(
                row,
                (
                    f"expected event {self.expected_seq} next but found {seq}: {seq - self.expected_seq} event(s) "
                    "missing before it."
                    if seq > self.expected_seq
                    else f"sequence number {seq} repeats or goes backwards."
                ),
            )
        if row["prev_hash"] != self.expected_prev:
            return self.broken(
                row, "its link to the previous event does not match (an earlier event was changed or removed)."
            )
        problem = self.rules.problem(row, self.expected_prev)
        if problem is not None:
            return self.broken(row, problem)
        for checkpoint in self.at_seq.get(seq, ()):
            if not hmac.compare_digest(checkpoint.hash, row["hash"]):
                return self.broken(
                    row,
                    (
                        f"{checkpoint.describe()} records hash {checkpoint.hash[:12]}… for it, but the trail "
                        f"holds {row['hash'][:12]}… (this event, or the trail before it, was rewritten)."
                    ),
                )
        return None

    def end(self, anchor: Any) -> ChainReport:
        """Every event checked: the trail must end where the anchor, and the latest checkpoint, say it does."""
        checked, expected_prev, last_key_id = self.checked, self.expected_prev, self.last_key_id
        if anchor.seq != checked or anchor.head_hash != expected_prev or anchor.head_key_id != last_key_id:
            return self.report(
                False,
                checked + 1 if anchor.seq > checked else None,
                None,
                f"the anchor records {anchor.seq} events ending in {anchor.head_hash[:12]}… "
                f"(key {anchor.head_key_id or 'none'}), but the table holds {checked} ending in {expected_prev[:12]}… "
                f"(key {last_key_id or 'none'}): events were removed from the end, or the anchor was changed.",
            )
        if self.signed.own:
            latest = max(self.signed.own, key=lambda c: c.seq)
            if latest.seq > checked:
                return self.report(
                    False,
                    checked + 1,
                    None,
                    f"{latest.describe()} records event {latest.seq} but the trail ends at {checked} "
                    "(events were removed from the end).",
                )
        return self.report(True)


def verify_span(
    after_seq: int,
    through_seq: int,
    session: Session | None = None,
    batch_size: int = 2000,
    *,
    keyring: AuditKeyring | None = None,
    checkpoint_file: Path | None = None,
    signed_before: dt.datetime | None = None,
) -> tuple[ChainReport, Checkpoint | None]:
    """Check the trail from the latest signed checkpoint of event ``after_seq`` or earlier (and, given
    ``signed_before``, signed before that moment) through
    event ``through_seq``, relying on that checkpoint's signed hash for everything before it; returns
    the report and the checkpoint it started from (None: it started at the genesis).

    A report on one month calls it with the last event before the month and the month's last event:
    its cost is the month's events and those between the checkpoint and the month's start, whatever
    the trail's length, once a timer runs ``audit checkpoint``. Without a checkpoint of the chain at
    or before ``after_seq`` it checks from the genesis, as :func:`verify_chain` does.

    When it succeeds it asserts that event ``through_seq`` descends, by valid links and under the
    chain's rules, from the head the checkpoint signed (or from the genesis): nobody without the audit
    key changed, inserted or removed an event in that span since, and every checkpoint in the span
    agrees. It says nothing of events before the checkpoint beyond what its signature covers (that
    their head was this hash when it was signed), nor of events after ``through_seq`` or the anchor:
    those are the full check's (:func:`verify_chain`).
    """
    session = session or db.session()
    keyring = keyring or current_keyring()
    anchor = _anchor_now(session)
    if anchor is None:
        return ChainReport(False, 0, GENESIS_HASH, problem="the anchor row is missing."), None
    if (wrong := anchor_problem(anchor)) is not None:
        return ChainReport(False, 0, GENESIS_HASH, problem=f"the anchor row was changed: {wrong}"), None
    signed = _signed_checkpoints(anchor.chain_id, keyring, checkpoint_file)
    if isinstance(signed, ChainReport):
        return signed, None
    walk = _Walk(session, keyring, anchor.chain_id, signed, batch_size)
    start = max(
        (
            c
            for c in signed.own
            if 0 < c.seq <= min(after_seq, through_seq) and (signed_before is None or c.moment < signed_before)
        ),
        key=lambda c: c.seq,
        default=None,
    )
    if start is not None:
        table = AuditEvent.__table__
        row = session.execute(select(*_trail()).where(table.c.seq == start.seq)).mappings().one_or_none()
        if row is None or not hmac.compare_digest(start.hash, str(row["hash"])):
            held = "nothing" if row is None else f"{shown(row['hash'])[:12]}…"
            problem = (
                f"{start.describe()} records hash {start.hash[:12]}… for it, but the trail holds {held} "
                "(this event, or the trail before it, was rewritten)."
            )
            return walk.report(False, start.seq, row["id"] if row else None, problem), start
        # The stored hash matching the signature is not enough: the start event's own fields (its time
        # above all, which chose this checkpoint) must still give that hash, or someone moved the start.
        walk.rules.previous = "unknown"
        if (moved := walk.rules.problem(row, str(row["prev_hash"]))) is not None:
            return walk.report(False, start.seq, row["id"], moved), start
        walk.expected_prev, walk.expected_seq = start.hash, start.seq + 1
        walk.last_key_id = row["key_id"]
    failure = walk.check(start.seq if start else None, through_seq)
    if failure is not None:
        return failure, start
    if walk.expected_seq <= through_seq:
        problem = f"expected event {walk.expected_seq} next but the trail ends before it (events were removed)."
        return walk.report(False, walk.expected_seq, None, problem), start
    return walk.report(True), start


def check_newest(
    newest: int, session: Session | None = None, *, keyring: AuditKeyring | None = None
) -> tuple[int, str, ChainReport]:
    """Check the links of the ``newest`` events by the chain's rules and that they end at the anchor;
    returns the anchor's (event number, hash) with the report.

    A fixed cost whatever the trail's length: it finds a recent event changed, forged without the
    key or removed, events cut from the end, and an anchor that does not match. Older events and
    the checkpoints are the full check's (:func:`verify_chain`). Events other processes commit
    while it runs are checked too, never taken for a broken end.
    """
    session = session or db.session()
    keyring = keyring or current_keyring()
    anchor = _anchor_now(session)
    if anchor is None:
        return 0, GENESIS_HASH, ChainReport(False, 0, GENESIS_HASH, problem="the anchor row is missing.")
    if (wrong := anchor_problem(anchor)) is not None:
        problem = f"the anchor row was changed: {wrong}"
        return 0, GENESIS_HASH, ChainReport(False, 0, GENESIS_HASH, problem=problem)
    first = max(1, anchor.seq - newest + 1)
    table = AuditEvent.__table__
    rules = LinkRules(keyring, anchor.chain_id, previous="genesis" if first == 1 else "unknown")
    expected_seq, expected_prev, checked = first, (GENESIS_HASH if first == 1 else None), 0

    def check(start: int) -> ChainReport | None:
        nonlocal expected_seq, expected_prev, checked
        # Rows beyond the anchor's sequence number are read too: events appended behind its back.
        # Times as the database keeps them (see _trail): no conversion per row before hashing.
        rows = session.execute(select(*_trail()).where(table.c.seq >= start).order_by(table.c.seq)).mappings().all()
        if rules.previous == "unknown" and any(row["key_id"] is None for row in rows):
            # Unkeyed events are genuine only before every keyed one: whatever comes before the
            # window decides, or a window of forged unkeyed events would pass.
            rules.previous = _previous_kind(session, first)
        for row in rows:
            problem = None
            if row["seq"] != expected_seq:
                problem = f"expected event {expected_seq} next but found {shown(row['seq'])}."
            elif expected_prev is not None and row["prev_hash"] != expected_prev:
                problem = "its link to the previous event does not match (an earlier event was changed or removed)."
            else:
                problem = rules.problem(row, row["prev_hash"])
            if problem is not None:
                return ChainReport(False, checked, anchor.head_hash, row["seq"], row["id"], problem)
            expected_prev, expected_seq, checked = row["hash"], expected_seq + 1, checked + 1
        return None

    failure = check(first)
    # As in verify_chain: on PostgreSQL events committed since the anchor was read are no fault.
    for _attempt in range(_CATCH_UP):
        if failure is not None or expected_seq - 1 <= anchor.seq:
            break
        now = _anchor_now(session)
        if now is None or now.seq == anchor.seq or anchor_problem(now) is not None or now.chain_id != anchor.chain_id:
            break
        anchor = now
        if anchor.seq >= expected_seq:
            failure = check(expected_seq)
    if failure is not None:
        return anchor.seq, anchor.head_hash, failure
    last_seq = expected_seq - 1
    if last_seq != anchor.seq or (anchor.seq and expected_prev != anchor.head_hash):
        problem = (
            f"the anchor records {anchor.seq} events ending in {anchor.head_hash[:12]}…, "
            f"but the newest events end at {last_seq} in {(expected_prev or GENESIS_HASH)[:12]}…."
        )
        return anchor.seq, anchor.head_hash, ChainReport(False, checked, anchor.head_hash, None, None, problem)
    return anchor.seq, anchor.head_hash, ChainReport(True, checked, anchor.head_hash, unkeyed=rules.unkeyed)


def head(session: Session | None = None) -> tuple[int, str]:
    """The anchor's (sequence number, hash) of the chain's last event."""
    session = session or db.session()
    anchor = session.execute(select(AuditAnchor).where(AuditAnchor.id == 1)).scalar_one()
    return anchor.seq, anchor.head_hash


class CheckpointRefused(RuntimeError):
    """The head cannot be signed: the trail contradicts itself or an earlier checkpoint."""


def take_checkpoint(
    session: Session | None = None,
    *,
    keyring: AuditKeyring | None = None,
    checkpoint_file: Path | None = None,
    now: dt.datetime | None = None,
) -> tuple[Checkpoint, Path]:
    """Sign the chain's head and append it to the checkpoint file (and the log); returns it and the file.

    A head is signed only if it is genuine: the anchor's last event exists with its hash and a
    valid link, nothing lies beyond it, and the latest checkpoint already in the file still holds.
    Otherwise :class:`CheckpointRefused` says why (``audit verify`` finds the rest), and nothing is written.
    This reads a few rows, not the whole trail, so a timer can run it often.
    """
    session = session or db.session()
    keyring = keyring or current_keyring()
    path = checkpoint_file or _settings_file()
    try:
        checkpoint = _signed_head(session, keyring, path, now or db.utcnow())
    except CheckpointRefused as exc:
        log.error("audit checkpoint refused: %s", exc)
        raise
    session.rollback()
    checkpoints.append(path, checkpoint)
    return checkpoint, path


def _signed_head(session: Session, keyring: AuditKeyring, path: Path, now: dt.datetime) -> Checkpoint:
    anchor = _anchor(session)
    if anchor is None:
        raise CheckpointRefused("The audit anchor row is missing: run `audit verify`.")
    if (wrong := anchor_problem(anchor)) is not None:
        raise CheckpointRefused(f"The audit anchor row was changed: {wrong} Run `audit verify`.")
    try:
        signed = checkpoints.read(path, keyring, anchor.chain_id, every_signature=False)
    except CheckpointFileError as exc:
        raise CheckpointRefused(f"The checkpoint file cannot be trusted: {exc}") from None
    # Writers wait for this read lock, so the head, the rows and the anchor are read as one state.
    anchor = session.execute(
        select(AuditAnchor)
        .where(AuditAnchor.id == 1)
        .with_for_update(read=True)
        .execution_options(populate_existing=True)
    ).scalar_one()
    if (wrong := anchor_problem(anchor)) is not None:
        raise CheckpointRefused(f"The audit anchor row was changed: {wrong} Run `audit verify`.")
    _check_head(session, keyring, anchor, signed)
    _check_latest(session, signed, anchor)
    return checkpoints.sign(keyring, anchor.chain_id, anchor.seq, anchor.head_hash, now)


def _check_head(session: Session, keyring: AuditKeyring, anchor: AuditAnchor, signed: CheckpointFile) -> None:
    table = AuditEvent.__table__
    last = session.execute(select(func.max(table.c.seq))).scalar_one() or 0
    if last != anchor.seq:
        raise CheckpointRefused(
            f"The anchor records event {anchor.seq} as the head, but the trail ends at {shown(last)}: "
            "run `audit verify`."
        )
    if anchor.seq == 0:
        if anchor.head_hash != GENESIS_HASH:
            raise CheckpointRefused("The anchor records an empty trail with a hash other than the genesis hash.")
        return
    row = session.execute(select(table).where(table.c.seq == anchor.seq)).mappings().one()
    first = min(signed.own, key=lambda c: c.seq) if signed.own else None
    rules = LinkRules(keyring, anchor.chain_id, previous="unknown", first_checkpoint=first)
    if row["key_id"] is None:
        # An unkeyed head is genuine only on a trail from before keyed links that no keyed event
        # or checkpoint has followed yet; otherwise it is a forgery this key must not vouch for.
        rules.previous = _previous_kind(session, anchor.seq)
    problem = rules.problem(row, row["prev_hash"])
    if problem is None and row["hash"] != anchor.head_hash:
        problem = "the anchor records another hash for it."
    if problem is not None:
        raise CheckpointRefused(f"The head, event {anchor.seq}, cannot be signed: {problem} Run `audit verify`.")


def _check_latest(session: Session, signed: CheckpointFile, anchor: AuditAnchor) -> None:
    if not signed.own:
        return
    latest = max(signed.own, key=lambda c: c.seq)
    if latest.seq > anchor.seq:
        raise CheckpointRefused(
            f"{latest.describe(start=True)} records event {latest.seq} but the trail ends at {anchor.seq} "
            "(events were removed from the end): run `audit verify`."
        )
    if latest.seq:
        held = session.execute(select(AuditEvent.hash).where(AuditEvent.seq == latest.seq)).scalar_one_or_none()
        if held != latest.hash:
            raise CheckpointRefused(
                f"{latest.describe(start=True)} records hash {latest.hash[:12]}… for event {latest.seq}, but the "
                f"trail holds {shown((held or 'nothing')[:12])}…: it was rewritten. Run `audit verify`."
            )


def latest_checkpoint(before: dt.datetime, session: Session | None = None) -> Checkpoint | None:
    """The last checkpoint of this chain taken before ``before`` whose signature checks, or None
    (also when the file cannot be trusted: then ``audit verify`` says why)."""
    session = session or db.session()
    anchor = _anchor(session)
    if anchor is None:
        return None
    try:
        signed = checkpoints.read(_settings_file(), current_keyring(), anchor.chain_id)
    except CheckpointFileError:
        return None
    taken = [c for c in signed.own if c.moment < before]
    return max(taken, key=lambda c: (c.moment, c.seq)) if taken else None
