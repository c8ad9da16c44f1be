"""Throttling with Flask-Limiter (shared Redis storage in production).

Sign-in is limited per address and per account-and-address, counting only
failed attempts against the account: an attacker elsewhere can slow their own
guesses down but cannot lock the real person out of their own desk.
"""

from __future__ import annotations

from flask import Flask, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(
    key_func=get_remote_address,
    default_limits=[],
    in_memory_fallback_enabled=True,
    key_prefix="registry",
)

SIGN_IN_PER_ADDRESS = "30 per minute;300 per hour"
SIGN_IN_PER_ACCOUNT = "5 per minute;20 per hour"
API_PER_CLIENT = "600 per minute"
VERIFY_PER_ADDRESS = "120 per minute"


def account_and_address() -> str:
    email = (request.form.get("email") or "").strip().lower()[:254]
    return f"sign-in:{email}|{get_remote_address()}"


def failed_sign_in(response) -> bool:  # type: ignore[no-untyped-def]
    """A sign-in that did not redirect onwards failed (or was refused)."""
    return response.status_code not in (302, 303)


def init_app(app: Flask) -> None:
    limiter.init_app(app)
