"""Account security health of the official channels: recording a check, and reading where each
channel stands.

Checks are append-only (:class:`HealthCheck`); the channel keeps its current state and when its next
check falls due (``Channel.health``, ``Channel.health_due_at``), written with the check and its audit
event in the caller's transaction, so lists and counts read the channel alone. :func:`record_check` is
the one place a check is recorded, and so the one place a check that needs attention is known.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from config import Settings
from registry import alerts, clock, db
from registry.account_health.models import HealthCheck
from registry.account_health.rules import (
    Answers,
    SeedAnswer,
    TwoFactor,
    email_domain,
    message,
    problems,
)
from registry.account_health.states import HealthState
from registry.alerts import AlertEvent
from registry.audit.models import AuditAction
from registry.audit.services import record
from registry.auth.models import User
from registry.auth.permissions import Permission
from registry.channels.models import Channel
from registry.channels.workflow import OFFICIAL_STATUSES, ChannelStatus
from registry.errors import Conflict, Invalid, NotPermitted
from registry.text import clean

NOTES_MAX = 2000

REQUIRED: dict[str, str] = {
    "two_factor": "Select how two-factor authentication is set up on the platform",
    "recovery_email": "Enter the domain of the recovery e-mail address, for example nhs.net",
    "recovery_phone_trust": "Select whether the recovery phone is owned by the Trust",
    "password_matches": "Select whether the password in custody is the one the platform uses",
    "seed": "Select whether the authenticator seed in custody gives the platform's codes",
    "seen_live": "Select whether you saw the account live on the platform",
    "last_post_on": "Enter the date of the account's last post",
    "roster_matches": "Select whether the platform's administrators match the roster",
}


def settings() -> Settings:
    found: Settings = current_app.extensions["registry.settings"]
    return found


def _yes_no(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    return {"yes": True, "no": False}.get(str(value or "").strip().lower())


def parse(given: dict[str, Any], today: dt.date) -> Answers:
    """The answers of a check from what a form or the API sent, or one ``Invalid`` naming every field
    that is missing or wrong."""
    errors: dict[str, str] = {}
    two_factor = str(given.get("two_factor") or "")
    if two_factor not in {t.value for t in TwoFactor}:
        errors["two_factor"] = REQUIRED["two_factor"]
    seed = str(given.get("seed") or "")
    if seed not in {s.value for s in SeedAnswer}:
        errors["seed"] = REQUIRED["seed"]
    booleans: dict[str, bool] = {}
    for name in ("recovery_phone_trust", "password_matches", "seen_live", "roster_matches"):
        answer = _yes_no(given.get(name))
        if answer is None:
            errors[name] = REQUIRED[name]
        else:
            booleans[name] = answer
    typed = clean(given.get("recovery_email"))
    domain = email_domain(typed) if typed else None
    if not typed:
        errors["recovery_email"] = REQUIRED["recovery_email"]
    elif domain is None:
        errors["recovery_email"] = (
            "Enter the recovery e-mail's domain, such as nhs.net, or the whole address (only its domain is kept)"
        )
    last_post_on = given.get("last_post_on")
    if not isinstance(last_post_on, dt.date):
        errors["last_post_on"] = REQUIRED["last_post_on"]
    elif last_post_on > today:
        errors["last_post_on"] = "The date of the last post must be today or in the past"
    notes = clean(given.get("notes"))
    if len(notes) > NOTES_MAX:
        errors["notes"] = f"Notes must be {NOTES_MAX} characters or fewer"
    if errors:
        raise Invalid(errors)
    assert domain is not None and isinstance(last_post_on, dt.date)
    return Answers(
        two_factor=TwoFactor(two_factor),
        recovery_email_domain=domain,
        seed=SeedAnswer(seed),
        last_post_on=last_post_on,
        notes=notes,
        **booleans,
    )


def record_check(channel: Channel, answers: Answers, actor: User) -> HealthCheck:
    """Record what ``actor`` found when they checked ``channel``'s account: the check, the channel's
    new state and due date, and the audit event, together (flush only; the caller commits).

    The one place a check is recorded: whatever must happen when a check needs attention (an alert)
    belongs here."""
    if not actor.can(Permission.CHANNEL_OPERATE):
        raise NotPermitted("Only the communications team can record an account security check.")
    if channel.status_enum not in OFFICIAL_STATUSES:
        raise Conflict(
            f"{channel.reference} is {channel.status_enum.phrase}: only an official channel's account is checked."
        )
    config = settings()
    now = db.utcnow()
    today = clock.today()
    found = problems(answers, trust_domains=config.trust_email_domains, inactive_days=config.inactive_days, today=today)
    state = HealthState.NEEDS_ATTENTION if found else HealthState.HEALTHY
    # Healthy: the next check after the interval. Needs attention: due again at once, until fixed.
    due_at = now if found else now + dt.timedelta(days=config.health_check_days)
    check = HealthCheck(
        channel_id=channel.id,
        checked_by_id=actor.id,
        checked_at=now,
        two_factor=answers.two_factor.value,
        recovery_email_domain=answers.recovery_email_domain,
        recovery_phone_trust=answers.recovery_phone_trust,
        password_matches=answers.password_matches,
        seed=answers.seed.value,
        seen_live=answers.seen_live,
        last_post_on=answers.last_post_on,
        roster_matches=answers.roster_matches,
        notes=answers.notes,
        state=state.value,
        problems=",".join(found),
        due_at=due_at,
    )
    db.session().add(check)
    previous = channel.health
    channel.health = state.value
    channel.health_due_at = due_at
    db.session().flush()
    record(
        AuditAction.CHANNEL_HEALTH_CHECK,
        "channel",
        channel.reference,
        # Codes and dates only: the notes may name people, and the trail is kept for years.
        {
            "check": check.id,
            "from": previous,
            "to": state.value,
            "problems": found,
            "two_factor": answers.two_factor.value,
            "due": due_at.isoformat(),
        },
        actor=actor,
    )
    if found:
        # A hijack waits for nobody: the administrators' webhooks hear of it in this transaction.
        alerts.raise_alert(
            AlertEvent.HEALTH_CHECK_FAILED,
            title=f"{channel.reference} needs attention after its account security check",
            text=" ".join(finding.text for finding in findings(check)),
            link=f"/channels/{channel.reference}/health",
            facts={"Channel": f"{channel.reference} ({channel.platform_label})", "Checked by": actor.name},
        )
    return check


@dataclass(frozen=True)
class Finding:
    """A problem of a check, in plain English."""

    code: str
    text: str


def findings(check: HealthCheck) -> list[Finding]:
    """What the check found wrong, in plain English, in the checklist's order."""
    return [
        Finding(
            code,
            message(
                code,
                domain=check.recovery_email_domain,
                last_post_on=check.last_post_on,
                checked_on=check.checked_at.date(),
            ),
        )
        for code in check.problem_codes
    ]


def history(channel: Channel) -> list[HealthCheck]:
    """Every check of the channel, newest first (one statement)."""
    statement = (
        select(HealthCheck)
        .where(HealthCheck.channel_id == channel.id)
        .order_by(HealthCheck.checked_at.desc(), HealthCheck.id.desc())
    )
    return list(db.session().execute(statement).unique().scalars())


def latest(channel: Channel) -> HealthCheck | None:
    """The channel's latest check, if any (one statement, read from its index)."""
    statement = (
        select(HealthCheck)
        .where(HealthCheck.channel_id == channel.id)
        .order_by(HealthCheck.checked_at.desc(), HealthCheck.id.desc())
        .limit(1)
    )
    return db.session().execute(statement).unique().scalar_one_or_none()


def is_due(channel: Channel, now: dt.datetime | None = None) -> bool:
    return channel.status_enum is ChannelStatus.ACTIVE and channel.health_due_at <= (now or db.utcnow())


def count_due() -> int:
    """How many official (active) channels are due a check now (one count, from the (status, health_due_at) index)."""
    statement = select(func.count()).select_from(Channel)
    statement = statement.where(Channel.status == ChannelStatus.ACTIVE.value, Channel.health_due_at <= db.utcnow())
    return int(db.session().execute(statement).scalar_one())


@dataclass(frozen=True)
class Share:
    """The official (active) channels by health, and the share of them that are healthy."""

    healthy: int
    needs_attention: int
    unchecked: int

    @property
    def total(self) -> int:
        return self.healthy + self.needs_attention + self.unchecked

    @property
    def percent_healthy(self) -> int:
        """Whole per cent, rounded half up; 0 when there are no official channels."""
        return (self.healthy * 200 + self.total) // (2 * self.total) if self.total else 0

    def as_dict(self) -> dict[str, int]:
        return {
            "official": self.total,
            "healthy": self.healthy,
            "needs_attention": self.needs_attention,
            "unchecked": self.unchecked,
            "percent_healthy": self.percent_healthy,
        }


def share() -> Share:
    """The active channels counted by health now: one statement, read from the (status, health) index."""
    statement = (
        select(Channel.health, func.count())
        .where(Channel.status == ChannelStatus.ACTIVE.value)
        .group_by(Channel.health)
    )
    counts = {state: n for state, n in db.session().execute(statement).all()}
    return Share(
        healthy=counts.get(HealthState.HEALTHY.value, 0),
        needs_attention=counts.get(HealthState.NEEDS_ATTENTION.value, 0),
        unchecked=counts.get(HealthState.UNCHECKED.value, 0),
    )


@dataclass(frozen=True)
class Summary:
    """A channel's account security, as its page shows it (the latest check and what it found)."""

    latest: HealthCheck | None
    findings: list[Finding]
    due: bool
    can_check: bool


def summary(channel: Channel, user: User) -> Summary:
    found = latest(channel)
    return Summary(
        latest=found,
        findings=findings(found) if found is not None else [],
        due=is_due(channel),
        can_check=user.can(Permission.CHANNEL_OPERATE) and channel.status_enum in OFFICIAL_STATUSES,
    )
