"""Adding a kind of request is one declaration: the home page's cards, the monthly report (its
requests table and its sections) and the demo find a new kind through the registry, with no
edit anywhere else. A kind declared here, for the length of one test, proves it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask

from registry import clock, db
from registry.auth.models import User
from registry.auth.permissions import Permission
from registry.clock import Period
from registry.lifecycle.kind import KINDS, Card, Decisions, Listing, ReportSection, RequestKind, kinds
from registry.media.models import MediaContact, MediaContactStep
from registry.reports import figures, services
from registry.web import dashboard
from tests.conftest import Browser

SEEN: dict[str, Any] = {}


def drill_card(user: User) -> Card | None:
    if not user.can(Permission.MEDIA_CONTACT_TRIAGE):
        return None
    return Card("drills", "media/_home_card.html", Listing.of([]))


def drill_figures(period: Period) -> dict[str, int]:
    SEEN["period"] = period.key
    return {"held": 3, "missed": 1}


def drill_demo(users: list[User], comms: list[User]) -> None:
    SEEN["demo"] = ([u.email for u in users], [u.email for u in comms])


class Drills(RequestKind[MediaContact]):
    name = "fire_drill"
    label = "Fire drill"
    model = MediaContact
    step_model = MediaContactStep
    read_all = Permission.MEDIA_CONTACT_READ_ALL
    requester_column = "reporter_id"
    decisions = Decisions("Fire drills", "report", ("acknowledge",), ("close",))
    card = f"{__name__}:drill_card"
    figures = f"{__name__}:drill_figures"
    demo = f"{__name__}:drill_demo"
    report = ReportSection("fire_drills", "Fire drills", "8.5", (("fire_drills.held", "Drills held"),))


@pytest.fixture
def drills(app: Flask) -> Iterator[Drills]:
    SEEN.clear()
    kind = Drills()
    try:
        yield kind
    finally:
        del KINDS[kind.name]


def test_a_kind_declared_once_is_on_the_home_page_in_the_report_and_in_the_demo(
    drills: Drills, make_user: Callable[..., User], browser_as: Callable[..., Browser]
) -> None:
    assert drills in kinds()
    comms, staff = make_user("comms"), make_user("staff")

    assert "drills" in {card.name for card in dashboard.for_user(comms).cards}
    assert "drills" in dashboard.for_user(comms).acts_on
    assert "drills" not in {card.name for card in dashboard.for_user(staff).cards}
    # The card is drawn with the template it names (here media contacts', beside their own card).
    assert browser_as(user=comms).get("/").text.count("media contacts waiting on you") == 2

    today = clock.today()
    computed = figures.compute(today.year, today.month)
    assert computed["fire_drills"] == {"held": 3, "missed": 1}
    assert SEEN["period"] == f"{today.year:04d}-{today.month:02d}"
    assert set(computed["requests"]["fire_drill"]) >= {"received", "decided", "approved", "rejected"}
    assert services.request_labels()["fire_drill"] == "Fire drills"
    keys = [layout.key for layout in services.layouts()]
    # In the policy's order: after media contacts (8.1), before breaches (9).
    assert keys.index("media_contacts") < keys.index("fire_drills") < keys.index("breaches")

    drills.seed_demo([staff], [comms])
    assert SEEN["demo"] == ([staff.email], [comms.email])
    db.session().rollback()


def test_the_report_sections_follow_the_policy(app: Flask) -> None:
    """Without a new kind: the Registry's own sections, then the kinds' in the policy's order."""
    assert [layout.key for layout in services.layouts()] == [
        "channels",
        "credentials",
        "password_health",
        "account_health",
        "access_reviews",
        "logo_consents",
        "promotional_posts",
        "break_glass",
        "media_contacts",
        "breaches",
        "unauthorised_accounts",
    ]
    assert list(services.request_labels()) == ["channel", "logo_consent", "promotional_post", "all"]
