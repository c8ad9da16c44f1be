"""The media contact triage as data (policy 8.1).

A member of staff logs an approach (``reported``). The communications team then
acknowledges it, gives the reporter advice (again if things change), takes the
response on themselves, and closes it with the outcome:

``reported`` → ``acknowledged`` → ``advice_given`` → ``comms_responding`` → ``closed``,
where advice may be given, and the response taken over, from any earlier open state,
and any open approach may be closed (a duplicate, or not the media after all).

Advice is written to the reporter and shown to them; notes are the team's own and are
seen only by the team and auditors. A note may be added at any time without changing
the status. :func:`registry.media.services.triage` moves an approach along this table,
and only it does.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class MediaContactStatus(StrEnum):
    REPORTED = "reported"
    ACKNOWLEDGED = "acknowledged"
    ADVICE_GIVEN = "advice_given"
    COMMS_RESPONDING = "comms_responding"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]

    @property
    def phrase(self) -> str:
        """How the status reads in a sentence: "MC-0001 is {phrase}"."""
        return STATUS_PHRASES[self]

    @property
    def colour(self) -> str:
        return STATUS_COLOURS[self]


STATUS_LABELS: Final = {
    MediaContactStatus.REPORTED: "Awaiting triage",
    MediaContactStatus.ACKNOWLEDGED: "Acknowledged",
    MediaContactStatus.ADVICE_GIVEN: "Advice given",
    MediaContactStatus.COMMS_RESPONDING: "Communications team responding",
    MediaContactStatus.CLOSED: "Closed",
}
STATUS_PHRASES: Final = {
    MediaContactStatus.REPORTED: "waiting for the communications team",
    MediaContactStatus.ACKNOWLEDGED: "acknowledged by the communications team",
    MediaContactStatus.ADVICE_GIVEN: "advised on",
    MediaContactStatus.COMMS_RESPONDING: "being answered by the communications team",
    MediaContactStatus.CLOSED: "closed",
}
#: NHS tag colours.
STATUS_COLOURS: Final = {
    MediaContactStatus.REPORTED: "blue",
    MediaContactStatus.ACKNOWLEDGED: "yellow",
    MediaContactStatus.ADVICE_GIVEN: "green",
    MediaContactStatus.COMMS_RESPONDING: "purple",
    MediaContactStatus.CLOSED: "grey",
}

OPEN_STATUSES: Final = frozenset(set(MediaContactStatus) - {MediaContactStatus.CLOSED})
#: Approaches the communications team has still to act on (their work queue).
AWAITING_COMMS: Final = frozenset(
    {
        MediaContactStatus.REPORTED,
        MediaContactStatus.ACKNOWLEDGED,
        MediaContactStatus.COMMS_RESPONDING,
    }
)
#: "open" is a filter, not a stored status: every status but closed.
OPEN_FILTER: Final = "open"
FILTER_VALUES: Final = (OPEN_FILTER, *(s.value for s in MediaContactStatus))
FILTER_LABELS: Final = {OPEN_FILTER: "Open (not closed)", **{s.value: s.label for s in MediaContactStatus}}


class TriageAction(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    ADVISE = "advise"
    RESPOND = "respond"
    CLOSE = "close"


#: Not a transition: a note of the team's, status unchanged (offered beside the actions).
NOTE: Final = "note"


class Need(StrEnum):
    REQUIRED = "required"
    OPTIONAL = "optional"
    NONE = "none"


@dataclass(frozen=True)
class Transition:
    """One row of the triage table.

    ``advice``: whether advice to the reporter is required, optional or not taken;
    ``note``: the same for the team's internal note. Every transition needs the
    triage permission and is refused to the person who logged the approach (four-eyes).
    """

    action: TriageAction
    sources: frozenset[MediaContactStatus]
    target: MediaContactStatus
    label: str
    done: str
    advice: Need
    note: Need
    #: What the reporter is told (the subject of their message), ``{ref}`` filled in.
    tells_reporter: str


TRANSITIONS: Final[dict[TriageAction, Transition]] = {
    t.action: t
    for t in (
        Transition(
            TriageAction.ACKNOWLEDGE,
            frozenset({MediaContactStatus.REPORTED}),
            MediaContactStatus.ACKNOWLEDGED,
            "Acknowledge: we have it and are looking at it",
            "acknowledged",
            Need.NONE,
            Need.OPTIONAL,
            "The communications team has your media approach {ref}",
        ),
        Transition(
            TriageAction.ADVISE,
            frozenset({MediaContactStatus.REPORTED, MediaContactStatus.ACKNOWLEDGED, MediaContactStatus.ADVICE_GIVEN}),
            MediaContactStatus.ADVICE_GIVEN,
            "Give advice to the member of staff",
            "advised on",
            Need.REQUIRED,
            Need.OPTIONAL,
            "Advice on your media approach {ref}",
        ),
        Transition(
            TriageAction.RESPOND,
            frozenset({MediaContactStatus.REPORTED, MediaContactStatus.ACKNOWLEDGED, MediaContactStatus.ADVICE_GIVEN}),
            MediaContactStatus.COMMS_RESPONDING,
            "The communications team will respond to the media",
            "taken on by the communications team",
            Need.OPTIONAL,
            Need.OPTIONAL,
            "The communications team will respond to the media about {ref}",
        ),
        Transition(
            TriageAction.CLOSE,
            frozenset(OPEN_STATUSES),
            MediaContactStatus.CLOSED,
            "Close, with the outcome",
            "closed",
            Need.NONE,
            Need.REQUIRED,
            "Your media approach {ref} is closed",
        ),
    )
}
#: The actions in the order the triage form offers them.
ACTIONS: Final = tuple(TRANSITIONS)
