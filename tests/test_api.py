"""The JSON API under ``/api/v1``: what a client holding a token (or a browser
session) can rely on, role by role.

Every refusal is ``application/problem+json`` with a plain-English ``detail``;
a 422 names each field at fault in ``errors``; a refused change changes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from registry import db
from registry.audit.services import Actor, count_events
from registry.auth import services as accounts
from registry.auth.models import ApiToken, User
from registry.channels.models import Channel, id_from_reference
from registry.channels.services import EXPORT_COLUMNS
from registry.monitoring import services as monitoring
from tests.conftest import ROLES, csrf_token

API = "/api/v1"
COMMS_ONLY_ACTIONS = ("approve", "reject", "request_info", "activate", "suspend", "reinstate", "retire")
NOT_COMMS = ("staff", "manager", "auditor", "admin")
FOUR_EYES = "You made this request, so another member of the communications team must decide it (four-eyes rule)."
ONLY_COMMS = "Only the communications team can do this."
NOT_JSON = "Send a JSON object in the request body, with Content-Type: application/json."


@dataclass
class Caller:
    """An API client acting as one user with a bearer token."""

    client: FlaskClient
    user: User
    headers: dict[str, str]

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.client.get(path, headers=self.headers, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> TestResponse:
        if "data" not in kwargs:
            kwargs["json"] = body
        return self.client.post(path, headers=self.headers, **kwargs)

    def act(self, reference: str, action: str, **fields: Any) -> TestResponse:
        return self.post(f"{API}/channels/{reference}/transitions", {"action": action, **fields})

    def channel(self, reference: str) -> dict[str, Any]:
        response = self.get(f"{API}/channels/{reference}")
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()


@pytest.fixture
def caller(
    app: Flask, make_user: Callable[..., User], api_token: Callable[[User], dict[str, str]]
) -> Callable[..., Caller]:
    """``caller('comms')`` → a :class:`Caller` for a new user with those roles (or for ``user=``)."""

    def make(*roles: str, user: User | None = None) -> Caller:
        user = user or make_user(*roles)
        return Caller(app.test_client(), user, api_token(user))

    return make


def problem(response: TestResponse, status: int) -> dict[str, Any]:
    """The RFC 9457 body of ``response``, after checking its status, media type and members."""
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status
    assert body["type"] == "about:blank"
    assert body["title"] and body["detail"]
    return body


def field_errors(response: TestResponse) -> dict[str, str]:
    body = problem(response, 422)
    assert body["errors"], "a 422 must name the fields at fault"
    return body["errors"]


def request_body(**changes: Any) -> dict[str, Any]:
    """A complete, valid channel request with ``changes``; a field set to ``...`` is left out."""
    body: dict[str, Any] = {
        "platform": "x",
        "handle": "@TrustMaternity",
        "display_name": "Trust Maternity",
        "department": "Maternity",
        "purpose": "News and advice for expectant parents.",
        "audience": "Parents and families.",
        "posting_plan": "The midwifery team, weekdays.",
        "moderation_plan": "Replies checked twice a day.",
        "out_of_hours": "Comms on-call.",
        "sponsor": "Head of Midwifery",
        "proposed_administrators": "A. Midwife, B. Midwife",
        "policy_acknowledged": True,
    }
    body.update(changes)
    return {name: value for name, value in body.items() if value is not ...}


def stored(channel_or_reference: Channel | str) -> Channel:
    """The channel as the database holds it now (not as this test's session remembers it)."""
    reference = channel_or_reference if isinstance(channel_or_reference, str) else channel_or_reference.reference
    channel_id = id_from_reference(reference)
    return (
        db.session()
        .execute(select(Channel).where(Channel.id == channel_id).execution_options(populate_existing=True))
        .unique()
        .scalar_one()
    )


# --- authentication -----------------------------------------------------------------------

ENDPOINTS = [
    ("get", "/channels"),
    ("post", "/channels"),
    ("get", "/channels/CH-0001"),
    ("post", "/channels/CH-0001/transitions"),
    ("get", "/audit-events"),
]


def test_no_token_is_401_with_a_bearer_challenge(client: FlaskClient, subtests: pytest.Subtests) -> None:
    """Without credentials every non-public endpoint answers 401 and says how to authenticate."""
    for method, path in ENDPOINTS:
        with subtests.test(method=method, path=path):
            response = getattr(client, method)(API + path, json={} if method == "post" else None)
            body = problem(response, 401)
            assert response.headers["WWW-Authenticate"].startswith("Bearer ")
            assert body["detail"] == "Sign in, or send an API token in the Authorization header."


def test_invalid_token_is_401(client: FlaskClient, subtests: pytest.Subtests) -> None:
    """A token that is not one we issued authenticates nobody."""
    for authorization in (
        "Bearer scr_not-a-real-token",
        "Bearer not-even-our-prefix",
        "Basic c3RhZmY6cGFzc3dvcmQ=",
        "Bearer ",
        "Bearer scr_" + "a" * 500,
        "scr_no-scheme",
    ):
        with subtests.test(authorization=authorization[:30]):
            response = client.get(f"{API}/channels", headers={"Authorization": authorization})
            problem(response, 401)
            assert response.headers["WWW-Authenticate"].startswith("Bearer ")


def test_revoked_token_is_401(client: FlaskClient, make_user: Callable[..., User]) -> None:
    """Revoking a token stops it working at once; other tokens of the user still work."""
    user = make_user("comms")
    token, value = accounts.create_token(user, actor=Actor.system("tests"))
    _other, other_value = accounts.create_token(user, actor=Actor.system("tests"))
    db.session().commit()
    assert client.get(f"{API}/channels", headers={"Authorization": f"Bearer {value}"}).status_code == 200
    accounts.revoke_token(token, actor=Actor.system("tests"))
    db.session().commit()
    response = client.get(f"{API}/channels", headers={"Authorization": f"Bearer {value}"})
    problem(response, 401)
    assert "WWW-Authenticate" in response.headers
    assert client.get(f"{API}/channels", headers={"Authorization": f"Bearer {other_value}"}).status_code == 200


def test_deactivated_users_token_is_401(caller: Callable[..., Caller]) -> None:
    """A leaver's tokens stop working when their account is deactivated."""
    comms = caller("comms")
    assert comms.get(f"{API}/channels").status_code == 200
    accounts.deactivate(comms.user, actor=Actor.system("tests"))
    db.session().commit()
    problem(comms.get(f"{API}/channels"), 401)
    problem(comms.post(f"{API}/channels", request_body()), 401)


def test_token_records_when_it_was_last_used(client: FlaskClient, make_user: Callable[..., User]) -> None:
    """Administrators can see when a token was last used (to find unused or leaked ones)."""
    token, value = accounts.create_token(make_user("staff"), actor=Actor.system("tests"))
    db.session().commit()

    def last_used() -> dt.datetime | None:
        return db.session().execute(select(ApiToken.last_used_at).where(ApiToken.id == token.id)).scalar_one()

    assert last_used() is None
    before = db.utcnow()
    assert client.get(f"{API}/channels", headers={"Authorization": f"Bearer {value}"}).status_code == 200
    used = last_used()
    assert used is not None
    assert used.tzinfo is not None and before - dt.timedelta(seconds=1) <= used <= db.utcnow()


def test_token_is_ignored_outside_the_api(caller: Callable[..., Caller]) -> None:
    """A bearer token signs nobody in to the browser pages: they still ask for a sign-in."""
    comms = caller("comms")
    response = comms.get("/channels")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_browser_session_uses_the_api_but_changes_need_the_csrf_header(browser_as: Callable[..., Any]) -> None:
    """A signed-in browser reads the API without a token, but another site cannot make it change
    anything: a session-authenticated change without ``X-CSRFToken`` is refused; with it, accepted."""
    browser = browser_as("staff")
    listed = browser.get(f"{API}/channels")
    assert (listed.status_code, listed.get_json()["total"]) == (200, 0)
    before = count_events()
    refused = browser.client.post(f"{API}/channels", json=request_body())
    body = problem(refused, 400)
    assert (
        body["detail"] == "The form had expired or was sent from another site. Go back, reload the page and try again."
    )
    refused_with_bad_token = browser.client.post(
        f"{API}/channels", json=request_body(), headers={"X-CSRFToken": "forged"}
    )
    problem(refused_with_bad_token, 400)
    assert count_events() == before
    accepted = browser.client.post(
        f"{API}/channels", json=request_body(), headers={"X-CSRFToken": csrf_token(browser.client)}
    )
    assert accepted.status_code == 201, accepted.get_data(as_text=True)
    assert accepted.get_json()["requested_by"]["email"] == browser.user.email


def test_bearer_token_needs_no_csrf_header(caller: Callable[..., Caller]) -> None:
    """A browser never attaches a bearer token by itself, so token calls need no CSRF token."""
    assert caller("staff").post(f"{API}/channels", request_body()).status_code == 201


def test_public_endpoints_need_no_token(client: FlaskClient, make_channel: Callable[..., Channel]) -> None:
    """Anyone can verify an account and read the OpenAPI document."""
    make_channel("active", handle="trustnhs")
    verdict = client.get(f"{API}/verify?platform=x&handle=TrustNHS")
    assert verdict.status_code == 200
    assert verdict.get_json()["official"] is True
    assert client.get(f"{API}/openapi.json").status_code == 200


# --- listing channels ---------------------------------------------------------------------


def test_list_has_pagination_metadata_and_pages_in_reference_order(
    caller: Callable[..., Caller], make_channel: Callable[..., Channel]
) -> None:
    """Pages split the list without overlap; ``total`` counts every match."""
    references = [make_channel().reference for _ in range(7)]
    comms = caller("comms")
    first = comms.get(f"{API}/channels?per_page=3").get_json()
    assert (first["total"], first["page"], first["per_page"]) == (7, 1, 3)
    last = comms.get(f"{API}/channels?per_page=3&page=3").get_json()
    beyond = comms.get(f"{API}/channels?per_page=3&page=4").get_json()
    middle = comms.get(f"{API}/channels?per_page=3&page=2").get_json()
    pages = [item["reference"] for page in (first, middle, last) for item in page["items"]]
    assert pages == references
    assert (len(last["items"]), beyond["items"], beyond["total"]) == (1, [], 7)


def test_list_defaults_to_25_per_page(caller: Callable[..., Caller]) -> None:
    assert caller("comms").get(f"{API}/channels").get_json() == {"items": [], "total": 0, "page": 1, "per_page": 25}


def test_per_page_is_at_most_100(caller: Callable[..., Caller]) -> None:
    """100 per page is allowed; more is refused, naming ``per_page``."""
    comms = caller("comms")
    assert comms.get(f"{API}/channels?per_page=100").get_json()["per_page"] == 100
    assert field_errors(comms.get(f"{API}/channels?per_page=101")) == {
        "per_page": "per_page must be a whole number from 1 to 100."
    }


def test_bad_page_parameters_are_422_naming_the_field(caller: Callable[..., Caller], subtests: pytest.Subtests) -> None:
    comms = caller("comms")
    for path in ("/channels", "/audit-events"):
        for query, field in (
            ("page=0", "page"),
            ("page=-1", "page"),
            ("page=abc", "page"),
            ("page=1.5", "page"),
            ("page=99999999999999999999", "page"),
            ("per_page=0", "per_page"),
            ("per_page=x", "per_page"),
        ):
            with subtests.test(path=path, query=query):
                errors = field_errors(comms.get(f"{API}{path}?{query}"))
                assert list(errors) == [field]
                assert errors[field].startswith(f"{field} must be a whole number from 1 to ")


def test_every_bad_parameter_is_named_at_once(caller: Callable[..., Caller]) -> None:
    """A client fixes its query in one round, not one parameter per round."""
    comms = caller("comms")
    errors = field_errors(comms.get(f"{API}/channels?page=0&per_page=1000&status=live&format=xml&q={'a' * 201}"))
    assert set(errors) == {"page", "per_page", "status", "format", "q"}
    errors = field_errors(comms.get(f"{API}/audit-events?page=x&since=soon&object={'a' * 111}"))
    assert set(errors) == {"page", "since", "object"}


def test_list_filters_by_status_platform_department_and_text(
    caller: Callable[..., Caller], make_channel: Callable[..., Channel]
) -> None:
    """Each filter narrows the list; filters combine; department matches whole names in any case."""
    active_x = make_channel(
        "active", platform="x", handle="trustmidwives", department="Maternity", display_name="Midwives"
    )
    active_fb = make_channel(
        "active", platform="facebook", handle="trustcardiology", department="Cardiology", display_name="Heart Care"
    )
    requested = make_channel(
        "requested", platform="x", handle="trustpharmacy", department="Pharmacy", display_name="Pharmacy News"
    )
    comms = caller("comms")

    def refs(query: str) -> list[str]:
        response = comms.get(f"{API}/channels?{query}")
        assert response.status_code == 200, response.get_data(as_text=True)
        return [item["reference"] for item in response.get_json()["items"]]

    assert refs("status=active") == [active_x.reference, active_fb.reference]
    assert refs("platform=x") == [active_x.reference, requested.reference]
    assert refs("status=active&platform=x") == [active_x.reference]
    assert refs("department=cardiology") == [active_fb.reference]
    assert refs("department=Cardio") == []
    assert refs("q=heart") == [active_fb.reference]
    assert refs("q=trustpharm") == [requested.reference]
    assert refs("q=pharmacy&status=active") == []
    assert refs(f"q={active_x.reference}") == [active_x.reference]
    assert refs("status=&platform=&department=&q=&sort=&dir=&format=") == [
        active_x.reference,
        active_fb.reference,
        requested.reference,
    ]


def test_text_search_treats_wildcards_literally(
    caller: Callable[..., Caller], make_channel: Callable[..., Channel]
) -> None:
    """``%`` and ``_`` in a search are the characters themselves, not SQL wildcards."""
    make_channel(display_name="Acute care")
    underscored = make_channel(display_name="Snake_case")
    comms = caller("comms")
    assert comms.get(f"{API}/channels?q=%25").get_json()["total"] == 0
    assert [i["reference"] for i in comms.get(f"{API}/channels?q=e_c").get_json()["items"]] == [underscored.reference]


def test_list_sorts_by_name_descending(caller: Callable[..., Caller], make_channel: Callable[..., Channel]) -> None:
    for name in ("Bravo", "alpha", "Charlie"):
        make_channel(display_name=name)
    items = caller("auditor").get(f"{API}/channels?sort=name&dir=desc").get_json()["items"]
    assert [item["display_name"] for item in items] == ["Charlie", "Bravo", "alpha"]


BAD_FILTERS = [
    (
        "status=live",
        "status",
        ("status must be one of requested, info_requested, approved, active, suspended, retired, rejected, withdrawn."),
    ),
    ("platform=myspace", "platform", None),
    ("sort=secret", "sort", None),
    ("dir=sideways", "dir", "dir must be asc or desc."),
    ("format=xml", "format", "format must be json or csv."),
    ("q=" + "a" * 201, "q", "q must be 200 characters or fewer."),
    ("department=" + "a" * 201, "department", "department must be 200 characters or fewer."),
    ("department=Mat%00ernity", "department", "department must not contain NUL characters."),
    ("q=%00", "q", "q must not contain NUL characters."),
]


def test_bad_filters_are_422_naming_the_field(caller: Callable[..., Caller], subtests: pytest.Subtests) -> None:
    comms = caller("comms")
    for query, field, message in BAD_FILTERS:
        with subtests.test(query=query[:40]):
            errors = field_errors(comms.get(f"{API}/channels?{query}"))
            assert list(errors) == [field]
            if message is not None:
                assert errors[field] == message


def test_staff_see_official_channels_and_their_own_requests_only(
    caller: Callable[..., Caller], make_channel: Callable[..., Channel]
) -> None:
    """Requests are private to the requester and comms; the Trust's live accounts are public anyway."""
    staff = caller("staff")
    mine = make_channel("requested", requester=staff.user)
    others = {
        status: make_channel(status)
        for status in ("requested", "approved", "active", "suspended", "retired", "rejected", "withdrawn")
    }
    listed = [item["reference"] for item in staff.get(f"{API}/channels").get_json()["items"]]
    assert listed == [mine.reference, others["active"].reference, others["suspended"].reference]
    everything = caller("auditor").get(f"{API}/channels").get_json()
    assert everything["total"] == 8


INTERNAL = {
    "purpose",
    "audience",
    "posting_plan",
    "moderation_plan",
    "out_of_hours",
    "sponsor",
    "proposed_administrators",
    "policy_acknowledged_at",
    "created_at",
    "updated_at",
    "next_review_on",
    "requested_by",
    "history",
}


def test_staff_see_only_the_public_face_of_other_peoples_channels(
    caller: Callable[..., Caller], make_channel: Callable[..., Channel]
) -> None:
    """Staff see every detail of their own requests, but of another team's official channel only what
    the public verification page shows: not its administrators, plans, requester or history.
    Comms and auditors see everything."""
    staff = caller("staff")
    mine = make_channel("requested", requester=staff.user)
    official = make_channel("active")
    by_reference = {item["reference"]: item for item in staff.get(f"{API}/channels").get_json()["items"]}
    assert by_reference[mine.reference]["requested_by"] == {"name": staff.user.name, "email": staff.user.email}
    assert INTERNAL - {"history"} <= set(by_reference[mine.reference])
    assert not INTERNAL & set(by_reference[official.reference])
    single = staff.get(f"{API}/channels/{official.reference}").get_json()
    assert not INTERNAL & set(single)
    assert single["handle"] == official.handle and single["status"] == "active"
    audited = {item["reference"]: item for item in caller("auditor").get(f"{API}/channels").get_json()["items"]}
    assert audited[official.reference]["requested_by"]["email"] == official.requester.email


# --- CSV export ---------------------------------------------------------------------------


def test_csv_export_for_comms_and_auditors(
    caller: Callable[..., Caller], make_channel: Callable[..., Channel], subtests: pytest.Subtests
) -> None:
    """``format=csv`` downloads every matching channel (not one page) as a spreadsheet-safe file."""
    channels = [make_channel("active", department="Maternity") for _ in range(3)]
    make_channel("requested", department="Pharmacy")
    for role in ("comms", "auditor"):
        with subtests.test(role=role):
            response = caller(role).get(f"{API}/channels?format=csv&department=maternity&per_page=1")
            assert response.status_code == 200
            assert response.mimetype == "text/csv"
            assert response.mimetype_params.get("charset") == "utf-8"
            assert response.headers["Content-Disposition"] == 'attachment; filename="channels.csv"'
            rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
            assert tuple(rows[0]) == EXPORT_COLUMNS
            assert [row[0] for row in rows[1:]] == [c.reference for c in channels]
            assert rows[1][EXPORT_COLUMNS.index("status")] == "active"
            assert rows[1][EXPORT_COLUMNS.index("requested_by")] == channels[0].requester.email


def test_csv_export_is_audited(caller: Callable[..., Caller], make_channel: Callable[..., Channel]) -> None:
    make_channel()
    auditor = caller("auditor")
    assert auditor.get(f"{API}/channels?format=csv&status=requested").status_code == 200
    events = auditor.get(f"{API}/audit-events?action=channel:export").get_json()["items"]
    assert len(events) == 1
    assert events[0]["details"] == {"filters": {"status": "requested"}, "rows": 1}
    assert events[0]["actor_id"] == auditor.user.id


def test_csv_cells_cannot_run_as_spreadsheet_formulas(caller: Callable[..., Caller]) -> None:
    """Text a requester typed that starts like a formula is exported with a leading apostrophe."""
    staff = caller("staff")
    created = staff.post(
        f"{API}/channels",
        request_body(
            display_name='=HYPERLINK("https://evil.example","Click")', department="+44 Cardiology", sponsor="@SUM(1+1)"
        ),
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(caller("comms").get(f"{API}/channels?format=csv").get_data(as_text=True))))
    assert rows[0]["display_name"] == '\'=HYPERLINK("https://evil.example","Click")'
    assert rows[0]["department"] == "'+44 Cardiology"
    assert rows[0]["sponsor"] == "'@SUM(1+1)"


def test_csv_export_is_refused_to_other_roles(
    caller: Callable[..., Caller], make_channel: Callable[..., Channel], subtests: pytest.Subtests
) -> None:
    make_channel("active")
    for role in ("staff", "manager", "admin"):
        with subtests.test(role=role):
            body = problem(caller(role).get(f"{API}/channels?format=csv"), 403)
            assert body["detail"] == "Only the communications team and auditors can export the inventory."


# --- requesting a channel -----------------------------------------------------------------


def test_any_signed_in_user_can_request_a_channel(caller: Callable[..., Caller], subtests: pytest.Subtests) -> None:
    """The request is created in status ``requested``, normalised, located, and audited."""
    for role in ROLES:
        with subtests.test(role=role):
            requester = caller(role)
            before = count_events()
            response = requester.post(
                f"{API}/channels", request_body(handle=f"https://mobile.twitter.com/Trust{role}/?s=1")
            )
            assert response.status_code == 201, response.get_data(as_text=True)
            body = response.get_json()
            assert body["status"] == "requested"
            assert body["reference"].startswith("CH-")
            assert response.headers["Location"] == f"{API}/channels/{body['reference']}"
            assert (body["platform"], body["handle"], body["url"]) == (
                "x",
                f"trust{role}",
                f"https://x.com/trust{role}",
            )
            assert body["requested_by"] == {"name": requester.user.name, "email": requester.user.email}
            assert [(h["action"], h["to_status"], h["actor"]) for h in body["history"]] == [
                ("request", "requested", requester.user.name)
            ]
            assert body["policy_acknowledged_at"] is not None
            assert count_events() == before + 1
            assert requester.channel(body["reference"])["sponsor"] == "Head of Midwifery"


def test_optional_fields_may_be_left_out_or_null(caller: Callable[..., Caller]) -> None:
    response = caller("staff").post(
        f"{API}/channels",
        request_body(
            posting_plan=..., moderation_plan=None, out_of_hours=..., sponsor=None, proposed_administrators=...
        ),
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["sponsor"] == ""


def test_an_empty_request_names_every_required_field(caller: Callable[..., Caller]) -> None:
    assert field_errors(caller("staff").post(f"{API}/channels", {})) == {
        "platform": "Choose the platform",
        "handle": "Enter the account's handle or web address",
        "display_name": "Enter the name the account will show",
        "department": "Enter the service or department that will own the account",
        "purpose": "Describe what the account is for",
        "audience": "Describe who the account is for",
        "policy_acknowledged": "Confirm that you have read the social media policy",
    }


def test_each_missing_required_field_is_named(caller: Callable[..., Caller], subtests: pytest.Subtests) -> None:
    """Left out, null, empty or blank: the one missing field is named, nothing is created."""
    staff = caller("staff")
    before = count_events()
    for field in ("platform", "handle", "display_name", "department", "purpose", "audience", "policy_acknowledged"):
        for missing in (..., None, "", "   "):
            if field == "policy_acknowledged" and isinstance(missing, str):
                missing = False
            with subtests.test(field=field, missing=missing):
                errors = field_errors(staff.post(f"{API}/channels", request_body(**{field: missing})))
                assert list(errors) == [field]
    assert count_events() == before


INVALID_FIELDS = [
    ("platform", "myspace", "Choose a platform from the list"),
    ("platform", 1, "platform must be text."),
    ("handle", ["@trust"], "handle must be text."),
    ("display_name", 42, "display_name must be text."),
    ("department", {"name": "Maternity"}, "department must be text."),
    ("purpose", True, "purpose must be text."),
    ("sponsor", 3.5, "sponsor must be text."),
    ("policy_acknowledged", "yes", "policy_acknowledged must be true or false."),
    ("policy_acknowledged", 1, "policy_acknowledged must be true or false."),
    ("policy_acknowledged", False, "Confirm that you have read the social media policy"),
    ("display_name", "x" * 201, "The account name must be 200 characters or fewer"),
    ("purpose", "x" * 10_000, "What the account is for must be 5000 characters or fewer"),
    ("proposed_administrators", "x" * 2001, "The list of administrators must be 2000 characters or fewer"),
    (
        "display_name",
        "Trust\ud800",
        ("display_name is not valid text: it contains an unpaired surrogate escape (\\ud800 to \\udfff)."),
    ),
]


def test_invalid_fields_are_422_naming_the_field(caller: Callable[..., Caller], subtests: pytest.Subtests) -> None:
    """Wrong types, unknown platforms, over-long or undecodable text: each named, nothing created."""
    staff = caller("staff")
    before = count_events()
    for field, value, message in INVALID_FIELDS:
        with subtests.test(field=field, value=str(value)[:20]):
            errors = field_errors(staff.post(f"{API}/channels", request_body(**{field: value})))
            assert errors == {field: message}
    assert count_events() == before


def test_hostile_or_wrong_handles_are_422_never_500(caller: Callable[..., Caller], subtests: pytest.Subtests) -> None:
    staff = caller("staff")
    for handle in (
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "https://twіtter.com/trust",
        "https://x.com/trust\x07",
        "@" + "a" * 10_000,
        "https://www.facebook.com/trustpage",
        "https://x.com/",
        "tr\u202eust",
        "https://evil.example/trust",
        "\ud800",
    ):
        with subtests.test(handle=handle[:40]):
            errors = field_errors(staff.post(f"{API}/channels", request_body(handle=handle)))
            assert list(errors) == ["handle"]


def test_nul_characters_are_never_stored(caller: Callable[..., Caller]) -> None:
    """NUL cannot be stored by PostgreSQL; it is removed from text rather than failing the request."""
    response = caller("staff").post(
        f"{API}/channels", request_body(handle="@trust\x00maternity", display_name="Trust\x00 Maternity")
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["handle"], body["display_name"]) == ("trustmaternity", "Trust Maternity")


NOT_JSON_BODIES = [
    ('{"platform": "x",', "application/json"),
    ("[1, 2]", "application/json"),
    ('"a string"', "application/json"),
    ("null", "application/json"),
    ("", "application/json"),
    ('{"platform": "x"}', "text/plain"),
    ("platform=x&handle=trust", "application/x-www-form-urlencoded"),
    (b"\xff\xfe\x00", "application/json"),
    ("[" * 100_000, "application/json"),
]


def test_a_body_that_is_not_a_json_object_is_400(caller: Callable[..., Caller], subtests: pytest.Subtests) -> None:
    """Malformed, non-object, wrongly typed or absurdly nested bodies: 400, never 500."""
    staff = caller("staff")
    for data, content_type in NOT_JSON_BODIES:
        with subtests.test(data=str(data)[:20], content_type=content_type):
            body = problem(staff.post(f"{API}/channels", data=data, content_type=content_type), 400)
            assert body["detail"] == NOT_JSON


def test_a_live_handle_cannot_be_requested_twice(
    caller: Callable[..., Caller], make_channel: Callable[..., Channel]
) -> None:
    """However it is spelt, an account held by a live channel is refused, naming the holder."""
    holder = make_channel("active", platform="x", handle="trustnhs")
    staff = caller("staff")
    for spelling in ("TrustNHS", "@trustnhs", "https://twitter.com/TrustNHS/", "https://www.x.com/trustnhs?lang=en"):
        errors = field_errors(staff.post(f"{API}/channels", request_body(handle=spelling)))
        assert errors == {
            "handle": f"This account is already in the registry as {holder.reference} (active). "
            "Search for it instead of requesting it again."
        }
    assert staff.post(f"{API}/channels", request_body(platform="instagram", handle="trustnhs")).status_code == 201


def test_a_handle_no_longer_live_can_be_requested_again(
    caller: Callable[..., Caller], make_channel: Callable[..., Channel], subtests: pytest.Subtests
) -> None:
    staff = caller("staff")
    for status in ("retired", "rejected", "withdrawn"):
        with subtests.test(status=status):
            make_channel(status, platform="x", handle=f"trust{status}")
            assert staff.post(f"{API}/channels", request_body(handle=f"@Trust{status}")).status_code == 201


# --- reading one channel ------------------------------------------------------------------


def test_get_channel_shows_its_whole_history(
    caller: Callable[..., Caller], make_channel: Callable[..., Channel]
) -> None:
    channel = make_channel("suspended")
    body = caller("auditor").channel(channel.reference)
    assert body["status"] == "suspended"
    assert body["status_label"] == "Suspended"
    assert [(h["action"], h["from_status"], h["to_status"]) for h in body["history"]] == [
        ("request", None, "requested"),
        ("approve", "requested", "approved"),
        ("activate", "approved", "active"),
        ("suspend", "active", "suspended"),
    ]
    assert body["history"][-1]["reason"] == "Because the test says so."
    assert body["links"] == {"self": f"{API}/channels/{channel.reference}", "html": f"/channels/{channel.reference}"}


def test_unknown_channel_is_404(caller: Callable[..., Caller], subtests: pytest.Subtests) -> None:
    comms = caller("comms")
    for reference in ("CH-99999999", "nonsense", "CH-", "ch-1x"):
        with subtests.test(reference=reference):
            body = problem(comms.get(f"{API}/channels/{reference}"), 404)
            assert body["detail"] == f"There is no channel {reference!r}. Check the reference, for example CH-0042."


def test_staff_cannot_read_someone_elses_request(
    caller: Callable[..., Caller], make_channel: Callable[..., Channel]
) -> None:
    staff = caller("staff")
    hidden = make_channel("requested")
    body = problem(staff.get(f"{API}/channels/{hidden.reference}"), 403)
    assert body["detail"] == "You can see your own requests and the Trust's official channels only."
    assert "requested_by" not in staff.channel(make_channel("active").reference)
    assert staff.channel(make_channel("requested", requester=staff.user).reference)["status"] == "requested"


def test_no_secret_or_hash_is_ever_in_a_response(
    caller: Callable[..., Caller], make_channel: Callable[..., Channel]
) -> None:
    """Tokens and password hashes never leave the server, even in the audit trail."""
    comms = caller("comms")
    channel = make_channel("active", requester=comms.user)
    token_value = comms.headers["Authorization"].removeprefix("Bearer ")
    responses = [
        comms.get(f"{API}/channels"),
        comms.get(f"{API}/channels/{channel.reference}"),
        comms.get(f"{API}/audit-events?per_page=100"),
        comms.get(f"{API}/channels?format=csv"),
    ]
    for response in responses:
        text = response.get_data(as_text=True)
        assert token_value not in text
        assert token_value[:20] not in text
        assert comms.user.password_hash not in text
        assert "$argon2" not in text


# --- transitions --------------------------------------------------------------------------

# (status before, action, fields, status after) for each move comms make in the lifecycle table.
MOVES = [
    ("requested", "approve", {}, "approved"),
    ("requested", "reject", {"reason": "Duplicates the main Trust account."}, "rejected"),
    ("info_requested", "reject", {"reason": "No reply in a month."}, "rejected"),
    ("requested", "request_info", {"reason": "Who will moderate at weekends?"}, "info_requested"),
    ("approved", "activate", {}, "active"),
    ("active", "suspend", {"reason": "Posting paused during an investigation."}, "suspended"),
    ("suspended", "reinstate", {}, "active"),
    ("active", "retire", {"reason": "The service closed."}, "retired"),
    ("suspended", "retire", {"reason": "The service closed."}, "retired"),
]


def test_comms_move_a_channel_along_the_lifecycle(
    caller: Callable[..., Caller], make_channel: Callable[..., Channel], subtests: pytest.Subtests
) -> None:
    """Each move returns the channel, records who, when and why, and appends one audit event."""
    comms = caller("comms")
    for before, action, fields, after in MOVES:
        with subtests.test(before=before, action=action):
            channel = make_channel(before)
            events = count_events()
            response = comms.act(channel.reference, action, **fields)
            assert response.status_code == 200, response.get_data(as_text=True)
            body = response.get_json()
            assert body["status"] == after
            last = body["history"][-1]
            assert (last["action"], last["from_status"], last["to_status"], last["actor"]) == (
                action,
                before,
                after,
                comms.user.name,
            )
            assert last["reason"] == fields.get("reason")
            assert count_events() == events + 1
            event = comms.get(f"{API}/audit-events?object=channel:{channel.reference}&per_page=1").get_json()["items"][
                0
            ]
            assert (event["action"], event["actor_id"]) == (f"channel:{action}", comms.user.id)
            assert (event["details"]["from"], event["details"]["to"]) == (before, after)
            assert event["details"].get("reason") == fields.get("reason")


def test_the_requester_resubmits_and_withdraws(
    caller: Callable[..., Caller], make_channel: Callable[..., Channel], subtests: pytest.Subtests
) -> None:
    staff = caller("staff")
    for before, action, after in (
        ("info_requested", "resubmit", "requested"),
        ("requested", "withdraw", "withdrawn"),
        ("info_requested", "withdraw", "withdrawn"),
        ("approved", "withdraw", "withdrawn"),
    ):
        with subtests.test(before=before, action=action):
            channel = make_channel(before, requester=staff.user)
            response = staff.act(channel.reference, action, reason="Changed my mind.")
            assert response.status_code == 200, response.get_data(as_text=True)
            assert response.get_json()["status"] == after
            assert response.get_json()["history"][-1]["actor"] == staff.user.name


def test_only_the_requester_resubmits_or_withdraws(
    caller: Callable[..., Caller], make_channel: Callable[..., Channel], subtests: pytest.Subtests
) -> None:
    """Not even comms may withdraw or resubmit someone else's request."""
    channel = make_channel("info_requested")
    for role in ROLES:
        someone = caller(role)
        for action in ("resubmit", "withdraw"):
            with subtests.test(role=role, action=action):
                body = problem(someone.act(channel.reference, action), 403)
                if role in ("comms", "auditor"):
                    assert body["detail"] == f"Only the person who made the request can {action} it."
                else:
                    assert body["detail"] == "You can see your own requests and the Trust's official channels only."
    assert stored(channel).status == "info_requested"


@pytest.mark.parametrize("role", NOT_COMMS)
def test_other_roles_cannot_take_comms_actions(
    caller: Callable[..., Caller], make_channel: Callable[..., Channel], subtests: pytest.Subtests, role: str
) -> None:
    """Even on their own request, in a state that allows the action, only comms decide and operate."""
    user_caller = caller(role)
    starts = {
        "approve": "requested",
        "reject": "requested",
        "request_info": "requested",
        "activate": "approved",
        "suspend": "active",
        "reinstate": "suspended",
        "retire": "active",
    }
    channels = {status: make_channel(status, requester=user_caller.user) for status in set(starts.values())}
    for action, start in starts.items():
        with subtests.test(action=action):
            body = problem(user_caller.act(channels[start].reference, action, reason="Because."), 403)
            assert body["detail"] == ONLY_COMMS
    assert {status: stored(channel).status for status, channel in channels.items()} == {s: s for s in channels}


# Every (state, action) pair the lifecycle table does not allow.
WRONG_STATE = {
    "approve": ["info_requested", "approved", "active", "suspended", "retired", "rejected", "withdrawn"],
    "reject": ["approved", "active", "suspended", "retired", "rejected", "withdrawn"],
    "request_info": ["info_requested", "approved", "active", "suspended", "retired", "rejected", "withdrawn"],
    "activate": ["requested", "info_requested", "active", "suspended", "retired", "rejected", "withdrawn"],
    "suspend": ["requested", "info_requested", "approved", "suspended", "retired", "rejected", "withdrawn"],
    "reinstate": ["requested", "info_requested", "approved", "active", "retired", "rejected", "withdrawn"],
    "retire": ["requested", "info_requested", "approved", "retired", "rejected", "withdrawn"],
    "resubmit": ["requested", "approved", "active", "suspended", "retired", "rejected", "withdrawn"],
    "withdraw": ["active", "suspended", "retired", "rejected", "withdrawn"],
}


def test_a_state_that_does_not_allow_the_action_is_409_and_changes_nothing(
    caller: Callable[..., Caller], make_channel: Callable[..., Channel], subtests: pytest.Subtests
) -> None:
    """Comms (here also the requester, so the requester's own actions are allowed by role) are
    refused with 409 and a message saying which state would allow the action."""
    comms = caller("comms")
    auditor = caller("auditor")
    channels = {
        status: make_channel(status, requester=comms.user)
        for status in {s for statuses in WRONG_STATE.values() for s in statuses}
    }
    snapshots = {status: auditor.channel(channel.reference) for status, channel in channels.items()}
    events = count_events()
    for action, statuses in WRONG_STATE.items():
        for status in statuses:
            with subtests.test(action=action, status=status):
                reference = channels[status].reference
                body = problem(comms.act(reference, action, reason="Because."), 409)
                assert body["detail"].startswith(f"{reference} is ")
                assert ", so it cannot be " in body["detail"] and ". Only a channel that is " in body["detail"]
    active = channels["active"].reference
    assert problem(comms.act(active, "approve"), 409)["detail"] == (
        f"{active} is active, so it cannot be approved. Only a channel that is waiting for a decision can be approved."
    )
    assert {status: auditor.channel(c.reference) for status, c in channels.items()} == snapshots
    assert count_events() == events


def test_four_eyes_comms_cannot_decide_their_own_request(
    caller: Callable[..., Caller], subtests: pytest.Subtests
) -> None:
    comms, colleague = caller("comms"), caller("comms")
    for action, fields in (("approve", {}), ("reject", {"reason": "No."}), ("request_info", {"reason": "Who?"})):
        with subtests.test(action=action):
            mine = comms.post(f"{API}/channels", request_body(handle=f"trust_{action[:8]}")).get_json()["reference"]
            body = problem(comms.act(mine, action, **fields), 409)
            assert body["detail"] == FOUR_EYES
            assert comms.channel(mine)["status"] == "requested"
            assert colleague.act(mine, action, **fields).status_code == 200


def test_four_eyes_does_not_stop_running_a_channel_they_requested(
    caller: Callable[..., Caller], make_channel: Callable[..., Channel]
) -> None:
    """Only decisions need a second person; comms may activate and run a channel once someone else approved it."""
    comms = caller("comms")
    channel = make_channel("approved", requester=comms.user)
    assert comms.act(channel.reference, "activate").get_json()["status"] == "active"
    assert comms.act(channel.reference, "suspend", reason="Paused.").get_json()["status"] == "suspended"


def test_a_reason_is_required_to_reject_ask_suspend_or_retire(
    caller: Callable[..., Caller], make_channel: Callable[..., Channel], subtests: pytest.Subtests
) -> None:
    comms = caller("comms")
    channels = {status: make_channel(status) for status in ("requested", "active")}
    for status, action in (
        ("requested", "reject"),
        ("requested", "request_info"),
        ("active", "suspend"),
        ("active", "retire"),
    ):
        for reason in (..., None, "", "   \t"):
            with subtests.test(action=action, reason=reason):
                fields = {} if reason is ... else {"reason": reason}
                errors = field_errors(comms.act(channels[status].reference, action, **fields))
                assert list(errors) == ["reason"]
                assert errors["reason"].startswith("Enter a reason: ")
    assert {status: stored(channel).status for status, channel in channels.items()} == {s: s for s in channels}


BAD_TRANSITIONS = [
    (
        {},
        "action",
        ("Give an action: approve, reject, request_info, resubmit, activate, suspend, reinstate, retire or withdraw."),
    ),
    ({"action": ""}, "action", None),
    ({"action": None}, "action", None),
    (
        {"action": "delete"},
        "action",
        (
            "Choose an action: one of approve, reject, request_info, resubmit, activate, "
            "suspend, reinstate, retire, withdraw."
        ),
    ),
    ({"action": "APPROVE"}, "action", None),
    ({"action": ["approve"]}, "action", "action must be text."),
    ({"action": 1}, "action", "action must be text."),
    ({"action": "reject", "reason": 5}, "reason", "reason must be text."),
    ({"action": "reject", "reason": "x" * 2001}, "reason", "The reason must be 2000 characters or fewer"),
    ({"action": "approve", "reason": "\ud83d"}, "reason", None),
    (
        {"action": "approve", "handle": "trustnew"},
        "handle",
        "A handle or web address can only be given when activating a channel.",
    ),
    (
        {"action": "approve", "url": "https://x.com/trustnew"},
        "url",
        "A handle or web address can only be given when activating a channel.",
    ),
    ({"action": "approve", "url": {"href": "x"}}, "url", "url must be text."),
]


def test_a_missing_or_invalid_transition_field_is_422(
    caller: Callable[..., Caller], make_channel: Callable[..., Channel], subtests: pytest.Subtests
) -> None:
    channel = make_channel("requested")
    comms = caller("comms")
    events = count_events()
    for body, field, message in BAD_TRANSITIONS:
        with subtests.test(body=str(body)[:40]):
            errors = field_errors(comms.post(f"{API}/channels/{channel.reference}/transitions", body))
            assert list(errors) == [field]
            if message is not None:
                assert errors[field] == message
    assert stored(channel).status == "requested"
    assert count_events() == events


def test_a_transition_body_that_is_not_json_is_400(
    caller: Callable[..., Caller], make_channel: Callable[..., Channel]
) -> None:
    channel = make_channel("requested")
    response = caller("comms").post(
        f"{API}/channels/{channel.reference}/transitions",
        data="action=approve",
        content_type="application/x-www-form-urlencoded",
    )
    assert problem(response, 400)["detail"] == NOT_JSON


def test_a_transition_of_an_unknown_channel_is_404(caller: Callable[..., Caller]) -> None:
    problem(caller("comms").act("CH-99999999", "approve"), 404)


def test_activate_records_the_live_address_and_sets_a_review_date(
    caller: Callable[..., Caller], make_channel: Callable[..., Channel]
) -> None:
    """The account may go live under a slightly different handle than requested; the registry follows it."""
    channel = make_channel("approved", platform="instagram", handle="trust_requested")
    response = caller("comms").act(channel.reference, "activate", url="https://www.instagram.com/Trust.Live/")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["handle"], body["url"]) == ("trust.live", "https://www.instagram.com/trust.live/")
    review = dt.date.fromisoformat(body["next_review_on"])
    assert dt.timedelta(days=364) <= review - db.utcnow().date() <= dt.timedelta(days=366)


def test_activate_refuses_a_handle_held_by_another_live_channel(
    caller: Callable[..., Caller], make_channel: Callable[..., Channel]
) -> None:
    holder = make_channel("active", platform="x", handle="trustlive")
    channel = make_channel("approved", platform="x", handle="trustwanted")
    errors = field_errors(caller("comms").act(channel.reference, "activate", handle="@TrustLive"))
    assert errors == {
        "handle": f"This account is already in the registry as {holder.reference} (active). "
        "Search for it instead of requesting it again."
    }
    assert (stored(channel).status, stored(channel).handle) == ("approved", "trustwanted")


REFUSALS = [
    ("active", "comms", {"action": "approve"}, 409),
    ("retired", "comms", {"action": "reinstate"}, 409),
    ("requested", "staff", {"action": "approve"}, 403),
    ("requested", "auditor", {"action": "reject", "reason": "No."}, 403),
    ("requested", "comms", {"action": "reject"}, 422),
    ("approved", "comms", {"action": "activate", "url": "javascript:alert(1)"}, 422),
    ("requested", "comms", {"action": "teleport"}, 422),
]


def test_a_refused_transition_changes_nothing(
    caller: Callable[..., Caller], make_channel: Callable[..., Channel], subtests: pytest.Subtests
) -> None:
    """Status, history, handle and the audit trail are exactly as they were."""
    auditor = caller("auditor")
    callers = {role: caller(role) for role in {role for _status, role, _fields, _expected in REFUSALS}}
    for status, role, fields, expected in REFUSALS:
        with subtests.test(status=status, role=role, action=fields["action"]):
            channel = make_channel(status)
            before = auditor.channel(channel.reference)
            events = count_events()
            problem(callers[role].post(f"{API}/channels/{channel.reference}/transitions", fields), expected)
            assert auditor.channel(channel.reference) == before
            assert count_events() == events


# --- the lifecycle end to end -------------------------------------------------------------


def test_the_whole_lifecycle_through_the_api(client: FlaskClient, caller: Callable[..., Caller]) -> None:
    """SPEC capability 1: request → more information → resubmit → approve → activate ⇄ suspend → retire,
    each step by the right person, visible in the history, the audit trail and public verification."""
    staff, decider, operator = caller("staff"), caller("comms"), caller("comms")
    created = staff.post(f"{API}/channels", request_body(handle="https://twitter.com/TrustMaternity"))
    assert created.status_code == 201
    reference = created.get_json()["reference"]

    def verify() -> dict[str, Any]:
        return client.get(f"{API}/verify?url=https://x.com/trustmaternity").get_json()

    assert verify()["official"] is False
    steps = [
        (decider, "request_info", {"reason": "Who moderates at weekends?"}, "info_requested"),
        (staff, "resubmit", {"reason": "The on-call midwife."}, "requested"),
        (decider, "approve", {}, "approved"),
        (operator, "activate", {"handle": "@TrustMaternity"}, "active"),
        (operator, "suspend", {"reason": "Under investigation."}, "suspended"),
        (operator, "reinstate", {}, "active"),
        (operator, "retire", {"reason": "Merged into the main account."}, "retired"),
    ]
    for actor, action, fields, status in steps:
        response = actor.act(reference, action, **fields)
        assert response.status_code == 200, (action, response.get_data(as_text=True))
        assert response.get_json()["status"] == status
        if status in ("active", "suspended"):
            verdict = verify()
            assert (verdict["official"], verdict["channel"]["reference"]) == (True, reference)

    verdict = verify()
    assert (verdict["official"], verdict["formerly_official"], verdict["channel"]["status"]) == (False, True, "retired")
    history = staff.channel(reference)["history"]
    assert [(h["action"], h["actor"], h["reason"]) for h in history] == [
        ("request", staff.user.name, None),
        *[(action, actor.user.name, fields.get("reason")) for actor, action, fields, _status in steps],
    ]
    assert all(h["occurred_at"] for h in history)
    events = decider.get(f"{API}/audit-events?object=channel:{reference}").get_json()
    assert [e["action"] for e in reversed(events["items"])] == [
        "channel:request",
        "channel:request_info",
        "channel:resubmit",
        "channel:approve",
        "channel:activate",
        "channel:suspend",
        "channel:reinstate",
        "channel:retire",
    ]
    assert staff.post(f"{API}/channels", request_body()).status_code == 201, "a retired handle is free again"


# --- the audit trail ----------------------------------------------------------------------


def test_audit_events_are_for_auditors_comms_and_admins(
    caller: Callable[..., Caller], subtests: pytest.Subtests
) -> None:
    for role, status in (("auditor", 200), ("comms", 200), ("admin", 200), ("staff", 403), ("manager", 403)):
        with subtests.test(role=role):
            response = caller(role).get(f"{API}/audit-events")
            if status == 403:
                problem(response, 403)
            else:
                assert response.status_code == 200
                assert set(response.get_json()) == {"items", "total", "page", "per_page"}


def test_audit_events_filter_by_object(caller: Callable[..., Caller], make_channel: Callable[..., Channel]) -> None:
    """``object=channel:CH-0001`` (or just ``CH-0001``) lists that channel's events, newest first."""
    channel = make_channel("active")
    make_channel("active")
    auditor = caller("auditor")
    for query in (f"channel:{channel.reference}", channel.reference):
        body = auditor.get(f"{API}/audit-events?object={query}").get_json()
        assert body["total"] == 3
        assert [e["action"] for e in body["items"]] == ["channel:activate", "channel:approve", "channel:request"]
        assert {(e["object_type"], e["object_id"]) for e in body["items"]} == {("channel", channel.reference)}
        seqs = [e["seq"] for e in body["items"]]
        assert seqs == sorted(seqs, reverse=True)
    assert auditor.get(f"{API}/audit-events?object=user:{channel.reference}").get_json()["total"] == 0


def test_audit_events_filter_by_action(caller: Callable[..., Caller], make_channel: Callable[..., Channel]) -> None:
    make_channel("active")
    make_channel("approved")
    auditor = caller("auditor")
    assert auditor.get(f"{API}/audit-events?action=channel:approve").get_json()["total"] == 2
    assert auditor.get(f"{API}/audit-events?action=channel").get_json()["total"] == 5


def test_audit_events_since_a_date_or_date_time(
    caller: Callable[..., Caller], make_channel: Callable[..., Channel]
) -> None:
    """``since`` takes an ISO date (midnight UTC) or date-time (UTC unless it has an offset)."""
    make_channel("requested")
    auditor = caller("auditor")
    total = auditor.get(f"{API}/audit-events").get_json()["total"]
    now = db.utcnow()
    today, tomorrow = now.date(), now.date() + dt.timedelta(days=1)

    def count(since: str) -> int:
        response = auditor.get(f"{API}/audit-events", query_string={"since": since})
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()["total"]

    assert count(today.isoformat()) == total
    assert count(tomorrow.isoformat()) == 0
    assert count((now - dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")) == total
    assert count((now + dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")) == 0
    an_hour_ahead = (now + dt.timedelta(hours=1)).astimezone(dt.timezone(dt.timedelta(hours=1)))
    assert count((now - dt.timedelta(minutes=5)).astimezone(dt.timezone(dt.timedelta(hours=1))).isoformat()) == total
    assert count(an_hour_ahead.isoformat()) == 0
    assert auditor.get(f"{API}/audit-events?until={tomorrow.isoformat()}").get_json()["total"] == total


BAD_AUDIT_FILTERS = [
    ("since=yesterday", "since"),
    ("since=2026-13-01", "since"),
    ("since=2026-02-30", "since"),
    ("since=0001-01-01", "since"),
    ("since=2026-01-01T25:00:00Z", "since"),
    ("since=%00", "since"),
    ("until=soon", "until"),
    ("object=" + "x" * 111, "object"),
    ("action=" + "x" * 65, "action"),
    ("object=channel:%00", "object"),
]


def test_bad_audit_filters_are_422_naming_the_field(caller: Callable[..., Caller], subtests: pytest.Subtests) -> None:
    auditor = caller("auditor")
    for query, field in BAD_AUDIT_FILTERS:
        with subtests.test(query=query[:40]):
            errors = field_errors(auditor.get(f"{API}/audit-events?{query}"))
            assert list(errors) == [field]


def test_audit_events_paginate(caller: Callable[..., Caller], make_channel: Callable[..., Channel]) -> None:
    make_channel("active")
    auditor = caller("auditor")
    whole = auditor.get(f"{API}/audit-events?per_page=100").get_json()
    pages = [auditor.get(f"{API}/audit-events?per_page=2&page={n}").get_json() for n in (1, 2, 3, 4)]
    assert [e["seq"] for p in pages for e in p["items"]] == [e["seq"] for e in whole["items"]][:8]
    assert {p["total"] for p in pages} == {whole["total"]}
    assert all(p["per_page"] == 2 for p in pages)


def test_audit_events_are_hash_chained(caller: Callable[..., Caller], make_channel: Callable[..., Channel]) -> None:
    """Each event the API shows links to the one before it."""
    make_channel("active")
    items = caller("auditor").get(f"{API}/audit-events?per_page=100").get_json()["items"]
    for newer, older in itertools.pairwise(items):
        assert newer["seq"] == older["seq"] + 1
        assert newer["prev_hash"] == older["hash"]


# --- public verification ------------------------------------------------------------------


def test_verify_an_official_account_by_url_or_handle(client: FlaskClient, make_channel: Callable[..., Channel]) -> None:
    channel = make_channel("active", platform="x", handle="trustnhs", display_name="The Trust")
    for query in ({"url": "https://mobile.twitter.com/TrustNHS?ref=1"}, {"platform": "x", "handle": "@TRUSTNHS"}):
        response = client.get(f"{API}/verify", query_string=query)
        assert response.status_code == 200
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        body = response.get_json()
        assert (body["official"], body["formerly_official"], body["lookalike_of"]) == (True, False, None)
        assert (body["platform"], body["handle"]) == ("x", "trustnhs")
        assert body["channel"]["reference"] == channel.reference
        assert body["channel"]["display_name"] == "The Trust"
        assert "requested_by" not in body["channel"] and "purpose" not in body["channel"]


def test_verify_warns_of_a_lookalike(client: FlaskClient, make_channel: Callable[..., Channel]) -> None:
    official = make_channel("active", platform="x", handle="trustnhs")
    body = client.get(f"{API}/verify?platform=x&handle=trustnhs1").get_json()
    assert (body["official"], body["channel"]) == (False, None)
    assert body["lookalike_of"]["reference"] == official.reference


def test_verify_reports_a_retired_account_as_formerly_official(
    client: FlaskClient, make_channel: Callable[..., Channel]
) -> None:
    make_channel("retired", platform="x", handle="trustnhs")
    body = client.get(f"{API}/verify?url=https://x.com/trustnhs").get_json()
    assert (body["official"], body["formerly_official"], body["channel"]["status"]) == (False, True, "retired")


def test_verify_does_not_call_an_unlaunched_channel_official(
    client: FlaskClient, make_channel: Callable[..., Channel], subtests: pytest.Subtests
) -> None:
    for status in ("requested", "approved", "rejected", "withdrawn"):
        with subtests.test(status=status):
            make_channel(status, platform="x", handle=f"trust{status}")
            body = client.get(f"{API}/verify?platform=x&handle=trust{status}").get_json()
            assert (body["official"], body["formerly_official"], body["channel"], body["lookalike_of"]) == (
                False,
                False,
                None,
                None,
            )


def test_verify_says_when_an_account_is_known_to_be_unauthorised(
    client: FlaskClient, make_user: Callable[..., User]
) -> None:
    monitoring.record_finding(
        platform="x", url="https://x.com/fake_trust", evidence="Uses our logo.", found_on=None, actor=make_user("comms")
    )
    db.session().commit()
    body = client.get(f"{API}/verify?url=https://x.com/Fake_Trust").get_json()
    assert (body["official"], body["known_unauthorised"]) == (False, True)
    assert client.get(f"{API}/verify?url=https://x.com/someone_else").get_json()["known_unauthorised"] is False


HOSTILE_QUESTIONS = [
    ({}, ["url"]),
    ({"platform": "x"}, ["handle"]),
    ({"handle": "trustnhs"}, ["platform"]),
    ({"platform": "myspace", "handle": "trustnhs"}, ["platform"]),
    ({"url": "javascript:alert(1)"}, ["url"]),
    ({"url": "data:text/html;base64,PHNjcmlwdD4="}, ["url"]),
    ({"url": "https://x.com/trust\x00nhs"}, ["url"]),
    ({"platform": "x", "handle": "trust\x00nhs"}, ["handle"]),
    ({"url": "https://x.com/" + "a" * 10_000}, ["url"]),
    ({"platform": "x", "handle": "a" * 10_000}, ["handle"]),
    ({"url": "https://twіtter.com/trustnhs"}, ["url"]),
    ({"url": "https://xn--twtter-zjf.com/trustnhs", "platform": "x"}, ["url"]),
    ({"url": "https://x.com.evil.example/trustnhs", "platform": "x"}, ["url"]),
    ({"url": "https://user:pass@x.com/trustnhs", "platform": "facebook"}, ["url"]),
    ({"url": "https://x.com/trustnhs", "platform": "myspace"}, ["platform"]),
]


def test_verify_refuses_missing_or_hostile_input_with_422(
    client: FlaskClient, make_channel: Callable[..., Channel], subtests: pytest.Subtests
) -> None:
    """Never a 500: each bad question gets a problem naming what to fix."""
    make_channel("active", platform="x", handle="trustnhs")
    for query, fields in HOSTILE_QUESTIONS:
        with subtests.test(query=str(query)[:60]):
            errors = field_errors(client.get(f"{API}/verify", query_string=query))
            assert list(errors) == fields


def test_verify_answers_a_look_alike_letter_in_a_handle_as_an_impostor(
    client: FlaskClient, make_channel: Callable[..., Channel]
) -> None:
    """A Cyrillic "ѕ" in the handle (issue 13): an impostor to warn about, not an unreadable address."""
    official = make_channel("active", platform="x", handle="trustnhs")

    answer = client.get(f"{API}/verify", query_string={"url": "https://x.com/trustnhѕ"})

    assert answer.status_code == 200
    found = answer.get_json()
    assert found["official"] is False and found["channel"] is None
    assert found["lookalike_of"]["reference"] == official.reference and found["lookalike_of"]["rule"] == "homoglyph"


def test_openapi_document_is_served_as_json(client: FlaskClient) -> None:
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json()["openapi"].startswith("3.1.")


def test_wrong_method_is_405_problem_with_allow(caller: Callable[..., Caller]) -> None:
    comms = caller("comms")
    response = comms.client.delete(f"{API}/channels", headers=comms.headers)
    problem(response, 405)
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


def test_unknown_api_address_is_404_problem(caller: Callable[..., Caller]) -> None:
    problem(caller("comms").get(f"{API}/nothing-here"), 404)


class TestThrottling:
    """With rate limits on, as in production."""

    @pytest.fixture
    def app_settings(self) -> dict[str, Any]:
        return {"RATELIMIT_ENABLED": True}

    def test_verify_is_throttled_per_address_with_a_retry_after(self, client: FlaskClient) -> None:
        """A scraper hammering the public check is slowed down, told how long to wait, and other
        addresses are unaffected."""
        for _ in range(120):
            assert client.get(f"{API}/verify?platform=x&handle=trustnhs").status_code == 200
        refused = client.get(f"{API}/verify?platform=x&handle=trustnhs")
        body = problem(refused, 429)
        assert body["detail"] == "You have tried this too many times. Wait a few minutes, then try again."
        assert int(refused.headers["Retry-After"]) > 0
        elsewhere = client.get(f"{API}/verify?platform=x&handle=trustnhs", environ_base={"REMOTE_ADDR": "192.0.2.7"})
        assert elsewhere.status_code == 200


def test_api_answers_are_written_as_flask_writes_json(app: Flask) -> None:
    """The API's answers keep Flask's JSON: the same bytes, keys sorted, dates as HTTP dates, other
    alphabets escaped, and indented in debug mode, as ``jsonify`` writes them."""
    import decimal
    import uuid

    from flask import jsonify

    from registry.api.support import json_response

    body = {
        "zeta": [1, 2.5, None, True],
        "alpha": {"when": dt.datetime(2026, 3, 1, 12, 30, tzinfo=dt.UTC), "name": "Буcks “NHS”"},
        "amount": decimal.Decimal("1.10"),
        "id": uuid.UUID(int=7),
    }
    for debug in (False, True):
        app.debug = debug
        try:
            with app.test_request_context("/api/v1/verify"):
                ours, flask_s = json_response(body, 201), jsonify(body)
        finally:
            app.debug = False
        assert ours.status_code == 201
        assert ours.get_data() == flask_s.get_data()
        assert ours.headers["Content-Type"] == flask_s.headers["Content-Type"] == "application/json"
    assert b'\n  "alpha"' in ours.get_data()  # debug mode: indented
