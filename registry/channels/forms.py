"""Forms for requesting, deciding and editing channels.

The service checks the answers (one set of rules for the browser and the API);
these forms carry the CSRF token, the labels and the hints.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from registry.channels.platforms import PLATFORMS
from registry.web.forms import NhsDateField

PLATFORM_CHOICES = [SelectChoice("", "Choose a platform")] + [
    SelectChoice(p.value, info.label) for p, info in PLATFORMS.items()
]

# WTForms puts a form's fields in the order they were made, whatever class holds them. The request form
# asks for the platform and handle first, so they are made before the details it shares with the edit
# form: its error summary then lists problems in the order of the fields on the page (WCAG 1.3.2, 3.3.1).
_PLATFORM = SelectField("Platform", choices=PLATFORM_CHOICES, validate_choice=False)
_HANDLE = StringField(
    "Proposed handle or web address", description="For example @ExampleNHS, or the full web address of the profile."
)


class ChannelDetailsForm(FlaskForm):
    display_name = StringField(
        "Account name", description="The name people will see, for example 'Maternity Services, Example NHS Trust'."
    )
    department = StringField("Service or department that will own it")
    purpose = TextAreaField(
        "What is the account for?",
        description="What you will post, and why the Trust's existing channels cannot do it (policy 7.1).",
    )
    audience = TextAreaField("Who is it for?", description="For example patients and visitors, staff, or job seekers.")
    posting_plan = TextAreaField("Who will post?", description="Names and roles of the people who will write posts.")
    moderation_plan = TextAreaField(
        "Who will moderate comments and messages?",
        description="Who reads and answers replies and messages, and how quickly.",
    )
    out_of_hours = TextAreaField(
        "What happens out of hours?",
        description="Who watches the account in the evenings, at weekends and on bank holidays.",
    )
    sponsor = StringField(
        "Senior sponsor", description="The senior manager accountable for the account: name and job title."
    )
    proposed_administrators = TextAreaField(
        "Who should be administrators?",
        description="Name and NHS email address of each person. The communications team manages the passwords "
        "(policy 7.2).",
    )


class ChannelRequestForm(ChannelDetailsForm):
    platform = _PLATFORM
    handle = _HANDLE
    policy_acknowledged = BooleanField(
        "I have read the Trust's social media policy and understand that the communications team will hold the "
        "passwords and administer the account."
    )

    field_order = (
        "platform",
        "handle",
        "display_name",
        "department",
        "purpose",
        "audience",
        "posting_plan",
        "moderation_plan",
        "out_of_hours",
        "sponsor",
        "proposed_administrators",
        "policy_acknowledged",
    )


class ChannelEditForm(ChannelDetailsForm):
    next_review_on = NhsDateField("Next review date", description="For example 27 3 2027")
    note = TextAreaField("What has changed? (optional)")


class TransitionForm(FlaskForm):
    reason = TextAreaField("Reason")
    handle = StringField(
        "Handle or web address of the live account",
        description="Only if it differs from the one requested; leave blank to keep it.",
    )
    action = HiddenField()


class InventoryUploadForm(FlaskForm):
    """The Trust's existing accounts, as a file (registry/channels/importing.py reads it)."""

    file = FileField("CSV or Excel file")


class InventoryConfirmForm(FlaskForm):
    """The previewed file, carried back with the server's token (registry/web/previews.py)."""

    file = HiddenField()
    token = HiddenField()
    #: The file's name, for each channel's history ("Imported from inventory.xlsx row 4 by …").
    filename = HiddenField()
