"""The audit trail in the browser: browse, filter, check the chain, export as CSV."""

from __future__ import annotations

import json

from flask import Blueprint, Response, render_template, request
from flask_login import current_user

from registry import alerts, db
from registry.alerts.models import AlertEvent
from registry.audit import services
from registry.auth.permissions import Permission, requires
from registry.web.exports import csv_response
from registry.web.pagination import page_args, paginate

bp = Blueprint("audit", __name__, url_prefix="/audit")

EXPORT_LIMIT = 100_000
COLUMNS = (
    "seq",
    "occurred_at",
    "actor",
    "action",
    "object_type",
    "object_id",
    "address",
    "details",
    "prev_hash",
    "hash",
)


@bp.route("")
@requires(Permission.AUDIT_READ)
def index() -> str:
    filters = services.AuditFilters.parse(request.args, strict=False)
    page, per_page = page_args(50)
    result = paginate(
        db.session(),
        services.search_events(filters, viewer=current_user),
        page,
        per_page,
        total=services.count_visible(filters, viewer=current_user),
    )
    seq, head_hash = services.head()
    return render_template(
        "audit/index.html",
        page=result,
        filters=filters,
        head_seq=seq,
        head_hash=head_hash,
        details=lambda e: json.loads(e.details),
    )


@bp.route("/verify", methods=["POST"])
@requires(Permission.AUDIT_READ)
def verify() -> str:
    report = services.verify_chain()
    if not report.ok:
        alerts.raise_alert(
            AlertEvent.AUDIT_VERIFICATION_FAILED,
            title="The audit trail failed verification",
            text=f"A check from the audit page found: {report.describe()} Investigate before trusting the trail.",
            link="/audit",
            facts={"Checked by": current_user.name},
        )
    seq, head_hash = services.head()
    return render_template("audit/verify.html", report=report, head_seq=seq, head_hash=head_hash)


@bp.route("/export.csv")
@requires(Permission.AUDIT_READ)
def export() -> Response:
    filters = services.AuditFilters.parse(request.args, strict=False)
    statement = services.search_events(filters, viewer=current_user).limit(EXPORT_LIMIT)
    events = db.session().execute(statement).scalars().all()
    rows = [
        (e.seq, e.occurred_at, e.actor, e.action, e.object_type, e.object_id, e.address, e.details, e.prev_hash, e.hash)
        for e in events
    ]
    services.record_export(filters, len(rows))
    return csv_response("audit-trail.csv", COLUMNS, rows)
