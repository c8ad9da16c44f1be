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
from registry.lifecycle.table import Lifecycle, Status, Transition, lifecycle_file


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
    """A row of the channel table: the communications team operate a channel unless the row says otherwise.
    ``tells``: what the requester is told of it ("has been approved."), ``tells_subject`` ending the subject
    ("approved"); a row without them tells no one."""

    audit_prefix: ClassVar[str] = "CHANNEL"
    permission: Permission | None = Permission.CHANNEL_OPERATE
    tells_subject: str = ""
    tells: str = ""


#: What an action the table does not know is told: the actions the API takes, by name.
CHOOSE_ACTION: Final = "Choose an action: one of " + ", ".join(a.value for a in ChannelAction) + "."
LIFECYCLE: Final = Lifecycle.load(
    lifecycle_file(__file__),
    statuses=ChannelStatus,
    actions=ChannelAction,
    row=ChannelMove,
    choose_action=CHOOSE_ACTION,
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
#: Requests that wait on the communications team (``waits_on = "comms"`` in lifecycle.toml).
AWAITING_COMMS: Final = LIFECYCLE.awaiting_comms
#: A channel request of one's own is "open" until it is live or closed (``open = true``).
OPEN_REQUEST_STATUSES: Final = LIFECYCLE.open_statuses

TRANSITIONS: Final[dict[ChannelAction, ChannelMove]] = {t.action: t for t in LIFECYCLE.transitions}
