"""Channels (one account on one platform), their decisions, and the lookalike index."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import Date, ForeignKey, Index, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.account_health.states import HealthState
from registry.auth.models import User
from registry.channels.platforms import PLATFORMS, Platform
from registry.channels.workflow import LIFECYCLE, LIVE_STATUSES, ChannelStatus
from registry.db import Base, UTCDateTime, indexes, intpk, known, sql_values, str200, utcnow
from registry.lifecycle.models import Numbered, Reference, RequestMixin, RequestTimes, waiting_indexes
from registry.lifecycle.steps import ReasonStep

REFERENCE = Reference("CH")
reference_for = REFERENCE.of
id_from_reference = REFERENCE.id_of
LIVE_CLAUSE = text(f"status IN ({sql_values(sorted(LIVE_STATUSES))})")


class OnPlatform:
    """A row about an account on one of the platforms (a channel, a media approach, a finding)."""

    if TYPE_CHECKING:
        platform: Mapped[str]

    @property
    def platform_enum(self) -> Platform:
        return Platform(self.platform)

    @property
    def platform_label(self) -> str:
        return PLATFORMS[self.platform_enum].label


class Channel(OnPlatform, Numbered, RequestMixin[ChannelStatus], RequestTimes, Base):
    __tablename__ = "channels"
    numbering = REFERENCE
    __table_args__ = (
        known("platform", Platform),
        known("status", ChannelStatus),
        known("health", HealthState),
        # No two live channels share one account.
        Index(
            "uq_channels_live_handle",
            "platform",
            "handle",
            unique=True,
            postgresql_where=LIVE_CLAUSE,
            sqlite_where=LIVE_CLAUSE,
        ),
        *indexes("status", "platform", "department", "requester_id", "created_at", "next_review_on"),
        Index("ix_channels_platform_handle", "platform", "handle"),
        *waiting_indexes("channels", "requester_id"),
        # The home page: official channels by review date (those due, the soonest first) and by
        # platform, read from the index alone (registry/web/dashboard.py).
        Index("ix_channels_status_next_review_on", "status", "next_review_on"),
        Index("ix_channels_status_platform", "status", "platform"),
        # The inventory sorts by name and department case-insensitively.
        Index("ix_channels_lower_display_name", func.lower(text("display_name")), "id"),
        Index("ix_channels_lower_department", func.lower(text("department")), "id"),
        # Account security health (registry/account_health): the inventory's filter, the official
        # channels counted by health, and the checks due, oldest first, for the work queue.
        Index("ix_channels_health", "health"),
        Index("ix_channels_status_health", "status", "health"),
        Index("ix_channels_status_health_due_at", "status", "health_due_at"),
    )
    status_type = ChannelStatus

    id: Mapped[intpk]
    platform: Mapped[str] = mapped_column(String(16))
    handle: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str200]
    url: Mapped[str] = mapped_column(String(2048))
    department: Mapped[str200]
    purpose: Mapped[str] = mapped_column(Text)
    audience: Mapped[str] = mapped_column(Text)
    posting_plan: Mapped[str] = mapped_column(Text, default="")
    moderation_plan: Mapped[str] = mapped_column(Text, default="")
    out_of_hours: Mapped[str] = mapped_column(Text, default="")
    sponsor: Mapped[str200]
    proposed_administrators: Mapped[str] = mapped_column(Text, default="")
    policy_acknowledged_at: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(20), default=ChannelStatus.REQUESTED.value)
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    next_review_on: Mapped[dt.date | None] = mapped_column(Date)
    #: The outcome of the latest account security check (registry/account_health), kept with the check
    #: in one transaction, and when the next check falls due: a channel never checked is due from the
    #: moment it is made (the queue shows official ones only), a healthy one after
    #: ``REGISTRY_HEALTH_CHECK_DAYS``, one that needs attention at once.
    health: Mapped[str] = mapped_column(String(20), default=HealthState.UNCHECKED.value)
    health_due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    # "unnested": an outer join to a channel (from a finding) stays one flat chain of joins.
    requester: Mapped[User] = relationship(lazy="joined", innerjoin="unnested")  # type: ignore[arg-type]  # documented; the stub says bool
    transitions: Mapped[list[ChannelTransition]] = relationship(
        back_populates="channel", order_by="ChannelTransition.id", lazy="raise_on_sql"
    )

    @property
    def health_state(self) -> HealthState:
        return HealthState(self.health)


class ChannelTransition(ReasonStep, Base):
    """One step of a channel's history: who moved it, when, from what to what, and why."""

    __tablename__ = "channel_transitions"
    parent_key = "channel_id"
    lifecycle = LIFECYCLE

    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))

    channel: Mapped[Channel] = relationship(back_populates="transitions")


class ChannelLookalikeKey(Base):
    """Deletion-neighbourhood keys of a channel's handle skeleton.

    Two handles within one edit share a key, so lookalikes are found with an
    index lookup rather than by comparing against every channel.
    """

    __tablename__ = "channel_lookalike_keys"
    __table_args__ = (Index("ix_channel_lookalike_keys_platform_key", "platform", "key"),)

    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
