"""The form of the page that checks a draft for patient details."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from registry.screening.services import MAX_TEXT


class ScreenForm(FlaskForm):
    text = TextAreaField(
        "Draft text",
        description="Paste the text of a post, a caption or an image's alt text. "
        f"Up to {MAX_TEXT:,} characters. It is checked and then forgotten: it is not saved.",
        validators=[
            DataRequired(message="Enter the text to check"),
            Length(max=MAX_TEXT, message=f"The text must be {MAX_TEXT:,} characters or fewer"),
        ],
    )
