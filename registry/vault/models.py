"""Credentials held in custody: each channel's secrets, every version, and who saw them."""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.auth.models import User
from registry.channels.models import Channel
from registry.crypto import Sealed
from registry.db import Base, UTCDateTime, created, indexes, intpk, known
from registry.text import Labelled


class CredentialKind(Labelled):
    PASSWORD = "password", "Password"
    RECOVERY_CODES = "recovery_codes", "Recovery codes"
    RECOVERY_EMAIL = "recovery_email", "Recovery email address"
    RECOVERY_PHONE = "recovery_phone", "Recovery phone number"
    TOTP_SEED = "totp_seed", "Two-factor (TOTP) seed"
    NOTES = "notes", "Custody notes"


class RevealAction(StrEnum):
    """What a person did with a secret: each is its own audit action."""

    REVEAL = "reveal"
    SEED_REVEAL = "seed_reveal"
    RECOVERY_CODES_REVEAL = "recovery_codes_reveal"
    TOTP_CODE = "totp_code"
    COPY = "copy"
    REFUSED = "refused"
    #: Seen under a break-glass emergency access (the value, or a sign-in code from a seed).
    EMERGENCY_REVEAL = "emergency_reveal"
    EMERGENCY_TOTP_CODE = "emergency_totp_code"


class Credential(Base):
    """One secret of one channel (one per kind), with its rotation state."""

    __tablename__ = "credentials"
    __table_args__ = (
        known("kind", CredentialKind),
        UniqueConstraint("channel_id", "kind"),
        *indexes("rotation_due_on", "rotation_required"),
    )

    id: Mapped[intpk]
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    current_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[created]
    rotated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    rotation_due_on: Mapped[dt.date] = mapped_column(Date)
    rotation_required: Mapped[bool] = mapped_column(Boolean, default=False)
    rotation_reasons_json: Mapped[str] = mapped_column("rotation_reasons", Text, default="[]")

    # SQLAlchemy documents innerjoin="unnested" but annotates the parameter as bool.
    channel: Mapped[Channel] = relationship(lazy="joined", innerjoin="unnested")  # type: ignore[arg-type]

    @property
    def kind_enum(self) -> CredentialKind:
        return CredentialKind(self.kind)

    @property
    def rotation_reasons(self) -> list[dict[str, str]]:
        reasons: list[dict[str, str]] = json.loads(self.rotation_reasons_json or "[]")
        return reasons

    @property
    def label(self) -> str:
        return f"{self.channel.reference} {self.kind_enum.label.lower()}"


class CredentialVersion(Base):
    """One sealed value of a credential. Versions are kept; the newest is current.

    ``flask keys rotate`` rewrites every version's key id and wrapped key. No index holds
    ``key_id``, and PostgreSQL leaves half of each page free, so that each rewrite is a heap-only
    update beside the old copy, with no index entry to add (migration 0020 says why).
    """

    __tablename__ = "credential_versions"
    __table_args__ = (
        UniqueConstraint("credential_id", "version"),
        # Reuse is found by equal fingerprints under one key; ``keys rotate`` never changes these columns,
        # so its rewrites stay heap-only updates.
        Index("ix_credential_versions_fingerprint", "fingerprint_key_id", "fingerprint"),
        {"postgresql_with": {"fillfactor": 50}},
    )

    id: Mapped[intpk]
    credential_id: Mapped[int] = mapped_column(ForeignKey("credentials.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    key_id: Mapped[str] = mapped_column(String(32))
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    nonce: Mapped[bytes] = mapped_column(LargeBinary)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[created]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    # Password health (registry.vault.health), worked out when the value is stored or by
    # ``credentials assess``; None everywhere until then ("not assessed"), and always for kinds other
    # than passwords. No plaintext and no plain hash: the fingerprint is an HMAC under a key outside
    # the database, named by its key id, and only fingerprints under one key id are compared.
    assessed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    weak: Mapped[bool | None] = mapped_column(Boolean, default=None)
    #: True: in the breached-password list; False: checked, not in it; None: not checked (no list, or unreadable).
    breached: Mapped[bool | None] = mapped_column(Boolean, default=None)
    fingerprint_key_id: Mapped[str | None] = mapped_column(String(32), default=None)
    fingerprint: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)

    credential: Mapped[Credential] = relationship(lazy="joined", innerjoin=True)
    created_by: Mapped[User | None] = relationship(lazy="joined")

    @property
    def sealed(self) -> Sealed:
        return Sealed(self.key_id, self.wrapped_key, self.nonce, self.ciphertext)

    def store(self, sealed: Sealed) -> None:
        self.key_id, self.wrapped_key, self.nonce, self.ciphertext = (
            sealed.key_id,
            sealed.wrapped_key,
            sealed.nonce,
            sealed.ciphertext,
        )


def version_aad(channel_id: int, kind: str, version: int) -> bytes:
    """Binds a ciphertext to its row: table, channel, kind and version."""
    return f"credential_versions|{channel_id}|{kind}|{version}".encode()


class CredentialReveal(Base):
    """Every time someone saw, copied or was refused a secret (also in the audit trail)."""

    __tablename__ = "credential_reveals"
    __table_args__ = (
        Index("ix_credential_reveals_credential_id", "credential_id"),
        Index("ix_credential_reveals_user_occurred", "user_id", "occurred_at"),
    )

    id: Mapped[intpk]
    credential_id: Mapped[int] = mapped_column(ForeignKey("credentials.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(Text, default="")
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    credential: Mapped[Credential] = relationship(lazy="joined", innerjoin=True)
    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)
