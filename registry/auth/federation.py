"""Who someone signing in with the identity provider is in the Registry, and what they may do.

A person is found by the provider's issuer and their subject, never by e-mail alone (an organisation
gives a leaver's address to someone else later). The first sign-in links an account the provisioning
client made (its ``external_id`` is the subject), or makes a ``staff`` account; an existing account with
the same e-mail is linked only after its owner proves it with its password. Where the deployment maps
the provider's roles (``REGISTRY_OIDC_ROLE_MAP``), the roles named in the map follow the provider at
every sign-in, audited; the other roles stay managed in the Registry.
"""

from __future__ import annotations

from sqlalchemy import select

from config import OidcSettings
from registry import db
from registry.audit.models import AuditAction
from registry.audit.services import Actor, record
from registry.auth import services
from registry.auth.models import User, UserIdentity
from registry.auth.oidc import Claims, Refused
from registry.auth.permissions import Role
from registry.errors import Conflict, Invalid

#: The audited actor of changes the identity provider makes.
PROVIDER = Actor.system("identity provider")


def refuse(claims: Claims | None, reason: str, *, user: User | None = None) -> None:
    """Record a refused sign-in (kept although the request fails)."""
    details: dict[str, object] = {"reason": reason, "method": "identity provider"}
    if claims is not None:
        details.update(issuer=claims.issuer, subject=claims.subject, tenant=claims.tenant)
    # The provider is the actor: whoever tried is named by the details, not by the account they reached.
    record(AuditAction.USER_SIGN_IN_FAILED, "user", user.id if user is not None else "-", details, actor=PROVIDER)
    db.keep_on_error()


def identity_of(claims: Claims) -> UserIdentity | None:
    found: UserIdentity | None = (
        db.session()
        .execute(
            select(UserIdentity).where(UserIdentity.issuer == claims.issuer, UserIdentity.subject == claims.subject)
        )
        .scalar_one_or_none()
    )
    return found


def link(user: User, claims: Claims, how: str) -> UserIdentity:
    identity = UserIdentity(user_id=user.id, issuer=claims.issuer, subject=claims.subject)
    db.session().add(identity)
    db.session().flush()
    record(
        AuditAction.USER_IDENTITY_LINK,
        "user",
        user.id,
        {"issuer": claims.issuer, "subject": claims.subject, "how": how},
        actor=PROVIDER if how != "password" else Actor.of(user),
    )
    return identity


class NeedsPassword(Exception):
    """An account with this e-mail exists but was never linked: its owner proves it with its password."""

    def __init__(self, user: User) -> None:
        super().__init__(user.email)
        self.user = user


def prepared(user: User) -> bool:
    """An account an administrator made for this address (``users import``, or without a password) that nobody
    has ever used: no sign-in, no password, no identity, not a break-glass account. Its first sign-in with the
    provider may claim it by address. (An address reused after a leaver reaches only an account its first
    holder never used; deactivate prepared accounts of people who leave before they sign in.)"""
    if user.last_login_at is not None or user.break_glass or user.external_id is not None or user.password_hash:
        return False
    linked = db.session().execute(select(UserIdentity.id).where(UserIdentity.user_id == user.id)).first()
    return linked is None


def _linked_or_made(claims: Claims) -> tuple[User, UserIdentity]:
    """A first sign-in: the account provisioned for this subject, a prepared one for the address, or a new one."""
    provisioned = db.session().execute(select(User).where(User.external_id == claims.subject)).scalar_one_or_none()
    if provisioned is not None:
        return provisioned, link(provisioned, claims, "provisioned")
    if claims.email is None:
        raise Refused(
            "no e-mail address in the token",
            "Your organisation's account has no e-mail address this service can use. Ask the IT service desk.",
        )
    existing = services.find_user(claims.email)
    if existing is not None:
        if not prepared(existing):
            raise NeedsPassword(existing)
        return existing, link(existing, claims, "prepared account, first sign-in")
    try:
        user = services.create_user(
            email=claims.email, name=claims.name or claims.email, roles=[Role.STAFF], password=None, actor=PROVIDER
        )
    except Invalid as exc:
        raise Refused("account could not be made: " + ", ".join(sorted(exc.errors))) from None
    return user, link(user, claims, "first sign-in")


def find_or_create(claims: Claims, configured: OidcSettings) -> tuple[User, UserIdentity]:
    """The person signing in, linked or made on their first sign-in. Raises :class:`Refused` or
    :class:`NeedsPassword`."""
    identity = identity_of(claims)
    user, identity = (identity.user, identity) if identity is not None else _linked_or_made(claims)
    if not user.active:
        raise Refused(
            "inactive",
            "Your account in this service has been closed. If you think that is wrong, ask a system administrator.",
        )
    _keep_details(user, claims)
    sync_roles(user, claims, configured)
    identity.last_sign_in_at = db.utcnow()
    user.last_login_at = db.utcnow()
    return user, identity


def _keep_details(user: User, claims: Claims) -> None:
    """The provider is the source of a person's name and address: bring them into line, audited."""
    changes: dict[str, dict[str, str]] = {}
    if claims.name and claims.name != user.name:
        changes["name"] = {"from": user.name, "to": claims.name}
        user.name = claims.name
    if claims.email and claims.email != user.email and services.find_user(claims.email) is None:
        changes["email"] = {"from": user.email, "to": claims.email}
        user.email = claims.email
    if changes:
        record(AuditAction.USER_DETAILS_FROM_PROVIDER, "user", user.id, changes, actor=PROVIDER)


def sync_roles(user: User, claims: Claims, configured: OidcSettings) -> bool:
    """Where roles are mapped, the mapped ones follow the provider's claim; others are left alone."""
    if not configured.maps_roles:
        return False
    governed = {Role(role) for _, role in configured.role_map}
    given = {Role(role) for value, role in configured.role_map if value in claims.roles}
    wanted = (user.roles - governed) | given | {Role.STAFF}
    if wanted == user.roles:
        return False
    try:
        return services.set_roles(user, wanted, actor=PROVIDER)
    except Conflict as exc:
        # The last administrator keeps the role: record why nothing changed.
        record(
            AuditAction.USER_ROLES_CHANGE,
            "user",
            user.id,
            {"refused": exc.message, "asked": sorted(r.value for r in wanted)},
            actor=PROVIDER,
        )
        return False
