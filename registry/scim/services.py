"""Provisioning by the identity provider: its bearer tokens, and joiners, movers and leavers.

Each function validates first and changes nothing on refusal; every change is audited with the
provisioning client as the actor, in the caller's unit of work (the request commits once). A leaver
goes through :func:`registry.auth.services.deactivate`, the one leaver path, exactly as
``flask users deactivate`` does.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from registry import db
from registry.audit.models import AuditAction, AuditEvent
from registry.audit.services import Actor, record
from registry.auth import managers, sessions
from registry.auth import services as accounts
from registry.auth.models import ScimToken, User, UserIdentity
from registry.auth.permissions import PRIVILEGED_ROLES, Role
from registry.errors import Conflict, Invalid, NotFound

TOKEN_PREFIX = "scim_"
#: What every actor label of a provisioning client starts with (:func:`client_actor`).
CLIENT_ACTOR = "SCIM client"


class Taken(Conflict):
    """A value that must be unique (userName, externalId) already belongs to someone else."""


class Immutable(Conflict):
    """The client tried to change what it may not change (SCIM's ``mutability``)."""


# --- the provisioning client's tokens ---------------------------------------------------------


def create_token(label: str, *, actor: Actor) -> tuple[ScimToken, str]:
    """A new bearer token for a provisioning client; the value is returned once and stored only as a hash."""
    label = label.strip()
    if not label:
        raise Invalid({"label": "Give the token a label that names the provisioning client, like 'Entra ID'."})
    if len(label) > 100:
        raise Invalid({"label": "The label must be 100 characters or fewer."})
    value = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ScimToken(label=label, token_hash=sessions.digest(value), prefix=value[:10])
    db.session().add(token)
    db.session().flush()
    record(AuditAction.SCIM_TOKEN_CREATE, "scim_token", token.id, {"label": label, "prefix": token.prefix}, actor=actor)
    return token, value


def revoke_token(token_id: int, *, actor: Actor) -> ScimToken:
    token = db.session().get(ScimToken, token_id)
    if token is None:
        raise NotFound(f"There is no SCIM token {token_id}.")
    if token.revoked_at is not None:
        raise Conflict(f"SCIM token {token_id} ({token.label}) is already revoked.")
    token.revoked_at = db.utcnow()
    record(
        AuditAction.SCIM_TOKEN_REVOKE,
        "scim_token",
        token.id,
        {"label": token.label, "prefix": token.prefix},
        actor=actor,
    )
    return token


def tokens() -> list[ScimToken]:
    return list(db.session().execute(select(ScimToken).order_by(ScimToken.id)).scalars())


def token_for(value: str | None) -> ScimToken | None:
    """The live token whose value this is, or None; notes when it was last used (even if the request fails)."""
    if value is None or not value.startswith(TOKEN_PREFIX) or len(value) > 200:
        return None
    token = (
        db.session()
        .execute(select(ScimToken).where(ScimToken.token_hash == sessions.digest(value)))
        .scalar_one_or_none()
    )
    if token is None or token.revoked_at is not None:
        return None
    now = db.utcnow()
    if token.last_used_at is None or now - token.last_used_at > sessions.LAST_SEEN_RESOLUTION:
        token_id = token.id

        def note_use(session: Session) -> None:
            session.execute(update(ScimToken).where(ScimToken.id == token_id).values(last_used_at=now))

        db.even_if_refused(note_use)
    return token


def client_actor(token: ScimToken) -> Actor:
    """Who the audit trail names for what a provisioning client does: the client and which of its tokens."""
    return Actor.system(f"{CLIENT_ACTOR} {token.label} (token {token.id})")


# --- people ------------------------------------------------------------------------------------


def provisioned() -> Select[User]:
    """Every user the provisioning client may see: all but those it deleted and the break-glass accounts
    (which must work when the directory does not, so the directory never touches them)."""
    return select(User).where(User.deprovisioned_at.is_(None), User.break_glass.is_(False))


def get(user_id: str) -> User:
    """The user with this SCIM id, or :class:`NotFound` (also for one the client deleted)."""
    found = (
        db.session().execute(provisioned().where(User.id == int(user_id))).scalar_one_or_none()
        if user_id.isascii() and user_id.isdigit() and len(user_id) < 19
        else None
    )
    if found is None:
        raise NotFound(f"There is no user {user_id}.")
    return found


@dataclass(frozen=True)
class Page:
    users: list[User]
    total: int
    start: int


def page(*, user_name: str | None, external_id: str | None, start: int, count: int) -> Page:
    """One page of users (oldest first), in two statements whatever its size: the total and the page."""
    statement = provisioned()
    if user_name is not None:
        statement = statement.where(User.email == accounts.normalise_email(user_name))
    if external_id is not None:
        statement = statement.where(User.external_id == external_id)
    total = db.session().execute(select(func.count()).select_from(statement.subquery())).scalar_one()
    users = (
        list(db.session().execute(statement.order_by(User.id).offset(start - 1).limit(count)).scalars())
        if count > 0
        else []
    )
    return Page(users, total, start)


@dataclass(frozen=True)
class Wanted:
    """What the provisioning client says a person is. ``manager`` is a SCIM id; ``None`` for
    ``manager``: no line manager; ``None`` for ``active`` or ``external_id``: not said (an externalId
    once set is never cleared)."""

    email: str
    name: str
    external_id: str | None
    active: bool | None
    manager: str | None


def _email(value: str) -> str:
    try:
        return accounts.checked_email(value, "userName")
    except Invalid:
        raise Invalid(
            {"userName": f"userName must be the person's e-mail address, like name@example.nhs.uk; got {value!r}."}
        ) from None


def _checked(wanted: Wanted, user: User | None) -> tuple[str, str, User | None]:
    """The normalised address and name and the manager, or :class:`Invalid` / :class:`Conflict` naming the
    attribute. Nothing is changed."""
    email = _email(wanted.email)
    name = wanted.name.strip()
    if not name:
        raise Invalid({"displayName": "displayName must hold the person's name."})
    if len(name) > 200:
        raise Invalid({"displayName": "displayName must be 200 characters or fewer."})
    if wanted.external_id is not None and len(wanted.external_id) > 255:
        raise Invalid({"externalId": "externalId must be 255 characters or fewer."})
    holder = accounts.find_user(email)
    if holder is not None and holder is not user:
        raise Taken(f"userName {email} is already the userName of another user.")
    if user is not None and email != user.email and user.roles & PRIVILEGED_ROLES:
        raise Immutable(
            f"{user.email} holds a privileged role, so the directory cannot change their address "
            f"(userName or emails): change a privileged account's address in the Registry."
        )
    if wanted.external_id is not None:
        same = db.session().execute(select(User).where(User.external_id == wanted.external_id)).scalar_one_or_none()
        if same is not None and same is not user:
            raise Taken(f"externalId {wanted.external_id} is already the externalId of another user.")
        if user is not None:
            _check_external_id(user, wanted.external_id)
    manager = None
    if wanted.manager is not None:
        try:
            manager = get(wanted.manager)
        except NotFound:
            raise Invalid(
                {"manager": f"The manager {wanted.manager!r} is not a user this service knows (manager.value)."}
            ) from None
        if not manager.active:
            raise Invalid({"manager": f"The manager {wanted.manager} ({manager.name}) is deactivated."})
    return email, name, manager


def _check_external_id(user: User, external_id: str) -> None:
    """An account's externalId is the directory id of the person who signs in to it (their first NHSmail
    sign-in links to the account that has their id), so it never changes, and an account the Registry
    had before is adopted only when nothing says it is someone else's or it is worth taking over."""
    if user.external_id is not None:
        if external_id != user.external_id:
            raise Immutable(
                f"externalId is this person's directory id and cannot change: a different id is a different "
                f"person. {user.email} has externalId {user.external_id}; got {external_id}."
            )
        return
    if user.break_glass:  # never seen by the client (provisioned()); refused here too, whoever asks
        raise Conflict(f"{user.email} is a break-glass account: the directory cannot provision it.")
    subjects = set(db.session().execute(select(UserIdentity.subject).where(UserIdentity.user_id == user.id)).scalars())
    if subjects and external_id not in subjects:
        raise Conflict(
            f"{user.email} already signs in with a different directory id than externalId {external_id}, so "
            f"the directory is describing a different person. Check the person in the directory; if the "
            f"Registry account is wrong, an administrator must deal with it in the Registry."
        )
    if not subjects and user.roles & PRIVILEGED_ROLES:
        raise Conflict(
            f"{user.email} holds a privileged role and has never signed in with NHSmail, so provisioning "
            f"cannot match them by address alone. Ask them to sign in to the Registry once with NHSmail and "
            f"their password (which links their NHSmail identity); provisioning can then match them."
        )


def _check_reactivation(user: User) -> None:
    """The directory may bring back only someone a provisioning client took away: a person an
    administrator deactivated stays away until an administrator says otherwise."""
    last = (
        db.session()
        .execute(
            select(AuditEvent.actor_id, AuditEvent.actor)
            .where(
                AuditEvent.object_type == "user",
                AuditEvent.object_id == str(user.id),
                AuditEvent.action == AuditAction.USER_DEACTIVATE,
            )
            .order_by(AuditEvent.seq.desc())
            .limit(1)
        )
        .one_or_none()
    )
    if last is None or last.actor_id is not None or not last.actor.startswith(f"{CLIENT_ACTOR} "):
        raise Conflict(
            f"{user.email}: an administrator deactivated this person: an administrator must reactivate them."
        )


def create(wanted: Wanted, *, client: ScimToken) -> User:
    """A joiner: a ``staff`` user with no password (they sign in with the identity provider)."""
    email, name, manager = _checked(wanted, None)
    actor = client_actor(client)
    user = accounts.create_user(email=email, name=name, roles=[Role.STAFF], password=None, actor=actor)
    if wanted.external_id is not None:
        user.external_id = wanted.external_id
        record(AuditAction.USER_PROFILE_CHANGE, "user", user.id, {"external_id": {"to": user.external_id}}, actor=actor)
    _set_manager(user, manager, actor)
    if wanted.active is False:
        accounts.deactivate(user, actor=actor)
    return user


def apply(user: User, wanted: Wanted, *, client: ScimToken) -> None:
    """A mover (or a leaver, or a returner): make ``user`` what the client says, auditing each change."""
    email, name, manager = _checked(wanted, user)
    if wanted.active is True and not user.active:
        _check_reactivation(user)
    actor = client_actor(client)
    external_id = user.external_id if wanted.external_id is None else wanted.external_id
    changes: dict[str, dict[str, str | None]] = {}
    for field, value in (("email", email), ("name", name), ("external_id", external_id)):
        before = getattr(user, field)
        if before != value:
            changes[field] = {"from": before, "to": value}
            setattr(user, field, value)
    if changes:
        db.session().flush()
        record(AuditAction.USER_PROFILE_CHANGE, "user", user.id, changes, actor=actor)
    if wanted.active is False and user.active:
        accounts.deactivate(user, actor=actor)
    _set_manager(user, manager, actor)
    if wanted.active is True and not user.active:
        accounts.reactivate(user, actor=actor)


def _set_manager(user: User, manager: User | None, actor: Actor) -> None:
    """Record the directory's line manager. Whoever the directory names as a manager manages in the
    Registry too: they get the (unprivileged) line manager role, audited, if they lack it."""
    if manager is not None and not manager.has_role(Role.MANAGER):
        accounts.set_roles(manager, manager.roles | {Role.MANAGER}, actor=actor)
    try:
        managers.set_line_manager(user, manager, actor=actor)
    except Invalid as exc:
        raise Invalid({"manager": exc.message}) from None


def deprovision(user: User, *, client: ScimToken) -> None:
    """The client deleted the person: the leaver path (if they are still active), then hidden from SCIM
    for good; the account stays, with its history, for the audit trail and the requests that name it."""
    actor = client_actor(client)
    if user.active:
        accounts.deactivate(user, actor=actor)
    user.deprovisioned_at = db.utcnow()
    record(AuditAction.USER_DEPROVISION, "user", user.id, {}, actor=actor)
