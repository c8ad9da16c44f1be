"""Importing people from a CSV file (an ESR export, say): for Trusts whose identity provider cannot push
joiners and movers by SCIM. The command line (``flask users import``) and the administrators' page
(``/admin/users/import``) both go through :func:`plan` and :func:`apply`.

The file has a header row naming its columns (case, spaces, hyphens and underscores do not matter):
``email`` and ``name`` are required; ``roles`` (separated by ``;``, ``,``, ``|`` or spaces) and
``line manager email`` are optional. Other columns are named in the report and ignored.

What a row does:

- a new e-mail address: a new user with no password, the roles named (``staff`` when none are);
- an existing user: their name and line manager are brought into line with the file (an empty line
  manager cell means none; without the column, line managers are left as they are); roles named that
  they lack are added; roles they have that the file does not name are kept: an import never takes
  a role away (do that on their page, where the reason is seen);
- a row that would change nothing is "unchanged", so a second run of the same file changes nothing.

All or nothing: every row is checked first (e-mail as :func:`accounts.checked_email`, roles as
:func:`accounts.checked_roles`, line managers as :func:`registry.auth.managers.set_line_manager`: an active user with
the line manager role, existing or in the same file, not themselves, and no one managing their own
manager), every problem of every row is reported with its row number (the header is row 1, as in a
spreadsheet), and nothing changes unless there are none.

Privileged roles follow the four-eyes rule (:mod:`registry.auth.approvals`): the command line is the
system operator and grants them at once, as ``users create`` does; an administrator's import opens the
same request a second administrator must approve. Each user created or changed has the usual audit
events (``user:create``, ``user:roles_change``, ``user:line_manager_change``, ``user:rename``,
``account_request:create``) and the import one ``user:import`` event with its counts, all in one
transaction.

Text: UTF-8, with or without a byte-order mark (Excel's "CSV UTF-8"). Other encodings are refused
with a message saying how to save the file as UTF-8, rather than guessed: a wrong guess would store
people's names garbled. At most :data:`MAX_BYTES` and :data:`MAX_ROWS` people.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from registry import db, spreadsheets
from registry.audit.models import AuditAction
from registry.audit.services import Actor, record
from registry.auth import approvals, managers, setup_links
from registry.auth import services as accounts
from registry.auth.models import (
    AccountRequest,
    AccountRequestKind,
    AccountRequestStatus,
    SetupReason,
    User,
)
from registry.auth.permissions import PRIVILEGED_ROLES, Role
from registry.errors import Invalid
from registry.text import Labelled

MAX_BYTES = spreadsheets.MAX_BYTES
MAX_ROWS = spreadsheets.MAX_ROWS
echo = spreadsheets.echo
size_text = spreadsheets.size_text
decode = spreadsheets.decode

#: The columns, by their normalised header (see :func:`spreadsheets.column_key`), with the other names accepted.
LAYOUT = spreadsheets.Layout(
    columns={
        "email": ("email", "email_address", "e_mail", "e_mail_address"),
        "name": ("name", "full_name"),
        "roles": ("roles", "role"),
        "line_manager_email": (
            "line_manager_email",
            "line_manager_email_address",
            "line_manager",
            "manager_email",
        ),
    },
    required=("email", "name"),
    listing="email, name, roles, line manager email",
    noun="people",
    empty="has nobody in it",
)
_ROLE_SEPARATORS = re.compile(r"[;,|\s]+")


class Action(Labelled):
    CREATE = "create", "Will be created"
    UPDATE = "update", "Will be updated"
    UNCHANGED = "unchanged", "Unchanged"
    PROBLEM = "problem", "Problem"

    @property
    def done(self) -> str:
        return {
            Action.CREATE: "created",
            Action.UPDATE: "updated",
            Action.UNCHANGED: "unchanged",
            Action.PROBLEM: "problem",
        }[self]


@dataclass
class RowPlan:
    """What one row of the file will do (or why it cannot)."""

    number: int
    email: str
    name: str
    action: Action = Action.UNCHANGED
    #: Plain phrases: "name: Ann Smith → Ann Jones", "roles added: Line manager".
    changes: list[str] = field(default_factory=list)
    #: Said about the row without being a change ("keeps System administrator: an import never removes roles").
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    roles: frozenset[Role] = frozenset()
    line_manager: str | None = None
    #: Roles given now / asked of a second administrator.
    add_now: frozenset[Role] = frozenset()
    ask: frozenset[Role] = frozenset()
    rename: bool = False
    set_manager: bool = False


@dataclass
class Plan(spreadsheets.Report[RowPlan]):
    """The whole file's outcome: the file's own problems, and each row's."""

    ignored_what: ClassVar[str] = "not email, name, roles or line manager email"

    has_manager_column: bool = False

    @property
    def asks(self) -> frozenset[Role]:
        """Every privileged role this import would ask a second administrator for."""
        return frozenset(role for row in self.rows for role in row.ask)

    def fingerprint(self) -> str:
        """A digest of what the import would do: a confirmation is refused if this changed since the preview."""
        lines = [self.digest] + [
            f"{row.number}|{row.email}|{row.action}|{'|'.join(row.changes)}|{'|'.join(row.problems)}"
            for row in self.rows
        ]
        return hashlib.sha256("\n".join(lines).encode()).hexdigest()

    def summary(self) -> str:
        if not self.ok:
            return self.refused_summary()
        counts = ", ".join(
            f"{self.count(action)} {action.done}" for action in (Action.CREATE, Action.UPDATE, Action.UNCHANGED)
        )
        return f"{len(self.rows)} {_people(len(self.rows))}: {counts}."

    def row_name(self, row: RowPlan) -> str:
        return echo(row.email) or "(no email)"

    def row_details(self, row: RowPlan) -> list[str]:
        return row.changes + row.notes


def _people(count: int) -> str:
    return "person" if count == 1 else "people"


def _roles(cell: str, problems: list[str]) -> frozenset[Role]:
    roles: set[Role] = set()
    for token in _ROLE_SEPARATORS.split(cell.lower()):
        if not token:
            continue
        try:
            roles |= accounts.checked_roles([token])
        except Invalid as exc:
            problems.append("Roles: " + exc.errors["roles"])
    return frozenset(roles)


def _email(cell: str, label: str, problems: list[str]) -> str | None:
    if not cell:
        problems.append(f"{label}: enter an email address.")
        return None
    try:
        return accounts.checked_email(cell)
    except Invalid as exc:
        problems.append(f"{label} '{echo(cell)}': {next(iter(exc.errors.values()))}.")
        return None


def _role_list(roles: Iterable[Role]) -> str:
    return ", ".join(role.label for role in sorted(roles))


def _pending_roles() -> dict[int, AccountRequest]:
    """Each user's request for privileged roles still waiting for a second administrator."""
    statement = select(AccountRequest).where(
        AccountRequest.kind == AccountRequestKind.GRANT_ROLES.value,
        AccountRequest.status == AccountRequestStatus.PENDING.value,
        AccountRequest.expires_at > db.utcnow(),
    )
    return {request.user_id: request for request in db.session().execute(statement).scalars()}


@dataclass
class _Snapshot:
    """Everyone as stored, and the file's rows: what each person's roles and line manager will be."""

    people: dict[str, User]
    by_id: dict[int, User]
    in_file: dict[str, RowPlan]
    has_manager_column: bool
    _loops: frozenset[str] | None = None

    def manager_now(self, user: User | None) -> str | None:
        boss = self.by_id.get(user.line_manager_id) if user is not None and user.line_manager_id else None
        return boss.email if boss is not None else None

    def final_roles(self, email: str) -> frozenset[Role]:
        existing = self.people.get(email)
        row = self.in_file.get(email)
        return (existing.roles if existing else frozenset()) | (row.roles if row else frozenset())

    def final_manager(self, email: str) -> str | None:
        row = self.in_file.get(email)
        if row is not None and (self.has_manager_column or email not in self.people):
            return row.line_manager
        return self.manager_now(self.people.get(email))

    def on_a_loop(self) -> frozenset[str]:
        """Everyone whose chain of line managers, as it will be, comes back to them: found in one pass over
        the file's people (each chain is walked once, whatever its length), kept for the other rows."""
        if self._loops is None:
            state: dict[str, int] = {}  # 1: on the walk in progress, 2: done
            loops: set[str] = set()
            for start in self.in_file:
                walk: list[str] = []
                at: str | None = start
                while at is not None and at not in state:
                    state[at] = 1
                    walk.append(at)
                    at = self.final_manager(at)
                if at is not None and state[at] == 1:
                    loops.update(walk[walk.index(at) :])
                for seen in walk:
                    state[seen] = 2
            self._loops = frozenset(loops)
        return self._loops


def plan(data: bytes, *, actor: Actor | User) -> Plan:
    """What importing ``data`` would do, changing nothing. ``actor``: a system :class:`Actor` (the
    command line: privileged roles granted at once) or the administrator (asked of a second one)."""
    result = Plan(digest=hashlib.sha256(data).hexdigest())
    try:
        text = decode(data)
    except Invalid as exc:
        result.problems.append(exc.errors["file"])
        return result
    table = spreadsheets.read_csv(text, LAYOUT)
    result.problems.extend(table.problems)
    result.ignored_columns = table.ignored
    result.has_manager_column = "line_manager_email" in table.present
    rows = table.rows
    if result.problems:
        return result
    first_row: dict[str, int] = {}
    for row in rows:
        item = RowPlan(row.number, echo(row.cells.get("email", "")), echo(row.cells.get("name", "")))
        item.problems.extend(row.problems)
        email = _email(row.cells.get("email", ""), "Email", item.problems)
        if email is not None:
            item.email = email
            if email in first_row:
                item.problems.append(f"{email} is also on row {first_row[email]}: list each person once.")
            else:
                first_row[email] = row.number
        name = row.cells.get("name", "")
        if problem := accounts.name_problem(name):
            item.problems.append(f"Name: {problem[0].lower()}{problem[1:]}")
        else:
            item.name = name
        item.roles = _roles(row.cells.get("roles", ""), item.problems)
        manager_cell = row.cells.get("line_manager_email", "")
        if manager_cell:
            item.line_manager = _email(manager_cell, "Line manager email", item.problems)
        result.rows.append(item)
    # Everyone, once (two statements): a Trust's staff fit in memory, and every check below is then a lookup.
    people = {
        user.email: user
        for user in db.session().execute(select(User).options(selectinload(User.role_grants))).scalars()
    }
    snapshot = _Snapshot(
        people=people,
        by_id={user.id: user for user in people.values()},
        in_file={row.email: row for row in result.rows if first_row.get(row.email) == row.number},
        has_manager_column=result.has_manager_column,
    )
    pending = _pending_roles() if isinstance(actor, User) else {}
    for item in snapshot.in_file.values():
        _check_row(item, actor, pending, snapshot)
    for item in result.rows:
        if item.problems:
            item.action = Action.PROBLEM
        elif item.email not in people:
            item.action = Action.CREATE
        elif item.rename or item.add_now or item.ask or item.set_manager:
            item.action = Action.UPDATE
    return result


def _check_row(item: RowPlan, actor: Actor | User, pending: Mapping[int, AccountRequest], snapshot: _Snapshot) -> None:
    me = actor if isinstance(actor, User) else None
    user = snapshot.people.get(item.email)
    if user is not None and not user.active:
        item.problems.append(
            f"{user.email} is deactivated: an import never brings a leaver back. Reactivate them on their page "
            "first, or remove the row."
        )
        return
    own = me is not None and user is not None and user.id == me.id
    if user is not None and item.name and item.name != user.name:
        item.rename = True
        item.changes.append(f"name: {user.name} → {item.name}")
    _check_roles(item, user, me, own, pending)
    before = snapshot.manager_now(user)
    target = item.line_manager if (snapshot.has_manager_column or user is None) else before
    if target == before:
        return
    item.set_manager = True
    if user is None:
        item.changes.append(f"line manager: {target}")
    else:
        item.changes.append(f"line manager: {before or 'none'} → {target or 'none'}")
    if own:
        item.problems.append("This is you: nobody records their own line manager. Ask another system administrator.")
    if target is not None:
        _check_manager(item, target, me, snapshot)


def _check_roles(
    item: RowPlan, user: User | None, me: User | None, own: bool, pending: Mapping[int, AccountRequest]
) -> None:
    wanted = item.roles or (frozenset({Role.STAFF}) if user is None else frozenset())
    have = user.roles if user is not None else frozenset()
    if user is not None and item.roles and (kept := have - wanted):
        item.notes.append(f"keeps {_role_list(kept)}: an import never removes roles")
    missing = wanted - have
    if not missing:
        return
    if own:
        item.problems.append("This is you: nobody changes their own roles. Ask another system administrator.")
    asked = missing & PRIVILEGED_ROLES if me is not None else frozenset()
    waiting = pending.get(user.id) if user is not None else None
    if asked and waiting is not None:
        if asked <= set(waiting.role_list):
            item.notes.append(f"{_role_list(asked)} already waits for a second administrator ({waiting.reference})")
        else:
            item.problems.append(
                f"{waiting.requested_by.name} already asked for the {_role_list(waiting.role_list)} role for this "
                f"person ({waiting.reference}): approve, reject or cancel that request first."
            )
        asked = frozenset()
    item.ask = asked
    item.add_now = missing - (missing & PRIVILEGED_ROLES if me is not None else frozenset())
    if user is None:
        item.changes.append(f"roles: {_role_list(item.add_now or {Role.STAFF})}")
    elif item.add_now:
        item.changes.append(f"roles added: {_role_list(item.add_now)}")
    if item.ask:
        item.changes.append(f"asks a second administrator for: {_role_list(item.ask)}")


def _check_manager(item: RowPlan, target: str, me: User | None, snapshot: _Snapshot) -> None:
    """The rules of :func:`registry.auth.managers.set_line_manager`, against everyone as they will be
    once the file is in."""
    label = item.name or item.email
    if target == item.email:
        item.problems.append("Line manager email: a person cannot be their own line manager.")
        return
    if me is not None and target == me.email:
        item.problems.append(
            "Line manager email: you cannot record yourself as someone's line manager: ask another system "
            f"administrator to record you as {label}'s."
        )
    boss = snapshot.people.get(target)
    boss_row = snapshot.in_file.get(target)
    if boss is None and boss_row is None:
        item.problems.append(f"Line manager email: there is no user {target}, and nobody in the file has that address.")
        return
    if boss is not None and not boss.active:
        item.problems.append(f"Line manager email: {boss.name} ({target}) is deactivated.")
        return
    if Role.MANAGER not in snapshot.final_roles(target):
        where = f" (row {boss_row.number})" if boss_row is not None else ""
        item.problems.append(
            f"Line manager email: {target}{where} does not have the line manager role: give them the manager "
            "role in the file, or choose someone who has it."
        )
    if item.email in snapshot.on_a_loop():
        further = "" if snapshot.final_manager(target) == item.email else " further up"
        item.problems.append(
            f"Line manager email: {label} would be {target}'s line manager{further}, so {target} cannot be theirs."
        )


Refused = spreadsheets.Refused


@dataclass(frozen=True)
class Applied:
    """What an import changed."""

    plan: Plan
    requests: tuple[AccountRequest, ...] = ()
    setup_links: int = 0


def apply(
    data: bytes,
    *,
    actor: Actor | User,
    reason: str | None = None,
    send_setup_links: bool = False,
    source: str,
) -> Applied:
    """Check ``data`` again from scratch and, when there is no problem, make every change (flushes; the
    caller's unit of work commits them together). With a problem, :class:`Refused` (its plan says why)
    and nothing is changed. ``reason``: why people need the privileged roles asked for (an administrator's
    import; required then). ``send_setup_links``: e-mail each new user a set-up link to choose a password
    (off by default: with NHSmail sign-in they need none, and a first import may be thousands of people)."""
    checked = plan(data, actor=actor)
    if not checked.ok:
        raise Refused(checked)
    me = actor if isinstance(actor, User) else None
    if me is not None and checked.asks and not (reason or "").strip():
        raise Invalid(
            {
                "reason": f"Say why these people need the {approvals.role_names(checked.asks)} role: the "
                "administrator who approves it reads this."
            }
        )
    session = db.session()
    created: dict[str, User] = {}
    requests: list[AccountRequest] = []
    for row in checked.rows:
        if row.action is Action.CREATE:
            created[row.email] = accounts.create_user(
                email=row.email, name=row.name, roles=row.add_now or {Role.STAFF}, password=None, actor=actor
            )
    people = {
        user.email: user
        for user in session.execute(
            select(User).where(User.email.in_([row.email for row in checked.rows] + _managers(checked)))
        ).scalars()
    }
    for row in checked.rows:
        user = people[row.email]
        if row.rename:
            before = user.name
            user.name = row.name
            record(AuditAction.USER_RENAME, "user", user.id, {"from": before, "to": row.name}, actor=actor)
        if row.email not in created and row.add_now:
            accounts.set_roles(user, user.roles | row.add_now, actor=actor)
        if row.ask and me is not None:
            change = approvals.change_roles(user, user.roles | row.ask, actor=me, reason=reason)
            if change.request is not None:
                requests.append(change.request)
    for row in checked.rows:
        if row.set_manager:
            manager = people[row.line_manager] if row.line_manager else None
            managers.record_line_manager(people[row.email], manager, actor=actor, tell=row.email not in created)
    links = 0
    if send_setup_links:
        for user in created.values():
            setup_links.issue(user, SetupReason.NEW_ACCOUNT, actor=actor)
            links += 1
    record(
        AuditAction.USER_IMPORT,
        "user_import",
        checked.digest[:16],
        {
            "source": source,
            "sha256": checked.digest,
            "rows": len(checked.rows),
            "created": checked.count(Action.CREATE),
            "updated": checked.count(Action.UPDATE),
            "unchanged": checked.count(Action.UNCHANGED),
            "role_requests": len(requests),
            "setup_links": links,
            "ignored_columns": checked.ignored_columns,
        },
        actor=actor,
    )
    session.flush()
    return Applied(checked, tuple(requests), links)


def _managers(checked: Plan) -> list[str]:
    return [row.line_manager for row in checked.rows if row.set_manager and row.line_manager]
