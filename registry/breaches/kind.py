"""Breach reports as a kind of request: the declaration the request engine runs.

What is the breach report's own: a case is handled by whoever its state calls for (the
communications team route it, the line manager it is assigned to resolves, escalates or
hands it back, HR record the outcome), never by the member of staff it is about or by the
person who reported it; who may see it depends on the same; its notes never reach the audit
trail; and what anyone is told of it says only that it needs them.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true
from sqlalchemy.orm import lazyload
from sqlalchemy.orm.interfaces import ORMOption

from registry import db
from registry.auth.models import User, UserRole
from registry.auth.permissions import Permission, Role
from registry.breaches import messages
from registry.breaches.models import BreachEvidence, BreachReport, BreachStep
from registry.breaches.workflow import (
    OPEN_STATUSES,
    BreachAction,
    BreachStatus,
    Handler,
    Handling,
    RouteReason,
)
from registry.errors import Conflict, NotPermitted
from registry.lifecycle import engine
from registry.lifecycle.kind import Change, RequestKind, Waiting, WorkItem
from registry.lifecycle.table import Status, Transition

NOTE_MAX: Final = 5000

_ROLE_NEEDED: Final = {
    Handler.COMMS: "Only the communications team can route a breach report.",
    Handler.MANAGER: "Only the line manager a breach report is assigned to can handle it.",
    Handler.HR: "Only HR can record the outcome of an escalated breach report.",
}


# --- line managers and cases they can no longer act on ---------------------------------------------


def usable_manager(user: User | None) -> bool:
    """An active user holding the line manager role: someone a report can be sent to."""
    return user is not None and user.active and user.has_role(Role.MANAGER)


def stranded(report: BreachReport) -> bool:
    """A case with a line manager who can no longer act on it (deactivated, or no longer a manager):
    the communications team may route it again."""
    return report.status_enum is BreachStatus.WITH_MANAGER and not usable_manager(report.manager)


def stranded_clause() -> ColumnElement[bool]:
    """SQL for :func:`stranded`."""
    usable = exists().where(
        User.id == BreachReport.manager_id,
        User.active.is_(True),
        UserRole.user_id == User.id,
        UserRole.role == Role.MANAGER.value,
    )
    return and_(BreachReport.status == BreachStatus.WITH_MANAGER.value, ~usable)


def not_about(user: User) -> ColumnElement[bool]:
    """SQL: the case is not about ``user``."""
    return or_(BreachReport.subject_id.is_(None), BreachReport.subject_id != user.id)


def is_about(user: User, report: BreachReport) -> bool:
    return report.subject_id is not None and report.subject_id == user.id


# --- the kind ------------------------------------------------------------------------------------


class BreachReports(RequestKind[BreachReport]):
    """Its words, settings and report section are in breaches/lifecycle.toml ([kind], [report])."""

    model = BreachReport
    step_model = BreachStep
    note_max = NOTE_MAX
    files_model = BreachEvidence

    # --- who sees what: never the member of staff a case is about -------------------------------

    def sees_in_full(self, user: User, report: BreachReport) -> bool:
        """Whether ``user`` handles or oversees the case (everything in it), never when it is about them."""
        if is_about(user, report):
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

    def can_view(self, user: User, request: BreachReport) -> bool:
        """In full, or as the person who reported it."""
        if is_about(user, request):
            return False
        return self.sees_in_full(user, request) or request.reporter_id == user.id

    def full_clause(self, user: User) -> ColumnElement[bool]:
        """SQL for :meth:`sees_in_full`."""
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
                        stranded_clause(),
                    )
                )
            if user.can(Permission.BREACH_HR):
                parts.append(BreachReport.escalated_at.is_not(None))
            seen = or_(*parts) if parts else false()
        return and_(seen, not_about(user))

    def visible_clause(self, user: User) -> ColumnElement[bool]:
        """SQL for :meth:`can_view`."""
        return and_(or_(self.full_clause(user), BreachReport.reporter_id == user.id), not_about(user))

    # --- who may do what --------------------------------------------------------------------------

    def check_handler(self, actor: User, report: BreachReport, permission: Permission, handler: Handler) -> None:
        """Refuse anyone but the case's handler: by role, never its subject, and for the manager's
        actions only the manager it is assigned to."""
        if not actor.can(permission):
            raise NotPermitted(_ROLE_NEEDED[handler])
        if is_about(actor, report):
            raise NotPermitted("This report is about you: nobody handles a report about themselves.")
        if handler is Handler.MANAGER and report.manager_id != actor.id:
            raise NotPermitted(_ROLE_NEEDED[handler])

    def check(self, actor: User, request: BreachReport, t: Transition[Any, Any]) -> None:
        """The handler first (not the requester-only rule of other kinds: nobody may act on a report
        they made), then the state (comms may route again a case whose line manager can no longer
        act on it), then four-eyes, then HR's own four-eyes rule."""
        assert isinstance(t, Handling) and t.permission is not None
        self.check_handler(actor, request, t.permission, t.handler)
        status = request.status_enum
        rerouting = t.action is BreachAction.ROUTE and stranded(request)
        if status not in t.sources and not rerouting:
            raise Conflict(self.wrong_state(request, status, t))
        if t.four_eyes and request.reporter_id is not None and request.reporter_id == actor.id:
            raise Conflict(self.four_eyes_refusal)
        self.check_more(actor, request, t)

    def wrong_state(self, request: BreachReport, status: Status, t: Transition[Any, Any]) -> str:
        allowed = " or ".join(sorted(s.phrase for s in t.sources))
        return (
            f"{request.reference} is {status.phrase}, so it cannot be {t.done}. "
            f"Only {self.article()} {self.noun} that is {allowed} can be."
        )

    def check_more(self, actor: User, request: BreachReport, t: Transition[Any, Any]) -> None:
        if t.action is BreachAction.OUTCOME and (request.manager_id == actor.id or actor.id in _escalated_by(request)):
            raise Conflict(
                "You were this report's line manager or escalated it, so someone else in HR must record "
                "the outcome (four-eyes rule)."
            )

    # --- the hooks of a transition ------------------------------------------------------------

    def validate(self, change: Change[BreachReport]) -> None:
        """Routing names the line manager: an active one, never the case's subject or reporter."""
        if change.transition.action is not BreachAction.ROUTE:
            return
        report, manager_id = change.request, change.inputs.get("manager_id")
        manager = db.session().get(User, manager_id) if manager_id else None
        if manager is None:
            change.errors["manager"] = "Choose the line manager to send it to"
        elif not usable_manager(manager):
            change.errors["manager"] = f"{manager.name} is not an active line manager in the Registry: choose another"
        elif report.subject_id == manager.id:
            change.errors["manager"] = f"The report is about {manager.name}: nobody handles a report about themselves"
        elif report.reporter_id == manager.id:
            change.errors["manager"] = (
                f"{manager.name} made the report, so someone else must handle it (four-eyes rule)"
            )
        change.inputs["manager"] = manager

    def apply(self, change: Change[BreachReport]) -> None:
        report, action = change.request, change.transition.action
        if action is BreachAction.ROUTE:
            manager: User = change.inputs["manager"]
            if report.manager is not None:
                change.details["former_manager_id"] = report.manager.id
            report.manager_id = manager.id
            report.manager = manager
            change.details["manager_id"] = manager.id
            change.step["assigned_to_id"] = manager.id
        elif action is BreachAction.RETURN:
            report.manager_id = None
            report.manager = None
            report.route_reason = RouteReason.RETURNED.value
            change.details["returned_by_manager_id"] = change.actor.id
        elif action is BreachAction.ESCALATE:
            report.escalated_at = change.now
        if change.transition.target is BreachStatus.CLOSED:
            report.closed_at = change.now

    def notify(self, change: Change[BreachReport]) -> None:
        """The new handler hears that the case needs them; the reporter (and, after HR's outcome,
        the line manager) that it is closed; never the member of staff it is about."""
        report, action, actor = change.request, change.transition.action, change.actor
        if action is BreachAction.ROUTE:
            messages.tell([change.inputs["manager"]], report, "breach:assigned")
        elif action is BreachAction.RETURN:
            messages.tell(messages.comms_for(report, actor), report, "breach:to_route")
        elif action is BreachAction.ESCALATE:
            hr = messages.people_with(Role.HR)
            messages.tell(messages.others(hr, report, actor, report.reporter), report, "breach:escalated")
        if change.transition.target is BreachStatus.CLOSED:
            people = [report.reporter, report.manager if action is BreachAction.OUTCOME else None]
            messages.tell_closed(report, [p for p in people if p is not None and p.id != actor.id])

    # --- what awaits whom ---------------------------------------------------------------------

    def work_item(self, request: BreachReport, *, for_comms: bool) -> WorkItem:
        """The reporter's item: that the case is being looked into, nothing more."""
        return WorkItem(
            kind=self.label,
            reference=request.reference,
            title="Your breach report",
            status_label=request.reporter_label,
            waiting_since=request.created_at,
            url=self.link(request),
            requester=None,
            needs_you=False,
        )

    def waiting_for_comms(self) -> Waiting | None:
        """None: who may see a case depends on who asks, so handlers find theirs on their home page."""
        return None

    def waiting_of(self, user: User) -> Waiting | None:
        """The person's own open reports (never one about them), oldest first by when they made them."""
        return Waiting(OPEN_STATUSES, BreachReport.created_at, (BreachReport.reporter_id == user.id, not_about(user)))

    def work_item_options(self) -> tuple[ORMOption, ...]:
        return (lazyload(BreachReport.clauses),)  # the reporter's item names no clause


KIND: Final = BreachReports()


def _escalated_by(report: BreachReport) -> set[int]:
    found = db.session().execute(
        select(BreachStep.actor_id).where(
            BreachStep.report_id == report.id,
            BreachStep.action == BreachAction.ESCALATE.value,
            BreachStep.actor_id.is_not(None),
        )
    )
    return {actor_id for actor_id in found.scalars() if actor_id is not None}


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
    return engine.apply(KIND, report, action, actor, note=note, manager_id=manager_id)
