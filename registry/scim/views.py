"""SCIM 2.0 (RFC 7644) at ``/scim/v2``, for the identity provider's provisioning client.

Every route is for the provisioning client alone (:data:`PROVISIONING`): the guard hands the request
to :func:`_authenticate`, which wants a live ``scim token create`` token in the Authorization header.
The routes are declared here; what they answer is :mod:`registry.scim.protocol`'s, imported on the
first SCIM request: scim2-models, which it reads and writes bodies with, took a quarter of the app's
start-up, and most processes never see a SCIM request.
"""

from __future__ import annotations

import logging
from types import ModuleType
from typing import Any

from flask import Blueprint, Response, g, request
from flask.typing import ResponseReturnValue
from limits import parse
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from registry.auth import sessions
from registry.auth.permissions import BearerClient, client
from registry.extensions import client_address, limiter
from registry.scim import services

log = logging.getLogger(__name__)

bp = Blueprint("scim", __name__, url_prefix="/scim/v2")

_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
#: Failed SCIM authentications counted per address (Flask-Limiter's storage, as sign-in's are).
FAILURES_PER_ADDRESS = parse("30 per minute")


def _protocol() -> ModuleType:
    from registry.scim import protocol

    return protocol


def _failures_key() -> tuple[str, str, str]:
    return ("registry", "scim-authentication", client_address())


def _authenticate() -> Response | None:
    """The guard's check of every SCIM request: a live token, and not too many failures from this address."""
    counting = limiter.enabled and limiter.initialized
    if counting and not limiter.limiter.test(FAILURES_PER_ADDRESS, *_failures_key()):
        log.warning("SCIM request refused: too many failed authentications from %s.", client_address())
        response: Response = _protocol().refusal(
            429, "Too many requests with a wrong bearer token from this address: wait a minute."
        )
        response.headers["Retry-After"] = "60"
        return response
    token = services.token_for(sessions.bearer_token())
    if token is None:
        if counting:
            limiter.limiter.hit(FAILURES_PER_ADDRESS, *_failures_key())
        log.warning(
            "SCIM authentication failed from %s: the bearer token is missing, unknown or revoked.", client_address()
        )
        response = _protocol().refusal(
            401,
            "Send the provisioning client's bearer token (from flask --app wsgi scim token create) in the "
            "Authorization header: this one is missing, unknown or revoked.",
        )
        response.headers["WWW-Authenticate"] = 'Bearer realm="scim"'
        return response
    g.scim_client = token
    return None


#: The policy of every SCIM route: the provisioning client, by its own bearer token.
PROVISIONING = BearerClient("the provisioning client (SCIM)", _authenticate)


@bp.errorhandler(Exception)
def _failed(exc: Exception) -> Response:
    """Anything a SCIM request raises is answered in SCIM's words (the client reads no HTML page)."""
    response: Response = _protocol().failure(exc)
    return response


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    response: Response = _protocol().http_error(exc)
    return response


def _resource(rule: str, endpoint: str, **handlers: str) -> None:
    """One SCIM endpoint: the names of :mod:`registry.scim.protocol`'s handlers by method name; any other
    method is answered 405 as a SCIM error."""
    if "get" in handlers:
        handlers["head"] = handlers["get"]
    allowed = sorted(method.upper() for method in handlers)

    @client(PROVISIONING)
    def view(**kwargs: Any) -> ResponseReturnValue:
        handler = handlers.get(request.method.lower())
        if handler is None:
            raise MethodNotAllowed(valid_methods=allowed)
        answer: ResponseReturnValue = getattr(_protocol(), handler)(**kwargs)
        return answer

    view.__name__ = endpoint
    bp.add_url_rule(rule, endpoint, view, methods=_METHODS)


_resource("/ServiceProviderConfig", "service_provider_config", get="get_service_provider_config")
_resource("/ResourceTypes", "resource_types", get="list_resource_types")
_resource("/ResourceTypes/<name>", "resource_type", get="get_resource_type")
_resource("/Schemas", "schemas", get="list_schemas")
_resource("/Schemas/<uri>", "schema", get="get_schema")
_resource("/Users", "users", get="list_users", post="create_user")
_resource("/Users/<user_id>", "user", get="get_user", put="replace_user", patch="patch_user", delete="delete_user")
_resource("/.search", "search", post="search")
_resource(
    "/<path:unknown>",
    "unknown",
    get="nothing_here",
    post="nothing_here",
    put="nothing_here",
    patch="nothing_here",
    delete="nothing_here",
)
