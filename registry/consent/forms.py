"""Forms for asking for consent, deciding, and keeping the checklist.

The service checks the answers (one set of rules for the browser and the API);
these forms carry the CSRF token, the labels and the hints.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import MultipleFileField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from registry.consent.workflow import DECISIONS, TRANSITIONS, Asset, ConsentAction, Medium
from registry.uploads.services import ACCEPT
from registry.web.forms import MultiCheckboxField, NhsDateField, YesNoField

ASSET_CHOICES = [SelectChoice(a.value, a.label) for a in Asset]
MEDIUM_CHOICES = [SelectChoice(m.value, m.label) for m in Medium]


class ConsentDetailsForm(FlaskForm):
    title = StringField(
        "What is the item or campaign called?",
        description="For example 'Antenatal classes leaflet, spring 2027'.",
    )
    department = StringField("Which service or department will use it?")
    asset = RadioField("What do you want to use?", choices=ASSET_CHOICES, validate_choice=False)
    purpose = TextAreaField(
        "What will it be used for?",
        description="What the item is, what it says and why it needs the Trust's or the NHS identity.",
    )
    media = MultiCheckboxField(
        "Where will it appear?",
        choices=MEDIUM_CHOICES,
        validate_choice=False,
        description="Select all that apply.",
    )
    audience = TextAreaField("Who will see it?", description="For example patients, visitors, staff, or the public.")
    partner_involved = YesNoField(
        "Is a partner organisation involved?",
        description="For example a charity, a council or another NHS organisation whose name appears too.",
    )
    partner_name = StringField("Name of the partner organisation")
    starts_on = NhsDateField("When does the use start?", description="For example 1 4 2027")
    ends_on = NhsDateField("When does the use end?", description="For example 30 9 2027")


class ConsentRequestForm(ConsentDetailsForm):
    artwork = MultipleFileField(
        "Draft artwork",
        description="PNG, JPEG, GIF or WebP images, or PDF files. You can choose several files.",
        render_kw={"accept": ACCEPT},
    )


class ConsentEditForm(ConsentDetailsForm):
    remove_artwork = MultiCheckboxField("Remove artwork", coerce=int, validate_choice=False)
    artwork = MultipleFileField(
        "Add artwork",
        description="PNG, JPEG, GIF or WebP images, or PDF files. Leave empty to keep the artwork as it is.",
        render_kw={"accept": ACCEPT},
    )
    note = TextAreaField(TRANSITIONS[ConsentAction.RESUBMIT].note_prompt)


class DecisionForm(FlaskForm):
    checked = MultiCheckboxField(
        "NHS identity checklist",
        coerce=int,
        validate_choice=False,
        description="Tick each item the artwork meets. To approve without conditions, every item must be ticked.",
    )
    decision = RadioField(
        "Decision",
        choices=[SelectChoice(a.value, TRANSITIONS[a].label) for a in DECISIONS],
        validate_choice=False,
    )
    conditions = TextAreaField(
        "Conditions", description="What the requester must do or avoid, for example 'Use the white lozenge only'."
    )
    expires_on = NhsDateField(
        "Consent expires on",
        description="Leave empty to use the end of the use. It cannot be before the end of the use.",
    )
    note = TextAreaField(
        "Message to the requester",
        description="Required when asking for changes or rejecting: say what needs to change, or why.",
    )


class WithdrawForm(FlaskForm):
    note = TextAreaField("Why are you withdrawing it? (optional)")


class ChecklistItemForm(FlaskForm):
    text = TextAreaField("Checklist item", description="One thing the artwork must meet, in plain words.")
