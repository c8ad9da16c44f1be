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

from registry.lifecycle.table import Lifecycle, Status, Transition, Worded, lifecycle_file


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

LIFECYCLE: Final = Lifecycle.load(lifecycle_file(__file__), statuses=BreachStatus, actions=BreachAction, row=Handling)

#: Cases still being handled (``open = true`` in lifecycle.toml).
OPEN_STATUSES: Final = LIFECYCLE.open_statuses

#: What the person who made a report is told: whether it is still being looked into, nothing more.
REPORTER_LABELS: Final = {True: "Being looked into", False: "Closed"}


@LIFECYCLE.worded("route_reason")
class RouteReason(Worded):
    """Why a report waits for the communications team rather than going to a line manager."""

    SUBJECT_UNKNOWN = "subject_unknown"
    NOT_A_USER = "not_a_user"
    NO_LINE_MANAGER = "no_line_manager"
    MANAGER_UNAVAILABLE = "manager_unavailable"
    MANAGER_REPORTED = "manager_reported"
    RETURNED = "returned"


TRANSITIONS: Final[dict[BreachAction, Handling]] = {t.action: t for t in LIFECYCLE.transitions}
#: The line manager's choices, in the order the form offers them.
MANAGER_DECISIONS: Final = (BreachAction.RESOLVE, BreachAction.ESCALATE, BreachAction.RETURN)
#: The communications team's choices for a report waiting to be routed.
ROUTING_DECISIONS: Final = (BreachAction.ROUTE, BreachAction.CLOSE)
