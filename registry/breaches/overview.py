"""Breach cases beyond their own pages: the card of cases to act on, and the report's figures."""

from __future__ import annotations

from registry.auth.models import User
from registry.auth.permissions import Permission
from registry.breaches import services
from registry.clock import Period
from registry.lifecycle.kind import SHOWN, Card

#: Those who act on breach cases: a line manager on those assigned to them, comms on those to route
#: (and, for their information, those flagged as a reputational risk), HR on escalated ones. Auditors
#: read every case but act on none, so they get no card.
HANDLING = (Permission.BREACH_MANAGE, Permission.BREACH_ROUTE, Permission.BREACH_HR)


def card(user: User) -> Card | None:
    """The cases awaiting ``user``'s action (never one about them), and those shown to them for
    information only (comms: flagged as a reputational risk): how many, and the oldest few, in one
    statement (and one for the shown cases' clauses) however many cases are open."""
    if not any(user.can(permission) for permission in HANDLING):
        return None
    return Card("breach_cases", "breaches/_home_card.html", services.waiting_lists(user, SHOWN))


def figures(period: Period) -> dict[str, int]:
    return services.month_figures(period.first_day, period.last_day)
