"""Writing and checking the audit trail.

:func:`record` is the single entry point for writing an event. It takes the
anchor row's lock, so events from several processes form one chain, and it
only flushes: the event commits with the change it describes, or not at all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry import db
from registry.audit.models import GENESIS_HASH, AuditAction, AuditAnchor, AuditEvent
from registry.auth.permissions import Permission
from registry.errors import Invalid

REDACTED = "[redacted]"
_SECRET_KEYS = frozenset(
    {"password", "secret", "token", "value", "seed", "totp", "otp", "code", "codes", "recovery_codes", "csrf_token"}
)
_SECRET_FRAGMENTS = ("password", "secret", "token", "seed")


def _is_secret_key(key: str) -> bool:
    lowered = key.lower()
    return lowered in _SECRET_KEYS or any(fragment in lowered for fragment in _SECRET_FRAGMENTS)


def redact(details: Any) -> Any:
    """A copy of ``details`` with the value of every secret-looking key replaced."""
    if isinstance(details, Mapping):
        return {
            str(key): (REDACTED if _is_secret_key(str(key)) else redact(value)) for key, value in details.items()
        }
    if isinstance(details, list | tuple):
        return [redact(item) for item in details]
    if isinstance(details, dt.datetime | dt.date):
        return details.isoformat()
    return details


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _timestamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


HASHED_FIELDS = (
    "seq", "occurred_at", "actor_id", "actor", "action", "object_type", "object_id", "address", "details",
)


def _chain_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    envelope = {name: fields[name] for name in HASHED_FIELDS}
    envelope["occurred_at"] = _timestamp(envelope["occurred_at"])
    return hashlib.sha256(f"{prev_hash}\n{canonical_json(envelope)}".encode()).hexdigest()


def event_hash(event: AuditEvent, prev_hash: str) -> str:
    """The hash of ``event`` chained to ``prev_hash``: covers every stored field."""
    return _chain_hash(prev_hash, {name: getattr(event, name) for name in HASHED_FIELDS})


@dataclass(frozen=True)
class Actor:
    """Who did it: a user, or a named system process."""

    id: int | None
    label: str

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(None, label)

    @classmethod
    def of(cls, user: Any) -> Actor:
        return cls(user.id, user.label)


def _current_actor() -> Actor:
    if has_request_context() and current_user and current_user.is_authenticated:
        return Actor.of(current_user)
    return Actor.system("public" if has_request_context() else "system")


def record(
    action: AuditAction,
    object_type: str,
    object_id: str | int,
    details: Mapping[str, Any] | None = None,
    *,
    actor: Actor | Any | None = None,
    session: Session | None = None,
) -> AuditEvent:
    """Append an event to the chain in the current transaction (flush only).

    ``details`` are redacted of secret-looking keys before they are stored.
    """
    session = session or db.session()
    if actor is None:
        actor = _current_actor()
    elif not isinstance(actor, Actor):
        actor = Actor.of(actor)
    anchor = session.execute(
        select(AuditAnchor).where(AuditAnchor.id == 1).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()
    now = db.utcnow()
    event = AuditEvent(
        seq=anchor.seq + 1,
        occurred_at=now,
        actor_id=actor.id,
        actor=actor.label[:300],
        action=str(action),
        object_type=object_type,
        object_id=str(object_id)[:64],
        address=(request.remote_addr or None) if has_request_context() else None,
        details=canonical_json(redact(dict(details or {}))),
        prev_hash=anchor.head_hash,
    )
    event.hash = event_hash(event, anchor.head_hash)
    anchor.seq = event.seq
    anchor.head_hash = event.hash
    anchor.updated_at = now
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    head_hash: str
    broken_seq: int | None = None
    broken_id: int | None = None
    problem: str | None = None

    def describe(self) -> str:
        if self.ok:
            return f"Audit chain intact: {self.checked} events checked; head {self.head_hash}."
        where = f"event {self.broken_seq}" if self.broken_seq is not None else "the chain's end"
        if self.broken_id is not None:
            where += f" (id {self.broken_id})"
        return f"Audit chain broken at {where}: {self.problem}"


def verify_chain(session: Session | None = None, batch_size: int = 2000) -> ChainReport:
    """Recompute every hash in order and compare the end with the anchor.

    Names the first event whose hash, link or sequence number is wrong, or the
    anchor when events are missing from the end.
    """
    session = session or db.session()
    anchor = session.execute(select(AuditAnchor).where(AuditAnchor.id == 1)).scalar_one_or_none()
    if anchor is None:
        return ChainReport(False, 0, GENESIS_HASH, problem="the anchor row is missing.")
    expected_prev = GENESIS_HASH
    expected_seq = 1
    checked = 0
    table = AuditEvent.__table__
    # Plain rows rather than ORM objects: the check is hashing 100,000s of events.
    rows: Iterable[Any] = session.execute(
        select(table).order_by(table.c.seq).execution_options(yield_per=batch_size)
    ).mappings()
    for row in rows:
        seq = row["seq"]
        if seq != expected_seq:
            problem = (
                f"expected event {expected_seq} next but found {seq}: "
                f"{seq - expected_seq} event(s) missing before it."
                if seq > expected_seq
                else f"sequence number {seq} repeats or goes backwards."
            )
            return ChainReport(False, checked, expected_prev, seq, row["id"], problem)
        if row["prev_hash"] != expected_prev:
            return ChainReport(
                False, checked, expected_prev, seq, row["id"],
                "its link to the previous event does not match (an earlier event was changed or removed).",
            )
        if _chain_hash(expected_prev, row) != row["hash"]:
            return ChainReport(
                False, checked, expected_prev, seq, row["id"],
                "its contents do not match its hash (the event was changed).",
            )
        expected_prev = row["hash"]
        expected_seq += 1
        checked += 1
    if anchor.seq != checked or anchor.head_hash != expected_prev:
        return ChainReport(
            False, checked, expected_prev, checked + 1 if anchor.seq > checked else None, None,
            f"the anchor records {anchor.seq} events ending in {anchor.head_hash[:12]}…, "
            f"but the table holds {checked} ending in {expected_prev[:12]}… (events were removed from the end).",
        )
    return ChainReport(True, checked, expected_prev)


def head(session: Session | None = None) -> tuple[int, str]:
    session = session or db.session()
    anchor = session.execute(select(AuditAnchor).where(AuditAnchor.id == 1)).scalar_one()
    return anchor.seq, anchor.head_hash


def count_events(session: Session | None = None) -> int:
    session = session or db.session()
    return session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()


def parse_moment(value: str, field: str) -> dt.datetime:
    """An ISO 8601 date or date-time (UTC when no offset is given), or :class:`Invalid`."""
    text = value.strip()
    try:
        if len(text) == 10:
            moment = dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), tzinfo=dt.UTC)
        else:
            # A "+" in a query string arrives as a space: 09:30:00 01:00 means +01:00.
            if "T" in text and text.count(" ") == 1:
                text = text.replace(" ", "+")
            moment = dt.datetime.fromisoformat(text)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=dt.UTC)
    except ValueError:
        raise Invalid({field: f"{field} must be a date like 2026-11-01 or a date-time like 2026-11-01T09:30:00Z."}) from None
    if not dt.datetime(1970, 1, 2, tzinfo=dt.UTC) <= moment <= dt.datetime(9999, 1, 1, tzinfo=dt.UTC):
        raise Invalid({field: f"{field} is out of range."})
    return moment


@dataclass(frozen=True)
class AuditFilters:
    """Which events to show: by object (``channel:CH-0001`` or ``CH-0001``), action, actor text and time."""

    object: str = ""
    action: str = ""
    actor: str = ""
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    @classmethod
    def parse(cls, args: Mapping[str, str], *, strict: bool) -> AuditFilters:
        errors: dict[str, str] = {}
        moments: dict[str, dt.datetime | None] = {"since": None, "until": None}
        for name in moments:
            raw = (args.get(name) or "").strip()
            if raw:
                try:
                    moments[name] = parse_moment(raw, name)
                except Invalid as exc:
                    errors.update(exc.errors)
        if strict and errors:
            raise Invalid(errors)
        return cls(
            object=(args.get("object") or "").replace("\x00", "").strip()[:110],
            action=(args.get("action") or "").replace("\x00", "").strip()[:64],
            actor=(args.get("actor") or "").replace("\x00", "").strip()[:200],
            since=moments["since"],
            until=moments["until"],
        )

    def query(self) -> dict[str, str]:
        """These filters as query parameters (for links such as the CSV export)."""
        return {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in self.__dict__.items() if v}


#: Events about these objects are seen only by those who may read every one of them: a breach
#: report's events name who reported it and who handles it (special-category data, policy 9).
RESTRICTED_OBJECTS: Final = {"breach_report": Permission.BREACH_READ_ALL}


def search_events(filters: AuditFilters, *, viewer: Any):  # type: ignore[no-untyped-def]
    """Events matching ``filters`` that ``viewer`` may read, newest first."""
    statement = select(AuditEvent).order_by(AuditEvent.seq.desc())
    hidden = [kind for kind, permission in RESTRICTED_OBJECTS.items() if not viewer.can(permission)]
    if hidden:
        statement = statement.where(AuditEvent.object_type.not_in(hidden))
    if filters.object:
        kind, sep, ident = filters.object.partition(":")
        if sep and ident:
            statement = statement.where(AuditEvent.object_type == kind, AuditEvent.object_id == ident)
        else:
            statement = statement.where(AuditEvent.object_id == filters.object)
    if filters.action:
        if ":" in filters.action:
            statement = statement.where(AuditEvent.action == filters.action)
        else:
            prefix = db.contains_pattern(filters.action)[1:-1]
            statement = statement.where(AuditEvent.action.like(f"{prefix}:%", escape=db.LIKE_ESCAPE))
    if filters.actor:
        pattern = db.contains_pattern(filters.actor.lower())
        statement = statement.where(func.lower(AuditEvent.actor).like(pattern, escape=db.LIKE_ESCAPE))
    if filters.since is not None:
        statement = statement.where(AuditEvent.occurred_at >= filters.since)
    if filters.until is not None:
        statement = statement.where(AuditEvent.occurred_at < filters.until)
    return statement


def record_export(filters: AuditFilters, rows: int) -> None:
    record(AuditAction.AUDIT_EXPORT, "audit", "trail", {"filters": filters.query(), "rows": rows})
