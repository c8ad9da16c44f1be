"""The secrets import pages in a real browser (Debian's Chromium driven by Playwright): a member of the
communications team uploads a CSV export, chooses a channel for an entry that matches none, chooses the
file again and stores it. Each page is a well-formed NHS page with nothing on the console and nothing
blocked by the CSP, passes axe-core at WCAG 2.2 AA, and fits a 320 px wide screen without scrolling
sideways."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from registry import db
from registry.auth.models import User
from registry.channels import services as channels
from registry.vault.models import Credential
from tests.browser_support import LiveSite, NewVisitor, fits_after_resize, serve_live_site, sign_in
from tests.test_browser_oidc import axe_violations
from tests.test_browser_users_import import fits_a_phone, signed_in_without_csp

pytestmark = [pytest.mark.browser, pytest.mark.one_leg]
pytest_plugins = ["tests.browser_support"]

COMMS = "cal.comms@example.nhs.uk"
EXPORT = (
    b"url,username,password,totp,notes\n"
    b"https://x.com/NHSTrustBrowser,comms,Browser-Import-Value-1!,,\n"
    b"https://shop.example.com/login,me,Browser-Import-Value-2!,,\n"
)


def two_channels(staff: User, comms: User) -> None:
    for platform, handle in (("x", "NHSTrustBrowser"), ("tiktok", "nhstrust_browser")):
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


@pytest.fixture(scope="module")
def live_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    with serve_live_site(
        tmp_path_factory.mktemp("live-credentials-import"),
        staff=("sam.staff@example.nhs.uk", "Sam Staff"),
        comms=("cal.comms@example.nhs.uk", "Cal Comms"),
        seed=two_channels,
    ) as site:
        yield site


def choose_file(page: Page, index: int = 0) -> None:
    page.locator("input[type=file]").nth(index).set_input_files(
        files=[{"name": "export.csv", "mimeType": "text/csv", "buffer": EXPORT}]
    )


def preview(page: Page) -> None:
    choose_file(page)
    page.get_by_label("CSV file").check()
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check the import of secrets")


def test_comms_preview_choose_a_channel_and_store(new_visitor: NewVisitor, live_site: LiveSite) -> None:
    comms = new_visitor("credentials-import")
    sign_in(comms, COMMS)
    page = comms.page
    page.goto("/credentials")
    page.get_by_role("link", name="Import existing passwords").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import existing passwords")
    comms.check("upload")
    fits_a_phone(page)
    preview(page)
    comms.check("preview")
    assert "Browser-Import-Value" not in page.content()
    tiktok = page.locator("#entry-3 option", has_text="nhstrust_browser").get_attribute("value")
    page.get_by_label("Channel for row 3").select_option(value=tiktok)
    choose_file(page, 0)
    page.get_by_role("button", name="Store the secrets").click()
    expect(page.get_by_text(re.compile(r"Imported: 2 entries, 2 secrets stored"))).to_be_visible()
    comms.check("done")
    with live_site.app.app_context():
        stored = db.session().execute(select(Credential)).unique().scalars().all()
        assert sorted((c.channel.platform, c.kind) for c in stored) == [("tiktok", "password"), ("x", "password")]
        db.session().close()
    assert comms.problems == []


def test_the_import_pages_pass_axe_and_the_preview_fits_a_phone(browser: Browser, live_site: LiveSite) -> None:
    """With the page's CSP bypassed so axe-core can be injected (the other test watches the CSP)."""
    context, page = signed_in_without_csp(browser, live_site, COMMS)
    try:
        page.goto("/credentials/import")
        assert axe_violations(page) == []
        preview(page)
        assert axe_violations(page) == []
        page.set_viewport_size({"width": 320, "height": 800})
        fits_after_resize(page, "the preview")
    finally:
        context.close()
