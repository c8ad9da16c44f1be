"""Outgoing webhooks and their deliveries (an outbox table of its own, on the e-mail outbox's rows)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.db import Base, UTCDateTime, created, intpk, known
from registry.notifications.models import Delivery, OutboxRow
from registry.text import Labelled


class AlertEvent(Labelled):
    """What a webhook can be told of."""

    BREAK_GLASS_OPENED = "break_glass_opened", "Break-glass emergency access opened"
    MEDIA_APPROACH = "media_approach", "Urgent media approach logged"
    BREACH_REPUTATIONAL_RISK = "breach_reputational_risk", "Breach report flagged as a reputational risk"
    HEALTH_CHECK_FAILED = "health_check_failed", "Account security health check failed"
    AUDIT_VERIFICATION_FAILED = "audit_verification_failed", "Audit trail verification failed"


class WebhookFormat(Labelled):
    TEAMS = "teams", "Microsoft Teams workflow (Adaptive Card)"
    SLACK = "slack", "Slack-compatible JSON"
    JSON = "json", "Plain JSON, signed (X-Registry-Signature)"


def webhook_aad(webhook_id: int) -> bytes:
    """Associated data binding a webhook's sealed address and signing secret to its row."""
    return f"webhooks|{webhook_id}".encode("ascii")


class Webhook(Base):
    """Where alerts go. The address (a Teams or Slack address is itself a credential) and the
    signing secret are sealed together by the vault; only the host is kept in the clear, to show."""

    __tablename__ = "webhooks"
    __table_args__ = (known("format", WebhookFormat),)

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(100))
    host: Mapped[str] = mapped_column(String(255))
    #: The events, comma-separated values of :class:`AlertEvent`.
    events: Mapped[str] = mapped_column(String(300))
    format: Mapped[str] = mapped_column(String(10))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[created]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    #: Deleted webhooks are kept (their deliveries and audit events name them) but never sent to.
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    key_id: Mapped[str] = mapped_column(String(32))
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    nonce: Mapped[bytes] = mapped_column(LargeBinary)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)

    @property
    def event_set(self) -> frozenset[AlertEvent]:
        return frozenset(AlertEvent(e) for e in self.events.split(",") if e in AlertEvent._value2member_map_)

    @property
    def format_enum(self) -> WebhookFormat:
        return WebhookFormat(self.format)

    @property
    def state_label(self) -> str:
        if self.deleted_at is not None:
            return "Deleted"
        return "Active" if self.active else "Paused"


class WebhookDelivery(OutboxRow, Base):
    """One alert to one webhook: written with the change it announces, sent after commit."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        known("delivery", Delivery),
        Index("ix_webhook_deliveries_created_at", "created_at"),
        # The list filtered by delivery state, newest first, and the home page's count of failures.
        Index("ix_webhook_deliveries_delivery_created_at", "delivery", "created_at"),
        Index("ix_webhook_deliveries_webhook_id_created_at", "webhook_id", "created_at"),
        # What is waiting, by when it is next due (the sender's query and the dashboard's count).
        Index("ix_webhook_deliveries_delivery_next_attempt_at", "delivery", "next_attempt_at"),
    )

    id: Mapped[intpk]
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id"))
    event: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    #: The JSON body as sent (masked text, no secret); the signature is made when it is sent.
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[created]
    #: Not tried again before this moment (the backoff after a refusal).
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    #: The receiver's last HTTP status, if it answered.
    last_status: Mapped[int | None]

    webhook: Mapped[Webhook] = relationship(lazy="joined", innerjoin=True)

    @property
    def event_label(self) -> str:
        return AlertEvent(self.event).label if self.event in AlertEvent._value2member_map_ else self.event


__all__ = ["AlertEvent", "Delivery", "Webhook", "WebhookDelivery", "WebhookFormat", "webhook_aad"]
