"""The communications team's work queue and each person's open requests: every kind of
request, gathered from its own domain as ``WorkItem`` objects."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from registry import db
from registry.auth.models import User
from registry.breaches import services as breaches
from registry.channels import services as channels
from registry.channels.models import Channel
from registry.channels.workflow import ChannelStatus
from registry.lifecycle.kind import WorkItem, kinds
from registry.posts import services as posts

#: A channel request of one's own is "open" until it is live or closed.
OPEN_CHANNEL_STATUSES = frozenset({ChannelStatus.REQUESTED, ChannelStatus.INFO_REQUESTED, ChannelStatus.APPROVED})


def _channel_item(channel: Channel, *, needs_you: bool = False) -> WorkItem:
    return WorkItem(
        kind="Channel request",
        reference=channel.reference,
        title=f"{channel.display_name} on {channel.platform_label}",
        status_label=channel.status_label,
        waiting_since=channel.status_changed_at,
        url=f"/channels/{channel.reference}",
        requester=channel.requester.name,
        needs_you=needs_you,
    )


def channel_items_for_comms() -> list[WorkItem]:
    return [_channel_item(c) for c in db.session().execute(channels.queue()).scalars()]


def channel_items_of(user: User) -> list[WorkItem]:
    statement = (
        select(Channel)
        .where(Channel.requester_id == user.id, Channel.status.in_([s.value for s in OPEN_CHANNEL_STATUSES]))
        .order_by(Channel.status_changed_at, Channel.id)
    )
    return [
        _channel_item(c, needs_you=c.status_enum is ChannelStatus.INFO_REQUESTED)
        for c in db.session().execute(statement).scalars()
    ]


def _sources() -> list[tuple[Callable[[], list[WorkItem]], Callable[[User], list[WorkItem]]]]:
    """Each kind of request: (what awaits comms, a person's own open requests)."""
    return [
        (channel_items_for_comms, channel_items_of),
        (posts.work_items_for_comms, posts.work_items_of),
        *((kind.work_items_for_comms, kind.work_items_of) for kind in kinds()),
    ]


def for_comms() -> list[WorkItem]:
    """Everything awaiting the communications team, oldest first."""
    items = [item for for_comms_, _ in _sources() for item in for_comms_()]
    return sorted(items, key=lambda i: (i.waiting_since, i.reference))


def of(user: User) -> list[WorkItem]:
    """A person's open requests and the breach reports they made: those needing them first,
    then oldest first. (Breach cases are not in comms' queue: who may see one depends on who
    asks, so handlers find theirs on their home page.)"""
    items = [item for _, of_user in _sources() for item in of_user(user)] + breaches.work_items_of(user)
    return sorted(items, key=lambda i: (not i.needs_you, i.waiting_since, i.reference))
