"""The life of a breach report as data (policy 9.1–9.3).

A report goes to the line manager of the member of staff it is about (``with_manager``);
where none is recorded, or nobody is named, the communications team route it
(``to_route``): to a line manager, or closed when it is no matter for one (the account is
not a member of staff's). The manager resolves it informally (``closed``), escalates it to
HR with a reason (``with_hr``), or hands it back to comms when it is not theirs to handle.
HR record the outcome (``closed``). A reputational risk, flagged by the reporter or the
manager, is not a state: it lets the communications team see the case whatever its state
(9.3). The request engine (:func:`registry.lifecycle.engine.apply`) moves a report along this
table, and only it does.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar, Final

from registry.audit.models import AuditAction
from registry.auth.permissions import Permission
from registry.lifecycle.table import Lifecycle, Need, State, Status, Transition


class BreachStatus(Status):
    TO_ROUTE = "to_route"
    WITH_MANAGER = "with_manager"
    WITH_HR = "with_hr"
    CLOSED = "closed"


class BreachAction(StrEnum):
    ROUTE = "route"
    CLOSE = "close"
    RESOLVE = "resolve"
    ESCALATE = "escalate"
    RETURN = "return"
    OUTCOME = "outcome"


class Handler(StrEnum):
    """Who takes an action: the communications team, the line manager the case is assigned to, or HR."""

    COMMS = "comms"
    MANAGER = "manager"
    HR = "hr"


@dataclass(frozen=True, kw_only=True)
class Handling(Transition[BreachStatus, BreachAction]):
    """One row of the table. Nobody takes an action on a report about themselves or one they
    made (four-eyes); the manager's actions are for the manager the report is assigned to only.
    ``question``: how the form asks for the note (its hint is ``note_hint``)."""

    audit_prefix: ClassVar[str] = "BREACH"
    handler: Handler
    question: str
    four_eyes: bool = True

    @property
    def closes(self) -> bool:
        return self.target is BreachStatus.CLOSED


#: Steps of a case's history that are not transitions.
REPORT: Final = "report"
UNASSIGN: Final = "unassign"
FLAG: Final = "flag"

LIFECYCLE: Final[Lifecycle[BreachStatus, BreachAction, Handling]] = Lifecycle(
    statuses={
        #: label, phrase ("BR-0001 is …"), NHS tag colour.
        BreachStatus.TO_ROUTE: State("To be routed", "waiting for the communications team to route it", "yellow"),
        BreachStatus.WITH_MANAGER: State("With the line manager", "with the line manager", "blue"),
        BreachStatus.WITH_HR: State("Escalated to HR", "escalated to HR", "orange"),
        BreachStatus.CLOSED: State("Closed", "closed", "grey"),
    },
    transitions=(
        Handling(
            action=BreachAction.ROUTE,
            sources=frozenset({BreachStatus.TO_ROUTE}),
            target=BreachStatus.WITH_MANAGER,
            handler=Handler.COMMS,
            permission=Permission.BREACH_ROUTE,
            label="Send it to a line manager",
            done="sent to a line manager",
            question="Note for the line manager (optional)",
            note_hint="For example who the member of staff is, if the reporter did not say.",
        ),
        Handling(
            action=BreachAction.CLOSE,
            sources=frozenset({BreachStatus.TO_ROUTE}),
            target=BreachStatus.CLOSED,
            handler=Handler.COMMS,
            permission=Permission.BREACH_ROUTE,
            label="Close it: not a matter for a line manager",
            done="closed",
            step="Closed by the communications team",
            question="Why is it closed?",
            note_hint="For example: the account is not a member of staff's, and is recorded in monitoring.",
            note=Need.REQUIRED,
            note_missing="Say why it is closed without going to a line manager",
        ),
        Handling(
            action=BreachAction.RESOLVE,
            sources=frozenset({BreachStatus.WITH_MANAGER}),
            target=BreachStatus.CLOSED,
            handler=Handler.MANAGER,
            permission=Permission.BREACH_MANAGE,
            label="I resolved it informally: close it",
            done="resolved and closed",
            step="Resolved informally",
            question="How was it resolved?",
            note_hint="What you agreed with the member of staff, for example that the post was removed.",
            note=Need.REQUIRED,
            note_missing="Say how it was resolved",
        ),
        Handling(
            action=BreachAction.ESCALATE,
            sources=frozenset({BreachStatus.WITH_MANAGER}),
            target=BreachStatus.WITH_HR,
            handler=Handler.MANAGER,
            permission=Permission.BREACH_MANAGE,
            label="Escalate it to HR",
            done="escalated to HR",
            question="Why does it need HR?",
            note_hint="What you tried, and why it cannot be resolved informally (policy 9.2).",
            note=Need.REQUIRED,
            note_missing="Give the reason for escalating it to HR",
        ),
        Handling(
            action=BreachAction.RETURN,
            sources=frozenset({BreachStatus.WITH_MANAGER}),
            target=BreachStatus.TO_ROUTE,
            handler=Handler.MANAGER,
            permission=Permission.BREACH_MANAGE,
            audit_as=AuditAction.BREACH_ROUTE,
            label="It is not mine to handle: hand it back to communications",
            done="handed back to the communications team",
            question="Why is it not yours to handle?",
            note_hint="For example: they are not in my team. Say who their line manager is, if you know.",
            note=Need.REQUIRED,
            note_missing="Say why it is not yours to handle",
        ),
        Handling(
            action=BreachAction.OUTCOME,
            sources=frozenset({BreachStatus.WITH_HR}),
            target=BreachStatus.CLOSED,
            handler=Handler.HR,
            permission=Permission.BREACH_HR,
            audit_as=AuditAction.BREACH_HR_OUTCOME,
            label="Record the outcome",
            done="closed with HR's outcome",
            step="HR outcome recorded",
            question="Outcome",
            note_hint="What was decided, for example informal advice, or a formal process under the Discipline Policy.",
            note=Need.REQUIRED,
            note_missing="Enter the outcome",
        ),
    ),
    other_steps={
        REPORT: "Reported",
        UNASSIGN: "Sent back to the communications team: the line manager can no longer act on it",
        FLAG: "Flagged as a reputational risk",
    },
    choose_action="Choose what to do with the report.",
)

OPEN_STATUSES: Final = frozenset({BreachStatus.TO_ROUTE, BreachStatus.WITH_MANAGER, BreachStatus.WITH_HR})

#: What the person who made a report is told: whether it is still being looked into, nothing more.
REPORTER_LABELS: Final = {True: "Being looked into", False: "Closed"}


class RouteReason(StrEnum):
    """Why a report waits for the communications team rather than going to a line manager."""

    SUBJECT_UNKNOWN = "subject_unknown"
    NOT_A_USER = "not_a_user"
    NO_LINE_MANAGER = "no_line_manager"
    MANAGER_UNAVAILABLE = "manager_unavailable"
    MANAGER_REPORTED = "manager_reported"
    RETURNED = "returned"

    @property
    def label(self) -> str:
        return ROUTE_REASONS[self]


ROUTE_REASONS: Final = {
    RouteReason.SUBJECT_UNKNOWN: "The reporter did not know who the member of staff is.",
    RouteReason.NOT_A_USER: "The member of staff named does not use the Registry, so no line manager is recorded.",
    RouteReason.NO_LINE_MANAGER: "No line manager is recorded for the member of staff.",
    RouteReason.MANAGER_UNAVAILABLE: (
        "The line manager can no longer act on it: they are no longer an active line manager in the Registry."
    ),
    RouteReason.MANAGER_REPORTED: "The line manager made the report, so someone else must handle it (four-eyes rule).",
    RouteReason.RETURNED: "The line manager handed it back: it is not theirs to handle.",
}

TRANSITIONS: Final[dict[BreachAction, Handling]] = {t.action: t for t in LIFECYCLE.transitions}
#: The line manager's choices, in the order the form offers them.
MANAGER_DECISIONS: Final = (BreachAction.RESOLVE, BreachAction.ESCALATE, BreachAction.RETURN)
#: The communications team's choices for a report waiting to be routed.
ROUTING_DECISIONS: Final = (BreachAction.ROUTE, BreachAction.CLOSE)
