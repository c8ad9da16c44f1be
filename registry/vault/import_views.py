"""The communications team's import of existing secrets: upload, preview (choosing channels for entries
that match none), confirm.

Nothing of the file is kept between the preview and the confirmation: the file and any KeePass password
are read in memory (the upload never touches the disk: :func:`registry.web.requests.in_memory`), planned
and forgotten, and the confirmation asks for both again. The preview carries only a token signed by the
server naming who saw it and a keyed digest of the file and of what it would do (never a value); the
confirmation reads the file again from scratch and refuses, storing nothing, when the token is not the
server's or is another person's or stale, or when the file or what it would do is not what was previewed.

Importing is privileged: the communications team only, with a second-factor check in the last five
minutes (as a reveal needs), asked for again on each step.
"""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from registry import db
from registry.auth.models import User
from registry.auth.permissions import Permission, requires
from registry.auth.sessions import signed_in_user
from registry.channels.models import Channel
from registry.channels.workflow import LIVE_STATUSES
from registry.vault import importing, reveals
from registry.vault.formats import Format
from registry.vault.forms import ImportConfirmForm, ImportForm
from registry.vault.views import bp
from registry.web import security
from registry.web.forms import apply_errors
from registry.web.requests import in_memory

#: The file (at most ``MAX_BYTES``; a little more is read to say how big it is) and the form's fields.
REQUEST_LIMIT = importing.MAX_BYTES + 256 * 1024
TOKEN_MAX_AGE = 1800
#: The confirmation's fields are named apart from the upload form's, which the preview page also shows.
CONFIRM_PREFIX = "confirm"
_PASSWORD_PROBLEMS = {importing.KEEPASS_UNREADABLE, "Enter the KeePass database's password."}


def _signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="registry.credentials-import")


def _key() -> bytes:
    return str(current_app.config["SECRET_KEY"]).encode()


def _stale() -> ResponseReturnValue | None:
    """Ask for the second factor again unless it was given in the last five minutes (nothing is read)."""
    if reveals.step_up_fresh():
        return None
    flash("Confirm it is you with your authenticator app: importing secrets needs it within 5 minutes.")
    return redirect(url_for("auth.step_up", next=url_for("vault.import_credentials")))


def _live_channels() -> list[Channel]:
    statement = (
        select(Channel)
        .where(Channel.status.in_([s.value for s in LIVE_STATUSES]))
        .order_by(Channel.platform, Channel.handle)
    )
    return list(db.session().execute(statement).scalars())


#: The largest number an entry or a channel can have (the database's integer); longer text is no number.
_LARGEST = 2**31 - 1


def _number(text: str) -> int | None:
    """``text`` as an entry's or a channel's number: ASCII digits only ("²" is a digit to Python), and
    none too large for the database (or for ``int``, which refuses over 4,300 digits)."""
    if not (text.isascii() and text.isdigit()) or len(text) > 10 or int(text) > _LARGEST:
        return None
    return int(text)


def _choices() -> dict[int, int]:
    """The channel chosen for each entry on the preview (``entry-N``: a channel id; empty: left out). A
    choice that is no channel's number is kept as 0, which no channel has: "not a live channel"."""
    chosen: dict[int, int] = {}
    for name, value in request.form.items():
        if not name.startswith("entry-") or not value:
            continue
        number = _number(name.removeprefix("entry-"))
        if number is not None:
            chosen[number] = _number(value) or 0
    return chosen


def _data(upload: FileStorage | None) -> bytes | None:
    if upload is None or not (upload.filename or "").strip():
        return None
    data: bytes = upload.read(importing.MAX_BYTES + 1)
    return data


def _upload_page(form: ImportForm, status: int = 200) -> ResponseReturnValue:
    security.no_store()
    return render_template("vault/import.html", upload=form, checked=None), status


def _preview(
    checked: importing.Plan, actor: User, *, choices: dict[int, int] | None = None, status: int | None = None
) -> ResponseReturnValue:
    importing.record_checked(checked, actor)
    db.session().commit()
    confirm = ImportConfirmForm(formdata=None, prefix=CONFIRM_PREFIX)
    confirm.format.data = checked.format.value
    confirm.token.data = _signer().dumps({"plan": checked.fingerprint(_key()), "by": actor.id})
    upload = ImportForm(formdata=None, format=checked.format.value)
    security.no_store()
    return render_template(
        "vault/import.html",
        upload=upload,
        confirm=confirm,
        checked=checked,
        channels=_live_channels() if checked.ok else [],
        choices=choices or {},
        Outcome=importing.Outcome,
    ), status or (200 if checked.ok else 422)


def _file_problems(form: ImportForm | ImportConfirmForm, checked: importing.Plan) -> bool:
    """Put a file that cannot be read at all on its field; True when there was such a problem."""
    if not checked.problems or checked.entries:
        return False
    for problem in checked.problems:
        apply_errors(form, {"password" if problem in _PASSWORD_PROBLEMS else "file": problem})
    return True


@bp.route("/credentials/import", methods=["GET", "POST"])
@requires(Permission.CREDENTIAL_MANAGE)
@in_memory(REQUEST_LIMIT)
def import_credentials() -> ResponseReturnValue:
    """Upload a password manager's export and see what each entry would do; nothing is stored yet."""
    if (stale := _stale()) is not None:
        return stale
    form = ImportForm()
    if form.validate_on_submit():
        data = _data(form.file.data)
        if data is None:
            apply_errors(form, {"file": "Choose the export file"})
        else:
            checked = importing.plan(data, form.format.data or "", password=form.password.data)
            if not _file_problems(form, checked):
                return _preview(checked, signed_in_user())
    return _upload_page(form, 422 if form.errors or form.form_errors else 200)


@bp.route("/credentials/import/confirm", methods=["POST"])
@requires(Permission.CREDENTIAL_MANAGE)
@in_memory(REQUEST_LIMIT)
def confirm_import_credentials() -> ResponseReturnValue:
    """Store the previewed file's secrets: read and checked again in full; all of it, or nothing."""
    if (stale := _stale()) is not None:
        return stale
    actor = signed_in_user()
    form = ImportConfirmForm(prefix=CONFIRM_PREFIX)
    try:
        signed = _signer().loads(form.token.data or "", max_age=TOKEN_MAX_AGE)
        chosen_format = Format(form.format.data or "")
    except (BadSignature, ValueError):
        signed = None
    if not isinstance(signed, dict) or signed.get("by") != actor.id:
        retry = ImportForm(formdata=None)
        retry.form_errors.append(
            "This confirmation is not the one the preview gave, or it is over 30 minutes old. Nothing was "
            "stored: check the file again."
        )
        return _upload_page(retry, 400)
    choices = _choices()
    data = _data(form.file.data)
    if data is None:
        retry = ImportForm(formdata=None, format=chosen_format.value)
        apply_errors(retry, {"file": "Choose the file again: nothing of it is kept between the preview and now"})
        return _upload_page(retry, 422)
    checked = importing.plan(data, chosen_format, password=form.password.data, choices=choices)
    retry = ImportForm(formdata=None, format=chosen_format.value)
    if _file_problems(retry, checked):
        return _upload_page(retry, 422)
    if signed.get("plan") != checked.fingerprint(_key()):
        flash(
            "This is not the file you previewed, or something changed since (a secret stored meanwhile): "
            "nothing was stored. Check this new preview."
        )
        return _preview(checked, actor, choices=choices, status=409)
    if not checked.ok:
        return _preview(checked, actor, choices=choices)
    try:
        applied = importing.apply(
            data, chosen_format, actor=actor, source="page", password=form.password.data, choices=choices
        )
    except importing.Refused as exc:
        db.session().rollback()
        return _preview(exc.plan, actor, choices=choices, status=409)
    flash(f"Imported: {applied.summary(done=True)}", "success")
    return redirect(url_for("vault.overview"))
