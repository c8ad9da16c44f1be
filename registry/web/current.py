"""Who is asking: the signed-in user, typed, for views and API handlers."""

from __future__ import annotations

from typing import cast

from flask_login import current_user

from registry.auth.models import User


def signed_in() -> User:
    """The signed-in user. Only for routes that require a permission: the guard has already
    refused anyone not signed in, so there is always one."""
    return cast(User, current_user._get_current_object())
