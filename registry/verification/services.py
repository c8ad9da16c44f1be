"""Public verification: "is this an official account of the Trust?" (policy 6.4, 6.7).

Exact matches are made on the canonical handle; a handle that is not the
Trust's but looks like one (confusable characters, one edit away, separators
added or removed, the official name with words such as "official" or "uk"
added) is reported as a lookalike of the official channel, with the rule that
matched. A link to a single post, or a follow link, answers for the account
its address names; one whose address names no account is refused, saying so.
A handle with look-alike letters from other alphabets (a Cyrillic "с" in
x.com/buсkshealthcare) cannot be a real handle on most platforms, but it is
answered as an impostor (not official, looks like the official account), not
refused as unreadable.
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import unquote

from registry.channels.lookalike import (
    affix_edit_keys,
    affix_keys,
    comparable_part,
    deconfuse,
    lookalike_keys,
    lookalike_rule,
)
from registry.channels.platforms import (
    HandleError,
    Platform,
    Reading,
    looks_like_url,
    normalise_handle,
    read_link,
    shown_handle,
)
from registry.channels.workflow import OFFICIAL_STATUSES, ChannelStatus
from registry.errors import Invalid
from registry.verification import index
from registry.verification.index import PublicChannel, PublicFacts

MAX_URL = 2048
MAX_HANDLE = 255


class Verdict(NamedTuple):
    """The answer to one question. A named tuple, not a frozen dataclass: one is made for every question,
    and a frozen dataclass sets each of its fields through ``object.__setattr__``."""

    platform: Platform
    handle: str
    channel: PublicChannel | None = None
    lookalike_of: PublicChannel | None = None
    known_unauthorised: bool = False
    #: The rule that found ``lookalike_of``: "homoglyph", "separators", "one_edit" or "affix".
    lookalike_rule: str | None = None
    #: What was asked about: "account" (its page or handle), "post" (a single post by it) or
    #: "intent" (a link to follow it).
    link: str = "account"

    @property
    def official(self) -> bool:
        return self.channel is not None and self.channel.status_enum in OFFICIAL_STATUSES

    @property
    def shown_handle(self) -> str:
        """The handle asked about as people write it (``@name`` on X, Instagram, Threads, TikTok, Mastodon)."""
        return shown_handle(self.platform, self.handle)

    @property
    def formerly_official(self) -> bool:
        return self.channel is not None and self.channel.status_enum is ChannelStatus.RETIRED


def _question(platform: str | None, handle: str | None, url: str | None) -> tuple[Platform, str, str]:
    """The platform, the handle and the kind of link asked about; bad input is :class:`Invalid`."""
    reading, field, raw = _reading(platform, handle, url)
    if reading.handle is None:
        raise Invalid({field: reading.message})
    return reading.platform, reading.handle, reading.link


def _read(platform: Platform | None, raw: str, field: str) -> Reading:
    """``raw`` read as an account, post or follow link; one with look-alike letters from other alphabets
    is read as the ASCII handle it imitates and answered with those letters kept."""
    try:
        return read_link(platform, raw)
    except HandleError as exc:
        imitated = _imitated(platform, raw)
        if imitated is None:
            raise Invalid({field: str(exc)}) from None
        return imitated


def _imitated(platform: Platform | None, raw: str) -> Reading | None:
    """The reading of ``raw`` with its look-alike letters (in the handle, never the site name) made
    ASCII, with the handle shown as typed; None when that does not help."""
    text = raw.strip()
    if looks_like_url(text):
        scheme, sep, rest = text.partition("//")
        if not sep:
            scheme, rest = "", text
        host, slash, path = rest.partition("/")
        if not slash:
            return None
        typed, prefix = unquote(path), f"{scheme}{sep}{host}/"
    else:
        typed, prefix = unquote(text), ""
    if typed.isascii():
        return None
    plain = deconfuse(typed)
    if plain == typed or not plain.isascii() or len(plain) != len(typed):
        return None
    try:
        found = read_link(platform, prefix + plain)
    except HandleError:
        return None
    if found.handle is None:
        return None
    name = comparable_part(found.platform, found.handle)
    at = plain.lower().find(name)
    if not name or at < 0:
        return None
    shown = found.handle.replace(name, typed[at : at + len(name)].lower(), 1)
    return Reading(found.platform, shown, found.link)


def _reading(platform: str | None, handle: str | None, url: str | None) -> tuple[Reading, str, str]:
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
        return _read(chosen, url, "url"), "url", url
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
    return _read(chosen, handle, "handle"), "handle", handle


def _lookalike(facts: PublicFacts, platform: Platform, handle: str) -> tuple[PublicChannel, str] | None:
    """The first official channel (lowest id) whose handle ``handle`` imitates, and the rule that says so:
    those one edit from it (the deletion-key index) first, then those it adds words to (the affix index)."""
    mine = comparable_part(platform, handle)
    keys = lookalike_keys(mine)
    if not keys:
        return None
    for candidate in facts.lookalike_candidates(platform, keys, handle):
        rule = lookalike_rule(mine, comparable_part(platform, candidate.handle))
        if rule is not None and rule != "affix":
            return candidate, rule
    # What is left of the handle without affixes (the costly part), worked out once for the rules below.
    cores = affix_keys(mine)
    for candidate in facts.affix_candidates(platform, cores, handle):
        rule = lookalike_rule(mine, comparable_part(platform, candidate.handle), cores)
        if rule is not None:
            return candidate, rule
    # The official name with affixes added and a slip as well: the deletion-key index again.
    for candidate in facts.lookalike_candidates(platform, affix_edit_keys(mine, cores), handle):
        rule = lookalike_rule(mine, comparable_part(platform, candidate.handle), cores)
        if rule is not None:
            return candidate, rule
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
    chosen, canonical, link = _question(platform, handle, url)
    facts = index.current()
    match = facts.channel(chosen, canonical)
    if match is None and chosen is Platform.YOUTUBE:
        # youtube.com/NAME opens the channel whose custom address is NAME, or else the one whose legacy
        # user name is NAME: a channel recorded as either is the one asked about.
        kind, _, name = canonical.partition("/")
        alias = {"c": "user/", "user": "c/"}.get(kind)
        if alias is not None and name:
            found = facts.channel(chosen, alias + name)
            if found is not None:
                canonical, match = alias + name, found
    if match is None and chosen is Platform.MASTODON and url and not platform:
        other = _as_other_site(url)
        found = facts.channel(*other) if other else None
        if other and found is not None:
            chosen, canonical, match = other[0], other[1], found
    if match is not None and match.status_enum in OFFICIAL_STATUSES:
        return Verdict(chosen, canonical, channel=match, link=link)
    imitated = _lookalike(facts, chosen, canonical)
    return Verdict(
        chosen,
        canonical,
        channel=match,
        lookalike_of=imitated[0] if imitated else None,
        lookalike_rule=imitated[1] if imitated else None,
        known_unauthorised=facts.known_unauthorised(chosen, canonical),
        link=link,
    )
