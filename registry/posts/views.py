"""Promotional post pages: the list, proposing, a post's page with its decisions, changing it,
recording why findings are acceptable, and its images. The JSON API is in ``registry.posts.api``.

What only the communications team may do (decide, schedule, record as published, accept
findings) is on routes that declare ``POST_DECIDE``; the requester's withdrawal has a route of
its own that declares ``POST_REQUEST``. Every decision form carries the version of the post it
was shown, and reading a post changes nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from registry import clock
from registry.auth.permissions import Permission, requires
from registry.errors import Invalid
from registry.posts import limits, services
from registry.posts.forms import AcceptFindingsForm, ActionForm, PostForm, parse_time
from registry.posts.kind import KIND
from registry.posts.models import PromotionalPost
from registry.posts.workflow import (
    EDITABLE_STATUSES,
    TRANSITIONS,
    PostAction,
    PostStatus,
)
from registry.uploads import services as uploads
from registry.web.current import signed_in
from registry.web.forms import apply_errors
from registry.web.refusals import attempt
from registry.web.request_pages import action_forms, changed, list_page, step_taken

bp = Blueprint("posts", __name__, url_prefix="/posts")


def _channel_choices(form: PostForm, post: PromotionalPost | None = None) -> list[Any]:
    """Active channels to choose from (and, when changing a post, those it already names)."""
    offered = services.active_channels()
    if post is not None:
        known = {c.id for c in offered}
        offered += [c for c in post.channels if c.id not in known]
    form.channels.choices = [(c.reference, f"{c.display_name} ({c.platform_label}, {c.handle})") for c in offered]
    return offered


def _proposal(form: PostForm) -> services.PostProposal:
    return services.PostProposal(
        text=form.text.data or "",
        channels=tuple(form.channels.data or ()),
        wished_for=form.wished_for.data,
        reason=form.reason.data or "",
        consent_confirmed=bool(form.consent_confirmed.data),
        consent_location=form.consent_location.data or "",
    )


def _new_images(form: PostForm, slots: int) -> list[services.NewImage]:
    """What was put in the first ``slots`` image slots (a description alone is kept, to be refused)."""
    added: list[services.NewImage] = []
    for slot in range(1, slots + 1):
        file = getattr(form, f"image_{slot}").data
        alt = getattr(form, f"alt_{slot}").data or ""
        chosen = file if file is not None and file.filename else None
        if chosen is not None or alt.strip():
            added.append(services.NewImage(file=chosen, alt_text=alt, slot=slot))
    return added


def _kept_images(post: PromotionalPost) -> list[services.KeptImage]:
    return [
        services.KeptImage(
            image_id=image.id,
            alt_text=request.form.get(f"keep_{image.id}_alt", ""),
            remove=request.form.get(f"keep_{image.id}_remove") == "y",
        )
        for image in post.images
    ]


def _limits(channels: list[Any]) -> dict[str, int | None]:
    return {c.reference: limits.text_limit(c.platform) for c in channels}


def _form_page(
    template: str,
    form: PostForm,
    offered: list[Any],
    *,
    post: PromotionalPost | None = None,
    errors: dict[str, str] | None = None,
    asked: Any = None,
    refused: int = 200,
) -> ResponseReturnValue:
    errors = errors or {}
    slots = services.MAX_IMAGES - (len(post.images) if post is not None else 0)
    status = refused if refused >= 400 else 422 if (form.errors or errors or form.form_errors) else 200
    return render_template(
        template,
        form=form,
        post=post,
        channels=offered,
        limits=_limits(offered),
        text_max=limits.TEXT_MAX,
        slots=slots,
        errors=errors,
        kept_form=request.form if request.method == "POST" else None,
        asked=asked,
    ), status


def _by_hand(name: str) -> bool:
    """The fields the form page draws by hand (the kept images), not from the form."""
    return name.startswith("keep_") or name == "images"


@bp.route("")
@requires(Permission.POST_REQUEST)
def index() -> ResponseReturnValue:
    return list_page(KIND, "posts/index.html", services.PostFilters, services.search, statuses=list(PostStatus))


@bp.route("/new", methods=["GET", "POST"])
@requires(Permission.POST_REQUEST)
def new() -> ResponseReturnValue:
    form = PostForm()
    offered = _channel_choices(form)
    if request.method == "GET" and request.args.get("channel"):
        form.channels.data = [request.args["channel"]]
    errors: dict[str, str] = {}
    refused = 200
    if form.is_submitted():
        form.validate()

        def change() -> PromotionalPost:
            proposed = services.propose(_proposal(form), signed_in(), _new_images(form, services.MAX_IMAGES))
            if form.errors:  # an impossible date the service never saw as one
                raise Invalid({})
            return proposed

        done = attempt(change, form, aside=_by_hand)
        errors, refused = dict(done.aside), done.status
        post = done.result
        if post is not None:
            if post.findings:
                flash(
                    f"Your post {post.reference} has been sent to the communications team, but it may contain "
                    "patient identifiers. Check the warning below and change the post if you can.",
                )
            else:
                flash(
                    f"Your post {post.reference} has been sent to the communications team. "
                    "You will see here when they decide.",
                    "success",
                )
            return redirect(url_for("posts.detail", reference=post.reference))
    return _form_page("posts/new.html", form, offered, errors=errors, refused=refused)


def _detail_page(
    post: PromotionalPost,
    forms: dict[str, Any] | None = None,
    *,
    status: int = 200,
    url_errors: dict[str, str] | None = None,
) -> ResponseReturnValue:
    user = signed_in()
    actions = services.available_actions(user, post)
    forms = action_forms([action.value for action in actions], ActionForm, forms)
    screening_now = services.screening_now(post)  # computed: reading a post stores nothing
    can_accept = services.can_accept_findings(user, post, screening_now)
    if can_accept:
        forms.setdefault("findings", AcceptFindingsForm(prefix="findings", formdata=None))
    return render_template(
        "posts/detail.html",
        post=post,
        history=services.history(post),
        actions=[TRANSITIONS[a] for a in actions],
        forms=forms,
        url_errors=url_errors or {},
        is_requester=post.requester_id == user.id,
        editable=post.requester_id == user.id and post.status_enum in EDITABLE_STATUSES,
        can_accept=can_accept,
        screening_now=screening_now,
        limits=_limits(post.channels),
    ), status


def _viewable(reference: str) -> PromotionalPost:
    return services.get_visible(reference, signed_in())


@bp.route("/<reference>")
@requires(Permission.POST_REQUEST)
def detail(reference: str) -> ResponseReturnValue:
    return _detail_page(_viewable(reference))


@bp.route("/<reference>/images/<int(max=2147483647):image_id>")
@requires(Permission.POST_REQUEST)
def image(reference: str, image_id: int) -> ResponseReturnValue:
    """One of the post's images, for those who may see the post (a download, never run)."""
    post = _viewable(reference)
    return uploads.send(services.image_of(post, image_id).upload)


def _scheduled_for(form: ActionForm, errors: dict[str, str]) -> dt.datetime | None:
    day = form.scheduled_on.data
    time = parse_time(form.scheduled_time.data)
    if form.scheduled_on.errors:
        errors["scheduled_on"] = form.scheduled_on.errors[0]
    elif day is None:
        errors["scheduled_on"] = "Enter the date the post will be published"
    if not (form.scheduled_time.data or "").strip():
        errors["scheduled_time"] = "Enter the time the post will be published, for example 09:30"
    elif time is None:
        errors["scheduled_time"] = "Enter a real time, for example 09:30 or 2pm"
    if day is None or time is None:
        return None
    return dt.datetime.combine(day, time, tzinfo=clock.LONDON).astimezone(dt.UTC)


def _version(form: ActionForm | AcceptFindingsForm) -> int:
    """The version of the post the form was shown with; 0 (never a version) when it is missing
    or unreadable, so that the service refuses it as out of date."""
    value = (form.version.data or "").strip()
    return int(value) if value.isdigit() and len(value) <= 9 else 0


#: What the communications team does to a post from its page (``POST_DECIDE``).
COMMS_ACTIONS = ", ".join(
    a.value
    for a in (
        PostAction.APPROVE,
        PostAction.REQUEST_CHANGES,
        PostAction.REJECT,
        PostAction.SCHEDULE,
        PostAction.PUBLISH,
    )
)


@bp.route(f"/<reference>/actions/<any({COMMS_ACTIONS}):action>", methods=["POST"])
@requires(Permission.POST_DECIDE)
def decide(reference: str, action: str) -> ResponseReturnValue:
    """Approve, ask for changes, reject, schedule, or record as published (comms; four-eyes for decisions)."""
    return _act(reference, action)


@bp.route("/<reference>/actions/withdraw", methods=["POST"])
@requires(Permission.POST_REQUEST)
def withdraw(reference: str) -> ResponseReturnValue:
    """The requester withdraws their post (the service refuses anyone else)."""
    return _act(reference, PostAction.WITHDRAW.value)


def _act(reference: str, action: str) -> ResponseReturnValue:
    post = _viewable(reference)
    form = ActionForm(prefix=action)
    form.validate()
    errors: dict[str, str] = {}
    scheduled_for = _scheduled_for(form, errors) if action == PostAction.SCHEDULE.value else None
    urls = (
        {c.reference: request.form.get(f"{action}-url_{c.reference}", "") for c in post.channels}
        if action == PostAction.PUBLISH.value
        else None
    )
    # With a date or time that cannot be read, the service refuses for want of one (after
    # checking who may act and when); the form's own messages then say what is wrong.
    apply_errors(form, errors)
    done = attempt(
        lambda: services.transition(
            post,
            action,
            signed_in(),
            reason=form.reason.data,
            scheduled_for=scheduled_for,
            urls=urls,
            version=None if action == PostAction.WITHDRAW.value else _version(form),
        ),
        form,
        fields={"scheduled_for": next(iter(errors), "scheduled_on")},
        aside=lambda name: name.startswith("url_") or name == "urls",
    )
    if not done:
        forms = {action: form} if done.invalid else {}
        return _detail_page(services.get_post(reference), forms, status=done.status, url_errors=dict(done.aside))
    return step_taken(KIND, post, action, endpoint="posts.detail")


@bp.route("/<reference>/findings", methods=["POST"])
@requires(Permission.POST_DECIDE)
def accept_findings(reference: str) -> ResponseReturnValue:
    post = _viewable(reference)
    form = AcceptFindingsForm(prefix="findings")
    form.validate()
    done = attempt(
        lambda: services.accept_findings(post, signed_in(), form.acceptance.data, version=_version(form)), form
    )
    if not done:
        forms = {"findings": form} if done.invalid else {}
        return _detail_page(services.get_post(reference), forms, status=done.status)
    flash(f"Why the findings in {post.reference} are acceptable has been recorded. It can now be approved.", "success")
    return redirect(url_for("posts.detail", reference=post.reference))


@bp.route("/<reference>/edit", methods=["GET", "POST"])
@requires(Permission.POST_REQUEST)
def edit(reference: str) -> ResponseReturnValue:
    post = _viewable(reference)
    user = signed_in()
    services.check_editable(post, user)
    resubmitting = post.status_enum is PostStatus.CHANGES_REQUESTED
    form = PostForm(obj=None if request.method == "POST" else post)
    offered = _channel_choices(form, post)
    if request.method == "GET":
        form.channels.data = [c.reference for c in post.channels]
        form.consent_confirmed.data = False
    errors: dict[str, str] = {}
    refused = 200
    if form.is_submitted():
        form.validate()

        def change() -> PromotionalPost:
            revised = services.revise(
                post,
                _proposal(form),
                user,
                kept=_kept_images(post),
                added=_new_images(form, services.MAX_IMAGES - len(post.images)),
                note=form.note.data if resubmitting else None,
            )
            if form.errors:
                raise Invalid({})
            return revised

        done = attempt(change, form, aside=_by_hand)
        errors, refused = dict(done.aside), done.status
        if done:
            saved = "Your changes to {reference} have been saved."
            return changed(KIND, post, resubmitted=resubmitting, saved=saved, endpoint="posts.detail")
        post = services.get_post(reference)
    asked = next((step for step in reversed(services.history(post)) if step.action == PostAction.REQUEST_CHANGES), None)
    return _form_page("posts/edit.html", form, offered, post=post, errors=errors, asked=asked, refused=refused)
