"""Opening an emergency access, using it, closing and reviewing it (policy 7.1 out of hours, 7.2).

:func:`open_access` is the one place an access opens: the row, its first step and audit event, and the
message to every member of the communications team, in the caller's transaction. Secrets are reached
only through :func:`reveal` and :func:`code`, which hand the vault's custody rules the access as locked
from its row (registry/vault/services.py checks it against the secret asked for).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Final

from flask import current_app
from sqlalchemy import Select, select

from config import Settings
from registry import alerts, db
from registry.alerts import AlertEvent
from registry.audit.models import AuditAction
from registry.auth.models import User
from registry.auth.permissions import Permission
from registry.breakglass.kind import KIND, under
from registry.breakglass.models import INCIDENT_MAX, REFERENCE, EmergencyAccess
from registry.breakglass.workflow import AccessAction, AccessStatus
from registry.channels.kind import KIND as CHANNELS
from registry.channels.models import Channel
from registry.channels.workflow import ChannelStatus
from registry.errors import Conflict, Invalid, NotPermitted
from registry.lifecycle import engine
from registry.notifications import services as notifications
from registry.text import clean, masked, uk_datetime
from registry.vault import reveals
from registry.vault import services as custody
from registry.vault.models import Credential, CredentialKind, CredentialReveal

REASON_MAX: Final = 2000
#: Channels whose account exists and can be hijacked.
OPENABLE: Final = frozenset({ChannelStatus.ACTIVE, ChannelStatus.SUSPENDED})
STEP_UP_FIRST: Final = "Confirm it is you with your authenticator app first (needed within 5 minutes)."


def window() -> dt.timedelta:
    settings: Settings = current_app.extensions["registry.settings"]
    return dt.timedelta(minutes=settings.break_glass_minutes)


def channels_to_choose() -> list[Channel]:
    """The channels an access may be opened for: those whose account exists (active or suspended)."""
    statement = (
        select(Channel)
        .where(Channel.status.in_([s.value for s in OPENABLE]))
        .order_by(Channel.display_name, Channel.id)
    )
    return list(db.session().execute(statement).unique().scalars())


def open_access(
    channel_reference: str,
    kinds: Iterable[str],
    incident_reference: str | None,
    reason: str | None,
    actor: User,
) -> EmergencyAccess:
    """Open an emergency access for ``actor`` to one channel's ``kinds`` of secret, now, for the window.

    Needs the break-glass permission and a second factor confirmed in the last five minutes. Every
    active member of the communications team is told who, which channel and why, in this transaction.
    """
    if not actor.can(Permission.BREAK_GLASS_OPEN):
        raise NotPermitted("Only people on call can open an emergency access.")
    errors: dict[str, str] = {}
    channel: Channel | None = None
    found_id = CHANNELS.id_from_reference(channel_reference or "")
    if found_id is not None:
        channel = db.session().get(Channel, found_id)
    if channel is None or channel.status_enum not in OPENABLE:
        errors["channel"] = "Choose the channel whose account needs emergency access"
    incident = clean(incident_reference)
    if not incident:
        errors["incident_reference"] = "Enter the incident reference, for example INC-2026-0142"
    elif len(incident) > INCIDENT_MAX:
        errors["incident_reference"] = f"The incident reference must be {INCIDENT_MAX} characters or fewer"
    why = clean(reason)
    if not why:
        errors["reason"] = "Enter why you need emergency access, for example what has happened to the account"
    elif len(why) > REASON_MAX:
        errors["reason"] = f"The reason must be {REASON_MAX} characters or fewer"
    chosen: list[CredentialKind] = []
    for value in kinds:
        try:
            kind = CredentialKind(value)
        except ValueError:
            errors["kinds"] = "Choose the kinds of secret you need from the list"
            break
        if kind not in chosen:
            chosen.append(kind)
    if not chosen:
        errors.setdefault("kinds", "Choose at least one kind of secret you need")
    if errors:
        raise Invalid(errors)
    assert channel is not None
    if not reveals.step_up_fresh():
        raise NotPermitted(STEP_UP_FIRST)
    now = db.utcnow()
    live = (
        db.session()
        .execute(
            select(EmergencyAccess.id).where(
                EmergencyAccess.requester_id == actor.id,
                EmergencyAccess.channel_id == channel.id,
                EmergencyAccess.status == AccessStatus.OPEN.value,
                EmergencyAccess.ends_at > now,
            )
        )
        .first()
    )
    if live is not None:
        raise Conflict(
            f"You already have an emergency access to {channel.reference} open ({REFERENCE.of(live[0])}): use that one."
        )
    ordered = sorted(chosen, key=list(CredentialKind).index)
    access: EmergencyAccess = KIND.new(
        actor,
        AccessStatus.OPEN,
        now,
        channel_id=channel.id,
        incident_reference=incident,
        reason=why,
        kinds=",".join(k.value for k in ordered),
        opened_at=now,
        ends_at=now + window(),
        reveals=0,
    )
    session = db.session()
    session.add(access)
    session.flush()
    engine.opened(
        KIND,
        access,
        "open",
        actor,
        audit=AuditAction.EMERGENCY_ACCESS_OPEN,
        details={
            "channel": channel.reference,
            "kinds": [k.value for k in ordered],
            "incident": masked(incident),
            "reason": masked(why),
            "ends_at": access.ends_at.isoformat(),
        },
        now=now,
    )
    notifications.notify(
        notifications.comms_team(),
        event="emergency_access:open",
        subject=f"Break-glass: {actor.name} opened emergency access to {channel.reference}",
        body=(
            f"{actor.name} ({actor.email}) opened emergency access {access.reference} to {channel.reference} "
            f"({channel.display_name} on {channel.platform_label}) at {uk_datetime(now)}, "
            f"until {uk_datetime(access.ends_at)}.\n\n"
            f"Incident: {masked(incident)}\n"
            f"Why: {masked(why)}\n"
            f"Secrets asked for: {', '.join(k.label.lower() for k in ordered)}\n\n"
            "Every secret shown under it will be marked for rotation. Once it ends, record the "
            "post-incident review."
        ),
        link=KIND.link(access),
    )
    # Out of hours e-mail is missed: the administrators' webhooks (Teams, Slack) hear of it too, in this
    # transaction (sent once it commits). The screener masks the free text.
    alerts.raise_alert(
        AlertEvent.BREAK_GLASS_OPENED,
        title=f"Break-glass: {actor.name} opened emergency access to {channel.reference}",
        text=f"Incident {incident}: {why}",
        link=KIND.link(access),
        facts={
            "Channel": f"{channel.reference} ({channel.platform_label})",
            "Opened by": actor.name,
            "Secrets asked for": ", ".join(k.label.lower() for k in ordered),
            "Until": uk_datetime(access.ends_at),
        },
    )
    session.flush()
    return access


def grant_of(access: EmergencyAccess) -> reveals.EmergencyGrant:
    return reveals.EmergencyGrant(
        reference=access.reference,
        user_id=access.requester_id,
        channel_id=access.channel_id,
        kinds=frozenset(access.kind_list),
        ends_at=access.ends_at,
        is_open=access.status_enum is AccessStatus.OPEN,
    )


def _locked(reference: str) -> EmergencyAccess:
    return KIND.get(reference, for_update=True)


def _secret(access: EmergencyAccess, kind: str) -> Credential:
    return custody.get_credential(access.channel, kind)


def reveal(reference: str, kind: str, actor: User) -> tuple[EmergencyAccess, Credential, str]:
    """The current value of one of the access's secrets, for the person who opened it, in its window.
    Recorded and audited as an emergency reveal, and the secret marked for rotation, before it is opened."""
    access = _locked(reference)
    credential = _secret(access, kind)
    value = reveals.reveal(credential, actor, None, emergency=grant_of(access))
    access.reveals += 1
    db.session().flush()
    return access, credential, value


def code(reference: str, kind: str, actor: User) -> tuple[EmergencyAccess, Credential, reveals.TotpCode]:
    """A sign-in code from the access's two-factor seed (the seed itself stays hidden)."""
    access = _locked(reference)
    credential = _secret(access, kind)
    made = reveals.totp_code(credential, actor, None, emergency=grant_of(access))
    access.reveals += 1
    db.session().flush()
    return access, credential, made


def close(access: EmergencyAccess, actor: User, note: str | None = None) -> EmergencyAccess:
    """The person who opened it ends it before its time."""
    return engine.apply(KIND, access, AccessAction.CLOSE.value, actor, note=note)


def review(access: EmergencyAccess, actor: User, notes: str | None) -> EmergencyAccess:
    """Another member of the communications team records the post-incident review, with notes."""
    return engine.apply(KIND, access, AccessAction.REVIEW.value, actor, note=notes)


def secrets_of(access: EmergencyAccess) -> list[Credential]:
    """The channel's stored secrets of the kinds the access asked for."""
    kinds = [k.value for k in access.kind_list]
    statement = (
        select(Credential)
        .where(Credential.channel_id == access.channel_id, Credential.kind.in_(kinds))
        .order_by(Credential.kind)
    )
    return list(db.session().execute(statement).unique().scalars())


def uses_under(access: EmergencyAccess) -> list[CredentialReveal]:
    """Every secret shown (or refused) to the person who opened it, on its channel, in its window."""
    statement = under(access).order_by(CredentialReveal.occurred_at, CredentialReveal.id)
    return list(db.session().execute(statement).unique().scalars())


def every() -> Select[EmergencyAccess]:
    """Every access, newest first (comms' and auditors' list; paged in SQL from its index)."""
    return select(EmergencyAccess).order_by(EmergencyAccess.opened_at.desc(), EmergencyAccess.id.desc())


def live_of(user: User, limit: int = 5) -> list[EmergencyAccess]:
    """The person's accesses still open and in their window, the soonest to end first; one statement."""
    statement = (
        select(EmergencyAccess)
        .where(
            EmergencyAccess.requester_id == user.id,
            EmergencyAccess.status == AccessStatus.OPEN.value,
            EmergencyAccess.ends_at > db.utcnow(),
        )
        .order_by(EmergencyAccess.ends_at, EmergencyAccess.id)
        .limit(limit)
    )
    return list(db.session().execute(statement).unique().scalars())


def of(user: User, limit: int = 20) -> list[EmergencyAccess]:
    """The person's own accesses, newest first."""
    statement = (
        select(EmergencyAccess)
        .where(EmergencyAccess.requester_id == user.id)
        .order_by(EmergencyAccess.opened_at.desc(), EmergencyAccess.id.desc())
        .limit(limit)
    )
    return list(db.session().execute(statement).unique().scalars())
