"""What public verification knows, held in memory by each process, never more than a second behind.

Verification is asked far more often than the registry changes, so each process answers from an
index of the public facts: each official or retired channel by platform and handle, the lookalike
keys of the official ones, and the accounts with an open unauthorised-account finding; and, for the
public directory (:mod:`registry.verification.directory`), when each shown channel first became
official and its latest step. Only what the public may see is held (no requester, no purpose, no
reason given for a step, nothing in custody).

The index is fresh, in every process of every host, within :data:`FRESH_FOR`: database triggers
(migration 0018) move ``public_facts_version`` in the transaction of every change to those tables,
however it is made, and a process reads that one row at most once per :data:`FRESH_FOR`, reloading
the index when it moved. A change committed by this process's own sessions makes the next question
reload at once; after any database error the next question reads the version again (so an
unreachable database is a 503 here as on every page). A session that has changed those tables and
not yet committed answers from what it can see itself, and never puts that into the index others use.

Why a version row and not PostgreSQL's LISTEN/NOTIFY: one code path on SQLite and PostgreSQL; no
listening connection per process to keep alive and reconnect (a lost notification would leave a
process stale for ever, so a poll would be needed anyway); and the cost is one indexed one-row
SELECT per process per second.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
from collections import Counter
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, Final

from flask import current_app, has_app_context
from sqlalchemy import Engine, case, event, func, inspect, select
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from registry import db
from registry.channels.lookalike import comparable_part, official_affix_keys
from registry.channels.models import Channel, ChannelLookalikeKey, ChannelTransition, reference_for
from registry.channels.platforms import PLATFORMS, Platform, shown_handle
from registry.channels.workflow import OFFICIAL_STATUSES, ChannelStatus
from registry.monitoring.services import open_findings
from registry.verification.models import WATCHED, WATCHED_TABLES, PublicFactsVersion

#: The longest a process answers from an index without checking that it is still the database's.
FRESH_FOR: Final = 1.0
#: The longest a process keeps an index whose version has not moved. A backstop: the version only says
#: "changed" if it differs, and a database restored from a backup, or failed over to a replica that was
#: behind, could come back to the very number this process holds, with other facts.
RELOAD_AT_LEAST: Final = 60.0
#: How many (channel, key) pairs a lookalike search looks through, lowest channel id first: the query
#: it replaces read at most 50 rows, and its answers stay the same.
LOOKALIKE_ROWS: Final = 50
#: The longest lookalike key stored (``channel_lookalike_keys.key``); a longer key is looked up as stored.
KEY_LENGTH: Final = 255

_ID = attrgetter("id")
_EXTENSION = "registry.public_facts"
_CHANGING = "registry.public_facts_changing"
_OFFICIAL = sorted(status.value for status in OFFICIAL_STATUSES)
_SHOWN = sorted(status.value for status in OFFICIAL_STATUSES | {ChannelStatus.RETIRED})


@dataclass(frozen=True, slots=True)
class PublicChannel:
    """What anyone may know of an official or formerly official channel."""

    id: int
    reference: str
    platform: str
    platform_label: str
    handle: str
    url: str
    display_name: str
    department: str
    status: str
    status_changed_at: dt.datetime

    @property
    def status_enum(self) -> ChannelStatus:
        return ChannelStatus(self.status)

    @property
    def platform_enum(self) -> Platform:
        return Platform(self.platform)

    @property
    def shown_handle(self) -> str:
        """The handle as people write it (``@name`` on X, Instagram, Threads, TikTok, Mastodon)."""
        return shown_handle(self.platform_enum, self.handle)


@dataclass(frozen=True)
class PublicFacts:
    """One reading of the public facts, as of ``version``."""

    version: int
    #: (platform, handle) → the official channel with that handle, else the most recently retired one.
    channels: dict[tuple[str, str], PublicChannel] = field(default_factory=dict)
    #: platform → lookalike key → the official channels with that key, lowest id first (as the rows come).
    lookalike_keys: dict[str, dict[str, tuple[PublicChannel, ...]]] = field(default_factory=dict)
    #: (platform, handle) of every account with an open unauthorised-account finding.
    unauthorised: frozenset[tuple[str, str]] = frozenset()
    #: platform → affix key → the official channels with that key, lowest id first: an official name with
    #: words such as "official" or "uk" added is found by one look-up per key of the candidate
    #: (:func:`registry.channels.lookalike.affix_keys`). Held in memory only, made from the handles.
    affix_keys: dict[str, dict[str, tuple[PublicChannel, ...]]] = field(default_factory=dict)
    #: Every official or retired channel, lowest id first (``channels`` holds one per handle).
    shown: tuple[PublicChannel, ...] = ()
    #: Channel id → when it first became official (active or suspended), for each shown channel that ever was.
    official_since: dict[int, dt.datetime] = field(default_factory=dict)
    #: Channel id → the time of its latest recorded step, for each shown channel.
    last_step: dict[int, dt.datetime] = field(default_factory=dict)

    def channel(self, platform: Platform, handle: str) -> PublicChannel | None:
        return self.channels.get((platform.value, handle))

    def lookalike_candidates(self, platform: Platform, keys: AbstractSet[str], handle: str) -> list[PublicChannel]:
        """The official channels other than ``handle`` that share one of ``keys``, lowest id first, as far
        as the first :data:`LOOKALIKE_ROWS` (channel, key) pairs reach.

        The keys some official channel has are found by one set intersection (most questions share none)."""
        on_platform = self.lookalike_keys.get(platform.value, {})
        if max(map(len, keys), default=0) > KEY_LENGTH:
            keys = {key[:KEY_LENGTH] for key in keys}  # as stored
        # One (channel, key) pair for each key a channel shares; counted and told apart by id in C.
        sharing = [
            candidate
            for key in on_platform.keys() & keys
            for candidate in on_platform[key]
            if candidate.handle != handle
        ]
        if not sharing:
            return []
        pairs = Counter(map(_ID, sharing))
        by_id = {candidate.id: candidate for candidate in sharing}
        found: list[PublicChannel] = []
        rows = 0
        for channel_id in sorted(pairs):
            if rows >= LOOKALIKE_ROWS:
                break
            found.append(by_id[channel_id])
            rows += pairs[channel_id]
        return found

    def affix_candidates(self, platform: Platform, keys: AbstractSet[str], handle: str) -> list[PublicChannel]:
        """The official channels other than ``handle`` with one of ``keys`` as an affix key, lowest id first."""
        on_platform = self.affix_keys.get(platform.value, {})
        found = {
            candidate.id: candidate
            for key in on_platform.keys() & keys  # (one set intersection: most questions share none)
            for candidate in on_platform[key]
            if candidate.handle != handle
        }
        return [found[channel_id] for channel_id in sorted(found)][:LOOKALIKE_ROWS]

    def known_unauthorised(self, platform: Platform, handle: str) -> bool:
        return (platform.value, handle) in self.unauthorised


def current() -> PublicFacts:
    """The public facts, at most :data:`FRESH_FOR` behind the database (none behind this process's own
    committed changes, nor the current session's own uncommitted ones)."""
    open_session = db.open_session()
    if open_session is not None and open_session.info.get(_CHANGING):
        return load(open_session)
    return _cache(create=True).fresh()


class _Cache:
    """The process's index of the public facts for one application, and when it was last checked."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.facts: PublicFacts | None = None
        self.checked_at = -math.inf
        self.loaded_at = -math.inf
        #: Set when a session of this process changed the facts: reload without waiting for the version.
        self.changed = True

    def fresh(self) -> PublicFacts:
        facts = self.facts
        if facts is not None and not self.changed and time.monotonic() - self.checked_at < FRESH_FOR:
            return facts
        with self.lock:
            facts = self.facts
            started = time.monotonic()
            if facts is not None and not self.changed and started - self.checked_at < FRESH_FOR:
                return facts  # another thread has just checked
            changed, self.changed = self.changed, False
            try:
                with db.database().new_session(reading=True) as session:
                    version = read_version(session)
                    if (
                        changed
                        or facts is None
                        or version != facts.version
                        or started - self.loaded_at >= RELOAD_AT_LEAST
                    ):
                        facts = self.facts = load(session, version)
                        self.loaded_at = started
            except BaseException:
                self.changed = self.changed or changed
                raise
            self.checked_at = started
            return facts


def read_version(session: Session) -> int:
    version: int = session.execute(select(PublicFactsVersion.version).where(PublicFactsVersion.id == 1)).scalar_one()
    return version


def load(session: Session, version: int | None = None) -> PublicFacts:
    """Read the public facts through ``session`` (the version first, so the facts are at least as new)."""
    if version is None:
        version = read_version(session)
    by_id: dict[int, PublicChannel] = {}
    channels: dict[tuple[str, str], PublicChannel] = {}
    table = Channel.__table__.c
    rows = session.execute(
        select(
            table.id,
            table.platform,
            table.handle,
            table.url,
            table.display_name,
            table.department,
            table.status,
            table.status_changed_at,
        ).where(table.status.in_(_SHOWN))
    )
    official = frozenset(_OFFICIAL)
    labels = {platform.value: info.label for platform, info in PLATFORMS.items()}
    for channel_id, platform, handle, url, display_name, department, status, changed_at in rows:
        channel = PublicChannel(
            id=channel_id,
            reference=reference_for(channel_id),
            platform=platform,
            platform_label=labels[platform],
            handle=handle,
            url=url,
            display_name=display_name,
            department=department,
            status=status,
            status_changed_at=changed_at,
        )
        by_id[channel_id] = channel
        held = channels.get((platform, handle))
        if held is None or _preference(channel, official) < _preference(held, official):
            channels[(platform, handle)] = channel
    keys: dict[str, dict[str, list[PublicChannel]]] = {}
    key = ChannelLookalikeKey.__table__.c
    key_rows = session.execute(
        select(key.platform, key.key, key.channel_id)
        .join(Channel.__table__, table.id == key.channel_id)
        .where(table.status.in_(_OFFICIAL))
        .order_by(key.channel_id)
    )
    for platform, text, channel_id in key_rows:
        keys.setdefault(platform, {}).setdefault(text, []).append(by_id[channel_id])
    affixes: dict[str, dict[str, list[PublicChannel]]] = {}
    for channel_id in sorted(by_id):
        channel = by_id[channel_id]
        if channel.status in official:
            for text in official_affix_keys(comparable_part(channel.platform, channel.handle)):
                affixes.setdefault(channel.platform, {}).setdefault(text, []).append(channel)
    official_since, last_step = _history(session)
    return PublicFacts(
        version=version,
        channels=channels,
        lookalike_keys={
            platform: {text: tuple(found) for text, found in by_key.items()} for platform, by_key in keys.items()
        },
        unauthorised=frozenset(open_findings(session)),
        affix_keys={
            platform: {text: tuple(found) for text, found in by_key.items()} for platform, by_key in affixes.items()
        },
        shown=tuple(sorted(by_id.values(), key=lambda channel: channel.id)),
        official_since=official_since,
        last_step=last_step,
    )


def _history(session: Session) -> tuple[dict[int, dt.datetime], dict[int, dt.datetime]]:
    """For each shown channel, when it first became official (if it ever did) and its latest step: one
    grouped query over its history (steps come with a change of a watched column, so the version moves)."""
    step = ChannelTransition.__table__.c
    table = Channel.__table__.c
    rows = session.execute(
        select(
            step.channel_id,
            func.min(case((step.to_status.in_(_OFFICIAL), step.occurred_at))),
            func.max(step.occurred_at),
        )
        .join(Channel.__table__, table.id == step.channel_id)
        .where(table.status.in_(_SHOWN))
        .group_by(step.channel_id)
    )
    official_since: dict[int, dt.datetime] = {}
    last_step: dict[int, dt.datetime] = {}
    for channel_id, first_official, latest in rows:
        if first_official is not None:
            official_since[channel_id] = first_official
        last_step[channel_id] = latest
    return official_since, last_step


def _preference(channel: PublicChannel, official: frozenset[str]) -> tuple[int, float, int]:
    """Official first, then the most recently changed, then the newest."""
    return (0 if channel.status in official else 1, -channel.status_changed_at.timestamp(), -channel.id)


def _cache(*, create: bool) -> _Cache:
    # One look-up through the proxy (each raises and catches an AttributeError), not two.
    extensions = current_app._get_current_object().extensions  # type: ignore[attr-defined]
    found: _Cache | None = extensions.get(_EXTENSION)
    if found is None and create:
        found = extensions.setdefault(_EXTENSION, _Cache())
    return found  # type: ignore[return-value]


# --- noticing this process's own changes --------------------------------------------------------


def _changing(session: Session) -> None:
    """``session`` has changed the public facts: it answers from its own reading until its transaction
    ends, and the process's index reloads at its next use."""
    session.info[_CHANGING] = True
    _mark_changed()


def _mark_changed() -> None:
    if has_app_context():
        cache: _Cache | None = current_app.extensions.get(_EXTENSION)
        if cache is not None:
            cache.changed = True


def _shows(instance: object, *, changed_only: bool) -> bool:
    table = getattr(getattr(instance, "__table__", None), "name", None)
    if table not in WATCHED_TABLES:
        return False
    columns = WATCHED[table]
    if not changed_only or columns is None:
        return True
    attributes = inspect(instance).attrs
    return any(attributes[name].history.has_changes() for name in columns)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    if any(_shows(o, changed_only=False) for o in (*session.new, *session.deleted)) or any(
        _shows(o, changed_only=True) for o in session.dirty
    ):
        _changing(session)


@event.listens_for(Session, "do_orm_execute")
def _on_statement(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(getattr(state.statement, "table", None), "name", None)
        if table in WATCHED_TABLES:
            _changing(state.session)


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None and session.info.pop(_CHANGING, False):
        _mark_changed()


@event.listens_for(Engine, "handle_error")
def _database_failed(_context: ExceptionContext) -> None:
    """After a database error this process answers from its index only once it has read the version
    again: while the database is unreachable, verification answers 503 as every page does."""
    if has_app_context():
        cache: _Cache | None = current_app.extensions.get(_EXTENSION)
        if cache is not None:
            cache.checked_at = -math.inf
