"""Importing the Trust's existing inventory of accounts (issue 13): a CSV or XLSX file, one account a row.
The command line (``flask channels import``) and the communications team's page
(``/channels/import``) both go through :func:`plan` and :func:`apply`.

The first row names the columns (case, spaces, hyphens and underscores do not matter; other columns
are named in the report and ignored): ``url`` (the account's web address or handle) is required;
``platform``, ``display name``, ``department``, ``purpose``, ``audience``, ``sponsor``,
``administrators``, ``next review date``, ``official`` and ``evidence`` are read when present.

Every row goes through the rules of a request (:func:`registration.validate_request`: the platform's
normaliser, the required fields and their limits), and then:

- an account already live in the registry is "already in the registry" (which channel) and left as it
  is, so a second run of the same file creates nothing;
- the same account twice in the file, an address the normaliser cannot read (its own message), an
  account that looks like one of the Trust's official channels (the public verification check,
  :func:`registry.verification.services.verify`), a sponsor or administrator who is not an active
  user, and a missing required field are problems;
- otherwise the account becomes an ``active`` channel with its sponsor as requester, a history step
  "Imported from FILE row N by X", its next review date (the file's, or the usual review period from
  today) and one ``channel:import`` audit event; each administrator named gets a roster grant.

A row whose ``official`` cell is ``no`` is an account the Trust knows about but does not run: it is
recorded as a monitoring finding (:func:`registry.monitoring.services.record_finding`) with the row's
``evidence``, unless monitoring already follows it.

All or nothing: the rows are checked first, every problem of every row is reported with its row
number, and nothing changes unless there are none. The registry's live channels, its users and the
open findings are each read once, whatever the file's length.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import select

from registry import clock, db, spreadsheets
from registry.audit.services import Actor
from registry.auth import services as accounts
from registry.auth.models import User
from registry.channels import registration
from registry.channels.models import Channel
from registry.channels.platforms import (
    PLATFORMS,
    HandleError,
    Platform,
    looks_like_url,
    normalise_handle,
    parse_url,
)
from registry.channels.workflow import LIVE_STATUSES
from registry.errors import Invalid
from registry.monitoring import services as monitoring
from registry.monitoring.models import OPEN_FINDINGS, UnauthorisedAccount
from registry.roster import grants
from registry.roster.models import PlatformRole
from registry.verification import services as verification

MAX_BYTES = spreadsheets.MAX_BYTES
MAX_ROWS = spreadsheets.MAX_ROWS
echo = spreadsheets.echo

LAYOUT = spreadsheets.Layout(
    columns={
        "platform": ("platform", "site", "network"),
        "url": ("url", "url_or_handle", "handle", "web_address", "address", "link", "profile", "account"),
        "display_name": ("display_name", "name", "account_name", "channel_name"),
        "department": ("department", "service", "team", "directorate"),
        "purpose": ("purpose", "what_it_is_for"),
        "audience": ("audience", "who_it_is_for"),
        "sponsor": ("sponsor", "sponsor_email", "sponsor_email_address"),
        "administrators": ("administrators", "admins", "administrator_emails"),
        "next_review_date": ("next_review_date", "next_review", "review_date", "next_review_on"),
        "official": ("official", "official_account", "is_official"),
        "evidence": ("evidence", "notes"),
    },
    required=("url",),
    listing="platform, URL or handle, display name, department, purpose, audience, sponsor, administrators, "
    "next review date, official, evidence",
    noun="accounts",
    empty="has no accounts in it",
)

#: What a request's fields are called in the file.
FIELD_NAMES = {
    "platform": "Platform",
    "handle": "URL or handle",
    "display_name": "Display name",
    "department": "Department",
    "purpose": "Purpose",
    "audience": "Audience",
    "sponsor": "Sponsor",
}
_YES = frozenset({"", "yes", "y", "true", "1", "official"})
_NO = frozenset({"no", "n", "false", "0", "unofficial", "not official"})
#: "Name <email> (role)", "email (role)" or "email". The name runs up to the "<" with its spaces (not a lazy
#: name then spaces, which backtracks in time quadratic in the cell's length when there is no "<").
_ENTRY = re.compile(r"^(?:(?P<name>[^<>()]*)<(?P<angle>[^<>]+)>|(?P<bare>[^\s<>()]+))\s*(?:\((?P<role>[^()]*)\))?$")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ][\d:.]+)?$")
_UK = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
DEFAULT_PLATFORM_ROLE = PlatformRole.ADMIN


def _platform_names() -> dict[str, Platform]:
    names = {platform.value: platform for platform in Platform}
    names.update((info.label.lower(), platform) for platform, info in PLATFORMS.items())
    names["twitter"] = Platform.X
    return names


class Action(StrEnum):
    CREATE = "create"
    FINDING = "finding"
    EXISTS = "exists"
    PROBLEM = "problem"

    @property
    def label(self) -> str:
        """What the preview says the row will do."""
        return _WORDS[self][0]

    @property
    def done(self) -> str:
        """What the report afterwards says the row did."""
        return _WORDS[self][1]


_WORDS = {
    Action.CREATE: ("Will be created", "created"),
    Action.FINDING: ("Will be recorded as unofficial", "recorded as unofficial"),
    Action.EXISTS: ("Already in the registry", "already in the registry"),
    Action.PROBLEM: ("Problem", "problem"),
}


@dataclass
class RowPlan:
    """What one row of the file will do (or why it cannot)."""

    number: int
    account: str
    official: bool = True
    action: Action = Action.CREATE
    platform: Platform | None = None
    handle: str = ""
    request: registration.ChannelRequest | None = None
    sponsor: User | None = None
    administrators: list[tuple[User, PlatformRole]] = field(default_factory=list)
    next_review_on: dt.date | None = None
    evidence: str = ""
    #: Plain phrases about the row: "CH-0004, active" (the channel it already is).
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass
class Plan(spreadsheets.Report[RowPlan]):
    """The whole file's outcome: the file's own problems, and each row's."""

    @property
    def changes(self) -> int:
        return self.count(Action.CREATE) + self.count(Action.FINDING)

    def fingerprint(self) -> str:
        """A digest of what the import would do: a confirmation is refused if this changed since the preview."""
        lines = [self.digest] + [
            f"{row.number}|{row.action}|{'|'.join(row.notes)}|{'|'.join(row.problems)}" for row in self.rows
        ]
        return hashlib.sha256("\n".join(lines).encode()).hexdigest()

    def summary(self) -> str:
        if not self.ok:
            return self.refused_summary()
        counts = ", ".join(
            f"{self.count(action)} {action.done}" for action in (Action.CREATE, Action.FINDING, Action.EXISTS)
        )
        return f"{len(self.rows)} {'account' if len(self.rows) == 1 else 'accounts'}: {counts}."

    def row_name(self, row: RowPlan) -> str:
        return row.account or "(no URL)"

    def row_details(self, row: RowPlan) -> list[str]:
        return row.notes


@dataclass
class _Registry:
    """What the rows are checked against, each read once: live channels, users, open findings."""

    live: dict[tuple[str, str], Channel]
    users: dict[str, User]
    findings: dict[tuple[str, str], UnauthorisedAccount]

    @classmethod
    def load(cls) -> _Registry:
        session = db.session()
        live = session.execute(
            select(Channel).where(Channel.status.in_([status.value for status in LIVE_STATUSES]))
        ).scalars()
        findings = (
            session.execute(
                select(UnauthorisedAccount).where(
                    UnauthorisedAccount.status.in_([status.value for status in OPEN_FINDINGS])
                )
            )
            .unique()
            .scalars()
        )
        return cls(
            live={(channel.platform, channel.handle): channel for channel in live},
            users={user.email: user for user in session.execute(select(User)).scalars()},
            findings={(finding.platform, finding.handle): finding for finding in findings},
        )

    def holder_of(self, platform: Platform, handle: str) -> Channel | None:
        return self.live.get((platform.value, handle))


def read(data: bytes) -> spreadsheets.Table:
    """The file's rows: an XLSX workbook's first sheet, or CSV text."""
    try:
        if spreadsheets.is_workbook(data):
            return spreadsheets.read_xlsx(data, LAYOUT)
        return spreadsheets.read_csv(spreadsheets.decode(data, noun=LAYOUT.noun), LAYOUT)
    except Invalid as exc:
        return spreadsheets.Table(problems=[exc.errors["file"]])


def plan(data: bytes) -> Plan:
    """What importing ``data`` would do, changing nothing."""
    result = Plan(digest=hashlib.sha256(data).hexdigest())
    table = read(data)
    result.problems.extend(table.problems)
    result.ignored_columns = table.ignored
    if result.problems:
        return result
    known = _Registry.load()
    first_row: dict[tuple[str, str], int] = {}
    for row in table.rows:
        item = RowPlan(row.number, echo(row.cells.get("url", "")))
        item.problems.extend(row.problems)
        _check_row(item, row.cells, known)
        if item.platform is not None and item.handle:
            key = (item.platform.value, item.handle)
            if key in first_row:
                item.problems.append(f"The same account is also on row {first_row[key]}: list each account once.")
            else:
                first_row[key] = row.number
        if item.problems:
            item.action = Action.PROBLEM
        result.rows.append(item)
    return result


def _check_row(item: RowPlan, cells: dict[str, str], known: _Registry) -> None:
    official = cells.get("official", "").strip().lower()
    if official in _NO:
        item.official = False
        item.action = Action.FINDING
    elif official not in _YES:
        item.problems.append(
            f"Official '{echo(cells['official'])}': enter yes, or no for an account the Trust does not run."
        )
    url = cells.get("url", "")
    if not url:
        item.problems.append("URL or handle: enter the account's web address or handle.")
        return
    platform_cell = cells.get("platform", "")
    try:
        if platform_cell:
            platform = _platform_names().get(platform_cell.strip().lower())
            if platform is None:
                item.problems.append(
                    f"Platform '{echo(platform_cell)}': choose one of "
                    + ", ".join(info.label for info in PLATFORMS.values())
                    + "."
                )
                return
            item.platform, item.handle = platform, normalise_handle(platform, url)
        else:
            item.platform, item.handle = parse_url(url)
    except HandleError as exc:
        item.platform = None
        hint = "" if platform_cell or looks_like_url(url) else " Or name the platform in the platform column."
        item.problems.append(f"URL or handle '{item.account}': {exc}{hint}")
        return
    holder = known.live.get((item.platform.value, item.handle))
    finding = known.findings.get((item.platform.value, item.handle))
    if not item.official:
        _check_finding(item, cells, holder, finding, known)
        return
    if holder is not None:
        item.action = Action.EXISTS
        item.notes.append(f"{holder.reference}, {holder.status_label.lower()}")
        return
    sponsor = _sponsor(cells.get("sponsor", ""), known, item.problems)
    if finding is not None:
        item.problems.append(
            f"Monitoring follows this account as unauthorised ({finding.reference}): if it is the Trust's, "
            "adopt it from that record instead."
        )
    verdict = verification.verify(platform=item.platform.value, handle=item.handle)
    if verdict.lookalike_of is not None:
        other = verdict.lookalike_of
        item.problems.append(
            f"Looks like {other.reference} ({other.handle}), an official channel of the Trust. If it is the "
            "Trust's too, ask for it as a new channel; if not, import it as unofficial (official: no)."
        )
    item.request = registration.ChannelRequest(
        platform=item.platform.value,
        handle=item.handle,
        display_name=cells.get("display_name", ""),
        department=cells.get("department", ""),
        purpose=cells.get("purpose", ""),
        audience=cells.get("audience", ""),
        sponsor=sponsor.name if sponsor is not None else "",
        policy_acknowledged=True,
    )
    try:
        registration.validate_request(item.request, holder_of=known.holder_of)
    except Invalid as exc:
        item.problems.extend(
            f"{FIELD_NAMES.get(name, name)}: {message.rstrip('.')}." for name, message in exc.errors.items()
        )
    item.sponsor = sponsor
    item.administrators = _administrators(cells.get("administrators", ""), known, item.problems)
    item.next_review_on = _review_date(cells.get("next_review_date", ""), item)


def _check_finding(
    item: RowPlan,
    cells: dict[str, str],
    holder: Channel | None,
    finding: UnauthorisedAccount | None,
    known: _Registry,
) -> None:
    """A row the Trust does not run: recorded for monitoring, unless monitoring follows it already."""
    if holder is not None:
        item.problems.append(
            f"This is in the registry as {holder.reference} ({holder.status_label.lower()}), so it cannot be "
            "recorded as unofficial."
        )
        return
    if finding is not None:
        item.action = Action.EXISTS
        item.notes.append(f"followed up by monitoring as {finding.reference}")
        return
    item.sponsor = _sponsor(cells.get("sponsor", ""), known, item.problems)
    item.evidence = cells.get("evidence", "").replace("\x00", "").strip()
    if not item.evidence:
        item.problems.append("Evidence: describe why it looks like a Trust account (name, logo, what it posts).")
    elif len(item.evidence) > 5000:
        item.problems.append("Evidence: must be 5000 characters or fewer.")


def _person(entry: str) -> tuple[str, str] | None:
    """(e-mail, role) of "Name <email> (role)", "email (role)" or "email"; None when it is neither."""
    match = _ENTRY.match(entry.strip())
    if match is None:
        return None
    return (match["angle"] or match["bare"] or "").strip(), (match["role"] or "").strip()


def _user(cell: str, label: str, known: _Registry, problems: list[str]) -> User | None:
    try:
        email = accounts.checked_email(cell)
    except Invalid as exc:
        problems.append(f"{label} '{echo(cell)}': {next(iter(exc.errors.values()))}.")
        return None
    user = known.users.get(email)
    if user is None:
        problems.append(f"{label}: there is no user {email}. Add them to the Registry first, or name someone who is.")
    elif not user.active:
        problems.append(f"{label}: {user.name} ({email}) has left the Trust (their account is deactivated).")
        return None
    return user


def _sponsor(cell: str, known: _Registry, problems: list[str]) -> User | None:
    if not cell:
        problems.append("Sponsor: enter the email address of the member of staff responsible for the account.")
        return None
    person = _person(cell)
    return _user(person[0] if person else cell, "Sponsor", known, problems)


def _administrators(cell: str, known: _Registry, problems: list[str]) -> list[tuple[User, PlatformRole]]:
    chosen: dict[tuple[int, PlatformRole], tuple[User, PlatformRole]] = {}
    for entry in re.split(r"[;\n]+", cell):
        if not entry.strip():
            continue
        person = _person(entry)
        if person is None:
            problems.append(
                f"Administrators '{echo(entry.strip())}': write each person as an email address, with their role "
                "on the platform in brackets if it is not admin, for example jo.bloggs@nhs.net (editor)."
            )
            continue
        email, role_text = person
        try:
            role = grants.parse_platform_role(role_text) if role_text else DEFAULT_PLATFORM_ROLE
        except Invalid as exc:
            problems.append(f"Administrators '{echo(entry.strip())}': {exc.errors['platform_role']}")
            continue
        user = _user(email, "Administrators", known, problems)
        if user is not None:
            chosen[(user.id, role)] = (user, role)
    return list(chosen.values())


def _review_date(cell: str, item: RowPlan) -> dt.date | None:
    """The row's next review date: ISO (2027-03-31) or as written in the UK (31/03/2027); None when empty."""
    if not cell:
        return None
    iso, uk = _ISO.match(cell), _UK.match(cell)
    try:
        if iso:
            when = dt.date(int(iso[1]), int(iso[2]), int(iso[3]))
        elif uk:
            when = dt.date(int(uk[3]), int(uk[2]), int(uk[1]))
        else:
            item.problems.append(
                f"Next review date '{echo(cell)}': enter a date like 31/03/2027 (day, month, year) or 2027-03-31."
            )
            return None
    except ValueError:
        item.problems.append(f"Next review date '{echo(cell)}': there is no such date.")
        return None
    if when < clock.today():
        item.notes.append(f"review overdue since {grants.uk_date(when)}")
    return when


Refused = spreadsheets.Refused


@dataclass(frozen=True)
class Applied:
    plan: Plan
    channels: tuple[Channel, ...]
    findings: tuple[UnauthorisedAccount, ...]


def apply(data: bytes, *, actor: User | Actor, filename: str) -> Applied:
    """Check ``data`` again from scratch and, when there is no problem, create every channel and finding
    (flushes; the caller's unit of work commits them together). With a problem, :class:`Refused` and
    nothing changes. ``actor``: the comms member on the page, or the command line (a system actor: the
    history step is then in the sponsor's name, its note saying who imported it)."""
    checked = plan(data)
    if not checked.ok:
        raise Refused(checked)
    who = actor.label
    made: list[Channel] = []
    found: list[UnauthorisedAccount] = []
    for row in checked.rows:
        if row.action is Action.CREATE:
            assert row.request is not None and row.sponsor is not None
            channel = registration.import_channel(
                row.request,
                row.sponsor,
                actor=actor,
                note=f"Imported from {echo(filename)} row {row.number} by {who}",
                next_review_on=row.next_review_on or clock.today() + registration.REVIEW_INTERVAL,
            )
            for user, role in row.administrators:
                grants.grant(channel, email=user.email, platform_role=role.value, actor=actor)
            made.append(channel)
        elif row.action is Action.FINDING:
            assert row.platform is not None
            found.append(
                monitoring.record_finding(
                    platform=row.platform.value,
                    url=row.handle,
                    evidence=row.evidence,
                    found_on=None,
                    actor=actor,
                    found_by=actor if isinstance(actor, User) else row.sponsor,
                )
            )
    db.session().flush()
    return Applied(checked, tuple(made), tuple(found))
