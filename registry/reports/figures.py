"""The figures of a monthly report, worked out from the records' own history.

A month is a UK calendar month: from midnight in London on its first day to midnight
on the first day of the next (an hour's difference from UTC in summer). States "at
the end of the month" are rebuilt from history, not read from today's records: a
channel's status is the one its last transition before the month ended gave it, a
credential's rotation state comes from the version it had then and the "rotation
required" events in the audit trail. For the current month, "the end" is now.

Only counts leave this module: never a name, a handle or a breach's details.
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import ColumnElement, case, distinct, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, aliased

from registry import clock, db
from registry.account_health.models import HealthCheck
from registry.account_health.states import HealthState
from registry.audit.chain import ChainReport, latest_checkpoint, verify_span
from registry.audit.keyring import current_keyring
from registry.audit.models import GENESIS_HASH, AuditAction, AuditEvent
from registry.channels.models import Channel, ChannelTransition, reference_for
from registry.channels.platforms import Platform
from registry.channels.workflow import (
    LIVE_STATUSES,
    OFFICIAL_STATUSES,
    ChannelAction,
    ChannelStatus,
)
from registry.clock import Period
from registry.errors import Invalid
from registry.lifecycle.kind import RequestKind, kinds
from registry.monitoring.models import FindingStatus, UnauthorisedAccount
from registry.roster.models import (
    AccessReview,
    AccessReviewItem,
    ReviewDecision,
    RosterGrant,
)
from registry.vault import services as custody
from registry.vault.models import Credential, CredentialKind, CredentialVersion

#: Bump when the shape of the figures changes (an issued report keeps the shape it was issued with).
SCHEMA: Final = 3
MONTH_PATTERN: Final = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")
TREND_MONTHS: Final = 12
#: Channels that no longer hold credentials worth counting.
NO_CUSTODY: Final = frozenset({ChannelStatus.REJECTED, ChannelStatus.WITHDRAWN, ChannelStatus.RETIRED})


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=clock.LONDON).astimezone(dt.UTC)


def month_key(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def parse_month(text: str | None) -> tuple[int, int]:
    """``YYYY-MM`` → (year, month), or :class:`Invalid` naming the ``month`` field.

    A month that has not started yet has no figures, so it is refused.
    """
    match = MONTH_PATTERN.match(text or "")
    year, month = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
    if not match or not 1 <= month <= 12 or year < 2000:
        raise Invalid({"month": "Enter the month as a year and month, for example 2026-10."})
    today = clock.today()
    if (year, month) > (today.year, today.month):
        raise Invalid(
            {"month": f"{dt.date(year, month, 1):%B %Y} has not started yet: choose this month or an earlier one."}
        )
    return year, month


def period_of(year: int, month: int, *, now: dt.datetime | None = None) -> Period:
    now = now or db.utcnow()
    start = _midnight(dt.date(year, month, 1))
    after = _midnight(dt.date(year + month // 12, month % 12 + 1, 1))
    complete = now >= after
    return Period(year, month, start, after if complete else now, complete)


def _previous(year: int, month: int, back: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) - back
    return index // 12, index % 12 + 1


def _days(delta: dt.timedelta) -> float:
    return round(delta.total_seconds() / 86400, 1)


# --- channels ---------------------------------------------------------------------------------


def channel_states(end: dt.datetime) -> dict[int, tuple[str, str]]:
    """Each channel that existed before ``end`` → (platform, the status its last transition before then gave it)."""
    ranked = (
        select(
            ChannelTransition.channel_id.label("channel_id"),
            ChannelTransition.to_status.label("status"),
            func.row_number()
            .over(
                partition_by=ChannelTransition.channel_id,
                order_by=(ChannelTransition.occurred_at.desc(), ChannelTransition.id.desc()),
            )
            .label("n"),
        )
        .where(ChannelTransition.occurred_at < end)
        .subquery()
    )
    rows = (
        db.session()
        .execute(
            select(ranked.c.channel_id, Channel.platform, ranked.c.status)
            .join(Channel, Channel.id == ranked.c.channel_id)
            .where(ranked.c.n == 1)
        )
        .all()
    )
    return {channel_id: (platform, status) for channel_id, platform, status in rows}


def channel_states_at(ends: Sequence[dt.datetime]) -> tuple[dict[int, tuple[str, str]], list[int]]:
    """The channels' states (as :func:`channel_states`) at the last of ``ends``, and how many channels were
    official at each of ``ends`` (in order), in two statements: the states at the first end, then one
    pass over the transitions between the first and the last, taken in the same order. The official
    count follows each transition, so no copy of the states is made or counted again for each end."""
    official_statuses = frozenset(s.value for s in OFFICIAL_STATUSES)
    states = channel_states(ends[0])
    official = sum(1 for _platform, status in states.values() if status in official_statuses)
    counts = [official]
    later = db.session().execute(
        select(
            ChannelTransition.occurred_at, ChannelTransition.channel_id, Channel.platform, ChannelTransition.to_status
        )
        .join(Channel, Channel.id == ChannelTransition.channel_id)
        .where(ChannelTransition.occurred_at >= ends[0], ChannelTransition.occurred_at < ends[-1])
        .order_by(ChannelTransition.occurred_at, ChannelTransition.id)
    )
    rows = iter(later)
    row = next(rows, None)
    for end in ends[1:]:
        while row is not None and row[0] < end:
            _moment, channel_id, platform, status = row
            was = states.get(channel_id)
            official += (status in official_statuses) - (was is not None and was[1] in official_statuses)
            states[channel_id] = (platform, status)
            row = next(rows, None)
        counts.append(official)
    return states, counts


def _channels_moved(period: Period, actions: Iterable[str]) -> dict[str, int]:
    """How many channels took each of ``actions`` in the period (a channel counted once per action)."""
    rows = (
        db.session()
        .execute(
            select(ChannelTransition.action, func.count(distinct(ChannelTransition.channel_id)))
            .where(ChannelTransition.action.in_(list(actions)), period.contains(ChannelTransition.occurred_at))
            .group_by(ChannelTransition.action)
        )
        .all()
    )
    return {action: count for action, count in rows}


def channel_figures(period: Period, states: dict[int, tuple[str, str]]) -> dict[str, Any]:
    by_status = {s.value: 0 for s in ChannelStatus}
    by_platform = {p.value: 0 for p in Platform}
    live = [s for s in ChannelStatus if s in LIVE_STATUSES]
    live_by_platform_status = {p.value: {s.value: 0 for s in live} for p in Platform}
    for platform, status in states.values():
        by_status[status] += 1
        if ChannelStatus(status) in LIVE_STATUSES:
            by_platform[platform] += 1
            live_by_platform_status[platform][status] += 1
    moved = _channels_moved(
        period, ("activate", "adopt", "import", ChannelAction.SUSPEND, ChannelAction.REINSTATE, ChannelAction.RETIRE)
    )
    return {
        "by_status": by_status,
        "by_platform": by_platform,
        "live_by_platform_status": live_by_platform_status,
        "live": sum(by_platform.values()),
        "official": sum(by_status[s.value] for s in OFFICIAL_STATUSES),
        "created": moved.get("activate", 0) + moved.get("adopt", 0) + moved.get("import", 0),
        "suspended": moved.get(ChannelAction.SUSPEND, 0),
        "reinstated": moved.get(ChannelAction.REINSTATE, 0),
        "retired": moved.get(ChannelAction.RETIRE, 0),
    }


# --- requests and decisions -------------------------------------------------------------------


@dataclass(frozen=True)
class RequestHistory:
    """Where one kind of request keeps its history, and what its steps are called."""

    model: Any
    owner: InstrumentedAttribute[int]
    received: str
    approvals: tuple[str, ...]
    rejections: tuple[str, ...]

    @classmethod
    def of(cls, kind: RequestKind[Any]) -> RequestHistory:
        assert kind.decisions is not None
        step: Any = kind.step_model
        decisions = kind.decisions
        return cls(step, getattr(step, step.parent_key), decisions.received, decisions.approvals, decisions.rejections)

    @property
    def decisions(self) -> tuple[str, ...]:
        return self.approvals + self.rejections


def histories() -> dict[str, RequestHistory]:
    """The kinds of request the communications team decides, by name, in the registry's order."""
    return {kind.name: RequestHistory.of(kind) for kind in kinds() if kind.decisions is not None}


def _request_figures(history: RequestHistory, period: Period) -> tuple[dict[str, Any], list[dt.timedelta]]:
    """Received and decided in the period; turnaround from the request to its decision, in days.

    A request sent back for more information and resubmitted is timed from when it was first
    made: the time the requester took counts too, as the person waiting sees it.
    """
    model = history.model
    session = db.session()
    received = session.execute(
        select(func.count())
        .select_from(model)
        .where(model.action == history.received, period.contains(model.occurred_at))
    ).scalar_one()
    # When each request decided in the period was first made: looked up for those requests only, among
    # their own steps (by the index on the request's column; the action is tested on those few steps,
    # not sought by the index on actions, which would read every request ever made for each decision).
    asked = aliased(model)
    made = (
        select(func.min(case((asked.action == history.received, asked.occurred_at))))
        .where(getattr(asked, history.owner.key) == history.owner)
        .scalar_subquery()
    )
    decisions = [
        (action, decided, first)
        for action, decided, first in session.execute(
            select(model.action, model.occurred_at, made).where(
                model.action.in_(history.decisions), period.contains(model.occurred_at)
            )
        )
        if first is not None
    ]
    waits = sorted(decided - first for _action, decided, first in decisions)
    figures = {
        "received": received,
        "decided": len(decisions),
        "approved": sum(1 for action, _d, _a in decisions if action in history.approvals),
        "rejected": sum(1 for action, _d, _a in decisions if action in history.rejections),
        **_turnaround(waits),
    }
    return figures, waits


def _turnaround(waits: list[dt.timedelta]) -> dict[str, float | None]:
    """Median and longest wait in days (None when nothing was decided: there is no time to give)."""
    if not waits:
        return {"median_days": None, "longest_days": None}
    median = dt.timedelta(seconds=statistics.median(wait.total_seconds() for wait in waits))
    return {"median_days": _days(median), "longest_days": _days(max(waits))}


def request_figures(period: Period) -> dict[str, Any]:
    by_kind: dict[str, Any] = {}
    waits: list[dt.timedelta] = []
    for name, history in histories().items():
        by_kind[name], kind_waits = _request_figures(history, period)
        waits.extend(kind_waits)
    total: dict[str, Any] = {
        name: sum(figures[name] for figures in by_kind.values())
        for name in ("received", "decided", "approved", "rejected")
    }
    return {**by_kind, "all": {**total, **_turnaround(waits)}}


# --- credentials, rosters and access reviews -------------------------------------------------


def credential_figures(period: Period, states: dict[int, tuple[str, str]]) -> dict[str, int]:
    """Custody at the end of the month: secrets held, rotated in the month, overdue, and required.

    Custody notes are not secrets that rotate, so they are not counted. A credential is
    overdue when the rotation date of the version it had at the end of the month had passed;
    required when a "rotation required" flag was raised after that version was stored.
    """
    session = db.session()
    credentials = session.execute(
        select(
            Credential.id,
            Credential.channel_id,
            Credential.kind,
            Credential.current_version,
            Credential.rotation_due_on,
        ).where(Credential.kind != CredentialKind.NOTES.value)
    ).all()
    versions: dict[int, tuple[int, dt.datetime]] = {}
    for credential_id, version, created_at in session.execute(
        select(CredentialVersion.credential_id, CredentialVersion.version, CredentialVersion.created_at).where(
            CredentialVersion.created_at < period.end
        )
    ).all():
        if credential_id not in versions or version > versions[credential_id][0]:
            versions[credential_id] = (version, created_at)
    flagged: dict[str, dt.datetime] = dict(
        session.execute(
            select(AuditEvent.object_id, func.max(AuditEvent.occurred_at))
            .where(
                AuditEvent.action == AuditAction.CREDENTIAL_ROTATION_REQUIRED.value, AuditEvent.occurred_at < period.end
            )
            .group_by(AuditEvent.object_id)
        ).all()
    )
    rotation = dt.timedelta(days=custody.rotation_days())
    held = overdue = required = 0
    for credential_id, channel_id, kind, current_version, due_on in credentials:
        state = states.get(channel_id)
        if credential_id not in versions or state is None or ChannelStatus(state[1]) in NO_CUSTODY:
            continue
        held += 1
        version, stored_at = versions[credential_id]
        due = due_on if version == current_version else stored_at.astimezone(clock.LONDON).date() + rotation
        if due < period.as_of:
            overdue += 1
        flag = flagged.get(f"{reference_for(channel_id)}/{kind}")
        if flag is not None and flag > stored_at:
            required += 1
    rotated = session.execute(
        select(func.count())
        .select_from(CredentialVersion)
        .join(Credential, Credential.id == CredentialVersion.credential_id)
        .where(
            CredentialVersion.version > 1,
            Credential.kind != CredentialKind.NOTES.value,
            period.contains(CredentialVersion.created_at),
        )
    ).scalar_one()
    return {"held": held, "rotated": rotated, "overdue": overdue, "required": required}


def password_health_figures(period: Period, states: dict[int, tuple[str, str]]) -> dict[str, int]:
    """Password health at the end of the month, of the password each channel with an account held then.

    Health is as the Registry last worked it out for that version (when it was stored, or by
    ``credentials assess``): a version stored before the Registry checked passwords, and not assessed
    since, counts as not assessed. Reuse compares fingerprints under one key id, between channels;
    "old" is past the rotation date, as for the custody figures above. Only counts leave here.
    """
    rows = (
        db.session()
        .execute(
            select(
                Credential.id,
                Credential.channel_id,
                Credential.current_version,
                Credential.rotation_due_on,
                CredentialVersion.version,
                CredentialVersion.created_at,
                CredentialVersion.assessed_at,
                CredentialVersion.weak,
                CredentialVersion.breached,
                CredentialVersion.fingerprint_key_id,
                CredentialVersion.fingerprint,
            )
            .join(CredentialVersion, CredentialVersion.credential_id == Credential.id)
            .where(Credential.kind == CredentialKind.PASSWORD.value, CredentialVersion.created_at < period.end)
        )
        .all()
    )
    held: dict[int, Any] = {}
    for row in rows:
        state = states.get(row.channel_id)
        if state is None or ChannelStatus(state[1]) in NO_CUSTODY:
            continue
        if row.id not in held or row.version > held[row.id].version:
            held[row.id] = row
    rotation = dt.timedelta(days=custody.rotation_days())
    channels_of: dict[tuple[str, bytes], set[int]] = {}
    for row in held.values():
        if row.fingerprint is not None and row.fingerprint_key_id is not None:
            channels_of.setdefault((row.fingerprint_key_id, bytes(row.fingerprint)), set()).add(row.channel_id)
    figures = {"passwords": len(held), "not_assessed": 0, "weak": 0, "reused": 0, "old": 0, "breached": 0}
    for row in held.values():
        assessed = row.assessed_at is not None and row.assessed_at < period.end
        if not assessed:
            figures["not_assessed"] += 1
        else:
            figures["weak"] += bool(row.weak)
            figures["breached"] += bool(row.breached)
            if row.fingerprint is not None and row.fingerprint_key_id is not None:
                figures["reused"] += len(channels_of[(row.fingerprint_key_id, bytes(row.fingerprint))]) > 1
        current = row.version == row.current_version
        due = row.rotation_due_on if current else row.created_at.astimezone(clock.LONDON).date() + rotation
        figures["old"] += due < period.as_of
    return figures


def access_review_figures(period: Period) -> dict[str, int]:
    session = db.session()

    def count(*conditions: ColumnElement[bool], model: Any = AccessReview) -> int:
        return session.execute(select(func.count()).select_from(model).where(*conditions)).scalar_one()

    decided = {
        decision: count(
            AccessReviewItem.decision == decision.value,
            period.contains(AccessReviewItem.decided_at),
            model=AccessReviewItem,
        )
        for decision in ReviewDecision
    }
    return {
        "due": count(period.contains_date(AccessReview.due_on)),
        "completed": count(period.contains(AccessReview.finished_at)),
        "overdue": count(
            AccessReview.due_on < period.as_of,
            AccessReview.started_at < period.end,
            or_(AccessReview.finished_at.is_(None), AccessReview.finished_at >= period.end),
        ),
        "grants_certified": decided[ReviewDecision.CERTIFIED],
        "grants_revoked": decided[ReviewDecision.REVOKED],
        "grants_ended": count(period.contains(RosterGrant.revoked_at), model=RosterGrant),
    }


# --- consents, posts, monitoring, the audit trail ---------------------------------------------


def monitoring_figures(period: Period) -> dict[str, int]:
    session = db.session()

    def count(*conditions: ColumnElement[bool]) -> int:
        return session.execute(select(func.count()).select_from(UnauthorisedAccount).where(*conditions)).scalar_one()

    def closed_as(status: FindingStatus) -> int:
        return count(UnauthorisedAccount.status == status.value, period.contains(UnauthorisedAccount.closed_at))

    return {
        "found": count(period.contains_date(UnauthorisedAccount.found_on)),
        "taken_down": closed_as(FindingStatus.TAKEN_DOWN),
        "adopted": closed_as(FindingStatus.ADOPTED),
        "dismissed": closed_as(FindingStatus.DISMISSED),
        "open_at_end": count(
            UnauthorisedAccount.found_on < period.next_first,
            UnauthorisedAccount.created_at < period.end,
            or_(UnauthorisedAccount.closed_at.is_(None), UnauthorisedAccount.closed_at >= period.end),
        ),
    }


def audit_figures(period: Period) -> dict[str, Any]:
    """The chain's head as it stood when the period ended, whether the trail up to it checks out now
    (see :func:`chain_check`), and the last signed checkpoint taken before the period ended.

    Anyone can later confirm that event ``head_seq`` still has ``head_hash``: the trail up to
    the end of the month has not been rewritten since the report. The checkpoint's signature
    checks with the public key printed beside it, whoever holds the database.
    """
    session = db.session()
    last = _last_event(period.end)
    events = session.execute(
        select(func.count()).select_from(AuditEvent).where(period.contains(AuditEvent.occurred_at))
    ).scalar_one()
    head_seq = last[0] if last else 0
    return {
        "head_seq": head_seq,
        "head_hash": last[1] if last else GENESIS_HASH,
        "events": events,
        "chain_intact": chain_check(period, head_seq).ok,
        "checkpoint": _checkpoint(period),
    }


def _last_event(before: dt.datetime) -> tuple[int, str] | None:
    """The (number, hash) of the trail's last event before ``before``, or None."""
    row = (
        db.session()
        .execute(
            select(AuditEvent.seq, AuditEvent.hash)
            .where(AuditEvent.occurred_at < before)
            .order_by(AuditEvent.seq.desc())
            .limit(1)
        )
        .first()
    )
    return (row[0], row[1]) if row else None


def chain_check(period: Period, head_seq: int) -> ChainReport:
    """Check the trail through the month's last event, ``head_seq``, starting from the latest checkpoint
    signed before the month began, of an event from before it (from the genesis when there is none).
    The start event's own hash is worked out again from its fields, so moving an event's time to
    choose a later start is found.

    What ``chain_intact`` then asserts: when the report was generated, the month's events and those
    since that checkpoint linked, by the chain's rules, to the head the checkpoint signed; so nobody
    without the audit key had changed, added or removed an event of the month, and the head hash
    printed in the report descends from a signed checkpoint. Earlier events are vouched for only by
    that signature, later ones not at all: ``audit verify`` checks the whole trail. The cost follows
    the month's activity (and the time since the checkpoint), not the trail's length.
    """
    before = _last_event(period.start)
    report, _start = verify_span(before[0] if before else 0, head_seq, signed_before=period.start)
    return report


def _checkpoint(period: Period) -> dict[str, Any]:
    """The last checkpoint of this chain signed before the period ended (event number, hash, time;
    none yet: ``None``) and the public key that checks it (the current key's when there is none)."""
    checkpoint = latest_checkpoint(period.end)
    keyring = current_keyring()
    key_id = checkpoint.key_id if checkpoint else keyring.primary_id
    return {
        "seq": checkpoint.seq if checkpoint else None,
        "hash": checkpoint.hash if checkpoint else None,
        "at": checkpoint.at if checkpoint else None,
        "chain_id": checkpoint.chain_id if checkpoint else None,
        "key_id": key_id,
        "public_key": checkpoint.public_key if checkpoint else keyring.public_key_hex(key_id),
    }


# --- trends -----------------------------------------------------------------------------------


def trend_months(period: Period) -> list[tuple[int, int]]:
    """The last twelve months to this one, oldest first."""
    return [_previous(period.year, period.month, back) for back in range(TREND_MONTHS - 1, -1, -1)]


def trend_ends(period: Period) -> list[dt.datetime]:
    """When each trend month ends (this one at the period's end: now, for the current month)."""
    return [period_of(*m).end for m in trend_months(period)[:-1]] + [period.end]


def trend_figures(period: Period, official: list[int]) -> dict[str, list[Any]]:
    """The last twelve months to this one: requests received and decided, official channels at each
    month's end (``official``: from :func:`channel_states_at` the :func:`trend_ends`)."""
    months = trend_months(period)
    keys = [month_key(*m) for m in months]
    # Each month's UK bounds. The database counts each month's steps of each action from the index on
    # (action, occurred_at): no row of them comes back, and no step outside the twelve months is read.
    bounds = list(zip([period_of(*m).start for m in months], trend_ends(period), strict=True))
    received = [0] * len(months)
    decided = [0] * len(months)
    session = db.session()
    for history in histories().values():
        model = history.model
        counts = session.execute(
            select(
                *(
                    select(func.count())
                    .select_from(model)
                    .where(model.action.in_(actions), model.occurred_at >= start, model.occurred_at < end)
                    .scalar_subquery()
                    for actions in ((history.received,), history.decisions)
                    for start, end in bounds
                )
            )
        ).one()
        for n in range(len(months)):
            received[n] += counts[n]
            decided[n] += counts[len(months) + n]
    return {
        "months": keys,
        "requests_received": received,
        "requests_decided": decided,
        "channels_official": official,
    }


# --- account security health ---------------------------------------------------------------------


def account_health_figures(period: Period, states: dict[int, tuple[str, str]]) -> dict[str, int]:
    """The channels active at the end of the month by the outcome of their latest account security
    check before then (unchecked: none yet), the share of them healthy in whole per cent, and the
    checks recorded during the month; two statements."""
    active = {channel_id for channel_id, (_platform, status) in states.items() if status == ChannelStatus.ACTIVE.value}
    ranked = (
        select(
            HealthCheck.channel_id.label("channel_id"),
            HealthCheck.state.label("state"),
            func.row_number()
            .over(
                partition_by=HealthCheck.channel_id,
                order_by=(HealthCheck.checked_at.desc(), HealthCheck.id.desc()),
            )
            .label("n"),
        )
        .where(HealthCheck.checked_at < period.end)
        .subquery()
    )
    latest = {
        channel_id: state
        for channel_id, state in db.session().execute(
            select(ranked.c.channel_id, ranked.c.state).where(ranked.c.n == 1)
        )
    }
    counts = {state.value: 0 for state in HealthState}
    for channel_id in active:
        counts[latest.get(channel_id, HealthState.UNCHECKED.value)] += 1
    checks, failed = (
        db.session()
        .execute(
            select(
                func.count(),
                func.coalesce(func.sum(case((HealthCheck.state == HealthState.NEEDS_ATTENTION.value, 1), else_=0)), 0),
            ).where(period.contains(HealthCheck.checked_at))
        )
        .one()
    )
    total = len(active)
    healthy = counts[HealthState.HEALTHY.value]
    return {
        "active": total,
        "healthy": healthy,
        "needs_attention": counts[HealthState.NEEDS_ATTENTION.value],
        "unchecked": counts[HealthState.UNCHECKED.value],
        # Whole per cent, rounded half up (0 with no active channel).
        "percent_healthy": (healthy * 200 + total) // (2 * total) if total else 0,
        "checks": int(checks),
        "checks_needing_attention": int(failed),
    }


# --- the whole report -------------------------------------------------------------------------


def compute(year: int, month: int, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """Every figure of the month's report, as JSON-ready data (dates and times as ISO text)."""
    now = now or db.utcnow()
    period = period_of(year, month, now=now)
    states, official = channel_states_at(trend_ends(period))
    return {
        "schema": SCHEMA,
        "month": period.key,
        "period": {
            "first_day": period.first_day.isoformat(),
            "last_day": period.last_day.isoformat(),
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
            "complete": period.complete,
        },
        "generated_at": now.isoformat(),
        "channels": channel_figures(period, states),
        "requests": request_figures(period),
        "credentials": credential_figures(period, states),
        "password_health": password_health_figures(period, states),
        "account_health": account_health_figures(period, states),
        "access_reviews": access_review_figures(period),
        **{kind.report.key: kind.month_figures(period) for kind in kinds() if kind.report is not None},
        "unauthorised_accounts": monitoring_figures(period),
        "audit": audit_figures(period),
        "trends": trend_figures(period, official),
    }
