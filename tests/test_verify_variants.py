"""Real-world address forms that people paste into the verify page (review13b): an address copied from
a sentence, a mirror site that shows another platform's posts, and a cut-short link. Each is either read
as the account it names, the same way for registration and verification, or refused with a message that
says what to paste instead.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient

from registry.channels.models import Channel
from registry.channels.platforms import HandleError, Platform, normalise_handle, parse_url, read_link

FROM_A_SENTENCE = [
    ("https://x.com/NHSTrust.", Platform.X, "nhstrust"),
    ("https://x.com/NHSTrust,", Platform.X, "nhstrust"),
    ("https://x.com/NHSTrust!", Platform.X, "nhstrust"),
    ("https://x.com/NHSTrust;", Platform.X, "nhstrust"),
    ("https://x.com/NHSTrust)", Platform.X, "nhstrust"),
    ("(https://x.com/NHSTrust)", Platform.X, "nhstrust"),
    ("(https://x.com/NHSTrust).", Platform.X, "nhstrust"),
    ("(https://x.com/NHSTrust", Platform.X, "nhstrust"),
    ("x.com/NHSTrust?", Platform.X, "nhstrust"),
    ("https://www.instagram.com/nhstrust/.", Platform.INSTAGRAM, "nhstrust"),
    ("https://bsky.app/profile/nhstrust.bsky.social.", Platform.BLUESKY, "nhstrust.bsky.social"),
    ("https://www.linkedin.com/company/nhs-trust/about/,", Platform.LINKEDIN, "company/nhs-trust"),
]


@pytest.mark.parametrize(("raw", "platform", "handle"), FROM_A_SENTENCE)
def test_an_address_copied_from_a_sentence_is_read_without_its_punctuation(
    raw: str, platform: Platform, handle: str
) -> None:
    assert parse_url(raw) == (platform, handle)
    assert normalise_handle(platform, raw) == handle  # registration reads it the same way


def test_brackets_that_belong_to_the_address_stay() -> None:
    wiki = "en.wikipedia.org/wiki/NHS_(trust)"
    assert parse_url(f"https://{wiki}") == parse_url(f"(https://{wiki}).") == (Platform.OTHER, wiki)


@pytest.mark.parametrize("raw", ["https://x.com/NHSTru…", "https://x.com/NHSTru...", "x.com/NHSTru…)"])
def test_a_cut_short_address_is_refused_not_read_as_a_shorter_name(raw: str) -> None:
    with pytest.raises(HandleError, match="cut short"):
        read_link(None, raw)


MIRRORS = [
    ("https://fxtwitter.com/NHSTrust", "https://x.com/nhstrust"),
    ("https://vxtwitter.com/NHSTrust/status/123", "https://x.com/nhstrust"),
    ("https://d.fxtwitter.com/NHSTrust/status/123", "https://x.com/nhstrust"),
    ("fixupx.com/NHSTrust", "https://x.com/nhstrust"),
    ("https://www.ddinstagram.com/nhstrust/", "https://www.instagram.com/nhstrust/"),
    ("https://fxbsky.app/profile/nhstrust.bsky.social/post/3k", "https://bsky.app/profile/nhstrust.bsky.social"),
]


@pytest.mark.parametrize(("raw", "own"), MIRRORS)
def test_a_mirror_site_is_refused_naming_the_accounts_own_address(raw: str, own: str) -> None:
    """fxtwitter.com and the like show X posts under X's paths, but are not X: the answer must not read as
    "another site, not official", nor as the site being X's; it names the address to paste instead."""
    for platform in (None, Platform.X, Platform.OTHER):
        with pytest.raises(HandleError, match="not .* itself") as caught:
            read_link(platform, raw)
        assert own in str(caught.value)


@pytest.mark.parametrize("raw", ["https://youtu.be/dQw4w9WgXcQ", "youtu.be/dQw4w9WgXcQ?si=abc&t=42"])
def test_a_youtu_be_address_is_a_video_that_names_no_channel(raw: str) -> None:
    """youtu.be/ID is a single video, not a short link to some page: the answer says so, and says to
    copy the channel's own address (opening it would only lead to the video again)."""
    reading = read_link(None, raw)
    assert (reading.platform, reading.handle, reading.link) == (Platform.YOUTUBE, None, "post")
    assert "single YouTube video" in reading.message
    with pytest.raises(HandleError, match="single YouTube video"):
        normalise_handle(Platform.YOUTUBE, raw)


@pytest.fixture
def official(app: Flask, make_channel: Callable[..., Channel]) -> Channel:
    return make_channel("active", handle="ExampleNHS", display_name="Example NHS Foundation Trust")


def api(client: FlaskClient, **query: str) -> tuple[int, dict[str, Any]]:
    response = client.get(f"/api/v1/verify?{urlencode(query)}")
    return response.status_code, response.get_json()


def test_verify_answers_for_an_address_pasted_with_its_sentence(client: FlaskClient, official: Channel) -> None:
    for url in ("(https://x.com/ExampleNHS).", "https://twitter.com/ExampleNHS/status/1?s=20,"):
        status, body = api(client, url=url)
        assert (status, body["official"]) == (200, True), url
        assert body["channel"]["reference"] == official.reference


def test_verify_refuses_a_mirror_and_a_cut_short_address_plainly(client: FlaskClient, official: Channel) -> None:
    status, body = api(client, url="https://fxtwitter.com/ExampleNHS")
    assert status == 422
    assert "https://x.com/examplenhs" in str(body)
    status, body = api(client, url="https://x.com/Example…")
    assert status == 422
    assert "cut short" in str(body)


def best_of(runs: int, raw: str) -> float:
    """The quickest of a few readings: what the work costs, not what the machine was doing."""
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        with contextlib.suppress(HandleError):
            read_link(None, raw)
        best = min(best, time.perf_counter() - started)
    return best


@pytest.mark.parametrize("tail", [".", ")", ".)", ",;!?", "(", "…" + "." * 3, "()"])
def test_sentence_punctuation_costs_the_same_as_ordinary_characters(tail: str) -> None:
    """Thousands of trailing punctuation marks cost about what an ordinary address of the same length
    does (a ratio measured in the same run, never a wall-clock limit)."""
    length = 2000
    hostile = "https://x.com/NHSTrust" + (tail * length)[: length - 22]
    ordinary = "https://x.com/NHSTrust/" + "a" * (length - 23)
    assert len(hostile) == len(ordinary) == length
    assert best_of(5, hostile) <= 11 * best_of(5, ordinary)


def test_a_claim_on_a_short_trust_name_is_answered_as_an_impostor_naming_only_public_fields(
    client: FlaskClient, make_channel: Callable[..., Channel]
) -> None:
    """official_leedsth claims the name people know Leeds Teaching Hospitals' leedsth_nhs by; leedsth_news
    makes no claim (it may be the Trust's own news account) and is answered as simply not recorded."""
    real = make_channel("active", platform="instagram", handle="leedsth_nhs", display_name="Leeds Teaching Hospitals")
    status, body = api(client, url="https://www.instagram.com/official_leedsth/")
    assert (status, body["official"], body["channel"]) == (200, False, None)
    imitated = body["lookalike_of"]
    assert (imitated["reference"], imitated["rule"]) == (real.reference, "affix")
    public = {"reference", "platform", "platform_label", "handle", "url", "display_name", "department", "status"}
    assert set(imitated) <= public | {"status_changed_at", "rule"}
    status, body = api(client, url="https://www.instagram.com/leedsth_news/")
    assert (status, body["official"], body["lookalike_of"]) == (200, False, None)
