"""The app fixture hands one app to many tests (tests/app_cache.py): nothing passes between them.

Each pair of tests runs in order: the first leaves every kind of trace a test can leave, the
second is handed the same app (checked by identity, so the reuse really happens) and finds none.
An app a test changed is not handed out again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, g
from flask.testing import FlaskClient
from flask_login import current_user
from sqlalchemy import func, select

from registry import clock, create_app, db
from registry.audit.keyring import current_keyring
from registry.audit.models import AuditEvent
from registry.auth.models import User, UserSession
from registry.notifications import services as notifications
from registry.notifications.models import Notification
from tests.app_cache import changes, fingerprint, forget_additions
from tests.conftest import TEST_PASSWORD, csrf_token, settings_for, sign_in

#: What the first test of a pair saw, for the second.
LEFT: dict[str, Any] = {}
EMAIL = "left.behind@example.nhs.uk"
ADDRESS = "10.77.0.1"


def count(model: type[Any]) -> int:
    return db.session().execute(select(func.count()).select_from(model)).scalar_one()


def failed_sign_in(client: FlaskClient, address: str = ADDRESS) -> int:
    return client.post(
        "/login",
        data={"email": EMAIL, "password": "not the password at all", "csrf_token": csrf_token(client)},
        environ_base={"REMOTE_ADDR": address},
    ).status_code


class TestNothingPassesToTheNextTest:
    @pytest.fixture
    def app_settings(self) -> dict[str, Any]:
        return {"RATELIMIT_ENABLED": True}

    def test_1_leaves_rows_counts_a_sign_in_messages_files_and_a_clock(
        self,
        app: Flask,
        client: FlaskClient,
        make_user: Callable[..., User],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        LEFT.clear()
        LEFT["app"] = id(app)
        user = make_user("staff", email=EMAIL)
        # A signed-in browser, its session row and the audit trail of signing in.
        sign_in(client, user)
        assert client.get("/account").status_code == 200
        LEFT["cookie"] = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
        assert count(UserSession) >= 1 and count(AuditEvent) >= 1
        # A message in the outbox.
        notifications.notify(user, event="test:left", subject="Left behind", body="By the first test.")
        db.session().commit()
        assert count(Notification) == 1
        # Failed sign-ins counted until the account is throttled at this address.
        stranger = app.test_client()
        statuses = [failed_sign_in(stranger) for _ in range(6)]
        assert statuses[-1] == 429, statuses
        # A file in the instance folder, and a moved clock.
        folder = Path(app.instance_path) / "left-behind"
        folder.mkdir(exist_ok=True)
        (folder / "left-behind.png").write_bytes(b"not really a picture")
        monkeypatch.setattr(clock, "today", lambda: dt.date(2001, 2, 3))
        assert clock.today() == dt.date(2001, 2, 3)
        # The app context's globals.
        g.left_behind = True
        LEFT["instance"] = app.instance_path

    def test_2_finds_none_of_them(self, app: Flask, make_user: Callable[..., User]) -> None:
        if "instance" not in LEFT:
            pytest.skip("runs after test_1 (it checks what that test left)")
        assert id(app) == LEFT["app"], "the same app was not handed out again: this pair proves nothing"
        assert app.instance_path == LEFT["instance"]
        assert count(User) == count(UserSession) == count(AuditEvent) == count(Notification) == 0
        assert list(Path(app.instance_path).iterdir()) == []
        assert Path(app.instance_path).stat().st_mode & 0o777 == 0o700
        assert clock.today() != dt.date(2001, 2, 3)
        assert app.jinja_env.globals["today"]() != dt.date(2001, 2, 3)
        assert "left_behind" not in g
        with app.test_request_context("/account"):
            assert not current_user.is_authenticated
        # The last test's session cookie signs nobody in (the account is gone, and so is its session).
        browser = app.test_client()
        browser.set_cookie(app.config["SESSION_COOKIE_NAME"], LEFT["cookie"])
        assert browser.get("/account").status_code == 302
        # The counts start again: the same account at the same address is not throttled.
        make_user("staff", email=EMAIL, password=TEST_PASSWORD)
        assert failed_sign_in(app.test_client()) == 200


class TestAnAppATestChangedIsNotHandedOut:
    def test_1_changes_a_setting_and_adds_a_route_and_a_hook(self, app: Flask) -> None:
        LEFT.clear()
        LEFT["app"] = id(app)
        app.config["PER_PAGE"] = 1
        app.add_url_rule("/left-by-a-test", "left_by_a_test", lambda: "left")
        app.before_request(lambda: None)

    def test_2_gets_a_new_app(self, app: Flask, client: FlaskClient) -> None:
        if "app" not in LEFT:
            pytest.skip("runs after test_1 (it checks what that test left)")
        assert id(app) != LEFT["app"]
        assert app.config.get("PER_PAGE") != 1
        assert "left_by_a_test" not in app.view_functions


CHANGES: dict[str, Callable[[Flask], Any]] = {
    "setting": lambda app: app.config.update(TRUST_NAME="Changed by a test"),
    "before_request": lambda app: app.before_request(lambda: None),
    "after_request": lambda app: app.after_request(lambda response: response),
    "teardown_request": lambda app: app.teardown_request(lambda error: None),
    "error_handler": lambda app: app.register_error_handler(418, lambda error: ("", 418)),
    "jinja_global": lambda app: app.jinja_env.globals.update(extra=1),
    "jinja_filter": lambda app: app.jinja_env.filters.update(extra=str),
    "extension": lambda app: app.extensions.update({"registry.settings": object()}),
    "extension_attribute": lambda app: setattr(app.extensions["registry.db"], "engine", None),
    "wsgi_app": lambda app: setattr(app, "wsgi_app", lambda environ, start: []),
    "route": lambda app: app.add_url_rule("/extra", "extra", lambda: ""),
    "command": lambda app: app.cli.add_command(app.cli.__class__("extra")),
    "converter": lambda app: app.url_map.converters.update(extra=object),
    "secret_key": lambda app: setattr(app, "secret_key", "another"),
}


@pytest.mark.parametrize("name", [*CHANGES, None])
def test_the_fingerprint_sees_each_change_and_serving_requests_is_none(
    name: str | None, tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each way a test could change an app shows in its fingerprint; serving pages, errors and
    sign-in attempts does not (or every app would be dropped after one test)."""
    monkeypatch.setenv("REGISTRY_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(settings_for(database_url))
    engine = db.database(app).engine
    try:
        client = app.test_client()
        client.get("/login")
        before = fingerprint(app)
        client.get("/login")
        client.get("/no-such-page")
        client.get("/healthz")
        client.post("/login", data={"email": EMAIL, "password": "wrong", "csrf_token": csrf_token(client)})
        with app.app_context():
            current_keyring()  # made on first use; taken out after each test
            forget_additions(app, before)
        assert changes(before, fingerprint(app), app) == []
        if name is not None:
            app._got_first_request = False
            CHANGES[name](app)
            assert changes(before, fingerprint(app), app) != []
    finally:
        engine.dispose()
