"""Webhooks in a real browser (Debian's Chromium driven by Playwright).

An administrator adds a webhook pointing at a real HTTP receiver on loopback, copies the signing secret
the page shows once, and an alert then reaches the receiver signed with it; the list, the form and the
deliveries page pass axe at WCAG 2.2 AA and fit a 320 px wide screen. On every page the NHS design
system starts, nothing is logged to the console and the Content-Security-Policy blocks nothing.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from registry import alerts, db
from registry.alerts.models import AlertEvent
from registry.audit.services import Actor
from registry.auth.models import User
from registry.auth.services import create_user
from tests.browser_support import LiveSite, NewVisitor, fits_after_resize, serve_live_site, sign_in
from tests.conftest import TEST_PASSWORD, enrol_two_factor
from tests.test_alerts import Receiver, check_signature, receiver  # noqa: F401  (receiver: the fixture)
from tests.test_browser_oidc import axe_violations, require_axe

pytestmark = [pytest.mark.browser, pytest.mark.one_leg]
pytest_plugins = ["tests.browser_support"]

ADMIN_EMAIL = "ada.admin@example.nhs.uk"


def an_administrator(_staff: User, _comms: User) -> None:
    enrol_two_factor(
        create_user(
            email=ADMIN_EMAIL, name="Ada Admin", roles=["admin"], password=TEST_PASSWORD, actor=Actor.system("tests")
        )
    )


@pytest.fixture(scope="module")
def live_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    with serve_live_site(
        tmp_path_factory.mktemp("live-webhooks"),
        staff=("pat.person@example.nhs.uk", "Pat Person"),
        comms=("cam.comms@example.nhs.uk", "Cam Comms"),
        seed=an_administrator,
    ) as site:
        yield site


def test_an_administrator_adds_a_webhook_and_an_alert_reaches_it_signed(
    new_visitor: NewVisitor,
    live_site: LiveSite,
    receiver: Receiver,  # noqa: F811
    browser: Browser,
) -> None:
    require_axe()
    admin = new_visitor("admin")
    sign_in(admin, ADMIN_EMAIL)
    page = admin.page
    page.goto("/admin/webhooks")
    expect(page.get_by_role("heading", level=1)).to_have_text("Webhooks")
    admin.check("list-empty")
    page.get_by_role("link", name="Add a webhook").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a webhook")
    page.get_by_role("button", name="Add webhook").click()  # nothing filled in
    expect(page.get_by_role("alert")).to_contain_text("Enter the web address the Registry sends alerts to")
    admin.check("refused")
    assert len(admin.problems) == 2 and all("422" in p for p in admin.problems)  # the refusal, as meant
    admin.problems.clear()
    page.get_by_label("Name").fill("Comms on-call Teams channel")
    page.get_by_label("Web address").fill(receiver.url("/workflows/on-call"))
    page.get_by_label("Urgent media approach logged").check()
    page.get_by_label("Plain JSON, signed (X-Registry-Signature)").check()
    page.get_by_role("button", name="Add webhook").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("'Comms on-call Teams channel' has been added")
    secret = page.locator("#secret").inner_text().strip()
    assert secret.startswith("whsec_")
    admin.check("secret")
    with live_site.app.app_context(), db.transaction():
        alerts.raise_alert(
            AlertEvent.MEDIA_APPROACH, title="Urgent: media approach MC-0001", text="A journalist called."
        )
    [got] = receiver.received
    check_signature(got, secret, now=time.time())
    page.get_by_role("link", name=re.compile("back to webhooks")).click()
    expect(page.get_by_role("cell", name=re.compile("^Comms on-call Teams channel"))).to_be_visible()
    admin.check("list")
    page.get_by_role("link", name="Recent deliveries").click()
    expect(page.get_by_role("cell", name=re.compile("Sent"))).to_be_visible()
    admin.check("deliveries")
    assert admin.problems == [], "\n".join(admin.problems)

    # axe needs its script on the page: a context that does not enforce the CSP, signed in afresh.
    context = browser.new_context(
        base_url=live_site.url, locale="en-GB", viewport={"width": 1280, "height": 900}, bypass_csp=True
    )
    try:
        checker = context.new_page()
        cookies = admin.context.cookies()
        context.add_cookies(cookies)  # type: ignore[arg-type]
        for path in ("/admin/webhooks", "/admin/webhooks/new", "/admin/webhooks/deliveries"):
            checker.goto(path)
            expect(checker.get_by_role("heading", level=1)).to_be_visible()
            assert axe_violations(checker) == [], path
            checker.set_viewport_size({"width": 320, "height": 800})
            checker.reload()
            fits_after_resize(checker, path)
            checker.set_viewport_size({"width": 1280, "height": 900})
    finally:
        context.close()
