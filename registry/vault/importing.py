"""Taking existing secrets into custody from a password manager's export: a KeePass database (KDBX 3 or
4), Bitwarden's unencrypted JSON export, or a CSV file. The command line (``flask credentials import``)
and the communications team's page (``/credentials/import``) both go through :func:`plan` and
:func:`apply`.

What is taken from each entry: its password, its two-factor (TOTP) seed (an ``otpauth://`` address or a
bare base32 seed: Bitwarden's ``login.totp``; KeePassXC's ``otp`` attribute; the older KeePass
``TOTP Seed`` / ``TOTP Settings`` fields), its notes (kept as custody notes), and fields named
"recovery codes", "recovery email" or "recovery phone". A user name is not a secret the Registry keeps:
the report says "username present" and nothing more.

Each entry is matched to a channel by its web address, through the same normaliser as a request
(:func:`registry.channels.platforms.parse_url`): a live channel with that platform and handle. An entry
that matches none, matches a retired or closed channel, or has nothing to keep is reported and skipped,
never guessed; on the page, the communications team may choose its channel instead.

All or nothing: every problem (a seed that is not one, a value too long, two entries giving one channel
different values of one kind, a chosen channel that is not live) is reported with its entry number and
nothing is stored unless there are none. A value the channel already holds as its current version is
"unchanged": it is opened in memory and compared in constant time (no hash of a secret is kept), so a
second run of the same file stores nothing. Each value stored is sealed by :func:`custody.store` as if
typed in, with its usual metadata-only audit event, and the import has one ``credential:import`` event
with its counts; all in the caller's one transaction.

Plaintext stays in memory: the file is never written anywhere, and no value reaches a report, a log or
the audit trail (entries are named by number; titles and addresses are shown shortened, and never
stored).
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import re
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import or_, select

from registry import db
from registry.audit.models import AuditAction
from registry.audit.services import Actor, record
from registry.auth.models import User
from registry.channels.models import Channel
from registry.channels.platforms import HandleError, parse_url
from registry.channels.workflow import LIVE_STATUSES
from registry.errors import Conflict, Invalid
from registry.spreadsheets import decode, echo, size_text
from registry.vault import services as custody
from registry.vault.formats import Format
from registry.vault.models import CredentialKind, CredentialVersion

if TYPE_CHECKING:
    from pykeepass.kdbx_parsing.common import Decompressed

MAX_BYTES = 5 * 1024 * 1024
MAX_ENTRIES = 5_000

KEEPASS_UNREADABLE = "The KeePass password is wrong, or the file is damaged."
KEEPASS_TOO_COSTLY = (
    "The KeePass database's key settings ask for more work to open it than an import allows. In KeePass, "
    "Database settings, Security: lower the key derivation's memory, iterations or rounds, save a copy, and "
    "import that."
)
#: The most key-derivation work a KeePass file may ask of the server (the file sets it, and it is done
#: before the password can be checked): well above KeePass's and KeePassXC's defaults (Argon2 at 64 MiB,
#: a few iterations and 2 lanes; AES-KDF at 60,000 rounds), far below a worker pinned for hours.
KDF_MAX_AES_ROUNDS = 10_000_000
KDF_MAX_ARGON2_MEMORY = 1024 * 1024 * 1024  # bytes
KDF_MAX_ARGON2_WORK = 16 * 1024 * 1024 * 1024  # memory x iterations, in bytes
KDF_MAX_ARGON2_LANES = 16
KEEPASS_TOO_LARGE = (
    "The KeePass database unpacks to more than an import takes. Move the entries to import into a smaller "
    "database (without attachments), and import that."
)
#: The most a KeePass database's compressed contents may unpack to: its XML is gzip-compressed, and 5 MB
#: could unpack to 5 GB in the server's memory.
KDBX_MAX_UNPACKED = 64 * 1024 * 1024
BITWARDEN_ENCRYPTED = (
    "This is an encrypted Bitwarden export, which the Registry cannot open. In Bitwarden, export the vault "
    "again as '.json' (not '.json (Encrypted)'), import that, then delete the export."
)


class Outcome(StrEnum):
    STORE = "store"
    UNCHANGED = "unchanged"
    UNMATCHED = "unmatched"
    SKIPPED = "skipped"
    PROBLEM = "problem"

    def said(self, done: bool) -> str:
        return {
            Outcome.STORE: "stored" if done else "will be stored",
            Outcome.UNCHANGED: "unchanged",
            Outcome.UNMATCHED: "unmatched: not imported",
            Outcome.SKIPPED: "skipped",
            Outcome.PROBLEM: "problem",
        }[self]


class ItemState(StrEnum):
    NEW = "new"
    NEW_VERSION = "new version"
    UNCHANGED = "unchanged"
    REPEATED = "repeated"


@dataclass
class Item:
    """One secret of an entry. ``value`` is plaintext: it lives in memory only and is never shown."""

    kind: CredentialKind
    value: str = field(repr=False)
    state: ItemState = ItemState.NEW

    @property
    def phrase(self) -> str:
        label = self.kind.label.lower() if self.kind is not CredentialKind.TOTP_SEED else "two-factor seed"
        return {
            ItemState.NEW: label,
            ItemState.NEW_VERSION: f"{label} (new version)",
            ItemState.UNCHANGED: f"{label} (unchanged)",
            ItemState.REPEATED: f"{label} (same as an earlier entry)",
        }[self.state]


@dataclass
class EntryPlan:
    """What one entry of the file will do (or why it cannot)."""

    number: int
    title: str
    url: str
    username_present: bool
    items: list[Item] = field(default_factory=list)
    channel: Channel | None = None
    chosen: bool = False
    outcome: Outcome = Outcome.UNCHANGED
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def to_store(self) -> list[Item]:
        return [item for item in self.items if item.state in (ItemState.NEW, ItemState.NEW_VERSION)]

    @property
    def choosable(self) -> bool:
        """Whether the communications team may choose this entry's channel (it has no live match)."""
        return self.items != [] and (self.chosen or self.outcome in (Outcome.UNMATCHED, Outcome.SKIPPED))


@dataclass
class Plan:
    format: Format
    problems: list[str] = field(default_factory=list)
    entries: list[EntryPlan] = field(default_factory=list)
    digest: str = ""
    #: Each stored secret a value of the file was compared with: (channel reference, kind, "same", "earlier"
    #: (a replaced version's value) or "different"). Never a value.
    compared: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and not any(entry.problems for entry in self.entries)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for entry in self.entries if entry.outcome is outcome)

    @property
    def secrets_to_store(self) -> int:
        return sum(len(entry.to_store) for entry in self.entries if entry.outcome is Outcome.STORE)

    @property
    def problem_count(self) -> int:
        return len(self.problems) + sum(len(entry.problems) for entry in self.entries)

    def fingerprint(self, key: bytes) -> str:
        """A keyed digest of the file and of what the preview said each entry would do. An entry whose channel
        may be chosen counts the same chosen or not: choosing is what the preview is for. Keyed, so a token
        that carries it says nothing about the file's contents."""
        lines = [self.format.value, self.digest]
        for entry in self.entries:
            if entry.choosable:
                lines.append(f"{entry.number}|choosable")
            else:
                states = "|".join(f"{item.kind}:{item.state}" for item in entry.items)
                lines.append(f"{entry.number}|{entry.outcome}|{entry.channel.id if entry.channel else ''}|{states}")
        return hmac.new(key, "\n".join(lines).encode(), hashlib.sha256).hexdigest()

    def summary(self, *, done: bool = False) -> str:
        if not self.ok:
            word = "problem" if self.problem_count == 1 else "problems"
            return f"{self.problem_count} {word}: nothing was stored. Correct the file and import it again."
        stored = self.secrets_to_store
        verb = "stored" if done else "to store"
        parts = [
            f"{len(self.entries)} {'entry' if len(self.entries) == 1 else 'entries'}",
            f"{stored} {'secret' if stored == 1 else 'secrets'} {verb}",
            f"{self.count(Outcome.UNCHANGED)} unchanged",
            f"{self.count(Outcome.UNMATCHED)} unmatched",
            f"{self.count(Outcome.SKIPPED)} skipped",
        ]
        return ", ".join(parts) + "."


class Unreadable(Invalid):
    """The file as a whole cannot be read (wrong KeePass password, encrypted export, not JSON…)."""

    def __init__(self, message: str) -> None:
        super().__init__({"file": message}, message)


@dataclass
class _Entry:
    """An entry as read from the file: plaintext, in memory only."""

    number: int
    title: str
    urls: list[str]
    username_present: bool
    secrets: list[tuple[CredentialKind, str]] = field(default_factory=list, repr=False)
    problems: list[str] = field(default_factory=list)


def _key(name: str) -> str:
    return re.sub(r"[\s_\-]+", "_", name.strip().lstrip("\ufeff").lower()).strip("_")


#: Custom fields (KeePass string fields, Bitwarden fields, CSV columns) kept as their own kind, by name.
FIELD_KINDS: Mapping[str, CredentialKind] = {
    "recovery_codes": CredentialKind.RECOVERY_CODES,
    "backup_codes": CredentialKind.RECOVERY_CODES,
    "recovery_email": CredentialKind.RECOVERY_EMAIL,
    "recovery_email_address": CredentialKind.RECOVERY_EMAIL,
    "recovery_phone": CredentialKind.RECOVERY_PHONE,
    "recovery_phone_number": CredentialKind.RECOVERY_PHONE,
}


def totp_seed(value: str) -> str:
    """The base32 seed in what a password manager keeps (an ``otpauth://totp/`` address or a bare seed), or
    :class:`Invalid` saying why not (never quoting the value). Only 6-digit SHA-1 codes every 30 seconds,
    the codes :func:`registry.vault.reveals.totp_code` makes, are accepted."""
    text = value.strip()
    if text.lower().startswith("steam://"):
        raise Invalid({"totp": "Its two-factor setting is a Steam code, which the Registry cannot make."})
    if text.lower().startswith("otpauth://"):
        parts = urlsplit(text)
        if parts.netloc.lower() != "totp":
            raise Invalid({"totp": "Its two-factor setting is not a time-based (TOTP) code."})
        query = {k.lower(): v[-1] for k, v in parse_qs(parts.query).items()}
        if query.get("algorithm", "SHA1").upper() != "SHA1" or query.get("digits", "6") != "6":
            raise Invalid({"totp": "Its two-factor codes are not 6-digit SHA-1 codes, the kind the Registry makes."})
        if query.get("period", "30") != "30":
            raise Invalid({"totp": "Its two-factor codes do not change every 30 seconds, as the Registry's do."})
        text = unquote(query.get("secret", ""))
        if not text:
            raise Invalid({"totp": "Its two-factor address has no secret in it."})
    try:
        return custody.normalise_totp_seed(text)
    except Invalid as exc:
        raise Invalid({"totp": next(iter(exc.errors.values()))}) from None


def _add(entry: _Entry, kind: CredentialKind, raw: object) -> None:
    if not isinstance(raw, str) or not raw.strip():
        return
    try:
        value = totp_seed(raw) if kind is CredentialKind.TOTP_SEED else custody.checked_value(kind, raw)
    except Invalid as exc:
        entry.problems.append(f"{kind.label}: {next(iter(exc.errors.values()))}")
        return
    entry.secrets.append((kind, value))


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


# --- KeePass ---------------------------------------------------------------------------------------


def _keepass_totp(custom: Mapping[str, str], otp: str) -> str:
    """KeePassXC keeps an ``otpauth://`` address in ``otp``; KeeTrayTOTP and older KeePassXC a seed in
    ``TOTP Seed`` with ``TOTP Settings`` of "period;digits" (30;6 is the usual)."""
    if otp.strip():
        return otp
    seed = custom.get("TOTP Seed", "")
    if not seed.strip():
        return ""
    settings = custom.get("TOTP Settings", "30;6").strip() or "30;6"
    period, _, digits = settings.partition(";")
    return f"otpauth://totp/x?secret={seed.strip()}&period={period.strip()}&digits={digits.strip() or '6'}"


class _Unpacked(Exception):
    """A KeePass database's contents unpack to more than :data:`KDBX_MAX_UNPACKED`."""


def _bounded_unpack(self: Decompressed, data: bytes, con: object, path: object) -> bytes:
    """pykeepass's gunzip of a database's contents (``zlib.decompress``, unbounded), up to a bound."""
    inflater = zlib.decompressobj(16 + 15)
    unpacked = inflater.decompress(data, KDBX_MAX_UNPACKED)
    if inflater.unconsumed_tail or (len(unpacked) == KDBX_MAX_UNPACKED and not inflater.eof):
        raise _Unpacked()
    if not inflater.eof:
        raise zlib.error("the compressed contents end early")  # as zlib.decompress says of them
    return unpacked


def _bounded_pykeepass() -> Any:
    """pykeepass's ``PyKeePass`` class, imported by the first KeePass file read rather than at every
    start (it brings lxml, construct, pycryptodome and argon2), with its reader of compressed contents
    bounded."""
    from pykeepass import PyKeePass
    from pykeepass.kdbx_parsing.common import Decompressed

    # pykeepass has no setting for this: its one reader of compressed contents is replaced, for every database
    # this process opens (it only ever opens the ones imported). Writing (tests) is unchanged.
    Decompressed._decode = _bounded_unpack
    return PyKeePass


def _kdf_within_bounds(data: bytes) -> bool:
    """Whether the file's key derivation settings, read from its header alone, ask for bounded work."""
    from pykeepass.kdbx_parsing import KDBX

    try:
        header = KDBX.subcons[0].parse(data).value
        dynamic = header.dynamic_header
        if header.major_version == 3:
            return 0 < int(dynamic.transform_rounds.data) <= KDF_MAX_AES_ROUNDS
        settings = {key: item.value for key, item in dynamic.kdf_parameters.data.dict.items()}
    except Exception:  # construct's errors: a damaged header (pykeepass says so when it opens it)
        return True
    if "R" in settings:
        return 0 < int(settings["R"]) <= KDF_MAX_AES_ROUNDS
    if not {"M", "I", "P"} <= settings.keys():
        return True  # no key derivation pykeepass knows: it cannot open the file (and says so)
    memory, iterations, lanes = int(settings["M"]), int(settings["I"]), int(settings["P"])
    return (
        0 < memory <= KDF_MAX_ARGON2_MEMORY
        and iterations > 0
        and memory * iterations <= KDF_MAX_ARGON2_WORK
        and 0 < lanes <= KDF_MAX_ARGON2_LANES
    )


def _keepass(data: bytes, password: str | None) -> list[_Entry]:
    if not password:
        raise Unreadable("Enter the KeePass database's password.")
    keepass = _bounded_pykeepass()
    if not _kdf_within_bounds(data):
        raise Unreadable(KEEPASS_TOO_COSTLY)
    try:
        database = keepass(io.BytesIO(data), password=password)
    except _Unpacked:
        raise Unreadable(KEEPASS_TOO_LARGE) from None
    except Exception:  # pykeepass raises its own, construct's and zlib's errors: all mean "cannot open it"
        raise Unreadable(KEEPASS_UNREADABLE) from None
    binned: set[object] = set()
    if database.recyclebin_group is not None:
        binned = {entry.uuid for entry in database.find_entries(group=database.recyclebin_group, recursive=True)}
    entries: list[_Entry] = []
    for number, found in enumerate((e for e in database.entries if e.uuid not in binned), start=1):
        custom: dict[str, str] = {k: _text(v) for k, v in (found.custom_properties or {}).items()}
        entry = _Entry(number, _text(found.title), [_text(found.url)], bool(_text(found.username).strip()))
        _add(entry, CredentialKind.PASSWORD, found.password)
        _add(entry, CredentialKind.TOTP_SEED, _keepass_totp(custom, _text(found.otp)))
        for name, value in custom.items():
            if (kind := FIELD_KINDS.get(_key(name))) is not None:
                _add(entry, kind, value)
        _add(entry, CredentialKind.NOTES, found.notes)
        entries.append(entry)
    return entries


# --- Bitwarden -------------------------------------------------------------------------------------


def _bitwarden(data: bytes) -> list[_Entry]:
    text = decode(data, noun="entries", limit=MAX_BYTES, rows=MAX_ENTRIES)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Unreadable(f"The file is not JSON (line {exc.lineno}): export the vault again as '.json'.") from None
    except RecursionError:  # what the reader raises for lists or objects nested thousands deep
        raise Unreadable("The file is not a Bitwarden export: its lists are nested too deeply.") from None
    if not isinstance(document, dict):
        raise Unreadable("The file is not a Bitwarden export: it has no list of items.")
    if document.get("encrypted") is True:
        raise Unreadable(BITWARDEN_ENCRYPTED)
    items = document.get("items")
    if not isinstance(items, list):
        raise Unreadable("The file is not a Bitwarden export: it has no list of items.")
    entries: list[_Entry] = []
    for number, item in enumerate(items, start=1):
        item = item if isinstance(item, dict) else {}
        found = item.get("login")
        login: dict[str, Any] = found if isinstance(found, dict) else {}
        uris = [_text(u.get("uri")) for u in login.get("uris") or [] if isinstance(u, dict)]
        entry = _Entry(number, _text(item.get("name")), uris, bool(_text(login.get("username")).strip()))
        _add(entry, CredentialKind.PASSWORD, login.get("password"))
        _add(entry, CredentialKind.TOTP_SEED, login.get("totp"))
        for extra in item.get("fields") or []:
            if isinstance(extra, dict) and (kind := FIELD_KINDS.get(_key(_text(extra.get("name"))))) is not None:
                _add(entry, kind, extra.get("value"))
        _add(entry, CredentialKind.NOTES, item.get("notes"))
        entries.append(entry)
    return entries


# --- CSV -------------------------------------------------------------------------------------------

#: CSV columns, by their normalised header, with the other names accepted (Bitwarden's CSV export's too).
CSV_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "url": ("url", "uri", "login_uri", "website", "web_address"),
    "title": ("title", "name"),
    "username": ("username", "user_name", "login_username"),
    "password": ("password", "login_password"),
    "totp": ("totp", "login_totp", "otp", "totp_seed", "two_factor_seed"),
    "notes": ("notes", "note"),
    "recovery_codes": ("recovery_codes", "backup_codes"),
    "recovery_email": ("recovery_email", "recovery_email_address"),
    "recovery_phone": ("recovery_phone", "recovery_phone_number"),
}
_CSV_ALIASES = {alias: column for column, aliases in CSV_COLUMNS.items() for alias in aliases}
_CSV_KINDS = {
    "password": CredentialKind.PASSWORD,
    "totp": CredentialKind.TOTP_SEED,
    "recovery_codes": CredentialKind.RECOVERY_CODES,
    "recovery_email": CredentialKind.RECOVERY_EMAIL,
    "recovery_phone": CredentialKind.RECOVERY_PHONE,
    "notes": CredentialKind.NOTES,
}


def _csv(data: bytes) -> list[_Entry]:
    reader = csv.reader(
        io.StringIO(decode(data, noun="entries", limit=MAX_BYTES, rows=MAX_ENTRIES), newline=""), strict=True
    )
    entries: list[_Entry] = []
    try:
        header = next(reader, [])
        columns = {index: _CSV_ALIASES.get(_key(cell)) for index, cell in enumerate(header)}
        named = set(columns.values())
        if "url" not in named or not named & set(_CSV_KINDS):
            raise Unreadable(
                "Row 1 must name the columns: url, and at least one of password, totp, notes (also accepted: "
                "username, title, recovery codes, recovery email, recovery phone, and Bitwarden's CSV names)."
            )
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            values: dict[str, str] = {}
            for index, cell in enumerate(cells):
                if (column := columns.get(index)) is not None and column not in values:
                    values[column] = cell
            entry = _Entry(
                number, values.get("title", ""), [values.get("url", "")], bool(values.get("username", "").strip())
            )
            for column, kind in _CSV_KINDS.items():
                _add(entry, kind, values.get(column))
            entries.append(entry)
    except csv.Error as exc:
        raise Unreadable(f"Line {reader.line_num}: the file is not valid CSV ({exc}).") from None
    return entries


def _read(data: bytes, form: Format, password: str | None) -> list[_Entry]:
    if len(data) > MAX_BYTES:
        raise Unreadable(f"The file is {size_text(len(data))}: the most one import takes is {size_text(MAX_BYTES)}.")
    if not data.strip():
        raise Unreadable("The file is empty.")
    if form is Format.KEEPASS:
        entries = _keepass(data, password)
    elif form is Format.BITWARDEN_JSON:
        entries = _bitwarden(data)
    else:
        entries = _csv(data)
    if not entries:
        raise Unreadable("The file has no entries in it.")
    if len(entries) > MAX_ENTRIES:
        raise Unreadable(f"The file has more than {MAX_ENTRIES:,} entries: split it into smaller files.")
    return entries


# --- matching and planning -------------------------------------------------------------------------


def _addresses(entry: _Entry) -> list[tuple[str, str]]:
    """The (platform, handle) of each of the entry's web addresses that names an account."""
    found: list[tuple[str, str]] = []
    for url in entry.urls:
        if not url.strip():
            continue
        try:
            platform, handle = parse_url(url)
        except HandleError:
            continue
        if (platform.value, handle) not in found:
            found.append((platform.value, handle))
    return found


def _channels(pairs: Iterable[tuple[str, str]], chosen: Iterable[int]) -> list[Channel]:
    """Every channel with one of these handles, and the chosen ones: one statement."""
    handles = sorted({handle for _, handle in pairs})
    ids = sorted(set(chosen))
    if not handles and not ids:
        return []
    statement = select(Channel).where(or_(Channel.handle.in_(handles), Channel.id.in_(ids))).order_by(Channel.id)
    return list(db.session().execute(statement).scalars())


def _match(entry: _Entry, plan: EntryPlan, by_handle: Mapping[tuple[str, str], list[Channel]]) -> None:
    live: list[Channel] = []
    other: list[Channel] = []
    for pair in _addresses(entry):
        for channel in by_handle.get(pair, []):
            target = live if channel.status_enum in LIVE_STATUSES else other
            if channel not in target:
                target.append(channel)
    if len(live) == 1:
        plan.channel = live[0]
    elif len(live) > 1:
        plan.outcome = Outcome.UNMATCHED
        plan.notes.append(
            "its addresses match " + " and ".join(c.reference for c in live) + ": choose which it belongs to"
        )
    elif other:
        plan.outcome = Outcome.SKIPPED
        plan.notes.append(
            "matches " + ", ".join(f"{c.reference}, which is {c.status_enum.phrase}" for c in other) + ": not imported"
        )
    else:
        plan.outcome = Outcome.UNMATCHED
        plan.notes.append(
            "its web address matches no channel" if any(u.strip() for u in entry.urls) else "it has no web address"
        )


def plan(
    data: bytes,
    form: Format | str,
    *,
    password: str | None = None,
    choices: Mapping[int, int] | None = None,
) -> Plan:
    """What importing ``data`` would do, storing nothing. ``password``: the KeePass database's. ``choices``:
    a channel id for entries (by number) that have no live match, chosen on the preview."""
    chosen_format = Format(form)
    checked = Plan(chosen_format, digest=hashlib.sha256(data).hexdigest())
    try:
        read = _read(data, chosen_format, password)
    except Invalid as exc:
        checked.problems.extend(exc.errors.values())
        return checked
    choices = dict(choices or {})
    pairs = [pair for entry in read for pair in _addresses(entry)]
    channels = _channels(pairs, choices.values())
    by_handle: dict[tuple[str, str], list[Channel]] = {}
    by_id = {channel.id: channel for channel in channels}
    for channel in channels:
        by_handle.setdefault((channel.platform, channel.handle), []).append(channel)
    for entry in read:
        item = EntryPlan(
            number=entry.number,
            title=echo(entry.title.strip()),
            url=echo(next((u.strip() for u in entry.urls if u.strip()), "")),
            username_present=entry.username_present,
            items=[Item(kind, value) for kind, value in entry.secrets],
            problems=list(entry.problems),
        )
        _match(entry, item, by_handle)
        if item.channel is None and entry.number in choices:
            picked = by_id.get(choices[entry.number])
            item.notes = []
            item.chosen = True
            item.outcome = Outcome.UNCHANGED
            if picked is None or picked.status_enum not in LIVE_STATUSES:
                item.problems.append("The channel chosen is not a live channel: choose another.")
            else:
                item.channel = picked
        if item.channel is None and not item.chosen:
            # Nothing of an entry left out is stored, so what is wrong with it cannot stop the import.
            item.notes.extend(problem.rstrip(".") for problem in item.problems)
            item.problems = []
        if not item.items and item.outcome is not Outcome.PROBLEM and not item.problems:
            item.outcome = Outcome.SKIPPED
            item.channel = None
            item.notes = ["nothing to keep: no password, two-factor seed, recovery details or notes"]
        checked.entries.append(item)
    _compare(checked)
    for item in checked.entries:
        if item.problems:
            item.outcome = Outcome.PROBLEM
    return checked


def _compare(checked: Plan) -> None:
    """Mark each matched entry's secrets new, a new version, or unchanged (the channel's current value, or an
    earlier entry's for the same channel): one statement, and values opened in memory."""
    matched = [entry for entry in checked.entries if entry.channel is not None]
    current: dict[tuple[int, str], CredentialVersion] = custody.current_versions(
        entry.channel.id for entry in matched if entry.channel is not None
    )
    replaced = custody.earlier_versions(entry.channel.id for entry in matched if entry.channel is not None)
    earlier: dict[tuple[int, str], tuple[int, str]] = {}
    word = checked.format.entry_word
    for entry in matched:
        assert entry.channel is not None
        for item in entry.items:
            slot = (entry.channel.id, item.kind.value)
            if slot in earlier:
                number, value = earlier[slot]
                if hmac.compare_digest(value.encode(), item.value.encode()):
                    item.state = ItemState.REPEATED
                else:
                    entry.problems.append(
                        f"{word} {number} gives {entry.channel.reference} a different "
                        f"{item.kind.label.lower()}: keep one of them."
                    )
                continue
            earlier[slot] = (entry.number, item.value)
            held = current.get(slot)
            if held is None:
                item.state = ItemState.NEW
                continue
            said = "different"
            if custody.is_current_value(held, item.value):
                item.state, said = ItemState.UNCHANGED, "same"
            elif (old := _replaced_by(replaced.get(slot, []), item.value)) is not None:
                said = "earlier"
                # An old export would undo a rotation (and clear its rotation-required mark) as a "new version".
                entry.problems.append(
                    f"{entry.channel.reference}'s {item.kind.label.lower()} was this value before (version "
                    f"{old.version}, since replaced): this looks like an old export. Leave the entry out, or store "
                    "the value on the channel's page if it really is current."
                )
            else:
                item.state = ItemState.NEW_VERSION
            checked.compared.append((entry.channel.reference, item.kind.value, said))
        entry.outcome = Outcome.STORE if entry.to_store else Outcome.UNCHANGED


def _replaced_by(versions: Iterable[CredentialVersion], value: str) -> CredentialVersion | None:
    """The replaced version that held ``value`` (each opened in memory and compared in constant time)."""
    return next((version for version in versions if custody.is_current_value(version, value)), None)


#: The comparisons an audit event names one by one; beyond them it gives the counts only.
COMPARED_LISTED = 50


def record_checked(checked: Plan, actor: User) -> None:
    """Audit a preview that compared the file's values with stored secrets (the caller commits): which
    secrets, and whether each was the same, as a reveal is audited. Without it, a preview of a file of
    guesses would say which guess is a channel's password and leave no trace."""
    if not checked.compared:
        return
    details: dict[str, Any] = {
        "format": checked.format.value,
        "compared": len(checked.compared),
        "same": sum(1 for _ref, _kind, said in checked.compared if said == "same"),
        "checked": [f"{ref} {kind}: {said}" for ref, kind, said in checked.compared[:COMPARED_LISTED]],
    }
    record(AuditAction.CREDENTIAL_IMPORT_CHECKED, "credential_import", checked.format.value, details, actor=actor)


class Refused(Conflict):
    """The file has problems: nothing was stored (``plan`` says what each is)."""

    def __init__(self, checked: Plan) -> None:
        super().__init__(checked.summary())
        self.plan = checked


def apply(
    data: bytes,
    form: Format | str,
    *,
    actor: User | Actor,
    source: str,
    password: str | None = None,
    choices: Mapping[int, int] | None = None,
) -> Plan:
    """Check ``data`` again from scratch and, when there is no problem, store each new secret (flushes; the
    caller's unit of work commits them and their audit events together). With a problem, :class:`Refused`
    and nothing is stored."""
    checked = plan(data, form, password=password, choices=choices)
    if not checked.ok:
        raise Refused(checked)
    stored = 0
    for entry in checked.entries:
        if entry.outcome is not Outcome.STORE or entry.channel is None:
            continue
        for item in entry.to_store:
            reason = f"Imported from a {checked.format.label}, {checked.format.entry_word.lower()} {entry.number}."
            custody.store(entry.channel, item.kind.value, item.value, reason, actor)
            stored += 1
    details: dict[str, Any] = {
        "source": source,
        "format": checked.format.value,
        "entries": len(checked.entries),
        "values_stored": stored,
        "stored_entries": checked.count(Outcome.STORE),
        "unchanged": checked.count(Outcome.UNCHANGED),
        "unmatched": checked.count(Outcome.UNMATCHED),
        "skipped": checked.count(Outcome.SKIPPED),
        "chosen_on_preview": sum(1 for entry in checked.entries if entry.chosen),
    }
    record(AuditAction.CREDENTIAL_IMPORT, "credential_import", checked.format.value, details, actor=actor)
    db.session().flush()
    return checked


def report_lines(checked: Plan, *, done: bool = False) -> list[str]:
    """The plan as plain lines: the file's problems, then one line per entry (never a value)."""
    lines = [f"File: {problem}" for problem in checked.problems]
    word = checked.format.entry_word
    for entry in checked.entries:
        name = " ".join(part for part in (entry.title and f"'{entry.title}'", entry.url) if part) or "(untitled)"
        parts: list[str] = []
        if entry.channel is not None:
            parts.append(f"{entry.channel.reference}{' (chosen)' if entry.chosen else ''}")
        if entry.items:
            parts.append(", ".join(item.phrase for item in entry.items))
        if entry.username_present:
            parts.append("username present (not kept)")
        parts.extend(entry.notes)
        lines.append(f"{word} {entry.number} {name}: {entry.outcome.said(done)}" + (f" ({'; '.join(parts)})"))
        lines.extend(f"  - {problem}" for problem in entry.problems)
    return lines
