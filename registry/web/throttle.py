"""Throttling with Flask-Limiter (shared Redis storage in production).

Sign-in is limited per address, per account-and-address, and per account from
addresses it has never signed in from, counting only failed attempts. An
attacker can slow their own guesses down, and cannot rotate addresses for
unlimited guesses against one account, but cannot lock the real person out of
the desk they always sign in from.
"""

from __future__ import annotations

import ipaddress

from flask import Flask, Response, request
from flask_limiter import Limiter
from sqlalchemy import exists, select

from registry import db
from registry.auth.models import User, UserSession

SIGN_IN_PER_ADDRESS = "30 per minute;300 per hour"
SIGN_IN_PER_ACCOUNT = "5 per minute;20 per hour"
SIGN_IN_PER_ACCOUNT_FROM_NEW_ADDRESSES = "50 per day"
API_PER_CLIENT = "600 per minute"
VERIFY_PER_ADDRESS = "120 per minute"


def client_address() -> str:
    """Who is asking, for counting: the address, or its /64 network for IPv6
    (one IPv6 customer holds billions of addresses)."""
    raw = request.remote_addr or "unknown"
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return raw
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


limiter = Limiter(
    key_func=client_address,
    default_limits=[],
    in_memory_fallback_enabled=True,
    key_prefix="registry",
)


def _email() -> str:
    return (request.form.get("email") or "").strip().lower()[:254]


def account_and_address() -> str:
    return f"sign-in:{_email()}|{client_address()}"


def account() -> str:
    return f"sign-in:{_email()}"


def address_known_for_account() -> bool:
    """Has this account signed in from this address before? Then the per-account cap does not apply."""
    email = _email()
    if not email or not request.remote_addr:
        return False
    return bool(
        db.session().execute(
            select(
                exists().where(
                    UserSession.user_id == User.id,
                    User.email == email,
                    UserSession.address == request.remote_addr,
                )
            )
        ).scalar()
    )


def failed_sign_in(response: Response) -> bool:
    """A sign-in that did not redirect onwards failed (or was refused)."""
    return response.status_code not in (302, 303)


def init_app(app: Flask) -> None:
    limiter.init_app(app)
