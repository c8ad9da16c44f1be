"""A request's lifecycle as data: its states (with their words and colours) and its transitions.

Each kind of request declares one :class:`Lifecycle`. Everything that shows a status, offers
an action or labels a step of the history reads it from there, so the words exist once; the
engine (:mod:`registry.lifecycle.engine`) is the only code that moves a request along it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Generic, TypeVar

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


S = TypeVar("S", bound=Status)
A = TypeVar("A", bound=StrEnum)

#: Each status enum's words, filled in by its :class:`Lifecycle` (declared after its enum).
_STATES: dict[type[Status], Mapping[Any, State]] = {}


@dataclass(frozen=True)
class State:
    label: str
    phrase: str
    colour: str


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

    def statuses_where(self, keep: Iterable[S]) -> list[str]:
        """Status values, for ``IN`` clauses."""
        return [status.value for status in keep]
