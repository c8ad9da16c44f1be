"""Administrators' pages for webhooks (auditors may read the list and the deliveries)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from registry import db
from registry.alerts import services
from registry.alerts.forms import WebhookForm
from registry.alerts.models import Webhook
from registry.auth.permissions import Permission, requires
from registry.errors import NotFound
from registry.notifications import services as notifications
from registry.notifications.models import Delivery
from registry.web import security
from registry.web.forms import ConfirmForm
from registry.web.pagination import page_args, paginate
from registry.web.refusals import attempt

bp = Blueprint("alerts", __name__, url_prefix="/admin/webhooks")

#: The delivery states a webhook delivery can be in (never "kept": webhooks need no server set up).
DELIVERIES = [d for d in Delivery if d is not Delivery.KEPT]


@bp.route("")
@requires(Permission.WEBHOOK_READ)
def index() -> str:
    hooks = list(db.session().execute(services.listing()).scalars())
    return render_template(
        "alerts/index.html",
        hooks=hooks,
        failed=services.failed_recently(),
        can_manage=current_user.can(Permission.WEBHOOK_MANAGE),
        confirm=ConfirmForm(),
    )


@bp.route("/deliveries")
@requires(Permission.WEBHOOK_READ)
def deliveries() -> str:
    delivery = notifications.chosen_delivery(request.args.get("delivery", ""), DELIVERIES)
    page, per_page = page_args(50)
    result = paginate(db.session(), services.deliveries(delivery), page, per_page)
    return render_template("alerts/deliveries.html", page=result, deliveries=DELIVERIES, delivery=delivery or "")


def _settings(form: WebhookForm) -> services.Settings:
    return services.Settings(
        name=form.name.data or "",
        url=form.url.data,
        events=list(form.events.data or []),
        format=form.format.data or "",
    )


def _secret_page(hook: Webhook, secret: str, created: bool) -> str:
    security.no_store()
    return render_template("alerts/secret.html", hook=hook, secret=secret, created=created)


@bp.route("/new", methods=["GET", "POST"])
@requires(Permission.WEBHOOK_MANAGE)
def new() -> ResponseReturnValue:
    form = WebhookForm()
    refused = 200
    if form.validate_on_submit():
        done = attempt(lambda: services.create(_settings(form), current_user._get_current_object()), form)
        if done.result is not None:
            hook, secret = done.result
            return _secret_page(hook, secret, created=True)
        refused = done.status
    elif request.method == "POST":
        refused = 400
    _typed_address_shown_back()
    return render_template("alerts/form.html", form=form, hook=None), 422 if form.errors else refused


def _typed_address_shown_back() -> None:
    """A refused form shows the address typed back to correct: a Teams or Slack address is a
    credential, so no cache may keep that page."""
    if request.method == "POST":
        security.no_store()


def _found(webhook_id: int) -> Webhook:
    try:
        return services.get(webhook_id)
    except NotFound as exc:
        abort(404, exc.message)


@bp.route("/<int(max=2147483647):webhook_id>", methods=["GET", "POST"])
@requires(Permission.WEBHOOK_MANAGE)
def edit(webhook_id: int) -> ResponseReturnValue:
    hook = _found(webhook_id)
    form = WebhookForm(
        data=None
        if request.method == "POST"
        else {"name": hook.name, "events": sorted(hook.events.split(",")), "format": hook.format}
    )
    refused = 200
    if form.validate_on_submit():
        done = attempt(lambda: services.update(hook, _settings(form), current_user._get_current_object()), form)
        if done.result is not None:
            flash(f"'{done.result.name}' has been changed.", "success")
            return redirect(url_for("alerts.index"))
        refused = done.status
    elif request.method == "POST":
        refused = 400
    _typed_address_shown_back()
    return render_template("alerts/form.html", form=form, hook=hook, confirm=ConfirmForm()), (
        422 if form.errors else refused
    )


def _action(webhook_id: int, change: str) -> ResponseReturnValue:
    hook = _found(webhook_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    actor = current_user._get_current_object()
    if change == "roll":
        rolled = attempt(lambda: services.roll_secret(hook, actor))
        if rolled.result is not None:
            return _secret_page(rolled.result[0], rolled.result[1], created=False)
        return redirect(url_for("alerts.index"))
    step = {"pause": services.pause, "resume": services.resume, "delete": services.delete}[change]
    done = attempt(lambda: step(hook, actor))
    if done.result is not None:
        said = {"pause": "paused", "resume": "resumed", "delete": "deleted"}[change]
        flash(f"'{done.result.name}' has been {said}.", "success")
    return redirect(url_for("alerts.index"))


@bp.route("/<int(max=2147483647):webhook_id>/pause", methods=["POST"])
@requires(Permission.WEBHOOK_MANAGE)
def pause(webhook_id: int) -> ResponseReturnValue:
    return _action(webhook_id, "pause")


@bp.route("/<int(max=2147483647):webhook_id>/resume", methods=["POST"])
@requires(Permission.WEBHOOK_MANAGE)
def resume(webhook_id: int) -> ResponseReturnValue:
    return _action(webhook_id, "resume")


@bp.route("/<int(max=2147483647):webhook_id>/delete", methods=["POST"])
@requires(Permission.WEBHOOK_MANAGE)
def delete(webhook_id: int) -> ResponseReturnValue:
    return _action(webhook_id, "delete")


@bp.route("/<int(max=2147483647):webhook_id>/roll-secret", methods=["POST"])
@requires(Permission.WEBHOOK_MANAGE)
def roll_secret(webhook_id: int) -> ResponseReturnValue:
    return _action(webhook_id, "roll")
