"""No N+1: a list page runs the same number of SQL statements for 10 records as for 200.

Each seeded record has its own related people (requester, finder), so a lazy load
per row would show as more statements on the bigger page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from flask import Flask

from registry import db
from registry.audit.models import AuditAction
from registry.audit.services import Actor, record
from registry.auth.models import User, UserRole
from registry.channels.models import Channel
from registry.monitoring.models import UnauthorisedAccount
from tests.conftest import Browser

PAGES = (
    "/",
    "/channels?per_page=100",
    "/channels?per_page=100&sort=name&dir=desc&q=seeded",
    "/channels/queue?per_page=100",
    "/channels/mine?per_page=100",
    "/monitoring?per_page=100&status=open",
    "/audit?per_page=100",
    "/admin/users?per_page=100",
    "/api/v1/channels?per_page=100",
    "/api/v1/audit-events?per_page=100",
)
STATUSES = ("requested", "approved", "active", "suspended", "info_requested", "retired")


def seed(me: User, start: int, count: int) -> None:
    """``count`` more channels, each with its own requester or mine, an unauthorised account each
    found by its own person, and an audit event each."""
    session = db.session()
    now = db.utcnow()
    people = [
        User(email=f"person{n}@example.nhs.uk", name=f"Person {n}", role_grants=[UserRole(role="staff")])
        for n in range(start, start + count)
    ]
    session.add_all(people)
    session.flush()
    for offset, person in enumerate(people):
        n = start + offset
        session.add(
            Channel(
                platform="x",
                handle=f"seeded{n}",
                display_name=f"Seeded channel {n}",
                url=f"https://x.com/seeded{n}",
                department=f"Department {n % 7}",
                purpose="Updates.",
                audience="Patients.",
                sponsor="Director",
                policy_acknowledged_at=now,
                status=STATUSES[n % len(STATUSES)],
                requester_id=me.id if n % 2 else person.id,
                status_changed_at=now - dt.timedelta(days=n % 30),
                next_review_on=(now + dt.timedelta(days=n % 40)).date(),
            )
        )
        session.add(
            UnauthorisedAccount(
                platform="instagram",
                handle=f"fake{n}",
                url=f"https://www.instagram.com/fake{n}/",
                evidence="Uses the Trust's name.",
                found_on=now.date(),
                found_by_id=person.id,
                status="unauthorised" if n % 2 else "takedown_requested",
            )
        )
    session.flush()
    for offset, person in enumerate(people):
        record(AuditAction.USER_CREATE, "user", person.id, {"n": start + offset}, actor=Actor.of(person))
    session.commit()


def statements_per_page(browser: Browser, count_queries: Callable[[], Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for path in PAGES:
        assert browser.get(path).status_code == 200, path
        with count_queries() as counted:
            response = browser.get(path)
        assert response.status_code == 200, path
        counts[path] = counted.n
    return counts


def test_list_pages_run_the_same_statements_for_10_and_200_records(
    app: Flask,
    browser_as: Callable[..., Browser],
    count_queries: Callable[[], Any],
) -> None:
    """Every list page and API list costs a fixed number of statements, however many rows it shows."""
    browser = browser_as("staff", "comms", "auditor", "admin")
    me = browser.user  # type: ignore[attr-defined]
    seed(me, 0, 10)
    small = statements_per_page(browser, count_queries)
    seed(me, 10, 190)
    shown = browser.get("/api/v1/channels?per_page=100").get_json()
    large = statements_per_page(browser, count_queries)

    assert (shown["total"], len(shown["items"])) == (200, 100)
    assert large == small
