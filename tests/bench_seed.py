"""The requests of every kind that ``make bench`` seeds beside its channels, and the people who make them.

Rows are built in memory and inserted in bulk, a few thousand per statement (as the channels are), each
request with the history steps the request engine would have written, each step with its audit
event, spread over three years with one busy month (the month before this one) for the monthly
report. What is open depends on age: most recent requests still wait, and a few old ones were
forgotten, so the work queue, the home pages and the report have something real to count.
Nothing here goes through the ORM one object at a time, nor through the services (the service-made
people who sign in are ``tests.bench``'s).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from registry.audit.models import AuditAction
from registry.breaches.clauses import policy_version
from registry.breaches.intake import clause_rows
from registry.breaches.models import BreachReport, BreachReportClause, BreachStep
from registry.breaches.workflow import TRANSITIONS as BREACH_TRANSITIONS
from registry.breaches.workflow import BreachAction, BreachStatus, RouteReason
from registry.channels.platforms import Platform
from registry.consent.models import (
    ConsentReferenceCounter,
    LogoConsent,
    LogoConsentMedium,
    LogoConsentStep,
    consent_reference,
    request_reference_for,
)
from registry.consent.workflow import TRANSITIONS as CONSENT_TRANSITIONS
from registry.consent.workflow import Asset, ConsentAction, ConsentStatus, Medium
from registry.lifecycle.table import Transition
from registry.media.models import REFERENCE as MEDIA_REFERENCE
from registry.media.models import MediaContact, MediaContactStep
from registry.media.workflow import TRANSITIONS as MEDIA_TRANSITIONS
from registry.media.workflow import MediaContactStatus, TriageAction
from registry.notifications.models import Notification
from registry.posts.models import PostTarget, PostTransition, PromotionalPost
from registry.posts.models import reference_for as post_reference
from registry.posts.workflow import TRANSITIONS as POST_TRANSITIONS
from registry.posts.workflow import PostAction, PostStatus
from registry.roster.models import AccessReview, AccessReviewItem, RosterGrant

if TYPE_CHECKING:
    from registry.auth.models import User

HISTORY = dt.timedelta(days=3 * 365)
#: The share of requests made in the busy month on top of its ordinary share (so about four times an ordinary month).
BUSY_SHARE = 0.08
#: How the requests that are not channel requests divide between the kinds.
KIND_SHARES = {"posts": 0.45, "consents": 0.20, "media": 0.20, "breaches": 0.15}
NOTE = "Recorded by the bench: what the person said when they took this step."
ADVICE = "Do not reply yourself; we will answer the journalist by the end of the day."


@dataclass(frozen=True)
class Person:
    """Someone a seeded row names: what an audit event needs of a user."""

    id: int
    name: str
    email: str

    @property
    def label(self) -> str:
        return f"{self.name} <{self.email}>"


def person(user: User) -> Person:
    return Person(user.id, user.name, user.email)


@dataclass
class Crowd:
    """The people requests come from and go to. ``heavy`` is the signed-in member of staff, who makes
    one request in a hundred; ``line_manager_of`` maps each member of staff to their line manager."""

    staff: list[Person]
    managers: list[Person]
    comms: list[Person]
    hr: list[Person]
    heavy: Person
    line_manager_of: dict[int, int]

    def requester(self, rng: random.Random) -> Person:
        return self.heavy if rng.random() < 0.01 else rng.choice(self.staff)


@dataclass
class Drafted:
    """An audit event before it has a place in the chain (``tests.bench.chain`` links them)."""

    occurred_at: dt.datetime
    actor: Any
    action: str
    object_type: str
    object_id: str
    details: dict[str, Any]
    address: str | None = None


@dataclass
class Batch:
    """Rows for one kind, by model (:func:`insert_order` puts parents first), and their audit drafts."""

    rows: dict[type[Any], list[dict[str, Any]]] = field(default_factory=dict)
    drafts: list[Drafted] = field(default_factory=list)
    made: int = 0
    steps: int = 0

    def add(self, model: type[Any], row: dict[str, Any]) -> None:
        self.rows.setdefault(model, []).append(row)


class Clock:
    """When requests were made: spread over three years, with a busy month, never in the future."""

    def __init__(self, now: dt.datetime, rng: random.Random) -> None:
        self.now = now
        self.rng = rng
        self.start = now - HISTORY
        this_month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        self.busy_end = this_month
        self.busy_start = (this_month - dt.timedelta(days=1)).replace(day=1)

    @property
    def busy_month(self) -> str:
        return f"{self.busy_start:%Y-%m}"

    def made(self) -> dt.datetime:
        if self.rng.random() < BUSY_SHARE:
            span = (self.busy_end - self.busy_start).total_seconds()
            return self.busy_start + dt.timedelta(seconds=self.rng.uniform(0, span))
        span = (self.now - self.start).total_seconds() - 3600
        return self.start + dt.timedelta(seconds=self.rng.uniform(0, span))

    def still_open(self, made: dt.datetime) -> bool:
        """Most requests from the last month still wait, some from the last quarter, a few older ones."""
        age = (self.now - made).days
        chance = 0.6 if age < 30 else 0.2 if age < 90 else 0.02
        return self.rng.random() < chance

    def steps(self, made: dt.datetime, count: int) -> list[dt.datetime]:
        """The times of ``count`` steps after ``made``, within a month of it and before now."""
        span = min(self.now - made, dt.timedelta(days=30)) - dt.timedelta(seconds=1)
        return sorted(made + span * self.rng.uniform(0.02, 1.0) for _ in range(count))


Path = tuple[list[str], int]


def pick(rng: random.Random, paths: Sequence[Path]) -> list[str]:
    return rng.choices([p for p, _w in paths], [w for _p, w in paths])[0]


# --------------------------------------------------------------------------
# People


def crowd_rows(
    first_id: int, staff_count: int, now: dt.datetime, rng: random.Random
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[Person], list[Person], list[Person]]:
    """Users and their roles: ``staff_count`` staff, a manager for every fifteen, and three in HR.

    Nobody here signs in (no password); one in fifty staff has left (deactivated).
    """
    users: list[dict[str, Any]] = []
    roles: list[dict[str, Any]] = []
    staff: list[Person] = []
    managers: list[Person] = []
    hr: list[Person] = []
    next_id = first_id

    def add(kind: str, number: int, role: str, into: list[Person]) -> None:
        nonlocal next_id
        email = f"{kind}.{number:05d}@example.nhs.uk"
        name = f"{kind.capitalize()} Person {number}"
        left = role == "staff" and rng.random() < 0.02
        created = now - HISTORY - dt.timedelta(days=rng.randrange(1, 400))
        users.append(
            {
                "id": next_id,
                "email": email,
                "name": name,
                "active": not left,
                "created_at": created,
                "last_login_at": now - dt.timedelta(days=rng.randrange(0, 200)),
                "deactivated_at": now - dt.timedelta(days=rng.randrange(1, 300)) if left else None,
                "line_manager_id": None,
            }
        )
        roles.append({"user_id": next_id, "role": role})
        into.append(Person(next_id, name, email))
        next_id += 1

    for number in range(1, max(2, staff_count // 15) + 1):
        add("manager", number, "manager", managers)
    for number in range(1, 4):
        add("hr", number, "hr", hr)
    for number in range(1, staff_count + 1):
        add("staff", number, "staff", staff)
    by_id = {row["id"]: row for row in users}
    for member in staff:
        by_id[member.id]["line_manager_id"] = rng.choice(managers).id
    return users, roles, staff, managers, hr


# --------------------------------------------------------------------------
# Requests of each kind


def _walk(
    batch: Batch,
    clock: Clock,
    actions: list[str],
    made: dt.datetime,
    status: str,
    table: dict[Any, Transition[Any, Any]],
    actor_of: Callable[[Transition[Any, Any]], Person],
    step: Callable[[str, str | None, str, Person, dt.datetime, Transition[Any, Any]], None],
    on: Callable[[Transition[Any, Any], dt.datetime, Person], None] | None = None,
) -> tuple[str, dt.datetime]:
    """Take ``actions`` from ``status`` by the table (each must be legal there); returns the final
    status and when it was reached."""
    moment = made
    for action, when in zip(actions, clock.steps(made, len(actions)), strict=True):
        t = next(t for key, t in table.items() if key.value == action)
        if status not in {s.value for s in t.sources}:
            raise AssertionError(f"{action} is not allowed from {status}")
        actor = actor_of(t)
        step(action, status, t.target.value, actor, when, t)
        if on is not None:
            on(t, when, actor)
        status, moment = t.target.value, when
    return status, moment


POST_OPEN: list[Path] = [
    ([], 3),
    (["request_changes"], 1),
    (["approve"], 1),
    (["approve", "schedule"], 1),
    (["request_changes", "resubmit"], 1),
]
POST_CLOSED: list[Path] = [
    (["approve", "schedule", "publish"], 6),
    (["approve", "publish"], 3),
    (["reject"], 1),
    (["withdraw"], 1),
    (["request_changes", "resubmit", "approve", "schedule", "publish"], 1),
    (["request_changes", "reject"], 1),
]


def posts(count: int, first_id: int, crowd: Crowd, channel_ids: Sequence[int], clock: Clock) -> Batch:
    """Promotional posts for one or two active channels, with their history."""
    rng = clock.rng
    batch = Batch()
    if not channel_ids:
        raise SystemExit("Posts need at least one active channel to be posted on.")
    for number in range(first_id, first_id + count):
        made = clock.made()
        requester = crowd.requester(rng)
        decider = rng.choice(crowd.comms)
        reference = post_reference(made.year, number)
        row: dict[str, Any] = {
            "id": number,
            "year": made.year,
            "text": f"Join us on {made:%d %B} for the hospital's open day: tours, talks and free health checks.",
            "reason": "Encourage local people to visit and meet the teams.",
            "wished_for": made.date() + dt.timedelta(days=rng.randrange(3, 30)),
            "consent_confirmed_at": made,
            "consent_location": "",
            "status": PostStatus.SUBMITTED.value,
            "requester_id": requester.id,
            "created_at": made,
            "updated_at": made,
            "status_changed_at": made,
            "screened_at": made,
            "scheduled_for": None,
            "published_at": None,
            "version": 1,
        }
        targets = rng.sample(list(channel_ids), min(len(channel_ids), rng.choice((1, 1, 2))))

        def step(action: str, before: str | None, after: str, actor: Person, when: dt.datetime, _t: Any) -> None:
            batch.add(
                PostTransition,
                {
                    "post_id": number,  # noqa: B023
                    "action": action,
                    "from_status": before,
                    "to_status": after,
                    "actor_id": actor.id,
                    "occurred_at": when,
                    "note": NOTE if action in ("request_changes", "reject") else None,
                },
            )
            batch.steps += 1

        def on(t: Transition[Any, Any], when: dt.datetime, _actor: Person) -> None:
            if t.action is PostAction.SCHEDULE:
                row["scheduled_for"] = when + dt.timedelta(days=rng.randrange(1, 7))  # noqa: B023
            elif t.action is PostAction.PUBLISH:
                row["published_at"] = when  # noqa: B023

        step("request", None, PostStatus.SUBMITTED.value, requester, made, None)
        batch.drafts.append(
            Drafted(made, requester, AuditAction.POST_REQUEST.value, "promotional_post", reference, {"version": 1})
        )
        actions = pick(rng, POST_OPEN if clock.still_open(made) else POST_CLOSED)
        status, moment = _walk(
            batch,
            clock,
            actions,
            made,
            PostStatus.SUBMITTED.value,
            dict(POST_TRANSITIONS),
            lambda t: requester if t.permission is None else decider,  # noqa: B023
            lambda *a: _audited(batch, step, "promotional_post", reference, *a),  # noqa: B023
            on,
        )
        row.update(status=status, status_changed_at=moment, updated_at=moment)
        batch.add(PromotionalPost, row)
        for channel_id in targets:
            url = f"https://example.org/posts/{number}" if status == PostStatus.PUBLISHED.value else None
            batch.add(PostTarget, {"post_id": number, "channel_id": channel_id, "published_url": url})
        batch.made += 1
    return batch


def _audited(
    batch: Batch,
    step: Callable[..., None],
    object_type: str,
    reference: str,
    action: str,
    before: str | None,
    after: str,
    actor: Person,
    when: dt.datetime,
    t: Transition[Any, Any],
) -> None:
    """Write the step and draft its audit event, as the request engine does."""
    step(action, before, after, actor, when, t)
    batch.drafts.append(Drafted(when, actor, t.audit.value, object_type, reference, {"from": before, "to": after}))


CONSENT_OPEN: list[Path] = [([], 3), (["request_changes"], 1), (["request_changes", "resubmit"], 1)]
CONSENT_CLOSED: list[Path] = [
    (["approve"], 5),
    (["approve_with_conditions"], 2),
    (["reject"], 1),
    (["withdraw"], 1),
    (["request_changes", "resubmit", "approve"], 1),
]


def consents(count: int, first_id: int, crowd: Crowd, clock: Clock) -> Batch:
    """Logo and lozenge consent requests with their media and history; approvals numbered per year."""
    rng = clock.rng
    batch = Batch()
    numbers: dict[int, int] = {}
    departments = ("Maternity", "Cardiology", "Estates and Facilities", "Research", "Workforce", "Pharmacy")
    for number in range(first_id, first_id + count):
        made = clock.made()
        requester = crowd.requester(rng)
        decider = rng.choice(crowd.comms)
        reference = request_reference_for(number)
        starts = made.date() + dt.timedelta(days=rng.randrange(14, 60))
        row: dict[str, Any] = {
            "id": number,
            "title": f"Leaflet for the {rng.choice(departments).lower()} open day {number}",
            "department": rng.choice(departments),
            "asset": rng.choice(list(Asset)).value,
            "purpose": "Printed leaflets and a web page inviting families to the open day.",
            "audience": "Patients, families and the local community.",
            "partner_involved": False,
            "partner_name": None,
            "starts_on": starts,
            "ends_on": starts + dt.timedelta(days=rng.randrange(30, 400)),
            "status": ConsentStatus.SUBMITTED.value,
            "requester_id": requester.id,
            "created_at": made,
            "updated_at": made,
            "submitted_at": made,
            "status_changed_at": made,
            "reference": None,
            "decided_by_id": None,
            "decided_at": None,
            "conditions": None,
            "expires_on": None,
        }

        def step(action: str, before: str | None, after: str, actor: Person, when: dt.datetime, _t: Any) -> None:
            batch.add(
                LogoConsentStep,
                {
                    "consent_id": number,  # noqa: B023
                    "action": action,
                    "from_status": before,
                    "to_status": after,
                    "actor_id": actor.id,
                    "occurred_at": when,
                    "note": NOTE if action in ("request_changes", "reject") else None,
                },
            )
            batch.steps += 1

        def on(t: Transition[Any, Any], when: dt.datetime, actor: Person) -> None:
            if t.action in (ConsentAction.APPROVE, ConsentAction.APPROVE_WITH_CONDITIONS):
                numbers[when.year] = numbers.get(when.year, 0) + 1
                row.update(  # noqa: B023
                    reference=consent_reference(when.year, numbers[when.year]),
                    decided_by_id=actor.id,
                    decided_at=when,
                    expires_on=row["ends_on"],  # noqa: B023
                )
                if t.action is ConsentAction.APPROVE_WITH_CONDITIONS:
                    row["conditions"] = "Use the supplied lozenge artwork unaltered."  # noqa: B023
            elif t.action is ConsentAction.REJECT:
                row.update(decided_by_id=actor.id, decided_at=when)  # noqa: B023

        step("submit", None, ConsentStatus.SUBMITTED.value, requester, made, None)
        batch.drafts.append(
            Drafted(
                made, requester, AuditAction.CONSENT_REQUEST.value, "logo_consent", reference, {"asset": row["asset"]}
            )
        )
        actions = pick(rng, CONSENT_OPEN if clock.still_open(made) else CONSENT_CLOSED)
        status, moment = _walk(
            batch,
            clock,
            actions,
            made,
            ConsentStatus.SUBMITTED.value,
            dict(CONSENT_TRANSITIONS),
            lambda t: requester if t.permission is None else decider,  # noqa: B023
            lambda *a: _audited(batch, step, "logo_consent", reference, *a),  # noqa: B023
            on,
        )
        row.update(status=status, status_changed_at=moment, updated_at=moment)
        batch.add(LogoConsent, row)
        for medium in rng.sample(list(Medium), rng.choice((1, 1, 2, 3))):
            batch.add(LogoConsentMedium, {"consent_id": number, "medium": medium.value})
        batch.made += 1
    batch.rows[ConsentReferenceCounter] = [{"year": y, "last_number": n} for y, n in sorted(numbers.items())]
    return batch


MEDIA_OPEN: list[Path] = [
    ([], 2),
    (["acknowledge"], 2),
    (["acknowledge", "advise"], 2),
    (["acknowledge", "respond"], 1),
]
MEDIA_CLOSED: list[Path] = [
    (["acknowledge", "advise", "close"], 5),
    (["close"], 1),
    (["acknowledge", "respond", "close"], 2),
]
OUTLETS = ("Evening Gazette", "Radio North", "Health Service Journal", "The Local Echo", None)


def media_contacts(count: int, first_id: int, crowd: Crowd, clock: Clock) -> Batch:
    """Media approaches logged by staff, triaged by comms."""
    rng = clock.rng
    batch = Batch()
    platforms = [Platform.X, Platform.FACEBOOK, Platform.INSTAGRAM, Platform.LINKEDIN, Platform.TIKTOK]
    for number in range(first_id, first_id + count):
        made = clock.made()
        reporter = crowd.requester(rng)
        handler = rng.choice(crowd.comms)
        reference = MEDIA_REFERENCE.of(number)
        contacted = made - dt.timedelta(hours=rng.randrange(1, 48))
        row: dict[str, Any] = {
            "id": number,
            "platform": rng.choice(platforms).value,
            "outlet": rng.choice(OUTLETS),
            "journalist": None,
            "contacted_at": contacted,
            "deadline_at": contacted + dt.timedelta(days=1) if rng.random() < 0.5 else None,
            "enquiry": "Asked for a comment on waiting times in the emergency department.",
            "link": f"https://x.com/messages/{number}",
            "no_response_confirmed_at": made,
            "status": MediaContactStatus.REPORTED.value,
            "reporter_id": reporter.id,
            "advice": None,
            "advised_at": None,
            "advised_by_id": None,
            "closed_at": None,
            "created_at": made,
            "updated_at": made,
            "status_changed_at": made,
        }

        def step(action: str, before: str | None, after: str, actor: Person, when: dt.datetime, _t: Any) -> None:
            batch.add(
                MediaContactStep,
                {
                    "media_contact_id": number,  # noqa: B023
                    "action": action,
                    "from_status": before,
                    "to_status": after,
                    "actor_id": actor.id,
                    "occurred_at": when,
                    "note": NOTE if action == "close" else None,
                    "advice": ADVICE if action == "advise" else None,
                },
            )
            batch.steps += 1

        def on(t: Transition[Any, Any], when: dt.datetime, actor: Person) -> None:
            if t.action is TriageAction.ADVISE:
                row.update(advice=ADVICE, advised_at=when, advised_by_id=actor.id)  # noqa: B023
            elif t.action is TriageAction.CLOSE:
                row["closed_at"] = when  # noqa: B023

        step("report", None, MediaContactStatus.REPORTED.value, reporter, made, None)
        batch.drafts.append(
            Drafted(made, reporter, AuditAction.MEDIA_CONTACT_REPORT.value, "media_contact", reference, {})
        )
        actions = pick(rng, MEDIA_OPEN if clock.still_open(made) else MEDIA_CLOSED)
        status, moment = _walk(
            batch,
            clock,
            actions,
            made,
            MediaContactStatus.REPORTED.value,
            dict(MEDIA_TRANSITIONS),
            lambda _t: handler,  # noqa: B023
            lambda *a: _audited(batch, step, "media_contact", reference, *a),  # noqa: B023
            on,
        )
        row.update(status=status, status_changed_at=moment, updated_at=moment)
        batch.add(MediaContact, row)
        batch.made += 1
    return batch


BREACH_OPEN_ROUTED: list[Path] = [([], 3), (["escalate"], 1)]
BREACH_CLOSED_ROUTED: list[Path] = [(["resolve"], 4), (["escalate", "outcome"], 1)]
BREACH_OPEN_UNROUTED: list[Path] = [([], 2), (["route"], 1)]
BREACH_CLOSED_UNROUTED: list[Path] = [(["close"], 2), (["route", "resolve"], 1)]


def breach_reports(count: int, first_id: int, crowd: Crowd, clock: Clock, clause_ids: Sequence[int]) -> Batch:
    """Breach reports: two in three about a member of staff with a line manager (who handles it),
    the rest routed by comms; one in seven flagged as a reputational risk."""
    rng = clock.rng
    batch = Batch()
    for number in range(first_id, first_id + count):
        made = clock.made()
        reporter = crowd.requester(rng)
        reference = f"BR-{number:04d}"
        subject = rng.choice(crowd.staff) if rng.random() < 0.67 else None
        if subject is not None and subject.id == reporter.id:
            subject = None
        manager_id = crowd.line_manager_of.get(subject.id) if subject else None
        manager = next((m for m in crowd.managers if m.id == manager_id), None) if manager_id else None
        routed = manager is not None
        risky = rng.random() < 0.15
        row: dict[str, Any] = {
            "id": number,
            "status": (BreachStatus.WITH_MANAGER if routed else BreachStatus.TO_ROUTE).value,
            "account": f"@person{number} on X",
            "link": f"https://x.com/person{number}/status/{number}",
            "description": "Posted a photograph taken on a ward, with patients in the background.",
            "policy_version": policy_version(),
            "reputational_risk": risky,
            "flagged_at": made if risky else None,
            "flagged_by_id": reporter.id if risky else None,
            "subject_id": subject.id if subject else None,
            "subject_name": None,
            "reporter_id": reporter.id,
            "manager_id": manager.id if manager else None,
            "route_reason": None if routed else RouteReason.SUBJECT_UNKNOWN.value,
            "created_at": made,
            "status_changed_at": made,
            "escalated_at": None,
            "closed_at": None,
            "anonymised_at": None,
        }
        comms = rng.choice(crowd.comms)
        hr = rng.choice(crowd.hr)
        assigned: list[Person | None] = [manager or rng.choice(crowd.managers)]

        def step(action: str, before: str | None, after: str, actor: Person, when: dt.datetime, _t: Any) -> None:
            batch.add(
                BreachStep,
                {
                    "report_id": number,  # noqa: B023
                    "action": action,
                    "from_status": before,
                    "to_status": after,
                    "actor_id": actor.id,
                    "occurred_at": when,
                    "note": NOTE if action != "route" and before is not None else None,
                    "assigned_to_id": (
                        assigned[0].id  # type: ignore[union-attr]  # noqa: B023
                        if action == "route" or (action == "report" and after == BreachStatus.WITH_MANAGER.value)
                        else None
                    ),
                },
            )
            batch.steps += 1

        def actor_of(t: Transition[Any, Any]) -> Person:
            handler = getattr(t, "handler", None)
            if handler is not None and handler.value == "manager":
                return assigned[0]  # type: ignore[return-value]  # noqa: B023
            return hr if handler is not None and handler.value == "hr" else comms  # noqa: B023

        def on(t: Transition[Any, Any], when: dt.datetime, _actor: Person) -> None:
            if t.action is BreachAction.ROUTE:
                row["manager_id"] = assigned[0].id  # type: ignore[union-attr]  # noqa: B023
            elif t.action is BreachAction.ESCALATE:
                row["escalated_at"] = when  # noqa: B023
            if t.target is BreachStatus.CLOSED:
                row["closed_at"] = when  # noqa: B023

        step("report", None, row["status"], reporter, made, None)
        batch.drafts.append(
            Drafted(
                made, reporter, AuditAction.BREACH_REPORT.value, "breach_report", reference, {"status": row["status"]}
            )
        )
        still_open = clock.still_open(made)
        if routed:
            actions = pick(rng, BREACH_OPEN_ROUTED if still_open else BREACH_CLOSED_ROUTED)
        else:
            actions = pick(rng, BREACH_OPEN_UNROUTED if still_open else BREACH_CLOSED_UNROUTED)
        status, moment = _walk(
            batch,
            clock,
            actions,
            made,
            row["status"],
            dict(BREACH_TRANSITIONS),
            actor_of,
            lambda *a: _audited(batch, step, "breach_report", reference, *a),  # noqa: B023
            on,
        )
        row.update(status=status, status_changed_at=moment)
        batch.add(BreachReport, row)
        for clause_id in rng.sample(list(clause_ids), min(len(clause_ids), rng.choice((1, 1, 2)))):
            batch.add(BreachReportClause, {"report_id": number, "clause_id": clause_id})
        batch.made += 1
    return batch


def breach_clause_ids() -> list[int]:
    """The ids of a few clauses of the current policy, written as the first report citing them would."""
    return [row.id for row in clause_rows(["6.13", "6.7", "6.8"])]


# --------------------------------------------------------------------------
# Rosters, access reviews and messages


def rosters(channel_ids: Sequence[int], crowd: Crowd, clock: Clock) -> Batch:
    """Two grants on each active channel (a member of staff, an agency); one in ten revoked; an access
    review every quarter over fifty grants, all decided but the last."""
    rng = clock.rng
    batch = Batch()
    grant_id = 0
    for channel_id in channel_ids:
        for outsider in (False, True):
            grant_id += 1
            holder = rng.choice(crowd.staff)
            granted = clock.start + dt.timedelta(days=rng.randrange(0, 900))
            revoked = rng.random() < 0.1
            batch.add(
                RosterGrant,
                {
                    "id": grant_id,
                    "channel_id": channel_id,
                    "user_id": None if outsider else holder.id,
                    "person_name": "Agency Person" if outsider else holder.name,
                    "email": f"agency{grant_id}@agency.example" if outsider else holder.email,
                    "organisation": "Bright Agency Ltd" if outsider else None,
                    "platform_role": "moderator" if outsider else "editor",
                    "granted_by_id": rng.choice(crowd.comms).id,
                    "granted_on": granted.date(),
                    "expires_on": (granted + dt.timedelta(days=730)).date() if outsider else None,
                    "created_at": granted,
                    "revoked_at": granted + dt.timedelta(days=200) if revoked else None,
                    "revoked_by_id": rng.choice(crowd.comms).id if revoked else None,
                    "revoke_reason": "No longer works on the account." if revoked else None,
                },
            )
    reviews = 12
    item_id = 0
    for number in range(1, reviews + 1 if grant_id else 1):
        started = clock.start + (HISTORY * number) / (reviews + 1)
        finished = number < reviews
        starter = rng.choice(crowd.comms)
        batch.add(
            AccessReview,
            {
                "id": number,
                "title": f"Quarterly access review {number}",
                "scope": "some",
                "started_by_id": starter.id,
                "started_at": started,
                "due_on": (started + dt.timedelta(days=30)).date(),
                "finished_at": started + dt.timedelta(days=20) if finished else None,
            },
        )
        for grant in rng.sample(range(1, grant_id + 1), min(50, grant_id)):
            item_id += 1
            decider = rng.choice(crowd.comms)
            batch.add(
                AccessReviewItem,
                {
                    "id": item_id,
                    "review_id": number,
                    "grant_id": grant,
                    "decision": "certified" if finished else None,
                    "decided_by_id": decider.id if finished else None,
                    "decided_at": started + dt.timedelta(days=10) if finished else None,
                    "note": None,
                },
            )
    return batch


def messages(count: int, recipients: Sequence[Person], clock: Clock) -> Batch:
    """Messages in the outbox (no e-mail server: kept), as requests' decisions leave them."""
    rng = clock.rng
    batch = Batch()
    for _ in range(count):
        recipient = rng.choice(recipients)
        batch.add(
            Notification,
            {
                "recipient_id": recipient.id,
                "to_address": recipient.email,
                "event": "bench:decision",
                "subject": "Your request has been decided",
                "body": "Open the Registry to read the decision.",
                "link": "/requests",
                "created_at": clock.made(),
                "delivery": "kept",
                "attempts": 0,
            },
        )
    batch.made = count
    return batch


#: Parents before their children, for inserting.
INSERT_ORDER: tuple[type[Any], ...] = (
    PromotionalPost,
    PostTarget,
    PostTransition,
    LogoConsent,
    LogoConsentMedium,
    LogoConsentStep,
    ConsentReferenceCounter,
    MediaContact,
    MediaContactStep,
    BreachReport,
    BreachReportClause,
    BreachStep,
    RosterGrant,
    AccessReview,
    AccessReviewItem,
    Notification,
)
#: Tables whose rows are given their ids here (PostgreSQL's sequences must continue past them).
TABLES_WITH_IDS = (
    "promotional_posts",
    "logo_consents",
    "media_contacts",
    "breach_reports",
    "roster_grants",
    "access_reviews",
    "access_review_items",
)


def insert_order(model: type[Any]) -> int:
    return INSERT_ORDER.index(model)
