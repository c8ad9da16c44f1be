"""The platform catalogue, and reading what people type into a canonical handle.

Everything here is pure (no Flask, no database). ``normalise_handle`` and
``parse_url`` either return a canonical handle or raise ``HandleError``, whose
text is written for the person who typed the input and can be shown as it is.

A canonical handle is the smallest stable text that identifies an account on
its platform: ``nhstrust`` on X, ``company/nhs-trust`` on LinkedIn,
``@nhstrust`` or ``channel/UC...`` on YouTube, ``nhstrust@mastodon.social`` on
Mastodon, ``forum.example.org/nhs-trust`` for any other site. Two inputs that
point at the same account give the same canonical handle.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple
from urllib.parse import parse_qs, quote, unquote, urlsplit

MAX_INPUT_LENGTH = 2048
MAX_HANDLE_LENGTH = 255


class Platform(StrEnum):
    X = "x"
    FACEBOOK = "facebook"
    INSTAGRAM = "instagram"
    LINKEDIN = "linkedin"
    YOUTUBE = "youtube"
    TIKTOK = "tiktok"
    THREADS = "threads"
    BLUESKY = "bluesky"
    MASTODON = "mastodon"
    PINTEREST = "pinterest"
    FLICKR = "flickr"
    SNAPCHAT = "snapchat"
    WHATSAPP = "whatsapp"
    OTHER = "other"


class HandleError(ValueError):
    """Plain-English reason a handle or URL cannot be read; str(e) is shown to users."""


class AccountLink(HandleError):
    """An address that is about an account without being its page: a single post (``kind`` "post") or a
    follow link (``kind`` "intent", such as x.com/intent/follow?screen_name=name).

    ``account`` is the canonical handle the address names, or None when the address does not name the
    account (x.com/i/web/status/1, youtube.com/watch?v=...). Registration refuses a post link with this
    message, which names the account's own address; verification answers about ``account``.
    """

    def __init__(self, platform: Platform, kind: str, account: str | None) -> None:
        self.platform = platform
        self.kind = kind
        self.account = account
        super().__init__(_post_link(platform, account) if kind == "post" else _intent_link(platform, account))


class Reading(NamedTuple):
    """What an address or handle names: the account's platform and canonical handle (None when the
    address is a post or follow link that does not name it), and what kind of link it was.

    A named tuple, not a frozen dataclass: one is made for every verification, and a frozen dataclass
    sets each field through ``object.__setattr__`` (a tenth of reading an address)."""

    platform: Platform
    handle: str | None
    #: "account" (the account's own page or handle), "post" (a single post) or "intent" (a follow link).
    link: str
    #: For a link that does not name its account, the plain-English reason (else "").
    message: str = ""


@dataclass(frozen=True)
class PlatformInfo:
    platform: Platform
    label: str
    handle_hint: str
    text_limit: int | None

    def profile_url(self, handle: str) -> str:
        """The https address of the account whose canonical handle is ``handle``.

        ``normalise_handle(platform, profile_url(h)) == h`` for every canonical
        ``h``. The one exception is an ``other`` handle that names no site (a
        bare name such as ``nhstrust``): there is no address, so this is ``""``.
        """
        return _PROFILE_URLS[self.platform](handle)


# --------------------------------------------------------------------------
# Messages

_NAMES: dict[Platform, str] = {
    Platform.X: "X",
    Platform.FACEBOOK: "Facebook",
    Platform.INSTAGRAM: "Instagram",
    Platform.LINKEDIN: "LinkedIn",
    Platform.YOUTUBE: "YouTube",
    Platform.TIKTOK: "TikTok",
    Platform.THREADS: "Threads",
    Platform.BLUESKY: "Bluesky",
    Platform.MASTODON: "Mastodon",
    Platform.PINTEREST: "Pinterest",
    Platform.FLICKR: "Flickr",
    Platform.SNAPCHAT: "Snapchat",
    Platform.WHATSAPP: "WhatsApp",
    Platform.OTHER: "other",
}

_HOSTS_TEXT: dict[Platform, str] = {
    Platform.X: "x.com or twitter.com",
    Platform.FACEBOOK: "facebook.com",
    Platform.INSTAGRAM: "instagram.com",
    Platform.LINKEDIN: "linkedin.com",
    Platform.YOUTUBE: "youtube.com",
    Platform.TIKTOK: "tiktok.com",
    Platform.THREADS: "threads.com or threads.net",
    Platform.BLUESKY: "bsky.app",
    Platform.MASTODON: "a Mastodon server, such as mastodon.social",
    Platform.PINTEREST: "pinterest.com or a country version such as pinterest.co.uk",
    Platform.FLICKR: "flickr.com",
    Platform.SNAPCHAT: "snapchat.com",
    Platform.WHATSAPP: "wa.me or whatsapp.com",
}

_POST_NOUNS: dict[Platform, str] = {
    Platform.YOUTUBE: "video",
    Platform.TIKTOK: "video",
    Platform.FLICKR: "photo",
    Platform.PINTEREST: "Pin",
}

_MSG_EMPTY = "Enter the account's handle or web address."
_MSG_HANDLE_TOO_LONG = (
    f"That account's name is too long to record: handles have at most {MAX_HANDLE_LENGTH} characters."
)
_MSG_TOO_LONG = f"That is too long: a handle or web address has at most {MAX_INPUT_LENGTH} characters."
_MSG_HIDDEN = (
    "That contains hidden or control characters, which usually come from copying and pasting. Type it in again."
)
_MSG_SCHEME = "Only web addresses that start with https:// or http:// can be used."
_MSG_UNREADABLE = "That web address cannot be read. Copy it again from the address bar of your browser."
_MSG_SPACES = "A web address cannot contain spaces."
_MSG_SHORT_LINK = "That is a short link. Open it in your browser, then copy the address of the account's page."
_MSG_UNUSUAL_HOST = (
    "That web address uses unusual characters in its site name, a trick often used to imitate "
    "real sites. Type the address using ordinary letters."
)
_MSG_NO_HOST = "That is not a complete web address: the site name, such as example.org, is missing or not valid."
_MSG_NOT_A_URL = (
    "That is not a web address. Paste the full address of the account's page, such as https://x.com/NHSTrust."
)
_MSG_UNKNOWN_PLATFORM = "Choose a platform from the list."


def _a(name: str) -> str:
    return f"an {name}" if name[:1] in "AEIOUX" else f"a {name}"


def _capital_a(name: str) -> str:
    article = _a(name)
    return article[0].upper() + article[1:]


def _not_profile(platform: Platform) -> str:
    return (
        f"That {_NAMES[platform]} address is not an account's page. "
        "Open the account's profile and copy the address from your browser."
    )


def _post_link(platform: Platform, account: str | None = None) -> str:
    noun = _POST_NOUNS.get(platform, "post")
    if account is not None:
        return (
            f"That is a link to a single {_NAMES[platform]} {noun} by {shown_handle(platform, account)}, not to the "
            f"account. Use the account's own address instead: {PLATFORMS[platform].profile_url(account)}"
        )
    return (
        f"That is a link to a single {_NAMES[platform]} {noun}, and its address does not say which account "
        "posted it. Open the account's profile and copy its address instead."
    )


def _intent_link(platform: Platform, account: str | None) -> str:
    if account is not None:
        return f"That is a link to follow {shown_handle(platform, account)} on {_NAMES[platform]}."
    return (
        f"That {_NAMES[platform]} follow link gives the account's number, not its name. "
        "Open the account's profile and copy its address instead."
    )


def shown_handle(platform: Platform, account: str) -> str:
    """The account as people write it: ``@name`` where the platform writes names with @."""
    if platform in (Platform.X, Platform.INSTAGRAM, Platform.THREADS, Platform.TIKTOK) or (
        platform is Platform.MASTODON
    ):
        return "@" + account
    return account


def _reserved(platform: Platform, word: str) -> str:
    return f"“{word}” is one of {_NAMES[platform]}'s own pages, not an account."


def _wrong_host(platform: Platform, owner: Platform | None) -> str:
    if owner is not None and platform is Platform.OTHER:
        return f"That is {_a(_NAMES[owner])} address. Choose {_NAMES[owner]} as the platform instead of Other."
    if owner is not None and owner is not platform:
        return (
            f"That is {_a(_NAMES[owner])} address, not {_a(_NAMES[platform])} one. "
            f"Choose {_NAMES[owner]} as the platform, or check the address."
        )
    return f"That is not {_a(_NAMES[platform])} address: the web address must be on {_HOSTS_TEXT[platform]}."


# --------------------------------------------------------------------------
# Cleaning and splitting input

_WRAPPERS = (("<", ">"), ("(", ")"), ('"', '"'), ("'", "'"), ("\u201c", "\u201d"), ("\u2018", "\u2019"))
#: Punctuation that ends the sentence an address was copied from ("see https://x.com/NHSTrust."), which
#: no platform's account address ends with.
_SENTENCE_END = ".,;:!?"
#: What :func:`_without_sentence_end` may take off an address's end.
_TRAILING = _SENTENCE_END + ")"
#: What an address in :data:`_WRAPPERS` starts with (no other is looked at for them).
_OPENINGS = frozenset(opening for opening, _closing in _WRAPPERS)
_MSG_CUT_SHORT = (
    "That web address was cut short (it ends with …), so it may name a different account. "
    "Open the link and copy the whole address from your browser."
)
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_INVISIBLE_EDGES = "\u200b\u200c\u200d\u200e\u200f\u2060\ufeff"
_SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_DOMAIN_RE = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?")
_DIGITS_RE = re.compile(r"[0-9]{1,20}")
_PCHAR_SAFE = "!$&'()*+,;=:@%-._~"
#: Any whitespace: ``\s`` matches exactly the characters ``str.isspace`` is true of, in one pass in C.
_SPACE_RE = re.compile(r"\s")


def _clean(raw: object) -> str:
    """The input without surrounding whitespace; refuses empty, overlong and hidden-character input."""
    if not isinstance(raw, str):
        raise HandleError(_MSG_EMPTY)
    if len(raw) > MAX_INPUT_LENGTH:
        raise HandleError(_MSG_TOO_LONG)
    text = raw.strip().strip(_INVISIBLE_EDGES).strip()
    if looks_like_url(text.lstrip("(")):
        text = _without_sentence_end(text)
    if text[:1] in _OPENINGS:
        for opening, closing in _WRAPPERS:  # <https://x.com/name> as e-mails write addresses, or quoted
            if len(text) > 2 and text[0] == opening and text[-1] == closing:
                text = text[1:-1].strip()
    if text.startswith("(") and text.count("(") > text.count(")") and looks_like_url(text[1:]):
        text = text[1:]
    if not text:
        raise HandleError(_MSG_EMPTY)
    # Printable ASCII (what nearly everyone sends) has none of the forbidden categories: only other text is
    # looked at character by character.
    if not (text.isascii() and text.isprintable()) and any(
        unicodedata.category(ch) in _FORBIDDEN_CATEGORIES for ch in text
    ):
        raise HandleError(_MSG_HIDDEN)
    return text


def _without_sentence_end(text: str) -> str:
    """A web address without the punctuation of the sentence it was copied from: full stops, commas and
    the like at its end, and a closing bracket it does not open. An address shortened with an ellipsis
    ("x.com/NHSTru…", as posts show long links) is refused rather than read as the shorter name."""
    kept = text.rstrip(_TRAILING)
    if kept.endswith("\u2026") or "..." in text[len(kept) :]:
        raise HandleError(_MSG_CUT_SHORT)
    if len(kept) == len(text):
        return text  # nothing at its end to take off (most addresses)
    unclosed = kept.count("(") - kept.count(")")  # "wiki/NHS_(trust)" closes its own bracket
    return kept + ")" * max(0, min(unclosed, text.count(")", len(kept))))


def _scheme_of(text: str) -> str | None:
    """The lower-case scheme of ``text`` ("https", "javascript", "did"), or None for none.

    ``x.com:443/nhs`` has no scheme: a dotted word before a colon that is not
    followed by ``//`` is a site name with a port.
    """
    match = _SCHEME_RE.match(text)
    if match is None:
        return None
    if text[match.end() :].startswith("//") or "." not in match.group(1):
        return match.group(1).lower()
    return None


def looks_like_url(raw: object) -> bool:
    """True when ``raw`` has a scheme (``https://``, ``javascript:``) or a ``host.tld/`` shape."""
    if not isinstance(raw, str):
        return False
    text = raw.strip()
    return _url_shaped(text, _scheme_of(text))


def _address_shape(text: str) -> tuple[str | None, bool]:
    """The scheme of cleaned ``text`` and whether it :func:`looks_like_url`, each read once.

    Both are read past any space at its start, as :func:`looks_like_url` reads them: "( x.com/NHSTrust"
    keeps its space once the bracket is taken off, and is an address refused for the space, not a handle.
    """
    plain = text.lstrip()
    scheme = _scheme_of(plain)
    return scheme, _url_shaped(plain, scheme)


def _url_shaped(text: str, scheme: str | None) -> bool:
    """:func:`looks_like_url` of stripped ``text`` whose scheme (:func:`_scheme_of`) is known already."""
    if scheme is not None or text.startswith("//"):
        return True
    head, slash, _ = text.partition("/")
    return bool(slash) and "." in head and _SPACE_RE.search(head) is None


def _is_domain(host: str) -> bool:
    return len(host) <= 253 and host.isascii() and _DOMAIN_RE.fullmatch(host) is not None


def require_domain(host: str) -> None:
    if not host.isascii():
        raise HandleError(_MSG_UNUSUAL_HOST)
    if not _is_domain(host):
        raise HandleError(_MSG_NO_HOST)


class _Url(NamedTuple):
    """A web address split (:func:`split_url`). A named tuple, made cheaply for every address read, as
    :class:`Reading` is."""

    host: str
    port: int | None
    segments: tuple[str, ...]
    query: dict[str, list[str]]
    fragment: str

    def part(self, index: int) -> str:
        """The percent-decoded path segment at ``index``, or "" past the end."""
        return unquote(self.segments[index]) if index < len(self.segments) else ""


def split_url(text: str) -> _Url:
    """Split a cleaned web address; refuses other schemes, userinfo and unreadable addresses.

    ``host`` is lower-case without a trailing dot; ``port`` is None for the
    default ports; ``segments`` are the non-empty path segments, still encoded.
    """
    return _split_url(text, _scheme_of(text))


def _split_url(text: str, scheme: str | None) -> _Url:
    """:func:`split_url` of ``text`` whose scheme (:func:`_scheme_of`) is known already."""
    if "\\" in text:
        raise HandleError(_MSG_UNREADABLE)
    if _SPACE_RE.search(text):
        raise HandleError(_MSG_SPACES)
    if text.startswith("//"):
        text = "https:" + text
    elif scheme is None:
        text = "https://" + text
    elif scheme not in ("http", "https") or not text[len(scheme) + 1 :].startswith("//"):
        raise HandleError(_MSG_SCHEME)
    try:
        parts = urlsplit(text)
        port = parts.port
        hostname = parts.hostname or ""
    except ValueError as exc:
        raise HandleError(_MSG_UNREADABLE) from exc
    if "@" in parts.netloc:
        real = hostname if re.fullmatch(r"[a-z0-9.\-]{1,100}", hostname) else ""
        where = f" it really goes to {real}" if real else " it hides where it really goes"
        raise HandleError(f"That web address is disguised:{where}. Type the account's address directly.")
    host = hostname.removesuffix(".")
    if not host:
        raise HandleError(_MSG_NO_HOST)
    segments = tuple(filter(None, parts.path.split("/")))  # the non-empty ones
    # A dot segment, as given or percent-encoded ("%2e"): only a path with "%" can hold the second kind.
    if (
        "." in segments
        or ".." in segments
        or ("%" in parts.path and any(unquote(segment) in (".", "..") for segment in segments))
    ):
        raise HandleError(_MSG_UNREADABLE)
    return _Url(
        host=host,
        port=None if port in (None, 80, 443) else port,
        segments=segments,
        query=parse_qs(parts.query) if parts.query else {},  # (what parse_qs gives for none, without its work)
        fragment=parts.fragment,
    )


def _check_rest(
    platform: Platform,
    rest: Sequence[str],
    tabs: Collection[str] = (),
    posts: Collection[str] = (),
    account: Callable[[], str] | None = None,
) -> None:
    """Accept the path after the account's name when it is a profile tab; refuse the rest. A post under
    the account's name is an :class:`AccountLink` naming the account (``account()``, which may itself
    refuse an unreadable name)."""
    if not rest:
        return
    first = unquote(rest[0]).lower()
    if first in tabs and (len(rest) == 1 or first not in posts):
        return
    if first in posts:
        raise AccountLink(platform, "post", account() if account is not None else None)
    raise HandleError(_not_profile(platform))


def _ascii_match(pattern: re.Pattern[str], value: str) -> bool:
    return value.isascii() and pattern.fullmatch(value) is not None


# --------------------------------------------------------------------------
# Hosts

_HOSTS: dict[Platform, tuple[str, ...]] = {
    Platform.X: ("x.com", "twitter.com"),
    Platform.FACEBOOK: ("facebook.com", "fb.com", "fb.me"),
    Platform.INSTAGRAM: ("instagram.com", "instagr.am"),
    Platform.LINKEDIN: ("linkedin.com",),
    Platform.YOUTUBE: ("youtube.com",),
    Platform.TIKTOK: ("tiktok.com",),
    Platform.THREADS: ("threads.com", "threads.net"),
    Platform.BLUESKY: ("bsky.app",),
    Platform.PINTEREST: tuple(
        f"pinterest.{tld}"
        for tld in (
            "com",
            "co.uk",
            "ie",
            "ca",
            "com.au",
            "co.nz",
            "nz",
            "de",
            "at",
            "ch",
            "fr",
            "es",
            "it",
            "pt",
            "se",
            "dk",
            "nl",
            "jp",
            "co.kr",
            "com.mx",
            "cl",
            "ph",
            "ru",
        )
    ),
    Platform.FLICKR: ("flickr.com",),
    Platform.SNAPCHAT: ("snapchat.com",),
    Platform.WHATSAPP: ("whatsapp.com", "wa.me"),
}
_SHORT_HOSTS: dict[str, Platform] = {
    "t.co": Platform.X,
    "fb.watch": Platform.FACEBOOK,
    "youtu.be": Platform.YOUTUBE,
    "lnkd.in": Platform.LINKEDIN,
    "vm.tiktok.com": Platform.TIKTOK,
    "vt.tiktok.com": Platform.TIKTOK,
    "pin.it": Platform.PINTEREST,
    "flic.kr": Platform.FLICKR,
}
_PROFILE_SUBDOMAINS = frozenset({"www", "m", "mobile", "web"})
_EXTRA_SUBDOMAINS: dict[Platform, frozenset[str]] = {
    Platform.FACEBOOK: frozenset({"mbasic", "touch"}),
    Platform.YOUTUBE: frozenset({"music"}),
    Platform.SNAPCHAT: frozenset({"story"}),
    Platform.WHATSAPP: frozenset({"api", "chat"}),
}
_LOCALE_PLATFORMS = frozenset({Platform.FACEBOOK, Platform.LINKEDIN, Platform.PINTEREST})
_LOCALE_RE = re.compile(r"[a-z]{2}(?:-[a-z]{2})?")
_NOT_FEDIVERSE = frozenset({"medium.com", "substack.com"})


#: Each platform's sites by name. No site's name ends with ``.`` and another's (tests/test_platforms.py), so a
#: host is one of them or under one of them at most.
_HOST_PLATFORMS: dict[str, Platform] = {base: platform for platform, bases in _HOSTS.items() for base in bases}


def host_owner(host: str) -> tuple[Platform, str] | None:
    """Which platform owns ``host``, and how: "profile" (its profile pages),
    "short" (a short-link service) or "service" (another of its sites, such as help.x.com)."""
    if host in _SHORT_HOSTS:
        return _SHORT_HOSTS[host], "short"
    platform = _HOST_PLATFORMS.get(host)
    if platform is not None:
        return platform, "profile"
    # The site the host is under, if any: each name it ends with after a dot, longest first.
    dot = host.find(".")
    while dot >= 0:
        platform = _HOST_PLATFORMS.get(host[dot + 1 :])
        if platform is not None:
            sub = host[:dot]
            if (
                sub in _PROFILE_SUBDOMAINS
                or sub in _EXTRA_SUBDOMAINS.get(platform, ())
                or (platform in _LOCALE_PLATFORMS and _LOCALE_RE.fullmatch(sub))
            ):
                return platform, "profile"
            return platform, "service"
        dot = host.find(".", dot + 1)
    return None


# --------------------------------------------------------------------------
# X

_X_HANDLE = re.compile(r"[A-Za-z0-9_]{1,15}")
_X_RESERVED = frozenset(
    {
        "home",
        "i",
        "intent",
        "share",
        "search",
        "hashtag",
        "explore",
        "settings",
        "messages",
        "notifications",
        "login",
        "signup",
        "tos",
        "privacy",
        "compose",
        "logout",
        "account",
    }
)
_X_TABS = frozenset(
    {
        "with_replies",
        "media",
        "likes",
        "highlights",
        "articles",
        "followers",
        "following",
        "verified_followers",
        "followers_you_follow",
        "lists",
        "superfollows",
        "communities",
        "photo",
        "header_photo",
        "creator-subscriptions",
    }
)
_X_POSTS = frozenset({"status", "statuses"})


def _x_bare(text: str) -> str:
    handle = text.removeprefix("@")
    if not _ascii_match(_X_HANDLE, handle):
        raise HandleError("An X handle has 1 to 15 letters, numbers or underscores, such as @NHSTrust.")
    handle = handle.lower()
    if handle in _X_RESERVED:
        raise HandleError(_reserved(Platform.X, handle))
    return handle


def _x_url(url: _Url) -> str:
    segments = url.segments
    if not segments and url.fragment.startswith("!/"):
        segments = tuple(s for s in url.fragment[2:].split("?")[0].split("/") if s)
    if not segments:
        raise HandleError(_not_profile(Platform.X))
    first = unquote(segments[0])
    words = [unquote(segment).lower() for segment in segments[:3]]
    if words[:1] == ["i"] and ({"status", "statuses"} & set(words[1:3])):
        raise AccountLink(Platform.X, "post", None)  # x.com/i/web/status/1, x.com/i/status/1
    if words[:2] in (["intent", "follow"], ["intent", "user"]):
        names = url.query.get("screen_name", [])
        if names and names[0].strip():
            raise AccountLink(Platform.X, "intent", _x_bare(names[0].strip()))
        if url.query.get("user_id"):
            raise AccountLink(Platform.X, "intent", None)
        raise HandleError(_not_profile(Platform.X))
    if first.lower() in _X_RESERVED:
        raise HandleError(_not_profile(Platform.X))
    _check_rest(Platform.X, segments[1:], _X_TABS, _X_POSTS, lambda: _x_bare(first))
    return _x_bare(first)


# --------------------------------------------------------------------------
# Facebook

_FB_USERNAME = re.compile(r"[A-Za-z0-9.]{5,50}")
#: A group's name: never ending in a full stop, which an address loses as the end of a sentence (so
#: facebook.com/groups/nhstrust. could never be told from the group nhstrust).
_FB_GROUP = re.compile(r"[a-z0-9](?:[a-z0-9._-]{0,98}[a-z0-9_-])?")
_FB_NEW_PAGE = re.compile(r"(?:.*-)?([0-9]{5,20})")
_FB_RESERVED = frozenset(
    word.replace(".", "")
    for word in (
        "profile.php",
        "people",
        "pages",
        "groups",
        "home.php",
        "watch",
        "marketplace",
        "gaming",
        "events",
        "login",
        "login.php",
        "logout.php",
        "sharer",
        "sharer.php",
        "share",
        "share.php",
        "dialog",
        "photo.php",
        "photo",
        "photos",
        "story.php",
        "permalink.php",
        "hashtag",
        "search",
        "help",
        "policies",
        "privacy",
        "settings",
        "notifications",
        "messages",
        "friends",
        "bookmarks",
        "reel",
        "reels",
        "stories",
        "live",
        "business",
        "ads",
        "fundraisers",
        "plugins",
        "video",
        "videos",
        "places",
        "legal",
        "terms",
        "careers",
        "recover",
        "checkpoint",
        "directory",
        "memories",
        "saved",
        "jobs",
        "messenger",
        "media",
        "notes",
        "menu",
        "games",
        "donate",
        "offers",
        "latest",
        "feeds",
        "pages_manager",
        "profile",
    )
)
_FB_TABS = frozenset(
    {
        "about",
        "posts",
        "photos",
        "videos",
        "reels",
        "events",
        "reviews",
        "community",
        "mentions",
        "followers",
        "following",
        "friends",
        "live_videos",
        "about_contact_and_basic_info",
        "about_profile_transparency",
        "about_details",
        "about_privacy_and_legal_info",
        "photos_by",
        "map",
        "music",
        "likes",
    }
)
_FB_POSTS = frozenset(
    {
        "posts",
        "videos",
        "photos",
        "photo",
        "photo.php",
        "reel",
        "reels",
        "permalink.php",
        "story.php",
        "permalink",
    }
)
_FB_GROUP_TABS = frozenset({"about", "members", "media", "events", "files", "announcements"})
_MSG_FB_USERNAME = (
    "A Facebook username has 5 to 50 letters, numbers or full stops, such as NHSTrust, "
    "or is the number in a profile.php?id= address."
)


def _fb_name(value: str) -> str:
    """A username (lower-case, full stops removed: Facebook ignores them) or a numeric ID."""
    if _ascii_match(_DIGITS_RE, value):
        return value
    canonical = value.lower().replace(".", "")
    if not _ascii_match(_FB_USERNAME, value) or not 5 <= len(canonical) <= 50 or _DIGITS_RE.fullmatch(canonical):
        raise HandleError(_MSG_FB_USERNAME)
    if canonical in _FB_RESERVED:
        raise HandleError(_reserved(Platform.FACEBOOK, value))
    return canonical


def _fb_group(value: str) -> str:
    group = value.lower()
    if not _ascii_match(_FB_GROUP, group):
        raise HandleError(
            "A Facebook group is the name or number after facebook.com/groups/, "
            "such as facebook.com/groups/nhstrustfriends."
        )
    return group


def _fb_bare(text: str) -> str:
    value = text.removeprefix("@")
    if value[:7].lower() == "groups/":
        return "groups/" + _fb_group(value[7:].rstrip("/"))
    return _fb_name(value)


def _fb_url(url: _Url) -> str:
    segments = url.segments
    if not segments:
        raise HandleError(_not_profile(Platform.FACEBOOK))
    first = url.part(0)
    key = first.lower()
    if key == "profile.php":
        ids = url.query.get("id", [])
        if ids and _ascii_match(_DIGITS_RE, ids[0]):
            return ids[0]
        raise HandleError(_not_profile(Platform.FACEBOOK))
    if key in ("permalink.php", "story.php"):
        ids = url.query.get("id", [])
        raise AccountLink(Platform.FACEBOOK, "post", ids[0] if ids and _ascii_match(_DIGITS_RE, ids[0]) else None)
    if key in ("photo.php", "photo", "reel", "watch", "share", "video.php", "posts"):
        raise AccountLink(Platform.FACEBOOK, "post", None)
    if key in ("people", "pages") and len(segments) >= 3:
        ident = url.part(2)
        if _ascii_match(_DIGITS_RE, ident):
            return ident
        raise HandleError(_not_profile(Platform.FACEBOOK))
    if key == "p" and len(segments) >= 2:
        match = _FB_NEW_PAGE.fullmatch(url.part(1))
        if match and url.part(1).isascii():
            return match.group(1)
        raise HandleError(_not_profile(Platform.FACEBOOK))
    if key == "pg" and len(segments) >= 2:
        return _fb_name(url.part(1))
    if key == "groups" and len(segments) >= 2:
        group = url.part(1)
        _check_rest(
            Platform.FACEBOOK,
            segments[2:],
            _FB_GROUP_TABS,
            _FB_POSTS | {"permalink"},
            lambda: "groups/" + _fb_group(group),
        )
        return "groups/" + _fb_group(group)
    if key.replace(".", "") in _FB_RESERVED or key in ("p", "pg"):
        raise HandleError(_not_profile(Platform.FACEBOOK))
    _check_rest(Platform.FACEBOOK, segments[1:], _FB_TABS, _FB_POSTS, lambda: _fb_name(first))
    return _fb_name(first)


# --------------------------------------------------------------------------
# Instagram and Threads

_IG_HANDLE = re.compile(r"[A-Za-z0-9._]{1,30}")
_IG_RESERVED = frozenset(
    {
        "p",
        "reel",
        "reels",
        "tv",
        "explore",
        "stories",
        "accounts",
        "direct",
        "about",
        "legal",
        "developer",
        "web",
        "challenge",
        "emails",
        "oauth",
        "api",
        "static",
        "graphql",
        "ar",
        "privacy",
    }
)
_IG_POSTS = frozenset({"p", "reel", "reels", "tv"})
_IG_TABS = frozenset({"reels", "tagged", "saved", "guides", "followers", "following"})
_THREADS_TABS = frozenset({"replies", "reposts", "media"})


def _ig_bare(text: str, platform: Platform = Platform.INSTAGRAM) -> str:
    handle = text.removeprefix("@")
    if not _ascii_match(_IG_HANDLE, handle) or handle.startswith(".") or handle.endswith(".") or ".." in handle:
        raise HandleError(
            f"{_capital_a(_NAMES[platform])} username has 1 to 30 letters, numbers, "
            "full stops or underscores, and does not start or end with a full stop."
        )
    handle = handle.lower()
    if platform is Platform.INSTAGRAM and handle in _IG_RESERVED:
        raise HandleError(_reserved(platform, handle))
    return handle


def _ig_url(url: _Url) -> str:
    if not url.segments:
        raise HandleError(_not_profile(Platform.INSTAGRAM))
    first = url.part(0)
    key = first.lower()
    if key in _IG_POSTS:
        raise AccountLink(Platform.INSTAGRAM, "post", None)
    if key == "stories" and len(url.segments) >= 2 and url.part(1).lower() != "highlights":
        named = url.part(1)
        raise AccountLink(Platform.INSTAGRAM, "post", _ig_bare(named))
    if key == "_u" and len(url.segments) >= 2:  # the app's link to a profile
        first, key = url.part(1), url.part(1).lower()
        rest = url.segments[2:]
    else:
        rest = url.segments[1:]
    if key in _IG_RESERVED:
        raise HandleError(_not_profile(Platform.INSTAGRAM))
    named = first
    _check_rest(Platform.INSTAGRAM, rest, _IG_TABS, _IG_POSTS, lambda: _ig_bare(named))
    return _ig_bare(first)


def _threads_url(url: _Url) -> str:
    first = url.part(0)
    if first.lower() == "t" and len(url.segments) >= 2:
        raise AccountLink(Platform.THREADS, "post", None)
    if not first.startswith("@"):
        raise HandleError(_not_profile(Platform.THREADS))
    _check_rest(Platform.THREADS, url.segments[1:], _THREADS_TABS, {"post"}, lambda: _ig_bare(first, Platform.THREADS))
    return _ig_bare(first, Platform.THREADS)


def _threads_bare(text: str) -> str:
    return _ig_bare(text, Platform.THREADS)


# --------------------------------------------------------------------------
# LinkedIn

_LI_KINDS = ("company", "showcase", "school", "in")
_LI_SLUG_ASCII = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
_MSG_LI = (
    "A LinkedIn page address ends with a name made of letters, numbers and hyphens, "
    "such as linkedin.com/company/nhs-trust."
)


def _li_slug(raw: str) -> str:
    """The slug lower-cased, with letters beyond ASCII percent-encoded (as LinkedIn writes them)."""
    decoded = unquote(raw)
    if not decoded or len(decoded) > 150:
        raise HandleError(_MSG_LI)
    if decoded.isascii():  # (nearly every slug: checked in one call, and nothing to encode)
        if not _LI_SLUG_ASCII.issuperset(decoded):
            raise HandleError(_MSG_LI)
        return decoded.lower()
    for ch in decoded:
        if ch.isascii():
            if ch not in _LI_SLUG_ASCII:
                raise HandleError(_MSG_LI)
        elif unicodedata.category(ch)[0] not in "LMN":
            raise HandleError(_MSG_LI)
    return quote(decoded, safe="-_").lower()


def _li_bare(text: str) -> str:
    value = text.removeprefix("@").rstrip("/")
    kind, slash, slug = value.partition("/")
    if not slash:
        return "company/" + _li_slug(value)
    kind = kind.lower()
    if kind not in _LI_KINDS:
        raise HandleError(
            "A LinkedIn page is written as company/name, showcase/name, school/name or in/name, "
            "or give the page's web address."
        )
    return f"{_li_kind(kind)}/{_li_slug(slug)}"


def _li_kind(kind: str) -> str:
    """Company, school and showcase pages share one set of names (LinkedIn sends each address to the
    others' page of the same name), so all three are written ``company/``; members are ``in/``."""
    return "in" if kind == "in" else "company"


def _li_url(url: _Url) -> str:
    kind = url.part(0).lower()
    if kind in _LI_KINDS and len(url.segments) >= 2:
        return f"{_li_kind(kind)}/{_li_slug(url.segments[1])}"
    if kind in ("posts", "feed", "pulse", "embed", "video", "events"):
        raise AccountLink(Platform.LINKEDIN, "post", None)
    raise HandleError(_not_profile(Platform.LINKEDIN))


# --------------------------------------------------------------------------
# YouTube

_YT_HANDLE = re.compile(r"[A-Za-z0-9._-]{3,30}")
_YT_CHANNEL = re.compile(r"UC[A-Za-z0-9_-]{22}")
_YT_NAME = re.compile(r"[A-Za-z0-9_-]{1,100}")
_YT_TABS = frozenset(
    {
        "featured",
        "videos",
        "shorts",
        "streams",
        "playlists",
        "community",
        "posts",
        "about",
        "channels",
        "podcasts",
        "releases",
        "store",
        "live",
        "courses",
        "membership",
        "search",
    }
)
_YT_VIDEO_PATHS = frozenset(
    {
        "watch",
        "shorts",
        "live",
        "embed",
        "playlist",
        "v",
        "clip",
        "post",
        "attribution_link",
    }
)


#: Top-level youtube.com paths that are YouTube's own pages, not a channel's custom address.
_YT_RESERVED = frozenset(
    {
        "c",
        "user",
        "channel",
        "feed",
        "results",
        "account",
        "premium",
        "kids",
        "gaming",
        "music",
        "about",
        "t",
        "howyoutubeworks",
        "redirect",
        "signin",
        "logout",
        "upload",
        "hashtag",
        "source",
        "trending",
        "subscription_manager",
        "creators",
        "ads",
        "yt",
        "jobs",
        "new",
        "paid_memberships",
        "reporthistory",
        "sports",
        "news",
        "fashion",
        "learning",
        "podcasts",
        "movies",
        "verify",
        "s",
        "supported_browsers",
        "copyright_complaint_form",
        "select_site",
        "error",
        "studio",
        "index",
        "api",
        "youtubei",
        "img",
        "iframe_api",
        "player_api",
        "get_video_info",
        "generate_204",
        "sw.js",
        "manifest.webmanifest",
        "opensearch",
        "favicon.ico",
        "robots.txt",
        "embed",
        "shorts",
        "live",
        "watch",
        "playlist",
        "v",
        "clip",
        "post",
        "attribution_link",
        "store",
        "channels",
        "community",
        "signup",
        "login",
        "terms",
        "privacy",
        "policies",
        "copyright",
        "help",
        "search",
    }
)


def _yt_handle(value: str) -> str:
    # Not ending in a full stop: an address loses one as the end of a sentence, so youtube.com/@nhstrust.
    # could never be told from @nhstrust.
    if not _ascii_match(_YT_HANDLE, value) or value.endswith("."):
        raise HandleError(
            "A YouTube handle has 3 to 30 letters, numbers, underscores, hyphens or full stops, "
            "and does not end with a full stop, such as @NHSTrust."
        )
    return value.lower()


def _yt_channel(value: str) -> str:
    if not _ascii_match(_YT_CHANNEL, value):
        raise HandleError(
            "A YouTube channel ID starts with UC and has 24 characters, "
            "as in youtube.com/channel/UCxxxxxxxxxxxxxxxxxxxxxx."
        )
    return value


def _yt_name(value: str) -> str:
    if not _ascii_match(_YT_NAME, value):
        raise HandleError(_not_profile(Platform.YOUTUBE))
    return value.lower()


def _yt_bare(text: str) -> str:
    value = text.rstrip("/")
    kind, slash, rest = value.partition("/")
    if slash:
        kind = kind.lower()
        if kind == "channel":
            return "channel/" + _yt_channel(rest)
        if kind in ("c", "user"):
            return f"{kind}/{_yt_name(rest)}"
    return "@" + _yt_handle(value.removeprefix("@"))


def _yt_url(url: _Url) -> str:
    if not url.segments:
        raise HandleError(_not_profile(Platform.YOUTUBE))
    first = url.part(0)
    key = first.lower()
    if first.startswith("@"):
        result, rest = "@" + _yt_handle(first[1:]), url.segments[1:]
    elif key == "channel" and len(url.segments) >= 2:
        result, rest = "channel/" + _yt_channel(url.part(1)), url.segments[2:]
    elif key in ("c", "user") and len(url.segments) >= 2:
        result, rest = f"{key}/{_yt_name(url.part(1))}", url.segments[2:]
    elif key in _YT_VIDEO_PATHS:
        raise AccountLink(Platform.YOUTUBE, "post", None)
    elif key not in _YT_RESERVED and _ascii_match(_YT_NAME, first):
        # A custom address without /c/: youtube.com/NAME is the same channel as youtube.com/c/NAME.
        result, rest = f"c/{_yt_name(first)}", url.segments[1:]
    else:
        raise HandleError(_not_profile(Platform.YOUTUBE) + " A channel's address looks like youtube.com/@name.")
    _check_rest(Platform.YOUTUBE, rest, _YT_TABS)
    return result


# --------------------------------------------------------------------------
# TikTok

_TT_HANDLE = re.compile(r"[A-Za-z0-9._]{2,24}")


def _tt_bare(text: str) -> str:
    handle = text.removeprefix("@")
    if not _ascii_match(_TT_HANDLE, handle) or handle.endswith("."):
        raise HandleError(
            "A TikTok username has 2 to 24 letters, numbers, underscores or full stops, "
            "and does not end with a full stop."
        )
    return handle.lower()


def _tt_url(url: _Url) -> str:
    first = url.part(0)
    if not first.startswith("@"):
        raise HandleError(_not_profile(Platform.TIKTOK))
    _check_rest(Platform.TIKTOK, url.segments[1:], {"live"}, {"video", "photo"}, lambda: _tt_bare(first))
    return _tt_bare(first)


# --------------------------------------------------------------------------
# Bluesky

_DID_PLC = re.compile(r"did:plc:[a-z2-7]{24}")


def _bsky_bare(text: str) -> str:
    value = text.removeprefix("@")
    if value[:4].lower() == "did:":
        if _ascii_match(_DID_PLC, value) or (value.startswith("did:web:") and _is_domain(value[8:])):
            return value
        raise HandleError("A Bluesky DID looks like did:plc: followed by 24 letters and numbers.")
    handle = value.lower()
    if "." not in handle:
        handle += ".bsky.social"
    if not _is_domain(handle):
        raise HandleError("A Bluesky handle looks like nhstrust.bsky.social, or a web domain such as nhs.uk.")
    return handle


def _bsky_url(url: _Url) -> str:
    if url.part(0).lower() != "profile" or len(url.segments) < 2:
        raise HandleError(_not_profile(Platform.BLUESKY))
    named = url.part(1)
    _check_rest(
        Platform.BLUESKY,
        url.segments[2:],
        {"followers", "follows", "known-followers"},
        {"post"},
        lambda: _bsky_bare(named),
    )
    return _bsky_bare(named)


# --------------------------------------------------------------------------
# Mastodon

_MASTO_USER = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,62}[A-Za-z0-9_])?")
_MASTO_TABS = frozenset({"with_replies", "media", "followers", "following", "tagged"})


def _masto_pair(user: str, instance: str) -> str:
    if not _ascii_match(_MASTO_USER, user):
        raise HandleError("A Mastodon username has letters, numbers and underscores, as in @nhstrust@mastodon.social.")
    server = instance.lower()
    if not _is_domain(server) or server in _NOT_FEDIVERSE:
        raise HandleError(
            "After the second @ comes the Mastodon server, such as mastodon.social, as in @nhstrust@mastodon.social."
        )
    owner = host_owner(server)
    if owner is not None:
        raise HandleError(_wrong_host(Platform.MASTODON, owner[0]))
    return f"{user.lower()}@{server}"


def _masto_bare(text: str) -> str:
    user, at, instance = text.removeprefix("@").partition("@")
    if not at:
        raise HandleError("Include the server as well as the name, for example @name@mastodon.social.")
    return _masto_pair(user, instance)


def _masto_account(url: _Url) -> tuple[str, Sequence[str]] | None:
    """The ``user`` or ``user@server`` part of a Mastodon profile path, and the path after it."""
    first = url.part(0)
    if first.startswith("@") and len(first) > 1:
        return first[1:], url.segments[1:]
    if first.lower() == "users" and len(url.segments) >= 2:
        return url.part(1), url.segments[2:]
    if first.lower() == "web" and url.part(1).startswith("@") and len(url.part(1)) > 1:
        return url.part(1)[1:], url.segments[2:]
    return None


def _masto_url(url: _Url) -> str:
    found = _masto_account(url)
    if found is None:
        raise HandleError(_not_profile(Platform.MASTODON))
    account, rest = found
    user, at, instance = account.partition("@")
    if rest and _ascii_match(_DIGITS_RE, unquote(rest[0])):
        raise AccountLink(Platform.MASTODON, "post", _masto_pair(user, instance if at else url.host))
    _check_rest(
        Platform.MASTODON, rest, _MASTO_TABS, {"statuses"}, lambda: _masto_pair(user, instance if at else url.host)
    )
    return _masto_pair(user, instance if at else url.host)


# --------------------------------------------------------------------------
# Pinterest

_PIN_HANDLE = re.compile(r"[A-Za-z0-9_]{3,30}")
_PIN_RESERVED = frozenset(
    {
        "pin",
        "search",
        "ideas",
        "today",
        "business",
        "settings",
        "login",
        "signup",
        "categories",
        "topics",
        "explore",
        "videos",
        "about",
        "homefeed",
        "news_hub",
        "password",
        "resource",
        "oauth",
        "shopping",
    }
)


def _pin_bare(text: str) -> str:
    handle = text.removeprefix("@")
    if not _ascii_match(_PIN_HANDLE, handle):
        raise HandleError("A Pinterest username has 3 to 30 letters, numbers or underscores, such as nhstrust.")
    handle = handle.lower()
    if handle in _PIN_RESERVED:
        raise HandleError(_reserved(Platform.PINTEREST, handle))
    return handle


def _pin_url(url: _Url) -> str:
    if not url.segments:
        raise HandleError(_not_profile(Platform.PINTEREST))
    first = url.part(0)
    key = first.lower()
    if key == "pin":
        raise AccountLink(Platform.PINTEREST, "post", None)
    if key in _PIN_RESERVED:
        raise HandleError(_not_profile(Platform.PINTEREST))
    if len(url.segments) > 1 and not url.part(1).startswith("_"):
        raise HandleError(
            "That is a link to a Pinterest board, not to the account. "
            "Open the account's profile and copy its address instead."
        )
    return _pin_bare(first)


# --------------------------------------------------------------------------
# Flickr

_FLICKR_NSID = re.compile(r"([0-9]{1,15})@[Nn]([0-9]{2})")
_FLICKR_ALIAS = re.compile(r"[A-Za-z0-9_-](?:[A-Za-z0-9_.-]{0,48}[A-Za-z0-9_-])?")
_FLICKR_RESERVED = frozenset({"tags", "upload", "organize", "friends", "me", "search"})


def _flickr_bare(text: str) -> str:
    value = text.removeprefix("@").rstrip("/")
    if value.isascii():
        nsid = _FLICKR_NSID.fullmatch(value)
        if nsid:
            return f"{nsid.group(1)}@N{nsid.group(2)}"
        if _FLICKR_ALIAS.fullmatch(value) and value.lower() not in _FLICKR_RESERVED:
            return value.lower()
    raise HandleError(
        "A Flickr account is the name after flickr.com/photos/, such as nhstrust, or an ID such as 12345678@N02."
    )


def _flickr_url(url: _Url) -> str:
    key = url.part(0).lower()
    if key not in ("photos", "people") or len(url.segments) < 2:
        raise HandleError(_not_profile(Platform.FLICKR))
    if url.part(1).lower() in _FLICKR_RESERVED:
        raise HandleError(_not_profile(Platform.FLICKR))
    rest = url.segments[2:]
    if rest and _ascii_match(_DIGITS_RE, unquote(rest[0])):
        raise AccountLink(Platform.FLICKR, "post", _flickr_bare(url.part(1)))
    return _flickr_bare(url.part(1))


# --------------------------------------------------------------------------
# Snapchat

_SNAP_HANDLE = re.compile(r"[A-Za-z][A-Za-z0-9._-]{1,13}[A-Za-z0-9]")


def _snap_bare(text: str) -> str:
    handle = text.removeprefix("@")
    if not _ascii_match(_SNAP_HANDLE, handle):
        raise HandleError(
            "A Snapchat username has 3 to 15 letters, numbers, hyphens, underscores or full stops, "
            "starts with a letter and ends with a letter or number."
        )
    return handle.lower()


def _snap_url(url: _Url) -> str:
    first = url.part(0)
    if first.lower() == "add" and len(url.segments) >= 2:
        handle, rest = url.part(1), url.segments[2:]
    elif first.startswith("@"):
        handle, rest = first, url.segments[1:]
    else:
        raise HandleError(_not_profile(Platform.SNAPCHAT))
    named = handle
    _check_rest(Platform.SNAPCHAT, rest, posts={"spotlight", "highlight", "story"}, account=lambda: _snap_bare(named))
    return _snap_bare(handle)


# --------------------------------------------------------------------------
# WhatsApp

_WA_CHANNEL = re.compile(r"[A-Za-z0-9]{10,40}")
_WA_PHONE_CHARS = re.compile(r"\+?[0-9() .\-]+")
_MSG_WA_PHONE = "A WhatsApp number is a full phone number, such as 07700 900123 or +44 7700 900123."


def _wa_phone(text: str) -> str:
    """Digits only, in international form: UK numbers starting 0 become 44..., 00 prefixes go."""
    value = text.strip()
    if not _ascii_match(_WA_PHONE_CHARS, value):
        raise HandleError(_MSG_WA_PHONE)
    if value.startswith("+"):
        value = value.replace("(0)", "", 1)
    digits = re.sub(r"[^0-9]", "", value)
    if value.startswith("+"):
        pass
    elif digits.startswith("00"):
        digits = digits[2:]
    elif digits.startswith("0") and len(digits) in (10, 11):
        digits = "44" + digits[1:]
    if not 7 <= len(digits) <= 15 or digits.startswith("0"):
        raise HandleError(_MSG_WA_PHONE)
    return digits


def _wa_channel(value: str) -> str:
    if not _ascii_match(_WA_CHANNEL, value):
        raise HandleError("A WhatsApp channel link looks like whatsapp.com/channel/ followed by letters and numbers.")
    return value


def _wa_bare(text: str) -> str:
    if text[:8].lower() == "channel/":
        return "channel/" + _wa_channel(text[8:].rstrip("/"))
    return _wa_phone(text)


def _wa_url(url: _Url) -> str:
    if url.host.startswith("chat."):
        raise HandleError(
            "That is a WhatsApp group invitation, not an account. Give the phone number or the channel link instead."
        )
    first = url.part(0).lower()
    if url.host == "wa.me" or url.host.endswith(".wa.me"):
        if not url.segments or first in ("message", "qr", "c"):
            raise HandleError(_not_profile(Platform.WHATSAPP))
        return _wa_phone(url.part(0))
    if first == "channel" and len(url.segments) >= 2:
        return "channel/" + _wa_channel(url.part(1))
    if first in ("send", "") and url.query.get("phone"):
        return _wa_phone(url.query["phone"][0])
    raise HandleError(_not_profile(Platform.WHATSAPP))


# --------------------------------------------------------------------------
# Other sites

_MSG_OTHER = (
    "For another site, give the web address of the account's page, such as "
    "example.org/nhstrust, or the handle without spaces."
)


_OTHER_FORBIDDEN = frozenset("<>\"'`{}|\\^[]")


def _other_hostlike(value: str) -> bool:
    """True when ``value`` starts with a site name (and perhaps a port), so it has an address."""
    head = value.partition("/")[0]
    host, colon, port = head.partition(":")
    return _is_domain(host) and (not colon or (port.isascii() and port.isdigit()))


def _other_url(url: _Url) -> str:
    host = url.host
    while host.startswith("www.") and _is_domain(host[4:]):
        host = host[4:]
    port = f":{url.port}" if url.port is not None else ""
    path = "/".join(quote(segment, safe=_PCHAR_SAFE) for segment in url.segments)
    return f"{host}{port}/{path}" if path else f"{host}{port}"


def _other_bare(text: str) -> str:
    value = text.lstrip("@").lower()
    if _other_hostlike(value):
        return _from_url(Platform.OTHER, split_url(value))
    if (
        not value
        or len(value) > 200
        or any(ch.isspace() or ch in _OTHER_FORBIDDEN for ch in value)
        or looks_like_url(value)
    ):
        raise HandleError(_MSG_OTHER)
    return value


# --------------------------------------------------------------------------
# Dispatch

_URL_PARSERS: dict[Platform, Callable[[_Url], str]] = {
    Platform.X: _x_url,
    Platform.FACEBOOK: _fb_url,
    Platform.INSTAGRAM: _ig_url,
    Platform.LINKEDIN: _li_url,
    Platform.YOUTUBE: _yt_url,
    Platform.TIKTOK: _tt_url,
    Platform.THREADS: _threads_url,
    Platform.BLUESKY: _bsky_url,
    Platform.MASTODON: _masto_url,
    Platform.PINTEREST: _pin_url,
    Platform.FLICKR: _flickr_url,
    Platform.SNAPCHAT: _snap_url,
    Platform.WHATSAPP: _wa_url,
    Platform.OTHER: _other_url,
}
_BARE_PARSERS: dict[Platform, Callable[[str], str]] = {
    Platform.X: _x_bare,
    Platform.FACEBOOK: _fb_bare,
    Platform.INSTAGRAM: _ig_bare,
    Platform.LINKEDIN: _li_bare,
    Platform.YOUTUBE: _yt_bare,
    Platform.TIKTOK: _tt_bare,
    Platform.THREADS: _threads_bare,
    Platform.BLUESKY: _bsky_bare,
    Platform.MASTODON: _masto_bare,
    Platform.PINTEREST: _pin_bare,
    Platform.FLICKR: _flickr_bare,
    Platform.SNAPCHAT: _snap_bare,
    Platform.WHATSAPP: _wa_bare,
    Platform.OTHER: _other_bare,
}


def _as_platform(platform: Platform | str) -> Platform:
    if isinstance(platform, Platform):
        return platform
    if isinstance(platform, str):
        try:
            return Platform(platform.strip().lower())
        except ValueError:
            pass
    raise HandleError(_MSG_UNKNOWN_PLATFORM)


#: Sign-in pages that send people on to the page they asked for, by platform: (the page's path, the
#: query parameters naming where to). Someone not signed in copies these from the address bar.
_SIGN_IN_PAGES: dict[Platform, tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]] = {
    Platform.X: ((("i", "flow", "login"), ("redirect_after_login",)), (("login",), ("redirect_after_login",))),
    Platform.INSTAGRAM: ((("accounts", "login"), ("next",)),),
    Platform.FACEBOOK: ((("login",), ("next",)), (("login.php",), ("next",))),
    Platform.LINKEDIN: ((("authwall",), ("sessionRedirect",)), (("login",), ("session_redirect", "sessionRedirect"))),
    Platform.TIKTOK: ((("login",), ("redirect_url",)),),
}

#: How many path segments each platform's sign-in pages have.
_SIGN_IN_SIZES: dict[Platform, frozenset[int]] = {
    platform: frozenset(len(page) for page, _names in pages) for platform, pages in _SIGN_IN_PAGES.items()
}


def _past_sign_in(platform: Platform, url: _Url) -> _Url:
    """The page a sign-in page on ``platform`` would send people on to, when it is on the same platform;
    else ``url`` itself."""
    if len(url.segments) not in _SIGN_IN_SIZES.get(platform, ()):
        return url  # no sign-in page has a path of that length (decoding keeps the number of segments)
    path = tuple(unquote(segment).lower() for segment in url.segments)
    for page, names in _SIGN_IN_PAGES[platform]:
        if path != page:
            continue
        for name in names:
            target = next(iter(url.query.get(name, [])), "")
            if target.startswith("/") and not target.startswith("//"):
                target = f"https://{url.host}{target}"
            try:
                onward = split_url(target) if target else None
            except HandleError:
                return url
            owner = host_owner(onward.host) if onward else None
            if onward is not None and owner == (platform, "profile") and onward.port is None:
                return onward
    return url


#: Sites that show another platform's posts and profiles under the same path (to embed them better in
#: chats). Their addresses name an account, but the site is not the platform: refused, naming the real one.
_MIRROR_HOSTS: dict[str, Platform] = {
    "fxtwitter.com": Platform.X,
    "vxtwitter.com": Platform.X,
    "fixupx.com": Platform.X,
    "fixvx.com": Platform.X,
    "twittpr.com": Platform.X,
    "ddinstagram.com": Platform.INSTAGRAM,
    "fxbsky.app": Platform.BLUESKY,
}


def _refuse_mirror(url: _Url) -> None:
    """Refuse an address on a mirror site, saying which account's own address to use instead."""
    host = url.host
    while host.count(".") > 1 and host not in _MIRROR_HOSTS:
        host = host.partition(".")[2]
    platform = _MIRROR_HOSTS.get(host)
    if platform is None:
        return
    account: str | None = None
    try:
        account = _URL_PARSERS[platform](url._replace(host=_HOSTS[platform][0], port=None))
    except AccountLink as link:
        account = link.account
    except HandleError:
        pass
    where = f"That address is on {host}, a site that shows {_NAMES[platform]} posts, not {_NAMES[platform]} itself."
    if account is None:
        raise HandleError(f"{where} Open it on {_HOSTS_TEXT[platform]} and copy the address of the account's page.")
    raise HandleError(f"{where} Use the account's own address instead: {PLATFORMS[platform].profile_url(account)}")


def _from_url(platform: Platform, url: _Url) -> str:
    """The canonical handle ``url`` names on ``platform``; refuses any other site's address."""
    _refuse_mirror(url)
    return _on_site(platform, url, host_owner(url.host))


def _on_site(platform: Platform, url: _Url, owner: tuple[Platform, str] | None) -> str:
    """:func:`_from_url` of an address already checked not to be on a mirror site, whose host's
    owner (:func:`host_owner`) is ``owner``."""
    onward = _past_sign_in(platform, url)
    if onward is not url:
        url, owner = onward, host_owner(onward.host)
    if platform in (Platform.OTHER, Platform.MASTODON):
        if owner is not None:
            if owner[1] == "short":
                raise HandleError(_MSG_SHORT_LINK)
            raise HandleError(_wrong_host(platform, owner[0]))
        require_domain(url.host)
        if platform is Platform.MASTODON and (url.port is not None or url.host in _NOT_FEDIVERSE):
            raise HandleError(_wrong_host(platform, None))
        return _URL_PARSERS[platform](url)
    if owner is None or owner[0] is not platform or url.port is not None:
        raise HandleError(_wrong_host(platform, owner[0] if owner else None))
    if url.host == "youtu.be" and url.segments:
        raise AccountLink(Platform.YOUTUBE, "post", None)  # youtu.be/ID is a video, not a link to anywhere
    if owner[1] == "short":
        raise HandleError(_MSG_SHORT_LINK)
    if owner[1] == "service":
        raise HandleError(_not_profile(platform))
    return _URL_PARSERS[platform](url)


def normalise_handle(platform: Platform | str, raw: str) -> str:
    """The canonical handle for ``raw`` on ``platform``; raises only ``HandleError``.

    ``raw`` is a bare handle (``@NHSTrust``, ``NHSTrust``) or a web address on
    one of the platform's sites, with or without ``https://``. Canonical handles
    are fixed points: ``normalise_handle(p, h) == h`` whenever ``h`` came from here.
    A follow link that names its account gives that account; a link to a single
    post is refused with a message naming the account's own address.
    """
    return _accepting_follow_links(lambda: _normalise(platform, raw))


def _accepting_follow_links(read: Callable[[], str]) -> str:
    try:
        return read()
    except AccountLink as link:
        if link.kind == "intent" and link.account is not None:
            return _within_limits(link.platform, link.account)
        raise HandleError(str(link)) from None


def read_link(platform: Platform | str | None, raw: str) -> Reading:
    """What ``raw`` names, for verification: like :func:`normalise_handle` (``platform`` given) or
    :func:`parse_url` (None), but a post or follow link answers with the account it names, or with no
    handle when its address does not name one. Raises only ``HandleError``."""
    try:
        if platform is None:
            chosen, handle = _parse_url(raw)
        else:
            chosen = _as_platform(platform)
            handle = _normalise(chosen, raw)
    except AccountLink as link:
        if link.account is None:
            return Reading(link.platform, None, link.kind, str(link))
        return Reading(link.platform, _within_limits(link.platform, link.account), link.kind)
    return Reading(chosen, handle, "account")


def _normalise(platform: Platform | str, raw: str) -> str:
    chosen = _as_platform(platform)
    text = _clean(raw)
    if chosen is Platform.BLUESKY and text.removeprefix("@")[:4].lower() == "did:":
        return _within_limits(chosen, _bsky_bare(text))
    scheme, shaped = _address_shape(text)
    if shaped:
        return _within_limits(chosen, _from_url(chosen, _split_url(text, scheme)))
    return _within_limits(chosen, _BARE_PARSERS[chosen](text))


def _within_limits(platform: Platform, handle: str) -> str:
    """The registry stores handles of up to 255 characters and addresses of up to 2048."""
    if len(handle) > MAX_HANDLE_LENGTH or len(PLATFORMS[platform].profile_url(handle)) > MAX_INPUT_LENGTH:
        raise HandleError(_MSG_HANDLE_TOO_LONG)
    return handle


def parse_url(raw: str) -> tuple[Platform, str]:
    """The platform a web address belongs to and the account's canonical handle.

    Addresses on no known platform are Mastodon when the path is ``/@user`` or
    ``/users/user``, and ``other`` otherwise. Raises only ``HandleError``.
    """
    try:
        return _parse_url(raw)
    except AccountLink as link:
        caught = link
    return caught.platform, _accepting_follow_links(lambda: _raise(caught))


def _raise(error: Exception) -> str:
    raise error


def _parse_url(raw: str) -> tuple[Platform, str]:
    """:func:`parse_url`, the address's scheme and site each read once (and a post or follow link raised
    as :class:`AccountLink`)."""
    text = _clean(raw)
    scheme, shaped = _address_shape(text)
    if not shaped and not _is_domain(text.partition("/")[0].lower()):
        raise HandleError(_MSG_NOT_A_URL)
    url = _split_url(text, scheme)
    _refuse_mirror(url)
    owner = host_owner(url.host)
    if owner is not None:
        return owner[0], _within_limits(owner[0], _on_site(owner[0], url, owner))
    require_domain(url.host)
    if url.port is None and url.host not in _NOT_FEDIVERSE and _masto_account(url) is not None:
        return Platform.MASTODON, _within_limits(Platform.MASTODON, _masto_url(url))
    return Platform.OTHER, _within_limits(Platform.OTHER, _other_url(url))


# --------------------------------------------------------------------------
# Profile addresses


def _facebook_profile(handle: str) -> str:
    if _DIGITS_RE.fullmatch(handle):
        return f"https://www.facebook.com/profile.php?id={handle}"
    return f"https://www.facebook.com/{handle}"


def _mastodon_profile(handle: str) -> str:
    user, _, instance = handle.partition("@")
    return f"https://{instance}/@{user}"


def _whatsapp_profile(handle: str) -> str:
    if handle.startswith("channel/"):
        return f"https://whatsapp.com/{handle}"
    return f"https://wa.me/{handle}"


def _other_profile(handle: str) -> str:
    return f"https://{handle}" if _other_hostlike(handle) else ""


_PROFILE_URLS: dict[Platform, Callable[[str], str]] = {
    Platform.X: lambda h: f"https://x.com/{h}",
    Platform.FACEBOOK: _facebook_profile,
    Platform.INSTAGRAM: lambda h: f"https://www.instagram.com/{h}/",
    Platform.LINKEDIN: lambda h: f"https://www.linkedin.com/{h}/",
    Platform.YOUTUBE: lambda h: f"https://www.youtube.com/{h}",
    Platform.TIKTOK: lambda h: f"https://www.tiktok.com/@{h}",
    Platform.THREADS: lambda h: f"https://www.threads.com/@{h}",
    Platform.BLUESKY: lambda h: f"https://bsky.app/profile/{h}",
    Platform.MASTODON: _mastodon_profile,
    Platform.PINTEREST: lambda h: f"https://www.pinterest.com/{h}/",
    Platform.FLICKR: lambda h: f"https://www.flickr.com/photos/{h}/",
    Platform.SNAPCHAT: lambda h: f"https://www.snapchat.com/add/{h}",
    Platform.WHATSAPP: _whatsapp_profile,
    Platform.OTHER: _other_profile,
}


# --------------------------------------------------------------------------
# The catalogue

_HINT_URL = "or the profile's web address"

PLATFORMS: dict[Platform, PlatformInfo] = {
    info.platform: info
    for info in (
        PlatformInfo(
            Platform.X,
            "X (Twitter)",
            f"Your @handle, such as @NHSTrust, {_HINT_URL}",
            280,
        ),
        PlatformInfo(
            Platform.FACEBOOK,
            "Facebook",
            "The page's username, such as NHSTrust, or the page's web address",
            63206,
        ),
        PlatformInfo(
            Platform.INSTAGRAM,
            "Instagram",
            f"The @username, such as @nhstrust, {_HINT_URL}",
            2200,
        ),
        PlatformInfo(
            Platform.LINKEDIN,
            "LinkedIn",
            "The page's web address, such as linkedin.com/company/nhs-trust",
            3000,
        ),
        PlatformInfo(
            Platform.YOUTUBE,
            "YouTube",
            "The channel's @handle, such as @NHSTrust, or the channel's web address",
            5000,
        ),
        PlatformInfo(
            Platform.TIKTOK,
            "TikTok",
            f"The @username, such as @nhstrust, {_HINT_URL}",
            4000,
        ),
        PlatformInfo(
            Platform.THREADS,
            "Threads",
            f"The @username (the same as on Instagram), such as @nhstrust, {_HINT_URL}",
            500,
        ),
        PlatformInfo(
            Platform.BLUESKY,
            "Bluesky",
            f"The full handle, such as nhstrust.bsky.social, {_HINT_URL}",
            300,
        ),
        PlatformInfo(
            Platform.MASTODON,
            "Mastodon",
            f"The full handle including the server, such as @nhstrust@mastodon.social, {_HINT_URL}",
            500,
        ),
        PlatformInfo(
            Platform.PINTEREST,
            "Pinterest",
            f"The username, such as nhstrust, {_HINT_URL}",
            500,
        ),
        PlatformInfo(
            Platform.FLICKR,
            "Flickr",
            "The profile's web address, such as flickr.com/photos/nhstrust",
            None,
        ),
        PlatformInfo(
            Platform.SNAPCHAT,
            "Snapchat",
            "The username, such as nhstrust, or the snapchat.com/add link",
            250,
        ),
        PlatformInfo(
            Platform.WHATSAPP,
            "WhatsApp",
            "The phone number, such as 07700 900123, or the channel's web address",
            None,
        ),
        PlatformInfo(
            Platform.OTHER,
            "Other",
            "The web address of the account's page, such as example.org/nhstrust",
            None,
        ),
    )
}
