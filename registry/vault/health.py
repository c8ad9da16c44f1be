"""Password health across custody, worked out without revealing anything.

Only passwords are assessed. Recovery addresses and phone numbers are meant to be the same Trust
address on many accounts, so "reused" would be noise; two-factor seeds and recovery codes are made
at random by the platform; custody notes are not secrets anyone signs in with. Their rotation dates
still show on the overview ("Credentials to rotate").

- **Weak**: shorter than :data:`MIN_LENGTH` characters, or a zxcvbn score below :data:`MIN_SCORE` (counting
  the account's handle and name and the Trust's name as words an attacker tries first).
- **Reused**: the current password of another live channel has the same keyed fingerprint: an
  HMAC-SHA256 of the value under a key of ``REGISTRY_FINGERPRINT_KEYS`` (outside the database, never
  a master or audit key), stored with its key id beside each version. Fingerprints are compared only
  under the same key id; plaintexts are never compared and no plain hash is kept.
- **Old**: past the credential's rotation date.
- **Known breached**: the SHA-1 of the value is in the Have I Been Pwned list that
  ``REGISTRY_BREACHED_PASSWORDS_FILE`` names: the sorted file (``SHA1:COUNT`` lines in hash order,
  searched by seeking, never read whole) or a directory of range files (``ABCDE.txt`` holding
  ``SUFFIX:COUNT`` lines, as PwnedPasswordsDownloader writes them). Nothing is asked of the internet.
  Without a list, or when it cannot be read, the answer is "not checked", said plainly on the page.

Strength, fingerprint and breach are worked out when a value is stored (:func:`assess_value`, called by
``store``, which the imports use too) and again by ``credentials assess`` (:func:`assess_batch`).
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import hmac
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, Select, and_, case, exists, func, or_, select
from sqlalchemy.orm import aliased

from config import MasterKey, Settings
from registry import clock, db
from registry.channels.models import Channel, reference_for
from registry.channels.workflow import ChannelStatus
from registry.vault.models import Credential, CredentialKind, CredentialVersion

log = logging.getLogger(__name__)

MIN_LENGTH = 12
MIN_SCORE = 3
#: zxcvbn's time grows with the length it is given (some 3 s for 64 characters chosen to be slow), and it
#: refuses more than 72 (a ValueError, which would stop the store): it is given the first 64, enough to
#: tell a strong password from a weak one; a value weak in its first 64 characters is called weak.
ZXCVBN_CHARACTERS = 64
ASSESSED_KINDS = frozenset({CredentialKind.PASSWORD})
_FINGERPRINT_CONTEXT = b"registry/password-fingerprint/v1|"
#: Channels that hold no account worth assessing (the overview leaves them out too).
_NO_ACCOUNT = tuple(s.value for s in (ChannelStatus.REJECTED, ChannelStatus.WITHDRAWN, ChannelStatus.RETIRED))

CHANGE_IT = "Change this password on the platform, then store the new one here."


def _settings() -> Settings:
    found: Settings = current_app.extensions["registry.settings"]
    return found


# --- the three checks of a value ----------------------------------------------------------------


def hints_of(channel: Channel) -> list[str]:
    """Words an attacker would try first for this account: its handle, its name and the Trust's."""
    text = f"{channel.handle} {channel.display_name} {_settings().trust_name}".lower()
    return sorted({part for part in re.split(r"[^a-z0-9]+", text) if len(part) >= 3})


def is_weak(value: str, hints: Sequence[str] = ()) -> bool:
    if len(value) < MIN_LENGTH:
        return True
    from zxcvbn import zxcvbn  # noqa: PLC0415  (loaded when a password is first judged)

    judged = value[:ZXCVBN_CHARACTERS]
    score: int = zxcvbn(judged, user_inputs=list(hints), max_length=ZXCVBN_CHARACTERS)["score"]
    return score < MIN_SCORE


def fingerprint_key() -> MasterKey:
    """The key new fingerprints are made with: the first of ``REGISTRY_FINGERPRINT_KEYS``."""
    return _settings().fingerprint_keys[0]


def fingerprint(value: str, key: MasterKey) -> bytes:
    return hmac.new(key.key, _FINGERPRINT_CONTEXT + value.encode("utf-8"), hashlib.sha256).digest()


def _sha1(value: str) -> bytes:
    return hashlib.sha1(value.encode("utf-8"), usedforsecurity=False).hexdigest().upper().encode("ascii")


def _key_of(line: bytes) -> bytes:
    return line.split(b":", 1)[0].strip().upper()


def _count_of(line: bytes) -> int:
    try:
        return int(line.split(b":", 1)[1].strip() or b"1")
    except (IndexError, ValueError):
        return 1


#: A line of the list is 40 hex digits, a colon and a count: anything far longer is not the list.
LINE_LIMIT = 1024


def _line(handle: Any) -> bytes:
    """The next line, never more than :data:`LINE_LIMIT` bytes read: a longer one (a file that is not a
    breached-password list, or a device that never ends a line) is :class:`OSError`, so "not checked"."""
    line: bytes = handle.readline(LINE_LIMIT)
    if len(line) == LINE_LIMIT and not line.endswith(b"\n"):
        raise OSError(errno.EINVAL, "a line is longer than a breached-password list has")
    return line


def in_sorted_file(path: Path, value: str) -> bool:
    """Whether ``value``'s SHA-1 is in a file of ``SHA1:COUNT`` lines sorted by hash.

    A binary search over byte offsets: the line "at" an offset is the first line starting there or
    after, found by reading on from the byte before it. Some 36 short reads for the 40 GB file.
    """
    target = _sha1(value)
    with path.open("rb") as handle:
        size = handle.seek(0, 2)

        def line_at(offset: int) -> bytes:
            if offset == 0:
                handle.seek(0)
            else:
                handle.seek(offset - 1)
                _line(handle)
            return _line(handle)

        low, high = 0, size
        while low < high:
            middle = (low + high) // 2
            line = line_at(middle)
            if line and _key_of(line) < target:
                low = middle + 1
            else:
                high = middle
        line = line_at(low)
    return bool(line) and _key_of(line) == target and _count_of(line) > 0


def in_range_directory(path: Path, value: str) -> bool:
    """Whether ``value``'s SHA-1 is in the directory's range file of its first five hex digits.

    A missing range file is an incomplete download: :class:`OSError`, so the value is "not checked"."""
    digest = _sha1(value)
    prefix, suffix = digest[:5].decode("ascii"), digest[5:]
    name = path / f"{prefix}.txt"
    if not name.exists() and (path / f"{prefix.lower()}.txt").exists():
        name = path / f"{prefix.lower()}.txt"
    with name.open("rb") as handle:
        while line := _line(handle):
            if _key_of(line) == suffix:
                return _count_of(line) > 0
    return False


def breach_list_configured() -> bool:
    return _settings().breached_passwords_file is not None


def is_breached(value: str) -> bool | None:
    """True or False from the configured list; None when there is none or it cannot be read."""
    path = _settings().breached_passwords_file
    if path is None:
        return None
    try:
        return in_range_directory(path, value) if path.is_dir() else in_sorted_file(path, value)
    except OSError as exc:
        log.warning("The breached-password list %s could not be read: %s", path, exc.strerror or type(exc).__name__)
        return None


@dataclass(frozen=True)
class Assessment:
    weak: bool
    breached: bool | None
    fingerprint_key_id: str
    fingerprint: bytes = field(repr=False)


def assess_value(value: str, channel: Channel) -> Assessment:
    key = fingerprint_key()
    return Assessment(is_weak(value, hints_of(channel)), is_breached(value), key.key_id, fingerprint(value, key))


def apply(entry: CredentialVersion, assessment: Assessment, now: dt.datetime) -> None:
    entry.weak = assessment.weak
    entry.breached = assessment.breached
    entry.fingerprint_key_id = assessment.fingerprint_key_id
    entry.fingerprint = assessment.fingerprint
    entry.assessed_at = now


# --- what the pages show -----------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    key: str
    title: str
    detail: str
    next_step: str
    tag: str = "red"


@dataclass(frozen=True)
class Health:
    """One password's health, for a page: findings in words, never a fingerprint or hash."""

    assessed: bool
    weak: bool
    breached: bool | None
    old: bool
    due_on: dt.date
    reused_with: tuple[str, ...] = ()

    @property
    def findings(self) -> list[Finding]:
        found = []
        if self.breached:
            found.append(
                Finding(
                    "breached",
                    "Known breached",
                    "This password is in the list of passwords published after data breaches: "
                    "attackers try those first.",
                    "Change this password on the platform now, then store the new one here.",
                )
            )
        if self.reused_with:
            found.append(
                Finding(
                    "reused",
                    "Reused",
                    "The same password is held for " + ", ".join(self.reused_with) + ".",
                    "Change this password on the platform to one used nowhere else, then store the new one here.",
                )
            )
        if self.weak:
            found.append(
                Finding(
                    "weak",
                    "Weak",
                    f"It is shorter than {MIN_LENGTH} characters or would be easy to guess.",
                    "Change this password on the platform to a strong one (use Make a strong password), "
                    "then store the new one here.",
                    "orange",
                )
            )
        if self.old:
            found.append(
                Finding(
                    "old",
                    "Old",
                    f"It was due to be changed by {self.due_on:%-d %B %Y}.",
                    CHANGE_IT,
                    "orange",
                )
            )
        return found

    @property
    def not_assessed(self) -> bool:
        return not self.assessed

    @property
    def breach_unchecked(self) -> bool:
        return self.assessed and self.breached is None


def _live_channel(channel: Any = Channel) -> ColumnElement[bool]:
    return channel.status.not_in(_NO_ACCOUNT)  # type: ignore[no-any-return]


def _is_current(version: Any = CredentialVersion, credential: Any = Credential) -> ColumnElement[bool]:
    return and_(version.credential_id == credential.id, version.version == credential.current_version)


def _reused() -> ColumnElement[bool]:
    """The current password of another live channel has the same fingerprint under the same key id."""
    other = aliased(CredentialVersion)
    other_credential = aliased(Credential)
    other_channel = aliased(Channel)
    return exists().where(
        _is_current(other, other_credential),
        other_credential.kind == CredentialKind.PASSWORD.value,
        other_credential.channel_id != Credential.channel_id,
        other_channel.id == other_credential.channel_id,
        _live_channel(other_channel),
        other.fingerprint_key_id == CredentialVersion.fingerprint_key_id,
        other.fingerprint == CredentialVersion.fingerprint,
    )


def _passwords() -> Select[Any]:
    """Current versions of the passwords of live channels, with their credential and channel."""
    return (
        select(Credential)
        .join(Channel, Channel.id == Credential.channel_id)
        .join(CredentialVersion, _is_current())
        .where(Credential.kind == CredentialKind.PASSWORD.value, _live_channel())
    )


def with_findings() -> Select[Any]:
    """Passwords of live channels with at least one finding: known breached first, then by channel."""
    return (
        _passwords()
        .where(
            or_(
                CredentialVersion.breached.is_(True),
                CredentialVersion.weak.is_(True),
                Credential.rotation_due_on < clock.today(),
                and_(CredentialVersion.fingerprint.is_not(None), _reused()),
            )
        )
        .order_by(case((CredentialVersion.breached.is_(True), 0), else_=1), Credential.channel_id, Credential.id)
    )


@dataclass(frozen=True)
class Summary:
    passwords: int = 0
    not_assessed: int = 0
    weak: int = 0
    reused: int = 0
    old: int = 0
    breached: int = 0
    breach_unchecked: int = 0

    @property
    def with_findings(self) -> bool:
        return bool(self.weak or self.reused or self.old or self.breached)


def summary() -> Summary:
    """How many live channels' passwords have each finding: one statement."""

    def count(condition: ColumnElement[bool]) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    row = (
        db.session()
        .execute(
            _passwords()
            .with_only_columns(
                func.count(),
                count(CredentialVersion.assessed_at.is_(None)),
                count(CredentialVersion.weak.is_(True)),
                count(and_(CredentialVersion.fingerprint.is_not(None), _reused())),
                count(Credential.rotation_due_on < clock.today()),
                count(CredentialVersion.breached.is_(True)),
                count(and_(CredentialVersion.assessed_at.is_not(None), CredentialVersion.breached.is_(None))),
            )
            .order_by(None)
        )
        .one()
    )
    return Summary(*(int(value) for value in row))


def health_of(credentials: Sequence[Credential]) -> dict[int, Health]:
    """The health of each password among ``credentials`` (the others have none): two statements,
    however many there are."""
    passwords = [c for c in credentials if c.kind == CredentialKind.PASSWORD.value]
    if not passwords:
        return {}
    session = db.session()
    rows = session.execute(
        select(
            CredentialVersion.credential_id,
            CredentialVersion.assessed_at,
            CredentialVersion.weak,
            CredentialVersion.breached,
            CredentialVersion.fingerprint_key_id,
            CredentialVersion.fingerprint,
        )
        .join(Credential, _is_current())
        .where(Credential.id.in_([c.id for c in passwords]))
    ).all()
    by_credential = {row.credential_id: row for row in rows}
    partners = _holders({(row.fingerprint_key_id, row.fingerprint) for row in rows if row.fingerprint is not None})
    today = clock.today()
    found: dict[int, Health] = {}
    for credential in passwords:
        row = by_credential.get(credential.id)
        if row is None:
            continue
        others = sorted(
            reference
            for channel_id, reference in partners.get((row.fingerprint_key_id, row.fingerprint), ())
            if channel_id != credential.channel_id
        )
        found[credential.id] = Health(
            assessed=row.assessed_at is not None,
            weak=bool(row.weak),
            breached=row.breached,
            old=credential.rotation_due_on < today,
            due_on=credential.rotation_due_on,
            reused_with=tuple(others),
        )
    return found


def channels_holding(assessment: Assessment, channel: Channel) -> list[str]:
    """The other live channels whose current password is the value just assessed (by fingerprint): one
    statement. For the store's audit event, so that a value stored to test it leaves a trace."""
    found = _holders({(assessment.fingerprint_key_id, assessment.fingerprint)})
    return sorted(
        reference
        for channel_id, reference in found.get((assessment.fingerprint_key_id, assessment.fingerprint), ())
        if channel_id != channel.id
    )


def _holders(fingerprints: Iterable[tuple[str | None, bytes | None]]) -> dict[tuple[str, bytes], list[tuple[int, str]]]:
    """The live channels whose current password has each (key id, fingerprint): one statement."""
    wanted = {(key_id, value) for key_id, value in fingerprints if key_id is not None and value is not None}
    if not wanted:
        return {}
    rows = db.session().execute(
        select(CredentialVersion.fingerprint_key_id, CredentialVersion.fingerprint, Channel.id)
        .join(Credential, _is_current())
        .join(Channel, Channel.id == Credential.channel_id)
        .where(
            Credential.kind == CredentialKind.PASSWORD.value,
            _live_channel(),
            CredentialVersion.fingerprint.in_(sorted({value for _key_id, value in wanted})),
        )
    )
    found: dict[tuple[str, bytes], list[tuple[int, str]]] = {}
    for key_id, value, channel_id in rows:
        if key_id is not None and value is not None and (key_id, value) in wanted:
            found.setdefault((key_id, value), []).append((channel_id, reference_for(channel_id)))
    return found


# --- credentials assess ------------------------------------------------------------------------


def assess_batch(after_id: int, size: int, open_version: Callable[[CredentialVersion], str]) -> tuple[int, int]:
    """Work out again the health of up to ``size`` current passwords after version id ``after_id``
    (flush only; the caller's transaction): each decrypted in memory by ``open_version`` (custody's,
    which stores through this module), fingerprinted under the first key. Returns the last version id
    done and how many."""
    entries = list(
        db.session()
        .execute(
            select(CredentialVersion)
            .join(Credential, _is_current())
            .where(Credential.kind.in_([k.value for k in ASSESSED_KINDS]), CredentialVersion.id > after_id)
            .order_by(CredentialVersion.id)
            .limit(size)
            .with_for_update(of=CredentialVersion)
        )
        .unique()
        .scalars()
    )
    now = db.utcnow()
    for entry in entries:
        apply(entry, assess_value(open_version(entry), entry.credential.channel), now)
    db.session().flush()
    return (entries[-1].id if entries else after_id), len(entries)
