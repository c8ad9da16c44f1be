"""Break-glass emergency access in a real browser (Debian's Chromium driven by Playwright).

Someone on call signs in with their second factor, opens an emergency access to one account for its
password and two-factor seed, reveals the password and gets a sign-in code, and closes it; a member of
the communications team then finds it in their work queue and records the review. The start page, the
access page and the review pass axe at WCAG 2.2 AA and fit 320 px; on every page the NHS design system
starts, nothing is logged to the console and the Content-Security-Policy blocks nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from registry.audit.services import Actor
from registry.auth.models import User
from registry.auth.services import create_user
from registry.vault import services as custody
from tests.browser_support import LiveSite, NewVisitor, Watched, fits_after_resize, serve_live_site, sign_in
from tests.conftest import TEST_PASSWORD, enrol_two_factor
from tests.test_browser_oidc import axe_violations, require_axe
from tests.test_vault import active_channel

pytestmark = [pytest.mark.browser, pytest.mark.one_leg]
pytest_plugins = ["tests.browser_support"]

STAFF_EMAIL = "robin.staff@example.nhs.uk"
COMMS_EMAIL = "kim.comms@example.nhs.uk"
ON_CALL_EMAIL = "dev.duty@example.nhs.uk"
PASSWORD = "Night-Shift-Heron-5531"
WHY = "The maternity X account was taken over at 02:10 and is posting spam links."


def seed(staff: User, comms: User) -> None:
    """Dev Duty, on call (two-factor set up), and the maternity account with its password and seed in custody."""
    on_call = create_user(
        email=ON_CALL_EMAIL, name="Dev Duty", roles=["on-call"], password=TEST_PASSWORD, actor=Actor.system("tests")
    )
    enrol_two_factor(on_call)
    channel = active_channel(staff, comms, "maternity_news")
    custody.store(channel, "password", PASSWORD, "Taking custody.", comms)
    custody.store(channel, "totp_seed", "JBSWY3DPEHPK3PXPJBSWY3DP", "Taking custody.", comms)


@pytest.fixture(scope="module")
def live_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    with serve_live_site(
        tmp_path_factory.mktemp("live-breakglass"),
        staff=(STAFF_EMAIL, "Robin Staff"),
        comms=(COMMS_EMAIL, "Kim Comms"),
        seed=seed,
    ) as site:
        yield site


def accessible(browser: Browser, visitor: Watched, path: str) -> None:
    """``path``, as ``visitor`` sees it (signed in as them), passes axe at WCAG 2.2 AA and fits 320 px. (axe is
    injected as a script, so this context lets the page's Content-Security-Policy allow it.)"""
    context = browser.new_context(
        base_url=visitor.site.url,
        locale="en-GB",
        viewport={"width": 1280, "height": 900},
        bypass_csp=True,
        storage_state=visitor.context.storage_state(),
    )
    try:
        page = context.new_page()
        page.goto(path)
        assert axe_violations(page) == []
        page.set_viewport_size({"width": 320, "height": 800})
        fits_after_resize(page, path)
    finally:
        context.close()


def test_on_call_opens_uses_and_closes_an_access_and_comms_review_it(browser: Browser, new_visitor: NewVisitor) -> None:
    require_axe()
    duty = new_visitor("breakglass-on-call")
    page = duty.page
    sign_in(duty, ON_CALL_EMAIL)
    page.get_by_role("link", name="Emergency access").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Emergency access to an account")
    duty.check("start")
    accessible(browser, duty, "/break-glass")
    page.get_by_label("Which account needs emergency access?").select_option(index=1)
    page.get_by_label("Incident reference").fill("INC-2026-0142")
    page.get_by_label("What has happened").fill(WHY)
    secrets = page.get_by_role("group", name="Which secrets do you need?")
    secrets.get_by_label("Password", exact=True).check()
    secrets.get_by_label("Two-factor (TOTP) seed").check()
    page.get_by_role("button", name="Open emergency access").click()

    expect(page).to_have_url(re.compile(r"/break-glass/BG-\d+$"))
    reference = page.url.rsplit("/", 1)[1]
    expect(page.get_by_text(f"Emergency access {reference} is open.")).to_be_visible()
    expect(page.locator("main .nhsuk-tag").first).to_have_text("Open")
    duty.check("access")
    accessible(browser, duty, f"/break-glass/{reference}")
    accessible(browser, duty, "/")  # the home page's card, with this access still open

    page.clock.install()  # the reveal page's 60-second hiding runs on a clock the test moves
    page.get_by_role("button", name="Reveal password").click()
    expect(page.locator("#secret-value")).to_be_hidden()  # masked until asked for
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#secret-value")).to_have_text(PASSWORD)
    duty.check("reveal")
    page.clock.fast_forward("00:45")
    expect(page.get_by_role("status")).to_contain_text(re.compile(r"It will be hidden in 1\d seconds"))
    page.clock.fast_forward("00:16")
    expect(page.locator("#secret-value")).to_have_count(0)  # gone from the page, not just hidden
    expect(page.get_by_role("status")).to_contain_text(re.compile(r"Hidden after 6\d seconds"))
    page.get_by_role("link", name="Done").click()
    page.get_by_role("button", name="Get a sign-in code").click()
    expect(page.locator(".app-code")).to_have_text(re.compile(r"^\d{3} \d{3}$"))
    page.get_by_role("link", name="Done").click()
    page.get_by_role("button", name="Close emergency access now").click()
    expect(page.locator("main .nhsuk-tag").first).to_have_text("Awaiting review")
    expect(page.get_by_role("button", name="Reveal password")).to_have_count(0)

    comms = new_visitor("breakglass-comms")
    page = comms.page
    sign_in(comms, COMMS_EMAIL)
    page.goto("/queue")
    page.get_by_role("link", name=reference).first.click()
    expect(page.get_by_role("heading", name="Post-incident review")).to_be_visible()
    expect(page.get_by_text("Rotation required")).to_have_count(2)
    comms.check("review")
    accessible(browser, comms, f"/break-glass/{reference}")
    page.get_by_role("button", name="Record the review").click()
    expect(page.get_by_text("Write the review notes").first).to_be_visible()
    page.get_by_label("Review notes").fill("Needed: the account was hijacked. Password and seed changed at 09:00.")
    page.get_by_role("button", name="Record the review").click()
    expect(page.locator("main .nhsuk-tag").first).to_have_text("Reviewed")
    page.goto("/break-glass/all")
    expect(page.get_by_role("heading", level=1)).to_have_text("Emergency accesses")
    comms.check("list")
    accessible(browser, comms, "/break-glass/all")

    # The review sent without notes was answered 422, as it should be: the only error response expected.
    problems = [p for p in duty.problems + comms.problems if "422" not in p or "/review" not in p]
    assert problems == [], "\n".join(problems)
