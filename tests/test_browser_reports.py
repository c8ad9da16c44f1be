"""The monthly report in a real browser (Debian's Chromium driven by Playwright).

The communications team generates last month's draft, reads its figures and opens its
charts (each drawn, with a table of the same figures), prints it (the print media hides
the header, navigation, footer, buttons and forms), issues it, and downloads it as CSV
and PDF. On every page the NHS design system starts, nothing is logged to the console
and the Content-Security-Policy blocks nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import update

from registry import clock, db
from registry.auth.models import User
from registry.channels import services as channels
from registry.channels.models import ChannelTransition
from registry.reports import services as reports
from tests.browser_support import (
    ARTIFACTS,
    LiveSite,
    NewVisitor,
    fits_after_resize,
    serve_live_site,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.one_leg]
pytest_plugins = ["tests.browser_support"]

STAFF_EMAIL = "sam.staff@example.nhs.uk"
COMMS_EMAIL = "alex.comms@example.nhs.uk"
LAST_MONTH = reports.default_month(clock.today())
LABEL = reports.month_label(LAST_MONTH)


@pytest.fixture(autouse=True)
def _dates_as_this_test_starts() -> None:
    """A run can cross midnight: each test takes the date when it starts, not when the module loaded."""
    global LAST_MONTH, LABEL
    LAST_MONTH = reports.default_month(clock.today())
    LABEL = reports.month_label(LAST_MONTH)


def _in_last_month(day: int) -> dt.datetime:
    year, month = (int(part) for part in LAST_MONTH.split("-"))
    return dt.datetime(year, month, day, 12, tzinfo=clock.LONDON).astimezone(dt.UTC)


def two_channels_live_last_month(staff: User, comms: User) -> None:
    """An X account and a Facebook page requested, approved and made live in the first days of last month."""
    for platform, handle, name in (
        ("x", "TrustNewsDesk", "News desk"),
        ("facebook", "TrustNewsDesk", "News desk page"),
    ):
        channel = channels.request_channel(
            channels.ChannelRequest(
                platform=platform,
                handle=handle,
                display_name=name,
                department="Communications",
                purpose="Trust news.",
                audience="The public.",
                policy_acknowledged=True,
            ),
            staff,
        )
        channels.transition(channel, "approve", comms, reason="Agreed.")
        channels.transition(channel, "activate", comms, reason="Live.")
        for action, day in (("request", 2), ("approve", 4), ("activate", 5)):
            db.session().execute(
                update(ChannelTransition)
                .where(ChannelTransition.channel_id == channel.id, ChannelTransition.action == action)
                .values(occurred_at=_in_last_month(day))
            )


@pytest.fixture(scope="module")
def live_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    with serve_live_site(
        tmp_path_factory.mktemp("live-reports"),
        staff=(STAFF_EMAIL, "Sam Staff"),
        comms=(COMMS_EMAIL, "Alex Comms"),
        seed=two_channels_live_last_month,
    ) as site:
        yield site


def hidden_when_printed(page, selector: str) -> bool:  # type: ignore[no-untyped-def]
    return page.evaluate(
        "(selector) => [...document.querySelectorAll(selector)].every((e) => !e.checkVisibility())",
        selector,
    )


def test_comms_issue_last_months_report_and_open_its_charts(new_visitor: NewVisitor) -> None:
    comms = new_visitor("reports-comms")
    page = comms.page
    sign_in(comms, COMMS_EMAIL)
    comms.check("home", screenshot=False)
    # The header offers the reports (in its "More" menu on a narrow screen).
    expect(page.locator(".nhsuk-header a", has_text="Monthly reports").first).to_be_attached()
    page.goto("/reports")
    expect(page.get_by_role("heading", level=1)).to_have_text("Monthly reports")
    expect(page.get_by_label("Which month?")).to_have_value(LAST_MONTH)
    comms.check("list")
    page.get_by_role("button", name="Generate the draft").click()

    expect(page).to_have_url(re.compile(rf"/reports/{LAST_MONTH}$"))
    expect(page.get_by_text(f"The draft report for {LABEL} has been generated.")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Social media: {LABEL}")
    expect(page.locator("main .nhsuk-tag").first).to_have_text("Draft")
    created = page.get_by_role("row", name=re.compile("^Channels that went live"))
    expect(created.get_by_role("cell")).to_have_text("2")
    comms.check("draft")

    # The charts: each one drawn (an SVG image the browser decoded), with its figures in a table.
    charts = page.locator("main img.app-chart")
    # Platforms, the active channels' account security, requests and official channels.
    expect(charts).to_have_count(4)
    for index in range(4):
        chart = charts.nth(index)
        chart.scroll_into_view_if_needed()
        expect(chart).to_have_attribute("alt", re.compile(r"The figures are in the table after it\.$"))
        page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=chart.element_handle())
    by_platform = page.get_by_role("table", name="Current channels on each platform at the end of the month")
    expect(by_platform.get_by_role("row", name=re.compile("^Facebook"))).to_contain_text("1")
    trends = page.get_by_role("table", name="Requests and official channels in each of the last 12 months")
    expect(trends.get_by_role("row", name=re.compile(f"^{LABEL}"))).to_have_text(re.compile(r"2\s*2\s*2"))
    source = charts.first.get_attribute("src")
    assert source is not None
    response = page.request.get(source)
    assert response.ok and response.headers["content-type"].startswith("image/svg+xml")
    assert "<pattern" in response.text() and "1 in all" in response.text()

    page.evaluate("() => { window.print = () => { window.__printed = true } }")
    page.get_by_role("button", name="Print this report").click()
    assert page.evaluate("() => window.__printed") is True
    page.emulate_media(media="print")
    for furniture in (
        ".nhsuk-header",
        ".nhsuk-footer-container, .nhsuk-footer",
        ".nhsuk-back-link",
        ".nhsuk-button",
        "main form",
        "nav",
    ):
        assert hidden_when_printed(page, furniture), f"{furniture} shows when printed"
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(charts.first).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    printed = page.pdf(path=ARTIFACTS / "browser-reports-printed.pdf", format="A4")
    assert printed.startswith(b"%PDF-")
    page.emulate_media(media="screen")

    page.get_by_role("button", name="Issue the report").click()
    expect(page.get_by_text(f"The report for {LABEL} has been issued.")).to_be_visible()
    expect(page.locator("main .nhsuk-tag").first).to_have_text("Issued")
    expect(page.get_by_role("button", name="Generate the draft again")).to_have_count(0)
    comms.check("issued")
    # On a phone the issued report does not scroll sideways: its wide tables and charts scroll in boxes of
    # their own that a keyboard can focus, and no chart is shrunk to the screen (its text would be ~5 px).
    page.set_viewport_size({"width": 320, "height": 800})
    fits_after_resize(page, "the issued report")
    for index in range(4):
        chart = charts.nth(index)
        scale = chart.evaluate("(img) => img.getBoundingClientRect().width / img.naturalWidth")
        assert scale >= 0.75, f"chart {index + 1} is drawn at {scale:.0%} of its size on a phone"
        expect(chart.locator("xpath=..")).to_have_attribute("role", "region")
        expect(chart.locator("xpath=..")).to_have_attribute("tabindex", "0")
    page.set_viewport_size({"width": 1280, "height": 900})

    with page.expect_download() as download:
        page.get_by_role("link", name="Download as CSV").click()
    assert download.value.suggested_filename == f"monthly-report-{LAST_MONTH}.csv"
    rows = {row["figure"]: row["value"] for row in csv.DictReader(io.StringIO(Path(download.value.path()).read_text()))}
    assert rows["status"] == "issued" and rows["channels.created"] == "2"
    with page.expect_download() as download:
        page.get_by_role("link", name="Download as PDF").click()
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF-")

    page.get_by_role("link", name="Back to monthly reports").click()
    issued = page.get_by_role("table", name="Issued reports, most recent month first")
    expect(issued.get_by_role("link", name=LABEL, exact=True)).to_be_visible()
    comms.check("list-issued")

    assert comms.problems == [], "\n".join(comms.problems)
