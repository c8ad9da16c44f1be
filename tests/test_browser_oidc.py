"""Sign-in with the organisation's identity provider in a real browser (issue 11): Debian's Chromium,
driven by Playwright, goes from the Registry's sign-in page to a real OpenID provider's own login page
(npm ``oidc-provider`` on loopback, tests/oidc_support.py) and back, and out again through the
provider's sign-out confirmation. The Registry's pages are checked as in tests/test_browser.py: the
NHS design system loads and starts, nothing reaches the console, the CSP blocks nothing and no request
fails.

The accessibility checks run axe-core (npm ``axe-core``, from node_modules) on the sign-in page with
the provider's button and on the step-up page; they are skipped with a notice while it is not installed.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from registry import db
from registry.auth.models import User, UserSession
from tests.browser_support import CHROMIUM, LiveSite, NewVisitor, Watched, settle
from tests.live_server import live_app, migrated_database, serving
from tests.oidc_support import ROOT, OidcProvider, oidc_account, oidc_account_password, oidc_client, require_node

pytestmark = [pytest.mark.browser, pytest.mark.one_leg]
pytest_plugins = ["tests.browser_support"]

TENANT = "3c1f0a51-trust-tenant"
CLIENT_ID = "registry"
SECRET = "registry-client-secret-for-tests-only"
LABEL = "Sign in with NHSmail"
PROVIDER_LOGIN_HEADING = "Sign in to the test identity provider"
PROVIDER_SIGN_OUT_HEADING = "Sign out of the test identity provider"
WRONG_PASSWORD = "The username or password is wrong."
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
#: WCAG 2.2 AA, as axe-core tags its rules (each level's new success criteria have their own tag).
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

ACCOUNTS = [
    oidc_account("nia", sub="sub-nia", oid="oid-nia", email="nia.new@nhs.net", name="Nia New", tid=TENANT),
    oidc_account("wes", sub="sub-wes", oid="oid-wes", email="wes.wrong@nhs.net", name="Wes Wrong", tid=TENANT),
    oidc_account("sue", sub="sub-sue", oid="oid-sue", email="sue.step@nhs.net", name="Sue Step", tid=TENANT),
    oidc_account("ada", sub="sub-ada", oid="oid-ada", email="ada.axe@nhs.net", name="Ada Axe", tid=TENANT),
]


@pytest.fixture(scope="module")
def provider() -> OidcProvider:
    """The provider's address, known before anything starts (the Registry is configured with it)."""
    if not CHROMIUM.exists():  # the browser fixtures would skip anyway: do not start anything first
        pytest.skip("Chromium not installed (apt-get install chromium): browser test skipped")
    require_node()
    return OidcProvider()


@pytest.fixture(scope="module")
def live_site(tmp_path_factory: pytest.TempPathFactory, provider: OidcProvider) -> Iterator[LiveSite]:
    """The Registry served on 127.0.0.1 from its own migrated database, signing in with the test provider
    (which knows it as a client with its callback, post-logout and back-channel logout addresses)."""
    directory = tmp_path_factory.mktemp("oidc-browser")
    with (
        pytest.MonkeyPatch.context() as env,
        migrated_database(os.environ.get("REGISTRY_TEST_DATABASE_URL") or None, directory) as url,
    ):
        env.setenv("REGISTRY_INSTANCE_PATH", str(directory / "instance"))
        app = live_app(
            url,
            directory / "instance",
            OIDC_ISSUER=provider.issuer,
            OIDC_CLIENT_ID=CLIENT_ID,
            OIDC_CLIENT_SECRET=SECRET,
            OIDC_ALLOWED_TENANTS=TENANT,
            OIDC_LABEL=LABEL,
        )
        try:
            with serving(app) as base:
                provider.start(
                    {
                        "clients": [
                            oidc_client(
                                CLIENT_ID,
                                f"{base}/login/provider/callback",
                                client_secret=SECRET,
                                post_logout_redirect_uris=[f"{base}/login"],
                                backchannel_logout_uri=f"{base}/login/provider/backchannel-logout",
                            )
                        ],
                        "accounts": ACCOUNTS,
                    }
                )
                try:
                    yield LiveSite(base, app)
                finally:
                    provider.stop()
        finally:
            db.database(app).engine.dispose()


def on_provider(page: Page, provider: OidcProvider) -> bool:
    return page.url.startswith(provider.issuer + "/")


def start_provider_sign_in(visitor: Watched, provider: OidcProvider) -> None:
    """Open the Registry's sign-in page, check it, and press the provider's button: its login page opens."""
    page = visitor.page
    page.goto("/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    visitor.check("sign-in")
    page.get_by_role("button", name=LABEL).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(PROVIDER_LOGIN_HEADING)
    assert on_provider(page, provider), page.url


def provider_login(page: Page, login: str, password: str) -> None:
    """Sign in on the provider's own login page, as a person would."""
    page.get_by_label("Username").fill(login)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def sign_in_with_provider(visitor: Watched, provider: OidcProvider, login: str) -> None:
    start_provider_sign_in(visitor, provider)
    provider_login(visitor.page, login, oidc_account_password(login))
    expect(visitor.page).to_have_url(visitor.site.url + "/")


def user_named(site: LiveSite, email: str) -> tuple[User | None, list[str | None]]:
    """The Registry's account for ``email`` (None if there is none) and how each of its sessions that
    has not ended was signed in."""
    with site.app.app_context():
        found = db.session().execute(select(User).where(User.email == email)).scalar_one_or_none()
        methods: list[str | None] = []
        if found is not None:
            db.session().expunge(found)
            methods = list(
                db.session().scalars(
                    select(UserSession.method).where(UserSession.user_id == found.id, UserSession.ended_at.is_(None))
                )
            )
        db.session().close()
    return found, methods


def test_a_person_signs_in_on_the_providers_own_page_and_signs_out_through_it(
    new_visitor: NewVisitor, provider: OidcProvider
) -> None:
    """From the Registry's sign-in page to the provider's login page and back, signed in by name; then
    Sign out in the header ends the sign-in at the provider too (its confirmation page) and comes back
    to the Registry's sign-in page, after which neither the Registry nor the provider knows them."""
    nia = new_visitor("oidc")
    page = nia.page
    sign_in_with_provider(nia, provider, "nia")
    header = page.locator(".nhsuk-header")
    expect(header.get_by_role("link", name="Nia New")).to_be_visible()
    expect(header.get_by_role("button", name="Sign out")).to_be_visible()
    nia.check("home")
    made, sessions = user_named(nia.site, "nia.new@nhs.net")
    assert made is not None and made.name == "Nia New" and sessions == ["oidc"]

    header.get_by_role("button", name="Sign out").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(PROVIDER_SIGN_OUT_HEADING)
    assert on_provider(page, provider), page.url
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(re.escape(nia.site.url) + r"/login(\?.*)?$"))
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    expect(page.locator(".nhsuk-header").get_by_role("link", name="Nia New")).to_have_count(0)
    nia.check("signed-out")
    assert user_named(nia.site, "nia.new@nhs.net")[1] == [], "the Registry session ended"

    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login(\?.*)?$"))
    # Signed out at the provider too: its login page asks again rather than signing them straight back in.
    start_provider_sign_in(nia, provider)
    assert nia.problems == [], "\n".join(nia.problems)


def test_a_wrong_password_on_the_providers_page_shows_its_error_and_signs_no_one_in(
    new_visitor: NewVisitor, provider: OidcProvider
) -> None:
    wes = new_visitor("oidc-wrong")
    page = wes.page
    start_provider_sign_in(wes, provider)
    provider_login(page, "wes", "not-" + oidc_account_password("wes"))
    expect(page.get_by_role("alert")).to_have_text(WRONG_PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text(PROVIDER_LOGIN_HEADING)
    assert on_provider(page, provider), page.url
    expect(page.get_by_label("Username")).to_have_value("wes")
    assert user_named(wes.site, "wes.wrong@nhs.net") == (None, []), "no account was made, no one signed in"

    page.goto(wes.site.url + "/")
    expect(page).to_have_url(re.compile(r"/login(\?.*)?$"))
    wes.check("not-signed-in", screenshot=False)
    assert wes.problems == [], "\n".join(wes.problems)


def test_step_up_asks_for_the_password_again_on_the_providers_page(
    new_visitor: NewVisitor, provider: OidcProvider
) -> None:
    """Before a secret is shown the person signs in again at the provider, although its session still
    stands (max_age=0), and comes back to where they were going."""
    sue = new_visitor("oidc-step-up")
    page = sue.page
    sign_in_with_provider(sue, provider, "sue")
    time.sleep(1.1)  # auth_time is in whole seconds: the fresh sign-in must be later than the first
    page.goto("/account/step-up?next=/account")
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm it is you")
    sue.check("step-up")
    page.get_by_role("button", name=f"{LABEL} again").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(PROVIDER_LOGIN_HEADING)
    assert on_provider(page, provider), page.url
    provider_login(page, "sue", oidc_account_password("sue"))
    expect(page).to_have_url(sue.site.url + "/account")
    sue.check("stepped-up", screenshot=False)
    assert sue.problems == [], "\n".join(sue.problems)


# --- accessibility (axe-core) ------------------------------------------------------------------


def require_axe() -> None:
    if not AXE.exists():
        pytest.skip("node_modules/axe-core is missing (pin axe-core in package.json, make install): axe check skipped")


def axe_violations(page: Page, exclude: tuple[str, ...] = ()) -> list[str]:
    """Run axe-core on the page for WCAG 2.2 AA; one line per violation, with the elements it found.
    ``exclude``: CSS selectors of parts another test checks on their own."""
    settle(page)
    page.add_script_tag(path=AXE)
    result: dict[str, Any] = page.evaluate(
        """async ([tags, exclude]) => await axe.run(
            exclude.length ? {include: [document], exclude: exclude.map((s) => [s])} : document,
            {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})""",
        [WCAG_22_AA, list(exclude)],
    )
    return [
        f"{page.url}: {violation['id']} ({violation['impact']}): {violation['help']}: "
        + "; ".join(" ".join(node["target"]) for node in violation["nodes"])
        for violation in result["violations"]
    ]


@pytest.fixture
def axe_visitor(browser: Browser, live_site: LiveSite) -> Iterator[Page]:
    """A fresh browser with the page's CSP bypassed, so axe-core can be injected as a script tag (the
    Registry's CSP rightly refuses it; the other tests watch the CSP)."""
    require_axe()
    context = browser.new_context(
        base_url=live_site.url, locale="en-GB", viewport={"width": 1280, "height": 900}, bypass_csp=True
    )
    try:
        yield context.new_page()
    finally:
        context.close()


def test_the_sign_in_page_with_the_providers_button_passes_axe(axe_visitor: Page) -> None:
    page = axe_visitor
    page.goto("/login")
    expect(page.get_by_role("button", name=LABEL)).to_be_visible()
    assert axe_violations(page) == []


def test_the_step_up_page_with_sign_in_again_passes_axe(axe_visitor: Page, provider: OidcProvider) -> None:
    page = axe_visitor
    page.goto("/login")
    page.get_by_role("button", name=LABEL).click()
    provider_login(page, "ada", oidc_account_password("ada"))
    expect(page).to_have_url(re.compile(r"/$"))
    page.goto("/account/step-up?next=/account")
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm it is you")
    expect(page.get_by_role("button", name=f"{LABEL} again")).to_be_visible()
    assert axe_violations(page) == []
