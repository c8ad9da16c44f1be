"""Throttling with Flask-Limiter (shared Redis storage in production).

Sign-in counts only failed attempts, per client:

- a browser that carries a device cookie for the account being tried (someone has fully signed in
  to that account on it, see :mod:`registry.auth.devices`) is counted on its own: 5 a minute and
  20 an hour, wherever it is, and nothing else a stranger does can use that up;
- any other client is counted per address (30 a minute, 300 an hour, across accounts) and per
  account at that address (5 a minute, 20 an hour), and, unless the account has signed in from
  that address before, in one allowance per account that all such clients share (50 a day).

So rotating addresses gives an attacker at most 50 guesses at an account per day-long window,
a stranger cannot lock the person out of a browser they have signed in on, and a stranger
elsewhere cannot lock them out of an address they have signed in from. The windows are fixed:
each starts at the first failure it counts.
"""

from __future__ import annotations

from flask import Flask, Response, g, request
from sqlalchemy import exists, select
from sqlalchemy.orm import undefer

from registry import db
from registry.extensions import client_address, limiter

SIGN_IN_PER_ADDRESS = "30 per minute;300 per hour"
SIGN_IN_PER_ACCOUNT = "5 per minute;20 per hour"
SIGN_IN_PER_ACCOUNT_FROM_NEW_ADDRESSES = "50 per day"
API_PER_CLIENT = "600 per minute"
VERIFY_PER_ADDRESS = "120 per minute"


def _email() -> str:
    return (request.form.get("email") or "").strip().lower()[:254]


def trusted_device() -> str | None:
    """The id of this browser as a device of the account being signed in to, if it is one
    (worked out once per request)."""
    if "sign_in_device" not in g:
        from registry.auth import devices
        from registry.auth.models import User

        email = _email()
        user = None
        if email:
            user = (
                db.session()
                .execute(select(User).options(undefer(User.password_hash)).where(User.email == email))
                .scalar_one_or_none()
            )
        g.sign_in_device = devices.recognise(user) if user is not None else None
    device: str | None = g.sign_in_device
    return device


def from_trusted_device() -> bool:
    return trusted_device() is not None


def account_and_client() -> str:
    """Failed attempts at one account from one client: the browser when it is a known device of
    the account (its count follows it from address to address), otherwise the address."""
    device = trusted_device()
    if device is not None:
        return f"sign-in:device:{device}"
    return f"sign-in:{_email()}|{client_address()}"


def account() -> str:
    return f"sign-in:{_email()}"


def address_known_for_account() -> bool:
    """Has this account signed in from this address before?"""
    from registry.auth.models import User, UserSession

    email = _email()
    if not email or not request.remote_addr:
        return False
    return bool(
        db.session()
        .execute(
            select(
                exists().where(
                    UserSession.user_id == User.id,
                    User.email == email,
                    UserSession.address == request.remote_addr,
                )
            )
        )
        .scalar()
    )


def known_client() -> bool:
    """A known device of the account, or an address it has signed in from: outside the allowance
    that unknown clients share, so a stranger spending that allowance cannot lock the person out."""
    return from_trusted_device() or address_known_for_account()


def failed_sign_in(response: Response) -> bool:
    """A sign-in that did not redirect onwards failed (or was refused)."""
    return response.status_code not in (302, 303)


def init_app(app: Flask) -> None:
    limiter.init_app(app)
