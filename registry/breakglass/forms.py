"""Forms for break-glass access: opening one, closing it early, and its review. The service checks
the answers; these carry the CSRF token, the labels and the hints."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from registry.vault.models import CredentialKind

KIND_CHOICES = [SelectChoice(k.value, k.label) for k in CredentialKind]


class OpenForm(FlaskForm):
    channel = SelectField("Which account needs emergency access?", choices=[], validate_choice=False)
    incident_reference = StringField(
        "Incident reference",
        description="The reference of the incident in the Trust's incident log, for example INC-2026-0142.",
    )
    reason = TextAreaField(
        "What has happened, and why can it not wait for the communications team?",
        description="Everyone in the communications team is sent this at once.",
    )
    kinds = SelectMultipleField(
        "Which secrets do you need?",
        choices=KIND_CHOICES,
        validate_choice=False,
        description=(
            "Choose only what you need: you will see only these, and each one you see must be changed afterwards."
        ),
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )


class CloseForm(FlaskForm):
    note = TextAreaField("Anything the communications team should know (optional)")


class ReviewForm(FlaskForm):
    note = TextAreaField(
        "Review notes",
        description="What happened, whether the access was needed, and which secrets have been changed since.",
    )


class UseForm(FlaskForm):
    """A reveal or code button: only the CSRF token (the reason is the access's own)."""
