"""Forms for the administrator roster and access reviews."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from registry.roster.models import PlatformRole, ReviewDecision
from registry.web.forms import MultiCheckboxField, NhsDateField

ROLE_HINTS = {
    PlatformRole.OWNER: "Owner: holds the account itself and can add or remove anyone",
    PlatformRole.ADMIN: "Admin: manages settings and other people's access",
    PlatformRole.EDITOR: "Editor: posts and edits content",
    PlatformRole.MODERATOR: "Moderator: answers and hides comments and messages",
    PlatformRole.ANALYST: "Analyst: sees insights only",
}


class GrantForm(FlaskForm):
    email = StringField(
        "Email address",
        description="A Registry user is recognised by their work email address. For anyone else, such as an "
        "agency contact, also give their name and organisation.",
    )
    name = StringField("Full name (only for someone who is not a Registry user)")
    organisation = StringField(
        "Organisation (only for someone who is not a Registry user)", description="For example the agency's name."
    )
    platform_role = RadioField(
        "Role on the platform",
        choices=[SelectChoice(r.value, ROLE_HINTS[r]) for r in PlatformRole],
        validate_choice=False,
    )
    expires_on = NhsDateField(
        "Expiry date (optional)",
        description="For example 31 3 2027. Leave it blank if the role has no end date: access reviews still check it.",
    )


class RevokeForm(FlaskForm):
    reason = TextAreaField(
        "Why is this person being removed?",
        description="For example: left the agency; no longer posts for the service. Every credential of the "
        "channel will be marked as needing rotation, with this reason.",
    )


class ReviewForm(FlaskForm):
    title = StringField("Title", description="For example: Quarterly access review, spring 2026")
    due_on = NhsDateField(
        "Due date", description="The date by which every grant must be certified or revoked. For example 30 6 2026."
    )
    scope = RadioField(
        "Which channels does it cover?",
        choices=[
            SelectChoice("all", "Every active or suspended Trust channel"),
            SelectChoice("some", "Only the channels I choose below"),
        ],
        default="all",
        validate_choice=False,
    )
    channels = MultiCheckboxField("Channels to review", choices=[], validate_choice=False)


class DecisionForm(FlaskForm):
    decision = RadioField(
        "Decision",
        choices=[
            SelectChoice(ReviewDecision.CERTIFIED.value, "Certify: the person still needs this role"),
            SelectChoice(ReviewDecision.REVOKED.value, "Revoke: remove the person from the roster"),
        ],
        validate_choice=False,
    )
    note = TextAreaField("Note", description="Needed when revoking: it is recorded as the reason.")
