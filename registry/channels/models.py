"""Channels (one account on one platform), their decisions, and the lookalike index."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, synonym

from registry.auth.models import User
from registry.channels.platforms import PLATFORMS, Platform
from registry.channels.workflow import LIFECYCLE, LIVE_STATUSES, ChannelStatus
from registry.db import Base, created, intpk, str200
from registry.lifecycle.steps import StepMixin

REFERENCE_PATTERN = re.compile(r"^\s*CH-?(\d{1,9})\s*$", re.IGNORECASE)
PLATFORM_VALUES = ", ".join(f"'{p.value}'" for p in Platform)
STATUS_VALUES = ", ".join(f"'{s.value}'" for s in ChannelStatus)
LIVE_VALUES = ", ".join(f"'{s.value}'" for s in sorted(LIVE_STATUSES))
LIVE_CLAUSE = text(f"status IN ({LIVE_VALUES})")


def reference_for(channel_id: int) -> str:
    return f"CH-{channel_id:04d}"


def id_from_reference(reference: str) -> int | None:
    match = REFERENCE_PATTERN.match(reference or "")
    return int(match.group(1)) if match else None


class Channel(Base):
    __tablename__ = "channels"
    __table_args__ = (
        CheckConstraint(f"platform IN ({PLATFORM_VALUES})", name="platform_known"),
        CheckConstraint(f"status IN ({STATUS_VALUES})", name="status_known"),
        # No two live channels share one account.
        Index(
            "uq_channels_live_handle",
            "platform",
            "handle",
            unique=True,
            postgresql_where=LIVE_CLAUSE,
            sqlite_where=LIVE_CLAUSE,
        ),
        Index("ix_channels_status", "status"),
        Index("ix_channels_platform", "platform"),
        Index("ix_channels_department", "department"),
        Index("ix_channels_requester_id", "requester_id"),
        Index("ix_channels_created_at", "created_at"),
        Index("ix_channels_next_review_on", "next_review_on"),
        Index("ix_channels_platform_handle", "platform", "handle"),
        # The inventory sorts by name and department case-insensitively.
        Index("ix_channels_lower_display_name", func.lower(text("display_name")), "id"),
        Index("ix_channels_lower_department", func.lower(text("department")), "id"),
    )

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
    created_at: Mapped[created]
    updated_at: Mapped[created]
    status_changed_at: Mapped[created]
    next_review_on: Mapped[dt.date | None] = mapped_column(Date)

    # "unnested": an outer join to a channel (from a finding) stays one flat chain of joins.
    requester: Mapped[User] = relationship(lazy="joined", innerjoin="unnested")  # type: ignore[arg-type]  # documented; the stub says bool
    transitions: Mapped[list[ChannelTransition]] = relationship(
        back_populates="channel", order_by="ChannelTransition.id", lazy="raise_on_sql"
    )

    @property
    def reference(self) -> str:
        return reference_for(self.id)

    @property
    def status_enum(self) -> ChannelStatus:
        return ChannelStatus(self.status)

    @property
    def platform_enum(self) -> Platform:
        return Platform(self.platform)

    @property
    def platform_label(self) -> str:
        return PLATFORMS[self.platform_enum].label

    @property
    def status_label(self) -> str:
        return self.status_enum.label


class ChannelTransition(StepMixin, Base):
    """One step of a channel's history: who moved it, when, from what to what, and why."""

    __tablename__ = "channel_transitions"
    __table_args__ = (
        Index("ix_channel_transitions_channel_id", "channel_id"),
        Index("ix_channel_transitions_occurred_at", "occurred_at"),
        Index("ix_channel_transitions_action", "action"),
    )
    parent_key = "channel_id"
    lifecycle = LIFECYCLE
    action_length = 20
    status_length = 20
    note_column = "reason"

    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    #: What the step's note is called in the API and on the pages.
    reason = synonym("note")

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
