"""Writing and checking the audit trail.

:func:`record` is the single entry point for writing an event. It takes the
anchor row's lock, so events from several processes form one chain, and it
only flushes: the event commits with the change it describes, or not at all.
How events are linked and checked is :mod:`registry.audit.chain`'s.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import (
    ColumnElement,
    Select,
    SQLColumnExpression,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Session, aliased

from registry import db

# Checking the chain is registry.audit.chain's; the names imported "as" themselves are re-exported for the rest
# of the application, which asks the audit services for them.
from registry.audit.chain import ChainReport as ChainReport
from registry.audit.chain import canonical_event, switch_details
from registry.audit.chain import canonical_json as canonical_json
from registry.audit.chain import check_newest as check_newest
from registry.audit.chain import event_hash as event_hash
from registry.audit.chain import head as head
from registry.audit.chain import verify_chain as verify_chain
from registry.audit.keyring import AuditKeyring, current_keyring
from registry.audit.models import AuditAction, AuditAnchor, AuditEvent
from registry.auth.permissions import Permission
from registry.breaches.models import REFERENCE, BreachEvidence, BreachReport, reference_for
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
        return {str(key): (REDACTED if _is_secret_key(str(key)) else redact(value)) for key, value in details.items()}
    if isinstance(details, list | tuple):
        return [redact(item) for item in details]
    if isinstance(details, dt.datetime | dt.date):
        return details.isoformat()
    return details


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

    ``details`` are redacted of secret-looking keys before they are stored. The event is
    linked by an HMAC under the first audit key; on a trail whose head is still an unkeyed
    event (written before keyed links), an ``audit:keyed`` event saying so comes first.
    Costs one locked read of the anchor and two HMACs at most: no file is read.
    """
    session = session or db.session()
    if actor is None:
        actor = _current_actor()
    elif not isinstance(actor, Actor):
        actor = Actor.of(actor)
    keyring = current_keyring()
    anchor = session.execute(
        select(AuditAnchor).where(AuditAnchor.id == 1).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()
    now = db.utcnow()
    if anchor.head_key_id is None and anchor.seq > 0:
        _append(
            session,
            anchor,
            keyring,
            now,
            Actor.system(),
            AuditAction.AUDIT_KEYED,
            "audit",
            "trail",
            canonical_json(switch_details(anchor.seq + 1, anchor.head_hash)),
            None,
        )
    event = _append(
        session,
        anchor,
        keyring,
        now,
        actor,
        action,
        object_type,
        str(object_id)[:64],
        canonical_json(redact(dict(details or {}))),
        (request.remote_addr or None) if has_request_context() else None,
    )
    session.flush()
    return event


def _append(
    session: Session,
    anchor: AuditAnchor,
    keyring: AuditKeyring,
    now: dt.datetime,
    actor: Actor,
    action: AuditAction,
    object_type: str,
    object_id: str,
    details: str,
    address: str | None,
) -> AuditEvent:
    fields: dict[str, Any] = {
        "seq": anchor.seq + 1,
        "occurred_at": now,
        "actor_id": actor.id,
        "actor": actor.label[:300],
        "action": str(action),
        "object_type": object_type,
        "object_id": object_id,
        "address": address,
        "details": details,
    }
    key_id = keyring.primary_id
    digest = keyring.link(key_id, anchor.chain_id, anchor.head_hash, canonical_event(fields))
    event = AuditEvent(**fields, prev_hash=anchor.head_hash, hash=digest, key_id=key_id)
    anchor.seq, anchor.head_hash, anchor.head_key_id, anchor.updated_at = event.seq, digest, key_id, now
    session.add(event)
    return event


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
        raise Invalid(
            {field: f"{field} must be a date like 2026-11-01 or a date-time like 2026-11-01T09:30:00Z."}
        ) from None
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
            object=_object_filter((args.get("object") or "").replace("\x00", "").strip()[:110]),
            action=(args.get("action") or "").replace("\x00", "").strip()[:64],
            actor=(args.get("actor") or "").replace("\x00", "").strip()[:200],
            since=moments["since"],
            until=moments["until"],
        )

    def query(self) -> dict[str, str]:
        """These filters as query parameters (for links such as the CSV export)."""
        return {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in self.__dict__.items() if v}


#: The object type of a breach report's events (``registry.breaches.services.OBJECT_TYPE``) and the
#: form field its evidence files are stored under (``upload:store`` and ``upload:refused`` say which).
CASE_OBJECT: Final = "breach_report"
EVIDENCE_FIELD: Final = "evidence"
_EVIDENCE_MARK: Final = canonical_json({"field": EVIDENCE_FIELD})[1:-1]  # as it stands in an event's details


def _object_filter(value: str) -> str:
    """The object filter as the trail writes objects: the type in lower case, no spaces round the
    colon, and a breach report's reference in any form the breach pages take (``br42``, ``BR-042``)
    as the trail holds it (``BR-0042``). So the search finds what was meant, and an export asked
    for by a case is recorded by the reference that withholds it from the case's subject."""
    kind, sep, ident = value.partition(":")
    kind, ident = kind.strip(), ident.strip()
    if not sep:
        kind, ident = "", kind
    elif not ident:
        return value
    if (case_id := REFERENCE.id_of(ident)) is not None and kind.lower() in ("", CASE_OBJECT):
        ident = reference_for(case_id)
    return f"{kind.lower()}:{ident}" if sep else ident


def case_reference(report_id: SQLColumnExpression[int]) -> ColumnElement[str]:
    """SQL for :func:`registry.breaches.models.reference_for`: "BR-" and the id, at least four digits."""
    digits = cast(report_id, String)
    # The last four characters of "000" + digits, in SQL both databases speak (SQLite has no lpad).
    padded = case((report_id >= 1000, digits), else_=func.substr(literal("000", String) + digits, func.length(digits)))
    return literal("BR-", String) + padded


def _case_references(*where: ColumnElement[bool]) -> Select[str]:
    return select(case_reference(BreachReport.id)).where(*where)


def _evidence_uploads(*where: ColumnElement[bool]) -> Select[str]:
    """The object ids (as the trail holds them) of the evidence files of the cases matching ``where``."""
    statement = select(cast(BreachEvidence.upload_id, String))
    if where:
        statement = statement.join(BreachReport, BreachReport.id == BreachEvidence.report_id).where(*where)
    return statement


def withheld_from(viewer: Any) -> ColumnElement[bool]:
    """SQL, true of each event ``viewer`` may not read because it reveals a breach case.

    An event is withheld if any of :func:`_withholding_rules` holds of it; see there.
    """
    return or_(*_withholding_rules(viewer))


def _withholding_rules(viewer: Any) -> list[ColumnElement[bool]]:
    """SQL for each rule that withholds an event from ``viewer`` because it reveals a breach case.
    Each rule picks its events by an indexed column (object type and id, or action), so the events
    withheld can be counted without reading the trail (see :func:`count_visible`).

    A case's events are its own (object ``breach_report``: who reported it, the clauses, every
    view, step and decision), the storing of its evidence files (the reporter, each file's
    SHA-256), and an evidence file refused while someone was reporting. Three rules decide, in
    SQL, so every read of the trail pages and counts as before, in the same statements:

    - **Only those who read every case read any** (``BREACH_READ_ALL``: auditors). Comms and
      administrators read the rest of the trail.
    - **Nobody sees a case about themselves**, as on the breach pages: not its events, not its
      evidence's, and not an export of the trail asked for by its reference or its evidence
      files' upload ids (that shows who is looking into it). Nor, while any case is about them,
      an evidence file refused while someone was reporting: it is linked to no case, but it names
      the reporter, who usually tries again a minute later, when the case appears.
    - **An anonymised case shows only its anonymisation.** Retention clears the subject, so the
      subject could no longer be recognised, while the append-only trail still names the reporter
      and the handlers: the case's other events and its evidence's are withheld from every read of
      the trail for good, as the retention period requires. ``audit verify`` still checks them.
    """
    is_case = AuditEvent.object_type == CASE_OBJECT
    stored_evidence = and_(
        AuditEvent.object_type == "upload",
        AuditEvent.action == AuditAction.UPLOAD_STORE.value,
        AuditEvent.details.like(f"%{_EVIDENCE_MARK}%"),
    )
    refused_evidence = and_(
        AuditEvent.object_type == "upload",
        AuditEvent.action == AuditAction.UPLOAD_REFUSED.value,
        AuditEvent.object_id == EVIDENCE_FIELD,
    )
    if not viewer.can(Permission.BREACH_READ_ALL):
        return [is_case, stored_evidence, refused_evidence]
    about_viewer = BreachReport.subject_id == viewer.id
    anonymised = BreachReport.anonymised_at.is_not(None)
    export = aliased(AuditEvent)
    # Worked out once, not per event: a subquery per event would also make PostgreSQL's planner
    # cost the count of a long trail high enough to compile it (JIT) on every page.
    # Lower case on both sides: exports recorded before filters were normalised may name "br-0042".
    named = func.lower(export.details)
    exports_of_cases_about_viewer = (
        select(export.seq)
        .join(
            BreachReport,
            and_(
                about_viewer,
                named.like(literal("%", String) + func.lower(case_reference(BreachReport.id)) + literal('"%', String)),
            ),
        )
        .where(export.action == AuditAction.AUDIT_EXPORT.value)
    )
    evidence_id = cast(BreachEvidence.upload_id, String)
    exports_of_evidence_about_viewer = (
        select(export.seq)
        .join(
            BreachEvidence,
            or_(
                named.like(literal('%"object":"upload:', String) + evidence_id + literal('"%', String)),
                named.like(literal('%"object":"', String) + evidence_id + literal('"%', String)),
            ),
        )
        .join(BreachReport, and_(BreachReport.id == BreachEvidence.report_id, about_viewer))
        .where(export.action == AuditAction.AUDIT_EXPORT.value)
    )
    return [
        and_(is_case, AuditEvent.object_id.in_(_case_references(about_viewer))),
        and_(
            is_case,
            AuditEvent.action != AuditAction.BREACH_ANONYMISE.value,
            AuditEvent.object_id.in_(_case_references(anonymised)),
        ),
        and_(stored_evidence, AuditEvent.object_id.in_(_evidence_uploads(about_viewer))),
        # Anonymising deletes a case's link to its evidence: evidence linked to no case was an anonymised case's.
        and_(stored_evidence, AuditEvent.object_id.not_in(_evidence_uploads())),
        and_(AuditEvent.action == AuditAction.AUDIT_EXPORT.value, AuditEvent.seq.in_(exports_of_cases_about_viewer)),
        and_(AuditEvent.action == AuditAction.AUDIT_EXPORT.value, AuditEvent.seq.in_(exports_of_evidence_about_viewer)),
        and_(refused_evidence, exists().where(about_viewer)),
    ]


def count_visible(filters: AuditFilters, *, viewer: Any) -> Select[int]:
    """SQL for how many events :func:`search_events` finds, in one statement, without reading the
    events it does not find.

    Unfiltered, the trail is not counted: the chain's ``seq`` runs from 1 with no gap (events are
    never deleted, triggers refuse it), so there are as many events as the anchor's ``seq``, less
    those withheld from ``viewer``, counted rule by rule (:func:`_withholding_rules`), each rule
    finding its events through an index (object type and id, or action): a cost that grows with the
    cases, their evidence and exports, not with the trail. Filtered by an object, an exact action or
    a time, the events that match are found on that column's index and counted (as many as match);
    by an actor's text or an action's subject (``channel``, a pattern), every event is read.
    """
    if matching := _matching(filters):
        # Read from the filter's index, not by each rule: a rule (a case's events) may hold far more
        # events than the filter (a week's), and the database cannot know which without statistics.
        return select(func.count()).select_from(AuditEvent).where(~withheld_from(viewer), *matching)
    events = select(AuditAnchor.seq).where(AuditAnchor.id == 1).scalar_subquery()
    # The rules overlap (a case about the viewer may be anonymised): each counts the events no earlier rule took.
    rules = _withholding_rules(viewer)
    withheld = [
        select(func.count()).select_from(AuditEvent).where(rule, *(~earlier for earlier in rules[:n])).scalar_subquery()
        for n, rule in enumerate(rules)
    ]
    return select(events - functools.reduce(operator.add, withheld))


def _matching(filters: AuditFilters) -> list[ColumnElement[bool]]:
    """SQL for the events ``filters`` ask for (all of them when empty)."""
    matching: list[ColumnElement[bool]] = []
    if filters.object:
        kind, sep, ident = filters.object.partition(":")
        if sep and ident:
            matching += [AuditEvent.object_type == kind, AuditEvent.object_id == ident]
        else:
            matching.append(AuditEvent.object_id == filters.object)
    if filters.action:
        if ":" in filters.action:
            matching.append(AuditEvent.action == filters.action)
        else:
            prefix = db.contains_pattern(filters.action)[1:-1]
            matching.append(AuditEvent.action.like(f"{prefix}:%", escape=db.LIKE_ESCAPE))
    if filters.actor:
        pattern = db.contains_pattern(filters.actor.lower())
        matching.append(func.lower(AuditEvent.actor).like(pattern, escape=db.LIKE_ESCAPE))
    if filters.since is not None:
        matching.append(AuditEvent.occurred_at >= filters.since)
    if filters.until is not None:
        matching.append(AuditEvent.occurred_at < filters.until)
    return matching


def search_events(filters: AuditFilters, *, viewer: Any):  # type: ignore[no-untyped-def]
    """Events matching ``filters`` that ``viewer`` may read (see :func:`withheld_from`), newest first."""
    return select(AuditEvent).where(~withheld_from(viewer), *_matching(filters)).order_by(AuditEvent.seq.desc())


def record_export(filters: AuditFilters, rows: int) -> None:
    record(AuditAction.AUDIT_EXPORT, "audit", "trail", {"filters": filters.query(), "rows": rows})
