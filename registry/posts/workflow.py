"""The promotional post lifecycle as data: states, actions and the transition table.

``submitted`` → ``approved`` → ``scheduled`` → ``published``; ``submitted`` →
``changes_requested`` (the requester edits and resubmits) or ``rejected``; the
requester may withdraw a post until it is published. Comms may schedule an
approved post straight away or move a scheduled one to another time, and record
the published address once it is live. The request engine
(:func:`registry.lifecycle.engine.apply`) moves a post along this table; a
resubmission is the requester's change of the post (:func:`registry.posts.intake.revise`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar, Final

from registry.auth.permissions import Permission
from registry.lifecycle.table import Lifecycle, Status, Transition, lifecycle_file


class PostStatus(Status):
    SUBMITTED = "submitted"
    CHANGES_REQUESTED = "changes_requested"
    APPROVED = "approved"
    SCHEDULED = "scheduled"
    PUBLISHED = "published"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class PostAction(StrEnum):
    APPROVE = "approve"
    REQUEST_CHANGES = "request_changes"
    REJECT = "reject"
    RESUBMIT = "resubmit"
    WITHDRAW = "withdraw"
    SCHEDULE = "schedule"
    PUBLISH = "publish"


#: States in which the requester may change the post (and, when changes were asked, resubmit it).
EDITABLE_STATUSES: Final = frozenset({PostStatus.SUBMITTED, PostStatus.CHANGES_REQUESTED})

#: The decisions (comms, four-eyes) as the API names them.
DECISIONS: Final = (PostAction.APPROVE, PostAction.REQUEST_CHANGES, PostAction.REJECT)


@dataclass(frozen=True, kw_only=True)
class PostMove(Transition[PostStatus, PostAction]):
    """A row of the post table (posts take nothing beyond the note: no columns of their own). The
    communications team take each action unless the row says otherwise. ``tells``: what the requester is
    told of it ({ref}, {when}, {addresses} filled in), ``tells_subject`` ending the subject ("approved")."""

    audit_prefix: ClassVar[str] = "POST"
    permission: Permission | None = Permission.POST_DECIDE
    tells_subject: str = ""
    tells: str = ""


#: What an action the table does not know is told: the actions the API takes, by name. A post is resubmitted
#: by changing it, so the engine is not offered "resubmit" by name.
CHOOSE_ACTION: Final = (
    "Choose an action: one of " + ", ".join(a.value for a in PostAction if a is not PostAction.RESUBMIT) + "."
)
LIFECYCLE: Final = Lifecycle.load(
    lifecycle_file(__file__), statuses=PostStatus, actions=PostAction, row=PostMove, choose_action=CHOOSE_ACTION
)
#: Posts the communications team must act on: decide, schedule, or record as published (``waits_on = "comms"``).
AWAITING_COMMS: Final = LIFECYCLE.awaiting_comms
#: Posts still open for their requester, including those waiting on their changes (``open = true``).
OPEN_STATUSES: Final = LIFECYCLE.open_statuses

TRANSITIONS: Final[dict[PostAction, PostMove]] = {t.action: t for t in LIFECYCLE.transitions}
