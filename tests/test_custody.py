"""Custody of channels' credentials (policy 7.2): storing each kind through the pages and the
API, versions, reveals (comms only, after step-up, with a reason, audited in the same
transaction, refusals audited and kept), sign-in codes from a stored seed, copying, the
password generator, rotation due dates and the overview, and that a value never reaches an
API response, a log line, an error page or an auditor; concurrent reveals and rotations.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import re
import string
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP
from flask import Flask
from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection
from werkzeug.test import TestResponse

from registry import clock, db
from registry.audit.models import AuditEvent
from registry.audit.services import verify_chain
from registry.auth.models import User, UserSession
from registry.channels import services as channels
from registry.channels.models import Channel
from registry.errors import Invalid
from registry.vault import services as custody
from registry.vault.models import Credential, CredentialReveal, CredentialVersion
from tests.conftest import Browser
from tests.test_vault import (
    NEW,
    OLD,
    CommittedSite,
    active_channel,
    committed,  # noqa: F401  (a fixture)
    invoke,
    new_user,
    reveal,
    revealed,
    signed_in,
    store_page,
    words,
)

SEED = "JBSWY3DPEHPK3PXPJBSWY3DP"
VALUES = {
    "password": "Correct-Horse-Battery-4471",
    "recovery_codes": "rc-1111-2222 rc-3333-4444 rc-5555-6666",
    "recovery_email": "maternity.recovery@example.nhs.uk",
    "recovery_phone": "+44 7700 900 123",
    "totp_seed": SEED,
    "notes": "The YubiKey is in the comms safe, shelf 2",
}
LABELS = {
    "password": "Password",
    "recovery_codes": "Recovery codes",
    "recovery_email": "Recovery email address",
    "recovery_phone": "Recovery phone number",
    "totp_seed": "Two-factor (TOTP) seed",
    "notes": "Custody notes",
}
REVEAL_ACTIONS = {
    "password": "credential:reveal",
    "recovery_codes": "credential:recovery_codes_reveal",
    "recovery_email": "credential:reveal",
    "recovery_phone": "credential:reveal",
    "totp_seed": "credential:seed_reveal",
    "notes": "credential:reveal",
}
REASON = "Posting the flu clinic update."
ONLY_COMMS = "Only the communications team can see the Trust's social media credentials."
STEP_UP_FIRST = "Confirm it is you with your authenticator app first (needed within 5 minutes of a reveal)."
NO_REASON = "Enter why you need to see this secret."


def user_of(browser: Browser) -> User:
    return browser.user  # type: ignore[attr-defined,no-any-return]


def put(channel: Channel, kind: str, value: str, actor: User, reason: str = "Taking custody.") -> Credential:
    credential = custody.store(channel, kind, value, reason, actor)
    db.session().commit()
    return credential


def events(action: str) -> list[AuditEvent]:
    return list(
        db.session().execute(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)).scalars()
    )


def uses(action: str | None = None) -> list[CredentialReveal]:
    statement = select(CredentialReveal).order_by(CredentialReveal.id)
    if action is not None:
        statement = statement.where(CredentialReveal.action == action)
    db.session().expire_all()
    return list(db.session().execute(statement).unique().scalars())


def stale_step_up(user: User) -> None:
    """As if the person's last code was six minutes ago."""
    moment = db.utcnow() - dt.timedelta(minutes=6)
    db.session().execute(update(UserSession).where(UserSession.user_id == user.id).values(second_factor_at=moment))
    db.session().commit()


def api_store(
    app: Flask, headers: dict[str, str], channel: Channel, kind: str, value: str, reason: str = "Taking custody."
) -> TestResponse:
    return app.test_client().post(
        f"/api/v1/channels/{channel.reference}/credentials",
        json={"kind": kind, "value": value, "reason": reason},
        headers=headers,
    )


# --- storing --------------------------------------------------------------------------------------


def test_each_kind_is_stored_through_the_page_as_its_first_version(
    browser_as: Callable[..., Browser],
    make_channel: Callable[..., Channel],
) -> None:
    """Each kind becomes version 1, due for rotation in 90 days, audited as stored with the
    reason and the key id but not the value; the page lists each by name and never its value."""
    comms = browser_as("comms")
    channel = make_channel("active")
    for kind, value in VALUES.items():
        response = store_page(comms, channel, kind, value)
        assert (response.status_code, response.headers["Location"]) == (
            302,
            f"/channels/{channel.reference}/credentials",
        ), kind

    page = comms.get(f"/channels/{channel.reference}/credentials")
    assert "Custody notes stored as version 1." in words(page)
    credentials = {c.kind: c for c in custody.credentials_of(channel)}
    assert set(credentials) == set(VALUES)
    due = clock.today() + dt.timedelta(days=90)
    assert {(c.current_version, c.rotation_due_on, c.rotation_required) for c in credentials.values()} == {
        (1, due, False)
    }
    stored = events("credential:store")
    assert [e.object_id for e in stored] == [f"{channel.reference}/{kind}" for kind in VALUES]
    assert [json.loads(e.details) for e in stored] == [
        {"version": 1, "reason": "Taking custody.", "key_id": custody.vault().primary_key_id, "was_required": False}
    ] * len(VALUES)
    body = page.get_data(as_text=True)
    assert all(label in words(page) for label in LABELS.values())
    assert [value for value in VALUES.values() if value in body] == []


def test_each_kind_is_stored_through_the_api_which_answers_with_metadata_only(
    app: Flask,
    make_user: Callable[..., User],
    make_channel: Callable[..., Channel],
    api_token: Callable[[User], dict[str, str]],
) -> None:
    """201 with the credential's metadata (kind, label, version, dates, rotation) and no value."""
    user = make_user("comms")
    headers = api_token(user)
    channel = make_channel("active")
    for kind, value in VALUES.items():
        response = api_store(app, headers, channel, kind, value)
        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        assert set(body) == {
            "kind",
            "label",
            "version",
            "created_at",
            "first_stored_at",
            "rotation_due",
            "rotation_required",
            "rotation_reasons",
        }
        assert (body["kind"], body["label"], body["version"]) == (kind, LABELS[kind], 1)
        assert body["rotation_due"] == (clock.today() + dt.timedelta(days=90)).isoformat()
        assert (body["rotation_required"], body["rotation_reasons"]) == (False, [])
        assert value not in response.get_data(as_text=True)
    again = api_store(app, headers, channel, "password", "Second-Password-9921", "Rotated.")
    assert (again.status_code, again.get_json()["version"]) == (201, 2)


BAD_SEEDS = {
    "not a seed at all!": "A two-factor seed is the setup key shown by the platform: letters A to Z and digits 2 to 7.",
    "JBSWY3DP": "That two-factor seed is too short: the setup key is at least 16 characters.",
    "JBSWY3DPEHPK3PX1": "A two-factor seed is the setup key shown by the platform: letters A to Z and digits 2 to 7.",
}


def test_a_two_factor_seed_is_checked_and_kept_in_its_canonical_form(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_channel: Callable[..., Channel],
    api_token: Callable[[User], dict[str, str]],
) -> None:
    """Something that is not a seed: the page and the API say what a seed looks like (422, the
    page not cached, the API not echoing it) and store nothing. A seed pasted with spaces,
    dashes, lower case and padding, as platforms show it, is kept normalised."""
    comms = browser_as("comms")
    headers = api_token(user_of(comms))
    channel = make_channel("active")
    for typed, message in BAD_SEEDS.items():
        page = store_page(comms, channel, "totp_seed", typed)
        assert page.status_code == 422, typed
        assert message in words(page), typed
        assert page.headers["Cache-Control"] == "no-store"
        api = api_store(app, headers, channel, "totp_seed", typed)
        assert (api.status_code, api.get_json()["errors"]) == (422, {"value": message}), typed
        assert typed not in api.get_data(as_text=True)
    assert custody.credentials_of(channel) == []

    assert store_page(comms, channel, "totp_seed", "jbsw y3dp-ehpk 3pxp jbsw y3dp==").status_code == 302
    assert revealed(reveal(comms, channel, "totp_seed")) == SEED


def test_storing_needs_a_reason_and_a_value(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_channel: Callable[..., Channel],
    api_token: Callable[[User], dict[str, str]],
) -> None:
    """422 naming each missing, too long or unstorable answer, on the page (not cached) and in the
    API; nothing stored."""
    comms = browser_as("comms")
    channel = make_channel("active")
    page = store_page(comms, channel, "password", "", reason="   ")
    assert page.status_code == 422
    assert "Enter the password." in words(page)
    assert "Enter why you need to store or change this secret." in words(page)
    assert page.headers["Cache-Control"] == "no-store"
    kindless = store_page(comms, channel, "", "Some-Password-1")
    assert kindless.status_code == 422
    assert "Choose a kind of secret: one of password, recovery_codes" in words(kindless)
    headers = api_token(user_of(comms))
    api = api_store(app, headers, channel, "password", "Some-Password-2", reason="")
    assert (api.status_code, api.get_json()["errors"]) == (422, {"reason": "reason is required."})
    for value, reason, errors in (
        ("Some\x00Password", "Taking custody.", {"value": "The value contains a character that is not allowed."}),
        ("p" * 10_001, "Taking custody.", {"value": "The value must be 10000 characters or fewer."}),
        ("Some-Password-3", "r" * 2001, {"reason": "The reason must be 2000 characters or fewer."}),
    ):
        refused = api_store(app, headers, channel, "password", value, reason)
        assert (refused.status_code, refused.get_json()["errors"]) == (422, errors)
    assert custody.credentials_of(channel) == []


def test_only_comms_store_secrets_and_others_cannot_reach_them(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_channel: Callable[..., Channel],
    make_user: Callable[..., User],
    api_token: Callable[[User], dict[str, str]],
) -> None:
    """Staff, managers, auditors and admins get 403 when storing through the page or the API;
    staff, managers and admins cannot even open the credentials, reveal or get a code. Nothing
    is stored, shown or recorded."""
    channel = make_channel("active")
    put(channel, "totp_seed", SEED, make_user("comms"))
    for role in ("staff", "manager", "auditor", "admin"):
        browser = browser_as(role)
        assert store_page(browser, channel, "password", "Not-Allowed-1").status_code == 403, role
        api = api_store(app, api_token(user_of(browser)), channel, "password", "Not-Allowed-2")
        assert (api.status_code, api.mimetype) == (403, "application/problem+json"), role
        if role == "auditor":
            continue
        assert browser.get(f"/channels/{channel.reference}/credentials").status_code == 403, role
        for response in (
            reveal(browser, channel, "totp_seed"),
            browser.post(f"/channels/{channel.reference}/credentials/totp_seed/code", {"reason": REASON}),
        ):
            assert response.status_code == 403, role
            assert SEED not in response.get_data(as_text=True)
    assert [c.kind for c in custody.credentials_of(channel)] == ["totp_seed"]
    assert uses() == []


def test_a_closed_request_holds_no_secrets(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_channel: Callable[..., Channel],
    api_token: Callable[[User], dict[str, str]],
) -> None:
    """Rejected or withdrawn: 409 saying there is no account, on the page and in the API; the
    value is not echoed and nothing is stored."""
    comms = browser_as("comms")
    headers = api_token(user_of(comms))
    for status in ("rejected", "withdrawn"):
        channel = make_channel(status)
        message = f"{channel.reference} is {status}: there is no account to hold secrets for."
        page = store_page(comms, channel, "password", "Closed-Channel-Secret-1")
        assert page.status_code == 409
        assert message in words(page)
        assert "Closed-Channel-Secret-1" not in page.get_data(as_text=True)
        api = api_store(app, headers, channel, "password", "Closed-Channel-Secret-2")
        assert (api.status_code, api.get_json()["detail"]) == (409, message)
        assert "Closed-Channel-Secret-2" not in api.get_data(as_text=True)
        assert custody.credentials_of(channel) == []


# --- versions ----------------------------------------------------------------------------------------


def test_a_change_is_a_new_version_and_earlier_versions_are_kept_and_revealable(
    browser_as: Callable[..., Browser],
    make_channel: Callable[..., Channel],
) -> None:
    """Who stored each version, when and why is kept; a new password is audited as rotated, new
    notes as changed; an earlier version is revealed by the same rules (and refused to an auditor)."""
    comms = browser_as("comms")
    colleague = browser_as("comms")
    channel = make_channel("active")
    store_page(comms, channel, "password", "First-Password-1111", "Taking custody.")
    store_page(colleague, channel, "password", "Second-Password-2222", "Rotated after Ann Smith left.")
    store_page(comms, channel, "notes", "Key in safe 1")
    store_page(comms, channel, "notes", "Key moved to safe 2", "The safe was replaced.")

    credential = custody.get_credential(channel, "password")
    history = [(v.version, v.created_by_id, v.reason) for v in custody.versions_of(credential)]
    assert history == [
        (2, user_of(colleague).id, "Rotated after Ann Smith left."),
        (1, user_of(comms).id, "Taking custody."),
    ]
    assert [e.object_id for e in events("credential:rotate")] == [f"{channel.reference}/password"]
    assert [e.object_id for e in events("credential:change")] == [f"{channel.reference}/notes"]
    page = comms.get(f"/channels/{channel.reference}/credentials").get_data(as_text=True)
    assert '<option value="1">Version 1' in page and "(current)</option>" in page

    old = reveal(comms, channel, "password", version=1)
    assert old.status_code == 200
    assert revealed(old) == "First-Password-1111"
    assert "Password, version 1" in words(old)
    assert revealed(reveal(comms, channel, "password")) == "Second-Password-2222"
    assert [json.loads(e.details)["version"] for e in events("credential:reveal")] == [1, 2]
    assert reveal(comms, channel, "password", version=3).status_code == 404
    malformed = comms.post(
        f"/channels/{channel.reference}/credentials/password/reveal",
        {"password-reason": REASON, "password-version": "first"},
    )
    assert malformed.status_code == 400
    refused = reveal(browser_as("auditor"), channel, "password", version=1)
    assert refused.status_code == 403
    assert "First-Password-1111" not in refused.get_data(as_text=True)


# --- revealing ------------------------------------------------------------------------------------


def test_comms_reveal_each_kind_with_a_reason_and_each_reveal_is_audited(
    browser_as: Callable[..., Browser],
    make_channel: Callable[..., Channel],
) -> None:
    """The value is shown (masked with show/copy controls by the page's script, hidden after 60
    seconds), never cached; each reveal and its reason are a CredentialReveal row and an audit
    event of the kind's own action (seed and recovery codes have theirs), without the value."""
    comms = browser_as("comms")
    user = user_of(comms)
    channel = make_channel("active")
    for kind, value in VALUES.items():
        put(channel, kind, value, user)

    for kind, value in VALUES.items():
        response = reveal(comms, channel, kind, f"{REASON} ({kind})")

        assert response.status_code == 200, kind
        assert (response.headers["Cache-Control"], response.headers["Pragma"]) == ("no-store", "no-cache")
        assert revealed(response) == value
        body = response.get_data(as_text=True)
        assert 'data-seconds="60"' in body and 'src="/assets/js/reveal.js"' in body
        assert 'data-action="toggle"' in body and 'data-action="copy"' in body
    reveals = [
        e
        for e in db.session()
        .execute(select(AuditEvent).where(AuditEvent.action.like("credential:%reveal")).order_by(AuditEvent.seq))
        .scalars()
    ]
    assert [(e.action, e.object_id, e.actor_id, json.loads(e.details)) for e in reveals] == [
        (REVEAL_ACTIONS[kind], f"{channel.reference}/{kind}", user.id, {"version": 1, "reason": f"{REASON} ({kind})"})
        for kind in VALUES
    ]
    assert [(u.credential.kind, u.action, u.version, u.reason, u.user_id) for u in uses()] == [
        (kind, REVEAL_ACTIONS[kind].removeprefix("credential:"), 1, f"{REASON} ({kind})", user.id) for kind in VALUES
    ]
    logged = " ".join(e.details for e in reveals)
    assert [v for v in VALUES.values() if v in logged] == []


REFUSALS = {
    "without step-up": ("comms", 403, STEP_UP_FIRST, "second factor not confirmed in the last 5 minutes"),
    "without a reason": ("comms", 422, NO_REASON, "no reason given"),
    "by an auditor": ("auditor", 403, ONLY_COMMS, "not in the communications team"),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_a_refused_reveal_shows_nothing_and_is_audited_as_refused(
    case: str,
    browser_as: Callable[..., Browser],
    make_channel: Callable[..., Channel],
    make_user: Callable[..., User],
) -> None:
    """The answer says why and has no value in it; a ``credential:reveal_refused`` event and a
    "refused" reveal row are committed although the request failed; nothing is audited as revealed."""
    role, status, message, why = REFUSALS[case]
    browser = browser_as(role)
    channel = make_channel("active")
    put(channel, "password", "Refused-Password-3141", make_user("comms"))
    reason = "" if case == "without a reason" else REASON
    if case == "without step-up":
        stale_step_up(user_of(browser))

    response = reveal(browser, channel, "password", reason or "   ")

    assert response.status_code == status
    assert message in words(response)
    assert "Refused-Password-3141" not in response.get_data(as_text=True)
    (event,) = events("credential:reveal_refused")
    assert (event.actor_id, event.object_id) == (user_of(browser).id, f"{channel.reference}/password")
    assert json.loads(event.details) == {"why": why, "reason": reason}
    (use,) = uses()
    assert (use.action, use.user_id, use.version) == ("refused", user_of(browser).id, 1)
    assert use.reason == (f"{why}: {reason}" if reason else why)
    assert events("credential:reveal") == []


FAILING_AUDIT = {
    "sqlite": """CREATE TRIGGER refuse_credential_use BEFORE INSERT ON audit_events
                 WHEN NEW.action IN ('credential:reveal', 'credential:seed_reveal',
                                     'credential:recovery_codes_reveal', 'credential:totp_code_shown')
                 BEGIN SELECT RAISE(ABORT, 'the audit trail is unavailable'); END""",
    "postgresql": [
        """CREATE FUNCTION refuse_credential_use() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN
             IF NEW.action IN ('credential:reveal', 'credential:seed_reveal',
                               'credential:recovery_codes_reveal', 'credential:totp_code_shown') THEN
               RAISE EXCEPTION 'the audit trail is unavailable';
             END IF;
             RETURN NEW;
           END $$""",
        """CREATE TRIGGER refuse_credential_use BEFORE INSERT ON audit_events
           FOR EACH ROW EXECUTE FUNCTION refuse_credential_use()""",
    ],
}


def break_the_audit_trail(connection: Connection) -> None:
    """From now on (in this test's transaction) the database refuses to record a credential's use."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(FAILING_AUDIT["sqlite"])  # type: ignore[arg-type]
    else:
        for statement in FAILING_AUDIT["postgresql"]:
            connection.exec_driver_sql(statement)


def test_a_reveal_whose_audit_event_cannot_be_written_shows_nothing(
    browser_as: Callable[..., Browser],
    make_channel: Callable[..., Channel],
    connection: Connection,
) -> None:
    """When the audit insert fails, a reveal (of a password, a seed or recovery codes) or a sign-in
    code is the 500 page: no value, no code, and no record of a use that did not happen."""
    comms = browser_as("comms")
    channel = make_channel("active")
    for kind in ("password", "totp_seed", "recovery_codes"):
        put(channel, kind, VALUES[kind], user_of(comms))
    break_the_audit_trail(connection)

    answers = {kind: reveal(comms, channel, kind) for kind in ("password", "totp_seed", "recovery_codes")}
    answers["code"] = comms.post(f"/channels/{channel.reference}/credentials/totp_seed/code", {"reason": REASON})

    for kind, response in answers.items():
        assert response.status_code == 500, kind
        assert "Sorry, there is a problem with the service" in words(response)
        body = response.get_data(as_text=True)
        assert [v for v in VALUES.values() if v in body] == [], kind
        assert "app-secret__value" not in body and "app-code" not in body
    assert uses() == []


# --- sign-in codes from a stored seed, and copying --------------------------------------------------


def test_the_sign_in_code_of_a_stored_seed_is_shown_with_the_seconds_left(
    browser_as: Callable[..., Browser],
    make_channel: Callable[..., Channel],
) -> None:
    """The code is the RFC 6238 code of the seed now (computed here independently), with the
    seconds it has left; the seed is not on the page; the use is audited as a code shown."""
    comms = browser_as("comms")
    channel = make_channel("active")
    put(channel, "totp_seed", SEED, user_of(comms))
    seed = base64.b32decode(SEED)
    before = time.time()

    response = comms.post(f"/channels/{channel.reference}/credentials/totp_seed/code", {"reason": REASON})

    after = time.time()
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    shown = re.search(r'<p class="app-code"[^>]*>(\d{3}) (\d{3})</p>', response.get_data(as_text=True))
    assert shown is not None
    expected = {
        TOTP(seed, 6, SHA1(), 30, enforce_key_length=False).generate(moment).decode() for moment in (before, after)
    }
    assert shown.group(1) + shown.group(2) in expected
    seconds = int(re.search(r"It is good for about (\d+) more second", words(response)).group(1))  # type: ignore[union-attr]
    assert 1 <= seconds <= 30
    if int(before) // 30 == int(after) // 30:
        assert 30 - int(after) % 30 <= seconds <= 30 - int(before) % 30
    assert SEED not in response.get_data(as_text=True)
    (event,) = events("credential:totp_code_shown")
    assert json.loads(event.details) == {"version": 1, "reason": REASON}
    assert [u.action for u in uses()] == ["totp_code"]
    assert events("credential:seed_reveal") == []


def test_a_sign_in_code_needs_a_seed_a_reason_and_comms(
    browser_as: Callable[..., Browser],
    make_channel: Callable[..., Channel],
) -> None:
    """A password has no codes (409); without a reason (422) or by an auditor (403) the refusal
    is audited and kept."""
    comms = browser_as("comms")
    channel = make_channel("active")
    put(channel, "totp_seed", SEED, user_of(comms))
    put(channel, "password", VALUES["password"], user_of(comms))
    path = f"/channels/{channel.reference}/credentials/{{}}/code"

    wrong_kind = comms.post(path.format("password"), {"reason": REASON})
    assert wrong_kind.status_code == 409
    assert "Codes can be made only from a two-factor (TOTP) seed." in words(wrong_kind)
    no_reason = comms.post(path.format("totp_seed"), {"reason": ""})
    assert no_reason.status_code == 422
    assert "Enter why you need to sign in to the account." in words(no_reason)
    auditor = browser_as("auditor").post(path.format("totp_seed"), {"reason": REASON})
    assert auditor.status_code == 403
    assert [json.loads(e.details)["why"] for e in events("credential:reveal_refused")] == [
        "no reason given",
        "not in the communications team",
    ]
    assert [u.action for u in uses()] == ["refused", "refused"]
    assert events("credential:totp_code_shown") == []


def test_copying_a_revealed_value_is_audited(
    browser_as: Callable[..., Browser],
    make_channel: Callable[..., Channel],
) -> None:
    """The reveal page's Copy button reports the version copied (204); only a value revealed in
    the last two minutes can be reported copied (409 otherwise); a version that does not exist
    is a 404 and a malformed one a 400; auditors cannot report copies."""
    comms = browser_as("comms")
    channel = make_channel("active")
    put(channel, "password", VALUES["password"], user_of(comms))
    path = f"/channels/{channel.reference}/credentials/password/copied"

    assert comms.post(path, {"version": "1"}).status_code == 409
    assert reveal(comms, channel, "password").status_code == 200
    assert comms.post(path, {"version": "1"}).status_code == 204
    assert comms.post(path, {"version": "2"}).status_code == 404
    assert comms.post(path, {"version": "one"}).status_code == 400
    assert browser_as("auditor").post(path, {"version": "1"}).status_code == 403
    (event,) = events("credential:copy")
    assert (event.actor_id, json.loads(event.details)["version"]) == (user_of(comms).id, 1)
    assert [(u.action, u.version) for u in uses()] == [("reveal", 1), ("copy", 1)]


# --- the password generator --------------------------------------------------------------------------


CLASSES = {
    "lower": string.ascii_lowercase,
    "upper": string.ascii_uppercase,
    "digits": string.digits,
    "symbols": "!#$%&()*+,-./:;<=>?@[]^_{|}~",
}


@pytest.mark.parametrize(
    ("length", "classes"),
    [(24, tuple(CLASSES)), (12, ("lower", "digits")), (128, ("symbols",)), (16, ("upper", "symbols", "digits"))],
)
def test_a_generated_password_has_the_length_and_every_class_asked_for(length: int, classes: tuple[str, ...]) -> None:
    """Only characters of the chosen classes, at least one of each; twenty in a row all differ."""
    made = [custody.generate_password(length, classes) for _ in range(20)]
    allowed = "".join(CLASSES[c] for c in classes)
    for password in made:
        assert len(password) == length
        assert set(password) <= set(allowed)
        assert all(set(password) & set(CLASSES[c]) for c in classes)
    assert len(set(made)) == 20


@pytest.mark.parametrize(
    ("length", "classes", "errors"),
    [
        (11, ("lower",), {"length": "Choose a length from 12 to 128 characters."}),
        (129, ("lower",), {"length": "Choose a length from 12 to 128 characters."}),
        (24, (), {"classes": "Choose at least one kind of character."}),
    ],
)
def test_the_generator_refuses_what_it_cannot_make(
    length: int, classes: tuple[str, ...], errors: dict[str, str]
) -> None:
    with pytest.raises(Invalid) as refused:
        custody.generate_password(length, classes)
    assert refused.value.errors == errors


def test_the_generator_fills_the_store_form_and_stores_nothing(
    browser_as: Callable[..., Browser],
    make_channel: Callable[..., Channel],
) -> None:
    """The page puts a password of the chosen length and classes in the form (not cached) and
    nothing is stored until it is saved; bad choices are explained (422)."""
    comms = browser_as("comms")
    channel = make_channel("active")
    path = f"/channels/{channel.reference}/credentials/generate"

    made = comms.post(path, {"length": "20", "digits": "y", "upper": "y"})

    assert made.status_code == 200
    assert made.headers["Cache-Control"] == "no-store"
    value = re.search(r'<textarea[^>]*name="value"[^>]*>\s*([^<]*)</textarea>', made.get_data(as_text=True))
    assert value is not None
    password = value.group(1).strip()
    assert len(password) == 20 and set(password) <= set(string.ascii_uppercase + string.digits)
    assert custody.credentials_of(channel) == []
    assert events("credential:store") == []
    for data, message in (
        ({"length": "8", "lower": "y"}, "Choose a length from 12 to 128 characters."),
        ({"length": "20"}, "Choose at least one kind of character."),
    ):
        refused = comms.post(path, data)
        assert refused.status_code == 422
        assert message in words(refused)


# --- rotation --------------------------------------------------------------------------------------


class TestRotationPeriod:
    @pytest.fixture
    def app_settings(self) -> dict[str, Any]:
        return {"ROTATION_DAYS": 30}

    def test_the_rotation_period_is_configurable(
        self,
        make_user: Callable[..., User],
        make_channel: Callable[..., Channel],
    ) -> None:
        """REGISTRY_ROTATION_DAYS=30: a secret stored today is due in 30 days."""
        credential = put(make_channel("active"), "password", VALUES["password"], make_user("comms"))
        assert credential.rotation_due_on == clock.today() + dt.timedelta(days=30)


def test_rotation_required_keeps_each_reason_once_and_a_new_version_clears_it(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_channel: Callable[..., Channel],
    api_token: Callable[[User], dict[str, str]],
) -> None:
    """Each distinct reason is added (and audited) once; the page and the API show them; storing
    a new value clears the flag, restarts the 90 days, and the audit says it was required."""
    comms = browser_as("comms")
    user = user_of(comms)
    channel = make_channel("active")
    credential = put(channel, "password", VALUES["password"], user)
    flag = custody.mark_rotation_required

    assert flag([credential], "Ann Smith left the Trust.", actor=user) == 1
    assert flag([credential], "The agency's contract ended.", actor=user) == 1
    assert flag([credential], "Ann Smith left the Trust.", actor=user) == 0
    db.session().commit()

    assert [r["reason"] for r in credential.rotation_reasons] == [
        "Ann Smith left the Trust.",
        "The agency's contract ended.",
    ]
    assert len(events("credential:rotation_required")) == 2
    page = words(comms.get(f"/channels/{channel.reference}/credentials"))
    assert "Rotation required Ann Smith left the Trust. The agency's contract ended." in page
    listed = (
        app.test_client().get(f"/api/v1/channels/{channel.reference}/credentials", headers=api_token(user)).get_json()
    )
    assert [(c["rotation_required"], c["rotation_reasons"]) for c in listed["items"]] == [
        (True, ["Ann Smith left the Trust.", "The agency's contract ended."]),
    ]
    store_page(comms, channel, "password", "Rotated-Password-5678", "Rotated after Ann left.")
    db.session().refresh(credential)
    assert (credential.rotation_required, credential.rotation_reasons, credential.current_version) == (False, [], 2)
    assert credential.rotation_due_on == clock.today() + dt.timedelta(days=90)
    assert json.loads(events("credential:rotate")[0].details)["was_required"] is True


def test_the_overview_lists_overdue_and_required_secrets_most_urgent_first(
    browser_as: Callable[..., Browser],
    make_channel: Callable[..., Channel],
    make_user: Callable[..., User],
) -> None:
    """Required first, then overdue by due date; secrets not yet due and those of retired
    channels are not listed; the dashboard counts them; auditors see the same list."""
    keeper = make_user("comms")
    required, overdue, fine, retired = (make_channel(s) for s in ("active", "suspended", "active", "retired"))
    for channel in (required, overdue, fine, retired):
        put(channel, "password", VALUES["password"], keeper)
    put(overdue, "notes", VALUES["notes"], keeper)
    custody.mark_rotation_required(custody.credentials_of(required), "Ann Smith left the Trust.", actor=keeper)
    custody.mark_rotation_required(custody.credentials_of(retired), "Ann Smith left the Trust.", actor=keeper)
    yesterday, last_week = clock.today() - dt.timedelta(days=1), clock.today() - dt.timedelta(days=7)
    for kind, due in (("password", yesterday), ("notes", last_week)):
        db.session().execute(
            update(Credential)
            .where(Credential.channel_id == overdue.id, Credential.kind == kind)
            .values(rotation_due_on=due)
        )
    db.session().commit()

    for role in ("comms", "auditor"):
        browser = browser_as(role)
        page = browser.get("/credentials")
        assert page.status_code == 200
        rows = re.findall(
            r"<tr>\s*<td><a href=\"/channels/(CH-\d+)/credentials\">.*?<td>([^<(]+?) \(v",
            page.get_data(as_text=True),
            re.DOTALL,
        )
        assert rows == [
            (required.reference, "Password"),
            (overdue.reference, "Custody notes"),
            (overdue.reference, "Password"),
        ], role
        text_of = words(page)
        assert "Required Ann Smith left the Trust." in text_of
        assert f"Overdue since {last_week.day} {last_week:%B %Y}" in text_of
        assert "3 credentials to rotate" in words(browser.get("/"))


# --- what auditors see --------------------------------------------------------------------------------


def test_auditors_see_that_a_secret_exists_and_who_saw_it_but_never_its_value(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_channel: Callable[..., Channel],
    api_token: Callable[[User], dict[str, str]],
) -> None:
    """Kind, version, age, rotation status and the reveal history with reasons; no reveal, code or
    store form; the credentials API answers them with metadata."""
    comms = browser_as("comms")
    channel = make_channel("active")
    for kind in ("password", "totp_seed"):
        put(channel, kind, VALUES[kind], user_of(comms))
    reveal(comms, channel, "password", "Checking the account after the outage.")
    auditor = browser_as("auditor")

    page = auditor.get(f"/channels/{channel.reference}/credentials")

    assert page.status_code == 200
    body = page.get_data(as_text=True)
    text_of = words(page)
    assert "Password Version 1 (changed" in text_of and "Two-factor (TOTP) seed Version 1" in text_of
    assert "Due by" in text_of
    assert f"{user_of(comms).name} reveal (v1) Checking the account after the outage." in text_of
    assert "/reveal" not in body and "/code" not in body and "Store securely" not in body
    assert [v for v in VALUES.values() if v in body] == []
    listed = app.test_client().get(
        f"/api/v1/channels/{channel.reference}/credentials", headers=api_token(user_of(auditor))
    )
    assert [item["kind"] for item in listed.get_json()["items"]] == ["password", "totp_seed"]


# --- values never leave through the API, logs or error pages -----------------------------------------


def test_no_api_endpoint_ever_answers_with_a_value(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_channel: Callable[..., Channel],
    api_token: Callable[[User], dict[str, str]],
) -> None:
    """Every GET endpoint of the API (as comms and as an auditor), and the credentials endpoint's
    201, 409, 422 and 404 answers: no stored value appears in any of them."""
    comms = browser_as("comms")
    channel, closed = make_channel("active"), make_channel("rejected")
    headers = {"comms": api_token(user_of(comms)), "auditor": api_token(browser_as("auditor").user)}  # type: ignore[attr-defined]
    for kind, value in VALUES.items():
        assert api_store(app, headers["comms"], channel, kind, value).status_code == 201
    reveal(comms, channel, "password")
    comms.post(f"/channels/{channel.reference}/credentials/totp_seed/code", {"reason": REASON})
    client = app.test_client()
    answers: dict[str, TestResponse] = {
        "store": api_store(app, headers["comms"], channel, "notes", "A-New-Notes-Value-77"),
        "store 409": api_store(app, headers["comms"], closed, "password", VALUES["password"]),
        "store 422": api_store(app, headers["comms"], channel, "totp_seed", VALUES["notes"]),
        "store 404": client.post(
            "/api/v1/channels/CH-99999/credentials",
            headers=headers["comms"],
            json={"kind": "password", "value": VALUES["password"], "reason": "x"},
        ),
    }
    adapter = app.url_map.bind("localhost")
    called = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or "GET" not in (rule.methods or ()):
            continue
        fill = {"reference": channel.reference, "upload_id": 1}  # a file of a channel's reference: a 404
        unknown = set(rule.arguments) - fill.keys()
        assert unknown == set(), f"{rule.rule}: say what to fill in for {unknown}"
        path = adapter.build(rule.endpoint, {name: fill[name] for name in rule.arguments})
        called.add(rule.endpoint)
        for role, token in headers.items():
            pages = (
                [path] if rule.endpoint != "api.audit_events" else [f"{path}?per_page=100&page={n}" for n in (1, 2, 3)]
            )
            for page in pages:
                answers[f"{role} {page}"] = client.get(
                    page,
                    headers=token,
                    query_string={"platform": "x", "handle": "a"} if rule.endpoint == "api.verify" else None,
                )
    assert {"api.list_credentials", "api.audit_events", "api.get_channel", "api.list_channels", "api.openapi"} <= called
    assert answers["comms /api/v1/audit-events?per_page=100&page=1"].get_json()["total"] > 10
    assert {name: a.status_code for name, a in answers.items() if a.status_code >= 500} == {}
    leaks = {
        name: [v for v in [*VALUES.values(), "A-New-Notes-Value-77"] if v in answer.get_data(as_text=True)]
        for name, answer in answers.items()
    }
    assert {name: found for name, found in leaks.items() if found} == {}


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every log record at DEBUG, SQL statements and result rows included (requested before the
    app, so the test's database connection is created logging)."""
    caplog.set_level(logging.DEBUG)
    for name in ("sqlalchemy.engine", "sqlalchemy.pool", "werkzeug", "registry", "flask_limiter"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def test_no_value_reaches_a_log_line(
    all_logs: pytest.LogCaptureFixture,
    app: Flask,
    browser_as: Callable[..., Browser],
    make_channel: Callable[..., Channel],
    api_token: Callable[[User], dict[str, str]],
    connection: Connection,
) -> None:
    """Storing every kind through the page and the API, revealing each, a sign-in code, a refused
    reveal and a reveal that fails with an unexpected error: SQL and rows were logged, but
    no value is in any record, formatted or not."""
    comms = browser_as("comms")
    channel = make_channel("active")
    for kind, value in VALUES.items():
        assert store_page(comms, channel, kind, value).status_code == 302
    api_store(app, api_token(user_of(comms)), channel, "password", "Api-Logged-Password-42", "Rotated.")
    for kind in VALUES:
        assert reveal(comms, channel, kind).status_code == 200
    comms.post(f"/channels/{channel.reference}/credentials/totp_seed/code", {"reason": REASON})
    assert reveal(browser_as("auditor"), channel, "password").status_code == 403
    break_the_audit_trail(connection)
    assert reveal(comms, channel, "notes").status_code == 500

    logged = all_logs.text + "\n".join(
        f"{record.getMessage()} {record.args!r} {record.exc_text or ''}" for record in all_logs.records
    )
    assert "INSERT INTO credential_versions" in logged
    assert "Unhandled error on POST" in logged
    found = [v for v in [*VALUES.values(), "Api-Logged-Password-42"] if v in logged]
    assert found == []


def test_error_pages_do_not_echo_a_value(
    browser_as: Callable[..., Browser],
    make_channel: Callable[..., Channel],
) -> None:
    """A store without its CSRF token (400), to an unknown channel (404) or a closed one (409),
    and a reveal of a kind not in custody (404): the value is in none of the answers."""
    comms = browser_as("comms")
    channel, closed = make_channel("active"), make_channel("withdrawn")
    value = "Never-Echoed-Secret-8080"
    answers = {
        "no token": comms.client.post(
            f"/channels/{channel.reference}/credentials", data={"kind": "password", "value": value, "reason": "x"}
        ),
        "unknown channel": comms.post(
            "/channels/CH-99999/credentials", {"kind": "password", "value": value, "reason": "x"}
        ),
        "closed": store_page(comms, closed, "password", value),
        "nothing in custody": reveal(comms, channel, "password", value),
    }
    assert {name: a.status_code for name, a in answers.items()} == {
        "no token": 400,
        "unknown channel": 404,
        "closed": 409,
        "nothing in custody": 404,
    }
    assert [name for name, a in answers.items() if value in a.get_data(as_text=True)] == []
    assert "has no password in custody" in words(answers["nothing in custody"])


# --- concurrency ---------------------------------------------------------------------------------------


def test_concurrent_reveals_and_rotations_leave_consistent_versions_and_an_intact_audit_chain(
    committed: CommittedSite,  # noqa: F811
) -> None:
    """On a database that commits: two comms members reveal (current and earlier versions) while a
    third stores new versions and ``keys rotate`` batches run. Every reveal shows the value of
    the version it names; versions are numbered without gaps; each reveal has exactly one audit
    event and one reveal row; afterwards every secret opens under the new key and the chain verifies."""
    seeding = committed.app(OLD)
    values = {version: f"busy password {version}" for version in range(1, 15)}
    with seeding.app_context(), db.transaction():
        staff = new_user("staff", email="requester@example.nhs.uk", two_factor=False)
        keeper = new_user("comms", email="keeper@example.nhs.uk")
        readers = [new_user("comms", email=f"reader{n}@example.nhs.uk") for n in (1, 2)]
        channel = active_channel(staff, keeper, "busy_channel")
        for version in range(1, 9):
            custody.store(channel, "password", values[version], "Taking custody.", keeper)
        for kind in ("recovery_codes", "notes"):
            for version in range(1, 5):
                custody.store(channel, kind, f"{kind} {version}", "Taking custody.", keeper)
    live = committed.app(NEW, OLD)
    browsers = [signed_in(live, reader) for reader in readers]
    seen: list[tuple[int, int, str]] = []
    failures: list[BaseException] = []
    start = threading.Barrier(3)

    def reading(browser: Browser, number: int) -> None:
        try:
            start.wait()
            for attempt in range(12):
                version = None if attempt % 2 else attempt % 8 + 1
                response = reveal(browser, channel, "password", f"Reader {number}, check {attempt}.", version)
                heading = re.search(r"Password, version (\d+)", words(response))
                seen.append(
                    (
                        response.status_code,
                        int(heading.group(1)) if heading else 0,
                        revealed(response) if response.status_code == 200 else "",
                    )
                )
        except BaseException as exc:  # noqa: BLE001  (reported by the main thread)
            failures.append(exc)

    def rotating() -> None:
        try:
            start.wait()
            for version in range(9, 15):
                with live.app_context(), db.transaction():
                    actor = db.session().get(User, keeper.id)
                    assert actor is not None
                    custody.store(
                        channels.get_channel(channel.reference), "password", values[version], "Rotated.", actor
                    )
                with live.app_context(), db.transaction():
                    custody.rewrap_batch(2)
        except BaseException as exc:  # noqa: BLE001
            failures.append(exc)

    threads = [threading.Thread(target=reading, args=(b, n)) for n, b in enumerate(browsers, 1)]
    threads.append(threading.Thread(target=rotating))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert failures == []
    assert len(seen) == 24
    assert [(status, value) for status, version, value in seen if status != 200 or values.get(version) != value] == []
    assert invoke(live, "keys", "rotate").exit_code == 0
    verified = invoke(committed.app(NEW), "keys", "verify")
    assert verified.exit_code == 0, verified.output
    with live.app_context():
        credential = custody.get_credential(channels.get_channel(channel.reference), "password")
        assert credential.current_version == 14
        assert [v.version for v in custody.versions_of(credential)] == list(range(14, 0, -1))
        reveal_events = (
            db.session()
            .execute(select(AuditEvent.details).where(AuditEvent.action == "credential:reveal"))
            .scalars()
            .all()
        )
        assert sorted(json.loads(d)["version"] for d in reveal_events) == sorted(version for _, version, _ in seen)
        rows = db.session().execute(select(func.count()).select_from(CredentialReveal)).scalar_one()
        assert rows == 24
        assert verify_chain(db.session()).ok
        assert (
            db.session()
            .execute(select(func.count()).select_from(CredentialVersion).where(CredentialVersion.key_id != "new"))
            .scalar_one()
            == 0
        )
        db.session().rollback()
