"""The communications team's import of the Trust's existing accounts: upload, preview, confirm.

The file is read in memory and never stored (registry/web/requests.py keeps the upload off the disk);
the preview carries it to the confirmation with a signed token (:mod:`registry.web.previews`), and
confirming checks it again from scratch (:func:`registry.channels.importing.apply`), all of it or
nothing.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from registry import db
from registry.auth.permissions import Permission, requires
from registry.channels import importing
from registry.channels.forms import InventoryConfirmForm, InventoryUploadForm
from registry.channels.views import bp
from registry.errors import RegistryError
from registry.text import clean
from registry.web import previews
from registry.web.current import signed_in
from registry.web.requests import in_memory

TEMPLATE = "channels/import.html"
REQUEST_LIMIT = previews.request_limit(importing.MAX_BYTES)
SIGNER = previews.PreviewSigner("registry.channels-import")


def _bound(checked: importing.Plan, filename: str) -> str:
    """What the token binds: what the import would do, and the file's name (it goes into each channel's
    history and audit event, so the hidden field cannot be changed to say something else)."""
    return f"{checked.fingerprint()}|{filename}"


def _preview(checked: importing.Plan, data: bytes, *, filename: str, status: int | None = None) -> ResponseReturnValue:
    confirm = InventoryConfirmForm(formdata=None)
    confirm.file.data = previews.encoded(data)
    confirm.token.data = SIGNER.token(data, _bound(checked, filename), signed_in())
    confirm.filename.data = filename
    return render_template(
        TEMPLATE,
        upload=InventoryUploadForm(formdata=None),
        checked=checked,
        confirm=confirm,
        filename=filename,
        Action=importing.Action,
    ), status or (200 if checked.ok else 422)


@bp.route("/import", methods=["GET", "POST"])
@requires(Permission.CHANNEL_OPERATE)
@in_memory(REQUEST_LIMIT)
def import_inventory() -> ResponseReturnValue:
    """Upload the inventory and see what each row would do; nothing changes until it is confirmed."""
    form = InventoryUploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        if upload is None or not (upload.filename or "").strip():
            form.file.errors = ["Select a CSV or Excel file"]
        else:
            data = upload.read()
            filename = importing.echo(upload.filename or "")
            return _preview(importing.plan(data), data, filename=filename)
    return render_template(TEMPLATE, upload=form, checked=None), 422 if form.errors else 200


@bp.route("/import/confirm", methods=["POST"])
@requires(Permission.CHANNEL_OPERATE)
@in_memory(REQUEST_LIMIT)
def confirm_import() -> ResponseReturnValue:
    """Import the previewed file: checked again in full; all of it, or nothing."""
    form = InventoryConfirmForm()
    carried = SIGNER.carried(form.file.data, form.token.data, signed_in()) if form.validate() else None
    if carried is None:
        upload = InventoryUploadForm(formdata=None)
        upload.form_errors.append(
            "This confirmation is not the one the preview gave, or it is over an hour old. Nothing was changed: "
            "upload the file again."
        )
        return render_template(TEMPLATE, upload=upload, checked=None), 400
    named = form.filename.data or ""
    filename = importing.echo(clean(named)) or "the file"
    checked = importing.plan(carried.data)
    if carried.fingerprint != _bound(checked, named) or not checked.ok:
        flash("Something changed since your preview (someone may have added a channel): check the new preview.")
        return _preview(checked, carried.data, filename=filename, status=409)
    try:
        # Checked again from scratch, in this transaction: all of it, or nothing.
        applied = importing.apply(carried.data, actor=signed_in(), filename=filename)
    except RegistryError as exc:
        db.session().rollback()
        flash(f"Nothing was imported: {exc.message}")
        return _preview(importing.plan(carried.data), carried.data, filename=filename, status=409)
    flash(f"Imported: {applied.plan.summary()}", "success")
    return redirect(url_for("channels.inventory"))
