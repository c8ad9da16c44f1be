"""An emergency access's lifecycle as data.

Opened (``open``) by someone on call, for one channel, for a window of
``REGISTRY_BREAK_GLASS_MINUTES``; the person who opened it may close it early (``closed``); once its
window has ended, by either, it awaits the communications team's post-incident review, which another
member of the team than the person who used it records with notes (``reviewed``, four-eyes).

An access whose window ran out is still stored as ``open``: nothing has to run for it to end. Its time
decides (:attr:`EmergencyAccess.is_live`), and the work queue counts it as awaiting review from the
moment its window ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar, Final

from registry.auth.permissions import Permission
from registry.lifecycle.table import Lifecycle, Need, State, Status, Transition


class AccessStatus(Status):
    OPEN = "open"
    CLOSED = "closed"
    REVIEWED = "reviewed"


class AccessAction(StrEnum):
    CLOSE = "close"
    REVIEW = "review"


@dataclass(frozen=True, kw_only=True)
class AccessMove(Transition[AccessStatus, AccessAction]):
    audit_prefix: ClassVar[str] = "EMERGENCY_ACCESS"
    permission: Permission | None = Permission.BREAK_GLASS_REVIEW


CLOSE: Final = AccessMove(
    action=AccessAction.CLOSE,
    sources=frozenset({AccessStatus.OPEN}),
    target=AccessStatus.CLOSED,
    label="Close the emergency access now",
    done="closed",
    permission=None,  # only the person who opened it
    note=Need.OPTIONAL,
    note_label="Anything the communications team should know (optional)",
)
REVIEW: Final = AccessMove(
    action=AccessAction.REVIEW,
    sources=frozenset({AccessStatus.OPEN, AccessStatus.CLOSED}),
    target=AccessStatus.REVIEWED,
    label="Record the post-incident review",
    done="reviewed",
    step="Post-incident review recorded",
    four_eyes=True,
    note=Need.REQUIRED,
    note_label="Review notes",
    note_missing=(
        "Write the review notes: what happened, whether the access was needed, and what was changed afterwards"
    ),
)

LIFECYCLE: Final[Lifecycle[AccessStatus, AccessAction, AccessMove]] = Lifecycle(
    statuses={
        AccessStatus.OPEN: State("Open", "open", "red"),
        AccessStatus.CLOSED: State("Awaiting review", "closed and awaiting review", "orange"),
        AccessStatus.REVIEWED: State("Reviewed", "reviewed", "grey"),
    },
    transitions=(CLOSE, REVIEW),
    other_steps={"open": "Opened"},
    choose_action="Choose what happens next: close the access or record its review.",
)

#: What the work queue and the review read: an access whose window has ended and is not yet reviewed.
UNREVIEWED: Final = frozenset({AccessStatus.OPEN, AccessStatus.CLOSED})
