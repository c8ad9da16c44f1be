"""The NHS identity checklist the communications team checks artwork against: its items, in
order, and how the team adds, rewords and retires them (decisions keep the wording they saw)."""

from __future__ import annotations

from typing import Final

from sqlalchemy import func, select

from registry import db
from registry.audit.models import AuditAction
from registry.audit.services import record
from registry.auth.models import User
from registry.auth.permissions import Permission
from registry.consent.models import ConsentChecklistItem
from registry.errors import Conflict, Invalid, NotFound, NotPermitted
from registry.text import clean

CHECKLIST_OBJECT: Final = "consent_checklist"
CHECKLIST_TEXT_MAX: Final = 500


def active_checklist() -> list[ConsentChecklistItem]:
    return list(
        db.session()
        .execute(
            select(ConsentChecklistItem)
            .where(ConsentChecklistItem.retired_at.is_(None))
            .order_by(ConsentChecklistItem.position, ConsentChecklistItem.id)
        )
        .scalars()
    )


def checklist(*, include_retired: bool = True) -> list[ConsentChecklistItem]:
    """The checklist items in order; retired ones (if asked for) after the active ones."""
    statement = select(ConsentChecklistItem).order_by(
        ConsentChecklistItem.retired_at.is_not(None), ConsentChecklistItem.position, ConsentChecklistItem.id
    )
    if not include_retired:
        statement = statement.where(ConsentChecklistItem.retired_at.is_(None))
    return list(db.session().execute(statement).scalars())


def get_checklist_item(item_id: int, *, for_update: bool = False) -> ConsentChecklistItem:
    statement = select(ConsentChecklistItem).where(ConsentChecklistItem.id == item_id)
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    item = db.session().execute(statement).scalar_one_or_none()
    if item is None:
        raise NotFound(f"There is no checklist item {item_id}.")
    return item


def _may_manage_checklist(actor: User) -> None:
    if not actor.can(Permission.CONSENT_CHECKLIST_MANAGE):
        raise NotPermitted("Only the communications team can change the NHS identity checklist.")


def _checklist_text(text: str | None) -> str:
    value = clean(text)
    if not value:
        raise Invalid({"text": 'Enter what the artwork must meet, for example "The lozenge is not altered"'})
    if len(value) > CHECKLIST_TEXT_MAX:
        raise Invalid({"text": f"An item must be {CHECKLIST_TEXT_MAX} characters or fewer"})
    return value


def add_checklist_item(text: str | None, actor: User) -> ConsentChecklistItem:
    _may_manage_checklist(actor)
    value = _checklist_text(text)
    session = db.session()
    last = session.execute(select(func.max(ConsentChecklistItem.position))).scalar_one()
    now = db.utcnow()
    item = ConsentChecklistItem(text=value, position=(last or 0) + 1, created_at=now, updated_at=now)
    session.add(item)
    session.flush()
    record(
        AuditAction.CONSENT_CHECKLIST_CHANGE, CHECKLIST_OBJECT, item.id, {"change": "add", "text": value}, actor=actor
    )
    return item


def reword_checklist_item(item: ConsentChecklistItem, text: str | None, actor: User) -> bool:
    """Change an item's wording; earlier decisions keep the wording they were made against."""
    _may_manage_checklist(actor)
    item = get_checklist_item(item.id, for_update=True)
    if not item.is_active:
        raise Conflict("This item is retired: add a new item instead of rewording it.")
    value = _checklist_text(text)
    if value == item.text:
        return False
    record(
        AuditAction.CONSENT_CHECKLIST_CHANGE,
        CHECKLIST_OBJECT,
        item.id,
        {"change": "reword", "text": {"from": item.text, "to": value}},
        actor=actor,
    )
    item.text = value
    item.updated_at = db.utcnow()
    db.session().flush()
    return True


def retire_checklist_item(item: ConsentChecklistItem, actor: User) -> ConsentChecklistItem:
    """Stop offering an item (decisions that recorded it keep it)."""
    _may_manage_checklist(actor)
    item = get_checklist_item(item.id, for_update=True)
    if not item.is_active:
        raise Conflict("This item is already retired.")
    if len(active_checklist()) <= 1:
        raise Conflict("Keep at least one item on the checklist: add its replacement first.")
    now = db.utcnow()
    item.retired_at = now
    item.updated_at = now
    record(
        AuditAction.CONSENT_CHECKLIST_CHANGE,
        CHECKLIST_OBJECT,
        item.id,
        {"change": "retire", "text": item.text},
        actor=actor,
    )
    db.session().flush()
    return item
