"""The channel lifecycle as data: states, actions and the transition table.

``requested`` → ``approved`` → ``active`` ⇄ ``suspended`` → ``retired``;
``requested`` → ``rejected``; ``requested``/``approved`` → ``withdrawn`` (by the
requester); comms may send a request back (``info_requested``) and the
requester resubmits it. :func:`registry.channels.services.transition` is the
one function that moves a channel along this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from registry.audit.models import AuditAction
from registry.auth.permissions import Permission


class ChannelStatus(StrEnum):
    REQUESTED = "requested"
    INFO_REQUESTED = "info_requested"
    APPROVED = "approved"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    RETIRED = "retired"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]

    @property
    def phrase(self) -> str:
        """How the status reads in a sentence: "CH-0001 is {phrase}"."""
        return STATUS_PHRASES[self]


STATUS_LABELS: Final = {
    ChannelStatus.REQUESTED: "Requested",
    ChannelStatus.INFO_REQUESTED: "More information needed",
    ChannelStatus.APPROVED: "Approved",
    ChannelStatus.ACTIVE: "Active",
    ChannelStatus.SUSPENDED: "Suspended",
    ChannelStatus.RETIRED: "Retired",
    ChannelStatus.REJECTED: "Rejected",
    ChannelStatus.WITHDRAWN: "Withdrawn",
}

STATUS_PHRASES: Final = {
    ChannelStatus.REQUESTED: "waiting for a decision",
    ChannelStatus.INFO_REQUESTED: "waiting for more information from the requester",
    ChannelStatus.APPROVED: "approved but not yet live",
    ChannelStatus.ACTIVE: "active",
    ChannelStatus.SUSPENDED: "suspended",
    ChannelStatus.RETIRED: "retired",
    ChannelStatus.REJECTED: "rejected",
    ChannelStatus.WITHDRAWN: "withdrawn",
}

#: States in which a channel holds its handle: no two of these may share one.
LIVE_STATUSES: Final = frozenset(
    {
        ChannelStatus.REQUESTED,
        ChannelStatus.INFO_REQUESTED,
        ChannelStatus.APPROVED,
        ChannelStatus.ACTIVE,
        ChannelStatus.SUSPENDED,
    }
)
#: The Trust's accounts as the public should know them.
OFFICIAL_STATUSES: Final = frozenset({ChannelStatus.ACTIVE, ChannelStatus.SUSPENDED})
#: Requests that wait on the communications team.
AWAITING_COMMS: Final = frozenset({ChannelStatus.REQUESTED, ChannelStatus.APPROVED})


class ChannelAction(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    REQUEST_INFO = "request_info"
    RESUBMIT = "resubmit"
    ACTIVATE = "activate"
    SUSPEND = "suspend"
    REINSTATE = "reinstate"
    RETIRE = "retire"
    WITHDRAW = "withdraw"


@dataclass(frozen=True)
class Transition:
    """One row of the lifecycle table.

    ``permission`` None means only the requester may take the action.
    ``four_eyes``: the requester may not take it, whatever their roles.
    """

    action: ChannelAction
    sources: frozenset[ChannelStatus]
    target: ChannelStatus
    permission: Permission | None
    audit: AuditAction
    label: str
    done: str
    reason_required: bool = False
    reason_label: str = "Reason"
    four_eyes: bool = False
    warning: bool = False


TRANSITIONS: Final[dict[ChannelAction, Transition]] = {
    t.action: t
    for t in (
        Transition(
            ChannelAction.APPROVE,
            frozenset({ChannelStatus.REQUESTED}),
            ChannelStatus.APPROVED,
            Permission.CHANNEL_DECIDE,
            AuditAction.CHANNEL_APPROVE,
            "Approve the request",
            "approved",
            reason_label="Notes for the requester (optional)",
            four_eyes=True,
        ),
        Transition(
            ChannelAction.REJECT,
            frozenset({ChannelStatus.REQUESTED, ChannelStatus.INFO_REQUESTED}),
            ChannelStatus.REJECTED,
            Permission.CHANNEL_DECIDE,
            AuditAction.CHANNEL_REJECT,
            "Reject the request",
            "rejected",
            reason_required=True,
            reason_label="Why is it rejected?",
            four_eyes=True,
            warning=True,
        ),
        Transition(
            ChannelAction.REQUEST_INFO,
            frozenset({ChannelStatus.REQUESTED}),
            ChannelStatus.INFO_REQUESTED,
            Permission.CHANNEL_DECIDE,
            AuditAction.CHANNEL_REQUEST_INFO,
            "Ask for more information",
            "sent back for more information",
            reason_required=True,
            reason_label="What do you need to know?",
            four_eyes=True,
        ),
        Transition(
            ChannelAction.RESUBMIT,
            frozenset({ChannelStatus.INFO_REQUESTED}),
            ChannelStatus.REQUESTED,
            None,
            AuditAction.CHANNEL_RESUBMIT,
            "Resubmit the request",
            "resubmitted",
            reason_label="What has changed? (optional)",
        ),
        Transition(
            ChannelAction.ACTIVATE,
            frozenset({ChannelStatus.APPROVED}),
            ChannelStatus.ACTIVE,
            Permission.CHANNEL_OPERATE,
            AuditAction.CHANNEL_ACTIVATE,
            "Mark as active (the account is live)",
            "activated",
            reason_label="Notes (optional)",
        ),
        Transition(
            ChannelAction.SUSPEND,
            frozenset({ChannelStatus.ACTIVE}),
            ChannelStatus.SUSPENDED,
            Permission.CHANNEL_OPERATE,
            AuditAction.CHANNEL_SUSPEND,
            "Suspend the channel",
            "suspended",
            reason_required=True,
            reason_label="Why is it suspended?",
            warning=True,
        ),
        Transition(
            ChannelAction.REINSTATE,
            frozenset({ChannelStatus.SUSPENDED}),
            ChannelStatus.ACTIVE,
            Permission.CHANNEL_OPERATE,
            AuditAction.CHANNEL_REINSTATE,
            "Reinstate the channel",
            "reinstated",
            reason_label="Notes (optional)",
        ),
        Transition(
            ChannelAction.RETIRE,
            frozenset({ChannelStatus.ACTIVE, ChannelStatus.SUSPENDED}),
            ChannelStatus.RETIRED,
            Permission.CHANNEL_OPERATE,
            AuditAction.CHANNEL_RETIRE,
            "Retire the channel",
            "retired",
            reason_required=True,
            reason_label="Why is it retired?",
            warning=True,
        ),
        Transition(
            ChannelAction.WITHDRAW,
            frozenset({ChannelStatus.REQUESTED, ChannelStatus.INFO_REQUESTED, ChannelStatus.APPROVED}),
            ChannelStatus.WITHDRAWN,
            None,
            AuditAction.CHANNEL_WITHDRAW,
            "Withdraw your request",
            "withdrawn",
            reason_label="Why are you withdrawing it? (optional)",
            warning=True,
        ),
    )
}
