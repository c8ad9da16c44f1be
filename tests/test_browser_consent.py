"""Logo and lozenge consent in a real browser (Debian's Chromium driven by Playwright).

A member of staff asks to use the NHS lozenge with real PNG artwork; the communications
team looks at the artwork beside the NHS identity checklist and approves with
conditions; the member of staff opens the consent letter, prints it (the print media
hides the header, navigation, footer and buttons) and downloads it as a PDF. On every
page the NHS design system starts, nothing is logged to the console and the
Content-Security-Policy blocks nothing.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from PIL import Image, ImageDraw
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from registry import clock, db
from registry.audit.services import Actor
from registry.auth.services import create_user, find_user
from tests.conftest import TEST_PASSWORD, enrol_two_factor, next_code
from tests.live_server import live_app, migrated_database, serving
from tests.test_browser import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    RECORD_CSP_VIOLATIONS,
    Watched,
    request_failed,
)

pytestmark = pytest.mark.browser

STAFF_EMAIL = "robin.staff@example.nhs.uk"
COMMS_EMAIL = "kim.comms@example.nhs.uk"
TITLE = "Antenatal classes poster, spring 2027"
CONDITIONS = "Use the white lozenge on the NHS Blue panel; keep the clear space at the top right."


@dataclass
class LiveSite:
    url: str
    app: Flask


@pytest.fixture(scope="module")
def live_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    """The app on 127.0.0.1 with its own migrated database, a staff member and a comms member."""
    directory = tmp_path_factory.mktemp("live-consent")
    with (
        pytest.MonkeyPatch.context() as env,
        migrated_database(os.environ.get("REGISTRY_TEST_DATABASE_URL") or None, directory) as url,
    ):
        env.setenv("REGISTRY_INSTANCE_PATH", str(directory / "instance"))
        app = live_app(url, directory / "instance")
        with app.app_context(), db.transaction():
            for email, name, role in ((STAFF_EMAIL, "Robin Staff", "staff"), (COMMS_EMAIL, "Kim Comms", "comms")):
                user = create_user(email=email, name=name, roles=[role], password=TEST_PASSWORD,
                                   actor=Actor.system("tests"))
                if role == "comms":
                    enrol_two_factor(user)
        site = LiveSite("", app)
        try:
            with serving(app) as base:
                site.url = base
                yield site
        finally:
            db.database(app).engine.dispose()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        pytest.skip("Chromium not installed (apt-get install chromium): browser test skipped")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


NewVisitor = Callable[[str], Watched]


@pytest.fixture
def new_visitor(browser: Browser, live_site: LiveSite) -> Iterator[NewVisitor]:
    """``new_visitor(name)`` → a watched fresh browser context (another person)."""
    opened: list[BrowserContext] = []

    def open_context(name: str) -> Watched:
        context = browser.new_context(base_url=live_site.url, locale="en-GB", viewport={"width": 1280, "height": 900},
                                      accept_downloads=True)
        opened.append(context)
        context.add_init_script(RECORD_CSP_VIOLATIONS)
        watched = Watched(f"consent-{name}", context, context.new_page())
        problems = watched.problems

        def console(message: ConsoleMessage) -> None:
            if message.type in ("error", "warning"):
                problems.append(f"console {message.type}: {message.text} at {message.location.get('url')}")

        watched.page.on("console", console)
        watched.page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
        watched.page.on("requestfailed", lambda request: request_failed(request, problems))
        watched.page.on(
            "response",
            lambda response: problems.append(f"HTTP {response.status}: {response.url}") if response.status >= 400 else None,
        )
        return watched

    yield open_context
    for context in opened:
        context.close()


def sign_in(visitor: Watched, site: LiveSite, email: str) -> None:
    page = visitor.page
    page.goto("/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    if page.url.endswith("/login/mfa"):
        with site.app.app_context():
            user = find_user(email)
            assert user is not None
            code = next_code(user)
            db.session().close()
        page.get_by_label("Security code").fill(code)
        page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/$"))


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
    new_visitor: NewVisitor, live_site: LiveSite, tmp_path: Path,
) -> None:
    start = clock.today() + dt.timedelta(days=14)
    end = start + dt.timedelta(days=120)

    staff = new_visitor("staff")
    page = staff.page
    sign_in(staff, live_site, STAFF_EMAIL)
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
    page.get_by_label("Who will see it?").fill("Expectant parents and their families.")
    page.get_by_role("group", name="Is a partner organisation involved?").get_by_label("No").check()
    fill_date(page, "starts_on", start)
    fill_date(page, "ends_on", end)
    page.locator("input[type=file][name=artwork]").set_input_files(str(draft_artwork(tmp_path)))
    staff.check("request-form")
    page.get_by_role("button", name="Send request").click()

    expect(page).to_have_url(re.compile(r"/consents/LCR-\d+$"))
    reference = page.url.rsplit("/", 1)[1]
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(page.locator("main .nhsuk-tag").first).to_have_text("Awaiting decision")
    expect(page.get_by_role("img", name="Draft artwork: antenatal-poster.png")).to_be_visible()
    staff.check("request")

    comms = new_visitor("comms")
    page = comms.page
    sign_in(comms, live_site, COMMS_EMAIL)
    page.goto("/consents")
    page.get_by_role("link", name=reference, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    artwork = page.get_by_role("img", name="Draft artwork: antenatal-poster.png")
    expect(artwork).to_be_visible()
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
    expect(page.get_by_text(f"{reference} has been approved with conditions.")).to_be_visible()
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
    for furniture in (".nhsuk-header", ".nhsuk-footer-container, .nhsuk-footer", ".nhsuk-back-link",
                      ".nhsuk-button", ".nhsuk-skip-link"):
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
