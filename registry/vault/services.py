"""Custody rules: storing, revealing and rotating channels' credentials.

Only the communications team stores or reveals a secret. A reveal needs a stated
reason and a second-factor check within the last five minutes; the reveal is
recorded (and audited) before the value is decrypted, in the same transaction,
so a reveal whose record cannot be written shows nothing. Refusals are recorded
too, and kept even though the request fails. Auditors read metadata only: no
function here decrypts for them.

Which credentials need rotating is :mod:`registry.vault.rotation`; master-key rotation and checks
are :mod:`registry.vault.keys`. Both are re-exported here, where the rest of the Registry calls them.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import re
import secrets
import string
import time
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP
from flask import current_app, g
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from config import Settings
from registry import clock, db
from registry.audit.models import AuditAction
from registry.audit.services import Actor, record
from registry.auth import sessions
from registry.auth.models import User
from registry.auth.permissions import Permission
from registry.channels.models import Channel
from registry.crypto import VaultError, vault
from registry.errors import Conflict, Invalid, NotFound, NotPermitted, RegistryError
from registry.vault import health
from registry.vault.keys import KeyRotation as KeyRotation
from registry.vault.keys import KeyRotationReport as KeyRotationReport
from registry.vault.keys import remaining_by_key as remaining_by_key
from registry.vault.keys import rewrap_batch as rewrap_batch
from registry.vault.keys import seal_of as seal_of
from registry.vault.keys import verify_all as verify_all
from registry.vault.models import (
    Credential,
    CredentialKind,
    CredentialReveal,
    CredentialVersion,
    RevealAction,
    version_aad,
)
from registry.vault.rotation import CLOSED_STATUSES as CLOSED_STATUSES
from registry.vault.rotation import count_needing_rotation as count_needing_rotation
from registry.vault.rotation import credentials_of_channel_ids as credentials_of_channel_ids
from registry.vault.rotation import exposes_current_value as exposes_current_value
from registry.vault.rotation import mark_rotation_required as mark_rotation_required
from registry.vault.rotation import needing_rotation as needing_rotation
from registry.vault.rotation import seen_since_rotation as seen_since_rotation

STEP_UP_WINDOW = dt.timedelta(minutes=5)
MAX_VALUE = 10_000
REASON_MAX = 2000

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


class VaultProblem(RegistryError):
    """A stored secret cannot be opened: a key is missing or the data was changed."""

    status = 500
    title = "The secret cannot be opened"


def rotation_days() -> int:
    settings: Settings = current_app.extensions["registry.settings"]
    return settings.rotation_days


def reveal_action_for(kind: CredentialKind) -> RevealAction:
    if kind is CredentialKind.TOTP_SEED:
        return RevealAction.SEED_REVEAL
    if kind is CredentialKind.RECOVERY_CODES:
        return RevealAction.RECOVERY_CODES_REVEAL
    return RevealAction.REVEAL


def _kind(value: str) -> CredentialKind:
    try:
        return CredentialKind(value)
    except ValueError:
        allowed = ", ".join(k.value for k in CredentialKind)
        raise Invalid({"kind": f"Choose a kind of secret: one of {allowed}."}) from None


def normalise_totp_seed(value: str) -> str:
    """The base32 seed from what people paste: spaces and dashes removed, upper case, padded."""
    seed = re.sub(r"[\s-]+", "", value).upper().rstrip("=")
    try:
        key = base64.b32decode(seed + "=" * (-len(seed) % 8))
    except (binascii.Error, ValueError):
        raise Invalid(
            {"value": "A two-factor seed is the setup key shown by the platform: letters A to Z and digits 2 to 7."}
        ) from None
    if len(key) < 10:
        raise Invalid({"value": "That two-factor seed is too short: the setup key is at least 16 characters."})
    return seed


def checked_value(kind: CredentialKind, value: str) -> str:
    """``value`` as :func:`store` would keep it (a seed normalised, an address trimmed), or :class:`Invalid`."""
    return _checked_value(kind, value)


def _checked_value(kind: CredentialKind, value: str) -> str:
    if not value or not value.strip():
        raise Invalid({"value": f"Enter the {kind.label.lower()}."})
    if "\x00" in value:
        raise Invalid({"value": "The value contains a character that is not allowed."})
    if len(value) > MAX_VALUE:
        raise Invalid({"value": f"The value must be {MAX_VALUE} characters or fewer."})
    if kind is CredentialKind.TOTP_SEED:
        return normalise_totp_seed(value)
    if kind in (CredentialKind.RECOVERY_EMAIL, CredentialKind.RECOVERY_PHONE, CredentialKind.PASSWORD):
        return value.strip() if kind is not CredentialKind.PASSWORD else value
    return value


def _reason(reason: str | None, *, what: str) -> str:
    text = (reason or "").replace("\x00", "").strip()
    if not text:
        raise Invalid({"reason": f"Enter why you need to {what}."})
    if len(text) > REASON_MAX:
        raise Invalid({"reason": f"The reason must be {REASON_MAX} characters or fewer."})
    return text


def credentials_of(channel: Channel) -> list[Credential]:
    return list(
        db.session()
        .execute(select(Credential).where(Credential.channel_id == channel.id).order_by(Credential.kind))
        .unique()
        .scalars()
    )


def get_credential(channel: Channel, kind: str, *, for_update: bool = False) -> Credential:
    chosen = _kind(kind)
    statement = select(Credential).where(Credential.channel_id == channel.id, Credential.kind == chosen.value)
    if for_update:
        statement = statement.with_for_update(of=Credential).execution_options(populate_existing=True)
    credential = db.session().execute(statement).unique().scalar_one_or_none()
    if credential is None:
        raise NotFound(f"{channel.reference} has no {chosen.label.lower()} in custody.")
    return credential


def versions_of(credential: Credential) -> list[CredentialVersion]:
    return list(
        db.session()
        .execute(
            select(CredentialVersion)
            .where(CredentialVersion.credential_id == credential.id)
            .order_by(CredentialVersion.version.desc())
        )
        .unique()
        .scalars()
    )


def store(channel: Channel, kind: str, value: str, reason: str, actor: User | Actor) -> Credential:
    """Keep a new value of one of the channel's secrets (a new version; old ones are kept).

    ``actor``: a member of the communications team, or the system operator's command line (an
    :class:`Actor` of the system: ``credentials import``), whose versions have no ``created_by``."""
    if isinstance(actor, User) and not actor.can(Permission.CREDENTIAL_MANAGE):
        raise NotPermitted("Only the communications team holds the Trust's social media credentials.")
    chosen = _kind(kind)
    errors: dict[str, str] = {}
    try:
        value = _checked_value(chosen, value)
    except Invalid as exc:
        errors.update(exc.errors)
    try:
        reason = _reason(reason, what="store or change this secret")
    except Invalid as exc:
        errors.update(exc.errors)
    if errors:
        raise Invalid(errors)
    if channel.status_enum in CLOSED_STATUSES:
        raise Conflict(f"{channel.reference} is {channel.status_enum.phrase}: there is no account to hold secrets for.")
    session = db.session()
    credential = (
        session.execute(
            select(Credential)
            .where(Credential.channel_id == channel.id, Credential.kind == chosen.value)
            .with_for_update(of=Credential)
            .execution_options(populate_existing=True)
        )
        .unique()
        .scalar_one_or_none()
    )
    now = db.utcnow()
    if credential is None:
        credential = Credential(
            channel_id=channel.id,
            kind=chosen.value,
            current_version=0,
            created_at=now,
            rotated_at=now,
            rotation_due_on=clock.today(),
            rotation_required=False,
            rotation_reasons_json="[]",
        )
        session.add(credential)
        try:
            with session.begin_nested():
                session.flush()
        except IntegrityError:
            raise Conflict(
                "Someone else stored this secret at the same moment. Reload the page and try again."
            ) from None
    version = credential.current_version + 1
    sealed = vault().seal(value.encode("utf-8"), version_aad(channel.id, chosen.value, version))
    entry = CredentialVersion(
        credential_id=credential.id,
        version=version,
        created_at=now,
        created_by_id=actor.id if isinstance(actor, User) else None,
        reason=reason,
    )
    entry.store(sealed)
    reused_with: list[str] = []
    if chosen in health.ASSESSED_KINDS:
        assessment = health.assess_value(value, channel)
        health.apply(entry, assessment, now)
        # Storing a value and watching "Reused" name a channel tests it against that channel's password:
        # the event says which, as a reveal or an import preview leaves a trace.
        reused_with = health.channels_holding(assessment, channel)
    session.add(entry)
    was_required = credential.rotation_required
    credential.current_version = version
    credential.rotated_at = now
    credential.rotation_due_on = clock.today() + dt.timedelta(days=rotation_days())
    credential.rotation_required = False
    credential.rotation_reasons_json = "[]"
    if version == 1:
        action = AuditAction.CREDENTIAL_STORE
    elif chosen is CredentialKind.NOTES:
        action = AuditAction.CREDENTIAL_CHANGE
    else:
        action = AuditAction.CREDENTIAL_ROTATE
    record(
        action,
        "credential",
        f"{channel.reference}/{chosen.value}",
        {"version": version, "reason": reason, "key_id": sealed.key_id, "was_required": was_required}
        | ({"reused_with": reused_with} if reused_with else {}),
        actor=actor,
    )
    session.flush()
    return credential


def current_versions(channel_ids: Iterable[int]) -> dict[tuple[int, str], CredentialVersion]:
    """The current version of every secret of these channels, by (channel id, kind): one statement."""
    ids = sorted(set(channel_ids))
    if not ids:
        return {}
    statement = (
        select(CredentialVersion)
        .join(Credential, Credential.id == CredentialVersion.credential_id)
        .where(Credential.channel_id.in_(ids), CredentialVersion.version == Credential.current_version)
    )
    return {
        (entry.credential.channel_id, entry.credential.kind): entry
        for entry in db.session().execute(statement).unique().scalars()
    }


def earlier_versions(channel_ids: Iterable[int]) -> dict[tuple[int, str], list[CredentialVersion]]:
    """Every replaced (not current) version of these channels' secrets, newest first, by (channel id, kind):
    one statement. An import checks against them that it is not putting back a value the vault replaced."""
    ids = sorted(set(channel_ids))
    if not ids:
        return {}
    statement = (
        select(CredentialVersion)
        .join(Credential, Credential.id == CredentialVersion.credential_id)
        .where(Credential.channel_id.in_(ids), CredentialVersion.version < Credential.current_version)
        .order_by(CredentialVersion.credential_id, CredentialVersion.version.desc())
    )
    found: dict[tuple[int, str], list[CredentialVersion]] = {}
    for entry in db.session().execute(statement).unique().scalars():
        found.setdefault((entry.credential.channel_id, entry.credential.kind), []).append(entry)
    return found


def is_current_value(entry: CredentialVersion, value: str) -> bool:
    """Whether ``value`` (as :func:`checked_value` gives it) is the value sealed in ``entry``: opened in
    memory and compared in constant time, so an import can tell a secret it already holds without a
    hash of any secret being kept. Nothing is recorded: no person sees the value."""
    credential = entry.credential
    try:
        held = vault().open(entry.sealed, version_aad(credential.channel_id, credential.kind, entry.version))
    except VaultError as exc:
        raise VaultProblem(str(exc)) from None
    return hmac.compare_digest(held, value.encode("utf-8"))


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
        return _reason(given, what=what)
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


def open_version(entry: CredentialVersion) -> str:
    """The plaintext of one version, in memory, for a check no person sees (nothing is recorded)."""
    credential = entry.credential
    try:
        aad = version_aad(credential.channel_id, credential.kind, entry.version)
        return vault().open(entry.sealed, aad).decode("utf-8")
    except VaultError as exc:
        raise VaultProblem(str(exc)) from None


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


PASSWORD_CLASSES = {
    "lower": string.ascii_lowercase,
    "upper": string.ascii_uppercase,
    "digits": string.digits,
    "symbols": "!#$%&()*+,-./:;<=>?@[]^_{|}~",
}


def generate_password(length: int = 24, classes: Iterable[str] = ("lower", "upper", "digits", "symbols")) -> str:
    """A random password from the ``secrets`` module with at least one character of each class chosen."""
    chosen = [name for name in PASSWORD_CLASSES if name in set(classes)]
    if not chosen:
        raise Invalid({"classes": "Choose at least one kind of character."})
    if not 12 <= length <= 128:
        raise Invalid({"length": "Choose a length from 12 to 128 characters."})
    alphabet = "".join(PASSWORD_CLASSES[name] for name in chosen)
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        if all(any(ch in PASSWORD_CLASSES[name] for ch in candidate) for name in chosen):
            return candidate
