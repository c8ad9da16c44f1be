"""Monitoring: record accounts that purport to be the Trust's and follow each to an outcome.

``unauthorised`` → ``takedown_requested`` → ``taken_down``; or ``adopted`` into the
registry as an official channel; or ``dismissed`` when it is not an imitation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from registry import clock, db
from registry.audit.models import AuditAction, AuditEvent
from registry.audit.services import Actor, record
from registry.auth.models import User
from registry.channels import services as channels
from registry.channels.models import Channel
from registry.channels.platforms import (
    PLATFORMS,
    HandleError,
    Platform,
    normalise_handle,
    parse_url,
)
from registry.channels.workflow import OFFICIAL_STATUSES
from registry.errors import Conflict, Invalid, NotFound
from registry.monitoring.models import (
    OPEN_FINDINGS,
    FindingStatus,
    UnauthorisedAccount,
    finding_id_from_reference,
)

OBJECT_TYPE = "unauthorised_account"
#: A table of accounts on the platforms that the intake checks against (channels, findings).
M = TypeVar("M", Channel, UnauthorisedAccount)


@dataclass(frozen=True)
class FindingMove:
    action: str
    sources: frozenset[FindingStatus]
    target: FindingStatus
    audit: AuditAction
    label: str
    done: str
    note_label: str
    note_required: bool = True


MOVES: Final = {
    m.action: m
    for m in (
        FindingMove(
            "request_takedown",
            frozenset({FindingStatus.UNAUTHORISED}),
            FindingStatus.TAKEDOWN_REQUESTED,
            AuditAction.UNAUTHORISED_TAKEDOWN_REQUESTED,
            "Record a takedown request",
            "marked as takedown requested",
            "How and where was it reported? (for example the platform's report number)",
        ),
        FindingMove(
            "taken_down",
            frozenset(OPEN_FINDINGS),
            FindingStatus.TAKEN_DOWN,
            AuditAction.UNAUTHORISED_TAKEN_DOWN,
            "Record that it has been taken down",
            "marked as taken down",
            "How do you know? (for example 'profile no longer exists, checked today')",
        ),
        FindingMove(
            "dismiss",
            frozenset(OPEN_FINDINGS),
            FindingStatus.DISMISSED,
            AuditAction.UNAUTHORISED_DISMISSED,
            "Dismiss it",
            "dismissed",
            "Why is it not a concern? (for example a fan page that does not claim to be the Trust)",
        ),
    )
}


def get_finding(reference: str, *, for_update: bool = False) -> UnauthorisedAccount:
    finding_id = finding_id_from_reference(reference)
    finding = None
    if finding_id is not None:
        statement = select(UnauthorisedAccount).where(UnauthorisedAccount.id == finding_id)
        if for_update:
            statement = statement.with_for_update(of=UnauthorisedAccount).execution_options(populate_existing=True)
        finding = db.session().execute(statement).unique().scalar_one_or_none()
    if finding is None:
        raise NotFound(f"There is no monitoring record {reference!r}. Check the reference, for example UA-0007.")
    return finding


def _resolve(platform_value: str, url: str) -> tuple[Platform, str]:
    url = (url or "").strip()
    if not url:
        raise Invalid({"url": "Enter the web address of the account"})
    try:
        if platform_value:
            platform = Platform(platform_value)
            return platform, normalise_handle(platform, url)
        return parse_url(url)
    except ValueError as exc:
        message = str(exc) if isinstance(exc, HandleError) else "Choose a platform from the list"
        raise Invalid({"url" if isinstance(exc, HandleError) else "platform": message}) from None


def _account_in(model: type[M], platform: Platform, handle: str, statuses: Iterable[StrEnum]) -> M | None:
    """The row of ``model`` (a channel or a finding) for the account ``handle`` on ``platform`` in one of
    ``statuses``: the rules let there be one at most."""
    statement = select(model).where(
        model.platform == platform.value, model.handle == handle, model.status.in_([s.value for s in statuses])
    )
    return db.session().execute(statement).unique().scalar_one_or_none()


def record_finding(
    *,
    platform: str,
    url: str,
    evidence: str,
    found_on: dt.date | None,
    actor: User | Actor,
    found_by: User | None = None,
) -> UnauthorisedAccount:
    """Record an account that purports to be the Trust's; refuses official channels and duplicates.
    ``found_by``: who found it, when not ``actor`` (who records it; the inventory import's command line
    is a system process)."""
    finder = found_by if found_by is not None else actor
    if not isinstance(finder, User):
        raise TypeError("a finding needs the user who found it")
    errors: dict[str, str] = {}
    evidence = (evidence or "").replace("\x00", "").strip()
    resolved: tuple[Platform, str] | None = None
    try:
        resolved = _resolve(platform, url)
    except Invalid as exc:
        errors.update(exc.errors)
    if not evidence:
        errors["evidence"] = "Describe why it looks like a Trust account (name, logo, what it posts)"
    elif len(evidence) > 5000:
        errors["evidence"] = "The evidence must be 5000 characters or fewer"
    today = clock.today()
    if found_on is None:
        found_on = today
    elif found_on > today:
        errors["found_on"] = "The date it was found must be today or in the past"
    if resolved is not None and not errors:
        found_platform, handle = resolved
        official = _account_in(Channel, found_platform, handle, OFFICIAL_STATUSES)
        if official is not None:
            errors["url"] = f"This is an official Trust channel ({official.reference}), not an unauthorised one."
        duplicate = _account_in(UnauthorisedAccount, found_platform, handle, OPEN_FINDINGS)
        if duplicate is not None:
            errors["url"] = f"This account is already being followed up as {duplicate.reference}."
    if errors:
        raise Invalid(errors)
    assert resolved is not None
    found_platform, handle = resolved
    now = db.utcnow()
    finding = UnauthorisedAccount(
        platform=found_platform.value,
        handle=handle,
        url=PLATFORMS[found_platform].profile_url(handle),
        evidence=evidence,
        found_on=found_on,
        found_by_id=finder.id,
        status=FindingStatus.UNAUTHORISED.value,
        created_at=now,
        updated_at=now,
    )
    db.session().add(finding)
    db.session().flush()
    record(
        AuditAction.UNAUTHORISED_RECORD,
        OBJECT_TYPE,
        finding.reference,
        {"platform": finding.platform, "handle": finding.handle, "found_on": found_on.isoformat()},
        actor=actor,
    )
    return finding


def move(finding: UnauthorisedAccount, action: str, note: str, actor: User) -> UnauthorisedAccount:
    chosen = MOVES.get(action)
    if chosen is None:
        raise Invalid({"action": "Choose an action: " + ", ".join(MOVES) + "."})
    finding = get_finding(finding.reference, for_update=True)
    if finding.status_enum not in chosen.sources:
        raise Conflict(f"{finding.reference} is {finding.status_enum.label.lower()}, so it cannot be {chosen.done}.")
    note = (note or "").replace("\x00", "").strip()
    if chosen.note_required and not note:
        raise Invalid({"note": f"Enter a note: {chosen.note_label[0].lower()}{chosen.note_label[1:]}"})
    if len(note) > 2000:
        raise Invalid({"note": "The note must be 2000 characters or fewer"})
    previous = finding.status
    now = db.utcnow()
    finding.status = chosen.target.value
    finding.outcome_note = note
    finding.updated_at = now
    if chosen.target not in OPEN_FINDINGS:
        finding.closed_at = now
    record(
        chosen.audit,
        OBJECT_TYPE,
        finding.reference,
        {"from": previous, "to": finding.status, "note": note},
        actor=actor,
    )
    db.session().flush()
    return finding


def adopt(
    finding: UnauthorisedAccount,
    *,
    display_name: str,
    department: str,
    purpose: str,
    audience: str,
    sponsor: str,
    reason: str,
    actor: User,
) -> Channel:
    """The account is in fact the Trust's to keep: it becomes an active channel."""
    finding = get_finding(finding.reference, for_update=True)
    if not finding.is_open:
        raise Conflict(f"{finding.reference} is {finding.status_enum.label.lower()}, so it cannot be adopted.")
    reason = (reason or "").strip()
    errors: dict[str, str] = {}
    if not reason:
        errors["reason"] = "Enter why the Trust is adopting this account"
    elif len(reason) > 2000:
        errors["reason"] = "The reason must be 2000 characters or fewer"
    details = channels.ChannelRequest(
        platform=finding.platform,
        handle=finding.handle,
        display_name=display_name,
        department=department,
        purpose=purpose,
        audience=audience,
        sponsor=sponsor,
        policy_acknowledged=True,
    )
    try:
        channels.validate_request(details)
    except Invalid as exc:
        errors.update(exc.errors)
    if errors:
        raise Invalid(errors)
    channel = channels.adopt(
        platform=Platform(finding.platform),
        handle=finding.handle,
        display_name=display_name,
        department=department,
        purpose=purpose,
        audience=audience,
        sponsor=sponsor,
        actor=actor,
        reason=reason,
    )
    previous = finding.status
    now = db.utcnow()
    finding.status = FindingStatus.ADOPTED.value
    finding.channel_id = channel.id
    finding.outcome_note = reason
    finding.updated_at = now
    finding.closed_at = now
    record(
        AuditAction.UNAUTHORISED_ADOPTED,
        OBJECT_TYPE,
        finding.reference,
        {"from": previous, "to": finding.status, "channel": channel.reference, "note": reason},
        actor=actor,
    )
    db.session().flush()
    return channel


def listing(status: str = "", platform: str = "") -> Select[UnauthorisedAccount]:
    statement = select(UnauthorisedAccount).order_by(UnauthorisedAccount.found_on.desc(), UnauthorisedAccount.id.desc())
    if status == "open":
        statement = statement.where(UnauthorisedAccount.status.in_([s.value for s in OPEN_FINDINGS]))
    elif status in {s.value for s in FindingStatus}:
        statement = statement.where(UnauthorisedAccount.status == status)
    if platform in {p.value for p in Platform}:
        statement = statement.where(UnauthorisedAccount.platform == platform)
    return statement


def history(finding: UnauthorisedAccount) -> list[AuditEvent]:
    return list(
        db.session()
        .execute(
            select(AuditEvent)
            .where(AuditEvent.object_type == OBJECT_TYPE, AuditEvent.object_id == finding.reference)
            .order_by(AuditEvent.seq)
        )
        .scalars()
    )


def open_findings(session: Session) -> set[tuple[str, str]]:
    """(platform, handle) of every account with an open finding, read through ``session``."""
    rows = session.execute(
        select(UnauthorisedAccount.platform, UnauthorisedAccount.handle)
        .where(UnauthorisedAccount.status.in_([s.value for s in OPEN_FINDINGS]))
        .distinct()
    )
    return {(platform, handle) for platform, handle in rows}
