"""Emergency accesses in the monthly Board report: every use is counted (policy 7.2)."""

from __future__ import annotations

from sqlalchemy import func, select

from registry import db
from registry.breakglass.models import EmergencyAccess
from registry.clock import Period


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
