"""Roster pages (a channel's administrators, every roster, leavers' exposure), access reviews,
and their CSV exports. The roster's JSON API is in ``registry.api.views``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from wtforms.fields.choices import SelectChoice

from registry import clock, db
from registry.auth.models import User
from registry.auth.permissions import Permission, requires
from registry.auth.sessions import signed_in_user
from registry.channels import services as channels
from registry.channels.models import Channel
from registry.roster import services
from registry.roster.forms import DecisionForm, GrantForm, ReviewForm, RevokeForm
from registry.roster.models import AccessReview, AccessReviewItem, RosterGrant
from registry.web.exports import csv_response
from registry.web.forms import ConfirmForm
from registry.web.pagination import paged
from registry.web.refusals import attempt

bp = Blueprint("roster", __name__)

ROSTER_COLUMNS = (
    "channel",
    "channel_name",
    "platform",
    "handle",
    "channel_status",
    "grant_id",
    "person_name",
    "email",
    "organisation",
    "registry_user",
    "platform_role",
    "granted_by",
    "granted_on",
    "expires_on",
    "status",
    "revoked_at",
    "revoked_by",
    "revoke_reason",
)
REVIEW_COLUMNS = (
    "review",
    "title",
    "due_on",
    "finished_at",
    "item_id",
    "channel",
    "person_name",
    "email",
    "organisation",
    "platform_role",
    "granted_on",
    "expires_on",
    "decision",
    "decided_by",
    "decided_at",
    "note",
)


def _user() -> User:
    return signed_in_user()


def _who(user: Any, *, system: str = "the system") -> str:
    return user.name if user is not None else system


def _grant_status(grant: RosterGrant) -> str:
    return "active" if grant.is_active else "ended"


def grant_row(grant: RosterGrant) -> tuple[Any, ...]:
    c = grant.channel
    return (
        c.reference,
        c.display_name,
        c.platform,
        c.handle,
        c.status,
        grant.id,
        grant.person_name,
        grant.email,
        grant.organisation or "",
        "yes" if grant.user_id else "no",
        grant.platform_role,
        _who(grant.granted_by),
        grant.granted_on,
        grant.expires_on,
        _grant_status(grant),
        grant.revoked_at,
        _who(grant.revoked_by) if grant.revoked_at else "",
        grant.revoke_reason or "",
    )


# --- a channel's roster -----------------------------------------------------------------------


def _roster_page(channel: Channel, form: GrantForm | None = None, status: int = 200) -> ResponseReturnValue:
    grants = services.grants_of(channel)
    can_manage = _user().can(Permission.ROSTER_MANAGE)
    return render_template(
        "roster/channel.html",
        channel=channel,
        active=[g for g in grants if g.is_active],
        ended=[g for g in grants if not g.is_active],
        form=form or GrantForm(formdata=None),
        can_manage=can_manage,
        can_add=can_manage and channel.status_enum not in services.NO_ROSTER_STATUSES,
        today=clock.today(),
    ), status


@bp.route("/channels/<reference>/roster")
@requires(Permission.ROSTER_READ)
def channel_roster(reference: str) -> ResponseReturnValue:
    return _roster_page(channels.get_channel(reference))


@bp.route("/channels/<reference>/roster", methods=["POST"])
@requires(Permission.ROSTER_MANAGE)
def add_grant(reference: str) -> ResponseReturnValue:
    channel = channels.get_channel(reference)
    form = GrantForm()
    if not form.validate_on_submit():
        return _roster_page(channel, form, status=422)
    done = attempt(
        lambda: services.grant(
            channel,
            email=form.email.data or "",
            name=form.name.data,
            organisation=form.organisation.data,
            platform_role=form.platform_role.data or "",
            expires_on=form.expires_on.data,
            actor=_user(),
        ),
        form,
    )
    if done.result is None:
        return _roster_page(channels.get_channel(reference), form if done.invalid else None, status=done.status)
    flash(f"{services.describe(done.result)} has been added to the roster of {channel.reference}.", "success")
    return redirect(url_for("roster.channel_roster", reference=channel.reference))


@bp.route("/channels/<reference>/roster/<int(max=2147483647):grant_id>/revoke", methods=["GET", "POST"])
@requires(Permission.ROSTER_MANAGE)
def revoke(reference: str, grant_id: int) -> ResponseReturnValue:
    channel = channels.get_channel(reference)
    grant = services.get_grant(channel, grant_id)
    form = RevokeForm()
    status = 200
    if request.method == "POST":
        done = attempt(lambda: services.revoke(grant, reason=form.reason.data or "", actor=_user()), form)
        if done:
            flash(
                f"{services.describe(grant)} has been removed from the roster of {channel.reference}. "
                "Every credential of the channel is marked as needing rotation.",
                "success",
            )
        if not done.invalid:  # done, or refused with a message above the roster
            return redirect(url_for("roster.channel_roster", reference=channel.reference))
        status = 422
        grant = services.get_grant(channels.get_channel(reference), grant_id)
    elif not grant.is_active:
        flash(f"{services.describe(grant)} was already removed from the roster.")
        return redirect(url_for("roster.channel_roster", reference=channel.reference))
    return render_template("roster/revoke.html", channel=grant.channel, grant=grant, form=form), status


# --- every roster -----------------------------------------------------------------------------


@bp.route("/roster")
@requires(Permission.ROSTER_READ)
def index() -> ResponseReturnValue:
    status = request.args.get("status", "active")
    if status not in services.GRANT_FILTERS:
        status = "active"
    expiring = db.session().execute(services.expiring().limit(50)).unique().scalars().all()
    return render_template(
        "roster/index.html",
        page=paged(services.search_grants(status), 50),
        status=status,
        expiring=expiring,
        within=services.EXPIRING_WITHIN_DAYS,
    )


@bp.route("/roster/export.csv")
@requires(Permission.ROSTER_READ)
def export() -> ResponseReturnValue:
    """Every grant, active and ended, of every channel (or of ``?channel=CH-0001``)."""
    reference = request.args.get("channel", "").strip()
    channel = channels.get_channel(reference) if reference else None
    grants = db.session().execute(services.search_grants("all", channel)).unique().scalars()
    name = f"roster-{channel.reference}.csv" if channel else "roster.csv"
    return csv_response(name, ROSTER_COLUMNS, [grant_row(g) for g in grants])


@bp.route("/roster/leavers")
@requires(Permission.ROSTER_READ)
def leavers() -> ResponseReturnValue:
    return render_template("roster/leavers.html", exposure=services.exposure_of_leavers())


# --- access reviews ---------------------------------------------------------------------------


@bp.route("/access-reviews")
@requires(Permission.ROSTER_READ)
def reviews() -> ResponseReturnValue:
    result = paged(services.reviews(), 25)
    return render_template(
        "roster/reviews.html",
        page=result,
        progress=services.progress_of(r.id for r in result.items),
        today=clock.today(),
    )


def _channel_choices(form: ReviewForm) -> list[tuple[Channel, int]]:
    available = services.reviewable_channels()
    form.channels.choices = [
        SelectChoice(
            str(c.id),
            f"{c.reference} {c.display_name} ({c.platform_label}, {c.status_label.lower()}): "
            f"{n} {'person' if n == 1 else 'people'}",
        )
        for c, n in available
    ]
    return available


@bp.route("/access-reviews/new", methods=["GET", "POST"])
@requires(Permission.REVIEW_MANAGE)
def new_review() -> ResponseReturnValue:
    form = ReviewForm()
    available = _channel_choices(form)
    refused = False
    if form.validate_on_submit():
        chosen = None
        if form.scope.data == "some":
            chosen = [int(v) for v in form.channels.data or [] if str(v).isdigit() and len(str(v)) <= 9]
        done = attempt(
            lambda: services.start_review(
                title=form.title.data or "", channel_ids=chosen, due_on=form.due_on.data, actor=_user()
            ),
            form,
        )
        if done.result is not None:
            flash(f"{done.result.reference} has started. Certify or revoke each grant below.", "success")
            return redirect(url_for("roster.review", reference=done.result.reference))
        refused = True  # nothing to review is said above the form, and the form is shown again with 422 too
    return render_template("roster/review_new.html", form=form, available=available), 422 if (
        form.errors or refused
    ) else 200


def _review_page(
    review: AccessReview, forms: dict[int, DecisionForm] | None = None, status: int = 200
) -> ResponseReturnValue:
    items = services.items_of(review)
    user = _user()
    forms = forms or {}
    can_manage = user.can(Permission.REVIEW_MANAGE) and review.finished_at is None
    if can_manage:
        for item in items:
            if item.decision is None and not services.four_eyes_blocks(item, user):
                forms.setdefault(item.id, DecisionForm(prefix=f"item-{item.id}", formdata=None))
    by_id = {item.id: item for item in items}
    for item_id, form in forms.items():
        if item_id in by_id:
            grant = by_id[item_id].grant
            form.decision.label.text = f"Decision on {services.describe(grant)}, {grant.channel.reference}"
    return render_template(
        "roster/review.html",
        review=review,
        items=items,
        progress=services.progress(review),
        overdue=services.is_overdue(review),
        forms=forms,
        can_manage=can_manage,
        finish_form=ConfirmForm(formdata=None),
        user=user,
    ), status


@bp.route("/access-reviews/<reference>")
@requires(Permission.ROSTER_READ)
def review(reference: str) -> ResponseReturnValue:
    return _review_page(services.get_review(reference))


@bp.route("/access-reviews/<reference>/items/<int(max=2147483647):item_id>", methods=["POST"])
@requires(Permission.REVIEW_MANAGE)
def decide(reference: str, item_id: int) -> ResponseReturnValue:
    found = services.get_review(reference)
    item = services.get_item(found, item_id)
    form = DecisionForm(prefix=f"item-{item_id}")
    if not form.validate_on_submit():
        return _review_page(found, {item_id: form}, status=422)
    done = attempt(lambda: services.decide(item, form.decision.data or "", form.note.data, _user()), form)
    if not done:
        return _review_page(
            services.get_review(reference), {item_id: form} if done.invalid else None, status=done.status
        )
    decided = "certified" if item.decision == "certified" else "revoked"
    flash(f"{services.describe(item.grant)} on {item.grant.channel.reference} has been {decided}.", "success")
    return redirect(url_for("roster.review", reference=found.reference))


@bp.route("/access-reviews/<reference>/finish", methods=["POST"])
@requires(Permission.REVIEW_MANAGE)
def finish_review(reference: str) -> ResponseReturnValue:
    found = services.get_review(reference)
    done = attempt(lambda: services.finish(found, _user()))
    if not done:
        return _review_page(services.get_review(reference), status=done.status)
    flash(f"{found.reference} is finished. It is kept with its decisions.", "success")
    return redirect(url_for("roster.review", reference=found.reference))


def review_row(review: AccessReview, item: AccessReviewItem) -> tuple[Any, ...]:
    g = item.grant
    return (
        review.reference,
        review.title,
        review.due_on,
        review.finished_at,
        item.id,
        g.channel.reference,
        g.person_name,
        g.email,
        g.organisation or "",
        g.platform_role,
        g.granted_on,
        g.expires_on,
        item.decision or "undecided",
        _who(item.decided_by, system="") if item.decision else "",
        item.decided_at,
        item.note or "",
    )


@bp.route("/access-reviews/<reference>/export.csv")
@requires(Permission.ROSTER_READ)
def export_review(reference: str) -> ResponseReturnValue:
    found = services.get_review(reference)
    return csv_response(
        f"{found.reference}.csv", REVIEW_COLUMNS, [review_row(found, i) for i in services.items_of(found)]
    )


# --- the JSON API -----------------------------------------------------------------------------
