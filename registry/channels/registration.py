"""Asking for a channel (policy 6.7, 7.2): what a requester says, its rules (the same for the
browser, the API and monitoring's adoption), the handle's place in the registry, and the
channel as first recorded. Deciding and running a channel is the request engine's job
(:mod:`registry.channels.kind`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from registry import clock, db
from registry.audit.models import AuditAction
from registry.audit.services import Actor, record
from registry.auth.models import User
from registry.channels.lookalike import comparable_part, lookalike_keys
from registry.channels.models import Channel, ChannelLookalikeKey, ChannelTransition
from registry.channels.platforms import PLATFORMS, HandleError, Platform, normalise_handle
from registry.channels.workflow import LIFECYCLE, LIVE_STATUSES, OFFICIAL_STATUSES, ChannelAction, ChannelStatus
from registry.errors import Invalid
from registry.notifications import services as notifications
from registry.text import clean

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
    # Asked for by the request form (not by the API): each says what to write, not the field's name.
    "posting_plan": "Enter who will write the account's posts",
    "moderation_plan": "Enter who will read and answer comments and messages",
    "out_of_hours": "Enter who will look after the account out of hours",
    "sponsor": "Enter the senior sponsor's name and job title",
    "proposed_administrators": "Enter the name and NHS email address of each administrator",
}
#: How a message names each answer, in the words of its question ("Out of hours must be…" said nothing).
ANSWER_NAMES = {
    "display_name": "The account name",
    "department": "The service or department",
    "sponsor": "The senior sponsor's name and job title",
    "purpose": "What the account is for",
    "audience": "Who the account is for",
    "posting_plan": "Who will post",
    "moderation_plan": "Who will moderate",
    "out_of_hours": "What happens out of hours",
    "proposed_administrators": "The list of administrators",
}


def too_long(name: str) -> str:
    """The message for an answer longer than its limit."""
    return f"{ANSWER_NAMES[name]} must be {LIMITS[name]} characters or fewer"


#: Always required; the request form asks for the others too (``ChannelRequest.required_extra``).
REQUIRED = frozenset(("platform", "handle", "display_name", "department", "purpose", "audience"))


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


def _platform(value: str) -> Platform:
    try:
        return Platform(value)
    except ValueError:
        raise Invalid({"platform": "Choose a platform from the list"}) from None


def live_holder(platform: Platform, handle: str, *, excluding: int | None = None) -> Channel | None:
    statement = select(Channel).where(
        Channel.platform == platform.value,
        Channel.handle == handle,
        Channel.status.in_([s.value for s in LIVE_STATUSES]),
    )
    if excluding is not None:
        statement = statement.where(Channel.id != excluding)
    return db.session().execute(statement.limit(1)).scalar_one_or_none()


def taken_message(holder: Channel) -> str:
    return (
        f"This account is already in the registry as {holder.reference} "
        f"({holder.status_label.lower()}). Search for it instead of requesting it again."
    )


def validate_request(
    data: ChannelRequest, *, holder_of: Callable[[Platform, str], Channel | None] | None = None
) -> tuple[Platform, str, dict[str, str]]:
    """Check a request in full; returns the platform, canonical handle and cleaned text. ``holder_of``:
    where to look for the live channel holding a handle, instead of a query (an import checking many
    rows has loaded them all)."""
    errors: dict[str, str] = {}
    cleaned = {name: clean(getattr(data, name)) for name in LIMITS}
    platform: Platform | None = None
    handle = ""
    if not clean(data.platform):
        errors["platform"] = REQUIRED_MESSAGES["platform"]
    else:
        try:
            platform = _platform(clean(data.platform))
        except Invalid as exc:
            errors.update(exc.errors)
    raw_handle = clean(data.handle)
    if not raw_handle:
        errors["handle"] = REQUIRED_MESSAGES["handle"]
    elif platform is not None:
        try:
            handle = normalise_handle(platform, raw_handle)
        except HandleError as exc:
            errors["handle"] = str(exc)
    for name, limit in LIMITS.items():
        value = cleaned[name]
        if not value and (name in REQUIRED or name in data.required_extra):
            errors[name] = REQUIRED_MESSAGES[name]
        elif len(value) > limit:
            errors[name] = too_long(name)
    if data.policy_acknowledged is not True:
        errors["policy_acknowledged"] = "Confirm that you have read the social media policy"
    if platform is not None and handle and "handle" not in errors and not PLATFORMS[platform].profile_url(handle):
        errors["handle"] = "For a platform not in the list, give the account's full web address, starting https://"
    if platform is not None and handle and "handle" not in errors:
        holder = holder_of(platform, handle) if holder_of is not None else live_holder(platform, handle)
        if holder is not None:
            errors["handle"] = taken_message(holder)
    if errors:
        raise Invalid(errors)
    assert platform is not None
    return platform, handle, cleaned


def set_lookalike_keys(channel: Channel) -> None:
    """Rebuild the channel's entries in the lookalike index from its handle."""
    session = db.session()
    session.execute(delete(ChannelLookalikeKey).where(ChannelLookalikeKey.channel_id == channel.id))
    keys = lookalike_keys(comparable_part(channel.platform_enum, channel.handle))
    session.add_all(
        ChannelLookalikeKey(channel_id=channel.id, key=key[:255], platform=channel.platform) for key in sorted(keys)
    )


def flush_unique(channel: Channel, platform: Platform, handle: str) -> None:
    """Flush, turning a lost race for the same handle into a field error."""
    session = db.session()
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        holder = live_holder(platform, handle, excluding=channel.id if channel.id else None)
        raise Invalid(
            {"handle": taken_message(holder) if holder else "This account is already in the registry."}
        ) from None


def _create(
    data: ChannelRequest,
    owner: User,
    *,
    status: ChannelStatus,
    action: str,
    audit: AuditAction,
    reason: str | None = None,
    actor: User | Actor | None = None,
    next_review_on: dt.date | None = None,
) -> Channel:
    """Validate, insert a channel in ``status``, and record its first history step and audit event.
    ``owner`` is its requester; ``actor`` who recorded it (the audit event's actor, and the step's when
    a user), by default the owner."""
    platform, handle, cleaned = validate_request(data)
    review_given = next_review_on is not None
    if next_review_on is None and status in OFFICIAL_STATUSES:
        next_review_on = clock.today() + REVIEW_INTERVAL
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
        next_review_on=next_review_on,
        **cleaned,
    )
    db.session().add(channel)
    flush_unique(channel, platform, handle)
    channel.requester = owner
    db.session().add(
        ChannelTransition.of(
            channel.id,
            action=action,
            from_status=None,
            to_status=status.value,
            actor_id=actor.id if isinstance(actor, User) else owner.id,
            occurred_at=now,
            note=reason or None,
        )
    )
    set_lookalike_keys(channel)
    details = {"platform": channel.platform, "handle": channel.handle, "department": channel.department}
    if reason:
        details["reason"] = reason
    if review_given and next_review_on is not None:
        details["next_review_on"] = next_review_on.isoformat()
    if status is not ChannelStatus.REQUESTED:
        # Said in the trail, not left to be inferred: no approval (and so no second person) came first.
        details["approval"] = "none: an account the Trust already runs, recorded as it is by one person"
    record(audit, "channel", channel.reference, details, actor=actor or owner)
    db.session().flush()
    return channel


def request_channel(data: ChannelRequest, requester: User) -> Channel:
    """A member of staff asks communications for a channel (policy 6.7)."""
    channel = _create(
        data, requester, status=ChannelStatus.REQUESTED, action="request", audit=AuditAction.CHANNEL_REQUEST
    )
    tell(channel, "request", requester, None)
    return channel


#: What the requester is told when comms move their channel, as (subject, first sentence): the table's ``tells``.
TOLD_TO_REQUESTER: Final = {t.action: (t.tells_subject, t.tells) for t in LIFECYCLE.transitions if t.tells}


def tell(channel: Channel, action: str, actor: User, reason: str | None) -> None:
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


def import_channel(
    data: ChannelRequest, owner: User, *, actor: User | Actor, note: str, next_review_on: dt.date
) -> Channel:
    """An account the Trust already runs, from its inventory (:mod:`registry.channels.importing`): active at
    once, ``owner`` (its sponsor) as its requester, with its next review date and ``note`` on its first step."""
    return _create(
        data,
        owner,
        status=ChannelStatus.ACTIVE,
        action="import",
        audit=AuditAction.CHANNEL_IMPORT,
        reason=note,
        actor=actor,
        next_review_on=next_review_on,
    )
