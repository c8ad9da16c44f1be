"""Home (what needs me now), the policy, the accessibility statement and a health check."""

from __future__ import annotations

from flask import Blueprint, Response, abort, g, jsonify, render_template, request
from flask_login import current_user
from sqlalchemy import func, select, text

from registry import db
from registry.audit import services as audit
from registry.auth.models import User
from registry.auth.permissions import Permission, public, requires
from registry.channels import services as channels
from registry.channels.platforms import PLATFORMS, Platform
from registry.channels.workflow import ChannelStatus
from registry.monitoring.models import OPEN_FINDINGS, UnauthorisedAccount
from registry.policy import sections
from registry.roster import services as roster
from registry.vault import services as custody
from registry.web import charts, workqueue
from registry.web.pagination import Page, page_args
from registry.web.work import WorkItem

bp = Blueprint("web", __name__)


@bp.route("/")
@requires(Permission.DASHBOARD_VIEW)
def home():
    user = current_user._get_current_object()
    session = db.session()
    mine = session.execute(channels.requests_of(user).limit(5)).scalars().all()
    context: dict[str, object] = {"mine": mine, "statuses": list(ChannelStatus)}
    if user.can(Permission.CHANNEL_READ_ALL):
        context["by_status"] = channels.counts_by_status()
        context["by_platform"] = channels.counts_by_platform()
        context["platforms"] = PLATFORMS
        due = channels.reviews_due(30)
        context["reviews_due"] = session.execute(due.limit(10)).scalars().all()
        context["reviews_due_count"] = session.execute(
            select(func.count()).select_from(due.order_by(None).subquery())
        ).scalar_one()
    if user.can(Permission.WORK_QUEUE):
        context["awaiting"] = len(workqueue.for_comms())
    if user.can(Permission.MONITORING_READ):
        context["open_findings"] = session.execute(
            select(func.count()).select_from(UnauthorisedAccount).where(
                UnauthorisedAccount.status.in_([s.value for s in OPEN_FINDINGS])
            )
        ).scalar_one()
    if user.can(Permission.ROSTER_READ):
        context["roster_dashboard"] = roster.dashboard()
    if user.can(Permission.CREDENTIAL_READ):
        context["to_rotate"] = custody.count_needing_rotation()
    if user.can(Permission.AUDIT_READ):
        context["audit_head"] = audit.head()
    if user.can(Permission.USER_MANAGE):
        context["user_counts"] = dict(
            session.execute(select(User.active, func.count()).group_by(User.active)).all()
        )
    return render_template("home.html", **context)


def _page_of(items: list[WorkItem], per_page: int) -> Page[WorkItem]:
    page, per_page = page_args(per_page)
    start = (page - 1) * per_page
    return Page(items[start:start + per_page], len(items), page, per_page)


@bp.route("/queue")
@requires(Permission.WORK_QUEUE)
def work_queue():
    """Every request of every kind waiting on the communications team, oldest first."""
    items = workqueue.for_comms()
    kinds = sorted({i.kind for i in items})
    kind = request.args.get("kind", "")
    if kind in kinds:
        items = [i for i in items if i.kind == kind]
    return render_template(
        "work/queue.html", page=_page_of(items, 50), kinds=kinds, kind=kind, now=db.utcnow()
    )


@bp.route("/requests")
@requires(Permission.DASHBOARD_VIEW)
def my_requests():
    """A person's open requests of every kind; those waiting on them first."""
    return render_template("work/mine.html", page=_page_of(workqueue.of(current_user._get_current_object()), 50), now=db.utcnow())


CHART_DIMENSIONS = {"status", "platform"}


@bp.route("/charts/channels-by-<dimension>.svg")
@requires(Permission.CHANNEL_READ_ALL)
def channel_chart(dimension: str):
    """Channels by status or by platform, as an SVG bar chart."""
    if dimension not in CHART_DIMENSIONS:
        abort(404)
    if dimension == "status":
        counts = channels.counts_by_status()
        labels = [s.label for s in ChannelStatus]
        values = [counts.get(s.value, 0) for s in ChannelStatus]
        title = "Channels by status"
    else:
        counts = channels.counts_by_platform()
        labels = [PLATFORMS[p].label for p in Platform]
        values = [counts.get(p.value, 0) for p in Platform]
        title = "Channels by platform"
    svg = charts.horizontal_bars(labels, values, title=title, axis_label="Number of channels")
    g.csp_override = charts.SVG_CONTENT_SECURITY_POLICY
    return Response(svg, mimetype="image/svg+xml")


@bp.route("/policy")
@public
def policy():
    return render_template("policy.html", sections=sections())


@bp.route("/accessibility")
@public
def accessibility():
    return render_template("accessibility.html")


@bp.route("/healthz")
@public
def healthz():
    """For load balancers: the app runs and the database answers."""
    db.session().execute(text("SELECT 1"))
    return jsonify({"status": "ok"})
