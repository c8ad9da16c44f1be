"""How long a post may be on each platform, and how the Registry counts its characters.

The limits are the platform catalogue's (``registry.channels.platforms.PLATFORMS``):
X 280, Bluesky 300, Threads 500, Mastodon 500 (the default of mastodon.social; other
servers may allow more), Pinterest 500 (a Pin's description), Snapchat 250, Instagram
2,200, TikTok 4,000 (captions since 2024), LinkedIn 3,000, YouTube 5,000 (a video's
description) and Facebook 63,206. Flickr, WhatsApp and other sites publish no limit
the Trust relies on, so only the Registry's own ceiling applies to them: the longest
limit of any platform (Facebook's), so that a post fits somewhere.

Characters are counted as people and the platforms count them: Unicode code points,
with a line break as one character (browsers send ``\\r\\n``). The platforms' own
refinements (X counts a link as 23 and some scripts double) are not copied: the
count shown is a close guide, and the strictest chosen platform decides.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from registry.channels.platforms import PLATFORMS, Platform

#: No post is longer than the longest any platform allows (Facebook's).
TEXT_MAX = max(info.text_limit or 0 for info in PLATFORMS.values())
#: The longest alternative text any image may have (X allows 1,000 characters).
ALT_TEXT_MAX = 1000


def normalise_text(text: str | None) -> str:
    """Line breaks as ``\\n``, NUL characters removed, surrounding blank space trimmed."""
    return (text or "").replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").strip()


def count(text: str) -> int:
    """The number of characters as the limit counts them (of normalised text)."""
    return len(text)


def text_limit(platform: Platform | str) -> int | None:
    """The platform's own limit, or None when it has none the Registry knows of."""
    return PLATFORMS[Platform(platform)].text_limit


@dataclass(frozen=True)
class Limit:
    platform: Platform | None  # None: the Registry's ceiling (no chosen platform has a limit)
    label: str
    limit: int


def strictest(platforms: Iterable[Platform | str]) -> Limit:
    """The smallest limit among ``platforms`` (the Registry's ceiling when none has one)."""
    limits = [
        Limit(p, PLATFORMS[p].label, limit)
        for p in sorted({Platform(p) for p in platforms})
        if (limit := PLATFORMS[p].text_limit) is not None
    ]
    if not limits:
        return Limit(None, "the Registry", TEXT_MAX)
    return min(limits, key=lambda item: (item.limit, item.label))


def too_long_message(length: int, limit: Limit) -> str:
    """Names the platform whose limit the text passes, and by how much."""
    over = length - limit.limit
    fix = f"remove {over:,} character{'s' if over != 1 else ''}"
    if limit.platform is None:
        return (
            f"The text is {length:,} characters long but the Registry accepts at most {limit.limit:,} "
            f"(the longest any platform allows): {fix}."
        )
    return (
        f"The text is {length:,} characters long but {limit.label} allows {limit.limit:,}: {fix}, or choose "
        f"other channels."
    )
