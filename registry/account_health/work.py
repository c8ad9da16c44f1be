"""Official channels due an account security check, as a list of the communications team's work.

Not a kind of request (nobody asks for a check; it falls due), so it is a
:class:`~registry.lifecycle.kind.WorkSource`: the work queue pages it beside the requests, reading
the active channels whose ``health_due_at`` has passed from the index on (status, health_due_at),
oldest first, and loads those shown in one statement.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Final

from sqlalchemy import ColumnElement, literal, select

from registry import db
from registry.account_health.states import HealthState
from registry.auth.models import User
from registry.channels.models import REFERENCE, Channel
from registry.channels.workflow import ChannelStatus
from registry.lifecycle.kind import Waiting, WorkItem, register_work

#: What a due check's item says, by the channel's health.
DUE_LABELS: Final = {
    HealthState.UNCHECKED: "Never checked",
    HealthState.HEALTHY: "Check due",
    HealthState.NEEDS_ATTENTION: "Needs attention",
}


class DueChecks:
    name = "health_check"
    label = "Account security check"
    model = Channel
    reference_prefix = REFERENCE.prefix

    def waiting_for_comms(self) -> Waiting:
        return Waiting(frozenset({ChannelStatus.ACTIVE}), Channel.health_due_at, due=Channel.health_due_at)

    def waiting_of(self, user: User) -> Waiting | None:
        return None

    def reference_order(self) -> tuple[ColumnElement[int], ColumnElement[int]]:
        """As channel references sort: by id (they have no year)."""
        channel: Any = Channel
        return literal(0), channel.id

    def work_items(self, ids: Collection[int], *, for_comms: bool) -> dict[int, WorkItem]:
        """The items of the channels ``ids``; one statement (also for none)."""
        found: Any = db.session().execute(select(Channel).where(Channel.id.in_(ids))).unique().scalars()
        return {channel.id: self.work_item(channel) for channel in found}

    def work_item(self, channel: Channel) -> WorkItem:
        return WorkItem(
            kind=self.label,
            reference=channel.reference,
            title=f"{channel.display_name} on {channel.platform_label}",
            status_label=DUE_LABELS[channel.health_state],
            waiting_since=channel.health_due_at,
            url=f"/channels/{channel.reference}/health/check",
        )


DUE_CHECKS: Final = register_work(DueChecks())
