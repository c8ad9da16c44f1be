"""Sign-in, step-up and sign-out with the organisation's identity provider (on the auth blueprint).

- ``/login/provider``: off to the provider (authorisation code with PKCE, state and nonce).
- ``/login/provider/callback``: the redirect URI to register with the provider.
- ``/account/step-up/provider``: a fresh authentication (``max_age=0``, ``prompt=login``) before a reveal.
- ``/login/provider/backchannel-logout``: the back-channel logout URI to register with the provider.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask import session as cookie
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import and_, delete, select, true, update
from sqlalchemy.exc import IntegrityError

from config import LocalSignIn, OidcSettings
from registry import db
from registry.audit.models import AuditAction
from registry.audit.services import Actor, record
from registry.auth import devices, federation, mfa, oidc, services, sessions
from registry.auth.blueprint import after_sign_in, bp, safe_next
from registry.auth.models import ProviderLogout, User, UserIdentity, UserSession
from registry.auth.permissions import Permission, called_by_servers, public, requires
from registry.auth.sessions import ProviderSession, signed_in_user
from registry.extensions import limiter
from registry.web import security
from registry.web.throttle import SIGN_IN_PER_ADDRESS

NEXT_KEY = "provider_next"
STEP_UP_KEY = "provider_step_up"
#: An identity waiting to be linked to an existing account once its owner signs in with its password.
LINK_KEY = "provider_link"
LINK_SECONDS = 600


def configured_or_404() -> OidcSettings:
    found = oidc.settings()
    if found is None:
        abort(404)
    return found


def external_url(endpoint: str) -> str:
    """This site's address for ``endpoint``, as the provider must call it (``REGISTRY_PUBLIC_BASE_URL``
    where set, so a proxy's internal name never reaches the provider)."""
    base = current_app.extensions["registry.settings"].public_base_url
    if base:
        return str(urljoin(base.rstrip("/") + "/", url_for(endpoint).lstrip("/")))
    return url_for(endpoint, _external=True)


def local_sign_in_mode() -> str:
    mode: LocalSignIn = current_app.extensions["registry.settings"].local_sign_in
    return mode.value


def local_sign_in_allowed(user: User | None = None) -> bool:
    """Whether a password may be used (for ``user``, when named)."""
    mode: LocalSignIn = current_app.extensions["registry.settings"].local_sign_in
    if mode is LocalSignIn.ON:
        return True
    if mode is LocalSignIn.BREAK_GLASS:
        return user is None or user.break_glass
    return False


STATE_PREFIX = "_state_provider_"
LINKS_OFF = "Set-up links are not used here any more: sign in with your organisation's account from the sign-in page."


@dataclass(frozen=True)
class PasswordRefusal:
    id: int
    reason: str
    actor: Actor


def password_refusal(user: User | None) -> PasswordRefusal | None:
    """Why ``user`` may not use a password here, if they may not (decided before the password is checked)."""
    if user is None:
        return None
    if not local_sign_in_allowed(user):
        return PasswordRefusal(user.id, "password sign-in is only for break-glass accounts", Actor.of(user))
    configured = oidc.settings()
    if configured is not None and configured.maps_roles and not user.break_glass:
        linked = db.session().execute(select(UserIdentity.id).where(UserIdentity.user_id == user.id)).first()
        if linked is not None:
            return PasswordRefusal(
                user.id, "roles come from the identity provider: this account signs in there", Actor.of(user)
            )
    return None


def _to_provider(*, fresh: bool) -> ResponseReturnValue:
    """Off to the provider. Earlier unfinished sign-ins' state is dropped (only the newest can finish),
    so the cookie does not grow with every abandoned attempt."""
    for key in [key for key in cookie if key.startswith(STATE_PREFIX)]:
        cookie.pop(key)
    try:
        oidc.metadata()
        answer: ResponseReturnValue = oidc.client().authorize_redirect(
            external_url("auth.provider_callback"), **oidc.authorise_url_kwargs(fresh=fresh)
        )
    except (OSError, ValueError):
        return _refused(oidc.UNREACHABLE, 503)
    return answer


@bp.route("/login/provider")
@public
def provider_start() -> ResponseReturnValue:
    configured_or_404()
    cookie[NEXT_KEY] = safe_next(request.args.get("next"))
    cookie.pop(STEP_UP_KEY, None)
    return _to_provider(fresh=False)


@bp.route("/account/step-up/provider")
@requires(Permission.ACCOUNT_MANAGE_OWN)
def provider_step_up() -> ResponseReturnValue:
    """Back to the provider to sign in again, whoever is signed in there, before revealing a secret."""
    configured_or_404()
    cookie[NEXT_KEY] = safe_next(request.args.get("next"))
    cookie[STEP_UP_KEY] = signed_in_user().id
    return _to_provider(fresh=True)


def _refused(message: str, status: int = 403) -> ResponseReturnValue:
    security.no_store()
    return render_template("auth/provider_refused.html", message=message, password=local_sign_in_allowed()), status


@bp.route("/login/provider/callback")
@public
@limiter.limit(SIGN_IN_PER_ADDRESS)
def provider_callback() -> ResponseReturnValue:
    configured = configured_or_404()
    next_path = cookie.pop(NEXT_KEY, None)
    step_up_for = cookie.pop(STEP_UP_KEY, None)
    if STATE_PREFIX + request.args.get("state", "") not in cookie:
        # Not the answer to a sign-in this browser started (or an old one, sent again): nothing it says,
        # an ``error`` included, is taken.
        federation.refuse(None, "state does not match (an old or replayed sign-in)")
        return _refused(oidc.Refused("").message)
    try:
        claims, _ = oidc.complete_sign_in()
    except oidc.Refused as exc:
        federation.refuse(None, exc.reason)
        return _refused(exc.message)
    if step_up_for is not None:
        return _step_up(claims, step_up_for, next_path)
    savepoint = db.session().begin_nested()
    try:
        user, identity = federation.find_or_create(claims, configured)
    except federation.NeedsPassword as exc:
        savepoint.rollback()
        return _offer_link(claims, exc.user)
    except oidc.Refused as exc:
        savepoint.rollback()
        federation.refuse(claims, exc.reason)
        return _refused(exc.message)
    savepoint.commit()
    now = db.utcnow()
    proved_at = min(claims.auth_time, now) if claims.auth_time else now - dt.timedelta(days=1)
    provider = ProviderSession(identity.id, claims.sid, proved_at=proved_at)
    if claims.multi_factor:
        services.sign_in(user, second_factor="identity provider", provider=provider)
    elif mfa.requires_two_factor(user) and mfa.is_enrolled(user):
        sessions.hold_for_second_factor(user, next_path, provider=provider)
        return redirect(url_for("auth.login_second_factor"))
    else:
        services.sign_in(user, provider=provider)
    devices.remember(user)
    return after_sign_in(user, next_path)


def _offer_link(claims: oidc.Claims, user: User) -> ResponseReturnValue:
    """An account with this e-mail exists and was never linked: its owner proves it with its password
    (an e-mail address alone may have belonged to someone else)."""
    if user.break_glass or not local_sign_in_allowed(user) or not user.active or not user.password_hash:
        federation.refuse(claims, "e-mail already in use by an account not linked to this identity", user=user)
        return _refused(
            f"There is already an account in this service for {user.email} that is not linked to your "
            "organisation's account. Ask a system administrator to link them."
        )
    federation.refuse(claims, "e-mail already in use: waiting for the account's password to link", user=user)
    cookie[LINK_KEY] = {
        "issuer": claims.issuer,
        "subject": claims.subject,
        "user_id": user.id,
        "at": int(db.utcnow().timestamp()),
    }
    flash(
        f"You already have an account in this service ({user.email}). Sign in once with its password to link "
        "it to your organisation's account; after that, use the sign-in button."
    )
    return redirect(url_for("auth.login"))


def pending_link() -> dict[str, Any] | None:
    """The identity to link at this password sign-in, if one is waiting and recent."""
    waiting = cookie.get(LINK_KEY)
    if not isinstance(waiting, dict) or db.utcnow().timestamp() - float(waiting.get("at", 0)) > LINK_SECONDS:
        return None
    return waiting


def complete_link(user: User, waiting: dict[str, object] | None) -> None:
    """Link the waiting identity to ``user``, who has just signed in with their password (and code)."""
    configured = oidc.settings()
    if waiting is None or configured is None or waiting.get("user_id") != user.id:
        return
    if waiting.get("issuer") != configured.issuer or not isinstance(waiting.get("subject"), str):
        return
    claims = oidc.Claims(
        issuer=configured.issuer,
        subject=str(waiting["subject"]),
        email=None,
        name=None,
        tenant=None,
        roles=(),
        multi_factor=False,
        auth_time=None,
        sid=None,
    )
    if federation.identity_of(claims) is None:
        federation.link(user, claims, "password")
        flash("Your organisation's account is now linked: next time, use the sign-in button.", "success")


def _step_up(claims: oidc.Claims, user_id: object, next_path: str | None) -> ResponseReturnValue:
    user = signed_in_user() if _signed_in_as(user_id) else None
    identity = federation.identity_of(claims)
    why = None
    if user is None or identity is None or identity.user_id != user.id:
        why = "step-up by a different person"
    elif claims.auth_time is None or db.utcnow() - claims.auth_time > oidc.FRESH_AUTHENTICATION + dt.timedelta(
        seconds=oidc.CLOCK_SKEW_SECONDS
    ):
        why = "step-up: the provider did not sign the person in again"
    elif mfa.requires_two_factor(user) and not claims.multi_factor:
        why = "step-up: the provider did not confirm a second factor"
    if why is not None or user is None:
        federation.refuse(claims, why or "step-up refused", user=user)
        flash(
            "That did not confirm it is you: sign in again at your organisation's page when asked"
            + (", with your second factor" if why and "second factor" in why else "")
            + "."
        )
        return redirect(url_for("auth.step_up", next=next_path))
    configured = oidc.settings()
    assert configured is not None and claims.auth_time is not None
    if federation.sync_roles(user, claims, configured):
        # The provider changed what they may do: that ended their sessions, this one included.
        sessions.end("roles_changed")
        flash("Your roles in this service have changed. Sign in again.")
        return redirect(url_for("auth.login"))
    current = sessions.current_record()
    if current is not None:
        current.second_factor_at = min(claims.auth_time, db.utcnow())
    record(AuditAction.USER_STEP_UP, "user", user.id, {"second_factor": "identity provider"}, actor=user)
    return redirect(safe_next(next_path))


def _signed_in_as(user_id: object) -> bool:
    return bool(current_user.is_authenticated) and isinstance(user_id, int) and current_user.id == user_id


def signed_in_with_provider() -> bool:
    record_ = sessions.current_record()
    return record_ is not None and record_.method == "oidc" and oidc.settings() is not None


#: The provider sends one token per sign-out; more than this from one address is not a provider.
BACKCHANNEL_PER_ADDRESS = "120 per minute"


@bp.route("/login/provider/backchannel-logout", methods=["POST"])
@called_by_servers
@limiter.limit(BACKCHANNEL_PER_ADDRESS)
def provider_backchannel_logout() -> ResponseReturnValue:
    """OpenID Connect Back-Channel Logout 1.0: the provider says a person signed out there (or left)."""
    configured = configured_or_404()
    try:
        token = oidc.check_logout_token(request.form.get("logout_token", ""))
        _refuse_replay(configured.issuer, token)
    except oidc.Refused as exc:
        record(AuditAction.USER_PROVIDER_LOGOUT_REFUSED, "user", "-", {"reason": exc.reason}, actor=federation.PROVIDER)
        db.keep_on_error()
        # Why is in the audit trail; the caller is told only that it was refused.
        return _logout_answer({"error": "invalid_request", "error_description": "The logout token was refused."}, 400)
    # A session id names one sign-in; a subject alone, all of that person's (Entra's ``sub`` is not the ``oid``
    # a person is known by here, so a token with a sid is matched on it).
    identities = select(UserIdentity.id).where(UserIdentity.issuer == configured.issuer)
    if token.sid is None and token.subject is not None:
        identities = identities.where(UserIdentity.subject == token.subject)
    ended_where = and_(
        UserSession.identity_id.in_(identities),
        UserSession.provider_sid == token.sid if token.sid is not None else true(),
    )
    ended_users = (
        db.session()
        .execute(select(UserSession.user_id).where(ended_where, UserSession.ended_at.is_(None)).distinct())
        .scalars()
        .all()
    )
    ended = db.changed_rows(
        db.session().execute(
            update(UserSession)
            .where(ended_where, UserSession.ended_at.is_(None))
            .values(ended_at=db.utcnow(), end_reason="provider_logout")
            .execution_options(synchronize_session=False)
        )
    )
    record(
        AuditAction.USER_PROVIDER_LOGOUT,
        "user",
        ",".join(str(u) for u in sorted(ended_users)) or "-",
        {"sessions_ended": ended, "by_sid": token.sid is not None},
        actor=federation.PROVIDER,
    )
    return _logout_answer({}, 200)


def _refuse_replay(issuer: str, token: oidc.LogoutToken) -> None:
    # Tokens past their expiry are refused by it, so their record of use may go.
    db.session().execute(delete(ProviderLogout).where(ProviderLogout.expires_at < db.utcnow()))
    savepoint = db.session().begin_nested()
    try:
        db.session().add(ProviderLogout(issuer=issuer, jti=token.jti, expires_at=token.expires_at))
        db.session().flush()
    except IntegrityError:
        savepoint.rollback()
        raise oidc.Refused("replayed logout token") from None
    savepoint.commit()


def _logout_answer(body: dict[str, str], status: int) -> ResponseReturnValue:
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response
