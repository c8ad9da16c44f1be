"""Logo and lozenge consent in a real browser (Debian's Chromium driven by Playwright).

A member of staff asks to use the NHS lozenge with real PNG artwork (after a forgotten answer,
the form asks for the file again: a browser drops it); the communications
team looks at the artwork beside the NHS identity checklist and approves with
conditions; the member of staff opens the consent letter, prints it (the print media
hides the header, navigation, footer and buttons) and downloads it as a PDF. On every
page the NHS design system starts, nothing is logged to the console and the
Content-Security-Policy blocks nothing.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Page, expect

from registry import clock
from tests.browser_support import (
    ARTIFACTS,
    LiveSite,
    NewVisitor,
    serve_live_site,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.one_leg]
pytest_plugins = ["tests.browser_support"]

STAFF_EMAIL = "robin.staff@example.nhs.uk"
COMMS_EMAIL = "kim.comms@example.nhs.uk"
TITLE = "Antenatal classes poster, spring 2027"
CONDITIONS = "Use the white lozenge on the NHS Blue panel; keep the clear space at the top right."


@pytest.fixture(scope="module")
def live_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    """The app on 127.0.0.1 with its own migrated database, a staff member and a comms member."""
    with serve_live_site(
        tmp_path_factory.mktemp("live-consent"),
        staff=(STAFF_EMAIL, "Robin Staff"),
        comms=(COMMS_EMAIL, "Kim Comms"),
    ) as site:
        yield site


def draft_artwork(folder: Path) -> Path:
    """A real PNG: an NHS Blue panel with a white lozenge-like block."""
    image = Image.new("RGB", (320, 200), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 320, 60), fill=(0, 94, 184))
    draw.rectangle((230, 12, 306, 48), fill=(255, 255, 255))
    path = folder / "antenatal-poster.png"
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return path


def fill_date(page: Page, name: str, day: dt.date) -> None:
    page.locator(f"#{name}-day").fill(str(day.day))
    page.locator(f"#{name}-month").fill(str(day.month))
    page.locator(f"#{name}-year").fill(str(day.year))


def hidden_when_printed(page: Page, selector: str) -> bool:
    return page.evaluate(
        "(selector) => [...document.querySelectorAll(selector)].every((e) => getComputedStyle(e).display === 'none')",
        selector,
    )


def test_staff_ask_comms_approve_with_conditions_staff_print_the_letter(
    new_visitor: NewVisitor,
    tmp_path: Path,
) -> None:
    start = clock.today() + dt.timedelta(days=14)
    end = start + dt.timedelta(days=120)

    staff = new_visitor("consent-staff")
    page = staff.page
    sign_in(staff, STAFF_EMAIL)
    staff.check("home", screenshot=False)  # the header's script has arranged the menu
    page.get_by_role("link", name="Logo consents").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Logo and lozenge consents")
    staff.check("register-own")
    page.get_by_role("link", name="Ask to use the Trust logo or the NHS lozenge").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ask to use the Trust logo or the NHS lozenge")
    page.get_by_label("What is the item or campaign called?").fill(TITLE)
    page.get_by_label("Which service or department will use it?").fill("Maternity")
    page.get_by_label("The NHS lozenge", exact=True).check()
    page.get_by_label("What will it be used for?").fill("A poster in clinics inviting parents to antenatal classes.")
    page.get_by_label("Print").check()
    page.get_by_label("Social media").check()
    page.get_by_role("group", name="Is a partner organisation involved?").get_by_label("No").check()
    fill_date(page, "starts_on", start)
    fill_date(page, "ends_on", end)
    files = page.locator("input[type=file][name=artwork]")
    files.set_input_files(str(draft_artwork(tmp_path)))
    staff.check("request-form")
    page.get_by_role("button", name="Send request").click()

    # The audience was forgotten: the form comes back with the answers kept, but the browser has
    # dropped the chosen file, and the page says so at the file input and in the error summary.
    summary = page.locator(".nhsuk-error-summary")
    expect(summary.get_by_role("link", name="Describe who will see it")).to_be_visible()
    again = "Choose your artwork file again: browsers do not keep chosen files when a form needs correcting."
    expect(summary.get_by_role("link", name=again)).to_be_visible()
    expect(page.locator("#artwork-error")).to_contain_text(again)
    assert files.evaluate("(input) => input.files.length") == 0
    expect(page.get_by_label("What is the item or campaign called?")).to_have_value(TITLE)
    staff.check("request-form-errors")
    refused = [p for p in staff.problems if "422" in p and p.endswith("/consents/new")]
    assert len(refused) == 2, staff.problems  # the response and Chromium's console note of it: expected here
    staff.problems[:] = [p for p in staff.problems if p not in refused]
    page.get_by_label("Who will see it?").fill("Expectant parents and their families.")
    files.set_input_files(str(draft_artwork(tmp_path)))
    page.get_by_role("button", name="Send request").click()

    expect(page).to_have_url(re.compile(r"/consents/LCR-\d+$"))
    reference = page.url.rsplit("/", 1)[1]
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(page.locator("main .nhsuk-tag").first).to_have_text("Awaiting decision")
    expect(page.get_by_role("img", name="Draft artwork: antenatal-poster.png")).to_be_visible()
    staff.check("request")

    comms = new_visitor("consent-comms")
    page = comms.page
    sign_in(comms, COMMS_EMAIL)
    page.goto("/consents")
    page.get_by_role("link", name=reference, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    artwork = page.get_by_role("img", name="Draft artwork: antenatal-poster.png")
    expect(artwork).to_be_visible()
    # Visible is not loaded: wait for the file itself, then check it is the artwork as sent.
    page.wait_for_function("(img) => img.complete", arg=artwork.element_handle())
    assert page.evaluate("(img) => img.naturalWidth", artwork.element_handle()) == 320
    checklist = page.get_by_role("group", name="NHS identity checklist")
    expect(checklist.get_by_role("checkbox")).to_have_count(5)
    checklist.get_by_role("checkbox").nth(0).check()
    checklist.get_by_role("checkbox").nth(1).check()
    conditions = page.get_by_label("Conditions", exact=True)
    expect(conditions).to_be_hidden()  # revealed only with "Approve with conditions"
    page.get_by_label("Approve with conditions").check()
    expect(conditions).to_be_visible()
    conditions.fill(CONDITIONS)
    comms.check("decide")
    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_text(f"{reference} has been approved with conditions as consent LC-")).to_be_visible()
    expect(page.locator("main .nhsuk-tag").first).to_have_text("Approved with conditions")
    consent_reference = re.search(r"LC-\d{4}-\d{4,}", page.locator("main .nhsuk-caption-l").inner_text())
    assert consent_reference is not None
    comms.check("approved")

    page = staff.page
    page.reload()
    expect(page.locator("main .nhsuk-tag").first).to_have_text("Approved with conditions")
    page.get_by_role("link", name="Open the consent letter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Consent to use the NHS lozenge")
    expect(page.get_by_text(CONDITIONS)).to_be_visible()
    expect(page.locator("main .nhsuk-caption-m")).to_have_text(f"Consent reference {consent_reference.group(0)}")
    staff.check("letter")

    page.evaluate("() => { window.print = () => { window.__printed = true } }")
    page.get_by_role("button", name="Print this letter").click()
    assert page.evaluate("() => window.__printed") is True

    page.emulate_media(media="print")
    for furniture in (
        ".nhsuk-header",
        ".nhsuk-footer-container, .nhsuk-footer",
        ".nhsuk-back-link",
        ".nhsuk-button",
        ".nhsuk-skip-link",
    ):
        assert hidden_when_printed(page, furniture), f"{furniture} shows when printed"
    assert hidden_when_printed(page, "nav"), "navigation shows when printed"
    page.screenshot(path=ARTIFACTS / "browser-consent-letter-print-media.png", full_page=True)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_text(CONDITIONS)).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    printed = page.pdf(path=ARTIFACTS / "browser-consent-letter-printed.pdf", format="A4")
    assert printed.startswith(b"%PDF-")
    page.emulate_media(media="screen")
    expect(page.locator(".nhsuk-header")).to_be_visible()

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the letter as a PDF").click()
    assert download.value.suggested_filename == f"{consent_reference.group(0)}.pdf"
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF-")

    problems = staff.problems + comms.problems
    assert problems == [], "\n".join(problems)
