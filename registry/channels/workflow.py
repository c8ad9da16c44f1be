"""The channel lifecycle as data: states, actions and the transition table.

``requested`` → ``approved`` → ``active`` ⇄ ``suspended`` → ``retired``;
``requested`` → ``rejected``; ``requested``/``approved`` → ``withdrawn`` (by the
requester); comms may send a request back (``info_requested``) and the
requester resubmits it. The request engine
(:func:`registry.lifecycle.engine.apply`) is the one function that moves a channel
along this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar, Final

from registry.auth.permissions import Permission
from registry.lifecycle.table import Lifecycle, Need, State, Status, Transition


class ChannelStatus(Status):
    REQUESTED = "requested"
    INFO_REQUESTED = "info_requested"
    APPROVED = "approved"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    RETIRED = "retired"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


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


@dataclass(frozen=True, kw_only=True)
class ChannelMove(Transition[ChannelStatus, ChannelAction]):
    """A row of the channel table: the communications team operate a channel unless the row says otherwise."""

    audit_prefix: ClassVar[str] = "CHANNEL"
    permission: Permission | None = Permission.CHANNEL_OPERATE


LIFECYCLE: Final[Lifecycle[ChannelStatus, ChannelAction, ChannelMove]] = Lifecycle(
    statuses={
        #: label, phrase ("CH-0001 is …"), NHS tag colour.
        ChannelStatus.REQUESTED: State("Requested", "waiting for a decision", "blue"),
        ChannelStatus.INFO_REQUESTED: State(
            "More information needed", "waiting for more information from the requester", "yellow"
        ),
        ChannelStatus.APPROVED: State("Approved", "approved but not yet live", "aqua-green"),
        ChannelStatus.ACTIVE: State("Active", "active", "green"),
        ChannelStatus.SUSPENDED: State("Suspended", "suspended", "orange"),
        ChannelStatus.RETIRED: State("Retired", "retired", "grey"),
        ChannelStatus.REJECTED: State("Rejected", "rejected", "red"),
        ChannelStatus.WITHDRAWN: State("Withdrawn", "withdrawn", "grey"),
    },
    transitions=(
        ChannelMove(
            action=ChannelAction.APPROVE,
            sources=frozenset({ChannelStatus.REQUESTED}),
            target=ChannelStatus.APPROVED,
            permission=Permission.CHANNEL_DECIDE,
            label="Approve the request",
            done="approved",
            note_label="Notes for the requester (optional)",
            four_eyes=True,
        ),
        ChannelMove(
            action=ChannelAction.REJECT,
            sources=frozenset({ChannelStatus.REQUESTED, ChannelStatus.INFO_REQUESTED}),
            target=ChannelStatus.REJECTED,
            permission=Permission.CHANNEL_DECIDE,
            label="Reject the request",
            done="rejected",
            note=Need.REQUIRED,
            note_label="Why is it rejected?",
            four_eyes=True,
            warning=True,
        ),
        ChannelMove(
            action=ChannelAction.REQUEST_INFO,
            sources=frozenset({ChannelStatus.REQUESTED}),
            target=ChannelStatus.INFO_REQUESTED,
            permission=Permission.CHANNEL_DECIDE,
            label="Ask for more information",
            done="sent back for more information",
            note=Need.REQUIRED,
            note_label="What do you need to know?",
            four_eyes=True,
        ),
        ChannelMove(
            action=ChannelAction.RESUBMIT,
            sources=frozenset({ChannelStatus.INFO_REQUESTED}),
            target=ChannelStatus.REQUESTED,
            permission=None,
            label="Resubmit the request",
            done="resubmitted",
            note_label="What has changed? (optional)",
        ),
        ChannelMove(
            action=ChannelAction.ACTIVATE,
            sources=frozenset({ChannelStatus.APPROVED}),
            target=ChannelStatus.ACTIVE,
            label="Mark as active (the account is live)",
            done="activated",
            note_label="Notes (optional)",
        ),
        ChannelMove(
            action=ChannelAction.SUSPEND,
            sources=frozenset({ChannelStatus.ACTIVE}),
            target=ChannelStatus.SUSPENDED,
            label="Suspend the channel",
            done="suspended",
            note=Need.REQUIRED,
            note_label="Why is it suspended?",
            warning=True,
        ),
        ChannelMove(
            action=ChannelAction.REINSTATE,
            sources=frozenset({ChannelStatus.SUSPENDED}),
            target=ChannelStatus.ACTIVE,
            label="Reinstate the channel",
            done="reinstated",
            note_label="Notes (optional)",
        ),
        ChannelMove(
            action=ChannelAction.RETIRE,
            sources=frozenset({ChannelStatus.ACTIVE, ChannelStatus.SUSPENDED}),
            target=ChannelStatus.RETIRED,
            label="Retire the channel",
            done="retired",
            note=Need.REQUIRED,
            note_label="Why is it retired?",
            warning=True,
        ),
        ChannelMove(
            action=ChannelAction.WITHDRAW,
            sources=frozenset({ChannelStatus.REQUESTED, ChannelStatus.INFO_REQUESTED, ChannelStatus.APPROVED}),
            target=ChannelStatus.WITHDRAWN,
            permission=None,
            label="Withdraw your request",
            done="withdrawn",
            note_label="Why are you withdrawing it? (optional)",
            warning=True,
        ),
    ),
    other_steps={
        "request": "Requested",
        "adopt": "Adopted from monitoring",
        "import": "Imported from the inventory",
        "update": "Details changed",
    },
    choose_action="Choose an action: one of " + ", ".join(a.value for a in ChannelAction) + ".",
)

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
#: A channel request of one's own is "open" until it is live or closed.
OPEN_REQUEST_STATUSES: Final = frozenset(
    {ChannelStatus.REQUESTED, ChannelStatus.INFO_REQUESTED, ChannelStatus.APPROVED}
)

TRANSITIONS: Final[dict[ChannelAction, ChannelMove]] = {t.action: t for t in LIFECYCLE.transitions}
