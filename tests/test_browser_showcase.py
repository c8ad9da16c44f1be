"""The pages a newcomer looks at first, filled with the demo's year of history, at 1,280 px and at 320 px:
none scrolls sideways, and a screenshot of each width is kept in test-artifacts/ (not committed) for
people to look at.

The pages: comms' home page, the inventory, a channel, the audit trail, last month's Board report and
the public verification page with a verdict. As in tests/test_browser_every_page.py, the test client
answers the browser's requests, so the pages are the app's own in this test's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page
from sqlalchemy import select

from registry import clock, db
from registry.auth.models import User
from registry.channels.models import Channel
from registry.channels.workflow import ChannelStatus
from tests.browser_support import ARTIFACTS, SITE, answered_by, fits_after_resize
from tests.conftest import csrf_token, sign_in

pytest_plugins = ["tests.browser_support"]
# On the PostgreSQL leg when both run: the SQLite leg also measures coverage, and the hash put more there.
pytestmark = [pytest.mark.browser, pytest.mark.one_leg(leg="postgresql")]

WIDTHS = (1280, 320)


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    made = browser.new_context(base_url=SITE, locale="en-GB", viewport={"width": 1280, "height": 900})
    try:
        yield made
    finally:
        made.close()


def last_month() -> str:
    return f"{clock.today().replace(day=1) - dt.timedelta(days=1):%Y-%m}"


def shoot(page: Page, name: str, path: str) -> None:
    """Open ``path`` at each width; it must not scroll sideways; keep a full-page screenshot of each."""
    ARTIFACTS.mkdir(exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(path)
        assert page.locator("h1").count() == 1, f"{path}: not a page"
        page.screenshot(path=ARTIFACTS / f"showcase-{name}-{width}.png", full_page=True)
        fits_after_resize(page, f"{name} ({path})", width)


def test_the_first_pages_a_newcomer_sees_fit_a_desktop_and_a_phone(
    app: Flask, make_user: Callable[..., User], browser: Browser, context: BrowserContext
) -> None:
    with app.app_context():
        seeded = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert seeded.exit_code == 0, seeded.output
    channel = (
        db.session()
        .execute(select(Channel).where(Channel.status == ChannelStatus.ACTIVE).order_by(Channel.id).limit(1))
        .scalar_one()
    )
    reference, handle, platform = channel.reference, channel.handle, channel.platform
    comms = make_user("comms")
    client = app.test_client()
    sign_in(client, comms)
    month = last_month()
    made = client.post("/reports", data={"month": month, "csrf_token": csrf_token(client, "/reports")})
    assert made.status_code == 302, made.get_data(as_text=True)[:500]

    context.route("**/*", answered_by(client))
    page = context.new_page()
    shoot(page, "home", "/")
    shoot(page, "inventory", "/channels")
    shoot(page, "channel", f"/channels/{reference}")
    shoot(page, "audit", "/audit")
    shoot(page, "board-report", f"/reports/{month}")

    public = browser.new_context(base_url=SITE, locale="en-GB")
    try:
        public.route("**/*", answered_by(app.test_client()))
        visitor = public.new_page()
        shoot(visitor, "verify", f"/verify?platform={platform}&handle={handle}")
        assert "official" in visitor.locator("main").inner_text().lower()
    finally:
        public.close()
