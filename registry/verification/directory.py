"""The public directory of the Trust's official accounts (capability 15), read from the public facts.

The directory is what verification says, as a list: every channel that is official now (active, or
suspended: still the Trust's account, only paused) and every one that was official and has since been
retired, so that an old link can be checked. A channel retired without ever having been active (an
inventory row imported as retired, say) was never official here and is not listed. One entry per
account: where a handle was official more than once, the current official channel, else the most
recently retired, as verification prefers.

Everything is built from :func:`registry.verification.index.current`, so it costs no SQL while the
index is fresh and is never staler than verification; the JSON and CSV bodies, their ETags and the
JSON-LD snippet are made once per reading of the facts and shared by every request that follows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Final

from flask import current_app

from registry.channels.workflow import OFFICIAL_STATUSES, ChannelStatus
from registry.verification import index
from registry.verification.index import PublicChannel, PublicFacts
from registry.web.exports import csv_text

_EXTENSION = "registry.directory"
_OFFICIAL: Final = frozenset(status.value for status in OFFICIAL_STATUSES)

#: The CSV download's columns: the JSON's fields, then when a formerly official account stopped being one.
CSV_COLUMNS: Final = (
    "platform",
    "handle",
    "url",
    "display_name",
    "department",
    "status",
    "official_since",
    "official_until",
)


@dataclass(frozen=True, slots=True)
class Entry:
    """One account of the directory, as the public may see it."""

    channel: PublicChannel
    #: When it first became official.
    official_since: dt.datetime
    #: When a formerly official account was retired; None while it is official.
    official_until: dt.datetime | None
    #: When anything the directory shows of it last changed.
    changed_at: dt.datetime

    @property
    def official(self) -> bool:
        return self.official_until is None

    @property
    def suspended(self) -> bool:
        return self.channel.status == ChannelStatus.SUSPENDED.value

    def item(self) -> dict[str, Any]:
        """The entry as the API's ``items`` hold it."""
        channel = self.channel
        return {
            "platform": channel.platform,
            "handle": channel.handle,
            "url": channel.url,
            "display_name": channel.display_name,
            "department": channel.department,
            "status": channel.status,
            "official_since": self.official_since,
            "official_until": self.official_until,
        }


@dataclass(frozen=True)
class Group:
    """Entries under one heading (a platform, or a department)."""

    key: str
    label: str
    entries: tuple[Entry, ...]

    @property
    def official(self) -> tuple[Entry, ...]:
        return tuple(entry for entry in self.entries if entry.official)


@dataclass(frozen=True)
class Body:
    """One representation of the directory, ready to send: its bytes and their strong ETag."""

    content: bytes
    etag: str


class Directory:
    """The directory as of one reading of the public facts."""

    def __init__(self, facts: PublicFacts) -> None:
        self.version = facts.version
        self.entries = _entries(facts)
        self._rendered: dict[str, Body] = {}

    @cached_property
    def official(self) -> tuple[Entry, ...]:
        return tuple(entry for entry in self.entries if entry.official)

    @cached_property
    def retired(self) -> tuple[Entry, ...]:
        return tuple(entry for entry in self.entries if not entry.official)

    @cached_property
    def last_modified(self) -> dt.datetime | None:
        """When what the directory shows last changed (None while it is empty)."""
        return max((entry.changed_at for entry in self.entries), default=None)

    @cached_property
    def by_platform(self) -> tuple[Group, ...]:
        return _grouped(self.entries, lambda e: (e.channel.platform, e.channel.platform_label))

    @cached_property
    def by_department(self) -> tuple[Group, ...]:
        return _grouped(self.entries, lambda e: (e.channel.department.casefold(), e.channel.department))

    def rendered(self, name: str, render: Callable[[Directory], bytes]) -> Body:
        """The representation ``name`` (``render`` makes it from this directory), made once."""
        found = self._rendered.get(name)
        if found is None:
            content = render(self)
            found = self._rendered.setdefault(name, Body(content, hashlib.sha256(content).hexdigest()[:32]))
        return found

    def csv(self) -> bytes:
        rows = ([entry.item()[name] for name in CSV_COLUMNS] for entry in self.entries)
        return csv_text(CSV_COLUMNS, rows).encode("utf-8")

    def organisation(self, *, name: str, website: str | None) -> dict[str, Any]:
        """A schema.org ``Organization`` tying the official accounts (``sameAs``) to the Trust."""
        snippet: dict[str, Any] = {"@context": "https://schema.org", "@type": "Organization", "name": name}
        if website:
            snippet["url"] = website
        snippet["sameAs"] = [entry.channel.url for entry in self.official]
        return snippet

    def json_ld(self, *, name: str, website: str | None) -> str:
        """The ``Organization`` as indented JSON, ready to paste into a ``<script type="application/ld+json">``:
        ``<``, ``>`` and ``&`` are written as JSON escapes, so no name or address can close that element on
        the Trust's own website, whatever it holds."""
        text = json.dumps(self.organisation(name=name, website=website), indent=2, ensure_ascii=False)
        return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def current() -> Directory:
    """The directory of the current public facts, made once per reading of them in this process."""
    facts = index.current()
    holder: _Held = current_app.extensions.setdefault(_EXTENSION, _Held())
    with holder.lock:
        if holder.facts is not facts or holder.directory is None:
            holder.facts, holder.directory = facts, Directory(facts)
        return holder.directory


class _Held:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.facts: PublicFacts | None = None
        self.directory: Directory | None = None


def _entries(facts: PublicFacts) -> tuple[Entry, ...]:
    chosen: dict[tuple[str, str], Entry] = {}
    for channel in facts.shown:
        official = channel.status in _OFFICIAL
        since = facts.official_since.get(channel.id)
        if since is None:
            if not official:
                continue  # retired without ever having been official
            since = channel.status_changed_at  # no step records it (older data): as of its status
        changed_at = max(facts.last_step.get(channel.id, channel.status_changed_at), channel.status_changed_at)
        entry = Entry(channel, since, None if official else channel.status_changed_at, changed_at)
        key = (channel.platform, channel.handle)
        held = chosen.get(key)
        if held is None or _preference(entry) < _preference(held):
            chosen[key] = entry
    return tuple(
        sorted(
            chosen.values(),
            key=lambda e: (e.channel.platform_label, e.channel.display_name.casefold(), e.channel.handle.casefold()),
        )
    )


def _preference(entry: Entry) -> tuple[int, float, int]:
    """Official first, then the most recently retired, then the newest (as verification prefers)."""
    return (0 if entry.official else 1, -entry.channel.status_changed_at.timestamp(), -entry.channel.id)


def _grouped(entries: tuple[Entry, ...], by: Callable[[Entry], tuple[str, str]]) -> tuple[Group, ...]:
    groups: dict[str, tuple[str, list[Entry]]] = {}
    for entry in entries:
        key, label = by(entry)
        groups.setdefault(key, (label, []))[1].append(entry)
    return tuple(
        Group(key, label, tuple(found))
        for key, (label, found) in sorted(groups.items(), key=lambda g: g[1][0].casefold())
    )
