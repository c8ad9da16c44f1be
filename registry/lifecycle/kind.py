"""A kind of request: what the engine and the shared pages need to know about it.

A kind subclasses :class:`RequestKind`, names its model and its step model (whose lifecycle
it takes), and overrides the hooks that are truly its own (extra checks, validation of what a
transition takes, what a transition changes, who is told). Everything the kinds share
(finding a request, who may take an action, the history, the work items) is written here
once. Kinds register themselves in :data:`KINDS` when their module is imported, and the
work queue, each person's requests and the dashboards iterate over that registry.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib
import importlib.util
import pkgutil
import re
import sys
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar, cast, get_args, get_type_hints

from sqlalchemy import ColumnElement, ScalarSelect, Select, case, func, literal, or_, select, true
from sqlalchemy.orm.interfaces import ORMOption
from werkzeug.utils import import_string

from registry import db
from registry.auth.models import User
from registry.auth.permissions import Permission
from registry.errors import Conflict, NotFound, NotPermitted
from registry.lifecycle.models import AttachmentMixin, Reference
from registry.lifecycle.steps import StepMixin
from registry.lifecycle.table import Lifecycle, Need, Status, TableError, Transition, lifecycle_file

if TYPE_CHECKING:
    from registry.clock import Period
    from registry.uploads.models import Upload


#: A request model (its attributes are read through ``Any``: each kind names its own columns).
M = TypeVar("M", bound=db.Base)


@dataclass(frozen=True)
class WorkItem:
    """What awaits someone: one shape for every kind of request, so the communications team's
    work queue and each person's requests page list them side by side."""

    kind: str  # "Channel request", "Logo consent", "Promotional post", "Media contact"
    reference: str  # CH-0042, LC-2026-0042, PP-2026-0007, MC-0007
    title: str  # one line a person recognises
    status_label: str
    waiting_since: dt.datetime  # when it reached its current state (UTC)
    url: str  # the path of the page where it is acted on (a plain path: reminders run outside requests)
    requester: str | None = None  # the requester's name (comms' queue)
    #: True when the person whose list this is must act next (their changes are asked for).
    needs_you: bool = False

    def age_days(self, now: dt.datetime | None = None) -> int:
        return max(0, ((now or db.utcnow()) - self.waiting_since).days)


@dataclass(frozen=True)
class Waiting:
    """Which requests of one kind are on a list of work, as the database selects them: those in one
    of ``statuses`` that meet ``where``, each waiting since its ``since`` column. Those in ``needs_you``
    wait on the person whose list it is (their changes or answer are asked for).

    The work queue and each person's requests (registry/web/workqueue.py) read each status as one
    range of an index on (…, status, since), oldest first, and page in SQL: a page costs the same
    however many requests there are or ever were."""

    statuses: frozenset[Status]
    since: Any  # the model's column (a ``Mapped[datetime]``)
    where: tuple[ColumnElement[bool], ...] = ()
    needs_you: frozenset[Status] = frozenset()
    #: A column of a time: a row waits only once that time has passed (a check due, a window ended).
    #: Compared with ``now`` when the list is read, so the statement is the same at every reading.
    due: Any = None

    def conditions(self, now: Any) -> tuple[ColumnElement[bool], ...]:
        """``where``, and ``due`` not after ``now`` (a time, or a bound parameter for one)."""
        return self.where if self.due is None else (*self.where, self.due <= now)


def values(statuses: Iterable[Status]) -> list[str]:
    """The statuses as stored, in a stable order (one SQL text for the same statuses)."""
    return sorted(s.value for s in statuses)


T = TypeVar("T")

#: How many items a home page card lists (the rest are a link away).
SHOWN = 3


@dataclass(frozen=True)
class Listing(Generic[T]):
    """The first few of a list, and how many there are in all (a card shows the oldest few)."""

    items: list[T]
    total: int

    @classmethod
    def of(cls, items: Sequence[T], shown: int = SHOWN) -> Listing[T]:
        return cls(list(items[:shown]), len(items))

    @classmethod
    def first(cls, statement: Select[Any], shown: int = SHOWN) -> Listing[Any]:
        """The first ``shown`` rows of ``statement`` (of one entity) and how many rows it has, in one
        statement: the count reads only what it counts, and the rows stop at the few shown,
        however many there are (when there are none, the total is 0)."""
        rows = db.session().execute(statement.add_columns(count_of(statement)).limit(shown)).unique().all()
        return cls([row[0] for row in rows], rows[0][-1] if rows else 0)

    @property
    def more(self) -> int:
        return self.total - len(self.items)


def count_of(statement: Select[Any], *where: ColumnElement[bool]) -> ScalarSelect[int]:
    """How many rows ``statement`` has (of them, those also meeting ``where``), as a subquery the
    database runs once (never once per row), to put beside the first few rows in one statement."""
    counted = statement.with_only_columns(func.count(), maintain_column_froms=True).order_by(None).where(*where)
    return counted.scalar_subquery().correlate(None)


@dataclass(frozen=True)
class Card:
    """A kind's card under "What needs you now" on someone's home page: its name (the
    dashboard's key for it), the template that draws it, and what that template shows."""

    name: str
    template: str
    data: Any


@dataclass(frozen=True)
class Decisions:
    """How the monthly report counts a kind's requests and decisions, by its steps' actions."""

    label: str  # "Channel requests"
    received: str
    approvals: tuple[str, ...]
    rejections: tuple[str, ...]


@dataclass(frozen=True)
class ReportSection:
    """A section of the monthly report: its figures (path in the figures → label), the policy
    clause it reports on, and how the figures are counted."""

    key: str
    title: str
    clause: str
    lines: tuple[tuple[str, str], ...]
    note: str = ""

    @property
    def order(self) -> tuple[int, ...]:
        """The policy's order: sections follow the clauses they report on."""
        return tuple(int(part) for part in self.clause.split(",")[0].split("."))


@dataclass
class Change(Generic[M]):
    """One transition being taken: what the kind's hooks read and add to.

    ``inputs``: what the transition takes beyond the note (advice, a time, addresses…);
    ``errors``: field → message, raised together as one ``Invalid``; ``details``: the audit
    event's details (the engine adds action, from and to, and the masked note); ``step``:
    extra columns of the history step; ``step_note``: the step's note when it is not the
    note as typed.
    """

    request: M
    transition: Transition[Any, Any]
    actor: User
    now: dt.datetime
    previous: str
    note: str
    inputs: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    step: dict[str, Any] = field(default_factory=dict)
    step_note: str | None = None


#: What a kind declares in its lifecycle file's ``[kind]`` table: its words and plain settings (the rest of
#: its declaration is code: its models, its references' pattern, its hooks).
KIND_WORDS: tuple[str, ...] = (
    "name",
    "label",
    "noun",
    "called",
    "read_all",
    "pages",
    "requester_column",
    "note_field",
    "audit_names_action",
    "note_audited",
    "stale",
    "four_eyes_refusal",
    "reference_example",
    "file_noun",
    "named",
    "card",
    "figures",
    "demo",
    "demo_order",
)


def _beside(kind: type[Any], lifecycle: Lifecycle[Any, Any, Any]) -> bool:
    """Whether ``lifecycle`` was read from the lifecycle file in the kind's own package (a kind that
    borrows another's step model, as a test's may, declares its words in its class)."""
    module = getattr(sys.modules.get(kind.__module__), "__file__", None)
    return bool(module and lifecycle.source) and lifecycle_file(str(module)) == Path(lifecycle.source)


def _fields(cls: type[Any], optional: Iterable[str] = ()) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls) if f.name not in optional)


#: Every kind of request, by name, in the order they registered (see :func:`kinds`).
KINDS: dict[str, RequestKind[Any]] = {}


class RequestKind(Generic[M]):
    """The declaration of a kind of request. Subclass it once per kind and instantiate it once:
    the instance registers itself. The words and settings below (:data:`KIND_WORDS`, ``decisions``,
    ``report`` and the sets of states) are declared in the kind's lifecycle file (see :meth:`declare_from`);
    the class names what is code."""

    #: The audit trail's object type, and the kind's name in the registry ("media_contact").
    name: ClassVar[str]
    #: How people call one ("Media contact"), as the work queue shows it.
    label: ClassVar[str]
    model: ClassVar[type[db.Base]]
    step_model: ClassVar[type[StepMixin]]
    #: The kind's lifecycle table: its step model's (declared there once).
    lifecycle: ClassVar[Lifecycle[Any, Any, Any]]
    #: The permission to see every request of the kind.
    read_all: ClassVar[Permission]
    #: The model's column naming who asked (the requester, the reporter).
    requester_column: ClassVar[str] = "requester_id"
    #: Whose requests appear as "open" on their own list, and what awaits comms (in a kind's lifecycle file,
    #: its states' ``open = true`` and ``waits_on = "comms"``).
    open_statuses: ClassVar[frozenset[Status]] = frozenset()
    awaiting_comms: ClassVar[frozenset[Status]] = frozenset()
    #: Of the open statuses, those in which the requester acts next (changes or an answer asked for).
    waiting_on_requester: ClassVar[frozenset[Status]] = frozenset()
    #: How its references begin ("CH"), and the column of a number they give before the id (a year),
    #: if any: lists of work order requests waiting since the same moment as their references.
    #: A :class:`~registry.lifecycle.models.Numbered` model gives its prefix and pattern.
    reference_prefix: ClassVar[str] = ""
    reference_year_column: ClassVar[str | None] = None
    #: What one is called in a sentence ("Only an approach that is … can be …").
    noun: ClassVar[str] = "request"
    #: The field the note of a transition is given in, and the longest note a step takes.
    note_field: ClassVar[str] = "note"
    note_max: ClassVar[int] = 2000
    #: Whether the audit event of a transition names its action (beside from and to).
    audit_names_action: ClassVar[bool] = False
    #: Whether a transition's audit event holds its note (masked). A kind whose free text must
    #: never reach the trail, which is kept for years (breach reports), says no.
    note_audited: ClassVar[bool] = True
    #: A decision made on an older version of a versioned request than the one stored.
    stale: ClassVar[str] = (
        "The request has changed since you opened it. Read it again, then decide: your decision was not recorded."
    )
    #: Refusals in the kind's own words.
    four_eyes_refusal: ClassVar[str] = "You asked for this, so someone else must decide it (four-eyes rule)."
    #: Where the kind's pages are ("/media-contacts"): a request's page is there, under its reference.
    pages: ClassVar[str] = ""
    #: A reference: its pattern (the first group is the id), an example, and what a missing one is called
    #: (the label, in lower case, unless said).
    reference_pattern: ClassVar[re.Pattern[str] | None] = None
    reference_example: ClassVar[str] = ""
    called: ClassVar[str] = ""
    #: The model linking a request to its files (evidence, artwork; its ``parent_key`` names the request), and
    #: what one file is called when it is not the request's ("MC-0042 has no screenshot 7").
    files_model: ClassVar[type[AttachmentMixin] | None] = None
    file_noun: ClassVar[str] = "file"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        numbering = getattr(vars(cls).get("model"), "numbering", None)
        if isinstance(numbering, Reference):
            cls.reference_pattern, cls.reference_prefix = numbering.pattern, numbering.prefix
        if "step_model" in vars(cls):
            cls.lifecycle = cls.step_model.lifecycle
            if _beside(cls, cls.lifecycle):
                cls.declare_from(cls.lifecycle)

    @classmethod
    def declare_from(cls, lifecycle: Lifecycle[Any, Any, Any]) -> None:
        """Take the kind's words and settings from its lifecycle file: its ``[kind]`` table (and
        ``[kind.decisions]``), its ``[report]`` section, and the sets of states its states' flags make.
        What the file says, the class may not say again (one place only). A kind whose lifecycle file is
        beside its module is declared from it when its class is made."""
        hints = {key: get_args(hint)[0] for key, hint in get_type_hints(RequestKind).items() if key in KIND_WORDS}
        required = [key for key in ("name", "label", "read_all") if key not in vars(cls)]
        declared = lifecycle.declared("kind", hints, required=required, within=("decisions",))
        if "decisions" in lifecycle.words.get("kind", {}):
            decisions = lifecycle.declared("kind.decisions", get_type_hints(Decisions), required=_fields(Decisions))
            declared["decisions"] = Decisions(**decisions)
        if "report" in lifecycle.words:
            section = {**get_type_hints(ReportSection), "lines": dict[str, str]}
            report = lifecycle.declared("report", section, required=_fields(ReportSection, ("note",)))
            declared["report"] = ReportSection(**{**report, "lines": tuple(report["lines"].items())})
        flags = ("open_statuses", "awaiting_comms", "waiting_on_requester")
        declared.update({key: getattr(lifecycle, key) for key in flags})
        for key, value in declared.items():
            if key in vars(cls):
                where = {"report": "[report]", **dict.fromkeys(flags, "[states]")}.get(key, "[kind]")
                raise TableError(
                    f"{lifecycle.source}: {where} {key}: {cls.__name__} says it too: say it in one place only"
                )
            setattr(cls, key, value)

    #: What the monthly report counts of it: its requests and decisions, and its own section.
    decisions: ClassVar[Decisions | None] = None
    report: ClassVar[ReportSection | None] = None
    #: Where the kind meets the rest of the Registry, as import strings ("registry.x.module:function"),
    #: so that the declaration names them without importing what is built on it:
    #: ``card(user) -> Card | None``, its card on a home page; ``figures(month) -> dict[str, int]``,
    #: the figures of its :attr:`report` section; ``demo(users, comms)``, its examples in the demo,
    #: which come in ``demo_order`` (posts need the channels' examples).
    card: ClassVar[str | None] = None
    figures: ClassVar[str | None] = None
    demo: ClassVar[str | None] = None
    demo_order: ClassVar[int] = 50

    def __init__(self) -> None:
        if self.name in KINDS:
            raise RuntimeError(f"The request kind {self.name!r} is declared twice")
        KINDS[self.name] = self

    # --- finding one ---------------------------------------------------------------------------

    def id_from_reference(self, reference: str) -> int | None:
        match = self.reference_pattern.match(reference or "") if self.reference_pattern else None
        return int(match.group(1)) if match else None

    def reference_clause(self, reference: str) -> ColumnElement[bool] | None:
        """The SQL condition that finds the request called ``reference`` (None: it cannot be one).
        A kind whose requests have more than one reference overrides it."""
        found_id = self.id_from_reference(reference)
        if found_id is None or found_id > 2_147_483_647:
            return None
        return getattr(self.model, "id") == found_id  # type: ignore[no-any-return]  # noqa: B009

    def not_found(self, reference: str) -> NotFound:
        example = f" Check the reference, for example {self.reference_example}." if self.reference_example else ""
        return NotFound(f"There is no {self.called or self.label.lower()} {reference!r}.{example}")

    def get(self, reference: str, *, for_update: bool = False) -> M:
        """The request called ``reference`` (locked for the transaction with ``for_update``)."""
        clause = self.reference_clause(reference)
        found = None
        if clause is not None:
            model: Any = self.model
            statement = select(model).where(clause)
            if for_update:
                statement = statement.with_for_update(of=model).execution_options(populate_existing=True)
            found = db.session().execute(statement).unique().scalar_one_or_none()
        if found is None:
            raise self.not_found(reference)
        return found  # type: ignore[no-any-return]

    def new(self, requester: User, status: Status, now: dt.datetime, **columns: Any) -> M:
        """A request as it is made: in ``status``, asked by ``requester``, its times all ``now``."""
        model: Any = self.model
        times = {name: now for name in ("created_at", "updated_at", "status_changed_at") if hasattr(model, name)}
        return model(status=status.value, **{self.requester_column: requester.id}, **times, **columns)  # type: ignore[no-any-return]

    def reference_of(self, request: M) -> str:
        """The reference the request is found by, and its audit events are filed under."""
        return str(getattr(request, "reference"))  # noqa: B009

    #: What the name a request is given once decided is called (a logo consent's: "consent"), if it is given one.
    named: ClassVar[str] = ""

    def name_of(self, request: M) -> str:
        """The reference people see (in its page's address, its messages and refusals): the one it is found by,
        unless a kind names it otherwise once decided (a logo consent by its consent reference)."""
        return self.reference_of(request)

    def link(self, request: M) -> str:
        """The request's page, as an absolute path (for messages and work items: reminders run outside requests)."""
        return f"{self.pages}/{self.name_of(request)}"

    def requester_id(self, request: M) -> int:
        return int(getattr(request, self.requester_column))

    # --- who sees what ------------------------------------------------------------------------

    def sees_everything(self, user: User) -> bool:
        """Whether ``user`` sees every request of the kind (others see only their own)."""
        return user.can(self.read_all)

    def can_view(self, user: User, request: M) -> bool:
        return self.sees_everything(user) or self.requester_id(request) == user.id

    def visible(self, reference: str, user: User) -> M:
        """The request, if ``user`` may see it; otherwise "not found", as if it did not exist."""
        found = self.get(reference)
        if not self.can_view(user, found):
            raise self.not_found(reference)
        return found

    def visible_clause(self, user: User) -> ColumnElement[bool]:
        """The SQL condition for the requests ``user`` may see."""
        if self.sees_everything(user):
            return true()
        return getattr(self.model, self.requester_column) == user.id  # type: ignore[no-any-return]

    def matching(self, q: str, *columns: Any, requester: bool = False) -> ColumnElement[bool]:
        """A list's search box: the requests whose ``columns`` hold ``q`` in any case, whose
        requester's name or e-mail address does (with ``requester``), or that ``q`` names."""
        like = db.contains_pattern(q.lower())
        matches: list[ColumnElement[bool]] = [func.lower(c).like(like, escape=db.LIKE_ESCAPE) for c in columns]
        if requester:
            people = select(User.id).where(
                or_(
                    func.lower(User.name).like(like, escape=db.LIKE_ESCAPE),
                    func.lower(User.email).like(like, escape=db.LIKE_ESCAPE),
                )
            )
            matches.append(getattr(self.model, self.requester_column).in_(people))
        named = self.reference_clause(q)
        if named is not None:
            matches.append(named)
        return or_(*matches)

    # --- who may do what ----------------------------------------------------------------------

    def check(self, actor: User, request: M, t: Transition[Any, Any]) -> None:
        """Refuse ``t`` unless ``actor`` may take it on ``request`` now: permission first, then
        the request's state, then the four-eyes rule, then the kind's own rules."""
        is_requester = self.requester_id(request) == actor.id
        if t.permission is None:
            if not is_requester:
                raise NotPermitted(self.requester_only(t))
        elif not actor.can(t.permission):
            raise NotPermitted(self.not_permitted(t))
        status = type(t.target)(getattr(request, "status"))  # noqa: B009
        if status not in t.sources:
            raise Conflict(self.wrong_state(request, status, t))
        if t.four_eyes and is_requester:
            raise Conflict(self.four_eyes_refusal)
        self.check_more(actor, request, t)

    def requester_only(self, t: Transition[Any, Any]) -> str:
        """Why someone other than the requester may not take a requester's action."""
        return f"Only the person who made the request can {t.action.value.replace('_', ' ')} it."

    def not_permitted(self, t: Transition[Any, Any]) -> str:
        return f"Only the communications team can {t.label[0].lower()}{t.label[1:]}."

    def wrong_state(self, request: M, status: Status, t: Transition[Any, Any]) -> str:
        allowed = " or ".join(sorted(s.phrase for s in t.sources))
        return (
            f"{self.name_of(request)} is {status.phrase}, so it cannot be {t.done}. "
            f"Only {self.article()} {self.noun} that is {allowed} can be {t.done}."
        )

    def article(self) -> str:
        return "an" if self.noun[:1].lower() in "aeiou" else "a"

    def check_more(self, actor: User, request: M, t: Transition[Any, Any]) -> None:
        """The kind's own refusals, beyond permission, state and four-eyes."""

    def can_take(self, actor: User, request: M, t: Transition[Any, Any]) -> bool:
        """Whether ``t`` would be allowed now (for offering it on a page)."""
        try:
            self.check(actor, request, t)
        except (NotPermitted, Conflict):
            return False
        return True

    def offered(self, actor: User, request: M) -> list[str]:
        """The actions ``actor`` could take now, in the table's order."""
        return [t.action.value for t in self.lifecycle.transitions if self.can_take(actor, request, t)]

    def note_problem(self, t: Transition[Any, Any], note: str) -> str | None:
        """What is wrong with the note given with ``t`` (already cleaned), or None."""
        if t.note is Need.REQUIRED and not note:
            return t.note_missing or f"Enter a reason: {t.note_label.rstrip('?').lower()}"
        if t.note is Need.NONE and note:
            return f"{t.note_label} is not taken when the {self.noun} is {t.done}: clear it"
        if len(note) > self.note_max:
            return f"The {self.note_field} must be {self.note_max} characters or fewer"
        return None

    # --- the hooks of a transition ------------------------------------------------------------

    def validate(self, change: Change[M]) -> None:
        """Add to ``change.errors`` whatever is wrong with ``change.inputs``."""

    def apply(self, change: Change[M]) -> None:
        """Change the request (beyond its status and timestamps), and add audit and step details."""

    def notify(self, change: Change[M]) -> None:
        """Tell whoever needs to know."""

    # --- the history ---------------------------------------------------------------------------

    def steps(self, request: M) -> Select[Any]:
        """The request's steps, oldest first (a kind narrows it for who is asking)."""
        step: Any = self.step_model
        return (
            select(step)
            .where(getattr(step, step.parent_key) == getattr(request, "id"))  # noqa: B009
            .order_by(step.occurred_at, step.id)
        )

    def history(self, request: M) -> list[Any]:
        """Every step of the request, oldest first."""
        return list(db.session().execute(self.steps(request)).unique().scalars())

    # --- its files ------------------------------------------------------------------------------

    def files_order(self) -> tuple[Any, ...]:
        """The order of :meth:`files`: as they were added, unless the kind says otherwise."""
        return (getattr(self.files_model, "id"),)  # noqa: B009

    def files(self, request: M) -> list[Any]:
        """The links of every file of the request (each with its ``upload``)."""
        link: Any = self.files_model
        statement = select(link).where(getattr(link, link.parent_key) == getattr(request, "id"))  # noqa: B009
        return list(db.session().execute(statement.order_by(*self.files_order())).unique().scalars())

    def attach(self, request: M, stored: Sequence[Upload], now: dt.datetime) -> list[dict[str, Any]]:
        """Make ``stored`` files of the request; what its audit event says of them (no file names:
        the trail is append-only and a name can identify a person)."""
        link: Any = self.files_model
        parent = {link.parent_key: getattr(request, "id")}  # noqa: B009
        db.session().add_all(link(**parent, upload_id=u.id, added_at=now) for u in stored)
        return [{"upload": u.id, "type": u.content_type, "sha256": u.sha256} for u in stored]

    def file(self, request: M, upload_id: int) -> Upload:
        """One of the request's files; "not found" for any other upload."""
        link: Any = self.files_model
        statement = select(link).where(
            getattr(link, link.parent_key) == getattr(request, "id"),  # noqa: B009
            link.upload_id == upload_id,
        )
        found = db.session().execute(statement).unique().scalar_one_or_none()
        if found is None:
            raise NotFound(f"{self.name_of(request)} has no {self.file_noun} {upload_id}.")
        return found.upload  # type: ignore[no-any-return]

    # --- what awaits whom ---------------------------------------------------------------------

    def waiting_for_comms(self) -> Waiting | None:
        """What the communications team has still to act on (None: the kind is not in their queue)."""
        if not self.awaiting_comms:
            return None
        return Waiting(self.awaiting_comms, getattr(self.model, "status_changed_at"))  # noqa: B009

    def waiting_of(self, user: User) -> Waiting | None:
        """The person's own open requests, those where they act next marked (None: the kind has none)."""
        if not self.open_statuses:
            return None
        model: Any = self.model
        return Waiting(
            self.open_statuses,
            model.status_changed_at,
            (getattr(model, self.requester_column) == user.id,),
            self.waiting_on_requester,
        )

    def reference_order(self) -> tuple[ColumnElement[int], ColumnElement[int]]:
        """How its requests waiting since the same moment are ordered, as their references would be:
        the number a reference gives before the id (its year; 0 when there is none), then the id."""
        model: Any = self.model
        year = getattr(model, self.reference_year_column) if self.reference_year_column else literal(0)
        return year, model.id

    def work_item_options(self) -> tuple[ORMOption, ...]:
        """How :meth:`work_item` gets what it shows: loaded with the requests themselves (joined, never
        "selectin"), so that loading any number of work items of the kind is exactly one statement."""
        return ()

    def work_items(self, ids: Collection[int], *, for_comms: bool) -> dict[int, WorkItem]:
        """The work items of the requests ``ids``, by id; one statement (also for none)."""
        model: Any = self.model
        statement = select(model).options(*self.work_item_options()).where(model.id.in_(ids))
        found = db.session().execute(statement).unique().scalars()
        return {request.id: self.work_item(request, for_comms=for_comms) for request in found}

    def work_item(self, request: M, *, for_comms: bool) -> WorkItem:
        raise NotImplementedError

    def work_items_for_comms(self) -> list[WorkItem]:
        """Every request of the kind the communications team has still to act on, oldest first; one
        statement. (The work queue pages through every kind: registry/web/workqueue.py.)"""
        waiting = self.waiting_for_comms()
        return [] if waiting is None else self._every(waiting, for_comms=True)

    def work_items_of(self, user: User) -> list[WorkItem]:
        """The person's own open requests of the kind, those waiting for them first, then the oldest;
        one statement."""
        waiting = self.waiting_of(user)
        return [] if waiting is None else self._every(waiting, for_comms=False)

    def _every(self, waiting: Waiting, *, for_comms: bool) -> list[WorkItem]:
        model: Any = self.model
        first = [case((model.status.in_(values(waiting.needs_you)), 0), else_=1)] if waiting.needs_you else []
        statement = (
            select(model)
            .options(*self.work_item_options())
            .where(model.status.in_(values(waiting.statuses)), *waiting.conditions(db.utcnow()))
            .order_by(*first, waiting.since, *self.reference_order())
        )
        return [self.work_item(r, for_comms=for_comms) for r in db.session().execute(statement).unique().scalars()]

    # --- the kind elsewhere: the home page and the monthly report --------------------------------

    def home_card(self, user: User) -> Card | None:
        """The kind's card on ``user``'s home page, if it has one for them (beside the work queue)."""
        return None if self.card is None else cast("Card | None", import_string(self.card)(user))

    def month_figures(self, month: Period) -> dict[str, int]:
        """The figures of :attr:`report` for ``month``: whole numbers only, never a name."""
        assert self.figures is not None, f"{self.name} has a report section but no figures"
        figures = import_string(self.figures)(month)
        return {str(key): int(value) for key, value in figures.items()}

    def seed_demo(self, users: list[User], comms: list[User]) -> None:
        if self.demo is not None:
            import_string(self.demo)(users, comms)


class WorkSource(Protocol):
    """A list of work the work queue pages: every kind of request is one, and so is work that is not a
    request but waits on someone all the same (official channels due an account security check).

    What the queue reads of it: its rows are those of ``model`` in :meth:`waiting_for_comms`'s
    statuses that meet its ``where``, each waiting since its ``since`` column, ordered and paged in SQL
    from an index on (status, since); :meth:`work_items` loads the rows shown in one statement."""

    @property
    def name(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def model(self) -> type[db.Base]: ...
    @property
    def reference_prefix(self) -> str: ...

    def waiting_for_comms(self) -> Waiting | None: ...
    def waiting_of(self, user: User) -> Waiting | None: ...
    def reference_order(self) -> tuple[ColumnElement[int], ColumnElement[int]]: ...
    def work_items(self, ids: Collection[int], *, for_comms: bool) -> dict[int, WorkItem]: ...


#: Lists of work that are not kinds of request, by name; each registers itself from its package's
#: ``work`` module (``registry/<package>/work.py``).
WORK: dict[str, WorkSource] = {}


def register_work(source: WorkSource) -> WorkSource:
    if source.name in WORK or source.name in KINDS:
        raise RuntimeError(f"The list of work {source.name!r} is declared twice")
    WORK[source.name] = source
    return source


@functools.cache
def discover() -> None:
    """Import every package's ``kind`` module (``registry/<package>/kind.py``), so that each kind of
    request registers itself, and its ``work`` module, if any, so that each other list of work does:
    adding one needs no edit to a list kept anywhere else. Once per process: the packages do not
    change while it runs (a page would pay 0.7 ms a call)."""
    import registry

    for package in sorted(info.name for info in pkgutil.iter_modules(registry.__path__) if info.ispkg):
        for module in ("kind", "work"):
            if importlib.util.find_spec(f"registry.{package}.{module}") is not None:
                importlib.import_module(f"registry.{package}.{module}")


def kinds() -> list[RequestKind[Any]]:
    """Every kind of request, in the order of their packages' names."""
    discover()
    return list(KINDS.values())


def sources() -> list[WorkSource]:
    """Every list of work: the kinds of request, then the other lists (see :class:`WorkSource`)."""
    discover()
    return [*KINDS.values(), *WORK.values()]
