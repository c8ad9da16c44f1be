"""The promotional post lifecycle as data: states, actions and the transition table.

``submitted`` → ``approved`` → ``scheduled`` → ``published``; ``submitted`` →
``changes_requested`` (the requester edits and resubmits) or ``rejected``; the
requester may withdraw a post until it is published. Comms may schedule an
approved post straight away or move a scheduled one to another time, and record
the published address once it is live. :func:`registry.posts.services.transition`
is the one function that moves a post along this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from registry.audit.models import AuditAction
from registry.auth.permissions import Permission


class PostStatus(StrEnum):
    SUBMITTED = "submitted"
    CHANGES_REQUESTED = "changes_requested"
    APPROVED = "approved"
    SCHEDULED = "scheduled"
    PUBLISHED = "published"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]

    @property
    def phrase(self) -> str:
        """How the status reads in a sentence: "PP-2026-0001 is {phrase}"."""
        return STATUS_PHRASES[self]

    @property
    def colour(self) -> str:
        """The NHS tag colour of the status."""
        return STATUS_COLOURS[self]


STATUS_LABELS: Final = {
    PostStatus.SUBMITTED: "Waiting for a decision",
    PostStatus.CHANGES_REQUESTED: "Changes requested",
    PostStatus.APPROVED: "Approved",
    PostStatus.SCHEDULED: "Scheduled",
    PostStatus.PUBLISHED: "Published",
    PostStatus.REJECTED: "Rejected",
    PostStatus.WITHDRAWN: "Withdrawn",
}

STATUS_PHRASES: Final = {
    PostStatus.SUBMITTED: "waiting for a decision",
    PostStatus.CHANGES_REQUESTED: "waiting for changes from the requester",
    PostStatus.APPROVED: "approved but not yet scheduled",
    PostStatus.SCHEDULED: "scheduled",
    PostStatus.PUBLISHED: "published",
    PostStatus.REJECTED: "rejected",
    PostStatus.WITHDRAWN: "withdrawn",
}

STATUS_COLOURS: Final = {
    PostStatus.SUBMITTED: "blue",
    PostStatus.CHANGES_REQUESTED: "yellow",
    PostStatus.APPROVED: "aqua-green",
    PostStatus.SCHEDULED: "purple",
    PostStatus.PUBLISHED: "green",
    PostStatus.REJECTED: "red",
    PostStatus.WITHDRAWN: "grey",
}

#: Posts the communications team must act on: decide, schedule, or record as published.
AWAITING_COMMS: Final = frozenset({PostStatus.SUBMITTED, PostStatus.APPROVED, PostStatus.SCHEDULED})
#: Posts still open for their requester (including those waiting on their changes).
OPEN_STATUSES: Final = frozenset(
    {PostStatus.SUBMITTED, PostStatus.CHANGES_REQUESTED, PostStatus.APPROVED, PostStatus.SCHEDULED}
)
#: States in which the requester may change the post (and, when changes were asked, resubmit it).
EDITABLE_STATUSES: Final = frozenset({PostStatus.SUBMITTED, PostStatus.CHANGES_REQUESTED})


class PostAction(StrEnum):
    APPROVE = "approve"
    REQUEST_CHANGES = "request_changes"
    REJECT = "reject"
    RESUBMIT = "resubmit"
    WITHDRAW = "withdraw"
    SCHEDULE = "schedule"
    PUBLISH = "publish"


#: The decisions (comms, four-eyes) as the API names them.
DECISIONS: Final = (PostAction.APPROVE, PostAction.REQUEST_CHANGES, PostAction.REJECT)


@dataclass(frozen=True)
class Transition:
    """One row of the lifecycle table.

    ``permission`` None means only the requester may take the action.
    ``four_eyes``: the requester may not take it, whatever their roles.
    """

    action: PostAction
    sources: frozenset[PostStatus]
    target: PostStatus
    permission: Permission | None
    audit: AuditAction
    label: str
    done: str
    reason_required: bool = False
    reason_label: str = "Reason"
    four_eyes: bool = False
    warning: bool = False


TRANSITIONS: Final[dict[PostAction, Transition]] = {
    t.action: t
    for t in (
        Transition(
            PostAction.APPROVE,
            frozenset({PostStatus.SUBMITTED}),
            PostStatus.APPROVED,
            Permission.POST_DECIDE,
            AuditAction.POST_APPROVE,
            "Approve the post",
            "approved",
            reason_label="Notes for the requester (optional)",
            four_eyes=True,
        ),
        Transition(
            PostAction.REQUEST_CHANGES,
            frozenset({PostStatus.SUBMITTED}),
            PostStatus.CHANGES_REQUESTED,
            Permission.POST_DECIDE,
            AuditAction.POST_REQUEST_CHANGES,
            "Ask for changes",
            "sent back for changes",
            reason_required=True,
            reason_label="What should the requester change?",
            four_eyes=True,
        ),
        Transition(
            PostAction.REJECT,
            frozenset({PostStatus.SUBMITTED, PostStatus.CHANGES_REQUESTED}),
            PostStatus.REJECTED,
            Permission.POST_DECIDE,
            AuditAction.POST_REJECT,
            "Reject the post",
            "rejected",
            reason_required=True,
            reason_label="Why is it rejected?",
            four_eyes=True,
            warning=True,
        ),
        Transition(
            PostAction.RESUBMIT,
            frozenset({PostStatus.CHANGES_REQUESTED}),
            PostStatus.SUBMITTED,
            None,
            AuditAction.POST_RESUBMIT,
            "Resubmit the post",
            "resubmitted",
            reason_label="What has changed? (optional)",
        ),
        Transition(
            PostAction.WITHDRAW,
            frozenset(OPEN_STATUSES),
            PostStatus.WITHDRAWN,
            None,
            AuditAction.POST_WITHDRAW,
            "Withdraw your request",
            "withdrawn",
            reason_label="Why are you withdrawing it? (optional)",
            warning=True,
        ),
        Transition(
            PostAction.SCHEDULE,
            frozenset({PostStatus.APPROVED, PostStatus.SCHEDULED}),
            PostStatus.SCHEDULED,
            Permission.POST_DECIDE,
            AuditAction.POST_SCHEDULE,
            "Schedule the post",
            "scheduled",
            reason_label="Notes (optional)",
        ),
        Transition(
            PostAction.PUBLISH,
            frozenset({PostStatus.APPROVED, PostStatus.SCHEDULED}),
            PostStatus.PUBLISHED,
            Permission.POST_DECIDE,
            AuditAction.POST_PUBLISH,
            "Record that the post is published",
            "recorded as published",
            reason_label="Notes (optional)",
        ),
    )
}
