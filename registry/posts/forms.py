"""Forms for proposing, changing, deciding, scheduling and publishing promotional posts.

The service checks the answers (one set of rules for the browser and the API);
these forms carry the CSRF token, the labels and the hints.
"""

from __future__ import annotations

import datetime as dt
import re

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, StringField, TextAreaField

from registry.posts.proposals import MAX_IMAGES
from registry.web.forms import MultiCheckboxField, NhsDateField

TIME = re.compile(r"^\s*(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm)?\s*$", re.IGNORECASE)


def parse_time(value: str | None) -> dt.time | None:
    """A time of day as people type it: 09:30, 9.30, 14:00, 2pm, 2:30pm, or 12 (noon). None if unreadable."""
    match = TIME.match(value or "")
    if match is None:
        return None
    hour, minute, half = int(match.group(1)), int(match.group(2) or 0), (match.group(3) or "").lower()
    if half:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    return dt.time(hour, minute)


class PostForm(FlaskForm):
    text = TextAreaField(
        "Text of the post",
        description=(
            "Write it as it should appear. Do not include anything that could identify a patient "
            "(policy 6.11): no names, NHS or hospital numbers, dates of birth, addresses or contact details."
        ),
    )
    channels = MultiCheckboxField(
        "Which channels should it go on?",
        description="Only the Trust's active channels are listed. Each platform has its own length limit.",
        validate_choice=False,
    )
    wished_for = NhsDateField("When would you like it published?", description="For example 27 3 2027")
    reason = TextAreaField(
        "Why should the Trust publish this post?",
        description="Who it is for and what you want people to do or know (policy 7.1).",
    )
    consent_confirmed = BooleanField(
        "Everyone who can be identified in this post, in its text or its images, has given their written "
        "consent to appear in it, or no one can be identified"
    )
    consent_location = TextAreaField(
        "Where are the signed consent forms kept?",
        description=(
            "Needed when the post has images or names someone. For example: "
            "'Maternity office, consent folder 2026, forms 14 to 16'."
        ),
    )
    note = TextAreaField("What have you changed? (optional)")


for _slot in range(1, MAX_IMAGES + 1):
    setattr(PostForm, f"image_{_slot}", FileField(f"Image {_slot}"))
    setattr(
        PostForm,
        f"alt_{_slot}",
        TextAreaField(
            f"Describe image {_slot} for people who cannot see it (alternative text)",
            description="Required for every image. Say what it shows and any words in it.",
        ),
    )


class ActionForm(FlaskForm):
    reason = TextAreaField("Reason")
    scheduled_on = NhsDateField("Date it will be published", description="For example 27 3 2027")
    scheduled_time = StringField("Time it will be published (UK time)", description="For example 09:30 or 2pm")
    action = HiddenField()
    #: The version of the post the page showed (a decision on an older one is refused).
    version = HiddenField()


class AcceptFindingsForm(FlaskForm):
    acceptance = TextAreaField(
        "Why are these findings acceptable?",
        description=(
            "For example: the number is the ward's published switchboard, or the person named is a member of "
            "staff who has consented."
        ),
    )
    version = HiddenField()
