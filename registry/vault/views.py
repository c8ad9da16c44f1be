"""Credential custody pages: a channel's secrets, reveals, codes, and the rotation overview."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from registry import db
from registry.auth.models import User
from registry.auth.permissions import Permission, requires
from registry.auth.sessions import signed_in_user
from registry.channels import services as channels
from registry.vault import health, reveals, services
from registry.vault.forms import CodeForm, GenerateForm, RevealForm, StoreForm
from registry.vault.models import CredentialKind
from registry.web import security
from registry.web.pagination import paged, paginate
from registry.web.refusals import attempt

bp = Blueprint("vault", __name__)
HEALTH_PER_PAGE = 25


def _user() -> User:
    return signed_in_user()


def _page(
    reference: str,
    *,
    store_form: StoreForm | None = None,
    generate_form: GenerateForm | None = None,
    reveal_forms: dict[str, RevealForm] | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    channel = channels.get_channel(reference)
    credentials = services.credentials_of(channel)
    reveal_forms = reveal_forms or {}
    for credential in credentials:
        reveal_forms.setdefault(credential.kind, RevealForm(prefix=credential.kind, formdata=None))
    age = reveals.step_up_age()
    return render_template(
        "vault/channel.html",
        channel=channel,
        credentials=credentials,
        versions={c.id: services.versions_of(c) for c in credentials},
        history={c.id: reveals.reveal_history(c, limit=20) for c in credentials},
        health=health.health_of(credentials),
        breach_list=health.breach_list_configured(),
        store_form=store_form or StoreForm(formdata=None),
        generate_form=generate_form or GenerateForm(formdata=None),
        reveal_forms=reveal_forms,
        code_form=CodeForm(formdata=None),
        can_reveal=_user().can(Permission.CREDENTIAL_REVEAL),
        can_manage=_user().can(Permission.CREDENTIAL_MANAGE),
        step_up_fresh=reveals.step_up_fresh(),
        step_up_minutes_left=max(0, int((reveals.STEP_UP_WINDOW - age).total_seconds() // 60)) if age else 0,
        kinds=list(CredentialKind),
    ), status


@bp.route("/channels/<reference>/credentials")
@requires(Permission.CREDENTIAL_READ)
def channel_credentials(reference: str) -> ResponseReturnValue:
    return _page(reference)


@bp.route("/channels/<reference>/credentials", methods=["POST"])
@requires(Permission.CREDENTIAL_MANAGE)
def store(reference: str) -> ResponseReturnValue:
    channel = channels.get_channel(reference)
    form = StoreForm()
    status = 422
    if form.validate_on_submit():
        done = attempt(
            lambda: services.store(
                channel, form.kind.data or "", form.value.data or "", form.reason.data or "", _user()
            ),
            form,
        )
        if done.result is not None:
            credential = done.result
            flash(f"{credential.kind_enum.label} stored as version {credential.current_version}.", "success")
            return redirect(url_for("vault.channel_credentials", reference=channel.reference))
        status = done.status
    form.value.data = ""  # a refusal never sends a secret back; it is typed again
    security.no_store()
    return _page(reference, store_form=form, status=status)


@bp.route("/channels/<reference>/credentials/generate", methods=["POST"])
@requires(Permission.CREDENTIAL_MANAGE)
def generate(reference: str) -> ResponseReturnValue:
    """Put a new random password into the store form (nothing is stored until it is saved)."""
    form = GenerateForm()
    store_form = StoreForm(formdata=None, kind=CredentialKind.PASSWORD.value)
    if form.validate_on_submit():
        classes = [name for name in ("lower", "upper", "digits", "symbols") if getattr(form, name).data]
        done = attempt(lambda: services.generate_password(form.length.data or 24, classes), form)
        store_form.value.data = done.result
    security.no_store()
    return _page(reference, store_form=store_form, generate_form=form, status=422 if form.errors else 200)


@bp.route("/channels/<reference>/credentials/<kind>/reveal", methods=["POST"])
@requires(Permission.CREDENTIAL_READ)
def reveal(reference: str, kind: str) -> ResponseReturnValue:
    channel = channels.get_channel(reference)
    credential = services.get_credential(channel, kind)
    form = RevealForm(prefix=credential.kind)
    if not form.validate_on_submit():
        abort(400)
    version = form.version.data or credential.current_version
    # A refused reveal is itself on the record (the service keeps it): nothing is rolled back.
    done = attempt(lambda: reveals.reveal(credential, _user(), form.reason.data, version=version), form, keep=True)
    if done.result is None:
        return _page(reference, reveal_forms={credential.kind: form}, status=done.status)
    security.no_store()
    return render_template(
        "vault/reveal.html", channel=channel, credential=credential, version=version, value=done.result
    )


@bp.route("/channels/<reference>/credentials/<kind>/code", methods=["POST"])
@requires(Permission.CREDENTIAL_READ)
def code(reference: str, kind: str) -> ResponseReturnValue:
    channel = channels.get_channel(reference)
    credential = services.get_credential(channel, kind)
    form = CodeForm()
    if not form.validate_on_submit():
        abort(400)
    # The page shows no code form again: the reason asked for is said above it.
    done = attempt(lambda: reveals.totp_code(credential, _user(), form.reason.data), keep=True)
    if done.result is None:
        return _page(reference, status=done.status)
    security.no_store()
    return render_template("vault/code.html", channel=channel, credential=credential, result=done.result)


@bp.route("/channels/<reference>/credentials/<kind>/copied", methods=["POST"])
@requires(Permission.CREDENTIAL_REVEAL)
def copied(reference: str, kind: str) -> ResponseReturnValue:
    """The reveal page's Copy button reports here, so copying is in the audit trail too."""
    channel = channels.get_channel(reference)
    credential = services.get_credential(channel, kind)
    try:
        version = int(request.form.get("version", ""))
    except ValueError:
        abort(400)
    reveals.record_copy(credential, _user(), version)
    return "", 204


@bp.route("/credentials")
@requires(Permission.CREDENTIAL_READ)
def overview() -> ResponseReturnValue:
    """What needs rotating across every channel, and the passwords' health (weak, reused, old, breached)."""
    raw = request.args.get("health_page", "")
    number = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 6 else 1
    findings = paginate(db.session(), health.with_findings(), max(number, 1), HEALTH_PER_PAGE)
    return render_template(
        "vault/overview.html",
        page=paged(services.needing_rotation(), 50),
        summary=health.summary(),
        findings=findings,
        health=health.health_of(findings.items),
        breach_list=health.breach_list_configured(),
    )
