"""The issue-2 journey in a real browser (Debian's Chromium driven by Playwright).

A member of staff requests a channel, the communications team approves and activates
it, and a member of the public verifies it and spots a lookalike; on every page the
NHS design system loads and starts, nothing is logged to the console and the
Content-Security-Policy blocks nothing.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect

from registry import db
from registry.audit.services import Actor
from registry.auth import mfa, setup_links
from registry.auth.models import SetupReason
from registry.auth.services import create_user, find_user
from registry.channels import services as channels
from tests.browser_support import LiveSite, NewVisitor, serve_live_site, sign_in
from tests.conftest import TEST_PASSWORD, enrol_two_factor

pytestmark = [pytest.mark.browser, pytest.mark.one_leg]
pytest_plugins = ["tests.browser_support"]

STAFF_EMAIL = "sam.staff@example.nhs.uk"
COMMS_EMAIL = "chris.comms@example.nhs.uk"
HANDLE = "TrustMaternity"
LOOKALIKE = "TrustMaternlty"
ACCOUNT_NAME = "Maternity Services, Example NHS Trust"
QUESTION = "Which team will answer messages at weekends?"


@pytest.fixture(scope="module")
def live_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    """The app served on 127.0.0.1 from its own migrated database, with a staff and a comms user."""
    with serve_live_site(
        tmp_path_factory.mktemp("live"),
        staff=(STAFF_EMAIL, "Sam Staff"),
        comms=(COMMS_EMAIL, "Chris Comms"),
    ) as site:
        yield site


def decide(page: Page, card_heading: str) -> None:
    """Press the button of the action card headed ``card_heading`` on a channel page."""
    card = page.locator("section.nhsuk-card").filter(has=page.get_by_role("heading", name=card_heading))
    card.get_by_role("button", name=card_heading).click()


def test_staff_request_comms_approve_and_activate_public_verify(new_visitor: NewVisitor) -> None:
    """The whole issue-2 journey works in Chromium with no console error and no CSP violation."""
    staff = new_visitor("staff")
    page = staff.page
    sign_in(staff, STAFF_EMAIL)
    home = page.url
    staff.check("home")
    page.get_by_role("link", name="Request a social media channel").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Request a social media channel")
    page.get_by_label("Platform").select_option("x")
    page.get_by_label("Proposed handle or web address").fill(f"@{HANDLE}")
    page.get_by_label("Account name").fill(ACCOUNT_NAME)
    page.get_by_label("Service or department that will own it").fill("Maternity")
    page.get_by_label("What is the account for?").fill("Antenatal class dates and visiting changes for parents.")
    page.get_by_label("Who is it for?").fill("Expectant parents and their families.")
    page.get_by_label("Who will post?").fill("Two community midwives, Jo Bloggs and Ann Other.")
    page.get_by_label("Who will moderate comments and messages?").fill("The same midwives, within one working day.")
    page.get_by_label("What happens out of hours?").fill("Comments close at 6pm; the on-call comms officer watches.")
    page.get_by_label("Senior sponsor").fill("Pat Lee, Head of Midwifery")
    page.get_by_label("Who should be administrators?").fill("Jo Bloggs, jo.bloggs@example.nhs.uk")
    page.get_by_label("I have read the Trust's social media policy").check()
    staff.check("request-form")
    page.get_by_role("button", name="Send request").click()

    expect(page).to_have_url(re.compile(r"/channels/CH-\d+$"))
    reference = page.url.rsplit("/", 1)[1]
    expect(page.get_by_role("heading", level=1)).to_have_text(ACCOUNT_NAME)
    expect(page.locator("main .nhsuk-tag").first).to_have_text("Requested")
    staff.check("request")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    page.goto(home)
    expect(page).to_have_url(re.compile(r"/login"))

    comms = new_visitor("comms")
    page = comms.page
    sign_in(comms, COMMS_EMAIL)
    page.get_by_role("link", name="Work queue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Work queue")
    comms.check("work-queue")
    page.get_by_role("link", name=reference, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(ACCOUNT_NAME)
    comms.check("request", screenshot=False)
    decide(page, "Approve the request")
    expect(page.get_by_text(f"{reference} has been approved.")).to_be_visible()
    expect(page.locator("main .nhsuk-tag").first).to_have_text("Approved")
    comms.check("approved", screenshot=False)
    decide(page, "Mark as active (the account is live)")
    expect(page.get_by_text(f"{reference} has been activated.")).to_be_visible()
    expect(page.locator("main .nhsuk-tag").first).to_have_text("Active")
    comms.check("active")

    public = new_visitor("public")
    page = public.page
    page.goto("/verify")
    public.check("verify", screenshot=False)
    page.get_by_label("Web address of the account").fill(f"https://twitter.com/{HANDLE}")
    page.get_by_role("button", name="Check account").click()
    verdict = page.get_by_role("status")
    expect(page.get_by_role("heading", name="Official account")).to_be_visible()
    expect(verdict).to_contain_text(f"{ACCOUNT_NAME} (X")
    expect(verdict).to_contain_text(f"Registry reference {reference}.")
    public.check("verify-official")
    page.get_by_label("Web address of the account").fill(f"https://twitter.com/{LOOKALIKE}")
    page.get_by_role("button", name="Check account").click()
    expect(verdict).to_contain_text("Not an official account")
    expect(verdict).to_contain_text(f"It looks like the Trust's official account {HANDLE.lower()}")
    expect(verdict).to_contain_text(ACCOUNT_NAME)
    public.check("verify-lookalike")

    problems = staff.problems + comms.problems + public.problems
    assert problems == [], "\n".join(problems)


def test_the_watch_sees_a_csp_violation(new_visitor: NewVisitor) -> None:
    """The journey's clean record means something: an inline script without the nonce is
    blocked, and both the console listener and the violation recorder report it."""
    control = new_visitor("control")
    page = control.page
    page.goto("/verify")
    page.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "window.__ran = true";
          document.head.append(script);
        }"""
    )
    page.wait_for_function("() => window.__csp.length > 0")
    assert page.evaluate("() => window.__ran") is None
    assert any(v.startswith("script-src") for v in page.evaluate("() => window.__csp"))
    assert any("Content Security Policy" in problem for problem in control.problems), control.problems


@dataclass
class Seeded:
    info_requested: str
    retired_handle: str


@pytest.fixture(scope="module")
def seeded(live_site: LiveSite) -> Seeded:
    """A request sent back for more information and a retired channel."""
    with live_site.app.app_context(), db.transaction():
        staff, comms = find_user(STAFF_EMAIL), find_user(COMMS_EMAIL)
        assert staff is not None and comms is not None

        def channel(handle: str, *actions: str) -> str:
            made = channels.request_channel(
                channels.ChannelRequest(
                    platform="x",
                    handle=handle,
                    display_name=f"Example {handle}",
                    department="Pharmacy",
                    purpose="Medicines advice.",
                    audience="Patients.",
                    policy_acknowledged=True,
                ),
                staff,
            )
            for action in actions:
                channels.transition(made, action, comms, reason=QUESTION if action == "request_info" else "Agreed.")
            return made.reference

        info_requested = channel("TrustPharmInfo", "request_info")
        channel("TrustOldNews", "approve", "activate", "retire")
    return Seeded(info_requested=info_requested, retired_handle="TrustOldNews")


def test_info_request_call_out_shows_the_question_as_text(new_visitor: NewVisitor, seeded: Seeded) -> None:
    """A request sent back for more information shows comms' question as prose, not HTML source."""
    comms = new_visitor("comms-info")
    sign_in(comms, COMMS_EMAIL)
    comms.page.goto(f"/channels/{seeded.info_requested}")
    expect(comms.page.get_by_role("heading", name="The communications team needs more information")).to_be_visible()
    expect(comms.page.get_by_role("paragraph").filter(has_text=QUESTION).first).to_have_text(QUESTION)
    comms.check("info-requested")
    assert comms.problems == [], "\n".join(comms.problems)


def test_retired_verdict_reads_as_text(new_visitor: NewVisitor, seeded: Seeded) -> None:
    """A retired account is reported as formerly official, in prose, not HTML source."""
    public = new_visitor("public-retired")
    public.page.goto(f"/verify?url=https://x.com/{seeded.retired_handle}")
    verdict = public.page.get_by_role("status")
    expect(verdict).to_contain_text("No longer an official account")
    expect(verdict).to_contain_text(
        f"Example {seeded.retired_handle} ({seeded.retired_handle.lower()}) was an official account"
    )
    public.check("verify-retired")
    assert public.problems == [], "\n".join(public.problems)


def test_pages_use_the_nhs_typeface(new_visitor: NewVisitor) -> None:
    """Text is set in the NHS typeface or its Arial fallback, never the browser's default serif."""
    public = new_visitor("public-font")
    public.page.goto("/verify")
    family = public.page.evaluate("() => getComputedStyle(document.body).fontFamily")
    assert re.search(r"frutiger|arial", family, re.IGNORECASE), family


CUSTODIAN_EMAIL = "casey.custody@example.nhs.uk"
#: Set-up links the fixtures issued (path by e-mail), as the e-mail to each person would carry them.
SETUP_LINKS: dict[str, str] = {}
AUDITOR_EMAIL = "ari.auditor@example.nhs.uk"
NEW_PASSWORD = "Vaccine-Campaign-2026!rotated"


@pytest.fixture(scope="module")
def custody_channel(live_site: LiveSite) -> str:
    """An active channel, a comms member who has not set up two-factor sign-in yet, and an auditor
    who has (as if they had scanned the QR code)."""
    with live_site.app.app_context(), db.transaction():
        staff, comms = find_user(STAFF_EMAIL), find_user(COMMS_EMAIL)
        assert staff is not None and comms is not None
        for email, name, role in (
            (CUSTODIAN_EMAIL, "Casey Custody", "comms"),
            (AUDITOR_EMAIL, "Ari Auditor", "auditor"),
        ):
            made_user = create_user(
                email=email, name=name, roles=[role], password=TEST_PASSWORD, actor=Actor.system("tests")
            )
            if role == "auditor":
                enrol_two_factor(made_user)
            else:  # as if an administrator had sent it: a privileged role is set up through its link
                SETUP_LINKS[email] = setup_links.issue(
                    made_user, SetupReason.ROLE_GRANTED, actor=Actor.system("tests"), send=False
                ).path
        made = channels.request_channel(
            channels.ChannelRequest(
                platform="instagram",
                handle="trust_flu_jabs",
                display_name="Flu jabs, Example NHS",
                department="Pharmacy",
                purpose="Vaccination clinics.",
                audience="Patients.",
                policy_acknowledged=True,
            ),
            staff,
        )
        channels.transition(made, "approve", comms)
        channels.transition(made, "activate", comms)
        return made.reference


def totp_now(key_text: str, steps_ahead: int = 0) -> str:
    """What an authenticator app shows for the key typed in from the enrolment page."""
    secret = base64.b32decode(key_text.replace(" ", "") + "=" * (-len(key_text.replace(" ", "")) % 8))
    return mfa.code_at(secret, int(time.time() // mfa.STEP_SECONDS) + steps_ahead)


def test_comms_enrol_store_and_reveal_and_the_auditor_sees_it_but_cannot_reveal(
    new_visitor: NewVisitor,
    custody_channel: str,
) -> None:
    """Issue 3's journey: a new comms member opens the set-up link sent to them, confirms their
    password, sets up two-factor sign-in from the QR page (issue 9: not with the password alone), stores
    the account's password, reveals it with a reason (masked until Show, gone after 60 seconds),
    and an auditor finds the reveal in the audit trail but is refused when trying to reveal."""
    comms = new_visitor("custodian")
    page = comms.page
    page.goto(SETUP_LINKS[CUSTODIAN_EMAIL])
    expect(page).to_have_url(re.compile(r"/account/set-up$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm it is you")
    comms.check("set-up-link")
    page.get_by_label("Your password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/account/two-factor$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up two-factor sign-in")
    expect(page.locator("figure.app-qr svg")).to_be_visible()
    comms.check("enrol")
    key_text = page.locator(".app-hash strong").inner_text()
    page.get_by_label("Code from the app").fill(totp_now(key_text))
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-factor sign-in is on")
    assert page.locator("main ul li").count() == 10
    comms.check("recovery-codes")

    page.goto(f"/channels/{custody_channel}/credentials")
    expect(page.get_by_role("heading", level=1)).to_have_text("Credentials in custody")
    page.get_by_label("What is it?").select_option("password")
    page.get_by_label("Value").fill(NEW_PASSWORD)
    page.get_by_label("Why are you storing or changing it?").fill("Taking custody of the new account.")
    page.get_by_role("button", name="Store securely").click()
    expect(page.get_by_text("Password stored as version 1.")).to_be_visible()
    assert NEW_PASSWORD not in page.content()
    comms.check("stored")

    page.clock.install()  # so the 60-second self-hide can be seen without waiting a minute
    card = page.locator("section.nhsuk-card").filter(has=page.get_by_role("heading", name="Password"))
    card.get_by_label("Why do you need it?").fill("Posting the flu clinic dates.")
    card.get_by_role("button", name="Reveal password").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Password, version 1")
    value = page.locator(".app-secret__value")
    expect(value).to_be_hidden()
    page.get_by_role("button", name="Show").click()
    expect(value).to_have_text(NEW_PASSWORD)
    comms.check("revealed", screenshot=False)
    page.get_by_role("button", name="Hide").click()
    expect(value).to_be_hidden()
    page.get_by_role("button", name="Show").click()
    page.clock.run_for(61_000)
    expect(page.get_by_text("Hidden after 60 seconds.")).to_be_visible()
    assert NEW_PASSWORD not in page.content()

    auditor = new_visitor("auditor")
    apage = auditor.page
    sign_in(auditor, AUDITOR_EMAIL)
    apage.goto(f"/audit?object=credential:{custody_channel}/password")
    expect(apage.locator("main table")).to_contain_text("credential:reveal")
    expect(apage.locator("main table")).to_contain_text("Posting the flu clinic dates.")
    assert NEW_PASSWORD not in apage.content()
    auditor.check("audit-trail")
    apage.goto(f"/channels/{custody_channel}/credentials")
    expect(apage.get_by_role("heading", level=1)).to_have_text("Credentials in custody")
    expect(apage.get_by_role("button", name="Reveal password")).to_have_count(0)
    auditor.check("auditor-credentials")
    refused = apage.request.post(
        f"/channels/{custody_channel}/credentials/password/reveal",
        form={
            "password-reason": "Curious",
            "csrf_token": apage.locator("input[name=csrf_token]").first.get_attribute("value"),
        },
    )
    assert refused.status == 403
    assert NEW_PASSWORD not in refused.text()
    apage.goto(f"/audit?object=credential:{custody_channel}/password&action=credential:reveal_refused")
    expect(apage.locator("main table")).to_contain_text("not in the communications team")
    assert comms.problems == [], "\n".join(comms.problems)
    assert auditor.problems == [], "\n".join(auditor.problems)
