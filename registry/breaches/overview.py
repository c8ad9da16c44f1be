"""Breach cases beyond their own pages: the card of cases to act on, and the report's figures."""

from __future__ import annotations

from registry.auth.models import User
from registry.auth.permissions import Permission
from registry.breaches import services
from registry.clock import Period
from registry.lifecycle.kind import Card, Listing

#: Those who act on breach cases: a line manager on those assigned to them, comms on those to route
#: (and, for their information, those flagged as a reputational risk), HR on escalated ones. Auditors
#: read every case but act on none, so they get no card.
HANDLING = (Permission.BREACH_MANAGE, Permission.BREACH_ROUTE, Permission.BREACH_HR)


def card(user: User) -> Card | None:
    """The cases awaiting ``user``'s action (never one about them), and those shown to them for
    information only (comms: flagged as a reputational risk): how many, and the oldest few."""
    if not any(user.can(permission) for permission in HANDLING):
        return None
    items = services.waiting_for(user)
    waiting = Listing.of([i for i in items if i.needs_you])
    return Card(
        "breach_cases", "breaches/_home_card.html", (waiting, Listing.of([i for i in items if not i.needs_you]))
    )


def figures(period: Period) -> dict[str, int]:
    return services.month_figures(period.first_day, period.last_day)
