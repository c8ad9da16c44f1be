"""The form an administrator fills in for a webhook."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField, StringField
from wtforms.fields.choices import SelectChoice

from registry.alerts.models import AlertEvent, WebhookFormat
from registry.web.forms import MultiCheckboxField


class WebhookForm(FlaskForm):
    name = StringField(
        "Name", description="So that people know where alerts go, for example 'Comms on-call Teams channel'"
    )
    url = StringField(
        "Web address",
        description="The address the receiver gave you, starting with https://. For Teams, the workflow's "
        "'When a Teams webhook request is received' address. Kept encrypted; it is not shown again.",
    )
    events = MultiCheckboxField(
        "Which events should it be told of?",
        choices=[SelectChoice(e.value, e.label) for e in AlertEvent],
        validate_choice=False,
    )
    format = RadioField(
        "Format",
        choices=[SelectChoice(f.value, f.label) for f in WebhookFormat],
        validate_choice=False,
    )
