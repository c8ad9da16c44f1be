"""Emergency accesses beyond their own pages: the on-call person's home card, and the monthly Board
report, where every use is counted (policy 7.2)."""

from __future__ import annotations

from sqlalchemy import func, select

from registry import db
from registry.auth.models import User
from registry.auth.permissions import Permission
from registry.breakglass import services
from registry.breakglass.models import EmergencyAccess
from registry.clock import Period
from registry.lifecycle.kind import Card


def card(user: User) -> Card | None:
    """On call at 2 a.m.: where to open an access, and the person's accesses still open. (The
    communications team's side, the reviews, waits in their work queue.)"""
    if not user.can(Permission.BREAK_GLASS_OPEN) or user.can(Permission.BREAK_GLASS_REVIEW):
        return None
    return Card("break_glass", "breakglass/_home_card.html", services.live_of(user))


def figures(period: Period) -> dict[str, int]:
    """Accesses opened in the month and the secrets shown under them, those reviewed in it, and those
    whose window had ended by the month's end but were not yet reviewed then; one statement."""
    opened = period.contains(EmergencyAccess.opened_at)
    reviewed = period.contains(EmergencyAccess.reviewed_at)
    unreviewed = (EmergencyAccess.ends_at < period.end) & (
        EmergencyAccess.reviewed_at.is_(None) | (EmergencyAccess.reviewed_at >= period.end)
    )
    row = (
        db.session()
        .execute(
            select(
                func.count().filter(opened),
                func.coalesce(func.sum(EmergencyAccess.reveals).filter(opened), 0),
                func.count().filter(reviewed),
                func.count().filter(unreviewed),
            ).where(EmergencyAccess.opened_at < period.end)
        )
        .one()
    )
    return {
        "opened": int(row[0]),
        "reveals": int(row[1]),
        "reviewed": int(row[2]),
        "awaiting_review": int(row[3]),
    }
