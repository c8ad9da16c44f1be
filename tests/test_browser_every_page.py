"""Every page of the route × role matrix, as each role sees it, passes axe-core at WCAG 2.2 A and AA
and does not scroll sideways at 320 px (WCAG 1.4.10, reflow).

The pages are the ones tests/test_authorisation.py's matrix opens (the same objects, made the same
way), rendered by the app in this test's transaction: Chromium asks for each page and for its styles
and scripts, and the test client answers (Playwright's request routing), so what the browser shows is
exactly what the app served to that signed-in person. A new page is in the matrix (the matrix fails
for a route without an entry), so it is checked here too and cannot regress.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Browser, BrowserContext, Page

from registry.auth.models import User
from registry.channels.models import Channel
from tests.browser_support import SITE, answered_by, fits_after_resize
from tests.conftest import sign_in
from tests.test_authorisation import ANONYMOUS, EXPECTATIONS, ROLES, World, _allowed
from tests.test_browser_oidc import axe_violations, require_axe

pytest_plugins = ["tests.browser_support"]
pytestmark = [pytest.mark.browser, pytest.mark.one_leg(leg="postgresql")]


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A browser with the page's CSP bypassed so that axe-core can be injected (the CSP rightly refuses it)."""
    require_axe()
    made = browser.new_context(base_url=SITE, locale="en-GB", viewport={"width": 1280, "height": 900}, bypass_csp=True)
    try:
        yield made
    finally:
        made.close()


def pages_for(role: str, app: Flask, world: World, client: FlaskClient) -> list[tuple[str, str]]:
    """(endpoint, path) of every HTML page the matrix lets ``role`` open, as it opens them."""
    adapter = app.url_map.bind("localhost")
    found = []
    for (endpoint, method), expect in EXPECTATIONS.items():
        if method != "GET" or endpoint.startswith("api.") or not _allowed(expect, role):
            continue
        if expect.fresh_client or expect.status_for(role) != 200:
            continue
        path = adapter.build(endpoint, expect.build(world).args, method=method)
        if path.startswith("/api/"):
            continue
        response = client.get(path)
        if response.status_code == 200 and response.mimetype == "text/html":
            found.append((endpoint, path))
    return found


def problems_of(page: Page, endpoint: str, path: str) -> list[str]:
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(path)
    problems = [f"{endpoint}: {line}" for line in axe_violations(page)]
    page.set_viewport_size({"width": 320, "height": 640})
    try:
        fits_after_resize(page, f"{endpoint} {path}")
    except AssertionError as wide:
        problems.append(str(wide))
    return problems


@pytest.mark.parametrize("role", [ANONYMOUS, *ROLES])
def test_every_page_passes_axe_and_fits_a_phone_for_every_role(
    role: str,
    app: Flask,
    make_user: Callable[..., User],
    make_channel: Callable[..., Channel],
    context: BrowserContext,
) -> None:
    actor = None if role == ANONYMOUS else make_user(role)
    world = World(make_user, make_channel, actor)
    client = app.test_client()
    if actor is not None:
        sign_in(client, actor)
    pages = pages_for(role, app, world, client)
    assert pages, f"{role} can open no page"
    context.route("**/*", answered_by(client))
    page = context.new_page()
    problems = [problem for endpoint, path in pages for problem in problems_of(page, endpoint, path)]
    assert problems == [], f"{role}, {len(pages)} pages:\n" + "\n".join(problems)
