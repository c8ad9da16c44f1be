"""The channel registry's rules: requesting, deciding, running and finding channels.

Every function checks everything before it changes anything, raises a domain
error (``Invalid`` 422, ``NotPermitted`` 403, ``Conflict`` 409) with a plain-English
message, and records the change and its audit event in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import ColumnElement, Select, and_, func, or_, select

from registry import clock, db
from registry.account_health.states import HealthState
from registry.audit.models import AuditAction
from registry.audit.services import Actor, record
from registry.auth.models import User
from registry.auth.permissions import Permission
from registry.channels.kind import KIND
from registry.channels.models import Channel
from registry.channels.platforms import Platform
from registry.channels.registration import (
    LIMITS,
    REASON_MAX,
    REQUIRED,
    REQUIRED_MESSAGES,
    REVIEW_INTERVAL,
    TOLD_TO_REQUESTER,
    ChannelRequest,
    adopt,
    request_channel,
    set_lookalike_keys,
    too_long,
    validate_request,
)
from registry.channels.workflow import (
    AWAITING_COMMS,
    LIVE_STATUSES,
    OFFICIAL_STATUSES,
    TRANSITIONS,
    ChannelAction,
    ChannelStatus,
)
from registry.errors import Conflict, Invalid, NotPermitted
from registry.lifecycle import engine
from registry.lifecycle.filters import Filters
from registry.text import clean

__all__ = [
    "LIMITS",
    "REASON_MAX",
    "REQUIRED",
    "REQUIRED_MESSAGES",
    "REVIEW_INTERVAL",
    "TOLD_TO_REQUESTER",
    "ChannelRequest",
    "adopt",
    "request_channel",
    "set_lookalike_keys",
    "validate_request",
]


get_channel = KIND.get
#: Comms and auditors see every channel; others their own requests and the official accounts.
can_view = KIND.can_view
history = KIND.history


def sees_everything(user: User, channel: Channel) -> bool:
    """Comms, auditors and the requester see a channel's internal details and history;
    other staff see only what the public verification page shows."""
    return user.can(Permission.CHANNEL_READ_ALL) or channel.requester_id == user.id


def can_take(user: User, channel: Channel, action: ChannelAction) -> bool:
    """Whether ``action`` would be allowed now (for showing buttons)."""
    return KIND.can_take(user, channel, TRANSITIONS[action])


def available_actions(user: User, channel: Channel) -> list[ChannelAction]:
    return [action for action in TRANSITIONS if can_take(user, channel, action)]


def transition(
    channel: Channel,
    action: str,
    actor: User,
    *,
    reason: str | None = None,
    handle: str | None = None,
    url: str | None = None,
) -> Channel:
    """Move ``channel`` along the lifecycle table, or refuse and change nothing."""
    return engine.apply(KIND, channel, action, actor, note=reason, handle=handle, url=url)


EDITABLE = (
    "display_name",
    "department",
    "purpose",
    "audience",
    "posting_plan",
    "moderation_plan",
    "out_of_hours",
    "sponsor",
    "proposed_administrators",
)


def update_details(
    channel: Channel, changes: dict[str, Any], actor: User, *, next_review_on: dt.date | None = None
) -> bool:
    """Comms correct a channel's details (or the requester, while comms wait on them)."""
    is_requester_editing = channel.requester_id == actor.id and channel.status_enum is ChannelStatus.INFO_REQUESTED
    if not (actor.can(Permission.CHANNEL_EDIT) or is_requester_editing):
        raise NotPermitted("Only the communications team can change a channel's details.")
    if channel.status_enum in {ChannelStatus.REJECTED, ChannelStatus.WITHDRAWN}:
        raise Conflict(f"{channel.reference} is {channel.status_label.lower()}: its details are kept as they were.")
    errors: dict[str, str] = {}
    cleaned: dict[str, str] = {}
    for name in EDITABLE:
        if name not in changes:
            continue
        value = clean(changes[name])
        if not value and name in REQUIRED:
            errors[name] = REQUIRED_MESSAGES[name]
        elif len(value) > LIMITS[name]:
            errors[name] = too_long(name)
        cleaned[name] = value
    if next_review_on is not None and not actor.can(Permission.CHANNEL_EDIT):
        errors["next_review_on"] = "Only the communications team sets the review date."
    if errors:
        raise Invalid(errors)
    diff = {
        name: {"from": getattr(channel, name), "to": value}
        for name, value in cleaned.items()
        if getattr(channel, name) != value
    }
    if next_review_on is not None and next_review_on != channel.next_review_on:
        diff["next_review_on"] = {
            "from": channel.next_review_on.isoformat() if channel.next_review_on else None,
            "to": next_review_on.isoformat(),
        }
        channel.next_review_on = next_review_on
    if not diff:
        return False
    for name, value in cleaned.items():
        setattr(channel, name, value)
    channel.updated_at = db.utcnow()
    engine.add_step(KIND, channel, "update", channel.status, actor, note=", ".join(sorted(diff)))
    record(AuditAction.CHANNEL_UPDATE, "channel", channel.reference, {"changed": diff}, actor=actor)
    db.session().flush()
    return True


SORTS = {
    "reference": Channel.id,
    "name": func.lower(Channel.display_name),
    "platform": Channel.platform,
    "handle": Channel.handle,
    "department": func.lower(Channel.department),
    "status": Channel.status,
    "created": Channel.created_at,
    "updated": Channel.updated_at,
    "review": Channel.next_review_on,
}


@dataclass(frozen=True)
class ChannelFilters(Filters):
    choices = {
        "status": [s.value for s in ChannelStatus],
        "platform": [p.value for p in Platform],
        "health": [h.value for h in HealthState],
        "sort": list(SORTS),
        "direction": ("asc", "desc"),
    }
    params = {"direction": "dir"}
    folded = frozenset({"direction"})

    status: str = ""
    platform: str = ""
    department: str = ""
    q: str = ""
    #: Account security health (registry/account_health): comms and auditors only.
    health: str = ""
    sort: str = "reference"
    direction: str = "asc"


def search(filters: ChannelFilters, user: User) -> Select[Channel]:
    """Channels matching ``filters`` that ``user`` may see, in the chosen order."""
    conditions: list[ColumnElement[bool]] = [KIND.visible_clause(user)]
    if filters.health:
        if not user.can(Permission.CHANNEL_READ_ALL):
            raise NotPermitted("Only the communications team and auditors can see channels by account security health.")
        conditions.append(Channel.health == filters.health)
    if filters.status:
        conditions.append(Channel.status == filters.status)
    if filters.platform:
        conditions.append(Channel.platform == filters.platform)
    if filters.department:
        conditions.append(func.lower(Channel.department) == filters.department.lower())
    if filters.q:
        # A handle is matched as stored (some platforms' handles keep their case).
        handle = Channel.handle.like(db.contains_pattern(filters.q.lower()), escape=db.LIKE_ESCAPE)
        conditions.append(or_(KIND.matching(filters.q, Channel.display_name, Channel.department), handle))
    order = SORTS[filters.sort]
    if filters.direction == "desc":
        return select(Channel).where(and_(*conditions)).order_by(order.desc(), Channel.id.desc())
    return select(Channel).where(and_(*conditions)).order_by(order.asc(), Channel.id)


def queue() -> Select[Channel]:
    """Requests waiting on the communications team, oldest first."""
    return (
        select(Channel)
        .where(Channel.status.in_([s.value for s in AWAITING_COMMS]))
        .order_by(Channel.status_changed_at, Channel.id)
    )


def requests_of(user: User) -> Select[Channel]:
    return select(Channel).where(Channel.requester_id == user.id).order_by(Channel.created_at.desc(), Channel.id.desc())


def departments() -> list[str]:
    return list(db.session().execute(select(Channel.department).distinct().order_by(Channel.department)).scalars())


def counts_by_status(user: User | None = None) -> dict[str, int]:
    statement = select(Channel.status, func.count()).group_by(Channel.status)
    if user is not None:
        statement = statement.where(KIND.visible_clause(user))
    return {status: count for status, count in db.session().execute(statement).all()}


def counts_by_platform() -> dict[str, int]:
    """Live and official channels (not rejected, withdrawn or retired) on each platform."""
    statement = (
        select(Channel.platform, func.count())
        .where(Channel.status.in_([s.value for s in LIVE_STATUSES]))
        .group_by(Channel.platform)
    )
    return {platform: count for platform, count in db.session().execute(statement).all()}


@dataclass(frozen=True)
class Counts:
    """Every channel counted by status, and the live and official ones by platform."""

    by_status: dict[str, int]
    by_platform: dict[str, int]


def counts() -> Counts:
    """:func:`counts_by_status` and :func:`counts_by_platform` in one statement that reads one index
    (status, platform) and never the table."""
    live = {s.value for s in LIVE_STATUSES}
    by_status: dict[str, int] = {}
    by_platform: dict[str, int] = {}
    statement = select(Channel.status, Channel.platform, func.count()).group_by(Channel.status, Channel.platform)
    for status, platform, count in db.session().execute(statement).all():
        by_status[status] = by_status.get(status, 0) + count
        if status in live:
            by_platform[platform] = by_platform.get(platform, 0) + count
    return Counts(by_status, by_platform)


def reviews_due(within_days: int = 30) -> Select[Channel]:
    cutoff = clock.today() + dt.timedelta(days=within_days)
    return (
        select(Channel)
        .where(Channel.status.in_([s.value for s in OFFICIAL_STATUSES]), Channel.next_review_on <= cutoff)
        .order_by(Channel.next_review_on, Channel.id)
    )


#: The inventory's CSV columns, in order.
EXPORT_COLUMNS: Final = (
    "reference",
    "platform",
    "handle",
    "url",
    "display_name",
    "department",
    "status",
    "sponsor",
    "requested_by",
    "created_at",
    "status_changed_at",
    "next_review_on",
)


def export(user: User, filters: ChannelFilters) -> list[tuple[Any, ...]]:
    """The rows of the inventory's CSV (:data:`EXPORT_COLUMNS`) that ``user`` may see and ``filters``
    keep, with the export recorded in the audit trail (page and API alike)."""
    rows = [
        (
            c.reference,
            c.platform,
            c.handle,
            c.url,
            c.display_name,
            c.department,
            c.status,
            c.sponsor,
            c.requester.email,
            c.created_at,
            c.status_changed_at,
            c.next_review_on,
        )
        for c in db.session().execute(search(filters, user)).unique().scalars()
    ]
    record(
        AuditAction.CHANNEL_EXPORT,
        "channel",
        "inventory",
        {"filters": filters.query(), "rows": len(rows)},
        actor=Actor.of(user),
    )
    return rows
