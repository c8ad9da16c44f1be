"""The core API routes: the OpenAPI document, the audit trail, credentials in custody and rosters.

Each domain with requests of its own keeps its routes in its ``api.py`` (channels, consent, posts,
media contacts, screening, verification); every route is declared with
:func:`registry.api.operations.operation`, from which the document at ``/api/v1/openapi.json``
is built.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, ClassVar

from flask import jsonify, request, url_for
from flask.wrappers import Response
from pydantic import Field, WithJsonSchema

from registry import db
from registry.api import blocks
from registry.api.blocks import AUDIT_MOMENT
from registry.api.openapi import document
from registry.api.operations import (
    Answer,
    Body,
    Date,
    Described,
    FreeText,
    IsoDate,
    Listing,
    MaybeDate,
    MaybeTimestamp,
    Out,
    Paged,
    Query,
    Text,
    Timestamp,
    one_of,
    operation,
    reply,
)
from registry.api.support import acting_user
from registry.audit.services import AuditFilters, count_visible, search_events
from registry.auth.permissions import Permission
from registry.channels.api import REFERENCE
from registry.channels.services import get_channel
from registry.roster import services as roster
from registry.roster.models import PlatformRole
from registry.roster.models import RosterGrant as GrantRecord
from registry.roster.services import NAME_MAX, ORGANISATION_MAX
from registry.roster.services import REASON_MAX as ROSTER_REASON_MAX
from registry.vault import services as custody
from registry.vault.models import Credential as CredentialRecord
from registry.vault.models import CredentialKind
from registry.vault.services import MAX_VALUE
from registry.vault.services import REASON_MAX as CREDENTIAL_REASON_MAX
from registry.web.pagination import MAX_PER_PAGE, page_args, paginate
from registry.web.throttle import API_PER_CLIENT

HASH = WithJsonSchema({"type": "string", "pattern": "^[0-9a-f]{64}$"})


@operation(
    "GET",
    "/openapi.json",
    id="openapi",
    summary="This document.",
    permission=None,
    limit=None,
    answers={200: Answer({"type": "object"}, "The OpenAPI document.")},
)
def openapi() -> Response:
    return jsonify(document())


# --- the audit trail --------------------------------------------------------------------------------


class AuditEvent(Out):
    named: ClassVar[bool] = True

    seq: Annotated[int, WithJsonSchema({"type": "integer", "minimum": 1})]
    occurred_at: Timestamp
    actor: str
    actor_id: int | None
    action: str
    object_type: str
    object_id: str
    address: str | None
    details: Annotated[
        dict[str, Any], WithJsonSchema({"type": "object", "description": "What changed; never a secret."})
    ]
    prev_hash: Annotated[str, HASH]
    hash: Annotated[str, HASH]


class AuditEventPage(Paged[AuditEvent]):
    pass


class AuditQuery(Query):
    object: Annotated[str, FreeText(110), Field(description="`type:id` such as `channel:CH-0001`, or just the id.")] = (
        ""
    )
    action: Annotated[
        str,
        FreeText(64),
        Field(description="An action such as `channel:approve`, or a subject such as `channel`."),
    ] = ""
    actor: Annotated[str, FreeText(200), Field(description="Text in the actor's name or e-mail address.")] = ""
    since: Annotated[
        str,
        Described(AUDIT_MOMENT),
        Field(description="Events at or after this date (midnight UTC) or date-time (UTC when no offset)."),
    ] = ""
    until: Annotated[str, Described(AUDIT_MOMENT), Field(description="Events before this date or date-time.")] = ""
    page: Annotated[str, Described(blocks.page_number(1_000_000, 1)), Field(description="Empty means 1.")] = ""
    per_page: Annotated[str, Described(blocks.page_number(MAX_PER_PAGE, 50)), Field(description="Empty means 50.")] = ""


@operation(
    "GET",
    "/audit-events",
    id="listAuditEvents",
    summary="The audit trail, newest first (auditors, comms, admins).",
    permission=Permission.AUDIT_READ,
    limit=API_PER_CLIENT,
    query=AuditQuery,
    answers={200: Answer(AuditEventPage, "A page of events.")},
)
def audit_events() -> Response:
    _, (filters, (page, per_page)) = AuditQuery.read(
        lambda: AuditFilters.parse(request.args, strict=True), lambda: page_args(50, strict=True)
    )
    viewer = acting_user()
    result = paginate(
        db.session(),
        search_events(filters, viewer=viewer),
        page,
        per_page,
        total=count_visible(filters, viewer=viewer),
    )
    return reply(AuditEventPage.of(result, [AuditEvent.taking(e, details=json.loads(e.details)) for e in result.items]))


# --- credentials in custody -------------------------------------------------------------------------

KINDS = [k.value for k in CredentialKind]


class Credential(Out):
    """A secret in custody: what it is and its rotation state, never its value."""

    kind: Annotated[str, one_of(KINDS)]
    label: str
    version: Annotated[int, WithJsonSchema({"type": "integer", "minimum": 1})]
    created_at: Timestamp = Field(description="When the current version was stored.")
    first_stored_at: Timestamp
    rotation_due: Date
    rotation_required: bool
    rotation_reasons: list[str]

    @classmethod
    def of(cls, credential: CredentialRecord) -> Credential:
        """A credential's metadata. There is deliberately no way to put its value here."""
        return cls(
            kind=credential.kind,
            label=credential.kind_enum.label,
            version=credential.current_version,
            created_at=credential.rotated_at,
            first_stored_at=credential.created_at,
            rotation_due=credential.rotation_due_on,
            rotation_required=credential.rotation_required,
            rotation_reasons=[entry["reason"] for entry in credential.rotation_reasons],
        )


class CredentialList(Listing[Credential]):
    pass


class CredentialRequest(Body):
    needed: ClassVar[dict[str, str]] = {name: f"{name} is required." for name in ("kind", "value", "reason")}
    extra: ClassVar[dict[str, Any]] = {
        "anyOf": [
            blocks.branch("kind", [k for k in KINDS if k != CredentialKind.TOTP_SEED.value], value=blocks.NOT_SPACES),
            blocks.branch("kind", [CredentialKind.TOTP_SEED.value], value={"pattern": blocks.TOTP_SEED}),
        ]
    }

    kind: Annotated[str | None, Text({"type": "string", "enum": KINDS})] = None
    value: Annotated[
        str | None,
        Text(
            {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_VALUE,
                **blocks.NO_NUL,
                "writeOnly": True,
                "description": "Not only space, and no NUL character. A two-factor seed is the platform's "
                "base32 setup key (A-Z and 2-7, at least 16 of them; spaces and dashes ignored).",
            }
        ),
    ] = None
    reason: Annotated[str | None, Text(blocks.required_text(CREDENTIAL_REASON_MAX))] = None


@operation(
    "GET",
    "/channels/<reference>/credentials",
    id="listCredentials",
    summary="What is in custody for a channel: metadata only, never a value (comms, auditors).",
    permission=Permission.CREDENTIAL_READ,
    limit=API_PER_CLIENT,
    parameters=(REFERENCE,),
    answers={200: Answer(CredentialList, "The channel's credentials.")},
)
def list_credentials(reference: str) -> Response:
    """What is in custody for a channel: metadata only, never a value."""
    channel = get_channel(reference)
    return reply(CredentialList(items=[Credential.of(c) for c in custody.credentials_of(channel)]))


@operation(
    "POST",
    "/channels/<reference>/credentials",
    id="storeCredential",
    summary="Take custody of a secret, for onboarding an existing account (comms only).",
    description="A new value of an existing kind becomes a new version. The answer is metadata only.",
    permission=Permission.CREDENTIAL_MANAGE,
    limit=API_PER_CLIENT,
    parameters=(REFERENCE,),
    body=CredentialRequest,
    answers={201: Answer(Credential, "The credential's metadata.")},
    refusals={409: "The channel was rejected or withdrawn: there is no account to hold secrets for."},
)
def store_credential(reference: str) -> Response:
    """Take custody of a secret (for onboarding existing accounts); answers with its metadata."""
    channel = get_channel(reference)
    given = CredentialRequest.read()
    credential = custody.store(channel, given.kind or "", given.value or "", given.reason or "", acting_user())
    return reply(Credential.of(credential), 201)


# --- rosters ----------------------------------------------------------------------------------------

ROLES = [r.value for r in PlatformRole]


class RosterGrant(Out):
    """A person's role on a channel's platform account."""

    id: Annotated[int, WithJsonSchema({"type": "integer", "minimum": 1})]
    person_name: str
    email: str
    organisation: str | None = Field(description="Null for a Registry user (the Trust).")
    platform_role: Annotated[str, one_of(ROLES)]
    user_id: int | None = Field(description="The Registry user holding the role, if any.")
    granted_by: str | None
    granted_on: Date
    expires_on: MaybeDate
    revoked_at: MaybeTimestamp
    revoked_by: str | None = Field(description="Null when the system ended it (expiry).")
    revoke_reason: str | None
    active: bool

    @classmethod
    def of(cls, grant: GrantRecord) -> RosterGrant:
        return cls.taking(
            grant,
            granted_by=grant.granted_by.name if grant.granted_by else None,
            revoked_by=grant.revoked_by.name if grant.revoked_by else None,
            active=grant.is_active,
        )


class GrantList(Listing[RosterGrant]):
    pass


class GrantRequest(Body):
    required: ClassVar[tuple[str, ...]] = ("email", "platform_role")

    email: Annotated[
        str | None,
        Text(
            {
                "type": "string",
                "format": "email",
                "maxLength": 254,
                "description": "A Registry user's address makes the grant theirs (name from their account); "
                "a user who has left, or one already holding the role, is refused.",
                "examples": ["agency.editor@example.org"],
            }
        ),
    ] = None
    name: Annotated[
        str | None,
        Text(
            blocks.optional_text(
                NAME_MAX, description="Required for someone who is not a Registry user.", examples=["Sam Rivera"]
            )
        ),
    ] = None
    organisation: Annotated[
        str | None,
        Text(
            blocks.optional_text(
                ORGANISATION_MAX,
                description="Required for someone who is not a Registry user.",
                examples=["Example Digital Agency"],
            )
        ),
    ] = None
    platform_role: Annotated[str | None, Text({"type": "string", "enum": ROLES})] = None
    expires_on: Annotated[
        dt.date | None,
        IsoDate(
            {
                "type": ["string", "null"],
                "anyOf": [{"format": "date"}, {"pattern": blocks.ONLY_SPACES}],
                "description": "A date after today; blank or null for no expiry.",
                "examples": ["2099-12-31"],
            },
            blank_is_none=True,
        ),
    ] = None


class RevokeRequest(Body):
    required: ClassVar[tuple[str, ...]] = ("reason",)

    reason: Annotated[str | None, Text(blocks.required_text(ROSTER_REASON_MAX))] = None


GRANT_ID = {
    "name": "grant_id",
    "in": "path",
    "required": True,
    "description": "The grant's id.",
    "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647},
}


@operation(
    "GET",
    "/channels/<reference>/roster",
    id="listRoster",
    summary="Every grant of the channel, current ones first (comms and auditors).",
    permission=Permission.ROSTER_READ,
    limit=API_PER_CLIENT,
    parameters=(REFERENCE,),
    answers={200: Answer(GrantList, "The channel's grants.")},
)
def list_grants(reference: str) -> Response:
    """Who holds (and held) which role on the channel's account."""
    return reply(GrantList(items=[RosterGrant.of(g) for g in roster.grants_of(get_channel(reference))]))


@operation(
    "POST",
    "/channels/<reference>/roster",
    id="grantRole",
    summary="Add a person to the channel's roster (comms).",
    permission=Permission.ROSTER_MANAGE,
    limit=API_PER_CLIENT,
    parameters=(REFERENCE,),
    body=GrantRequest,
    answers={
        201: Answer(
            RosterGrant,
            "The new grant.",
            headers={
                "Location": {"required": True, "schema": {"type": "string"}, "description": "The channel's roster."}
            },
        )
    },
    refusals={409: "The channel is rejected, withdrawn or retired: it can have no administrators."},
)
def create_grant(reference: str) -> Response:
    channel = get_channel(reference)
    given = GrantRequest.read()
    added = roster.grant(
        channel,
        email=given.email or "",
        name=given.name,
        organisation=given.organisation,
        platform_role=given.platform_role or "",
        expires_on=given.expires_on,
        actor=acting_user(),
    )
    response = reply(RosterGrant.of(added), 201)
    response.headers["Location"] = url_for("api.list_grants", reference=channel.reference)
    return response


@operation(
    "POST",
    "/channels/<reference>/roster/<int(max=2147483647):grant_id>/revoke",
    id="revokeRole",
    summary="Remove a person from the roster, flagging every credential of the channel for rotation (comms).",
    permission=Permission.ROSTER_MANAGE,
    limit=API_PER_CLIENT,
    parameters=(REFERENCE, GRANT_ID),
    body=RevokeRequest,
    answers={200: Answer(RosterGrant, "The grant, ended.")},
    refusals={409: "The grant was already ended."},
)
def revoke_grant(reference: str, grant_id: int) -> Response:
    """End a grant; every credential of the channel is then marked for rotation."""
    grant = roster.get_grant(get_channel(reference), grant_id)
    roster.revoke(grant, reason=RevokeRequest.read().reason or "", actor=acting_user())
    return reply(RosterGrant.of(grant))
