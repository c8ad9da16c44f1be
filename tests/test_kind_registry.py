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


# Each kind's declaration as the Registry behaves (SPEC: the pages' addresses, the permissions to see every
# request, who acts next in which state; the report's requests table and sections). Written here by hand from
# the SPEC and the pages, not from the lifecycle files that now declare them.
EXPECTED: dict[str, dict[str, Any]] = {
    "channel": {
        "label": "Channel request",
        "pages": "/channels",
        "read_all": Permission.CHANNEL_READ_ALL,
        "open_statuses": {"requested", "info_requested", "approved"},
        "awaiting_comms": {"requested", "approved"},
        "waiting_on_requester": {"info_requested"},
        "note_field": "reason",
        "decisions": Decisions("Channel requests", "request", ("approve",), ("reject",)),
        "report": None,
    },
    "logo_consent": {
        "label": "Logo consent",
        "pages": "/consents",
        "read_all": Permission.CONSENT_READ_ALL,
        "open_statuses": {"submitted", "changes_requested"},
        "awaiting_comms": {"submitted"},
        "waiting_on_requester": {"changes_requested"},
        "note_field": "note",
        "decisions": Decisions(
            "Logo and lozenge consents", "submit", ("approve", "approve_with_conditions"), ("reject",)
        ),
        "report": ("logo_consents", "6.8", 4),
    },
    "promotional_post": {
        "label": "Promotional post",
        "pages": "/posts",
        "read_all": Permission.POST_READ_ALL,
        "open_statuses": {"submitted", "changes_requested", "approved", "scheduled"},
        "awaiting_comms": {"submitted", "approved", "scheduled"},
        "waiting_on_requester": {"changes_requested"},
        "note_field": "reason",
        "decisions": Decisions("Promotional posts", "request", ("approve",), ("reject",)),
        "report": ("promotional_posts", "7.1", 1),
    },
    "media_contact": {
        "label": "Media contact",
        "pages": "/media-contacts",
        "read_all": Permission.MEDIA_CONTACT_READ_ALL,
        "open_statuses": {"reported", "acknowledged", "advice_given", "comms_responding"},
        "awaiting_comms": {"reported", "acknowledged", "comms_responding"},
        "waiting_on_requester": {"advice_given"},
        "note_field": "note",
        "decisions": None,
        "report": ("media_contacts", "8.1", 4),
    },
    "breach_report": {
        "label": "Breach report",
        "pages": "/breaches",
        "read_all": Permission.BREACH_READ_ALL,
        "open_statuses": {"to_route", "with_manager", "with_hr"},
        "awaiting_comms": set(),
        "waiting_on_requester": set(),
        "note_field": "note",
        "decisions": None,
        "report": ("breaches", "9", 4),
    },
    "emergency_access": {
        "label": "Emergency access",
        "pages": "/break-glass",
        "read_all": Permission.BREAK_GLASS_READ_ALL,
        "open_statuses": set(),
        "awaiting_comms": {"open", "closed"},
        "waiting_on_requester": set(),
        "note_field": "note",
        "decisions": None,
        "report": ("break_glass", "7.2", 4),
    },
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_kind_declares_the_words_and_states_its_behaviour_needs(app: Flask, name: str) -> None:
    kind = KINDS[name]
    expected = EXPECTED[name]
    declared = {
        "label": kind.label,
        "pages": kind.pages,
        "read_all": kind.read_all,
        **{key: {s.value for s in getattr(kind, key)} for key in ("open_statuses", "awaiting_comms")},
        "waiting_on_requester": {s.value for s in kind.waiting_on_requester},
        "note_field": kind.note_field,
        "decisions": kind.decisions,
        "report": kind.report and (kind.report.key, kind.report.clause, len(kind.report.lines)),
    }
    assert declared == expected
    # What waits on the requester is one of their open requests; and a breach's free text never reaches the trail.
    assert kind.waiting_on_requester <= kind.open_statuses
    assert kind.note_audited is (name != "breach_report")
    assert kind.audit_names_action is (name in {"media_contact", "breach_report", "emergency_access"})


def test_the_workflow_modules_name_the_sets_their_kinds_declare(app: Flask) -> None:
    from registry.breakglass.workflow import UNREVIEWED
    from registry.channels.workflow import AWAITING_COMMS, OPEN_REQUEST_STATUSES
    from registry.media.workflow import OPEN_STATUSES as MEDIA_OPEN

    assert {s.value for s in OPEN_REQUEST_STATUSES} == {"requested", "info_requested", "approved"}
    assert {s.value for s in AWAITING_COMMS} == {"requested", "approved"}
    assert {s.value for s in UNREVIEWED} == {"open", "closed"}
    assert {s.value for s in MEDIA_OPEN} == {"reported", "acknowledged", "advice_given", "comms_responding"}


def test_what_a_requester_is_told_is_on_the_rows_that_tell_them(app: Flask) -> None:
    """The words of the notifications as people receive them (subject's ending, message), by action."""
    from registry.channels.services import TOLD_TO_REQUESTER
    from registry.posts.workflow import TRANSITIONS

    assert {action.value: told for action, told in TOLD_TO_REQUESTER.items()} == {
        "approve": (
            "approved",
            "has been approved. The communications team will set it up and tell you when it is active.",
        ),
        "reject": ("not approved", "has not been approved."),
        "request_info": (
            "needs more information",
            "needs more information from you before it can be decided. Answer on its page and resubmit it.",
        ),
        "activate": ("is active", "is now active."),
        "suspend": ("suspended", "has been suspended."),
        "reinstate": ("reinstated", "has been reinstated."),
        "retire": ("retired", "has been retired."),
    }
    told = {a.value: (t.tells_subject, t.tells) for a, t in TRANSITIONS.items() if t.tells}
    assert told == {
        "approve": ("approved", "The communications team has approved {ref}. They will schedule it."),
        "request_changes": (
            "changes requested",
            "The communications team has asked for changes to {ref}. Open it, make the changes and resubmit it.",
        ),
        "reject": ("rejected", "The communications team has rejected {ref}."),
        "schedule": ("scheduled", "{ref} is scheduled for {when}."),
        "publish": ("published", "{ref} is live:\n{addresses}"),
    }
