"""Emergency accesses (break-glass) and their history."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry import db
from registry.auth.models import User
from registry.breakglass.workflow import LIFECYCLE, AccessStatus
from registry.channels.models import Channel
from registry.db import Base, UTCDateTime, indexes, intpk, known
from registry.lifecycle.models import Numbered, Reference, RequestMixin, RequestTimes, waiting_indexes
from registry.lifecycle.steps import StepMixin
from registry.lifecycle.table import State
from registry.vault.models import CredentialKind

REFERENCE = Reference("BG")
INCIDENT_MAX = 100


class EmergencyAccess(Numbered, RequestMixin[AccessStatus], RequestTimes, Base):
    """One break-glass access: who opened it, for which channel and kinds of secret, why, and its window.

    ``ends_at`` is when the window ends: set when it opens (``REGISTRY_BREAK_GLASS_MINUTES`` later) and
    brought forward when it is closed early, so that it is always when the access stopped being usable
    and the review became due (the work queue reads it as "waiting since")."""

    __tablename__ = "emergency_accesses"
    numbering = REFERENCE
    __table_args__ = (
        known("status", AccessStatus),
        CheckConstraint("ends_at >= opened_at", name="ends_after_opening"),
        CheckConstraint(
            "(status = 'reviewed' AND reviewed_at IS NOT NULL) OR (status <> 'reviewed' AND reviewed_at IS NULL)",
            name="reviewed_when_reviewed",
        ),
        *indexes("channel_id", "opened_at", "reviewed_at"),
        *waiting_indexes("emergency_accesses", "requester_id", since="ends_at"),
    )
    status_type = AccessStatus

    id: Mapped[intpk]
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    incident_reference: Mapped[str] = mapped_column(String(INCIDENT_MAX))
    reason: Mapped[str] = mapped_column(Text)
    #: The kinds of secret asked for, comma-separated (registry.vault.models.CredentialKind values).
    kinds: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(24), default=AccessStatus.OPEN.value)
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    #: How many times a secret or a sign-in code was shown under it.
    reveals: Mapped[int] = mapped_column(Integer, default=0)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    review_notes: Mapped[str | None] = mapped_column(Text)

    channel: Mapped[Channel] = relationship(lazy="joined", innerjoin=True)
    requester: Mapped[User] = relationship(foreign_keys=[requester_id], lazy="joined", innerjoin=True)
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id], lazy="joined")

    @property
    def kind_list(self) -> list[CredentialKind]:
        return [CredentialKind(value) for value in self.kinds.split(",") if value]

    @property
    def is_live(self) -> bool:
        """Whether it can be used now: open, and its window not yet ended."""
        return self.status_enum is AccessStatus.OPEN and db.utcnow() < self.ends_at

    @property
    def awaits_review(self) -> bool:
        return self.status_enum is not AccessStatus.REVIEWED and not self.is_live

    @property
    def minutes_left(self) -> int:
        return max(0, int((self.ends_at - db.utcnow()).total_seconds() // 60)) if self.is_live else 0

    @property
    def state(self) -> State:
        """Its status as it is now: an open access whose window ran out awaits review."""
        if self.status_enum is AccessStatus.OPEN and not self.is_live:
            return AccessStatus.CLOSED.state
        return self.status_enum.state


class EmergencyAccessStep(StepMixin, Base):
    """One step of an access's history: opened, closed early, reviewed."""

    __tablename__ = "emergency_access_steps"
    parent_key = "emergency_access_id"
    lifecycle = LIFECYCLE

    emergency_access_id: Mapped[int] = mapped_column(ForeignKey("emergency_accesses.id", ondelete="CASCADE"))
