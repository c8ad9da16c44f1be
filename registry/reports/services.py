"""Monthly reports' rules: generate (or regenerate) a month's draft, issue it, read and export it.

A draft can be regenerated as often as wanted. Issuing freezes it: the figures as the
issuer read them (checked by their SHA-256, so a draft regenerated meanwhile is not
issued unseen) are kept unchanged from then on, and the hash is recorded in the audit
trail. An issued month is never regenerated. Every function checks before it changes
anything and only flushes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError

from registry import clock, db
from registry.audit.models import AuditAction
from registry.audit.services import Actor, canonical_json, record
from registry.auth.models import User
from registry.auth.permissions import Permission
from registry.channels.platforms import PLATFORMS, Platform
from registry.channels.workflow import ChannelStatus
from registry.errors import Conflict, Invalid, NotFound, NotPermitted
from registry.lifecycle.kind import ReportSection, kinds
from registry.reports import figures as compute
from registry.reports.models import MonthlyReport, ReportStatus

OBJECT_TYPE: Final = "monthly_report"


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def month_label(key: str) -> str:
    year, month = (int(part) for part in key.split("-"))
    return f"{dt.date(year, month, 1):%B %Y}"


def _who(actor: User | Actor) -> Actor:
    return actor if isinstance(actor, Actor) else Actor.of(actor)


def _check_may_manage(actor: User | Actor) -> None:
    if isinstance(actor, User) and not actor.can(Permission.REPORT_MANAGE):
        raise NotPermitted("Only the communications team generates and issues the monthly report.")


def find(key: str, *, for_update: bool = False) -> MonthlyReport | None:
    statement = select(MonthlyReport).where(MonthlyReport.month == key)
    if for_update:
        statement = statement.with_for_update(of=MonthlyReport).execution_options(populate_existing=True)
    return db.session().execute(statement).unique().scalar_one_or_none()


def get(key: str, *, for_update: bool = False) -> MonthlyReport:
    """The report of month ``key`` (``YYYY-MM``), or :class:`NotFound` that says how to make one."""
    report = None
    match = compute.MONTH_PATTERN.match(key or "")
    if match and 1 <= int(match.group(2)) <= 12:
        report = find(compute.month_key(int(match.group(1)), int(match.group(2))), for_update=for_update)
    if report is None:
        raise NotFound(
            f"There is no monthly report for {key!r}. Reports are named by month, for example 2026-10; "
            "the communications team generates them."
        )
    return report


def generate(month: str, actor: User | Actor) -> MonthlyReport:
    """Work out the month's figures now and keep them as its draft (replacing an earlier draft).

    Refused (409) once the month's report is issued: an issued report never changes.
    """
    _check_may_manage(actor)
    year, number = compute.parse_month(month)
    key = compute.month_key(year, number)
    report = find(key, for_update=True)
    if report is not None and report.is_issued:
        raise Conflict(
            f"The report for {month_label(key)} was issued on {report.issued_at:%d %B %Y}, "
            "so it cannot be generated again. An issued report never changes."
        )
    now = db.utcnow()
    text = canonical_json(compute.compute(year, number, now=now))
    who = _who(actor)
    regenerated = report is not None
    if report is None:
        report = MonthlyReport(month=key, status=ReportStatus.DRAFT.value)
        db.session().add(report)
    report.figures_json = text
    report.sha256 = digest(text)
    report.generated_at = now
    report.generated_by_id = who.id
    report.generated_by = who.label[:300]
    session = db.session()
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict(
            f"Someone else generated the report for {month_label(key)} at the same moment. Open it and look again."
        ) from None
    record(
        AuditAction.REPORT_GENERATE,
        OBJECT_TYPE,
        key,
        {"month": key, "sha256": report.sha256, "regenerated": regenerated},
        actor=who,
    )
    return report


def can_issue(report: MonthlyReport, now: dt.datetime | None = None) -> bool:
    return not report.is_issued and month_over(report.month, now) and drafted_after_the_month(report)


def drafted_after_the_month(report: MonthlyReport) -> bool:
    """Whether the draft's figures cover the whole month (a draft made mid-month does not)."""
    return bool(report.figures.get("period", {}).get("complete"))


def month_over(key: str, now: dt.datetime | None = None) -> bool:
    year, month = (int(part) for part in key.split("-"))
    return compute.period_of(year, month, now=now).complete


def issue(report: MonthlyReport, sha256: str | None, actor: User) -> MonthlyReport:
    """Freeze the draft the issuer read (``sha256`` of its figures) as the month's report."""
    _check_may_manage(actor)
    report = get(report.month, for_update=True)
    label = month_label(report.month)
    if report.is_issued:
        raise Conflict(f"The report for {label} has already been issued.")
    if not month_over(report.month):
        raise Conflict(
            f"{label} has not ended yet. A monthly report is issued once its month is over: "
            "until then its figures are only a draft."
        )
    if not drafted_after_the_month(report):
        raise Conflict(
            f"This draft of {label} was worked out before the month ended, so it misses the rest of the month. "
            "Generate it again now, read it, then issue it."
        )
    if not sha256:
        raise Invalid({"sha256": "Open the draft before issuing it."})
    if sha256 != report.sha256:
        raise Conflict(
            f"The draft for {label} was generated again since you opened it. Read the new figures, then issue it."
        )
    if digest(report.figures_json) != report.sha256:
        raise Conflict(f"The draft for {label} does not match its own hash. Generate it again before issuing it.")
    report.status = ReportStatus.ISSUED.value
    report.issued_at = db.utcnow()
    report.issued_by_id = actor.id
    report.issued_by = actor
    db.session().flush()
    record(
        AuditAction.REPORT_ISSUE,
        OBJECT_TYPE,
        report.month,
        {"month": report.month, "sha256": report.sha256},
        actor=actor,
    )
    return report


def issued() -> Select[MonthlyReport]:
    """Issued reports, the most recent month first."""
    return (
        select(MonthlyReport)
        .where(MonthlyReport.status == ReportStatus.ISSUED.value)
        .order_by(MonthlyReport.month.desc())
    )


def drafts() -> list[MonthlyReport]:
    return list(
        db.session()
        .execute(
            select(MonthlyReport)
            .where(MonthlyReport.status == ReportStatus.DRAFT.value)
            .order_by(MonthlyReport.month.desc())
        )
        .unique()
        .scalars()
    )


def recent_months(count: int = 24, *, today: dt.date | None = None) -> list[str]:
    """This month and the ones before it, most recent first (for choosing which to generate)."""
    today = today or clock.today()
    index = today.year * 12 + today.month - 1
    return [compute.month_key((index - back) // 12, (index - back) % 12 + 1) for back in range(count)]


def default_month(today: dt.date | None = None) -> str:
    """Last month: the most recent one that has ended."""
    return recent_months(2, today=today)[1]


# --- the report as rows: the page, the CSV and the PDF read the same words ----------------------


@dataclass(frozen=True)
class Line:
    """One figure: where it is in the figures (``key``), what it is called, and its value."""

    key: str
    label: str
    value: Any


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    clause: str
    lines: tuple[Line, ...]
    note: str = ""


def get_figure(figures: dict[str, Any], path: str) -> Any:
    value: Any = figures
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


#: A section of the report made of plain figures (the request kinds declare their own).
Layout = ReportSection


#: The sections made of plain figures, beside those the request kinds declare (:func:`layouts` puts
#: them in the policy's order). Tables with their own layout (channels by status and platform,
#: requests by kind, trends, the audit trail) come with these.
SECTIONS: Final = (
    Layout(
        "channels",
        "Channels",
        "6.7, 7.2",
        (
            ("channels.created", "Channels that went live"),
            ("channels.suspended", "Channels suspended"),
            ("channels.reinstated", "Channels reinstated"),
            ("channels.retired", "Channels retired"),
            ("channels.official", "Official channels at the end of the month (active or suspended)"),
            ("channels.live", "Current channels at the end of the month (active, suspended or not yet live)"),
        ),
        note="Channels that went live (activated, or adopted from monitoring), were suspended, reinstated or "
        "retired during the month; current and official counts are at the month's end.",
    ),
    Layout(
        "credentials",
        "Credential custody",
        "7.2",
        (
            ("credentials.held", "Secrets held in custody"),
            ("credentials.rotated", "Secrets rotated during the month"),
            ("credentials.overdue", "Secrets overdue for rotation"),
            ("credentials.required", "Secrets whose rotation is required (someone left or lost access)"),
        ),
        note="At the end of the month, of the secrets held for channels not retired or closed (custody notes "
        "are not counted); rotations are those done during the month.",
    ),
    Layout(
        "password_health",
        "Password health",
        "7.2",
        (
            ("password_health.passwords", "Passwords held in custody"),
            ("password_health.breached", "Known breached (in the breached-password list)"),
            ("password_health.reused", "Reused on another channel"),
            ("password_health.weak", "Weak (shorter than 12 characters or easy to guess)"),
            ("password_health.old", "Past their rotation date"),
            ("password_health.not_assessed", "Not assessed"),
        ),
        note="At the end of the month, of the password each channel not retired or closed held, as the Registry "
        "last worked out its health (when it was stored, or by the assessment command). No password is seen.",
    ),
    Layout(
        "account_health",
        "Account security of the official channels",
        "7.2",
        (
            ("account_health.percent_healthy", "Active channels whose account is healthy (per cent)"),
            ("account_health.active", "Active channels at the end of the month"),
            ("account_health.healthy", "Healthy at their latest check"),
            ("account_health.needs_attention", "Needing attention at their latest check"),
            ("account_health.unchecked", "Never checked"),
            ("account_health.checks", "Account security checks recorded during the month"),
            ("account_health.checks_needing_attention", "Of those, checks that found something needing attention"),
        ),
        note="Each official account is checked on its platform: two-factor on and not by SMS, Trust-owned "
        "recovery e-mail and phone, the secrets in custody confirmed, the account live and used, and its "
        "administrators matching the roster. Counts are at the month's end, by each channel's latest check.",
    ),
    Layout(
        "access_reviews",
        "Administrator rosters and access reviews",
        "7.2",
        (
            ("access_reviews.due", "Access reviews due during the month"),
            ("access_reviews.completed", "Access reviews completed during the month"),
            ("access_reviews.overdue", "Access reviews overdue at the end of the month"),
            ("access_reviews.grants_certified", "Roles certified in reviews"),
            ("access_reviews.grants_revoked", "Roles revoked in reviews"),
            ("access_reviews.grants_ended", "Roles ended for any reason (revoked, expired, leavers)"),
        ),
    ),
    Layout(
        "unauthorised_accounts",
        "Unauthorised accounts",
        "6.7, 11.1",
        (
            ("unauthorised_accounts.found", "Accounts found purporting to be the Trust's"),
            ("unauthorised_accounts.taken_down", "Accounts taken down"),
            ("unauthorised_accounts.adopted", "Accounts adopted as official channels"),
            ("unauthorised_accounts.dismissed", "Findings dismissed"),
            ("unauthorised_accounts.open_at_end", "Findings still open at the end of the month"),
        ),
    ),
)


def layouts() -> list[ReportSection]:
    """Every section of plain figures: the report's own, with each kind's after the access reviews, in
    the order of the policy clauses they report on (consents 6.8, posts 7.1, media 8.1, breaches 9)."""
    own = list(SECTIONS)
    declared = sorted((kind.report for kind in kinds() if kind.report is not None), key=lambda r: r.order)
    return [*own[:-1], *declared, own[-1]]


def request_labels() -> dict[str, str]:
    """The kinds of request the team decides (the report's requests table), and all of them."""
    return {kind.name: kind.decisions.label for kind in kinds() if kind.decisions is not None} | {"all": "All requests"}


REQUEST_COLUMNS: Final = (
    ("received", "Received"),
    ("decided", "Decided"),
    ("approved", "Approved"),
    ("rejected", "Rejected"),
    ("median_days", "Median days to decide"),
    ("longest_days", "Longest days to decide"),
)
TREND_LABELS: Final = {
    "requests_received": "Requests received",
    "requests_decided": "Requests decided",
    "channels_official": "Official channels at the month's end",
}
AUDIT_LABELS: Final = (
    ("audit.head_seq", "Events in the trail at the end of the month"),
    ("audit.head_hash", "Hash of the trail's last event at the end of the month"),
    ("audit.events", "Events recorded during the month"),
    ("audit.chain_intact", "Trail to the end of the month verified from the last checkpoint before it"),
    ("audit.checkpoint.at", "Last signed checkpoint of the trail before the end of the month"),
    ("audit.checkpoint.seq", "Event number in that checkpoint"),
    ("audit.checkpoint.hash", "Hash in that checkpoint"),
    ("audit.checkpoint.public_key", "Public key that checks the checkpoints (Ed25519)"),
)


def sections(figures: dict[str, Any]) -> list[Section]:
    return [
        Section(
            layout.key,
            layout.title,
            layout.clause,
            tuple(Line(path, label, get_figure(figures, path)) for path, label in layout.lines),
            layout.note,
        )
        for layout in layouts()
    ]


def shown(value: Any) -> str:
    """A figure as a reader sees it."""
    if value is None:
        return "not applicable"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def rows(report: MonthlyReport) -> Iterator[tuple[str, str, str, Any]]:
    """Every figure as (section, figure key, label, value): the CSV download's rows."""
    figures = report.figures
    yield ("report", "month", "Month", report.month)
    yield ("report", "status", "Status", report.status)
    yield ("report", "sha256", "SHA-256 of the figures", report.sha256)
    yield ("report", "generated_at", "Generated", report.generated_at.isoformat())
    yield ("report", "issued_at", "Issued", report.issued_at.isoformat() if report.issued_at else "")
    yield (
        "report",
        "period.complete",
        "The month had ended when the figures were worked out",
        figures["period"]["complete"],
    )
    for status in ChannelStatus:
        yield (
            "channels",
            f"channels.by_status.{status.value}",
            f"Channels {status.label.lower()} at the end of the month",
            figures["channels"]["by_status"][status.value],
        )
    for platform in Platform:
        yield (
            "channels",
            f"channels.by_platform.{platform.value}",
            f"Current channels on {PLATFORMS[platform].label} (active, suspended or not yet live)",
            figures["channels"]["by_platform"][platform.value],
        )
    for section in sections(figures):
        for line in section.lines:
            yield (section.key, line.key, line.label, line.value)
    for kind, label in request_labels().items():
        for column, heading in REQUEST_COLUMNS:
            yield (
                "requests",
                f"requests.{kind}.{column}",
                f"{label}: {heading.lower()}",
                figures["requests"][kind][column],
            )
    for path, label in AUDIT_LABELS:
        yield ("audit", path, label, get_figure(figures, path))
    trends = figures["trends"]
    for series, label in TREND_LABELS.items():
        for month, value in zip(trends["months"], trends[series], strict=True):
            yield ("trends", f"trends.{series}.{month}", f"{label}, {month_label(month)}", value)


def record_export(report: MonthlyReport, file_format: str, actor: User) -> None:
    record(
        AuditAction.REPORT_EXPORT,
        OBJECT_TYPE,
        report.month,
        {"month": report.month, "format": file_format, "sha256": report.sha256},
        actor=actor,
    )
