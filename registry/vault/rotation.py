"""Which credentials need rotating: the flag a leaver or an ended grant sets, and the overdue ones.

A credential is "rotation required" once someone who may know it can no longer be trusted with it
(their grant ended, or they left having seen its current value); each reason is kept and audited.
Storing a new value clears the flag.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import ColumnElement, Select, and_, func, select

from registry import clock, db
from registry.audit.models import AuditAction
from registry.audit.services import Actor, record
from registry.auth.models import User
from registry.channels.models import Channel
from registry.channels.workflow import ChannelStatus
from registry.vault.models import (
    Credential,
    CredentialReveal,
    RevealAction,
)

#: Channels that were never set up, so hold no account (nor secrets).
CLOSED_STATUSES = frozenset({ChannelStatus.REJECTED, ChannelStatus.WITHDRAWN})


def mark_rotation_required(credentials: Iterable[Credential], reason: str, *, actor: Actor | User | None = None) -> int:
    """Flag each credential "rotation required", adding ``reason``; returns how many were flagged."""
    count = 0
    now = db.utcnow().isoformat(timespec="seconds")
    for credential in credentials:
        reasons = credential.rotation_reasons
        if any(entry.get("reason") == reason for entry in reasons):
            continue
        reasons.append({"reason": reason, "at": now})
        credential.rotation_reasons_json = json.dumps(reasons)
        credential.rotation_required = True
        record(
            AuditAction.CREDENTIAL_ROTATION_REQUIRED,
            "credential",
            f"{credential.channel.reference}/{credential.kind}",
            {"reason": reason},
            actor=actor,
        )
        count += 1
    db.session().flush()
    return count


def credentials_of_channel_ids(channel_ids: Iterable[int]) -> list[Credential]:
    ids = sorted(set(channel_ids))
    if not ids:
        return []
    return list(db.session().execute(select(Credential).where(Credential.channel_id.in_(ids))).unique().scalars())


def exposes_current_value() -> ColumnElement[bool]:
    """A recorded use (joined to its credential) that showed the value the credential still has:
    not refused, of the current version, since its last rotation."""
    return and_(
        CredentialReveal.action != RevealAction.REFUSED.value,
        CredentialReveal.version == Credential.current_version,
        CredentialReveal.occurred_at >= Credential.rotated_at,
    )


def seen_since_rotation(user: User) -> list[Credential]:
    """Every credential whose current value ``user`` revealed, copied or used a code from."""
    seen = (
        select(CredentialReveal.credential_id)
        .join(Credential, Credential.id == CredentialReveal.credential_id)
        .where(CredentialReveal.user_id == user.id, exposes_current_value())
    )
    return list(db.session().execute(select(Credential).where(Credential.id.in_(seen))).unique().scalars())


def needing_rotation() -> Select[Credential]:
    """Overdue (past the due date) or required credentials of channels that still exist, most urgent first."""
    return (
        select(Credential)
        .join(Channel, Channel.id == Credential.channel_id)
        .where(
            (Credential.rotation_required.is_(True)) | (Credential.rotation_due_on < clock.today()),
            Channel.status.not_in([s.value for s in CLOSED_STATUSES | {ChannelStatus.RETIRED}]),
        )
        .order_by(Credential.rotation_required.desc(), Credential.rotation_due_on, Credential.id)
    )


def count_needing_rotation() -> int:
    return (
        db.session()
        .execute(select(func.count()).select_from(needing_rotation().order_by(None).subquery()))
        .scalar_one()
    )
