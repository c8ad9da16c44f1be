"""Breach report pages: report a breach, the list of cases one may see, a case (every view
audited), routing by comms, the line manager's decision and flag, HR's outcome, and the
evidence files. No page under ``/breaches`` may be kept by any cache."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from wtforms.fields.choices import SelectChoice

from registry import db
from registry.auth.models import User
from registry.auth.permissions import Permission, requires
from registry.breaches import clauses, services
from registry.breaches.forms import (
    DecisionForm,
    FlagForm,
    OutcomeForm,
    ReportForm,
    RoutingForm,
)
from registry.breaches.kind import KIND
from registry.breaches.models import BreachReport
from registry.breaches.workflow import (
    LIFECYCLE,
    MANAGER_DECISIONS,
    ROUTING_DECISIONS,
    TRANSITIONS,
    BreachAction,
    BreachStatus,
)
from registry.uploads import services as uploads
from registry.web import security
from registry.web.current import signed_in
from registry.web.forms import apply_errors
from registry.web.pagination import Page, page_args, paged
from registry.web.refusals import Attempt, attempt
from registry.web.request_pages import send_new

bp = Blueprint("breaches", __name__, url_prefix="/breaches")

#: Cases waiting for the person shown on the list page, oldest first; the rest are a link away.
WAITING_SHOWN = 10


@bp.before_request
def _never_cached() -> None:
    security.no_store()


# --- the list -----------------------------------------------------------------------------------


@bp.route("")
@requires(Permission.BREACH_REPORT)
def index() -> ResponseReturnValue:
    """The cases the person may see: their own reports and, by their roles, those they handle."""
    user = signed_in()
    state = request.args.get("state", "")
    state = state if state in services.FILTERS else ""
    # The oldest few only: a handler with hundreds of cases waiting has a page of them all (waiting).
    waiting, waiting_total = services.waiting_slice(user, 0, WAITING_SHOWN)
    return render_template(
        "breaches/index.html",
        page=paged(services.search(user, state), 25),
        state=state,
        filters=services.FILTERS,
        waiting=waiting,
        waiting_total=waiting_total,
        handles=services.handles_any(user),
        in_full=lambda report: KIND.sees_in_full(user, report),
    )


@bp.route("/waiting")
@requires(Permission.BREACH_REPORT)
def waiting() -> ResponseReturnValue:
    """Every case waiting for the person, a page at a time (the list page shows the oldest few)."""
    page, per_page = page_args(25)
    items, total = services.waiting_slice(signed_in(), (page - 1) * per_page, per_page)
    return render_template("breaches/waiting.html", page=Page(items, total, page, per_page))


# --- reporting ----------------------------------------------------------------------------------


def _answers(form: ReportForm) -> services.BreachAnswers:
    return services.BreachAnswers(
        account=form.account.data or "",
        link=form.link.data or "",
        description=form.description.data or "",
        clauses=tuple(form.clauses.data or ()),
        reputational_risk=form.reputational_risk.answer,
        subject_kind=form.subject_kind.data or "",
        subject_user=form.subject_user.data or "",
        subject_name=form.subject_name.data or "",
    )


@bp.route("/new", methods=["GET", "POST"])
@requires(Permission.BREACH_REPORT)
def new() -> ResponseReturnValue:
    form = ReportForm()
    sent = send_new(
        form,
        lambda: services.report_breach(_answers(form), form.evidence.data or [], signed_in()),
        endpoint="breaches.detail",
        sent="Your report {reference} has been sent. Thank you for raising it. "
        "You can see here whether it is still being looked into.",
        files=(form.evidence, "evidence file", "evidence {n} files"),
        kind=KIND,
    )
    if sent is not None:
        return sent
    return render_template(
        "breaches/new.html",
        form=form,
        clauses=clauses.breachable(),
        summary=clauses.summary,
        rest=clauses.rest,
        version=clauses.policy_version(),
    ), 422 if form.errors else 200


# --- one case -----------------------------------------------------------------------------------


def _routing_form(report: BreachReport, formdata: Any = None) -> RoutingForm:
    form = RoutingForm(formdata=formdata, prefix="routing")
    form.manager.choices = [SelectChoice("", "Choose a line manager")] + [
        SelectChoice(str(person.id), f"{person.name} ({person.email})")
        for person in services.routing_candidates(report)
    ]
    return form


def _detail_page(
    report: BreachReport,
    *,
    routing: RoutingForm | None = None,
    decision: DecisionForm | None = None,
    outcome: OutcomeForm | None = None,
    flagging: FlagForm | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    user = signed_in()
    full = KIND.sees_in_full(user, report)
    services.record_view(report, user)
    if status >= 400:
        db.keep_on_error()  # the refused action changed nothing, but the case was seen
    forms: dict[str, Any] = {}
    if full:
        if any(services.can_take(user, report, a) for a in ROUTING_DECISIONS):
            forms["routing"] = routing or _routing_form(report)
        if any(services.can_take(user, report, a) for a in MANAGER_DECISIONS):
            forms["decision"] = decision or DecisionForm(formdata=None, prefix="decision")
        if services.can_take(user, report, BreachAction.OUTCOME):
            forms["outcome"] = outcome or OutcomeForm(formdata=None, prefix="outcome")
        if services.can_flag(user, report):
            forms["flagging"] = flagging or FlagForm(formdata=None, prefix="flag")
    return render_template(
        "breaches/detail.html",
        report=report,
        full=full,
        history=KIND.history(report) if full else [],
        evidence=KIND.files(report),
        transitions=TRANSITIONS,
        routing_decisions=ROUTING_DECISIONS,
        manager_decisions=MANAGER_DECISIONS,
        own=report.reporter_id == user.id,
        four_eyes=_four_eyes_note(user, report),
        stranded=full and services.stranded(report),
        **forms,
    ), status


def _four_eyes_note(user: User, report: BreachReport) -> str | None:
    """Why someone who would otherwise act on the case may not."""
    if (
        report.status_enum is BreachStatus.WITH_HR
        and user.can(Permission.BREACH_HR)
        and report.reporter_id != user.id
        and not services.can_take(user, report, BreachAction.OUTCOME)
    ):
        return (
            "You were this report's line manager or escalated it, so another member of HR must record the "
            "outcome (four-eyes rule)."
        )
    if report.reporter_id != user.id or not report.is_open:
        return None
    if report.status_enum is BreachStatus.TO_ROUTE and user.can(Permission.BREACH_ROUTE):
        return "You made this report, so another member of the communications team must route it (four-eyes rule)."
    if report.status_enum is BreachStatus.WITH_HR and user.can(Permission.BREACH_HR):
        return "You made this report, so another member of HR must record the outcome (four-eyes rule)."
    return None


@bp.route("/<reference>")
@requires(Permission.BREACH_REPORT)
def detail(reference: str) -> ResponseReturnValue:
    return _detail_page(KIND.visible(reference, signed_in()))


def _after(report: BreachReport, message: str) -> ResponseReturnValue:
    flash(message, "success")
    if KIND.can_view(signed_in(), report):
        return redirect(url_for("breaches.detail", reference=report.reference))
    return redirect(url_for("breaches.index"))


def _again(reference: str, done: Attempt[Any], **form: Any) -> ResponseReturnValue:
    """The case's page after a refused action: with the form and its errors (422), or with the
    refusal at the top and the forms as they were (409)."""
    if done.invalid:
        return _detail_page(KIND.get(reference), status=422, **form)
    return _detail_page(KIND.visible(reference, signed_in()), status=done.status)


@bp.route("/<reference>/routing", methods=["POST"])
@requires(Permission.BREACH_ROUTE)
def route(reference: str) -> ResponseReturnValue:
    """The communications team send a case to a line manager, or close it as no matter for one."""
    report = KIND.visible(reference, signed_in())
    form = _routing_form(report, request.form)
    chosen = form.decision.data or ""
    if chosen not in LIFECYCLE.by_action:
        apply_errors(form, {"decision": "Choose whether to send it to a line manager or close it"})
        return _detail_page(report, routing=form, status=422)
    routing = chosen == BreachAction.ROUTE.value
    done = attempt(
        lambda: services.take(
            report, chosen, signed_in(), note=form.note.data, manager_id=form.manager_id() if routing else None
        ),
        form,
    )
    if done.result is None:
        return _again(reference, done, routing=form)
    to = f" to {done.result.manager.name}" if done.result.manager and routing else ""
    return _after(done.result, f"{done.result.reference} has been {TRANSITIONS[BreachAction(chosen)].done}{to}.")


@bp.route("/<reference>/decision", methods=["POST"])
@requires(Permission.BREACH_MANAGE)
def decide(reference: str) -> ResponseReturnValue:
    """The line manager resolves the case informally, escalates it to HR, or hands it back."""
    report = KIND.visible(reference, signed_in())
    form = DecisionForm(prefix="decision")
    chosen = form.decision.data or ""
    if chosen not in {a.value for a in MANAGER_DECISIONS}:
        apply_errors(
            form, {"decision": "Choose whether you resolved it, are escalating it to HR, or are handing it back"}
        )
        if not (form.note.data or "").strip():
            apply_errors(form, {"note": "Give the details"})
        return _detail_page(report, decision=form, status=422)
    done = attempt(lambda: services.take(report, chosen, signed_in(), note=form.note.data), form)
    if done.result is None:
        return _again(reference, done, decision=form)
    return _after(done.result, f"{done.result.reference} has been {TRANSITIONS[BreachAction(chosen)].done}.")


@bp.route("/<reference>/flag", methods=["POST"])
@requires(Permission.BREACH_MANAGE)
def flag(reference: str) -> ResponseReturnValue:
    """The line manager flags the case as a risk to the Trust's reputation (policy 9.3)."""
    report = KIND.visible(reference, signed_in())
    form = FlagForm(prefix="flag")
    done = attempt(lambda: services.flag(report, signed_in(), note=form.note.data), form)
    if done.result is None:
        return _again(reference, done, flagging=form)
    return _after(
        done.result,
        f"{done.result.reference} has been flagged as a reputational risk: the communications team have been told.",
    )


@bp.route("/<reference>/outcome", methods=["POST"])
@requires(Permission.BREACH_HR)
def outcome(reference: str) -> ResponseReturnValue:
    """HR record the outcome of an escalated case, which closes it."""
    report = KIND.visible(reference, signed_in())
    form = OutcomeForm(prefix="outcome")
    done = attempt(lambda: services.take(report, BreachAction.OUTCOME.value, signed_in(), note=form.note.data), form)
    if done.result is None:
        return _again(reference, done, outcome=form)
    return _after(done.result, f"{done.result.reference} has been {TRANSITIONS[BreachAction.OUTCOME].done}.")


@bp.route("/<reference>/evidence/<int(max=2147483647):upload_id>")
@requires(Permission.BREACH_REPORT)
def evidence(reference: str, upload_id: int) -> ResponseReturnValue:
    """An evidence file, as a download, to those who may see the case (audited as a view)."""
    user = signed_in()
    report = KIND.visible(reference, user)
    upload = KIND.file(report, upload_id)
    services.record_view(report, user, evidence=upload_id)
    return uploads.send(upload)
