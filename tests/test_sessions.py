"""Sign-in sessions end when they should: sign-out (a replayed cookie is useless),
30 minutes idle, 12 hours in all, deactivation, a change of roles and a password
change (the other sessions only). A temporary password must be changed first.

Time is moved by editing the session's row in the database, not by mocking the clock.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from registry import db
from registry.auth.models import AccountRequest, User, UserSession
from tests.conftest import TEST_PASSWORD, Browser, csrf_token, enrol_two_factor, sign_in

NEW_PASSWORD = "juniper tramline copper 8814"
SIGN_IN_FAILED = "Enter a correct email address and password."


def _signed_in(client: FlaskClient) -> bool:
    """True when ``client`` reaches its account page; False when sent to sign in."""
    response = client.get("/account")
    if response.status_code == 200:
        return True
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"
    return False


def _sessions_of(user: User) -> list[UserSession]:
    session = db.session()
    session.expire_all()
    return list(
        session.execute(select(UserSession).where(UserSession.user_id == user.id).order_by(UserSession.id)).scalars()
    )


def _move_clock(user: User, *, idle: dt.timedelta | None = None, age: dt.timedelta | None = None) -> None:
    """Make ``user``'s open sessions look idle for ``idle`` and started ``age`` ago."""
    now = db.utcnow()
    values = {}
    if idle is not None:
        values["last_seen_at"] = now - idle
    if age is not None:
        values["created_at"] = now - age
    db.session().execute(
        update(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None)).values(**values)
    )
    db.session().commit()


def _login_page_message(client: FlaskClient) -> str:
    return html.unescape(client.get("/login").get_data(as_text=True))


def _token_on(client: FlaskClient, path: str) -> str:
    match = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', client.get(path).get_data(as_text=True))
    assert match is not None
    return match.group(1)


def _replay(app: Flask, cookie_value: str) -> FlaskClient:
    """A new browser holding a copy of someone's session cookie."""
    thief = app.test_client()
    thief.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie_value)
    return thief


def test_a_copied_cookie_is_useless_after_sign_out(app: Flask, browser_as: Callable[..., Browser]) -> None:
    """The copy works while the session lives (so the test can fail), and signs nobody in once
    the user has signed out: the server ended the record, in the browser and for the API."""
    staff = browser_as("staff")
    copied = staff.client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert copied is not None
    assert _signed_in(_replay(app, copied.value))
    signed_out = staff.post("/logout")
    assert signed_out.status_code == 302
    assert urlsplit(signed_out.headers["Location"]).path == "/login"
    assert not _signed_in(staff.client)
    replayed = _replay(app, copied.value)
    assert not _signed_in(replayed)
    assert replayed.get("/api/v1/channels").status_code == 401
    [record] = _sessions_of(staff.user)  # type: ignore[attr-defined]
    assert record.ended_at is not None
    assert record.end_reason == "signed_out"


@pytest.mark.parametrize(("idle", "signed_in"), [(dt.timedelta(minutes=29), True), (dt.timedelta(minutes=31), False)])
def test_a_session_ends_after_30_minutes_idle(
    idle: dt.timedelta,
    signed_in: bool,
    browser_as: Callable[..., Browser],
) -> None:
    """29 minutes without a request is still a session (and using it resets the clock);
    31 minutes ends it for good, with a message saying why."""
    staff = browser_as("staff")
    user: User = staff.user  # type: ignore[attr-defined]
    _move_clock(user, idle=idle)
    assert _signed_in(staff.client) is signed_in
    [record] = _sessions_of(user)
    if signed_in:
        assert db.utcnow() - record.last_seen_at < dt.timedelta(minutes=1)
        assert record.ended_at is None
    else:
        assert record.end_reason == "idle_timeout"
        assert "you had not used the service for 30 minutes" in _login_page_message(staff.client)
        _move_clock(user, idle=dt.timedelta(0))
        assert not _signed_in(staff.client)


@pytest.mark.parametrize(
    ("age", "signed_in"), [(dt.timedelta(hours=11, minutes=58), True), (dt.timedelta(hours=12, minutes=1), False)]
)
def test_a_session_ends_12_hours_after_sign_in_however_busy(
    age: dt.timedelta,
    signed_in: bool,
    browser_as: Callable[..., Browser],
) -> None:
    """Constant use does not stretch a session past 12 hours from sign-in."""
    staff = browser_as("staff")
    user: User = staff.user  # type: ignore[attr-defined]
    _move_clock(user, idle=dt.timedelta(minutes=1), age=age)
    assert _signed_in(staff.client) is signed_in
    [record] = _sessions_of(user)
    if not signed_in:
        assert record.end_reason == "absolute_timeout"
        assert "you had been signed in for 12 hours" in _login_page_message(staff.client)


def test_deactivating_a_user_on_the_admin_page_ends_their_sessions(
    app: Flask,
    browser_as: Callable[..., Browser],
    api_token: Callable[[User], dict[str, str]],
) -> None:
    """A leaver's open browser sessions and API token stop working, and they cannot sign in again."""
    leaver = browser_as("staff")
    user: User = leaver.user  # type: ignore[attr-defined]
    second = app.test_client()
    sign_in(second, user)
    headers = api_token(user)
    api = app.test_client()
    assert api.get("/api/v1/channels", headers=headers).status_code == 200
    admin = browser_as("admin")
    assert admin.post(f"/admin/users/{user.id}/deactivate").status_code == 302
    assert not _signed_in(leaver.client)
    assert not _signed_in(second)
    assert api.get("/api/v1/channels", headers=headers).status_code == 401
    assert {record.end_reason for record in _sessions_of(user)} == {"deactivated"}
    again = app.test_client()
    refused = again.post(
        "/login", data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": csrf_token(again)}
    )
    assert refused.status_code == 200
    assert SIGN_IN_FAILED in html.unescape(refused.get_data(as_text=True))


def test_deactivating_a_user_on_the_command_line_ends_their_sessions(
    app: Flask,
    browser_as: Callable[..., Browser],
) -> None:
    """``flask users deactivate EMAIL`` signs the leaver out everywhere."""
    leaver = browser_as("staff")
    user: User = leaver.user  # type: ignore[attr-defined]
    result = app.test_cli_runner().invoke(args=["users", "deactivate", user.email])
    assert result.exit_code == 0, result.output
    assert f"Deactivated {user.email}" in result.output
    assert not _signed_in(leaver.client)
    assert [record.end_reason for record in _sessions_of(user)] == ["deactivated"]


def test_changing_roles_ends_the_users_sessions(
    app: Flask,
    browser_as: Callable[..., Browser],
) -> None:
    """New roles take effect at the next sign-in, never inside a session granted with the old
    ones; saving the same roles again signs nobody out. A privileged role changes nothing until a
    second administrator approves it; then the person's sessions end."""
    person = browser_as("staff")
    user: User = person.user  # type: ignore[attr-defined]
    admin = browser_as("admin")
    assert admin.post(f"/admin/users/{user.id}/roles", {"roles": ["staff"]}).status_code == 302
    assert _signed_in(person.client)
    assert person.get("/channels/queue").status_code == 403
    asked = admin.post(f"/admin/users/{user.id}/roles", {"roles": ["staff", "comms"], "reason": "Joins the team."})
    assert asked.status_code == 302
    assert _signed_in(person.client)
    [waiting] = db.session().execute(select(AccountRequest).where(AccountRequest.user_id == user.id)).scalars()
    second = browser_as("admin")
    assert second.post(f"/admin/approvals/{waiting.id}/approve").status_code == 302
    assert not _signed_in(person.client)
    assert [record.end_reason for record in _sessions_of(user)] == ["roles_changed"]
    sign_in(person.client, user)
    # A new member of the communications team sets up two-factor sign-in before the team's pages.
    queue = person.get("/channels/queue")
    assert queue.status_code == 302 and urlsplit(queue.headers["Location"]).path == "/account/two-factor"
    enrol_two_factor(user)
    db.session().commit()
    sign_in(person.client, user)
    assert person.get("/channels/queue").status_code == 200


def test_changing_your_password_ends_your_other_sessions_but_keeps_this_one(
    app: Flask,
    browser_as: Callable[..., Browser],
) -> None:
    """A stolen session elsewhere ends when the owner changes their password; the owner carries on,
    and only the new password signs in from now on."""
    here = browser_as("staff")
    user: User = here.user  # type: ignore[attr-defined]
    elsewhere = app.test_client()
    sign_in(elsewhere, user)
    changed = here.post("/account/password", {"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD})
    assert changed.status_code == 302
    assert _signed_in(here.client)
    assert not _signed_in(elsewhere)
    reasons = sorted(str(record.end_reason) for record in _sessions_of(user))
    assert reasons == ["None", "password_changed"]
    old = app.test_client()
    refused = old.post("/login", data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": csrf_token(old)})
    assert refused.status_code == 200
    sign_in(app.test_client(), user, NEW_PASSWORD)
