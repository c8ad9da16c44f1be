"""Two-factor sign-in with an authenticator app (TOTP, RFC 6238) and recovery codes.

The user's secret is sealed by the vault like any other secret. A code is good
within one time step either side of now, and only once: the last accepted
step is kept, so a code seen over someone's shoulder cannot be replayed.
Recovery codes are single-use and stored as hashes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import time
from dataclasses import dataclass

from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP
from sqlalchemy import delete, select, update

from registry import db
from registry.audit.models import AuditAction
from registry.audit.services import Actor, record
from registry.auth import notices
from registry.auth.models import RecoveryCode, User, UserTotp, totp_aad
from registry.auth.permissions import TWO_FACTOR_ROLES
from registry.crypto import Sealed, vault
from registry.errors import Conflict, Invalid

ISSUER = "Social Channel Registry"
DIGITS = 6
STEP_SECONDS = 30
SECRET_BYTES = 20
RECOVERY_CODES = 10
_CODE = re.compile(r"^\d{6}$")
_RECOVERY = re.compile(r"^[A-Z2-7]{16}$")


def _totp(secret: bytes) -> TOTP:
    return TOTP(secret, DIGITS, SHA1(), STEP_SECONDS, enforce_key_length=False)


def _step(moment: float) -> int:
    return int(moment // STEP_SECONDS)


def code_at(secret: bytes, step: int) -> str:
    """The code for a time step (tests and the enrolment page use it)."""
    return _totp(secret).generate(step * STEP_SECONDS).decode("ascii")


def requires_two_factor(user: User) -> bool:
    """Comms and admins must use two-factor sign-in before anything privileged."""
    return bool(user.roles & TWO_FACTOR_ROLES)


def _record(user: User, *, for_update: bool = False) -> UserTotp | None:
    """The user's TOTP row; ``for_update`` locks it, so two sign-ins cannot both spend one code."""
    return db.session().get(UserTotp, user.id, with_for_update=for_update, populate_existing=for_update)


def is_enrolled(user: User) -> bool:
    row = _record(user)
    return row is not None and row.confirmed_at is not None


def _secret(row: UserTotp) -> bytes:
    return vault().open(Sealed(row.key_id, row.wrapped_key, row.nonce, row.ciphertext), totp_aad(row.user_id))


def _store_secret(row: UserTotp, secret: bytes) -> None:
    sealed = vault().seal(secret, totp_aad(row.user_id))
    row.key_id, row.wrapped_key, row.nonce, row.ciphertext = (
        sealed.key_id,
        sealed.wrapped_key,
        sealed.nonce,
        sealed.ciphertext,
    )


@dataclass(frozen=True)
class Enrolment:
    """What the enrolment page shows: the key as text and as a QR code."""

    secret: bytes
    uri: str

    @property
    def key_text(self) -> str:
        text = base64.b32encode(self.secret).decode("ascii").rstrip("=")
        return " ".join(text[i : i + 4] for i in range(0, len(text), 4))

    def qr_svg(self) -> str:
        """An inline SVG of the QR code (no styles or scripts, so the strict CSP allows it). segno is
        imported here, by the one page that shows a code, not when the app starts."""
        import segno

        return segno.make_qr(self.uri, error="m").svg_inline(scale=5, dark="#212b32", light="#ffffff")


def start_enrolment(user: User) -> Enrolment:
    """A new, unconfirmed secret for ``user`` (replacing an earlier unconfirmed one)."""
    row = _record(user)
    if row is not None and row.confirmed_at is not None:
        raise Conflict("Two-factor sign-in is already set up. Reset it first to use a new phone.")
    secret = os.urandom(SECRET_BYTES)
    if row is None:
        row = UserTotp(user_id=user.id)
        db.session().add(row)
    _store_secret(row, secret)
    row.created_at = db.utcnow()
    db.session().flush()
    return Enrolment(secret, _totp(secret).get_provisioning_uri(user.email, ISSUER))


def discard_pending(user: User) -> bool:
    """Forget a set-up that was started but never confirmed (its key was shown to whoever opened the page
    then). True if there was one."""
    row = _record(user)
    if row is None or row.confirmed_at is not None:
        return False
    db.session().delete(row)
    db.session().flush()
    return True


def pending_enrolment(user: User) -> Enrolment | None:
    row = _record(user)
    if row is None or row.confirmed_at is not None:
        return None
    secret = _secret(row)
    return Enrolment(secret, _totp(secret).get_provisioning_uri(user.email, ISSUER))


def _accept_totp(row: UserTotp, code: str) -> bool:
    secret = _secret(row)
    now = _step(time.time())
    for step in (now - 1, now, now + 1):
        if row.last_step is not None and step <= row.last_step:
            continue
        if hmac.compare_digest(code_at(secret, step), code):
            row.last_step = step
            return True
    return False


def _hash_recovery(user_id: int, code: str) -> str:
    return hashlib.sha256(f"{user_id}|{code}".encode()).hexdigest()


def _new_recovery_codes(user: User) -> list[str]:
    db.session().execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [
        "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16)) for _ in range(RECOVERY_CODES)
    ]
    db.session().add_all(RecoveryCode(user_id=user.id, code_hash=_hash_recovery(user.id, code)) for code in codes)
    return [f"{c[0:4]}-{c[4:8]}-{c[8:12]}-{c[12:16]}" for c in codes]


def confirm_enrolment(user: User, code: str) -> list[str]:
    """Turn two-factor sign-in on with the first code from the app; returns the recovery codes (shown once)."""
    row = _record(user, for_update=True)
    if row is None or row.confirmed_at is not None:
        raise Conflict("Start setting up two-factor sign-in again: there is nothing waiting to be confirmed.")
    cleaned = re.sub(r"\s+", "", code or "")
    if not _CODE.match(cleaned) or not _accept_totp(row, cleaned):
        raise Invalid({"code": "Enter the 6-digit code shown in your authenticator app now."})
    row.confirmed_at = db.utcnow()
    # The operator's permit to set up with a password alone is for the first set-up only: after a reset,
    # the person sets up again through the link the reset sends.
    user.enrol_with_password_until = None
    codes = _new_recovery_codes(user)
    record(AuditAction.USER_TWO_FACTOR_ENROL, "user", user.id, {}, actor=user)
    notices.tell(
        user,
        "Two-factor sign-in is now on",
        "An authenticator app was set up for your Social Channel Registry account.",
    )
    db.session().flush()
    return codes


def regenerate_recovery_codes(user: User) -> list[str]:
    if not is_enrolled(user):
        raise Conflict("Set up two-factor sign-in first.")
    codes = _new_recovery_codes(user)
    record(AuditAction.USER_RECOVERY_CODES_CREATE, "user", user.id, {"count": len(codes)}, actor=user)
    notices.tell(
        user,
        "New recovery codes were made",
        "New recovery codes were made for your Social Channel Registry account; the old ones no longer work.",
    )
    db.session().flush()
    return codes


def verify(user: User, code: str) -> str | None:
    """Check a code from the app or a recovery code; returns which it was, or None.

    Each is accepted once. A failure is audited (never the code itself).
    """
    row = _record(user, for_update=True)
    if row is None or row.confirmed_at is None:
        return None
    cleaned = re.sub(r"[\s-]+", "", code or "").upper()
    if _CODE.match(cleaned) and _accept_totp(row, cleaned):
        db.session().flush()
        return "totp"
    if _RECOVERY.match(cleaned):
        # Spend the code only if it is still unspent: a conditional update, safe against a race.
        spent = db.changed_rows(
            db.session().execute(
                update(RecoveryCode)
                .where(
                    RecoveryCode.user_id == user.id,
                    RecoveryCode.code_hash == _hash_recovery(user.id, cleaned),
                    RecoveryCode.used_at.is_(None),
                )
                .values(used_at=db.utcnow())
            )
        )
        if spent == 1:
            record(
                AuditAction.USER_RECOVERY_CODE_USED, "user", user.id, {"left": unused_recovery_codes(user)}, actor=user
            )
            db.session().flush()
            return "recovery_code"
    record(AuditAction.USER_TWO_FACTOR_FAILED, "user", user.id, {}, actor=user)
    db.session().flush()
    return None


def unused_recovery_codes(user: User) -> int:
    return len(
        db.session()
        .execute(select(RecoveryCode.id).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)))
        .all()
    )


def reset(user: User, *, actor: Actor | User) -> None:
    """Remove a user's two-factor set-up (a lost phone): they must set it up again."""
    row = _record(user)
    if row is None:
        raise Conflict(f"{user.name} has not set up two-factor sign-in.")
    db.session().delete(row)
    db.session().execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    record(AuditAction.USER_TWO_FACTOR_RESET, "user", user.id, {}, actor=actor)
    notices.tell(
        user,
        "Your two-factor sign-in was reset",
        "Your two-factor sign-in for the Social Channel Registry "
        "was reset: your authenticator app and recovery codes no longer work, and you set it up again.",
    )
    db.session().flush()
