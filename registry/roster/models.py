"""Grants of a role on a channel's platform account, and periodic access reviews of them."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Final

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.auth.models import User
from registry.channels.models import Channel
from registry.db import Base, UTCDateTime, created, indexes, intpk, known, sql_values


class PlatformRole(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    EDITOR = "editor"
    MODERATOR = "moderator"
    ANALYST = "analyst"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class RosterGrant(Base):
    """A person's role on one channel's account: a Registry user, or a named outsider (an agency)."""

    __tablename__ = "roster_grants"
    __table_args__ = (
        known("platform_role", PlatformRole),
        CheckConstraint("user_id IS NOT NULL OR organisation IS NOT NULL", name="person_identified"),
        *indexes("channel_id", "user_id", "expires_on", "revoked_at"),
    )

    id: Mapped[intpk]
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    person_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    organisation: Mapped[str | None] = mapped_column(String(200))
    platform_role: Mapped[str] = mapped_column(String(16))
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    granted_on: Mapped[dt.date] = mapped_column(Date)
    expires_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[created]
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoke_reason: Mapped[str | None] = mapped_column(Text)

    # SQLAlchemy documents innerjoin="unnested" but annotates the parameter as bool.
    channel: Mapped[Channel] = relationship(lazy="joined", innerjoin="unnested")  # type: ignore[arg-type]
    user: Mapped[User | None] = relationship(foreign_keys=[user_id], lazy="joined")
    granted_by: Mapped[User | None] = relationship(foreign_keys=[granted_by_id], lazy="joined")
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id], lazy="joined")

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def role_enum(self) -> PlatformRole:
        return PlatformRole(self.platform_role)


class ReviewDecision(StrEnum):
    CERTIFIED = "certified"
    REVOKED = "revoked"


REVIEW_SCOPES: Final = ("all", "some")


class AccessReview(Base):
    """A periodic check that every grant is still needed; kept with its decisions once finished."""

    __tablename__ = "access_reviews"
    __table_args__ = (Index("ix_access_reviews_finished_at", "finished_at"),)

    id: Mapped[intpk]
    title: Mapped[str] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(String(8))
    started_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[created]
    due_on: Mapped[dt.date] = mapped_column(Date)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    started_by: Mapped[User] = relationship(lazy="joined", innerjoin=True)

    @property
    def reference(self) -> str:
        return f"AR-{self.id:04d}"


class AccessReviewItem(Base):
    """One grant in one review: certified or revoked, by a comms member other than its holder."""

    __tablename__ = "access_review_items"
    __table_args__ = (
        UniqueConstraint("review_id", "grant_id"),
        CheckConstraint(f"decision IS NULL OR decision IN ({sql_values(ReviewDecision)})", name="decision_known"),
        Index("ix_access_review_items_grant_id", "grant_id"),
    )

    id: Mapped[intpk]
    review_id: Mapped[int] = mapped_column(ForeignKey("access_reviews.id", ondelete="CASCADE"))
    grant_id: Mapped[int] = mapped_column(ForeignKey("roster_grants.id", ondelete="CASCADE"))
    decision: Mapped[str | None] = mapped_column(String(16))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(Text)

    review: Mapped[AccessReview] = relationship(lazy="joined", innerjoin=True)
    grant: Mapped[RosterGrant] = relationship(lazy="joined", innerjoin=True)
    decided_by: Mapped[User | None] = relationship(lazy="joined")
