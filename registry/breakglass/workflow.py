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
from registry.lifecycle.table import Lifecycle, Status, Transition, lifecycle_file


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


LIFECYCLE: Final = Lifecycle.load(lifecycle_file(__file__), statuses=AccessStatus, actions=AccessAction, row=AccessMove)

#: The two actions, by name (the pages offer each on its own).
CLOSE: Final = LIFECYCLE.parse(AccessAction.CLOSE)
REVIEW: Final = LIFECYCLE.parse(AccessAction.REVIEW)

#: What the work queue and the review read: an access whose window has ended and is not yet reviewed.
UNREVIEWED: Final = LIFECYCLE.awaiting_comms
