"""A request's lifecycle as data: its states (with their words and colours) and its transitions.

Each kind of request declares one :class:`Lifecycle`. Everything that shows a status, offers
an action or labels a step of the history reads it from there, so the words exist once; the
engine (:mod:`registry.lifecycle.engine`) is the only code that moves a request along it.

A kind's words and rows are data: ``registry/<kind>/lifecycle.toml``, read by :meth:`Lifecycle.load`
against the kind's enums and row class (which stay code), so a reviewer reads the lifecycle in plain
English and a table that does not fit the code fails at import, naming the file, the row and the key.
"""

from __future__ import annotations

import difflib
import tomllib
import types
from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from enum import Enum, StrEnum
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar, Union, get_args, get_origin, get_type_hints

from registry.audit.models import AuditAction
from registry.auth.permissions import Permission
from registry.errors import Invalid


class Status(StrEnum):
    """A state a request can be in. Its label, phrase and colour come from its lifecycle."""

    @property
    def state(self) -> State:
        return _STATES[type(self)][self]

    @property
    def label(self) -> str:
        """How the status reads on its own: "Awaiting triage"."""
        return self.state.label

    @property
    def phrase(self) -> str:
        """How the status reads in a sentence: "MC-0001 is {phrase}"."""
        return self.state.phrase

    @property
    def colour(self) -> str:
        """The NHS tag colour that shows it."""
        return self.state.colour


class Worded(StrEnum):
    """A value of a kind's own (a reason, an asset) whose words its lifecycle file gives, in a
    ``[labels.<table>]`` table: declare it under :meth:`Lifecycle.worded`."""

    @property
    def label(self) -> str:
        """How the value reads on its own: "Partner material"."""
        return _WORDS[type(self)]["label"][self]

    @property
    def phrase(self) -> str:
        """How the value reads mid-sentence, where the file gives it: "consent to use {phrase}"."""
        return _WORDS[type(self)]["phrase"][self]


S = TypeVar("S", bound=Status)
A = TypeVar("A", bound=StrEnum)
E = TypeVar("E", bound=StrEnum)
W = TypeVar("W", bound=Worded)

#: Each status enum's words, filled in by its :class:`Lifecycle` (declared after its enum).
_STATES: dict[type[Status], Mapping[Any, State]] = {}
#: Each worded enum's labels (and phrases), filled in by :meth:`Lifecycle.worded`.
_WORDS: dict[type[Worded], dict[str, Mapping[Any, str]]] = {}


#: Who a request waits on in a state (``waits_on`` in a file): the communications team, or its requester.
WAITS_ON: tuple[str, ...] = ("comms", "requester")


@dataclass(frozen=True)
class State:
    """How a state reads, and what it means for lists of work: ``open``, a request of one's own is
    still under way; ``waits_on``, who acts next ("comms", "requester" or no one)."""

    label: str
    phrase: str
    colour: str
    open: bool = False
    waits_on: str = ""


class Need(StrEnum):
    """Whether a transition needs a piece of text: required, optional, or not taken at all."""

    REQUIRED = "required"
    OPTIONAL = "optional"
    NONE = "none"


@dataclass(frozen=True, kw_only=True)
class Transition(Generic[S, A]):
    """One row of a lifecycle table.

    ``permission`` None: only the requester may take the action. ``four_eyes``: the
    requester may not take it, whatever their roles. ``note``: whether the step's note
    (what the actor says; stored with the step and, masked, in the audit event) is
    required, optional or not taken; ``note_missing`` is what a missing one is told.
    ``done`` completes "{reference} has been …"; ``step`` labels the history entry
    (by default ``done`` with a capital: "approved", "Approved").
    ``warning``: the page offers it with a warning button (it ends or stops something).

    The audit event is the kind's ``audit_prefix`` and the action's name
    (``CHANNEL`` and ``APPROVE``: ``AuditAction.CHANNEL_APPROVE``) unless ``audit_as`` names another.
    """

    #: The first part of the names of the kind's audit actions ("CHANNEL"); each kind's row class sets it.
    audit_prefix: ClassVar[str] = ""

    action: A
    sources: frozenset[S]
    target: S
    label: str
    done: str
    step: str = ""
    audit_as: AuditAction | None = None
    permission: Permission | None
    four_eyes: bool = False
    note: Need = Need.OPTIONAL
    #: Empty: "Enter a reason: " and the note's label.
    note_missing: str = ""
    note_label: str = "Reason"
    note_hint: str = ""
    warning: bool = False

    def __post_init__(self) -> None:
        if not self.step:
            object.__setattr__(self, "step", self.done[:1].upper() + self.done[1:])
        if self.audit_as is None and self._audit_name not in AuditAction.__members__:
            raise TypeError(f"No audit action {self._audit_name}: name one with audit_as")

    @property
    def _audit_name(self) -> str:
        return f"{self.audit_prefix}_{self.action.name}"

    @property
    def audit(self) -> AuditAction:
        """The action of the audit event the step writes."""
        return self.audit_as or AuditAction[self._audit_name]

    # Kinds whose API and pages call the note "reason" (SPEC) read the table through these.
    @property
    def reason_required(self) -> bool:
        return self.note is Need.REQUIRED

    @property
    def reason_label(self) -> str:
        return self.note_label


T = TypeVar("T", bound=Transition[Any, Any])


@dataclass(frozen=True)
class Lifecycle(Generic[S, A, T]):
    """A kind's states, its transitions in the order forms offer them, and the labels of the
    steps of its history that are not transitions (such as "report": "Logged")."""

    statuses: Mapping[S, State]
    transitions: tuple[T, ...]
    other_steps: Mapping[str, str] = field(default_factory=dict)
    #: What is said when an action is not one of the table's (or is offered elsewhere).
    choose_action: str = "Choose what happens next."
    #: The file it was read from, and its tables about the kind as a whole (``[kind]``, ``[report]``,
    #: ``[labels]``), which the kind's declaration reads (see :meth:`declared` and :meth:`labels`).
    source: str = field(default="", compare=False)
    words: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        kinds = {type(status) for status in self.statuses}
        if len(kinds) != 1:
            raise TypeError("A lifecycle's statuses are the members of one Status enum")
        enum = kinds.pop()
        missing = set(enum) - set(self.statuses)
        if missing:
            raise TypeError(f"{enum.__name__} has no words for {sorted(missing)}")
        _STATES[enum] = self.statuses

    @property
    def by_action(self) -> dict[str, T]:
        return {t.action.value: t for t in self.transitions}

    def parse(self, action: str) -> T:
        """The transition called ``action``, or :class:`Invalid` naming the field ``action``."""
        found = self.by_action.get(action or "")
        if found is None:
            raise Invalid({"action": self.choose_action})
        return found

    def step_label(self, action: str) -> str:
        """How the history names a step: the transition's own label, or one of the other steps'."""
        found = self.by_action.get(action)
        if found is not None:
            return found.step
        return self.other_steps.get(action, action.replace("_", " ").capitalize())

    def flagged(self, open: bool | None = None, waits_on: str | None = None) -> frozenset[S]:
        """The states whose ``open`` flag is ``open`` and who wait on ``waits_on`` (either: any)."""
        return frozenset(
            status
            for status, state in self.statuses.items()
            if (open is None or state.open is open) and (waits_on is None or state.waits_on == waits_on)
        )

    @property
    def open_statuses(self) -> frozenset[S]:
        return self.flagged(open=True)

    @property
    def awaiting_comms(self) -> frozenset[S]:
        return self.flagged(waits_on="comms")

    @property
    def waiting_on_requester(self) -> frozenset[S]:
        return self.flagged(waits_on="requester")

    def declared(
        self, table: str, hints: Mapping[str, Any], *, required: Iterable[str] = (), within: Iterable[str] = ()
    ) -> dict[str, Any]:
        """The file's table ``table`` (``"kind"``, ``"kind.decisions"``, ``"report"``), each key one of
        ``hints`` and its value of that type (a string, true or false, a whole number, a member of an enum,
        a list of strings, or a table of strings), and every key in ``required``. ``within``: its own tables,
        read on their own. Raises :class:`TableError` naming the file, the table and the key."""
        reader = self._reader()
        data: Any = self.words
        place = f"[{table}]"
        for part in table.split("."):
            data = reader.table(place, data.get(part, {}))
        inner = tuple(within)
        reader.known(place, data, (*hints, *inner))
        for key in required:
            if key not in data:
                raise reader.fail(place, f"missing key {key!r}")
        return {key: reader.value(f"{place} {key}", hints[key], data[key]) for key in data if key not in inner}

    def _reader(self) -> _Reader:
        return _Reader(self.source or "the lifecycle file", type(next(iter(self.statuses))), StrEnum)

    def labels(self, table: str, enum: type[E]) -> dict[E, str]:
        """The file's ``[labels.<table>]``: how each member of ``enum`` reads, in the enum's order. Raises
        :class:`TableError` naming the file and the key for a member it does not know or one it leaves out."""
        reader = self._reader()
        place = f"[labels.{table}]"
        data = reader.table(place, reader.table("[labels]", self.words.get("labels", {})).get(table, {}))
        reader.known(place, data, _values(enum))
        missing = [value for value in _values(enum) if value not in data]
        if missing:
            raise reader.fail(place, f"no label for {enum.__name__} {', '.join(missing)}")
        return {member: reader.string(f"{place} {member.value}", data[member.value]) for member in enum}

    def worded(self, label: str, phrase: str | None = None) -> Callable[[type[W]], type[W]]:
        """A class decorator: the enum's labels are the file's ``[labels.<label>]`` and its phrases
        ``[labels.<phrase>]``, read (and checked, as :meth:`labels` does) when the class is made."""

        def declare(enum: type[W]) -> type[W]:
            words: dict[str, Mapping[Any, str]] = {"label": self.labels(label, enum)}
            if phrase is not None:
                words["phrase"] = self.labels(phrase, enum)
            _WORDS[enum] = words
            return enum

        return declare

    @classmethod
    def load(
        cls,
        source: Traversable,
        *,
        statuses: type[S],
        actions: type[A],
        row: type[T],
        choose_action: str | None = None,
    ) -> Lifecycle[S, A, T]:
        """The lifecycle a kind's ``lifecycle.toml`` declares, its rows made by ``row`` (the kind's
        :class:`Transition` class, whose defaults fill what a row leaves out).

        ``choose_action``: for a kind that computes it (from its actions) rather than saying it in the file.
        Raises :class:`TableError`, naming the file, the row and the key, for anything the code cannot take.
        """
        loaded: Lifecycle[S, A, T] = _TableReader(str(source), statuses, actions, row).lifecycle(source, choose_action)
        return loaded


def lifecycle_file(module_file: str) -> Path:
    """A kind's ``lifecycle.toml``, beside its workflow module (``lifecycle_file(__file__)``)."""
    return Path(module_file).with_name("lifecycle.toml")


class TableError(ValueError):
    """A lifecycle file that does not fit its kind's code: the message names the file, the row and the key."""


#: How a file says that only the requester may take an action (``permission = "requester"``).
REQUESTER: str = "requester"
#: A row's keys in a file that are not its field's name: a row reads "from … to …".
_KEYS = {"sources": "from", "target": "to"}
_FILE_KEYS = ("states", "transitions", "other_steps", "choose_action", "kind", "report", "labels")
_STATE_KEYS = ("label", "phrase", "colour")
_STATE_FLAGS = ("open", "waits_on")
#: What a message calls a value of these enums (others are called by their class's name).
_WHAT: dict[type[Enum], str] = {Permission: "permission", AuditAction: "audit action", Need: "need"}


class _Reader:
    """Reads the values of one lifecycle file against a kind's status and action enums."""

    def __init__(self, where: str, statuses: type[Status], actions: type[StrEnum]) -> None:
        self.where = where
        self.statuses = statuses
        self.actions = actions

    def fail(self, place: str, message: str) -> TableError:
        return TableError(f"{self.where}: {place}: {message}")

    def known(self, place: str, data: Mapping[str, Any], keys: Iterable[str]) -> None:
        allowed = list(keys)
        for key in data:
            if key not in allowed:
                raise self.fail(place, f"unknown key {key!r}{_close(key, allowed)} (it takes {', '.join(allowed)})")

    def table(self, place: str, value: object) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(place, f"must be a table, not {_shown(value)}")
        return value

    def string(self, place: str, value: object) -> str:
        if not isinstance(value, str):
            raise self.fail(place, f"must be a string, not {_shown(value)}")
        return value

    def value(self, place: str, hint: Any, value: object) -> object:
        """``value`` as the field takes it: a string, true or false, a whole number, a member of an enum,
        a list of states or of strings, or a table of strings."""
        optional = get_origin(hint) in (Union, types.UnionType) and type(None) in get_args(hint)
        if optional:
            hint = next(arg for arg in get_args(hint) if arg is not type(None))
        if get_origin(hint) is list:
            if not isinstance(value, list) or not value:
                raise self.fail(place, f"must be a list of states, not {_shown(value)}")
            return frozenset(self.value(place, get_args(hint)[0], item) for item in value)
        if get_origin(hint) is tuple:
            if not isinstance(value, list):
                raise self.fail(place, f"must be a list of strings, not {_shown(value)}")
            return tuple(self.string(place, item) for item in value)
        if get_origin(hint) is dict:
            return {key: self.string(f"{place} {key}", item) for key, item in self.table(place, value).items()}
        if hint in (bool, int):
            # TOML's true and false are not numbers, whatever Python says.
            if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
                raise self.fail(
                    place, f"must be {'true or false' if hint is bool else 'a whole number'}, not {_shown(value)}"
                )
            return value
        text = self.string(place, value)
        if hint is str:
            return text
        if optional and hint is Permission and text == REQUESTER:
            return None
        if isinstance(hint, type) and issubclass(hint, Enum):
            return self.member(place, hint, text)
        code = getattr(getattr(self, "row", None), "__name__", "RequestKind")
        raise TypeError(f"{code}: a lifecycle file cannot give a {hint!r}")  # the code's fault, not the file's

    def member(self, place: str, enum: type[Enum], value: str) -> Enum:
        try:
            return enum(value)
        except ValueError:
            extra = f' or "{REQUESTER}"' if enum is Permission else ""
            what = {self.statuses: "state", self.actions: "action", **_WHAT}.get(enum, enum.__name__)
            raise self.fail(
                place, f"unknown {what} {value!r}{_close(value, _values(enum))}{_one_of(enum, extra)}"
            ) from None


class _TableReader(_Reader):
    """Reads one lifecycle file against a kind's status and action enums and row class."""

    def __init__(self, where: str, statuses: type[Status], actions: type[StrEnum], row: type[Any]) -> None:
        super().__init__(where, statuses, actions)
        self.row = row
        hints = get_type_hints(row)
        self.fields = {_KEYS.get(f.name, f.name): f for f in fields(row) if f.init}
        self.hints = {key: hints[f.name] for key, f in self.fields.items()}
        self.hints.update({"action": actions, "from": list[statuses], "to": statuses})  # type: ignore[valid-type]

    def lifecycle(self, source: Traversable, choose_action: str | None) -> Any:
        try:
            data = tomllib.loads(source.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise TableError(f"{self.where}: {error}") from None
        self.known("the file", data, _FILE_KEYS)
        other_steps = self.table("[other_steps]", data.get("other_steps", {}))
        for step, label in other_steps.items():
            self.string(f"[other_steps] {step}", label)
        words: dict[str, Any] = {}
        if "choose_action" in data:
            if choose_action is not None:
                raise self.fail("choose_action", "the code computes it: say it in one place only")
            words["choose_action"] = self.string("choose_action", data["choose_action"])
        elif choose_action is not None:
            words["choose_action"] = choose_action
        return Lifecycle(
            statuses=self.states(self.table("[states]", data.get("states", {}))),
            transitions=self.transitions(data.get("transitions", [])),
            other_steps=dict(other_steps),
            source=self.where,
            words={key: self.table(f"[{key}]", data[key]) for key in ("kind", "report", "labels") if key in data},
            **words,
        )

    def states(self, data: Mapping[str, Any]) -> dict[Status, State]:
        enum = self.statuses
        for value, words in data.items():
            place = f"[states.{value}]"
            if value not in enum._value2member_map_:
                raise self.fail(place, f"{enum.__name__} has no state {value!r}{_one_of(enum)}")
            self.known(place, self.table(place, words), _STATE_KEYS + _STATE_FLAGS)
            for key in _STATE_KEYS:
                if key not in words:
                    raise self.fail(place, f"missing key {key!r}")
                self.string(f"{place} {key}", words[key])
            self.value(f"{place} open", bool, words.get("open", False))
            waits_on = self.string(f"{place} waits_on", words.get("waits_on", ""))
            if waits_on not in ("", *WAITS_ON):
                raise self.fail(f"{place} waits_on", f"must be one of {', '.join(WAITS_ON)}, not {waits_on!r}")
        missing = [status.value for status in enum if status.value not in data]
        if missing:
            raise self.fail("[states]", f"no words for {enum.__name__} {', '.join(missing)}: add [states.{missing[0]}]")
        return {status: State(**data[status.value]) for status in enum}

    def transitions(self, rows: object) -> tuple[Any, ...]:
        if not isinstance(rows, list):
            raise self.fail("transitions", f"must be [[transitions]] rows, not {_shown(rows)}")
        made: dict[str, int] = {}
        result = []
        for number, data in enumerate(rows, start=1):
            action = data.get("action") if isinstance(data, dict) else None
            place = f"[[transitions]] row {number}" + (f" (action = {action!r})" if isinstance(action, str) else "")
            if isinstance(action, str) and action in made:
                raise self.fail(place, f"action {action!r} is declared twice (first in row {made[action]})")
            result.append(self.transition(place, self.table(place, data)))
            made[str(action)] = number
        return tuple(result)

    def transition(self, place: str, data: Mapping[str, Any]) -> Any:
        self.known(place, data, self.fields)
        for key, spec in self.fields.items():
            if key not in data and spec.default is MISSING and spec.default_factory is MISSING:
                raise self.fail(place, f"missing key {key!r}")
        values = {self.fields[key].name: self.value(f"{place} {key}", self.hints[key], data[key]) for key in data}
        try:
            return self.row(**values)
        except (TypeError, ValueError) as error:
            raise self.fail(place, str(error)) from None


def _values(enum: type[Enum]) -> list[str]:
    return [str(member.value) for member in enum]


def _one_of(enum: type[Enum], extra: str = "") -> str:
    values = _values(enum)
    return f" (one of {', '.join(values)}{extra})" if len(values) <= 12 else ""


def _close(word: str, choices: Iterable[str]) -> str:
    found = difflib.get_close_matches(word, list(choices), n=1)
    return f": did you mean {found[0]!r}?" if found else ""


def _shown(value: object) -> str:
    return f"{type(value).__name__} {value!r}"
