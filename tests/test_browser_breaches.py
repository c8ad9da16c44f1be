"""Breach reports in a real browser (Debian's Chromium driven by Playwright).

A member of staff reports a colleague's post with a real screenshot, says it could affect the
Trust's reputation and names the colleague from the Registry (the field appears when chosen);
the report goes to the colleague's line manager, who escalates it to HR with a reason; the
communications team can read the case because it was flagged (policy 9.3), and HR record
the outcome. The reporter only ever sees whether it is being looked into. No page of a case
may be cached; on every page the NHS design system starts, nothing is logged to the console
and the Content-Security-Policy blocks nothing.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Browser, expect

from registry import db
from registry.audit.services import Actor
from registry.auth.managers import set_line_manager
from registry.auth.models import User
from registry.auth.services import create_user, find_user
from registry.breaches import services, views
from registry.breaches.services import BreachAnswers, SubjectKind
from tests.browser_support import LiveSite, NewVisitor, serve_live_site, sign_in
from tests.conftest import TEST_PASSWORD, enrol_two_factor
from tests.test_browser_oidc import axe_violations, require_axe

pytestmark = [pytest.mark.browser, pytest.mark.one_leg]
pytest_plugins = ["tests.browser_support"]

STAFF_EMAIL = "robin.staff@example.nhs.uk"
COMMS_EMAIL = "kim.comms@example.nhs.uk"
MANAGER_EMAIL = "morgan.manager@example.nhs.uk"
SUBJECT_EMAIL = "sam.subject@example.nhs.uk"
HR_EMAIL = "harper.hr@example.nhs.uk"
WHAT_HAPPENED = "A public post mocking a named colleague, with the ward's name in the photo."
ESCALATION = "The second post of this kind in a month; a formal conversation is needed."
OUTCOME = "Met with HR and their union representative; informal warning recorded."


def seed(_staff: User, _comms: User) -> None:
    """Sam Subject, whose line manager is Morgan Manager, and Harper in HR (with two-factor sign-in)."""
    system = Actor.system("tests")
    manager = create_user(
        email=MANAGER_EMAIL, name="Morgan Manager", roles=["manager"], password=TEST_PASSWORD, actor=system
    )
    subject = create_user(
        email=SUBJECT_EMAIL, name="Sam Subject", roles=["staff"], password=TEST_PASSWORD, actor=system
    )
    set_line_manager(subject, manager, actor=system)
    hr = create_user(email=HR_EMAIL, name="Harper HR", roles=["hr"], password=TEST_PASSWORD, actor=system)
    enrol_two_factor(hr)


@pytest.fixture(scope="module")
def live_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    with serve_live_site(
        tmp_path_factory.mktemp("live-breaches"),
        staff=(STAFF_EMAIL, "Robin Staff"),
        comms=(COMMS_EMAIL, "Kim Comms"),
        seed=seed,
    ) as site:
        yield site


def screenshot_of_post(folder: Path) -> Path:
    """A real PNG: a made-up social media post."""
    image = Image.new("RGB", (480, 200), (240, 244, 245))
    draw = ImageDraw.Draw(image)
    draw.rectangle((12, 12, 468, 188), fill=(255, 255, 255), outline=(174, 183, 189))
    draw.ellipse((24, 24, 64, 64), fill=(0, 94, 184))
    draw.text((80, 36), "night_owl_nurse", fill=(33, 43, 50))
    draw.text((24, 96), "Guess who is on shift again...", fill=(33, 43, 50))
    path = folder / "post-screenshot.png"
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return path


def test_staff_report_a_breach_the_manager_escalates_it_comms_see_it_because_it_was_flagged(
    new_visitor: NewVisitor,
    tmp_path: Path,
) -> None:
    staff = new_visitor("breach-staff")
    page = staff.page
    sign_in(staff, STAFF_EMAIL)
    staff.check("home", screenshot=False)
    page.get_by_role("link", name="Breach reports").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Breach reports")
    staff.check("list-own")
    page.get_by_role("link", name="Report a breach").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Report a breach of the social media policy")
    page.get_by_label("Which account posted it?").fill("@night_owl_nurse on X")
    page.get_by_label("Link to the post or the account").fill(
        "https://x.com/night_owl_nurse/status/1790000000000000042"
    )
    page.get_by_label("What happened?").fill(WHAT_HAPPENED)
    page.get_by_role("group", name="Which parts of the policy may it breach?").get_by_label(
        "6.13 Staff must not post comments"
    ).check()
    page.get_by_role("group", name="Could it affect the Trust's reputation?").get_by_label("Yes").check()
    who = page.get_by_label("Their email address or full name")
    expect(who).to_be_hidden()  # revealed only once "in the Registry" is chosen
    in_registry = page.get_by_label("Yes, and they are in the Registry")
    in_registry.check()
    expect(who).to_be_visible()
    # nhsuk-frontend's radios script sets aria-expanded on the radio, which ARIA does not allow there; the
    # Registry's work-around (static/js/nhsuk-workarounds.js) takes it off, and the radio still controls the reveal.
    expect(in_registry).not_to_have_attribute("aria-expanded", re.compile(".*"))
    expect(in_registry).to_have_attribute("aria-controls", "conditional-subject_kind")
    page.get_by_label("No, I do not know who it is").check()
    expect(who).to_be_hidden()
    expect(page.locator("input[type=radio][aria-expanded]")).to_have_count(0)
    in_registry.check()
    expect(who).to_be_visible()
    who.fill("Sam Subject")
    page.locator("input[type=file][name=evidence]").set_input_files(str(screenshot_of_post(tmp_path)))
    staff.check("report-form")
    page.get_by_role("button", name="Send report").click()

    expect(page).to_have_url(re.compile(r"/breaches/BR-\d+$"))
    reference = page.url.rsplit("/", 1)[1]
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Breach report {reference}")
    expect(page.locator("main .nhsuk-tag").first).to_have_text("Being looked into")
    expect(page.get_by_text("Morgan Manager")).to_have_count(0)
    staff.check("report-sent")

    manager = new_visitor("breach-manager")
    page = manager.page
    sign_in(manager, MANAGER_EMAIL)
    page.get_by_role("link", name="Breach reports").first.click()
    waiting = page.get_by_role("table", name="Breach reports waiting for you")
    expect(waiting.get_by_role("row")).to_have_count(2)
    manager.check("waiting")
    waiting.get_by_role("link", name=reference).click()
    expect(page.locator("main .nhsuk-tag").first).to_have_text("With the line manager")
    expect(page.get_by_text(WHAT_HAPPENED)).to_be_visible()
    expect(page.get_by_text("Flagged by Robin Staff")).to_be_visible()
    page.get_by_label("Escalate it to HR").check()
    page.get_by_label("Details").fill(ESCALATION)
    manager.check("decide")
    page.get_by_role("button", name="Record it").click()
    expect(page.get_by_text(f"{reference} has been escalated to HR.")).to_be_visible()
    expect(page.locator("main .nhsuk-tag").first).to_have_text("Escalated to HR")
    manager.check("escalated")

    comms = new_visitor("breach-comms")
    page = comms.page
    sign_in(comms, COMMS_EMAIL)
    page.goto("/breaches")
    page.get_by_role("link", name=reference).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Breach report {reference}")
    expect(page.get_by_role("heading", name="It could affect the Trust's reputation")).to_be_visible()
    expect(page.locator("main .nhsuk-tag").first).to_have_text("Escalated to HR")
    expect(page.get_by_text(ESCALATION)).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="post-screenshot.png").click()
    assert Path(download.value.path()).read_bytes().startswith(b"\x89PNG")
    response = page.reload()
    assert response is not None and response.headers["cache-control"] == "no-store"
    comms.check("flagged-case")

    hr = new_visitor("breach-hr")
    page = hr.page
    sign_in(hr, HR_EMAIL)
    page.goto(f"/breaches/{reference}")
    page.get_by_role("textbox", name="Outcome").fill(OUTCOME)
    hr.check("outcome")
    page.get_by_role("button", name="Record the outcome and close it").click()
    expect(page.locator("main .nhsuk-tag").first).to_have_text("Closed")
    hr.check("closed")

    page = staff.page
    page.reload()
    expect(page.locator("main .nhsuk-tag").first).to_have_text("Closed")
    for hidden in (ESCALATION, OUTCOME, "Morgan Manager", "Harper HR"):
        expect(page.get_by_text(hidden)).to_have_count(0)

    problems = staff.problems + manager.problems + comms.problems + hr.problems
    assert problems == [], "\n".join(problems)


def test_a_manager_pages_through_every_case_waiting_and_the_page_passes_axe(
    browser: Browser, live_site: LiveSite
) -> None:
    """More cases wait for the line manager than the list page shows: its link opens every one, a page at a
    time; that page passes axe at WCAG 2.2 AA and fits a phone. (Last in this file: it adds cases.)"""
    require_axe()
    waiting = views.WAITING_SHOWN + 1
    with live_site.app.app_context():
        reporter = find_user(STAFF_EMAIL)
        assert reporter is not None
        for number in range(waiting):
            answers = BreachAnswers(
                account=f"@night_owl_nurse_{number} on X",
                link=f"https://x.com/night_owl_nurse/status/17900000000000001{number:02d}",
                description=WHAT_HAPPENED,
                clauses=("6.11",),
                reputational_risk=False,
                subject_kind=SubjectKind.USER,
                subject_user=SUBJECT_EMAIL,
            )
            services.report_breach(answers, [], reporter)
        db.session().commit()
    context = browser.new_context(
        base_url=live_site.url, locale="en-GB", viewport={"width": 1280, "height": 900}, bypass_csp=True
    )
    page = context.new_page()
    try:
        page.goto("/login")
        page.get_by_label("Email address").fill(MANAGER_EMAIL)
        page.get_by_label("Password").fill(TEST_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(re.compile(r"/$"))
        page.goto("/breaches")
        page.get_by_role("link", name=re.compile(r"^See all \d+ cases waiting for you$")).click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Breach reports waiting for you")
        expect(page.get_by_role("status")).to_contain_text(re.compile(r"Showing 1 to \d+ of \d+ cases waiting for you"))
        assert axe_violations(page) == []
        page.set_viewport_size({"width": 320, "height": 800})
        page.reload()  # laid out afresh at 320 px, as a phone would
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 320, "the page scrolls sideways at 320 px"
    finally:
        context.close()
