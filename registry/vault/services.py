"""Custody rules: storing, revealing and rotating channels' credentials.

Only the communications team stores or reveals a secret. A reveal needs a stated
reason and a second-factor check within the last five minutes; the reveal is
recorded (and audited) before the value is decrypted, in the same transaction,
so a reveal whose record cannot be written shows nothing. Refusals are recorded
too, and kept even though the request fails. Auditors read metadata only: no
function here decrypts for them.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
import secrets
import string
import time
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP
from flask import current_app, g
from sqlalchemy import ColumnElement, Select, and_, func, select, update
from sqlalchemy.exc import IntegrityError

from registry import clock, db
from registry.audit.models import AuditAction
from registry.audit.services import Actor, record
from registry.auth import sessions
from registry.auth.models import User, UserTotp, totp_aad
from registry.auth.permissions import Permission
from registry.channels.models import Channel, reference_for
from registry.channels.workflow import ChannelStatus
from registry.crypto import Sealed, VaultError, vault
from registry.errors import Conflict, Invalid, NotFound, NotPermitted, RegistryError
from registry.vault.models import (
    Credential,
    CredentialKind,
    CredentialReveal,
    CredentialVersion,
    RevealAction,
    version_aad,
)

STEP_UP_WINDOW = dt.timedelta(minutes=5)
MAX_VALUE = 10_000
REASON_MAX = 2000
CLOSED_STATUSES = frozenset({ChannelStatus.REJECTED, ChannelStatus.WITHDRAWN})

REVEAL_AUDIT = {
    RevealAction.REVEAL: AuditAction.CREDENTIAL_REVEAL,
    RevealAction.SEED_REVEAL: AuditAction.CREDENTIAL_SEED_REVEAL,
    RevealAction.RECOVERY_CODES_REVEAL: AuditAction.CREDENTIAL_RECOVERY_CODES_REVEAL,
    RevealAction.TOTP_CODE: AuditAction.CREDENTIAL_TOTP_CODE_SHOWN,
    RevealAction.COPY: AuditAction.CREDENTIAL_COPY,
}


class VaultProblem(RegistryError):
    """A stored secret cannot be opened: a key is missing or the data was changed."""

    status = 500
    title = "The secret cannot be opened"


def rotation_days() -> int:
    return current_app.extensions["registry.settings"].rotation_days


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


def store(channel: Channel, kind: str, value: str, reason: str, actor: User) -> Credential:
    """Keep a new value of one of the channel's secrets (a new version; old ones are kept)."""
    if not actor.can(Permission.CREDENTIAL_MANAGE):
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
        created_by_id=actor.id,
        reason=reason,
    )
    entry.store(sealed)
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
        {"version": version, "reason": reason, "key_id": sealed.key_id, "was_required": was_required},
        actor=actor,
    )
    session.flush()
    return credential


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


def _refuse(credential: Credential, actor: User, why: str, *, reason: str, error: RegistryError) -> RegistryError:
    """Record a refused reveal (kept although the request fails) and return the error to raise."""
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
        {"why": why, "reason": reason},
        actor=actor,
    )
    db.session().flush()
    db.keep_on_error()
    return error


def _check_reveal(credential: Credential, actor: User, reason: str | None, *, what: str) -> str:
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
    try:
        return vault().open(entry.sealed, version_aad(credential.channel_id, credential.kind, version)).decode("utf-8")
    except VaultError as exc:
        raise VaultProblem(str(exc)) from None


def _log_use(credential: Credential, version: int, actor: User, action: RevealAction, reason: str) -> None:
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
        {"version": version, "reason": reason},
        actor=actor,
    )
    db.session().flush()


def reveal(credential: Credential, actor: User, reason: str | None, *, version: int | None = None) -> str:
    """The plaintext of a version (the current one by default), for comms after step-up, with a reason.

    The reveal is recorded and audited first: if that cannot be written, nothing is shown.
    """
    given = _check_reveal(credential, actor, reason, what="see this secret")
    chosen = version or credential.current_version
    if not 1 <= chosen <= credential.current_version:
        raise NotFound(f"There is no version {chosen} of this secret.")
    _log_use(credential, chosen, actor, reveal_action_for(credential.kind_enum), given)
    return _open(credential, chosen)


@dataclass(frozen=True)
class TotpCode:
    code: str
    seconds_left: int


def totp_code(credential: Credential, actor: User, reason: str | None) -> TotpCode:
    """The current sign-in code of a stored two-factor seed, so the seed itself stays hidden."""
    if credential.kind_enum is not CredentialKind.TOTP_SEED:
        raise Conflict("Codes can be made only from a two-factor (TOTP) seed.")
    given = _check_reveal(credential, actor, reason, what="sign in to the account")
    _log_use(credential, credential.current_version, actor, RevealAction.TOTP_CODE, given)
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


def needing_rotation() -> Select[tuple[Credential]]:
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


@dataclass(frozen=True)
class KeyRotationReport:
    rewrapped: int
    remaining: dict[str, int]


def remaining_by_key() -> dict[str, int]:
    """How many sealed secrets (credential versions and users' own two-factor seeds) each key id protects."""
    counts: dict[str, int] = {}
    for model in (CredentialVersion, UserTotp):
        for key_id, count in db.session().execute(select(model.key_id, func.count()).group_by(model.key_id)).all():
            counts[key_id] = counts.get(key_id, 0) + count
    return counts


class KeyRotation:
    """Moves sealed secrets onto the primary master key, a batch at a time.

    Each batch reads only the columns it needs and writes back in one bulk update;
    a cursor keeps later batches from re-reading rows already moved. Each batch is
    the caller's transaction, so an interrupted rotation loses nothing and a rerun
    (a new KeyRotation) picks up whatever is left.
    """

    def __init__(self) -> None:
        self.after_id = 0

    def batch(self, size: int) -> int:
        """Rewrap up to ``size`` secrets not under the primary key (flush only); returns how many."""
        primary = vault().primary_key_id
        session = db.session()
        rows = session.execute(
            select(
                CredentialVersion.id,
                CredentialVersion.version,
                CredentialVersion.key_id,
                CredentialVersion.wrapped_key,
                CredentialVersion.nonce,
                CredentialVersion.ciphertext,
                Credential.channel_id,
                Credential.kind,
            )
            .join(Credential, Credential.id == CredentialVersion.credential_id)
            .where(CredentialVersion.key_id != primary, CredentialVersion.id > self.after_id)
            .order_by(CredentialVersion.id)
            .limit(size)
            .with_for_update(of=CredentialVersion, skip_locked=True)
        ).all()
        updates = []
        for row in rows:
            sealed = vault().rewrap(
                Sealed(row.key_id, row.wrapped_key, row.nonce, row.ciphertext),
                version_aad(row.channel_id, row.kind, row.version),
            )
            updates.append({"id": row.id, "key_id": sealed.key_id, "wrapped_key": sealed.wrapped_key})
        if updates:
            session.execute(update(CredentialVersion), updates)
            self.after_id = rows[-1].id
        done = len(updates)
        if done < size:
            seeds = (
                session.execute(
                    select(UserTotp)
                    .where(UserTotp.key_id != primary)
                    .order_by(UserTotp.user_id)
                    .limit(size - done)
                    .with_for_update(skip_locked=True)
                )
                .scalars()
                .all()
            )
            for seed in seeds:
                sealed = vault().rewrap(seal_of(seed), totp_aad(seed.user_id))
                seed.key_id, seed.wrapped_key = sealed.key_id, sealed.wrapped_key
                done += 1
        session.flush()
        return done


def rewrap_batch(batch_size: int) -> int:
    """One batch of a fresh rotation (see :class:`KeyRotation`)."""
    return KeyRotation().batch(batch_size)


def seal_of(row: UserTotp | CredentialVersion) -> Sealed:
    return Sealed(row.key_id, row.wrapped_key, row.nonce, row.ciphertext)


def verify_all(batch_size: int = 1000) -> tuple[int, list[str]]:
    """Open every sealed secret in memory; the count, and a line naming each that fails."""
    checked = 0
    failures: list[str] = []
    # Plain rows, streamed: this may read every version of every secret.
    rows = db.session().execute(
        select(
            CredentialVersion.version,
            CredentialVersion.key_id,
            CredentialVersion.wrapped_key,
            CredentialVersion.nonce,
            CredentialVersion.ciphertext,
            Credential.channel_id,
            Credential.kind,
        )
        .join(Credential, Credential.id == CredentialVersion.credential_id)
        .order_by(CredentialVersion.id)
        .execution_options(yield_per=batch_size)
    )
    for row in rows:
        checked += 1
        try:
            vault().open(
                Sealed(row.key_id, row.wrapped_key, row.nonce, row.ciphertext),
                version_aad(row.channel_id, row.kind, row.version),
            )
        except VaultError as exc:
            failures.append(
                f"{reference_for(row.channel_id)} {row.kind} version {row.version} (key {row.key_id}): {exc}"
            )
    for seed in db.session().execute(select(UserTotp).order_by(UserTotp.user_id)).scalars():
        checked += 1
        try:
            vault().open(seal_of(seed), totp_aad(seed.user_id))
        except VaultError as exc:
            failures.append(f"two-factor secret of user {seed.user_id} (key {seed.key_id}): {exc}")
    return checked, failures
