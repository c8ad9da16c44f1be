"""The OpenAPI 3.1 document of ``/api/v1`` (checked against the routes by schemathesis)."""

from __future__ import annotations

from functools import cache
from typing import Any

from registry.channels.platforms import Platform
from registry.channels.workflow import ChannelAction, ChannelStatus

PROBLEM = {"$ref": "#/components/schemas/Problem"}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {"schema": PROBLEM}}}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS_401 = _problem("Not signed in: send `Authorization: Bearer <token>`.")
ERRORS_403 = _problem("The user's roles do not allow this.")
ERRORS_404 = _problem("No such record.")
ERRORS_422 = _problem("A parameter or field is missing or invalid; `errors` names each one.")
ERRORS_429 = _problem("Too many requests: wait, then try again.")
ERRORS_400 = _problem("The request body is not a JSON object, or the CSRF token of a browser session is missing.")

REFERENCE_PARAM = {
    "name": "reference",
    "in": "path",
    "required": True,
    "description": "The channel's reference, such as CH-0042.",
    "schema": {"type": "string", "pattern": "^CH-[0-9]{1,9}$", "examples": ["CH-0001"]},
}


def _page_params(default: int) -> list[dict[str, Any]]:
    return [
        {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000000, "default": 1}},
        {
            "name": "per_page",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": default},
        },
    ]


def _paged(item_ref: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["items", "total", "page", "per_page"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": item_ref}},
            "total": {"type": "integer", "minimum": 0},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": 100},
        },
    }


NULLABLE_TEXT = {"type": ["string", "null"]}
TIMESTAMP = {"type": "string", "format": "date-time"}


@cache
def document() -> dict[str, Any]:
    platforms = [p.value for p in Platform]
    statuses = [s.value for s in ChannelStatus]
    public_channel = {
        "type": "object",
        "required": ["reference", "platform", "platform_label", "handle", "url", "display_name", "department", "status"],
        "properties": {
            "reference": {"type": "string", "pattern": "^CH-[0-9]+$"},
            "platform": {"type": "string", "enum": platforms},
            "platform_label": {"type": "string"},
            "handle": {"type": "string"},
            "url": {"type": "string"},
            "display_name": {"type": "string"},
            "department": {"type": "string"},
            "status": {"type": "string", "enum": statuses},
            "status_changed_at": TIMESTAMP,
        },
    }
    channel = {
        "allOf": [
            {"$ref": "#/components/schemas/PublicChannel"},
            {
                "type": "object",
                "required": ["status_label", "purpose", "audience", "created_at", "links"],
                "properties": {
                    "status_label": {"type": "string"},
                    "purpose": {"type": "string"},
                    "audience": {"type": "string"},
                    "posting_plan": {"type": "string"},
                    "moderation_plan": {"type": "string"},
                    "out_of_hours": {"type": "string"},
                    "sponsor": {"type": "string"},
                    "proposed_administrators": {"type": "string"},
                    "policy_acknowledged_at": TIMESTAMP,
                    "created_at": TIMESTAMP,
                    "updated_at": TIMESTAMP,
                    "next_review_on": {"type": ["string", "null"], "format": "date"},
                    "requested_by": {
                        "type": ["object", "null"],
                        "properties": {"name": {"type": "string"}, "email": {"type": "string"}},
                    },
                    "links": {
                        "type": "object",
                        "properties": {"self": {"type": "string"}, "html": {"type": "string"}},
                    },
                    "history": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["action", "to_status", "actor", "occurred_at"],
                            "properties": {
                                "action": {"type": "string"},
                                "from_status": NULLABLE_TEXT,
                                "to_status": {"type": "string"},
                                "actor": {"type": "string"},
                                "occurred_at": TIMESTAMP,
                                "reason": NULLABLE_TEXT,
                            },
                        },
                    },
                },
            },
        ]
    }
    text_field = {"type": "string", "maxLength": 5000}
    channel_request = {
        "type": "object",
        "required": ["platform", "handle", "display_name", "department", "purpose", "audience", "policy_acknowledged"],
        "properties": {
            "platform": {"type": "string", "enum": platforms},
            "handle": {"type": "string", "minLength": 1, "maxLength": 2048, "description": "A handle or profile URL."},
            "display_name": {"type": "string", "minLength": 1, "maxLength": 200},
            "department": {"type": "string", "minLength": 1, "maxLength": 200},
            "purpose": {"type": "string", "minLength": 1, "maxLength": 5000},
            "audience": {"type": "string", "minLength": 1, "maxLength": 2000},
            "posting_plan": text_field,
            "moderation_plan": text_field,
            "out_of_hours": text_field,
            "sponsor": {"type": "string", "maxLength": 200},
            "proposed_administrators": text_field,
            "policy_acknowledged": {"type": "boolean", "const": True},
        },
    }
    transition_request = {
        "type": "object",
        "required": ["action"],
        "properties": {
            "action": {"type": "string", "enum": [a.value for a in ChannelAction]},
            "reason": {"type": "string", "maxLength": 2000, "description": "Required to reject, request_info, suspend and retire."},
            "handle": {"type": "string", "maxLength": 2048, "description": "Only with activate: the live account's handle."},
            "url": {"type": "string", "maxLength": 2048, "description": "Only with activate: the live account's URL."},
        },
    }
    audit_event = {
        "type": "object",
        "required": ["seq", "occurred_at", "actor", "action", "object_type", "object_id", "details", "hash", "prev_hash"],
        "properties": {
            "seq": {"type": "integer", "minimum": 1},
            "occurred_at": TIMESTAMP,
            "actor": {"type": "string"},
            "actor_id": {"type": ["integer", "null"]},
            "action": {"type": "string"},
            "object_type": {"type": "string"},
            "object_id": {"type": "string"},
            "address": NULLABLE_TEXT,
            "details": {"type": "object"},
            "prev_hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        },
    }
    verdict = {
        "type": "object",
        "required": ["official", "formerly_official", "platform", "handle", "channel", "lookalike_of", "known_unauthorised"],
        "properties": {
            "official": {"type": "boolean"},
            "formerly_official": {"type": "boolean"},
            "platform": {"type": "string", "enum": platforms},
            "handle": {"type": "string"},
            "channel": {"oneOf": [{"$ref": "#/components/schemas/PublicChannel"}, {"type": "null"}]},
            "lookalike_of": {"oneOf": [{"$ref": "#/components/schemas/PublicChannel"}, {"type": "null"}]},
            "known_unauthorised": {"type": "boolean"},
        },
    }
    problem = {
        "type": "object",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "errors": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    }
    bearer = [{"bearerAuth": []}]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Social Channel Registry API",
            "version": "1.0.0",
            "description": (
                "The Trust's register of official social media channels. Authenticate with "
                "`Authorization: Bearer <token>` (issued by an administrator with "
                "`flask --app wsgi tokens create EMAIL`). Errors are RFC 9457 problem details. "
                "No secret is ever returned."
            ),
        },
        "servers": [{"url": "/"}],
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Problem": problem,
                "PublicChannel": public_channel,
                "Channel": channel,
                "ChannelRequest": channel_request,
                "TransitionRequest": transition_request,
                "AuditEvent": audit_event,
                "Verdict": verdict,
            },
        },
        "paths": {
            "/api/v1/verify": {
                "get": {
                    "operationId": "verify",
                    "summary": "Is this an official Trust account?",
                    "description": "Give `url`, or `platform` and `handle`. Public: no token needed.",
                    "security": [],
                    "parameters": [
                        {"name": "url", "in": "query", "schema": {"type": "string", "maxLength": 2048}},
                        {"name": "platform", "in": "query", "schema": {"type": "string", "enum": platforms}},
                        {"name": "handle", "in": "query", "schema": {"type": "string", "maxLength": 255}},
                    ],
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/Verdict"}, "The answer."),
                        "422": ERRORS_422,
                        "429": ERRORS_429,
                    },
                }
            },
            "/api/v1/channels": {
                "get": {
                    "operationId": "listChannels",
                    "summary": "Channels the caller may see (all of them for comms and auditors).",
                    "security": bearer,
                    "parameters": [
                        {"name": "status", "in": "query", "schema": {"type": "string", "enum": statuses}},
                        {"name": "platform", "in": "query", "schema": {"type": "string", "enum": platforms}},
                        {"name": "department", "in": "query", "schema": {"type": "string", "maxLength": 200}},
                        {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 200}},
                        {"name": "sort", "in": "query", "schema": {"type": "string", "enum": [
                            "reference", "name", "platform", "handle", "department", "status", "created", "updated", "review"]}},
                        {"name": "dir", "in": "query", "schema": {"type": "string", "enum": ["asc", "desc"]}},
                        {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["json", "csv"]},
                         "description": "`csv` downloads every matching channel (comms and auditors)."},
                        *_page_params(25),
                    ],
                    "responses": {
                        "200": {
                            "description": "A page of channels, or CSV with `format=csv`.",
                            "content": {
                                "application/json": {"schema": _paged("#/components/schemas/Channel")},
                                "text/csv": {"schema": {"type": "string"}},
                            },
                        },
                        "401": ERRORS_401,
                        "403": ERRORS_403,
                        "422": ERRORS_422,
                        "429": ERRORS_429,
                    },
                },
                "post": {
                    "operationId": "requestChannel",
                    "summary": "Request a new channel (any signed-in user).",
                    "security": bearer,
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ChannelRequest"}}},
                    },
                    "responses": {
                        "201": _json({"$ref": "#/components/schemas/Channel"}, "The request, in status `requested`."),
                        "400": ERRORS_400,
                        "401": ERRORS_401,
                        "403": ERRORS_403,
                        "422": ERRORS_422,
                        "429": ERRORS_429,
                    },
                },
            },
            "/api/v1/channels/{reference}": {
                "get": {
                    "operationId": "getChannel",
                    "summary": "One channel with its history.",
                    "security": bearer,
                    "parameters": [REFERENCE_PARAM],
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/Channel"}, "The channel."),
                        "401": ERRORS_401,
                        "403": ERRORS_403,
                        "404": ERRORS_404,
                        "429": ERRORS_429,
                    },
                }
            },
            "/api/v1/channels/{reference}/transitions": {
                "post": {
                    "operationId": "transitionChannel",
                    "summary": "Move a channel along its lifecycle.",
                    "security": bearer,
                    "parameters": [REFERENCE_PARAM],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TransitionRequest"}}},
                    },
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/Channel"}, "The channel after the transition."),
                        "400": ERRORS_400,
                        "401": ERRORS_401,
                        "403": ERRORS_403,
                        "404": ERRORS_404,
                        "409": _problem("The channel's state, or the four-eyes rule, does not allow this action."),
                        "422": ERRORS_422,
                        "429": ERRORS_429,
                    },
                }
            },
            "/api/v1/audit-events": {
                "get": {
                    "operationId": "listAuditEvents",
                    "summary": "The audit trail, newest first (auditors, comms, admins).",
                    "security": bearer,
                    "parameters": [
                        {"name": "object", "in": "query", "schema": {"type": "string", "maxLength": 110},
                         "description": "`type:id` such as `channel:CH-0001`, or just the id."},
                        {"name": "action", "in": "query", "schema": {"type": "string", "maxLength": 64},
                         "description": "An action such as `channel:approve`, or a subject such as `channel`."},
                        {"name": "since", "in": "query", "schema": {"type": "string"},
                         "description": "ISO 8601 date or date-time (UTC when no offset)."},
                        {"name": "until", "in": "query", "schema": {"type": "string"}},
                        *_page_params(50),
                    ],
                    "responses": {
                        "200": _json(_paged("#/components/schemas/AuditEvent"), "A page of events."),
                        "401": ERRORS_401,
                        "403": ERRORS_403,
                        "422": ERRORS_422,
                        "429": ERRORS_429,
                    },
                }
            },
            "/api/v1/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document.",
                    "security": [],
                    "responses": {"200": _json({"type": "object"}, "The OpenAPI document.")},
                }
            },
        },
    }
