"""Breach reports (policy 9): who sees a case, what awaits whom, the line manager's flag, cases
whose line manager can no longer act, and the monthly figures. Reporting is in
:mod:`registry.breaches.intake`, the declaration the request engine runs (routing, the line
manager's and HR's decisions) in :mod:`registry.breaches.kind`, and the retention period in
:mod:`registry.breaches.retention`; their public names are here too.

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
from typing import Any, Final

from sqlalchemy import ColumnElement, Select, Subquery, and_, case, exists, func, or_, select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.interfaces import LoaderOption

from registry import db
from registry.audit.models import AuditAction
from registry.audit.services import Actor, record
from registry.auth.models import User, UserRole
from registry.auth.permissions import Permission, Role
from registry.breaches import messages
from registry.breaches.intake import (
    DESCRIPTION_MAX,
    BreachAnswers,
    SubjectKind,
    clause_rows,
    find_subject,
    report_breach,
)
from registry.breaches.kind import KIND, NOTE_MAX, not_about, stranded, take, usable_manager
from registry.breaches.messages import ATTENTION, PRIVACY
from registry.breaches.models import BreachReport, BreachStep
from registry.breaches.retention import RetentionResult, anonymise, apply_retention, retention_years
from registry.breaches.workflow import (
    FLAG,
    OPEN_STATUSES,
    TRANSITIONS,
    UNASSIGN,
    BreachAction,
    BreachStatus,
    Handler,
    RouteReason,
)
from registry.errors import Conflict, Invalid, NotPermitted
from registry.lifecycle import engine
from registry.lifecycle.kind import Listing, WorkItem
from registry.text import clean, uk_midnight

__all__ = [
    "ATTENTION",
    "DESCRIPTION_MAX",
    "NOTE_MAX",
    "PRIVACY",
    "BreachAnswers",
    "RetentionResult",
    "SubjectKind",
    "anonymise",
    "apply_retention",
    "clause_rows",
    "find_subject",
    "report_breach",
    "retention_years",
    "stranded",
    "take",
    "usable_manager",
]

OBJECT_TYPE: Final = KIND.name


# --- finding a case and who may see it ----------------------------------------------------------


#: A case is found, and shown, by the kind's own rules (:mod:`registry.breaches.kind`): "not found"
#: for anyone who may not see it, and never seen by the member of staff it is about.
get_report = KIND.get
evidence_of = KIND.files
history = KIND.history


def handles_any(user: User) -> bool:
    """Whether ``user``'s roles let them handle or oversee cases at all."""
    return any(
        user.can(p)
        for p in (Permission.BREACH_MANAGE, Permission.BREACH_ROUTE, Permission.BREACH_HR, Permission.BREACH_READ_ALL)
    )


def record_view(report: BreachReport, user: User, *, evidence: int | None = None) -> None:
    """Every look at a case is in the audit trail: who, when, and whether in full."""
    details: dict[str, Any] = {"view": "full" if KIND.sees_in_full(user, report) else "reporter"}
    if evidence is not None:
        details["evidence"] = evidence
    record(AuditAction.BREACH_VIEW, OBJECT_TYPE, report.reference, details, actor=user)


# --- handling a case ----------------------------------------------------------------------------


def can_take(user: User, report: BreachReport, action: BreachAction) -> bool:
    """Whether ``action`` would be allowed now (for showing forms)."""
    return KIND.can_take(user, report, TRANSITIONS[action])


def routing_candidates(report: BreachReport) -> list[User]:
    """The line managers comms may send the case to: never its subject or its reporter."""
    return [
        person
        for person in sorted(messages.people_with(Role.MANAGER), key=lambda p: (p.name.lower(), p.id))
        if person.id not in (report.subject_id, report.reporter_id)
    ]


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
        # Not engine.add_step: the one who acted may be the system (a command, a sign-in check).
        session.add(
            BreachStep.of(
                report.id,
                action=UNASSIGN,
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
                "action": UNASSIGN,
                "from": previous,
                "to": report.status,
                "former_manager_id": manager.id,
                "reason": MANAGER_GONE,
            },
            actor=actor,
        )
    session.flush()
    for report in cases:
        comms = messages.people_with(Role.COMMS)
        messages.tell(messages.others(comms, report, doer, manager), report, "breach:to_route")
    return cases


def can_flag(user: User, report: BreachReport) -> bool:
    try:
        _check_flag(user, report)
    except (NotPermitted, Conflict):
        return False
    return True


def _check_flag(actor: User, report: BreachReport) -> None:
    KIND.check_handler(actor, report, Permission.BREACH_MANAGE, Handler.MANAGER)
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
    message = clean(note)
    if len(message) > NOTE_MAX:
        raise Invalid({"note": f"The note must be {NOTE_MAX} characters or fewer"})
    now = db.utcnow()
    report.reputational_risk = True
    report.flagged_at = now
    report.flagged_by_id = actor.id
    engine.add_step(KIND, report, FLAG, report.status, actor, note=message, now=now)
    record(AuditAction.BREACH_FLAG, OBJECT_TYPE, report.reference, {"status": report.status}, actor=actor)
    db.session().flush()
    messages.tell(messages.comms_for(report, actor), report, "breach:flagged")
    messages.alert_flagged(report)
    return report


# --- lists and what awaits whom -----------------------------------------------------------------

#: The filters of the list: only open or closed, which everyone who sees a case may know.
FILTERS = {"open": "Open", "closed": "Closed"}


def with_manager_roles() -> LoaderOption:
    """Whether a case is stranded (comms may route it again) turns on its line manager's roles: load
    them with the cases, in one statement, rather than one per line manager.

    Made when a query needs it, not at import: naming a relationship in a loader option configures
    every mapper, which the first query does anyway (not the start of every process).
    """
    return joinedload(BreachReport.manager).selectinload(User.role_grants)


def search(user: User, state: str = "") -> Select[BreachReport]:
    """The cases ``user`` may see, newest first; ``state`` "open" or "closed" narrows them."""
    conditions: list[ColumnElement[bool]] = [KIND.visible_clause(user)]
    if state == "open":
        conditions.append(BreachReport.status.in_([s.value for s in OPEN_STATUSES]))
    elif state == "closed":
        conditions.append(BreachReport.status == BreachStatus.CLOSED.value)
    statement = select(BreachReport).where(*conditions)
    if user.can(Permission.BREACH_ROUTE):
        statement = statement.options(with_manager_roles())
    return statement.order_by(BreachReport.created_at.desc(), BreachReport.id.desc())


def _item(report: BreachReport, status_label: str, *, needs_you: bool, since: dt.datetime | None = None) -> WorkItem:
    """A handler's item: no names or details, the title cites the policy clauses only."""
    return WorkItem(
        kind=KIND.label,
        reference=report.reference,
        title=f"Suspected breach of policy {report.clause_numbers}" if report.clauses else "Suspected breach of policy",
        status_label=status_label,
        waiting_since=since or report.status_changed_at,
        url=KIND.link(report),
        requester=None,
        needs_you=needs_you,
    )


def _not_reported_by(user: User) -> ColumnElement[bool]:
    return or_(BreachReport.reporter_id.is_(None), BreachReport.reporter_id != user.id)


#: What a handler is asked to do about a case, by why it waits for them (the first that applies).
ACTIONS: Final = {
    "manage": "Resolve it or escalate it to HR",
    "route": "Choose a line manager to send it to",
    "reroute": "Its line manager can no longer act on it: choose another",
    "hr": "Record HR's outcome",
}


def _usable_managers() -> Subquery:
    """The people a case's line manager must be for them to act on it: active, with the manager role."""
    return (
        select(UserRole.user_id)
        .join(User, User.id == UserRole.user_id)
        .where(User.active.is_(True), UserRole.role == Role.MANAGER.value)
        .subquery()
    )


def _waiting_statement(user: User, shown: int | None) -> Select[BreachReport, str | None, int, int] | None:
    """The cases awaiting ``user``, by their roles: each with the action asked of them (a key of
    :data:`ACTIONS`, the first that applies) or NULL when it is shown for information only (comms:
    flagged as a reputational risk), how many of its list there are and how many in both lists; oldest
    first, the first ``shown`` of each list (all when None). Never a case about them or, for an
    action, one they reported. One statement, reading the open cases only (an index range of their statuses).

    Whether a case is stranded (its line manager can no longer act) is an outer join to the managers
    who can, not a subquery per case: PostgreSQL costs that subquery once per row, and a plan it
    thinks dear is compiled (JIT) at a cost of a third of a second."""
    cases = select(BreachReport.id).where(BreachReport.status.in_([s.value for s in OPEN_STATUSES]), not_about(user))
    whens: list[tuple[ColumnElement[bool], str]] = []
    if user.can(Permission.BREACH_MANAGE):
        mine = and_(BreachReport.status == BreachStatus.WITH_MANAGER.value, BreachReport.manager_id == user.id)
        whens.append((mine, "manage"))
    if user.can(Permission.BREACH_ROUTE):
        usable = _usable_managers()
        cases = cases.outerjoin(usable, usable.c.user_id == BreachReport.manager_id)
        stranded = and_(BreachReport.status == BreachStatus.WITH_MANAGER.value, usable.c.user_id.is_(None))
        whens.append((and_(BreachReport.status == BreachStatus.TO_ROUTE.value, _not_reported_by(user)), "route"))
        whens.append((and_(stranded, _not_reported_by(user)), "reroute"))
    if user.can(Permission.BREACH_HR):
        # The four-eyes rule of the outcome (kind.check_more): not their own case as its line manager,
        # nor one they escalated; such a case is shown for information only, if at all.
        escalated_by_them = exists().where(
            BreachStep.report_id == BreachReport.id,
            BreachStep.action == BreachAction.ESCALATE.value,
            BreachStep.actor_id == user.id,
        )
        hr = and_(
            BreachReport.status == BreachStatus.WITH_HR.value,
            _not_reported_by(user),
            or_(BreachReport.manager_id.is_(None), BreachReport.manager_id != user.id),
            ~escalated_by_them,
        )
        whens.append((hr, "hr"))
    if not whens:
        return None
    waiting: list[ColumnElement[bool]] = [condition for condition, _action in whens]
    if user.can(Permission.BREACH_ROUTE):
        waiting.append(
            and_(
                BreachReport.reputational_risk.is_(True),
                BreachReport.status.in_([BreachStatus.WITH_MANAGER.value, BreachStatus.WITH_HR.value]),
            )
        )
    action = case(*whens, else_=None).label("action")
    since = case((action.is_(None), BreachReport.flagged_at), else_=BreachReport.status_changed_at)
    listed = cases.add_columns(action, since.label("since")).where(or_(*waiting)).subquery()
    needs_you = listed.c.action.is_not(None)
    found = select(
        listed.c.id,
        listed.c.action,
        listed.c.since,
        func.row_number().over(partition_by=needs_you, order_by=(listed.c.since, listed.c.id)).label("n"),
        func.count().over(partition_by=needs_you).label("total"),
        func.count().over().label("everything"),
    ).subquery()
    statement = (
        select(BreachReport, found.c.action, found.c.total, found.c.everything)
        .join(found, found.c.id == BreachReport.id)
        .order_by(found.c.since, BreachReport.id)
    )
    return statement if shown is None else statement.where(found.c.n <= shown)


def _item_of(report: BreachReport, action: str | None) -> WorkItem:
    if action is not None:
        return _item(report, ACTIONS[action], needs_you=True)
    label = f"Reputational risk: {report.status_enum.label.lower()}"
    return _item(report, label, needs_you=False, since=report.flagged_at)


def waiting_lists(user: User, shown: int) -> tuple[Listing[WorkItem], Listing[WorkItem]]:
    """What awaits this person (the home page's card): the cases asked of them and those shown for
    information only, the oldest ``shown`` of each with how many there are, in one statement."""
    statement = _waiting_statement(user, shown)
    rows = [] if statement is None else db.session().execute(statement).unique().all()
    lists: dict[bool, tuple[list[WorkItem], int]] = {True: ([], 0), False: ([], 0)}
    for report, action, total, _everything in rows:
        items, _ = lists[action is not None]
        lists[action is not None] = ([*items, _item_of(report, action)], total)
    return Listing(*lists[True]), Listing(*lists[False])


def waiting_for(user: User) -> list[WorkItem]:
    """Cases awaiting this person, oldest first: a line manager's assigned cases; for the
    communications team, cases to route and (for their information) open cases flagged as a
    reputational risk; for HR, escalated cases. Never a case about them or (for an action)
    one they reported. No names or details: the title cites the policy clauses only."""
    return waiting_slice(user, 0, None)[0]


def waiting_slice(user: User, offset: int, limit: int | None) -> tuple[list[WorkItem], int]:
    """``limit`` of :func:`waiting_for` from ``offset`` (all of them when ``limit`` is None), and how
    many there are: one statement, the count a window over the same rows (a second one only for an
    offset past the end)."""
    statement = _waiting_statement(user, None)
    if statement is None:
        return [], 0
    rows = db.session().execute(statement.limit(limit).offset(offset or None)).unique().all()
    if rows:
        total = rows[0][3]
    elif offset:
        counted = select(func.count()).select_from(statement.order_by(None).subquery())
        total = int(db.session().execute(counted).scalar_one())
    else:
        total = 0
    return [_item_of(report, action) for report, action, _total, _everything in rows], total


def month_figures(start: dt.date, end: dt.date) -> dict[str, int]:
    """Counts for the days from ``start`` to ``end``, both included (UK dates), e.g. a month:
    ``opened`` (reported), ``closed``, ``escalated`` (to HR) and ``flagged`` (as a reputational
    risk) in the period. Counts only, anonymised cases included."""
    if end < start:
        raise ValueError("end must not be before start")
    since, until = uk_midnight(start), uk_midnight(end + dt.timedelta(days=1))

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
