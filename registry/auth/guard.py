"""Central enforcement of route policies and CSRF.

Runs before every view: a route that declares no policy is refused (fail
closed), a public route passes, anything else needs a signed-in user whose
roles grant the declared permission. A route for a machine client (``BearerClient``: the
provisioning client) is passed to that client's own bearer-token check instead. Browser forms and session-authenticated
API calls must carry a CSRF token; bearer-token API calls are exempt because a
browser never attaches the token by itself.
"""

from __future__ import annotations

import logging

from flask import Flask, Request, abort, current_app, flash, g, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from registry.auth import sessions
from registry.auth.permissions import EVERYDAY, PUBLIC, BearerClient, Permission, is_called_by_servers, policy_of
from registry.extensions import csrf

log = logging.getLogger(__name__)

# Pages a user who must change their password may still reach.
EXPIRY_MESSAGES = {
    "idle_timeout": "You were signed out because you had not used the service for {idle} minutes. Sign in again.",
    "absolute_timeout": "You were signed out because you had been signed in for {absolute} hours. Sign in again.",
}
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def wants_json() -> bool:
    return request.path.startswith("/api/")


def _refuse_nul(asked: Request) -> None:
    """A NUL character has no place in a form or a query; PostgreSQL cannot even store it."""
    if asked.path.startswith("/api/"):  # wants_json()
        return  # the API names the offending field in its 422
    values = [
        *asked.args.values(),
        *(asked.form.values() if asked.mimetype == "application/x-www-form-urlencoded" else ()),
    ]
    if any("\x00" in value for value in values):
        abort(400, "Part of what was sent contains a character that is not allowed. Check it and try again.")


def _enforce() -> ResponseReturnValue | None:
    # The request and app themselves, each looked up once: every attribute read through werkzeug's proxy
    # is first looked for on the proxy, which raises and catches an AttributeError (every request comes here).
    asked: Request = request._get_current_object()  # type: ignore[attr-defined]
    _refuse_nul(asked)
    endpoint = asked.endpoint
    if endpoint is None:
        return None  # no route matched: the 404/405 handlers answer
    view = current_app._get_current_object().view_functions.get(endpoint)  # type: ignore[attr-defined]
    policy = policy_of(view)
    if policy is None:
        log.error("Route %s declares no access policy; refusing it.", endpoint)
        abort(403)
    if isinstance(policy, BearerClient):
        # A machine client proves itself with its own bearer token on every request and never holds a
        # cookie or a session: it is no signed-in user, and CSRF (which protects cookies) does not apply.
        answer: ResponseReturnValue | None = policy.authenticate()
        return answer
    if policy is not PUBLIC and not current_user.is_authenticated:
        if wants_json():
            abort(401)
        if g.get("session_expired") in EXPIRY_MESSAGES:
            settings = current_app.extensions["registry.settings"]
            flash(
                EXPIRY_MESSAGES[g.session_expired].format(
                    idle=settings.session_idle_minutes, absolute=settings.session_absolute_hours
                )
            )
        return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))
    if asked.method not in _SAFE_METHODS:
        _ = current_user.is_authenticated  # loads the user, which tells a token call from a session
        if g.get("auth_method") != "token" and not is_called_by_servers(view):
            csrf.protect()
    if policy is PUBLIC:
        return None
    assert isinstance(policy, Permission)
    if not current_user.can(policy):
        abort(403)
    if _second_factor_missing():
        if policy not in EVERYDAY:
            if wants_json():
                abort(403, "Sign in with two-factor authentication (or use an API token) for this.")
            from registry.auth import mfa  # (with the models it reads: the start imports neither)

            if not mfa.is_enrolled(current_user):
                flash("Set up two-factor sign-in first: your role gives you access to sensitive information.")
                return redirect(url_for("auth.two_factor"))
            return redirect(url_for("auth.step_up", next=request.full_path if request.method == "GET" else None))
        # An everyday page: from here on (services, templates) the person may do only everyday things,
        # so no route can reach a privileged rule through a permission everyone holds.
        g.everyday_only = current_user.id
    return None


def _second_factor_missing() -> bool:
    """Comms and admins in a browser session that has not proved a second factor.

    An API token counts as its user's second factor.
    """
    from registry.auth import mfa

    if g.get("auth_method") != "session" or not mfa.requires_two_factor(current_user):
        return False
    record = sessions.current_record()
    return record is None or record.second_factor_at is None


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    app.before_request(_enforce)
