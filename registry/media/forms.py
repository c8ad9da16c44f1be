"""Forms for logging a media approach and triaging it.

The service checks the answers (one set of rules for the browser and the API);
these forms carry the CSRF token, the labels and the hints.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    MultipleFileField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice

from registry.channels.platforms import PLATFORMS
from registry.media.services import MAX_SCREENSHOTS
from registry.media.workflow import ACTIONS, NOTE, TRANSITIONS
from registry.uploads.services import ACCEPT
from registry.web.forms import NhsDateField

PLATFORM_CHOICES = [SelectChoice("", "Choose a platform")] + [
    SelectChoice(p.value, info.label) for p, info in PLATFORMS.items()
]
NOTE_LABEL = "Add a note for the team only (the status stays as it is)"
ACTION_CHOICES = [SelectChoice(a.value, TRANSITIONS[a].label) for a in ACTIONS] + [SelectChoice(NOTE, NOTE_LABEL)]


class MediaContactForm(FlaskForm):
    platform = SelectField("Where did they contact you?", choices=PLATFORM_CHOICES, validate_choice=False)
    outlet = StringField(
        "Which newspaper, programme or website are they from? (if known)",
        description="For example 'Evening Chronicle' or 'BBC Radio Example'.",
    )
    journalist = StringField("The journalist's name (if known)")
    contacted_on = NhsDateField("When did they contact you?", description="For example 3 3 2026")
    contacted_time = StringField("At what time? (UK time)", description="For example 09:30 or 2pm")
    deadline_on = NhsDateField(
        "Did they give a deadline? (if so, its date)",
        description="Leave empty if they did not. For example 4 3 2026",
    )
    deadline_time = StringField("Deadline time (UK time)", description="For example 17:00 or 5pm")
    enquiry = TextAreaField(
        "What did they ask?",
        description="In your own words or copied from their message: what they want to know, about whom.",
    )
    link = StringField(
        "Link to their message or post",
        description="Copy it from your browser's address bar. Optional if you attach a screenshot.",
    )
    screenshots = MultipleFileField(
        "Screenshots",
        description=f"PNG, JPEG, GIF or WebP images, or PDF files, up to {MAX_SCREENSHOTS}. "
        "Optional if you give a link.",
        render_kw={"accept": ACCEPT},
    )
    not_responded = BooleanField("I have not responded to them")


class TriageForm(FlaskForm):
    action = RadioField("What happens next?", choices=ACTION_CHOICES, validate_choice=False)
    advice = TextAreaField(
        "Advice for the member of staff",
        description="Shown to them and sent to them. Required when giving advice; optional when the "
        "communications team will respond.",
    )
    note = TextAreaField(
        "Note for the team",
        description="Seen only by the communications team and auditors. Required when closing: record the outcome.",
    )
