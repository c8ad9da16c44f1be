"""The channel inventory import in a real browser (Debian's Chromium driven by Playwright): a member of
the communications team uploads the Trust's spreadsheet of accounts, reads the preview and imports it.
Each page passes axe-core at WCAG 2.2 AA and fits a 320 px wide screen without scrolling sideways."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from openpyxl import Workbook
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from registry import db
from registry.channels.models import Channel
from tests import test_browser_users_import as users_import
from tests.browser_support import LiveSite, NewVisitor, fits_after_resize, serve_live_site, sign_in
from tests.test_browser_oidc import axe_violations
from tests.test_browser_users_import import fits_a_phone, signed_in_without_csp

pytestmark = [pytest.mark.browser, pytest.mark.one_leg]
pytest_plugins = ["tests.browser_support"]

COMMS = "cal.comms@example.nhs.uk"
SPONSOR = "sam.staff@example.nhs.uk"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def workbook() -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Platform", "URL", "Display name", "Department", "Purpose", "Audience", "Sponsor"])
    sheet.append(
        [
            "LinkedIn",
            "https://www.linkedin.com/company/leeds-teaching-hospitals-maternity-and-neonatal-services-long-name",
            "Maternity careers",
            "Maternity",
            "Jobs",
            "Midwives",
            SPONSOR,
        ]
    )
    sheet.append(["", "https://x.com/LeedsMatNews", "Maternity news", "Maternity", "News", "Parents", SPONSOR])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def live_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    with serve_live_site(
        tmp_path_factory.mktemp("live-channel-import"),
        staff=(SPONSOR, "Sam Staff"),
        comms=(COMMS, "Cal Comms"),
    ) as site:
        yield site


def upload(page: Page) -> None:
    users_import.upload(page, "inventory.xlsx", XLSX, workbook())


def test_comms_preview_and_import_the_inventory(new_visitor: NewVisitor, live_site: LiveSite) -> None:
    comms = new_visitor("channel-import")
    sign_in(comms, COMMS)
    page = comms.page
    page.goto("/channels")
    page.get_by_role("link", name="Import the existing channels from a spreadsheet").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import the existing channels")
    comms.check("channel-import-upload")
    fits_a_phone(page)
    upload(page)
    comms.check("channel-import-preview")
    page.get_by_role("button", name="Import 2 accounts").click()
    expect(page.get_by_text("Imported: 2 accounts: 2 created").first).to_be_visible()
    with live_site.app.app_context():
        handles = db.session().execute(select(Channel.handle).where(Channel.status == "active")).scalars().all()
        assert "leedsmatnews" in handles
    assert comms.problems == []


def test_the_import_pages_pass_axe_and_fit_a_phone(browser: Browser, live_site: LiveSite) -> None:
    context, page = signed_in_without_csp(browser, live_site, COMMS)
    try:
        page.goto("/channels/import")
        assert axe_violations(page) == []
        page.set_viewport_size({"width": 320, "height": 800})
        fits_after_resize(page, "the upload page")
        page.set_viewport_size({"width": 1280, "height": 900})
        upload(page)
        assert axe_violations(page) == []
        page.set_viewport_size({"width": 320, "height": 800})
        fits_after_resize(page, "the preview")
    finally:
        context.close()
