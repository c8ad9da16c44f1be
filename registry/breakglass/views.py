"""Break-glass pages: the start page (open an access), an access's page (its time left, its secrets
with reveal and code buttons, closing it, its review), and the list of every access for comms."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from wtforms.fields.choices import SelectChoice

from registry.auth.permissions import Permission, requires
from registry.breakglass import services
from registry.breakglass.forms import CloseForm, OpenForm, ReviewForm, UseForm
from registry.breakglass.kind import KIND
from registry.breakglass.models import EmergencyAccess
from registry.breakglass.workflow import CLOSE, REVIEW
from registry.vault import reveals
from registry.web import security
from registry.web.current import signed_in
from registry.web.pagination import paged
from registry.web.refusals import attempt

bp = Blueprint("breakglass", __name__, url_prefix="/break-glass")


def _start_page(form: OpenForm, status: int = 200) -> ResponseReturnValue:
    form.channel.choices = [SelectChoice("", "Choose a channel")] + [
        SelectChoice(c.reference, f"{c.display_name} ({c.platform_label}, {c.handle})")
        for c in services.channels_to_choose()
    ]
    return render_template(
        "breakglass/start.html",
        form=form,
        mine=services.of(signed_in()),
        step_up_fresh=reveals.step_up_fresh(),
        minutes=int(services.window().total_seconds() // 60),
    ), status


@bp.route("")
@requires(Permission.BREAK_GLASS_OPEN)
def start() -> ResponseReturnValue:
    return _start_page(OpenForm(formdata=None))


@bp.route("", methods=["POST"])
@requires(Permission.BREAK_GLASS_OPEN)
def open_access() -> ResponseReturnValue:
    form = OpenForm()
    if not form.validate_on_submit():
        abort(400)
    done = attempt(
        lambda: services.open_access(
            form.channel.data or "",
            form.kinds.data or [],
            form.incident_reference.data,
            form.reason.data,
            signed_in(),
        ),
        form,
    )
    if done.result is None:
        return _start_page(form, done.status)
    flash(f"Emergency access {done.result.reference} is open. The communications team has been told.", "success")
    return redirect(url_for("breakglass.access", reference=done.result.reference))


@bp.route("/all")
@requires(Permission.BREAK_GLASS_READ_ALL)
def index() -> ResponseReturnValue:
    """Every emergency access, newest first (comms and auditors)."""
    return render_template("breakglass/index.html", page=paged(services.every(), 25))


def _access_page(
    access: EmergencyAccess,
    *,
    close_form: CloseForm | None = None,
    review_form: ReviewForm | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    user = signed_in()
    own = access.requester_id == user.id
    return render_template(
        "breakglass/access.html",
        access=access,
        own=own,
        secrets=services.secrets_of(access) if own and access.is_live else [],
        uses=services.uses_under(access),
        history=KIND.history(access),
        use_form=UseForm(formdata=None),
        close_form=close_form or CloseForm(formdata=None),
        review_form=review_form or ReviewForm(formdata=None),
        can_close=KIND.can_take(user, access, CLOSE),
        can_review=KIND.can_take(user, access, REVIEW),
        four_eyes=own and user.can(Permission.BREAK_GLASS_REVIEW) and access.awaits_review,
        step_up_fresh=reveals.step_up_fresh(),
    ), status


@bp.route("/<reference>")
@requires(Permission.BREAK_GLASS_VIEW)
def access(reference: str) -> ResponseReturnValue:
    """The person who opened it, comms and auditors see an access; anyone else is told it does not exist."""
    return _access_page(KIND.visible(reference, signed_in()))


@bp.route("/<reference>/secrets/<kind>/reveal", methods=["POST"])
@requires(Permission.BREAK_GLASS_OPEN)
def reveal(reference: str, kind: str) -> ResponseReturnValue:
    if not UseForm().validate_on_submit():
        abort(400)
    # A refused reveal is itself on the record (the vault keeps it): nothing is rolled back.
    done = attempt(lambda: services.reveal(reference, kind, signed_in()), keep=True)
    if done.result is None:
        return _access_page(KIND.visible(reference, signed_in()), status=done.status)
    access, credential, value = done.result
    security.no_store()
    return render_template("breakglass/reveal.html", access=access, credential=credential, value=value)


@bp.route("/<reference>/secrets/<kind>/code", methods=["POST"])
@requires(Permission.BREAK_GLASS_OPEN)
def code(reference: str, kind: str) -> ResponseReturnValue:
    if not UseForm().validate_on_submit():
        abort(400)
    done = attempt(lambda: services.code(reference, kind, signed_in()), keep=True)
    if done.result is None:
        return _access_page(KIND.visible(reference, signed_in()), status=done.status)
    access, credential, result = done.result
    security.no_store()
    return render_template("breakglass/code.html", access=access, credential=credential, result=result)


@bp.route("/<reference>/close", methods=["POST"])
@requires(Permission.BREAK_GLASS_OPEN)
def close(reference: str) -> ResponseReturnValue:
    found = KIND.visible(reference, signed_in())
    form = CloseForm()
    if not form.validate_on_submit():
        abort(400)
    done = attempt(lambda: services.close(found, signed_in(), form.note.data), form)
    if done.result is None:
        return _access_page(KIND.visible(reference, signed_in()), close_form=form, status=done.status)
    flash(f"Emergency access {found.reference} is closed. The communications team will review it.", "success")
    return redirect(url_for("breakglass.access", reference=found.reference))


@bp.route("/<reference>/review", methods=["POST"])
@requires(Permission.BREAK_GLASS_REVIEW)
def review(reference: str) -> ResponseReturnValue:
    found = KIND.visible(reference, signed_in())
    form = ReviewForm()
    if not form.validate_on_submit():
        abort(400)
    done = attempt(lambda: services.review(found, signed_in(), form.note.data), form)
    if done.result is None:
        return _access_page(KIND.visible(reference, signed_in()), review_form=form, status=done.status)
    flash(f"The review of {found.reference} is recorded.", "success")
    return redirect(url_for("breakglass.access", reference=found.reference))
