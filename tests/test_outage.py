"""The database goes away and comes back (issue 9, §5): pages and the API answer 503 with
``Retry-After`` (a plain page, problem+json), never a 500 or a stack trace; ``/healthz`` stays up,
``/readyz`` follows the database; the same process serves normally once the database returns.

The outages are real: PostgreSQL is reached through a TCP relay these tests start and cut (new
connections refused, open ones broken, as when the server restarts or the network fails), and
SQLite through a file whose folder is missing. The app is built here, not by the rolled-back
``app`` fixture, because a connection held inside an outer transaction could not be cut.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from werkzeug.test import TestResponse

from registry import create_app, db
from registry.audit.services import Actor
from registry.auth import services as accounts
from registry.auth.models import User
from registry.auth.permissions import public
from registry.channels.models import Channel
from registry.errors import Unavailable
from registry.web.throttle import limiter
from tests import pg_available
from tests.conftest import (
    TEST_PASSWORD,
    IsolatedClient,
    migrate,
    migrated_database,
    settings_for,
    sign_in,
)

POSTGRES_URL = (
    os.environ.get("REGISTRY_TEST_DATABASE_URL")
    or os.environ.get("REGISTRY_TEST_POSTGRES_URL")
    or "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
CHECK_URL = "/verify?url=https://x.com/someone"
CHANNEL_REQUEST = {
    "platform": "x",
    "handle": "@OutageTest",
    "display_name": "Outage test",
    "department": "Estates",
    "purpose": "Testing what a request does when the database goes away.",
    "audience": "Nobody.",
    "policy_acknowledged": True,
}
LEAKS = re.compile(
    r"Traceback|File \"|psycopg|sqlite3|sqlalchemy|SELECT |INSERT |UPDATE ",
    re.IGNORECASE,
)


class Relay:
    """A TCP relay to PostgreSQL that a test can cut: ``cut()`` refuses new connections and
    breaks every open one (both ends closed), ``restore()`` listens again on the same port."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = 0
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listening: threading.Event | None = None

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        listener.settimeout(0.05)
        self.port = listener.getsockname()[1]
        self._listening = threading.Event()
        self._listening.set()
        threading.Thread(target=self._accept, args=(listener, self._listening), daemon=True).start()

    restore = start

    def _accept(self, listener: socket.socket, listening: threading.Event) -> None:
        with listener:
            while listening.is_set():
                try:
                    client, _ = listener.accept()
                except TimeoutError:
                    continue
                except OSError:
                    return
                try:
                    server = socket.create_connection(self.upstream, timeout=5)
                    server.settimeout(None)
                except OSError:
                    client.close()
                    continue
                with self._lock:
                    self._open |= {client, server}
                for source, sink in ((client, server), (server, client)):
                    threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            self._break(source, sink)

    def _break(self, *sockets: socket.socket) -> None:
        for sock in sockets:
            with self._lock:
                self._open.discard(sock)
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def cut(self) -> None:
        assert self._listening is not None
        self._listening.clear()
        # The listener closes within one accept timeout; wait so no connection slips in meanwhile.
        threading.Event().wait(0.2)
        with self._lock:
            open_now = list(self._open)
        self._break(*open_now)

    def close(self) -> None:
        if self._listening is not None and self._listening.is_set():
            self.cut()


@dataclass
class Outage:
    """A test app on a database this test can take away, a signed-in staff member and their API token."""

    app: Flask
    user: User
    browser: FlaskClient
    #: A client without cookies, as an API client is; ``token`` goes with it.
    api: FlaskClient
    token: dict[str, str]
    #: Where the next request cuts the relay: "view" (after the route guard) or "commit".
    cut_at: list[str]


def _build_app(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Flask:
    monkeypatch.setenv("REGISTRY_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(settings_for(url))
    app.test_client_class = IsolatedClient
    return app


def _staff_member(app: Flask) -> tuple[User, dict[str, str]]:
    with app.app_context():
        user = accounts.create_user(
            email=f"outage-{secrets.token_hex(3)}@example.nhs.uk",
            name="Olive Outage",
            roles=["staff"],
            password=TEST_PASSWORD,
            actor=Actor.system("tests"),
        )
        _token, value = accounts.create_token(user, actor=Actor.system("tests"))
        db.session().commit()
        return user, {"Authorization": f"Bearer {value}"}


def _signed_in(app: Flask) -> Outage:
    user, token = _staff_member(app)
    browser = app.test_client()
    sign_in(browser, user)
    return Outage(app, user, browser, app.test_client(), token, cut_at=[])


def _cut_mid_request(app: Flask, relay: Relay, cut_at: list[str]) -> None:
    """Cut ``relay`` after the route guard has loaded the user, so the view's own queries fail
    ("view"), or after the view has written its change, so the commit fails ("commit")."""

    @app.before_request
    def _cut_in_view() -> None:  # registered after the route guard, so it runs after it
        if cut_at == ["view"]:
            relay.cut()

    @app.after_request
    def _cut_before_commit(
        response: Any,
    ) -> Any:  # registered last, so it runs before the commit
        if cut_at == ["commit"]:
            relay.cut()
        return response


@pytest.fixture
def relay() -> Iterator[Relay]:
    if pg_available.main(POSTGRES_URL) != 0:
        pytest.skip(
            f"PostgreSQL does not answer at {make_url(POSTGRES_URL).render_as_string()}: connection-cut tests skipped"
        )
    base = make_url(POSTGRES_URL)
    relay = Relay((base.host or "127.0.0.1", base.port or 5432))
    relay.start()
    yield relay
    relay.close()


@pytest.fixture
def postgres(relay: Relay, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Outage]:
    """An app whose every database connection passes through ``relay``."""
    with migrated_database(POSTGRES_URL, tmp_path) as url:
        through_relay = make_url(url).set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
        app = _build_app(through_relay, tmp_path, monkeypatch)
        cut_at: list[str] = []
        _cut_mid_request(app, relay, cut_at)
        try:
            outage = _signed_in(app)
            outage.cut_at = cut_at
            yield outage
        finally:
            db.database(app).engine.dispose()


def _errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.levelno >= logging.ERROR]


def assert_outage(response: TestResponse, caplog: pytest.LogCaptureFixture, *, api: bool) -> None:
    """503 with Retry-After, the plain page or problem+json, nothing kept by caches, no internals
    shown, and exactly one ERROR log line naming the exception type, without a traceback."""
    body = response.get_data(as_text=True)
    assert response.status_code == 503, body[:500]
    assert int(response.headers["Retry-After"]) > 0
    assert response.headers["Cache-Control"] == "no-store"
    assert "Location" not in response.headers and "Content-Disposition" not in response.headers
    assert "default-src 'none'" in response.headers["Content-Security-Policy"], "the security headers are kept"
    assert LEAKS.search(body) is None, body
    if api:
        assert response.mimetype == "application/problem+json"
        problem = response.get_json()
        assert problem["status"] == 503
        assert problem["title"] == "Sorry, the service is unavailable"
        assert "try again" in problem["detail"].lower()
    else:
        assert response.mimetype == "text/html"
        assert "nhsuk-header" in body and "nhsuk-footer" in body
        assert re.search(r"<h1[^>]*>\s*Sorry, the service is unavailable\s*</h1>", body)
        assert "Olive Outage" not in body, "the outage page must not read the signed-in user"
    errors = _errors(caplog)
    assert len(errors) == 1, [record.getMessage() for record in errors]
    [error] = errors
    assert error.exc_info is None and error.exc_text is None, "a traceback was logged"
    assert "OperationalError" in error.getMessage()
    caplog.clear()


def assert_serving(outage: Outage, anonymous: FlaskClient) -> None:
    """What the outage refused works again in the same process."""
    home = outage.browser.get("/")
    assert home.status_code == 200 and "Olive Outage" in home.get_data(as_text=True)
    assert anonymous.get(CHECK_URL).status_code == 200
    assert outage.api.get("/api/v1/channels", headers=outage.token).status_code == 200
    assert anonymous.get("/api/v1/verify?url=https://x.com/someone").status_code == 200
    ready = anonymous.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["status"] == "ok"


def test_postgres_going_away_gives_503s_and_the_app_recovers_by_itself(
    postgres: Outage,
    relay: Relay,
    caplog: pytest.LogCaptureFixture,
) -> None:
    anonymous = postgres.app.test_client()
    assert_serving(postgres, anonymous)

    relay.cut()
    caplog.clear()
    for _ in range(2):  # the pooled connections are broken, then new ones are refused
        assert_outage(postgres.browser.get("/"), caplog, api=False)
        assert_outage(anonymous.get(CHECK_URL), caplog, api=False)
        assert_outage(
            postgres.api.get("/api/v1/channels", headers=postgres.token),
            caplog,
            api=True,
        )
        assert_outage(anonymous.get("/api/v1/verify?url=https://x.com/someone"), caplog, api=True)
        assert_outage(
            postgres.api.post("/api/v1/channels", json=CHANNEL_REQUEST, headers=postgres.token),
            caplog,
            api=True,
        )
    live = anonymous.get("/healthz")
    assert live.status_code == 200 and live.get_json() == {"status": "ok"}
    assert live.headers["Cache-Control"] == "no-store"
    ready = anonymous.get("/readyz")
    assert ready.status_code == 503 and ready.mimetype == "application/json"
    assert ready.get_json()["status"] == "unavailable"
    assert int(ready.headers["Retry-After"]) > 0 and ready.headers["Cache-Control"] == "no-store"
    assert LEAKS.search(ready.get_data(as_text=True)) is None
    assert _errors(caplog) == [], "health checks log no errors"

    relay.restore()
    assert_serving(postgres, anonymous)
    assert _errors(caplog) == []


@pytest.mark.parametrize("where", ["view", "commit"])
def test_a_connection_cut_mid_request_gives_a_503_and_saves_nothing(
    postgres: Outage,
    relay: Relay,
    caplog: pytest.LogCaptureFixture,
    where: str,
) -> None:
    """Cut after the route guard has loaded the user (the view's own queries fail) or after the
    view has written its change (the commit fails): a 503, and the change is not half-saved."""
    caplog.clear()
    postgres.cut_at.append(where)
    assert_outage(
        postgres.api.post("/api/v1/channels", json=CHANNEL_REQUEST, headers=postgres.token),
        caplog,
        api=True,
    )
    postgres.cut_at.clear()
    relay.restore()
    postgres.cut_at.append(where)
    assert_outage(postgres.browser.get("/"), caplog, api=False)
    postgres.cut_at.clear()

    relay.restore()
    anonymous = postgres.app.test_client()
    assert_serving(postgres, anonymous)
    with postgres.app.app_context():
        assert db.session().execute(select(func.count()).select_from(Channel)).scalar_one() == 0
    created = postgres.api.post("/api/v1/channels", json=CHANNEL_REQUEST, headers=postgres.token)
    assert created.status_code == 201, created.get_data(as_text=True)
    assert _errors(caplog) == []


def test_a_sqlite_database_that_cannot_be_opened_gives_503s_until_it_is_there(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The database file's folder is missing (a volume not mounted yet): 503s, then the folder is
    made and migrated, and the same app serves."""
    folder = tmp_path / "not-mounted-yet"
    url = f"sqlite:///{folder / 'registry.db'}"
    app = _build_app(url, tmp_path, monkeypatch)
    anonymous = app.test_client()
    returning = app.test_client()  # a browser still holding a session cookie from before
    with returning.session_transaction() as cookie:
        cookie["_user_id"] = "1"
        cookie["sid"] = secrets.token_urlsafe(32)
    fake_token = {"Authorization": "Bearer scr_" + secrets.token_urlsafe(32)}

    caplog.clear()
    assert_outage(returning.get("/"), caplog, api=False)
    assert_outage(anonymous.get(CHECK_URL), caplog, api=False)
    assert_outage(anonymous.get("/api/v1/channels", headers=fake_token), caplog, api=True)
    assert_outage(anonymous.get("/api/v1/verify?url=https://x.com/someone"), caplog, api=True)
    assert anonymous.get("/healthz").status_code == 200
    ready = anonymous.get("/readyz")
    assert ready.status_code == 503 and int(ready.headers["Retry-After"]) > 0
    assert not folder.exists(), "the app must not create the missing folder itself"

    folder.mkdir()
    migrate(url)
    try:
        assert_serving(_signed_in(app), anonymous)
    finally:
        db.database(app).engine.dispose()
    assert _errors(caplog) == []


def test_every_503_from_a_refusal_says_when_to_try_again(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
) -> None:
    """``Unavailable`` (upload storage full, and the like) answers 503 with Retry-After, on pages and in the API."""
    app = _build_app(database_url, tmp_path, monkeypatch)

    def storage_full() -> None:
        raise Unavailable("File storage is full. Try again later.")

    app.add_url_rule("/storage-full", "storage_full_page", public(storage_full))
    app.add_url_rule("/api/storage-full", "storage_full_api", public(storage_full))
    client = app.test_client()
    for path, mimetype in (
        ("/storage-full", "text/html"),
        ("/api/storage-full", "application/problem+json"),
    ):
        response = client.get(path)
        assert response.status_code == 503 and response.mimetype == mimetype
        assert response.headers["Retry-After"] == str(Unavailable.retry_after)
        assert "File storage is full." in response.get_data(as_text=True)


def test_health_checks_are_never_rate_limited(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
) -> None:
    """Even under an application-wide limit a load balancer's probes always get through."""
    monkeypatch.setenv("REGISTRY_INSTANCE_PATH", str(tmp_path / "instance"))
    # The one Limiter keeps an application-wide limit once an app sets it (one app per process in
    # production); put it back as it was, or every later test's sign-in would be limited by it.
    monkeypatch.setattr(limiter.limit_manager, "_application_limits", list(limiter.limit_manager._application_limits))
    app = create_app(
        settings_for(
            database_url,
            RATELIMIT_ENABLED=True,
            RATELIMIT_APPLICATION="3 per minute",
            RATELIMIT_STORAGE_URI="memory://",
        )
    )
    client = app.test_client()
    assert [client.get("/policy").status_code for _ in range(4)][-1] == 429, "the limit is not in force"
    for path in ("/healthz", "/readyz"):
        assert {client.get(path).status_code for _ in range(10)} == {200}
