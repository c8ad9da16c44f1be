"""``POST /api/v1/screen``: the patient-identifier screening of a draft, for any signed-in user.

The text is neither stored, logged nor audited (it may hold patient details), and the
answer carries ``Cache-Control: no-store``, as do its refusals.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify

from registry.api.openapi import (
    ERRORS_400,
    ERRORS_401,
    ERRORS_403,
    ERRORS_422,
    ERRORS_429,
    _closed,
    _json,
)
from registry.api.views import _json_object, bp
from registry.auth.permissions import Permission, requires
from registry.errors import Invalid
from registry.extensions import limiter
from registry.screening import services
from registry.screening.services import KINDS, MAX_TEXT, Finding
from registry.web.security import no_store
from registry.web.throttle import API_PER_CLIENT


def finding(found: Finding) -> dict[str, Any]:
    return {"kind": found.kind, "start": found.start, "end": found.end, "masked": found.masked, "label": found.label}


@bp.route("/screen", methods=["POST"])
@requires(Permission.SCREEN_TEXT)
@limiter.limit(API_PER_CLIENT)
def screen():
    """Find what could identify a patient in ``text``; each match comes back masked."""
    no_store()
    text = _json_object().get("text")
    if text is None:
        raise Invalid({"text": "text is required: the draft to check."})
    if not isinstance(text, str):
        raise Invalid({"text": "text must be a string."})
    if len(text) > MAX_TEXT:
        raise Invalid({"text": f"text must be {MAX_TEXT:,} characters or fewer."})
    return jsonify({"findings": [finding(f) for f in services.screen(text)]})


def openapi_schemas() -> dict[str, Any]:
    return {
        "ScreenRequest": {
            "type": "object",
            "required": ["text"],
            "properties": {
                "text": {
                    "type": "string",
                    "maxLength": MAX_TEXT,
                    "description": "The draft: a post's text, a caption or an image's alt text.",
                },
            },
        },
        "ScreenFinding": _closed(
            {
                "kind": {"type": "string", "enum": list(KINDS)},
                "start": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "Where the match starts, in characters (Unicode code points).",
                },
                "end": {"type": "integer", "minimum": 1, "description": "Where it ends (exclusive)."},
                "masked": {"type": "string", "description": "The match with its identifying characters hidden by •."},
                "label": {"type": "string", "description": "The kind in plain English, such as “NHS number”."},
            },
            description="Something in the text that could identify a patient.",
        ),
        "ScreenResult": _closed(
            {
                "findings": {
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/ScreenFinding"},
                    "description": "Sorted by start; they never overlap.",
                }
            },
        ),
    }


def openapi_paths() -> dict[str, Any]:
    no_store_header = {
        "Cache-Control": {
            "required": True,
            "schema": {"type": "string", "const": "no-store"},
            "description": "The text may hold patient details: no cache may keep the answer.",
        }
    }
    return {
        "/api/v1/screen": {
            "post": {
                "operationId": "screenText",
                "summary": "Check a draft for patient identifiers (any signed-in user; policy 6.11).",
                "description": (
                    "Finds NHS numbers (modulus 11 check; 3-3-4 or labelled NHS), dates of birth (near "
                    "DOB, date of birth or born), hospital numbers (labelled, or trust-prefixed such as "
                    "RXX123456), UK phone numbers, e-mail addresses, full postcodes, and names after Mr, "
                    "Mrs, Ms, Miss, Mx or patient. Where two overlap, the more specific kind wins. The "
                    "text is not stored, logged or audited."
                ),
                "security": [{"bearerAuth": []}],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ScreenRequest"}}},
                },
                "responses": {
                    "200": {
                        **_json({"$ref": "#/components/schemas/ScreenResult"}, "The findings, masked."),
                        "headers": no_store_header,
                    },
                    "400": ERRORS_400,
                    "401": ERRORS_401,
                    "403": ERRORS_403,
                    "422": ERRORS_422,
                    "429": ERRORS_429,
                },
            }
        }
    }
