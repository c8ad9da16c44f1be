"""Using a secret in custody: revealing it, showing a sign-in code from its two-factor seed, and
copying a value just revealed.

Only the communications team reveals a secret, with a stated reason and a second-factor check
within the last five minutes; someone on call may through an open break-glass access of their own
(:class:`EmergencyGrant`). Each use is recorded (and audited) before the value is decrypted, in
the same transaction, so a use whose record cannot be written shows nothing. Refusals are
recorded too, and kept even though the request fails. Storing secrets is
:mod:`registry.vault.services`.
"""

from __future__ import annotations

import base64
import datetime as dt
import time
from dataclasses import dataclass

from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP
from flask import g
from sqlalchemy import select

from registry import db
from registry.audit.models import AuditAction
from registry.audit.services import record
from registry.auth import sessions
from registry.auth.models import User
from registry.auth.permissions import Permission
from registry.errors import Conflict, Invalid, NotFound, NotPermitted, RegistryError
from registry.vault.models import Credential, CredentialKind, CredentialReveal, CredentialVersion, RevealAction
from registry.vault.rotation import mark_rotation_required
from registry.vault.services import REASON_MAX, open_version, stated_reason

STEP_UP_WINDOW = dt.timedelta(minutes=5)

REVEAL_AUDIT = {
    RevealAction.REVEAL: AuditAction.CREDENTIAL_REVEAL,
    RevealAction.SEED_REVEAL: AuditAction.CREDENTIAL_SEED_REVEAL,
    RevealAction.RECOVERY_CODES_REVEAL: AuditAction.CREDENTIAL_RECOVERY_CODES_REVEAL,
    RevealAction.TOTP_CODE: AuditAction.CREDENTIAL_TOTP_CODE_SHOWN,
    RevealAction.COPY: AuditAction.CREDENTIAL_COPY,
    RevealAction.EMERGENCY_REVEAL: AuditAction.CREDENTIAL_EMERGENCY_REVEAL,
    RevealAction.EMERGENCY_TOTP_CODE: AuditAction.CREDENTIAL_EMERGENCY_TOTP_CODE_SHOWN,
}


@dataclass(frozen=True)
class EmergencyGrant:
    """A break-glass emergency access as its package (registry/breakglass) read it, locked, from its row:
    the only way someone without the communications team's reveal permission reaches a secret. The
    custody rules below check every part of it against the secret asked for, at the moment of asking."""

    reference: str  # BG-0042: the emergency reveal's audit event and the rotation reason name it
    user_id: int  # who opened it: nobody else uses it
    channel_id: int  # the one channel it opens
    kinds: frozenset[CredentialKind]  # the kinds of secret asked for when it was opened
    ends_at: dt.datetime  # its window
    is_open: bool  # False once closed early or reviewed

    @property
    def rotation_reason(self) -> str:
        return f"Emergency access {self.reference}"


def reveal_action_for(kind: CredentialKind) -> RevealAction:
    if kind is CredentialKind.TOTP_SEED:
        return RevealAction.SEED_REVEAL
    if kind is CredentialKind.RECOVERY_CODES:
        return RevealAction.RECOVERY_CODES_REVEAL
    return RevealAction.REVEAL


def step_up_age() -> dt.timedelta | None:
    """How long ago this browser session proved its second factor; None if never.

    An API token counts as its user's second factor.
    """
    if g.get("auth_method") == "token":
        return dt.timedelta(0)
    current = sessions.current_record()
    if current is None or current.second_factor_at is None:
        return None
    return db.utcnow() - current.second_factor_at


def step_up_fresh() -> bool:
    age = step_up_age()
    return age is not None and age <= STEP_UP_WINDOW


def _refuse(
    credential: Credential,
    actor: User,
    why: str,
    *,
    reason: str,
    error: RegistryError,
    emergency: EmergencyGrant | None = None,
) -> RegistryError:
    """Record a refused reveal (kept although the request fails) and return the error to raise."""
    details: dict[str, str] = {"why": why, "reason": reason}
    if emergency is not None:
        details["access"] = emergency.reference
    db.session().add(
        CredentialReveal(
            credential_id=credential.id,
            version=credential.current_version,
            user_id=actor.id,
            action=RevealAction.REFUSED.value,
            reason=f"{why}: {reason}" if reason else why,
            occurred_at=db.utcnow(),
        )
    )
    record(
        AuditAction.CREDENTIAL_REVEAL_REFUSED,
        "credential",
        f"{credential.channel.reference}/{credential.kind}",
        details,
        actor=actor,
    )
    db.session().flush()
    db.keep_on_error()
    return error


def _check_reveal(
    credential: Credential, actor: User, reason: str | None, *, what: str, emergency: EmergencyGrant | None = None
) -> str:
    if emergency is not None:
        return _check_emergency(credential, actor, emergency)
    given = (reason or "").replace("\x00", "").strip()
    if not actor.can(Permission.CREDENTIAL_REVEAL):
        raise _refuse(
            credential,
            actor,
            "not in the communications team",
            reason=given[:REASON_MAX],
            error=NotPermitted("Only the communications team can see the Trust's social media credentials."),
        )
    if not step_up_fresh():
        raise _refuse(
            credential,
            actor,
            "second factor not confirmed in the last 5 minutes",
            reason=given[:REASON_MAX],
            error=NotPermitted(
                "Confirm it is you with your authenticator app first (needed within 5 minutes of a reveal)."
            ),
        )
    try:
        return stated_reason(given, what=what)
    except Invalid as exc:
        raise _refuse(credential, actor, "no reason given", reason="", error=exc) from None


def _check_emergency(credential: Credential, actor: User, grant: EmergencyGrant) -> str:
    """The break-glass path (policy 7.1 out of hours, 7.2): the secret's channel and kind are the open,
    unexpired access's, the access is the actor's own, and their second factor is fresh. Anything else is
    refused and the refusal kept, as any refused reveal is. Returns the reason the reveal is recorded with."""
    refusal: tuple[str, str] | None = None
    if not actor.can(Permission.BREAK_GLASS_OPEN):
        refusal = ("not on call", "Only people on call can use an emergency access.")
    elif grant.user_id != actor.id:
        refusal = ("not their emergency access", "Only the person who opened an emergency access can use it.")
    elif not grant.is_open or db.utcnow() >= grant.ends_at:
        refusal = (
            "emergency access ended",
            f"Emergency access {grant.reference} has ended. Open a new one if the incident is still going on.",
        )
    elif credential.channel_id != grant.channel_id:
        refusal = (
            "outside the emergency access's channel",
            f"Emergency access {grant.reference} is for another channel.",
        )
    elif credential.kind_enum not in grant.kinds:
        refusal = (
            "a kind of secret the emergency access did not ask for",
            f"Emergency access {grant.reference} does not include the {credential.kind_enum.label.lower()}.",
        )
    elif not step_up_fresh():
        refusal = (
            "second factor not confirmed in the last 5 minutes",
            "Confirm it is you with your authenticator app first (needed within 5 minutes of a reveal).",
        )
    reason = grant.rotation_reason
    if refusal is not None:
        why, message = refusal
        raise _refuse(credential, actor, why, reason=reason, error=NotPermitted(message), emergency=grant)
    return reason


def _open(credential: Credential, version: int) -> str:
    entry = (
        db.session()
        .execute(
            select(CredentialVersion).where(
                CredentialVersion.credential_id == credential.id, CredentialVersion.version == version
            )
        )
        .unique()
        .scalar_one_or_none()
    )
    if entry is None:
        raise NotFound(f"There is no version {version} of this secret.")
    return open_version(entry)


def _log_use(
    credential: Credential,
    version: int,
    actor: User,
    action: RevealAction,
    reason: str,
    emergency: EmergencyGrant | None = None,
) -> None:
    details: dict[str, str | int] = {"version": version, "reason": reason}
    if emergency is not None:
        details["access"] = emergency.reference
    db.session().add(
        CredentialReveal(
            credential_id=credential.id,
            version=version,
            user_id=actor.id,
            action=action.value,
            reason=reason,
            occurred_at=db.utcnow(),
        )
    )
    record(
        REVEAL_AUDIT[action],
        "credential",
        f"{credential.channel.reference}/{credential.kind}",
        details,
        actor=actor,
    )
    if emergency is not None:
        # Flagged at the moment it is seen, in the same transaction: the value is exposed now, whatever
        # happens to the access later (and a value rotated since is not flagged again).
        mark_rotation_required([credential], emergency.rotation_reason, actor=actor)
    db.session().flush()


def reveal(
    credential: Credential,
    actor: User,
    reason: str | None,
    *,
    version: int | None = None,
    emergency: EmergencyGrant | None = None,
) -> str:
    """The plaintext of a version (the current one by default), for comms after step-up, with a reason;
    or, under ``emergency`` (a break-glass access), the current version for the person who opened it.

    The reveal is recorded and audited first: if that cannot be written, nothing is shown.
    """
    given = _check_reveal(credential, actor, reason, what="see this secret", emergency=emergency)
    chosen = version or credential.current_version
    if not 1 <= chosen <= credential.current_version or (
        emergency is not None and chosen != credential.current_version
    ):
        raise NotFound(f"There is no version {chosen} of this secret.")
    action = RevealAction.EMERGENCY_REVEAL if emergency is not None else reveal_action_for(credential.kind_enum)
    _log_use(credential, chosen, actor, action, given, emergency)
    return _open(credential, chosen)


@dataclass(frozen=True)
class TotpCode:
    code: str
    seconds_left: int


def totp_code(
    credential: Credential, actor: User, reason: str | None, *, emergency: EmergencyGrant | None = None
) -> TotpCode:
    """The current sign-in code of a stored two-factor seed, so the seed itself stays hidden."""
    if credential.kind_enum is not CredentialKind.TOTP_SEED:
        raise Conflict("Codes can be made only from a two-factor (TOTP) seed.")
    given = _check_reveal(credential, actor, reason, what="sign in to the account", emergency=emergency)
    action = RevealAction.EMERGENCY_TOTP_CODE if emergency is not None else RevealAction.TOTP_CODE
    _log_use(credential, credential.current_version, actor, action, given, emergency)
    seed = _open(credential, credential.current_version)
    key = base64.b32decode(seed + "=" * (-len(seed) % 8))
    now = time.time()
    code = TOTP(key, 6, SHA1(), 30, enforce_key_length=False).generate(now).decode("ascii")
    return TotpCode(code, 30 - int(now) % 30)


COPY_WINDOW = dt.timedelta(minutes=2)


def record_copy(credential: Credential, actor: User, version: int) -> None:
    """Someone copied a value they had just revealed to the clipboard (the browser tells us)."""
    if not actor.can(Permission.CREDENTIAL_REVEAL):
        raise NotPermitted("Only the communications team can copy the Trust's social media credentials.")
    if not 1 <= version <= credential.current_version:
        raise NotFound(f"There is no version {version} of this secret.")
    revealed = (
        db.session()
        .execute(
            select(CredentialReveal.id)
            .where(
                CredentialReveal.credential_id == credential.id,
                CredentialReveal.user_id == actor.id,
                CredentialReveal.version == version,
                CredentialReveal.action == reveal_action_for(credential.kind_enum).value,
                CredentialReveal.occurred_at >= db.utcnow() - COPY_WINDOW,
            )
            .limit(1)
        )
        .first()
    )
    if revealed is None:
        raise Conflict("Only a value you revealed in the last two minutes can be copied.")
    _log_use(credential, version, actor, RevealAction.COPY, "copied to the clipboard after a reveal")


def reveal_history(credential: Credential, limit: int = 100) -> list[CredentialReveal]:
    return list(
        db.session()
        .execute(
            select(CredentialReveal)
            .where(CredentialReveal.credential_id == credential.id)
            .order_by(CredentialReveal.occurred_at.desc(), CredentialReveal.id.desc())
            .limit(limit)
        )
        .unique()
        .scalars()
    )
