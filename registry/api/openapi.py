"""The OpenAPI document served at /api/v1/openapi.json: the core (problem+json, security
schemes) and every operation declared with :func:`registry.api.operations.operation`.
Its building blocks are in :mod:`registry.api.blocks`."""

from __future__ import annotations

from functools import cache
from typing import Any

from registry.api import operations
from registry.api.blocks import AUDIT_MOMENT, BASE64

__all__ = ["AUDIT_MOMENT", "BASE64", "document"]


@cache
def document() -> dict[str, Any]:
    """The whole OpenAPI document: the declared operations (registry.api.operations), the core API
    and each domain's part."""
    doc = _core()
    doc["components"]["schemas"].update(operations.components())
    doc["paths"].update(operations.paths())
    return doc


def _core() -> dict[str, Any]:
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
            },
        },
        "paths": {},
    }
