"""The one guarded way a request moves along its lifecycle.

:func:`apply` is the only code that changes a request's status. In order, it

1. locks the request's row for the transaction;
2. checks the source state, the permission and the four-eyes rule (and the kind's own rules);
3. checks the version the actor read, and the note the transition needs;
4. runs the kind's ``validate`` hook and raises ``Invalid`` once with every field's error;
5. runs the kind's ``apply`` hook and sets the status and its timestamps;
6. writes the history step, records the audit event, runs the kind's ``notify`` hook, and
   flushes, all in the caller's transaction, so the change and its audit event commit
   together or not at all.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from registry import db
from registry.audit.services import record
from registry.errors import Conflict, Invalid
from registry.lifecycle.kind import Change, M, RequestKind
from registry.text import clean, masked

if TYPE_CHECKING:
    from registry.audit.models import AuditAction
    from registry.auth.models import User


def apply(
    kind: RequestKind[M],
    request: M,
    action: str,
    actor: User,
    *,
    note: str | None = None,
    version: int | None = None,
    **inputs: Any,
) -> M:
    """Take ``action`` on ``request`` as ``actor``, or refuse and change nothing.

    ``version``: the version of the request the actor read, for kinds whose requests are
    versioned (None: the caller decides on what it has just read itself). ``inputs``: what
    the transition takes beyond the note, for the kind's hooks.
    """
    t = kind.lifecycle.parse(action)
    locked: Any = kind.get(kind.reference_of(request), for_update=True)
    kind.check(actor, locked, t)
    if version is not None and version != locked.version:
        raise Conflict(kind.stale)
    text = clean(note)
    change: Change[M] = Change(
        request=locked,
        transition=t,
        actor=actor,
        now=db.utcnow(),
        previous=locked.status,
        note=text,
        inputs=inputs,
    )
    problem = kind.note_problem(t, text)
    if problem:
        change.errors[kind.note_field] = problem
    kind.validate(change)
    if change.errors:
        raise Invalid(change.errors)

    if kind.audit_names_action:
        change.details["action"] = t.action.value
    change.details.update({"from": change.previous, "to": t.target.value})
    if text and kind.note_audited:
        change.details[kind.note_field] = masked(text)
    kind.apply(change)
    locked.status = t.target.value
    locked.status_changed_at = change.now
    if hasattr(kind.model, "updated_at"):
        locked.updated_at = change.now
    add_step(kind, locked, t.action.value, change.previous, actor, change, note=change.step_note)
    record(t.audit, kind.name, kind.reference_of(locked), change.details, actor=actor)
    kind.notify(change)
    db.session().flush()
    return locked  # type: ignore[no-any-return]


def add_step(
    kind: RequestKind[Any],
    request: Any,
    action: str,
    previous: str | None,
    actor: User,
    change: Change[Any] | None = None,
    *,
    note: str | None = None,
    now: dt.datetime | None = None,
    **columns: Any,
) -> Any:
    """Write a step of ``request``'s history (a transition, or an event such as its creation)."""
    values = {**(change.step if change else {}), **columns}
    written = note if note is not None else (change.note if change else None)
    step = kind.step_model.of(
        request.id,
        action=action,
        from_status=previous,
        to_status=request.status,
        actor_id=actor.id,
        occurred_at=now or (change.now if change else db.utcnow()),
        note=written or None,
        **values,
    )
    db.session().add(step)
    return step


def opened(
    kind: RequestKind[Any],
    request: Any,
    action: str,
    actor: User,
    *,
    audit: AuditAction,
    details: dict[str, Any],
    now: dt.datetime | None = None,
    **columns: Any,
) -> None:
    """Record that ``request`` was made (it is stored and flushed): its first step and its audit event."""
    add_step(kind, request, action, None, actor, now=now, **columns)
    record(audit, kind.name, kind.reference_of(request), details, actor=actor)
