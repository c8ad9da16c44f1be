"""Promotional post requests: the post, its target channels, images, screening findings and history."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.auth.models import User
from registry.channels.models import Channel
from registry.db import Base, UTCDateTime, created, indexes, intpk, known
from registry.lifecycle.models import RequestMixin, RequestTimes, waiting_indexes
from registry.lifecycle.steps import ReasonStep
from registry.posts.workflow import LIFECYCLE, PostStatus
from registry.uploads.models import Upload

REFERENCE_PATTERN = re.compile(r"^\s*PP-(\d{4})-(\d{1,9})\s*$", re.IGNORECASE)
CONSENT_LOCATION_MAX = 500
FIELD_TEXT = "text"
FIELD_ALT_TEXT = "alt_text"
#: The audit trail's object type, and the kind's name in the registry of kinds.
OBJECT_TYPE = "promotional_post"


def reference_for(year: int, post_id: int) -> str:
    return f"PP-{year}-{post_id:04d}"


def parse_reference(reference: str) -> tuple[int, int] | None:
    """``(year, id)`` from ``PP-2026-0007`` (any case, surrounding spaces ignored), or None."""
    match = REFERENCE_PATTERN.match(reference or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


class PromotionalPost(RequestMixin[PostStatus], RequestTimes, Base):
    """A request to publish a post on one or more of the Trust's channels (policy 7.1)."""

    __tablename__ = "promotional_posts"
    __table_args__ = (
        known("status", PostStatus),
        CheckConstraint(
            "(findings_accepted_at IS NULL AND findings_accepted_by_id IS NULL AND findings_acceptance IS NULL)"
            " OR (findings_accepted_at IS NOT NULL AND findings_accepted_by_id IS NOT NULL"
            " AND findings_acceptance IS NOT NULL)",
            name="findings_acceptance_complete",
        ),
        CheckConstraint("status <> 'scheduled' OR scheduled_for IS NOT NULL", name="scheduled_has_time"),
        CheckConstraint("status <> 'published' OR published_at IS NOT NULL", name="published_has_time"),
        CheckConstraint("version >= 1", name="version_positive"),
        *indexes("status", "requester_id", "status_changed_at", "created_at"),
        *waiting_indexes("promotional_posts", "requester_id"),
    )
    status_type = PostStatus

    id: Mapped[intpk]
    year: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    wished_for: Mapped[dt.date] = mapped_column(Date)
    consent_confirmed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    consent_location: Mapped[str] = mapped_column(String(CONSENT_LOCATION_MAX), default="")
    status: Mapped[str] = mapped_column(String(20), default=PostStatus.SUBMITTED.value)
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    screened_at: Mapped[created]
    findings_accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    findings_accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    findings_acceptance: Mapped[str | None] = mapped_column(Text)
    scheduled_for: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    #: Goes up by one whenever the requester changes the post: a decision names the version it was
    #: made on, so nobody approves a text they have not seen (optimistic concurrency).
    version: Mapped[int] = mapped_column(Integer, default=1)

    requester: Mapped[User] = relationship(foreign_keys=[requester_id], lazy="joined", innerjoin=True)
    findings_accepted_by: Mapped[User | None] = relationship(foreign_keys=[findings_accepted_by_id], lazy="joined")
    targets: Mapped[list[PostTarget]] = relationship(
        back_populates="post", order_by="PostTarget.channel_id", lazy="selectin", cascade="all, delete-orphan"
    )
    images: Mapped[list[PostImage]] = relationship(
        back_populates="post", order_by="PostImage.position", lazy="selectin", cascade="all, delete-orphan"
    )
    findings: Mapped[list[PostFinding]] = relationship(
        back_populates="post",
        order_by=lambda: [
            PostFinding.field.desc(),
            PostFinding.image_position,
            PostFinding.start_offset,
            PostFinding.id,
        ],
        lazy="selectin",
        cascade="all, delete-orphan",
    )

    @property
    def reference(self) -> str:
        return reference_for(self.year, self.id)

    @property
    def channels(self) -> list[Channel]:
        return [target.channel for target in self.targets]

    @property
    def findings_accepted(self) -> bool:
        return self.findings_accepted_at is not None

    @property
    def needs_findings_accepted(self) -> bool:
        """Possible patient identifiers were found and nobody has yet recorded why they are acceptable."""
        return bool(self.findings) and not self.findings_accepted

    @property
    def title(self) -> str:
        """One line a person recognises, without the text (which may hold identifiers)."""
        platforms = ", ".join(dict.fromkeys(c.platform_label for c in self.channels)) or "no channel"
        return f"Post for {platforms}, asked for {self.wished_for.day} {self.wished_for:%B %Y}"


class PostTarget(Base):
    """One channel a post is for, and the address of the post there once published."""

    __tablename__ = "promotional_post_channels"
    __table_args__ = (Index("ix_promotional_post_channels_channel_id", "channel_id"),)

    post_id: Mapped[int] = mapped_column(ForeignKey("promotional_posts.id", ondelete="CASCADE"), primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"), primary_key=True)
    published_url: Mapped[str | None] = mapped_column(String(2048))

    post: Mapped[PromotionalPost] = relationship(back_populates="targets")
    channel: Mapped[Channel] = relationship(lazy="joined", innerjoin=True)


class PostImage(Base):
    """An image of a post with its alternative text (required: policy and accessibility)."""

    __tablename__ = "promotional_post_images"
    __table_args__ = (
        UniqueConstraint("post_id", "upload_id"),
        CheckConstraint("position >= 1", name="position_positive"),
        Index("ix_promotional_post_images_upload_id", "upload_id"),
    )

    id: Mapped[intpk]
    post_id: Mapped[int] = mapped_column(ForeignKey("promotional_posts.id", ondelete="CASCADE"))
    upload_id: Mapped[int] = mapped_column(ForeignKey("uploads.id"))
    alt_text: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer)

    post: Mapped[PromotionalPost] = relationship(back_populates="images")
    upload: Mapped[Upload] = relationship(lazy="joined", innerjoin=True)


class PostFinding(Base):
    """A possible patient identifier in the text or an image's alternative text.

    Only where it is (the field, the image's position, the offsets), what kind it is
    and its masked form are kept: never the match itself.
    """

    __tablename__ = "promotional_post_findings"
    __table_args__ = (
        CheckConstraint(f"field IN ('{FIELD_TEXT}', '{FIELD_ALT_TEXT}')", name="field_known"),
        CheckConstraint("start_offset >= 0 AND end_offset > start_offset", name="offsets_ordered"),
        CheckConstraint(
            f"(field = '{FIELD_TEXT}' AND image_position IS NULL)"
            f" OR (field = '{FIELD_ALT_TEXT}' AND image_position IS NOT NULL)",
            name="image_given_for_alt_text",
        ),
        Index("ix_promotional_post_findings_post_id", "post_id"),
    )

    id: Mapped[intpk]
    post_id: Mapped[int] = mapped_column(ForeignKey("promotional_posts.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(20))
    image_position: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(100))
    start_offset: Mapped[int] = mapped_column(Integer)
    end_offset: Mapped[int] = mapped_column(Integer)
    masked: Mapped[str] = mapped_column(String(200))

    post: Mapped[PromotionalPost] = relationship(back_populates="findings")

    @property
    def where(self) -> str:
        """Where the finding is, as a person reads it: "the text", "image 2's alternative text"."""
        return "the text" if self.field == FIELD_TEXT else f"image {self.image_position}'s alternative text"


class PostTransition(ReasonStep, Base):
    """One step of a post's history: who did what, when, from what to what, and why."""

    __tablename__ = "promotional_post_transitions"
    parent_key = "post_id"
    lifecycle = LIFECYCLE

    post_id: Mapped[int] = mapped_column(ForeignKey("promotional_posts.id", ondelete="CASCADE"))
