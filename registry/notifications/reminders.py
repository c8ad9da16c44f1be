"""The day's reminders (``flask --app wsgi reminders send``, meant for a daily timer).

Each member of the communications team gets one digest of what is due: requests waiting
on them, credentials to rotate, access reviews overdue, channels due for their yearly
review, official accounts due a security check. Each requester whose logo consent expires
within 30 days is told once. Running the command twice on one day sends nothing new (each
reminder has a key for the day).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select

from registry import clock, db
from registry.account_health import services as account_health
from registry.auth.models import User
from registry.channels import services as channels
from registry.consent import services as consents
from registry.notifications import services as notifications
from registry.notifications.models import Notification
from registry.roster import services as roster
from registry.text import plural
from registry.vault import services as custody
from registry.web import workqueue

CONSENT_WARNING_DAYS = 30
CHANNEL_REVIEW_DAYS = 30


@dataclass
class ReminderReport:
    digests: int = 0
    consent_reminders: int = 0
    due: list[str] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)

    def summary(self, delivery: dict[str, int]) -> str:
        parts = [
            f"{plural(self.digests, 'digest')} to the communications team",
            f"{plural(self.consent_reminders, 'consent expiry reminder')}",
        ]
        if notifications.smtp_configured():
            parts.append(
                f"e-mail: {delivery.get('sent', 0)} sent, {delivery.get('pending', 0)} waiting to be retried, "
                f"{delivery.get('failed', 0)} failed"
            )
        else:
            parts.append("no SMTP server is set up, so they are kept in the outbox")
        return "; ".join(parts) + "."


def delivery_of(ids: list[int]) -> dict[str, int]:
    """How many of these messages are in each delivery state."""
    if not ids:
        return {}
    statement = (
        select(Notification.delivery, func.count()).where(Notification.id.in_(ids)).group_by(Notification.delivery)
    )
    return {state: n for state, n in db.session().execute(statement).all()}


def _count(statement) -> int:  # type: ignore[no-untyped-def]
    return db.session().execute(select(func.count()).select_from(statement.order_by(None).subquery())).scalar_one()


def _days(n: int) -> str:
    return plural(n, "day")


def _are(n: int) -> str:
    return "is" if n == 1 else "are"


def digest_lines(today: dt.date) -> dict[str, str]:
    """What is due, one plain sentence per kind of work (only kinds with something due)."""
    lines: dict[str, str] = {}
    waiting = workqueue.for_comms(per_page=1, requests_only=True).page
    if waiting.total:
        oldest = waiting.items[0].age_days()
        lines["requests"] = (
            f"{plural(waiting.total, 'request')} {'waits' if waiting.total == 1 else 'wait'} for the communications "
            f"team; the oldest has waited {_days(oldest)}."
        )
    rotate = custody.count_needing_rotation()
    if rotate:
        lines["rotations"] = f"{plural(rotate, 'credential')} {_are(rotate)} overdue for rotation or must be rotated."
    overdue = _count(roster.overdue_reviews(today))
    if overdue:
        lines["access_reviews"] = f"{plural(overdue, 'access review')} {_are(overdue)} past the due date."
    reviews = _count(channels.reviews_due(CHANNEL_REVIEW_DAYS))
    if reviews:
        lines["channel_reviews"] = (
            f"{plural(reviews, 'channel')} {_are(reviews)} due for the yearly review within {CHANNEL_REVIEW_DAYS} days."
        )
    checks = account_health.count_due()
    if checks:
        lines["health_checks"] = (
            f"{plural(checks, 'official channel')} {_are(checks)} due an account security check (two-factor, "
            "recovery details, secrets, activity and administrators)."
        )
    return lines


def _send_digests(today: dt.date, report: ReminderReport) -> None:
    lines = digest_lines(today)
    report.due = sorted(lines)
    if not lines:
        return
    body = "Good morning. Today in the Social Channel Registry:\n\n" + "\n".join(f"- {line}" for line in lines.values())
    body += "\n\nThe work queue lists every request, oldest first."
    sent = notifications.notify_comms(
        event="reminders:digest",
        subject=f"Registry reminders for {today:%-d %B %Y}",
        body=body,
        link="/queue",
        dedupe_key=f"digest:{today.isoformat()}",
    )
    report.digests = len(sent)
    report.ids += [n.id for n in sent]


def _send_consent_reminders(today: dt.date, report: ReminderReport) -> None:
    soon = consents.expiring_between(today, today + dt.timedelta(days=CONSENT_WARNING_DAYS))
    for consent in soon:
        requester: User = consent.requester
        sent = notifications.notify(
            requester,
            event="reminders:consent_expiring",
            subject=f"Your logo consent {consent.reference} expires on {consent.expires_on:%-d %B %Y}",
            body=(
                f"Your consent {consent.reference} to use the Trust's identity expires on "
                f"{consent.expires_on:%-d %B %Y}. After that date the artwork may no longer be used. "
                "If you still need it, ask the communications team for a new consent."
            ),
            link=f"/consents/{consent.reference}",
            # str() of a date is its ISO form, as the key has always been written.
            dedupe_key=f"consent-expiring:{consent.reference}:{consent.expires_on!s}",
        )
        report.consent_reminders += len(sent)
        report.ids += [n.id for n in sent]


def send(today: dt.date | None = None) -> ReminderReport:
    """Queue the day's reminders in the current transaction (the caller commits)."""
    today = today or clock.today()
    report = ReminderReport()
    _send_digests(today, report)
    _send_consent_reminders(today, report)
    notifications.record_reminders(
        {"digests": report.digests, "consent_reminders": report.consent_reminders, "due": report.due}
    )
    return report
