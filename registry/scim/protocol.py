"""What the SCIM routes (:mod:`registry.scim.views`) answer: discovery, Users, and errors.

Answers and errors are ``application/scim+json``; an error is a SCIM Error (status, scimType, detail)
whose detail names the attribute in plain English. Bodies are read and written by scim2-models, which
is why this module is imported on the first SCIM request rather than when the app starts.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any

from flask import Response, g, request, url_for
from pydantic import ValidationError
from scim2_models import (
    Context,
    Error,
    InvalidFilterException,
    InvalidValueException,
    ListResponse,
    Meta,
    NotImplementedException,
    PatchOp,
    Reference,
    ResourceType,
    ResponseParameters,
    Schema,
    SCIMException,
    ScimPolicy,
)
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException, MethodNotAllowed, RequestEntityTooLarge

from registry import db
from registry.auth.models import ScimToken, User
from registry.errors import Invalid, NotFound, RegistryError
from registry.scim import schema, services
from registry.scim.schema import ENTERPRISE, EnterpriseUser, Manager, ScimUser

log = logging.getLogger(__name__)

SCIM_JSON = "application/scim+json"
#: A directory sends more than the Registry keeps (Entra's default mappings add title, phone numbers,
#: addresses, department…): what no published schema declares is dropped, not refused, or every joiner
#: from an unedited mapping would fail.
TOLERANT = ScimPolicy(unknown=ScimPolicy.Unknown.ignore)
#: The largest request body a SCIM request may send, and the most operations one PATCH may hold.
MAX_BODY = 1024 * 1024
MAX_OPERATIONS = 100


def _client() -> ScimToken:
    token: ScimToken = g.scim_client
    return token


# --- answers --------------------------------------------------------------------------------------


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype=SCIM_JSON)


def refusal(status: int, detail: str, scim_type: str | None = None) -> Response:
    error = Error(status=status, scim_type=scim_type, detail=detail)
    return _json(error.model_dump(scim_ctx=Context.DEFAULT), status)


def _scim_error(exc: SCIMException) -> Response:
    error = exc.to_error()
    return _json(error.model_dump(scim_ctx=Context.DEFAULT), exc.status)


def _invalid_body(exc: ValidationError) -> Response:
    first = exc.errors()[0]
    error = Error.from_validation_error(first)
    where = ".".join(str(part) for part in first.get("loc", ()) if not isinstance(part, int))
    detail = error.detail or "The request body is not valid."
    if where and where not in detail:
        detail = f"{where}: {detail}"
    return refusal(int(error.status or 400), detail, error.scim_type or "invalidValue")


def _refused(exc: RegistryError) -> Response:
    if isinstance(exc, Invalid):
        return refusal(400, exc.message, "invalidValue")
    if isinstance(exc, services.Taken):
        return refusal(409, exc.message, "uniqueness")
    if isinstance(exc, services.Immutable):
        return refusal(409, exc.message, "mutability")
    return refusal(exc.status, exc.message)


def _too_deep(exc: RecursionError) -> Response:
    return refusal(400, "The request body is nested too deeply to be a SCIM resource.", "invalidSyntax")


def _failed(exc: Exception) -> Response:
    """Anything unexpected is still answered in SCIM's words (the client reads no HTML page); the
    request's work is rolled back."""
    if db.unavailable(exc):
        db.abandon()
        log.error("Database unavailable on SCIM %s %s: %s", request.method, request.path, db.describe(exc))
        response = refusal(503, "The Registry's database is unavailable. Try again in a minute.")
        response.headers["Retry-After"] = "60"
        return response
    log.exception("SCIM request %s %s failed", request.method, request.path)
    failed = g.get("_db_session")
    if failed is not None:
        failed.rollback()
    return refusal(500, "The Registry could not do this because of a fault on its side. Try again later.")


def http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    detail = exc.description if exc.description != type(exc).description else None
    if isinstance(exc, MethodNotAllowed):
        detail = f"{request.path} does not accept {request.method}."
    response = refusal(status, detail or (exc.description or "The request failed."))
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


def failure(exc: Exception) -> Response:
    """Any exception a SCIM request raised, answered in SCIM's words (the client reads no HTML page)."""
    if isinstance(exc, SCIMException):
        return _scim_error(exc)
    if isinstance(exc, ValidationError):
        return _invalid_body(exc)
    if isinstance(exc, RegistryError):
        return _refused(exc)
    if isinstance(exc, RecursionError):
        return _too_deep(exc)
    return _failed(exc)


# --- discovery ------------------------------------------------------------------------------------


def _provider() -> Any:
    return schema.provider(url_for("scim.service_provider_config", _external=True))


def _with_meta(document: Any, resource_type: str, location: str) -> dict[str, Any]:
    document.meta = Meta(resource_type=resource_type, location=location)
    body: dict[str, Any] = document.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    return body


def _listed(items: list[dict[str, Any]]) -> Response:
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": len(items),
        "startIndex": 1,
        "itemsPerPage": len(items),
        "Resources": items,
    }
    return _json(body)


def get_service_provider_config() -> Response:
    config = _provider().config
    return _json(_with_meta(config, "ServiceProviderConfig", request.base_url))


def _resource_type_document(resource_type: ResourceType) -> dict[str, Any]:
    return _with_meta(
        resource_type, "ResourceType", url_for("scim.resource_type", name=resource_type.id, _external=True)
    )


def _schema_document(document: Schema) -> dict[str, Any]:
    return _with_meta(document, "Schema", url_for("scim.schema", uri=document.id, _external=True))


def list_resource_types() -> Response:
    return _listed([_resource_type_document(kind) for kind in _provider().resource_types])


def get_resource_type(name: str) -> Response:
    for kind in _provider().resource_types:
        if kind.id == name:
            return _json(_resource_type_document(kind))
    raise NotFound(f"There is no resource type {name}: this service provisions Users only.")


def list_schemas() -> Response:
    return _listed([_schema_document(document) for document in _provider().schemas])


def get_schema(uri: str) -> Response:
    for document in _provider().schemas:
        if document.id == uri:
            return _json(_schema_document(document))
    raise NotFound(f"There is no schema {uri}.")


# --- users ----------------------------------------------------------------------------------------


def _location(user_id: int) -> str:
    return url_for("scim.user", user_id=str(user_id), _external=True)


def as_resource(user: User) -> Any:
    """The SCIM User a Registry user is (with their address in ``emails``, for patches that name it)."""
    resource = ScimUser(
        id=str(user.id),
        external_id=user.external_id,
        user_name=user.email,
        display_name=user.name,
        active=user.active,
        emails=[schema.Email(value=user.email, type="work", primary=True)],
        meta=Meta(resource_type="User", created=user.created_at, location=_location(user.id)),
    )
    if user.line_manager_id is not None:
        resource[EnterpriseUser] = EnterpriseUser(
            manager=Manager(value=str(user.line_manager_id), ref=Reference(_location(user.line_manager_id)))
        )
    return resource


def _response_parameters() -> Any:
    return ResponseParameters[ScimUser].model_validate(
        {
            key: request.args[name]
            for key, name in (("attributes", "attributes"), ("excludedAttributes", "excludedAttributes"))
            if request.args.get(name)
        }
    )


def _dump(resource: Any, context: Context, status: int = 200) -> Response:
    body = resource.model_dump(scim_ctx=context, response_parameters=_response_parameters())
    response = _json(body, status)
    if status == 201:
        response.headers["Location"] = resource.meta.location
    return response


_FILTER = re.compile(r'^\s*(userName|externalId)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$', re.IGNORECASE)


def _filter() -> tuple[str | None, str | None]:
    """The one equality filter the service supports, as (userName, externalId)."""
    text = request.args.get("filter")
    if text is None:
        return None, None
    match = _FILTER.match(text)
    if match is None:
        raise InvalidFilterException(
            detail='Only filters of the form userName eq "name@example.nhs.uk" or externalId eq "…" are supported.'
        )
    try:
        value = json.loads(f'"{match.group(2)}"')
    except ValueError:
        raise InvalidFilterException(detail="The filter's value is not a valid quoted string.") from None
    if "\x00" in value:
        raise InvalidFilterException(detail=f"The filter's {match.group(1)} value contains a NUL character (\\u0000).")
    attribute = match.group(1).lower()
    return (value, None) if attribute == "username" else (None, value)


def _number(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidValueException(detail=f"{name} must be a whole number; got {raw!r}.") from None


def list_users() -> Response:
    user_name, external_id = _filter()
    start = min(max(_number("startIndex", 1), 1), 2**31 - 1)
    count = min(max(_number("count", schema.DEFAULT_PAGE), 0), schema.MAX_PAGE)
    found = services.page(user_name=user_name, external_id=external_id, start=start, count=count)
    listing = ListResponse[ScimUser](
        total_results=found.total,
        start_index=found.start,
        items_per_page=len(found.users),
        resources=[as_resource(user) for user in found.users],
    )
    return _dump(listing, Context.RESOURCE_QUERY_RESPONSE)


def _body() -> dict[str, Any]:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise RequestEntityTooLarge(f"The request body must be at most {MAX_BODY} bytes (1 MB).")
    request.max_content_length = MAX_BODY  # a body sent without a length is cut off there too
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidValueException(
            detail="Send a JSON object in the request body, with Content-Type: application/scim+json."
        )
    if (where := _nul_in(body, "")) is not None:
        raise InvalidValueException(detail=f"{where or 'The request body'} contains a NUL character (\\u0000).")
    return body


def _nul_in(value: Any, where: str) -> str | None:
    """Where in a JSON document a NUL character is (an attribute's path), or None."""
    if isinstance(value, str):
        return where if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{where}.{key}" if where else str(key)
            if "\x00" in key:
                return path
            if (found := _nul_in(item, path)) is not None:
                return found
    if isinstance(value, list):
        for item in value:
            if (found := _nul_in(item, where)) is not None:
                return found
    return None


def _given_name(name: Any) -> str | None:
    """The full name ``name`` (SCIM's complex attribute) gives: ``formatted``, or given and family names."""
    if name is None:
        return None
    if name.formatted and name.formatted.strip():
        return str(name.formatted)
    parts = [part.strip() for part in (name.given_name, name.family_name) if part and part.strip()]
    return " ".join(parts) or None


def _with_display_name(body: dict[str, Any]) -> dict[str, Any]:
    """A body without ``displayName`` takes the person's name from ``name``."""
    if not body.get("displayName") and isinstance(body.get("name"), dict):
        name = schema.Name.model_validate(body["name"], scim_policy=TOLERANT)
        if given := _given_name(name):
            return {**body, "displayName": given}
    return body


def _manager_of(resource: Any) -> str | None:
    extension = resource[EnterpriseUser]
    manager = extension.manager if extension is not None else None
    return str(manager.value) if manager is not None and manager.value else None


def _wanted(resource: Any, *, email: str | None = None) -> services.Wanted:
    return services.Wanted(
        email=email or resource.user_name,
        name=resource.display_name,
        external_id=resource.external_id,
        active=resource.active,
        manager=_manager_of(resource),
    )


def create_user() -> Response:
    resource = ScimUser.model_validate(
        _with_display_name(_body()), scim_ctx=Context.RESOURCE_CREATION_REQUEST, scim_policy=TOLERANT
    )
    user = _provisioned(lambda: services.create(_wanted(resource), client=_client()))
    return _dump(as_resource(user), Context.RESOURCE_CREATION_RESPONSE, 201)


def _provisioned(change: Callable[[], Any]) -> Any:
    """Run ``change``; a clash over a unique value that the checks could not see (another request made the
    same person at the same moment) is SCIM's uniqueness too."""
    try:
        return change()
    except IntegrityError:
        db.session().rollback()
        raise services.Taken(
            "userName or externalId is already another user's (made at the same moment): look the person up."
        ) from None


def get_user(user_id: str) -> Response:
    return _dump(as_resource(services.get(user_id)), Context.RESOURCE_QUERY_RESPONSE)


def replace_user(user_id: str) -> Response:
    user = services.get(user_id)
    original = as_resource(user)
    replacement = ScimUser.model_validate(
        _with_display_name(_body()), scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST, scim_policy=TOLERANT
    )
    replacement.replace(original)
    _provisioned(lambda: services.apply(user, _wanted(replacement), client=_client()))
    return _dump(as_resource(user), Context.RESOURCE_REPLACEMENT_RESPONSE)


_MANAGER_PATH = re.compile(rf"^({re.escape(ENTERPRISE)}:)?manager$", re.IGNORECASE)


def _entra_operations(body: dict[str, Any]) -> dict[str, Any]:
    """Microsoft Entra ID's known departures from RFC 7644, read as what it means: a manager sent as the
    bare id, and ``active`` sent as the text "True" or "False"."""
    operations = body.get("Operations")
    if not isinstance(operations, list):
        return body
    fixed = []
    for operation in operations:
        if isinstance(operation, dict):
            path, value = str(operation.get("path") or ""), operation.get("value")
            if _MANAGER_PATH.match(path) and isinstance(value, str):
                operation = {**operation, "value": {"value": value}}
            elif path.lower() == "active" and isinstance(value, str) and value.lower() in ("true", "false"):
                operation = {**operation, "value": value.lower() == "true"}
        fixed.append(operation)
    return {**body, "Operations": fixed}


def patch_user(user_id: str) -> Response:
    user = services.get(user_id)
    body = _body()
    operations = body.get("Operations")
    if isinstance(operations, list) and len(operations) > MAX_OPERATIONS:
        raise InvalidValueException(
            detail=f"A PATCH may hold at most {MAX_OPERATIONS} Operations; this one has {len(operations)}. "
            "Send them in smaller PATCH requests."
        )
    patch = PatchOp[ScimUser].model_validate(_entra_operations(body), scim_ctx=Context.RESOURCE_PATCH_REQUEST)
    resource = as_resource(user)
    before = resource.model_copy(deep=True)
    patch.patch(resource, TOLERANT)
    if resource.display_name == before.display_name and (given := _given_name(resource.name)):
        resource.display_name = given
    if before.external_id is not None and resource.external_id is None:
        raise services.Immutable(
            "externalId is this person's directory id and cannot change: a different id is a different person "
            "(it cannot be removed either)."
        )
    email = resource.user_name
    if resource.user_name == before.user_name and resource.emails != before.emails:
        email = _chosen_email(resource.emails) or email
    _provisioned(lambda: services.apply(user, _wanted(resource, email=email), client=_client()))
    return _dump(as_resource(user), Context.RESOURCE_PATCH_RESPONSE)


def _chosen_email(emails: list[Any] | None) -> str | None:
    """The address a list of e-mails names: the primary one, else the work one, else the first."""
    values = [email for email in emails or [] if email.value]
    for choose in (lambda e: e.primary, lambda e: e.type == "work", lambda e: True):
        for email in values:
            if choose(email):
                return str(email.value)
    return None


def delete_user(user_id: str) -> Response:
    services.deprovision(services.get(user_id), client=_client())
    return Response(status=204)


def search() -> Response:
    raise NotImplementedException(detail="Searching with POST is not supported: use GET /Users with a filter.")


def nothing_here(unknown: str) -> Response:
    raise NotFound(f"There is nothing at /scim/v2/{unknown}: this service provisions Users only.")
