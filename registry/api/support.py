"""The API blueprint and the helpers every API module (``registry/*/api.py``) shares:
reading the body and the query string, problem+json refusals, pages and base64 files.

Files travel inside the JSON body as base64 (``[{filename, content_base64}]``) and are
checked by their content exactly as a browser upload is. Base64 makes a file a third
larger, so a route taking files may call :func:`room_for_base64` to allow a body of 4/3
of the upload size limit (``REGISTRY_MAX_UPLOAD_MB``) plus the usual allowance for the
other fields.
"""

from __future__ import annotations

import base64
import binascii
import functools
import io
import json
from collections.abc import Callable
from typing import Any, cast

from flask import Blueprint, current_app, jsonify, request
from flask.json.provider import DefaultJSONProvider
from flask.wrappers import Response
from flask_login import current_user
from werkzeug.datastructures import FileStorage

from config import FORM_ALLOWANCE_BYTES
from registry.auth.models import User
from registry.errors import Invalid, RegistryError

bp = Blueprint("api", __name__, url_prefix="/api/v1")


class BadBody(RegistryError):
    status = 400
    title = "Bad request"


def acting_user() -> User:
    """The signed-in user (by token or session) making this request."""
    return cast(User, current_user._get_current_object())


def json_object() -> dict[str, Any]:
    """The request body as a JSON object whose text values are all valid Unicode.

    Anything else is refused before it reaches a service: a body that is not a
    JSON object (or is nested too deeply to parse) with 400, and text holding an
    unpaired surrogate escape such as ``"\\ud800"`` (which no database can
    store) with 422 naming the field.
    """
    try:
        body = request.get_json(silent=True)
    except RecursionError:
        body = None
    if not isinstance(body, dict):
        raise BadBody("Send a JSON object in the request body, with Content-Type: application/json.")
    errors = {
        str(name): f"{name} is not valid text: it contains an unpaired surrogate escape (\\ud800 to \\udfff)."
        for name, value in body.items()
        if isinstance(value, str) and not is_unicode(value)
    }
    if errors:
        raise Invalid(errors)
    return body


def is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def json_response(body: Any, status: int = 200) -> Response:
    """``jsonify(body)`` with ``status``. Flask's JSON provider makes a new encoder for every answer; the
    compact one it would make is made once and kept. Debug mode's indented answers, and a provider other
    than Flask's own, go through ``jsonify`` as before."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    provider = app.json
    if type(provider) is DefaultJSONProvider and not (
        provider.compact is False or (provider.compact is None and app.debug)
    ):
        encoder = _compact_encoder(provider.default, provider.ensure_ascii, provider.sort_keys)
        answer: Response = app.response_class(f"{encoder.encode(body)}\n", status=status, mimetype=provider.mimetype)
        return answer
    response = jsonify(body)
    response.status_code = status
    return response


@functools.lru_cache(maxsize=8)
def _compact_encoder(default: Callable[[Any], Any], ensure_ascii: bool, sort_keys: bool) -> json.JSONEncoder:
    """The encoder ``DefaultJSONProvider.response`` makes for a compact answer (``json.dumps``'s)."""
    return json.JSONEncoder(default=default, ensure_ascii=ensure_ascii, sort_keys=sort_keys, separators=(",", ":"))


# --- files sent base64-encoded ------------------------------------------------------------------


def body_limit(max_upload_bytes: int) -> int:
    """The largest body a route taking files accepts: base64 of files of ``max_upload_bytes``
    in all (4 characters for every 3 bytes), plus room for the other fields."""
    return 4 * -(-max_upload_bytes // 3) + FORM_ALLOWANCE_BYTES


def room_for_base64() -> None:
    """Raise this request's size limit (before the body is read) so the upload limit means the
    same for a file sent base64-encoded as for a file chosen in the browser."""
    request.max_content_length = body_limit(current_app.extensions["registry.settings"].max_upload_bytes)


def object_list(body: dict[str, Any], field: str, *, most: int, keys: str, too_many: str) -> list[dict[str, Any]]:
    """``body[field]`` as a list of at most ``most`` objects (none given: an empty list)."""
    given = body.get(field)
    if given is None:
        return []
    if not isinstance(given, list) or not all(isinstance(item, dict) for item in given):
        raise Invalid({field: f"{field} must be a list of objects with {keys}."})
    if len(given) > most:
        raise Invalid({field: too_many})
    return given


def decode_base64(content: str) -> bytes | None:
    """The bytes of strictly valid base64 text; None if it is not valid base64."""
    try:
        return base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        return None


def as_file(name: str, data: bytes) -> FileStorage:
    """Bytes sent in a JSON body as a file for the upload checks (which go by the content)."""
    return FileStorage(stream=io.BytesIO(data), filename=name, content_type="application/octet-stream")


def base64_files(
    body: dict[str, Any], field: str, *, most: int, too_many: str, noun: str, example: str
) -> list[FileStorage]:
    """``body[field]``, ``[{filename, content_base64}]``, as files for the upload checks; the
    first mistake is refused with 422 naming ``field`` (and the file: ``{noun} 2``, or its name)."""
    files = []
    given = object_list(body, field, most=most, keys="filename and content_base64", too_many=too_many)
    for n, item in enumerate(given, start=1):
        name, content = item.get("filename"), item.get("content_base64")
        if not isinstance(name, str) or not name.strip():
            raise Invalid({field: f"{noun} {n} needs a filename, such as {example}."})
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            raise Invalid({field: f"{noun} {n}: the filename is not valid text."}) from None
        if not isinstance(content, str):
            raise Invalid({field: f"{name}: content_base64 must be the file's content, base64-encoded."})
        data = decode_base64(content)
        if data is None:
            raise Invalid({field: f"{name}: content_base64 is not valid base64."})
        files.append(as_file(name, data))
    return files
