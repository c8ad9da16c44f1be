"""The OpenAPI document at ``/api/v1/openapi.json`` is valid, complete, and true.

Valid: it passes the OpenAPI 3.1 meta-schema and every JSON Schema in it is a
valid 2020-12 schema. Complete: it lists exactly the routes under ``/api/v1``.
True: schemathesis generates requests from it (valid and deliberately invalid),
sends them to the app in-process, and checks each response against it.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import fnmatch
import io
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from PIL import Image
from schemathesis.specs.openapi.schemas import OpenApiSchema
from werkzeug.datastructures import FileStorage

from registry import clock, db
from registry.api.openapi import document
from registry.auth.models import User
from registry.channels.models import Channel
from registry.consent import services as consents
from registry.media import services as media_contacts
from registry.monitoring import services as monitoring
from registry.posts import services as posts

OPENAPI_PATH = "/api/v1/openapi.json"
STATUSES = ("requested", "info_requested", "approved", "active", "suspended", "retired", "rejected", "withdrawn")

#: Enough examples per operation to reach every status code the document lists,
#: few enough that each database leg stays well under 30 s.
EXAMPLES = settings(
    max_examples=15,
    deadline=None,
    # One app (one rolled-back transaction) serves every example of a test, on purpose:
    # channels created by one request are there for the next.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

#: Checks (schemathesis 4 enables every built-in check by default); all run except:
#: - positive_data_acceptance, which expects every schema-valid request to succeed. Here
#:   many cannot, by design: a handle must fit its platform's grammar and must not be held
#:   by another live channel, a reason is required for some actions only, and the channel's
#:   state decides whether an action is allowed (409). JSON Schema cannot express these
#:   rules; test_api.py checks each refusal and its message instead.
CHECKS = {"positive_data_acceptance": {"enabled": False}}

#: What positive_data_acceptance cannot be told, by operation: the rules the document states only in
#: words, because JSON Schema cannot (dates relative to today, a handle's grammar on its platform,
#: records in the Registry, a file's content). A request the document calls valid may be refused with
#: 422 naming one of these fields (fnmatch patterns), and for nothing else: every other rule the server
#: enforces must be in the schemas, so the document is never looser than the server.
RULES_IN_WORDS: dict[str, dict[str, str]] = {
    "verify": {
        "url": "must be a web address of an account on a platform the Registry knows",
        "platform": "required with a handle",
        "handle": "required without a url; must fit the platform's grammar",
    },
    "requestChannel": {"handle": "must fit the platform's grammar and not be held by another live channel"},
    "transitionChannel": {
        "handle": "with activate: must fit the platform's grammar and not be held by another live channel",
        "url": "with activate: likewise",
    },
    "grantRole": {
        "email": "e-mail-validator's rules; not a user who has left; not a person already holding the role",
        "name": "required unless the e-mail address is a Registry user's",
        "organisation": "required unless the e-mail address is a Registry user's",
        "expires_on": "after today",
    },
    "requestConsent": {
        "starts_on": "today or later, within two years",
        "ends_on": "on or after starts_on, within five years of it",
        "artwork": "each file's content must be an image or a PDF without active content",
    },
    "resubmitConsent": {
        "starts_on": "as for a new request, with the request's other dates",
        "ends_on": "as for a new request, with the request's other dates",
        "partner_name": "required when the request (as changed) names a partner",
        "artwork": "each file's content; at least one piece must remain or be added",
        "remove_artwork": "ids of the request's current artwork",
    },
    "transitionConsent": {
        "checked": "ids of the current checklist; approve needs every one",
        "expires_on": "not before the end of the use or today, at most two years after the use",
    },
    "logMediaContact": {
        "contacted_at": "not in the future, within the last year",
        "deadline_at": "after contacted_at, within a year of it",
        "link": "an http(s) address on a real site name",
        "screenshots": "each file's content",
    },
    "proposePost": {
        "channels": "references of active channels",
        "text": "at most the strictest chosen platform's limit",
        "wished_for": "today or later",
        "consent_location": "required when the text names someone",
        "images.*.content_base64": "each image's content",
    },
    "revisePost": {
        "channels": "references of active channels",
        "text": "at most the strictest chosen platform's limit",
        "wished_for": "today or later",
        "consent_location": "required when the post as changed has images or names someone",
        "images": "at most four with those kept; ids of the post's images",
        "images.*.content_base64": "each image's content",
        "remove_images": "ids of the post's images",
        "alt_texts.*": "ids of the post's images",
    },
    "transitionPost": {
        "scheduled_for": "with schedule: in the future",
        "urls": "with publish: the references of the post's channels, every one of them",
        "urls.*": "with publish: an address on that channel's platform (and account)",
    },
}


class Isolated:
    """The app as WSGI, each request in a fresh context, as a production worker runs it.

    The test holds an app context (for its fixtures); without this, requests sent
    by schemathesis would share its ``g`` and so its signed-in user.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        return contextvars.Context().run(self.app, environ, start_response)


@pytest.fixture(autouse=True)
def _schemathesis_node_id(request: pytest.FixtureRequest) -> None:
    """schemathesis 4.32's lazy schemas read ``node._nodeid``, which pytest 9 no longer has."""
    request.node._nodeid = request.node.nodeid


@pytest.fixture
def seeded(make_channel: Callable[..., Channel], make_user: Callable[..., User]) -> list[str]:
    """Channels in every status on several platforms, an unauthorised account, promotional posts,
    logo consents and media contacts in several states, so that generated requests find real
    records; returns the channels', posts', consents' and media contacts' references."""
    channels = [
        make_channel(status, platform=platform, handle=f"trust{n}_{status[:6]}")
        for n, platform in enumerate(("x", "instagram"))
        for status in STATUSES
    ]
    references = [channel.reference for channel in channels]
    staff, comms = make_user("staff"), make_user("comms")
    monitoring.record_finding(
        platform="x", url="https://x.com/fake_trust", evidence="Uses the Trust's logo.", found_on=None, actor=comms
    )
    live = [channel.reference for channel in channels if channel.status == "active"][:1]
    for n, path in enumerate(([], ["approve"], ["approve", "schedule"], ["request_changes"], ["reject"])):
        post = posts.propose(
            posts.PostProposal(
                text=f"Flu clinic {n}" + (" NHS number 943 476 5919" if n == 0 else ""),
                channels=live,
                wished_for=clock.today() + dt.timedelta(days=1),
                reason="Why",
                consent_confirmed=True,
            ),
            staff,
        )
        for step in path:
            posts.transition(
                post,
                step,
                comms,
                reason="Because",
                scheduled_for=db.utcnow() + dt.timedelta(days=3) if step == "schedule" else None,
            )
        references.append(post.reference)
    start = clock.today() + dt.timedelta(days=7)
    for decision in (None, "approve", "request_changes", "reject"):
        artwork = io.BytesIO()
        Image.new("RGB", (24, 16), (0, 94, 184)).save(artwork, "PNG")
        artwork.seek(0)
        consent = consents.request_consent(
            consents.ConsentRequest(
                title="Flu leaflet",
                department="Pharmacy",
                asset="nhs_lozenge",
                purpose="Flu clinics.",
                media=("print",),
                audience="Staff",
                partner_involved=False,
                starts_on=start,
                ends_on=start,
            ),
            [FileStorage(stream=artwork, filename="flu.png")],
            staff,
        )
        if decision:
            consents.decide(
                consent, decision, comms, note="Because", checked=[i.id for i in consents.active_checklist()]
            )
        references.append(consent.request_reference)
    for action in (None, "acknowledge"):
        contact = media_contacts.log_approach(
            media_contacts.Approach(
                platform="x",
                contacted_at=db.utcnow() - dt.timedelta(hours=1),
                enquiry="Asked why.",
                link="https://x.com/messages/1",
                not_responded=True,
            ),
            [],
            staff,
        )
        if action:
            media_contacts.triage(contact, action, comms)
        references.append(contact.reference)
    db.session().commit()
    return references


def _config(references: list[str], token: str | None = None) -> schemathesis.Config:
    settings_: dict[str, Any] = {
        "seed": 2026,
        "generation": {"mode": "all"},
        "checks": CHECKS,
        # Most generated references are real channels, posts, consents or media contacts; the rest exercise 404.
        "dictionaries": {"references": {"values": references}},
        "parameters": {"path.reference": {"dictionary": "references", "probability": 0.8}},
    }
    if token is not None:
        settings_["auth"] = {"openapi": {"bearerAuth": {"bearer": token}}}
    return schemathesis.Config.from_dict(settings_)


@pytest.fixture
def comms_schema(
    app: Flask, seeded: list[str], make_user: Callable[..., User], api_token: Callable[[User], dict[str, str]]
) -> OpenApiSchema:
    """The served document, loaded through the app, calling it with a comms user's token."""
    token = api_token(make_user("comms"))["Authorization"].removeprefix("Bearer ")
    return schemathesis.openapi.from_wsgi(OPENAPI_PATH, Isolated(app), config=_config(seeded, token))


@pytest.fixture
def anonymous_schema(app: Flask, seeded: list[str]) -> OpenApiSchema:
    """The served document, calling the app with no credentials at all."""
    return schemathesis.openapi.from_wsgi(OPENAPI_PATH, Isolated(app), config=_config(seeded))


AS_COMMS = schemathesis.pytest.from_fixture("comms_schema")
AS_ANYONE = schemathesis.pytest.from_fixture("anonymous_schema").include(
    operation_id=["verify", "directory", "openapi"]
)


def refused_only_for_rules_in_words(case: schemathesis.Case, response: Any) -> None:
    """A request the document calls valid is never refused as malformed (400), and is refused with 422
    only for fields whose rules the document states in words (``RULES_IN_WORDS``)."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    operation = case.operation.definition.raw["operationId"]
    assert response.status_code != 400, f"{case.operation.label} refused a request its schema allows: {response.text}"
    if response.status_code == 422:
        allowed = RULES_IN_WORDS.get(operation, {})
        refused = response.json().get("errors", {})
        unstated = {
            field: message
            for field, message in refused.items()
            if not any(fnmatch.fnmatchcase(field, pattern) for pattern in allowed)
        }
        assert not unstated, (
            f"{case.operation.label}: the document calls this request valid, but the server refused "
            f"{unstated}. Put the rule in the schema (or, if JSON Schema cannot say it, in its description "
            f"and RULES_IN_WORDS)."
        )


@AS_COMMS.parametrize()
@EXAMPLES
def test_the_api_behaves_as_documented_for_comms(case: schemathesis.Case) -> None:
    """Every operation, with valid and invalid input, answers as the document says: no 500,
    only documented statuses, media types, headers and bodies; invalid input refused, and
    valid input refused only for a rule the document states; no secured operation answers
    without the token."""
    refused_only_for_rules_in_words(case, case.call_and_validate())


@AS_ANYONE.parametrize()
@EXAMPLES
def test_the_public_api_behaves_as_documented_for_anyone(case: schemathesis.Case) -> None:
    """Verification, the directory and the document itself work, as documented, for someone not signed in."""
    refused_only_for_rules_in_words(case, case.call_and_validate())


def test_document_is_valid_openapi_3_1() -> None:
    doc = document()
    assert doc["openapi"].startswith("3.1.")
    schemathesis.openapi.from_dict(doc).validate()
    for where, schema in _json_schemas(doc):
        assert jsonschema_rs.meta.is_valid(schema), where


def _json_schemas(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every JSON Schema in the document: components, parameters, bodies, responses, headers."""
    for name, schema in doc["components"]["schemas"].items():
        yield f"components.schemas.{name}", schema
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                yield f"{where} parameter {parameter['name']}", parameter["schema"]
            for media in operation.get("requestBody", {}).get("content", {}).values():
                yield f"{where} request body", media["schema"]
            for status, response in operation["responses"].items():
                for media in response.get("content", {}).values():
                    yield f"{where} {status}", media["schema"]
                for header, spec in response.get("headers", {}).items():
                    yield f"{where} {status} header {header}", spec["schema"]


def test_document_lists_exactly_the_api_routes(app: Flask) -> None:
    """Each route under /api/v1 is documented with its methods, and the document lists nothing else."""
    served = {
        (re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }
    documented = {(path, method) for path, item in document()["paths"].items() for method in item}
    assert documented == served


def test_served_document_is_the_document(client: FlaskClient) -> None:
    """The endpoint serves the document the tests check, to anyone."""
    response = client.get(OPENAPI_PATH)
    assert response.status_code == 200
    assert response.get_json() == document()


def test_every_operation_documents_its_refusals() -> None:
    """A client can rely on problem+json for every refusal the API can give."""
    for path, item in document()["paths"].items():
        for method, operation in item.items():
            if operation.get("security") != []:
                assert {"401", "403", "429"} <= set(operation["responses"]), (method, path)
            if method == "post":
                assert {"400", "422"} <= set(operation["responses"]), (method, path)
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    assert list(response["content"]) == ["application/problem+json"], (method, path, status)


def test_an_undocumented_response_field_would_fail_the_conformance_check(
    client: FlaskClient,
    make_channel: Callable[..., Channel],
    make_user: Callable[..., User],
    api_token: Callable[[User], dict[str, str]],
) -> None:
    """Response objects are closed: were a secret (or any field not in the document) added to
    a channel, response_schema_conformance would fail."""
    reference = make_channel("active").reference
    body = client.get(f"/api/v1/channels/{reference}", headers=api_token(make_user("comms"))).get_json()
    doc = document()
    validator = jsonschema_rs.validator_for(doc["components"]["schemas"]["Channel"])
    assert validator.is_valid(body)
    assert not validator.is_valid({**body, "password": "hunter2"})
    assert not validator.is_valid({**body, "requested_by": {**body["requested_by"], "password_hash": "x"}})
