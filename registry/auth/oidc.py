"""Sign-in with the organisation's OpenID provider (NHSmail is Microsoft Entra ID), with Authlib.

The protocol lives here: discovery, the authorisation code flow with PKCE, state and nonce, the ID
token's checks (signature from the provider's JWKS, fetched again when a new key id appears, so a key
rollover needs nothing from us; ``iss``, ``aud``, ``exp``, ``iat``, ``nonce``; the tenant and domain
allow-lists), and the back-channel logout token's checks. Who the person is in the Registry, and what
they may do, is :mod:`registry.auth.federation`'s business.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app

from config import OidcSettings

# Authlib and joserfc are imported where a provider is configured or a token is read: most
# deployments' processes never need them, and they cost start-up time in every one.
if TYPE_CHECKING:
    from joserfc.jwk import KeySet

log = logging.getLogger(__name__)

EXTENSION = "registry.oidc"
#: How far the provider's clock may be from ours.
CLOCK_SKEW_SECONDS = 60
#: A fresh authentication (before revealing a secret) is one at most this old.
FRESH_AUTHENTICATION = dt.timedelta(minutes=5)
#: The provider must answer within this; a hung provider must not hang a worker.
TIMEOUT_SECONDS = 10
UNREACHABLE = "Your organisation's sign-in service did not answer. Try again in a few minutes."
BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
#: A logout token issued longer ago than this is refused (it should be delivered at once).
LOGOUT_TOKEN_MAX_AGE = dt.timedelta(minutes=5)
#: The error codes an authorisation response may carry (RFC 6749 4.1.2.1, OIDC Core 3.1.2.6); any other
#: text in ``error`` is not recorded (it comes from whoever made the request).
PROVIDER_ERRORS = frozenset(
    {
        "invalid_request",
        "unauthorized_client",
        "access_denied",
        "unsupported_response_type",
        "invalid_scope",
        "server_error",
        "temporarily_unavailable",
        "interaction_required",
        "login_required",
        "account_selection_required",
        "consent_required",
        "invalid_request_uri",
        "invalid_request_object",
        "request_not_supported",
        "request_uri_not_supported",
        "registration_not_supported",
    }
)
#: The key set is fetched again at most this often when a token names a key id not in it (an attacker can
#: send such tokens at will), and at least this often in any case (a key the provider withdrew stops counting).
REFETCH_AT_MOST_EVERY = dt.timedelta(minutes=1)
KEYS_AT_MOST = dt.timedelta(hours=24)
SIGNING_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]


class Refused(Exception):
    """The provider's answer cannot be trusted or the person may not sign in: ``reason`` is for the
    audit trail (short, no token content), ``message`` for the person."""

    def __init__(self, reason: str, message: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.message = message or (
            "Sign-in with your organisation's account did not work. Try again; if it keeps happening, "
            "tell the communications team, quoting the time."
        )


@dataclass(frozen=True)
class Claims:
    """What the Registry takes from a validated ID token."""

    issuer: str
    #: Entra's ``oid`` where the provider gives one (stable across applications), else ``sub``.
    subject: str
    email: str | None
    name: str | None
    tenant: str | None
    roles: tuple[str, ...]
    #: The provider asserted more than one factor (``amr`` has ``mfa``, or an ``acr`` configured as such).
    multi_factor: bool
    auth_time: dt.datetime | None
    sid: str | None


def settings() -> OidcSettings | None:
    found: OidcSettings | None = current_app.extensions["registry.settings"].oidc
    return found


def client() -> Any:
    """The Authlib client of this app's provider (only when one is configured)."""
    return current_app.extensions[EXTENSION].provider


def init_app(app: Flask) -> None:
    configured: OidcSettings | None = app.extensions["registry.settings"].oidc
    if configured is None:
        return
    from authlib.integrations.flask_client import OAuth
    from authlib.oauth2.rfc7523 import PrivateKeyJWT

    # Authlib logs the PKCE verifier at DEBUG: never let a debug log level reach it.
    logging.getLogger("authlib").setLevel(max(logging.INFO, logging.getLogger("authlib").getEffectiveLevel()))
    oauth = OAuth()
    oauth.init_app(app)
    client_kwargs: dict[str, Any] = {
        "scope": configured.scopes,
        "code_challenge_method": "S256",
        "default_timeout": TIMEOUT_SECONDS,
    }
    extra: dict[str, Any] = {}
    if configured.private_key is not None:
        client_kwargs["token_endpoint_auth_method"] = "private_key_jwt"
        extra["client_auth_methods"] = [PrivateKeyJWT()]
    oauth.register(
        "provider",
        client_id=configured.client_id,
        client_secret=configured.private_key or configured.client_secret,
        server_metadata_url=configured.issuer + "/.well-known/openid-configuration",
        client_kwargs=client_kwargs,
        **extra,
    )
    app.extensions[EXTENSION] = oauth


def _reason_of(exc: Exception) -> str:
    """A short, fixed description of why a token was refused (never the token's content)."""
    from joserfc import errors as jose_errors

    if isinstance(exc, jose_errors.ExpiredTokenError):
        return "expired token"
    if isinstance(exc, jose_errors.ClaimError):
        known = {
            "nonce": "bad nonce",
            "iss": "wrong issuer",
            "aud": "wrong audience",
            "azp": "wrong audience",
            "iat": "token issued in the future",
            "nbf": "token not yet valid",
        }
        return known.get(exc.claim, f"bad claim {exc.claim}"[:60])
    if isinstance(exc, jose_errors.BadSignatureError):
        return "bad signature"
    if isinstance(exc, jose_errors.InvalidKeyIdError):
        return "unknown signing key"
    return f"unreadable token ({type(exc).__name__})"


def complete_sign_in() -> tuple[Claims, Mapping[str, Any]]:
    """Exchange the code in this callback for tokens and check the ID token fully.

    Returns the claims and the raw validated claim set; raises :class:`Refused`.
    """
    from authlib.integrations.base_client import OAuthError
    from joserfc import errors as jose_errors

    configured = settings()
    assert configured is not None
    try:
        metadata()
        token = client().authorize_access_token(
            claims_options={
                "iss": {"essential": True, "values": [configured.issuer]},
                "sub": {"essential": True},
                "aud": {"essential": True, "values": [configured.client_id]},
                "exp": {"essential": True},
                "iat": {"essential": True},
            },
            leeway=CLOCK_SKEW_SECONDS,
        )
    except OAuthError as exc:
        if exc.error == "mismatching_state":
            raise Refused("state does not match (an old or replayed sign-in)") from None
        code = exc.error if exc.error in PROVIDER_ERRORS else "other"
        raise Refused(f"provider error: {code}", _provider_message(exc.error)) from None
    except jose_errors.JoseError as exc:
        raise Refused(_reason_of(exc)) from None
    except (OSError, ValueError) as exc:  # the provider did not answer, or not with JSON
        log.warning("The identity provider could not be reached: %s", type(exc).__name__)
        raise Refused("provider unreachable", UNREACHABLE) from None
    userinfo = token.get("userinfo")
    if userinfo is None:
        raise Refused("no ID token")
    return claims_of(userinfo, configured), userinfo


def _provider_message(error: str | None) -> str:
    if error in {"access_denied", "consent_required"}:
        return "Sign-in was cancelled, or your organisation has not let you use this service. Ask the IT service desk."
    if error in {"login_required", "interaction_required"}:
        return "Sign in to your organisation's account first, then try again."
    return (
        "Your organisation's sign-in service refused the request. Try again; if it keeps happening, tell the "
        "communications team, quoting the time."
    )


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def claims_of(values: Mapping[str, Any], configured: OidcSettings) -> Claims:
    """The Registry's reading of a validated ID token, with the tenant and domain allow-lists applied."""
    subject = _text(values.get("oid")) or _text(values.get("sub"))
    if subject is None or len(subject) > 255:
        raise Refused("no usable subject")
    tenant = _text(values.get("tid"))
    if configured.allowed_tenants and tenant not in configured.allowed_tenants:
        raise Refused(
            "wrong tenant",
            "Your account belongs to an organisation that may not use this service. Sign in with your NHSmail account.",
        )
    email = None
    # An address the provider says it has not verified is not one to know anyone by.
    candidates = ["preferred_username", "upn"]
    if values.get("email_verified") is not False:
        candidates.insert(0, "email")
    for claim in candidates:
        candidate = _text(values.get(claim))
        if candidate and "@" in candidate and len(candidate) <= 254:
            email = candidate.lower()
            break
    if configured.allowed_domains:
        domain = email.rpartition("@")[2] if email else None
        if domain not in configured.allowed_domains:
            raise Refused(
                "e-mail domain not allowed",
                "Your account's e-mail address is not one this service accepts. Sign in with your NHSmail account.",
            )
    name = _text(values.get("name")) or " ".join(
        part for part in (_text(values.get("given_name")), _text(values.get("family_name"))) if part
    )
    raw_roles = values.get(configured.roles_claim)
    roles = tuple(str(r) for r in raw_roles if isinstance(r, str)) if isinstance(raw_roles, list) else ()
    amr = values.get("amr")
    multi_factor = (isinstance(amr, list) and "mfa" in amr) or (
        bool(configured.mfa_acr) and values.get("acr") in configured.mfa_acr
    )
    auth_time = values.get("auth_time")
    sid = _text(values.get("sid"))
    return Claims(
        issuer=configured.issuer,
        subject=subject,
        email=email,
        name=(name or None) and name[:200],
        tenant=tenant,
        roles=roles,
        multi_factor=multi_factor,
        auth_time=dt.datetime.fromtimestamp(auth_time, dt.UTC) if isinstance(auth_time, int | float) else None,
        sid=sid if sid and len(sid) <= 255 else None,
    )


def authorise_url_kwargs(*, fresh: bool) -> dict[str, Any]:
    """Extra parameters for the authorisation request: a fresh authentication asks for ``max_age=0``
    and ``prompt=login`` so the provider asks again whoever is signed in there."""
    return {"max_age": 0, "prompt": "login"} if fresh else {}


def metadata() -> dict[str, Any]:
    """The provider's discovery document, with only the signing algorithms we accept (never ``none`` or a
    shared-secret HMAC, whatever the provider lists), and its key set no older than :data:`KEYS_AT_MOST`."""
    oauth = current_app.extensions[EXTENSION]
    provider = client()
    found: dict[str, Any] = provider.load_server_metadata()
    listed = found.get("id_token_signing_alg_values_supported") or ["RS256"]
    found["id_token_signing_alg_values_supported"] = [alg for alg in listed if alg in SIGNING_ALGORITHMS] or ["RS256"]
    fetched = getattr(oauth, "registry_keys_fetched", None)
    now = time.monotonic()
    if "jwks" in found and (fetched is None or now - fetched > KEYS_AT_MOST.total_seconds()):
        found.pop("jwks")
    if "jwks" not in found:
        provider.fetch_jwk_set(force=True)
        oauth.registry_keys_fetched = now
    return found


def _key_set(*, force: bool) -> KeySet:
    """The provider's keys; ``force``: fetched again (a new key id), unless that happened moments ago."""
    from joserfc.jwk import KeySet

    oauth = current_app.extensions[EXTENSION]
    now = time.monotonic()
    fetched = getattr(oauth, "registry_keys_fetched", None)
    if force and fetched is not None and now - fetched < REFETCH_AT_MOST_EVERY.total_seconds():
        force = False
    keys = client().fetch_jwk_set(force=force)
    if force:
        oauth.registry_keys_fetched = now
    return KeySet.import_key_set(keys)


@dataclass(frozen=True)
class LogoutToken:
    jti: str
    subject: str | None
    sid: str | None
    expires_at: dt.datetime


def check_logout_token(raw: str) -> LogoutToken:
    """OpenID Connect Back-Channel Logout 1.0, section 2.6: a logout token signed by the provider, for
    this client, recent, with the logout event, a ``sub`` or ``sid``, a ``jti`` and no ``nonce``.
    (The caller refuses a ``jti`` seen before.) Raises :class:`Refused`."""
    from joserfc import errors as jose_errors
    from joserfc import jwt
    from joserfc.jws import JWSRegistry

    configured = settings()
    assert configured is not None
    if not raw or len(raw) > 16_384:
        raise Refused("no logout token")
    try:
        registry = JWSRegistry(algorithms=metadata()["id_token_signing_alg_values_supported"])
        try:
            token = jwt.decode(raw, _key_set(force=False), algorithms=None, registry=registry)
        except jose_errors.InvalidKeyIdError:
            token = jwt.decode(raw, _key_set(force=True), algorithms=None, registry=registry)
    except jose_errors.JoseError as exc:
        raise Refused(_reason_of(exc)) from None
    except (OSError, ValueError):  # the provider's keys could not be fetched, or the token is not JSON
        raise Refused("unreadable token, or the provider's keys could not be fetched") from None
    if token.header.get("alg") in (None, "none"):
        raise Refused("unsigned token")
    claims = token.claims
    now = time.time()
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    iat = claims.get("iat")
    exp = claims.get("exp")
    events = claims.get("events")
    checks: list[tuple[bool, str]] = [
        (claims.get("iss") == configured.issuer, "wrong issuer"),
        (configured.client_id in audiences, "wrong audience"),
        (isinstance(iat, int | float), "no iat"),
        (isinstance(iat, int | float) and iat <= now + CLOCK_SKEW_SECONDS, "issued in the future"),
        (
            isinstance(iat, int | float) and now - iat <= LOGOUT_TOKEN_MAX_AGE.total_seconds() + CLOCK_SKEW_SECONDS,
            "expired token",
        ),
        (isinstance(exp, int | float), "no exp"),
        (isinstance(exp, int | float) and exp + CLOCK_SKEW_SECONDS > now, "expired token"),
        (isinstance(events, dict) and isinstance(events.get(BACKCHANNEL_EVENT), dict), "not a logout event"),
        ("nonce" not in claims, "nonce in a logout token"),
        (bool(_text(claims.get("sub")) or _text(claims.get("sid"))), "neither sub nor sid"),
        (bool(_text(claims.get("jti"))) and len(str(claims.get("jti"))) <= 255, "no jti"),
    ]
    for passed, reason in checks:
        if not passed:
            raise Refused(reason)
    assert isinstance(exp, int | float)
    return LogoutToken(
        jti=str(claims["jti"]),
        subject=_text(claims.get("oid")) or _text(claims.get("sub")),
        sid=_text(claims.get("sid")),
        expires_at=dt.datetime.fromtimestamp(float(exp) + CLOCK_SKEW_SECONDS, dt.UTC),
    )


def end_session_url(post_logout_redirect_uri: str) -> str | None:
    """Where to send the person so the provider signs them out too (RP-initiated logout), if it says."""
    try:
        metadata = client().load_server_metadata()
    except (OSError, ValueError):
        return None
    if not metadata.get("end_session_endpoint"):
        return None
    configured = settings()
    assert configured is not None
    created = client().create_logout_url(
        post_logout_redirect_uri=post_logout_redirect_uri, client_id=configured.client_id
    )
    url: str = created["url"]
    return url
