"""The life of a breach report as data (policy 9.1–9.3).

A report goes to the line manager of the member of staff it is about (``with_manager``);
where none is recorded, or nobody is named, the communications team route it
(``to_route``): to a line manager, or closed when it is no matter for one (the account is
not a member of staff's). The manager resolves it informally (``closed``), escalates it to
HR with a reason (``with_hr``), or hands it back to comms when it is not theirs to handle.
HR record the outcome (``closed``). A reputational risk, flagged by the reporter or the
manager, is not a state: it lets the communications team see the case whatever its state
(9.3). :func:`registry.breaches.services.take` moves a report along this table, and only it does.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from registry.audit.models import AuditAction
from registry.auth.permissions import Permission


class BreachStatus(StrEnum):
    TO_ROUTE = "to_route"
    WITH_MANAGER = "with_manager"
    WITH_HR = "with_hr"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]

    @property
    def phrase(self) -> str:
        """How the status reads in a sentence: "BR-0001 is {phrase}"."""
        return STATUS_PHRASES[self]

    @property
    def colour(self) -> str:
        return STATUS_COLOURS[self]


STATUS_LABELS: Final = {
    BreachStatus.TO_ROUTE: "To be routed",
    BreachStatus.WITH_MANAGER: "With the line manager",
    BreachStatus.WITH_HR: "Escalated to HR",
    BreachStatus.CLOSED: "Closed",
}
STATUS_PHRASES: Final = {
    BreachStatus.TO_ROUTE: "waiting for the communications team to route it",
    BreachStatus.WITH_MANAGER: "with the line manager",
    BreachStatus.WITH_HR: "escalated to HR",
    BreachStatus.CLOSED: "closed",
}
STATUS_COLOURS: Final = {
    BreachStatus.TO_ROUTE: "yellow",
    BreachStatus.WITH_MANAGER: "blue",
    BreachStatus.WITH_HR: "orange",
    BreachStatus.CLOSED: "grey",
}
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


@dataclass(frozen=True)
class Transition:
    """One row of the table. Nobody takes an action on a report about themselves or one they
    made (four-eyes); the manager's actions are for the manager the report is assigned to only."""

    action: BreachAction
    sources: frozenset[BreachStatus]
    target: BreachStatus
    handler: Handler
    permission: Permission
    audit: AuditAction
    label: str
    done: str
    note_label: str
    note_hint: str
    note_required: str | None  # the message when the note is missing; None: optional

    @property
    def closes(self) -> bool:
        return self.target is BreachStatus.CLOSED


TRANSITIONS: Final[dict[BreachAction, Transition]] = {
    t.action: t
    for t in (
        Transition(
            BreachAction.ROUTE,
            frozenset({BreachStatus.TO_ROUTE}),
            BreachStatus.WITH_MANAGER,
            Handler.COMMS,
            Permission.BREACH_ROUTE,
            AuditAction.BREACH_ROUTE,
            "Send it to a line manager",
            "sent to a line manager",
            "Note for the line manager (optional)",
            "For example who the member of staff is, if the reporter did not say.",
            None,
        ),
        Transition(
            BreachAction.CLOSE,
            frozenset({BreachStatus.TO_ROUTE}),
            BreachStatus.CLOSED,
            Handler.COMMS,
            Permission.BREACH_ROUTE,
            AuditAction.BREACH_CLOSE,
            "Close it: not a matter for a line manager",
            "closed",
            "Why is it closed?",
            "For example: the account is not a member of staff's, and is recorded in monitoring.",
            "Say why it is closed without going to a line manager",
        ),
        Transition(
            BreachAction.RESOLVE,
            frozenset({BreachStatus.WITH_MANAGER}),
            BreachStatus.CLOSED,
            Handler.MANAGER,
            Permission.BREACH_MANAGE,
            AuditAction.BREACH_RESOLVE,
            "I resolved it informally: close it",
            "resolved and closed",
            "How was it resolved?",
            "What you agreed with the member of staff, for example that the post was removed.",
            "Say how it was resolved",
        ),
        Transition(
            BreachAction.ESCALATE,
            frozenset({BreachStatus.WITH_MANAGER}),
            BreachStatus.WITH_HR,
            Handler.MANAGER,
            Permission.BREACH_MANAGE,
            AuditAction.BREACH_ESCALATE,
            "Escalate it to HR",
            "escalated to HR",
            "Why does it need HR?",
            "What you tried, and why it cannot be resolved informally (policy 9.2).",
            "Give the reason for escalating it to HR",
        ),
        Transition(
            BreachAction.RETURN,
            frozenset({BreachStatus.WITH_MANAGER}),
            BreachStatus.TO_ROUTE,
            Handler.MANAGER,
            Permission.BREACH_MANAGE,
            AuditAction.BREACH_ROUTE,
            "It is not mine to handle: hand it back to communications",
            "handed back to the communications team",
            "Why is it not yours to handle?",
            "For example: they are not in my team. Say who their line manager is, if you know.",
            "Say why it is not yours to handle",
        ),
        Transition(
            BreachAction.OUTCOME,
            frozenset({BreachStatus.WITH_HR}),
            BreachStatus.CLOSED,
            Handler.HR,
            Permission.BREACH_HR,
            AuditAction.BREACH_HR_OUTCOME,
            "Record the outcome",
            "closed with HR's outcome",
            "Outcome",
            "What was decided, for example informal advice, or a formal process under the Discipline Policy.",
            "Enter the outcome",
        ),
    )
}
#: The line manager's choices, in the order the form offers them.
MANAGER_DECISIONS: Final = (BreachAction.RESOLVE, BreachAction.ESCALATE, BreachAction.RETURN)
#: The communications team's choices for a report waiting to be routed.
ROUTING_DECISIONS: Final = (BreachAction.ROUTE, BreachAction.CLOSE)

#: How each step reads in a case's history.
STEP_LABELS: Final = {
    "report": "Reported",
    "route": "Sent to a line manager",
    "close": "Closed by the communications team",
    "resolve": "Resolved informally",
    "escalate": "Escalated to HR",
    "return": "Handed back to the communications team",
    "unassign": "Sent back to the communications team: the line manager can no longer act on it",
    "flag": "Flagged as a reputational risk",
    "outcome": "HR outcome recorded",
}
