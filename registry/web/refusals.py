"""One place that turns a service's refusal into a page.

A view hands the change it wants to :func:`attempt`. An ``Invalid`` puts each field's message
on the form (and the status is 422: the view shows the form again); a ``Conflict`` becomes a
message at the top of the page (409). Either way the request's unsaved work is rolled back
here, once, so that the page shown again reads what is stored, not what the refused change
left in the session (and the unit of work then commits nothing, since the answer is an error),
unless the refusal is itself on the record (``keep``).
``NotPermitted`` and ``NotFound`` are not caught: the error pages answer them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from flask import flash

from registry import db
from registry.errors import Conflict, Invalid
from registry.web.forms import apply_errors

T = TypeVar("T")


@dataclass(frozen=True)
class Attempt(Generic[T]):
    """What came of a change: its result, or the status of the page that says why not."""

    result: T | None
    status: int = 200
    #: An ``Invalid``'s messages for the fields the page draws by hand (see ``aside``), by field.
    aside: Mapping[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.status < 400

    @property
    def invalid(self) -> bool:
        return self.status == 422


def attempt(
    change: Callable[[], T],
    form: Any = None,
    *,
    fields: Mapping[str, str] | None = None,
    aside: Callable[[str], bool] | None = None,
    keep: bool = False,
) -> Attempt[T]:
    """Run ``change``; on a refusal, roll back and say why (see the module's docstring).

    ``fields`` maps the service's field names to the form's where they differ. A field the
    form has already found wrong keeps the form's own message, which says more (such as why a
    date could not be read). Without a form, an ``Invalid``'s messages are flashed instead.
    ``aside``: which fields the page draws by hand rather than from the form; their messages
    are handed back in ``Attempt.aside`` instead. ``keep``: the refusal is itself on the record (a
    refused reveal of a secret, a wrong password on a set-up link): nothing is rolled back here, and
    whoever recorded it asks the unit of work to keep it (``db.keep_on_error``).
    """
    try:
        return Attempt(change())
    except Invalid as exc:
        if not keep:
            db.session().rollback()
        errors = {(fields or {}).get(name, name): message for name, message in exc.errors.items()}
        kept = {name: message for name, message in errors.items() if aside is not None and aside(name)}
        errors = {name: message for name, message in errors.items() if name not in kept}
        if form is None:
            for message in errors.values():
                flash(message)
        else:
            apply_errors(form, {name: message for name, message in errors.items() if not _has_errors(form, name)})
        return Attempt(None, 422, kept)
    except Conflict as exc:
        if not keep:
            db.session().rollback()
        flash(exc.message)
        return Attempt(None, 409)


def _has_errors(form: Any, name: str) -> bool:
    field = form._fields.get(name)
    return field is not None and bool(field.errors)
