"""Accounts: sign-in, user administration, passwords and API tokens (line managers are
:mod:`registry.auth.managers`).

Every function validates first and changes nothing on refusal; each change is
audited in the same transaction (the caller's unit of work commits).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping

from sqlalchemy import func, or_, select, update

from registry import db
from registry.audit.models import AuditAction
from registry.audit.services import Actor, record
from registry.auth import notices, sessions, setup_links, signals
from registry.auth.models import (
    AccountRequest,
    AccountRequestStatus,
    ApiToken,
    SetupReason,
    User,
    UserIdentity,
    UserRole,
)
from registry.auth.passwords import (
    burn_equivalent_time,
    hash_password,
    needs_rehash,
    password_problem,
    verify_password,
)
from registry.auth.permissions import PRIVILEGED_ROLES, Role
from registry.errors import Conflict, Invalid, NotFound, NotPermitted


def normalise_email(email: str) -> str:
    return email.strip().lower()


def checked_email(email: str, field: str = "email") -> str:
    """The normalised address, or :class:`Invalid` naming ``field``.

    email-validator is imported here, on the first address checked, not when the app starts (its
    tables cost more than most commands and requests use)."""
    from email_validator import EmailNotValidError, validate_email

    try:
        # No DNS lookups (the Trust's own domains may not be public); .test addresses allowed for training set-ups.
        result = validate_email(email.strip(), check_deliverability=False, test_environment=True)
    except EmailNotValidError:
        raise Invalid({field: "Enter an email address in the correct format, like name@example.nhs.uk"}) from None
    return result.normalized.lower()


def find_user(email: str) -> User | None:
    return db.session().execute(select(User).where(User.email == normalise_email(email))).scalar_one_or_none()


def get_user(user_id: int) -> User:
    user = db.session().get(User, user_id)
    if user is None:
        raise NotFound("There is no such user.")
    return user


def authenticate(email: str, password: str) -> User | None:
    """The user whose e-mail and password match, or None.

    An unknown e-mail costs the same time as a wrong password, and both get the
    same answer. A failed attempt on a known account is audited (never the
    password). A hash made with old parameters is upgraded.
    """
    user = find_user(email) if email else None
    if user is None or not user.password_hash:
        burn_equivalent_time(password)
        return None
    if not verify_password(user.password_hash, password) or not user.active:
        record(
            AuditAction.USER_SIGN_IN_FAILED,
            "user",
            user.id,
            {"reason": "inactive" if user.active is False else "wrong_password"},
            actor=Actor(user.id, user.label),
        )
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        record(AuditAction.USER_PASSWORD_REHASH, "user", user.id, {}, actor=user)
    user.last_login_at = db.utcnow()
    return user


def sign_in(user: User, *, second_factor: str | None = None, provider: sessions.ProviderSession | None = None) -> None:
    """Start a session; ``second_factor`` names how it was proved ("totp", "recovery_code", "identity
    provider"), if it was; ``provider``: the identity provider signed them in (not a password)."""
    sessions.start(user, second_factor=second_factor is not None, provider=provider)
    details: dict[str, object] = {"second_factor": second_factor}
    if provider is not None:
        details["method"] = "identity provider"
    record(AuditAction.USER_SIGN_IN, "user", user.id, details, actor=user)


def sign_out(user: User) -> None:
    record(AuditAction.USER_SIGN_OUT, "user", user.id, {}, actor=user)
    sessions.end("signed_out")


def checked_roles(values: Iterable[str | Role]) -> set[Role]:
    """The roles named, or :class:`Invalid` naming ``roles``."""
    roles: set[Role] = set()
    for value in values:
        try:
            roles.add(Role(value))
        except ValueError:
            allowed = ", ".join(role.value for role in Role)
            raise Invalid({"roles": f"{value!r} is not a role. Choose from {allowed}."}) from None
    if not roles:
        raise Invalid({"roles": "Choose at least one role."})
    return roles


#: Characters a person's name never needs and that can hide or reorder what a page or a terminal shows: control
#: characters (Cc) and the bidirectional overrides and isolates.
_HIDDEN = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


def name_problem(name: str) -> str | None:
    """What is wrong with ``name`` (already stripped) as a person's name, if anything: the one check for the
    pages, the command line, the users import, SCIM and the identity provider."""
    if not name:
        return "Enter the person's full name."
    if len(name) > 200:
        return "The name must be 200 characters or fewer."
    if any(unicodedata.category(c) == "Cc" or c in _HIDDEN for c in name):
        return "The name contains a control or text-direction character: type it again without one."
    return None


def create_user(
    *,
    email: str,
    name: str,
    roles: Iterable[str | Role],
    password: str | None,
    actor: Actor | User,
    enrol_permit: bool = False,
    errors: Mapping[str, str] | None = None,
) -> User:
    """A new account. ``password`` None: they choose one through a set-up link (the web pages never let an
    administrator choose it). ``enrol_permit``: the system operator made it on the command line, so for
    24 hours it may set up two-factor sign-in with its password alone. ``errors``: the caller's own
    mistakes in the same form, reported with these in one :class:`Invalid` (nothing is made unless
    there are none)."""
    errors = dict(errors or {})
    try:
        email = checked_email(email)
    except Invalid as exc:
        errors.update(exc.errors)
    name = name.strip()
    if problem := name_problem(name):
        errors["name"] = problem
    try:
        chosen = checked_roles(roles)
    except Invalid as exc:
        errors.update(exc.errors)
        chosen = set()
    problem = password_problem(password, email=email, name=name) if password is not None else None
    if problem:
        errors["password"] = problem
    if "email" not in errors and find_user(email) is not None:
        errors["email"] = "There is already a user with this email address."
    if errors:
        raise Invalid(errors)
    user = User(
        email=email,
        name=name,
        password_hash=hash_password(password) if password is not None else None,
        enrol_with_password_until=db.utcnow() + setup_links.OPERATOR_PERMIT if enrol_permit else None,
        role_grants=[UserRole(role=role.value) for role in sorted(chosen)],
    )
    session = db.session()
    session.add(user)
    session.flush()
    record(
        AuditAction.USER_CREATE,
        "user",
        user.id,
        {"email": user.email, "name": user.name, "roles": sorted(r.value for r in chosen)},
        actor=actor,
    )
    return user


def _active_admins() -> int:
    return (
        db.session()
        .execute(
            select(func.count())
            .select_from(User)
            .join(UserRole)
            .where(User.active.is_(True), UserRole.role == Role.ADMIN.value)
        )
        .scalar_one()
    )


def set_roles(
    user: User,
    roles: Iterable[str | Role],
    *,
    actor: Actor | User,
    approved: AccountRequest | None = None,
) -> bool:
    """Replace ``user``'s roles; ends their sessions. False when nothing changed.

    Nobody changes their own roles, and a person (rather than the system operator's command line) adds
    a privileged role only as the second administrator approving a request for it
    (``registry.auth.approvals``): this is the one place roles change, so it refuses anything else.
    """
    chosen = checked_roles(roles)
    before = user.roles
    if chosen == before:
        return False
    if isinstance(actor, User):
        if actor.id == user.id:
            raise NotPermitted("Nobody changes their own roles: ask another system administrator.")
        added = (chosen - before) & PRIVILEGED_ROLES
        allowed = (
            set(approved.role_list)
            if (
                approved is not None
                and approved.status == AccountRequestStatus.APPROVED.value
                and approved.user_id == user.id
                and approved.decided_by_id == actor.id
            )
            else set()
        )
        if added - allowed:
            raise NotPermitted("A privileged role takes effect only when a second system administrator approves it.")
    if Role.ADMIN in before and Role.ADMIN not in chosen and user.active and _active_admins() <= 1:
        raise Conflict("This is the only active administrator: give another user the admin role first.")
    user.role_grants = [UserRole(role=role.value) for role in sorted(chosen)]
    db.session().flush()
    ended = sessions.end_all(user, "roles_changed")
    record(
        AuditAction.USER_ROLES_CHANGE,
        "user",
        user.id,
        {
            "before": sorted(r.value for r in before),
            "after": sorted(r.value for r in chosen),
            "sessions_ended": ended,
        },
        actor=actor,
    )
    # In this transaction: a receiver's error undoes the change (a line manager's open cases go back to comms).
    signals.roles_changed.send(user, actor=actor, before=frozenset(before), after=frozenset(chosen))
    if removed := (before - chosen) & PRIVILEGED_ROLES:
        notices.roles_removed(user, removed, by=actor.label if isinstance(actor, User) else "The system operator")
    return True


def deactivate(user: User, *, actor: Actor | User) -> signals.Departure:
    """A leaver: cannot sign in, their sessions end and their tokens stop working; their
    roles on the Trust's accounts end and every secret they could know is marked for rotation.

    The one entry point of the leaver path (the users page, ``flask users deactivate``, and
    whatever deprovisions accounts from the Trust's directory). What other packages do about a
    leaver they do as receivers of :data:`registry.auth.signals.user_left`, in this transaction:
    the roster ends their grants and flags credentials, breach reports waiting for them go back
    to comms. An error in any of them undoes the whole deactivation."""
    if not user.active:
        raise Conflict(f"{user.name} is already deactivated.")
    if isinstance(actor, User) and actor.id == user.id:
        raise Conflict("You cannot deactivate your own account.")
    if user.has_role(Role.ADMIN) and _active_admins() <= 1:
        raise Conflict("This is the only active administrator: give another user the admin role first.")
    user.active = False
    user.deactivated_at = db.utcnow()
    ended = sessions.end_all(user, "deactivated")
    revoked = db.changed_rows(
        db.session().execute(
            update(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=db.utcnow(), revoked_by_id=actor.id)
        )
    )
    links = setup_links.revoke_all(user)
    lapsed = db.changed_rows(
        db.session().execute(
            update(AccountRequest)
            .where(
                or_(AccountRequest.user_id == user.id, AccountRequest.requested_by_id == user.id),
                AccountRequest.status == AccountRequestStatus.PENDING.value,
            )
            .values(
                status=AccountRequestStatus.CANCELLED.value,
                decided_at=db.utcnow(),
                decision_note=f"{user.name} was deactivated.",
            )
            .execution_options(synchronize_session=False)
        )
    )
    record(
        AuditAction.USER_DEACTIVATE,
        "user",
        user.id,
        {"sessions_ended": ended, "tokens_revoked": revoked, "setup_links_revoked": links, "requests_lapsed": lapsed},
        actor=actor,
    )
    return signals.Departure(user, signals.outcomes_of(signals.user_left.send(user, actor=actor)))


def identities_of(user: User) -> list[UserIdentity]:
    """The organisation's accounts (identity provider subjects) linked to ``user``."""
    return list(db.session().execute(select(UserIdentity).where(UserIdentity.user_id == user.id)).scalars())


def set_break_glass(user: User, on: bool, *, actor: Actor | User) -> bool:
    """Mark ``user`` as a break-glass account (or no longer): with ``REGISTRY_LOCAL_SIGN_IN=break-glass`` only such
    accounts may sign in with a password, for when the identity provider is down. False when nothing changed."""
    if user.break_glass == on:
        return False
    if on and not user.active:
        raise Conflict(f"{user.name} is deactivated: a leaver cannot be a break-glass account.")
    user.break_glass = on
    record(AuditAction.USER_BREAK_GLASS, "user", user.id, {"break_glass": on}, actor=actor)
    return True


def reactivate(user: User, *, actor: Actor | User) -> set[Role]:
    """A leaver returns with their everyday roles only: a privileged role they held comes back only when
    one administrator asks for it and a second approves, as for anyone. Returns the privileged roles
    taken away (audited with the reactivation)."""
    if user.active:
        raise Conflict(f"{user.name} is already active.")
    removed = set(user.roles & PRIVILEGED_ROLES)
    if removed:
        set_roles(user, (user.roles - PRIVILEGED_ROLES) or {Role.STAFF}, actor=actor)
    user.active = True
    user.deactivated_at = None
    record(
        AuditAction.USER_REACTIVATE,
        "user",
        user.id,
        {"privileged_roles_removed": sorted(role.value for role in removed)},
        actor=actor,
    )
    return removed


def change_password(user: User, *, current: str, new: str) -> None:
    """The user's own change: needs the current password; ends their other sessions."""
    errors: dict[str, str] = {}
    if not verify_password(user.password_hash, current):
        errors["current_password"] = "Your current password is not right."
    problem = password_problem(new, email=user.email, name=user.name)
    if problem:
        errors["new_password"] = problem
    elif current and current == new:
        errors["new_password"] = "Choose a password different from your current one."
    if errors:
        raise Invalid(errors)
    user.password_hash = hash_password(new)
    notices.tell(user, "Your password was changed", "Your password for the Social Channel Registry was changed.")
    keep = sessions.current_record()
    ended = sessions.end_all(user, "password_changed")
    if keep is not None:
        keep.ended_at = None
        keep.end_reason = None
        ended -= 1
    record(AuditAction.USER_PASSWORD_CHANGE, "user", user.id, {"other_sessions_ended": max(ended, 0)}, actor=user)


def reset_password(user: User, *, actor: User) -> None:
    """An administrator resets a forgotten password without ever learning one: the old password stops
    working, every session of theirs ends, and they are e-mailed a single-use set-up link to choose a
    new password themselves."""
    if actor.id == user.id:
        raise NotPermitted("Change your own password from your account page.")
    if not user.active:
        raise Conflict(f"{user.name} is deactivated: reactivate them first.")
    user.password_hash = None
    ended = sessions.end_all(user, "password_reset")
    record(AuditAction.USER_PASSWORD_RESET, "user", user.id, {"sessions_ended": ended}, actor=actor)
    setup_links.issue(user, SetupReason.PASSWORD_RESET, actor=actor)


def create_token(user: User, *, actor: Actor | User) -> tuple[ApiToken, str]:
    """A new API token for ``user``; the value is returned once and stored only as a hash."""
    if not user.active:
        raise Conflict(f"{user.email} is deactivated: a token cannot be issued.")
    value = sessions.new_token_value()
    token = ApiToken(user_id=user.id, token_hash=sessions.digest(value), prefix=value[:10])
    db.session().add(token)
    db.session().flush()
    record(AuditAction.TOKEN_CREATE, "api_token", token.id, {"user_id": user.id, "prefix": token.prefix}, actor=actor)
    return token, value


def revoke_token(token: ApiToken, *, actor: Actor | User) -> None:
    if token.revoked_at is not None:
        raise Conflict("This token is already revoked.")
    token.revoked_at = db.utcnow()
    token.revoked_by_id = actor.id
    record(
        AuditAction.TOKEN_REVOKE, "api_token", token.id, {"user_id": token.user_id, "prefix": token.prefix}, actor=actor
    )


def tokens_of(user: User) -> list[ApiToken]:
    return list(
        db.session()
        .execute(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc()))
        .scalars()
    )
