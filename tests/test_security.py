"""Web security: response headers and the Content-Security-Policy, CSRF on every
form, cookies, production start-up, error pages, redirects after sign-in,
password storage and rules, and sign-in throttling.
"""

from __future__ import annotations

import base64
import html
import io
import logging
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection
from werkzeug.test import TestResponse

import config as registry_config
from registry import PROJECT_ROOT, create_app, db
from registry.audit.models import AuditEvent
from registry.audit.services import Actor
from registry.auth import services as accounts
from registry.auth.models import User
from registry.auth.passwords import Argon2Profile, password_problem
from registry.auth.permissions import is_called_by_servers, public
from registry.channels.models import Channel
from registry.models import Base
from tests.conftest import (
    CHEAP_ARGON2,
    TEST_PASSWORD,
    Browser,
    IsolatedClient,
    csrf_token,
    open_setup_link,
    settings_for,
    sign_in,
)
from tests.test_authorisation import ANONYMOUS, EXPECTATIONS, KNOWN_BUGS, World

ALL_ROLES = ("staff", "manager", "comms", "auditor", "admin", "hr")
SIGN_IN_FAILED = "Enter a correct email address and password."
REQUIRED = (
    "REGISTRY_SECRET_KEY",
    "REGISTRY_DATABASE_URL",
    "REGISTRY_MASTER_KEYS",
    "REGISTRY_AUDIT_KEYS",
)
PHC = re.compile(r"^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$")


def _text(response: TestResponse) -> str:
    return html.unescape(response.get_data(as_text=True))


def _snapshot(connection: Connection) -> dict[str, list[str]]:
    """Every row of every table, to prove a refused request changed nothing."""
    return {
        table.name: sorted(repr(tuple(row)) for row in connection.execute(select(table)))
        for table in Base.metadata.sorted_tables
    }


def _audit_count() -> int:
    return db.session().execute(select(func.count()).select_from(AuditEvent)).scalar_one()


# Headers and the Content-Security-Policy ---------------------------------------------------


def _directives(policy: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for part in policy.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def _sent_twice(response: TestResponse) -> list[str]:
    """A protection a view set itself is replaced by the app's, never sent a second time beside it."""
    names = ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Cache-Control", "Pragma")
    return [f"{name} is sent more than once" for name in names if len(response.headers.getlist(name)) > 1]


def _policy_problems(response: TestResponse) -> list[str]:
    headers = response.headers
    problems: list[str] = []
    policy = headers.get("Content-Security-Policy", "")
    directives = _directives(policy) if policy else {}
    if directives.get("default-src") != ["'none'"]:
        problems.append(f"default-src is {directives.get('default-src')}")
    download = headers.get("Content-Disposition", "").startswith("attachment")
    if response.mimetype == "image/svg+xml":
        if "script-src" in directives or "unsafe-eval" in policy:
            problems.append("an SVG image may run script")
    elif download and "sandbox" in directives:
        # An uploaded file: no script at all, sandboxed, never framed (and never shown inline).
        if "script-src" in directives:
            problems.append("an uploaded file may run script")
        if directives.get("frame-ancestors") != ["'none'"]:
            problems.append("frame-ancestors is not 'none'")
    elif response.mimetype == "application/json" or response.mimetype.endswith("+json"):
        # JSON is never run as a page: it may load, run, frame, send or be framed by nothing (no nonce needed).
        for directive in ("frame-ancestors", "base-uri", "form-action"):
            if directives.get(directive) != ["'none'"]:
                problems.append(f"{directive} is {directives.get(directive)}, not 'none'")
        if set(directives) != {"default-src", "frame-ancestors", "base-uri", "form-action"}:
            problems.append(f"the JSON policy allows more than nothing: {policy}")
    else:
        if directives.get("frame-ancestors") != ["'none'"]:
            problems.append("frame-ancestors is not 'none'")
        if "unsafe-inline" in policy or "unsafe-eval" in policy:
            problems.append("the policy allows unsafe-inline or unsafe-eval")
        if not any(value.startswith("'nonce-") for value in directives.get("script-src", [])):
            problems.append("script-src has no nonce")
    return problems


def _header_problems(response: TestResponse) -> list[str]:
    """What every response must carry; HTML pages get the strict policy with a nonce, JSON a fixed one
    that allows nothing at all, and an SVG image (which could hold script) a policy that allows no script."""
    headers = response.headers
    problems = _policy_problems(response)
    if headers.get("X-Content-Type-Options") != "nosniff":
        problems.append("X-Content-Type-Options is not nosniff")
    if headers.get("Referrer-Policy") not in (
        "no-referrer",
        "same-origin",
        "strict-origin",
        "strict-origin-when-cross-origin",
    ):
        problems.append(f"Referrer-Policy is {headers.get('Referrer-Policy')!r}")
    if headers.get("X-Frame-Options") != "DENY":
        problems.append("X-Frame-Options is not DENY")
    problems += _sent_twice(response)
    if response.mimetype == "text/html":
        cache = headers.get("Cache-Control", "")
        if "no-store" not in cache and "private" not in cache:
            problems.append(f"Cache-Control is {cache!r}")
    return problems


def _nonce(response: TestResponse) -> str:
    script_src = _directives(response.headers["Content-Security-Policy"])["script-src"]
    return next(value for value in script_src if value.startswith("'nonce-"))[len("'nonce-") : -1]


class InlineCode(HTMLParser):
    """Collects what a strict CSP would block: inline scripts, styles and handlers."""

    def __init__(self) -> None:
        super().__init__()
        self.inline_scripts: list[dict[str, str | None]] = []
        self.external_scripts: list[str] = []
        self.data_blocks: list[dict[str, str | None]] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script":
            if attributes.get("src"):
                self.external_scripts.append(attributes["src"] or "")
            elif attributes.get("type") == "application/ld+json":
                self.data_blocks.append(attributes)  # data, never run (the directory's JSON-LD)
            else:
                self.inline_scripts.append(attributes)
        if tag == "style":
            self.problems.append("a <style> element")
        for name, value in attrs:
            if name == "style":
                self.problems.append(f"a style attribute on <{tag}>")
            if name.startswith("on"):
                self.problems.append(f"an inline handler {name} on <{tag}>")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.problems.append(f"a javascript: URL on <{tag}>")


def _page_problems(response: TestResponse) -> list[str]:
    scan = InlineCode()
    scan.feed(response.get_data(as_text=True))
    problems = list(scan.problems)
    nonce = _nonce(response)
    if len(scan.inline_scripts) != 1:
        problems.append(f"{len(scan.inline_scripts)} inline scripts (expected the NHS template's one)")
    problems += [
        f"an inline script without this response's nonce: {s}"
        for s in (*scan.inline_scripts, *scan.data_blocks)
        if s.get("nonce") != nonce
    ]
    problems += [f"a script from elsewhere: {src}" for src in scan.external_scripts if not src.startswith("/")]
    return problems


def _get_routes_and_error_pages(
    app: Flask,
    make_user: Callable[..., User],
    make_channel: Callable[..., Channel],
) -> Iterator[tuple[str, TestResponse]]:
    """Every GET route (as a user with every role, and anonymously where public) and the error pages."""
    everyone = make_user(*ALL_ROLES)
    world = World(make_user, make_channel, everyone)
    browser, anonymous = app.test_client(), app.test_client()
    sign_in(browser, everyone)
    adapter = app.url_map.bind("localhost")
    for (endpoint, method), expect in EXPECTATIONS.items():
        if method != "GET":
            continue
        path = adapter.build(endpoint, expect.build(world).args, method="GET")
        # A route that signs its browser out (a set-up link) gets a browser of its own.
        yield path, (app.test_client() if expect.fresh_client else browser).get(path)
        if ANONYMOUS in expect.allowed:
            yield f"{path} (anonymous)", anonymous.get(path)
    staff = app.test_client()
    sign_in(staff, make_user("staff"))
    yield "403 page", staff.get("/audit")
    yield "404 page", browser.get("/no-such-page")
    yield "405 page", browser.get("/logout")
    yield "400 page (no CSRF token)", browser.post("/channels/new", data={})
    yield (
        "sign-in refused",
        anonymous.post(
            "/login", data={"email": "nobody@example.nhs.uk", "password": "wrong", "csrf_token": csrf_token(anonymous)}
        ),
    )


def test_every_response_has_the_security_headers_and_no_inline_code(
    app: Flask,
    make_user: Callable[..., User],
    make_channel: Callable[..., Channel],
) -> None:
    """Every GET route and error page sends a strict CSP (nonce, ``default-src 'none'``, no
    ``unsafe-inline``, ``frame-ancestors 'none'``), nosniff, a referrer policy, DENY framing and
    private caching; every HTML page's one inline script carries that response's nonce and
    nothing else is inline (no style elements or attributes, no handlers, no ``javascript:``)."""
    problems = []
    pages = answers = 0
    for name, response in _get_routes_and_error_pages(app, make_user, make_channel):
        found = _header_problems(response)
        if response.mimetype == "text/html" and not response.location:
            pages += 1
            found += _page_problems(response)
        answers += response.is_json
        problems += [f"{name} [{response.status_code}]: {problem}" for problem in found]
    assert problems == []
    assert pages >= 25
    assert answers >= 5  # the API's JSON is among what was checked


def test_json_answers_get_a_policy_allowing_nothing_and_every_other_protection(
    client: FlaskClient, make_channel: Callable[..., Channel]
) -> None:
    """A JSON answer, successful or a problem, is never a page: its policy allows nothing (no script, so no
    nonce), and it keeps every other protection a page has, and ``Vary: Cookie``."""
    make_channel(platform="x", handle="ExampleNHS", status="active")
    page = client.get("/login")
    answers = {
        "verdict": client.get("/api/v1/verify?url=https://x.com/ExampleNHS"),
        "a question refused": client.get("/api/v1/verify"),
        "no token": client.get("/api/v1/channels"),
    }
    assert [answer.status_code for answer in answers.values()] == [200, 422, 401]
    assert answers["verdict"].json is not None and answers["verdict"].json["official"] is True
    assert {answer.mimetype for answer in answers.values()} == {"application/json", "application/problem+json"}
    for name, answer in answers.items():
        policy = _directives(answer.headers["Content-Security-Policy"])
        assert policy == {
            "default-src": ["'none'"],
            "frame-ancestors": ["'none'"],
            "base-uri": ["'none'"],
            "form-action": ["'none'"],
        }, name
        for header in (
            "X-Content-Type-Options",
            "Referrer-Policy",
            "X-Frame-Options",
            "Cross-Origin-Opener-Policy",
            "Cross-Origin-Resource-Policy",
            "Permissions-Policy",
            "Cache-Control",
        ):
            assert answer.headers.get(header) == page.headers[header], (name, header)
        assert "Cookie" in answer.headers.get("Vary", ""), name
        assert _sent_twice(answer) == [], name
    assert "'nonce-" in page.headers["Content-Security-Policy"]


def test_each_response_gets_its_own_nonce(client: FlaskClient) -> None:
    """A nonce is unpredictable only if it is new for every response (and long enough)."""
    nonces = [_nonce(client.get("/login")) for _ in range(3)]
    assert len(set(nonces)) == 3
    assert all(len(nonce) >= 22 for nonce in nonces)
    page = client.get("/login")
    assert f'nonce="{_nonce(page)}"' in page.get_data(as_text=True)


def test_forms_may_send_the_browser_on_only_to_this_site_and_the_identity_provider(
    client: FlaskClient, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Signing out posts to this site, which redirects to the provider's end-session endpoint; a browser
    follows a form's redirect only to what form-action names (tests/test_browser_oidc.py signs out in one)."""
    assert _directives(client.get("/login").headers["Content-Security-Policy"])["form-action"] == ["'self'"]
    monkeypatch.setenv("REGISTRY_INSTANCE_PATH", str(tmp_path))
    with_provider = create_app(
        settings_for(
            database_url,
            OIDC_ISSUER="https://login.example.net:8443/3c1f0a51/v2.0",
            OIDC_CLIENT_ID="registry",
            OIDC_CLIENT_SECRET="registry-client-secret-for-tests-only",
        )
    )
    try:
        policy = with_provider.test_client().get("/login").headers["Content-Security-Policy"]
    finally:
        db.database(with_provider).engine.dispose()
    assert _directives(policy)["form-action"] == ["'self'", "https://login.example.net:8443"]


# CSRF -----------------------------------------------------------------------------------


def _with_fresh_files(data: dict[str, Any] | None) -> dict[str, Any]:
    """The form's fields, each file as a new stream (sending a form reads and closes its files)."""
    return {
        name: (io.BytesIO(value[0].getvalue()), *value[1:])
        if isinstance(value, tuple) and isinstance(value[0], io.BytesIO)
        else value
        for name, value in (data or {}).items()
    }


def test_every_form_refuses_a_request_without_its_csrf_token(
    app: Flask,
    make_user: Callable[..., User],
    make_channel: Callable[..., Channel],
    connection: Connection,
) -> None:
    """Each browser POST route answers 400 without the token and changes nothing; the very same
    request with the token then succeeds, so the token is the only thing that was missing."""
    user = make_user(*ALL_ROLES)
    world = World(make_user, make_channel, user)
    adapter = app.url_map.bind("localhost")
    problems = []
    forms = [
        (endpoint, expect)
        for (endpoint, method), expect in EXPECTATIONS.items()
        if method == "POST"
        and not endpoint.startswith("api.")
        # Another server calls these, never a browser: they check a signed token instead (tests/test_oidc.py).
        and not is_called_by_servers(app.view_functions[endpoint])
    ]
    for endpoint, expect in forms:
        request = expect.build(world)
        path = adapter.build(endpoint, request.args, method="POST")
        client = app.test_client()
        sign_in(client, user, world.password)
        token = csrf_token(client)
        before = _snapshot(connection)
        refused = client.post(path, data=_with_fresh_files(request.data))
        if refused.status_code != 400 or "The form had expired or was sent from another site" not in _text(refused):
            problems.append(f"{path}: without a token, got {refused.status_code}")
        if _snapshot(connection) != before:
            problems.append(f"{path}: a request without a token changed the database")
        accepted = client.post(path, data={**_with_fresh_files(request.data), "csrf_token": token})
        wanted = 500 if (endpoint, "POST") in KNOWN_BUGS else expect.status_for("admin")
        if accepted.status_code != wanted:
            problems.append(f"{path}: with the token, got {accepted.status_code}")
        if endpoint == "auth.change_password":
            world.password = request.data["new_password"]  # type: ignore[index]
    assert len(forms) >= 15
    assert problems == []


def test_a_token_from_another_session_is_refused(
    browser_as: Callable[..., Browser],
    client: FlaskClient,
    connection: Connection,
) -> None:
    """A token lifted from someone else's page does not work in this session."""
    staff = browser_as("staff")
    before = _snapshot(connection)
    response = staff.client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 400
    assert _snapshot(connection) == before
    assert staff.get("/account").status_code == 200


def test_api_calls_with_a_browser_session_need_the_csrf_token(
    browser_as: Callable[..., Browser],
    connection: Connection,
) -> None:
    """The browser's session cookie alone cannot create a channel through the API (400
    problem+json, nothing stored); with the ``X-CSRFToken`` header it can."""
    staff = browser_as("staff")
    body = {
        "platform": "x",
        "handle": "csrf_probe",
        "display_name": "Probe",
        "department": "Maternity",
        "purpose": "Updates",
        "audience": "Parents",
        "policy_acknowledged": True,
    }
    before = _snapshot(connection)
    refused = staff.client.post("/api/v1/channels", json=body)
    assert refused.status_code == 400
    assert refused.mimetype == "application/problem+json"
    assert _snapshot(connection) == before
    accepted = staff.client.post("/api/v1/channels", json=body, headers={"X-CSRFToken": csrf_token(staff.client)})
    assert accepted.status_code == 201


# Cookies and production settings -------------------------------------------------------


def _cookie(response: TestResponse, name: str) -> dict[str, str | bool]:
    for header in response.headers.getlist("Set-Cookie"):
        first, *attributes = [part.strip() for part in header.split(";")]
        if first.split("=", 1)[0] == name:
            parsed: dict[str, str | bool] = {}
            for attribute in attributes:
                key, sep, value = attribute.partition("=")
                parsed[key.lower()] = value if sep else True
            return parsed
    raise AssertionError(f"no Set-Cookie for {name}: {response.headers.getlist('Set-Cookie')}")


def test_the_session_cookie_is_httponly_and_samesite_lax(
    app: Flask, client: FlaskClient, make_user: Callable[..., User]
) -> None:
    """Scripts cannot read the cookie and other sites' forms do not carry it; not Secure in testing (plain HTTP)."""
    user = make_user("staff")
    response = client.post(
        "/login", data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": csrf_token(client)}
    )
    assert response.status_code == 302
    cookie = _cookie(response, app.config["SESSION_COOKIE_NAME"])
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert "secure" not in cookie


def _production_overrides(database_url: str) -> dict[str, Any]:
    return {
        "ENV": "production",
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_urlsafe(48),
        "MASTER_KEYS": registry_config.generate_master_key_entry(),
        "AUDIT_KEYS": registry_config.generate_master_key_entry(),
        "FINGERPRINT_KEYS": registry_config.generate_master_key_entry(),
        "ARGON2_PROFILE": CHEAP_ARGON2,
        "RATELIMIT_ENABLED": False,
    }


@pytest.fixture
def production_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ``REGISTRY_*`` production value leaks in from the environment running the tests."""
    for name in (*REQUIRED, "REGISTRY_ENV", "REGISTRY_MASTER_KEYS_FILE", "REGISTRY_FINGERPRINT_KEYS"):
        monkeypatch.delenv(name, raising=False)


def test_production_settings_make_secure_cookies() -> None:
    """With ENV=production and the four values given, cookies are Secure, HttpOnly, Lax and ``__Host-``."""
    settings = registry_config.load_settings(
        {
            "ENV": "production",
            "DATABASE_URL": "postgresql://db/registry",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "MASTER_KEYS": registry_config.generate_master_key_entry(),
            "AUDIT_KEYS": registry_config.generate_master_key_entry(),
            "FINGERPRINT_KEYS": registry_config.generate_master_key_entry(),
        },
        Path("/nonexistent"),
    )
    flask_config = settings.flask_config()
    assert flask_config["SESSION_COOKIE_SECURE"] is True
    assert flask_config["SESSION_COOKIE_HTTPONLY"] is True
    assert flask_config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert flask_config["SESSION_COOKIE_NAME"].startswith("__Host-")
    assert settings.database_url.startswith("postgresql+psycopg://")


@pytest.mark.parametrize("enabled", [False, 0, None])
def test_production_settings_with_rate_limiting_off_say_so(caplog: pytest.LogCaptureFixture, enabled: Any) -> None:
    """``REGISTRY_RATELIMIT_ENABLED=false`` (or 0) turns every limit off, sign-in's among them: a production
    start says so in its log; left unset (``None`` here), it says nothing of it."""
    values = {
        "ENV": "production",
        "DATABASE_URL": "postgresql://db/registry",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "MASTER_KEYS": registry_config.generate_master_key_entry(),
        "AUDIT_KEYS": registry_config.generate_master_key_entry(),
        "FINGERPRINT_KEYS": registry_config.generate_master_key_entry(),
        "RATELIMIT_STORAGE_URI": "redis://cache:6379/0",
    }
    if enabled is not None:
        values["RATELIMIT_ENABLED"] = enabled
    with caplog.at_level(logging.WARNING, logger="config"):
        registry_config.load_settings(values, Path("/nonexistent"))
    warned = [r.getMessage() for r in caplog.records if "REGISTRY_RATELIMIT_ENABLED" in r.getMessage()]
    assert len(warned) == (0 if enabled is None else 1)


def test_a_production_app_sets_a_secure_host_cookie(
    production_env: None,
    database_url: str,
    connection: Connection,
    app: Flask,
    make_user: Callable[..., User],
) -> None:
    """Signing in to a production app over HTTPS sets ``__Host-registry`` with Secure, HttpOnly,
    SameSite=Lax, Path=/ and no Domain, and the page asks for HSTS; debug is off."""
    production = create_app(_production_overrides(database_url))
    production.extensions["registry.db"].bind_override = connection
    production.test_client_class = IsolatedClient
    assert production.debug is False
    user = make_user("staff")
    client = production.test_client()
    page = client.get("/login", base_url="https://localhost")
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page.get_data(as_text=True))
    assert token is not None
    response = client.post(
        "/login",
        base_url="https://localhost",
        headers={"Referer": "https://localhost/login"},
        data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": token.group(1)},
    )
    assert response.status_code == 302
    cookie = _cookie(response, "__Host-registry")
    assert cookie["secure"] is True
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/"
    assert "domain" not in cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


@pytest.mark.parametrize("missing", REQUIRED)
def test_production_refuses_to_start_without_each_required_value(
    missing: str,
    production_env: None,
    database_url: str,
) -> None:
    """The app factory stops with a message that names the missing variable."""
    overrides = _production_overrides(database_url)
    del overrides[missing.removeprefix("REGISTRY_")]
    with pytest.raises(registry_config.ConfigError) as refused:
        create_app(overrides)
    assert missing in str(refused.value)
    assert all(name not in str(refused.value) for name in REQUIRED if name != missing)


def test_production_without_fingerprint_keys_derives_one_from_the_first_master_key() -> None:
    """SPEC's four values still start production: the fingerprint key is then HKDF of the first master
    key (a key of its own, never the master key's bytes), named after it, and the same on every host."""
    master = registry_config.generate_master_key_entry()
    values = {
        "ENV": "production",
        "DATABASE_URL": "postgresql://db/registry",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "MASTER_KEYS": f"{master},{registry_config.generate_master_key_entry()}",
        "AUDIT_KEYS": registry_config.generate_master_key_entry(),
    }
    one = registry_config.load_settings(values, Path("/nonexistent"))
    two = registry_config.load_settings(values, Path("/elsewhere"))
    [key] = one.fingerprint_keys
    master_id, _, encoded = master.partition(":")
    expected = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"registry password fingerprints v1")
    assert key.key == expected.derive(base64.urlsafe_b64decode(encoded))
    assert key.key_id == f"fp-{master_id}" and two.fingerprint_keys == one.fingerprint_keys
    assert key.key not in {k.key for k in (*one.master_keys, *one.audit_keys)}


@pytest.mark.parametrize(
    "master",
    [bytes(32), b"\xff" * 32, bytes(range(32)), *(os.urandom(32) for _ in range(3))],
    ids=["zeros", "ones", "counting", "random-1", "random-2", "random-3"],
)
def test_the_fingerprint_key_is_rfc_5869_hkdf_sha256_of_the_master_key(master: bytes) -> None:
    """The start derives the fingerprint key without loading cryptography (HKDF written out with hmac);
    for every master key it must be the very key cryptography's HKDF-SHA256 (no salt, 32 bytes) gives,
    or the fingerprints stored under the earlier derivation would stop matching."""
    derived = registry_config.derived_fingerprint_key(registry_config.MasterKey("k1", master))
    expected = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"registry password fingerprints v1")
    assert derived.key == expected.derive(master)


def test_flask_refuses_to_start_in_production_without_the_required_values() -> None:
    """The real start-up path (``flask --app wsgi``) exits non-zero, printing nothing on stdout,
    with a message naming every missing variable (``create_app`` is shown above to start once
    they are given)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(("REGISTRY_", "FLASK_"))}
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "keys", "generate"],
        cwd=PROJECT_ROOT,
        env={**env, "REGISTRY_ENV": "production"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert result.stdout == ""
    assert all(name in result.stderr for name in REQUIRED)


# Error pages, caching and redirects ---------------------------------------------------------


def test_an_unexpected_error_shows_no_stack_trace(app: Flask, client: FlaskClient) -> None:
    """A view that fails gives the plain 500 page or problem+json: no traceback, no exception text."""

    def fails() -> str:
        raise RuntimeError("connection string postgresql://registry:hunter2@db/registry")

    app.add_url_rule("/fails", "fails", public(fails))
    app.add_url_rule("/api/v1/fails", "api_fails", public(fails))
    page = client.get("/fails")
    api = client.get("/api/v1/fails")
    assert page.status_code == 500
    assert "Sorry, there is a problem with the service" in _text(page)
    assert api.status_code == 500
    assert api.mimetype == "application/problem+json"
    assert api.get_json()["title"] == "Sorry, there is a problem with the service"
    for response in (page, api):
        body = response.get_data(as_text=True)
        for leak in ("Traceback", 'File "', "RuntimeError", "hunter2", "postgresql://", "registry/"):
            assert leak not in body


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "//evil.example/login",
        "https://evil.example/",
        "http:evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
        "evil.example",
    ],
)
def test_sign_in_never_redirects_to_another_site(
    target: str, client: FlaskClient, make_user: Callable[..., User]
) -> None:
    """``next`` may only name a path on this site; anything else goes to the home page."""
    user = make_user("staff")
    token = csrf_token(client)
    response = client.post(
        "/login?" + urlencode({"next": target}),
        data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_sign_in_returns_to_the_page_asked_for(client: FlaskClient, make_user: Callable[..., User]) -> None:
    """The other side of the open-redirect rule: a local path is honoured, query string included."""
    user = make_user("staff")
    asked = client.get("/channels/mine?page=1")
    assert asked.status_code == 302
    login = asked.headers["Location"]
    assert urlsplit(login).path == "/login"
    response = client.post(
        login, data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": csrf_token(client)}
    )
    assert response.headers["Location"] == "/channels/mine?page=1"


# Sign-in and passwords -----------------------------------------------------------------------


def test_unknown_email_and_wrong_password_get_the_same_answer(
    client: FlaskClient, make_user: Callable[..., User]
) -> None:
    """Nobody can learn who has an account: both failures give the same status and the same page."""
    user = make_user("staff")
    token = csrf_token(client)
    unknown_email = "nobody.here@example.nhs.uk"
    wrong = client.post("/login", data={"email": user.email, "password": "not my password at all", "csrf_token": token})
    unknown = client.post(
        "/login", data={"email": unknown_email, "password": "not my password at all", "csrf_token": token}
    )
    assert wrong.status_code == unknown.status_code == 200
    assert SIGN_IN_FAILED in _text(wrong)

    def normalised(response: TestResponse, email: str) -> str:
        # The nonce, and the CSRF token (signed with the time, so it changes at a second's turn), differ anyway.
        page = re.sub(r'nonce="[^"]+"', "", response.get_data(as_text=True).replace(email, "EMAIL"))
        return re.sub(r'(name="csrf_token"[^>]*value=")[^"]+"', r"\1", page)

    assert normalised(wrong, user.email) == normalised(unknown, unknown_email)


def test_the_password_tests_give_everyone_passes_the_strength_check() -> None:
    """tests/conftest.py gives the people it makes this password without checking it each time."""
    assert password_problem(TEST_PASSWORD, email="staff1@example.nhs.uk", name="Staff Person 1") is None


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Short 1 pw!", "Your password must be at least 12 characters long."),
        ("1qaz2wsx3edc", "That password is one of the most commonly used passwords. Choose another."),
        ("qwerty123456", "That password is one of the most commonly used passwords. Choose another."),
    ],
)
def test_weak_passwords_are_refused_when_a_user_is_created(
    password: str,
    message: str,
    browser_as: Callable[..., Browser],
    connection: Connection,
    app: Flask,
) -> None:
    """Where a new person chooses their password (their set-up link) and ``users create`` both refuse,
    with the reason, and change nothing."""
    admin = browser_as("admin")
    added = admin.post(
        "/admin/users/new", {"name": "New Person", "email": "new.person@example.nhs.uk", "roles": ["staff"]}
    )
    assert added.status_code == 302
    newcomer = app.test_client()
    open_setup_link(newcomer, accounts.find_user("new.person@example.nhs.uk"))
    before = _snapshot(connection)
    response = newcomer.post(
        "/account/set-up",
        data={"password": password, "confirm": password, "csrf_token": csrf_token(newcomer, "/account/set-up")},
    )
    assert response.status_code == 422
    assert message in _text(response)
    assert _snapshot(connection) == before
    result = app.test_cli_runner().invoke(
        args=[
            "users",
            "create",
            "other.person@example.nhs.uk",
            "--name",
            "Other Person",
            "--role",
            "staff",
            "--password-stdin",
        ],
        input=password + "\n",
    )
    assert result.exit_code == 1
    assert message in result.output
    assert _snapshot(connection) == before


def test_passwords_are_stored_only_as_argon2id_hashes(
    browser_as: Callable[..., Browser],
    app: Flask,
    connection: Connection,
) -> None:
    """A person added by an administrator chooses a password through their set-up link, then changes
    it: the database holds an Argon2id PHC string and neither password appears in any row of any table."""
    chosen, changed_to = "pebble orchard lantern 5520", "saffron viaduct kestrel 3318"
    admin = browser_as("admin")
    created = admin.post(
        "/admin/users/new", {"name": "Rowan Field", "email": "rowan.field@example.nhs.uk", "roles": ["staff"]}
    )
    assert created.status_code == 302
    newcomer = app.test_client()
    open_setup_link(newcomer, accounts.find_user("rowan.field@example.nhs.uk"))
    done = newcomer.post(
        "/account/set-up",
        data={"password": chosen, "confirm": chosen, "csrf_token": csrf_token(newcomer, "/account/set-up")},
    )
    assert done.status_code == 302
    changed = newcomer.post(
        "/account/password",
        data={"current_password": chosen, "new_password": changed_to, "csrf_token": csrf_token(newcomer)},
    )
    assert changed.status_code == 302
    stored = connection.execute(
        text("SELECT password_hash FROM users WHERE email = :email"), {"email": "rowan.field@example.nhs.uk"}
    ).scalar_one()
    assert PHC.match(stored)
    everything = repr(_snapshot(connection))
    assert chosen not in everything
    assert changed_to not in everything


def test_sign_in_rehashes_a_password_made_with_other_argon2_parameters(
    app: Flask,
    database_url: str,
    connection: Connection,
    client: FlaskClient,
    tmp_path: Path,
) -> None:
    """A user created under one Argon2 profile who signs in to an app configured with another gets a
    new hash with the app's parameters, audited as ``user:password_rehash``; the password still works."""
    older = Argon2Profile(memory_cost=2048, iterations=2, lanes=2)
    other = create_app(settings_for(database_url, tmp_path / "other", ARGON2_PROFILE=older))
    other.extensions["registry.db"].bind_override = connection
    with other.app_context():
        user = accounts.create_user(
            email="old.hash@example.nhs.uk",
            name="Old Hash",
            roles=["staff"],
            password=TEST_PASSWORD,
            actor=Actor.system("tests"),
        )
        db.session().commit()
        user_id = user.id
    hash_of = "SELECT password_hash FROM users WHERE id = :id"
    before = connection.execute(text(hash_of), {"id": user_id}).scalar_one()
    assert PHC.match(before).groups() == ("2048", "2", "2")  # type: ignore[union-attr]
    sign_in(client, db.session().get(User, user_id))  # type: ignore[arg-type]
    after = connection.execute(text(hash_of), {"id": user_id}).scalar_one()
    assert PHC.match(after).groups() == (  # type: ignore[union-attr]
        str(CHEAP_ARGON2.memory_cost),
        str(CHEAP_ARGON2.iterations),
        str(CHEAP_ARGON2.lanes),
    )
    events = (
        db.session()
        .execute(
            select(AuditEvent).where(AuditEvent.action == "user:password_rehash", AuditEvent.object_id == str(user_id))
        )
        .scalars()
        .all()
    )
    assert len(events) == 1
    assert TEST_PASSWORD not in events[0].details
    again = app.test_client()
    sign_in(again, db.session().get(User, user_id))  # type: ignore[arg-type]


# Throttling -------------------------------------------------------------------------------------


class TestSignInThrottling:
    """Flask-Limiter counts failed sign-ins per account-and-address (5 a minute) and per address
    (30 a minute); successes do not count, so an attacker elsewhere cannot lock the real user out."""

    @pytest.fixture
    def app_settings(self) -> dict[str, Any]:
        return {"RATELIMIT_ENABLED": True}

    @staticmethod
    def attempt(client: FlaskClient, token: str, email: str, password: str, address: str) -> TestResponse:
        return client.post(
            "/login",
            data={"email": email, "password": password, "csrf_token": token},
            environ_base={"REMOTE_ADDR": address},
        )

    def test_failures_on_one_account_from_one_address_are_throttled(
        self,
        client: FlaskClient,
        make_user: Callable[..., User],
        connection: Connection,
    ) -> None:
        """The sixth failure in a minute gets a friendly 429 page with Retry-After, and is not even checked."""
        user = make_user("staff")
        token = csrf_token(client)
        for _ in range(5):
            assert self.attempt(client, token, user.email, "wrong password guess", "10.1.0.1").status_code == 200
        before = _snapshot(connection)
        throttled = self.attempt(client, token, user.email, TEST_PASSWORD, "10.1.0.1")
        assert throttled.status_code == 429
        assert "Too many attempts" in _text(throttled)
        assert "Wait a few minutes, then try again." in _text(throttled)
        assert throttled.headers["Retry-After"].isdigit()
        assert _header_problems(throttled) == []
        assert _snapshot(connection) == before

    def test_an_attacker_elsewhere_cannot_lock_the_real_user_out(
        self,
        client: FlaskClient,
        make_user: Callable[..., User],
    ) -> None:
        """Guessing from another address throttles the attacker only; the user signs in from their desk."""
        user = make_user("staff")
        token = csrf_token(client)
        statuses = [
            self.attempt(client, token, user.email, f"guess number {n}", "203.0.113.9").status_code for n in range(8)
        ]
        assert statuses == [200] * 5 + [429] * 3
        desk = self.attempt(client, token, user.email, TEST_PASSWORD, "10.2.0.2")
        assert desk.status_code == 302

    def test_failures_from_one_address_are_throttled_across_accounts(
        self,
        client: FlaskClient,
        make_user: Callable[..., User],
    ) -> None:
        """Spraying many e-mails from one address stops after 30 failures; other addresses are unaffected."""
        user = make_user("staff")
        token = csrf_token(client)
        for n in range(30):
            assert (
                self.attempt(client, token, f"person{n}@example.nhs.uk", "spray password 1", "10.3.0.3").status_code
                == 200
            )
        assert self.attempt(client, token, user.email, TEST_PASSWORD, "10.3.0.3").status_code == 429
        assert self.attempt(client, token, user.email, TEST_PASSWORD, "10.3.0.4").status_code == 302

    def test_successful_sign_ins_do_not_count(self, app: Flask, make_user: Callable[..., User]) -> None:
        """Signing in many times in a minute (several tabs, a colleague's PC) is never throttled."""
        user = make_user("staff")
        for _ in range(8):
            client = app.test_client()
            response = self.attempt(client, csrf_token(client), user.email, TEST_PASSWORD, "10.4.0.4")
            assert response.status_code == 302
        client = app.test_client()
        token = csrf_token(client)
        for _ in range(4):
            assert self.attempt(client, token, user.email, "wrong password guess", "10.4.0.4").status_code == 200
        assert self.attempt(client, token, user.email, TEST_PASSWORD, "10.4.0.4").status_code == 302
