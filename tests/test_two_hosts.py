"""Two hosts, one Registry (issue 12): production is several stateless app processes on several hosts,
over one database and one Redis. Here two hosts are two real gunicorn servers, each with an instance
folder of its own, on one database (this run's: a SQLite file, or PostgreSQL when
REGISTRY_TEST_DATABASE_URL is set) and one Redis, with the same secret key, vault and audit keys, in
production mode behind a (pretend) TLS-terminating proxy. They must agree:

- a file uploaded through A downloads through B, byte for byte;
- a session made on A works on B (and signing out on B ends it on A);
- the rate limit is shared: the sign-in limit is reached at its configured count in total, not per host;
- public verification on B follows a change made through A within the index's bound
  (:data:`~registry.verification.index.FRESH_FOR`), and a change typed straight into the database too;
  so does the public directory (a new ETag, the channel listed as retired).

Each check is a function taking :class:`TwoHosts` (both base addresses, a way to make people and to sign
them in on either host, API tokens); a new check is one more such function and a one-line test.
Skipped, saying why, when Redis does not answer.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
import requests
from flask import Flask
from limits import parse_many
from PIL import Image
from sqlalchemy import select, text

import config as registry_config
from registry import db
from registry.audit.services import Actor
from registry.auth import mfa
from registry.auth import services as accounts
from registry.auth.models import User
from registry.auth.passwords import hash_password
from registry.channels import services as channels
from registry.uploads.models import Upload
from registry.verification.index import FRESH_FOR
from registry.web.throttle import SIGN_IN_PER_ACCOUNT
from tests.conftest import TEST_AUDIT_KEYS, TEST_PASSWORD, _postgres_url, enrol_two_factor, next_code
from tests.live_server import live_app, migrated_database
from tests.test_consent import form as consent_form

REDIS_URL = os.environ.get("REGISTRY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PROJECT = Path(__file__).resolve().parent.parent
START_SECONDS = 90
#: What a poll may take beyond the verification index's bound: a reload of the index, and a slow machine.
MARGIN_SECONDS = 2.0
_CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


# --- the harness ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Host:
    name: str
    base: str
    instance: Path
    log: Path


@dataclass(frozen=True)
class Person:
    id: int
    email: str
    name: str
    password: str = TEST_PASSWORD


@dataclass
class Visitor:
    """A browser: it keeps its cookies (whichever host set them, as one site behind a load balancer is
    one origin) and sends them to whichever host it is pointed at. Requests arrive as HTTPS through the
    proxy (``X-Forwarded-Proto``), so production's secure cookies and strict CSRF checks apply."""

    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, host: Host, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {
            "X-Forwarded-Proto": "https",
            "Referer": f"https://{urlsplit(host.base).netloc}{path}",
            **kwargs.pop("headers", {}),
        }
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        response = requests.request(
            method, host.base + path, headers=headers, allow_redirects=False, timeout=30, **kwargs
        )
        for header in response.raw.headers.getlist("Set-Cookie"):
            for name, morsel in SimpleCookie(header).items():
                if morsel["max-age"] == "0" or morsel["expires"].startswith("Thu, 01 Jan 1970"):
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return response

    def get(self, host: Host, path: str, **kwargs: Any) -> requests.Response:
        return self.request(host, "GET", path, **kwargs)

    def post_form(self, host: Host, path: str, data: dict[str, Any], **kwargs: Any) -> requests.Response:
        """Post a form of ``path`` (or ``form_path``) as a browser does: with the CSRF token of its page."""
        page = self.get(host, kwargs.pop("form_path", path))
        assert page.status_code == 200, (page.status_code, page.text[:500])
        match = _CSRF.search(page.text)
        assert match is not None, f"no CSRF token on {path}"
        return self.request(host, "POST", path, data={**data, "csrf_token": match.group(1)}, **kwargs)


@dataclass
class TwoHosts:
    """Host A and host B, and an app of the test's own on the same database and keys (to make people,
    issue tokens and look at what was stored; it serves nothing)."""

    a: Host
    b: Host
    app: Flask

    def person(self, *roles: str) -> Person:
        """A new person with these roles (``staff`` by default), two-factor set up where the roles need it."""
        chosen = roles or ("staff",)
        with self.app.app_context():
            tag = secrets.token_hex(4)
            user = accounts.create_user(
                email=f"{'-'.join(chosen)}-{tag}@example.nhs.uk",
                name=f"{chosen[0].capitalize()} {tag}",
                roles=chosen,
                password=None,
                actor=Actor.system("tests"),
            )
            user.password_hash = hash_password(TEST_PASSWORD)
            if mfa.requires_two_factor(user):
                enrol_two_factor(user)
            db.session().commit()
            return Person(user.id, user.email, user.name)

    def sign_in(self, host: Host, person: Person, visitor: Visitor | None = None) -> Visitor:
        """Sign ``person`` in through ``host``'s pages (with the second factor when they have one)."""
        visitor = visitor or Visitor()
        response = visitor.post_form(host, "/login", {"email": person.email, "password": person.password})
        assert response.status_code in (302, 303), (response.status_code, response.text[:1000])
        if urlsplit(response.headers["Location"]).path == "/login/mfa":
            with self.app.app_context():
                code = next_code(db.session().get_one(User, person.id))
            response = visitor.post_form(host, "/login/mfa", {"code": code})
            assert response.status_code in (302, 303), (response.status_code, response.text[:1000])
        return visitor

    def api_token(self, person: Person) -> dict[str, str]:
        """Authorization headers with a new API token for ``person`` (it counts as their second factor)."""
        with self.app.app_context():
            _token, value = accounts.create_token(db.session().get_one(User, person.id), actor=Actor.system("tests"))
            db.session().commit()
        return {"Authorization": f"Bearer {value}"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def host(name: str, directory: Path, environment: dict[str, str]) -> Iterator[Host]:
    """One host: gunicorn serving the app from an instance folder of its own, until the block ends."""
    instance = directory / f"host-{name}"
    log = directory / f"host-{name}.log"
    port = free_port()
    with log.open("wb") as output:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                "1",
                "--bind",
                f"127.0.0.1:{port}",
                "--graceful-timeout",
                "5",
                "wsgi:app",
            ],
            cwd=PROJECT,
            env={**environment, "REGISTRY_INSTANCE_PATH": str(instance)},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    started = Host(name, f"http://127.0.0.1:{port}", instance, log)
    try:
        wait_until_ready(started, server)
        yield started
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def wait_until_ready(host: Host, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"host {host.name} stopped while starting:\n{host.log.read_text()[-3000:]}")
        try:
            if requests.get(host.base + "/readyz", timeout=10).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or the worker still loading the app
            pass
        time.sleep(0.2)
    pytest.fail(f"host {host.name} was not ready within {START_SECONDS} s:\n{host.log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def two_hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoHosts]:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis does not answer at {REDIS_URL} ({exc}): the two-host checks need a shared one")
    directory = tmp_path_factory.mktemp("two-hosts")
    shared = {
        "SECRET_KEY": secrets.token_urlsafe(48),
        "MASTER_KEYS": registry_config.generate_master_key_entry(),
        "AUDIT_KEYS": TEST_AUDIT_KEYS,
        "FINGERPRINT_KEYS": registry_config.generate_master_key_entry(),
    }
    with ExitStack() as stack:
        url = stack.enter_context(migrated_database(_postgres_url(), directory))
        environment = {
            **{name: value for name, value in os.environ.items() if not name.startswith("REGISTRY_")},
            **{f"REGISTRY_{name}": value for name, value in shared.items()},
            "REGISTRY_ENV": "production",
            "REGISTRY_DATABASE_URL": url,
            "REGISTRY_RATELIMIT_STORAGE_URI": REDIS_URL,
            # This run's counts only, whatever else uses the same Redis.
            "REGISTRY_RATELIMIT_KEY_PREFIX": f"two-hosts-{secrets.token_hex(8)}",
            "REGISTRY_TRUSTED_PROXIES": "1",
            "PYTHONPATH": str(PROJECT),
        }
        a = stack.enter_context(host("a", directory, environment))
        b = stack.enter_context(host("b", directory, environment))
        app = live_app(url, directory / "test-app", **shared)
        stack.callback(lambda: db.database(app).engine.dispose())
        yield TwoHosts(a, b, app)


# --- the checks -------------------------------------------------------------------------------------------


def a_file_uploaded_through_a_downloads_through_b(hosts: TwoHosts) -> None:
    """Artwork sent with a consent request through A is listed and served by B, the same bytes as A serves
    and as stored (their SHA-256); neither host keeps a copy on its disk."""
    picture = io.BytesIO()
    Image.effect_noise((64, 48), 60).convert("RGB").save(picture, "PNG")
    person = hosts.person("staff")
    visitor = hosts.sign_in(hosts.a, person)
    fields = {name: value for name, value in consent_form().items() if name != "artwork"}
    sent = visitor.post_form(
        hosts.a, "/consents/new", fields, files=[("artwork", ("poster.png", picture.getvalue(), "image/png"))]
    )
    assert sent.status_code in (302, 303), (sent.status_code, sent.text[:2000])
    reference = urlsplit(sent.headers["Location"]).path.rstrip("/").split("/")[-1]

    page = visitor.get(hosts.b, f"/consents/{reference}")
    assert page.status_code == 200
    links = set(re.findall(rf"/consents/{reference}/files/(\d+)", page.text))
    assert len(links) == 1, links
    path = f"/consents/{reference}/files/{links.pop()}"
    from_b, from_a = visitor.get(hosts.b, path), visitor.get(hosts.a, path)
    assert from_b.status_code == 200 and from_a.status_code == 200
    assert from_b.headers["Content-Type"] == "image/png"
    assert from_b.headers["Content-Disposition"].startswith("attachment;")
    assert from_b.content == from_a.content
    with hosts.app.app_context():
        upload = db.session().scalars(select(Upload).where(Upload.uploaded_by_id == person.id)).one()
        assert hashlib.sha256(from_b.content).hexdigest() == upload.sha256
    assert not (hosts.a.instance / "uploads").exists() and not (hosts.b.instance / "uploads").exists()


def a_session_made_on_a_works_on_b(hosts: TwoHosts) -> None:
    """Signed in on A, the same cookie is signed in on B; signing out on B ends it on A too."""
    person = hosts.person("staff")
    visitor = hosts.sign_in(hosts.a, person)
    on_b = visitor.get(hosts.b, "/account")
    assert on_b.status_code == 200, (on_b.status_code, on_b.headers.get("Location"))
    assert person.email in on_b.text

    stranger = Visitor().get(hosts.b, "/account")
    assert stranger.status_code in (302, 303) and urlsplit(stranger.headers["Location"]).path == "/login"

    kept = Visitor(dict(visitor.cookies))  # the cookie as it was, even after B is told to forget it
    signed_out = visitor.post_form(hosts.b, "/logout", {}, form_path="/account")
    assert signed_out.status_code in (302, 303)
    after = kept.get(hosts.a, "/account")
    assert after.status_code in (302, 303) and urlsplit(after.headers["Location"]).path == "/login"


def the_rate_limit_is_shared(hosts: TwoHosts) -> None:
    """Failed sign-ins at one account from one address, alternately through A and B: the limit is reached
    at its configured count in total (per-host counts would allow that many on each)."""
    limit = parse_many(SIGN_IN_PER_ACCOUNT)[0].amount
    person = hosts.person("staff")
    wrong = {"email": person.email, "password": "not the password"}
    # A browser each: nothing but the limiter's storage connects the attempts.
    visitors = {hosts.a.name: Visitor(), hosts.b.name: Visitor()}
    statuses = []
    for attempt in range(limit + 2):
        at = hosts.a if attempt % 2 == 0 else hosts.b
        statuses.append((at.name, visitors[at.name].post_form(at, "/login", wrong).status_code))
    expected = [("a" if n % 2 == 0 else "b", 200 if n < limit else 429) for n in range(limit + 2)]
    assert statuses == expected


def active_channel(hosts: TwoHosts, handle: str) -> tuple[str, int]:
    """A channel on X with this handle, approved and live (through the services, committed): its
    reference and id."""
    requester, comms = hosts.person("staff"), hosts.person("comms")
    with hosts.app.app_context(), db.transaction() as session:
        channel = channels.request_channel(
            channels.ChannelRequest(
                platform="x",
                handle=handle,
                display_name=f"{handle} official",
                department="Communications",
                purpose="News for patients.",
                audience="Patients and visitors.",
                policy_acknowledged=True,
            ),
            session.get_one(User, requester.id),
        )
        for action in ("approve", "activate"):
            channels.transition(channel, action, session.get_one(User, comms.id), reason="Set up for the test.")
        return channel.reference, channel.id


def verify_on(host: Host, handle: str) -> dict[str, Any]:
    answer = requests.get(host.base + "/api/v1/verify", params={"platform": "x", "handle": handle}, timeout=30)
    assert answer.status_code == 200, (answer.status_code, answer.text[:500])
    found: dict[str, Any] = answer.json()
    return found


def within_the_bound(host: Host, handle: str, until: Any) -> tuple[bool, dict[str, Any]]:
    """Ask ``host`` until its answer satisfies ``until``, for at most the bound and the margin."""
    deadline = time.monotonic() + FRESH_FOR + MARGIN_SECONDS
    answer = verify_on(host, handle)
    while not until(answer) and time.monotonic() < deadline:
        time.sleep(0.05)
        answer = verify_on(host, handle)
    return until(answer), answer


def verification_on_b_follows_a_change_made_through_a(hosts: TwoHosts) -> None:
    """B has answered "official" from its own index; A retires the channel (the API, as comms), and
    within the bound B answers "formerly official". A display name changed in plain SQL (no application
    involved) reaches B within the bound too."""
    tag = secrets.token_hex(3)
    retiring, renamed = f"Hosp{tag}", f"Wards{tag}"
    reference, _ = active_channel(hosts, retiring)
    _, other = active_channel(hosts, renamed)
    assert verify_on(hosts.b, retiring)["official"] is True
    assert verify_on(hosts.a, retiring)["official"] is True
    assert verify_on(hosts.b, renamed)["channel"]["display_name"] == f"{renamed} official"

    retired = Visitor().request(
        hosts.a,
        "POST",
        f"/api/v1/channels/{reference}/transitions",
        json={"action": "retire", "reason": "Merged into the main account."},
        headers=hosts.api_token(hosts.person("comms")),
    )
    assert retired.status_code == 200, (retired.status_code, retired.text[:500])
    assert retired.json()["status"] == "retired"
    flipped, answer = within_the_bound(
        hosts.b, retiring, lambda v: (v["official"], v["formerly_official"]) == (False, True)
    )
    assert flipped, answer

    with hosts.app.app_context(), db.database().engine.begin() as connection:
        connection.execute(text("UPDATE channels SET display_name = 'Example Wards' WHERE id = :id"), {"id": other})
    changed, answer = within_the_bound(hosts.b, renamed, lambda v: v["channel"]["display_name"] == "Example Wards")
    assert changed, answer


def directory_entry(host: Host, handle: str, etag: str | None = None) -> tuple[dict[str, Any] | None, str, int]:
    """The directory's entry for the X account ``handle`` on ``host`` (None if it is not listed), the
    answer's ETag and status (304 when ``etag`` still holds)."""
    answer = requests.get(host.base + "/api/v1/directory", headers={"If-None-Match": etag} if etag else {}, timeout=30)
    assert answer.status_code in (200, 304), (answer.status_code, answer.text[:500])
    if answer.status_code == 304:
        return None, answer.headers["ETag"], 304
    found = [item for item in answer.json()["items"] if (item["platform"], item["handle"]) == ("x", handle.lower())]
    return (found[0] if found else None), answer.headers["ETag"], 200


def directory_within_the_bound(
    host: Host, handle: str, until: Any, etag: str | None = None
) -> tuple[dict[str, Any] | None, str, int]:
    """Ask ``host`` for the directory (conditionally on ``etag``) until its entry for ``handle``
    satisfies ``until``, for at most the bound and the margin."""
    deadline = time.monotonic() + FRESH_FOR + MARGIN_SECONDS
    found = directory_entry(host, handle, etag)
    while not until(found[0]) and time.monotonic() < deadline:
        time.sleep(0.05)
        found = directory_entry(host, handle, etag)
    return found


def the_directory_on_b_follows_a_retirement_through_a(hosts: TwoHosts) -> None:
    """B lists a new channel as official within the bound (and answers 304 to its own ETag); A retires
    it, and within the bound B lists it as retired, under a new ETag."""
    handle = f"Dir{secrets.token_hex(3)}"
    reference, _ = active_channel(hosts, handle)
    listed, etag, _ = directory_within_the_bound(hosts.b, handle, lambda e: e is not None)
    assert listed is not None and listed["status"] == "active", listed
    assert directory_entry(hosts.b, handle, etag)[2] == 304

    retired = Visitor().request(
        hosts.a,
        "POST",
        f"/api/v1/channels/{reference}/transitions",
        json={"action": "retire", "reason": "Merged into the main account."},
        headers=hosts.api_token(hosts.person("comms")),
    )
    assert retired.status_code == 200, (retired.status_code, retired.text[:500])
    entry, new_etag, status = directory_within_the_bound(hosts.b, handle, lambda e: e is not None, etag)
    assert status == 200 and new_etag != etag
    assert entry is not None and entry["status"] == "retired" and entry["official_until"], entry


# --- one test per check -----------------------------------------------------------------------------------


def test_a_file_uploaded_through_a_downloads_through_b(two_hosts: TwoHosts) -> None:
    a_file_uploaded_through_a_downloads_through_b(two_hosts)


def test_a_session_made_on_a_works_on_b(two_hosts: TwoHosts) -> None:
    a_session_made_on_a_works_on_b(two_hosts)


def test_the_rate_limit_is_shared(two_hosts: TwoHosts) -> None:
    the_rate_limit_is_shared(two_hosts)


def test_verification_on_b_follows_a_change_made_through_a(two_hosts: TwoHosts) -> None:
    verification_on_b_follows_a_change_made_through_a(two_hosts)


def test_the_directory_on_b_follows_a_retirement_through_a(two_hosts: TwoHosts) -> None:
    the_directory_on_b_follows_a_retirement_through_a(two_hosts)
