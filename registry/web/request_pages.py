"""The pages every kind of request has, drawn one way: its list, sending a new one, the forms of
the steps its page offers, and what follows a step.

A kind's view names what differs (its template, its filters and search, its service call, what
the person is told); reading the filters, paging, refusing, telling and opening the request's
page happen here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from sqlalchemy import Select
from wtforms import Field

from registry import db
from registry.auth.models import User
from registry.lifecycle.filters import Filters
from registry.lifecycle.kind import RequestKind
from registry.web.current import signed_in
from registry.web.forms import ask_to_choose_again
from registry.web.pagination import paged
from registry.web.refusals import attempt

F = TypeVar("F", bound=Filters)
R = TypeVar("R", bound=db.Base)
Form = TypeVar("Form", bound=FlaskForm)

#: How many requests a list page shows at a time.
PER_PAGE = 25


def list_page(
    kind: RequestKind[Any],
    template: str,
    filters_type: type[F],
    search: Callable[[F, User], Select[Any]],
    **context: Any,
) -> ResponseReturnValue:
    """A page of the ``kind``'s requests the signed-in person may see that match the filters in
    the query string (a value the filter does not take is ignored: the list is not filtered by
    it); ``everyone`` tells the page whether they see every request of the kind or their own."""
    user = signed_in()
    filters = filters_type.parse(request.args, strict=False)
    return render_template(
        template,
        page=paged(search(filters, user), PER_PAGE),
        filters=filters,
        everyone=kind.sees_everything(user),
        **context,
    )


def send_new(
    form: FlaskForm,
    send: Callable[[], R],
    *,
    endpoint: str,
    sent: str,
    files: tuple[Field, str, str],
    kind: RequestKind[R],
    fields: Mapping[str, str] | None = None,
) -> ResponseReturnValue | None:
    """Send a new request from its submitted form: ``send`` runs after the form's own checks, and
    a refusal puts its messages on the form. Once sent, the person is told ``sent`` (with
    ``{reference}``, the ``kind``'s reference of it) and taken to its page (``endpoint``);
    otherwise, if they had chosen files, they are asked to choose them again (``files``: the
    field and its words, as :func:`ask_to_choose_again` takes them). None: the view draws the
    form again (422 with errors)."""
    if not form.is_submitted():
        return None
    form.validate()
    done = attempt(send, form, fields=fields)
    if done.result is None:
        ask_to_choose_again(form, *files)
        return None
    known = kind.reference_of(done.result)
    flash(sent.format(reference=known), "success")
    return redirect(url_for(endpoint, reference=known))


def action_forms(
    actions: Iterable[str], form_type: Callable[..., Form], given: dict[str, Form] | None = None
) -> dict[str, Form]:
    """A form for each step the request's page offers, under the step's action (its prefix too):
    the ``given`` ones (sent back with their errors) as they are, an empty one for each other."""
    forms = given or {}
    for action in actions:
        forms.setdefault(action, form_type(prefix=action, formdata=None))
    return forms


def step_taken(kind: RequestKind[R], request: R, action: str, *, endpoint: str) -> ResponseReturnValue:
    """After a step of the request's lifecycle: say what was done to it ("CH-0042 has been
    approved."), and show its page (``endpoint``) again."""
    reference, name = kind.reference_of(request), kind.name_of(request)
    # A step that gives the request a name of its own says it ("LCR-0007 has been approved as consent LC-2026-0004").
    given = f" as {kind.named} {name}" if kind.named and name != reference else ""
    flash(f"{reference} has been {kind.lifecycle.by_action[action].done}{given}.", "success")
    return redirect(url_for(endpoint, reference=name))


def changed(kind: RequestKind[R], request: R, *, resubmitted: bool, saved: str, endpoint: str) -> ResponseReturnValue:
    """After a request's details were changed: say that it went back to the communications team
    (``resubmitted``) or that the changes were saved (``saved``, with ``{reference}``), and show
    its page (``endpoint``) again."""
    reference = kind.name_of(request)
    message = f"{reference} has been resubmitted to the communications team." if resubmitted else saved
    flash(message.format(reference=reference), "success")
    return redirect(url_for(endpoint, reference=reference))
