"""Issue 15, in a real browser (Debian's Chromium driven by Playwright): a revealed secret warns before it
hides itself and can be kept on screen longer, up to a limit (WCAG 2.2.1 Timing Adjustable), without asking
the server again; and Escape in the header's "More" menu gives focus back to its button (WCAG 2.4.3).
Time is fast-forwarded with Playwright's clock, so nothing waits a minute.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from registry.auth.models import User
from registry.channels import services as channels
from registry.vault import services as custody
from tests.browser_support import LiveSite, NewVisitor, Watched, serve_live_site, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.one_leg]
pytest_plugins = ["tests.browser_support"]

COMMS = "casey.comms@example.nhs.uk"
SECRET = "Horse-Battery-Staple-15"
KEEP = "Keep showing for another 60 seconds"
#: The seeded channel's reference.
SEEDED: dict[str, str] = {}


def custody_of_a_password(staff: User, comms: User) -> None:
    made = channels.request_channel(
        channels.ChannelRequest(
            platform="instagram",
            handle="trust_timing",
            display_name="Timing, Example NHS",
            department="Pharmacy",
            purpose="Clinics.",
            audience="Patients.",
            policy_acknowledged=True,
        ),
        staff,
    )
    for action in ("approve", "activate"):
        channels.transition(made, action, comms, reason="Agreed.")
    custody.store(made, "password", SECRET, "Taking custody.", comms)
    SEEDED["channel"] = made.reference


@pytest.fixture(scope="module")
def live_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    with serve_live_site(
        tmp_path_factory.mktemp("live"),
        staff=("sam.staff@example.nhs.uk", "Sam Staff"),
        comms=(COMMS, "Casey Comms"),
        seed=custody_of_a_password,
    ) as site:
        yield site


def reveal(visitor: Watched) -> list[str]:
    """Sign in, reveal the password with the clock under the test's control and press Show; returns the
    list that every later page load or script request is added to."""
    page = visitor.page
    sign_in(visitor, COMMS)
    page.clock.install()
    page.goto(f"/channels/{SEEDED['channel']}/credentials")
    page.get_by_label("Why do you need it?").fill("Posting the clinic dates.")
    page.get_by_role("button", name="Reveal password").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Password, version 1")
    requests: list[str] = []
    page.on(
        "request",
        lambda request: requests.append(request.url) if request.resource_type in ("document", "fetch", "xhr") else None,
    )
    page.get_by_role("button", name="Show").click()
    expect(page.locator(".app-secret__value")).to_have_text(SECRET)
    return requests


def status(page: Page) -> str:
    return page.locator(".app-secret__status").inner_text()


def test_a_revealed_secret_warns_before_it_hides_and_can_be_kept_longer(new_visitor: NewVisitor) -> None:
    comms = new_visitor("reveal-timing")
    page = comms.page
    requests = reveal(comms)
    keep = page.get_by_role("button", name=KEEP)
    expect(keep).to_be_hidden()

    page.clock.run_for(39_000)
    assert status(page) == ""
    page.clock.run_for(2_000)  # 41 s: 19 s left
    region = page.locator(".app-secret__status")
    expect(region).to_have_attribute("aria-live", "polite")
    expect(region).to_contain_text("It will be hidden in 20 seconds")
    expect(keep).to_be_visible()

    keep.click()
    expect(region).to_contain_text("It will stay on screen for another 60 seconds")
    page.clock.run_for(50_000)  # 60 s after pressing it would be 101 s; it is 91 s now, still shown
    expect(page.locator(".app-secret__value")).to_have_text(SECRET)
    expect(region).to_contain_text("It will be hidden in 20 seconds")
    page.clock.run_for(11_000)
    expect(page.locator(".app-secret__value")).to_have_count(0)
    expect(region).to_contain_text(re.compile(r"Hidden after 10\d seconds"))
    assert SECRET not in page.content()
    # Warning, keeping and hiding happened in the page alone: nothing was asked of the server.
    assert requests == []
    comms.check("reveal-hidden", screenshot=False)
    assert comms.problems == []


def test_a_revealed_secret_is_kept_no_longer_than_ten_minutes(new_visitor: NewVisitor) -> None:
    comms = new_visitor("reveal-limit")
    page = comms.page
    reveal(comms)
    keep = page.get_by_role("button", name=KEEP)
    region = page.locator(".app-secret__status")
    presses = 0
    while True:
        page.clock.run_for(41_000)
        expect(region).to_contain_text("It will be hidden in 20 seconds")
        keep.click()
        presses += 1
        if keep.is_hidden():
            break
        assert presses < 20, "the secret can be kept on screen for ever"
    # The press that reached the limit took the button away: focus went to Show/Hide, not to the page.
    expect(page.get_by_role("button", name="Hide")).to_be_focused()
    assert 9 <= presses <= 15
    page.clock.run_for(int(1_000 * (600 - 41 * presses - 20)) + 500)
    expect(region).to_contain_text("for as long as it can be")
    expect(page.locator(".app-secret__value")).to_have_text(SECRET)
    page.clock.run_for(20_000)
    expect(page.locator(".app-secret__value")).to_have_count(0)
    expect(region).to_contain_text("Hidden after 600 seconds")
    assert SECRET not in page.content()
    assert comms.problems == []


def test_escape_in_the_more_menu_gives_focus_back_to_its_button(new_visitor: NewVisitor) -> None:
    comms = new_visitor("menu-escape")
    page = comms.page
    sign_in(comms, COMMS)
    page.set_viewport_size({"width": 400, "height": 800})
    more = page.locator(".nhsuk-header__menu-toggle")
    expect(more).to_be_visible()
    more.click()
    expect(more).to_have_attribute("aria-expanded", "true")
    menu_links = page.locator(".nhsuk-header__menu-list a")
    expect(menu_links.first).to_be_visible()
    page.keyboard.press("Tab")
    expect(menu_links.first).to_be_focused()
    page.keyboard.press("Escape")
    expect(more).to_have_attribute("aria-expanded", "false")
    expect(more).to_be_focused()
    # Escape with focus on the button itself closes the menu and leaves focus where it was.
    more.click()
    expect(more).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Escape")
    expect(more).to_have_attribute("aria-expanded", "false")
    expect(more).to_be_focused()
    assert comms.problems == []


REGIONS = ".app-table-scroll, .app-chart-scroll"


def tab_stops_and_overflow(page: Page) -> list[tuple[str, bool, bool]]:
    """Each scroll region on the page: its name, whether Tab stops on it, whether it scrolls."""
    return page.eval_on_selector_all(
        REGIONS,
        """regions => regions.map(r => [r.getAttribute('aria-label'), r.getAttribute('tabindex') === '0',
                                       r.scrollWidth > r.clientWidth + 1 || r.scrollHeight > r.clientHeight + 1])""",
    )


def test_a_scroll_region_is_a_tab_stop_only_while_it_scrolls(new_visitor: NewVisitor) -> None:
    """WCAG 2.1.1: a region that scrolls sideways must be reachable with Tab, so a keyboard user can scroll
    it; where it fits, the stop leads nowhere and only slows them down (2.4.3)."""
    comms = new_visitor("scroll-regions")
    page = comms.page
    sign_in(comms, COMMS)
    page.goto("/")
    wide = tab_stops_and_overflow(page)
    assert wide, "the comms home page has no scroll region to check"
    assert all(stop == scrolls for _, stop, scrolls in wide), wide
    assert any(not stop for _, stop, _ in wide), wide  # at 1,280 px something fits
    page.set_viewport_size({"width": 320, "height": 800})
    expect(page.locator(f":is({REGIONS})[tabindex='0']").first).to_be_attached()
    narrow = tab_stops_and_overflow(page)
    assert all(stop == scrolls for _, stop, scrolls in narrow), narrow
    assert any(stop for _, stop, _ in narrow), narrow  # at 320 px something scrolls, and Tab reaches it
    assert comms.problems == []
