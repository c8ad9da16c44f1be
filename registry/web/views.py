"""Home (what needs me now), the policy and the accessibility statement (health checks: registry.web.health)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, g, render_template, request
from flask_login import current_user

from registry import db
from registry.account_health import services as account_health
from registry.account_health.states import HealthState
from registry.auth.permissions import Permission, public, requires
from registry.channels import services as channels
from registry.channels.platforms import PLATFORMS, Platform
from registry.channels.workflow import ChannelStatus
from registry.policy import sections
from registry.web import charts, dashboard, workqueue
from registry.web.pagination import page_args

bp = Blueprint("web", __name__)


@bp.route("/")
@requires(Permission.DASHBOARD_VIEW)
def home() -> str:
    """What needs me now: each person's figures, as far as their permissions reach."""
    board = dashboard.for_user(current_user._get_current_object())
    return render_template(
        "home.html",
        board=board,
        statuses=list(ChannelStatus),
        platforms=PLATFORMS,
        now=db.utcnow(),
        due_days=dashboard.DUE_WITHIN_DAYS,
    )


@bp.route("/queue")
@requires(Permission.WORK_QUEUE)
def work_queue() -> str:
    """Every request of every kind waiting on the communications team, oldest first (or of one kind)."""
    kind = request.args.get("kind", "")
    work = workqueue.for_comms(*page_args(50), only=kind)
    return render_template("work/queue.html", page=work.page, kinds=sorted(work.by_kind), kind=kind, now=db.utcnow())


@bp.route("/requests")
@requires(Permission.DASHBOARD_VIEW)
def my_requests() -> str:
    """A person's open requests of every kind; those waiting on them first."""
    work = workqueue.of(current_user._get_current_object(), *page_args(50))
    return render_template("work/mine.html", page=work.page, now=db.utcnow())


CHART_DIMENSIONS = {"status", "platform", "health"}


@bp.route("/charts/channels-by-<dimension>.svg")
@requires(Permission.CHANNEL_READ_ALL)
def channel_chart(dimension: str) -> Response:
    """Channels by status or by platform, or the active ones by account security health, as an SVG bar chart."""
    if dimension not in CHART_DIMENSIONS:
        abort(404)
    if dimension == "status":
        counts = channels.counts_by_status()
        labels = [s.label for s in ChannelStatus]
        values = [counts.get(s.value, 0) for s in ChannelStatus]
        title = "Channels by status"
    elif dimension == "health":
        share = account_health.share()
        labels = [state.label for state in HealthState]
        values = [share.unchecked, share.healthy, share.needs_attention]
        title = f"Active channels by account security: {share.percent_healthy}% healthy"
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
def policy() -> str:
    return render_template("policy.html", sections=sections())


@bp.route("/accessibility")
@public
def accessibility() -> str:
    return render_template("accessibility.html")
