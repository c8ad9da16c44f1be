"""Forms for storing and revealing credentials."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Optional

from registry.vault.models import CredentialKind

KIND_CHOICES = [SelectChoice("", "Choose what to store")] + [SelectChoice(k.value, k.label) for k in CredentialKind]


class StoreForm(FlaskForm):
    kind = SelectField("What is it?", choices=KIND_CHOICES, validate_choice=False)
    value = TextAreaField(
        "Value",
        description="Paste it exactly. For a two-factor seed, paste the setup key the platform shows (not a code).",
    )
    reason = TextAreaField(
        "Why are you storing or changing it?",
        description="For example: taking custody of an existing account, or rotating after a leaver.",
        id="store-reason",  # the credentials page holds other forms with a reason: ids must differ
    )


class GenerateForm(FlaskForm):
    length = IntegerField("Length", default=24, validators=[Optional()])
    lower = BooleanField("Lower-case letters", default=True)
    upper = BooleanField("Capital letters", default=True)
    digits = BooleanField("Numbers", default=True)
    symbols = BooleanField("Symbols", default=True)


class RevealForm(FlaskForm):
    reason = TextAreaField("Why do you need it?", description="This is recorded in the audit trail.")
    version = IntegerField("Version", validators=[Optional()])


class CodeForm(FlaskForm):
    reason = StringField(
        "Why do you need a code?",
        description="For example: signing in to post the vaccination update.",
        id="code-reason",  # the credentials page holds other forms with a reason: ids must differ
    )


IMPORT_FORMAT_CHOICES = [
    SelectChoice("keepass", "KeePass database (.kdbx)"),
    SelectChoice("bitwarden-json", "Bitwarden export (.json, not encrypted)"),
    SelectChoice("csv", "CSV file"),
]


class ImportForm(FlaskForm):
    """A password manager's export to take into custody (see registry/vault/importing.py)."""

    file = FileField("Export file")
    format = RadioField(
        "What kind of file is it?", choices=IMPORT_FORMAT_CHOICES, validators=[InputRequired("Choose the kind of file")]
    )
    password = PasswordField(
        "KeePass password",
        description="Only for a KeePass database: it opens the file for this check and is not kept.",
    )


class ImportConfirmForm(FlaskForm):
    """The preview's confirmation: the file and its password are asked for again, since neither is kept."""

    file = FileField("Choose the same file again")
    format = HiddenField()
    password = PasswordField("KeePass password (again)")
    token = HiddenField()
