"""Forms for reporting a breach and handling a case.

The service checks the answers; these forms carry the CSRF token, the labels and the hints.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    MultipleFileField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice

from registry.breaches import clauses
from registry.breaches.intake import SubjectKind
from registry.breaches.workflow import (
    MANAGER_DECISIONS,
    ROUTING_DECISIONS,
    TRANSITIONS,
    BreachAction,
)
from registry.uploads.services import ACCEPT
from registry.web.forms import MultiCheckboxField, YesNoField

SUBJECT_CHOICES = [
    SelectChoice(SubjectKind.USER, "Yes, and they are in the Registry"),
    SelectChoice(SubjectKind.OTHER, "Yes, but they are not in the Registry"),
    SelectChoice(SubjectKind.UNKNOWN, "No, I do not know who it is"),
]


def clause_choices() -> list[SelectChoice]:
    return [SelectChoice(c.number, f"{c.number} {clauses.summary(c.text)}") for c in clauses.breachable()]


class ReportForm(FlaskForm):
    account = StringField(
        "Which account posted it?",
        description="Its name or handle and the platform, for example '@jsmith on X' or 'Jo Smith on Facebook'.",
    )
    link = StringField(
        "Link to the post or the account",
        description="Copy it from the browser's address bar. If it has been deleted, attach a screenshot instead.",
    )
    description = TextAreaField(
        "What happened?",
        description="What was posted or done, and when. Do not copy patients' details here.",
    )
    clauses = MultiCheckboxField(
        "Which parts of the policy may it breach?",
        validate_choice=False,
        description="Choose all that apply. If you are not sure, choose the closest.",
    )
    reputational_risk = YesNoField(
        "Could it affect the Trust's reputation?",
        description="For example if patients, the public or the media can see it, or it names the Trust. "
        "If so, the communications team are told too (policy 9.3).",
    )
    subject_kind = RadioField(
        "Do you know which member of staff it is?",
        choices=SUBJECT_CHOICES,
        validate_choice=False,
        description="The report goes to their line manager (policy 9.1). The member of staff cannot see it.",
    )
    subject_user = StringField("Their email address or full name")
    subject_name = StringField("Their name", description="And their team or ward, if you know it.")
    evidence = MultipleFileField(
        "Evidence (optional)",
        description="Screenshots (PNG, JPEG, GIF or WebP) or PDF files. You can choose several files.",
        render_kw={"accept": ACCEPT},
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.clauses.choices = clause_choices()


class RoutingForm(FlaskForm):
    decision = RadioField(
        "What happens to it?",
        choices=[SelectChoice(a.value, TRANSITIONS[a].label) for a in ROUTING_DECISIONS],
        validate_choice=False,
    )
    manager = SelectField("Line manager", coerce=str, validate_choice=False)
    note = TextAreaField("Note", description="Required when closing it: say why.")

    def manager_id(self) -> int | None:
        value = (self.manager.data or "").strip()
        return int(value) if value.isdigit() and len(value) <= 9 else None


class DecisionForm(FlaskForm):
    decision = RadioField(
        "What have you done?",
        choices=[SelectChoice(a.value, TRANSITIONS[a].label) for a in MANAGER_DECISIONS],
        validate_choice=False,
    )
    note = TextAreaField(
        "Details",
        description="How it was resolved, why it needs HR, or why it is not yours to handle.",
    )


class OutcomeForm(FlaskForm):
    note = TextAreaField(
        TRANSITIONS[BreachAction.OUTCOME].question, description=TRANSITIONS[BreachAction.OUTCOME].note_hint
    )


class FlagForm(FlaskForm):
    note = TextAreaField(
        "What could affect the Trust's reputation? (optional)",
        description="The communications team are told that the case needs them, and can read it (policy 9.3).",
    )
