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
from registry.lifecycle.table import Lifecycle, Need, State, Status, Transition


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


#: Posts the communications team must act on: decide, schedule, or record as published.
AWAITING_COMMS: Final = frozenset({PostStatus.SUBMITTED, PostStatus.APPROVED, PostStatus.SCHEDULED})
#: Posts still open for their requester (including those waiting on their changes).
OPEN_STATUSES: Final = frozenset(
    {PostStatus.SUBMITTED, PostStatus.CHANGES_REQUESTED, PostStatus.APPROVED, PostStatus.SCHEDULED}
)
#: States in which the requester may change the post (and, when changes were asked, resubmit it).
EDITABLE_STATUSES: Final = frozenset({PostStatus.SUBMITTED, PostStatus.CHANGES_REQUESTED})

#: The decisions (comms, four-eyes) as the API names them.
DECISIONS: Final = (PostAction.APPROVE, PostAction.REQUEST_CHANGES, PostAction.REJECT)


@dataclass(frozen=True, kw_only=True)
class PostMove(Transition[PostStatus, PostAction]):
    """A row of the post table (posts take nothing beyond the note: no columns of their own). The
    communications team take each action unless the row says otherwise."""

    audit_prefix: ClassVar[str] = "POST"
    permission: Permission | None = Permission.POST_DECIDE


LIFECYCLE: Final[Lifecycle[PostStatus, PostAction, PostMove]] = Lifecycle(
    statuses={
        #: label, phrase ("PP-2026-0001 is …"), NHS tag colour.
        PostStatus.SUBMITTED: State("Waiting for a decision", "waiting for a decision", "blue"),
        PostStatus.CHANGES_REQUESTED: State("Changes requested", "waiting for changes from the requester", "yellow"),
        PostStatus.APPROVED: State("Approved", "approved but not yet scheduled", "aqua-green"),
        PostStatus.SCHEDULED: State("Scheduled", "scheduled", "purple"),
        PostStatus.PUBLISHED: State("Published", "published", "green"),
        PostStatus.REJECTED: State("Rejected", "rejected", "red"),
        PostStatus.WITHDRAWN: State("Withdrawn", "withdrawn", "grey"),
    },
    transitions=(
        PostMove(
            action=PostAction.APPROVE,
            sources=frozenset({PostStatus.SUBMITTED}),
            target=PostStatus.APPROVED,
            label="Approve the post",
            done="approved",
            note_label="Notes for the requester (optional)",
            four_eyes=True,
        ),
        PostMove(
            action=PostAction.REQUEST_CHANGES,
            sources=frozenset({PostStatus.SUBMITTED}),
            target=PostStatus.CHANGES_REQUESTED,
            label="Ask for changes",
            done="sent back for changes",
            step="Changes requested",
            note=Need.REQUIRED,
            note_label="What should the requester change?",
            four_eyes=True,
        ),
        PostMove(
            action=PostAction.REJECT,
            sources=frozenset({PostStatus.SUBMITTED, PostStatus.CHANGES_REQUESTED}),
            target=PostStatus.REJECTED,
            label="Reject the post",
            done="rejected",
            note=Need.REQUIRED,
            note_label="Why is it rejected?",
            four_eyes=True,
            warning=True,
        ),
        PostMove(
            action=PostAction.RESUBMIT,
            sources=frozenset({PostStatus.CHANGES_REQUESTED}),
            target=PostStatus.SUBMITTED,
            permission=None,
            label="Resubmit the post",
            done="resubmitted",
            note_label="What has changed? (optional)",
        ),
        PostMove(
            action=PostAction.WITHDRAW,
            sources=OPEN_STATUSES,
            target=PostStatus.WITHDRAWN,
            permission=None,
            label="Withdraw your request",
            done="withdrawn",
            note_label="Why are you withdrawing it? (optional)",
            warning=True,
        ),
        PostMove(
            action=PostAction.SCHEDULE,
            sources=frozenset({PostStatus.APPROVED, PostStatus.SCHEDULED}),
            target=PostStatus.SCHEDULED,
            label="Schedule the post",
            done="scheduled",
            note_label="Notes (optional)",
        ),
        PostMove(
            action=PostAction.PUBLISH,
            sources=frozenset({PostStatus.APPROVED, PostStatus.SCHEDULED}),
            target=PostStatus.PUBLISHED,
            label="Record that the post is published",
            done="recorded as published",
            step="Published",
            note_label="Notes (optional)",
        ),
    ),
    other_steps={
        "request": "Proposed",
        "update": "Changed by the requester",
        "screen": "Screened again: the findings changed",
        "accept_findings": "Possible identifiers accepted",
    },
    # A post is resubmitted by changing it, so the engine is not offered "resubmit" by name.
    choose_action="Choose an action: one of "
    + ", ".join(a.value for a in PostAction if a is not PostAction.RESUBMIT)
    + ".",
)

TRANSITIONS: Final[dict[PostAction, PostMove]] = {t.action: t for t in LIFECYCLE.transitions}
