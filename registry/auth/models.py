"""People who sign in, their roles, their sessions and their API tokens."""

from __future__ import annotations

import datetime as dt

from flask import g, has_request_context
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.auth.permissions import EVERYDAY, Permission, Role, permissions_for
from registry.db import Base, created, intpk, str200

ROLE_VALUES = ", ".join(f"'{role.value}'" for role in Role)


class User(Base):
    __tablename__ = "users"

    id: Mapped[intpk]
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str200]
    # Deferred: lists that show a requester never need to read it.
    password_hash: Mapped[str | None] = mapped_column(String(255), deferred=True)
    active: Mapped[bool] = mapped_column(default=True)
    must_change_password: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[created]
    last_login_at: Mapped[dt.datetime | None]
    deactivated_at: Mapped[dt.datetime | None]
    #: Who a breach report about this person goes to first (policy 9.1); none: comms route it.
    line_manager_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)

    role_grants: Mapped[list[UserRole]] = relationship(back_populates="user", cascade="all, delete-orphan")
    line_manager: Mapped[User | None] = relationship(remote_side="User.id", lazy="select")

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(Role(grant.role) for grant in self.role_grants)

    @property
    def permissions(self) -> frozenset[Permission]:
        return permissions_for(self.roles)

    def has_role(self, role: Role) -> bool:
        return role in self.roles

    def can(self, permission: Permission) -> bool:
        """Whether this person may do it now. In a browser session that has not yet proved the
        second factor a comms member or administrator must have, only everyday permissions count
        (``registry.auth.guard`` marks such a request)."""
        if not self.active or permission not in self.permissions:
            return False
        everyday_only = has_request_context() and g.get("everyday_only") == self.id
        return permission in EVERYDAY or not everyday_only

    # Flask-Login's user protocol
    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)

    @property
    def label(self) -> str:
        return f"{self.name} <{self.email}>"


class UserRole(Base):
    __tablename__ = "user_roles"
    __table_args__ = (CheckConstraint(f"role IN ({ROLE_VALUES})", name="role_known"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)

    user: Mapped[User] = relationship(back_populates="role_grants")


class UserSession(Base):
    """A signed-in browser session, held on the server so sign-out really ends it.

    The cookie carries a random token; only its SHA-256 is stored here.
    """

    __tablename__ = "user_sessions"
    __table_args__ = (Index("ix_user_sessions_user_open", "user_id", "ended_at"),)

    id: Mapped[intpk]
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[created]
    last_seen_at: Mapped[created]
    ended_at: Mapped[dt.datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(40))
    #: When this session last proved the second factor (sign-in or step-up).
    second_factor_at: Mapped[dt.datetime | None]
    address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))

    user: Mapped[User] = relationship(lazy="joined")


class ApiToken(Base):
    """A bearer token for the API; stored as a SHA-256 of a 256-bit random value."""

    __tablename__ = "api_tokens"
    __table_args__ = (UniqueConstraint("token_hash"),)

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[created]
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")


class UserTotp(Base):
    """A user's own authenticator app secret, sealed by the vault; unconfirmed until a code is entered."""

    __tablename__ = "user_totp"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32))
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    nonce: Mapped[bytes] = mapped_column(LargeBinary)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[created]
    confirmed_at: Mapped[dt.datetime | None]
    #: The last time step accepted: a code is good once.
    last_step: Mapped[int | None] = mapped_column(BigInteger)


def totp_aad(user_id: int) -> bytes:
    return f"user_totp|{user_id}".encode()


class RecoveryCode(Base):
    """A single-use code to sign in without the authenticator app; only its hash is kept."""

    __tablename__ = "recovery_codes"
    __table_args__ = (Index("ix_recovery_codes_user_id", "user_id"),)

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[created]
    used_at: Mapped[dt.datetime | None]
