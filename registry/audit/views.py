"""The audit trail in the browser: browse, filter, check the chain, export as CSV."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, render_template, request
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict

from registry import alerts, db
from registry.alerts.models import AlertEvent
from registry.audit import presenting, services, words
from registry.auth.permissions import Permission, requires
from registry.errors import Invalid
from registry.web.exports import csv_response
from registry.web.forms import NhsDateField
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


class DatesForm(FlaskForm):
    """The page's date filters, as day, month and year (``since[day]``…); the CSV and the API take
    ``since`` and ``until`` as ISO dates, and so does this page's address once the filters apply."""

    class Meta:
        csrf = False

    since = NhsDateField("From")
    until = NhsDateField("Before")


def _dates(args: MultiDict[str, str]) -> tuple[MultiDict[str, str], DatesForm]:
    """The query with the typed dates as ``since`` and ``until`` (a bad one dropped, its error on the
    form), and the form, its fields filled from ``since`` and ``until`` when no day, month or year came."""
    form = DatesForm(formdata=args)
    query = MultiDict(args)
    for field in (form.since, form.until):
        if any(field.raw_parts):
            field.errors = list(field.process_errors)
            query.pop(field.name, None)
            if not field.errors and isinstance(field.data, dt.date):
                query[field.name] = field.data.isoformat()
            continue
        raw = args.get(field.name, "").strip()
        if not raw:
            continue
        try:
            field.data = services.parse_moment(raw, field.name).date()
        except Invalid:
            field.errors = [f"{field.label.text} must be a real date"]
    return query, form


@bp.route("")
@requires(Permission.AUDIT_READ)
def index() -> str:
    query, dates = _dates(request.args)
    filters = services.AuditFilters.parse(query, strict=False)
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
        events=presenting.present(result.items, current_user),
        filters=filters,
        filtered=bool(filters.query()),
        action_groups=words.action_groups(),
        action_listed=words.is_listed(filters.action),
        dates=dates,
        head_seq=seq,
        head_hash=head_hash,
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
