"""One step mixin: every kind's history table has the same shape.

In the spirit of warehouse's ``HasEvents``: a kind's step model mixes this in, names the
column that points at its request (``parent_key``) and its lifecycle, and gets the common
columns (action, from and to status, who and when, what they said), their indexes, and the
labels of its steps, read from the lifecycle table rather than from a second copy.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, ClassVar, cast

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship, synonym

from registry.db import UTCDateTime, indexes, intpk

if TYPE_CHECKING:
    from registry.auth.models import User
    from registry.lifecycle.table import Lifecycle, Status


class StepMixin:
    """A step of a request's history: a transition, or another event the kind records
    (its creation, a note), with ``to_status`` unchanged for the latter."""

    #: The step model's column holding its request's id ("media_contact_id").
    parent_key: ClassVar[str]
    lifecycle: ClassVar[Lifecycle[Any, Any, Any]]
    #: Column sizes and the note column's name, as each table was created.
    action_length: ClassVar[int] = 32
    status_length: ClassVar[int] = 24
    note_column: ClassVar[str] = "note"
    #: Columns indexed besides the request's and ``occurred_at``.
    indexed: ClassVar[tuple[str, ...]] = ()

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Index, ...]:
        """An index on the request's column, on ``occurred_at`` and on each of ``indexed``; and one on
        (``action``, ``occurred_at``, the request's column) for the monthly report, which counts the
        steps of one kind in a month (and the requests that took them) from that index alone."""
        table = cls.__tablename__  # type: ignore[attr-defined]
        by_action = Index(f"ix_{table}_action_occurred_at", "action", "occurred_at", cls.parent_key)
        return (*indexes(cls.parent_key, "occurred_at", *cls.indexed), by_action)

    id: Mapped[intpk]
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    @declared_attr
    def action(cls) -> Mapped[str]:
        return mapped_column(String(cls.action_length))

    @declared_attr
    def from_status(cls) -> Mapped[str | None]:
        return mapped_column(String(cls.status_length))

    @declared_attr
    def to_status(cls) -> Mapped[str]:
        return mapped_column(String(cls.status_length))

    @declared_attr
    def actor_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("users.id"))

    @declared_attr
    def actor(cls) -> Mapped[User]:
        return relationship("User", foreign_keys=f"{cast(type, cls).__name__}.actor_id", lazy="joined", innerjoin=True)

    @declared_attr
    def note(cls) -> Mapped[str | None]:
        """What the actor said with the step."""
        return mapped_column(cls.note_column, Text)

    @property
    def action_label(self) -> str:
        return self.lifecycle.step_label(self.action)

    @property
    def from_state(self) -> Status | None:
        """The status the step moved the request from (None for its first), with its words and colour."""
        return None if self.from_status is None else self._state(self.from_status)

    @property
    def to_state(self) -> Status:
        return self._state(self.to_status)

    def _state(self, value: str) -> Status:
        status_type: type[Status] = type(next(iter(self.lifecycle.statuses)))
        return status_type(value)

    @classmethod
    def of(cls, request_id: int, **values: Any) -> Any:
        """A new step of the request ``request_id``."""
        return cls(**{cls.parent_key: request_id}, **values)


class ReasonStep(StepMixin):
    """The step tables of channels and posts, made before the others: 20-character action and status
    columns, and the note stored (and named in the API and on the pages) as ``reason``."""

    action_length: ClassVar[int] = 20
    status_length: ClassVar[int] = 20
    note_column: ClassVar[str] = "reason"

    @declared_attr
    def reason(cls) -> Mapped[str | None]:
        return synonym("note")
