"""Two-factor sign-in: enrolment (QR code and key, confirmed by a code, ten recovery codes shown
once), the code step at /login/mfa (once only, within one time step, throttled, expiring),
recovery codes, who must have it before privileged pages, API tokens, an administrator's
reset, and the step-up check before a reveal.

Codes are computed here with ``cryptography``'s RFC 6238 implementation from the secret the
page shows (or the one ``make_user`` set up), as the person's phone would.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import re
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import segno
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from werkzeug.test import TestResponse

from registry import db
from registry.audit.models import AuditEvent
from registry.audit.services import Actor
from registry.auth import mfa, setup_links
from registry.auth.models import (
    AccountRequest,
    RecoveryCode,
    SetupReason,
    User,
    UserSession,
    UserTotp,
    totp_aad,
)
from registry.channels.models import Channel
from registry.crypto import DecryptionFailed, Sealed
from registry.notifications.models import Notification
from registry.vault import services as custody
from tests.conftest import (
    TEST_PASSWORD,
    TOTP_SECRETS,
    Browser,
    csrf_token,
    enrol_two_factor,
    sign_in,
)
from tests.test_vault import (
    CommittedSite,
    active_channel,
    committed,  # noqa: F401  (a fixture)
    encodings,
    new_user,
    reveal,
    revealed,
    words,
)

STEP = 30
WRONG_CODE = "That code is not right, or it has already been used. Wait for the next code in your app and try again."
SET_UP_FIRST = "Set up two-factor sign-in first: your role gives you access to sensitive information."
KEY_TEXT = re.compile(r'<p class="app-hash"><strong>([A-Z2-7 ]+)</strong></p>')
SVG = re.compile(r'<figure class="app-qr"[^>]*>(.*?)</figure>', re.DOTALL)
RECOVERY = re.compile(r"<li>([A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4})</li>")


def code_for(secret: bytes, step: int) -> str:
    """What an authenticator app shows in time step ``step`` (RFC 6238: SHA-1, 6 digits, 30 s)."""
    return TOTP(secret, 6, SHA1(), STEP, enforce_key_length=False).generate(step * STEP).decode("ascii")


def settled_step() -> int:
    """The current time step, waiting first if it has under 3 seconds left, so that a test's
    idea of "now" and the server's are the same step."""
    if STEP - time.time() % STEP < 3:
        time.sleep(STEP - time.time() % STEP + 0.05)
    return int(time.time() // STEP)


def location(response: TestResponse) -> str:
    return urlsplit(response.headers.get("Location", "")).path


def password_step(client: FlaskClient, user: User, path: str = "/login", **kwargs: Any) -> TestResponse:
    response = client.post(
        path, data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": csrf_token(client)}, **kwargs
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return response


def send_code(client: FlaskClient, code: str, **kwargs: Any) -> TestResponse:
    return client.post("/login/mfa", data={"code": code, "csrf_token": csrf_token(client)}, **kwargs)


def signed_in_as(client: FlaskClient) -> bool:
    return client.get("/account").status_code == 200


def last_used_step_set(user: User, step: int) -> None:
    """As if the person last signed in at ``step`` (minutes ago, say)."""
    db.session().execute(update(UserTotp).where(UserTotp.user_id == user.id).values(last_step=step))
    db.session().commit()


def events(action: str, user: User | None = None) -> list[AuditEvent]:
    statement = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
    if user is not None:
        statement = statement.where(AuditEvent.object_id == str(user.id))
    return list(db.session().execute(statement).scalars())


# --- enrolment ----------------------------------------------------------------------------------


def test_enrolment_shows_the_key_as_a_qr_code_and_text_and_a_code_from_it_turns_two_factor_on(
    app: Flask,
    browser_as: Callable[..., Browser],
) -> None:
    """The page (not cached) shows the key as text and as a QR code of the standard otpauth URI;
    a wrong code is refused; the app's first code turns it on and shows ten recovery codes
    once (not cached, stored only as hashes); the next sign-in asks for a code."""
    browser = browser_as("staff")
    user: User = browser.user  # type: ignore[attr-defined]
    page = browser.get("/account/two-factor")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    body = page.get_data(as_text=True)
    key_text = KEY_TEXT.search(body)
    assert key_text is not None
    assert re.fullmatch(r"([A-Z2-7]{4} )*[A-Z2-7]{1,4}", key_text.group(1))
    key = key_text.group(1).replace(" ", "")
    secret = base64.b32decode(key + "=" * (-len(key) % 8))
    assert len(secret) >= 20
    uri = TOTP(secret, 6, SHA1(), STEP).get_provisioning_uri(user.email, "Social Channel Registry")
    assert parse_qs(urlsplit(uri).query)["secret"] == [key]
    svg = SVG.search(body)
    assert svg is not None and svg.group(1).startswith("<svg")
    assert svg.group(1) == segno.make_qr(uri, error="m").svg_inline(scale=5, dark="#212b32", light="#ffffff")
    assert KEY_TEXT.search(browser.get("/account/two-factor").get_data(as_text=True)).group(1) == key_text.group(1)  # type: ignore[union-attr]

    step = settled_step()
    refused = browser.post("/account/two-factor", {"code": code_for(secret, step + 5)})
    assert refused.status_code == 422
    assert "Enter the 6-digit code shown in your authenticator app now." in words(refused)
    assert not mfa.is_enrolled(user)

    turned_on = browser.post("/account/two-factor", {"code": code_for(secret, step)})

    assert turned_on.status_code == 200
    assert turned_on.headers["Cache-Control"] == "no-store"
    assert "Two-factor sign-in is on" in words(turned_on)
    codes = RECOVERY.findall(turned_on.get_data(as_text=True))
    assert len(set(codes)) == 10
    db.session().expire_all()
    assert mfa.is_enrolled(user)
    assert [e.actor_id for e in events("user:two_factor_enrol", user)] == [user.id]
    later = browser.get("/account/two-factor")
    assert "You have 10 unused recovery codes." in words(later)
    assert RECOVERY.findall(later.get_data(as_text=True)) == []
    hashes = list(db.session().execute(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)).scalars())
    assert len(hashes) == 10
    assert not any(code in h or code.replace("-", "") in h for code in codes for h in hashes)
    client = app.test_client()
    assert location(password_step(client, user)) == "/login/mfa"


def test_new_recovery_codes_replace_the_old_ones(app: Flask, browser_as: Callable[..., Browser]) -> None:
    """Creating new codes shows ten new ones (not cached); an old one no longer signs in, a new one does."""
    browser = browser_as("comms")
    user: User = browser.user  # type: ignore[attr-defined]
    old = mfa.regenerate_recovery_codes(user)
    db.session().commit()

    response = browser.post("/account/two-factor/recovery-codes")

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    new = RECOVERY.findall(response.get_data(as_text=True))
    assert len(set(new)) == 10 and not set(new) & set(old)
    client = app.test_client()
    password_step(client, user)
    assert send_code(client, old[0]).status_code == 422
    assert send_code(client, new[0]).status_code == 302


# --- the code at sign-in ------------------------------------------------------------------------


def test_the_password_alone_does_not_sign_in_a_person_with_two_factor(
    app: Flask, make_user: Callable[..., User]
) -> None:
    """After the password the person is only half signed in: every page sends them to sign in
    until the code is given; then they reach the page they asked for, and the sign-in is audited
    as made with the authenticator."""
    user = make_user("comms")
    client = app.test_client()
    asked = password_step(client, user, "/login?next=/channels/queue")
    assert location(asked) == "/login/mfa"
    assert location(client.get("/channels/queue")) == "/login"
    assert not signed_in_as(client)
    page = client.get("/login/mfa")
    assert page.status_code == 200
    assert "Enter your security code" in words(page)

    step = settled_step()
    last_used_step_set(user, step - 3)
    response = send_code(client, code_for(TOTP_SECRETS[user.id], step))

    assert response.status_code == 302
    assert location(response) == "/channels/queue"
    assert client.get("/channels/queue").status_code == 200
    assert [e.details for e in events("user:sign_in", user)] == ['{"second_factor":"totp"}']


def test_a_code_is_accepted_once(app: Flask, make_user: Callable[..., User]) -> None:
    """The code that signed someone in cannot sign anyone in again, nor can an earlier one; the next one can."""
    user = make_user("comms")
    secret = TOTP_SECRETS[user.id]
    step = settled_step()
    last_used_step_set(user, step - 3)
    first = app.test_client()
    password_step(first, user)
    assert send_code(first, code_for(secret, step)).status_code == 302

    for replayed in (code_for(secret, step), code_for(secret, step - 1)):
        second = app.test_client()
        password_step(second, user)
        response = send_code(second, replayed)
        assert response.status_code == 422
        assert WRONG_CODE in words(response)
        assert not signed_in_as(second)
    third = app.test_client()
    password_step(third, user)
    assert send_code(third, code_for(secret, step + 1)).status_code == 302


def test_a_code_is_good_within_one_time_step_either_side(app: Flask, make_user: Callable[..., User]) -> None:
    """A phone whose clock is 30 seconds out still works; a minute out does not."""
    for offset, accepted in ((-2, False), (-1, True), (0, True), (1, True), (2, False)):
        user = make_user("comms")
        step = settled_step()
        last_used_step_set(user, step - 5)
        client = app.test_client()
        password_step(client, user)

        response = send_code(client, code_for(TOTP_SECRETS[user.id], step + offset))

        assert response.status_code == (302 if accepted else 422), offset
        assert signed_in_as(client) is accepted, offset


def test_a_recovery_code_signs_in_once(app: Flask, make_user: Callable[..., User]) -> None:
    """Typed with or without dashes, in any case; the person is told how many are left; used
    again it is refused; its use is audited."""
    user = make_user("comms")
    codes = mfa.regenerate_recovery_codes(user)
    db.session().commit()
    client = app.test_client()
    password_step(client, user)

    response = send_code(client, codes[3].lower())

    assert response.status_code == 302
    assert "You signed in with a recovery code. You have 9 left" in words(client.get("/"))
    assert len(events("user:recovery_code_used", user)) == 1
    again = app.test_client()
    password_step(again, user)
    assert send_code(again, codes[3]).status_code == 422
    assert send_code(again, codes[4].replace("-", "")).status_code == 302
    assert mfa.unused_recovery_codes(user) == 8


def test_the_audit_of_a_recovery_code_says_how_many_are_left(app: Flask, make_user: Callable[..., User]) -> None:
    """The event agrees with what the person is told: nine of ten left after the first."""
    user = make_user("comms")
    codes = mfa.regenerate_recovery_codes(user)
    db.session().commit()
    client = app.test_client()
    password_step(client, user)
    assert send_code(client, codes[0]).status_code == 302
    assert mfa.unused_recovery_codes(user) == 9
    assert [e.details for e in events("user:recovery_code_used", user)] == ['{"left":9}']


def test_a_wrong_code_is_audited_without_the_code(app: Flask, make_user: Callable[..., User]) -> None:
    """Each failure is a ``user:two_factor_failed`` event (kept although the answer is 422) that
    does not contain what was typed."""
    user = make_user("comms")
    client = app.test_client()
    password_step(client, user)
    typed = [code_for(TOTP_SECRETS[user.id], settled_step() + 7), "ABCD-EFGH-IJKL-MNOP"]

    for code in typed:
        response = send_code(client, code)
        assert response.status_code == 422
        assert WRONG_CODE in words(response)

    failures = events("user:two_factor_failed", user)
    assert [(e.actor_id, e.details) for e in failures] == [(user.id, "{}")] * 2
    stored = " ".join(f"{e.object_id} {e.actor} {e.details}" for e in failures)
    assert not any(code in stored or code.replace("-", "") in stored for code in typed)


def test_a_half_finished_sign_in_expires_after_five_minutes(app: Flask, make_user: Callable[..., User]) -> None:
    """A right code five minutes after the password is not enough: sign in again."""
    user = make_user("comms")
    step = settled_step()
    last_used_step_set(user, step - 5)
    for age, signs_in in ((290, True), (301, False)):
        client = app.test_client()
        password_step(client, user)
        with client.session_transaction() as cookie:
            pending = dict(cookie["two_factor_pending"])
            pending["at"] -= age
            cookie["two_factor_pending"] = pending

        response = send_code(client, code_for(TOTP_SECRETS[user.id], step if signs_in else step + 1))

        assert response.status_code == 302
        if signs_in:
            assert signed_in_as(client)
        else:
            assert location(response) == "/login"
            assert "Sign in with your email address and password first." in words(client.get("/login"))
            assert not signed_in_as(client)


class TestCodeThrottling:
    """The code step is throttled like the password: five wrong codes a minute for an account."""

    @pytest.fixture
    def app_settings(self) -> dict[str, Any]:
        return {"RATELIMIT_ENABLED": True}

    def test_guessing_codes_is_throttled(self, app: Flask, make_user: Callable[..., User]) -> None:
        """After five wrong codes even the right one gets the 429 page (with Retry-After) and is
        not checked; another person signing in is unaffected."""
        user, colleague = make_user("comms"), make_user("comms")
        step = settled_step()
        last_used_step_set(user, step - 5)
        client = app.test_client()
        address = {"REMOTE_ADDR": "10.9.0.1"}
        password_step(client, user, environ_base=address)
        for n in range(5):
            assert send_code(client, f"{n:06d}", environ_base=address).status_code == 422
        failures = len(events("user:two_factor_failed", user))

        throttled = send_code(client, code_for(TOTP_SECRETS[user.id], step), environ_base=address)

        assert throttled.status_code == 429
        assert "Wait a few minutes, then try again." in words(throttled)
        assert throttled.headers["Retry-After"].isdigit()
        assert not signed_in_as(client)
        assert len(events("user:two_factor_failed", user)) == failures
        other = app.test_client()
        elsewhere = {"REMOTE_ADDR": "10.9.0.2"}
        password_step(other, colleague, environ_base=elsewhere)
        last_used_step_set(colleague, step - 5)
        assert send_code(other, code_for(TOTP_SECRETS[colleague.id], step), environ_base=elsewhere).status_code == 302

    def test_guessing_step_up_codes_is_throttled(self, app: Flask, browser_as: Callable[..., Browser]) -> None:
        """The step-up before a reveal is a second-factor check too: the sixth wrong code in a minute is refused."""
        browser = browser_as("comms")
        statuses = [
            browser.client.post(
                "/account/step-up",
                data={"code": f"{n:06d}", "csrf_token": csrf_token(browser.client)},
                environ_base={"REMOTE_ADDR": "10.9.0.3"},
            ).status_code
            for n in range(6)
        ]
        assert statuses == [422] * 5 + [429]


# --- who must have it -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["comms", "admin"])
def test_comms_and_admins_without_two_factor_set_it_up_before_privileged_pages(
    role: str,
    app: Flask,
    make_user: Callable[..., User],
    make_channel: Callable[..., Channel],
) -> None:
    """Signed in with the password alone they are sent to set it up, and every privileged page
    sends them there (a form changes nothing); their everyday pages still work."""
    user = make_user(role, two_factor=False)
    channel = make_channel("active")
    client = app.test_client()
    after = password_step(client, user)
    assert location(after) == "/account/two-factor"
    browser = Browser(client)
    privileged = {
        "comms": ["/channels/queue", "/credentials", f"/channels/{channel.reference}/credentials"],
        "admin": ["/admin/users", "/audit"],
    }[role]
    for path in privileged:
        response = client.get(path)
        assert (response.status_code, location(response)) == (302, "/account/two-factor"), path
    assert SET_UP_FIRST in words(client.get("/account/two-factor"))
    if role == "comms":
        stored = browser.post(
            f"/channels/{channel.reference}/credentials",
            {"kind": "password", "value": "never stored", "reason": "Taking custody."},
        )
        assert (stored.status_code, location(stored)) == (302, "/account/two-factor")
        assert custody.credentials_of(channel) == []
    for path in ("/", "/account", "/channels/new", "/channels/mine", "/account/password"):
        assert client.get(path).status_code == 200, path


def test_everyday_pages_give_comms_without_a_second_factor_only_everyday_powers(
    app: Flask,
    make_user: Callable[..., User],
    make_channel: Callable[..., Channel],
) -> None:
    """Routes everyone may use (a channel's page and its actions, the channel list) must not show
    or do what only comms may until the second factor is proved: there comms are like any staff."""
    waiting = make_channel("requested", display_name="Someone else's waiting request")
    live = make_channel("active", display_name="A live channel")
    comms = make_user("comms", two_factor=False)
    client = app.test_client()
    password_step(client, comms)
    listed = [item["display_name"] for item in client.get("/api/v1/channels").get_json()["items"]]
    assert live.display_name in listed
    assert waiting.display_name not in listed  # with a second factor, comms see every request
    assert client.get(f"/channels/{waiting.reference}").status_code in (403, 404)  # as for staff
    approve = client.post(
        f"/channels/{live.reference}/actions/suspend",
        data={"reason": "Testing the guard.", "csrf_token": csrf_token(client)},
    )
    assert approve.status_code in (403, 404)
    db.session().refresh(live)
    assert live.status == "active"
    home = words(client.get("/"))
    assert "Work queue" not in home and "Custody" not in home

    enrol_two_factor(comms)
    db.session().commit()
    proved = app.test_client()
    sign_in(proved, comms)
    listed = [item["display_name"] for item in proved.get("/api/v1/channels").get_json()["items"]]
    assert waiting.display_name in listed


def test_the_api_with_a_token_needs_no_second_factor_but_a_session_does(
    app: Flask,
    make_user: Callable[..., User],
    make_channel: Callable[..., Channel],
    api_token: Callable[[User], dict[str, str]],
) -> None:
    """A comms member without two-factor: with their API token the credentials API works (a token
    counts as the second factor); with their browser session it is a 403 problem saying why,
    while the everyday API still answers."""
    user = make_user("comms", two_factor=False)
    channel = make_channel("active")
    headers = api_token(user)
    path = f"/api/v1/channels/{channel.reference}/credentials"
    api = app.test_client()
    stored = api.post(
        path, json={"kind": "notes", "value": "Key in safe 3", "reason": "Taking custody."}, headers=headers
    )
    assert stored.status_code == 201
    assert api.get(path, headers=headers).status_code == 200

    client = app.test_client()
    password_step(client, user)
    refused = client.get(path)

    assert refused.status_code == 403
    assert refused.mimetype == "application/problem+json"
    assert refused.get_json()["detail"] == "Sign in with two-factor authentication (or use an API token) for this."
    sent = client.post(
        path,
        json={"kind": "password", "value": "not stored", "reason": "Taking custody."},
        headers={"X-CSRFToken": csrf_token(client)},
    )
    assert sent.status_code == 403
    assert client.get("/api/v1/channels").status_code == 200
    assert [c.kind for c in custody.credentials_of(channel)] == ["notes"]


def test_an_administrator_reset_ends_sessions_and_forces_enrolment_again(
    app: Flask,
    browser_as: Callable[..., Browser],
) -> None:
    """A lost phone: an administrator asks to reset it, the person is told at once and nothing changes
    until a second administrator approves; then their sessions end, their secret and recovery codes
    are gone, and setting it up again needs the set-up link sent to them, not just their password."""
    person = browser_as("comms")
    user: User = person.user  # type: ignore[attr-defined]
    mfa.regenerate_recovery_codes(user)
    db.session().commit()
    admin = browser_as("admin")

    response = admin.post(
        f"/admin/users/{user.id}/two-factor/reset", {"reason": "Lost phone; identity checked by video."}
    )

    assert (response.status_code, location(response)) == (302, f"/admin/users/{user.id}")
    assert "waits for a second system administrator to approve it" in words(admin.get(location(response)))
    assert person.get("/channels/queue").status_code == 200
    assert mfa.is_enrolled(user)
    told = (
        db.session().execute(select(Notification.subject).where(Notification.recipient_id == user.id)).scalars().all()
    )
    assert "Someone asked to reset your two-factor sign-in" in told
    [asked] = db.session().execute(select(AccountRequest).where(AccountRequest.user_id == user.id)).scalars()

    second = browser_as("admin")
    assert second.post(f"/admin/approvals/{asked.id}/approve").status_code == 302

    assert location(person.get("/channels/queue")) == "/login"
    db.session().expire_all()
    assert db.session().get(UserTotp, user.id) is None
    assert mfa.unused_recovery_codes(user) == 0
    ended = db.session().execute(select(UserSession.end_reason).where(UserSession.user_id == user.id)).scalars().all()
    assert set(ended) == {"two_factor_reset"}
    assert [e.actor_id for e in events("user:two_factor_reset", user)] == [second.user.id]  # type: ignore[attr-defined]
    client = app.test_client()
    assert location(password_step(client, user)) == "/account/two-factor"
    assert location(client.get("/channels/queue")) == "/account/two-factor"
    refused = client.get("/account/two-factor")
    assert refused.status_code == 403
    assert "Use your set-up link to set up two-factor sign-in" in words(refused)
    assert db.session().get(UserTotp, user.id) is None


# --- step-up ------------------------------------------------------------------------------------


def test_step_up_refreshes_the_second_factor_for_a_reveal(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_channel: Callable[..., Channel],
) -> None:
    """Six minutes after the code, a reveal is refused and the page offers the step-up; a wrong
    step-up code is refused and changes nothing; the right one records the time, is audited, goes
    back to the page, and the reveal then works. A step-up never sends anyone to another site."""
    browser = browser_as("comms")
    user: User = browser.user  # type: ignore[attr-defined]
    channel = make_channel("active")
    custody.store(channel, "password", "step-up guarded password", "Taking custody.", user)
    db.session().commit()
    six_minutes_ago = db.utcnow() - dt.timedelta(minutes=6)
    db.session().execute(
        update(UserSession).where(UserSession.user_id == user.id).values(second_factor_at=six_minutes_ago)
    )
    db.session().commit()
    page_path = f"/channels/{channel.reference}/credentials"
    page = browser.get(page_path)
    assert "To see a secret or a sign-in code, first confirm it is you with your authenticator app" in words(page)
    offered = re.search(r'href="(/account/step-up\?next=[^"]+)"', page.get_data(as_text=True))
    assert offered is not None
    assert parse_qs(urlsplit(html.unescape(offered.group(1))).query)["next"] == [page_path]
    assert reveal(browser, channel, "password").status_code == 403

    wrong = browser.post(
        f"/account/step-up?next={page_path}", {"code": code_for(TOTP_SECRETS[user.id], settled_step() + 9)}
    )
    assert wrong.status_code == 422
    assert WRONG_CODE in words(wrong)
    assert _second_factor_at(user) == six_minutes_ago
    assert len(events("user:two_factor_failed", user)) == 1

    step = settled_step()
    last_used_step_set(user, step - 3)
    confirmed = browser.post(f"/account/step-up?next={page_path}", {"code": code_for(TOTP_SECRETS[user.id], step)})

    assert (confirmed.status_code, location(confirmed)) == (302, page_path)
    assert abs(_second_factor_at(user) - db.utcnow()) < dt.timedelta(seconds=30)
    assert [e.details for e in events("user:step_up", user)] == ['{"second_factor":"totp"}']
    assert "you can reveal secrets for about 4 more minutes" in words(browser.get(page_path))
    shown = reveal(browser, channel, "password")
    assert shown.status_code == 200
    assert revealed(shown) == "step-up guarded password"
    last_used_step_set(user, step - 3)
    elsewhere = browser.post(
        "/account/step-up?next=https://evil.example/", {"code": code_for(TOTP_SECRETS[user.id], step)}
    )
    assert location(elsewhere) == "/"


def _second_factor_at(user: User) -> dt.datetime:
    db.session().expire_all()
    moments = (
        db.session()
        .execute(
            select(UserSession.second_factor_at).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        )
        .scalars()
        .all()
    )
    assert len(moments) == 1
    assert moments[0] is not None
    return moments[0]


def test_a_persons_own_authenticator_secret_is_stored_only_sealed(app: Flask, make_user: Callable[..., User]) -> None:
    """The user_totp row opens (with the vault and the row's own associated data) to the secret the
    phone holds, and that secret is in none of its columns, in any encoding."""
    user, other = make_user("comms"), make_user("comms")
    row = db.session().get(UserTotp, user.id)
    assert row is not None
    sealed = Sealed(row.key_id, row.wrapped_key, row.nonce, row.ciphertext)
    assert custody.vault().open(sealed, totp_aad(user.id)) == TOTP_SECRETS[user.id]
    with pytest.raises(DecryptionFailed):
        custody.vault().open(sealed, totp_aad(other.id))
    stored = b"|".join([row.key_id.encode(), row.wrapped_key, row.nonce, row.ciphertext, str(row.last_step).encode()])
    assert [n for n in encodings(TOTP_SECRETS[user.id]) if n in stored] == []


# --- the same code at the same moment ----------------------------------------------------------


def test_the_same_code_sent_twice_at_once_signs_in_only_once(committed: CommittedSite) -> None:  # noqa: F811
    """Two sign-ins checking one code (an authenticator code, then a recovery code) concurrently:
    the second waits for the first to commit, then is refused."""
    app = committed.app()
    with app.app_context(), db.transaction():
        user = new_user("comms", email="racer@example.nhs.uk")
        codes = mfa.regenerate_recovery_codes(user)
        step = settled_step()
        db.session().execute(update(UserTotp).where(UserTotp.user_id == user.id).values(last_step=step - 3))
    second: dict[str, str | None] = {}

    def check_again(kind: str, code: str) -> None:
        with app.app_context(), db.transaction():
            second[kind] = mfa.verify(db.session().get(User, user.id), code)  # type: ignore[arg-type]

    for kind, code in (("authenticator code", code_for(TOTP_SECRETS[user.id], step)), ("recovery code", codes[0])):
        with app.app_context(), db.transaction():
            assert mfa.verify(db.session().get(User, user.id), code) is not None  # type: ignore[arg-type]
            racer = threading.Thread(target=check_again, args=(kind, code))
            racer.start()
            racer.join(timeout=0.5)
        racer.join(timeout=30)

    assert second == {"authenticator code": None, "recovery code": None}


# --- a full sign-in in a database that commits -------------------------------------------------


def test_sign_in_enrol_and_reveal_work_on_a_database_that_commits(committed: CommittedSite) -> None:  # noqa: F811
    """The whole path with real commits between requests: a new comms member opens their set-up link,
    enters their password, enrols with the key from the page, signs in again with a code, and reveals."""
    app = committed.app()
    with app.app_context(), db.transaction():
        staff = new_user("staff", email="requester@example.nhs.uk", two_factor=False)
        keeper = new_user("comms", email="keeper@example.nhs.uk")
        person = new_user("comms", email="newcomer@example.nhs.uk", two_factor=False)
        channel = active_channel(staff, keeper, "journey_probe")
        custody.store(channel, "password", "committed journey password", "Taking custody.", keeper)
    with app.app_context(), db.transaction():
        link = setup_links.issue(person, SetupReason.NEW_ACCOUNT, actor=Actor.system("tests"), send=False)
        opened = link.path
    client = app.test_client()
    assert location(client.get(opened)) == "/account/set-up"
    browser = Browser(client)
    assert location(browser.post("/account/set-up", {"password": TEST_PASSWORD})) == "/account/two-factor"
    key = KEY_TEXT.search(browser.get("/account/two-factor").get_data(as_text=True)).group(1).replace(" ", "")  # type: ignore[union-attr]
    secret = base64.b32decode(key + "=" * (-len(key) % 8))
    step = settled_step()
    assert browser.post("/account/two-factor", {"code": code_for(secret, step - 1)}).status_code == 200
    assert browser.post("/logout").status_code == 302

    with app.app_context():
        password_step(client, person)
    assert send_code(client, code_for(secret, step)).status_code == 302
    shown = reveal(browser, channel, "password")
    assert shown.status_code == 200
    assert revealed(shown) == "committed journey password"
    with app.app_context():
        actions = (
            db.session()
            .execute(select(AuditEvent.action).where(AuditEvent.actor_id == person.id).order_by(AuditEvent.seq))
            .scalars()
            .all()
        )
        assert actions == [
            "user:setup_complete",
            "user:two_factor_enrol",
            "user:sign_out",
            "user:sign_in",
            "credential:reveal",
        ]
        assert (
            db.session()
            .execute(select(func.count()).select_from(RecoveryCode).where(RecoveryCode.user_id == person.id))
            .scalar_one()
            == 10
        )
        db.session().rollback()
