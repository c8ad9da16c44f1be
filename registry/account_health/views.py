"""A channel's account security health: its history (comms and auditors) and a new check (comms)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from registry import clock, db
from registry.account_health import services
from registry.account_health.forms import HealthCheckForm
from registry.account_health.models import HealthCheck
from registry.account_health.rules import SeedAnswer, TwoFactor
from registry.auth.permissions import Permission, requires
from registry.channels import services as channels
from registry.channels.models import Channel
from registry.channels.workflow import OFFICIAL_STATUSES
from registry.web.current import signed_in
from registry.web.refusals import attempt

bp = Blueprint("account_health", __name__, url_prefix="/channels")


def _page(channel: Channel) -> ResponseReturnValue:
    checks = services.history(channel)
    return render_template(
        "account_health/channel.html",
        channel=channel,
        checks=checks,
        findings={check.id: services.findings(check) for check in checks},
        due=services.is_due(channel),
        official=channel.status_enum in OFFICIAL_STATUSES,
        two_factor=TwoFactor,
        seeds=SeedAnswer,
        limits=services.settings(),
    )


@bp.route("/<reference>/health")
@requires(Permission.CHANNEL_READ_ALL)
def channel(reference: str) -> ResponseReturnValue:
    """Where the channel's account stands, and every check of it, newest first."""
    return _page(channels.get_channel(reference))


@bp.route("/<reference>/health/check", methods=["GET", "POST"])
@requires(Permission.CHANNEL_OPERATE)
def check(reference: str) -> ResponseReturnValue:
    """Record a check of the channel's account on its platform."""
    found = channels.get_channel(reference)
    form = HealthCheckForm()
    if form.validate_on_submit():

        def record() -> HealthCheck:
            answers = services.parse(form.answers(), clock.today())
            return services.record_check(found, answers, signed_in())

        done = attempt(record, form)
        if done.result is not None:
            if done.result.problem_codes:
                flash(f"The check of {found.reference} is recorded: it needs attention.", "warning")
            else:
                flash(f"The check of {found.reference} is recorded: the account is healthy.", "success")
            return redirect(url_for("account_health.channel", reference=found.reference))
        if done.status == 409:
            return redirect(url_for("account_health.channel", reference=found.reference))
    status = 422 if form.errors or form.form_errors else 200
    return render_template(
        "account_health/check.html",
        form=form,
        channel=found,
        limits=services.settings(),
        now=db.utcnow(),
    ), status
