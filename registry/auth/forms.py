"""Sign-in, password and user administration forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from registry.auth.permissions import Role
from registry.web.forms import MultiCheckboxField

ROLE_CHOICES = [SelectChoice(role.value, role.label) for role in Role]


class LoginForm(FlaskForm):
    email = EmailField(
        "Email address", validators=[DataRequired("Enter your email address"), Length(max=254)]
    )
    password = PasswordField(
        "Password", validators=[DataRequired("Enter your password"), Length(max=1024)]
    )


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        "Current password", validators=[DataRequired("Enter your current password"), Length(max=1024)]
    )
    new_password = PasswordField(
        "New password",
        description="At least 12 characters. A phrase of three or four unrelated words works well.",
        validators=[DataRequired("Enter a new password"), Length(max=1024)],
    )


class UserCreateForm(FlaskForm):
    name = StringField("Full name", validators=[DataRequired("Enter the person's full name"), Length(max=200)])
    email = EmailField(
        "Email address",
        description="Their NHS email address. They sign in with it.",
        validators=[DataRequired("Enter their email address"), Length(max=254)],
    )
    roles = MultiCheckboxField("Roles", choices=ROLE_CHOICES, validate_choice=True)
    password = PasswordField(
        "Temporary password",
        description="Give it to them in person or by phone. They must change it when they first sign in.",
        validators=[DataRequired("Enter a temporary password"), Length(max=1024)],
    )


class RolesForm(FlaskForm):
    roles = MultiCheckboxField("Roles", choices=ROLE_CHOICES, validate_choice=True)


class LineManagerForm(FlaskForm):
    line_manager = SelectField(
        "Line manager", coerce=str, validate_choice=False,
        description="Breach reports about them go to this person first (policy 9.1). "
                    "Only active users with the line manager role are listed.",
    )


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        "New temporary password",
        description="They must change it when they next sign in. Their current sessions end now.",
        validators=[DataRequired("Enter a temporary password"), Length(max=1024)],
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
