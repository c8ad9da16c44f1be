"""Verification against what the public actually meets (issue 13): links to single posts and follow
links answer for the account they name; YouTube's /NAME and LinkedIn's school and showcase pages are
accounts as registration reads them; impostors adding words to an official name, or letters from other
alphabets, are reported with the rule that caught them; the page says an empty question is a problem,
puts its verdict in the title and focus, and gives the communications team's contact.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry import db
from registry.channels import services as channels
from registry.channels.models import Channel
from registry.errors import Invalid
from registry.verification import services as verification


@pytest.fixture
def official(app: Flask, make_channel: Callable[..., Channel]) -> dict[str, Channel]:
    made = {
        "x": make_channel("active", handle="BucksHealthcare", display_name="Bucks Healthcare NHS Trust"),
        "tiktok": make_channel("active", platform="tiktok", handle="buckshealthcare"),
        "bluesky": make_channel("active", platform="bluesky", handle="buckshealthcare.bsky.social"),
        "threads": make_channel("active", platform="threads", handle="buckshealthcare"),
        "instagram": make_channel("active", platform="instagram", handle="buckshealthcare"),
        "facebook": make_channel("active", platform="facebook", handle="BucksHealthcare"),
        "youtube": make_channel("active", platform="youtube", handle="https://www.youtube.com/BucksHealthcareTV"),
        "linkedin": make_channel(
            "active", platform="linkedin", handle="https://www.linkedin.com/school/bucks-academy/"
        ),
        "mastodon": make_channel("active", platform="mastodon", handle="@buckshealthcare@mastodon.social"),
    }
    return made


def api(client: FlaskClient, **query: str) -> tuple[int, dict[str, Any]]:
    response = client.get(f"/api/v1/verify?{urlencode(query)}")
    return response.status_code, response.get_json()


def page(client: FlaskClient, **query: str) -> tuple[int, str]:
    response = client.get(f"/verify?{urlencode(query)}")
    return response.status_code, " ".join(html.unescape(response.get_data(as_text=True)).split())


OFFICIAL_POSTS = [
    ("x", "https://x.com/BucksHealthcare/status/1790000000000000000?s=20&t=AbCdEf"),
    ("x", "https://mobile.twitter.com/buckshealthcare/status/179/photo/1"),
    ("tiktok", "https://www.tiktok.com/@buckshealthcare/video/7300000000000000000?lang=en"),
    ("bluesky", "https://bsky.app/profile/buckshealthcare.bsky.social/post/3kabcdef"),
    ("threads", "https://www.threads.net/@buckshealthcare/post/C1AbCdEf?hl=en-gb"),
    ("instagram", "https://www.instagram.com/buckshealthcare/reel/C1AbCdEf/?igsh=abc"),
    ("instagram", "https://www.instagram.com/buckshealthcare/p/C1AbCdEf/"),
    ("facebook", "https://m.facebook.com/BucksHealthcare/posts/pfbid0abc"),
    ("mastodon", "https://mastodon.social/@buckshealthcare/111222333444"),
]


@pytest.mark.parametrize(("platform", "url"), OFFICIAL_POSTS)
def test_a_post_on_an_official_account_answers_for_the_account(
    client: FlaskClient, official: dict[str, Channel], platform: str, url: str
) -> None:
    status, body = api(client, url=url)
    assert status == 200, body
    assert (body["official"], body["link"], body["channel"]["reference"]) == (
        True,
        "post",
        official[platform].reference,
    )
    text = page(client, url=url)[1]
    shown = ("@" if platform in ("x", "instagram", "threads", "tiktok", "mastodon") else "") + official[platform].handle
    assert f"This post is on the Trust's official {official[platform].platform_label} account {shown}." in text


def test_a_post_on_another_account_is_not_official(client: FlaskClient, official: dict[str, Channel]) -> None:
    url = "https://www.instagram.com/BucksHealthcare_UK/p/C1AbCdEf/?img_index=1"
    status, body = api(client, url=url)
    assert status == 200
    assert (body["official"], body["link"], body["handle"]) == (False, "post", "buckshealthcare_uk")
    assert (body["lookalike_of"]["reference"], body["lookalike_of"]["rule"]) == (
        official["instagram"].reference,
        "affix",
    )
    text = page(client, url=url)[1]
    assert "This post is not on an official Trust account: it is on @buckshealthcare_uk." in text
    assert "Its name is the official name with words or numbers added" in text


@pytest.mark.parametrize(
    "url",
    [
        "https://x.com/i/web/status/1790000000000000000",
        "https://www.instagram.com/p/C1AbCdEf/",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        "https://www.facebook.com/reel/123456",
        "https://www.linkedin.com/posts/bucks-healthcare_activity-1234",
        "https://www.threads.net/t/C1AbCdEf",
    ],
)
def test_a_post_whose_address_names_no_account_says_so(
    client: FlaskClient, official: dict[str, Channel], url: str
) -> None:
    status, problem = api(client, url=url)
    assert status == 422
    assert "does not say which account posted it" in problem["errors"]["url"]
    assert "does not say which account posted it" in page(client, url=url)[1]


@pytest.mark.parametrize(
    "url",
    [
        "https://x.com/intent/follow?screen_name=BucksHealthcare",
        "https://twitter.com/intent/user?screen_name=buckshealthcare&original_referer=https%3A%2F%2Fexample.org",
        "twitter.com/intent/follow?region=follow_link&screen_name=BUCKSHEALTHCARE",
    ],
)
def test_a_follow_link_answers_for_the_account_it_names(
    client: FlaskClient, official: dict[str, Channel], url: str
) -> None:
    status, body = api(client, url=url)
    assert status == 200
    assert (body["official"], body["link"], body["channel"]["reference"]) == (True, "intent", official["x"].reference)


def test_a_follow_link_by_number_says_it_names_no_account(client: FlaskClient, official: dict[str, Channel]) -> None:
    status, problem = api(client, url="https://twitter.com/intent/user?user_id=12345")
    assert status == 422
    assert "gives the account's number, not its name" in problem["errors"]["url"]


def test_youtube_custom_and_linkedin_school_addresses_are_the_registered_accounts(
    client: FlaskClient, official: dict[str, Channel]
) -> None:
    """youtube.com/NAME was accepted at registration as c/NAME, and every form of it finds it; a LinkedIn
    school page is found by its company or showcase address too (one namespace)."""
    assert official["youtube"].handle == "c/buckshealthcaretv"
    assert official["linkedin"].handle == "company/bucks-academy"
    for url, channel in (
        ("https://www.youtube.com/BucksHealthcareTV", "youtube"),
        ("https://m.youtube.com/c/buckshealthcaretv/videos?si=abc", "youtube"),
        ("https://www.linkedin.com/company/bucks-academy/about/", "linkedin"),
        ("https://uk.linkedin.com/showcase/Bucks-Academy", "linkedin"),
        ("https://www.linkedin.com/school/bucks-academy/", "linkedin"),
    ):
        status, body = api(client, url=url)
        assert (status, body["official"], body["channel"]["reference"]) == (200, True, official[channel].reference)


def test_a_youtube_name_finds_a_channel_recorded_by_its_legacy_user_name(
    client: FlaskClient, official: dict[str, Channel], make_channel: Callable[..., Channel]
) -> None:
    legacy = make_channel("active", platform="youtube", handle="https://www.youtube.com/user/BucksMaternity")
    for url in ("https://www.youtube.com/BucksMaternity", "https://www.youtube.com/user/bucksmaternity/videos"):
        body = api(client, url=url)[1]
        assert (body["official"], body["channel"]["reference"]) == (True, legacy.reference), url


def test_registration_refuses_a_post_link_naming_the_account_to_use(
    app: Flask, official: dict[str, Channel], make_user: Callable[..., Any]
) -> None:
    with pytest.raises(Invalid) as refused:
        channels.request_channel(
            channels.ChannelRequest(
                platform="tiktok",
                handle="https://www.tiktok.com/@bucksmaternity/video/7300000000000000000",
                display_name="Maternity",
                department="Maternity",
                purpose="Updates.",
                audience="Parents.",
                policy_acknowledged=True,
            ),
            make_user("staff"),
        )
    assert refused.value.errors["handle"] == (
        "That is a link to a single TikTok video by @bucksmaternity, not to the account. "
        "Use the account's own address instead: https://www.tiktok.com/@bucksmaternity"
    )
    db.session().rollback()


#: (X handles have at most 15 characters: "buckshealthcare" has no room for more on X.)
IMPOSTORS = [
    ("x", "buckshea1thcare", "homoglyph"),
    ("x", "buckshealthcar", "one_edit"),
    ("x", "buckshealthcare", None),
    ("instagram", "buckshealthcare.nhs", "affix"),
    ("instagram", "buckshealthcare_official", "affix"),
    ("instagram", "buckshealthcareuk", "affix"),
    ("instagram", "the_buckshealthcare", "affix"),
    ("instagram", "bucks_healthcare", "separators"),
    ("threads", "buckshealthcare.uk.official", "affix"),
    ("instagram", "buckshealthcre_official", "affix"),  # an affix and a slip
    ("bluesky", "buckshealthcare-nhs.bsky.social", "affix"),
    ("tiktok", "official.buckshealthcare", "affix"),
]


@pytest.mark.parametrize(("platform", "handle", "rule"), IMPOSTORS)
def test_impostors_are_reported_with_the_rule(
    client: FlaskClient, official: dict[str, Channel], platform: str, handle: str, rule: str | None
) -> None:
    status, body = api(client, platform=platform, handle=handle)
    assert status == 200
    if rule is None:
        assert (body["official"], body["lookalike_of"]) == (True, None)
        return
    assert body["official"] is False
    assert (body["lookalike_of"]["reference"], body["lookalike_of"]["rule"]) == (official[platform].reference, rule)


@pytest.mark.parametrize(
    "url",
    [
        "https://x.com/buсkshealthcare",  # Cyrillic с
        "https://x.com/" + quote("buсkshealthcare"),
        "https://twitter.com/BUСKSHEALTHCARE/status/1790000000000000000",
        "https://www.tiktok.com/@buсkshealthcare/video/7300000000000000000",
        "https://www.instagram.com/bucksheаlthcare/",  # Cyrillic а
    ],
)
def test_look_alike_letters_in_an_address_are_an_impostor_not_an_error(
    client: FlaskClient, official: dict[str, Channel], url: str
) -> None:
    status, body = api(client, url=url)
    assert status == 200, body
    assert (body["official"], body["channel"], body["lookalike_of"]["rule"]) == (False, None, "homoglyph")
    assert body["handle"] != official[body["platform"]].handle and not body["handle"].isascii()
    text = page(client, url=url)[1]
    assert "Not an official account" in text and "letters or numbers that only look like" in text


@pytest.mark.parametrize(
    ("platform", "handle"),
    [("x", "@BUСKSHEALTHCARE"), ("bluesky", "buсkshealthcare.bsky.social"), ("instagram", "bucksheаlthcare")],
)
def test_look_alike_letters_in_a_handle_are_an_impostor_too(
    client: FlaskClient, official: dict[str, Channel], platform: str, handle: str
) -> None:
    status, body = api(client, platform=platform, handle=handle)
    assert status == 200, body
    assert (body["official"], body["lookalike_of"]["reference"], body["lookalike_of"]["rule"]) == (
        False,
        official[platform].reference,
        "homoglyph",
    )


def test_an_empty_question_on_the_page_is_an_error(client: FlaskClient, official: dict[str, Channel]) -> None:
    status, text = page(client, url="", platform="", handle="")
    assert status == 422
    assert "There is a problem" in text and 'href="#url"' in text
    assert 'id="url-error"' in text  # the field's own message
    assert _title(text).startswith("Error: Check whether an account is official")
    assert text.count("Enter the web address of the account, or choose a platform and enter a handle.") == 2
    assert page(client, url="")[0] == 422
    assert "There is a problem" not in client.get("/verify").get_data(as_text=True)


def _title(text: str) -> str:
    found = re.search(r"<title>(.*?)</title>", text)
    assert found is not None
    return found.group(1).strip()


def test_the_verdict_is_in_the_title_and_takes_focus(client: FlaskClient, official: dict[str, Channel]) -> None:
    for url, verdict in (
        ("https://x.com/BucksHealthcare", "Official account"),
        ("https://www.instagram.com/buckshealthcare_official", "Not an official account"),
    ):
        text = page(client, url=url)[1]
        assert _title(text).startswith(f"{verdict} – Check whether an account is official"), _title(text)
        assert re.search(r'<div id="verdict"[^>]*tabindex="-1"[^>]*autofocus', text)
    text = page(client)[1]
    assert _title(text).startswith("Check whether an account is official")
    assert 'id="verdict"' not in text


def test_without_a_contact_the_page_names_the_team(client: FlaskClient, official: dict[str, Channel]) -> None:
    text = page(client, url="https://www.instagram.com/buckshealthcare_official")[1]
    assert "If it claims to be the Trust, tell the Trust's communications team." in text


@pytest.mark.parametrize("app_settings", [{"COMMS_CONTACT": "comms.team@bucks.example.nhs.uk or 01494 000000"}])
def test_the_contact_comes_from_the_settings(client: FlaskClient, official: dict[str, Channel]) -> None:
    text = page(client, url="https://www.instagram.com/buckshealthcare_official")[1]
    assert (
        "If it claims to be the Trust, tell the Trust's communications team: "
        "comms.team@bucks.example.nhs.uk or 01494 000000." in text
    )


# --- any real address variant of an official account verifies as official ---------------------------

SUFFIXES = st.sampled_from(["", "/", "?s=20&t=AbC_dE", "/?lang=en", "#top", "?ref_src=twsrc%5Egoogle%7Ctwcamp%5Eserp"])
SCHEMES = st.sampled_from(["https://", "http://", "", "//"])


def _cased(draw: st.DrawFn, text: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(ch.upper() if flip else ch for ch, flip in zip(text, flips, strict=True))


@st.composite
def official_addresses(draw: st.DrawFn) -> tuple[str, str]:
    """(platform, an address of its official account as people paste it)."""
    platform = draw(st.sampled_from(["x", "instagram", "tiktok", "facebook", "threads", "youtube", "bluesky"]))
    name = _cased(draw, "buckshealthcare")
    host, path = {
        "x": (
            draw(st.sampled_from(["x.com", "twitter.com", "www.x.com", "mobile.twitter.com", "m.twitter.com"])),
            draw(st.sampled_from([name, "@" + name, "%40" + name])),
        ),
        "instagram": (
            draw(st.sampled_from(["instagram.com", "www.instagram.com", "m.instagram.com"])),
            draw(st.sampled_from([name, "_u/" + name])),
        ),
        "tiktok": (draw(st.sampled_from(["tiktok.com", "www.tiktok.com", "m.tiktok.com"])), "@" + name),
        "facebook": (
            draw(st.sampled_from(["facebook.com", "www.facebook.com", "m.facebook.com", "en-gb.facebook.com"])),
            draw(st.sampled_from([name, "pg/" + name, name + "/about"])),
        ),
        "threads": (draw(st.sampled_from(["threads.net", "www.threads.com"])), "@" + name),
        "youtube": (
            draw(st.sampled_from(["youtube.com", "www.youtube.com", "m.youtube.com"])),
            draw(st.sampled_from([name + "TV", "c/" + name + "TV", name + "TV/videos"])),
        ),
        "bluesky": ("bsky.app", "profile/" + name + ".bsky.social"),
    }[platform]
    return platform, draw(SCHEMES) + _cased(draw, host) + "/" + path + draw(SUFFIXES)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(asked=official_addresses())
def test_any_address_variant_of_an_official_account_is_official(
    app: Flask, official: dict[str, Channel], asked: tuple[str, str]
) -> None:
    platform, url = asked
    answer = verification.verify(url=url)
    assert answer.official, url
    assert answer.channel is not None and answer.channel.id == official[platform].id, url
