"""The JSON API under ``/api/v1`` (bearer token or browser session).

Errors are ``application/problem+json``; 422 bodies name each field. The
OpenAPI document at ``/api/v1/openapi.json`` describes exactly these routes.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from flask_login import current_user

from registry import db
from registry.api import schemas
from registry.api.openapi import document
from registry.audit.services import AuditFilters, search_events
from registry.auth.permissions import Permission, public, requires
from registry.channels import services as channels
from registry.channels.views import EXPORT_COLUMNS
from registry.errors import Invalid, NotPermitted, RegistryError
from registry.verification import services as verification
from registry.web.exports import csv_response
from registry.web.pagination import page_args, paginate
from registry.web.throttle import API_PER_CLIENT, VERIFY_PER_ADDRESS, limiter

bp = Blueprint("api", __name__, url_prefix="/api/v1")


class BadBody(RegistryError):
    status = 400
    title = "Bad request"


def _user():
    return current_user._get_current_object()


def _json_object() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadBody("Send a JSON object in the request body, with Content-Type: application/json.")
    return body


def _text_fields(body: dict[str, Any], names: tuple[str, ...]) -> dict[str, str | None]:
    errors = {name: f"{name} must be text." for name in names if body.get(name) is not None and not isinstance(body[name], str)}
    if errors:
        raise Invalid(errors)
    return {name: body.get(name) for name in names}


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
    filters = channels.ChannelFilters.parse(request.args, strict=True)
    statement = channels.search(filters, _user())
    if request.args.get("format") == "csv":
        if not _user().can(Permission.CHANNEL_EXPORT):
            raise NotPermitted("Only the communications team and auditors can export the inventory.")
        rows = [
            (
                c.reference, c.platform, c.handle, c.url, c.display_name, c.department, c.status, c.sponsor,
                c.requester.email, c.created_at, c.status_changed_at, c.next_review_on,
            )
            for c in db.session().execute(statement).scalars()
        ]
        channels.record_export(_user(), filters, len(rows))
        return csv_response("channels.csv", EXPORT_COLUMNS, rows)
    if request.args.get("format") not in (None, "", "json"):
        raise Invalid({"format": "format must be json or csv."})
    page, per_page = page_args(25, strict=True)
    result = paginate(db.session(), statement, page, per_page)
    viewer = _user()
    return jsonify(
        {
            "items": [schemas.channel(c, viewer) for c in result.items],
            "total": result.total,
            "page": result.page,
            "per_page": result.per_page,
        }
    )


@bp.route("/channels", methods=["POST"])
@requires(Permission.CHANNEL_REQUEST)
@limiter.limit(API_PER_CLIENT)
def create_channel():
    data = channels.ChannelRequest.from_mapping(_json_object())
    channel = channels.request_channel(data, _user())
    response = jsonify(schemas.channel(channel, _user(), channels.history(channel)))
    response.status_code = 201
    response.headers["Location"] = schemas.channel(channel, _user())["links"]["self"]
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
        raise Invalid({"action": "Give an action: approve, reject, request_info, resubmit, activate, suspend, reinstate, retire or withdraw."})
    channel = channels.transition(
        channel, fields["action"], _user(), reason=fields["reason"], handle=fields["handle"], url=fields["url"]
    )
    return jsonify(schemas.channel(channel, _user(), channels.history(channel)))


@bp.route("/audit-events")
@requires(Permission.AUDIT_READ)
@limiter.limit(API_PER_CLIENT)
def audit_events():
    filters = AuditFilters.parse(request.args, strict=True)
    page, per_page = page_args(50, strict=True)
    result = paginate(db.session(), search_events(filters), page, per_page)
    return jsonify(
        {
            "items": [schemas.audit_event(e) for e in result.items],
            "total": result.total,
            "page": result.page,
            "per_page": result.per_page,
        }
    )
