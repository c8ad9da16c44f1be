"""Account security checks in a real browser (issue 14): a member of the communications team opens an
official channel, follows "Record a check", is told plainly what is missing when they send the form
empty, records what they found, and reads the result on the channel's account security page. The form
(with its errors) and the page pass axe-core (WCAG 2.2 AA) and fit a 320 px wide screen.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from registry import clock
from registry.auth.models import User
from registry.channels import services as channels
from tests.browser_support import LiveSite, NewVisitor, app_code, fits_after_resize, serve_live_site, sign_in
from tests.conftest import TEST_PASSWORD
from tests.test_browser_oidc import axe_violations, require_axe

pytestmark = [pytest.mark.browser, pytest.mark.one_leg]
pytest_plugins = ["tests.browser_support"]

STAFF_EMAIL = "ash.staff@example.nhs.uk"
COMMS_EMAIL = "bo.comms@example.nhs.uk"


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


@pytest.fixture(scope="module")
def live_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    with serve_live_site(
        tmp_path_factory.mktemp("live-account-health"),
        staff=(STAFF_EMAIL, "Ash Staff"),
        comms=(COMMS_EMAIL, "Bo Comms"),
        seed=seed,
    ) as site:
        yield site


def test_comms_record_an_account_security_check(new_visitor: NewVisitor) -> None:
    comms = new_visitor("comms")
    page = comms.page
    sign_in(comms, COMMS_EMAIL)
    page.goto("/channels/CH-0001")
    expect(page.get_by_role("heading", name="Account security")).to_be_visible()
    page.get_by_role("link", name="Record a check of CH-0001").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check the account's security")
    comms.check("health-check-form")

    page.get_by_role("button", name="Record the check").click()
    expect(page.get_by_role("alert")).to_contain_text("There is a problem")
    expect(page.get_by_role("alert")).to_contain_text("Select how two-factor authentication is set up on the platform")
    refused = [p for p in comms.problems if "422" in p and p.endswith("/health/check")]
    assert refused, comms.problems  # the refusal answered 422: expected here
    comms.problems[:] = [p for p in comms.problems if p not in refused]

    posted = clock.today() - dt.timedelta(days=4)
    page.get_by_label("On, with codes sent by SMS text message").check()
    page.get_by_label("Recovery e-mail domain").fill("team@example.nhs.uk")
    page.get_by_role("group", name="Is the recovery phone number a Trust-owned phone?").get_by_label("Yes").check()
    page.get_by_role("group", name="Is the password in custody the one the platform uses?").get_by_label("Yes").check()
    page.get_by_label("There is no authenticator seed: two-factor is not by app").check()
    page.get_by_role("group", name="Did you see the account live on the platform?").get_by_label("Yes").check()
    page.get_by_label("Day").fill(str(posted.day))
    page.get_by_label("Month").fill(str(posted.month))
    page.get_by_label("Year").fill(str(posted.year))
    page.get_by_role("group", name=re.compile("administrators on the platform match")).get_by_label("Yes").check()
    page.get_by_role("button", name="Record the check").click()

    expect(page).to_have_url(re.compile(r"/channels/CH-0001/health$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Account security")
    expect(page.locator("main")).to_contain_text("Two-factor sends codes by SMS text message, which is weak")
    comms.check("health-page")
    assert comms.problems == [], "\n".join(comms.problems)


def test_the_form_with_its_errors_and_the_health_page_pass_axe_and_fit_a_phone(
    browser: Browser, live_site: LiveSite
) -> None:
    """(After the check above, so the health page has a check to show.)"""
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
        page.goto("/channels/CH-0001/health/check")
        page.get_by_role("button", name="Record the check").click()
        expect(page.get_by_role("alert")).to_contain_text("There is a problem")
        assert axe_violations(page) == []
        page.set_viewport_size({"width": 320, "height": 800})
        fits_after_resize(page, "the account security check form with its errors")
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto("/channels/CH-0001/health")
        expect(page.locator("main")).to_contain_text("Needs attention")
        assert axe_violations(page) == []
        page.set_viewport_size({"width": 320, "height": 800})
        fits_after_resize(page, "the account security page")
    finally:
        context.close()
