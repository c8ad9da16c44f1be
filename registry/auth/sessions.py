"""Server-side sign-in sessions and API-token authentication (Flask-Login loaders).

The browser's cookie holds a random session token; the database holds its hash
and the session's state. Signing out, deactivation, a role change, the idle
timeout (30 minutes) and the absolute timeout (12 hours) end the record, so a
replayed copy of an old cookie signs nobody in.

The app's start imports this module (its ``init_app``) and no model: each function imports the models
it uses, which are declared when first needed (``registry.declare_models``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import Flask, Request, Response, current_app, g, request
from flask import session as cookie
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from registry import db
from registry.extensions import login_manager

if TYPE_CHECKING:
    from registry.auth.models import User, UserSession

SESSION_TOKEN_KEY = "sid"
TOKEN_PREFIX = "scr_"
LAST_SEEN_RESOLUTION = dt.timedelta(seconds=60)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _limits() -> tuple[dt.timedelta, dt.timedelta]:
    settings = current_app.extensions["registry.settings"]
    return (
        dt.timedelta(minutes=settings.session_idle_minutes),
        dt.timedelta(hours=settings.session_absolute_hours),
    )


@dataclass(frozen=True)
class ProviderSession:
    """The identity provider's side of a sign-in: which identity, and the provider's session id."""

    identity_id: int
    sid: str | None
    #: When the provider last made the person prove more than one factor (its ``auth_time``): a sign-in
    #: the provider's own session answered without asking counts as a second factor, but not a fresh one.
    proved_at: dt.datetime | None = None

    def as_cookie(self) -> dict[str, object]:
        return {"identity_id": self.identity_id, "sid": self.sid}

    @classmethod
    def from_cookie(cls, value: object) -> ProviderSession | None:
        if not isinstance(value, dict) or not isinstance(value.get("identity_id"), int):
            return None
        sid = value.get("sid")
        return cls(value["identity_id"], sid if isinstance(sid, str) else None)


def start(
    user: User,
    *,
    second_factor: bool = False,
    via_setup_link: bool = False,
    provider: ProviderSession | None = None,
) -> UserSession:
    """Sign ``user`` in with a fresh session (a new token: no session fixation).

    ``second_factor``: they proved it at sign-in, which counts as a step-up now. ``via_setup_link``: they
    came through a set-up link sent to their own e-mail, so this session may set up two-factor sign-in.
    ``provider``: they signed in with the identity provider (a back-channel logout can end this session).
    """
    from registry.auth.models import UserSession

    previous = cookie.get(SESSION_TOKEN_KEY)
    if previous:
        _end_token(previous, "replaced")
    token = secrets.token_urlsafe(32)
    record = UserSession(
        token_hash=digest(token),
        user_id=user.id,
        address=request.remote_addr,
        user_agent=(request.user_agent.string or "")[:255] or None,
        second_factor_at=((provider.proved_at if provider else None) or db.utcnow()) if second_factor else None,
        setup_link_at=db.utcnow() if via_setup_link else None,
        method="oidc" if provider is not None else "password",
        identity_id=provider.identity_id if provider is not None else None,
        provider_sid=provider.sid if provider is not None else None,
    )
    db.session().add(record)
    db.session().flush()
    cookie.clear()
    cookie[SESSION_TOKEN_KEY] = token
    cookie.permanent = True
    login_user(user, remember=False)
    g.user_session = record
    return record


def current_record() -> UserSession | None:
    found: UserSession | None = g.get("user_session")
    return found


def signed_in_user() -> User:
    """The person this request is signed in as, for a view that requires a permission (so there is one)."""
    from registry.auth.models import User

    user = current_user._get_current_object()
    if not isinstance(user, User):
        raise RuntimeError("No one is signed in: only a view that requires a permission asks who is.")
    return user


def mark_second_factor() -> None:
    """This browser session has just proved its second factor (sign-in, enrolment or step-up)."""
    current = current_record()
    if current is not None:
        current.second_factor_at = db.utcnow()


PENDING_KEY = "two_factor_pending"
PENDING_SECONDS = 300


def hold_for_second_factor(
    user: User,
    next_path: str | None,
    *,
    provider: ProviderSession | None = None,
    link: dict[str, object] | None = None,
) -> None:
    """The first factor was right (the password, or the identity provider without a second factor);
    remember who is half signed in (in the signed cookie) until the code comes, and how."""
    cookie.clear()
    cookie[PENDING_KEY] = {
        "user_id": user.id,
        "at": int(db.utcnow().timestamp()),
        "next": next_path,
        "provider": provider.as_cookie() if provider is not None else None,
        "link": link,
    }


def pending_extras() -> tuple[ProviderSession | None, dict[str, object] | None]:
    """How the half-signed-in person signed in, and any identity they are linking on the way."""
    pending = cookie.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None, None
    link = pending.get("link")
    return ProviderSession.from_cookie(pending.get("provider")), link if isinstance(link, dict) else None


def pending_second_factor() -> tuple[User, str | None] | None:
    """The half-signed-in user and where they were going, if their password step is recent."""
    from registry.auth.models import User

    pending = cookie.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None
    if db.utcnow().timestamp() - float(pending.get("at", 0)) > PENDING_SECONDS:
        cookie.pop(PENDING_KEY, None)
        return None
    user = db.session().get(User, pending.get("user_id"))
    if user is None or not user.active:
        return None
    return user, pending.get("next")


def end(reason: str = "signed_out") -> None:
    """End the current browser session on the server and clear the cookie."""
    token = cookie.get(SESSION_TOKEN_KEY)
    if token:
        _end_token(token, reason)
    logout_user()
    cookie.clear()
    g.pop("user_session", None)


def _end_token(token: str, reason: str) -> None:
    from registry.auth.models import UserSession

    db.session().execute(
        update(UserSession)
        .where(UserSession.token_hash == digest(token), UserSession.ended_at.is_(None))
        .values(ended_at=db.utcnow(), end_reason=reason)
    )


def end_all(user: User, reason: str) -> int:
    """End every open session of ``user`` (deactivation, role change, password change)."""
    from registry.auth.models import UserSession

    result = db.session().execute(
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .values(ended_at=db.utcnow(), end_reason=reason)
    )
    return db.changed_rows(result)


def _load_user_from_session(user_id: str) -> User | None:
    from registry.auth.models import UserSession

    token = cookie.get(SESSION_TOKEN_KEY)
    if not token:
        return None
    record = (
        db.session().execute(select(UserSession).where(UserSession.token_hash == digest(token))).scalar_one_or_none()
    )
    if record is None or record.ended_at is not None or str(record.user_id) != user_id:
        return None
    user = record.user
    now = db.utcnow()
    idle, absolute = _limits()
    expired = None
    if not user.active:
        expired = "deactivated"
    elif now - record.last_seen_at > idle:
        expired = "idle_timeout"
    elif now - record.created_at > absolute:
        expired = "absolute_timeout"
    if expired:
        record.ended_at = now
        record.end_reason = expired
        g.session_expired = expired
        return None
    if now - record.last_seen_at > LAST_SEEN_RESOLUTION:
        record.last_seen_at = now
    g.user_session = record
    g.auth_method = "session"
    return user


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _load_user_from_token(req: object) -> User | None:
    from registry.auth.models import ApiToken

    if not request.path.startswith("/api/"):
        return None
    token = bearer_token()
    if token is None or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    record = db.session().execute(select(ApiToken).where(ApiToken.token_hash == digest(token))).scalar_one_or_none()
    if record is None or record.revoked_at is not None or not record.user.active:
        return None
    now = db.utcnow()
    if record.last_used_at is None or now - record.last_used_at > LAST_SEEN_RESOLUTION:
        token_id = record.id

        def note_use(session: Session) -> None:
            session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))

        db.even_if_refused(note_use)
    g.auth_method = "token"
    g.api_token = record
    return record.user


def new_token_value() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


login_manager.user_loader(_load_user_from_session)
login_manager.request_loader(_load_user_from_token)


class CookieSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie, without its work on requests that carry none (public verification, the API
    with a token, health checks): no signing serializer is built only to find there is nothing to read,
    and an empty session that nothing changed is left as Flask leaves it (``Vary: Cookie`` if it was
    looked at, no cookie). A request with a cookie, or a session that changed, goes to Flask as before."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if app.secret_key and not request.environ.get("HTTP_COOKIE"):
            return self.session_class()  # no cookie at all: not even the header is parsed
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not session and not session.modified:
            if session.accessed:
                if response.headers.getlist("Vary"):  # (``in`` raises and catches an exception when absent)
                    response.vary.add("Cookie")
                else:
                    # What ``response.vary.add`` writes when there is no Vary yet, without parsing a header
                    # set out of nothing and writing it back (every public answer comes here).
                    response.headers.add("Vary", "Cookie")
            return
        super().save_session(app, session, response)


def init_app(app: Flask) -> None:
    app.session_interface = CookieSessionInterface()
    login_manager.init_app(app)
    login_manager.session_protection = None
    login_manager.login_view = None
