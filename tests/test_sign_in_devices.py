"""Sign-in lock-out (issue 9, section 5): a stranger who spends the failed-sign-in allowance that
unknown clients share must not lock the owner out of a browser they have signed in on before."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner
from werkzeug.test import TestResponse

from registry import db
from registry.audit.services import Actor
from registry.auth import devices
from registry.auth import services as accounts
from registry.auth.models import User
from tests.conftest import TEST_PASSWORD, csrf_token, next_code, sign_in

UNTRUSTED_PER_DAY = 50
DESK = "10.9.0.1"
NEW_ADDRESS = "198.51.100.7"
WARD_WIFI = "192.0.2.50"


@pytest.fixture
def app_settings() -> dict[str, Any]:
    return {"RATELIMIT_ENABLED": True}


def attempt(client: FlaskClient, email: str, password: str, address: str) -> TestResponse:
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_token(client)},
        environ_base={"REMOTE_ADDR": address},
    )


def browser_signed_in_at(app: Flask, user: User, address: str = DESK) -> FlaskClient:
    """A browser on which ``user`` has signed in fully (with their second factor if they have one)
    from ``address``, and then signed out."""
    browser = app.test_client()
    browser.environ_base["REMOTE_ADDR"] = address
    sign_in(browser, user)
    assert browser.post("/logout", data={"csrf_token": csrf_token(browser)}).status_code == 302
    del browser.environ_base["REMOTE_ADDR"]
    return browser


def stranger_spends_the_untrusted_allowance(app: Flask, email: str) -> None:
    """Wrong passwords for ``email``, each from a fresh browser at an address nobody has used,
    until the per-account cap for unknown clients refuses the next one."""
    statuses = []
    for n in range(UNTRUSTED_PER_DAY + 1):
        stranger = app.test_client()
        statuses.append(attempt(stranger, email, f"guess number {n}", f"203.0.{n // 200}.{n % 200 + 1}").status_code)
    assert statuses == [200] * UNTRUSTED_PER_DAY + [429]


def test_a_stranger_cannot_lock_the_owner_out_of_their_own_browser_at_a_new_address(
    app: Flask,
    make_user: Callable[..., User],
) -> None:
    """The owner's laptop, taken to an address the account has never used (a hotel, a phone's
    network), still signs in after a stranger has spent the day's allowance for unknown clients;
    a browser the owner has never used, at a new address, is still refused."""
    owner = make_user("staff")
    laptop = browser_signed_in_at(app, owner)

    stranger_spends_the_untrusted_allowance(app, owner.email)

    assert attempt(laptop, owner.email, TEST_PASSWORD, NEW_ADDRESS).status_code == 302
    assert laptop.get("/account").status_code == 200
    assert attempt(app.test_client(), owner.email, TEST_PASSWORD, "198.51.100.8").status_code == 429


def test_a_stranger_on_the_owners_network_cannot_lock_them_out(
    app: Flask,
    make_user: Callable[..., User],
) -> None:
    """A stranger on the ward's Wi-Fi spends both the address's allowance and the account's
    allowance at that address; the owner's own browser there still signs in, anyone else there
    is still refused."""
    owner, colleague = make_user("staff"), make_user("staff")
    laptop = browser_signed_in_at(app, owner, address="10.9.0.2")
    stranger = app.test_client()
    statuses = [attempt(stranger, owner.email, f"guess {n}", WARD_WIFI).status_code for n in range(5)]
    statuses += [
        attempt(stranger, f"person{n}@example.nhs.uk", "spray guess 1", WARD_WIFI).status_code for n in range(25)
    ]
    assert statuses == [200] * 30
    assert attempt(stranger, colleague.email, TEST_PASSWORD, WARD_WIFI).status_code == 429

    assert attempt(laptop, owner.email, TEST_PASSWORD, WARD_WIFI).status_code == 302
    assert laptop.get("/account").status_code == 200
    assert attempt(app.test_client(), colleague.email, TEST_PASSWORD, WARD_WIFI).status_code == 429


def test_a_two_factor_user_is_recognised_only_after_their_code(
    app: Flask,
    make_user: Callable[..., User],
) -> None:
    """Someone with the password but not the code gains nothing; the owner, recognised after
    signing in with both, still reaches the code step from a new address."""
    owner = make_user("comms")
    laptop = browser_signed_in_at(app, owner)
    thief = app.test_client()
    password_only = attempt(thief, owner.email, TEST_PASSWORD, "203.0.113.200")
    assert password_only.status_code == 302 and password_only.headers["Location"].endswith("/login/mfa")

    stranger_spends_the_untrusted_allowance(app, owner.email)

    assert attempt(thief, owner.email, TEST_PASSWORD, "203.0.113.201").status_code == 429
    step = attempt(laptop, owner.email, TEST_PASSWORD, NEW_ADDRESS)
    assert step.status_code == 302 and step.headers["Location"].endswith("/login/mfa")


def test_failures_from_a_known_browser_are_limited_wherever_it_goes(
    app: Flask,
    make_user: Callable[..., User],
) -> None:
    """A known browser (or a thief holding a copy of its cookie) gets five failures a minute,
    however often it changes address; they do not come out of the allowance other clients share."""
    owner = make_user("staff")
    laptop = browser_signed_in_at(app, owner)
    statuses = [attempt(laptop, owner.email, f"typo {n}", f"198.51.100.{n + 10}").status_code for n in range(6)]
    assert statuses == [200] * 5 + [429]
    assert attempt(laptop, owner.email, TEST_PASSWORD, "198.51.100.99").status_code == 429
    stranger_spends_the_untrusted_allowance(app, owner.email)


def test_a_browser_known_for_one_account_is_unknown_for_another(
    app: Flask,
    make_user: Callable[..., User],
) -> None:
    """A's device cookie gives nothing when signing in to B, even with B's right password."""
    person_a, person_b = make_user("staff"), make_user("staff")
    browser = browser_signed_in_at(app, person_a)

    stranger_spends_the_untrusted_allowance(app, person_b.email)

    assert attempt(browser, person_b.email, TEST_PASSWORD, NEW_ADDRESS).status_code == 429
    assert attempt(browser, person_a.email, TEST_PASSWORD, NEW_ADDRESS).status_code == 302


def test_a_shared_computer_knows_each_person_who_signed_in_on_it(
    app: Flask,
    make_user: Callable[..., User],
) -> None:
    """Two people who sign in on one ward computer are both recognised there."""
    first, second = make_user("staff"), make_user("staff")
    ward_pc = browser_signed_in_at(app, first)
    ward_pc.environ_base["REMOTE_ADDR"] = DESK
    sign_in(ward_pc, second)
    ward_pc.post("/logout", data={"csrf_token": csrf_token(ward_pc)})
    del ward_pc.environ_base["REMOTE_ADDR"]

    stranger_spends_the_untrusted_allowance(app, first.email)
    stranger_spends_the_untrusted_allowance(app, second.email)

    for person in (first, second):
        assert attempt(ward_pc, person.email, TEST_PASSWORD, NEW_ADDRESS).status_code == 302
        ward_pc.post("/logout", data={"csrf_token": csrf_token(ward_pc)})


def _forged(secret_key: str, user: User, device: str) -> str:
    """A device cookie entry made the way the app makes one, by someone who has read the source
    but does not hold the app's secret key."""
    return (
        TimestampSigner(
            secret_key,
            salt=f"registry.device-cookie:{user.id}:{user.password_hash}",
            key_derivation="hmac",
            digest_method=hashlib.sha256,
        )
        .sign(device)
        .decode("ascii")
    )


def _swap_last(text: str) -> str:
    """``text`` with its last base64 character that is all data changed: the very last one can end
    in padding bits, which decoding ignores ("...A" and "...B" then say the same), and the test
    failed whenever a signature or a time happened to end in "A"."""
    return text[:-2] + ("A" if text[-2] != "A" else "B") + text[-1]


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda entry, user: _swap_last(entry), id="signature changed"),
        pytest.param(lambda entry, user: "x" + entry[1:], id="device id changed"),
        pytest.param(
            lambda entry, user: ".".join(
                [
                    entry.split(".")[0],
                    _swap_last(entry.split(".")[1]),
                    entry.split(".")[2],
                ]
            ),
            id="time changed",
        ),
        pytest.param(
            lambda entry, user: _forged(secrets.token_urlsafe(32), user, "forged-device"),
            id="wrong key",
        ),
        pytest.param(lambda entry, user: "~".join([entry] * 20), id="oversized"),
        pytest.param(lambda entry, user: "not a device cookie at all", id="garbage"),
    ],
)
def test_a_tampered_or_forged_device_cookie_counts_as_none(
    app: Flask,
    make_user: Callable[..., User],
    tamper: Callable[[str, User], str],
) -> None:
    owner = make_user("staff")
    laptop = browser_signed_in_at(app, owner)
    cookie = laptop.get_cookie(devices.cookie_name())
    assert cookie is not None
    laptop.set_cookie(devices.cookie_name(), tamper(cookie.value, db.session().get(User, owner.id)))

    stranger_spends_the_untrusted_allowance(app, owner.email)

    assert attempt(laptop, owner.email, TEST_PASSWORD, NEW_ADDRESS).status_code == 429


def test_a_deactivated_persons_device_cookie_gives_nothing(
    app: Flask,
    make_user: Callable[..., User],
) -> None:
    """A leaver's browser is not exempt from the allowance unknown clients share."""
    owner = make_user("staff")
    laptop = browser_signed_in_at(app, owner)
    accounts.deactivate(owner, actor=Actor.system("tests"))
    db.session().commit()

    stranger_spends_the_untrusted_allowance(app, owner.email)

    assert attempt(laptop, owner.email, TEST_PASSWORD, NEW_ADDRESS).status_code == 429


def test_a_new_password_ends_every_browsers_standing_until_it_signs_in_again(
    app: Flask,
    make_user: Callable[..., User],
) -> None:
    """After a password change, a browser that signed in with the old one (perhaps a thief's)
    is unknown; the person's next full sign-in makes their browser known again."""
    owner = make_user("staff")
    laptop = browser_signed_in_at(app, owner)
    new_password = "a brand new passphrase 77"
    accounts.change_password(db.session().get(User, owner.id), current=TEST_PASSWORD, new=new_password)
    db.session().commit()

    stranger_spends_the_untrusted_allowance(app, owner.email)

    assert attempt(laptop, owner.email, new_password, NEW_ADDRESS).status_code == 429
    assert attempt(laptop, owner.email, new_password, DESK).status_code == 302
    laptop.post("/logout", data={"csrf_token": csrf_token(laptop)})
    assert attempt(laptop, owner.email, new_password, NEW_ADDRESS).status_code == 302


@pytest.mark.parametrize(
    ("app_settings", "name", "secure"),
    [
        ({"RATELIMIT_ENABLED": True}, "registry_device", False),
        (
            {"RATELIMIT_ENABLED": True, "SESSION_COOKIE_SECURE": True},
            "__Host-registry-device",
            True,
        ),
    ],
)
def test_the_device_cookie_is_issued_only_after_a_full_sign_in_and_scripts_cannot_read_it(
    app: Flask,
    make_user: Callable[..., User],
    name: str,
    secure: bool,
) -> None:
    """Not after a wrong password, nor after the password step alone; after the code: HttpOnly,
    SameSite=Strict, for the whole site, kept 180 days, Secure (and __Host-) outside development."""
    person, comms = make_user("staff"), make_user("comms")
    browser = app.test_client()

    def device_cookies(response: TestResponse) -> list[str]:
        return [header for header in response.headers.getlist("Set-Cookie") if header.startswith(f"{name}=")]

    assert device_cookies(attempt(browser, person.email, "wrong password 1", DESK)) == []
    assert device_cookies(attempt(browser, comms.email, TEST_PASSWORD, DESK)) == []
    issued = device_cookies(
        browser.post(
            "/login/mfa",
            data={"code": next_code(comms), "csrf_token": csrf_token(browser)},
        )
    )

    assert len(issued) == 1
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in issued[0].split(";")[1:]}
    assert attributes["httponly"] == "HttpOnly"
    assert attributes["samesite"] == "SameSite=Strict"
    assert attributes["path"] == "Path=/"
    assert attributes["max-age"] == f"Max-Age={180 * 24 * 3600}"
    assert ("secure" in attributes) is secure
    assert "domain" not in attributes


def test_a_stranger_without_the_password_cannot_spend_the_owners_code_attempts(
    app: Flask,
    make_user: Callable[..., User],
) -> None:
    """The code step counts failures per person, but only someone who has just given the right
    password reaches it: a stranger's codes, even from the owner's own address, count for nothing."""
    owner = make_user("comms")
    stranger = app.test_client()
    stranger.environ_base["REMOTE_ADDR"] = DESK
    statuses = [
        stranger.post("/login/mfa", data={"code": f"{n:06d}", "csrf_token": csrf_token(stranger)}).status_code
        for n in range(35)
    ]
    assert set(statuses) == {302}

    browser_signed_in_at(app, owner, address=DESK)  # the password, then the code: both accepted
