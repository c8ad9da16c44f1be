"""The administrators' import of users from a CSV file: upload, preview, confirm.

The file is read in memory and never stored (registry/web/requests.py keeps the upload off the disk).
The preview page carries the file back, base64-encoded, with a token signed by the server that names
the file's digest, what the preview said it would do and who saw it. Confirming checks the file again
from scratch (:func:`registry.auth.importing.apply`) and refuses, changing nothing, when the token is
not the server's, is another administrator's or is stale, the file is not the one previewed, or what
the import would do is no longer what was previewed (someone changed a user meanwhile).
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from registry import db
from registry.auth import importing
from registry.auth.blueprint import bp
from registry.auth.forms import ImportConfirmForm, ImportUploadForm
from registry.auth.models import User
from registry.auth.permissions import Permission, requires
from registry.auth.sessions import signed_in_user
from registry.errors import Invalid
from registry.notifications.services import smtp_configured
from registry.web import previews
from registry.web.forms import apply_errors
from registry.web.requests import in_memory

REQUEST_LIMIT = previews.request_limit(importing.MAX_BYTES)
SIGNER = previews.PreviewSigner("registry.users-import")


def _preview(
    checked: importing.Plan,
    data: bytes,
    actor: User,
    *,
    filename: str,
    confirm: ImportConfirmForm | None = None,
    status: int | None = None,
) -> ResponseReturnValue:
    confirm = confirm or ImportConfirmForm(formdata=None)
    confirm.csv.data = previews.encoded(data)
    confirm.token.data = SIGNER.token(data, checked.fingerprint(), actor)
    return render_template(
        "auth/users_import.html",
        upload=ImportUploadForm(formdata=None),
        checked=checked,
        confirm=confirm,
        filename=filename,
        smtp=smtp_configured(),
        Action=importing.Action,
    ), status or (200 if checked.ok else 422)


@bp.route("/admin/users/import", methods=["GET", "POST"])
@requires(Permission.USER_MANAGE)
@in_memory(REQUEST_LIMIT)
def import_users() -> ResponseReturnValue:
    """Upload a CSV file and see what each row would do; nothing changes until it is confirmed."""
    form = ImportUploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        if upload is None or not (upload.filename or "").strip():
            apply_errors(form, {"file": "Select a CSV file"})
        else:
            data = upload.read()
            checked = importing.plan(data, actor=signed_in_user())
            return _preview(checked, data, signed_in_user(), filename=importing.echo(upload.filename or ""))
    return render_template(
        "auth/users_import.html", upload=form, checked=None, smtp=smtp_configured()
    ), 422 if form.errors else 200


@bp.route("/admin/users/import/confirm", methods=["POST"])
@requires(Permission.USER_MANAGE)
@in_memory(REQUEST_LIMIT)
def confirm_import() -> ResponseReturnValue:
    """Import the previewed file: checked again in full; all of it, or nothing."""
    actor = signed_in_user()
    form = ImportConfirmForm()
    carried = SIGNER.carried(form.csv.data, form.token.data, actor)
    if carried is None:
        return _refused()
    data = carried.data
    checked = importing.plan(data, actor=actor)
    if carried.fingerprint != checked.fingerprint():
        flash("Something changed since your preview (someone may have changed a user): check the new preview.")
        return _preview(checked, data, actor, filename="the file", confirm=form, status=409)
    if not form.validate():
        return _preview(checked, data, actor, filename="the file", confirm=form, status=422)
    try:
        # Checked again from scratch, in this transaction: all of it, or nothing (a Refused answers 409).
        applied = importing.apply(
            data,
            actor=actor,
            reason=form.reason.data,
            send_setup_links=bool(form.send_setup_links.data) and smtp_configured(),
            source="page",
        )
    except Invalid as exc:
        db.session().rollback()
        apply_errors(form, exc.errors)
        return _preview(checked, data, actor, filename="the file", confirm=form, status=422)
    said = f"Imported: {applied.plan.summary()}"
    if applied.requests:
        said += (
            f" {len(applied.requests)} request{'' if len(applied.requests) == 1 else 's'} for privileged roles "
            "now wait for a second system administrator."
        )
    if applied.setup_links:
        said += f" {applied.setup_links} set-up link{'' if applied.setup_links == 1 else 's'} e-mailed."
    flash(said, "success")
    return redirect(url_for("auth.users"))


def _refused() -> ResponseReturnValue:
    form = ImportUploadForm(formdata=None)
    form.form_errors.append(
        "This confirmation is not the one the preview gave, or it is over an hour old. Nothing was changed: "
        "upload the file again."
    )
    return render_template("auth/users_import.html", upload=form, checked=None, smtp=smtp_configured()), 400
