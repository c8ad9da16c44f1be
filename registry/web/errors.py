"""Error pages and problem+json: every refusal explained in plain English.

Under ``/api/`` errors are ``application/problem+json`` (RFC 9457); elsewhere
an NHS-styled page. Neither ever shows a stack trace or submitted values.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, current_app, g, jsonify, render_template, request
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from registry.auth.guard import wants_json
from registry.errors import RegistryError

log = logging.getLogger(__name__)

MESSAGES = {
    400: ("Bad request", "The request could not be understood."),
    401: ("Sign in needed", "Sign in, or send an API token in the Authorization header."),
    403: ("You do not have permission to do this", "Your roles do not allow this. Ask the communications team if you think they should."),
    404: ("Page not found", "There is nothing at this address. Check it, or go back to the home page."),
    405: ("Method not allowed", "This address does not accept that kind of request."),
    409: ("Not possible now", "The record is not in a state that allows this."),
    413: ("The file is too big", "Each file must be within the size limit."),
    422: ("Check your answers", "Some answers need correcting."),
    429: ("Too many attempts", "You have tried this too many times. Wait a few minutes, then try again."),
    500: ("Sorry, there is a problem with the service", "Try again later. If the problem continues, contact the service desk."),
}


def problem(status: int, detail: str | None = None, *, title: str | None = None,
            errors: dict[str, str] | None = None, **extra: Any) -> Response:
    """An ``application/problem+json`` response (RFC 9457)."""
    default_title, default_detail = MESSAGES.get(status, ("Error", "The request failed."))
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title or default_title,
        "status": status,
        "detail": detail or default_detail,
    }
    if errors:
        body["errors"] = errors
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def _page(status: int, detail: str | None = None, title: str | None = None) -> tuple[str, int]:
    default_title, default_detail = MESSAGES.get(status, ("Error", "Something went wrong."))
    return render_template(
        "error.html", status=status, title=title or default_title, detail=detail or default_detail
    ), status


def _http_error(exc: HTTPException) -> Any:
    status = exc.code or 500
    detail = None
    if isinstance(exc, CSRFError):
        detail = "The form had expired or was sent from another site. Go back, reload the page and try again."
    elif isinstance(exc, RateLimitExceeded):
        detail = "You have tried this too many times. Wait a few minutes, then try again."
    elif status == 413:
        detail = _too_big()
    elif exc.description and exc.description != type(exc).description:
        detail = exc.description  # a plain-English reason given with abort()
    if wants_json():
        response = problem(status, detail)
    else:
        response = _page(status, detail)
    valid_methods = getattr(exc, "valid_methods", None)
    if status == 405 and valid_methods:
        response = _with_header(response, "Allow", ", ".join(valid_methods))
    if isinstance(exc, RateLimitExceeded):
        response = _with_header(response, "Retry-After", "60")
    if status == 401 and wants_json():
        response = _with_header(response, "WWW-Authenticate", 'Bearer realm="registry"')
    return response


def _too_big() -> str:
    """Read under the title "The file is too big"; the limit is REGISTRY_MAX_UPLOAD_MB."""
    limit = current_app.extensions["registry.settings"].max_upload_mb
    return (
        f"Each file must be {limit} MB or smaller. If you chose several files, together they "
        f"must be {limit} MB or smaller too. Go back, choose a smaller file and try again."
    )


def _with_header(response: Any, name: str, value: str) -> Response:
    from flask import make_response

    made = make_response(response)
    made.headers[name] = value
    return made


def _registry_error(exc: RegistryError) -> Any:
    if wants_json():
        return problem(exc.status, exc.message, title=exc.title, errors=getattr(exc, "errors", None))
    return _page(exc.status, exc.message, exc.title)


def _unexpected(exc: Exception) -> Any:
    log.exception("Unhandled error on %s %s", request.method, request.path)
    failed = g.get("_db_session")
    if failed is not None:
        failed.rollback()  # the page itself reads the signed-in user
    if wants_json():
        return problem(500)
    return _page(500)


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(RegistryError, _registry_error)
    app.register_error_handler(InternalServerError, _unexpected)
    app.register_error_handler(Exception, _unexpected)
