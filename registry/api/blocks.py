"""Building blocks of the OpenAPI 3.1 document of ``/api/v1`` (checked against the routes by schemathesis)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from registry.channels.platforms import Platform
from registry.uploads.models import UploadType

PROBLEM = {"$ref": "#/components/schemas/Problem"}
#: The platforms the Registry knows, by their values.
PLATFORMS = [p.value for p in Platform]


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


def not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` without null: what a field must be where it is required."""
    if "anyOf" in schema and {"type": "null"} in schema["anyOf"]:
        rest = [option for option in schema["anyOf"] if option != {"type": "null"}]
        others = {key: value for key, value in schema.items() if key != "anyOf"}
        return {**rest[0], **others} if len(rest) == 1 else {**others, "anyOf": rest}
    narrowed = dict(schema)
    if isinstance(narrowed.get("type"), list):
        types = [t for t in narrowed["type"] if t != "null"]
        narrowed["type"] = types[0] if len(types) == 1 else types
    if "enum" in narrowed:
        narrowed["enum"] = [value for value in narrowed["enum"] if value is not None]
    return narrowed


def branch(field: str, values: Iterable[str | bool], *, needs: Iterable[str] = (), **properties: Any) -> dict[str, Any]:
    """One branch of an ``anyOf`` that says what each ``field`` value needs of the other fields:
    those named in ``needs`` must be given, and ``properties`` narrow the rest."""
    return {"required": [field, *needs], "properties": {field: {"enum": list(values)}, **properties}}


def blank_or(values: Iterable[str]) -> dict[str, Any]:
    """A query parameter that is one of ``values`` or nothing: the server trims it, so blank is nothing."""
    return {"type": "string", "anyOf": [{"enum": ["", *values]}, {"pattern": ONLY_SPACES}]}


def query_text(limit: int, **extra: Any) -> dict[str, Any]:
    """A free-text query parameter: at most ``limit`` characters and no NUL (else 422)."""
    return {"type": "string", "maxLength": limit, **NO_NUL, **extra}


def problem_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {"schema": PROBLEM}}}


ERRORS_401 = {
    **problem_response(
        "Not signed in: send `Authorization: Bearer <token>` (a valid, unrevoked token of an active user)."
    ),
    "headers": {"WWW-Authenticate": {"required": True, "schema": {"type": "string", "pattern": "^Bearer "}}},
}
ERRORS_403 = problem_response("The user's roles do not allow this.")
ERRORS_404 = problem_response("No such record.")
ERRORS_422 = problem_response("A parameter or field is missing or invalid; `errors` names each one.")
ERRORS_429 = {
    **problem_response("Too many requests: wait, then try again."),
    "headers": {"Retry-After": {"required": True, "schema": {"type": "integer", "minimum": 0}}},
}
ERRORS_400 = problem_response(
    "The request body is not a JSON object, or the CSRF token of a browser session is missing."
)


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


def page_number(upper: int, default: int) -> dict[str, Any]:
    """``page`` or ``per_page``: a whole number in range, or empty for the default (the pages' forms send that)."""
    return {"anyOf": [{"type": "integer", "minimum": 1, "maximum": upper}, {"const": ""}], "default": default}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` (of a single type) allowing null as well."""
    return {**schema, "type": [schema["type"], "null"]}


def base64_file(description: str, *, filename_max: int | None = None, **properties: Any) -> dict[str, Any]:
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


def reference_parameter(description: str, *examples: str, **schema: Any) -> dict[str, Any]:
    """The path parameter ``reference`` of a kind of request's routes."""
    return {
        "name": "reference",
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string", **schema, "examples": list(examples)},
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
FILE_DOWNLOAD: dict[str, Any] = {
    "description": "The file (Content-Disposition: attachment).",
    "content": {t.value: {"schema": {"type": "string", "format": "binary"}} for t in UploadType},
}
TIMESTAMP = {"type": "string", "format": "date-time"}
