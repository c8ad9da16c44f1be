"""The audit trail page in a real browser (issue 15): a member of the communications team reads an event
in words, opens its technical details to see the hashes, types an impossible date and is told so; the page
passes axe-core (WCAG 2.2 AA) and, with every event's technical details open and long values in them
(hashes, a long address, a long process name), fits a 320 px wide screen and a 1,280 px one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from registry.audit.models import AuditAction
from registry.audit.services import Actor, record
from registry.auth.models import User
from registry.channels import services as channels
from tests.browser_support import LiveSite, NewVisitor, app_code, fits_after_resize, serve_live_site, sign_in
from tests.conftest import TEST_PASSWORD
from tests.test_browser_oidc import axe_violations, require_axe

pytestmark = [pytest.mark.browser, pytest.mark.one_leg]
pytest_plugins = ["tests.browser_support"]

STAFF_EMAIL = "al.staff@example.nhs.uk"
COMMS_EMAIL = "cy.comms@example.nhs.uk"
LONG_URL = "https://www.example.com/" + "a-very-long-path-without-spaces" * 5
LONG_PROCESS = "command line (" + "operator" * 12 + ")"


def seed(staff: User, comms: User) -> None:
    made = channels.request_channel(
        channels.ChannelRequest(
            platform="x",
            handle="ExampleHealth",
            display_name="Example Health",
            department="Communications",
            purpose="News for patients.",
            audience="Patients.",
            policy_acknowledged=True,
        ),
        staff,
    )
    for action in ("approve", "activate"):
        channels.transition(made, action, comms, reason="Agreed.")
    record(
        AuditAction.UPLOAD_STORE,
        "upload",
        "7",
        {"field": "artwork", "sha256": "ab" * 32, "source": LONG_URL, "name": "x" * 90},
        actor=staff,
    )
    record(AuditAction.CREDENTIAL_ASSESS, "vault", "passwords", {"checked": 3}, actor=Actor.system(LONG_PROCESS))


@pytest.fixture(scope="module")
def live_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    with serve_live_site(
        tmp_path_factory.mktemp("live-audit"),
        staff=(STAFF_EMAIL, "Al Staff"),
        comms=(COMMS_EMAIL, "Cy Comms"),
        seed=seed,
    ) as site:
        yield site


def open_every_details(page: Page) -> None:
    page.evaluate("() => document.querySelectorAll('main details').forEach((d) => { d.open = true; })")


def test_comms_read_an_event_in_words_and_open_its_technical_details(new_visitor: NewVisitor) -> None:
    comms = new_visitor("comms")
    page = comms.page
    sign_in(comms, COMMS_EMAIL)
    page.goto("/audit")
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit trail")
    approved = page.locator("main tbody tr", has_text="Approved a channel request")
    expect(approved).to_contain_text("Cy Comms")
    expect(approved).to_contain_text("Communications team")
    expect(approved.get_by_role("link", name="Channel CH-0001")).to_have_attribute("href", "/channels/CH-0001")
    code = approved.get_by_text("channel:approve")
    expect(code).to_be_hidden()
    approved.get_by_text("Technical details").click()
    expect(code).to_be_visible()
    comms.check("audit-trail")

    page.get_by_label("What happened").select_option(label="Made a channel live")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"action=channel%3Aactivate"))
    expect(page.locator("main tbody tr")).to_have_count(1)
    expect(page.locator("main tbody tr")).to_contain_text("Made a channel live")

    page.get_by_label("What happened").select_option(label="Any action")
    page.get_by_label("Day").first.fill("31")
    page.get_by_label("Month").first.fill("2")
    page.get_by_label("Year").first.fill("2026")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_title(re.compile(r"^Error: Audit trail"))
    expect(page.get_by_role("alert")).to_contain_text("From must be a real date")
    comms.check("audit-trail-date-error")
    assert comms.problems == [], "\n".join(comms.problems)


def test_the_page_passes_axe_and_fits_a_phone_with_every_detail_open(browser: Browser, live_site: LiveSite) -> None:
    require_axe()
    context = browser.new_context(
        base_url=live_site.url, locale="en-GB", viewport={"width": 1280, "height": 900}, bypass_csp=True
    )
    page = context.new_page()
    try:
        page.goto("/login")
        page.get_by_label("Email address").fill(COMMS_EMAIL)
        page.get_by_label("Password").fill(TEST_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(r"/login/mfa$"))
        page.get_by_label("Security code").fill(app_code(live_site, COMMS_EMAIL))
        page.get_by_role("button", name="Continue").click()
        expect(page).to_have_url(re.compile(r"/$"))
        for address in ("/audit", "/audit?since[day]=30&since[month]=2&since[year]=2026"):
            page.set_viewport_size({"width": 1280, "height": 900})
            page.goto(address)
            expect(page.locator("main")).to_contain_text("The system")
            assert axe_violations(page) == [], address
            open_every_details(page)
            assert axe_violations(page) == [], address
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 1280, f"{address} is {width} px wide at 1,280 px"
            page.set_viewport_size({"width": 320, "height": 800})
            fits_after_resize(page, f"{address} with every event's technical details open")
    finally:
        context.close()
