"""Who hears of a breach case, and what they are told: that it needs them, never what it is about.

The member of staff a case is about is never told of it, and whoever acted is not told of
their own action.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from sqlalchemy import select

from registry import alerts, db
from registry.alerts.models import AlertEvent
from registry.auth.models import User, UserRole
from registry.auth.permissions import Role
from registry.breaches.models import BreachReport
from registry.notifications import services as notifications

#: What every message about a case says: never what the case is about.
ATTENTION: Final = "A breach report needs your attention"
PRIVACY: Final = "For privacy, this message does not say what the report is about: open it in the Registry to read it."


def link_to(report: BreachReport) -> str:
    """The case's page, as an absolute path: the kind's ``link`` (which this module cannot ask, since
    the kind tells people through it)."""
    return f"/breaches/{report.reference}"


def people_with(role: Role) -> list[User]:
    statement = (
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == role.value, User.active.is_(True))
        .order_by(User.id)
    )
    return list(db.session().execute(statement).unique().scalars())


def others(people: Iterable[User], report: BreachReport, *also: User | None) -> list[User]:
    """``people`` without the member of staff the case is about (never told of it) and ``also``."""
    left_out = {report.subject_id, *(person.id for person in also if person is not None)}
    return [person for person in people if person.id not in left_out]


def comms_for(report: BreachReport, actor: User) -> list[User]:
    return others(people_with(Role.COMMS), report, actor)


def tell(recipients: Sequence[User], report: BreachReport, event: str) -> None:
    """The one message a handler gets: that a case needs them, never what it is about."""
    if recipients:
        notifications.notify(
            recipients,
            event=event,
            subject=ATTENTION,
            body=f"{ATTENTION} in the Social Channel Registry: {report.reference}.\n\n{PRIVACY}",
            link=link_to(report),
        )


def alert_flagged(report: BreachReport) -> None:
    """The Registry's alert channels hear that a case was flagged as a reputational risk (9.3): its
    reference and where to read it, never what it is about."""
    alerts.raise_alert(
        AlertEvent.BREACH_REPUTATIONAL_RISK,
        title=f"Breach report {report.reference} flagged as a reputational risk",
        text=f"A breach report has been flagged as a risk to the Trust's reputation (policy 9.3). {PRIVACY}",
        link=link_to(report),
        facts={"Reference": report.reference},
    )


def tell_closed(report: BreachReport, people: Iterable[User | None]) -> None:
    recipients = [p for p in people if p is not None and p.id != report.subject_id]
    if recipients:
        notifications.notify(
            recipients,
            event="breach:closed",
            subject=f"Breach report {report.reference} has been closed",
            body=f"Breach report {report.reference} has been closed. {PRIVACY}",
            link=link_to(report),
        )
