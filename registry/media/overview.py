"""Media contacts beyond their own pages: the card of approaches to triage, and the report's figures."""

from __future__ import annotations

from registry.auth.models import User
from registry.auth.permissions import Permission
from registry.clock import Period
from registry.lifecycle.kind import SHOWN, Card, Listing
from registry.media import services
from registry.media.kind import KIND
from registry.web import workqueue


def card(user: User) -> Card | None:
    """Approaches the communications team has still to act on, oldest first (policy 8.1)."""
    if not user.can(Permission.MEDIA_CONTACT_TRIAGE):
        return None
    work = workqueue.for_comms(per_page=SHOWN, kind=KIND)
    return Card("media_contacts", "media/_home_card.html", Listing(work.page.items, work.page.total))


def figures(period: Period) -> dict[str, int]:
    return services.month_figures(period.first_day, period.last_day)
