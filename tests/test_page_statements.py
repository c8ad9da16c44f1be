"""No page's cost grows with the data: every list page, and each role's home page, runs the same
number of SQL statements with 10 records of what it lists as with 200.

Each page is measured twice, signed in as the role that uses it: once over 10 records and once over
200, each set seeded inside a savepoint that is rolled back afterwards, so both sizes start from the
same database. The records are those ``make bench`` seeds (``tests/bench.py``, ``tests/bench_seed.py``),
inserted in bulk, each with its own people (requester, line manager, finder, holder…) so that a
statement per row, or per person a row names, shows as more statements at 200. The signed-in person
takes part as their role does: a member of staff makes half the requests, a line manager manages
half the staff, HR and comms handle what their roles handle.

The work queue, ``/requests`` and the comms and staff home pages have tests of their own.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Connection, insert, select, update
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from registry import db
from registry.alerts.models import Webhook, WebhookDelivery
from registry.audit.keyring import current_keyring
from registry.audit.models import AuditAnchor, AuditEvent
from registry.auth.models import AccountRequest, User, UserRole
from registry.auth.permissions import Role
from registry.breaches.models import BreachReport
from registry.breaches.workflow import BreachStatus
from registry.channels.models import Channel, ChannelLookalikeKey, ChannelTransition
from registry.channels.workflow import ChannelStatus
from registry.monitoring.models import UnauthorisedAccount
from registry.reports.models import MonthlyReport
from registry.roster.models import AccessReview, AccessReviewItem, RosterGrant
from registry.vault.models import Credential, CredentialReveal, CredentialVersion, RevealAction
from registry.verification import index
from tests import bench, bench_seed
from tests.bench_seed import Batch, Clock, Crowd, Drafted, Person, person
from tests.conftest import Browser

SIZES = (10, 200)
NOW_SEED = 20_261_207


class RecentClock(Clock):
    """Requests made in the last three weeks, so most are still open and the lists of what waits
    on someone are full at both sizes (the bench spreads them over three years)."""

    def made(self) -> dt.datetime:
        return self.now - dt.timedelta(hours=1) - dt.timedelta(seconds=self.rng.uniform(0, 21 * 86400))


@dataclass
class Busy(Crowd):
    """A crowd in which ``heavy`` (the signed-in member of staff, if that is the role) makes half the requests."""

    def requester(self, rng: random.Random) -> Person:
        return self.heavy if rng.random() < 0.5 else rng.choice(self.staff)


@dataclass
class Seeding:
    """What one size of one page needs: ``count`` records, people of their own, their audit events."""

    me: User
    count: int
    session: Session
    now: dt.datetime = field(default_factory=db.utcnow)
    rng: random.Random = field(default_factory=lambda: random.Random(NOW_SEED))
    drafts: list[Drafted] = field(default_factory=list)
    _crowd: Busy | None = None
    _channels: list[dict[str, Any]] | None = None

    @property
    def clock(self) -> Clock:
        return RecentClock(self.now, self.rng)

    def has(self, role: str) -> bool:
        return self.me.has_role(Role(role))

    def crowd(self) -> Busy:
        """``count`` members of staff, a line manager for every fifteen, three in HR and three in comms."""
        if self._crowd is not None:
            return self._crowd
        first = bench.next_id(self.session, User)
        users, roles, staff, managers, hr = bench_seed.crowd_rows(first, self.count, self.now, self.rng)
        comms: list[Person] = []
        for number in range(3):
            user_id = first + len(users)
            email = f"comms.{number:05d}@example.nhs.uk"
            users.append({**users[-1], "id": user_id, "email": email, "name": f"Comms Person {number}", "active": True})
            users[-1].update(deactivated_at=None, line_manager_id=None)
            roles.append({"user_id": user_id, "role": "comms"})
            comms.append(Person(user_id, f"Comms Person {number}", email))
        me = person(self.me)
        if self.has("manager"):
            managers.append(me)
            for row in users:
                if row["line_manager_id"] is not None:
                    row["line_manager_id"] = me.id
        bench.bulk_insert(self.session, User, users)
        bench.bulk_insert(self.session, UserRole, roles)
        bench.reset_sequences(self.session, "users")
        self._crowd = Busy(
            staff=staff,
            managers=managers,
            comms=[me, *comms] if self.has("comms") else comms,
            hr=[me, *hr] if self.has("hr") else hr,
            heavy=me if self.has("staff") else staff[0],
            line_manager_of={row["id"]: row["line_manager_id"] for row in users if row["line_manager_id"]},
        )
        return self._crowd

    def channels(self, waiting: bool = False) -> list[dict[str, Any]]:
        """``count`` channel requests in every state, with their histories and lookalike keys; with
        ``waiting``, one in four (of those the bench would have decided) still waits for a decision."""
        if self._channels is None:
            rows, transitions, keys, drafts = bench.build_channels(self.crowd(), self.count, self.now, self.rng)
            if waiting:
                undecided = {row["id"] for row in rows[len(bench.SAMPLE_PLATFORMS) :: 4]}
                transitions = [t for t in transitions if t["channel_id"] not in undecided or t["from_status"] is None]
                for row in rows:
                    if row["id"] in undecided:
                        row.update(
                            status=ChannelStatus.REQUESTED.value,
                            status_changed_at=row["created_at"],
                            updated_at=row["created_at"],
                            next_review_on=None,
                        )
                drafts = []
            bench.bulk_insert(self.session, Channel, rows)
            bench.bulk_insert(self.session, ChannelTransition, transitions)
            bench.bulk_insert(self.session, ChannelLookalikeKey, keys)
            bench.reset_sequences(self.session, "channels")
            self.drafts += drafts
            self._channels = rows
        return self._channels

    def active_channels(self) -> list[int]:
        return [row["id"] for row in self.channels() if row["status"] == ChannelStatus.ACTIVE.value]

    def batch(self, batch: Batch) -> None:
        bench.insert_batch(self.session, batch)
        bench.reset_sequences(self.session, *bench_seed.TABLES_WITH_IDS)
        self.drafts += batch.drafts

    def audit(self, extra: int = 0) -> None:
        """The audit events of what was seeded, and ``extra`` sign-ins and sign-outs, chained as the app does."""
        crowd = self.crowd()
        drafts = self.drafts + bench.background_drafts([*crowd.staff, *crowd.comms], extra, self.now, self.rng)
        anchor = self.session.execute(select(AuditAnchor).where(AuditAnchor.id == 1)).scalar_one()
        rows, seq, head = bench.chain(drafts, anchor.seq, anchor.head_hash, anchor.chain_id)
        bench.bulk_insert(self.session, AuditEvent, rows)
        self.session.execute(
            update(AuditAnchor)
            .where(AuditAnchor.id == 1)
            .values(seq=seq, head_hash=head, head_key_id=current_keyring().primary_id, updated_at=self.now)
        )
        self.drafts = []


# --- what each page lists -------------------------------------------------------------------------


def channels(s: Seeding) -> None:
    s.channels()


def channel_requests(s: Seeding) -> None:
    s.channels(waiting=True)


def posts(s: Seeding) -> None:
    s.batch(bench_seed.posts(s.count, 1, s.crowd(), s.active_channels(), s.clock))


def consents(s: Seeding) -> None:
    s.batch(bench_seed.consents(s.count, 1, s.crowd(), s.clock))


def media_contacts(s: Seeding) -> None:
    s.batch(bench_seed.media_contacts(s.count, 1, s.crowd(), s.clock))


def breach_reports(s: Seeding) -> None:
    """Breach reports. So that every list has cases with a line manager at both sizes, one in two of
    those with a line manager is flagged as a reputational risk (comms see it), and for HR one in two
    is escalated to them."""
    batch = bench_seed.breach_reports(s.count, 1, s.crowd(), s.clock, bench_seed.breach_clause_ids())
    for number, row in enumerate(batch.rows[BreachReport]):
        if row["manager_id"] is None or row["status"] == BreachStatus.CLOSED.value or number % 2 == 0:
            continue
        row.update(reputational_risk=True, flagged_at=row["created_at"], flagged_by_id=row["manager_id"])
        if s.has("hr") and row["status"] == BreachStatus.WITH_MANAGER.value:
            row.update(status=BreachStatus.WITH_HR.value, escalated_at=row["status_changed_at"])
    s.batch(batch)


def roster(s: Seeding) -> None:
    """Two grants on each active channel; one holder in three has left the Trust (the leavers)."""
    s.channels()
    batch = bench_seed.rosters(s.active_channels(), s.crowd(), s.clock)
    s.batch(batch)
    holders = [row["user_id"] for row in batch.rows[RosterGrant] if row["user_id"] is not None][::3]
    s.session.execute(update(User).where(User.id.in_(holders)).values(active=False, deactivated_at=s.now))


def access_reviews(s: Seeding) -> None:
    """``count`` reviews, each started by its own member of comms, over a few grants each."""
    roster(s)
    grants = list(s.session.execute(select(RosterGrant.id)).scalars())
    starters = s.crowd().staff
    first = 1000
    reviews, items = [], []
    for number in range(s.count):
        started = s.now - dt.timedelta(days=number)
        finished = number % 3 != 0
        reviews.append(
            {
                "id": first + number,
                "title": f"Access review {number}",
                "scope": "some",
                "started_by_id": starters[number % len(starters)].id,
                "started_at": started,
                "due_on": (started + dt.timedelta(days=30)).date(),
                "finished_at": started + dt.timedelta(days=5) if finished else None,
            }
        )
        for grant in grants[number % len(grants) :][:3]:
            items.append(
                {
                    "review_id": first + number,
                    "grant_id": grant,
                    "decision": "certified" if finished else None,
                    "decided_by_id": starters[(number + 1) % len(starters)].id if finished else None,
                    "decided_at": started + dt.timedelta(days=2) if finished else None,
                    "note": None,
                }
            )
    bench.bulk_insert(s.session, AccessReview, reviews)
    bench.bulk_insert(s.session, AccessReviewItem, items)
    bench.reset_sequences(s.session, "access_reviews", "access_review_items")


def review_items(s: Seeding) -> None:
    """An open review (AR-5000) over ``count`` grants, each on its own channel and held by its own
    person; one in two decided already, by a member of comms."""
    s.channels()
    grants = [
        grant_row(s, channel_id, s.crowd().staff[number % len(s.crowd().staff)])
        for number, channel_id in enumerate(row["id"] for row in s.channels())
    ]
    rows = s.session.execute(insert(RosterGrant).returning(RosterGrant.id), grants).scalars().all()
    comms = s.crowd().comms
    s.session.execute(
        insert(AccessReview),
        [
            {
                "id": 5000,
                "title": "Quarterly access review",
                "scope": "all",
                "started_by_id": comms[0].id,
                "started_at": s.now - dt.timedelta(days=3),
                "due_on": (s.now + dt.timedelta(days=27)).date(),
                "finished_at": None,
            }
        ],
    )
    bench.bulk_insert(
        s.session,
        AccessReviewItem,
        [
            {
                "review_id": 5000,
                "grant_id": grant_id,
                "decision": "certified" if number % 2 else None,
                "decided_by_id": comms[number % len(comms)].id if number % 2 else None,
                "decided_at": s.now - dt.timedelta(days=1) if number % 2 else None,
                "note": None,
            }
            for number, grant_id in enumerate(rows)
        ],
    )


def grant_row(s: Seeding, channel_id: int, holder: Person) -> dict[str, Any]:
    """A grant to ``holder`` on a channel, given by a member of comms."""
    return {
        "channel_id": channel_id,
        "user_id": holder.id,
        "person_name": holder.name,
        "email": holder.email,
        "organisation": None,
        "platform_role": "editor",
        "granted_by_id": s.crowd().comms[holder.id % len(s.crowd().comms)].id,
        "granted_on": s.now.date(),
        "expires_on": None,
        "created_at": s.now,
        "revoked_at": None,
        "revoked_by_id": None,
        "revoke_reason": None,
    }


def channel_roster(s: Seeding) -> None:
    """``count`` people who hold a role on CH-0001 (always active), each their own."""
    s.channels()
    bench.bulk_insert(s.session, RosterGrant, [grant_row(s, 1, holder) for holder in s.crowd().staff[: s.count]])


def credentials(s: Seeding) -> None:
    """Secrets in custody, one in two due for rotation, each seen since by its own person who has
    since left (the leavers' exposure). The passwords have every kind of health finding (weak, known
    breached, reused in pairs across channels), and one in five is not assessed."""
    rows, versions, drafts, _secrets = bench.build_credentials(
        s.crowd().comms,  # type: ignore[arg-type]
        s.channels(),
        s.count,
        s.now,
        s.rng,
    )
    reasons = json.dumps([{"reason": "A person who saw it has left the Trust.", "at": s.now.isoformat()}])
    for row in rows[::2]:
        row.update(rotation_required=True, rotation_reasons_json=reasons)
    passwords = 0
    for row, version in zip(rows, versions, strict=True):
        version.update(assessed_at=None, weak=None, breached=None, fingerprint_key_id=None, fingerprint=None)
        if row["kind"] == "password":
            passwords += 1
            if passwords % 5:
                version.update(
                    assessed_at=s.now,
                    weak=passwords % 3 == 1,
                    breached=passwords % 4 == 0,
                    fingerprint_key_id="kbench",
                    fingerprint=bytes([(passwords + 1) // 2 % 256]) * 32,
                )
    bench.bulk_insert(s.session, Credential, rows)
    bench.bulk_insert(s.session, CredentialVersion, versions)
    bench.reset_sequences(s.session, "credentials", "credential_versions")
    s.drafts += drafts
    staff = s.crowd().staff
    leavers = [staff[number % len(staff)] for number in range(len(rows))]
    reveals = [
        {
            "credential_id": row["id"],
            "version": 1,
            "user_id": leaver.id,
            "action": RevealAction.REVEAL.value,
            "reason": "Posting the winter vaccination update.",
            "occurred_at": row["rotated_at"] + dt.timedelta(minutes=5),
        }
        for row, leaver in zip(rows, leavers, strict=True)
    ]
    bench.bulk_insert(s.session, CredentialReveal, reveals)
    s.session.execute(
        update(User).where(User.id.in_({p.id for p in leavers})).values(active=False, deactivated_at=s.now)
    )


def findings(s: Seeding) -> None:
    """Unauthorised accounts, each found by its own person, some adopted as a registered channel."""
    staff = s.crowd().staff
    active = s.active_channels()
    rows = [
        {
            "platform": "instagram",
            "handle": f"fake{number}",
            "url": f"https://www.instagram.com/fake{number}/",
            "evidence": "Uses the Trust's name.",
            "found_on": s.now.date(),
            "found_by_id": staff[number % len(staff)].id,
            "status": ("unauthorised", "takedown_requested", "adopted")[number % 3],
            "channel_id": active[number % len(active)] if number % 3 == 2 else None,
            "created_at": s.now - dt.timedelta(hours=number),
            "updated_at": s.now - dt.timedelta(hours=number),
        }
        for number in range(s.count)
    ]
    bench.bulk_insert(s.session, UnauthorisedAccount, rows)


def messages(s: Seeding) -> None:
    """Messages to the signed-in person and to others."""
    crowd = s.crowd()
    me = person(s.me)
    s.batch(bench_seed.messages(s.count, [me, me, *crowd.staff[: max(2, s.count // 10)]], s.clock))


def webhook_deliveries(s: Seeding) -> None:
    """``count`` alerts to webhooks (one for every ten), in every delivery state, some failed."""
    first = bench.next_id(s.session, Webhook)
    hooks = [
        {
            "id": first + n,
            "name": f"Hook {n}",
            "host": f"hook{n}.example.org",
            "events": "media_approach",
            "format": "teams",
            "active": True,
            "created_at": s.now,
            "key_id": "k",
            "wrapped_key": b"x",
            "nonce": b"x",
            "ciphertext": b"x",
        }
        for n in range(max(2, s.count // 10))
    ]
    s.session.execute(insert(Webhook), hooks)
    states = ("sent", "pending", "failed", "sending")
    s.session.execute(
        insert(WebhookDelivery),
        [
            {
                "webhook_id": hooks[n % len(hooks)]["id"],
                "event": "media_approach",
                "title": f"Alert {n}",
                "body": "{}",
                "created_at": s.now - dt.timedelta(minutes=n),
                "next_attempt_at": s.now,
                "delivery": states[n % len(states)],
                "attempts": n % 7,
                "last_error": "The receiver answered 500" if n % 2 else None,
            }
            for n in range(s.count)
        ],
    )


def monthly_reports(s: Seeding) -> None:
    """``count`` months' reports, older ones issued, each generated and issued by its own person."""
    staff = s.crowd().staff
    rows = []
    for number in range(s.count):
        year, month = divmod(2026 * 12 + 10 - number, 12)
        issued = number > 0
        rows.append(
            {
                "month": f"{year}-{month + 1:02d}",
                "status": "issued" if issued else "draft",
                "figures_json": "{}",
                "sha256": "0" * 64,
                "generated_at": s.now - dt.timedelta(days=30 * number),
                "generated_by_id": staff[number % len(staff)].id,
                "generated_by": staff[number % len(staff)].label,
                "issued_at": s.now - dt.timedelta(days=30 * number - 1) if issued else None,
                "issued_by_id": staff[(number + 1) % len(staff)].id if issued else None,
            }
        )
    s.session.execute(insert(MonthlyReport), rows)


def users(s: Seeding) -> None:
    s.crowd()


def approvals(s: Seeding) -> None:
    """Requests for privileged roles between pairs of people: half waiting, half decided."""
    staff = s.crowd().staff
    rows = []
    for number in range(s.count):
        waiting = number % 2 == 0
        rows.append(
            {
                "kind": "grant_roles",
                "status": "pending" if waiting else "rejected",
                "user_id": staff[number % len(staff)].id,
                "roles": "comms",
                "reason": "Joins the communications team.",
                "requested_by_id": staff[(number + 1) % len(staff)].id,
                "requested_at": s.now - dt.timedelta(hours=number + 1),
                "expires_at": s.now + dt.timedelta(days=7),
                "decided_by_id": None if waiting else staff[(number + 2) % len(staff)].id,
                "decided_at": None if waiting else s.now - dt.timedelta(hours=number),
                "decision_note": None if waiting else "Not in the team after all.",
            }
        )
    s.session.execute(insert(AccountRequest), rows)


def audit_events(s: Seeding) -> None:
    s.audit(extra=s.count)


def everything(s: Seeding) -> None:
    """``count`` of every kind a home page may count or list."""
    for seeder in (posts, consents, media_contacts, breach_reports, access_reviews, credentials, findings, messages):
        seeder(s)
    monthly_reports(s)
    approvals(s)
    s.audit(extra=s.count)


Seeder = Callable[[Seeding], None]

#: (role, page, what it lists). From ``tests/bench.py``'s list pages and home pages, and the
#: ``GET`` routes without parameters of the route × role matrix.
PAGES: list[tuple[str, str, Seeder]] = [
    ("comms", "/channels", channels),
    ("comms", "/channels?per_page=100&sort=name&dir=desc", channels),
    ("comms", "/channels/queue", channel_requests),
    ("comms", "/channels/export.csv", channels),
    ("comms", "/charts/channels-by-platform.svg", channels),
    ("comms", "/posts", posts),
    ("comms", "/consents", consents),
    ("comms", "/consents/export.csv", consents),
    ("comms", "/media-contacts", media_contacts),
    ("comms", "/breaches?per_page=100", breach_reports),
    ("comms", "/breaches/waiting?per_page=100", breach_reports),
    ("comms", "/roster", roster),
    ("comms", "/roster/export.csv", roster),
    ("comms", "/roster/leavers", credentials),
    ("comms", "/access-reviews", access_reviews),
    ("comms", "/access-reviews/AR-5000", review_items),
    ("comms", "/channels/CH-0001/roster", channel_roster),
    ("comms", "/credentials", credentials),
    ("comms", "/monitoring", findings),
    ("comms", "/reports", monthly_reports),
    ("comms", "/audit", audit_events),
    ("comms", "/audit/export.csv", audit_events),
    ("comms", "/messages", messages),
    ("staff", "/channels/mine", channels),
    ("staff", "/posts", posts),
    ("staff", "/consents", consents),
    ("staff", "/media-contacts", media_contacts),
    ("staff", "/breaches", breach_reports),
    ("staff", "/messages", messages),
    ("manager", "/", everything),
    ("manager", "/breaches?per_page=100", breach_reports),
    ("manager", "/breaches/waiting?per_page=100", breach_reports),
    ("hr", "/", everything),
    ("hr", "/breaches?per_page=100", breach_reports),
    ("hr", "/breaches/waiting?per_page=100", breach_reports),
    ("auditor", "/", everything),
    ("auditor", "/audit", audit_events),
    ("auditor", "/consents", consents),
    ("auditor", "/breaches?per_page=100", breach_reports),
    ("auditor", "/channels", channels),
    ("auditor", "/posts", posts),
    ("auditor", "/media-contacts", media_contacts),
    ("auditor", "/roster", roster),
    ("auditor", "/access-reviews", access_reviews),
    ("auditor", "/credentials", credentials),
    ("auditor", "/monitoring", findings),
    ("auditor", "/reports", monthly_reports),
    ("admin", "/", everything),
    ("admin", "/admin/users", users),
    ("admin", "/admin/approvals", approvals),
    ("admin", "/outbox", messages),
    ("admin", "/", webhook_deliveries),
    ("admin", "/admin/webhooks", webhook_deliveries),
    ("admin", "/admin/webhooks/deliveries", webhook_deliveries),
    ("admin", "/admin/webhooks/deliveries?delivery=failed", webhook_deliveries),
    ("auditor", "/admin/webhooks/deliveries", webhook_deliveries),
    ("admin", "/audit", audit_events),
    # The trail in words (issue 15): every kind's events, their people by name and their objects linked,
    # read for the page at once (people() and the links), never per event.
    ("auditor", "/audit?per_page=100", everything),
    ("comms", "/audit?per_page=100", everything),
    ("admin", "/audit?per_page=100", everything),
    # The API's lists, with a bearer token.
    ("comms", "/api/v1/channels?per_page=100", channels),
    ("comms", "/api/v1/posts?per_page=100", posts),
    ("comms", "/api/v1/consents?per_page=100", consents),
    ("comms", "/api/v1/media-contacts?per_page=100", media_contacts),
    ("comms", "/api/v1/audit-events?per_page=100", audit_events),
    ("comms", "/api/v1/audit-events?actor=a&action=auth&object=CH-0001", audit_events),
    ("auditor", "/api/v1/audit-events?per_page=100", audit_events),
    ("auditor", "/audit?action=auth:sign_in&since=2000-01-01&until=9000-01-01", audit_events),
    ("staff", "/api/v1/channels", channels),
    ("staff", "/api/v1/posts", posts),
    ("staff", "/api/v1/consents", consents),
    ("staff", "/api/v1/media-contacts", media_contacts),
]


def statements(get: Callable[[], TestResponse], count_queries: Callable[[], Any]) -> int:
    """The statements of the page once it is warm (the first request may fill caches)."""
    assert get().status_code == 200
    with count_queries() as counted:
        response = get()
    assert response.status_code == 200
    return int(counted.n)


@pytest.mark.parametrize(
    ("role", "path", "seeder"), PAGES, ids=[f"{role}:{path}:{seeder.__name__}" for role, path, seeder in PAGES]
)
def test_the_page_runs_the_same_statements_for_10_and_200_records(
    app: Flask,
    connection: Connection,
    browser_as: Callable[..., Browser],
    api_token: Callable[[User], dict[str, str]],
    count_queries: Callable[[], Any],
    role: str,
    path: str,
    seeder: Seeder,
) -> None:
    browser = browser_as(role)
    me: User = browser.user  # type: ignore[attr-defined]
    if path.startswith("/api/"):
        headers, client = api_token(me), app.test_client()
        get = functools.partial(client.get, path, headers=headers)
    else:
        get = functools.partial(browser.get, path)
    counts = {}
    for size in SIZES:
        session = db.session()
        session.commit()
        savepoint = connection.begin_nested()
        try:
            seeder(Seeding(me, size, session))
            session.commit()
            counts[size] = statements(get, count_queries)
        finally:
            session.commit()
            savepoint.rollback()
            session.expire_all()
    assert counts[200] == counts[10], counts


#: Public pages served from the index of public facts (registry/verification/index.py), not signed in.
PUBLIC_PAGES = [
    "/directory",
    "/directory?by=department",
    "/api/v1/directory",
    "/api/v1/directory?format=csv",
]


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_a_public_page_runs_the_same_statements_for_10_and_200_channels(
    app: Flask,
    connection: Connection,
    make_user: Callable[..., User],
    count_queries: Callable[[], Any],
    path: str,
) -> None:
    """Measured twice at each size, so that neither depends on the clock: as the index reloads (a change
    was just made) and as it checks the version (its second has passed). Between checks it runs none."""
    me, client = make_user("staff"), app.test_client()
    counts = {}
    for size in SIZES:
        session = db.session()
        session.commit()
        savepoint = connection.begin_nested()
        try:
            channels(Seeding(me, size, session))
            session.commit()
            assert client.get(path).status_code == 200
            cache = index._cache(create=True)
            measured = []
            for stale in ("changed", "checked_at"):
                setattr(cache, stale, True if stale == "changed" else float("-inf"))
                with count_queries() as counted:
                    assert client.get(path).status_code == 200
                measured.append(counted.n)
            counts[size] = measured
            assert measured[0] > measured[1] >= 1, measured  # a reload reads more than the version
        finally:
            session.commit()
            savepoint.rollback()
            session.expire_all()
    assert counts[200] == counts[10], counts
