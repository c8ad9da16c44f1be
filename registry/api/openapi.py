"""The OpenAPI 3.1 document of ``/api/v1`` (checked against the routes by schemathesis)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from registry.channels.platforms import MAX_INPUT_LENGTH, Platform
from registry.channels.services import LIMITS, REASON_MAX, SORTS
from registry.channels.workflow import TRANSITIONS, ChannelAction, ChannelStatus
from registry.roster.models import PlatformRole
from registry.roster.services import NAME_MAX, ORGANISATION_MAX
from registry.roster.services import REASON_MAX as ROSTER_REASON_MAX
from registry.uploads.models import UploadType
from registry.vault.models import CredentialKind
from registry.vault.services import MAX_VALUE
from registry.vault.services import REASON_MAX as CREDENTIAL_REASON_MAX
from registry.verification.services import MAX_HANDLE, MAX_URL
from registry.web.pagination import MAX_PER_PAGE

#: The longest value each free-text query parameter may have; longer is refused with 422.
CHANNEL_QUERY_LIMITS = {"department": 200, "q": 200}
AUDIT_QUERY_LIMITS = {"object": 110, "action": 64, "actor": 200}

PROBLEM = {"$ref": "#/components/schemas/Problem"}


# --- what the services accept, as JSON Schema ----------------------------------------------------
#
# The request schemas say what the server enforces, so that a request the document calls valid is
# refused only for a rule it states in words (a date relative to today, a handle's grammar, records
# in the database). tests/test_openapi.py and tests/test_openapi_rules.py hold the two to that.


def _char_class(chars: Iterable[str]) -> str:
    """``chars`` as the inside of a regular-expression character class: ``\\u`` escapes, runs as
    ranges, read alike by JSON Schema's ECMA-262 patterns and by Python's ``re``."""
    codes = sorted({ord(c) for c in chars})
    runs: list[list[int]] = []
    for code in codes:
        if runs and code == runs[-1][1] + 1:
            runs[-1][1] = code
        else:
            runs.append([code, code])
    return "".join(f"\\u{a:04x}" if a == b else f"\\u{a:04x}-\\u{b:04x}" for a, b in runs)


#: What ``str.strip()`` removes: every character ``str.isspace()`` accepts (none is above U+3000).
SPACES = _char_class(c for c in map(chr, range(0x3001)) if c.isspace())
#: The services read text with NUL characters dropped and surrounding space trimmed, so text of only
#: these characters is blank: not given.
BLANK = _char_class(c for c in map(chr, range(0x3001)) if c.isspace() or c == "\x00")
ONLY_BLANK = f"^[{BLANK}]*$"
ONLY_SPACES = f"^[{SPACES}]*$"
# "Not only blank" is said with ``not``: a ``pattern`` would do, but schemathesis 4.32 then folds the
# length limits into the regular expression, and its boundary cases (a text of exactly maxLength
# characters) are lost.
#: Text with something in it besides space and NUL: what a required text field must be.
NOT_BLANK = {"not": {"pattern": ONLY_BLANK}}
NOT_SPACES = {"not": {"pattern": ONLY_SPACES}}
NO_NUL = {"not": {"pattern": "\\u0000"}}
#: Exactly the text ``base64.b64decode(text, validate=True)`` decodes: the standard alphabet, no
#: line breaks, padded as the length requires (any further "=" after a whole group is ignored).
BASE64 = "^(?:(?:[A-Za-z0-9+/]{4})+=*|(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=))?$"
#: A date as the services read it (``date.fromisoformat``).
DATE = {"type": "string", "format": "date"}
#: A date and time as the services read them (``datetime.fromisoformat``, which, unlike RFC 3339,
#: takes no lower-case "z").
DATE_TIME = {"type": "string", "format": "date-time", "pattern": "^[^z]*$"}
_SEPARATORS = f"[{SPACES}-]*"
_BASE32 = f"[A-Za-z2-7]{_SEPARATORS}"
#: A two-factor seed as the vault takes it: base32 (either case) with any spaces and dashes, at least
#: 16 characters (10 bytes), of a length base32 can have, padding "=" at the end only.
TOTP_SEED = (
    f"^{_SEPARATORS}(?:(?:{_BASE32}){{8}}){{2,}}(?:(?:{_BASE32}){{7}}|(?:{_BASE32}){{4,5}}|(?:{_BASE32}){{2}})?"
    f"(?:={_SEPARATORS})*$"
)
#: A text field that must be left out, null or blank (the action does not take it).
NOT_TAKEN = {"type": ["string", "null"], "pattern": ONLY_BLANK}


def required_text(limit: int, **extra: Any) -> dict[str, Any]:
    """A text field that must be given: something besides space, at most ``limit`` characters."""
    return {"type": "string", "minLength": 1, "maxLength": limit, **NOT_BLANK, **extra}


def optional_text(limit: int | None = None, **extra: Any) -> dict[str, Any]:
    """A text field that may be left out, null or blank (the same as leaving it out)."""
    return {"type": ["string", "null"], **({"maxLength": limit} if limit is not None else {}), **extra}


def given(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` where a branch of ``anyOf`` needs its field: a string with something in it."""
    return {**schema, "type": "string", **NOT_BLANK}


def or_null(schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """``schema`` or null (null being the same as leaving the field out).

    Written as ``anyOf`` rather than a list of types: schemathesis 4.32's boundary-value
    generation ignores ``format`` beside ``"type": [..., "null"]`` and sends "" as a date."""
    return {"anyOf": [schema, {"type": "null"}], **extra}


def branch(field: str, values: Iterable[str], *, needs: Iterable[str] = (), **properties: Any) -> dict[str, Any]:
    """One branch of an ``anyOf`` that says what each ``field`` value needs of the other fields:
    those named in ``needs`` must be given, and ``properties`` narrow the rest."""
    return {"required": [field, *needs], "properties": {field: {"enum": list(values)}, **properties}}


def blank_or(values: Iterable[str]) -> dict[str, Any]:
    """A query parameter that is one of ``values`` or nothing: the server trims it, so blank is nothing."""
    return {"type": "string", "anyOf": [{"enum": ["", *values]}, {"pattern": ONLY_SPACES}]}


def query_text(limit: int, **extra: Any) -> dict[str, Any]:
    """A free-text query parameter: at most ``limit`` characters and no NUL (else 422)."""
    return {"type": "string", "maxLength": limit, **NO_NUL, **extra}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {"schema": PROBLEM}}}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS_401 = {
    **_problem("Not signed in: send `Authorization: Bearer <token>` (a valid, unrevoked token of an active user)."),
    "headers": {"WWW-Authenticate": {"required": True, "schema": {"type": "string", "pattern": "^Bearer "}}},
}
ERRORS_403 = _problem("The user's roles do not allow this.")
ERRORS_404 = _problem("No such record.")
ERRORS_422 = _problem("A parameter or field is missing or invalid; `errors` names each one.")
ERRORS_429 = {
    **_problem("Too many requests: wait, then try again."),
    "headers": {"Retry-After": {"required": True, "schema": {"type": "integer", "minimum": 0}}},
}
ERRORS_400 = _problem("The request body is not a JSON object, or the CSRF token of a browser session is missing.")

REFERENCE_PARAM = {
    "name": "reference",
    "in": "path",
    "required": True,
    "description": "The channel's reference, such as CH-0042.",
    "schema": {"type": "string", "pattern": "^CH-[0-9]{1,9}$", "examples": ["CH-0001"]},
}


_AUDIT_YEARS = "^(?:197[1-9]|19[89][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-7])-"
#: ``since`` and ``until``: blank, or a date or date-time from 1970-01-02 to 9999-01-01 (the document
#: admits the years 1971 to 9997, inside that, whatever the offset).
AUDIT_MOMENT = {
    "type": "string",
    "anyOf": [
        {"pattern": ONLY_SPACES},
        {**DATE, "pattern": _AUDIT_YEARS},
        {**DATE_TIME, "allOf": [{"pattern": _AUDIT_YEARS}]},
    ],
}


def _page_params(default: int) -> list[dict[str, Any]]:
    """``page`` and ``per_page``: whole numbers in range, or empty for the default (the pages' forms send that)."""

    def number(upper: int, default: int) -> dict[str, Any]:
        return {"anyOf": [{"type": "integer", "minimum": 1, "maximum": upper}, {"const": ""}], "default": default}

    return [
        {"name": "page", "in": "query", "schema": number(1_000_000, 1), "description": "Empty means 1."},
        {
            "name": "per_page",
            "in": "query",
            "schema": number(MAX_PER_PAGE, default),
            "description": f"Empty means {default}.",
        },
    ]


def _paged(item_ref: str) -> dict[str, Any]:
    return _closed(
        {
            "items": {"type": "array", "items": {"$ref": item_ref}},
            "total": {"type": "integer", "minimum": 0},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
        }
    )


def _closed(properties: dict[str, Any], *, optional: tuple[str, ...] = (), **extra: Any) -> dict[str, Any]:
    """An object with exactly these properties, all required unless named in ``optional``."""
    return {
        "type": "object",
        "required": [name for name in properties if name not in optional],
        "properties": properties,
        "additionalProperties": False,
        **extra,
    }


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` (of a single type) allowing null as well."""
    return {**schema, "type": [schema["type"], "null"]}


def _base64_file(description: str, *, filename_max: int | None = None, **properties: Any) -> dict[str, Any]:
    """A file sent inside a JSON body: ``{filename, content_base64}`` and any other ``properties``.

    The filename must have something besides space in it; ``filename_max``: the longest the
    route takes (the others shorten a longer name to 255 characters for display)."""
    filename: dict[str, Any] = {"type": "string", "minLength": 1, **NOT_SPACES}
    if filename_max is not None:
        filename["maxLength"] = filename_max
    return {
        "type": "object",
        "required": ["filename", "content_base64", *properties],
        "properties": {
            "filename": filename,
            "content_base64": {
                "type": "string",
                "contentEncoding": "base64",
                "pattern": BASE64,
                "description": description,
            },
            **properties,
        },
    }


#: The longest filename of a file sent base64-encoded.
FILENAME_MAX = 255
UPLOAD_ID_PARAM = {
    "name": "upload_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647},
}
#: The 200 response of a route that sends an uploaded file.
FILE_DOWNLOAD = {
    "description": "The file (Content-Disposition: attachment).",
    "content": {t.value: {"schema": {"type": "string", "format": "binary"}} for t in UploadType},
}
NULLABLE_TEXT = {"type": ["string", "null"]}
TIMESTAMP = {"type": "string", "format": "date-time"}
INTERNAL_FIELDS = (
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
)


@cache
def document() -> dict[str, Any]:
    """The whole OpenAPI document: the core API and each domain's part."""
    return with_areas(_core())


def _core() -> dict[str, Any]:
    platforms = [p.value for p in Platform]
    statuses = [s.value for s in ChannelStatus]
    public_properties: dict[str, Any] = {
        "reference": {"type": "string", "pattern": "^CH-[0-9]+$"},
        "platform": {"type": "string", "enum": platforms},
        "platform_label": {"type": "string"},
        "handle": {"type": "string"},
        "url": {"type": "string"},
        "display_name": {"type": "string"},
        "department": {"type": "string"},
        "status": {"type": "string", "enum": statuses},
        "status_changed_at": TIMESTAMP,
    }
    # Response objects are closed (additionalProperties: false) so that a field the
    # document does not list, such as a secret, fails the conformance test.
    public_channel = _closed(public_properties, description="What anyone may know of a Trust channel.")
    channel = _closed(
        {
            **public_properties,
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
                **_closed({"name": {"type": "string"}, "email": {"type": "string"}}),
                "type": ["object", "null"],
                "description": "Shown to the requester, the communications team and auditors; null for others.",
            },
            "links": _closed({"self": {"type": "string"}, "html": {"type": "string"}}),
            "history": {
                "type": "array",
                "description": "Every step, oldest first (only on a single channel).",
                "items": _closed(
                    {
                        "action": {"type": "string"},
                        "from_status": {"type": ["string", "null"], "enum": [*statuses, None]},
                        "to_status": {"type": "string", "enum": statuses},
                        "actor": {"type": "string"},
                        "occurred_at": TIMESTAMP,
                        "reason": NULLABLE_TEXT,
                    }
                ),
            },
        },
        optional=INTERNAL_FIELDS,
        description=(
            "A channel. The internal fields (purpose, plans, administrators, history…) are present only "
            "for its requester, the communications team and auditors; other staff see what the public sees."
        ),
    )

    def plan(limit: int) -> dict[str, Any]:
        return optional_text(limit, description="Optional; null is the same as leaving it out.")

    channel_request = {
        "type": "object",
        "required": ["platform", "handle", "display_name", "department", "purpose", "audience", "policy_acknowledged"],
        "properties": {
            "platform": {"type": "string", "enum": platforms},
            "handle": required_text(
                MAX_INPUT_LENGTH,
                description="A handle or profile URL; it must fit the platform's rules and not be held by "
                "another live channel.",
                examples=["ExampleNHSTrust"],
            ),
            "display_name": required_text(LIMITS["display_name"], examples=["Example NHS Foundation Trust"]),
            "department": required_text(LIMITS["department"], examples=["Communications"]),
            "purpose": required_text(
                LIMITS["purpose"], examples=["News and service updates for patients and visitors."]
            ),
            "audience": required_text(LIMITS["audience"], examples=["Patients, carers and the local community."]),
            **{
                name: plan(LIMITS[name])
                for name in ("posting_plan", "moderation_plan", "out_of_hours", "sponsor", "proposed_administrators")
            },
            "policy_acknowledged": {"type": "boolean", "const": True},
        },
    }
    handle_not_taken = {"handle": {"enum": [None, ""]}, "url": {"enum": [None, ""]}}
    transition_request = {
        "type": "object",
        "required": ["action"],
        "properties": {
            "action": {"type": "string", "enum": [a.value for a in ChannelAction]},
            "reason": optional_text(
                REASON_MAX,
                description="Required to reject, request_info, suspend and retire; surrounding space is not kept.",
            ),
            "handle": optional_text(
                MAX_INPUT_LENGTH,
                description="Only with activate, when the live account's handle differs from the one approved; "
                "it must fit the platform's rules and not be held by another live channel.",
            ),
            "url": optional_text(
                MAX_INPUT_LENGTH, description="Only with activate: the live account's URL, instead of its handle."
            ),
        },
        "anyOf": [
            branch(
                "action",
                [t.action.value for t in TRANSITIONS.values() if t.reason_required],
                needs=["reason"],
                reason=given({}),
                **handle_not_taken,
            ),
            branch(
                "action",
                [
                    t.action.value
                    for t in TRANSITIONS.values()
                    if not t.reason_required and t.action is not ChannelAction.ACTIVATE
                ],
                **handle_not_taken,
            ),
            branch("action", [ChannelAction.ACTIVATE.value]),
        ],
    }
    audit_event = _closed(
        {
            "seq": {"type": "integer", "minimum": 1},
            "occurred_at": TIMESTAMP,
            "actor": {"type": "string"},
            "actor_id": {"type": ["integer", "null"]},
            "action": {"type": "string"},
            "object_type": {"type": "string"},
            "object_id": {"type": "string"},
            "address": NULLABLE_TEXT,
            "details": {"type": "object", "description": "What changed; never a secret."},
            "prev_hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        }
    )
    verdict = _closed(
        {
            "official": {"type": "boolean"},
            "formerly_official": {"type": "boolean"},
            "platform": {"type": "string", "enum": platforms},
            "handle": {"type": "string", "description": "The handle as the registry writes it."},
            "channel": {"oneOf": [{"$ref": "#/components/schemas/PublicChannel"}, {"type": "null"}]},
            "lookalike_of": {"oneOf": [{"$ref": "#/components/schemas/PublicChannel"}, {"type": "null"}]},
            "known_unauthorised": {"type": "boolean"},
        }
    )
    kinds = [k.value for k in CredentialKind]
    credential = _closed(
        {
            "kind": {"type": "string", "enum": kinds},
            "label": {"type": "string"},
            "version": {"type": "integer", "minimum": 1},
            "created_at": {**TIMESTAMP, "description": "When the current version was stored."},
            "first_stored_at": TIMESTAMP,
            "rotation_due": {"type": "string", "format": "date"},
            "rotation_required": {"type": "boolean"},
            "rotation_reasons": {"type": "array", "items": {"type": "string"}},
        },
        description="A secret in custody: what it is and its rotation state, never its value.",
    )
    other_kinds = [k.value for k in CredentialKind if k is not CredentialKind.TOTP_SEED]
    credential_request = {
        "type": "object",
        "required": ["kind", "value", "reason"],
        "properties": {
            "kind": {"type": "string", "enum": kinds},
            "value": {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_VALUE,
                **NO_NUL,
                "writeOnly": True,
                "description": "Not only space, and no NUL character. A two-factor seed is the platform's "
                "base32 setup key (A-Z and 2-7, at least 16 of them; spaces and dashes ignored).",
            },
            "reason": required_text(CREDENTIAL_REASON_MAX),
        },
        "anyOf": [
            branch("kind", other_kinds, value=NOT_SPACES),
            branch("kind", [CredentialKind.TOTP_SEED.value], value={"pattern": TOTP_SEED}),
        ],
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
                "No secret is ever returned.\n\n"
                "Text fields are read with surrounding space trimmed and NUL characters dropped: a required "
                "field must have something else in it, and a blank optional one is the same as leaving it "
                "out. Null is the same as leaving a field out; unknown fields are ignored. Where a rule "
                "depends on today's date, on records in the Registry (a handle another channel holds, the "
                "channels of a post) or on a file's content, the field's description states it, and a request "
                "breaking it is refused with 422 naming the field."
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
                "Credential": credential,
                "CredentialRequest": credential_request,
                **roster_schemas(),
            },
        },
        "paths": {
            **roster_paths(),
            "/api/v1/verify": {
                "get": {
                    "operationId": "verify",
                    "summary": "Is this an official Trust account?",
                    "description": "Give `url`, or `platform` and `handle`. Public: no token needed.",
                    "security": [],
                    "parameters": [
                        {
                            "name": "url",
                            "in": "query",
                            "schema": {
                                "type": "string",
                                "maxLength": MAX_URL,
                                "examples": ["https://x.com/ExampleNHS"],
                            },
                            "description": "The account's web address; when given, `handle` is not read. Surrounding "
                            "space is ignored; empty means not given.",
                        },
                        {
                            "name": "platform",
                            "in": "query",
                            "schema": blank_or(platforms),
                            "description": "Required with `handle`; with `url`, the platform to read it as. "
                            "Empty means not given.",
                        },
                        {
                            "name": "handle",
                            "in": "query",
                            "schema": {"type": "string", "maxLength": MAX_HANDLE, "examples": ["ExampleNHS"]},
                            "description": "The account's handle, which must fit the platform's rules; "
                            "required without `url`.",
                        },
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
                        {
                            "name": "status",
                            "in": "query",
                            "schema": blank_or(statuses),
                            "description": "Empty means any status.",
                        },
                        {
                            "name": "platform",
                            "in": "query",
                            "schema": blank_or(platforms),
                            "description": "Empty means any platform.",
                        },
                        {"name": "department", "in": "query", "schema": query_text(CHANNEL_QUERY_LIMITS["department"])},
                        {
                            "name": "q",
                            "in": "query",
                            "schema": query_text(CHANNEL_QUERY_LIMITS["q"]),
                            "description": "Text in the name, handle or department, or a reference.",
                        },
                        {
                            "name": "sort",
                            "in": "query",
                            "schema": {"type": "string", "enum": ["", *SORTS]},
                            "description": "Empty means by reference.",
                        },
                        {
                            "name": "dir",
                            "in": "query",
                            "schema": {"type": "string", "enum": ["", "asc", "desc"]},
                            "description": "Empty means ascending.",
                        },
                        {
                            "name": "format",
                            "in": "query",
                            "schema": {"type": "string", "enum": ["", "json", "csv"]},
                            "description": "`csv` downloads every matching channel (comms and auditors).",
                        },
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
                        "201": {
                            **_json({"$ref": "#/components/schemas/Channel"}, "The request, in status `requested`."),
                            "headers": {
                                "Location": {
                                    "required": True,
                                    "schema": {"type": "string"},
                                    "description": "The new channel's API address.",
                                }
                            },
                            "links": {
                                name: {"operationId": name, "parameters": {"reference": "$response.body#/reference"}}
                                for name in ("getChannel", "transitionChannel")
                            },
                        },
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
            "/api/v1/channels/{reference}/credentials": {
                "get": {
                    "operationId": "listCredentials",
                    "summary": "What is in custody for a channel: metadata only, never a value (comms, auditors).",
                    "security": bearer,
                    "parameters": [REFERENCE_PARAM],
                    "responses": {
                        "200": _json(
                            _closed({"items": {"type": "array", "items": {"$ref": "#/components/schemas/Credential"}}}),
                            "The channel's credentials.",
                        ),
                        "401": ERRORS_401,
                        "403": ERRORS_403,
                        "404": ERRORS_404,
                        "429": ERRORS_429,
                    },
                },
                "post": {
                    "operationId": "storeCredential",
                    "summary": "Take custody of a secret, for onboarding an existing account (comms only).",
                    "description": "A new value of an existing kind becomes a new version. The answer is "
                    "metadata only.",
                    "security": bearer,
                    "parameters": [REFERENCE_PARAM],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CredentialRequest"}}},
                    },
                    "responses": {
                        "201": _json({"$ref": "#/components/schemas/Credential"}, "The credential's metadata."),
                        "400": ERRORS_400,
                        "401": ERRORS_401,
                        "403": ERRORS_403,
                        "404": ERRORS_404,
                        "409": _problem(
                            "The channel was rejected or withdrawn: there is no account to hold secrets for."
                        ),
                        "422": ERRORS_422,
                        "429": ERRORS_429,
                    },
                },
            },
            "/api/v1/audit-events": {
                "get": {
                    "operationId": "listAuditEvents",
                    "summary": "The audit trail, newest first (auditors, comms, admins).",
                    "security": bearer,
                    "parameters": [
                        {
                            "name": "object",
                            "in": "query",
                            "schema": query_text(AUDIT_QUERY_LIMITS["object"]),
                            "description": "`type:id` such as `channel:CH-0001`, or just the id.",
                        },
                        {
                            "name": "action",
                            "in": "query",
                            "schema": query_text(AUDIT_QUERY_LIMITS["action"]),
                            "description": "An action such as `channel:approve`, or a subject such as `channel`.",
                        },
                        {
                            "name": "actor",
                            "in": "query",
                            "schema": query_text(AUDIT_QUERY_LIMITS["actor"]),
                            "description": "Text in the actor's name or e-mail address.",
                        },
                        {
                            "name": "since",
                            "in": "query",
                            "schema": AUDIT_MOMENT,
                            "description": "Events at or after this date (midnight UTC) or date-time (UTC when "
                            "no offset).",
                        },
                        {
                            "name": "until",
                            "in": "query",
                            "schema": AUDIT_MOMENT,
                            "description": "Events before this date or date-time.",
                        },
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


def with_areas(doc: dict[str, Any]) -> dict[str, Any]:
    """Merge in the schemas and paths of each domain that keeps its API in its own module."""
    from registry.api import AREAS

    for area in AREAS:
        doc["components"]["schemas"].update(area.openapi_schemas())
        doc["paths"].update(area.openapi_paths())
    return doc


def roster_schemas() -> dict[str, Any]:
    roles = [r.value for r in PlatformRole]
    date = {"type": "string", "format": "date"}
    return {
        "RosterGrant": _closed(
            {
                "id": {"type": "integer", "minimum": 1},
                "person_name": {"type": "string"},
                "email": {"type": "string"},
                "organisation": {"type": ["string", "null"], "description": "Null for a Registry user (the Trust)."},
                "platform_role": {"type": "string", "enum": roles},
                "user_id": {"type": ["integer", "null"], "description": "The Registry user holding the role, if any."},
                "granted_by": {"type": ["string", "null"]},
                "granted_on": date,
                "expires_on": {"type": ["string", "null"], "format": "date"},
                "revoked_at": {**TIMESTAMP, "type": ["string", "null"]},
                "revoked_by": {"type": ["string", "null"], "description": "Null when the system ended it (expiry)."},
                "revoke_reason": {"type": ["string", "null"]},
                "active": {"type": "boolean"},
            },
            description="A person's role on a channel's platform account.",
        ),
        "GrantRequest": {
            "type": "object",
            "required": ["email", "platform_role"],
            "properties": {
                "email": {
                    "type": "string",
                    "format": "email",
                    "maxLength": 254,
                    "description": "A Registry user's address makes the grant theirs (name from their account); "
                    "a user who has left, or one already holding the role, is refused.",
                    "examples": ["agency.editor@example.org"],
                },
                "name": optional_text(
                    NAME_MAX, description="Required for someone who is not a Registry user.", examples=["Sam Rivera"]
                ),
                "organisation": optional_text(
                    ORGANISATION_MAX,
                    description="Required for someone who is not a Registry user.",
                    examples=["Example Digital Agency"],
                ),
                "platform_role": {"type": "string", "enum": roles},
                "expires_on": {
                    "type": ["string", "null"],
                    "anyOf": [{"format": "date"}, {"pattern": ONLY_SPACES}],
                    "description": "A date after today; blank or null for no expiry.",
                    "examples": ["2099-12-31"],
                },
            },
        },
        "RevokeRequest": {
            "type": "object",
            "required": ["reason"],
            "properties": {"reason": required_text(ROSTER_REASON_MAX)},
        },
    }


def roster_paths() -> dict[str, Any]:
    bearer = [{"bearerAuth": []}]
    grant_id = {
        "name": "grant_id",
        "in": "path",
        "required": True,
        "description": "The grant's id.",
        "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647},
    }
    grant_ref = {"$ref": "#/components/schemas/RosterGrant"}
    return {
        "/api/v1/channels/{reference}/roster": {
            "get": {
                "operationId": "listRoster",
                "summary": "Every grant of the channel, current ones first (comms and auditors).",
                "security": bearer,
                "parameters": [REFERENCE_PARAM],
                "responses": {
                    "200": _json(_closed({"items": {"type": "array", "items": grant_ref}}), "The channel's grants."),
                    "401": ERRORS_401,
                    "403": ERRORS_403,
                    "404": ERRORS_404,
                    "429": ERRORS_429,
                },
            },
            "post": {
                "operationId": "grantRole",
                "summary": "Add a person to the channel's roster (comms).",
                "security": bearer,
                "parameters": [REFERENCE_PARAM],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/GrantRequest"}}},
                },
                "responses": {
                    "201": {
                        **_json(grant_ref, "The new grant."),
                        "headers": {
                            "Location": {
                                "required": True,
                                "schema": {"type": "string"},
                                "description": "The channel's roster.",
                            }
                        },
                    },
                    "400": ERRORS_400,
                    "401": ERRORS_401,
                    "403": ERRORS_403,
                    "404": ERRORS_404,
                    "409": _problem("The channel is rejected, withdrawn or retired: it can have no administrators."),
                    "422": ERRORS_422,
                    "429": ERRORS_429,
                },
            },
        },
        "/api/v1/channels/{reference}/roster/{grant_id}/revoke": {
            "post": {
                "operationId": "revokeRole",
                "summary": "Remove a person from the roster, flagging every credential of the channel for "
                "rotation (comms).",
                "security": bearer,
                "parameters": [REFERENCE_PARAM, grant_id],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RevokeRequest"}}},
                },
                "responses": {
                    "200": _json(grant_ref, "The grant, ended."),
                    "400": ERRORS_400,
                    "401": ERRORS_401,
                    "403": ERRORS_403,
                    "404": ERRORS_404,
                    "409": _problem("The grant was already ended."),
                    "422": ERRORS_422,
                    "429": ERRORS_429,
                },
            }
        },
    }
