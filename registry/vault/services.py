"""Custody rules: storing channels' credentials, sealed, one version after another.

Only the communications team stores a secret, with a stated reason; each version is sealed under
the vault's key and bound to its channel, kind and version, so a sealed value moved to another row
cannot be opened. Auditors read metadata only: no function here decrypts for them.

Using a secret (revealing it, a sign-in code, a copy) is :mod:`registry.vault.reveals`. Which
credentials need rotating is :mod:`registry.vault.rotation`; master-key rotation and checks are
:mod:`registry.vault.keys`. Both are re-exported here, where the rest of the Registry calls them.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import re
import secrets
import string
from collections.abc import Iterable

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from config import Settings
from registry import clock, db
from registry.audit.models import AuditAction
from registry.audit.services import Actor, record
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
    CredentialVersion,
    version_aad,
)
from registry.vault.rotation import CLOSED_STATUSES as CLOSED_STATUSES
from registry.vault.rotation import count_needing_rotation as count_needing_rotation
from registry.vault.rotation import credentials_of_channel_ids as credentials_of_channel_ids
from registry.vault.rotation import exposes_current_value as exposes_current_value
from registry.vault.rotation import mark_rotation_required as mark_rotation_required
from registry.vault.rotation import needing_rotation as needing_rotation
from registry.vault.rotation import seen_since_rotation as seen_since_rotation

MAX_VALUE = 10_000
REASON_MAX = 2000


class VaultProblem(RegistryError):
    """A stored secret cannot be opened: a key is missing or the data was changed."""

    status = 500
    title = "The secret cannot be opened"


def rotation_days() -> int:
    settings: Settings = current_app.extensions["registry.settings"]
    return settings.rotation_days


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


def stated_reason(reason: str | None, *, what: str) -> str:
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
        reason = stated_reason(reason, what="store or change this secret")
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


def open_version(entry: CredentialVersion) -> str:
    """The plaintext of one version, in memory, for a check no person sees (nothing is recorded)."""
    credential = entry.credential
    try:
        aad = version_aad(credential.channel_id, credential.kind, entry.version)
        return vault().open(entry.sealed, aad).decode("utf-8")
    except VaultError as exc:
        raise VaultProblem(str(exc)) from None


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
