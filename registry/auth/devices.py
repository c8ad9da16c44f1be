"""Device cookies: a browser on which someone has fully signed in is known the next time they sign in there.

This is OWASP's "Slow Down Online Guessing Attacks with Device Cookies". Failed sign-ins from a
browser that carries a valid device cookie for the account being tried are counted for that
browser alone (see :mod:`registry.web.throttle`), so a stranger who spends the allowance that
unknown clients share cannot lock the person out of the browsers they already use.

The cookie holds, for each of the last few accounts that signed in fully on the browser, a random
device id and the time it was issued, signed with the app's secret key (itsdangerous). The
signing key also covers the account's id and its current password hash, so an entry:

- cannot be forged, altered, or used for another account: it is only ever checked against the
  account being signed in to, and any change breaks its signature;
- names no account: the account is part of the key, not of the cookie;
- stops counting when the password changes or is reset (so a thief who signed in with a stolen
  password keeps nothing once it is changed), when the account is deactivated, and
  :data:`COOKIE_DAYS` after it was issued (each full sign-in on the browser renews it, under the
  same device id, so copies of the cookie taken after each sign-in share one allowance);
- is not a session: it signs nobody in; it only decides how failed attempts are counted.
"""

from __future__ import annotations

import hashlib
import secrets

from flask import Response, after_this_request, current_app, request
from itsdangerous import BadSignature, TimestampSigner

from registry.auth.models import User

COOKIE_DAYS = 180
ACCOUNTS_PER_BROWSER = 5
_SEPARATOR = "~"
_LONGEST_COOKIE = 1024


def cookie_name() -> str:
    """``__Host-`` wherever cookies are Secure: the browser then refuses one set by a sibling domain."""
    return "__Host-registry-device" if current_app.config.get("SESSION_COOKIE_SECURE") else "registry_device"


def _signer(user: User) -> TimestampSigner:
    return TimestampSigner(
        current_app.config["SECRET_KEY"],
        salt=f"registry.device-cookie:{user.id}:{user.password_hash}",
        key_derivation="hmac",
        digest_method=hashlib.sha256,
    )


def _entries() -> list[str]:
    value = request.cookies.get(cookie_name(), "")
    if len(value) > _LONGEST_COOKIE:
        return []
    return [entry for entry in value.split(_SEPARATOR) if entry][:ACCOUNTS_PER_BROWSER]


def _device_in(signer: TimestampSigner, entry: str) -> str | None:
    try:
        return signer.unsign(entry, max_age=COOKIE_DAYS * 86400).decode("ascii")
    except (BadSignature, UnicodeError):
        return None


def recognise(user: User) -> str | None:
    """The id of this browser as a device of ``user``, or None.

    Only for an active account with a password, and only when this request's device cookie holds
    an unexpired entry signed for this account and its current password.
    """
    if not user.active or not user.password_hash:
        return None
    signer = _signer(user)
    for entry in _entries():
        device = _device_in(signer, entry)
        if device is not None:
            return device
    return None


def remember(user: User) -> None:
    """Mark this browser as a device of ``user`` on the response to this request.

    Call it only once the person has fully signed in: the password and, if they have one,
    their second factor. A browser already known for ``user`` keeps its device id (the entry
    is renewed), so one browser is one allowance however often they sign in on it. The
    entries of other accounts on the browser are kept (a shared ward computer), newest
    first, up to :data:`ACCOUNTS_PER_BROWSER`.
    """
    signer = _signer(user)
    known = [(entry, _device_in(signer, entry)) for entry in _entries()]
    others = [entry for entry, device in known if device is None]
    device = next((device for _, device in known if device is not None), None)
    fresh = signer.sign(device or secrets.token_urlsafe(16)).decode("ascii")
    value = _SEPARATOR.join([fresh, *others][:ACCOUNTS_PER_BROWSER])
    name, secure = cookie_name(), bool(current_app.config.get("SESSION_COOKIE_SECURE"))

    @after_this_request
    def set_cookie(response: Response) -> Response:
        response.set_cookie(
            name,
            value,
            max_age=COOKIE_DAYS * 86400,
            path="/",
            secure=secure,
            httponly=True,
            samesite="Strict",
        )
        return response
