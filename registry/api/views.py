"""The JSON API under ``/api/v1`` (bearer token or browser session).

Errors are ``application/problem+json``; 422 bodies name each field. The
OpenAPI document at ``/api/v1/openapi.json`` describes exactly these routes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, jsonify, request, url_for
from flask_login import current_user

from registry import db
from registry.api import schemas
from registry.api.openapi import AUDIT_QUERY_LIMITS, CHANNEL_QUERY_LIMITS, document
from registry.api.support import json_response, page_json
from registry.audit.services import AuditFilters, search_events
from registry.auth.permissions import Permission, public, requires
from registry.channels import services as channels
from registry.channels.views import EXPORT_COLUMNS
from registry.errors import Invalid, NotPermitted, RegistryError
from registry.extensions import limiter
from registry.roster import services as roster
from registry.vault import services as custody
from registry.verification import services as verification
from registry.web.exports import csv_response
from registry.web.pagination import page_args, paginate
from registry.web.throttle import API_PER_CLIENT, VERIFY_PER_ADDRESS

bp = Blueprint("api", __name__, url_prefix="/api/v1")


class BadBody(RegistryError):
    status = 400
    title = "Bad request"


def _user():
    return current_user._get_current_object()


def _json_object() -> dict[str, Any]:
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
        if isinstance(value, str) and not _is_unicode(value)
    }
    if errors:
        raise Invalid(errors)
    return body


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _text_fields(body: dict[str, Any], names: tuple[str, ...]) -> dict[str, str | None]:
    errors = {
        name: f"{name} must be text."
        for name in names
        if body.get(name) is not None and not isinstance(body[name], str)
    }
    if errors:
        raise Invalid(errors)
    return {name: body.get(name) for name in names}


def _query(limits: dict[str, int], *parsers: Callable[[], Any]) -> list[Any]:
    """Parse the query string strictly, refusing every bad parameter in one 422.

    A free-text filter that is too long or holds a NUL character is refused
    rather than silently searched for in part; each of ``parsers`` (which raise
    :class:`Invalid`) adds its own field errors. Returns what each parser gave.
    """
    errors: dict[str, str] = {}
    for name, limit in limits.items():
        value = request.args.get(name, "")
        if len(value) > limit:
            errors[name] = f"{name} must be {limit} characters or fewer."
        elif "\x00" in value:
            errors[name] = f"{name} must not contain NUL characters."
    results = []
    for parse in parsers:
        try:
            results.append(parse())
        except Invalid as exc:
            errors.update(exc.errors)
    if errors:
        raise Invalid(errors)
    return results


def _format() -> str:
    chosen = request.args.get("format") or "json"
    if chosen not in ("json", "csv"):
        raise Invalid({"format": "format must be json or csv."})
    return chosen


@bp.route("/openapi.json")
@public
def openapi():
    return jsonify(document())


@bp.route("/verify")
@public
@limiter.limit(VERIFY_PER_ADDRESS)
def verify():
    result = verification.verify(
        url=request.args.get("url"), platform=request.args.get("platform"), handle=request.args.get("handle")
    )
    response = jsonify(schemas.verdict(result))
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.route("/channels")
@requires(Permission.CHANNEL_LIST)
@limiter.limit(API_PER_CLIENT)
def list_channels():
    filters, (page, per_page), chosen_format = _query(
        CHANNEL_QUERY_LIMITS,
        lambda: channels.ChannelFilters.parse(request.args, strict=True),
        lambda: page_args(25, strict=True),
        _format,
    )
    statement = channels.search(filters, _user())
    if chosen_format == "csv":
        if not _user().can(Permission.CHANNEL_EXPORT):
            raise NotPermitted("Only the communications team and auditors can export the inventory.")
        rows = [
            (
                c.reference,
                c.platform,
                c.handle,
                c.url,
                c.display_name,
                c.department,
                c.status,
                c.sponsor,
                c.requester.email,
                c.created_at,
                c.status_changed_at,
                c.next_review_on,
            )
            for c in db.session().execute(statement).scalars()
        ]
        channels.record_export(_user(), filters, len(rows))
        return csv_response("channels.csv", EXPORT_COLUMNS, rows)
    result = paginate(db.session(), statement, page, per_page)
    viewer = _user()
    return jsonify(page_json(result, [schemas.channel(c, viewer) for c in result.items]))


@bp.route("/channels", methods=["POST"])
@requires(Permission.CHANNEL_REQUEST)
@limiter.limit(API_PER_CLIENT)
def create_channel():
    data = channels.ChannelRequest.from_mapping(_json_object())
    channel = channels.request_channel(data, _user())
    response = json_response(schemas.channel(channel, _user(), channels.history(channel)), 201)
    response.headers["Location"] = url_for("api.get_channel", reference=channel.reference)
    return response


def _visible(reference: str):
    channel = channels.get_channel(reference)
    if not channels.can_view(_user(), channel):
        raise NotPermitted("You can see your own requests and the Trust's official channels only.")
    return channel


@bp.route("/channels/<reference>")
@requires(Permission.CHANNEL_LIST)
@limiter.limit(API_PER_CLIENT)
def get_channel(reference: str):
    channel = _visible(reference)
    return jsonify(schemas.channel(channel, _user(), channels.history(channel)))


@bp.route("/channels/<reference>/transitions", methods=["POST"])
@requires(Permission.CHANNEL_LIST)
@limiter.limit(API_PER_CLIENT)
def transition(reference: str):
    channel = _visible(reference)
    body = _json_object()
    fields = _text_fields(body, ("action", "reason", "handle", "url"))
    if not fields["action"]:
        raise Invalid(
            {
                "action": "Give an action: approve, reject, request_info, resubmit, activate, suspend, "
                "reinstate, retire or withdraw."
            }
        )
    channel = channels.transition(
        channel, fields["action"], _user(), reason=fields["reason"], handle=fields["handle"], url=fields["url"]
    )
    return jsonify(schemas.channel(channel, _user(), channels.history(channel)))


@bp.route("/audit-events")
@requires(Permission.AUDIT_READ)
@limiter.limit(API_PER_CLIENT)
def audit_events():
    filters, (page, per_page) = _query(
        AUDIT_QUERY_LIMITS, lambda: AuditFilters.parse(request.args, strict=True), lambda: page_args(50, strict=True)
    )
    result = paginate(db.session(), search_events(filters, viewer=_user()), page, per_page)
    return jsonify(page_json(result, [schemas.audit_event(e) for e in result.items]))


@bp.route("/channels/<reference>/credentials")
@requires(Permission.CREDENTIAL_READ)
@limiter.limit(API_PER_CLIENT)
def list_credentials(reference: str):
    """What is in custody for a channel: metadata only, never a value."""
    channel = channels.get_channel(reference)
    return jsonify({"items": [schemas.credential(c) for c in custody.credentials_of(channel)]})


@bp.route("/channels/<reference>/credentials", methods=["POST"])
@requires(Permission.CREDENTIAL_MANAGE)
@limiter.limit(API_PER_CLIENT)
def store_credential(reference: str):
    """Take custody of a secret (for onboarding existing accounts); answers with its metadata."""
    channel = channels.get_channel(reference)
    fields = _text_fields(_json_object(), ("kind", "value", "reason"))
    missing = {name: f"{name} is required." for name in ("kind", "value", "reason") if not fields[name]}
    if missing:
        raise Invalid(missing)
    credential = custody.store(channel, fields["kind"] or "", fields["value"] or "", fields["reason"] or "", _user())
    response = json_response(schemas.credential(credential), 201)
    return response


@bp.route("/channels/<reference>/roster")
@requires(Permission.ROSTER_READ)
@limiter.limit(API_PER_CLIENT)
def list_grants(reference: str):
    """Who holds (and held) which role on the channel's account."""
    channel = channels.get_channel(reference)
    return jsonify({"items": [schemas.grant(g) for g in roster.grants_of(channel)]})


@bp.route("/channels/<reference>/roster", methods=["POST"])
@requires(Permission.ROSTER_MANAGE)
@limiter.limit(API_PER_CLIENT)
def create_grant(reference: str):
    channel = channels.get_channel(reference)
    data = roster.GrantRequest.from_mapping(_json_object())
    added = roster.grant(
        channel,
        email=data.email,
        name=data.name,
        organisation=data.organisation,
        platform_role=data.platform_role,
        expires_on=data.expires_on,
        actor=_user(),
    )
    response = json_response(schemas.grant(added), 201)
    response.headers["Location"] = url_for("api.list_grants", reference=channel.reference)
    return response


@bp.route("/channels/<reference>/roster/<int(max=2147483647):grant_id>/revoke", methods=["POST"])
@requires(Permission.ROSTER_MANAGE)
@limiter.limit(API_PER_CLIENT)
def revoke_grant(reference: str, grant_id: int):
    """End a grant; every credential of the channel is then marked for rotation."""
    grant = roster.get_grant(channels.get_channel(reference), grant_id)
    fields = _text_fields(_json_object(), ("reason",))
    roster.revoke(grant, reason=fields["reason"] or "", actor=_user())
    return jsonify(schemas.grant(grant))
