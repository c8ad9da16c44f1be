"""Issue 15, from a user test: one name per thing (menu, title, address, e-mail), plurals that agree
with their numbers, words that fit the reader, a contact wherever a page says "tell the
communications team", and an accessibility statement in the form the regulations' model takes.

Every check reads the page as a person reads it: its title, its heading, its link texts and the
addresses those links go to.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from registry import clock, db
from registry.auth import notices
from registry.auth.models import User
from registry.channels.models import Channel
from registry.consent import services as consents
from registry.consent.models import LogoConsent
from registry.notifications.models import Notification
from registry.posts import services as posts
from registry.reports import services as reports
from registry.roster import services as roster
from tests.conftest import Browser
from tests.test_consent import all_items, answers, artwork

TITLE = re.compile(r"<title>\s*([^<]+?)\s*</title>")
H1 = re.compile(r"<h1[^>]*>\s*(.*?)\s*</h1>", re.DOTALL)
CONTACT = "comms.team@bucks.example.nhs.uk or 01494 000000"


def text(response: Any) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def title(response: Any) -> str:
    found = TITLE.search(response.get_data(as_text=True))
    assert found is not None
    return html.unescape(found.group(1)).split(" – ")[0]


def heading(response: Any) -> str:
    [found] = H1.findall(response.get_data(as_text=True))
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found)).split())


def links(response: Any) -> dict[str, str]:
    """Each link's text → where it goes."""
    page = response.get_data(as_text=True)
    return {
        " ".join(html.unescape(re.sub(r"<[^>]+>", " ", label)).split()): html.unescape(href)
        for href, label in re.findall(r'<a [^>]*href="([^"]*)"[^>]*>(.*?)</a>', page, re.DOTALL)
    }


def main(response: Any) -> str:
    page = response.get_data(as_text=True).split("<main", 1)[1].split("</main>", 1)[0]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


@pytest.fixture
def make_consent(make_user: Callable[..., User]) -> Callable[[str], LogoConsent]:
    """A staff member's request, approved by comms or still waiting."""

    def make(status: str) -> LogoConsent:
        consent = consents.request_consent(answers(), [artwork()], make_user("staff"))
        if status == "approved":
            consents.decide(consent, "approve", make_user("comms"), checked=all_items())
        db.session().commit()
        return consent

    return make


# --- one name per thing ----------------------------------------------------------------------------


def test_the_menu_the_pages_and_the_home_page_name_each_list_of_requests_alike(
    browser_as: Callable[..., Browser],
) -> None:
    staff = browser_as("staff")
    home = staff.get("/")
    assert links(home)["Your requests"] == "/requests"  # the menu and the home page say the same
    assert links(home)["Your channel requests"] == "/channels/mine"
    assert "My requests" not in text(home) and "Your open requests" not in text(home)

    mine = staff.get("/requests")
    assert (title(mine), heading(mine)) == ("Your requests", "Your requests")
    assert links(mine)["Your channel requests"] == "/channels/mine"
    channels = staff.get("/channels/mine")
    assert (title(channels), heading(channels)) == ("Your channel requests", "Your channel requests")


def test_an_approved_consent_goes_by_its_consent_reference_everywhere(
    app: Flask, browser_as: Callable[..., Browser], make_consent: Callable[..., LogoConsent]
) -> None:
    consent = make_consent("approved")
    request_ref, consent_ref = consent.request_reference, consent.reference
    assert consent_ref is not None and re.fullmatch(r"LC-\d{4}-\d{4}", consent_ref)
    owner = browser_as(user=consent.requester)

    register = owner.get("/consents")
    assert links(register)[consent_ref] == f"/consents/{consent_ref}"
    assert request_ref not in text(register)

    page = owner.get(f"/consents/{consent_ref}")
    assert page.status_code == 200
    assert title(page) == f"{consent.title} ({consent_ref})" and heading(page) == consent.title
    assert links(page)[f"Open the consent letter for {consent_ref}"] == f"/consents/{consent_ref}/letter"
    letter = owner.get(f"/consents/{consent_ref}/letter")
    assert consent_ref in title(letter) and request_ref not in text(letter)

    # The old addresses, by the request reference, lead to the same pages under the consent's name.
    for old, new in ((request_ref, consent_ref), (f"{request_ref}/letter", f"{consent_ref}/letter")):
        moved = owner.get(f"/consents/{old}")
        assert moved.status_code == 301 and moved.headers["Location"] == f"/consents/{new}"
    # The query string goes on as it came, and never steers the redirect (url_for reads "_external", "_scheme"…).
    moved = owner.get(f"/consents/{request_ref}?_external=1&_scheme=http&_method=POST&x=1")
    assert moved.status_code == 301
    assert moved.headers["Location"] == f"/consents/{consent_ref}?_external=1&_scheme=http&_method=POST&x=1"

    [told] = (
        db.session()
        .execute(
            select(Notification).where(
                Notification.event == "consent:decided", Notification.to_address == consent.requester.email
            )
        )
        .scalars()
        .all()
    )
    assert consent_ref in told.subject and told.link == f"/consents/{consent_ref}" and request_ref not in told.subject

    refused = owner.post(f"/consents/{request_ref}/withdraw")  # an old address still answers a form
    assert refused.status_code == 409 and f"{consent_ref} is approved, so it cannot be withdrawn" in text(refused)

    # The API's contract is unchanged: both references, found by either.
    comms = browser_as("comms")
    api = comms.client.get(f"/api/v1/consents/{request_ref}").get_json()
    assert (api["request_reference"], api["reference"]) == (request_ref, consent_ref)


def test_a_consent_not_yet_approved_goes_by_its_request_reference(
    browser_as: Callable[..., Browser], make_consent: Callable[..., LogoConsent]
) -> None:
    consent = make_consent("submitted")
    page = browser_as(user=consent.requester).get(f"/consents/{consent.request_reference}")
    assert page.status_code == 200 and title(page) == f"{consent.title} ({consent.request_reference})"


def test_a_post_page_is_headed_with_what_the_post_is(
    browser_as: Callable[..., Browser], make_channel: Callable[..., Channel], make_user: Callable[..., User]
) -> None:
    channel = make_channel("active", platform="facebook", handle="MaternityNHS")
    staff = make_user("staff")
    day = clock.today() + dt.timedelta(days=3)
    post = posts.propose(
        posts.PostProposal(
            text="Our new maternity unit opens on Monday.",
            channels=[channel.reference],
            wished_for=day,
            reason="Opening.",
            consent_confirmed=True,
        ),
        staff,
    )
    db.session().commit()
    page = browser_as(user=staff).get(f"/posts/{post.reference}")
    assert heading(page) == f"Post for Facebook, asked for {day.day} {day:%B %Y}"
    assert title(page) == f"Post for Facebook, asked for {day.day} {day:%B %Y} ({post.reference})"
    assert post.reference in main(page).split(heading(page))[0]  # the caption above the heading
    assert f"Date asked for {day.day} {day:%B %Y}" in main(page) and "Wished" not in main(page)


@pytest.mark.parametrize("path", ["/no-such-page", "/consents/LCR-9999", "/channels/CH-9999", "/posts/PP-2026-9999"])
def test_every_page_not_found_has_the_same_title_and_heading(browser_as: Callable[..., Browser], path: str) -> None:
    page = browser_as("comms").get(path)
    assert page.status_code == 404
    assert (title(page), heading(page)) == ("Page not found", "Page not found")


def test_the_api_keeps_its_own_not_found_title(browser_as: Callable[..., Browser]) -> None:
    missing = browser_as("comms").client.get("/api/v1/consents/LCR-9999")
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
    assert missing.get_json()["title"] == "Not found"


# --- other words -----------------------------------------------------------------------------------


def test_counts_of_one_are_singular_on_the_roster_cards(
    browser_as: Callable[..., Browser], make_channel: Callable[..., Channel], make_user: Callable[..., User]
) -> None:
    comms = make_user("comms")
    channel = make_channel("active")
    roster.grant(
        channel,
        email="sam@agency.example",
        name="Sam Agency",
        organisation="Agency Ltd",
        platform_role="editor",
        expires_on=clock.today() + dt.timedelta(days=10),
        actor=comms,
    )
    db.session().commit()
    home = main(browser_as(user=comms).get("/"))
    assert "1 role expiring in 30 days" in home and "1 roles" not in home
    assert "0 reviews open" in home  # none: plural


def test_the_comms_home_page_speaks_to_the_communications_team(browser_as: Callable[..., Browser]) -> None:
    comms = main(browser_as("comms").get("/"))
    assert "ask the communications team here" not in comms
    assert "they ask you, the communications team, here" in comms
    assert "ask the communications team here" in main(browser_as("staff").get("/"))


def test_the_public_verify_page_has_no_developer_line(app: Flask) -> None:
    client = app.test_client()
    page = client.get("/verify").get_data(as_text=True)
    assert "/api/v1/" not in page and "Developers" not in page
    assert "/verify" in client.get("/api/v1/openapi.json").get_json()["paths"].__repr__()


@pytest.mark.parametrize("app_settings", [{"COMMS_CONTACT": CONTACT}])
def test_pages_that_say_tell_the_communications_team_say_how(app: Flask, browser_as: Callable[..., Browser]) -> None:
    staff = browser_as("staff")
    assert f"ask the communications team here, or contact them: {CONTACT}." in main(staff.get("/"))
    assert f"contact the communications team ({CONTACT})" in main(staff.get("/media-contacts"))
    assert f"contact the communications team ({CONTACT})" in main(staff.get("/media-contacts/new"))
    statement = main(app.test_client().get("/accessibility"))
    assert f"communications team ({CONTACT})" in statement
    refused = staff.get("/audit")
    assert refused.status_code == 403
    assert f"contact the communications team ({CONTACT})" in main(refused)


@pytest.mark.parametrize("app_settings", [{"COMMS_CONTACT": CONTACT}])
def test_a_notice_about_ones_own_account_says_how_to_reach_the_team(app: Flask, make_user: Callable[..., User]) -> None:
    person = make_user("staff")
    with app.test_request_context():
        notices.tell(person, "Your password was changed", "Your password was changed.")
        db.session().commit()
    [notice] = db.session().execute(select(Notification).where(Notification.recipient_id == person.id)).scalars()
    assert f"tell the communications team ({CONTACT}) and your IT service desk at once" in notice.body


def test_without_a_contact_the_pages_name_the_team_alone(browser_as: Callable[..., Browser]) -> None:
    staff = browser_as("staff")
    assert "(policy 6.7): ask the communications team here." in main(staff.get("/"))
    assert "if it cannot wait, contact the communications team. They will advise you." in main(
        staff.get("/media-contacts")
    )


def test_the_board_report_keeps_integrity_details_at_the_end_and_names_its_figures_truly(
    browser_as: Callable[..., Browser], make_user: Callable[..., User], make_channel: Callable[..., Channel]
) -> None:
    comms = make_user("comms")
    make_channel("requested")
    make_channel("active")
    month = f"{clock.today():%Y-%m}"
    reports.generate(month, comms)
    db.session().commit()
    page = browser_as(user=comms).get(f"/reports/{month}")
    body = page.get_data(as_text=True)
    technical = body.index("Technical details")
    assert body.index("SHA-256 of the figures") > technical > body.index('<h2 id="audit">')
    assert body.index("Hash of the last event") > technical
    assert "Live channels" not in text(page) and "Live in all" not in text(page)
    assert "Current channels are those active or suspended, and those requested or approved but not yet live." in (
        text(page)
    )


def test_the_accessibility_statement_follows_the_model_statement(app: Flask) -> None:
    statement = main(app.test_client().get("/accessibility"))
    for words in (
        "This service is partially compliant with the Web Content Accessibility Guidelines version 2.2 AA standard",
        "Non-accessible content",
        "aria-expanded",
        "enhanced file upload",
        "This is fixed by a workaround",
        "accessible PDF, large print, easy read, audio recording or braille",
        "Reporting accessibility problems with this service",
        "Equality and Human Rights Commission (EHRC)",
        "Equality Advisory and Support Service (EASS)",
        "This service was last tested on 7 December 2026",
        "axe-core",
        "320 pixels wide",
        "keyboard",
    ):
        assert words in statement, words


def test_consent_register_search_still_finds_by_the_request_reference(
    browser_as: Callable[..., Browser], make_consent: Callable[..., LogoConsent]
) -> None:
    consent = make_consent("approved")
    found = browser_as("comms").get(f"/consents?q={consent.request_reference}")
    assert consent.reference is not None and consent.reference in links(found)
    assert consents.get_consent(consent.request_reference).id == consent.id
