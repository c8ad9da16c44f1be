"""Media contacts: the approach a member of staff logged, its screenshots, and each triage step."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.auth.models import User
from registry.channels.models import OnPlatform
from registry.channels.platforms import Platform
from registry.db import Base, UTCDateTime, indexes, intpk, known
from registry.lifecycle.models import AttachmentMixin, Numbered, Reference, RequestMixin, RequestTimes, waiting_indexes
from registry.lifecycle.steps import StepMixin
from registry.media.workflow import LIFECYCLE, MediaContactStatus

REFERENCE = Reference("MC")
id_from_reference = REFERENCE.id_of
OUTLET_MAX = 200
JOURNALIST_MAX = 200
LINK_MAX = 2048


class MediaContact(OnPlatform, Numbered, RequestMixin[MediaContactStatus], RequestTimes, Base):
    """An approach by the media to a member of staff's personal account (policy 8.1).

    ``advice`` is the communications team's latest advice to the reporter (each piece
    is kept in the steps too); ``closed_at`` is set exactly when the status is closed.
    """

    __tablename__ = "media_contacts"
    numbering = REFERENCE
    __table_args__ = (
        known("status", MediaContactStatus),
        known("platform", Platform),
        CheckConstraint("deadline_at IS NULL OR deadline_at >= contacted_at", name="deadline_after_contact"),
        CheckConstraint("status <> 'advice_given' OR advice IS NOT NULL", name="advice_given_has_advice"),
        CheckConstraint(
            "(status = 'closed' AND closed_at IS NOT NULL) OR (status <> 'closed' AND closed_at IS NULL)",
            name="closed_when_closed",
        ),
        *indexes("status", "reporter_id", "created_at", "closed_at", "status_changed_at"),
        *waiting_indexes("media_contacts", "reporter_id"),
    )
    status_type = MediaContactStatus

    id: Mapped[intpk]
    platform: Mapped[str] = mapped_column(String(16))
    outlet: Mapped[str | None] = mapped_column(String(OUTLET_MAX))
    journalist: Mapped[str | None] = mapped_column(String(JOURNALIST_MAX))
    contacted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    deadline_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    enquiry: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(LINK_MAX))
    #: When the reporter confirmed that they had not responded (policy 8.1: comms first).
    no_response_confirmed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(24), default=MediaContactStatus.REPORTED.value)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    advice: Mapped[str | None] = mapped_column(Text)
    advised_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    advised_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    reporter: Mapped[User] = relationship(foreign_keys=[reporter_id], lazy="joined", innerjoin=True)
    advised_by: Mapped[User | None] = relationship(foreign_keys=[advised_by_id], lazy="joined")

    @property
    def tag_colour(self) -> str:
        return self.status_enum.colour

    @property
    def is_open(self) -> bool:
        return self.status_enum is not MediaContactStatus.CLOSED

    @property
    def who(self) -> str:
        """The outlet and journalist as one phrase, as far as they are known."""
        if self.outlet and self.journalist:
            return f"{self.journalist} ({self.outlet})"
        return self.outlet or self.journalist or "Unknown outlet"


class MediaContactEvidence(AttachmentMixin, Base):
    """A screenshot (an image or a PDF) of the approach."""

    __tablename__ = "media_contact_evidence"
    parent_key = "media_contact_id"

    media_contact_id: Mapped[int] = mapped_column(ForeignKey("media_contacts.id", ondelete="CASCADE"))


class MediaContactStep(StepMixin, Base):
    """One step of the history: logged, a triage action, or a note (``to_status`` unchanged).

    ``advice`` was written to the reporter and is shown to them; ``note`` is the team's own.
    """

    __tablename__ = "media_contact_steps"
    parent_key = "media_contact_id"
    lifecycle = LIFECYCLE

    media_contact_id: Mapped[int] = mapped_column(ForeignKey("media_contacts.id", ondelete="CASCADE"))
    advice: Mapped[str | None] = mapped_column(Text)
