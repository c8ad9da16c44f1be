"""Logo and lozenge consent requests, their artwork and history, the NHS identity checklist,
and the per-year counter behind consent references such as ``LC-2026-0042``."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.auth.models import User
from registry.consent.workflow import APPROVED_STATUSES, EXPIRED, LIFECYCLE, Asset, ConsentStatus, Medium, shown_state
from registry.db import Base, UTCDateTime, created, indexes, intpk, known, sql_values, str200
from registry.lifecycle.models import AttachmentMixin, Reference, RequestMixin, RequestTimes, waiting_indexes
from registry.lifecycle.steps import StepMixin

REQUEST_REFERENCE = Reference("LCR")
REQUEST_PATTERN = REQUEST_REFERENCE.pattern
request_reference_for = REQUEST_REFERENCE.of
CONSENT_PATTERN = re.compile(r"^\s*LC-?(\d{4})-?(\d{1,9})\s*$", re.IGNORECASE)


def consent_reference(year: int, number: int) -> str:
    return f"LC-{year}-{number:04d}"


class LogoConsent(RequestMixin[ConsentStatus], RequestTimes, Base):
    """A request to use the Trust logo and/or the NHS lozenge, and (once approved) the consent.

    Every request has a request reference (``LCR-0042``) from the start; an approval
    adds the consent reference (``LC-2026-0042``), the expiry date and any conditions.
    """

    __tablename__ = "logo_consents"
    __table_args__ = (
        known("status", ConsentStatus),
        known("asset", Asset),
        CheckConstraint("ends_on >= starts_on", name="ends_after_start"),
        CheckConstraint(
            "(partner_involved AND partner_name IS NOT NULL) OR (NOT partner_involved AND partner_name IS NULL)",
            name="partner_named",
        ),
        # An approval always has its reference, its decider and its expiry date.
        CheckConstraint(
            f"status NOT IN ({sql_values(sorted(APPROVED_STATUSES))}) OR "
            "(reference IS NOT NULL AND expires_on IS NOT NULL AND decided_by_id IS NOT NULL)",
            name="approval_complete",
        ),
        CheckConstraint("status <> 'approved_with_conditions' OR conditions IS NOT NULL", name="conditions_given"),
        UniqueConstraint("reference"),
        *indexes("status", "requester_id", "expires_on", "status_changed_at", "created_at"),
        *waiting_indexes("logo_consents", "requester_id"),
        # The home page's consents expiring soon: approved ones by expiry date (registry/consent/overview.py).
        Index("ix_logo_consents_status_expires_on", "status", "expires_on"),
    )
    status_type = ConsentStatus

    id: Mapped[intpk]
    title: Mapped[str200]
    department: Mapped[str200]
    asset: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(Text)
    audience: Mapped[str] = mapped_column(Text)
    partner_involved: Mapped[bool] = mapped_column(Boolean)
    partner_name: Mapped[str | None] = mapped_column(String(200))
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(24), default=ConsentStatus.SUBMITTED.value)
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[created]
    reference: Mapped[str | None] = mapped_column(String(20))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    conditions: Mapped[str | None] = mapped_column(Text)
    expires_on: Mapped[dt.date | None] = mapped_column(Date)

    requester: Mapped[User] = relationship(foreign_keys=[requester_id], lazy="joined", innerjoin=True)
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id], lazy="joined")
    # One extra statement for a whole page of consents, never one per consent.
    media_rows: Mapped[list[LogoConsentMedium]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="LogoConsentMedium.medium"
    )
    artwork: Mapped[list[LogoConsentArtwork]] = relationship(
        back_populates="consent", order_by="LogoConsentArtwork.id", lazy="raise_on_sql"
    )

    @property
    def request_reference(self) -> str:
        return request_reference_for(self.id)

    @property
    def shown_reference(self) -> str:
        """Its one name for people: the consent reference once approved, the request reference before."""
        return self.reference or self.request_reference

    @property
    def asset_enum(self) -> Asset:
        return Asset(self.asset)

    @property
    def asset_label(self) -> str:
        return self.asset_enum.label

    @property
    def media(self) -> list[Medium]:
        order = list(Medium)
        return sorted((Medium(row.medium) for row in self.media_rows), key=order.index)

    @property
    def media_label(self) -> str:
        return ", ".join(m.label for m in self.media)

    @property
    def is_approved(self) -> bool:
        return self.status_enum in APPROVED_STATUSES

    def is_expired(self, today: dt.date) -> bool:
        return self.is_approved and self.expires_on is not None and self.expires_on < today

    def shown_status(self, today: dt.date) -> str:
        """The status a person sees: ``expired`` once an approval's expiry date has passed."""
        return EXPIRED if self.is_expired(today) else self.status

    def status_label_on(self, today: dt.date) -> str:
        return shown_state(self.shown_status(today)).label

    def tag_colour_on(self, today: dt.date) -> str:
        return shown_state(self.shown_status(today)).colour


class LogoConsentMedium(Base):
    """One medium the logo or lozenge will appear in (a request names one or more)."""

    __tablename__ = "logo_consent_media"
    __table_args__ = (
        known("medium", Medium),
        Index("ix_logo_consent_media_medium", "medium"),
    )

    consent_id: Mapped[int] = mapped_column(ForeignKey("logo_consents.id", ondelete="CASCADE"), primary_key=True)
    medium: Mapped[str] = mapped_column(String(20), primary_key=True)


class LogoConsentArtwork(AttachmentMixin, Base):
    """A draft artwork file of a request. Removed artwork is kept (``removed_at``) so the
    history shows what comms saw when they decided."""

    __tablename__ = "logo_consent_artwork"
    parent_key = "consent_id"

    consent_id: Mapped[int] = mapped_column(ForeignKey("logo_consents.id", ondelete="CASCADE"))
    # After the attachment's own columns, as the table was created.
    removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), sort_order=1)
    removed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), sort_order=1)

    consent: Mapped[LogoConsent] = relationship(back_populates="artwork")

    @property
    def is_current(self) -> bool:
        return self.removed_at is None


class LogoConsentStep(StepMixin, Base):
    """One step of a request's history: who, when, from what to what, and what they said
    (with a decision, what the decider recorded against the checklist)."""

    __tablename__ = "logo_consent_steps"
    parent_key = "consent_id"
    lifecycle = LIFECYCLE

    consent_id: Mapped[int] = mapped_column(ForeignKey("logo_consents.id", ondelete="CASCADE"))

    checks: Mapped[list[LogoConsentCheck]] = relationship(
        back_populates="step", order_by="LogoConsentCheck.position", lazy="raise_on_sql"
    )


class ConsentChecklistItem(Base):
    """One point of the NHS identity guidelines comms check artwork against. Retired
    items stay (earlier decisions refer to them) but are no longer offered."""

    __tablename__ = "consent_checklist_items"
    __table_args__ = (Index("ix_consent_checklist_items_retired_at", "retired_at"),)

    id: Mapped[intpk]
    text: Mapped[str] = mapped_column(String(500))
    position: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[created]
    updated_at: Mapped[created]
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    @property
    def is_active(self) -> bool:
        return self.retired_at is None


class LogoConsentCheck(Base):
    """What a decider recorded against one checklist item, with the item's wording at the time."""

    __tablename__ = "logo_consent_checks"
    __table_args__ = (UniqueConstraint("step_id", "item_id"),)

    id: Mapped[intpk]
    step_id: Mapped[int] = mapped_column(ForeignKey("logo_consent_steps.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("consent_checklist_items.id"))
    position: Mapped[int] = mapped_column(Integer)
    item_text: Mapped[str] = mapped_column(String(500))
    checked: Mapped[bool] = mapped_column(Boolean)

    step: Mapped[LogoConsentStep] = relationship(back_populates="checks")


class ConsentReferenceCounter(Base):
    """The last consent number given in a year: ``LC-{year}-{last_number:04d}``.

    Taken with one ``UPDATE … RETURNING``, which locks the year's row until the
    transaction ends, so concurrent approvals queue and never share a number.
    """

    __tablename__ = "consent_reference_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer)
