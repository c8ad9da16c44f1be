"""The auth blueprint and where a sign-in goes next, shared by password and identity-provider sign-in."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, url_for
from flask.typing import ResponseReturnValue

from registry.auth import mfa, sessions
from registry.auth.models import User

bp = Blueprint("auth", __name__)


def safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect."""
    if not target:
        return url_for("web.home")
    target = target.rstrip("?")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("web.home")
    return target


def after_sign_in(user: User, next_path: str | None) -> ResponseReturnValue:
    """Onwards; a privileged person whose sign-in proved no second factor sets up the Registry's own first
    (one whose identity provider asserted multi-factor authentication needs none)."""
    current = sessions.current_record()
    proved = current is not None and current.second_factor_at is not None
    if mfa.requires_two_factor(user) and not mfa.is_enrolled(user) and not proved:
        flash("Set up two-factor sign-in first: your role gives you access to sensitive information.")
        return redirect(url_for("auth.two_factor"))
    return redirect(safe_next(next_path))
