"""Sign-in, password and user administration forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from registry.auth.permissions import Role
from registry.web.forms import MultiCheckboxField

ROLE_CHOICES = [SelectChoice(role.value, role.label) for role in Role]


class LoginForm(FlaskForm):
    email = EmailField("Email address", validators=[DataRequired("Enter your email address"), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired("Enter your password"), Length(max=1024)])


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        "Current password", validators=[DataRequired("Enter your current password"), Length(max=1024)]
    )
    new_password = PasswordField(
        "New password",
        description="At least 12 characters. A phrase of three or four unrelated words works well.",
        validators=[DataRequired("Enter a new password"), Length(max=1024)],
    )


PRIVILEGED_REASON_HINT = (
    "Needed when you give the communications team, auditor, human resources or system administrator role: "
    "a second administrator must approve it, and reads this."
)


class UserCreateForm(FlaskForm):
    name = StringField("Full name", validators=[DataRequired("Enter the person's full name"), Length(max=200)])
    email = EmailField(
        "Email address",
        description="Their NHS email address. They sign in with it, and their set-up link is sent to it.",
        validators=[DataRequired("Enter their email address"), Length(max=254)],
    )
    roles = MultiCheckboxField("Roles", choices=ROLE_CHOICES, validate_choice=True)
    reason = TextAreaField(
        "Why do they need a privileged role? (optional)",
        description=PRIVILEGED_REASON_HINT,
        validators=[Length(max=1000)],
    )


class RolesForm(FlaskForm):
    roles = MultiCheckboxField("Roles", choices=ROLE_CHOICES, validate_choice=True)
    reason = TextAreaField(
        "Why do they need a privileged role? (optional)",
        description=PRIVILEGED_REASON_HINT,
        validators=[Length(max=1000)],
    )


class TwoFactorResetForm(FlaskForm):
    # Its own id: the user page holds this form beside RolesForm, whose field is also named "reason".
    reason = TextAreaField(
        "Why must it be reset?",
        id="reset-reason",
        description="For example: they have lost their phone and their recovery codes, and you have checked who "
        "they are. For a privileged user a second administrator must approve it, and reads this.",
        validators=[Length(max=1000)],
    )


class RejectForm(FlaskForm):
    note = TextAreaField(
        "Why are you rejecting it?",
        description="The administrator who asked, and the person, read this.",
        validators=[DataRequired("Say why you are rejecting it"), Length(max=1000)],
    )


class ChoosePasswordForm(FlaskForm):
    password = PasswordField(
        "Choose a password",
        description="At least 12 characters. A phrase of three or four unrelated words works well. "
        "Nobody else, administrators included, ever sees it.",
        validators=[DataRequired("Choose a password"), Length(max=1024)],
    )
    confirm = PasswordField(
        "Enter the same password again", validators=[DataRequired("Enter the same password again"), Length(max=1024)]
    )


class ConfirmPasswordForm(FlaskForm):
    password = PasswordField(
        "Your password",
        description="The password you sign in with now.",
        validators=[DataRequired("Enter your password"), Length(max=1024)],
    )


class LineManagerForm(FlaskForm):
    line_manager = SelectField(
        "Line manager",
        coerce=str,
        validate_choice=False,
        description="Breach reports about them go to this person first (policy 9.1). "
        "Only active users with the line manager role are listed.",
    )


class SecondFactorForm(FlaskForm):
    code = StringField(
        "Security code",
        description="The 6-digit code from your authenticator app, or one of your recovery codes.",
        validators=[DataRequired("Enter the code from your authenticator app"), Length(max=64)],
    )


class EnrolForm(FlaskForm):
    code = StringField(
        "Code from the app",
        description="After adding the key, your app shows a 6-digit code that changes every 30 seconds.",
        validators=[DataRequired("Enter the 6-digit code from your authenticator app"), Length(max=64)],
    )


class ImportUploadForm(FlaskForm):
    file = FileField("CSV file")


class ImportConfirmForm(FlaskForm):
    csv = HiddenField()
    token = HiddenField()
    reason = TextAreaField(
        "Why do these people need privileged roles?",
        description="A second administrator reads this before approving the roles the file gives.",
        validators=[Length(max=1000)],
    )
    send_setup_links = BooleanField("E-mail each new person a set-up link to choose a password")
