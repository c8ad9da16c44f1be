"""Form pieces shared by every domain: NHS-style date input, multiple checkboxes, yes-or-no questions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_wtf import FlaskForm
from wtforms import Field, RadioField, SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from registry.uploads.services import chosen_files


class ConfirmForm(FlaskForm):
    """A form with nothing but its CSRF token, for buttons that change state."""


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class YesNoField(RadioField):
    """A question answered "Yes" or "No". The service says what an unanswered one means, so the
    field itself takes any value; :attr:`answer` reads it."""

    def __init__(self, label: str, **kwargs: Any) -> None:
        super().__init__(
            label, choices=[SelectChoice("yes", "Yes"), SelectChoice("no", "No")], validate_choice=False, **kwargs
        )

    @property
    def answer(self) -> bool | None:
        """True for "yes", False for "no", None when neither was chosen."""
        return {"yes": True, "no": False}.get(self.data or "")


class NhsDateField(Field):
    """A date typed as day, month and year (the NHS date input pattern).

    Reads ``name[day]``, ``name[month]`` and ``name[year]``; an incomplete or
    impossible date gets a specific message.
    """

    type = "NhsDateField"

    def __init__(self, label: str | None = None, validators: Any = None, **kwargs: Any) -> None:
        super().__init__(label, validators, **kwargs)
        self.raw_parts: tuple[str, str, str] = ("", "", "")

    def parts(self) -> tuple[str, str, str]:
        if any(self.raw_parts):
            return self.raw_parts
        if isinstance(self.data, dt.date):
            return (str(self.data.day), str(self.data.month), str(self.data.year))
        return ("", "", "")

    def process_formdata(self, valuelist: list[Any]) -> None:
        # WTForms passes the values of ``name``; our inputs are name[day] etc.
        pass

    def process(self, formdata: Any, data: Any = None, extra_filters: Any = None) -> None:
        super().process(formdata, data, extra_filters)
        if formdata is None:
            return
        day, month, year = ((formdata.get(f"{self.name}[{part}]") or "").strip() for part in ("day", "month", "year"))
        self.raw_parts = (day, month, year)
        if not any(self.raw_parts):
            self.data = None
            return
        missing = [name for name, value in (("day", day), ("month", month), ("year", year)) if not value]
        if missing:
            self.data = None
            self.process_errors.append(f"{self.label.text} must include a {' and '.join(missing)}")
            return
        try:
            self.data = dt.date(int(year), int(month), int(day))
        except ValueError:
            self.data = None
            self.process_errors.append(f"{self.label.text} must be a real date")
            return
        if len(year) != 4:
            self.data = None
            self.process_errors.append(f"{self.label.text}: the year must have 4 numbers")


def apply_errors(form: FlaskForm, errors: dict[str, str]) -> None:
    """Attach a service's errors to the form: to their field, or to the form as a whole
    when the form has no such field (they still reach the error summary)."""
    for name, message in errors.items():
        field = form._fields.get(name)
        if field is None:
            form.form_errors.append(message)
        else:
            field.errors = [*field.errors, message]


def ask_to_choose_again(form: FlaskForm, field: Field, one: str, many: str) -> None:
    """A browser sends chosen files once: when the form comes back with errors, say at the file
    input (and in the error summary) that they must be chosen again. ``one`` names a single file
    ("evidence file"), ``many`` several, with ``{n}`` for how many ("evidence {n} files")."""
    chosen = chosen_files(field.data or [])
    if not chosen or not form.errors:
        return
    files = one if len(chosen) == 1 else many.format(n=len(chosen))
    again = f"Choose your {files} again: browsers do not keep chosen files when a form needs correcting."
    refused = list(field.errors)
    field.errors = [f"{refused[0]} {again}" if refused else again]
