"""The channel registry's rules: requesting, deciding, running and finding channels.

Every function checks everything before it changes anything, raises a domain
error (``Invalid`` 422, ``NotPermitted`` 403, ``Conflict`` 409) with a plain-English
message, and records the change and its audit event in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields
from typing import Any, Final

from sqlalchemy import ColumnElement, Select, and_, delete, func, or_, select, true
from sqlalchemy.exc import IntegrityError

from registry import clock, db
from registry.audit.models import AuditAction
from registry.audit.services import Actor, record
from registry.auth.models import User
from registry.auth.permissions import Permission
from registry.channels.lookalike import comparable_part, lookalike_keys
from registry.channels.models import (
    Channel,
    ChannelLookalikeKey,
    ChannelTransition,
    id_from_reference,
)
from registry.channels.platforms import (
    PLATFORMS,
    HandleError,
    Platform,
    normalise_handle,
)
from registry.channels.workflow import (
    AWAITING_COMMS,
    LIVE_STATUSES,
    OFFICIAL_STATUSES,
    TRANSITIONS,
    ChannelAction,
    ChannelStatus,
)
from registry.errors import Conflict, Invalid, NotFound, NotPermitted
from registry.notifications import services as notifications

REVIEW_INTERVAL = dt.timedelta(days=365)
REASON_MAX = 2000

LIMITS = {
    "display_name": 200,
    "department": 200,
    "sponsor": 200,
    "purpose": 5000,
    "audience": 2000,
    "posting_plan": 2000,
    "moderation_plan": 2000,
    "out_of_hours": 2000,
    "proposed_administrators": 2000,
}
REQUIRED_MESSAGES = {
    "platform": "Choose the platform",
    "handle": "Enter the account's handle or web address",
    "display_name": "Enter the name the account will show",
    "department": "Enter the service or department that will own the account",
    "purpose": "Describe what the account is for",
    "audience": "Describe who the account is for",
}


@dataclass
class ChannelRequest:
    """What a requester tells the communications team (policy 6.7, 7.2)."""

    platform: str = ""
    handle: str = ""
    display_name: str = ""
    department: str = ""
    purpose: str = ""
    audience: str = ""
    posting_plan: str = ""
    moderation_plan: str = ""
    out_of_hours: str = ""
    sponsor: str = ""
    proposed_administrators: str = ""
    policy_acknowledged: bool = False
    required_extra: tuple[str, ...] = field(default=(), repr=False)

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> ChannelRequest:
        """From JSON: every text field must be text; ``policy_acknowledged`` a boolean."""
        errors: dict[str, str] = {}
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name == "required_extra" or f.name not in data or data[f.name] is None:
                continue
            value = data[f.name]
            if f.name == "policy_acknowledged":
                if not isinstance(value, bool):
                    errors[f.name] = "policy_acknowledged must be true or false."
                values[f.name] = value is True
            elif not isinstance(value, str):
                errors[f.name] = f"{f.name} must be text."
            else:
                values[f.name] = value
        if errors:
            raise Invalid(errors)
        return cls(**values)


def _clean(text: str | None) -> str:
    return (text or "").replace("\x00", "").strip()


def _platform(value: str) -> Platform:
    try:
        return Platform(value)
    except ValueError:
        raise Invalid({"platform": "Choose a platform from the list"}) from None


def _live_holder(platform: Platform, handle: str, *, excluding: int | None = None) -> Channel | None:
    statement = select(Channel).where(
        Channel.platform == platform.value,
        Channel.handle == handle,
        Channel.status.in_([s.value for s in LIVE_STATUSES]),
    )
    if excluding is not None:
        statement = statement.where(Channel.id != excluding)
    return db.session().execute(statement.limit(1)).scalar_one_or_none()


def _taken_message(holder: Channel) -> str:
    return (
        f"This account is already in the registry as {holder.reference} "
        f"({holder.status_label.lower()}). Search for it instead of requesting it again."
    )


def validate_request(data: ChannelRequest) -> tuple[Platform, str, dict[str, str]]:
    """Check a request in full; returns the platform, canonical handle and cleaned text."""
    errors: dict[str, str] = {}
    cleaned = {name: _clean(getattr(data, name)) for name in LIMITS}
    platform: Platform | None = None
    handle = ""
    if not _clean(data.platform):
        errors["platform"] = REQUIRED_MESSAGES["platform"]
    else:
        try:
            platform = _platform(_clean(data.platform))
        except Invalid as exc:
            errors.update(exc.errors)
    raw_handle = _clean(data.handle)
    if not raw_handle:
        errors["handle"] = REQUIRED_MESSAGES["handle"]
    elif platform is not None:
        try:
            handle = normalise_handle(platform, raw_handle)
        except HandleError as exc:
            errors["handle"] = str(exc)
    for name, limit in LIMITS.items():
        value = cleaned[name]
        if not value and (name in REQUIRED_MESSAGES or name in data.required_extra):
            errors[name] = REQUIRED_MESSAGES.get(name, f"Enter {name.replace('_', ' ')}")
        elif len(value) > limit:
            errors[name] = f"{name.replace('_', ' ').capitalize()} must be {limit} characters or fewer"
    if data.policy_acknowledged is not True:
        errors["policy_acknowledged"] = "Confirm that you have read the social media policy"
    if platform is not None and handle and "handle" not in errors and not PLATFORMS[platform].profile_url(handle):
        errors["handle"] = "For a platform not in the list, give the account's full web address, starting https://"
    if platform is not None and handle and "handle" not in errors:
        holder = _live_holder(platform, handle)
        if holder is not None:
            errors["handle"] = _taken_message(holder)
    if errors:
        raise Invalid(errors)
    assert platform is not None
    return platform, handle, cleaned


def _add_transition(
    channel: Channel, action: str, from_status: str | None, to_status: str, actor: User, reason: str | None
) -> ChannelTransition:
    step = ChannelTransition(
        channel_id=channel.id,
        action=action,
        from_status=from_status,
        to_status=to_status,
        actor_id=actor.id,
        occurred_at=db.utcnow(),
        reason=reason or None,
    )
    db.session().add(step)
    return step


def set_lookalike_keys(channel: Channel) -> None:
    """Rebuild the channel's entries in the lookalike index from its handle."""
    session = db.session()
    session.execute(delete(ChannelLookalikeKey).where(ChannelLookalikeKey.channel_id == channel.id))
    keys = lookalike_keys(comparable_part(channel.platform_enum, channel.handle))
    session.add_all(
        ChannelLookalikeKey(channel_id=channel.id, key=key[:255], platform=channel.platform) for key in sorted(keys)
    )


def _flush_unique(channel: Channel, platform: Platform, handle: str) -> None:
    """Flush, turning a lost race for the same handle into a field error."""
    session = db.session()
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        holder = _live_holder(platform, handle, excluding=channel.id if channel.id else None)
        raise Invalid(
            {"handle": _taken_message(holder) if holder else "This account is already in the registry."}
        ) from None


def _create(
    data: ChannelRequest,
    owner: User,
    *,
    status: ChannelStatus,
    action: str,
    audit: AuditAction,
    reason: str | None = None,
) -> Channel:
    """Validate, insert a channel in ``status``, and record its first history step and audit event."""
    platform, handle, cleaned = validate_request(data)
    now = db.utcnow()
    channel = Channel(
        platform=platform.value,
        handle=handle,
        url=PLATFORMS[platform].profile_url(handle),
        policy_acknowledged_at=now,
        status=status.value,
        requester_id=owner.id,
        created_at=now,
        updated_at=now,
        status_changed_at=now,
        next_review_on=clock.today() + REVIEW_INTERVAL if status in OFFICIAL_STATUSES else None,
        **cleaned,
    )
    db.session().add(channel)
    _flush_unique(channel, platform, handle)
    channel.requester = owner
    _add_transition(channel, action, None, status.value, owner, reason)
    set_lookalike_keys(channel)
    details = {"platform": channel.platform, "handle": channel.handle, "department": channel.department}
    if reason:
        details["reason"] = reason
    record(audit, "channel", channel.reference, details, actor=owner)
    db.session().flush()
    return channel


def request_channel(data: ChannelRequest, requester: User) -> Channel:
    """A member of staff asks communications for a channel (policy 6.7)."""
    channel = _create(
        data, requester, status=ChannelStatus.REQUESTED, action="request", audit=AuditAction.CHANNEL_REQUEST
    )
    _tell(channel, "request", requester, None)
    return channel


#: What the requester is told when comms move their channel, as (subject, first sentence).
TOLD_TO_REQUESTER: Final = {
    ChannelAction.APPROVE: (
        "approved",
        "has been approved. The communications team will set it up and tell you when it is active.",
    ),
    ChannelAction.REJECT: ("not approved", "has not been approved."),
    ChannelAction.REQUEST_INFO: (
        "needs more information",
        "needs more information from you before it can be decided. Answer on its page and resubmit it.",
    ),
    ChannelAction.ACTIVATE: ("is active", "is now active."),
    ChannelAction.SUSPEND: ("suspended", "has been suspended."),
    ChannelAction.REINSTATE: ("reinstated", "has been reinstated."),
    ChannelAction.RETIRE: ("retired", "has been retired."),
}


def _tell(channel: Channel, action: str, actor: User, reason: str | None) -> None:
    """Tell whoever must act next, or would want to know (never the person who acted)."""
    link = f"/channels/{channel.reference}"
    what = f"{channel.display_name} on {channel.platform_label}"
    if action in ("request", ChannelAction.RESUBMIT):
        verb = "New channel request" if action == "request" else "Channel request resubmitted"
        notifications.notify_comms(
            event=f"channel:{action}",
            subject=f"{verb} {channel.reference}: {what}",
            body=f"{channel.requester.name} ({channel.department}) asks for {what}. It is in the work queue.",
            link=link,
            exclude=actor,
        )
        return
    told = TOLD_TO_REQUESTER.get(action)  # type: ignore[call-overload]
    if told is None or channel.requester_id == actor.id:
        return
    subject, sentence = told
    body = f"Your channel request {channel.reference} ({what}) {sentence}"
    if reason:
        body += f"\n\nThe communications team said: {reason}"
    notifications.notify(
        channel.requester,
        event=f"channel:{action}",
        subject=f"{channel.reference} {subject}",
        body=body,
        link=link,
    )


def get_channel(reference: str, *, for_update: bool = False) -> Channel:
    channel_id = id_from_reference(reference)
    channel = None
    if channel_id is not None:
        statement = select(Channel).where(Channel.id == channel_id)
        if for_update:
            statement = statement.with_for_update(of=Channel).execution_options(populate_existing=True)
        channel = db.session().execute(statement).unique().scalar_one_or_none()
    if channel is None:
        raise NotFound(f"There is no channel {reference!r}. Check the reference, for example CH-0042.")
    return channel


def can_view(user: User, channel: Channel) -> bool:
    return (
        user.can(Permission.CHANNEL_READ_ALL)
        or channel.requester_id == user.id
        or channel.status_enum in OFFICIAL_STATUSES
    )


def sees_everything(user: User, channel: Channel) -> bool:
    """Comms, auditors and the requester see a channel's internal details and history;
    other staff see only what the public verification page shows."""
    return user.can(Permission.CHANNEL_READ_ALL) or channel.requester_id == user.id


def visible_clause(user: User) -> ColumnElement[bool]:
    """Which channels ``user`` may see: all for comms and auditors; otherwise the
    Trust's official accounts (public anyway) and their own requests."""
    if user.can(Permission.CHANNEL_READ_ALL):
        return true()
    return or_(
        Channel.requester_id == user.id,
        Channel.status.in_([s.value for s in OFFICIAL_STATUSES]),
    )


def can_take(user: User, channel: Channel, action: ChannelAction) -> bool:
    """Whether ``action`` would be allowed now (for showing buttons)."""
    try:
        _check_transition(user, channel, TRANSITIONS[action])
    except (NotPermitted, Conflict):
        return False
    return True


def available_actions(user: User, channel: Channel) -> list[ChannelAction]:
    return [action for action in TRANSITIONS if can_take(user, channel, action)]


def _check_transition(actor: User, channel: Channel, t: Any) -> None:
    if t.permission is None:
        if channel.requester_id != actor.id:
            raise NotPermitted(f"Only the person who made the request can {t.action.value.replace('_', ' ')} it.")
    elif not actor.can(t.permission):
        raise NotPermitted("Only the communications team can do this.")
    status = channel.status_enum
    if status not in t.sources:
        allowed = " or ".join(sorted(s.phrase for s in t.sources))
        raise Conflict(
            f"{channel.reference} is {status.phrase}, so it cannot be {t.done}. "
            f"Only a channel that is {allowed} can be {t.done}."
        )
    if t.four_eyes and channel.requester_id == actor.id:
        raise Conflict(
            "You made this request, so another member of the communications team must decide it (four-eyes rule)."
        )


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
    try:
        chosen = ChannelAction(action)
    except ValueError:
        allowed = ", ".join(a.value for a in ChannelAction)
        raise Invalid({"action": f"Choose an action: one of {allowed}."}) from None
    t = TRANSITIONS[chosen]
    channel = get_channel(channel.reference, for_update=True)
    _check_transition(actor, channel, t)
    reason = _clean(reason)
    errors: dict[str, str] = {}
    if t.reason_required and not reason:
        errors["reason"] = f"Enter a reason: {t.reason_label.rstrip('?').lower()}"
    elif len(reason) > REASON_MAX:
        errors["reason"] = f"The reason must be {REASON_MAX} characters or fewer"
    new_handle = None
    if chosen is ChannelAction.ACTIVATE and (_clean(handle) or _clean(url)):
        raw = _clean(url) or _clean(handle)
        field_name = "url" if _clean(url) else "handle"
        try:
            new_handle = normalise_handle(channel.platform_enum, raw)
        except HandleError as exc:
            errors[field_name] = str(exc)
        else:
            holder = _live_holder(channel.platform_enum, new_handle, excluding=channel.id)
            if holder is not None:
                errors[field_name] = _taken_message(holder)
            elif new_handle != channel.handle and channel.requester_id == actor.id:
                # A different account than the one approved needs someone else's eyes.
                raise Conflict(
                    "You requested this channel, so another member of the communications team must "
                    "activate it under a different handle (four-eyes rule)."
                )
    elif handle or url:
        errors["handle" if handle else "url"] = "A handle or web address can only be given when activating a channel."
    if errors:
        raise Invalid(errors)

    previous = channel.status
    now = db.utcnow()
    details: dict[str, Any] = {"from": previous, "to": t.target.value}
    if reason:
        details["reason"] = reason
    if new_handle is not None and new_handle != channel.handle:
        details["handle"] = {"from": channel.handle, "to": new_handle}
        note = f"Handle changed from {channel.handle} to {new_handle}."
        reason = f"{reason}\n{note}" if reason else note
        channel.handle = new_handle
        channel.url = PLATFORMS[channel.platform_enum].profile_url(new_handle)
        set_lookalike_keys(channel)
    channel.status = t.target.value
    channel.status_changed_at = now
    channel.updated_at = now
    if t.target is ChannelStatus.RETIRED and channel.next_review_on is not None:
        details["next_review_on"] = None
        channel.next_review_on = None
    if chosen is ChannelAction.ACTIVATE and channel.next_review_on is None:
        channel.next_review_on = clock.today() + REVIEW_INTERVAL
        details["next_review_on"] = channel.next_review_on.isoformat()
    if new_handle is not None:
        _flush_unique(channel, channel.platform_enum, new_handle)
    _add_transition(channel, chosen.value, previous, t.target.value, actor, reason)
    record(t.audit, "channel", channel.reference, details, actor=actor)
    _tell(channel, chosen.value, actor, reason)
    db.session().flush()
    return channel


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
        value = _clean(changes[name])
        if not value and name in REQUIRED_MESSAGES:
            errors[name] = REQUIRED_MESSAGES[name]
        elif len(value) > LIMITS[name]:
            errors[name] = f"{name.replace('_', ' ').capitalize()} must be {LIMITS[name]} characters or fewer"
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
    _add_transition(channel, "update", channel.status, channel.status, actor, ", ".join(sorted(diff)))
    record(AuditAction.CHANNEL_UPDATE, "channel", channel.reference, {"changed": diff}, actor=actor)
    db.session().flush()
    return True


def history(channel: Channel) -> list[ChannelTransition]:
    return list(
        db.session()
        .execute(
            select(ChannelTransition)
            .where(ChannelTransition.channel_id == channel.id)
            .order_by(ChannelTransition.occurred_at, ChannelTransition.id)
        )
        .scalars()
    )


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
class ChannelFilters:
    status: str = ""
    platform: str = ""
    department: str = ""
    q: str = ""
    sort: str = "reference"
    direction: str = "asc"

    def query(self) -> dict[str, str]:
        """These filters as query parameters (for links such as the CSV export)."""
        values = {
            "status": self.status,
            "platform": self.platform,
            "department": self.department,
            "q": self.q,
            "sort": self.sort if self.sort != "reference" else "",
            "dir": self.direction if self.direction != "asc" else "",
        }
        return {key: value for key, value in values.items() if value}

    @classmethod
    def parse(cls, args: Any, *, strict: bool) -> ChannelFilters:
        """From query parameters. ``strict`` (the API) refuses unknown values with 422."""
        errors: dict[str, str] = {}
        status = (args.get("status") or "").strip()
        platform = (args.get("platform") or "").strip()
        sort = (args.get("sort") or "reference").strip()
        direction = (args.get("dir") or "asc").strip().lower()
        if status and status not in {s.value for s in ChannelStatus}:
            errors["status"] = "status must be one of " + ", ".join(s.value for s in ChannelStatus) + "."
            status = ""
        if platform and platform not in {p.value for p in Platform}:
            errors["platform"] = "platform must be one of " + ", ".join(p.value for p in Platform) + "."
            platform = ""
        if sort not in SORTS:
            errors["sort"] = "sort must be one of " + ", ".join(SORTS) + "."
            sort = "reference"
        if direction not in {"asc", "desc"}:
            errors["dir"] = "dir must be asc or desc."
            direction = "asc"
        if strict and errors:
            raise Invalid(errors)
        return cls(
            status=status,
            platform=platform,
            department=(args.get("department") or "").replace("\x00", "").strip()[:200],
            q=(args.get("q") or "").replace("\x00", "").strip()[:200],
            sort=sort,
            direction=direction,
        )


def search(filters: ChannelFilters, user: User) -> Select[tuple[Channel]]:
    """Channels matching ``filters`` that ``user`` may see, in the chosen order."""
    conditions: list[ColumnElement[bool]] = [visible_clause(user)]
    if filters.status:
        conditions.append(Channel.status == filters.status)
    if filters.platform:
        conditions.append(Channel.platform == filters.platform)
    if filters.department:
        conditions.append(func.lower(Channel.department) == filters.department.lower())
    if filters.q:
        like = db.contains_pattern(filters.q.lower())
        matches: list[ColumnElement[bool]] = [
            func.lower(Channel.display_name).like(like, escape=db.LIKE_ESCAPE),
            Channel.handle.like(like, escape=db.LIKE_ESCAPE),
            func.lower(Channel.department).like(like, escape=db.LIKE_ESCAPE),
        ]
        ref_id = id_from_reference(filters.q)
        if ref_id is not None:
            matches.append(Channel.id == ref_id)
        conditions.append(or_(*matches))
    order = SORTS[filters.sort]
    if filters.direction == "desc":
        return select(Channel).where(and_(*conditions)).order_by(order.desc(), Channel.id.desc())
    return select(Channel).where(and_(*conditions)).order_by(order.asc(), Channel.id)


def queue() -> Select[tuple[Channel]]:
    """Requests waiting on the communications team, oldest first."""
    return (
        select(Channel)
        .where(Channel.status.in_([s.value for s in AWAITING_COMMS]))
        .order_by(Channel.status_changed_at, Channel.id)
    )


def requests_of(user: User) -> Select[tuple[Channel]]:
    return select(Channel).where(Channel.requester_id == user.id).order_by(Channel.created_at.desc(), Channel.id.desc())


def departments() -> list[str]:
    return list(db.session().execute(select(Channel.department).distinct().order_by(Channel.department)).scalars())


def counts_by_status(user: User | None = None) -> dict[str, int]:
    statement = select(Channel.status, func.count()).group_by(Channel.status)
    if user is not None:
        statement = statement.where(visible_clause(user))
    return {status: count for status, count in db.session().execute(statement).all()}


def counts_by_platform() -> dict[str, int]:
    """Live and official channels (not rejected, withdrawn or retired) on each platform."""
    statement = (
        select(Channel.platform, func.count())
        .where(Channel.status.in_([s.value for s in LIVE_STATUSES]))
        .group_by(Channel.platform)
    )
    return {platform: count for platform, count in db.session().execute(statement).all()}


def count_awaiting_comms() -> int:
    return (
        db.session()
        .execute(select(func.count()).select_from(Channel).where(Channel.status.in_([s.value for s in AWAITING_COMMS])))
        .scalar_one()
    )


def reviews_due(within_days: int = 30) -> Select[tuple[Channel]]:
    cutoff = clock.today() + dt.timedelta(days=within_days)
    return (
        select(Channel)
        .where(Channel.status.in_([s.value for s in OFFICIAL_STATUSES]), Channel.next_review_on <= cutoff)
        .order_by(Channel.next_review_on)
    )


def adopt(
    *,
    platform: Platform,
    handle: str,
    display_name: str,
    department: str,
    purpose: str,
    audience: str,
    sponsor: str,
    actor: User,
    reason: str,
) -> Channel:
    """Bring an account found by monitoring into the registry as an active channel."""
    data = ChannelRequest(
        platform=platform.value,
        handle=handle,
        display_name=display_name,
        department=department,
        purpose=purpose,
        audience=audience,
        sponsor=sponsor,
        policy_acknowledged=True,
    )
    return _create(
        data, actor, status=ChannelStatus.ACTIVE, action="adopt", audit=AuditAction.CHANNEL_ADOPT, reason=reason
    )


def record_export(user: User, filters: ChannelFilters, rows: int) -> None:
    record(
        AuditAction.CHANNEL_EXPORT,
        "channel",
        "inventory",
        {"filters": filters.query(), "rows": rows},
        actor=Actor.of(user),
    )
