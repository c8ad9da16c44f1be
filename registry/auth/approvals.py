"""The four-eyes rule for accounts: no administrator alone can reach the Trust's secrets.

Nobody changes their own roles. On the web pages an administrator may add the everyday roles
(staff, line manager) and remove any role at once, but giving a privileged role (comms, admin,
auditor, HR) is a request that takes effect only when a second administrator approves it; so is
resetting a privileged user's two-factor sign-in. The person and every comms member are told of a
request and of its approval, the person is told at once of a two-factor reset asked for them, and
every step is audited. The database backs the rule (see :class:`AccountRequest`).

The command line (``users create … --role comms``) is the system operator's tool on the server,
where the master keys already live; it acts at once, and is audited too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import Select, func, select, update

from registry import db
from registry.audit.models import AuditAction
from registry.audit.services import record
from registry.auth import mfa, sessions, setup_links
from registry.auth import services as accounts
from registry.auth.models import (
    AccountRequest,
    AccountRequestKind,
    AccountRequestStatus,
    SetupReason,
    User,
    UserRole,
)
from registry.auth.permissions import (
    PRIVILEGED_ROLES,
    TWO_FACTOR_ROLES,
    Permission,
    Role,
)
from registry.errors import Conflict, Invalid, NotFound, NotPermitted
from registry.notifications import services as notifications

LIFETIME = dt.timedelta(days=7)
REASON_MAX = 1000
APPROVALS_LINK = "/admin/approvals"


def role_names(roles: Iterable[Role]) -> str:
    """The roles' names as a phrase: 'Auditor and Human resources'."""
    labels = [role.label for role in sorted(roles)]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def _clean_reason(reason: str | None, field: str, message: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise Invalid({field: message})
    if len(text) > REASON_MAX:
        raise Invalid({field: f"Keep it to {REASON_MAX} characters or fewer."})
    return text


def _not_about_oneself(user: User, actor: User, doing: str) -> None:
    if user.id == actor.id:
        raise NotPermitted(f"Nobody {doing} their own account: ask another system administrator to do it.")


def _admins(*, besides: Iterable[User]) -> list[User]:
    """Active administrators other than those named (who asked, who it is about)."""
    excluded = {person.id for person in besides}
    people = (
        db.session()
        .execute(
            select(User)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == Role.ADMIN.value, User.active.is_(True))
            .order_by(User.id)
        )
        .unique()
        .scalars()
    )
    return [person for person in people if person.id not in excluded]


def _expire_stale(user: User, kind: AccountRequestKind) -> None:
    """A request nobody decided within 7 days lapses, so a new one can be made."""
    db.session().execute(
        update(AccountRequest)
        .where(
            AccountRequest.user_id == user.id,
            AccountRequest.kind == kind.value,
            AccountRequest.status == AccountRequestStatus.PENDING.value,
            AccountRequest.expires_at <= db.utcnow(),
        )
        .values(status=AccountRequestStatus.EXPIRED.value, decided_at=db.utcnow())
        .execution_options(synchronize_session=False)
    )


def _pending(user: User, kind: AccountRequestKind) -> AccountRequest | None:
    return (
        db.session()
        .execute(
            select(AccountRequest).where(
                AccountRequest.user_id == user.id,
                AccountRequest.kind == kind.value,
                AccountRequest.status == AccountRequestStatus.PENDING.value,
            )
        )
        .scalar_one_or_none()
    )


def _open_request(
    user: User,
    kind: AccountRequestKind,
    *,
    actor: User,
    reason: str,
    roles: Iterable[Role] = (),
) -> AccountRequest:
    _expire_stale(user, kind)
    waiting = _pending(user, kind)
    if waiting is not None:
        raise Conflict(
            f"{waiting.requested_by.name} already asked for this on {waiting.requested_at:%d %B %Y}: "
            "approve, reject or cancel that request first."
        )
    now = db.utcnow()
    request = AccountRequest(
        kind=kind.value,
        status=AccountRequestStatus.PENDING.value,
        user_id=user.id,
        roles=",".join(sorted(role.value for role in roles)) or None,
        reason=reason,
        requested_by_id=actor.id,
        requested_at=now,
        expires_at=now + LIFETIME,
    )
    db.session().add(request)
    db.session().flush()
    record(
        AuditAction.ACCOUNT_REQUEST_CREATE,
        "account_request",
        request.reference,
        {"kind": kind.value, "user_id": user.id, "roles": request.roles, "reason": reason},
        actor=actor,
    )
    return request


@dataclass(frozen=True)
class RoleChange:
    """What an administrator's change of someone's roles did: changed some now, asked for others, or both."""

    user: User
    changed: bool
    request: AccountRequest | None


def change_roles(user: User, roles: Iterable[str | Role], *, actor: User, reason: str | None = None) -> RoleChange:
    """An administrator sets ``user``'s roles on the web pages.

    Roles taken away, and the everyday roles given, take effect now (their sessions end). Privileged
    roles given become one request that waits for a second administrator; ``reason`` (why they need
    them) is then required. Nobody changes their own roles.
    """
    _not_about_oneself(user, actor, "changes the roles of")
    chosen = accounts.checked_roles(roles)
    before = user.roles
    asked = (chosen - before) & PRIVILEGED_ROLES
    if asked:
        why = _clean_reason(
            reason,
            "reason",
            f"Say why they need the {role_names(asked)} role: the administrator who approves it reads this.",
        )
    now_roles = (chosen - asked) or (before - PRIVILEGED_ROLES) or {Role.STAFF}
    changed = accounts.set_roles(user, now_roles, actor=actor) if now_roles != before else False
    request = _ask_for_roles(user, asked, actor=actor, why=why) if asked else None
    return RoleChange(user, changed, request)


def add_user(
    *,
    email: str,
    name: str,
    roles: Iterable[str | Role],
    reason: str | None,
    actor: User,
    errors: Mapping[str, str] | None = None,
) -> RoleChange:
    """An administrator adds a person on the web pages. They choose their own password through the
    set-up link e-mailed to them; privileged roles wait for a second administrator, as in
    :func:`change_roles`. Every mistake in the form is reported at once, and nothing is made unless
    there are none (``errors``: the form's own mistakes, reported with these)."""
    errors = dict(errors or {})
    try:
        chosen = accounts.checked_roles(roles)
    except Invalid as exc:
        errors.update(exc.errors)
        chosen = set()
    asked = chosen & PRIVILEGED_ROLES
    why = ""
    if asked:
        try:
            why = _clean_reason(
                reason,
                "reason",
                f"Say why they need the {role_names(asked)} role: the administrator who approves it reads this.",
            )
        except Invalid as exc:
            errors.update(exc.errors)
    user = accounts.create_user(
        email=email,
        name=name,
        roles=(chosen - asked) or {Role.STAFF},
        password=None,
        actor=actor,
        errors=errors,
    )
    request = _ask_for_roles(user, asked, actor=actor, why=why) if asked else None
    setup_links.issue(user, SetupReason.NEW_ACCOUNT, actor=actor)
    return RoleChange(user, True, request)


def _ask_for_roles(user: User, asked: set[Role], *, actor: User, why: str) -> AccountRequest:
    """Open the request for privileged roles and tell the person, comms and the other administrators."""
    request = _open_request(user, AccountRequestKind.GRANT_ROLES, actor=actor, reason=why, roles=asked)
    names = role_names(asked)
    notifications.notify(
        user,
        event="account_request:create",
        subject=f"You have been put forward for the {names} role",
        body=(
            f"{actor.name} has asked for you to be given the {names} role in the Social Channel Registry. "
            "It takes effect only when a second system administrator approves it. If you do not expect "
            "this, tell the communications team."
        ),
    )
    notifications.notify_comms(
        event="account_request:create",
        subject=f"{user.name} put forward for the {names} role",
        body=(
            f"{actor.name} has asked for {user.name} to be given the {names} role. It takes effect only "
            f"when a second system administrator approves it. Their reason: {why}"
        ),
        exclude=actor,
    )
    notifications.notify(
        _admins(besides=(actor, user)),
        event="account_request:create",
        subject=f"Approve or reject: {names} role for {user.name}",
        body=f"{actor.name} has asked for {user.name} to be given the {names} role. Their reason: {why}",
        link=APPROVALS_LINK,
    )
    return request


def reset_two_factor(user: User, *, actor: User, reason: str | None = None) -> AccountRequest | None:
    """An administrator resets ``user``'s two-factor sign-in (a lost phone).

    For a privileged user it is a request a second administrator must approve, and the user is
    e-mailed at once; otherwise it happens now. Returns the request, or None when done now.
    """
    _not_about_oneself(user, actor, "resets the two-factor sign-in of")
    if not mfa.is_enrolled(user):
        raise Conflict(f"{user.name} has not set up two-factor sign-in.")
    if not (user.roles & PRIVILEGED_ROLES):
        mfa.reset(user, actor=actor)
        sessions.end_all(user, "two_factor_reset")
        return None
    why = _clean_reason(
        reason,
        "reason",
        "Say why their two-factor sign-in must be reset: the administrator who approves it reads this.",
    )
    request = _open_request(user, AccountRequestKind.RESET_TWO_FACTOR, actor=actor, reason=why)
    notifications.notify(
        user,
        event="account_request:create",
        subject="Someone asked to reset your two-factor sign-in",
        body=(
            f"{actor.name} has asked to reset your two-factor sign-in for the Social Channel Registry. "
            "It happens only when a second system administrator approves it; you will then get a link to set "
            "it up again. If you did not ask for this, tell the communications team and your IT service desk "
            "at once."
        ),
    )
    notifications.notify(
        _admins(besides=(actor, user)),
        event="account_request:create",
        subject=f"Approve or reject: reset {user.name}'s two-factor sign-in",
        body=f"{actor.name} has asked to reset {user.name}'s two-factor sign-in. Their reason: {why}",
        link=APPROVALS_LINK,
    )
    return request


def get(request_id: int, *, lock: bool = False) -> AccountRequest:
    """The request; ``lock`` takes its row lock (two administrators deciding at once: one wins)."""
    statement = select(AccountRequest).where(AccountRequest.id == request_id)
    if lock:
        statement = statement.with_for_update(of=AccountRequest).execution_options(populate_existing=True)
    request = db.session().execute(statement).unique().scalar_one_or_none()
    if request is None:
        raise NotFound("There is no such request.")
    return request


def _decidable(request: AccountRequest, actor: User) -> None:
    if request.status != AccountRequestStatus.PENDING.value:
        raise Conflict(f"This request is no longer waiting: it is {request.status_enum.label.lower()}.")
    if request.expires_at <= db.utcnow():
        raise Conflict(
            f"This request expired on {request.expires_at:%d %B %Y}: nobody approved it within 7 days. Ask "
            f"again if it is still needed."
        )
    if request.user_id == actor.id:
        raise NotPermitted("This request is about your own account, so another system administrator must decide it.")
    if not request.user.active:
        raise Conflict(f"{request.user.name} is deactivated: this request can no longer be approved.")


def expired(request: AccountRequest) -> bool:
    """Still marked waiting, but nobody decided it within 7 days."""
    return request.status == AccountRequestStatus.PENDING.value and request.expires_at <= db.utcnow()


def can_approve(request: AccountRequest, actor: User) -> bool:
    return (
        request.status == AccountRequestStatus.PENDING.value
        and request.expires_at > db.utcnow()
        and actor.id not in (request.user_id, request.requested_by_id)
        and actor.can(Permission.USER_MANAGE)
    )


def approve(request: AccountRequest, *, actor: User) -> None:
    """A second administrator approves: the change takes effect, the person and comms are told, and the
    person gets a set-up link where they must (re)set up two-factor sign-in."""
    request = get(request.id, lock=True)
    _decidable(request, actor)
    if request.requested_by_id == actor.id:
        raise NotPermitted(
            "You asked for this change, so a second system administrator must approve it (the four-eyes rule)."
        )
    if not actor.can(Permission.USER_MANAGE):
        raise NotPermitted("Only a system administrator can approve this.")
    user = request.user
    request.status = AccountRequestStatus.APPROVED.value
    request.decided_by_id = actor.id
    request.decided_by = actor
    request.decided_at = db.utcnow()
    db.session().flush()
    record(
        AuditAction.ACCOUNT_REQUEST_APPROVE,
        "account_request",
        request.reference,
        {"kind": request.kind, "user_id": user.id, "roles": request.roles, "requested_by_id": request.requested_by_id},
        actor=actor,
    )
    if request.kind_enum is AccountRequestKind.GRANT_ROLES:
        granted = set(request.role_list)
        newly_two_factor = not (user.roles & TWO_FACTOR_ROLES) and bool(granted & TWO_FACTOR_ROLES)
        accounts.set_roles(user, user.roles | granted, actor=actor, approved=request)
        if newly_two_factor and mfa.is_enrolled(user):
            # Set up while the account needed no set-up link, so with its password alone: whoever knew the
            # password may have enrolled their own phone. The privileged set-up goes through the link.
            mfa.reset(user, actor=actor)
        names = role_names(granted)
        needs_set_up = bool(user.roles & TWO_FACTOR_ROLES) and not mfa.is_enrolled(user)
        notifications.notify(
            user,
            event="account_request:approve",
            subject=f"You now have the {names} role",
            body=(
                f"{request.requested_by.name} and {actor.name} have given you the {names} role in the Social "
                "Channel Registry. "
                + (
                    "Set up two-factor sign-in with the link we are sending you before you use it."
                    if needs_set_up and setup_links.open_link_for(user) is None
                    else "Sign in again to use it."
                )
            ),
        )
        notifications.notify_comms(
            event="account_request:approve",
            subject=f"{user.name} now has the {names} role",
            body=f"{request.requested_by.name} asked and {actor.name} approved: {user.name} now has the {names} role.",
            exclude=actor,
        )
        if needs_set_up and setup_links.open_link_for(user) is None:
            setup_links.issue(user, SetupReason.ROLE_GRANTED, actor=actor)
    else:
        if mfa.is_enrolled(user):
            mfa.reset(user, actor=actor)
        sessions.end_all(user, "two_factor_reset")
        setup_links.issue(user, SetupReason.TWO_FACTOR_RESET, actor=actor)
        notifications.notify_comms(
            event="account_request:approve",
            subject=f"{user.name}'s two-factor sign-in was reset",
            body=f"{request.requested_by.name} asked and {actor.name} approved resetting {user.name}'s "
            f"two-factor sign-in.",
            exclude=actor,
        )


def reject(request: AccountRequest, *, actor: User, note: str | None) -> None:
    """Another administrator says no (with a reason); the one who asked and the person are told."""
    request = get(request.id, lock=True)
    _decidable(request, actor)
    if request.requested_by_id == actor.id:
        raise Conflict("You asked for this change: cancel it instead.")
    why = _clean_reason(note, "note", "Say why you are rejecting it: the administrator who asked reads this.")
    _close(request, AccountRequestStatus.REJECTED, actor, why, AuditAction.ACCOUNT_REQUEST_REJECT)
    notifications.notify(
        [request.requested_by, request.user],
        event="account_request:reject",
        subject=f"Not approved: {request.kind_enum.label.lower()} for {request.user.name}",
        body=f"{actor.name} did not approve {request.requested_by.name}'s request ({request.kind_enum.label.lower()} "
        f"for {request.user.name}). Their reason: {why}",
    )


def cancel(request: AccountRequest, *, actor: User) -> None:
    """The administrator who asked withdraws the request."""
    request = get(request.id, lock=True)
    if request.requested_by_id != actor.id:
        raise NotPermitted("Only the administrator who asked can cancel this request; you can reject it.")
    if request.status != AccountRequestStatus.PENDING.value:
        raise Conflict(f"This request is no longer waiting: it is {request.status_enum.label.lower()}.")
    _close(request, AccountRequestStatus.CANCELLED, actor, None, AuditAction.ACCOUNT_REQUEST_CANCEL)


def _close(
    request: AccountRequest,
    status: AccountRequestStatus,
    actor: User,
    note: str | None,
    action: AuditAction,
) -> None:
    request.status = status.value
    request.decided_by_id = actor.id
    request.decided_by = actor
    request.decided_at = db.utcnow()
    request.decision_note = note
    db.session().flush()
    record(
        action,
        "account_request",
        request.reference,
        {"kind": request.kind, "user_id": request.user_id, "note": note},
        actor=actor,
    )


def waiting() -> Select[AccountRequest]:
    """Requests waiting for a decision, oldest first."""
    return (
        select(AccountRequest)
        .where(AccountRequest.status == AccountRequestStatus.PENDING.value, AccountRequest.expires_at > db.utcnow())
        .order_by(AccountRequest.requested_at, AccountRequest.id)
    )


def decided() -> Select[AccountRequest]:
    """Requests already decided (or lapsed), newest first."""
    return (
        select(AccountRequest)
        .where(
            (AccountRequest.status != AccountRequestStatus.PENDING.value) | (AccountRequest.expires_at <= db.utcnow())
        )
        .order_by(AccountRequest.requested_at.desc(), AccountRequest.id.desc())
    )


def waiting_count() -> int:
    return db.session().execute(select(func.count()).select_from(waiting().subquery())).scalar_one()


def about(user: User) -> list[AccountRequest]:
    """Every request about ``user``, newest first (their user page lists them)."""
    return list(
        db.session()
        .execute(
            select(AccountRequest)
            .where(AccountRequest.user_id == user.id)
            .order_by(AccountRequest.requested_at.desc(), AccountRequest.id.desc())
            .limit(20)
        )
        .scalars()
    )
