"""Forms for the monthly report: which month to generate, and issuing the draft that was read."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField
from wtforms.fields.choices import SelectChoice

from registry.reports import services


class GenerateForm(FlaskForm):
    month = SelectField(
        "Which month?",
        description="A month's report can be generated again as often as needed until it is issued.",
        validate_choice=False,
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.month.choices = [SelectChoice(key, services.month_label(key)) for key in services.recent_months()]
        if not self.month.data:
            self.month.data = services.default_month()


class IssueForm(FlaskForm):
    """Names the draft the issuer read (its figures' SHA-256): a draft generated again since is not issued."""

    sha256 = HiddenField()
