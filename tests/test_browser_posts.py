"""Promotional post requests in a real browser (Debian's Chromium driven by Playwright).

A member of staff proposes a post with an image; the character count of each chosen channel's
platform updates as they type; the post names an NHS number, so the page they land on warns them,
with the number masked. The communications team sees the same warning, records why it is
acceptable, and approves. On every page the NHS design system starts, nothing is logged to the
console and the Content-Security-Policy blocks nothing.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator

import pytest
from PIL import Image
from playwright.sync_api import expect

from registry import clock
from registry.auth.models import User
from registry.channels import services as channels
from tests.browser_support import LiveSite, NewVisitor, serve_live_site, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.one_leg]
pytest_plugins = ["tests.browser_support"]

STAFF_EMAIL = "pat.poster@example.nhs.uk"
COMMS_EMAIL = "rory.reviewer@example.nhs.uk"
NHS_NUMBER = "943 476 5919"
OPENING = "Thank you to everyone on Ward 7 for looking after our patient "
POST_TEXT = f"{OPENING}(NHS number {NHS_NUMBER}) so well this week."


def two_active_channels(staff: User, comms: User) -> None:
    for platform, handle, name in (
        ("x", "TrustWardNews", "Ward news"),
        ("facebook", "TrustWardNews", "Ward news page"),
    ):
        channel = channels.request_channel(
            channels.ChannelRequest(
                platform=platform,
                handle=handle,
                display_name=name,
                department="Surgery",
                purpose="News from the wards.",
                audience="Patients.",
                policy_acknowledged=True,
            ),
            staff,
        )
        channels.transition(channel, "approve", comms, reason="Agreed.")
        channels.transition(channel, "activate", comms, reason="Live.")


@pytest.fixture(scope="module")
def live_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    """The app on 127.0.0.1 with its own database: a member of staff, a comms member and two active channels."""
    with serve_live_site(
        tmp_path_factory.mktemp("live-posts"),
        staff=(STAFF_EMAIL, "Pat Poster"),
        comms=(COMMS_EMAIL, "Rory Reviewer"),
        seed=two_active_channels,
    ) as site:
        yield site


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (120, 80), (0, 94, 184)).save(buffer, "PNG")
    return buffer.getvalue()


def test_staff_propose_a_post_naming_an_nhs_number_see_the_warning_and_comms_accept_it(
    new_visitor: NewVisitor,
) -> None:
    staff = new_visitor("posts-staff")
    page = staff.page
    sign_in(staff, STAFF_EMAIL)
    staff.check("home", screenshot=False)  # the header's script has arranged the menu
    page.get_by_role("link", name="Promotional posts").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your promotional posts")
    staff.check("posts")
    page.get_by_role("link", name="Propose a promotional post").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Propose a promotional post")
    staff.check("propose", screenshot=False)

    counts = page.locator("[data-post-limits-counts]")
    text = page.get_by_label("Text of the post")
    text.press_sequentially("Flu")
    expect(counts).to_have_text("3 characters. Choose channels below to see their limits.")
    page.get_by_label("Ward news (X (Twitter))").check()
    expect(counts).to_have_text("X (Twitter): you have 277 characters remaining")
    page.get_by_label("Ward news page (Facebook)").check()
    expect(counts.locator("li")).to_have_text(
        [
            "X (Twitter): you have 277 characters remaining",
            "Facebook: you have 63,203 characters remaining",
        ]
    )
    text.fill("x" * 290)
    too_many = counts.locator("li").first
    expect(too_many).to_have_text("X (Twitter): you have 10 characters too many")
    expect(too_many).to_have_class(re.compile("nhsuk-error-message"))
    expect(text).to_have_class(re.compile("nhsuk-textarea--error"))
    text.fill(OPENING)
    text.press_sequentially(f"(NHS number {NHS_NUMBER}) so well this week.")
    expect(counts.locator("li").first).to_have_text(
        f"X (Twitter): you have {280 - len(POST_TEXT)} characters remaining"
    )
    expect(text).not_to_have_class(re.compile("nhsuk-textarea--error"))

    when = clock.today() + dt.timedelta(days=7)
    date = page.get_by_role("group", name="When would you like it published?")
    date.get_by_label("Day").fill(str(when.day))
    date.get_by_label("Month").fill(str(when.month))
    date.get_by_label("Year").fill(str(when.year))
    page.get_by_label("Why should the Trust publish this post?").fill("To thank the ward team publicly.")
    page.locator("#image_1").set_input_files({"name": "ward-team.png", "mimeType": "image/png", "buffer": png_bytes()})
    page.get_by_label("Describe image 1 for people who cannot see it (alternative text)").fill(
        "The Ward 7 nursing team smiling at the nurses' station."
    )
    page.get_by_label("Everyone who can be identified in this post").check()
    page.get_by_label("Where are the signed consent forms kept?").fill("Ward 7 manager's office, consent folder 2026.")
    staff.check("propose-filled")
    page.get_by_role("button", name="Send the post to the communications team").click()

    expect(page).to_have_url(re.compile(r"/posts/PP-\d{4}-\d+$"))
    reference = page.url.rsplit("/", 1)[1]
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Post for .+, asked for \d{1,2} \w+ \d{4}$"))
    expect(page.locator("main .nhsuk-caption-l")).to_contain_text(reference)
    warning = page.locator(".nhsuk-card--warning")
    expect(warning.get_by_role("heading")).to_contain_text("This post may identify a patient")
    expect(warning).to_contain_text("NHS number in the text:")
    expect(warning).not_to_contain_text(NHS_NUMBER)
    expect(warning).to_contain_text("change the post")
    expect(page.get_by_text("it may contain patient identifiers")).to_be_visible()
    image = page.get_by_role("img", name="The Ward 7 nursing team smiling at the nurses' station.")
    expect(image).to_be_visible()
    image.page.wait_for_function("(img) => img.complete", arg=image.element_handle())
    assert image.evaluate("img => img.naturalWidth") == 120
    staff.check("proposed-with-warning")

    comms = new_visitor("posts-comms")
    page = comms.page
    sign_in(comms, COMMS_EMAIL)
    page.goto("/posts")
    page.get_by_role("link", name=reference, exact=True).click()
    expect(page.locator(".nhsuk-card--warning")).to_contain_text(
        "Record why they are acceptable before approving the post"
    )
    comms.check("review")
    page.get_by_role("button", name="Approve the post").click()
    expect(page.get_by_text("may contain patient identifiers (1 finding: NHS number)")).to_be_visible()
    page.get_by_label("Why are these findings acceptable?").fill("The number is the training example, not a patient's.")
    page.get_by_role("button", name="Record why they are acceptable").click()
    expect(page.get_by_text("It can now be approved.")).to_be_visible()
    page.get_by_role("button", name="Approve the post").click()
    expect(page.get_by_text(f"{reference} has been approved.")).to_be_visible()
    expect(page.locator("main .nhsuk-tag").first).to_have_text("Approved")
    comms.check("approved")

    # The one refusal on purpose (approving before the findings were accepted) answers 409.
    problems = [p for p in staff.problems + comms.problems if not ("409" in p and p.endswith("/actions/approve"))]
    assert problems == [], "\n".join(problems)
