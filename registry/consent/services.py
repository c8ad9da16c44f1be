"""Logo and lozenge consent (policy 6.8): requesting, deciding, the checklist and the register.

Every function checks everything before it changes anything, raises a domain error
(``Invalid`` 422, ``NotPermitted`` 403, ``Conflict`` 409, ``NotFound`` 404) with a
plain-English message, and records the change, its audit event and the messages it
sends in the caller's transaction (flush only).

Who sees what: the communications team and auditors see every request; anyone else
sees only their own, and another person's request (or its files) is "not found", so
that its existence is not given away.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import ColumnElement, Select, and_, exists, select

from registry import clock, db
from registry.audit.models import AuditAction
from registry.audit.services import Actor, record
from registry.auth.models import User
from registry.consent.answers import (
    FIELD_NAMES,
    LIMITS,
    PERIOD_MAX_YEARS,
    REQUIRED_MESSAGES,
    START_WITHIN_YEARS,
    Checked,
    ConsentRequest,
)
from registry.consent.checklist import (
    CHECKLIST_OBJECT,
    CHECKLIST_TEXT_MAX,
    active_checklist,
    add_checklist_item,
    checklist,
    get_checklist_item,
    retire_checklist_item,
    reword_checklist_item,
)
from registry.consent.intake import request_consent
from registry.consent.kind import (
    CONDITIONS_MAX,
    EXPIRY_AFTER_END_MAX_YEARS,
    KIND,
    NOTE_MAX,
    allocate_reference,
    decide,
    default_expiry,
    resubmit,
    withdraw,
)
from registry.consent.models import (
    LogoConsent,
    LogoConsentCheck,
    LogoConsentMedium,
    LogoConsentStep,
)
from registry.consent.workflow import (
    APPROVED_STATUSES,
    DECISIONS,
    EXPIRED,
    SHOWN_STATUSES,
    TRANSITIONS,
    Asset,
    ConsentAction,
    Medium,
)
from registry.lifecycle.filters import Filters
from registry.text import add_years, masked, uk_date

__all__ = [
    "CHECKLIST_OBJECT",
    "CHECKLIST_TEXT_MAX",
    "CONDITIONS_MAX",
    "EXPIRY_AFTER_END_MAX_YEARS",
    "FIELD_NAMES",
    "LIMITS",
    "NOTE_MAX",
    "PERIOD_MAX_YEARS",
    "REQUIRED_MESSAGES",
    "START_WITHIN_YEARS",
    "Checked",
    "ConsentRequest",
    "active_checklist",
    "add_checklist_item",
    "add_years",
    "allocate_reference",
    "artwork_of",
    "checklist",
    "decide",
    "default_expiry",
    "get_checklist_item",
    "masked",
    "request_consent",
    "resubmit",
    "retire_checklist_item",
    "reword_checklist_item",
    "uk_date",
    "withdraw",
]

OBJECT_TYPE: Final = KIND.name
EXPIRING_SOON_DAYS = 30


# --- finding a request and who may see it -------------------------------------------------------


#: By its request reference (``LCR-0042``) or, once approved, its consent reference (``LC-2026-0042``).
get_consent = KIND.get
can_view = KIND.can_view
visible_consent = KIND.visible
artwork_of = KIND.files
artwork_file = KIND.file
history = KIND.history


def last_step(steps: Sequence[LogoConsentStep], action: ConsentAction | str) -> LogoConsentStep | None:
    wanted = str(action)
    return next((step for step in reversed(steps) if step.action == wanted), None)


def last_decision(steps: Sequence[LogoConsentStep]) -> LogoConsentStep | None:
    decisions = {a.value for a in DECISIONS}
    return next((step for step in reversed(steps) if step.action in decisions), None)


def checks_of(step: LogoConsentStep | None) -> list[LogoConsentCheck]:
    """What the decider recorded against the checklist when taking ``step``."""
    if step is None:
        return []
    return list(
        db.session()
        .execute(
            select(LogoConsentCheck).where(LogoConsentCheck.step_id == step.id).order_by(LogoConsentCheck.position)
        )
        .scalars()
    )


def can_take(user: User, consent: LogoConsent, action: ConsentAction) -> bool:
    """Whether ``action`` would be allowed now (for showing forms and buttons)."""
    return KIND.can_take(user, consent, TRANSITIONS[action])


# --- the register -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentFilters(Filters):
    choices = {"status": SHOWN_STATUSES, "asset": [a.value for a in Asset], "medium": [m.value for m in Medium]}

    q: str = ""
    status: str = ""
    asset: str = ""
    medium: str = ""
    expiring_soon: bool = False


def _approved() -> ColumnElement[bool]:
    return LogoConsent.status.in_([s.value for s in APPROVED_STATUSES])


def search(filters: ConsentFilters, user: User, *, today: dt.date | None = None) -> Select[LogoConsent]:
    """Requests matching ``filters`` that ``user`` may see, newest first.

    ``asset`` "trust_logo" or "nhs_lozenge" also finds requests for both; ``status``
    "expired" finds approvals past their expiry date, and "approved" only those still in force.
    """
    today = today or clock.today()
    conditions: list[ColumnElement[bool]] = [KIND.visible_clause(user)]
    if filters.status == EXPIRED:
        conditions += [_approved(), LogoConsent.expires_on < today]
    elif filters.status in {s.value for s in APPROVED_STATUSES}:
        conditions += [LogoConsent.status == filters.status, LogoConsent.expires_on >= today]
    elif filters.status:
        conditions.append(LogoConsent.status == filters.status)
    if filters.asset == Asset.BOTH.value:
        conditions.append(LogoConsent.asset == Asset.BOTH.value)
    elif filters.asset:
        conditions.append(LogoConsent.asset.in_([filters.asset, Asset.BOTH.value]))
    if filters.medium:
        conditions.append(
            exists().where(LogoConsentMedium.consent_id == LogoConsent.id, LogoConsentMedium.medium == filters.medium)
        )
    if filters.expiring_soon:
        conditions += [
            _approved(),
            LogoConsent.expires_on >= today,
            LogoConsent.expires_on <= today + dt.timedelta(days=EXPIRING_SOON_DAYS),
        ]
    if filters.q:
        text = (LogoConsent.title, LogoConsent.purpose, LogoConsent.department, LogoConsent.partner_name)
        conditions.append(KIND.matching(filters.q, *text, LogoConsent.reference, requester=True))
    return select(LogoConsent).where(and_(*conditions)).order_by(LogoConsent.created_at.desc(), LogoConsent.id.desc())


EXPORT_COLUMNS = (
    "request_reference",
    "consent_reference",
    "status",
    "title",
    "department",
    "asset",
    "media",
    "purpose",
    "audience",
    "partner_organisation",
    "starts_on",
    "ends_on",
    "requested_by",
    "requested_at",
    "decided_by",
    "decided_at",
    "expires_on",
    "conditions",
)


def export_row(consent: LogoConsent, today: dt.date) -> tuple[Any, ...]:
    return (
        consent.request_reference,
        consent.reference or "",
        consent.shown_status(today),
        consent.title,
        consent.department,
        consent.asset,
        " ".join(m.value for m in consent.media),
        consent.purpose,
        consent.audience,
        consent.partner_name or "",
        consent.starts_on,
        consent.ends_on,
        consent.requester.email,
        consent.created_at,
        consent.decided_by.email if consent.decided_by else "",
        consent.decided_at,
        consent.expires_on,
        consent.conditions or "",
    )


def record_export(user: User, filters: ConsentFilters, rows: int) -> None:
    record(
        AuditAction.CONSENT_EXPORT,
        OBJECT_TYPE,
        "register",
        {"filters": filters.query(), "rows": rows},
        actor=Actor.of(user),
    )


def expiring_statement(start: dt.date, end: dt.date) -> Select[LogoConsent]:
    """Approved consents whose expiry date falls from ``start`` to ``end`` (both included), soonest first."""
    return (
        select(LogoConsent)
        .where(_approved(), LogoConsent.expires_on >= start, LogoConsent.expires_on <= end)
        .order_by(LogoConsent.expires_on, LogoConsent.id)
    )


def expiring_between(start: dt.date, end: dt.date) -> list[LogoConsent]:
    """Approved consents whose expiry date falls from ``start`` to ``end`` (both included), soonest first."""
    return list(db.session().execute(expiring_statement(start, end)).unique().scalars())
