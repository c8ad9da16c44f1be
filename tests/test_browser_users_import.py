"""The users import pages in a real browser (Debian's Chromium driven by Playwright): an administrator
uploads a CSV file, reads the preview and imports it. Each page is a well-formed NHS page with nothing
on the console and nothing blocked by the CSP, passes axe-core at WCAG 2.2 AA, and fits a 320 px wide
screen without scrolling sideways (the preview's table turns into one card per row there)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from registry.audit.services import Actor
from registry.auth.services import create_user, find_user
from tests.browser_support import LiveSite, NewVisitor, app_code, fits_after_resize, serve_live_site, sign_in
from tests.conftest import TEST_PASSWORD, enrol_two_factor
from tests.test_browser_oidc import axe_violations, require_axe

pytestmark = [pytest.mark.browser, pytest.mark.one_leg]
pytest_plugins = ["tests.browser_support"]

ADMIN = "ina.admin@example.nhs.uk"
CSV = (
    b"email,name,roles,line manager email\n"
    b"new.starter@example.nhs.uk,New Starter,staff,\n"
    b"ward.manager@example.nhs.uk,Ward Manager,manager,\n"
)


def an_administrator(_staff: object, _comms: object) -> None:
    enrol_two_factor(
        create_user(email=ADMIN, name="Ina Admin", roles=["admin"], password=TEST_PASSWORD, actor=Actor.system("tests"))
    )


@pytest.fixture(scope="module")
def live_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    with serve_live_site(
        tmp_path_factory.mktemp("live-import"),
        staff=("sam.staff@example.nhs.uk", "Sam Staff"),
        comms=("cal.comms@example.nhs.uk", "Cal Comms"),
        seed=an_administrator,
    ) as site:
        yield site


def fits_a_phone(page: Page) -> None:
    page.set_viewport_size({"width": 320, "height": 800})
    page.reload()  # laid out afresh at 320 px, as a phone would (a reload of the preview re-sends nothing: it is a GET)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 320, f"{page.url} scrolls sideways at 320 px"
    page.set_viewport_size({"width": 1280, "height": 900})


def upload(page: Page, name: str = "staff.csv", mime: str = "text/csv", content: bytes = CSV) -> None:
    """Choose the file on the page's upload form and check it."""
    page.locator("input[type=file]").first.set_input_files(files=[{"name": name, "mimeType": mime, "buffer": content}])
    page.get_by_role("button", name=re.compile("^Check")).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check the import")


def test_an_administrator_previews_and_imports_a_file(new_visitor: NewVisitor, live_site: LiveSite) -> None:
    admin = new_visitor("import")
    sign_in(admin, ADMIN)
    page = admin.page
    page.goto("/admin/users")
    page.get_by_role("link", name="Import users from a CSV file").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import users from a CSV file")
    admin.check("import-upload")
    fits_a_phone(page)
    upload(page)
    admin.check("import-preview")
    expect(page.get_by_text("new.starter@example.nhs.uk")).to_be_visible()
    page.get_by_role("button", name="Import 2 people").click()
    expect(page.get_by_text(re.compile("2 (people )?(created|imported)", re.I)).first).to_be_visible()
    admin.check("import-done")
    with live_site.app.app_context():
        assert find_user("new.starter@example.nhs.uk") is not None
        assert find_user("ward.manager@example.nhs.uk") is not None
    assert admin.problems == []


#: NHS.UK frontend's file upload, as its script enhances it (a drop zone with a button).
def signed_in_without_csp(browser: Browser, live_site: LiveSite, email: str = ADMIN) -> tuple[BrowserContext, Page]:
    """The administrator (or ``email``), in a browser with the page's CSP bypassed so axe-core can be injected."""
    require_axe()
    context = browser.new_context(
        base_url=live_site.url, locale="en-GB", viewport={"width": 1280, "height": 900}, bypass_csp=True
    )
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/login/mfa$"))
    page.get_by_label("Security code").fill(app_code(live_site, email))
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/$"))
    return context, page


def test_the_import_pages_pass_axe_and_the_preview_fits_a_phone(browser: Browser, live_site: LiveSite) -> None:
    context, page = signed_in_without_csp(browser, live_site)
    try:
        page.goto("/admin/users/import")
        assert axe_violations(page) == []
        upload(page)
        assert axe_violations(page) == []
        page.set_viewport_size({"width": 320, "height": 800})
        fits_after_resize(page, "the preview")
    finally:
        context.close()


def test_the_file_upload_passes_axe_and_works_from_the_keyboard(browser: Browser, live_site: LiveSite) -> None:
    """NHS.UK frontend's enhanced file upload, with the Registry's work-around (static/js/nhsuk-workarounds.js):
    the words on the button are part of its accessible name (WCAG 2.5.3) before and after a file is chosen,
    and a keyboard user reaches the button with Tab and opens the file chooser with Enter."""
    context, page = signed_in_without_csp(browser, live_site)
    try:
        page.goto("/admin/users/import")
        button = page.get_by_role("button", name=re.compile("^CSV file"))
        expect(button).to_have_accessible_name(re.compile(r"^CSV file\W+No file chosen\W+Choose file or drop file$"))
        assert axe_violations(page) == []
        for _ in range(40):  # Tab from the top of the page until the button has the focus
            page.keyboard.press("Tab")
            if page.evaluate("() => document.activeElement?.classList.contains('nhsuk-file-upload__drop-button')"):
                break
        expect(button).to_be_focused()
        # Enter on the button clicks the (hidden) file input, which opens the system's file chooser. (Chromium
        # does not always report a chooser to Playwright, so the click itself is what is checked.)
        file_input = page.locator("input[type=file]").first
        file_input.evaluate("(input) => input.addEventListener('click', () => { input.dataset.clicked = 'yes' })")
        page.keyboard.press("Enter")
        expect(file_input).to_have_attribute("data-clicked", "yes")
        file_input.set_input_files(files=[{"name": "staff.csv", "mimeType": "text/csv", "buffer": CSV}])
        expect(button).to_have_accessible_name(re.compile(r"^CSV file\W+staff\.csv\W+Choose file or drop file$"))
        assert axe_violations(page) == []
    finally:
        context.close()
