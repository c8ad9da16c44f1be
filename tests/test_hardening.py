"""Regressions from the security review of the foundation: each test names the attack it stops."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy import func, select

from registry import db
from registry.auth.models import ApiToken, User
from registry.channels import services as channels
from registry.channels.models import Channel
from registry.channels.platforms import normalise_handle, parse_url
from registry.errors import Conflict
from registry.monitoring import services as monitoring
from registry.verification import services as verification
from tests.conftest import TEST_PASSWORD, Browser, csrf_token

PAYLOAD = '<img src=x onerror="alert(1)">'


def test_text_people_type_is_shown_as_text_everywhere(
    browser_as: Callable[..., Browser],
    make_user: Callable[..., User],
) -> None:
    """Stored HTML in a request, a name or monitoring evidence reaches comms' pages escaped,
    including inside the design system's components (summary lists, textareas, banners)."""
    requester = make_user("staff", name=f"Eve {PAYLOAD}")
    channel = channels.request_channel(
        channels.ChannelRequest(
            platform="x",
            handle="@escapetest",
            display_name=f"Name {PAYLOAD}",
            department=f"Dept {PAYLOAD}",
            purpose=f"Purpose {PAYLOAD}",
            audience="Everyone",
            policy_acknowledged=True,
        ),
        requester,
    )
    comms = browser_as("comms")
    finding = monitoring.record_finding(
        platform="x",
        url="https://x.com/escapetest2",
        evidence=f"Evidence {PAYLOAD}",
        found_on=None,
        actor=comms.user,  # type: ignore[attr-defined]
    )
    db.session().commit()
    admin = browser_as("admin")
    pages = {
        "channel": comms.get(f"/channels/{channel.reference}"),
        "edit form": comms.get(f"/channels/{channel.reference}/edit"),
        "inventory": comms.get("/channels"),
        "monitoring record": comms.get(f"/monitoring/{finding.reference}"),
        "users": admin.get("/admin/users"),
        "user": admin.get(f"/admin/users/{requester.id}"),
    }
    for name, response in pages.items():
        html = response.get_data(as_text=True)
        assert response.status_code == 200, name
        assert PAYLOAD not in html, f"raw HTML on the {name} page"
        assert "&lt;img src=x" in html, f"the text itself is missing from the {name} page"


def test_a_requester_cannot_activate_their_channel_under_another_handle(
    make_user: Callable[..., User],
) -> None:
    """Four-eyes: the account approved is the account that goes live, unless someone else changes it."""
    first, second = make_user("comms"), make_user("comms")
    channel = channels.request_channel(
        channels.ChannelRequest(
            platform="x",
            handle="@foureyesc",
            display_name="A",
            department="D",
            purpose="P",
            audience="A",
            policy_acknowledged=True,
        ),
        first,
    )
    channels.transition(channel, "approve", second)
    db.session().commit()
    with pytest.raises(Conflict, match="four-eyes"):
        channels.transition(channel, "activate", first, handle="@totallydiff2")
    db.session().rollback()
    assert channels.get_channel(channel.reference).status == "approved"
    channels.transition(channel, "activate", first)  # the approved handle: fine
    assert channels.get_channel(channel.reference).handle == "foureyesc"
    other = channels.request_channel(
        channels.ChannelRequest(
            platform="x",
            handle="@foureyesd",
            display_name="A",
            department="D",
            purpose="P",
            audience="A",
            policy_acknowledged=True,
        ),
        first,
    )
    channels.transition(other, "approve", second)
    activated = channels.transition(other, "activate", second, handle="@foureyese")
    assert activated.handle == "foureyese"
    assert "Handle changed from foureyesd to foureyese." in channels.history(activated)[-1].reason


@pytest.mark.parametrize(
    ("platform", "handle"),
    [
        ("other", "https://example.org/" + "a" * 300),
        ("linkedin", "https://www.linkedin.com/company/" + "é" * 50),
    ],
)
def test_a_handle_too_long_to_store_is_refused_not_a_500(
    app: Flask,
    make_user: Callable[..., User],
    api_token: Callable[[User], dict[str, str]],
    platform: str,
    handle: str,
) -> None:
    """Normalised handles over 255 characters (percent-encoding can multiply them) are a 422, on both databases."""
    headers = api_token(make_user("staff"))
    response = app.test_client().post(
        "/api/v1/channels",
        json={
            "platform": platform,
            "handle": handle,
            "display_name": "N",
            "department": "D",
            "purpose": "P",
            "audience": "A",
            "policy_acknowledged": True,
        },
        headers=headers,
    )
    assert response.status_code == 422
    assert "too long" in response.get_json()["errors"]["handle"]


def test_a_nul_character_is_refused_plainly_not_a_500(app: Flask, browser_as: Callable[..., Browser]) -> None:
    """PostgreSQL cannot store NUL: sign-in, search and forms refuse it with 400 and a reason."""
    anonymous = app.test_client()
    response = anonymous.post(
        "/login",
        data={"email": "a\x00b@example.nhs.uk", "password": TEST_PASSWORD, "csrf_token": csrf_token(anonymous)},
    )
    assert response.status_code == 400
    assert "character that is not allowed" in response.get_data(as_text=True)
    admin = browser_as("admin")
    assert admin.get("/admin/users?q=a%00b").status_code == 400


def test_query_parameters_cannot_break_or_reshape_links(browser_as: Callable[..., Browser]) -> None:
    """``endpoint`` and url_for's private arguments in a query string are ignored, not a 500 or absolute links."""
    comms = browser_as("comms", "auditor")
    for path in ("/channels?endpoint=x", "/audit?endpoint=x", "/channels?_external=1&_scheme=https&sort=name"):
        response = comms.get(path)
        assert response.status_code == 200, path
        assert "https://localhost" not in response.get_data(as_text=True), path


@pytest.mark.parametrize("app_settings", [{"RATELIMIT_ENABLED": True}])
def test_guesses_from_many_addresses_are_capped_but_the_owner_still_signs_in(
    app: Flask,
    make_user: Callable[..., User],
) -> None:
    """Rotating addresses gives an attacker 50 failed guesses a day at one account, not unlimited; the
    person themself, from an address they have signed in from before, is never stopped by that cap,
    even in a browser they have not used (tests/test_sign_in_devices.py covers known browsers)."""
    user = make_user("staff")
    owner = app.test_client()
    owner.environ_base["REMOTE_ADDR"] = "10.9.0.1"
    token = csrf_token(owner)
    assert (
        owner.post(
            "/login",
            data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": token},
        ).status_code
        == 302
    )
    owner.post("/logout", data={"csrf_token": csrf_token(owner)})
    statuses = []
    for attempt in range(51):
        attacker = app.test_client()
        attacker.environ_base["REMOTE_ADDR"] = f"203.0.{attempt // 200}.{attempt % 200 + 1}"
        statuses.append(
            attacker.post(
                "/login",
                data={
                    "email": user.email.upper(),
                    "password": "wrong password 1",
                    "csrf_token": csrf_token(attacker),
                },
            ).status_code
        )
    assert statuses[:50] == [200] * 50
    assert statuses[50] == 429
    newcomer = app.test_client()
    newcomer.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    refused = newcomer.post(
        "/login",
        data={
            "email": user.email,
            "password": TEST_PASSWORD,
            "csrf_token": csrf_token(newcomer),
        },
    )
    assert refused.status_code == 429
    new_browser_at_the_desk = app.test_client()
    new_browser_at_the_desk.environ_base["REMOTE_ADDR"] = "10.9.0.1"
    token = csrf_token(new_browser_at_the_desk)
    assert (
        new_browser_at_the_desk.post(
            "/login",
            data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": token},
        ).status_code
        == 302
    )


def test_an_adoption_refused_for_a_reason_without_a_field_says_why(browser_as: Callable[..., Browser]) -> None:
    """When the account is already in the registry, the adoption form shows that in its error summary."""
    staff = browser_as("staff")
    comms = browser_as("comms")
    finding = monitoring.record_finding(
        platform="x",
        url="https://x.com/adoptclash",
        evidence="Looks like us",
        found_on=None,
        actor=comms.user,  # type: ignore[attr-defined]
    )
    channels.request_channel(
        channels.ChannelRequest(
            platform="x",
            handle="@adoptclash",
            display_name="A",
            department="D",
            purpose="P",
            audience="A",
            policy_acknowledged=True,
        ),
        staff.user,  # type: ignore[attr-defined]
    )
    db.session().commit()
    response = comms.post(
        f"/monitoring/{finding.reference}/adopt",
        {"display_name": "A", "department": "D", "purpose": "P", "audience": "A", "sponsor": "S", "reason": "Ours"},
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "There is a problem" in html and "already in the registry" in html


def test_deactivation_revokes_tokens_so_reactivation_does_not_revive_them(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_user: Callable[..., User],
    api_token: Callable[[User], dict[str, str]],
) -> None:
    """A leaver's API tokens end with them; coming back means a new token."""
    user = make_user("staff")
    headers = api_token(user)
    admin = browser_as("admin")
    assert admin.post(f"/admin/users/{user.id}/deactivate").status_code == 302
    assert admin.post(f"/admin/users/{user.id}/reactivate").status_code == 302
    assert app.test_client().get("/api/v1/channels", headers=headers).status_code == 401
    open_tokens = (
        db.session()
        .execute(
            select(func.count()).select_from(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        )
        .scalar_one()
    )
    assert open_tokens == 0


def test_addresses_normalise_in_one_step_and_other_sites_verify_by_address(
    make_channel: Callable[..., Channel],
) -> None:
    """Repeated www. prefixes go at once; a page on another site whose path looks like Mastodon
    (/@name) still verifies as the Trust's registered 'other' channel."""
    once = normalise_handle("other", "www.www.example.org/x")
    assert once == normalise_handle("other", once) == "example.org/x"
    assert parse_url("https://zyoutube.com/@trustpage")[0].value == "mastodon"
    channel = make_channel("active", platform="other", handle="https://zyoutube.com/@trustpage")
    verdict = verification.verify(url="https://zyoutube.com/@trustpage")
    assert verdict.official and verdict.channel is not None and verdict.channel.id == channel.id


def test_the_sign_in_next_link_keeps_working_after_a_timeout(app: Flask, make_user: Callable[..., User]) -> None:
    """After signing in from a protected page's redirect, people land where they were going."""
    client = app.test_client()
    redirect = client.get("/channels/mine")
    assert urlsplit(redirect.headers["Location"]).path == "/login"
    user = make_user("staff")
    response = client.post(
        redirect.headers["Location"],
        data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": csrf_token(client)},
    )
    assert urlsplit(response.headers["Location"]).path == "/channels/mine"
