"""The public directory of official accounts in a real browser (issue 13): a visitor who is not signed
in finds it from /verify, reads the accounts by platform and by department, sees the retired ones
marked, and the page passes axe-core (WCAG 2.2 AA) and fits a 320 px wide screen without scrolling
sideways. As in tests/test_browser.py, the NHS design system loads and starts, nothing reaches the
console and the CSP blocks nothing (the JSON-LD in the head carries the page's nonce).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from registry.auth.models import User
from registry.channels import services as channels
from tests.browser_support import LiveSite, NewVisitor, serve_live_site
from tests.test_browser_oidc import axe_violations, require_axe

pytestmark = [pytest.mark.browser, pytest.mark.one_leg]
pytest_plugins = ["tests.browser_support"]

#: A long handle and name, which must wrap on a narrow screen.
LONG_HANDLE = "ExampleHospitalMaternityAndNeonatalVoicesPartnersh"


def accounts(staff: User, comms: User) -> None:
    def channel(platform: str, handle: str, name: str, department: str, *actions: str) -> None:
        made = channels.request_channel(
            channels.ChannelRequest(
                platform=platform,
                handle=handle,
                display_name=name,
                department=department,
                purpose="Internal purpose text.",
                audience="Patients.",
                policy_acknowledged=True,
            ),
            staff,
        )
        for action in actions:
            channels.transition(made, action, comms, reason="Agreed.")

    channel("x", "ExampleNHS", "Example NHS Foundation Trust", "Communications", "approve", "activate")
    channel(
        "facebook",
        LONG_HANDLE,
        "Maternity and Neonatal Voices Partnership of Example",
        "Maternity",
        "approve",
        "activate",
    )
    channel("instagram", "example_physio", "Physiotherapy", "Therapies", "approve", "activate", "suspend")
    channel("x", "ExampleJabs", "COVID-19 vaccination", "Pharmacy", "approve", "activate", "retire")
    channel("x", "ExampleAsked", "Not yet decided", "Pharmacy")


@pytest.fixture(scope="module")
def live_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    with serve_live_site(
        tmp_path_factory.mktemp("live-directory"),
        staff=("dee.staff@example.nhs.uk", "Dee Staff"),
        comms=("cal.comms@example.nhs.uk", "Cal Comms"),
        seed=accounts,
    ) as site:
        yield site


def test_a_visitor_finds_and_reads_the_directory(new_visitor: NewVisitor) -> None:
    public = new_visitor("public-directory")
    page = public.page
    page.goto("/verify")
    page.get_by_role("link", name="the list of the Trust's official accounts").click()
    page.wait_for_url("**/directory")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Official social media accounts")
    expect(page.get_by_role("table", name="X (Twitter)")).to_contain_text("examplenhs")
    expect(page.get_by_role("link", name="examplenhs on X (Twitter)")).to_have_attribute(
        "rel", "me noopener noreferrer"
    )
    expect(page.get_by_text("Paused")).to_be_visible()
    retired = page.get_by_role("table", name="Former official accounts")
    expect(retired).to_contain_text("examplejabs")
    expect(retired).to_contain_text("do not trust it")
    expect(page.locator("main")).not_to_contain_text("exampleasked")
    expect(page.locator("main")).not_to_contain_text("Internal purpose text.")
    public.check("directory-by-platform")

    snippet = json.loads(page.locator('head script[type="application/ld+json"]').text_content() or "")
    assert snippet["@type"] == "Organization" and len(snippet["sameAs"]) == 3

    page.get_by_role("link", name="By department").click()
    expect(page.get_by_role("table", name="Maternity")).to_contain_text("Facebook")
    public.check("directory-by-department")
    assert public.problems == [], "\n".join(public.problems)


@pytest.mark.parametrize("path", ["/directory", "/directory?by=department"])
def test_the_directory_fits_a_phone_screen(new_visitor: NewVisitor, path: str) -> None:
    public = new_visitor("public-directory-narrow")
    page = public.page
    page.set_viewport_size({"width": 320, "height": 800})
    page.goto(path)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 320, "the page scrolls sideways at 320 px"
    public.check("directory-320px" + ("-department" if "department" in path else ""))
    assert public.problems == [], "\n".join(public.problems)


@pytest.fixture
def axe_visitor(browser: Browser, live_site: LiveSite) -> Iterator[Page]:
    """A fresh browser with the page's CSP bypassed, so axe-core can be injected (as in test_browser_oidc)."""
    require_axe()
    context = browser.new_context(
        base_url=live_site.url, locale="en-GB", viewport={"width": 1280, "height": 900}, bypass_csp=True
    )
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.mark.parametrize("path", ["/directory", "/directory?by=department"])
def test_the_directory_passes_axe(axe_visitor: Page, path: str) -> None:
    axe_visitor.goto(path)
    assert axe_violations(axe_visitor) == []
