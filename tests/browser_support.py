"""What the browser tests share: Debian's Chromium driven by Playwright, the app served on
127.0.0.1 from its own migrated database, and one watched browser context per person.

A browser test module loads this as a plugin (``pytest_plugins = ["tests.browser_support"]``),
which gives it the ``browser`` (one Chromium for consecutive browser tests) and ``new_visitor``
fixtures, and defines its own module-scoped ``live_site`` fixture with :func:`serve_live_site`. Every watched page has
its console errors and warnings, script errors, CSP violations, failed requests and error
responses collected, and :meth:`Watched.check` asserts it is a well-formed NHS page.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    Request,
    Route,
    expect,
    sync_playwright,
)
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from registry import db
from registry.audit.services import Actor
from registry.auth.models import User
from registry.auth.services import create_user, find_user
from tests.conftest import TEST_PASSWORD, enrol_two_factor, next_code
from tests.live_server import live_app, migrated_database, serving

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
NHS_BLUE = "rgb(0, 94, 184)"

# Runs in every page before the page's own scripts. DevTools injects it, so the page's
# CSP does not stop it; Watched.check fails if it did not run.
RECORD_CSP_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__csp.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline code"}`);
});
"""

PAGE_FACTS = """() => ({
  h1: document.querySelectorAll("h1").length,
  title: document.title.trim(),
  lang: document.documentElement.lang,
  supported: document.body.classList.contains("nhsuk-frontend-supported"),
  modules: [...document.querySelectorAll("[data-module]")].map((e) => e.dataset.module),
  uninitialised: [...document.querySelectorAll("[data-module]")]
    .filter((e) => !e.hasAttribute(`data-${e.dataset.module}-init`))
    .map((e) => e.dataset.module),
  headerColour: getComputedStyle(document.querySelector(".nhsuk-header")).backgroundColor,
  csp: window.__csp ?? null,
})"""

RAW_MARKUP = re.compile(r"</?(?:p|a|strong)\b[^>]*>")


@dataclass
class LiveSite:
    url: str
    app: Flask


Seed = Callable[[User, User], None]


@contextmanager
def serve_live_site(
    directory: Path,
    staff: tuple[str, str],
    comms: tuple[str, str],
    seed: Seed | None = None,
) -> Iterator[LiveSite]:
    """The app served on 127.0.0.1 from its own migrated database (SQLite in ``directory``, or a
    fresh one on ``REGISTRY_TEST_DATABASE_URL``), with a member of staff and a comms member
    (``(email, name)`` each; the comms member has two-factor sign-in set up, as if they had
    scanned the QR code). ``seed(staff, comms)`` adds whatever else the module needs."""
    with (
        pytest.MonkeyPatch.context() as env,
        migrated_database(os.environ.get("REGISTRY_TEST_DATABASE_URL") or None, directory) as url,
    ):
        env.setenv("REGISTRY_INSTANCE_PATH", str(directory / "instance"))
        app = live_app(url, directory / "instance")
        with app.app_context(), db.transaction():
            people = [
                create_user(email=email, name=name, roles=[role], password=TEST_PASSWORD, actor=Actor.system("tests"))
                for (email, name), role in ((staff, "staff"), (comms, "comms"))
            ]
            enrol_two_factor(people[1])
            if seed is not None:
                seed(*people)
        site = LiveSite("", app)
        try:
            with serving(app) as base:
                site.url = base
                yield site
        finally:
            db.database(app).engine.dispose()


class _Shared:
    """One Playwright driver and one Chromium for a run of consecutive browser tests (a whole module or
    more): starting them took seconds per module. They are stopped before the first test that does not
    use the browser (:func:`pytest_runtest_teardown`), because between its calls the sync API leaves its
    event loop marked as running in this thread, which another test's ``asyncio.run`` would meet."""

    def __init__(self) -> None:
        self.driver: Any = None
        self.playwright: Playwright | None = None
        self.chromium: Browser | None = None

    def browser(self) -> Browser:
        if self.chromium is None or not self.chromium.is_connected():
            if self.playwright is None:
                self.driver = sync_playwright()
                self.playwright = self.driver.start()
            self.chromium = self.playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        return self.chromium

    def stop(self) -> None:
        if self.chromium is not None:
            with suppress(Exception):  # already gone with a crashed driver: nothing left to close
                self.chromium.close()
            self.chromium = None
        if self.playwright is not None:
            self.playwright.stop()
            self.playwright = self.driver = None


_SHARED = _Shared()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """After the test's own fixtures are torn down: stop the shared browser unless the next test uses it."""
    yield
    if nextitem is None or "browser" not in getattr(nextitem, "fixturenames", ()):
        _SHARED.stop()


@pytest.fixture
def browser() -> Browser:
    if not CHROMIUM.exists():
        pytest.skip("Chromium not installed (apt-get install chromium): browser test skipped")
    return _SHARED.browser()


@dataclass
class Watched:
    """One person's browser: every console error or warning, script error, CSP
    violation, failed request and error response of its pages lands in ``problems``."""

    name: str
    site: LiveSite
    context: BrowserContext
    page: Page
    problems: list[str] = field(default_factory=list)
    shots: int = 0

    def check(self, what: str, screenshot: bool = True) -> None:
        """Assert the page is a well-formed NHS page, and keep a screenshot of it in test-artifacts/."""
        self.page.wait_for_load_state("load")
        facts: dict[str, Any] = self.page.evaluate(PAGE_FACTS)
        where = f"{what} ({self.page.url})"
        assert facts["csp"] is not None, f"{where}: the CSP violation recorder did not run"
        self.problems.extend(f"{where}: CSP violation: {v}" for v in facts["csp"])
        assert facts["h1"] == 1, f"{where}: {facts['h1']} <h1> elements"
        assert facts["title"], f"{where}: no <title>"
        assert facts["lang"] == "en", f"{where}: lang={facts['lang']!r}"
        assert facts["supported"], f"{where}: the NHS template's inline script did not run"
        assert "nhsuk-header" in facts["modules"], f"{where}: no NHS header component"
        assert facts["uninitialised"] == [], f"{where}: NHS.UK frontend did not start {facts['uninitialised']}"
        assert facts["headerColour"] == NHS_BLUE, f"{where}: the NHS stylesheet is not applied"
        assert RAW_MARKUP.findall(self.page.locator("main").inner_text()) == [], f"{where}: HTML source shown as text"
        if not screenshot:
            return
        ARTIFACTS.mkdir(exist_ok=True)
        self.shots += 1
        self.page.screenshot(path=ARTIFACTS / f"browser-{self.name}-{self.shots:02d}-{what}.png", full_page=True)


NewVisitor = Callable[[str], Watched]


def request_failed(request: Request, problems: list[str]) -> None:
    # The browser aborts a page's late requests (the favicon) when it navigates on.
    if request.failure != "net::ERR_ABORTED":
        problems.append(f"request failed ({request.failure}): {request.url}")


@pytest.fixture
def new_visitor(browser: Browser, live_site: LiveSite) -> Iterator[NewVisitor]:
    """``new_visitor(name)`` → a :class:`Watched` fresh browser context (another person) on the
    module's ``live_site``; ``name`` prefixes its screenshots."""
    opened: list[BrowserContext] = []

    def open_context(name: str) -> Watched:
        context = browser.new_context(
            base_url=live_site.url,
            locale="en-GB",
            viewport={"width": 1280, "height": 900},
            accept_downloads=True,
        )
        opened.append(context)
        context.add_init_script(RECORD_CSP_VIOLATIONS)
        watched = Watched(name, live_site, context, context.new_page())
        problems = watched.problems

        def console(message: ConsoleMessage) -> None:
            if message.type in ("error", "warning"):
                problems.append(f"console {message.type}: {message.text} at {message.location.get('url')}")

        watched.page.on("console", console)
        watched.page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
        watched.page.on("requestfailed", lambda request: request_failed(request, problems))
        watched.page.on(
            "response",
            lambda response: (
                problems.append(f"HTTP {response.status}: {response.url}") if response.status >= 400 else None
            ),
        )
        return watched

    yield open_context
    for context in opened:
        context.close()


def app_code(site: LiveSite, email: str) -> str:
    """What the person's authenticator app shows now (a code not yet used)."""
    with site.app.app_context():
        user = find_user(email)
        assert user is not None
        code = next_code(user)
        db.session().close()
    return code


def sign_in(visitor: Watched, email: str) -> None:
    """Sign in with the test password, and the app's code when asked for one; the sign-in and
    security-code pages are checked (a screenshot of each for the visitors named "staff" and "comms")."""
    page = visitor.page
    page.goto("/login")
    visitor.check("sign-in", screenshot=visitor.name == "staff")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/(login/mfa|account/two-factor)?$"))  # the click does not wait for the next page
    if page.url.endswith("/login/mfa"):
        visitor.check("security-code", screenshot=visitor.name == "comms")
        page.get_by_label("Security code").fill(app_code(visitor.site, email))
        page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    settle(page)


#: Resolves once the page's web fonts have loaded and two frames have been drawn since. The NHS.UK header
#: measures its navigation when the fonts arrive (a ResizeObserver) and moves items between the bar and its
#: "More" menu a frame later: a click or an accessibility check in that moment meets links on the move
#: (a link clicked as it leaves the bar; axe finding menu links visible, white on white).
SETTLED = """() => document.fonts.ready.then(
  () => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))
)"""


def settle(page: Page) -> None:
    """Wait until the page's fonts are in and its header has laid itself out (see :data:`SETTLED`)."""
    page.wait_for_load_state("load")
    page.evaluate(SETTLED)


def fits_after_resize(page: Page, what: str, width: int = 320) -> None:
    """Fail when ``page``, resized to ``width`` in place, still scrolls sideways once it has settled.

    The NHS.UK header moves navigation items under "More" from a resize handler that runs a moment after the
    resize, so until then a signed-in header is wider than a phone; under load that moment was long enough
    for a measurement taken at once to see 863 px. Up to 5 s is given; a page that really is too wide fails.
    """
    with suppress(PlaywrightTimeout):
        page.wait_for_function(f"() => document.documentElement.scrollWidth <= {width}", timeout=5_000)
    scrolled = page.evaluate("() => document.documentElement.scrollWidth")
    if scrolled > width:
        wide = page.evaluate(WIDEST_ELEMENTS, width)
        raise AssertionError(f"{what} scrolls sideways at {width} px ({scrolled} px wide): " + "; ".join(wide))


#: The innermost elements that reach past the right edge (what makes a page scroll sideways), for the message.
WIDEST_ELEMENTS = """(width) => [...document.querySelectorAll("body *")]
  .filter((e) => e.getBoundingClientRect().right > width + 1 && e.getClientRects().length)
  .filter((e) => ![...e.children].some((c) => c.getBoundingClientRect().right > width + 1))
  .slice(0, 5)
  .map((e) => `<${e.tagName.toLowerCase()} class="${e.className}"> ${Math.round(e.getBoundingClientRect().right)} px`
    + ` "${(e.textContent || "").trim().slice(0, 40)}"`)"""


#: The site's address for a browser whose requests the test client answers (:func:`answered_by`); nothing listens there.
SITE = "http://registry.test"


def answered_by(client: FlaskClient) -> Callable[[Route], None]:
    """A Playwright route handler that answers the browser's requests to :data:`SITE` with ``client`` (and its
    session): the pages are the app's own in the test's transaction, with no server. Other addresses are refused.

    Routing turns the browser's cache off, so every page would ask the app again for the same stylesheet,
    scripts and fonts; each static file is answered as the app served it the first time it was asked for."""
    static = f"{client.application.static_url_path}/"
    served: dict[str, tuple[int, dict[str, str], bytes]] = {}

    def answer(route: Route) -> None:
        request = route.request
        address = urlsplit(request.url)
        if address.netloc != urlsplit(SITE).netloc:
            route.abort()
            return
        if request.method == "GET" and address.path.startswith(static) and address.path in served:
            status, headers, body = served[address.path]
            route.fulfill(status=status, headers=headers, body=body)
            return
        response = client.open(
            address.path + (f"?{address.query}" if address.query else ""),
            method=request.method,
            data=request.post_data_buffer,
            headers={"Content-Type": request.headers.get("content-type", "")},
        )
        answered = (response.status_code, dict(response.headers), response.get_data())
        if request.method == "GET" and address.path.startswith(static) and response.status_code == 200:
            served[address.path] = answered
        route.fulfill(status=answered[0], headers=answered[1], body=answered[2])

    return answer
