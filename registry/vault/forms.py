"""Forms for storing and revealing credentials."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from registry.vault.models import CredentialKind

KIND_CHOICES = [SelectChoice("", "Choose what to store")] + [SelectChoice(k.value, k.label) for k in CredentialKind]


class StoreForm(FlaskForm):
    kind = SelectField("What is it?", choices=KIND_CHOICES, validate_choice=False)
    value = TextAreaField(
        "Value",
        description="Paste it exactly. For a two-factor seed, paste the setup key the platform shows (not a code).",
    )
    reason = TextAreaField(
        "Why are you storing or changing it?",
        description="For example: taking custody of an existing account, or rotating after a leaver.",
    )


class GenerateForm(FlaskForm):
    length = IntegerField("Length", default=24, validators=[Optional()])
    lower = BooleanField("Lower-case letters", default=True)
    upper = BooleanField("Capital letters", default=True)
    digits = BooleanField("Numbers", default=True)
    symbols = BooleanField("Symbols", default=True)


class RevealForm(FlaskForm):
    reason = TextAreaField("Why do you need it?", description="This is recorded in the audit trail.")
    version = IntegerField("Version", validators=[Optional()])


class CodeForm(FlaskForm):
    reason = StringField(
        "Why do you need a code?", description="For example: signing in to post the vaccination update."
    )
