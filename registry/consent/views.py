"""Logo and lozenge consent pages: ask, decide, change and resubmit, withdraw, the consent
letter (printable, and as a PDF where fpdf2 is installed), artwork files, the register
and its CSV, and the NHS identity checklist. The JSON API is in ``registry.consent.api``."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from wtforms.fields.choices import SelectChoice

from registry import clock, db
from registry.auth.permissions import Permission, requires
from registry.clock import LONDON
from registry.consent import letter as letters
from registry.consent import services
from registry.consent.forms import (
    ChecklistItemForm,
    ConsentDetailsForm,
    ConsentEditForm,
    ConsentRequestForm,
    DecisionForm,
    WithdrawForm,
)
from registry.consent.kind import KIND
from registry.consent.models import LogoConsent
from registry.consent.workflow import (
    DECISIONS,
    SHOWN_STATUSES,
    STATUS_LABELS,
    TRANSITIONS,
    Asset,
    ConsentAction,
    ConsentStatus,
    Medium,
)
from registry.errors import NotFound
from registry.uploads import services as uploads
from registry.web.current import signed_in
from registry.web.exports import csv_response
from registry.web.forms import ask_to_choose_again
from registry.web.refusals import attempt
from registry.web.request_pages import list_page, send_new, step_taken

bp = Blueprint("consent", __name__, url_prefix="/consents")
NO_PDF = "PDF consent letters are not available on this server. Open the letter and print it instead."


def _answers(form: ConsentDetailsForm) -> services.ConsentRequest:
    return services.ConsentRequest(
        title=form.title.data or "",
        department=form.department.data or "",
        asset=form.asset.data or "",
        purpose=form.purpose.data or "",
        media=tuple(form.media.data or ()),
        audience=form.audience.data or "",
        partner_involved=form.partner_involved.answer,
        partner_name=form.partner_name.data or "",
        starts_on=form.starts_on.data,
        ends_on=form.ends_on.data,
    )


# --- the register -------------------------------------------------------------------------------


def _filters() -> services.ConsentFilters:
    return services.ConsentFilters.parse(request.args, strict=False)


@bp.route("")
@requires(Permission.CONSENT_REQUEST)
def register() -> ResponseReturnValue:
    """Every consent request for comms and auditors; one's own for everyone else."""
    return list_page(
        KIND,
        "consent/register.html",
        services.ConsentFilters,
        services.search,
        statuses=SHOWN_STATUSES,
        labels=STATUS_LABELS,
        assets=list(Asset),
        media=list(Medium),
        today=clock.today(),
    )


@bp.route("/export.csv")
@requires(Permission.CONSENT_READ_ALL)
def export() -> ResponseReturnValue:
    filters = _filters()
    today = clock.today()
    consents = db.session().execute(services.search(filters, signed_in(), today=today)).scalars().all()
    rows = [services.export_row(c, today) for c in consents]
    services.record_export(signed_in(), filters, len(rows))
    return csv_response("logo-consents.csv", services.EXPORT_COLUMNS, rows)


# --- asking -------------------------------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
@requires(Permission.CONSENT_REQUEST)
def new() -> ResponseReturnValue:
    form = ConsentRequestForm()
    sent = send_new(
        form,
        lambda: services.request_consent(_answers(form), form.artwork.data or [], signed_in()),
        endpoint="consent.detail",
        sent="Your request {reference} has been sent to the communications team. You will be told when they decide.",
        files=(form.artwork, "artwork file", "artwork {n} files"),
        kind=KIND,
    )
    if sent is not None:
        return sent
    return render_template(
        "consent/new.html", form=form, checklist=services.active_checklist()
    ), 422 if form.errors else 200


# --- one request --------------------------------------------------------------------------------


def _decision_form(formdata: Any = None) -> DecisionForm:
    form = DecisionForm(formdata=formdata) if formdata is not None else DecisionForm(formdata=None)
    form.checked.choices = [SelectChoice(item.id, item.text) for item in services.active_checklist()]
    return form


def _detail_page(
    consent: LogoConsent,
    *,
    decision: DecisionForm | None = None,
    withdrawal: WithdrawForm | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    user = signed_in()
    steps = services.history(consent)
    offered = [TRANSITIONS[a] for a in DECISIONS if services.can_take(user, consent, a)]
    decision = decision or (_decision_form() if offered else None)
    decided = services.last_decision(steps)
    return render_template(
        "consent/detail.html",
        consent=consent,
        today=clock.today(),
        history=steps,
        artwork=services.artwork_of(consent),
        decision=decision,
        decisions=offered or [TRANSITIONS[a] for a in DECISIONS],
        default_expiry=services.default_expiry(consent),
        withdrawal=withdrawal
        or (
            WithdrawForm(prefix="withdraw", formdata=None)
            if services.can_take(user, consent, ConsentAction.WITHDRAW)
            else None
        ),
        can_resubmit=services.can_take(user, consent, ConsentAction.RESUBMIT),
        changes_asked=services.last_step(steps, ConsentAction.REQUEST_CHANGES),
        decided=decided,
        checks=services.checks_of(decided),
        four_eyes=user.can(Permission.CONSENT_DECIDE)
        and consent.requester_id == user.id
        and consent.status_enum is ConsentStatus.SUBMITTED,
        pdf=letters.pdf_available(),
    ), status


def _moved(consent: LogoConsent, reference: str) -> ResponseReturnValue | None:
    """A page asked for by another name than the consent's own (its request reference once approved,
    or in other letters): moved permanently to the address under its own name."""
    if reference == consent.shown_reference or request.endpoint is None:
        return None
    # The query string goes on as it came: never through url_for, which reads "_external", "_scheme"… as its own.
    address = url_for(request.endpoint, **{**(request.view_args or {}), "reference": consent.shown_reference})
    query = request.query_string.decode("ascii", "replace")
    return redirect(f"{address}?{query}" if query else address, 301)


@bp.route("/<reference>")
@requires(Permission.CONSENT_REQUEST)
def detail(reference: str) -> ResponseReturnValue:
    consent = services.visible_consent(reference, signed_in())
    return _moved(consent, reference) or _detail_page(consent)


@bp.route("/<reference>/decision", methods=["POST"])
@requires(Permission.CONSENT_DECIDE)
def decide(reference: str) -> ResponseReturnValue:
    consent = services.visible_consent(reference, signed_in())
    form = _decision_form(request.form)
    form.validate()
    chosen = form.decision.data or ""
    approving = chosen in (ConsentAction.APPROVE.value, ConsentAction.APPROVE_WITH_CONDITIONS.value)
    if approving and form.expires_on.errors:  # an impossible date: never fall back to the default
        return _detail_page(consent, decision=form, status=422)
    # The conditional fields of the other decisions are hidden, not cleared: only this one's count.
    done = attempt(
        lambda: services.decide(
            consent,
            chosen,
            signed_in(),
            note=form.note.data,
            conditions=form.conditions.data if chosen == ConsentAction.APPROVE_WITH_CONDITIONS.value else None,
            expires_on=form.expires_on.data if approving else None,
            checked=form.checked.data or [],
        ),
        form,
    )
    if not done:
        return _detail_page(
            services.get_consent(reference), decision=form if done.invalid else None, status=done.status
        )
    return step_taken(KIND, consent, chosen, endpoint="consent.detail")


@bp.route("/<reference>/withdraw", methods=["POST"])
@requires(Permission.CONSENT_REQUEST)
def withdraw(reference: str) -> ResponseReturnValue:
    consent = services.visible_consent(reference, signed_in())
    form = WithdrawForm(prefix="withdraw")
    done = attempt(lambda: services.withdraw(consent, signed_in(), note=form.note.data), form)
    if not done:
        return _detail_page(
            services.get_consent(reference), withdrawal=form if done.invalid else None, status=done.status
        )
    flash(f"{consent.shown_reference} has been withdrawn.", "success")
    return redirect(url_for("consent.detail", reference=consent.shown_reference))


@bp.route("/<reference>/edit", methods=["GET", "POST"])
@requires(Permission.CONSENT_REQUEST)
def edit(reference: str) -> ResponseReturnValue:
    """The requester changes the request as comms asked, then resubmits it."""
    user = signed_in()
    consent = services.visible_consent(reference, user)
    if request.method == "GET" and (moved := _moved(consent, reference)):
        return moved
    if not services.can_take(user, consent, ConsentAction.RESUBMIT):
        # Says why: not theirs, or not waiting on their changes.
        KIND.check(user, consent, TRANSITIONS[ConsentAction.RESUBMIT])
    artwork = [a for a in services.artwork_of(consent) if a.is_current]
    if request.method == "POST":
        form = ConsentEditForm()
    else:
        answers = services.ConsentRequest.of(consent)
        form = ConsentEditForm(
            formdata=None,
            data={
                "title": answers.title,
                "department": answers.department,
                "asset": answers.asset,
                "purpose": answers.purpose,
                "media": list(answers.media),
                "audience": answers.audience,
                "partner_involved": "yes" if answers.partner_involved else "no",
                "partner_name": answers.partner_name,
                "starts_on": answers.starts_on,
                "ends_on": answers.ends_on,
            },
        )
    form.remove_artwork.choices = [SelectChoice(a.upload_id, a.upload.original_name) for a in artwork]
    refused = 200
    if form.is_submitted():
        form.validate()
        done = attempt(
            lambda: services.resubmit(
                consent,
                _answers(form),
                user,
                add_artwork=form.artwork.data or [],
                remove_artwork=form.remove_artwork.data or [],
                note=form.note.data,
            ),
            form,
        )
        if done:
            flash(f"{consent.shown_reference} has been changed and resubmitted to the communications team.", "success")
            return redirect(url_for("consent.detail", reference=consent.shown_reference))
        refused = done.status
        ask_to_choose_again(form, form.artwork, "artwork file", "artwork {n} files")
    steps = services.history(consent)
    return render_template(
        "consent/edit.html",
        form=form,
        consent=consent,
        changes_asked=services.last_step(steps, ConsentAction.REQUEST_CHANGES),
    ), 409 if refused == 409 else 422 if form.errors else 200


@bp.route("/<reference>/files/<int(max=2147483647):upload_id>")
@requires(Permission.CONSENT_REQUEST)
def artwork(reference: str, upload_id: int) -> ResponseReturnValue:
    """An artwork file, only to those who may see the request, as a download."""
    consent = services.visible_consent(reference, signed_in())
    return uploads.send(services.artwork_file(consent, upload_id))


# --- the consent letter -------------------------------------------------------------------------


def _letter(reference: str) -> tuple[LogoConsent, letters.Letter]:
    consent = services.visible_consent(reference, signed_in())
    if not consent.is_approved:
        raise NotFound(
            f"{consent.request_reference} is {consent.status_enum.phrase}: "
            "a consent letter exists only once the request is approved."
        )
    assert consent.decided_at is not None
    letter = letters.letter_for(
        consent,
        trust_name=current_app.extensions["registry.settings"].trust_name,
        today=clock.today(),
        decided_on=consent.decided_at.astimezone(LONDON).date(),
    )
    return consent, letter


@bp.route("/<reference>/letter")
@requires(Permission.CONSENT_REQUEST)
def letter(reference: str) -> ResponseReturnValue:
    consent, content = _letter(reference)
    if moved := _moved(consent, reference):
        return moved
    return render_template("consent/letter.html", consent=consent, letter=content, pdf=letters.pdf_available())


@bp.route("/<reference>/letter.pdf")
@requires(Permission.CONSENT_REQUEST)
def letter_pdf(reference: str) -> ResponseReturnValue:
    _consent, content = _letter(reference)
    if not letters.pdf_available():
        raise NotFound(NO_PDF)
    response = Response(letters.render_pdf(content), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{content.reference}.pdf"'
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# --- the NHS identity checklist -----------------------------------------------------------------


def _checklist_page(
    add: ChecklistItemForm | None = None, reword: dict[int, ChecklistItemForm] | None = None, status: int = 200
) -> ResponseReturnValue:
    items = services.checklist()
    forms = reword or {}
    for item in items:
        if item.is_active and item.id not in forms:
            forms[item.id] = ChecklistItemForm(prefix=f"item-{item.id}", formdata=None, data={"text": item.text})
    return render_template(
        "consent/checklist.html",
        items=items,
        forms=forms,
        add=add or ChecklistItemForm(formdata=None),
    ), status


@bp.route("/checklist")
@requires(Permission.CONSENT_CHECKLIST_MANAGE)
def checklist() -> ResponseReturnValue:
    return _checklist_page()


@bp.route("/checklist", methods=["POST"])
@requires(Permission.CONSENT_CHECKLIST_MANAGE)
def add_checklist_item() -> ResponseReturnValue:
    form = ChecklistItemForm()
    done = attempt(lambda: services.add_checklist_item(form.text.data, signed_in()), form)
    if done.result is None:
        return _checklist_page(add=form, status=done.status)
    flash(f'"{done.result.text}" has been added to the checklist.', "success")
    return redirect(url_for("consent.checklist"))


@bp.route("/checklist/<int(max=2147483647):item_id>", methods=["POST"])
@requires(Permission.CONSENT_CHECKLIST_MANAGE)
def reword_checklist_item(item_id: int) -> ResponseReturnValue:
    item = services.get_checklist_item(item_id)
    form = ChecklistItemForm(prefix=f"item-{item_id}")
    done = attempt(lambda: services.reword_checklist_item(item, form.text.data, signed_in()), form)
    if not done:
        return _checklist_page(reword={item_id: form} if done.invalid else None, status=done.status)
    flash("The checklist item has been reworded." if done.result else "The wording was already the same.", "success")
    return redirect(url_for("consent.checklist"))


@bp.route("/checklist/<int(max=2147483647):item_id>/retire", methods=["POST"])
@requires(Permission.CONSENT_CHECKLIST_MANAGE)
def retire_checklist_item(item_id: int) -> ResponseReturnValue:
    item = services.get_checklist_item(item_id)
    done = attempt(lambda: services.retire_checklist_item(item, signed_in()))
    if not done:
        return _checklist_page(status=done.status)
    flash(f'"{item.text}" has been retired from the checklist.', "success")
    return redirect(url_for("consent.checklist"))
