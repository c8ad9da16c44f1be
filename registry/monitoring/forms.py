"""Forms for recording unauthorised accounts and following them up."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from registry.channels.platforms import PLATFORMS
from registry.web.forms import NhsDateField

PLATFORM_CHOICES = [SelectChoice("", "Work it out from the web address")] + [
    SelectChoice(p.value, i.label) for p, i in PLATFORMS.items()
]


class FindingForm(FlaskForm):
    url = StringField(
        "Web address of the account", description="Copy it from the browser, for example https://x.com/ExampleNHS_"
    )
    platform = SelectField("Platform", choices=PLATFORM_CHOICES, validate_choice=False)
    evidence = TextAreaField(
        "Why does it look like a Trust account?",
        description="What it calls itself, whether it uses the Trust logo or NHS lozenge, what it posts, how "
        "you found it.",
    )
    found_on = NhsDateField("When was it found?", description="For example 3 11 2026. Leave blank for today.")


class MoveForm(FlaskForm):
    note = TextAreaField("Note")


class AdoptForm(FlaskForm):
    display_name = StringField("Account name")
    department = StringField("Service or department that will own it")
    purpose = TextAreaField("What is the account for?")
    audience = TextAreaField("Who is it for?")
    sponsor = StringField("Senior sponsor")
    reason = TextAreaField(
        "Why is the Trust adopting it?",
        description="For example: set up by the maternity team before the policy; the team has handed over the "
        "passwords.",
    )
