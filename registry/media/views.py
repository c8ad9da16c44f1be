"""Media contact pages: the list, logging an approach, an approach's page with its triage,
and its screenshots. The JSON API is in ``registry.media.api``."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from registry import clock
from registry.auth.permissions import Permission, requires
from registry.channels.platforms import PLATFORMS
from registry.media import services
from registry.media.forms import MediaContactForm, TriageForm
from registry.media.kind import KIND
from registry.media.models import MediaContact
from registry.media.workflow import (
    FILTER_LABELS,
    FILTER_VALUES,
    NOTE,
)
from registry.posts.forms import parse_time
from registry.uploads import services as uploads
from registry.web.current import signed_in
from registry.web.forms import apply_errors
from registry.web.refusals import attempt
from registry.web.request_pages import list_page, send_new, step_taken

bp = Blueprint("media", __name__, url_prefix="/media-contacts")


# --- the list -------------------------------------------------------------------------------------


@bp.route("")
@requires(Permission.MEDIA_CONTACT_REPORT)
def index() -> ResponseReturnValue:
    """Every approach for comms and auditors; one's own for everyone else."""
    return list_page(
        KIND,
        "media/index.html",
        services.MediaFilters,
        services.search,
        statuses=FILTER_VALUES,
        labels=FILTER_LABELS,
        platforms=PLATFORMS,
    )


# --- logging an approach ----------------------------------------------------------------------------


def _moment(
    form: MediaContactForm, day_field: str, time_field: str, errors: dict[str, str], *, required: bool, what: str
) -> dt.datetime | None:
    """A UK date and time from a date input and a time box (None when both are empty and optional)."""
    day_input = getattr(form, day_field)
    raw_time = (getattr(form, time_field).data or "").strip()
    time = parse_time(raw_time)
    if day_input.errors:
        errors[day_field] = day_input.errors[0]
    elif day_input.data is None and (required or raw_time):
        errors[day_field] = f"Enter the date {what}"
    if not raw_time and (required or day_input.data is not None):
        errors[time_field] = f"Enter the time {what}, for example 09:30"
    elif raw_time and time is None:
        errors[time_field] = "Enter a real time, for example 09:30 or 2pm"
    if day_input.data is None or time is None:
        return None
    return dt.datetime.combine(day_input.data, time, tzinfo=clock.LONDON).astimezone(dt.UTC)


#: The service's field names and the form's fields that show their errors.
_ON_FORM = {"contacted_at": "contacted_on", "deadline_at": "deadline_on"}


@bp.route("/new", methods=["GET", "POST"])
@requires(Permission.MEDIA_CONTACT_REPORT)
def new() -> ResponseReturnValue:
    form = MediaContactForm()

    def log() -> MediaContact:
        errors: dict[str, str] = {}
        contacted = _moment(form, "contacted_on", "contacted_time", errors, required=True, what="they contacted you")
        deadline = _moment(form, "deadline_on", "deadline_time", errors, required=False, what="of their deadline")
        approach = services.Approach(
            platform=form.platform.data or "",
            outlet=form.outlet.data or "",
            journalist=form.journalist.data or "",
            contacted_at=contacted,
            deadline_at=deadline,
            enquiry=form.enquiry.data or "",
            link=form.link.data or "",
            not_responded=bool(form.not_responded.data),
        )
        # The form's own reading of a date or time says more than "enter the date".
        apply_errors(form, {name: message for name, message in errors.items() if not form._fields[name].errors})
        return services.log_approach(approach, form.screenshots.data or [], signed_in(), known_errors=errors)

    sent = send_new(
        form,
        log,
        endpoint="media.detail",
        sent="{reference} has been sent to the communications team. Do not respond to the "
        "journalist until they have advised you.",
        files=(form.screenshots, "screenshot", "{n} screenshots"),
        kind=KIND,
        fields=_ON_FORM,
    )
    if sent is not None:
        return sent
    return render_template("media/new.html", form=form), 422 if form.errors or form.form_errors else 200


# --- one approach ------------------------------------------------------------------------------------


def _detail_page(contact: MediaContact, *, triage: TriageForm | None = None, status: int = 200) -> ResponseReturnValue:
    user = signed_in()
    choices = KIND.offered(user, contact)
    form = triage
    if form is None and choices:
        form = TriageForm(formdata=None)
    if form is not None:
        form.action.choices = [c for c in form.action.choices if c.value in choices]
    return render_template(
        "media/detail.html",
        contact=contact,
        history=services.history(contact, user),
        evidence=services.evidence_of(contact),
        everyone=services.sees_everything(user),
        triage=form,
        four_eyes=user.can(Permission.MEDIA_CONTACT_TRIAGE) and contact.reporter_id == user.id and contact.is_open,
    ), status


@bp.route("/<reference>")
@requires(Permission.MEDIA_CONTACT_REPORT)
def detail(reference: str) -> ResponseReturnValue:
    return _detail_page(services.visible_contact(reference, signed_in()))


@bp.route("/<reference>/triage", methods=["POST"])
@requires(Permission.MEDIA_CONTACT_TRIAGE)
def triage(reference: str) -> ResponseReturnValue:
    contact = services.visible_contact(reference, signed_in())
    form = TriageForm()
    chosen = form.action.data or ""
    done = attempt(
        lambda: services.triage(contact, chosen, signed_in(), advice=form.advice.data, note=form.note.data), form
    )
    if not done:
        return _detail_page(services.get_contact(reference), triage=form if done.invalid else None, status=done.status)
    if chosen != NOTE:
        return step_taken(KIND, contact, chosen, endpoint="media.detail")
    flash("Your note has been added.", "success")
    return redirect(url_for("media.detail", reference=contact.reference))


@bp.route("/<reference>/screenshots/<int(max=2147483647):upload_id>")
@requires(Permission.MEDIA_CONTACT_REPORT)
def screenshot(reference: str, upload_id: int) -> ResponseReturnValue:
    """A screenshot of the approach, only to those who may see it, as a download."""
    contact = services.visible_contact(reference, signed_in())
    return uploads.send(services.evidence_file(contact, upload_id))
