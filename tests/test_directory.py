"""The public directory of the Trust's official accounts (SPEC capability 15): ``/directory``,
``GET /api/v1/directory`` (JSON and CSV) and the JSON-LD snippet, for anyone, built from the same
public facts as verification.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from config import ConfigError, load_settings
from registry import db
from registry.auth.models import User
from registry.channels import services as channels
from registry.channels.models import Channel, ChannelTransition
from registry.channels.platforms import PLATFORMS, Platform
from registry.verification import directory, index
from tests.conftest import settings_for

LD_JSON = re.compile(r'<script type="application/ld\+json" nonce="[^"]+">(.*?)</script>', re.S)


@pytest.fixture
def listed(app: Flask, make_channel: Callable[..., Channel]) -> dict[str, Channel]:
    """One channel in each state, and one imported as retired that was never active."""
    made = {
        "active": make_channel("active", handle="examplenhs", display_name="Example NHS", department="Communications"),
        "suspended": make_channel(
            "suspended", platform="facebook", handle="examplematernityvoices", display_name="Maternity Voices"
        ),
        "retired": make_channel("retired", handle="examplejabs", display_name="COVID-19 vaccination"),
        "requested": make_channel("requested", handle="ExRequested"),
        "approved": make_channel("approved", handle="ExApproved"),
        "rejected": make_channel("rejected", handle="ExRejected"),
        "withdrawn": make_channel("withdrawn", handle="ExWithdrawn"),
        "never_active": make_channel("requested", handle="ExNeverLive"),
    }
    # As an inventory import may leave it: retired, with no step that made it official.
    db.session().execute(update(Channel).where(Channel.id == made["never_active"].id).values(status="retired"))
    db.session().commit()
    return made


def items(client: FlaskClient) -> list[dict[str, Any]]:
    response = client.get("/api/v1/directory")
    assert response.status_code == 200, response.get_data(as_text=True)
    body: list[dict[str, Any]] = response.get_json()["items"]
    return body


def first_step_to(channel: Channel, status: str) -> dt.datetime:
    found = (
        db.session()
        .scalars(
            select(ChannelTransition.occurred_at)
            .where(ChannelTransition.channel_id == channel.id, ChannelTransition.to_status == status)
            .order_by(ChannelTransition.id)
        )
        .first()
    )
    assert found is not None
    return found


def page_text(client: FlaskClient, path: str = "/directory") -> str:
    response = client.get(path)
    assert response.status_code == 200
    return " ".join(html.unescape(response.get_data(as_text=True)).split())


def test_lists_official_and_formerly_official_channels_only(client: FlaskClient, listed: dict[str, Channel]) -> None:
    """Active and suspended channels (still the Trust's, only paused) and those retired after being
    active; never requests, rejections, withdrawals, nor an account retired without having been official."""
    found = {item["handle"]: item for item in items(client)}

    assert set(found) == {"examplenhs", "examplematernityvoices", "examplejabs"}
    active, retired = found["examplenhs"], found["examplejabs"]
    assert set(active) == {
        "platform",
        "handle",
        "url",
        "display_name",
        "department",
        "status",
        "official_since",
        "official_until",
    }
    assert (active["platform"], active["url"], active["display_name"], active["department"], active["status"]) == (
        "x",
        listed["active"].url,
        "Example NHS",
        "Communications",
        "active",
    )
    assert dt.datetime.fromisoformat(active["official_since"]) == first_step_to(listed["active"], "active")
    assert active["official_until"] is None
    assert found["examplematernityvoices"]["status"] == "suspended"
    assert retired["status"] == "retired"
    assert dt.datetime.fromisoformat(retired["official_since"]) == first_step_to(listed["retired"], "active")
    assert dt.datetime.fromisoformat(retired["official_until"]) == first_step_to(listed["retired"], "retired")


def test_a_handle_official_again_is_listed_once_as_official(
    client: FlaskClient, make_channel: Callable[..., Channel]
) -> None:
    """A handle retired and later made official again is one entry: the official one, as verify says."""
    make_channel("retired", handle="exampleagain")
    again = make_channel("active", handle="exampleagain", display_name="Back again")

    [entry] = [item for item in items(client) if item["handle"] == "exampleagain"]
    assert (entry["status"], entry["display_name"]) == ("active", "Back again")
    verdict = client.get("/api/v1/verify?platform=x&handle=exampleagain").get_json()
    assert verdict["official"] and verdict["channel"]["reference"] == again.reference


def test_the_page_groups_accounts_by_platform_and_by_department(
    client: FlaskClient, listed: dict[str, Channel]
) -> None:
    """Official accounts in a table per platform (or department), each handle a link to the account;
    retired ones apart, marked as no longer used and not linked."""
    by_platform = page_text(client)
    assert f'<a href="{listed["active"].url}" rel="me noopener noreferrer">examplenhs' in by_platform
    assert "Paused" in by_platform and "Official, but not posting or replying at the moment." in by_platform
    assert "Accounts the Trust no longer uses" in by_platform
    assert "do not trust it" in by_platform
    assert f'href="{listed["retired"].url}"' not in by_platform
    for handle in ("exrequested", "exapproved", "exrejected", "exwithdrawn", "exneverlive"):
        assert handle not in by_platform

    captions = re.findall(r'<caption class="nhsuk-table__caption">([^<]+)</caption>', by_platform)
    assert captions == [PLATFORMS[Platform.FACEBOOK].label, PLATFORMS[Platform.X].label, "Former official accounts"]
    by_department = page_text(client, "/directory?by=department")
    captions = re.findall(r'<caption class="nhsuk-table__caption">([^<]+)</caption>', by_department)
    assert captions == ["Communications", "Maternity", "Former official accounts"]
    nonsense = page_text(client, "/directory?by=nonsense")
    assert re.findall(r'<caption class="nhsuk-table__caption">([^<]+)</caption>', nonsense) == [
        PLATFORMS[Platform.FACEBOOK].label,
        PLATFORMS[Platform.X].label,
        "Former official accounts",
    ]


def test_nothing_internal_is_public(
    client: FlaskClient, listed: dict[str, Channel], make_user: Callable[..., User]
) -> None:
    """No requester, purpose, plans, decision reasons or references reach the page, the JSON or the CSV."""
    channel = listed["active"]
    secrets_of_the_registry = [
        channel.requester.email,
        channel.requester.name,
        channel.purpose,
        channel.audience,
        "Because the test says so.",  # every decision's reason
        channel.reference,
    ]
    shown = [
        page_text(client),
        page_text(client, "/directory?by=department"),
        client.get("/api/v1/directory").get_data(as_text=True),
        client.get("/api/v1/directory?format=csv").get_data(as_text=True),
    ]
    for text in shown:
        for secret in secrets_of_the_registry:
            assert secret not in text


def test_json_answers_are_cacheable_and_conditional(client: FlaskClient, listed: dict[str, Channel]) -> None:
    """A strong ETag and Last-Modified; the same ETag or a later time is a 304 with no body; a change
    gives a new ETag."""
    first = client.get("/api/v1/directory")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert first.headers["Cache-Control"] in ("public, max-age=60", "max-age=60, public")
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    assert not etag.startswith("W/")

    again = client.get("/api/v1/directory", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    assert again.headers["ETag"] == etag
    assert client.get("/api/v1/directory", headers={"If-Modified-Since": modified}).status_code == 304
    assert client.get("/api/v1/directory", headers={"If-None-Match": '"something-else"'}).status_code == 200
    csv_etag = client.get("/api/v1/directory?format=csv").headers["ETag"]
    assert csv_etag != etag
    assert client.get("/api/v1/directory?format=csv", headers={"If-None-Match": csv_etag}).status_code == 304


def test_a_retirement_shows_at_once_with_a_new_etag_and_time(
    client: FlaskClient, listed: dict[str, Channel], make_user: Callable[..., User]
) -> None:
    before = client.get("/api/v1/directory")
    channel = listed["active"]
    channels.transition(channel, "retire", make_user("comms"), reason="The team closed the account.")
    db.session().commit()

    after = client.get("/api/v1/directory", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert after.headers["ETag"] != before.headers["ETag"]
    [entry] = [item for item in after.get_json()["items"] if item["handle"] == "examplenhs"]
    assert entry["status"] == "retired" and entry["official_until"] is not None
    last = dt.datetime.strptime(after.headers["Last-Modified"], "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=dt.UTC)
    assert last >= channel.status_changed_at.replace(microsecond=0)
    assert "The team closed the account." not in after.get_data(as_text=True)


def test_the_page_made_once_follows_a_retirement_and_each_grouping_is_its_own(
    client: FlaskClient, listed: dict[str, Channel], make_user: Callable[..., User]
) -> None:
    """The page's lists are made once per reading of the public facts and grouping: a change makes them
    anew, and one grouping's lists never stand in for the other's."""

    def sections(path: str = "/directory") -> tuple[str, str]:
        in_use, _, former = page_text(client, path).partition('id="no-longer-used"')
        return in_use, former

    caption = '<caption class="nhsuk-table__caption">Communications</caption>'
    for _ in range(2):
        by_platform, by_department = sections(), sections("/directory?by=department")
        assert [">examplenhs<" in part for part in by_platform] == [True, False]
        assert [">examplenhs<" in part for part in by_department] == [True, False]
        assert caption in by_department[0] and caption not in by_platform[0]
    channels.transition(listed["active"], "retire", make_user("comms"), reason="The team closed the account.")
    db.session().commit()

    assert ">examplenhs<" not in sections()[0] and "examplenhs" in sections()[1]
    assert ">examplenhs<" not in sections("/directory?by=department")[0]


def test_csv_has_a_header_quotes_and_disarms_formulas(client: FlaskClient, listed: dict[str, Channel]) -> None:
    """A spreadsheet opening the CSV reads every cell as text: commas and quotes are quoted, and a cell
    that would start a formula (= + - @) is prefixed."""
    db.session().execute(
        update(Channel)
        .where(Channel.id == listed["active"].id)
        .values(display_name='=HYPERLINK("https://evil.example","Click")', department='Comms, "News" & -Press')
    )
    db.session().execute(update(Channel).where(Channel.id == listed["retired"].id).values(department="@SUM(A1)"))
    db.session().commit()

    response = client.get("/api/v1/directory?format=csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="official-accounts.csv"'
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == list(directory.CSV_COLUMNS)
    by_handle = {row[1]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert set(by_handle) == {"examplenhs", "examplematernityvoices", "examplejabs"}
    assert by_handle["examplenhs"]["display_name"] == '\'=HYPERLINK("https://evil.example","Click")'
    assert by_handle["examplenhs"]["department"] == 'Comms, "News" & -Press'
    assert by_handle["examplejabs"]["department"] == "'@SUM(A1)"
    assert by_handle["examplejabs"]["status"] == "retired" and by_handle["examplejabs"]["official_until"]
    assert by_handle["examplenhs"]["official_until"] == ""


def json_ld(client: FlaskClient) -> dict[str, Any]:
    found = LD_JSON.findall(client.get("/directory").get_data(as_text=True))
    assert len(found) == 1
    snippet: dict[str, Any] = json.loads(found[0])
    return snippet


def test_the_page_carries_a_json_ld_organisation_with_the_official_accounts(
    client: FlaskClient, listed: dict[str, Channel]
) -> None:
    """In the page's head and, to copy, in its body: an Organization whose sameAs are the official
    accounts' addresses (not the retired one's); without REGISTRY_TRUST_WEBSITE it has no url."""
    snippet = json_ld(client)
    assert snippet["@context"] == "https://schema.org" and snippet["@type"] == "Organization"
    assert snippet["name"] == "Example NHS Foundation Trust"
    assert sorted(snippet["sameAs"]) == sorted([listed["active"].url, listed["suspended"].url])
    assert "url" not in snippet
    shown = html.unescape(client.get("/directory").get_data(as_text=True))
    copy = re.search(
        r'<pre class="app-snippet"[^>]*><code><script type="application/ld\+json">(.*?)</script>', shown, re.S
    )
    assert copy is not None and json.loads(copy.group(1)) == snippet


@pytest.mark.parametrize("app_settings", [{"TRUST_WEBSITE": "https://www.example.nhs.uk"}])
def test_the_json_ld_names_the_trust_website_when_set(client: FlaskClient, listed: dict[str, Channel]) -> None:
    assert json_ld(client)["url"] == "https://www.example.nhs.uk"


def test_a_markup_like_name_cannot_break_out_of_the_json_ld(client: FlaskClient, listed: dict[str, Channel]) -> None:
    db.session().execute(
        update(Channel).where(Channel.id == listed["active"].id).values(url="https://x.com/</script><script>alert(1)")
    )
    db.session().commit()
    page = client.get("/directory").get_data(as_text=True)
    assert "</script><script>alert(1)" not in page
    assert "https://x.com/</script><script>alert(1)" in json_ld(client)["sameAs"]
    # The snippet to paste into the Trust's own website, once copied from the page, cannot close its
    # script element there either: < and > are JSON escapes in it.
    block = re.search(r'<pre class="app-snippet"[^>]*><code>(.*?)</code>', page, re.S)
    assert block is not None
    copied = html.unescape(block.group(1))
    assert "</script><script>alert(1)" not in copied
    assert "https://x.com/\\u003c/script\\u003e\\u003cscript\\u003ealert(1)" in copied


def test_an_empty_directory_says_so(client: FlaskClient) -> None:
    assert "The Trust has no official accounts listed at the moment." in page_text(client)
    response = client.get("/api/v1/directory")
    assert response.get_json() == {"items": []} and "Last-Modified" not in response.headers
    assert json_ld(client)["sameAs"] == []


def test_public_pages_link_to_the_directory(client: FlaskClient) -> None:
    verify = client.get("/verify").get_data(as_text=True)
    assert verify.count('href="/directory"') >= 2  # the page, the header, the footer
    sign_in_page = client.get("/login")
    assert sign_in_page.status_code == 200 and 'href="/directory"' in sign_in_page.get_data(as_text=True)


@pytest.mark.parametrize("app_settings", [{"RATELIMIT_ENABLED": True}])
def test_the_directory_is_throttled_per_address(app: Flask, listed: dict[str, Channel]) -> None:
    """120 a minute from one address, as verification; then 429 with Retry-After; other addresses go on."""
    client = app.test_client()
    noisy = {"REMOTE_ADDR": "203.0.113.79"}
    statuses = [client.get("/api/v1/directory", environ_base=noisy).status_code for _ in range(120)]
    throttled = client.get("/api/v1/directory", environ_base=noisy)
    assert set(statuses) == {200}
    assert throttled.status_code == 429 and 1 <= int(throttled.headers["Retry-After"]) <= 60
    assert client.get("/api/v1/directory", environ_base={"REMOTE_ADDR": "198.51.100.5"}).status_code == 200
    page = [client.get("/directory", environ_base=noisy).status_code for _ in range(121)]
    assert page[:120] == [200] * 120 and page[120] == 429


def test_the_directory_costs_no_sql_while_the_facts_are_fresh(
    app: Flask, listed: dict[str, Channel], count_queries: Callable[[], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the index is loaded, the page and the API answer from memory until the index's bound has
    passed (made long here, so that the clock plays no part)."""
    monkeypatch.setattr(index, "FRESH_FOR", 3600.0)
    client = app.test_client()
    client.get("/api/v1/directory")
    with count_queries() as counted:
        for path in ("/api/v1/directory", "/api/v1/directory?format=csv", "/directory", "/directory?by=department"):
            assert client.get(path).status_code == 200
    assert counted.n == 0, counted.statements


@pytest.mark.parametrize("website", ["www.example.nhs.uk", "ftp://example.nhs.uk", "https://"])
def test_the_trust_website_must_be_a_full_web_address(tmp_path: Path, website: str) -> None:
    with pytest.raises(ConfigError, match="REGISTRY_TRUST_WEBSITE must be the full address"):
        load_settings(settings_for("sqlite://", TRUST_WEBSITE=website), tmp_path)
    assert load_settings(settings_for("sqlite://"), tmp_path).trust_website is None
