"""The media contact triage as data (policy 8.1).

A member of staff logs an approach (``reported``). The communications team then
acknowledges it, gives the reporter advice (again if things change), takes the
response on themselves, and closes it with the outcome:

``reported`` → ``acknowledged`` → ``advice_given`` → ``comms_responding`` → ``closed``,
where advice may be given, and the response taken over, from any earlier open state,
and any open approach may be closed (a duplicate, or not the media after all).

Advice is written to the reporter and shown to them; notes are the team's own and are
seen only by the team and auditors. A note may be added at any time without changing
the status. The request engine (:func:`registry.lifecycle.engine.apply`) moves an approach along
this table, and only it does.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from registry.audit.models import AuditAction
from registry.auth.permissions import Permission
from registry.lifecycle.table import Lifecycle, Need, Status, Transition, lifecycle_file

__all__ = ["Need"]


class MediaContactStatus(Status):
    REPORTED = "reported"
    ACKNOWLEDGED = "acknowledged"
    ADVICE_GIVEN = "advice_given"
    COMMS_RESPONDING = "comms_responding"
    CLOSED = "closed"


class TriageAction(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    ADVISE = "advise"
    RESPOND = "respond"
    CLOSE = "close"


#: Not a transition: a note of the team's, status unchanged (offered beside the actions).
NOTE: Final = "note"


@dataclass(frozen=True, kw_only=True)
class Triage(Transition[MediaContactStatus, TriageAction]):
    """A row of the triage table. Every transition needs the triage permission and is refused to
    the person who logged the approach (four-eyes). ``advice``: whether advice to the reporter
    is required, optional or not taken (``note`` is the team's internal note)."""

    advice: Need
    #: What the reporter is told (the subject of their message), ``{ref}`` filled in.
    tells_reporter: str
    permission: Permission | None = Permission.MEDIA_CONTACT_TRIAGE
    audit_as: AuditAction | None = AuditAction.MEDIA_CONTACT_TRIAGE
    four_eyes: bool = True


LIFECYCLE: Final = Lifecycle.load(
    lifecycle_file(__file__), statuses=MediaContactStatus, actions=TriageAction, row=Triage
)

#: Every approach but a closed one (``open = true`` in lifecycle.toml).
OPEN_STATUSES: Final = LIFECYCLE.open_statuses
#: Approaches the communications team has still to act on (their work queue: ``waits_on = "comms"``).
AWAITING_COMMS: Final = LIFECYCLE.awaiting_comms
#: "open" is a filter, not a stored status: every status but closed.
OPEN_FILTER: Final = "open"
FILTER_VALUES: Final = (OPEN_FILTER, *(s.value for s in MediaContactStatus))
FILTER_LABELS: Final = {OPEN_FILTER: "Open (not closed)", **{s.value: s.label for s in MediaContactStatus}}

TRANSITIONS: Final[dict[TriageAction, Triage]] = {t.action: t for t in LIFECYCLE.transitions}
#: The actions in the order the triage form offers them.
ACTIONS: Final = tuple(TRANSITIONS)
