"""The outbox: one row per message to one person."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.auth.models import User
from registry.db import Base, UTCDateTime, created, indexes, intpk, known
from registry.text import Labelled


class Delivery(Labelled):
    #: Waiting for the SMTP server.
    PENDING = "pending", "Waiting to be sent"
    #: Claimed by a process that is sending it now.
    SENDING = "sending", "Being sent"
    #: Accepted by the SMTP server.
    SENT = "sent", "Sent"
    #: No SMTP server is set up: kept in the outbox, shown in the Registry only.
    KEPT = "kept", "In the outbox (no e-mail server set up)"
    #: The SMTP server refused it too many times.
    FAILED = "failed", "Could not be sent"


class OutboxRow:
    """What every outbox row has (e-mail here, webhook deliveries in ``registry.alerts``): its
    delivery state, how often sending it was tried, when a process claimed it, when it was sent and
    the last refusal (a short reason, never a body). ``registry.notifications.services.claim``
    claims such rows so that no two processes send one; ``failed`` counts a refusal."""

    if TYPE_CHECKING:
        id: Mapped[int]  # each table declares its own primary key

    delivery: Mapped[str] = mapped_column(String(10), default=Delivery.KEPT.value)
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(300))

    @property
    def delivery_enum(self) -> Delivery:
        return Delivery(self.delivery)

    def sent(self, now: dt.datetime) -> None:
        self.delivery = Delivery.SENT.value
        self.sent_at = now
        self.attempts += 1
        self.last_error = None

    def failed(self, why: str, max_attempts: int) -> None:
        """One more refusal: waiting to be tried again, or failed for good after ``max_attempts``."""
        self.attempts += 1
        self.last_error = why[:300]
        self.delivery = (Delivery.FAILED if self.attempts >= max_attempts else Delivery.PENDING).value


class Notification(OutboxRow, Base):
    __tablename__ = "notifications"
    __table_args__ = (
        known("delivery", Delivery),
        Index("ix_notifications_recipient_id_created_at", "recipient_id", "created_at"),
        *indexes("delivery", "created_at"),
        # A reminder is sent once: the same key (what, about what, for whom, which day) twice is refused.
        Index("uq_notifications_dedupe_key", "dedupe_key", unique=True),
    )

    id: Mapped[intpk]
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    to_address: Mapped[str] = mapped_column(String(320))
    event: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(500))
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[created]
    #: A set-up link goes only into the e-mail (worked out as it is written), never into the Registry.
    setup_link_id: Mapped[int | None] = mapped_column(ForeignKey("setup_links.id", ondelete="SET NULL"))

    recipient: Mapped[User] = relationship(lazy="joined", innerjoin=True)
