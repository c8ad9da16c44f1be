"""The OpenAPI document's request schemas say exactly what the server accepts, rule by rule.

schemathesis (tests/test_openapi.py) checks the document against the server with the values it
generates. These tests aim at the rules that are easy to state loosely: what counts as blank text,
a two-factor seed, strict base64, a time. Each sends the server many awkward values of one field
and checks, for every value, that the schema and the server agree: a value the schema allows is
not refused for that field, and a value it forbids is.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any

import jsonschema_rs
import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry import clock, db
from registry.api.openapi import AUDIT_MOMENT, BASE64, document
from registry.api.support import decode_base64
from registry.auth.models import User
from registry.channels.models import Channel
from registry.consent.api import ARTWORK_EXAMPLE
from registry.media import services as media_contacts

AWKWARD = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

#: Text made of what the rules turn on: letters and base32 digits, "=" and "-", every kind of
#: space Python strips (and U+FEFF, which it does not), NUL, and other characters.
TEXT = st.text(
    alphabet=st.sampled_from(
        [
            "a",
            "Z",
            "2",
            "7",
            "1",
            "=",
            "-",
            " ",
            "\t",
            "\n",
            "\x0b",
            "\x1c",
            "\x85",
            "\xa0",
            "\u2003",
            "\u3000",
            "\ufeff",
            "\x00",
            "é",
        ]
    ),
    max_size=24,
)


def request_schema(name: str) -> jsonschema_rs.Validator:
    """A validator for ``components.schemas[name]`` as the served document states it, formats included."""
    doc = document()
    return jsonschema_rs.validator_for(
        {"$ref": f"#/components/schemas/{name}", "components": doc["components"]},
        validate_formats=True,
    )


def refused_for(response: Any, field: str) -> bool:
    return response.status_code == 422 and field in response.get_json()["errors"]


def assert_agree(schema: jsonschema_rs.Validator, body: dict[str, Any], field: str, response: Any) -> None:
    allowed = schema.is_valid(body)
    assert response.status_code != 500
    assert refused_for(response, field) is not allowed, (
        f"{field}={body[field]!r}: the document says {'valid' if allowed else 'invalid'}, "
        f"the server answered {response.status_code} {response.get_data(as_text=True)[:300]}"
    )


@pytest.fixture
def comms(make_user: Callable[..., User], api_token: Callable[[User], dict[str, str]]) -> dict[str, str]:
    return api_token(make_user("comms"))


@pytest.fixture
def active(make_channel: Callable[..., Channel]) -> str:
    return make_channel("active").reference


@given(
    text=st.text(
        alphabet=st.sampled_from(["A", "z", "0", "+", "/", "=", "\n", " ", "-", "_"]),
        max_size=14,
    )
)
@settings(max_examples=300, deadline=None)
def test_the_base64_pattern_is_what_the_server_decodes(text: str) -> None:
    """``content_base64`` is strict base64 in the document exactly as the server decodes it."""
    pattern = jsonschema_rs.validator_for({"type": "string", "pattern": BASE64})
    assert pattern.is_valid(text) is (decode_base64(text) is not None), text


@pytest.mark.parametrize("kind", ["password", "totp_seed"])
@given(value=TEXT)
@AWKWARD
def test_a_secret_is_refused_exactly_when_the_document_says(
    client: FlaskClient,
    comms: dict[str, str],
    active: str,
    kind: str,
    value: str,
) -> None:
    """A secret must not be blank nor hold NUL; a two-factor seed must be base32 of a usable length."""
    body = {"kind": kind, "value": value, "reason": "Onboarding the account."}
    response = client.post(f"/api/v1/channels/{active}/credentials", json=body, headers=comms)
    assert_agree(request_schema("CredentialRequest"), body, "value", response)


@pytest.mark.parametrize("field", ["display_name", "posting_plan"])
@given(value=TEXT)
@AWKWARD
def test_blank_text_is_refused_exactly_when_the_document_says(
    client: FlaskClient,
    comms: dict[str, str],
    field: str,
    value: str,
) -> None:
    """Text of only spaces (as Python strips them) and NUL is blank: a required field refuses it,
    an optional one takes it as not given."""
    body = {
        "platform": "x",
        "handle": "TrustRules",
        "display_name": "Example NHS",
        "department": "Communications",
        "purpose": "News.",
        "audience": "Patients.",
        "policy_acknowledged": True,
        field: value,
    }
    response = client.post("/api/v1/channels", json=body, headers=comms)
    assert_agree(request_schema("ChannelRequest"), body, field, response)


@pytest.fixture
def approach(app: Flask, make_user: Callable[..., User]) -> str:
    contact = media_contacts.log_approach(
        media_contacts.Approach(
            platform="x",
            contacted_at=db.utcnow() - dt.timedelta(hours=1),
            enquiry="Asked for a comment.",
            link="https://x.com/messages/1",
            not_responded=True,
        ),
        [],
        make_user("staff"),
    )
    db.session().commit()
    return contact.reference


@pytest.mark.parametrize("field", ["note", "advice"])
@given(value=TEXT)
@AWKWARD
def test_a_note_needs_text_and_takes_no_advice_as_the_document_says(
    client: FlaskClient,
    comms: dict[str, str],
    approach: str,
    field: str,
    value: str,
) -> None:
    """Adding a note: the note must not be blank, and advice must be (a note is not sent to the reporter)."""
    body = {"action": "note", "note": "Spoke to the desk.", field: value}
    response = client.post(f"/api/v1/media-contacts/{approach}/transitions", json=body, headers=comms)
    assert_agree(request_schema("MediaContactTransitionRequest"), body, field, response)


def rfc3339() -> st.SearchStrategy[str]:
    """Dates and date-times as RFC 3339 writes them, of every year but those at the edges of the
    range the audit trail's filter takes (1970 and 9998 to 9999, where the document is stricter)."""
    years = st.integers(1, 9997).filter(lambda year: year != 1970)
    days = st.builds(dt.date, years, st.integers(1, 12), st.integers(1, 28))
    offsets = st.sampled_from(
        [
            dt.UTC,
            dt.timezone(dt.timedelta(hours=14)),
            dt.timezone(-dt.timedelta(hours=9, minutes=30)),
        ]
    )
    times = st.builds(
        lambda day, seconds, tz: dt.datetime.combine(day, dt.time(), tz) + dt.timedelta(seconds=seconds),
        days,
        st.integers(0, 86399),
        offsets,
    )
    return st.one_of(
        days.map(dt.date.isoformat),
        times.map(dt.datetime.isoformat),
        times.map(lambda moment: moment.isoformat(timespec="microseconds").replace("+00:00", "Z")),
        times.map(lambda moment: moment.isoformat().lower()),
        st.sampled_from(["", "  ", "2026-02-30", "2026-11-01T25:00:00Z", "yesterday", "1969-12-31"]),
    )


def audit_since(client: FlaskClient, headers: dict[str, str], value: str) -> Any:
    return client.get("/api/v1/audit-events", query_string={"since": value}, headers=headers)


@given(value=rfc3339())
@AWKWARD
def test_the_audit_trail_takes_exactly_the_times_the_document_says(
    client: FlaskClient,
    value: str,
    make_user: Callable[..., User],
    api_token: Callable[[User], dict[str, str]],
) -> None:
    """``since`` and ``until``: blank, or a date or date-time (with an upper-case Z) in range."""
    response = audit_since(client, api_token(make_user("auditor")), value)
    allowed = jsonschema_rs.validator_for(AUDIT_MOMENT, validate_formats=True).is_valid(value)
    assert refused_for(response, "since") is not allowed, (value, response.get_json())


def test_the_audit_trail_reads_more_times_than_the_document_promises(
    client: FlaskClient,
    make_user: Callable[..., User],
    api_token: Callable[[User], dict[str, str]],
) -> None:
    """Where the two differ, the document is the stricter: the server also reads the ISO 8601 forms
    RFC 3339 leaves out (no seconds, no offset, a space for the T), which the document does not name."""
    headers = api_token(make_user("auditor"))
    moment = jsonschema_rs.validator_for(AUDIT_MOMENT, validate_formats=True)
    for value in (
        "2026-11-01T09:30",
        "2026-11-01T09:30:00",
        "2026-11-01 09:30:00+01:00",
    ):
        assert not moment.is_valid(value) and audit_since(client, headers, value).status_code == 200, value


def blank_or_choice_parameters() -> list[tuple[str, str, dict[str, Any]]]:
    """Every list filter that takes one of some values or nothing: (path, name, schema). Verification's
    ``platform`` is left out: whether it may be blank depends on the other parameters."""
    return [
        (path, parameter["name"], parameter["schema"])
        for path, item in document()["paths"].items()
        if path != "/api/v1/verify"
        for parameter in item.get("get", {}).get("parameters", [])
        if {"enum", "pattern"} <= {key for branch in parameter["schema"].get("anyOf", []) for key in branch}
    ]


@pytest.mark.parametrize(("path", "name", "schema"), blank_or_choice_parameters())
@given(data=st.data())
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
def test_a_filter_is_refused_exactly_when_the_document_says(
    client: FlaskClient,
    comms: dict[str, str],
    path: str,
    name: str,
    schema: dict[str, Any],
    data: st.DataObject,
) -> None:
    """A filter takes one of its values, or nothing: empty, or only space (which the server trims away)."""
    choices = next(branch["enum"] for branch in schema["anyOf"] if "enum" in branch)
    value = data.draw(st.one_of(st.sampled_from(choices), TEXT.map(str.strip), st.text(" \t\x1f\x85\u3000")))
    response = client.get(path, query_string={name: value}, headers=comms)
    allowed = jsonschema_rs.validator_for(schema).is_valid(value)
    assert refused_for(response, name) is not allowed, (value, response.get_json())


# --- ids written with a decimal point -------------------------------------------------------------
#
# JSON Schema's "integer" is a number with no fraction, however it is written: 3.0 is an integer.
# The document says the id lists hold integers, so the server takes 3.0 as it takes 3 (as it
# already did for a post's ``version``).

#: A PNG of one pixel: the document's own example of artwork.
PIXEL = ARTWORK_EXAMPLE["content_base64"]


def test_a_post_revision_takes_image_ids_written_with_a_decimal_point(
    client: FlaskClient,
    make_user: Callable[..., User],
    api_token: Callable[[User], dict[str, str]],
    active: str,
) -> None:
    staff = api_token(make_user("staff"))
    proposed = client.post(
        "/api/v1/posts",
        headers=staff,
        json={
            "text": "Flu clinic on Tuesday.",
            "channels": [active],
            "wished_for": clock.today().isoformat(),
            "reason": "Staff need to know.",
            "consent_confirmed": True,
            "consent_location": "Comms office",
            "images": [
                {
                    "filename": "clinic.png",
                    "content_base64": PIXEL,
                    "alt_text": "The clinic's door.",
                }
            ],
        },
    )
    assert proposed.status_code == 201, proposed.get_json()
    post = proposed.get_json()
    body = {
        "consent_confirmed": True,
        "remove_images": [float(post["images"][0]["id"])],
    }
    assert request_schema("PostRevision").is_valid(body)
    revised = client.post(f"/api/v1/posts/{post['reference']}/revision", headers=staff, json=body)
    assert revised.status_code == 200, revised.get_json()
    assert revised.get_json()["images"] == []


def test_a_consent_decision_takes_checklist_ids_written_with_a_decimal_point(
    client: FlaskClient,
    make_user: Callable[..., User],
    api_token: Callable[[User], dict[str, str]],
) -> None:
    start = clock.today() + dt.timedelta(days=3)
    asked = client.post(
        "/api/v1/consents",
        headers=api_token(make_user("staff")),
        json={
            "title": "Car park signs",
            "department": "Estates",
            "asset": "trust_logo",
            "purpose": "Signs.",
            "media": ["signage"],
            "audience": "Visitors",
            "partner_involved": False,
            "starts_on": start.isoformat(),
            "ends_on": (start + dt.timedelta(days=30)).isoformat(),
            "artwork": [{"filename": "sign.png", "content_base64": PIXEL}],
        },
    )
    assert asked.status_code == 201, asked.get_json()
    comms = api_token(make_user("comms"))
    items = client.get("/api/v1/consent-checklist", headers=comms).get_json()["items"]
    body = {
        "action": "approve",
        "checked": [float(item["id"]) for item in items if item["active"]],
    }
    assert request_schema("LogoConsentTransitionRequest").is_valid(body)
    decided = client.post(
        f"/api/v1/consents/{asked.get_json()['request_reference']}/transitions",
        headers=comms,
        json=body,
    )
    assert decided.status_code == 200, decided.get_json()
    assert decided.get_json()["status"] == "approved"
    assert all(check["checked"] for check in decided.get_json()["checklist"])


# --- the document's examples -----------------------------------------------------------------------


def test_every_example_in_the_document_fits_its_schema() -> None:
    """The examples a reader (or a tool) copies are requests the document itself allows."""
    for where, schema in _with_examples(document()):
        validator = jsonschema_rs.validator_for(schema, validate_formats=True)
        for example in schema["examples"]:
            assert validator.is_valid(example), (where, example)


def _with_examples(node: Any, where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        if isinstance(node.get("examples"), list) and "$ref" not in json.dumps(node):
            yield where, node
        for key, value in node.items():
            yield from _with_examples(value, f"{where}/{key}")
    elif isinstance(node, list):
        for n, value in enumerate(node):
            yield from _with_examples(value, f"{where}/{n}")
