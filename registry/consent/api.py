"""The consent API under ``/api/v1`` (policy 6.8): list, ask, read, decide, withdraw, resubmit.

The API speaks JSON like the rest of ``/api/v1``, so draft artwork travels inside the
JSON body as base64 (``artwork: [{filename, content_base64}]``); each file is checked by
its content exactly as a browser upload is. Base64 makes a file a third larger, so the
routes that take artwork allow a body of 4/3 of the upload size limit
(``REGISTRY_MAX_UPLOAD_MB``) plus the usual allowance for the other fields: files of up
to the limit, each and together, fit, as they do in the browser's form.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import jsonify, request, url_for
from werkzeug.datastructures import FileStorage

from registry import clock, db
from registry.api.openapi import (
    ERRORS_400,
    ERRORS_401,
    ERRORS_403,
    ERRORS_404,
    ERRORS_422,
    ERRORS_429,
    FILE_DOWNLOAD,
    NOT_TAKEN,
    NULLABLE_TEXT,
    TIMESTAMP,
    UPLOAD_ID_PARAM,
    _base64_file,
    _closed,
    _json,
    _nullable,
    _page_params,
    _paged,
    _problem,
    blank_or,
    branch,
    given,
    optional_text,
    or_null,
    query_text,
    required_text,
)
from registry.api.support import (
    base64_files,
    iso,
    json_response,
    page_json,
    room_for_base64,
)
from registry.api.views import _json_object, _query, _text_fields, _user, bp
from registry.auth.permissions import Permission, requires
from registry.consent import letter as letters
from registry.consent import services
from registry.consent.models import (
    LogoConsent,
    LogoConsentArtwork,
    LogoConsentCheck,
    LogoConsentStep,
)
from registry.consent.workflow import (
    DECISIONS,
    SHOWN_STATUSES,
    STATUS_LABELS,
    TRANSITIONS,
    Asset,
    ConsentStatus,
    Medium,
)
from registry.errors import Invalid
from registry.extensions import limiter
from registry.uploads import services as uploads
from registry.uploads.models import UploadType
from registry.web.pagination import page_args, paginate
from registry.web.throttle import API_PER_CLIENT

#: The longest value of each free-text query parameter; longer is refused with 422.
CONSENT_QUERY_LIMITS = {"q": 200}
ARTWORK_MAX_FILES = 20


# --- how a consent looks ------------------------------------------------------------------------


def consent_json(
    consent: LogoConsent,
    *,
    today: dt.date,
    history: list[LogoConsentStep] | None = None,
    artwork: list[LogoConsentArtwork] | None = None,
    checks: list[LogoConsentCheck] | None = None,
) -> dict[str, Any]:
    ref = consent.request_reference
    approved = consent.is_approved
    body: dict[str, Any] = {
        "request_reference": ref,
        "reference": consent.reference,
        "status": consent.shown_status(today),
        "status_label": consent.status_label_on(today),
        "title": consent.title,
        "department": consent.department,
        "asset": consent.asset,
        "media": [m.value for m in consent.media],
        "purpose": consent.purpose,
        "audience": consent.audience,
        "partner_involved": consent.partner_involved,
        "partner_name": consent.partner_name,
        "starts_on": iso(consent.starts_on),
        "ends_on": iso(consent.ends_on),
        "expires_on": iso(consent.expires_on),
        "conditions": consent.conditions,
        "decided_by": consent.decided_by.name if consent.decided_by else None,
        "decided_at": iso(consent.decided_at),
        "requested_by": {"name": consent.requester.name, "email": consent.requester.email},
        "created_at": iso(consent.created_at),
        "submitted_at": iso(consent.submitted_at),
        "updated_at": iso(consent.updated_at),
        "links": {
            "self": url_for("api.get_consent", reference=ref),
            "html": url_for("consent.detail", reference=ref),
            "letter": url_for("consent.letter", reference=ref) if approved else None,
            "letter_pdf": url_for("consent.letter_pdf", reference=ref)
            if approved and letters.pdf_available()
            else None,
        },
    }
    if history is not None:
        body["history"] = [
            {
                "action": step.action,
                "from_status": step.from_status,
                "to_status": step.to_status,
                "actor": step.actor.name,
                "occurred_at": iso(step.occurred_at),
                "note": step.note,
            }
            for step in history
        ]
    if artwork is not None:
        body["artwork"] = [
            {
                "id": a.upload_id,
                "name": a.upload.original_name,
                "content_type": a.upload.content_type,
                "size": a.upload.size,
                "sha256": a.upload.sha256,
                "current": a.is_current,
                "added_at": iso(a.added_at),
                "removed_at": iso(a.removed_at),
                "url": url_for("api.consent_artwork", reference=ref, upload_id=a.upload_id),
            }
            for a in artwork
        ]
    if checks is not None:
        body["checklist"] = [{"item_id": c.item_id, "text": c.item_text, "checked": c.checked} for c in checks]
    return body


def _full(consent: LogoConsent, status: int = 200):  # type: ignore[no-untyped-def]
    steps = services.history(consent)
    return json_response(
        consent_json(
            consent,
            today=clock.today(),
            history=steps,
            artwork=services.artwork_of(consent),
            checks=services.checks_of(services.last_decision(steps)),
        ),
        status,
    )


# --- reading the request body -------------------------------------------------------------------


def _artwork(body: dict[str, Any], field: str = "artwork") -> list[FileStorage]:
    """``[{filename, content_base64}]`` as files for the upload checks (none given: the service
    says whether artwork is needed, alongside any other mistakes)."""
    return base64_files(
        body,
        field,
        most=ARTWORK_MAX_FILES,
        too_many=f"Send at most {ARTWORK_MAX_FILES} files at once.",
        noun="File",
        example="draft-poster.png",
    )


def _ints(body: dict[str, Any], field: str) -> list[int]:
    value = body.get(field)
    if value is None:
        return []
    if isinstance(value, list):
        value = [int(v) if isinstance(v, float) and v.is_integer() else v for v in value]  # 3.0 is an integer
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise Invalid({field: f"{field} must be a list of whole numbers (ids)."})
    return value


def _date(body: dict[str, Any], name: str) -> dt.date | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise Invalid({name: f"{name} must be a date like 2027-03-31."})


# --- routes -------------------------------------------------------------------------------------


@bp.route("/consents")
@requires(Permission.CONSENT_REQUEST)
@limiter.limit(API_PER_CLIENT)
def list_consents():
    """Consent requests the caller may see: all for comms and auditors, one's own otherwise."""
    filters, (page, per_page) = _query(
        CONSENT_QUERY_LIMITS,
        lambda: services.ConsentFilters.parse(request.args, strict=True),
        lambda: page_args(25, strict=True),
    )
    today = clock.today()
    result = paginate(db.session(), services.search(filters, _user(), today=today), page, per_page)
    return jsonify(page_json(result, [consent_json(c, today=today) for c in result.items]))


@bp.route("/consents", methods=["POST"])
@requires(Permission.CONSENT_REQUEST)
@limiter.limit(API_PER_CLIENT)
def create_consent():
    room_for_base64()
    body = _json_object()
    data = services.ConsentRequest.from_mapping(body)
    consent = services.request_consent(data, _artwork(body), _user())
    response = _full(consent, 201)
    response.headers["Location"] = url_for("api.get_consent", reference=consent.request_reference)
    return response


@bp.route("/consents/<reference>")
@requires(Permission.CONSENT_REQUEST)
@limiter.limit(API_PER_CLIENT)
def get_consent(reference: str):
    return _full(services.visible_consent(reference, _user()))


@bp.route("/consents/<reference>/decision", methods=["POST"])
@requires(Permission.CONSENT_DECIDE)
@limiter.limit(API_PER_CLIENT)
def decide_consent(reference: str):
    consent = services.visible_consent(reference, _user())
    body = _json_object()
    fields = _text_fields(body, ("decision", "note", "conditions"))
    checked = _ints(body, "checked")
    expires_on = _date(body, "expires_on")
    consent = services.decide(
        consent,
        fields["decision"] or "",
        _user(),
        note=fields["note"],
        conditions=fields["conditions"],
        expires_on=expires_on,
        checked=checked,
    )
    return _full(consent)


@bp.route("/consents/<reference>/withdrawal", methods=["POST"])
@requires(Permission.CONSENT_REQUEST)
@limiter.limit(API_PER_CLIENT)
def withdraw_consent(reference: str):
    consent = services.visible_consent(reference, _user())
    fields = _text_fields(_json_object(), ("note",))
    return _full(services.withdraw(consent, _user(), note=fields["note"]))


@bp.route("/consents/<reference>/resubmission", methods=["POST"])
@requires(Permission.CONSENT_REQUEST)
@limiter.limit(API_PER_CLIENT)
def resubmit_consent(reference: str):
    """The requester changes what comms asked about (fields not given stay as they are) and resubmits."""
    room_for_base64()
    consent = services.visible_consent(reference, _user())
    body = _json_object()
    data = services.ConsentRequest.from_mapping(body, base=services.ConsentRequest.of(consent))
    note = _text_fields(body, ("note",))["note"]
    consent = services.resubmit(
        consent,
        data,
        _user(),
        add_artwork=_artwork(body),
        remove_artwork=_ints(body, "remove_artwork"),
        note=note,
    )
    return _full(consent)


@bp.route("/consents/<reference>/artwork/<int(max=2147483647):upload_id>")
@requires(Permission.CONSENT_REQUEST)
@limiter.limit(API_PER_CLIENT)
def consent_artwork(reference: str, upload_id: int):
    """One artwork file of the request, as a download."""
    consent = services.visible_consent(reference, _user())
    return uploads.send(services.artwork_file(consent, upload_id))


@bp.route("/consent-checklist")
@requires(Permission.CONSENT_REQUEST)
@limiter.limit(API_PER_CLIENT)
def consent_checklist():
    """The NHS identity checklist comms check artwork against (ids for a decision's ``checked``)."""
    return jsonify(
        {
            "items": [
                {"id": item.id, "text": item.text, "position": item.position, "active": item.is_active}
                for item in services.checklist()
            ]
        }
    )


# --- the OpenAPI document -----------------------------------------------------------------------

REFERENCE = {
    "name": "reference",
    "in": "path",
    "required": True,
    "description": "The request reference (LCR-0042) or, once approved, the consent reference (LC-2026-0042).",
    "schema": {"type": "string", "maxLength": 40, "examples": ["LCR-0001", "LC-2026-0001"]},
}
DATE = {"type": "string", "format": "date"}
#: A PNG of one pixel in NHS blue: artwork the upload checks accept.
ARTWORK_EXAMPLE = {
    "filename": "poster.png",
    "content_base64": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR42mNgiNsBAAF4ARd5aW+TAAAAAElFTkSuQmCC",
}
SIZE_NOTE = (
    "Each file, and all the files together, may be up to the upload size limit (REGISTRY_MAX_UPLOAD_MB, "
    "10 MB unless configured otherwise) before base64 encoding: the request body may be 4/3 of the "
    "limit plus 512 KB, room for the files base64-encoded and the other fields."
)
TOO_BIG = (
    "The body is larger than 4/3 of the upload size limit plus 512 KB: the files, before base64 "
    "encoding, add up to more than the upload size limit (10 MB unless configured otherwise)."
)


def openapi_schemas() -> dict[str, Any]:
    assets = [a.value for a in Asset]
    media = [m.value for m in Medium]
    artwork_file = _base64_file("The file itself: a PNG, JPEG, GIF or WebP image, or a PDF.")
    artwork_file["examples"] = [ARTWORK_EXAMPLE]
    limits = services.LIMITS
    request_properties: dict[str, Any] = {
        "title": required_text(limits["title"], examples=["Flu campaign poster"]),
        "department": required_text(limits["department"], examples=["Pharmacy"]),
        "asset": {"type": "string", "enum": assets},
        "purpose": required_text(limits["purpose"], examples=["Posters for the staff flu campaign."]),
        "media": {
            "type": "array",
            "minItems": 1,
            "items": {"type": "string", "enum": media},
            "description": "Where it will appear; a medium named twice counts once.",
        },
        "audience": required_text(limits["audience"], examples=["Staff and visitors"]),
        "partner_involved": {"type": "boolean"},
        "partner_name": optional_text(
            description=f"Required when partner_involved is true (at most "
            f"{limits['partner_name']} characters); not read otherwise."
        ),
        "starts_on": {**DATE, "description": f"Today or later, and within {services.START_WITHIN_YEARS} years."},
        "ends_on": {
            **DATE,
            "description": f"On or after starts_on, and at most {services.PERIOD_MAX_YEARS} years after it.",
        },
    }
    changed_properties: dict[str, Any] = {
        **{
            name: {**request_properties[name], "type": ["string", "null"]}
            for name in ("title", "department", "purpose", "audience")
        },
        "asset": {"type": ["string", "null"], "enum": [*assets, None]},
        "media": {**request_properties["media"], "type": ["array", "null"]},
        "partner_involved": {"type": ["boolean", "null"]},
        "partner_name": optional_text(
            description=f"Required when the request names a partner (at most {limits['partner_name']} characters)."
        ),
        "starts_on": or_null(DATE, description=f"Today or later, and within {services.START_WITHIN_YEARS} years."),
        "ends_on": or_null(
            DATE, description=f"On or after the start date, and at most {services.PERIOD_MAX_YEARS} years after it."
        ),
    }
    return {
        "LogoConsent": _closed(
            {
                "request_reference": {"type": "string", "pattern": "^LCR-[0-9]+$"},
                "reference": {
                    "type": ["string", "null"],
                    "pattern": "^LC-[0-9]{4}-[0-9]{4,}$",
                    "description": "The consent reference, given on approval.",
                },
                "status": {
                    "type": "string",
                    "enum": list(SHOWN_STATUSES),
                    "description": "`expired` once an approval's expiry date has passed.",
                },
                "status_label": {"type": "string", "enum": list(STATUS_LABELS.values())},
                "title": {"type": "string"},
                "department": {"type": "string"},
                "asset": {"type": "string", "enum": assets},
                "media": {"type": "array", "items": {"type": "string", "enum": media}},
                "purpose": {"type": "string"},
                "audience": {"type": "string"},
                "partner_involved": {"type": "boolean"},
                "partner_name": NULLABLE_TEXT,
                "starts_on": DATE,
                "ends_on": DATE,
                "expires_on": _nullable(DATE),
                "conditions": NULLABLE_TEXT,
                "decided_by": NULLABLE_TEXT,
                "decided_at": _nullable(TIMESTAMP),
                "requested_by": _closed({"name": {"type": "string"}, "email": {"type": "string"}}),
                "created_at": TIMESTAMP,
                "submitted_at": TIMESTAMP,
                "updated_at": TIMESTAMP,
                "links": _closed(
                    {
                        "self": {"type": "string"},
                        "html": {"type": "string"},
                        "letter": {
                            "type": ["string", "null"],
                            "description": "The printable consent letter, once approved.",
                        },
                        "letter_pdf": {
                            "type": ["string", "null"],
                            "description": "The letter as a PDF, where the server has the PDF dependency.",
                        },
                    }
                ),
                "history": {
                    "type": "array",
                    "description": "Every step, oldest first (only on a single request).",
                    "items": _closed(
                        {
                            "action": {"type": "string"},
                            "from_status": {"type": ["string", "null"]},
                            "to_status": {"type": "string", "enum": [s.value for s in ConsentStatus]},
                            "actor": {"type": "string"},
                            "occurred_at": TIMESTAMP,
                            "note": NULLABLE_TEXT,
                        }
                    ),
                },
                "artwork": {
                    "type": "array",
                    "description": "Every artwork file, current first, then removed ones (only on a single request).",
                    "items": _closed(
                        {
                            "id": {"type": "integer", "minimum": 1},
                            "name": {"type": "string"},
                            "content_type": {"type": "string", "enum": [t.value for t in UploadType]},
                            "size": {"type": "integer", "minimum": 1},
                            "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                            "current": {"type": "boolean"},
                            "added_at": TIMESTAMP,
                            "removed_at": _nullable(TIMESTAMP),
                            "url": {"type": "string"},
                        }
                    ),
                },
                "checklist": {
                    "type": "array",
                    "description": "What the last decision recorded against the NHS identity checklist "
                    "(only on a single request; empty before a decision).",
                    "items": _closed(
                        {"item_id": {"type": "integer"}, "text": {"type": "string"}, "checked": {"type": "boolean"}}
                    ),
                },
            },
            optional=("history", "artwork", "checklist"),
            description="A request to use the Trust logo or the NHS lozenge, and the consent once approved.",
        ),
        "LogoConsentRequest": {
            "type": "object",
            "required": [
                "title",
                "department",
                "asset",
                "purpose",
                "media",
                "audience",
                "partner_involved",
                "starts_on",
                "ends_on",
                "artwork",
            ],
            "properties": {
                **request_properties,
                "artwork": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": ARTWORK_MAX_FILES,
                    "items": artwork_file,
                    "description": "The draft artwork, each file checked by its content. " + SIZE_NOTE,
                },
            },
            "anyOf": [
                branch(
                    "partner_involved",
                    [True],
                    needs=["partner_name"],
                    partner_name=given({"maxLength": limits["partner_name"]}),
                ),
                branch("partner_involved", [False]),
            ],
        },
        "LogoConsentResubmission": {
            "type": "object",
            "description": "Only the fields given (not null) change; the request as changed must still "
            "meet every rule of a new one, and goes back to the communications team.",
            "properties": {
                **changed_properties,
                "artwork": {
                    "type": ["array", "null"],
                    "maxItems": ARTWORK_MAX_FILES,
                    "items": artwork_file,
                    "description": "Artwork to add. At least one piece must remain or be added. " + SIZE_NOTE,
                },
                "remove_artwork": {
                    "type": ["array", "null"],
                    "items": {"type": "integer"},
                    "description": "Ids of current artwork to take off the request.",
                },
                "note": optional_text(services.NOTE_MAX),
            },
        },
        "LogoConsentDecision": {
            "type": "object",
            "required": ["decision"],
            "properties": {
                "decision": {"type": "string", "enum": [a.value for a in DECISIONS]},
                "note": optional_text(
                    services.NOTE_MAX, description="Required for request_changes (what to change) and reject (why)."
                ),
                "conditions": optional_text(
                    services.CONDITIONS_MAX, description="Required for approve_with_conditions, and only for it."
                ),
                "expires_on": or_null(
                    DATE,
                    description="Approvals only. Default: the end of the use; not before it, "
                    f"nor before today, and at most {services.EXPIRY_AFTER_END_MAX_YEARS} "
                    "years after it.",
                ),
                "checked": {
                    "type": ["array", "null"],
                    "items": {"type": "integer"},
                    "description": "Ids of the current checklist items the artwork meets; approve needs them all.",
                },
            },
            "anyOf": [
                branch(
                    "decision",
                    [t.action.value],
                    needs=[*(["note"] if t.note_required else []), *(["conditions"] if t.conditions_required else [])],
                    **({"note": given({})} if t.note_required else {}),
                    conditions=given({}) if t.conditions_required else NOT_TAKEN,
                    **({} if t.approves else {"expires_on": {"type": "null"}}),
                )
                for t in (TRANSITIONS[action] for action in DECISIONS)
            ],
        },
        "LogoConsentWithdrawal": {
            "type": "object",
            "properties": {"note": optional_text(services.NOTE_MAX)},
        },
        "ConsentChecklistItem": _closed(
            {
                "id": {"type": "integer", "minimum": 1},
                "text": {"type": "string"},
                "position": {"type": "integer"},
                "active": {"type": "boolean"},
            }
        ),
    }


def openapi_paths() -> dict[str, Any]:
    bearer = [{"bearerAuth": []}]
    consent = {"$ref": "#/components/schemas/LogoConsent"}
    shown = _json(consent, "The request with its history, artwork and last checklist.")

    def post(operation: str, summary: str, schema: str, responses: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {
            "operationId": operation,
            "summary": summary,
            "security": bearer,
            "parameters": [REFERENCE],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
            },
            "responses": {
                "200": shown,
                "400": ERRORS_400,
                "401": ERRORS_401,
                "403": ERRORS_403,
                "404": ERRORS_404,
                **responses,
                "422": ERRORS_422,
                "429": ERRORS_429,
            },
            **extra,
        }

    return {
        "/api/v1/consents": {
            "get": {
                "operationId": "listConsents",
                "summary": "Logo and lozenge consent requests: all for comms and auditors, one's own for others.",
                "security": bearer,
                "parameters": [
                    {
                        "name": "q",
                        "in": "query",
                        "schema": query_text(CONSENT_QUERY_LIMITS["q"]),
                        "description": "Text in the title, purpose, department, partner or requester, or a reference.",
                    },
                    {
                        "name": "status",
                        "in": "query",
                        "schema": blank_or(SHOWN_STATUSES),
                        "description": "Empty means any. `approved` excludes expired approvals.",
                    },
                    {
                        "name": "asset",
                        "in": "query",
                        "schema": blank_or(a.value for a in Asset),
                        "description": "`trust_logo` and `nhs_lozenge` include requests for both.",
                    },
                    {"name": "medium", "in": "query", "schema": blank_or(m.value for m in Medium)},
                    {
                        "name": "expiring_soon",
                        "in": "query",
                        "schema": blank_or(["true", "false"]),
                        "description": f"`true`: approvals expiring within {services.EXPIRING_SOON_DAYS} days.",
                    },
                    *_page_params(25),
                ],
                "responses": {
                    "200": _json(_paged("#/components/schemas/LogoConsent"), "A page of requests, newest first."),
                    "401": ERRORS_401,
                    "403": ERRORS_403,
                    "422": ERRORS_422,
                    "429": ERRORS_429,
                },
            },
            "post": {
                "operationId": "requestConsent",
                "summary": "Ask for consent to use the Trust logo or the NHS lozenge, with the draft artwork.",
                "security": bearer,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LogoConsentRequest"}}},
                },
                "responses": {
                    "201": {
                        **_json(consent, "The request, waiting for a decision."),
                        "headers": {"Location": {"required": True, "schema": {"type": "string"}}},
                    },
                    "400": ERRORS_400,
                    "401": ERRORS_401,
                    "403": ERRORS_403,
                    "413": _problem(TOO_BIG),
                    "422": ERRORS_422,
                    "429": ERRORS_429,
                },
            },
        },
        "/api/v1/consents/{reference}": {
            "get": {
                "operationId": "getConsent",
                "summary": "One request, with its history, artwork and last checklist (404 if not the caller's).",
                "security": bearer,
                "parameters": [REFERENCE],
                "responses": {"200": shown, "401": ERRORS_401, "403": ERRORS_403, "404": ERRORS_404, "429": ERRORS_429},
            }
        },
        "/api/v1/consents/{reference}/decision": {
            "post": post(
                "decideConsent",
                "Approve (with or without conditions), ask for changes or reject (comms).",
                "LogoConsentDecision",
                {"409": _problem("The request is not waiting for a decision, or the caller made it (four-eyes rule).")},
            )
        },
        "/api/v1/consents/{reference}/withdrawal": {
            "post": post(
                "withdrawConsent",
                "Withdraw one's own request while it is undecided or waiting for changes.",
                "LogoConsentWithdrawal",
                {"409": _problem("The request has been decided or withdrawn already.")},
            )
        },
        "/api/v1/consents/{reference}/resubmission": {
            "post": post(
                "resubmitConsent",
                "Change one's own request as comms asked and send it back for a decision.",
                "LogoConsentResubmission",
                {"409": _problem("The request is not waiting for the requester's changes."), "413": _problem(TOO_BIG)},
            )
        },
        "/api/v1/consents/{reference}/artwork/{upload_id}": {
            "get": {
                "operationId": "getConsentArtwork",
                "summary": "One artwork file of a request the caller may see, as a download.",
                "security": bearer,
                "parameters": [REFERENCE, UPLOAD_ID_PARAM],
                "responses": {
                    "200": FILE_DOWNLOAD,
                    "401": ERRORS_401,
                    "403": ERRORS_403,
                    "404": ERRORS_404,
                    "429": ERRORS_429,
                },
            }
        },
        "/api/v1/consent-checklist": {
            "get": {
                "operationId": "getConsentChecklist",
                "summary": "The NHS identity checklist comms check artwork against; retired items last.",
                "security": bearer,
                "responses": {
                    "200": _json(
                        _closed(
                            {"items": {"type": "array", "items": {"$ref": "#/components/schemas/ConsentChecklistItem"}}}
                        ),
                        "The checklist.",
                    ),
                    "401": ERRORS_401,
                    "403": ERRORS_403,
                    "429": ERRORS_429,
                },
            }
        },
    }
