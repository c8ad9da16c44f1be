"""Monthly reports: one per calendar month, a draft until issued, then frozen.

The figures are stored as canonical JSON with their SHA-256. Issuing records who and
when; from then on the row never changes (the service refuses, and database triggers
refuse any UPDATE or DELETE of an issued report, as they do for audit events).
"""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.auth.models import User
from registry.db import Base, UTCDateTime, intpk, known


class ReportStatus(StrEnum):
    DRAFT = "draft"
    ISSUED = "issued"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS: Final = {ReportStatus.DRAFT: "Draft", ReportStatus.ISSUED: "Issued"}


class MonthlyReport(Base):
    """The report of one UK calendar month (``month`` is ``YYYY-MM``)."""

    __tablename__ = "monthly_reports"
    __table_args__ = (
        known("status", ReportStatus),
        CheckConstraint(
            "status <> 'issued' OR (issued_at IS NOT NULL AND issued_by_id IS NOT NULL)", name="issue_recorded"
        ),
        UniqueConstraint("month"),
        Index("ix_monthly_reports_status", "status"),
    )

    id: Mapped[intpk]
    month: Mapped[str] = mapped_column(String(7))
    status: Mapped[str] = mapped_column(String(10), default=ReportStatus.DRAFT.value)
    #: Canonical JSON (sorted keys, no spaces): the figures and the charts' data.
    figures_json: Mapped[str] = mapped_column("figures", Text)
    #: SHA-256 of ``figures_json`` exactly as stored.
    sha256: Mapped[str] = mapped_column(String(64))
    generated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    generated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Who generated it as the audit trail names them (a person, or the command line).
    generated_by: Mapped[str] = mapped_column(String(300))
    issued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    issued_by: Mapped[User | None] = relationship(foreign_keys=[issued_by_id], lazy="joined")

    @property
    def status_enum(self) -> ReportStatus:
        return ReportStatus(self.status)

    @property
    def is_issued(self) -> bool:
        return self.status_enum is ReportStatus.ISSUED

    @property
    def figures(self) -> dict[str, Any]:
        figures: dict[str, Any] = json.loads(self.figures_json)
        return figures
