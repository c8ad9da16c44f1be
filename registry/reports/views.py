"""Monthly report pages: the list, generating a draft, reading and issuing it, its charts,
and the issued report as CSV or PDF (policy 11.2)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user

from registry.auth.models import User
from registry.auth.permissions import Permission, requires
from registry.channels.platforms import PLATFORMS, Platform
from registry.channels.workflow import ChannelStatus
from registry.errors import Conflict, NotFound
from registry.reports import charts, pdf, services
from registry.reports.forms import GenerateForm, IssueForm
from registry.reports.models import MonthlyReport
from registry.web.charts import SVG_CONTENT_SECURITY_POLICY
from registry.web.exports import csv_response
from registry.web.pagination import paged
from registry.web.refusals import attempt

bp = Blueprint("reports", __name__, url_prefix="/reports")

CSV_COLUMNS = ("section", "figure", "label", "value")
NO_PDF = "PDF reports are not available on this server. Open the report and print it instead."


def _user() -> User:
    user: User = current_user._get_current_object()
    return user


def _index_page(form: GenerateForm | None = None, status: int = 200) -> tuple[str, int]:
    return render_template(
        "reports/index.html",
        page=paged(services.issued(), 24),
        drafts=services.drafts(),
        form=form or GenerateForm(formdata=None),
        can_manage=_user().can(Permission.REPORT_MANAGE),
        month_label=services.month_label,
        pdf=pdf.pdf_available(),
    ), status


@bp.route("")
@requires(Permission.REPORT_READ)
def index() -> tuple[str, int]:
    return _index_page()


@bp.route("", methods=["POST"])
@requires(Permission.REPORT_MANAGE)
def generate() -> ResponseReturnValue:
    """Generate a month's draft, or generate it again."""
    form = GenerateForm()
    if not form.validate_on_submit():
        return _index_page(form, 422)
    done = attempt(lambda: services.generate(form.month.data or "", _user()), form)
    if done.result is None:
        return _index_page(form, done.status)
    report = done.result
    flash(f"The draft report for {services.month_label(report.month)} has been generated.", "success")
    return redirect(url_for("reports.detail", month=report.month))


def _platform_rows(figures: dict[str, Any]) -> list[tuple[str, list[int], int]]:
    """Each platform with live channels: its label, its count in each of the chart's groups, and the total."""
    channels = figures["channels"]
    return [
        (
            PLATFORMS[p].label,
            [
                sum(channels["live_by_platform_status"][p.value][s.value] for s in statuses)
                for _name, statuses, _style in charts.PLATFORM_GROUPS
            ],
            channels["by_platform"][p.value],
        )
        for p in Platform
        if channels["by_platform"][p.value]
    ]


def _detail_page(report: MonthlyReport, status: int = 200, issue_form: IssueForm | None = None) -> tuple[str, int]:
    figures = report.figures
    user = _user()
    can_manage = user.can(Permission.REPORT_MANAGE)
    return render_template(
        "reports/detail.html",
        report=report,
        figures=figures,
        label=services.month_label(report.month),
        sections=services.sections(figures),
        statuses=list(ChannelStatus),
        first_day=dt.date.fromisoformat(figures["period"]["first_day"]),
        last_day=dt.date.fromisoformat(figures["period"]["last_day"]),
        platform_groups=[name for name, _statuses, _style in charts.PLATFORM_GROUPS],
        platform_rows=_platform_rows(figures),
        request_labels=services.request_labels(),
        request_columns=services.REQUEST_COLUMNS,
        trend_labels=services.TREND_LABELS,
        chart_titles=charts.CHARTS,
        month_label=services.month_label,
        shown=services.shown,
        can_manage=can_manage and not report.is_issued,
        can_issue=can_manage and services.can_issue(report),
        issue_form=issue_form or IssueForm(formdata=None, data={"sha256": report.sha256}),
        regenerate_form=GenerateForm(formdata=None, data={"month": report.month}),
        pdf=pdf.pdf_available(),
    ), status


@bp.route("/<month>")
@requires(Permission.REPORT_READ)
def detail(month: str) -> tuple[str, int]:
    return _detail_page(services.get(month))


@bp.route("/<month>/issue", methods=["POST"])
@requires(Permission.REPORT_MANAGE)
def issue(month: str) -> ResponseReturnValue:
    report = services.get(month)
    form = IssueForm()
    if not form.validate_on_submit():
        return _detail_page(report, 422, form)
    done = attempt(lambda: services.issue(report, form.sha256.data, _user()))
    if not done:
        return _detail_page(services.get(month), done.status)
    flash(
        f"The report for {services.month_label(report.month)} has been issued. Its figures are frozen; "
        "their SHA-256 is recorded in the audit trail.",
        "success",
    )
    return redirect(url_for("reports.detail", month=report.month))


def _issued(month: str) -> MonthlyReport:
    report = services.get(month)
    if not report.is_issued:
        raise Conflict(
            f"The report for {services.month_label(report.month)} is still a draft. Only an issued report is "
            "downloaded: open the draft to read it."
        )
    return report


@bp.route("/<month>/export.csv")
@requires(Permission.REPORT_READ)
def export_csv(month: str) -> Response:
    report = _issued(month)
    lines = list(services.rows(report))
    services.record_export(report, "csv", _user())
    return csv_response(f"monthly-report-{report.month}.csv", CSV_COLUMNS, lines)


@bp.route("/<month>/export.pdf")
@requires(Permission.REPORT_READ)
def export_pdf(month: str) -> Response:
    report = _issued(month)
    if not pdf.pdf_available():
        raise NotFound(NO_PDF)
    content = pdf.render_pdf(report, trust_name=current_app.extensions["registry.settings"].trust_name)
    services.record_export(report, "pdf", _user())
    response = Response(content, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="monthly-report-{report.month}.pdf"'
    return response


@bp.route("/<month>/charts/<chart>.svg")
@requires(Permission.REPORT_READ)
def chart(month: str, chart: str) -> Response:
    """One of the report's charts, drawn from its stored figures."""
    draw = charts.DRAW.get(chart)
    if draw is None:
        abort(404)
    report = services.get(month)
    g.csp_override = SVG_CONTENT_SECURITY_POLICY
    return Response(draw(report.figures, "svg"), mimetype="image/svg+xml")
