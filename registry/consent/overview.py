"""Logo consents beyond their own pages: the card of those expiring soon, and the report's figures."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, func, select

from registry import clock, db
from registry.auth.models import User
from registry.auth.permissions import Permission
from registry.clock import Period
from registry.consent.models import LogoConsent, LogoConsentStep
from registry.consent.services import EXPIRING_SOON_DAYS, expiring_statement
from registry.consent.workflow import APPROVED_STATUSES, ConsentAction
from registry.lifecycle.kind import Card, Listing

#: The decisions that issue a consent (the monthly report counts them as received requests' approvals too).
ISSUED = (ConsentAction.APPROVE.value, ConsentAction.APPROVE_WITH_CONDITIONS.value)


def card(user: User) -> Card | None:
    """Approved consents expiring within the register's "expiring soon" days: how many, and the
    soonest few."""
    if not user.can(Permission.CONSENT_DECIDE):
        return None
    today = clock.today()
    expiring = expiring_statement(today, today + dt.timedelta(days=EXPIRING_SOON_DAYS))
    return Card("consents_expiring", "consent/_home_card.html", Listing.first(expiring))


def figures(period: Period) -> dict[str, int]:
    """Consents issued in the month, expired in it, expiring next month and in force at its end."""
    session = db.session()
    approved = LogoConsent.status.in_([s.value for s in APPROVED_STATUSES])
    following = period.next_first
    after_following = dt.date(following.year + following.month // 12, following.month % 12 + 1, 1)

    def count(*conditions: ColumnElement[bool], model: Any = LogoConsent) -> int:
        return int(session.execute(select(func.count()).select_from(model).where(*conditions)).scalar_one())

    return {
        "issued": count(
            LogoConsentStep.action.in_(ISSUED),
            period.contains(LogoConsentStep.occurred_at),
            model=LogoConsentStep,
        ),
        "expiring": count(approved, LogoConsent.decided_at < period.end, period.contains_date(LogoConsent.expires_on)),
        "expiring_next_month": count(
            approved,
            LogoConsent.decided_at < period.end,
            LogoConsent.expires_on >= following,
            LogoConsent.expires_on < after_following,
        ),
        "in_force": count(approved, LogoConsent.decided_at < period.end, LogoConsent.expires_on >= period.as_of),
    }
