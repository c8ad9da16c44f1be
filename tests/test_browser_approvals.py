"""The four-eyes rule for accounts in a real browser (Debian's Chromium driven by Playwright).

One administrator puts a member of staff forward for the communications team role; the page says it
waits for a second administrator, and their own approvals page offers them no way to approve it. A
second administrator opens the request, approves it, and the member of staff then has the role. On
every page the NHS design system starts, nothing is logged to the console, the Content-Security-Policy
blocks nothing, and the approvals page fits a 320 px wide screen without scrolling sideways.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from registry.audit.services import Actor
from registry.auth.models import User
from registry.auth.services import create_user, find_user
from tests.browser_support import LiveSite, NewVisitor, serve_live_site, sign_in
from tests.conftest import TEST_PASSWORD, enrol_two_factor

pytestmark = [pytest.mark.browser, pytest.mark.one_leg]
pytest_plugins = ["tests.browser_support"]

STAFF_EMAIL = "pat.person@example.nhs.uk"
COMMS_EMAIL = "cam.comms@example.nhs.uk"
FIRST_ADMIN = "ade.first@example.nhs.uk"
SECOND_ADMIN = "bo.second@example.nhs.uk"


def two_administrators(_staff: User, _comms: User) -> None:
    for email, name in ((FIRST_ADMIN, "Ade First"), (SECOND_ADMIN, "Bo Second")):
        enrol_two_factor(
            create_user(email=email, name=name, roles=["admin"], password=TEST_PASSWORD, actor=Actor.system("tests"))
        )


@pytest.fixture(scope="module")
def live_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    with serve_live_site(
        tmp_path_factory.mktemp("live-approvals"),
        staff=(STAFF_EMAIL, "Pat Person"),
        comms=(COMMS_EMAIL, "Cam Comms"),
        seed=two_administrators,
    ) as site:
        yield site


def roles_of(site: LiveSite, email: str) -> set[str]:
    with site.app.app_context():
        user = find_user(email)
        assert user is not None
        return {role.value for role in user.roles}


def test_a_second_administrator_approves_a_privileged_role(new_visitor: NewVisitor, live_site: LiveSite) -> None:
    first = new_visitor("admin-asks")
    sign_in(first, FIRST_ADMIN)
    page = first.page
    page.goto("/admin/users")
    page.get_by_role("link", name="Pat Person").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Pat Person")
    page.get_by_label("Communications team").check()
    page.get_by_label("Why do they need a privileged role? (optional)").fill("Joins the communications team on Monday.")
    page.get_by_role("button", name="Save roles").click()
    expect(page.get_by_text("now waits for a second system administrator to approve it")).to_be_visible()
    first.check("asked")
    assert roles_of(live_site, STAFF_EMAIL) == {"staff"}
    page.goto("/admin/approvals")
    expect(page.get_by_text("You asked: another administrator decides.")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("Approve or reject"))).to_have_count(0)
    first.check("approvals-own")

    second = new_visitor("admin-approves")
    sign_in(second, SECOND_ADMIN)
    page = second.page
    page.goto("/")
    page.get_by_role("link", name=re.compile("request waits for a second administrator")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Requests for a second administrator")
    second.check("approvals")
    page.set_viewport_size({"width": 320, "height": 800})
    page.reload()  # laid out afresh at 320 px, as a phone would
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 320, "the page scrolls sideways at 320 px"
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("link", name=re.compile("Approve or reject")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Give privileged roles for Pat Person")
    second.check("request")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("Approved: give privileged roles for Pat Person.")).to_be_visible()
    second.check("approved")
    assert roles_of(live_site, STAFF_EMAIL) == {"staff", "comms"}
    assert first.problems == [] and second.problems == []
