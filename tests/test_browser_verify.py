"""The public verification page in a real browser (Debian's Chromium driven by Playwright): an empty
question shows the error summary, which takes focus; after a check the title starts with the verdict and
focus moves to the verdict, so a screen reader reads it first; every state passes axe-core at WCAG 2.2 AA;
nothing is logged to the console and the Content-Security-Policy blocks nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from registry.auth.models import User
from registry.channels import services as channels
from tests.browser_support import LiveSite, NewVisitor, serve_live_site
from tests.test_browser_oidc import axe_violations, require_axe

pytestmark = [pytest.mark.browser, pytest.mark.one_leg]
pytest_plugins = ["tests.browser_support"]

HANDLE = "BucksHealthcare"


def one_official_account(staff: User, comms: User) -> None:
    made = channels.request_channel(
        channels.ChannelRequest(
            platform="instagram",
            handle=HANDLE,
            display_name="Bucks Healthcare NHS Trust",
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
        tmp_path_factory.mktemp("live"),
        staff=("sam.staff@example.nhs.uk", "Sam Staff"),
        comms=("chris.comms@example.nhs.uk", "Chris Comms"),
        seed=one_official_account,
    ) as site:
        yield site


def focused_id(page: Page) -> str:
    return str(page.evaluate("() => document.activeElement && document.activeElement.id"))


def test_the_verdict_takes_focus_and_names_the_page(new_visitor: NewVisitor) -> None:
    public = new_visitor("verify-focus")
    page = public.page
    page.goto("/verify")
    page.get_by_role("button", name="Check account").click()
    expect(page).to_have_title(re.compile(r"^Error: Check whether an account is official"))
    expect(page.locator(".nhsuk-error-summary")).to_be_focused()
    expect(page.locator("#url-error")).to_contain_text("Enter the web address of the account")
    public.check("verify-empty", screenshot=False)

    page.get_by_label("Web address of the account").fill(f"https://www.instagram.com/{HANDLE}/p/C1AbCdEf/")
    page.get_by_role("button", name="Check account").click()
    expect(page).to_have_title(re.compile(r"^Official account – Check whether"))
    expect(page.locator("#verdict")).to_be_focused()
    expect(page.locator("#verdict")).to_contain_text("This post is on the Trust's official Instagram account")
    public.check("verify-post-official")

    page.get_by_label("Web address of the account").fill(f"https://www.instagram.com/{HANDLE}_official/")
    page.get_by_role("button", name="Check account").click()
    expect(page).to_have_title(re.compile(r"^Not an official account – Check whether"))
    expect(page.locator("#verdict")).to_be_focused()
    expect(page.locator("#verdict")).to_contain_text("words or numbers added")
    public.check("verify-affix")
    assert focused_id(page) == "verdict"
    # The empty question is answered 422 on purpose (the browser logs that): nothing else went wrong.
    problems = [problem for problem in public.problems if "/verify?url=&platform=&handle=" not in problem]
    assert problems == [], "\n".join(problems)


def test_every_state_of_the_page_passes_axe(browser: Browser, live_site: LiveSite) -> None:
    require_axe()
    context = browser.new_context(
        base_url=live_site.url, locale="en-GB", viewport={"width": 1280, "height": 900}, bypass_csp=True
    )
    try:
        page = context.new_page()
        for query in (
            "",
            "?url=",
            f"?url=https://www.instagram.com/{HANDLE}",
            "?url=https://www.instagram.com/bucks%D0%B5healthcare",
            "?url=https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        ):
            page.goto("/verify" + query)
            assert axe_violations(page) == [], query
    finally:
        context.close()
