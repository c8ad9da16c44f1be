"""Password health in a real browser (Debian's Chromium driven by Playwright): a member of the
communications team sees the findings on the custody overview and follows one to the channel's
credentials page. Both pages pass axe-core at WCAG 2.2 AA and fit a 320 px wide screen, and neither
holds the password."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from registry.auth.models import User
from registry.channels import services as channels
from registry.vault import services as custody
from tests.browser_support import LiveSite, NewVisitor, fits_after_resize, serve_live_site, sign_in
from tests.test_browser_oidc import axe_violations
from tests.test_browser_users_import import fits_a_phone, signed_in_without_csp

pytestmark = [pytest.mark.browser, pytest.mark.one_leg]
pytest_plugins = ["tests.browser_support"]

COMMS = "cal.comms@example.nhs.uk"
SHARED = "Browser-Health-Shared-Value-1!"
WEAK = "letmein1"


def passwords(staff: User, comms: User) -> None:
    """Three live channels: two hold the same password, one a weak one."""
    for (platform, handle), value in zip(
        (("x", "NHSTrustHealth"), ("tiktok", "nhstrust_health"), ("instagram", "nhstrust.health")),
        (SHARED, SHARED, WEAK),
        strict=True,
    ):
        channel = channels.request_channel(
            channels.ChannelRequest(
                platform=platform,
                handle=handle,
                display_name=f"Trust on {platform}",
                department="Communications",
                purpose="Updates for patients.",
                audience="Patients and visitors.",
                policy_acknowledged=True,
            ),
            staff,
        )
        for action in ("approve", "activate"):
            channels.transition(channel, action, comms, reason="Set up for the browser test.")
        custody.store(channel, "password", value, "Taking custody.", comms)


@pytest.fixture(scope="module")
def live_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    with serve_live_site(
        tmp_path_factory.mktemp("live-password-health"),
        staff=("sam.staff@example.nhs.uk", "Sam Staff"),
        comms=("cal.comms@example.nhs.uk", "Cal Comms"),
        seed=passwords,
    ) as site:
        yield site


def test_comms_see_the_findings_and_follow_one_to_the_channel(new_visitor: NewVisitor, live_site: LiveSite) -> None:
    comms = new_visitor("password-health")
    sign_in(comms, COMMS)
    page = comms.page
    page.goto("/credentials")
    expect(page.get_by_role("heading", name="Password health")).to_be_visible()
    expect(page.get_by_text("Showing 1 to 3 of 3 passwords with findings.")).to_be_visible()
    comms.check("overview")
    fits_a_phone(page)
    assert SHARED not in page.content() and WEAK not in page.content()
    page.get_by_role("link", name="CH-0003").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Credentials in custody")
    expect(page.get_by_text("Weak", exact=True)).to_be_visible()
    comms.check("channel")
    fits_a_phone(page)
    assert WEAK not in page.content()
    assert comms.problems == []


def test_the_pages_pass_axe_and_fit_a_phone(browser: Browser, live_site: LiveSite) -> None:
    """With the page's CSP bypassed so axe-core can be injected (the other test watches the CSP)."""
    context, page = signed_in_without_csp(browser, live_site, COMMS)
    try:
        for path in ("/credentials", "/channels/CH-0001/credentials"):
            page.goto(path)
            assert axe_violations(page) == []
            page.set_viewport_size({"width": 320, "height": 800})
            fits_after_resize(page, path)
            page.set_viewport_size({"width": 1280, "height": 900})
    finally:
        context.close()
