"""How records look in the API: plain dicts, never a secret."""

from __future__ import annotations

import json
from typing import Any

from flask import url_for

from registry.audit.models import AuditEvent
from registry.auth.models import User
from registry.channels.models import Channel, ChannelTransition
from registry.channels.services import sees_everything
from registry.roster.models import RosterGrant
from registry.vault.models import Credential
from registry.verification.services import Verdict


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def public_channel(channel: Channel) -> dict[str, Any]:
    """What anyone may know of a channel: the Trust's accounts are public."""
    return {
        "reference": channel.reference,
        "platform": channel.platform,
        "platform_label": channel.platform_label,
        "handle": channel.handle,
        "url": channel.url,
        "display_name": channel.display_name,
        "department": channel.department,
        "status": channel.status,
        "status_changed_at": _iso(channel.status_changed_at),
    }


def channel(channel: Channel, viewer: User, history: list[ChannelTransition] | None = None) -> dict[str, Any]:
    """A channel as ``viewer`` may see it: internal details only for its requester, comms and auditors."""
    links = {
        "self": url_for("api.get_channel", reference=channel.reference),
        "html": url_for("channels.detail", reference=channel.reference),
    }
    if not sees_everything(viewer, channel):
        return {**public_channel(channel), "status_label": channel.status_label, "links": links}
    body = {
        **public_channel(channel),
        "status_label": channel.status_label,
        "purpose": channel.purpose,
        "audience": channel.audience,
        "posting_plan": channel.posting_plan,
        "moderation_plan": channel.moderation_plan,
        "out_of_hours": channel.out_of_hours,
        "sponsor": channel.sponsor,
        "proposed_administrators": channel.proposed_administrators,
        "policy_acknowledged_at": _iso(channel.policy_acknowledged_at),
        "created_at": _iso(channel.created_at),
        "updated_at": _iso(channel.updated_at),
        "next_review_on": _iso(channel.next_review_on),
        "requested_by": {"name": channel.requester.name, "email": channel.requester.email},
        "links": links,
    }
    if history is not None:
        body["history"] = [
            {
                "action": step.action,
                "from_status": step.from_status,
                "to_status": step.to_status,
                "actor": step.actor.name,
                "occurred_at": _iso(step.occurred_at),
                "reason": step.reason,
            }
            for step in history
        ]
    return body


def verdict(result: Verdict) -> dict[str, Any]:
    return {
        "official": result.official,
        "formerly_official": result.formerly_official,
        "platform": result.platform.value,
        "handle": result.handle,
        "channel": public_channel(result.channel) if result.channel is not None else None,
        "lookalike_of": public_channel(result.lookalike_of) if result.lookalike_of is not None else None,
        "known_unauthorised": result.unauthorised is not None,
    }


def audit_event(event: AuditEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "occurred_at": _iso(event.occurred_at),
        "actor": event.actor,
        "actor_id": event.actor_id,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "address": event.address,
        "details": json.loads(event.details),
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def credential(credential: Credential) -> dict[str, Any]:
    """A credential's metadata. There is deliberately no way to put its value here."""
    return {
        "kind": credential.kind,
        "label": credential.kind_enum.label,
        "version": credential.current_version,
        "created_at": _iso(credential.rotated_at),
        "first_stored_at": _iso(credential.created_at),
        "rotation_due": _iso(credential.rotation_due_on),
        "rotation_required": credential.rotation_required,
        "rotation_reasons": [entry["reason"] for entry in credential.rotation_reasons],
    }


def grant(grant: RosterGrant) -> dict[str, Any]:
    """A roster grant as the API shows it (SPEC: the roster endpoints)."""
    return {
        "id": grant.id,
        "person_name": grant.person_name,
        "email": grant.email,
        "organisation": grant.organisation,
        "platform_role": grant.platform_role,
        "user_id": grant.user_id,
        "granted_by": grant.granted_by.name if grant.granted_by else None,
        "granted_on": _iso(grant.granted_on),
        "expires_on": _iso(grant.expires_on),
        "revoked_at": _iso(grant.revoked_at),
        "revoked_by": grant.revoked_by.name if grant.revoked_by else None,
        "revoke_reason": grant.revoke_reason,
        "active": grant.is_active,
    }
