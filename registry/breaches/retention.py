"""The retention period of breach reports: a case closed for longer than
REGISTRY_BREACH_RETENTION_YEARS is anonymised. The people, the free text, the evidence and the
messages about it go; its status, dates, clauses and the shape of its history stay, so it still
counts in the monthly figures."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import CursorResult, delete, select

from registry import db
from registry.audit.models import AuditAction
from registry.audit.services import Actor, record
from registry.breaches.kind import KIND
from registry.breaches.models import BreachEvidence, BreachReport
from registry.breaches.workflow import BreachStatus
from registry.errors import Conflict
from registry.notifications.models import Notification
from registry.text import add_years
from registry.uploads.models import Upload, UploadContent


@dataclass(frozen=True)
class RetentionResult:
    anonymised: int
    files_removed: int
    closed_before: dt.datetime


def retention_years() -> int:
    return int(current_app.extensions["registry.settings"].breach_retention_years)


def anonymise(report: BreachReport, actor: Actor, *, years: int) -> int:
    """Strip a closed case of the people, the free text and the evidence; keep its status, dates,
    clauses and the shape of its history. The files go with their rows, in the same transaction. Returns
    how many evidence files were removed."""
    if report.status_enum is not BreachStatus.CLOSED:
        raise Conflict(f"{report.reference} is not closed: only closed reports are anonymised.")
    session = db.session()
    evidence = list(
        session.execute(select(BreachEvidence).where(BreachEvidence.report_id == report.id).order_by(BreachEvidence.id))
        .unique()
        .scalars()
    )
    upload_ids = [e.upload_id for e in evidence]
    if upload_ids:
        session.execute(delete(BreachEvidence).where(BreachEvidence.report_id == report.id))
        session.execute(delete(UploadContent).where(UploadContent.upload_id.in_(upload_ids)))
        session.execute(delete(Upload).where(Upload.id.in_(upload_ids)))
    # The messages about it name the case (and its link): they go with the people and the free text.
    removed: CursorResult[tuple[()]] = session.execute(  # type: ignore[assignment]
        delete(Notification).where(Notification.link == KIND.link(report))
    )
    messages = removed.rowcount or 0
    for step in session.execute(KIND.steps(report)).unique().scalars():
        step.note = None
        step.actor_id = None
        step.actor = None
        step.assigned_to_id = None
        step.assigned_to = None
    for column in ("account", "link", "description", "subject_name"):
        setattr(report, column, None)
    for relation in ("subject", "reporter", "manager", "flagged_by"):
        setattr(report, relation, None)
        setattr(report, f"{relation}_id", None)
    report.anonymised_at = db.utcnow()
    record(
        AuditAction.BREACH_ANONYMISE,
        KIND.name,
        report.reference,
        {
            "closed_at": report.closed_at,
            "retention_years": years,
            "evidence_removed": len(upload_ids),
            "messages_removed": messages,
        },
        actor=actor,
    )
    session.flush()
    return len(upload_ids)


def apply_retention(actor: Actor, *, years: int | None = None, now: dt.datetime | None = None) -> RetentionResult:
    """Anonymise every case closed more than ``years`` (REGISTRY_BREACH_RETENTION_YEARS) ago.
    Running it again changes nothing; a run that anonymises something is itself audited."""
    years = years if years is not None else retention_years()
    cutoff = add_years(now or db.utcnow(), -years)
    due = (
        db.session()
        .execute(
            select(BreachReport)
            .where(
                BreachReport.status == BreachStatus.CLOSED.value,
                BreachReport.closed_at < cutoff,
                BreachReport.anonymised_at.is_(None),
            )
            .order_by(BreachReport.id)
            .with_for_update(of=BreachReport)
        )
        .unique()
        .scalars()
        .all()
    )
    files = sum(anonymise(report, actor, years=years) for report in due)
    if due:
        record(
            AuditAction.RETENTION_APPLY,
            "retention",
            "breach_reports",
            {"anonymised": len(due), "files_removed": files, "closed_before": cutoff, "retention_years": years},
            actor=actor,
        )
    return RetentionResult(len(due), files, cutoff)
