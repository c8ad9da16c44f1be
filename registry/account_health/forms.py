"""The account security check form. The service checks the answers (registry/account_health/services.py);
the form carries the CSRF token, the questions and their hints."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from registry.account_health.rules import SeedAnswer, TwoFactor
from registry.web.forms import NhsDateField, YesNoField


class HealthCheckForm(FlaskForm):
    two_factor = RadioField(
        "Is two-factor authentication on for the account, and how?",
        choices=[SelectChoice(t.value, t.label) for t in TwoFactor],
        validate_choice=False,
        description="Look in the platform's security settings. SMS codes are weak: a phone number can be moved "
        "to another SIM.",
    )
    recovery_email = StringField(
        "Recovery e-mail domain",
        description="The part after the @ of the account's recovery e-mail address, for example nhs.net. You can "
        "type the whole address: only its domain is kept.",
    )
    recovery_phone_trust = YesNoField("Is the recovery phone number a Trust-owned phone?")
    password_matches = YesNoField(
        "Is the password in custody the one the platform uses?",
        description="Confirm it by signing in with the stored password.",
    )
    seed = RadioField(
        "Does the authenticator seed in custody give codes the platform accepts?",
        choices=[SelectChoice(s.value, s.label) for s in SeedAnswer],
        validate_choice=False,
        description="Confirm it with a code from the Registry's credentials page when you sign in.",
    )
    seen_live = YesNoField(
        "Did you see the account live on the platform?",
        description="Its public page, under the Trust's name, as the public see it.",
    )
    last_post_on = NhsDateField(
        "Date of the last post",
        description="For example 27 3 2026. If it has never posted, give the date it went live.",
    )
    roster_matches = YesNoField(
        "Do the administrators on the platform match the Registry's roster?",
        description="Everyone with a role on the platform is on the roster, and nobody else.",
    )
    notes = TextAreaField(
        "Notes (optional)", description="What you changed or still have to change. Do not write any password here."
    )

    def answers(self) -> dict[str, object]:
        """What was given, for the service to check (:func:`registry.account_health.services.parse`)."""
        return {name: field.data for name, field in self._fields.items() if name != "csrf_token"}
