"""Public verification: "is this an official account of the Trust?" (policy 6.4, 6.7).

Exact matches are made on the canonical handle; a handle that is not the
Trust's but looks like one (confusable characters, one edit away, separators
added or removed) is reported as a lookalike of the official channel.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, select

from registry import db
from registry.channels.lookalike import comparable_part, is_lookalike, lookalike_keys
from registry.channels.models import Channel, ChannelLookalikeKey
from registry.channels.platforms import (
    HandleError,
    Platform,
    normalise_handle,
    parse_url,
)
from registry.channels.workflow import OFFICIAL_STATUSES, ChannelStatus
from registry.errors import Invalid
from registry.monitoring.models import UnauthorisedAccount
from registry.monitoring.services import open_for

MAX_URL = 2048
MAX_HANDLE = 255


@dataclass(frozen=True)
class Verdict:
    platform: Platform
    handle: str
    channel: Channel | None = None
    lookalike_of: Channel | None = None
    unauthorised: UnauthorisedAccount | None = None

    @property
    def official(self) -> bool:
        return self.channel is not None and self.channel.status_enum in OFFICIAL_STATUSES

    @property
    def formerly_official(self) -> bool:
        return self.channel is not None and self.channel.status_enum is ChannelStatus.RETIRED


def _question(platform: str | None, handle: str | None, url: str | None) -> tuple[Platform, str]:
    platform = (platform or "").strip()
    handle = (handle or "").strip()
    url = (url or "").strip()
    if url:
        if len(url) > MAX_URL:
            raise Invalid({"url": f"The web address must be {MAX_URL} characters or fewer."})
        chosen: Platform | None = None
        if platform:
            try:
                chosen = Platform(platform)
            except ValueError:
                raise Invalid({"platform": "Choose a platform from the list."}) from None
        try:
            return (chosen, normalise_handle(chosen, url)) if chosen else parse_url(url)
        except HandleError as exc:
            raise Invalid({"url": str(exc)}) from None
    if not platform and not handle:
        raise Invalid({"url": "Enter the web address of the account, or choose a platform and enter a handle."})
    errors: dict[str, str] = {}
    if not platform:
        errors["platform"] = "Choose the platform the account is on."
    if not handle:
        errors["handle"] = "Enter the account's handle, for example @ExampleNHS."
    elif len(handle) > MAX_HANDLE:
        errors["handle"] = f"The handle must be {MAX_HANDLE} characters or fewer."
    if errors:
        raise Invalid(errors)
    try:
        chosen = Platform(platform)
    except ValueError:
        raise Invalid({"platform": "Choose a platform from the list."}) from None
    try:
        return chosen, normalise_handle(chosen, handle)
    except HandleError as exc:
        raise Invalid({"handle": str(exc)}) from None


def _lookalike(platform: Platform, handle: str) -> Channel | None:
    keys = lookalike_keys(comparable_part(platform, handle))
    if not keys:
        return None
    candidates = (
        db.session()
        .execute(
            select(Channel)
            .join(ChannelLookalikeKey, ChannelLookalikeKey.channel_id == Channel.id)
            .where(
                ChannelLookalikeKey.platform == platform.value,
                ChannelLookalikeKey.key.in_(sorted(k[:255] for k in keys)),
                Channel.status.in_([s.value for s in OFFICIAL_STATUSES]),
                Channel.handle != handle,
            )
            .order_by(Channel.id)
            .limit(50)
        )
        .unique()
        .scalars()
    )
    for candidate in candidates:
        if is_lookalike(comparable_part(platform, handle), comparable_part(platform, candidate.handle)):
            return candidate
    return None


def _exact(platform: Platform, handle: str) -> Channel | None:
    """The official channel with this handle, else the most recently retired one."""
    preference = case((Channel.status.in_([s.value for s in OFFICIAL_STATUSES]), 0), else_=1)
    return (
        db.session()
        .execute(
            select(Channel)
            .where(
                Channel.platform == platform.value,
                Channel.handle == handle,
                Channel.status.in_([s.value for s in OFFICIAL_STATUSES | {ChannelStatus.RETIRED}]),
            )
            .order_by(preference, Channel.status_changed_at.desc())
            .limit(1)
        )
        .unique()
        .scalar_one_or_none()
    )


def _as_other_site(url: str | None) -> tuple[Platform, str] | None:
    """A ``/@name`` address on an unknown site reads as Mastodon, but the Trust may have
    registered that page as an 'other' channel: the address as given, on no platform."""
    try:
        return Platform.OTHER, normalise_handle(Platform.OTHER, url or "")
    except HandleError:
        return None


def verify(*, platform: str | None = None, handle: str | None = None, url: str | None = None) -> Verdict:
    """Answer for a URL, or for a platform and handle; bad input is :class:`Invalid`."""
    chosen, canonical = _question(platform, handle, url)
    match = _exact(chosen, canonical)
    if match is None and chosen is Platform.MASTODON and url and not platform:
        other = _as_other_site(url)
        found = _exact(*other) if other else None
        if other and found is not None:
            chosen, canonical, match = other[0], other[1], found
    if match is not None and match.status_enum in OFFICIAL_STATUSES:
        return Verdict(chosen, canonical, channel=match)
    return Verdict(
        chosen,
        canonical,
        channel=match,
        lookalike_of=_lookalike(chosen, canonical),
        unauthorised=open_for(chosen, canonical),
    )
