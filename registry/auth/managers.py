"""Line managers: who breach reports about a person go to first (policy 9.1).

Every function validates first and changes nothing on refusal; each change is audited in the
same transaction, and the person is told who their line manager now is.
"""

from __future__ import annotations

from sqlalchemy import func, select

from registry import db
from registry.audit.models import AuditAction
from registry.audit.services import Actor, record
from registry.auth import notices
from registry.auth.models import User, UserRole
from registry.auth.permissions import Role
from registry.errors import Invalid, NotPermitted


def line_manager_candidates(user: User) -> list[User]:
    """Who may be ``user``'s line manager: active users with the line manager role, not themselves."""
    statement = (
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.MANAGER.value, User.active.is_(True), User.id != user.id)
        .order_by(func.lower(User.name), User.id)
    )
    return list(db.session().execute(statement).unique().scalars())


def _person(user: User | None) -> dict[str, object] | None:
    return {"id": user.id, "email": user.email} if user is not None else None


def set_line_manager(user: User, manager: User | None, *, actor: Actor | User) -> bool:
    """Record who breach reports about ``user`` go to first (policy 9.1); None: nobody, so the
    communications team route them. The manager must be an active user with the line manager
    role, not ``user``, and not someone ``user`` manages (directly or further down). False
    when nothing changed."""
    if isinstance(actor, User):
        # Whoever records a line manager decides who reads the breach reports about that person.
        if actor.id == user.id:
            raise NotPermitted("Nobody records their own line manager: ask another system administrator.")
        if manager is not None and manager.id == actor.id:
            raise Invalid(
                {
                    "line_manager": (
                        f"You cannot record yourself as someone's line manager: ask another system administrator "
                        f"to record you as {user.name}'s."
                    )
                }
            )
    if manager is not None:
        if manager.id == user.id:
            raise Invalid({"line_manager": "A person cannot be their own line manager."})
        if not manager.active or not manager.has_role(Role.MANAGER):
            raise Invalid({"line_manager": f"{manager.name} is not an active user with the line manager role."})
        above: User | None = manager
        seen: set[int] = set()
        while above is not None and above.id not in seen:
            if above.line_manager_id == user.id:
                raise Invalid(
                    {
                        "line_manager": (
                            f"{user.name} is {manager.name}'s line manager"
                            + ("" if above.id == manager.id else " further up")
                            + f", so {manager.name} cannot be theirs."
                        )
                    }
                )
            seen.add(above.id)
            above = above.line_manager
    before = user.line_manager
    if (before.id if before else None) == (manager.id if manager else None):
        return False
    record_line_manager(user, manager, actor=actor, tell=True)
    return True


def record_line_manager(user: User, manager: User | None, *, actor: Actor | User, tell: bool) -> None:
    """Record ``manager`` as ``user``'s line manager, already checked (by :func:`set_line_manager`, or by the users
    import against the whole file's result), audited; ``tell``: the person is told, as on their page."""
    before = user.line_manager
    user.line_manager = manager
    db.session().flush()
    record(
        AuditAction.USER_LINE_MANAGER_CHANGE,
        "user",
        user.id,
        {"from": _person(before), "to": _person(manager)},
        actor=actor,
    )
    if tell:
        tell_line_manager(user, manager)


def tell_line_manager(user: User, manager: User | None) -> None:
    """Tell ``user`` who their line manager now is (or that nobody is)."""
    notices.tell(
        user,
        "Your line manager in the Registry changed",
        (
            f"{manager.name} is now recorded as your line manager"
            if manager
            else "No line manager is now recorded for you"
        )
        + " in the Social Channel Registry: they are told first if someone reports a concern about your use of"
        " social media (policy 9.1).",
    )
