"""Breach reports (policy 9): reporting, routing, the line manager's and HR's decisions, who
sees a case, the monthly figures and the retention period.

Every function checks everything before it changes anything, raises a domain error
(``Invalid`` 422, ``NotPermitted`` 403, ``Conflict`` 409, ``NotFound`` 404) with a
plain-English message, and records the change, its audit event and the messages it sends
in the caller's transaction (flush only).

A case is sensitive personal data. It is seen only by the person who reported it (their
own, and then only whether it is still being looked into), the line manager it is
assigned to, the communications team while it waits to be routed or once it is flagged
as a reputational risk (9.3), HR once it has been escalated, and auditors; never by the
member of staff it is about, whatever their roles. Anyone else is told it does not exist.
Each view of a case is recorded in the audit trail. Nobody handles a report about
themselves or one they made. Messages about a case never say what it is about, and
audit events never hold its free text or the name of the person it is about.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    delete,
    exists,
    false,
    func,
    or_,
    select,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from registry import clock, db
from registry.audit.models import AuditAction
from registry.audit.services import Actor, record
from registry.auth.models import User, UserRole
from registry.auth.permissions import Permission, Role
from registry.breaches import clauses as policy_clauses
from registry.breaches.models import (
    ACCOUNT_MAX,
    LINK_MAX,
    NAME_MAX,
    REFERENCE_PATTERN,
    BreachEvidence,
    BreachReport,
    BreachReportClause,
    BreachStep,
    PolicyClause,
)
from registry.breaches.workflow import (
    OPEN_STATUSES,
    TRANSITIONS,
    BreachAction,
    BreachStatus,
    Handler,
    RouteReason,
    Transition,
)
from registry.errors import Conflict, Invalid, NotFound, NotPermitted
from registry.lifecycle.kind import WorkItem
from registry.notifications import services as notifications
from registry.notifications.models import Notification
from registry.uploads import services as uploads
from registry.uploads.models import Upload

log = logging.getLogger(__name__)

OBJECT_TYPE = "breach_report"
KIND = "Breach report"
DESCRIPTION_MAX = 5000
NOTE_MAX = 5000
#: What every message about a case says: never what the case is about.
ATTENTION = "A breach report needs your attention"
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
PRIVACY = "For privacy, this message does not say what the report is about: open it in the Registry to read it."


class SubjectKind:
    """How the reporter identifies the member of staff concerned."""

    USER = "user"
    OTHER = "other"
    UNKNOWN = "unknown"
    ALL = (USER, OTHER, UNKNOWN)


def _clean(text: str | None) -> str:
    return (text or "").replace("\x00", "").strip()


def _link(report: BreachReport) -> str:
    return f"/breaches/{report.reference}"


def add_years(moment: dt.datetime, years: int) -> dt.datetime:
    """The same moment ``years`` later (or earlier; 28 February for 29 February in a common year)."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, day=28)


# --- reporting ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BreachAnswers:
    """A report as the reporter states it."""

    account: str = ""
    link: str = ""
    description: str = ""
    clauses: tuple[str, ...] = ()
    reputational_risk: bool | None = None
    subject_kind: str = ""
    #: With ``subject_kind`` "user": their e-mail address or full name as the Registry knows it.
    subject_user: str = ""
    #: With ``subject_kind`` "other": their name, free text.
    subject_name: str = ""


@dataclass(frozen=True)
class _Checked:
    account: str
    link: str | None
    description: str
    clauses: tuple[str, ...]
    reputational_risk: bool
    subject: User | None
    subject_name: str | None


def _checked_link(raw: str, errors: dict[str, str]) -> str | None:
    link = _clean(raw)
    if not link:
        return None
    if not _SCHEME.match(link):  # "x.com/name/status/1" as people copy it
        link = "https://" + link
    parts = urlsplit(link)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(ch.isspace() for ch in link):
        errors["link"] = "Enter the link as it appears in the browser's address bar, like https://x.com/name/status/123"
    elif len(link) > LINK_MAX:
        errors["link"] = f"The link must be {LINK_MAX} characters or fewer"
    return link


def find_subject(text: str) -> User:
    """The Registry user named by their e-mail address, or by their full name when exactly one
    active user has it; :class:`Invalid` (on ``subject_user``) otherwise."""
    value = _clean(text)
    if not value:
        raise Invalid({"subject_user": "Enter their email address or full name"})
    session = db.session()
    if "@" in value:
        found = session.execute(select(User).where(User.email == value.lower())).scalar_one_or_none()
        people = [found] if found is not None else []
    else:
        people = list(
            session.execute(
                select(User).where(func.lower(User.name) == value.lower(), User.active.is_(True)).limit(2)
            ).scalars()
        )
    if len(people) > 1:
        raise Invalid({"subject_user": "More than one person in the Registry has this name: enter their email address"})
    if not people:
        raise Invalid(
            {
                "subject_user": (
                    "There is nobody in the Registry with this email address or name. Check it, or choose "
                    "'Someone who is not in the Registry' and give their name"
                )
            }
        )
    return people[0]


def _check(data: BreachAnswers, reporter: User) -> tuple[_Checked | None, dict[str, str]]:
    errors: dict[str, str] = {}
    account = _clean(data.account)
    if not account:
        errors["account"] = "Enter the account, for example '@jsmith on X'"
    elif len(account) > ACCOUNT_MAX:
        errors["account"] = f"The account must be {ACCOUNT_MAX} characters or fewer"
    link = _checked_link(data.link, errors)
    description = _clean(data.description)
    if not description:
        errors["description"] = "Describe what was posted or done"
    elif len(description) > DESCRIPTION_MAX:
        errors["description"] = f"The description must be {DESCRIPTION_MAX} characters or fewer"
    known = policy_clauses.by_number()
    chosen: list[str] = []
    for number in data.clauses:
        value = _clean(number)
        if value not in known:
            errors["clauses"] = "Choose parts of the policy from the list"
            break
        if value not in chosen:
            chosen.append(value)
    if not chosen and "clauses" not in errors:
        errors["clauses"] = "Choose at least one part of the policy it may breach"
    if data.reputational_risk is None:
        errors["reputational_risk"] = "Say whether it could affect the Trust's reputation"
    subject: User | None = None
    subject_name: str | None = None
    kind = _clean(data.subject_kind)
    if kind == SubjectKind.USER:
        try:
            subject = find_subject(data.subject_user)
        except Invalid as exc:
            errors.update(exc.errors)
        else:
            if subject.id == reporter.id:
                errors["subject_user"] = (
                    "You have named yourself. A report is about someone else: to raise something you did, "
                    "talk to your line manager (policy 9.1)"
                )
    elif kind == SubjectKind.OTHER:
        subject_name = _clean(data.subject_name)
        if not subject_name:
            errors["subject_name"] = "Enter their name"
        elif len(subject_name) > NAME_MAX:
            errors["subject_name"] = f"The name must be {NAME_MAX} characters or fewer"
    elif kind != SubjectKind.UNKNOWN:
        errors["subject_kind"] = "Say whether you know who the member of staff is"
    if errors:
        return None, errors
    return _Checked(
        account=account,
        link=link,
        description=description,
        clauses=tuple(chosen),
        reputational_risk=bool(data.reputational_risk),
        subject=subject,
        subject_name=subject_name,
    ), {}


def clause_rows(numbers: Sequence[str], *, session: Session | None = None) -> list[PolicyClause]:
    """The ``policy_clauses`` rows of the current policy version for ``numbers``, written from the
    policy file the first time a report cites them (two reports at once cannot write one twice)."""
    session = session or db.session()
    version = policy_clauses.policy_version()
    known = policy_clauses.by_number()
    table = PolicyClause.__table__
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(table)
        .values([{"policy_version": version, "number": n, "text": known[n].text} for n in numbers])
        .on_conflict_do_nothing(index_elements=["policy_version", "number"])
    )
    rows = (
        session.execute(
            select(PolicyClause).where(PolicyClause.policy_version == version, PolicyClause.number.in_(numbers))
        )
        .scalars()
        .all()
    )
    order = list(numbers)
    return sorted(rows, key=lambda row: order.index(row.number))


def usable_manager(user: User | None) -> bool:
    """An active user holding the line manager role: someone a report can be sent to."""
    return user is not None and user.active and user.has_role(Role.MANAGER)


def _first_route(
    subject: User | None, subject_name: str | None, reporter: User
) -> tuple[User | None, RouteReason | None]:
    """The line manager a new report goes to, or why it waits for the communications team."""
    if subject is None:
        return None, RouteReason.NOT_A_USER if subject_name else RouteReason.SUBJECT_UNKNOWN
    manager = subject.line_manager
    if manager is None:
        return None, RouteReason.NO_LINE_MANAGER
    if not usable_manager(manager) or manager.id == subject.id:
        return None, RouteReason.MANAGER_UNAVAILABLE
    if manager.id == reporter.id:
        return None, RouteReason.MANAGER_REPORTED
    return manager, None


def _evidence_details(stored: Sequence[Upload]) -> list[dict[str, Any]]:
    # No file names: the trail is append-only and a name can identify a person.
    return [{"upload": u.id, "type": u.content_type, "sha256": u.sha256} for u in stored]


def _subject_kind(subject: User | None, subject_name: str | None) -> str:
    if subject is not None:
        return SubjectKind.USER
    return SubjectKind.OTHER if subject_name else SubjectKind.UNKNOWN


def _add_step(
    report: BreachReport,
    action: str,
    from_status: str | None,
    actor: User,
    note: str | None,
    now: dt.datetime,
    *,
    assigned_to: User | None = None,
) -> BreachStep:
    step = BreachStep(
        report_id=report.id,
        action=action,
        from_status=from_status,
        to_status=report.status,
        actor_id=actor.id,
        assigned_to_id=assigned_to.id if assigned_to else None,
        occurred_at=now,
        note=note or None,
    )
    db.session().add(step)
    return step


def report_breach(data: BreachAnswers, evidence: Iterable[FileStorage | None], reporter: User) -> BreachReport:
    """Anyone reports a suspected breach (policy 9.1, 11.1). It goes to the line manager of the
    member of staff concerned, or to the communications team to route; a reputational risk
    is told to the communications team as well (9.3)."""
    checked, errors = _check(data, reporter)
    files = uploads.chosen_files(evidence)
    if "link" not in errors and not _clean(data.link) and not files:
        errors["link"] = "Give a link to what was posted, or attach a screenshot as evidence, or both"
    stored = uploads.store_all(files, actor=reporter, field="evidence", errors=errors)
    assert checked is not None
    session = db.session()
    now = db.utcnow()
    manager, reason = _first_route(checked.subject, checked.subject_name, reporter)
    status = BreachStatus.WITH_MANAGER if manager is not None else BreachStatus.TO_ROUTE
    report = BreachReport(
        status=status.value,
        account=checked.account,
        link=checked.link,
        description=checked.description,
        policy_version=policy_clauses.policy_version(),
        reputational_risk=checked.reputational_risk,
        flagged_at=now if checked.reputational_risk else None,
        flagged_by_id=reporter.id if checked.reputational_risk else None,
        subject_id=checked.subject.id if checked.subject else None,
        subject_name=checked.subject_name,
        reporter_id=reporter.id,
        manager_id=manager.id if manager else None,
        route_reason=reason.value if reason else None,
        created_at=now,
        status_changed_at=now,
    )
    session.add(report)
    session.flush()
    rows = clause_rows(checked.clauses)
    session.add_all(BreachReportClause(report_id=report.id, clause_id=row.id) for row in rows)
    session.add_all(BreachEvidence(report_id=report.id, upload_id=u.id, added_at=now) for u in stored)
    _add_step(report, "report", None, reporter, None, now, assigned_to=manager)
    record(
        AuditAction.BREACH_REPORT,
        OBJECT_TYPE,
        report.reference,
        {
            "status": report.status,
            "policy_version": report.policy_version,
            "clauses": [row.number for row in rows],
            "reputational_risk": report.reputational_risk,
            "subject": _subject_kind(checked.subject, checked.subject_name),
            "manager_id": report.manager_id,
            "route_reason": report.route_reason,
            "evidence": _evidence_details(stored),
        },
        actor=reporter,
    )
    session.flush()
    session.refresh(report)
    if manager is not None:
        _tell([manager], report, "breach:assigned")
    if status is BreachStatus.TO_ROUTE or report.reputational_risk:
        _tell(
            _comms_for(report, reporter),
            report,
            "breach:to_route" if status is BreachStatus.TO_ROUTE else "breach:flagged",
        )
    return report


# --- who hears of a case ------------------------------------------------------------------------


def _people_with(role: Role) -> list[User]:
    statement = (
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == role.value, User.active.is_(True))
        .order_by(User.id)
    )
    return list(db.session().execute(statement).unique().scalars())


def _others(people: Iterable[User], report: BreachReport, *also: User | None) -> list[User]:
    """``people`` without the member of staff the case is about (never told of it) and ``also``."""
    left_out = {report.subject_id, *(person.id for person in also if person is not None)}
    return [person for person in people if person.id not in left_out]


def _comms_for(report: BreachReport, actor: User) -> list[User]:
    return _others(_people_with(Role.COMMS), report, actor)


def _tell(recipients: Sequence[User], report: BreachReport, event: str) -> None:
    """The one message a handler gets: that a case needs them, never what it is about."""
    if recipients:
        notifications.notify(
            recipients,
            event=event,
            subject=ATTENTION,
            body=f"{ATTENTION} in the Social Channel Registry: {report.reference}.\n\n{PRIVACY}",
            link=_link(report),
        )


def _tell_closed(report: BreachReport, people: Iterable[User | None]) -> None:
    recipients = [p for p in people if p is not None and p.id != report.subject_id]
    if recipients:
        notifications.notify(
            recipients,
            event="breach:closed",
            subject=f"Breach report {report.reference} has been closed",
            body=f"Breach report {report.reference} has been closed. {PRIVACY}",
            link=_link(report),
        )


# --- finding a case and who may see it ----------------------------------------------------------


def not_found(reference: str) -> NotFound:
    return NotFound(f"There is no breach report {reference!r}. Check the reference, for example BR-0042.")


def get_report(reference: str, *, for_update: bool = False) -> BreachReport:
    match = REFERENCE_PATTERN.match(reference or "")
    found = None
    if match:
        statement = select(BreachReport).where(BreachReport.id == int(match.group(1)))
        if for_update:
            statement = statement.with_for_update(of=BreachReport).execution_options(populate_existing=True)
        found = db.session().execute(statement).unique().scalar_one_or_none()
    if found is None:
        raise not_found(reference)
    return found


def sees_in_full(user: User, report: BreachReport) -> bool:
    """Whether ``user`` handles or oversees the case (everything in it), never when it is about them."""
    if report.subject_id is not None and report.subject_id == user.id:
        return False
    if user.can(Permission.BREACH_READ_ALL):
        return True
    if user.can(Permission.BREACH_MANAGE) and report.manager_id == user.id:
        return True
    if user.can(Permission.BREACH_ROUTE) and (
        report.status_enum is BreachStatus.TO_ROUTE or report.reputational_risk or stranded(report)
    ):
        return True
    return user.can(Permission.BREACH_HR) and report.escalated_at is not None


def can_view(user: User, report: BreachReport) -> bool:
    """Whether ``user`` may open the case: in full, or as the person who reported it."""
    if report.subject_id is not None and report.subject_id == user.id:
        return False
    return sees_in_full(user, report) or report.reporter_id == user.id


def visible_report(reference: str, user: User) -> BreachReport:
    """The case, if ``user`` may see it; otherwise "not found" (as if it did not exist)."""
    report = get_report(reference)
    if not can_view(user, report):
        raise not_found(reference)
    return report


def _full_clause(user: User) -> ColumnElement[bool]:
    """SQL for :func:`sees_in_full`."""
    if user.can(Permission.BREACH_READ_ALL):
        seen: ColumnElement[bool] = true()
    else:
        parts: list[ColumnElement[bool]] = []
        if user.can(Permission.BREACH_MANAGE):
            parts.append(BreachReport.manager_id == user.id)
        if user.can(Permission.BREACH_ROUTE):
            parts.append(
                or_(
                    BreachReport.status == BreachStatus.TO_ROUTE.value,
                    BreachReport.reputational_risk.is_(True),
                    _stranded_clause(),
                )
            )
        if user.can(Permission.BREACH_HR):
            parts.append(BreachReport.escalated_at.is_not(None))
        seen = or_(*parts) if parts else false()
    return and_(seen, _not_about(user))


def stranded(report: BreachReport) -> bool:
    """A case with a line manager who can no longer act on it (deactivated, or no longer a manager):
    the communications team may route it again."""
    return report.status_enum is BreachStatus.WITH_MANAGER and not usable_manager(report.manager)


def _stranded_clause() -> ColumnElement[bool]:
    """SQL for :func:`stranded`."""
    usable = exists().where(
        User.id == BreachReport.manager_id,
        User.active.is_(True),
        UserRole.user_id == User.id,
        UserRole.role == Role.MANAGER.value,
    )
    return and_(BreachReport.status == BreachStatus.WITH_MANAGER.value, ~usable)


def _not_about(user: User) -> ColumnElement[bool]:
    return or_(BreachReport.subject_id.is_(None), BreachReport.subject_id != user.id)


def visible_clause(user: User) -> ColumnElement[bool]:
    """SQL for :func:`can_view`."""
    return and_(or_(_full_clause(user), BreachReport.reporter_id == user.id), _not_about(user))


def handles_any(user: User) -> bool:
    """Whether ``user``'s roles let them handle or oversee cases at all."""
    return any(
        user.can(p)
        for p in (Permission.BREACH_MANAGE, Permission.BREACH_ROUTE, Permission.BREACH_HR, Permission.BREACH_READ_ALL)
    )


def record_view(report: BreachReport, user: User, *, evidence: int | None = None) -> None:
    """Every look at a case is in the audit trail: who, when, and whether in full."""
    details: dict[str, Any] = {"view": "full" if sees_in_full(user, report) else "reporter"}
    if evidence is not None:
        details["evidence"] = evidence
    record(AuditAction.BREACH_VIEW, OBJECT_TYPE, report.reference, details, actor=user)


def evidence_of(report: BreachReport) -> list[BreachEvidence]:
    return list(
        db.session()
        .execute(select(BreachEvidence).where(BreachEvidence.report_id == report.id).order_by(BreachEvidence.id))
        .unique()
        .scalars()
    )


def evidence_file(report: BreachReport, upload_id: int) -> Upload:
    """One of the case's evidence files; "not found" for any other upload."""
    found = (
        db.session()
        .execute(
            select(BreachEvidence).where(BreachEvidence.report_id == report.id, BreachEvidence.upload_id == upload_id)
        )
        .unique()
        .scalar_one_or_none()
    )
    if found is None:
        raise NotFound(f"{report.reference} has no evidence file {upload_id}.")
    return found.upload


def history(report: BreachReport) -> list[BreachStep]:
    return list(
        db.session()
        .execute(
            select(BreachStep).where(BreachStep.report_id == report.id).order_by(BreachStep.occurred_at, BreachStep.id)
        )
        .unique()
        .scalars()
    )


# --- handling a case ----------------------------------------------------------------------------

_ROLE_NEEDED = {
    Handler.COMMS: "Only the communications team can route a breach report.",
    Handler.MANAGER: "Only the line manager a breach report is assigned to can handle it.",
    Handler.HR: "Only HR can record the outcome of an escalated breach report.",
}


def _check_handler(actor: User, report: BreachReport, permission: Permission, handler: Handler) -> None:
    if not actor.can(permission):
        raise NotPermitted(_ROLE_NEEDED[handler])
    if report.subject_id is not None and report.subject_id == actor.id:
        raise NotPermitted("This report is about you: nobody handles a report about themselves.")
    if handler is Handler.MANAGER and report.manager_id != actor.id:
        raise NotPermitted(_ROLE_NEEDED[handler])


def _four_eyes(actor: User, report: BreachReport) -> None:
    if report.reporter_id is not None and report.reporter_id == actor.id:
        raise Conflict("You made this report, so someone else must handle it (four-eyes rule).")


def _escalated_by(report: BreachReport) -> set[int]:
    return set(
        db.session()
        .execute(
            select(BreachStep.actor_id).where(
                BreachStep.report_id == report.id,
                BreachStep.action == BreachAction.ESCALATE.value,
                BreachStep.actor_id.is_not(None),
            )
        )
        .scalars()
    )


def check_transition(actor: User, report: BreachReport, t: Transition) -> None:
    _check_handler(actor, report, t.permission, t.handler)
    status = report.status_enum
    # Belt and braces: comms may route again a case whose line manager can no longer act on it.
    rerouting = t.action is BreachAction.ROUTE and stranded(report)
    if status not in t.sources and not rerouting:
        allowed = " or ".join(sorted(s.phrase for s in t.sources))
        raise Conflict(
            f"{report.reference} is {status.phrase}, so it cannot be {t.done}. Only a report that is {allowed} can be."
        )
    _four_eyes(actor, report)
    if t.action is BreachAction.OUTCOME and (report.manager_id == actor.id or actor.id in _escalated_by(report)):
        raise Conflict(
            "You were this report's line manager or escalated it, so someone else in HR must record "
            "the outcome (four-eyes rule)."
        )


def can_take(user: User, report: BreachReport, action: BreachAction) -> bool:
    """Whether ``action`` would be allowed now (for showing forms)."""
    try:
        check_transition(user, report, TRANSITIONS[action])
    except (NotPermitted, Conflict):
        return False
    return True


def routing_candidates(report: BreachReport) -> list[User]:
    """The line managers comms may send the case to: never its subject or its reporter."""
    return [
        person
        for person in sorted(_people_with(Role.MANAGER), key=lambda p: (p.name.lower(), p.id))
        if person.id not in (report.subject_id, report.reporter_id)
    ]


def _chosen_manager(report: BreachReport, manager_id: int | None, errors: dict[str, str]) -> User | None:
    manager = db.session().get(User, manager_id) if manager_id else None
    if manager is None:
        errors["manager"] = "Choose the line manager to send it to"
    elif not usable_manager(manager):
        errors["manager"] = f"{manager.name} is not an active line manager in the Registry: choose another"
    elif report.subject_id == manager.id:
        errors["manager"] = f"The report is about {manager.name}: nobody handles a report about themselves"
    elif report.reporter_id == manager.id:
        errors["manager"] = f"{manager.name} made the report, so someone else must handle it (four-eyes rule)"
    return manager


def _note(text: str | None, t: Transition, errors: dict[str, str]) -> str:
    note = _clean(text)
    if t.note_required and not note:
        errors["note"] = t.note_required
    elif len(note) > NOTE_MAX:
        errors["note"] = f"The note must be {NOTE_MAX} characters or fewer"
    return note


def take(
    report: BreachReport,
    action: str,
    actor: User,
    *,
    note: str | None = None,
    manager_id: int | None = None,
) -> BreachReport:
    """Move the case along the table: comms route or close it, its manager resolves, escalates or
    hands it back, HR record the outcome. ``manager_id`` names the manager when routing."""
    try:
        chosen = BreachAction(action)
    except ValueError:
        raise Invalid({"action": "Choose what to do with the report."}) from None
    t = TRANSITIONS[chosen]
    report = get_report(report.reference, for_update=True)
    check_transition(actor, report, t)
    errors: dict[str, str] = {}
    message = _note(note, t, errors)
    manager = _chosen_manager(report, manager_id, errors) if chosen is BreachAction.ROUTE else None
    if errors:
        raise Invalid(errors)

    now = db.utcnow()
    previous = report.status
    before_manager = report.manager
    report.status = t.target.value
    report.status_changed_at = now
    details: dict[str, Any] = {"action": chosen.value, "from": previous, "to": t.target.value}
    if chosen is BreachAction.ROUTE:
        assert manager is not None
        if before_manager is not None:
            details["former_manager_id"] = before_manager.id
        report.manager_id = manager.id
        report.manager = manager
        details["manager_id"] = manager.id
    elif chosen is BreachAction.RETURN:
        report.manager_id = None
        report.manager = None
        report.route_reason = RouteReason.RETURNED.value
        details["returned_by_manager_id"] = actor.id
    elif chosen is BreachAction.ESCALATE:
        report.escalated_at = now
    if t.closes:
        report.closed_at = now
    _add_step(report, chosen.value, previous, actor, message, now, assigned_to=manager)
    record(t.audit, OBJECT_TYPE, report.reference, details, actor=actor)
    db.session().flush()

    if chosen is BreachAction.ROUTE:
        assert manager is not None
        _tell([manager], report, "breach:assigned")
    elif chosen is BreachAction.RETURN:
        _tell(_comms_for(report, actor), report, "breach:to_route")
    elif chosen is BreachAction.ESCALATE:
        _tell(_others(_people_with(Role.HR), report, actor, report.reporter), report, "breach:escalated")
    if t.closes:
        people = [report.reporter]
        if chosen is BreachAction.OUTCOME:
            people.append(before_manager)
        _tell_closed(report, [p for p in people if p is not None and p.id != actor.id])
    return report


#: Why a case goes back to comms when its line manager leaves or loses the role.
MANAGER_GONE = "The line manager can no longer act on it"


def manager_cannot_act(manager: User, actor: Actor | User) -> list[BreachReport]:
    """``manager`` was deactivated or lost the line manager role: their cases waiting for them go
    back to the communications team to route (each audited, comms told). Returns those cases."""
    session = db.session()
    cases = list(
        session.execute(
            select(BreachReport)
            .where(BreachReport.status == BreachStatus.WITH_MANAGER.value, BreachReport.manager_id == manager.id)
            .order_by(BreachReport.id)
            .with_for_update(of=BreachReport)
        )
        .unique()
        .scalars()
    )
    if not cases:
        return []
    now = db.utcnow()
    doer = session.get(User, actor.id) if actor.id is not None else None
    for report in cases:
        previous = report.status
        report.status = BreachStatus.TO_ROUTE.value
        report.status_changed_at = now
        report.manager_id = None
        report.manager = None
        report.route_reason = RouteReason.MANAGER_UNAVAILABLE.value
        session.add(
            BreachStep(
                report_id=report.id,
                action="unassign",
                from_status=previous,
                to_status=report.status,
                actor_id=doer.id if doer else None,
                occurred_at=now,
                note=MANAGER_GONE + ".",
            )
        )
        record(
            AuditAction.BREACH_ROUTE,
            OBJECT_TYPE,
            report.reference,
            {
                "action": "unassign",
                "from": previous,
                "to": report.status,
                "former_manager_id": manager.id,
                "reason": MANAGER_GONE,
            },
            actor=actor,
        )
    session.flush()
    for report in cases:
        _tell(_others(_people_with(Role.COMMS), report, doer, manager), report, "breach:to_route")
    return cases


def can_flag(user: User, report: BreachReport) -> bool:
    try:
        _check_flag(user, report)
    except (NotPermitted, Conflict):
        return False
    return True


def _check_flag(actor: User, report: BreachReport) -> None:
    _check_handler(actor, report, Permission.BREACH_MANAGE, Handler.MANAGER)
    if report.reputational_risk:
        raise Conflict(
            f"{report.reference} is already flagged as a reputational risk: the communications team can see it."
        )
    if not report.is_open:
        raise Conflict(f"{report.reference} is closed, so it can no longer be flagged.")


def flag(report: BreachReport, actor: User, *, note: str | None = None) -> BreachReport:
    """The line manager finds the breach could affect the Trust's reputation: the communications
    team are told and can see the case from now on (policy 9.3)."""
    report = get_report(report.reference, for_update=True)
    _check_flag(actor, report)
    message = _clean(note)
    if len(message) > NOTE_MAX:
        raise Invalid({"note": f"The note must be {NOTE_MAX} characters or fewer"})
    now = db.utcnow()
    report.reputational_risk = True
    report.flagged_at = now
    report.flagged_by_id = actor.id
    _add_step(report, "flag", report.status, actor, message, now)
    record(AuditAction.BREACH_FLAG, OBJECT_TYPE, report.reference, {"status": report.status}, actor=actor)
    db.session().flush()
    _tell(_comms_for(report, actor), report, "breach:flagged")
    return report


# --- lists and what awaits whom -----------------------------------------------------------------

#: The filters of the list: only open or closed, which everyone who sees a case may know.
FILTERS = {"open": "Open", "closed": "Closed"}


def search(user: User, state: str = "") -> Select[tuple[BreachReport]]:
    """The cases ``user`` may see, newest first; ``state`` "open" or "closed" narrows them."""
    conditions: list[ColumnElement[bool]] = [visible_clause(user)]
    if state == "open":
        conditions.append(BreachReport.status.in_([s.value for s in OPEN_STATUSES]))
    elif state == "closed":
        conditions.append(BreachReport.status == BreachStatus.CLOSED.value)
    return select(BreachReport).where(*conditions).order_by(BreachReport.created_at.desc(), BreachReport.id.desc())


def _title(report: BreachReport) -> str:
    return f"Suspected breach of policy {report.clause_numbers}" if report.clauses else "Suspected breach of policy"


def _item(report: BreachReport, status_label: str, *, needs_you: bool, since: dt.datetime | None = None) -> WorkItem:
    return WorkItem(
        kind=KIND,
        reference=report.reference,
        title=_title(report),
        status_label=status_label,
        waiting_since=since or report.status_changed_at,
        url=_link(report),
        requester=None,
        needs_you=needs_you,
    )


def _open_where(*conditions: ColumnElement[bool]) -> list[BreachReport]:
    statement = select(BreachReport).where(*conditions).order_by(BreachReport.status_changed_at, BreachReport.id)
    return list(db.session().execute(statement).unique().scalars())


def waiting_for(user: User) -> list[WorkItem]:
    """Cases awaiting this person, oldest first: a line manager's assigned cases; for the
    communications team, cases to route and (for their information) open cases flagged as a
    reputational risk; for HR, escalated cases. Never a case about them or (for an action)
    one they reported. No names or details: the title cites the policy clauses only."""
    items: list[WorkItem] = []
    if user.can(Permission.BREACH_MANAGE):
        for report in _open_where(
            BreachReport.status == BreachStatus.WITH_MANAGER.value, BreachReport.manager_id == user.id, _not_about(user)
        ):
            items.append(_item(report, "Resolve it or escalate it to HR", needs_you=True))
    if user.can(Permission.BREACH_ROUTE):
        for report in _open_where(
            _not_about(user),
            or_(
                and_(
                    or_(BreachReport.status == BreachStatus.TO_ROUTE.value, _stranded_clause()),
                    or_(BreachReport.reporter_id.is_(None), BreachReport.reporter_id != user.id),
                ),
                and_(
                    BreachReport.reputational_risk.is_(True),
                    BreachReport.status.in_([BreachStatus.WITH_MANAGER.value, BreachStatus.WITH_HR.value]),
                ),
            ),
        ):
            if report.status_enum is BreachStatus.TO_ROUTE:
                items.append(_item(report, "Choose a line manager to send it to", needs_you=True))
            elif stranded(report):
                items.append(_item(report, "Its line manager can no longer act on it: choose another", needs_you=True))
            else:
                items.append(
                    _item(
                        report,
                        f"Reputational risk: {report.status_enum.label.lower()}",
                        needs_you=False,
                        since=report.flagged_at,
                    )
                )
    if user.can(Permission.BREACH_HR):
        for report in _open_where(
            BreachReport.status == BreachStatus.WITH_HR.value,
            _not_about(user),
            or_(BreachReport.reporter_id.is_(None), BreachReport.reporter_id != user.id),
        ):
            items.append(_item(report, "Record HR's outcome", needs_you=True))
    unique: dict[str, WorkItem] = {}
    for item in items:
        unique.setdefault(item.reference, item)
    return sorted(unique.values(), key=lambda i: (i.waiting_since, i.reference))


def for_information(user: User) -> list[WorkItem]:
    """Of :func:`waiting_for`, the cases shown for information only (flagged as a reputational risk)."""
    return [item for item in waiting_for(user) if not item.needs_you]


def work_items_of(user: User) -> list[WorkItem]:
    """The person's own open reports, with what the reporter may know: that each is being looked into."""
    reports = _open_where(
        BreachReport.reporter_id == user.id, BreachReport.status.in_([s.value for s in OPEN_STATUSES]), _not_about(user)
    )
    return [
        WorkItem(
            kind=KIND,
            reference=r.reference,
            title="Your breach report",
            status_label=r.reporter_label,
            waiting_since=r.created_at,
            url=_link(r),
            requester=None,
            needs_you=False,
        )
        for r in sorted(reports, key=lambda r: (r.created_at, r.id))
    ]


def _uk_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=clock.LONDON).astimezone(dt.UTC)


def month_figures(start: dt.date, end: dt.date) -> dict[str, int]:
    """Counts for the days from ``start`` to ``end``, both included (UK dates), e.g. a month:
    ``opened`` (reported), ``closed``, ``escalated`` (to HR) and ``flagged`` (as a reputational
    risk) in the period. Counts only, anonymised cases included."""
    if end < start:
        raise ValueError("end must not be before start")
    since, until = _uk_midnight(start), _uk_midnight(end + dt.timedelta(days=1))

    def within(column: Any) -> ColumnElement[bool]:
        return and_(column >= since, column < until)

    opened, closed, escalated, flagged = (
        db.session()
        .execute(
            select(
                func.count().filter(within(BreachReport.created_at)),
                func.count().filter(within(BreachReport.closed_at)),
                func.count().filter(within(BreachReport.escalated_at)),
                func.count().filter(within(BreachReport.flagged_at)),
            ).select_from(BreachReport)
        )
        .one()
    )
    return {"opened": opened, "closed": closed, "escalated": escalated, "flagged": flagged}


def open_count() -> int:
    return (
        db.session()
        .execute(
            select(func.count())
            .select_from(BreachReport)
            .where(BreachReport.status.in_([s.value for s in OPEN_STATUSES]))
        )
        .scalar_one()
    )


# --- retention ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetentionResult:
    anonymised: int
    files_removed: int
    closed_before: dt.datetime


def retention_years() -> int:
    return current_app.extensions["registry.settings"].breach_retention_years


def _remove_files(paths: list[Path]) -> None:
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError:
            log.exception("Could not remove evidence file %s of an anonymised breach report", path.name)


def anonymise(report: BreachReport, actor: Actor, *, years: int) -> int:
    """Strip a closed case of the people, the free text and the evidence; keep its status, dates,
    clauses and the shape of its history. The files go once the transaction commits. Returns
    how many evidence files were removed."""
    if report.status_enum is not BreachStatus.CLOSED:
        raise Conflict(f"{report.reference} is not closed: only closed reports are anonymised.")
    session = db.session()
    evidence = evidence_of(report)
    folder = uploads.storage_folder()
    paths = [folder / e.upload.stored_name for e in evidence]
    upload_ids = [e.upload_id for e in evidence]
    if upload_ids:
        session.execute(delete(BreachEvidence).where(BreachEvidence.report_id == report.id))
        session.execute(delete(Upload).where(Upload.id.in_(upload_ids)))
    # The messages about it name the case (and its link): they go with the people and the free text.
    messages = session.execute(delete(Notification).where(Notification.link == _link(report))).rowcount or 0
    for step in history(report):
        step.note = None
        step.actor_id = None
        step.actor = None
        step.assigned_to_id = None
        step.assigned_to = None
    for column in ("account", "link", "description", "subject_name"):
        setattr(report, column, None)
    for relation in ("subject", "reporter", "manager", "flagged_by"):
        setattr(report, relation, None)
        setattr(report, f"{relation}_id", None)
    report.anonymised_at = db.utcnow()
    record(
        AuditAction.BREACH_ANONYMISE,
        OBJECT_TYPE,
        report.reference,
        {
            "closed_at": report.closed_at,
            "retention_years": years,
            "evidence_removed": len(upload_ids),
            "messages_removed": messages,
        },
        actor=actor,
    )
    session.flush()
    if paths:
        db.after_commit(lambda _session: _remove_files(paths))
    return len(upload_ids)


def apply_retention(actor: Actor, *, years: int | None = None, now: dt.datetime | None = None) -> RetentionResult:
    """Anonymise every case closed more than ``years`` (REGISTRY_BREACH_RETENTION_YEARS) ago.
    Running it again changes nothing; a run that anonymises something is itself audited."""
    years = years if years is not None else retention_years()
    cutoff = add_years(now or db.utcnow(), -years)
    due = (
        db.session()
        .execute(
            select(BreachReport)
            .where(
                BreachReport.status == BreachStatus.CLOSED.value,
                BreachReport.closed_at < cutoff,
                BreachReport.anonymised_at.is_(None),
            )
            .order_by(BreachReport.id)
            .with_for_update(of=BreachReport)
        )
        .unique()
        .scalars()
        .all()
    )
    files = sum(anonymise(report, actor, years=years) for report in due)
    if due:
        record(
            AuditAction.RETENTION_APPLY,
            "retention",
            "breach_reports",
            {"anonymised": len(due), "files_removed": files, "closed_before": cutoff, "retention_years": years},
            actor=actor,
        )
    return RetentionResult(len(due), files, cutoff)
