"""Monitoring (SPEC capability 2): comms record accounts that purport to be the Trust's and
follow each to takedown, adoption into the registry, or dismissal.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from registry import db
from registry.audit.models import AuditAnchor, AuditEvent
from registry.auth.models import User
from registry.channels.models import Channel, ChannelTransition
from registry.errors import Conflict
from registry.monitoring import services as monitoring
from registry.monitoring.models import UnauthorisedAccount
from tests.conftest import Browser

EVIDENCE = "Uses the Trust's name and the NHS lozenge; posts appointment offers."


def text_of(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def state(connection: Connection, finding: UnauthorisedAccount) -> dict[str, Any]:
    row = connection.execute(
        select(
            UnauthorisedAccount.status,
            UnauthorisedAccount.outcome_note,
            UnauthorisedAccount.closed_at,
            UnauthorisedAccount.channel_id,
        ).where(UnauthorisedAccount.id == finding.id)
    ).one()
    return {
        "finding": tuple(row),
        "events": connection.execute(select(AuditAnchor.seq)).scalar_one(),
        "channels": connection.execute(select(func.count()).select_from(Channel)).scalar_one(),
    }


@pytest.fixture
def comms(browser_as: Callable[..., Browser]) -> Browser:
    return browser_as("comms")


@pytest.fixture
def finding(app: Flask, make_user: Callable[..., User]) -> UnauthorisedAccount:
    recorded = monitoring.record_finding(
        platform="",
        url="https://twitter.com/ExampleNHS_Help",
        evidence=EVIDENCE,
        found_on=None,
        actor=make_user("comms"),
    )
    db.session().commit()
    return recorded


def move(browser: Browser, finding: UnauthorisedAccount, action: str, note: str) -> Any:
    return browser.post(f"/monitoring/{finding.reference}/actions/{action}", {f"{action}-note": note})


# --- recording --------------------------------------------------------------------------------


RECORDINGS = [
    ("https://mobile.twitter.com/ExampleNHS_Help?s=20", "", ("x", "examplenhs_help")),
    ("instagram.com/examplenhs.jobs/", "", ("instagram", "examplenhs.jobs")),
    ("https://www.facebook.com/ExampleNHSMaternityGroup", "facebook", ("facebook", "examplenhsmaternitygroup")),
    ("https://examplenhs-offers.example/", "", ("other", None)),
]


def test_comms_record_an_unauthorised_account(app: Flask, connection: Connection, comms: Browser) -> None:
    """The platform is worked out from the address (``other`` for an unknown host); the record is audited."""
    for url, platform, (expected_platform, expected_handle) in RECORDINGS:
        response = comms.post("/monitoring/new", {"url": url, "platform": platform, "evidence": EVIDENCE})

        assert response.status_code == 302, (url, text_of(response)[:2000])
        reference = response.headers["Location"].rsplit("/", 1)[1]
        found = monitoring.get_finding(reference)
        assert found.platform == expected_platform, url
        if expected_handle is not None:
            assert found.handle == expected_handle, url
        assert (found.status, found.found_by_id, found.found_on) == (
            "unauthorised",
            comms.user.id,
            db.utcnow().date(),  # type: ignore[attr-defined]
        )
        event = connection.execute(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).one()
        assert (event.action, event.object_id) == ("unauthorised_account:record", reference)
        page = text_of(comms.get(response.headers["Location"]))
        assert f"{reference} has been recorded." in page
        assert EVIDENCE in page


def test_an_official_channel_cannot_be_recorded_as_unauthorised(
    app: Flask,
    connection: Connection,
    comms: Browser,
    make_channel: Callable[..., Channel],
) -> None:
    """A live Trust account, given in any form, is refused at the address field, naming the channel."""
    official = make_channel("active", handle="ExampleNHS")
    count = connection.execute(select(func.count()).select_from(UnauthorisedAccount)).scalar_one()

    response = comms.post("/monitoring/new", {"url": "https://www.twitter.com/examplenhs/", "evidence": EVIDENCE})

    assert response.status_code == 422
    body = text_of(response)
    assert f"This is an official Trust channel ({official.reference}), not an unauthorised one." in body
    assert 'href="#url"' in body
    assert connection.execute(select(func.count()).select_from(UnauthorisedAccount)).scalar_one() == count


def test_an_account_already_followed_up_cannot_be_recorded_twice(
    app: Flask,
    connection: Connection,
    comms: Browser,
    finding: UnauthorisedAccount,
) -> None:
    """While a record is open, the same account (in another form) is refused, naming the open record."""
    before = state(connection, finding)
    response = comms.post("/monitoring/new", {"url": "x.com/@EXAMPLENHS_HELP", "evidence": "Seen again."})
    assert response.status_code == 422
    assert f"This account is already being followed up as {finding.reference}." in text_of(response)
    assert state(connection, finding) == before


FORM_PROBLEMS = [
    ({"url": "", "evidence": EVIDENCE}, "url", "Enter the web address of the account"),
    (
        {"url": "https://x.com/FakeTrust", "evidence": ""},
        "evidence",
        "Describe why it looks like a Trust account (name, logo, what it posts)",
    ),
    ({"url": "not a web address", "evidence": EVIDENCE}, "url", None),
    (
        {
            "url": "https://x.com/FakeTrust",
            "evidence": EVIDENCE,
            "found_on[day]": "1",
            "found_on[month]": "1",
            "found_on[year]": "2999",
        },
        "found_on",
        "The date it was found must be today or in the past",
    ),
]


def test_the_record_form_explains_each_problem(app: Flask, connection: Connection, comms: Browser) -> None:
    """Bad answers are shown at their field with an error summary; nothing is recorded."""
    for data, field, message in FORM_PROBLEMS:
        response = comms.post("/monitoring/new", data)
        assert response.status_code == 422, data
        body = text_of(response)
        assert "There is a problem" in body
        assert f'href="#{field}' in body, data
        if message:
            assert message in body, data
    assert connection.execute(select(func.count()).select_from(UnauthorisedAccount)).scalar_one() == 0


# --- following up -----------------------------------------------------------------------------


def test_follow_up_to_takedown(
    app: Flask, connection: Connection, comms: Browser, finding: UnauthorisedAccount
) -> None:
    """Unauthorised → takedown requested → taken down; each step keeps its note and is audited."""
    requested = move(comms, finding, "request_takedown", "Reported to X, case 4471.")
    assert requested.status_code == 302, text_of(requested)[:2000]
    assert state(connection, finding)["finding"][0] == "takedown_requested"

    done = move(comms, finding, "taken_down", "Profile no longer exists; checked today.")

    assert done.status_code == 302
    status, note, closed_at, _ = state(connection, finding)["finding"]
    assert (status, note) == ("taken_down", "Profile no longer exists; checked today.")
    assert closed_at is not None
    actions = (
        connection.execute(
            select(AuditEvent.action).where(AuditEvent.object_id == finding.reference).order_by(AuditEvent.seq)
        )
        .scalars()
        .all()
    )
    assert actions == [
        "unauthorised_account:record",
        "unauthorised_account:takedown_requested",
        "unauthorised_account:taken_down",
    ]
    page = text_of(comms.get(f"/monitoring/{finding.reference}"))
    assert "Taken down" in page and "Record a takedown request" not in page


def test_dismiss(app: Flask, connection: Connection, comms: Browser, finding: UnauthorisedAccount) -> None:
    """A fan page that does not claim to be the Trust is dismissed with a reason and leaves the open list."""
    response = move(comms, finding, "dismiss", "A fan page; does not claim to be the Trust.")
    assert response.status_code == 302
    assert state(connection, finding)["finding"][0] == "dismissed"
    assert f"{finding.reference} has been dismissed." in text_of(comms.get(response.headers["Location"]))
    assert finding.reference not in text_of(comms.get("/monitoring"))
    assert finding.reference in text_of(comms.get("/monitoring?status=dismissed"))


def test_a_note_is_required_for_each_move(
    app: Flask,
    connection: Connection,
    comms: Browser,
    finding: UnauthorisedAccount,
) -> None:
    """Without a note the move is a 422 at the note box and nothing changes."""
    before = state(connection, finding)
    response = move(comms, finding, "request_takedown", "  ")
    assert response.status_code == 422
    body = text_of(response)
    assert 'href="#request_takedown-note"' in body
    assert "Enter a note" in body
    assert state(connection, finding) == before


ILLEGAL_MOVES = [
    ("taken_down", "request_takedown"),
    ("taken_down", "dismiss"),
    ("dismiss", "taken_down"),
    ("request_takedown", "request_takedown"),
]


def test_illegal_moves_are_409_and_change_nothing(
    app: Flask,
    connection: Connection,
    comms: Browser,
    make_user: Callable[..., User],
) -> None:
    """A closed record cannot be moved again, and a takedown is requested once."""
    finder = make_user("comms")
    for number, (first, then) in enumerate(ILLEGAL_MOVES):
        finding = monitoring.record_finding(
            platform="x",
            url=f"https://x.com/ExampleNHS_{number}",
            evidence=EVIDENCE,
            found_on=None,
            actor=finder,
        )
        db.session().commit()
        assert move(comms, finding, first, "First outcome.").status_code == 302
        before = state(connection, finding)

        response = move(comms, finding, then, "Second thoughts.")

        assert response.status_code == 409, (first, then)
        assert f"so it cannot be {monitoring.MOVES[then].done}." in text_of(response)
        assert state(connection, finding) == before, (first, then)


def test_adopt_into_the_registry(
    app: Flask,
    connection: Connection,
    comms: Browser,
    finding: UnauthorisedAccount,
) -> None:
    """An account the Trust keeps becomes an active channel; the public check then says it is official."""
    response = comms.post(
        f"/monitoring/{finding.reference}/adopt",
        {
            "display_name": "Example NHS help",
            "department": "Patient experience",
            "purpose": "Answers questions.",
            "audience": "Patients.",
            "sponsor": "Head of patient experience",
            "reason": "Set up by the patient experience team before the policy; passwords handed over.",
        },
    )

    assert response.status_code == 302, text_of(response)[:2000]
    reference = response.headers["Location"].rsplit("/", 1)[1]
    channel = db.session().execute(select(Channel).where(Channel.handle == "examplenhs_help")).scalar_one()
    assert channel.reference == reference
    assert (channel.status, channel.platform, channel.requester_id) == ("active", "x", comms.user.id)  # type: ignore[attr-defined]
    assert channel.next_review_on is not None
    status, _, closed_at, channel_id = state(connection, finding)["finding"]
    assert (status, channel_id) == ("adopted", channel.id)
    assert closed_at is not None
    step = connection.execute(select(ChannelTransition).where(ChannelTransition.channel_id == channel.id)).one()
    assert (step.action, step.to_status) == ("adopt", "active")
    verdict = app.test_client().get("/api/v1/verify?url=https://x.com/ExampleNHS_Help").get_json()
    assert verdict["official"] is True
    assert verdict["channel"]["reference"] == reference
    # The finding's tag says what became of it, in its own words and colour.
    page = comms.get(f"/monitoring/{finding.reference}").get_data(as_text=True)
    assert '<strong class="nhsuk-tag nhsuk-tag--blue">Adopted into the registry</strong>' in page


def test_adoption_needs_the_channel_details_and_a_reason(
    app: Flask,
    connection: Connection,
    comms: Browser,
    finding: UnauthorisedAccount,
) -> None:
    """Missing answers are shown at their fields; no channel is created and the record stays open."""
    before = state(connection, finding)
    response = comms.post(f"/monitoring/{finding.reference}/adopt", {"display_name": "Example NHS help"})
    assert response.status_code == 422
    body = text_of(response)
    for field in ("department", "purpose", "audience", "reason"):
        assert f'href="#{field}"' in body, field
    assert "Enter why the Trust is adopting this account" in body
    assert state(connection, finding) == before


def test_a_closed_record_cannot_be_adopted(
    app: Flask,
    connection: Connection,
    comms: Browser,
    finding: UnauthorisedAccount,
    make_user: Callable[..., User],
) -> None:
    """Once dismissed, adoption is refused (409) and no channel appears."""
    deciders = make_user("comms"), make_user("comms")
    monitoring.move(finding, "dismiss", "Not ours.", deciders[0])
    db.session().commit()
    before = state(connection, finding)
    with pytest.raises(Conflict) as refused:
        monitoring.adopt(
            finding,
            display_name="X",
            department="Y",
            purpose="Z",
            audience="W",
            sponsor="",
            reason="Changed our minds.",
            actor=deciders[1],
        )
    db.session().rollback()
    assert refused.value.message == f"{finding.reference} is dismissed, so it cannot be adopted."
    assert state(connection, finding) == before


# --- who may do what --------------------------------------------------------------------------


def test_auditors_read_monitoring_but_cannot_act(
    app: Flask,
    connection: Connection,
    browser_as: Callable[..., Browser],
    finding: UnauthorisedAccount,
) -> None:
    """Auditors see the list and each record, without the buttons; every change they try is 403."""
    auditor = browser_as("auditor")
    before = state(connection, finding)

    listing = auditor.get("/monitoring")
    detail = auditor.get(f"/monitoring/{finding.reference}")

    assert listing.status_code == 200 and finding.reference in text_of(listing)
    assert detail.status_code == 200
    assert "Record a takedown request" not in text_of(detail)
    assert "Adopt it into the registry" not in text_of(detail)
    assert auditor.get("/monitoring/new").status_code == 403
    assert auditor.post("/monitoring/new", {"url": "https://x.com/Another", "evidence": EVIDENCE}).status_code == 403
    assert move(auditor, finding, "dismiss", "Not ours.").status_code == 403
    assert auditor.get(f"/monitoring/{finding.reference}/adopt").status_code == 403
    assert state(connection, finding) == before


def test_other_roles_cannot_see_monitoring(
    app: Flask,
    browser_as: Callable[..., Browser],
    finding: UnauthorisedAccount,
) -> None:
    """Monitoring is for comms and auditors only."""
    for role in ("staff", "manager", "admin"):
        browser = browser_as(role)
        assert browser.get("/monitoring").status_code == 403, role
        assert browser.get(f"/monitoring/{finding.reference}").status_code == 403, role
