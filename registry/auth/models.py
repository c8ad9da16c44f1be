"""People who sign in, their roles, their sessions and their API tokens."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac

from flask import current_app, g, has_request_context
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.auth.permissions import EVERYDAY, Permission, Role, permissions_for
from registry.db import Base, UTCDateTime, created, intpk, known, str200
from registry.text import Labelled


class User(Base):
    __tablename__ = "users"

    id: Mapped[intpk]
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str200]
    # Deferred: lists that show a requester never need to read it.
    password_hash: Mapped[str | None] = mapped_column(String(255), deferred=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[created]
    last_login_at: Mapped[dt.datetime | None]
    deactivated_at: Mapped[dt.datetime | None]
    #: Who a breach report about this person goes to first (policy 9.1); none: comms route it.
    line_manager_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: Until when this person may set up two-factor sign-in with their password alone: an account the
    #: system operator made on the command line. Otherwise a privileged account's first set-up needs
    #: its set-up link (proof that the person reads their own e-mail), not only a password.
    enrol_with_password_until: Mapped[dt.datetime | None]
    #: The identity provider's identifier for this person (SCIM ``externalId``: Entra's object id, or the
    #: subject). A first sign-in with a matching subject is linked to this account, never one by e-mail.
    external_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    #: A break-glass account: may sign in with a password when ``REGISTRY_LOCAL_SIGN_IN`` is ``break-glass``.
    break_glass: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    #: When the provisioning (SCIM) client deleted this person: deactivated, and gone from SCIM's view,
    #: but kept with their history (the audit trail and every request they made still name them).
    deprovisioned_at: Mapped[dt.datetime | None]

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
    __table_args__ = (known("role", Role),)

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
    #: When this session was opened through a set-up link sent to the person's own e-mail.
    setup_link_at: Mapped[dt.datetime | None]
    address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    #: How the person signed in: ``password`` or ``oidc`` (the identity provider).
    method: Mapped[str | None] = mapped_column(String(16))
    #: The identity the provider signed this session in as, and its session id (``sid``): a back-channel
    #: logout names either, and ends the sessions that match.
    identity_id: Mapped[int | None] = mapped_column(ForeignKey("user_identities.id", ondelete="SET NULL"), index=True)
    provider_sid: Mapped[str | None] = mapped_column(String(255), index=True)

    user: Mapped[User] = relationship(lazy="joined")


class UserIdentity(Base):
    """Who a person is at an OpenID provider: its issuer and their subject (``sub``, or Entra's ``oid``),
    never their e-mail address, which the organisation may give to someone else later."""

    __tablename__ = "user_identities"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    issuer: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[created]
    last_sign_in_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship(lazy="joined")


class ProviderLogout(Base):
    """A back-channel logout token already acted on (its issuer and ``jti``): a replay is refused."""

    __tablename__ = "provider_logouts"
    __table_args__ = (UniqueConstraint("issuer", "jti"),)

    id: Mapped[intpk]
    issuer: Mapped[str] = mapped_column(String(255))
    jti: Mapped[str] = mapped_column(String(255))
    received_at: Mapped[created]
    #: After this the token's own expiry refuses it, so the row may go.
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)


class ScimToken(Base):
    """The bearer token of a provisioning (SCIM) client; stored as a SHA-256 of a 256-bit random value."""

    __tablename__ = "scim_tokens"
    __table_args__ = (UniqueConstraint("token_hash"),)

    id: Mapped[intpk]
    label: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64))
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[created]
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]


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


class SetupReason(Labelled):
    """Why a set-up link was sent: it decides what the person is asked for when they open it."""

    NEW_ACCOUNT = "new_account", "a new account"
    PASSWORD_RESET = "password_reset", "a password reset"
    ROLE_GRANTED = "role_granted", "setting up two-factor sign-in for a new role"
    TWO_FACTOR_RESET = "two_factor_reset", "setting up two-factor sign-in again after a reset"
    OPERATOR = "operator", "a link from the system operator"


SETUP_TOKEN_CONTEXT = b"registry/setup-link/v1|"


class SetupLink(Base):
    """A single-use link to set up an account: choose a password and, for a privileged role, turn on
    two-factor sign-in. It is sent to the person's own e-mail address and nobody else ever sees it.

    The token is never stored: it is worked out, when the e-mail is written, from ``salt`` and the
    application's secret key (outside the database); only its SHA-256 is kept, to find the link.
    """

    __tablename__ = "setup_links"
    __table_args__ = (
        known("reason", SetupReason),
        Index("ix_setup_links_user_id", "user_id"),
    )

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(20))
    salt: Mapped[bytes] = mapped_column(LargeBinary)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[created]
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[dt.datetime | None]
    #: A newer link replaced it, or the account was deactivated.
    revoked_at: Mapped[dt.datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_by: Mapped[str] = mapped_column(String(300))

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")

    @property
    def reason_enum(self) -> SetupReason:
        return SetupReason(self.reason)

    def works(self, now: dt.datetime) -> bool:
        """Not used, not replaced, not expired, and its person may still sign in."""
        return self.used_at is None and self.revoked_at is None and now < self.expires_at and self.user.active

    @property
    def token(self) -> str:
        """The token: only ever put into the e-mail to its person, or printed by the operator on the server."""
        secret = current_app.config["SECRET_KEY"]
        key = hashlib.sha256(SETUP_TOKEN_CONTEXT + (secret.encode() if isinstance(secret, str) else secret)).digest()
        mac = hmac.new(key, SETUP_TOKEN_CONTEXT + str(self.id).encode() + b"|" + self.salt, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode("ascii").rstrip("=")

    @property
    def path(self) -> str:
        """The link's path on this site (an e-mail makes it absolute on REGISTRY_PUBLIC_BASE_URL)."""
        return f"/account/set-up/{self.token}"


class AccountRequestKind(Labelled):
    GRANT_ROLES = "grant_roles", "Give privileged roles"
    RESET_TWO_FACTOR = "reset_two_factor", "Reset two-factor sign-in"


class AccountRequestStatus(Labelled):
    PENDING = "pending", "Waiting for a second administrator"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired"


class AccountRequest(Base):
    """A privileged change to someone's account that one administrator asks for and a second approves
    (the four-eyes rule): giving a privileged role, or resetting a privileged user's two-factor sign-in.

    The database backs the rule: nobody asks for a change to their own account, and an approval is
    never by the person who asked or the person it is about.
    """

    __tablename__ = "account_requests"
    __table_args__ = (
        known("kind", AccountRequestKind),
        known("status", AccountRequestStatus),
        CheckConstraint("kind <> 'grant_roles' OR roles IS NOT NULL", name="roles_given"),
        CheckConstraint("requested_by_id <> user_id", name="not_for_oneself"),
        CheckConstraint(
            "status <> 'approved' OR (decided_by_id IS NOT NULL AND decided_by_id <> requested_by_id "
            "AND decided_by_id <> user_id)",
            name="four_eyes",
        ),
        Index("ix_account_requests_status_requested_at", "status", "requested_at"),
        Index("ix_account_requests_user_id", "user_id"),
        Index(
            "uq_account_requests_one_pending",
            "user_id",
            "kind",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[intpk]
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12), default=AccountRequestStatus.PENDING.value)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: The privileged roles to add, comma-separated (grant_roles only).
    roles: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[created]
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined", innerjoin=True)
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id], lazy="joined", innerjoin=True)
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id], lazy="joined")

    @property
    def kind_enum(self) -> AccountRequestKind:
        return AccountRequestKind(self.kind)

    @property
    def status_enum(self) -> AccountRequestStatus:
        return AccountRequestStatus(self.status)

    @property
    def role_list(self) -> list[Role]:
        return sorted(Role(value) for value in (self.roles or "").split(",") if value)

    @property
    def reference(self) -> str:
        return f"AR-{self.id:04d}"
