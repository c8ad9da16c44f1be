"""Error pages and problem+json: every refusal explained in plain English.

Under ``/api/`` errors are ``application/problem+json`` (RFC 9457); elsewhere
an NHS-styled page. Neither ever shows a stack trace or submitted values.
Every 503 says when to try again (``Retry-After``). When the database cannot be
reached, the answer is a 503 that needs nothing from it (not even the signed-in
user, whom the usual page layout shows).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import (
    Flask,
    Response,
    current_app,
    g,
    jsonify,
    make_response,
    render_template,
    request,
    session,
)
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException, InternalServerError

from registry import db
from registry.auth.guard import wants_json
from registry.errors import RegistryError, Unavailable

log = logging.getLogger(__name__)

MESSAGES = {
    400: ("Bad request", "The request could not be understood."),
    401: ("Sign in needed", "Sign in, or send an API token in the Authorization header."),
    403: (
        "You do not have permission to do this",
        "Your roles do not allow this. Ask the communications team if you think they should.",
    ),
    404: ("Page not found", "There is nothing at this address. Check it, or go back to the home page."),
    405: ("Method not allowed", "This address does not accept that kind of request."),
    409: ("Not possible now", "The record is not in a state that allows this."),
    413: ("The file is too big", "Each file must be within the size limit."),
    422: ("Check your answers", "Some answers need correcting."),
    429: ("Too many attempts", "You have tried this too many times. Wait a few minutes, then try again."),
    500: (
        "Sorry, there is a problem with the service",
        "Try again later. If the problem continues, contact the service desk.",
    ),
    503: (Unavailable.title, "Try again in a few minutes."),
}
#: The database cannot be reached: what a person or an API client is told (nothing about why).
DATABASE_UNAVAILABLE = (
    "The service cannot be used just now. Try again in a few minutes. If you were saving "
    "something, check whether it was saved before you send it again."
)


def logged_path() -> str:
    """The request's path for a log line: a route's pattern where it carries a secret (a set-up link's
    token must not reach the logs), else the path itself, with anything but printable ASCII escaped
    (the sender chooses it, and a ``%0A`` in it would otherwise start a log line of their own)."""
    rule = request.url_rule
    if rule is not None and "<token>" in rule.rule:
        return rule.rule
    return request.path.encode("unicode_escape").decode("ascii")


def problem(
    status: int,
    detail: str | None = None,
    *,
    title: str | None = None,
    errors: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
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


def _page(status: int, detail: str | None = None, title: str | None = None) -> Any:
    default_title, default_detail = MESSAGES.get(status, ("Error", "Something went wrong."))
    if status == 404:  # one title and heading for every page not found; the detail says what is missing
        title = None
    try:
        return render_template(
            "error.html", status=status, title=title or default_title, detail=detail or default_detail
        ), status
    except SQLAlchemyError as exc:
        if not db.unavailable(exc):
            raise
        return _database_unavailable(exc)  # the layout reads the signed-in user


def _retry_after(response: Any, seconds: int = Unavailable.retry_after) -> Response:
    made = make_response(response)
    if made.status_code == 503:
        made.headers["Retry-After"] = str(seconds)
    return made


def _database_unavailable(exc: BaseException) -> Response:
    """503 for a request the database failed, with ``Retry-After``; it reads nothing from the database.

    The request's work is rolled back and its messages for the next page dropped (a "saved"
    banner would be untrue). Logged once, as one line naming the error, without a traceback:
    the cause is outside the code, and a traceback per request would bury it.
    """
    db.abandon()
    session.pop("_flashes", None)
    log.error("Database unavailable on %s %s: %s", request.method, logged_path(), db.describe(exc))
    if wants_json():
        response = problem(503, DATABASE_UNAVAILABLE)
    else:
        page = current_app.jinja_env.get_template("unavailable.html")
        response = make_response(page.render(title=Unavailable.title, detail=DATABASE_UNAVAILABLE), 503)
    response.headers["Retry-After"] = str(Unavailable.retry_after)
    response.headers["Cache-Control"] = "no-store"
    return response


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
    response = problem(status, detail) if wants_json() else _page(status, detail)
    valid_methods = getattr(exc, "valid_methods", None)
    if status == 405 and valid_methods:
        response = _with_header(response, "Allow", ", ".join(valid_methods))
    if isinstance(exc, RateLimitExceeded):
        response = _with_header(response, "Retry-After", "60")
    if status == 503:
        seconds = getattr(exc, "retry_after", None)
        response = _retry_after(response, seconds if isinstance(seconds, int) else Unavailable.retry_after)
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
    made = make_response(response)
    made.headers[name] = value
    return made


def _registry_error(exc: RegistryError) -> Any:
    if wants_json():
        response = problem(exc.status, exc.message, title=exc.title, errors=getattr(exc, "errors", None))
    else:
        response = _page(exc.status, exc.message, exc.title)
    return _retry_after(response, getattr(exc, "retry_after", Unavailable.retry_after))


def _unexpected(exc: Exception) -> Any:
    cause = exc.original_exception if isinstance(exc, InternalServerError) and exc.original_exception else exc
    if db.unavailable(cause):
        return _database_unavailable(cause)
    log.exception("Unhandled error on %s %s", request.method, logged_path())
    failed = g.get("_db_session")
    if failed is not None:
        try:
            failed.rollback()  # the page itself reads the signed-in user
        except SQLAlchemyError as rollback_error:
            if not db.unavailable(rollback_error):
                raise
            return _database_unavailable(rollback_error)
    if wants_json():
        return problem(500)
    return _page(500)


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(RegistryError, _registry_error)
    app.register_error_handler(InternalServerError, _unexpected)
    app.register_error_handler(Exception, _unexpected)
