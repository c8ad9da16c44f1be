"""Public verification: "is this an official account of the Trust?" (policy 6.4, 6.7).

Exact matches are made on the canonical handle; a handle that is not the
Trust's but looks like one (confusable characters, one edit away, separators
added or removed) is reported as a lookalike of the official channel.
"""

from __future__ import annotations

from dataclasses import dataclass

from registry.channels.lookalike import comparable_part, is_lookalike, lookalike_keys
from registry.channels.platforms import (
    HandleError,
    Platform,
    normalise_handle,
    parse_url,
)
from registry.channels.workflow import OFFICIAL_STATUSES, ChannelStatus
from registry.errors import Invalid
from registry.verification import index
from registry.verification.index import PublicChannel, PublicFacts

MAX_URL = 2048
MAX_HANDLE = 255


@dataclass(frozen=True)
class Verdict:
    platform: Platform
    handle: str
    channel: PublicChannel | None = None
    lookalike_of: PublicChannel | None = None
    known_unauthorised: bool = False

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


def _lookalike(facts: PublicFacts, platform: Platform, handle: str) -> PublicChannel | None:
    """The first official channel (lowest id) whose handle ``handle`` imitates."""
    mine = comparable_part(platform, handle)
    keys = lookalike_keys(mine)
    if not keys:
        return None
    for candidate in facts.lookalike_candidates(platform, keys, handle):
        if is_lookalike(mine, comparable_part(platform, candidate.handle)):
            return candidate
    return None


def _as_other_site(url: str | None) -> tuple[Platform, str] | None:
    """A ``/@name`` address on an unknown site reads as Mastodon, but the Trust may have
    registered that page as an 'other' channel: the address as given, on no platform."""
    try:
        return Platform.OTHER, normalise_handle(Platform.OTHER, url or "")
    except HandleError:
        return None


def verify(*, platform: str | None = None, handle: str | None = None, url: str | None = None) -> Verdict:
    """Answer for a URL, or for a platform and handle; bad input is :class:`Invalid`.

    The answer comes from the process's index of the public facts (:mod:`registry.verification.index`),
    at most a second behind the database.
    """
    chosen, canonical = _question(platform, handle, url)
    facts = index.current()
    match = facts.channel(chosen, canonical)
    if match is None and chosen is Platform.MASTODON and url and not platform:
        other = _as_other_site(url)
        found = facts.channel(*other) if other else None
        if other and found is not None:
            chosen, canonical, match = other[0], other[1], found
    if match is not None and match.status_enum in OFFICIAL_STATUSES:
        return Verdict(chosen, canonical, channel=match)
    return Verdict(
        chosen,
        canonical,
        channel=match,
        lookalike_of=_lookalike(facts, chosen, canonical),
        known_unauthorised=facts.known_unauthorised(chosen, canonical),
    )
