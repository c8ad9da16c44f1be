"""Channel pages: request, my requests, the comms work queue, the inventory and a channel's page."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from registry import db
from registry.account_health import services as account_health
from registry.account_health.states import HealthState
from registry.auth.permissions import Permission, requires
from registry.channels import services
from registry.channels.forms import ChannelEditForm, ChannelRequestForm, TransitionForm
from registry.channels.kind import KIND
from registry.channels.models import Channel
from registry.channels.platforms import PLATFORMS, Platform
from registry.channels.workflow import TRANSITIONS, ChannelAction, ChannelStatus
from registry.errors import NotPermitted
from registry.web.current import signed_in
from registry.web.exports import csv_response
from registry.web.pagination import paged
from registry.web.refusals import attempt
from registry.web.request_pages import action_forms, changed, list_page, step_taken

bp = Blueprint("channels", __name__, url_prefix="/channels")

EXTRA_REQUIRED = ("posting_plan", "moderation_plan", "out_of_hours", "sponsor", "proposed_administrators")


def _viewable(reference: str) -> Channel:
    channel = services.get_channel(reference)
    if not services.can_view(signed_in(), channel):
        raise NotPermitted("You can see your own requests and the Trust's official channels only.")
    return channel


@bp.route("/new", methods=["GET", "POST"])
@requires(Permission.CHANNEL_REQUEST)
def new() -> ResponseReturnValue:
    form = ChannelRequestForm()
    if request.method == "GET" and request.args.get("platform") in {p.value for p in Platform}:
        form.platform.data = request.args["platform"]
    if form.validate_on_submit():
        data = services.ChannelRequest(
            **{name: (getattr(form, name).data or "") for name in ("platform", "handle", *services.EDITABLE)},
            policy_acknowledged=bool(form.policy_acknowledged.data),
            required_extra=EXTRA_REQUIRED,
        )
        done = attempt(lambda: services.request_channel(data, signed_in()), form)
        if done.result is not None:
            channel = done.result
            flash(
                f"Your request {channel.reference} has been sent to the communications team. "
                "You will see here when they decide.",
                "success",
            )
            return redirect(url_for("channels.detail", reference=channel.reference))
    return render_template(
        "channels/new.html", form=form, platforms=PLATFORMS, departments=services.departments()
    ), 422 if form.errors else 200


@bp.route("/mine")
@requires(Permission.CHANNEL_REQUEST)
def mine() -> ResponseReturnValue:
    return render_template("channels/mine.html", page=paged(services.requests_of(signed_in()), 25))


@bp.route("/queue")
@requires(Permission.CHANNEL_DECIDE)
def queue() -> ResponseReturnValue:
    return render_template("channels/queue.html", page=paged(services.queue(), 50), now=db.utcnow())


def _filters() -> services.ChannelFilters:
    return services.ChannelFilters.parse(request.args, strict=False)


@bp.route("")
@requires(Permission.CHANNEL_READ_ALL)
def inventory() -> ResponseReturnValue:
    if request.args.get("format") == "csv":
        return export()
    return list_page(
        KIND,
        "channels/inventory.html",
        services.ChannelFilters,
        services.search,
        platforms=PLATFORMS,
        statuses=list(ChannelStatus),
        health_states=list(HealthState),
        departments=services.departments(),
    )


@bp.route("/export.csv")
@requires(Permission.CHANNEL_EXPORT)
def export() -> ResponseReturnValue:
    rows = services.export(signed_in(), _filters())
    return csv_response("channels.csv", services.EXPORT_COLUMNS, rows)


def _detail_page(
    channel: Channel, forms: dict[str, TransitionForm] | None = None, status: int = 200
) -> ResponseReturnValue:
    user = signed_in()
    actions = services.available_actions(user, channel)
    forms = action_forms([action.value for action in actions], TransitionForm, forms)
    editable = user.can(Permission.CHANNEL_EDIT) and channel.status_enum not in {
        ChannelStatus.REJECTED,
        ChannelStatus.WITHDRAWN,
    }
    return render_template(
        "channels/detail.html",
        channel=channel,
        history=services.history(channel) if services.sees_everything(user, channel) else [],
        actions=[TRANSITIONS[a] for a in actions],
        forms=forms,
        editable=editable,
        resubmittable=ChannelAction.RESUBMIT in actions,
        is_requester=channel.requester_id == user.id,
        full=services.sees_everything(user, channel),
        health=account_health.summary(channel, user) if user.can(Permission.CHANNEL_READ_ALL) else None,
    ), status


@bp.route("/<reference>")
@requires(Permission.CHANNEL_LIST)
def detail(reference: str) -> ResponseReturnValue:
    return _detail_page(_viewable(reference))


@bp.route("/<reference>/actions/<action>", methods=["POST"])
@requires(Permission.CHANNEL_LIST)
def act(reference: str, action: str) -> ResponseReturnValue:
    channel = _viewable(reference)
    if action not in {a.value for a in ChannelAction}:
        abort(404)
    if action == ChannelAction.RESUBMIT.value:
        return redirect(url_for("channels.edit", reference=channel.reference))
    form = TransitionForm(prefix=action)
    if not form.validate_on_submit():
        abort(400)
    done = attempt(
        lambda: services.transition(
            channel, action, signed_in(), reason=form.reason.data, handle=form.handle.data or None
        ),
        form,
    )
    if not done:
        return _detail_page(services.get_channel(reference), {action: form} if done.invalid else {}, status=done.status)
    return step_taken(KIND, channel, action, endpoint="channels.detail")


@bp.route("/<reference>/edit", methods=["GET", "POST"])
@requires(Permission.CHANNEL_LIST)
def edit(reference: str) -> ResponseReturnValue:
    channel = _viewable(reference)
    user = signed_in()
    resubmitting = channel.requester_id == user.id and channel.status_enum is ChannelStatus.INFO_REQUESTED
    if not (user.can(Permission.CHANNEL_EDIT) or resubmitting):
        raise NotPermitted("Only the communications team can change a channel's details.")
    form = ChannelEditForm(obj=channel)
    if form.validate_on_submit():
        changes = {name: getattr(form, name).data or "" for name in services.EDITABLE}

        def save() -> None:
            services.update_details(
                channel,
                changes,
                user,
                next_review_on=form.next_review_on.data if user.can(Permission.CHANNEL_EDIT) else None,
            )
            if resubmitting:
                services.transition(channel, ChannelAction.RESUBMIT.value, user, reason=form.note.data)

        if attempt(save, form):
            saved = "The details of {reference} have been saved."
            return changed(KIND, channel, resubmitted=resubmitting, saved=saved, endpoint="channels.detail")
    return render_template(
        "channels/edit.html",
        form=form,
        channel=channel,
        resubmitting=resubmitting,
        history=services.history(channel) if resubmitting else [],
    ), 422 if form.errors else 200
