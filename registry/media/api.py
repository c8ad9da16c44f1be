"""The media contact API under ``/api/v1`` (policy 8.1): list, log, read, triage, screenshots.

Screenshots travel inside the JSON body as base64 (``screenshots: [{filename,
content_base64}]``) and are checked by their content exactly as a browser upload is; the
routes that take them allow a body of 4/3 of the upload size limit plus the usual allowance.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request, url_for
from werkzeug.datastructures import FileStorage

from registry import db
from registry.api.openapi import (
    DATE_TIME,
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
from registry.channels.platforms import Platform
from registry.extensions import limiter
from registry.media import services
from registry.media.models import (
    JOURNALIST_MAX,
    LINK_MAX,
    OUTLET_MAX,
    MediaContact,
    MediaContactStep,
)
from registry.media.workflow import (
    ACTIONS,
    FILTER_VALUES,
    NOTE,
    TRANSITIONS,
    MediaContactStatus,
    Need,
)
from registry.uploads import services as uploads
from registry.uploads.models import UploadType
from registry.web.pagination import page_args, paginate
from registry.web.throttle import API_PER_CLIENT

QUERY_LIMITS = {"q": 200}


# --- how an approach looks ------------------------------------------------------------------------


def contact_json(
    contact: MediaContact,
    *,
    everyone: bool,
    history: list[MediaContactStep] | None = None,
    evidence: list[Any] | None = None,
) -> dict[str, Any]:
    """An approach as ``everyone`` (comms, auditors) or its reporter sees it: the reporter
    gets no notes of the team's."""
    ref = contact.reference
    body: dict[str, Any] = {
        "reference": ref,
        "status": contact.status,
        "status_label": contact.status_label,
        "platform": contact.platform,
        "platform_label": contact.platform_label,
        "outlet": contact.outlet,
        "journalist": contact.journalist,
        "contacted_at": iso(contact.contacted_at),
        "deadline_at": iso(contact.deadline_at),
        "enquiry": contact.enquiry,
        "link": contact.link,
        "no_response_confirmed_at": iso(contact.no_response_confirmed_at),
        "advice": contact.advice,
        "advised_at": iso(contact.advised_at),
        "advised_by": contact.advised_by.name if contact.advised_by else None,
        "reported_by": {"name": contact.reporter.name, "email": contact.reporter.email},
        "created_at": iso(contact.created_at),
        "updated_at": iso(contact.updated_at),
        "status_changed_at": iso(contact.status_changed_at),
        "closed_at": iso(contact.closed_at),
        "links": {
            "self": url_for("api.get_media_contact", reference=ref),
            "html": url_for("media.detail", reference=ref),
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
                "advice": step.advice,
                "note": step.note if everyone else None,
            }
            for step in history
        ]
    if evidence is not None:
        body["screenshots"] = [
            {
                "id": e.upload_id,
                "name": e.upload.original_name,
                "content_type": e.upload.content_type,
                "size": e.upload.size,
                "sha256": e.upload.sha256,
                "added_at": iso(e.added_at),
                "url": url_for("api.media_contact_screenshot", reference=ref, upload_id=e.upload_id),
            }
            for e in evidence
        ]
    return body


def _full(contact: MediaContact, status: int = 200):  # type: ignore[no-untyped-def]
    user = _user()
    return json_response(
        contact_json(
            contact,
            everyone=services.sees_everything(user),
            history=services.history(contact, user),
            evidence=services.evidence_of(contact),
        ),
        status,
    )


# --- reading the request body ---------------------------------------------------------------------


def _screenshots(body: dict[str, Any]) -> list[FileStorage]:
    """``[{filename, content_base64}]`` as files for the upload checks."""
    return base64_files(
        body,
        "screenshots",
        most=services.MAX_SCREENSHOTS,
        too_many=f"Send at most {services.MAX_SCREENSHOTS} screenshots.",
        noun="Screenshot",
        example="message.png",
    )


# --- routes ---------------------------------------------------------------------------------------


@bp.route("/media-contacts")
@requires(Permission.MEDIA_CONTACT_REPORT)
@limiter.limit(API_PER_CLIENT)
def list_media_contacts():
    """Approaches the caller may see: all for comms and auditors, one's own otherwise."""
    filters, (page, per_page) = _query(
        QUERY_LIMITS,
        lambda: services.MediaFilters.parse(request.args, strict=True),
        lambda: page_args(25, strict=True),
    )
    user = _user()
    everyone = services.sees_everything(user)
    result = paginate(db.session(), services.search(filters, user), page, per_page)
    return jsonify(page_json(result, [contact_json(c, everyone=everyone) for c in result.items]))


@bp.route("/media-contacts", methods=["POST"])
@requires(Permission.MEDIA_CONTACT_REPORT)
@limiter.limit(API_PER_CLIENT)
def create_media_contact():
    room_for_base64()
    body = _json_object()
    data = services.Approach.from_mapping(body)
    contact = services.log_approach(data, _screenshots(body), _user())
    response = _full(contact, 201)
    response.headers["Location"] = url_for("api.get_media_contact", reference=contact.reference)
    return response


@bp.route("/media-contacts/<reference>")
@requires(Permission.MEDIA_CONTACT_REPORT)
@limiter.limit(API_PER_CLIENT)
def get_media_contact(reference: str):
    return _full(services.visible_contact(reference, _user()))


@bp.route("/media-contacts/<reference>/triage", methods=["POST"])
@requires(Permission.MEDIA_CONTACT_TRIAGE)
@limiter.limit(API_PER_CLIENT)
def triage_media_contact(reference: str):
    contact = services.visible_contact(reference, _user())
    fields = _text_fields(_json_object(), ("action", "advice", "note"))
    contact = services.triage(contact, fields["action"] or "", _user(), advice=fields["advice"], note=fields["note"])
    return _full(contact)


@bp.route("/media-contacts/<reference>/screenshots/<int(max=2147483647):upload_id>")
@requires(Permission.MEDIA_CONTACT_REPORT)
@limiter.limit(API_PER_CLIENT)
def media_contact_screenshot(reference: str, upload_id: int):
    """One screenshot of an approach the caller may see, as a download."""
    contact = services.visible_contact(reference, _user())
    return uploads.send(services.evidence_file(contact, upload_id))


# --- the OpenAPI document -------------------------------------------------------------------------

REFERENCE = {
    "name": "reference",
    "in": "path",
    "required": True,
    "description": "The approach's reference, such as MC-0042.",
    "schema": {"type": "string", "maxLength": 40, "examples": ["MC-0001"]},
}
SIZE_NOTE = (
    "Each file, and all the files together, may be up to the upload size limit (REGISTRY_MAX_UPLOAD_MB, "
    "10 MB unless configured otherwise) before base64 encoding."
)
TOO_BIG = "The body is larger than 4/3 of the upload size limit plus 512 KB."


def openapi_schemas() -> dict[str, Any]:
    statuses = [s.value for s in MediaContactStatus]
    platforms = [p.value for p in Platform]
    return {
        "MediaContact": _closed(
            {
                "reference": {"type": "string", "pattern": "^MC-[0-9]{4,}$"},
                "status": {"type": "string", "enum": statuses},
                "status_label": {"type": "string", "enum": [s.label for s in MediaContactStatus]},
                "platform": {"type": "string", "enum": platforms},
                "platform_label": {"type": "string"},
                "outlet": NULLABLE_TEXT,
                "journalist": NULLABLE_TEXT,
                "contacted_at": TIMESTAMP,
                "deadline_at": _nullable(TIMESTAMP),
                "enquiry": {"type": "string"},
                "link": NULLABLE_TEXT,
                "no_response_confirmed_at": TIMESTAMP,
                "advice": {**NULLABLE_TEXT, "description": "The communications team's latest advice to the reporter."},
                "advised_at": _nullable(TIMESTAMP),
                "advised_by": NULLABLE_TEXT,
                "reported_by": _closed({"name": {"type": "string"}, "email": {"type": "string"}}),
                "created_at": TIMESTAMP,
                "updated_at": TIMESTAMP,
                "status_changed_at": TIMESTAMP,
                "closed_at": _nullable(TIMESTAMP),
                "links": _closed({"self": {"type": "string"}, "html": {"type": "string"}}),
                "history": {
                    "type": "array",
                    "description": "Every step, oldest first (only on a single approach). The reporter sees "
                    "no notes of the team's: no `note` steps, and `note` is null.",
                    "items": _closed(
                        {
                            "action": {"type": "string", "enum": ["report", *(a.value for a in ACTIONS), NOTE]},
                            "from_status": {"type": ["string", "null"], "enum": [*statuses, None]},
                            "to_status": {"type": "string", "enum": statuses},
                            "actor": {"type": "string"},
                            "occurred_at": TIMESTAMP,
                            "advice": NULLABLE_TEXT,
                            "note": NULLABLE_TEXT,
                        }
                    ),
                },
                "screenshots": {
                    "type": "array",
                    "description": "The screenshots (only on a single approach).",
                    "items": _closed(
                        {
                            "id": {"type": "integer", "minimum": 1},
                            "name": {"type": "string"},
                            "content_type": {"type": "string", "enum": [t.value for t in UploadType]},
                            "size": {"type": "integer", "minimum": 1},
                            "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                            "added_at": TIMESTAMP,
                            "url": {"type": "string"},
                        }
                    ),
                },
            },
            optional=("history", "screenshots"),
            description="An approach by the media to a member of staff's personal account (policy 8.1).",
        ),
        "MediaContactReport": {
            "type": "object",
            "required": ["platform", "contacted_at", "enquiry", "not_responded"],
            "description": "A link or at least one screenshot is required.",
            "properties": {
                "platform": {"type": "string", "enum": platforms},
                "outlet": optional_text(OUTLET_MAX, examples=["The Evening Post"]),
                "journalist": optional_text(JOURNALIST_MAX, examples=["Alex Reporter"]),
                "contacted_at": {
                    **DATE_TIME,
                    "description": "When they made contact: not in the future and within "
                    f"the last {services.LOGGED_WITHIN.days} days. "
                    "The server reads a time without an offset as UK time.",
                },
                "deadline_at": or_null(
                    DATE_TIME,
                    description="Their deadline, if they gave one: after contacted_at "
                    f"and within {services.DEADLINE_WITHIN.days} days of it.",
                ),
                "enquiry": required_text(
                    services.ENQUIRY_MAX, examples=["Asked for a comment on waiting times in the emergency department."]
                ),
                "link": optional_text(
                    LINK_MAX,
                    description="The address of their message or post: http(s), on a "
                    "real site name (https:// may be left out).",
                    examples=["https://x.com/EveningPost/status/1"],
                ),
                "screenshots": {
                    "type": ["array", "null"],
                    "maxItems": services.MAX_SCREENSHOTS,
                    "items": _base64_file("A PNG, JPEG, GIF or WebP image, or a PDF."),
                    "description": "Screenshots of the approach, each checked by its content. " + SIZE_NOTE,
                },
                "not_responded": {
                    "type": "boolean",
                    "const": True,
                    "description": "The reporter confirms they have not responded (policy 8.1).",
                },
            },
            "anyOf": [
                {"required": ["link"], "properties": {"link": given({})}},
                {"required": ["screenshots"], "properties": {"screenshots": {"type": "array", "minItems": 1}}},
            ],
        },
        "MediaContactTriage": {
            "type": "object",
            "required": ["action"],
            "properties": {
                "action": {"type": "string", "enum": [*(a.value for a in ACTIONS), NOTE]},
                "advice": optional_text(
                    services.ADVICE_MAX,
                    description="To the reporter: required for advise, optional for respond, refused otherwise.",
                ),
                "note": optional_text(services.NOTE_MAX, description="The team's own: required for close and note."),
            },
            "anyOf": [
                *(_triage_branch(t.action.value, advice=t.advice, note=t.note) for t in TRANSITIONS.values()),
                _triage_branch(NOTE, advice=Need.NONE, note=Need.REQUIRED),
            ],
        },
    }


def _triage_branch(action: str, **fields: Need) -> dict[str, Any]:
    """What ``action`` needs of ``advice`` and ``note``: a required one given, one not taken blank."""
    return branch(
        "action",
        [action],
        needs=[name for name, need in fields.items() if need is Need.REQUIRED],
        **{
            name: given({}) if need is Need.REQUIRED else NOT_TAKEN
            for name, need in fields.items()
            if need is not Need.OPTIONAL
        },
    )


def openapi_paths() -> dict[str, Any]:
    bearer = [{"bearerAuth": []}]
    contact = {"$ref": "#/components/schemas/MediaContact"}
    shown = _json(contact, "The approach with its history and screenshots.")
    return {
        "/api/v1/media-contacts": {
            "get": {
                "operationId": "listMediaContacts",
                "summary": "Media approaches: all for comms and auditors, one's own for others.",
                "security": bearer,
                "parameters": [
                    {
                        "name": "status",
                        "in": "query",
                        "schema": blank_or(FILTER_VALUES),
                        "description": "Empty means any; `open` means any but closed.",
                    },
                    {"name": "platform", "in": "query", "schema": blank_or(p.value for p in Platform)},
                    {
                        "name": "q",
                        "in": "query",
                        "schema": query_text(QUERY_LIMITS["q"]),
                        "description": "Text in the outlet, journalist, question or reporter, or a reference.",
                    },
                    *_page_params(25),
                ],
                "responses": {
                    "200": _json(_paged("#/components/schemas/MediaContact"), "A page of approaches, newest first."),
                    "401": ERRORS_401,
                    "403": ERRORS_403,
                    "422": ERRORS_422,
                    "429": ERRORS_429,
                },
            },
            "post": {
                "operationId": "logMediaContact",
                "summary": "Log an approach by the media to one's personal account, before responding (policy 8.1).",
                "security": bearer,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MediaContactReport"}}},
                },
                "responses": {
                    "201": {
                        **_json(contact, "The approach, awaiting triage."),
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
        "/api/v1/media-contacts/{reference}": {
            "get": {
                "operationId": "getMediaContact",
                "summary": "One approach with its history and screenshots (404 if not the caller's to see).",
                "security": bearer,
                "parameters": [REFERENCE],
                "responses": {"200": shown, "401": ERRORS_401, "403": ERRORS_403, "404": ERRORS_404, "429": ERRORS_429},
            }
        },
        "/api/v1/media-contacts/{reference}/triage": {
            "post": {
                "operationId": "triageMediaContact",
                "summary": "Acknowledge, advise, take over the response, close, or add a note (comms).",
                "security": bearer,
                "parameters": [REFERENCE],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MediaContactTriage"}}},
                },
                "responses": {
                    "200": shown,
                    "400": ERRORS_400,
                    "401": ERRORS_401,
                    "403": ERRORS_403,
                    "404": ERRORS_404,
                    "409": _problem(
                        "The approach's status does not allow this, or the caller logged it (four-eyes rule)."
                    ),
                    "422": ERRORS_422,
                    "429": ERRORS_429,
                },
            }
        },
        "/api/v1/media-contacts/{reference}/screenshots/{upload_id}": {
            "get": {
                "operationId": "getMediaContactScreenshot",
                "summary": "One screenshot of an approach the caller may see, as a download.",
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
    }
