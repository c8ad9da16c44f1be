"""Monitoring pages: the list of unauthorised accounts, recording one, and following it up."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from registry.auth.permissions import Permission, requires
from registry.channels.platforms import PLATFORMS
from registry.monitoring import services
from registry.monitoring.forms import AdoptForm, FindingForm, MoveForm
from registry.monitoring.models import FindingStatus, UnauthorisedAccount
from registry.web.pagination import paged
from registry.web.refusals import attempt

bp = Blueprint("monitoring", __name__, url_prefix="/monitoring")


@bp.route("")
@requires(Permission.MONITORING_READ)
def index() -> str:
    status = request.args.get("status", "open")
    platform = request.args.get("platform", "")
    return render_template(
        "monitoring/index.html",
        page=paged(services.listing(status, platform), 25),
        status=status,
        platform=platform,
        statuses=list(FindingStatus),
        platforms=PLATFORMS,
    )


@bp.route("/new", methods=["GET", "POST"])
@requires(Permission.MONITORING_MANAGE)
def new() -> ResponseReturnValue:
    form = FindingForm()
    refused = 200
    if form.validate_on_submit():
        done = attempt(
            lambda: services.record_finding(
                platform=form.platform.data or "",
                url=form.url.data or "",
                evidence=form.evidence.data or "",
                found_on=form.found_on.data,
                actor=current_user._get_current_object(),
            ),
            form,
        )
        if done.result is not None:
            flash(f"{done.result.reference} has been recorded. Follow it up below.", "success")
            return redirect(url_for("monitoring.detail", reference=done.result.reference))
        refused = done.status
    return render_template("monitoring/new.html", form=form), 422 if form.errors else refused


def _page(finding: UnauthorisedAccount, forms: dict[str, MoveForm] | None = None, status: int = 200) -> tuple[str, int]:
    forms = forms or {}
    for action in services.MOVES:
        forms.setdefault(action, MoveForm(prefix=action, formdata=None))
    return render_template(
        "monitoring/detail.html",
        finding=finding,
        moves=services.MOVES,
        forms=forms,
        history=services.history(finding),
        can_manage=current_user.can(Permission.MONITORING_MANAGE),
    ), status


@bp.route("/<reference>")
@requires(Permission.MONITORING_READ)
def detail(reference: str) -> tuple[str, int]:
    return _page(services.get_finding(reference))


@bp.route("/<reference>/actions/<action>", methods=["POST"])
@requires(Permission.MONITORING_MANAGE)
def act(reference: str, action: str) -> ResponseReturnValue:
    finding = services.get_finding(reference)
    if action not in services.MOVES:
        abort(404)
    form = MoveForm(prefix=action)
    if not form.validate_on_submit():
        abort(400)
    done = attempt(
        lambda: services.move(finding, action, form.note.data or "", current_user._get_current_object()), form
    )
    if not done:
        return _page(services.get_finding(reference), {action: form} if done.invalid else None, status=done.status)
    flash(f"{finding.reference} has been {services.MOVES[action].done}.", "success")
    return redirect(url_for("monitoring.detail", reference=finding.reference))


@bp.route("/<reference>/adopt", methods=["GET", "POST"])
@requires(Permission.MONITORING_MANAGE)
def adopt(reference: str) -> ResponseReturnValue:
    finding = services.get_finding(reference)
    form = AdoptForm()
    refused = 200
    if form.validate_on_submit():
        done = attempt(
            lambda: services.adopt(
                finding,
                display_name=form.display_name.data or "",
                department=form.department.data or "",
                purpose=form.purpose.data or "",
                audience=form.audience.data or "",
                sponsor=form.sponsor.data or "",
                reason=form.reason.data or "",
                actor=current_user._get_current_object(),
            ),
            form,
        )
        if done.result is not None:
            channel = done.result
            flash(f"{finding.reference} has been adopted into the registry as {channel.reference}.", "success")
            return redirect(url_for("channels.detail", reference=channel.reference))
        refused = done.status
    return render_template("monitoring/adopt.html", form=form, finding=finding), 422 if form.errors else refused
