"""Public verification (SPEC capability 3): "is this an official Trust account?" on the page
and through ``/api/v1/verify``, for anyone, signed in or not.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient

from registry import db
from registry.auth.models import User
from registry.channels.models import Channel
from registry.errors import Invalid
from registry.monitoring import services as monitoring
from registry.verification import services as verification


@pytest.fixture
def official(app: Flask, make_channel: Callable[..., Channel]) -> dict[str, Channel]:
    return {
        "active": make_channel("active", handle="ExampleNHS", display_name="Example NHS Foundation Trust"),
        "suspended": make_channel(
            "suspended", platform="facebook", handle="ExampleMaternityVoices", display_name="Example Maternity Voices"
        ),
        "retired": make_channel("retired", handle="ExampleJabs", display_name="COVID-19 vaccination"),
        "requested": make_channel("requested", platform="instagram", handle="example_physio"),
    }


def api(client: FlaskClient, **query: str) -> tuple[int, dict[str, Any]]:
    response = client.get(f"/api/v1/verify?{urlencode(query)}")
    return response.status_code, response.get_json()


def page(client: FlaskClient, **query: str) -> tuple[int, str]:
    response = client.get(f"/verify?{urlencode(query)}")
    return response.status_code, " ".join(html.unescape(response.get_data(as_text=True)).split())


SPELLINGS = [
    {"url": "https://twitter.com/ExampleNHS"},
    {"url": "https://mobile.x.com/examplenhs/?ref_src=twsrc"},
    {"url": "x.com/@EXAMPLENHS"},
    {"platform": "x", "handle": "@ExampleNHS"},
    {"platform": "x", "handle": "examplenhs"},
]


def test_an_active_channel_is_official_however_it_is_written(
    client: FlaskClient,
    official: dict[str, Channel],
) -> None:
    """Any spelling of an official account's address or handle is recognised, without signing in."""
    for query in SPELLINGS:
        status, body = api(client, **query)
        assert status == 200, query
        assert (body["official"], body["formerly_official"], body["lookalike_of"]) == (True, False, None), query
        assert body["channel"]["reference"] == official["active"].reference
        assert set(body["channel"]) >= {
            "reference",
            "platform",
            "handle",
            "url",
            "display_name",
            "department",
            "status",
        }
        assert "requested_by" not in body["channel"] and "purpose" not in body["channel"]


def test_the_page_says_an_account_is_official(client: FlaskClient, official: dict[str, Channel]) -> None:
    """The public page names the account, its owner and its registry reference."""
    status, text = page(client, url="https://x.com/ExampleNHS")
    assert status == 200
    assert "Official account" in text
    assert "Example NHS Foundation Trust (X" in text or "Example NHS Foundation Trust" in text
    assert f"Registry reference {official['active'].reference}." in text


def test_a_suspended_channel_is_still_official(client: FlaskClient, official: dict[str, Channel]) -> None:
    """Suspended accounts remain the Trust's; the page warns that it is not in use at the moment."""
    status, body = api(client, url="https://www.facebook.com/ExampleMaternityVoices")
    assert (status, body["official"]) == (200, True)
    assert body["channel"]["status"] == "suspended"
    assert "not in use at the moment" in page(client, url="https://facebook.com/examplematernityvoices")[1]


def test_a_retired_channel_is_formerly_official(client: FlaskClient, official: dict[str, Channel]) -> None:
    """A retired account is not official, but the answer says it used to be and when it was retired."""
    status, body = api(client, platform="x", handle="ExampleJabs")
    assert status == 200
    assert (body["official"], body["formerly_official"]) == (False, True)
    assert body["channel"]["reference"] == official["retired"].reference
    text = page(client, platform="x", handle="ExampleJabs")[1]
    assert "No longer an official account" in text
    assert "was an official account of the Trust but was retired on" in text


def test_a_request_is_not_yet_official(client: FlaskClient, official: dict[str, Channel]) -> None:
    """A requested channel is not the Trust's account until it is activated."""
    status, body = api(client, url="https://www.instagram.com/example_physio/")
    assert (status, body["official"], body["formerly_official"], body["channel"]) == (200, False, False, None)


LOOKALIKES = [
    ("examp1enhs", "confusable 1 for l"),
    ("ExampIeNHS", "confusable capital I for l"),
    ("exarnplenhs", "confusable rn for m"),
    ("examplenh", "one letter missing"),
    ("examplenhss", "one letter added"),
    ("exampelnhs", "two letters swapped"),
    ("example_nhs", "separator added"),
    ("examp1e_nhs", "separator and confusable"),
]


def test_lookalikes_are_reported_with_the_official_channel(client: FlaskClient, official: dict[str, Channel]) -> None:
    """A handle that imitates an official one is not official, and the answer names the real account."""
    for handle, kind in LOOKALIKES:
        status, body = api(client, platform="x", handle=handle)
        assert status == 200, kind
        assert (body["official"], body["channel"]) == (False, None), kind
        assert body["lookalike_of"] is not None, kind
        assert body["lookalike_of"]["reference"] == official["active"].reference, kind
        text = page(client, platform="x", handle=handle)[1]
        assert "Not an official account" in text, kind
        assert "It looks like the Trust's official account examplenhs" in text, kind
        assert official["active"].url in text


def test_separator_removed_is_a_lookalike(
    app: Flask, make_channel: Callable[..., Channel], client: FlaskClient
) -> None:
    """An official ``example.nhs`` is imitated by ``examplenhs`` (separators removed)."""
    real = make_channel("active", platform="instagram", handle="example.nhs")
    body = api(client, url="https://www.instagram.com/examplenhs/")[1]
    assert (body["official"], body["lookalike_of"]["reference"]) == (False, real.reference)


def test_a_lookalike_on_another_platform_is_not_reported(client: FlaskClient, official: dict[str, Channel]) -> None:
    """``examp1enhs`` on TikTok does not imitate the X account: lookalikes are per platform."""
    body = api(client, platform="tiktok", handle="examp1enhs")[1]
    assert (body["official"], body["lookalike_of"]) == (False, None)


def test_a_retired_handle_is_not_a_lookalike_target(client: FlaskClient, official: dict[str, Channel]) -> None:
    """Only live official accounts are imitated: a slip on a retired handle is just unknown."""
    body = api(client, platform="x", handle="ExampleJab")[1]
    assert (body["official"], body["lookalike_of"]) == (False, None)


def test_an_unknown_account_is_not_official(client: FlaskClient, official: dict[str, Channel]) -> None:
    """An account nothing like the Trust's is simply not official."""
    status, body = api(client, url="https://x.com/SomeoneElse42")
    assert status == 200
    assert body == {
        "official": False,
        "formerly_official": False,
        "platform": "x",
        "handle": "someoneelse42",
        "channel": None,
        "lookalike_of": None,
        "known_unauthorised": False,
        "link": "account",
    }
    text = page(client, url="https://x.com/SomeoneElse42")[1]
    assert "someoneelse42 on X (Twitter) is not one of the Trust's official accounts." in text


def test_a_known_unauthorised_account_is_flagged(
    app: Flask,
    client: FlaskClient,
    official: dict[str, Channel],
    make_user: Callable[..., User],
) -> None:
    """An account comms are already dealing with is flagged as known, as well as being a lookalike."""
    monitoring.record_finding(
        platform="", url="https://x.com/ExampleNHS_", evidence="Imitation.", found_on=None, actor=make_user("comms")
    )
    db.session().commit()

    body = api(client, url="https://twitter.com/examplenhs_")[1]

    assert body["official"] is False
    assert body["known_unauthorised"] is True
    assert body["lookalike_of"]["reference"] == official["active"].reference
    assert (
        "The Trust's communications team knows about this account"
        in page(client, platform="x", handle="examplenhs_")[1]
    )


def test_the_service_answers_the_same_question(app: Flask, official: dict[str, Channel]) -> None:
    """The service is what the page and the API ask: official, formerly official, lookalike."""
    assert verification.verify(url="https://x.com/examplenhs").official
    assert verification.verify(platform="x", handle="examplejabs").formerly_official
    assert verification.verify(platform="x", handle="examp1enhs").lookalike_of.id == official["active"].id  # type: ignore[union-attr]
    with pytest.raises(Invalid) as refused:
        verification.verify()
    assert refused.value.errors == {
        "url": "Enter the web address of the account, or choose a platform and enter a handle."
    }


HOSTILE = [
    ({"url": "javascript:alert(1)"}, "url"),
    ({"url": "https://x.com/" + "a" * 3000}, "url"),
    ({"url": "https://x.com/<script>alert(1)</script>"}, "url"),
    ({"url": "http://[::1"}, "url"),
    ({"url": "https://x.com/examplenhs", "platform": "facebook"}, "url"),
    ({"platform": "myspace", "handle": "examplenhs"}, "platform"),
    ({"platform": "x", "handle": "exam\x00plenhs"}, "handle"),
    ({"platform": "x", "handle": "a" * 300}, "handle"),
    ({"platform": "x", "handle": "'; DROP TABLE channels; --"}, "handle"),
    ({"platform": "x"}, "handle"),
    ({"handle": "examplenhs"}, "platform"),
    ({"url": "%%%"}, "url"),
]


def test_hostile_input_is_a_422_never_a_500(client: FlaskClient, official: dict[str, Channel]) -> None:
    """Bad or malicious input gets a plain answer naming the field: problem+json, or the page's error summary."""
    for query, field in HOSTILE:
        response = client.get(f"/api/v1/verify?{urlencode(query)}")
        assert response.status_code == 422, query
        assert response.mimetype == "application/problem+json"
        problem = response.get_json()
        assert problem["status"] == 422 and problem["title"] and problem["detail"]
        assert field in problem["errors"], query

        status, text = page(client, **query)
        if any("\x00" in value for value in query.values()):
            # No browser sends a NUL: pages refuse it outright, before any field is read.
            assert status == 400, query
            assert "contains a character that is not allowed" in text
            continue
        assert status == 422, query
        assert "There is a problem" in text
        assert f'href="#{field}"' in text, query
        assert "<script>alert(1)" not in client.get(f"/verify?{urlencode(query)}").get_data(as_text=True)


def test_an_address_after_a_bracket_and_a_space_is_refused_for_its_space(
    client: FlaskClient, official: dict[str, Channel]
) -> None:
    """The public check says what is wrong with "( https://x.com/examplenhs": the space, on the address's field."""
    for query in ({"url": "( https://x.com/examplenhs"}, {"platform": "x", "handle": "( x.com/examplenhs"}):
        response = client.get(f"/api/v1/verify?{urlencode(query)}")
        assert response.status_code == 422, query
        field = "url" if "url" in query else "handle"
        assert response.get_json()["errors"][field] == "A web address cannot contain spaces.", query


@pytest.mark.parametrize("app_settings", [{"RATELIMIT_ENABLED": True}])
def test_verification_is_throttled_per_address(app: Flask, official: dict[str, Channel]) -> None:
    """After 120 checks a minute from one address the API answers 429 with Retry-After; other addresses go on."""
    client = app.test_client()
    noisy = {"REMOTE_ADDR": "203.0.113.77"}
    statuses = [
        client.get("/api/v1/verify?platform=x&handle=examplenhs", environ_base=noisy).status_code for _ in range(120)
    ]
    throttled = client.get("/api/v1/verify?platform=x&handle=examplenhs", environ_base=noisy)
    other = client.get("/api/v1/verify?platform=x&handle=examplenhs", environ_base={"REMOTE_ADDR": "198.51.100.4"})

    assert set(statuses) == {200}
    assert throttled.status_code == 429
    assert throttled.mimetype == "application/problem+json"
    assert 1 <= int(throttled.headers["Retry-After"]) <= 60
    assert other.status_code == 200


@pytest.mark.parametrize("app_settings", [{"RATELIMIT_ENABLED": True}])
def test_the_verification_page_is_throttled_per_address(app: Flask, official: dict[str, Channel]) -> None:
    """The page counts like the API: 120 checks a minute from one address, then 429."""
    client = app.test_client()
    noisy = {"REMOTE_ADDR": "203.0.113.78"}
    statuses = [client.get("/verify?platform=x&handle=examplenhs", environ_base=noisy).status_code for _ in range(120)]

    assert set(statuses) == {200}
    assert client.get("/verify?platform=x&handle=examplenhs", environ_base=noisy).status_code == 429


def test_a_question_without_a_cookie_gets_no_cookie(app: Flask, official: dict[str, Channel]) -> None:
    """Asking is anonymous: the answer starts no session, and says it varies with the cookie as every
    answer that looked at the session does."""
    response = app.test_client().get("/api/v1/verify?platform=x&handle=examplenhs")

    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert "Cookie" in response.vary
