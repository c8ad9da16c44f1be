"""Telling people when their own sign-in details or privileges change (ASVS 4.0.3 V2.2.3): if it was
not them, or not expected, they can say so at once. Each notice is queued in the change's transaction."""

from __future__ import annotations

from collections.abc import Iterable

from registry import db
from registry.auth.models import User
from registry.auth.permissions import Role
from registry.notifications import services as notifications


def if_not_you() -> str:
    return (
        "If this was not you, or you did not expect it, tell "
        f"{notifications.comms_contact_phrase()} and your IT service desk at once."
    )


def tell(user: User, subject: str, what: str) -> None:
    """A notice to ``user`` about their own account, dated."""
    when = db.utcnow().strftime("%d %B %Y at %H:%M UTC")
    notifications.notify(
        user,
        event="account:change",
        subject=subject,
        body=f"{what} ({when})\n\n{if_not_you()}",
        link="/account",
    )


def roles_removed(user: User, removed: Iterable[Role], *, by: str) -> None:
    """The person and the communications team hear that a privileged role was taken away."""
    names = ", ".join(sorted(role.label for role in removed))
    tell(user, f"Your {names} role was removed", f"{by} removed your {names} role in the Social Channel Registry.")
    notifications.notify_comms(
        event="account:change",
        subject=f"{user.name} no longer has the {names} role",
        body=f"{by} removed {user.name}'s {names} role in the Social Channel Registry.",
    )
