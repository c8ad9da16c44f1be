"""What the kinds' request models share: their references, their status as its enum, their attachments.

A request model mixes in :class:`RequestMixin` (``status_type`` names its status enum) and, unless it
is never changed in place, :class:`RequestTimes`; it keeps its own columns, in the order its table was
created (the mixins' columns come after them: only the migrations create tables, so order is moot); a
:class:`Reference` gives its references ("CH-0042") and reads them back (a model numbered by its id
alone is :class:`Numbered`); a file attached to a request (evidence, artwork) is an :class:`AttachmentMixin`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Generic, cast

from sqlalchemy import ForeignKey, Index, UniqueConstraint
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from registry.db import created, indexes
from registry.lifecycle.table import S, Status

if TYPE_CHECKING:
    from registry.uploads.models import Upload


@dataclass(frozen=True)
class Reference:
    """A kind's references: its prefix and the id, at least four digits ("CH-0042").

    Read back in any case, with or without the hyphen, surrounding spaces ignored.
    """

    prefix: str
    pattern: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", re.compile(rf"^\s*{self.prefix}-?(\d{{1,9}})\s*$", re.IGNORECASE))

    def of(self, request_id: int) -> str:
        return f"{self.prefix}-{request_id:04d}"

    def id_of(self, reference: str) -> int | None:
        """The id in ``reference``, or None when it is not one of these references."""
        match = self.pattern.match(reference or "")
        return int(match.group(1)) if match else None


def waiting_indexes(table: str, requester: str, since: str = "status_changed_at") -> tuple[Index, ...]:
    """The indexes lists of work read (registry/web/workqueue.py): the requests in one status in the
    order they have waited, of everyone's (the work queue) and of one requester's (their open requests)."""
    return (
        Index(f"ix_{table}_status_{since}", "status", since),
        Index(f"ix_{table}_{requester}_status_{since}", requester, "status", since),
    )


class RequestMixin(Generic[S]):
    """A request's status as its enum, which gives its words (``status_label``) and colour."""

    #: The request's status enum (the ``S`` it is declared with).
    status_type: ClassVar[type[Status]]

    if TYPE_CHECKING:
        status: Mapped[str]

    @property
    def status_enum(self) -> S:
        return cast(S, self.status_type(self.status))

    @property
    def status_label(self) -> str:
        """The status in words ("Waiting for a decision")."""
        return self.status_enum.label


class RequestTimes:
    """When a request was made, when it last changed, and when it entered its status (what lists of work
    show as "waiting since"). The request engine keeps the last two as it moves a request along."""

    created_at: Mapped[created]
    updated_at: Mapped[created]
    status_changed_at: Mapped[created]


class Numbered:
    """A request numbered by its id alone: its reference is its kind's prefix and the id ("CH-0042"), as
    ``numbering`` writes it. The kind's declaration reads references back by the same :class:`Reference`."""

    numbering: ClassVar[Reference]

    if TYPE_CHECKING:
        id: Mapped[int]

    @property
    def reference(self) -> str:
        return self.numbering.of(self.id)


class AttachmentMixin:
    """A file attached to a request (evidence, artwork): one upload, attached once.

    The model names the column that points at its request (``parent_key``) and declares it; the
    table's columns stay in the order it was created: ``id``, the request's, ``upload_id``, ``added_at``.
    """

    parent_key: ClassVar[str]

    id: Mapped[int] = mapped_column(primary_key=True, sort_order=-1)
    upload_id: Mapped[int] = mapped_column(ForeignKey("uploads.id"))
    added_at: Mapped[created]

    @declared_attr.directive
    def __table_args__(cls) -> tuple[UniqueConstraint | Index, ...]:
        return (UniqueConstraint(cls.parent_key, "upload_id"), *indexes("upload_id"))

    @declared_attr
    def upload(cls) -> Mapped[Upload]:
        return relationship("Upload", lazy="joined", innerjoin=True)
