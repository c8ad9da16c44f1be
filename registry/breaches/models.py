"""Breach reports, the policy clauses they cite, their evidence files and their history.

A report is sensitive personal data: ``registry.breaches.kind`` decides who sees it.
Once closed for longer than the retention period it is anonymised: the people, the free
text and the evidence go; what remains (status, dates, clauses, the shape of its history)
still counts in the monthly figures.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.auth.models import User
from registry.breaches.workflow import LIFECYCLE, OPEN_STATUSES, REPORTER_LABELS, BreachStatus, RouteReason
from registry.db import Base, UTCDateTime, created, indexes, intpk, known, sql_values
from registry.lifecycle.models import AttachmentMixin, Numbered, Reference, RequestMixin
from registry.lifecycle.steps import StepMixin

REFERENCE = Reference("BR")
reference_for = REFERENCE.of
ACCOUNT_MAX = 200
LINK_MAX = 2000
NAME_MAX = 200


class PolicyClause(Base):
    """One clause of one version of the social media policy, worded as it was then."""

    __tablename__ = "policy_clauses"
    __table_args__ = (UniqueConstraint("policy_version", "number"),)

    id: Mapped[intpk]
    policy_version: Mapped[str] = mapped_column(String(20))
    number: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text)


class BreachReport(Numbered, RequestMixin[BreachStatus], Base):
    """A suspected breach of the social media policy and where it stands (policy 9)."""

    __tablename__ = "breach_reports"
    numbering = REFERENCE
    __table_args__ = (
        known("status", BreachStatus),
        CheckConstraint(
            f"route_reason IS NULL OR route_reason IN ({sql_values(RouteReason)})", name="route_reason_known"
        ),
        # A member of staff is named as a Registry user, or by name, or not at all.
        CheckConstraint("subject_id IS NULL OR subject_name IS NULL", name="subject_once"),
        # Nobody handles a report about themselves.
        CheckConstraint(
            "manager_id IS NULL OR subject_id IS NULL OR manager_id <> subject_id", name="not_handled_by_subject"
        ),
        CheckConstraint("status <> 'with_manager' OR manager_id IS NOT NULL", name="manager_assigned"),
        CheckConstraint("status <> 'with_hr' OR escalated_at IS NOT NULL", name="escalation_recorded"),
        CheckConstraint(
            "(status = 'closed' AND closed_at IS NOT NULL) OR (status <> 'closed' AND closed_at IS NULL)",
            name="closed_when_closed",
        ),
        CheckConstraint(
            "(reputational_risk AND flagged_at IS NOT NULL) OR (NOT reputational_risk AND flagged_at IS NULL)",
            name="flag_recorded",
        ),
        CheckConstraint("anonymised_at IS NULL OR status = 'closed'", name="anonymised_once_closed"),
        CheckConstraint(
            "anonymised_at IS NOT NULL OR "
            "(reporter_id IS NOT NULL AND account IS NOT NULL AND description IS NOT NULL)",
            name="details_until_anonymised",
        ),
        *indexes(
            "status", "reporter_id", "subject_id", "manager_id", "created_at", "closed_at", "escalated_at", "flagged_at"
        ),
        # The anonymised cases, whose events every read of the audit trail withholds
        # (registry.audit.services.withheld_from): found without reading every case.
        Index("ix_breach_reports_anonymised_at", "anonymised_at"),
        # A reporter's open reports, oldest first (registry/web/workqueue.py; not in comms' queue).
        Index("ix_breach_reports_reporter_id_status_created_at", "reporter_id", "status", "created_at"),
    )
    status_type = BreachStatus

    id: Mapped[intpk]
    status: Mapped[str] = mapped_column(String(16))
    #: The account and the link to what was posted; what happened, in the reporter's words.
    account: Mapped[str | None] = mapped_column(String(ACCOUNT_MAX))
    link: Mapped[str | None] = mapped_column(String(LINK_MAX))
    description: Mapped[str | None] = mapped_column(Text)
    policy_version: Mapped[str] = mapped_column(String(20))
    reputational_risk: Mapped[bool] = mapped_column(Boolean, default=False)
    flagged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    flagged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    subject_name: Mapped[str | None] = mapped_column(String(NAME_MAX))
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    route_reason: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[created]
    status_changed_at: Mapped[created]
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    anonymised_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    reporter: Mapped[User | None] = relationship(foreign_keys=[reporter_id], lazy="joined")
    subject: Mapped[User | None] = relationship(foreign_keys=[subject_id], lazy="joined")
    manager: Mapped[User | None] = relationship(foreign_keys=[manager_id], lazy="joined")
    flagged_by: Mapped[User | None] = relationship(foreign_keys=[flagged_by_id], lazy="select")
    # One extra statement for a whole page of reports, never one per report.
    clauses: Mapped[list[PolicyClause]] = relationship(
        secondary="breach_report_clauses", lazy="selectin", order_by=PolicyClause.id
    )

    @property
    def is_open(self) -> bool:
        return self.status_enum in OPEN_STATUSES

    @property
    def is_anonymised(self) -> bool:
        return self.anonymised_at is not None

    @property
    def reporter_label(self) -> str:
        """The status the reporter is shown: open or closed, nothing more."""
        return REPORTER_LABELS[self.is_open]

    @property
    def reporter_said_risk(self) -> bool:
        """Whether the reporter flagged a reputational risk (what they see; a manager's flag is not theirs to know)."""
        return self.reputational_risk and self.flagged_by_id is not None and self.flagged_by_id == self.reporter_id

    @property
    def route_reason_label(self) -> str | None:
        return RouteReason(self.route_reason).label if self.route_reason else None

    @property
    def subject_label(self) -> str:
        if self.subject is not None:
            return self.subject.name
        if self.subject_name:
            return f"{self.subject_name} (not a Registry user)"
        return "Not known"

    @property
    def clause_numbers(self) -> str:
        return ", ".join(clause.number for clause in self.clauses)


class BreachReportClause(Base):
    """A clause a report says may have been breached."""

    __tablename__ = "breach_report_clauses"
    __table_args__ = (Index("ix_breach_report_clauses_clause_id", "clause_id"),)

    report_id: Mapped[int] = mapped_column(ForeignKey("breach_reports.id", ondelete="CASCADE"), primary_key=True)
    clause_id: Mapped[int] = mapped_column(ForeignKey("policy_clauses.id"), primary_key=True)


class BreachEvidence(AttachmentMixin, Base):
    """A file sent with a report (a screenshot, a saved page). Removed when the report is anonymised."""

    __tablename__ = "breach_evidence"
    parent_key = "report_id"

    report_id: Mapped[int] = mapped_column(ForeignKey("breach_reports.id", ondelete="CASCADE"))


class BreachStep(StepMixin, Base):
    """One step of a report's history: who, when, from what to what, and what they wrote."""

    __tablename__ = "breach_steps"
    parent_key = "report_id"
    lifecycle = LIFECYCLE
    action_length = 16
    status_length = 16

    report_id: Mapped[int] = mapped_column(ForeignKey("breach_reports.id", ondelete="CASCADE"))
    #: None once the report is anonymised.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # type: ignore[assignment]
    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id], lazy="joined")  # type: ignore[assignment]
    #: The line manager a routing step sent the report to.
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    assigned_to: Mapped[User | None] = relationship(foreign_keys=[assigned_to_id], lazy="joined")
