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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    exists,
    func,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from registry import clock, db
from registry.audit.models import AuditAction
from registry.audit.services import Actor, record
from registry.auth.models import User
from registry.auth.permissions import Permission
from registry.consent.models import (
    CONSENT_PATTERN,
    REQUEST_PATTERN,
    ConsentChecklistItem,
    ConsentReferenceCounter,
    LogoConsent,
    LogoConsentArtwork,
    LogoConsentCheck,
    LogoConsentMedium,
    LogoConsentStep,
    consent_reference,
)
from registry.consent.workflow import (
    APPROVED_STATUSES,
    DECISIONS,
    EXPIRED,
    OPEN_STATUSES,
    SHOWN_STATUSES,
    TRANSITIONS,
    Asset,
    ConsentAction,
    ConsentStatus,
    Medium,
    Transition,
)
from registry.errors import Conflict, Invalid, NotFound, NotPermitted
from registry.lifecycle.kind import WorkItem
from registry.notifications import services as notifications
from registry.screening import services as screening
from registry.uploads import services as uploads
from registry.uploads.models import Upload

OBJECT_TYPE = "logo_consent"
CHECKLIST_OBJECT = "consent_checklist"
LIMITS = {"title": 200, "department": 200, "purpose": 5000, "audience": 2000, "partner_name": 200}
NOTE_MAX = 2000
CONDITIONS_MAX = 2000
CHECKLIST_TEXT_MAX = 500
#: How far ahead a use may start, and how long one request may cover.
START_WITHIN_YEARS = 2
PERIOD_MAX_YEARS = 5
#: An approval may run on after the use ends (printed material stays in circulation), this far at most.
EXPIRY_AFTER_END_MAX_YEARS = 2
EXPIRING_SOON_DAYS = 30
KIND = "Logo consent"

REQUIRED_MESSAGES = {
    "title": "Enter the name of the item or campaign",
    "department": "Enter the service or department that will use it",
    "asset": "Choose what you want to use: the Trust logo, the NHS lozenge or both",
    "purpose": "Describe what the logo or lozenge will be used for",
    "media": "Choose at least one medium where it will appear",
    "audience": "Describe who will see it",
    "partner_involved": "Say whether a partner organisation is involved",
    "partner_name": "Enter the name of the partner organisation",
    "starts_on": "Enter the date the use starts",
    "ends_on": "Enter the date the use ends",
    "artwork": "Attach your draft artwork: at least one PNG, JPEG, GIF, WebP or PDF file",
}
FIELD_NAMES = {
    "title": "The name",
    "department": "The service or department",
    "purpose": "The purpose",
    "audience": "The audience",
    "partner_name": "The partner's name",
}


def _clean(text: str | None) -> str:
    return (text or "").replace("\x00", "").strip()


def masked(text: str) -> str:
    """``text`` with every possible patient identifier in it masked, for e-mails and audit details.

    What people write is stored as written (only comms, the requester and auditors read it),
    but e-mails leave the registry and the audit trail is kept for years: what goes there is
    passed through the patient-identifier screener first, as promotional posts are.
    """
    result = text
    for finding in reversed(screening.screen(text)):
        result = result[: finding.start] + finding.masked + result[finding.end :]
    return result


def uk_date(value: dt.date) -> str:
    return f"{value.day} {value:%B %Y}"


def add_years(day: dt.date, years: int) -> dt.date:
    """The same day ``years`` later (28 February for 29 February in a common year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _link(consent: LogoConsent) -> str:
    return f"/consents/{consent.request_reference}"


# --- what a requester tells comms ---------------------------------------------------------------


@dataclass(frozen=True)
class ConsentRequest:
    """A request as a requester states it (the same rules for the browser and the API)."""

    title: str = ""
    department: str = ""
    asset: str = ""
    purpose: str = ""
    media: tuple[str, ...] = ()
    audience: str = ""
    partner_involved: bool | None = None
    partner_name: str = ""
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, base: ConsentRequest | None = None) -> ConsentRequest:
        """From JSON: text as text, ``media`` a list of text, ``partner_involved`` a boolean,
        dates as ISO dates. With ``base``, fields not given keep ``base``'s values."""
        errors: dict[str, str] = {}
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data or data[f.name] is None:
                continue
            value = data[f.name]
            if f.name == "media":
                if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                    errors[f.name] = 'media must be a list of text, such as ["print", "web"].'
                else:
                    values[f.name] = tuple(value)
            elif f.name == "partner_involved":
                if not isinstance(value, bool):
                    errors[f.name] = "partner_involved must be true or false."
                else:
                    values[f.name] = value
            elif f.name in ("starts_on", "ends_on"):
                if not isinstance(value, str):
                    errors[f.name] = f"{f.name} must be a date like 2027-03-31."
                else:
                    try:
                        values[f.name] = dt.date.fromisoformat(value.strip())
                    except ValueError:
                        errors[f.name] = f"{f.name} must be a date like 2027-03-31."
            elif not isinstance(value, str):
                errors[f.name] = f"{f.name} must be text."
            else:
                values[f.name] = value
        if errors:
            raise Invalid(errors)
        if base is None:
            return cls(**values)
        return cls(**{**{f.name: getattr(base, f.name) for f in fields(cls)}, **values})

    @classmethod
    def of(cls, consent: LogoConsent) -> ConsentRequest:
        """A consent's current answers (to edit them)."""
        return cls(
            title=consent.title,
            department=consent.department,
            asset=consent.asset,
            purpose=consent.purpose,
            media=tuple(m.value for m in consent.media),
            audience=consent.audience,
            partner_involved=consent.partner_involved,
            partner_name=consent.partner_name or "",
            starts_on=consent.starts_on,
            ends_on=consent.ends_on,
        )


@dataclass(frozen=True)
class Checked:
    """A request's answers after checking: ready to store."""

    title: str
    department: str
    asset: Asset
    purpose: str
    media: tuple[Medium, ...]
    audience: str
    partner_involved: bool
    partner_name: str | None
    starts_on: dt.date
    ends_on: dt.date

    def columns(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "department": self.department,
            "asset": self.asset.value,
            "purpose": self.purpose,
            "audience": self.audience,
            "partner_involved": self.partner_involved,
            "partner_name": self.partner_name,
            "starts_on": self.starts_on,
            "ends_on": self.ends_on,
        }


def _check_request(data: ConsentRequest, today: dt.date) -> tuple[Checked | None, dict[str, str]]:
    """Every problem with ``data`` (field → message), or the cleaned answers."""
    errors: dict[str, str] = {}
    text = {name: _clean(getattr(data, name)) for name in LIMITS}
    for name, limit in LIMITS.items():
        if name == "partner_name":
            continue
        if not text[name]:
            errors[name] = REQUIRED_MESSAGES[name]
        elif len(text[name]) > limit:
            errors[name] = f"{FIELD_NAMES[name]} must be {limit} characters or fewer"
    asset: Asset | None = None
    if not _clean(data.asset):
        errors["asset"] = REQUIRED_MESSAGES["asset"]
    else:
        try:
            asset = Asset(_clean(data.asset))
        except ValueError:
            errors["asset"] = "Choose the Trust logo, the NHS lozenge or both"
    media: list[Medium] = []
    for value in data.media:
        try:
            medium = Medium(_clean(value))
        except ValueError:
            errors["media"] = "Choose media from the list: " + ", ".join(m.label.lower() for m in Medium)
            break
        if medium not in media:
            media.append(medium)
    if not media and "media" not in errors:
        errors["media"] = REQUIRED_MESSAGES["media"]
    partner_name: str | None = None
    if data.partner_involved is None:
        errors["partner_involved"] = REQUIRED_MESSAGES["partner_involved"]
    elif data.partner_involved:
        partner_name = text["partner_name"]
        if not partner_name:
            errors["partner_name"] = REQUIRED_MESSAGES["partner_name"]
        elif len(partner_name) > LIMITS["partner_name"]:
            errors["partner_name"] = f"The partner's name must be {LIMITS['partner_name']} characters or fewer"
    if data.starts_on is None:
        errors["starts_on"] = REQUIRED_MESSAGES["starts_on"]
    elif data.starts_on < today:
        errors["starts_on"] = "The start date must be today or in the future: consent is given before the use begins"
    elif data.starts_on > add_years(today, START_WITHIN_YEARS):
        errors["starts_on"] = f"The start date must be within {START_WITHIN_YEARS} years from today"
    if data.ends_on is None:
        errors["ends_on"] = REQUIRED_MESSAGES["ends_on"]
    elif data.starts_on is not None and "starts_on" not in errors:
        if data.ends_on < data.starts_on:
            errors["ends_on"] = "The end date must be the same as or after the start date"
        elif data.ends_on > add_years(data.starts_on, PERIOD_MAX_YEARS):
            errors["ends_on"] = f"One request can cover at most {PERIOD_MAX_YEARS} years: ask again for a later period"
    if errors:
        return None, errors
    assert asset is not None and data.starts_on is not None and data.ends_on is not None
    return Checked(
        title=text["title"],
        department=text["department"],
        asset=asset,
        purpose=text["purpose"],
        media=tuple(media),
        audience=text["audience"],
        partner_involved=bool(data.partner_involved),
        partner_name=partner_name,
        starts_on=data.starts_on,
        ends_on=data.ends_on,
    ), {}


def _note(text: str | None, t: Transition, errors: dict[str, str], *, field: str = "note") -> str:
    note = _clean(text)
    if t.note_required and not note:
        errors[field] = {
            ConsentAction.REQUEST_CHANGES: "Say what needs to change, so the requester can put it right",
            ConsentAction.REJECT: "Give the reason for rejecting the request",
        }.get(t.action, f"Enter {t.note_label.lower().rstrip('?')}")
    elif len(note) > NOTE_MAX:
        errors[field] = f"The message must be {NOTE_MAX} characters or fewer"
    return note


def _add_step(
    consent: LogoConsent, action: str, from_status: str | None, actor: User, note: str | None, now: dt.datetime
) -> LogoConsentStep:
    step = LogoConsentStep(
        consent_id=consent.id,
        action=action,
        from_status=from_status,
        to_status=consent.status,
        actor_id=actor.id,
        occurred_at=now,
        note=note or None,
    )
    db.session().add(step)
    return step


def _artwork_details(stored: Sequence[Upload]) -> list[dict[str, Any]]:
    # No file names: the trail is append-only and a name can identify a person.
    return [{"upload": u.id, "type": u.content_type, "sha256": u.sha256} for u in stored]


def request_consent(data: ConsentRequest, artwork: Iterable[FileStorage], requester: User) -> LogoConsent:
    """A member of staff asks for consent to use the Trust's identity (policy 6.8)."""
    checked, errors = _check_request(data, clock.today())
    files = uploads.chosen_files(artwork)
    if not files:
        errors["artwork"] = REQUIRED_MESSAGES["artwork"]
    stored = uploads.store_all(files, actor=requester, field="artwork", errors=errors)
    assert checked is not None
    session = db.session()
    now = db.utcnow()
    consent = LogoConsent(
        **checked.columns(),
        status=ConsentStatus.SUBMITTED.value,
        requester_id=requester.id,
        created_at=now,
        updated_at=now,
        submitted_at=now,
        status_changed_at=now,
        media_rows=[LogoConsentMedium(medium=m.value) for m in checked.media],
    )
    session.add(consent)
    session.flush()
    session.add_all(LogoConsentArtwork(consent_id=consent.id, upload_id=u.id, added_at=now) for u in stored)
    _add_step(consent, "submit", None, requester, None, now)
    record(
        AuditAction.CONSENT_REQUEST,
        OBJECT_TYPE,
        consent.request_reference,
        {
            "title": masked(consent.title),
            "department": masked(consent.department),
            "asset": consent.asset,
            "media": [m.value for m in checked.media],
            "partner_involved": consent.partner_involved,
            "starts_on": consent.starts_on,
            "ends_on": consent.ends_on,
            "artwork": _artwork_details(stored),
        },
        actor=requester,
    )
    notifications.notify_comms(
        event="consent:submitted",
        subject=f"Logo consent request {consent.request_reference}: {masked(consent.title)}",
        body=(
            f'{requester.name} asks to use {consent.asset_enum.phrase} for "{masked(consent.title)}" '
            f"({', '.join(m.label.lower() for m in checked.media)}), "
            f"from {uk_date(consent.starts_on)} to {uk_date(consent.ends_on)}. "
            "Check the artwork against the NHS identity checklist and decide."
        ),
        link=_link(consent),
        exclude=requester,
    )
    session.flush()
    return consent


# --- finding a request and who may see it -------------------------------------------------------


def not_found(reference: str) -> NotFound:
    return NotFound(
        f"There is no logo consent {reference!r}. Check the reference, for example LCR-0042 or LC-2026-0042."
    )


def get_consent(reference: str, *, for_update: bool = False) -> LogoConsent:
    """By its request reference (``LCR-0042``) or, once approved, its consent reference (``LC-2026-0042``)."""
    statement = None
    request_match = REQUEST_PATTERN.match(reference or "")
    consent_match = CONSENT_PATTERN.match(reference or "")
    if request_match:
        statement = select(LogoConsent).where(LogoConsent.id == int(request_match.group(1)))
    elif consent_match:
        number = int(consent_match.group(2))
        statement = select(LogoConsent).where(
            LogoConsent.reference == consent_reference(int(consent_match.group(1)), number)
        )
    found = None
    if statement is not None:
        if for_update:
            statement = statement.with_for_update(of=LogoConsent).execution_options(populate_existing=True)
        found = db.session().execute(statement).unique().scalar_one_or_none()
    if found is None:
        raise not_found(reference)
    return found


def can_view(user: User, consent: LogoConsent) -> bool:
    return user.can(Permission.CONSENT_READ_ALL) or consent.requester_id == user.id


def visible_consent(reference: str, user: User) -> LogoConsent:
    """The request, if ``user`` may see it; otherwise "not found" (as if it did not exist)."""
    consent = get_consent(reference)
    if not can_view(user, consent):
        raise not_found(reference)
    return consent


def visible_clause(user: User) -> ColumnElement[bool]:
    if user.can(Permission.CONSENT_READ_ALL):
        return true()
    return LogoConsent.requester_id == user.id


def artwork_of(consent: LogoConsent) -> list[LogoConsentArtwork]:
    """Every artwork file of the request, current first, then removed ones (newest removal first)."""
    return list(
        db.session()
        .execute(
            select(LogoConsentArtwork)
            .where(LogoConsentArtwork.consent_id == consent.id)
            .order_by(
                LogoConsentArtwork.removed_at.is_not(None), LogoConsentArtwork.removed_at.desc(), LogoConsentArtwork.id
            )
        )
        .unique()
        .scalars()
    )


def artwork_file(consent: LogoConsent, upload_id: int) -> Upload:
    """One of the request's artwork files (current or removed); "not found" for any other upload."""
    found = (
        db.session()
        .execute(
            select(LogoConsentArtwork).where(
                LogoConsentArtwork.consent_id == consent.id, LogoConsentArtwork.upload_id == upload_id
            )
        )
        .unique()
        .scalar_one_or_none()
    )
    if found is None:
        raise NotFound(f"{consent.request_reference} has no artwork file {upload_id}.")
    return found.upload


def history(consent: LogoConsent) -> list[LogoConsentStep]:
    return list(
        db.session()
        .execute(
            select(LogoConsentStep)
            .where(LogoConsentStep.consent_id == consent.id)
            .order_by(LogoConsentStep.occurred_at, LogoConsentStep.id)
        )
        .unique()
        .scalars()
    )


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


# --- moving a request along the lifecycle -------------------------------------------------------


def check_transition(actor: User, consent: LogoConsent, t: Transition) -> None:
    if t.permission is None:
        if consent.requester_id != actor.id:
            verb = "withdraw" if t.action is ConsentAction.WITHDRAW else "change and resubmit"
            raise NotPermitted(f"Only the person who made the request can {verb} it.")
    elif not actor.can(t.permission):
        raise NotPermitted("Only the communications team can decide a consent request.")
    status = consent.status_enum
    if status not in t.sources:
        allowed = " or ".join(sorted(s.phrase for s in t.sources))
        raise Conflict(
            f"{consent.request_reference} is {status.phrase}, so it cannot be {t.done}. "
            f"Only a request that is {allowed} can be {t.done}."
        )
    if t.four_eyes and consent.requester_id == actor.id:
        raise Conflict(
            "You made this request, so another member of the communications team must decide it (four-eyes rule)."
        )


def can_take(user: User, consent: LogoConsent, action: ConsentAction) -> bool:
    """Whether ``action`` would be allowed now (for showing forms and buttons)."""
    try:
        check_transition(user, consent, TRANSITIONS[action])
    except (NotPermitted, Conflict):
        return False
    return True


def allocate_reference(year: int, *, session: Session | None = None) -> str:
    """The next consent reference of ``year``, such as ``LC-2026-0042``.

    The year's counter row is created if missing (``ON CONFLICT DO NOTHING``, so two
    first approvals of a year cannot both create it) and incremented with one
    ``UPDATE … RETURNING``: the row stays locked until this transaction ends, so a
    concurrent approval waits and then takes the next number. The unique index on
    ``logo_consents.reference`` stands behind it.
    """
    session = session or db.session()
    table = ConsentReferenceCounter.__table__
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(table).values(year=year, last_number=0).on_conflict_do_nothing(index_elements=["year"]))
    number = session.execute(
        update(table)
        .where(table.c.year == year)
        .values(last_number=table.c.last_number + 1)
        .returning(table.c.last_number)
    ).scalar_one()
    return consent_reference(year, number)


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


def default_expiry(consent: LogoConsent) -> dt.date:
    """An approval lasts as long as the use it was asked for."""
    return consent.ends_on


def _expiry(consent: LogoConsent, chosen: dt.date | None, today: dt.date, errors: dict[str, str]) -> dt.date:
    expires_on = chosen or default_expiry(consent)
    latest = add_years(consent.ends_on, EXPIRY_AFTER_END_MAX_YEARS)
    if chosen is None and expires_on < today:
        errors["expires_on"] = (
            f"The use ended on {uk_date(consent.ends_on)}, so there is nothing left to approve. "
            "Ask for changes so the requester can give new dates."
        )
    elif expires_on < consent.ends_on:
        errors["expires_on"] = (
            f"The expiry date must be on or after the end of the use ({uk_date(consent.ends_on)}). "
            "To allow a shorter use, ask for changes to the dates."
        )
    elif expires_on < today:
        errors["expires_on"] = "The expiry date must be today or in the future"
    elif expires_on > latest:
        errors["expires_on"] = (
            f"The expiry date must be no later than {uk_date(latest)}, "
            f"{EXPIRY_AFTER_END_MAX_YEARS} years after the end of the use"
        )
    return expires_on


def decide(
    consent: LogoConsent,
    decision: str,
    actor: User,
    *,
    note: str | None = None,
    conditions: str | None = None,
    expires_on: dt.date | None = None,
    checked: Iterable[int] = (),
) -> LogoConsent:
    """The communications team approves (with or without conditions), asks for changes or rejects.

    ``checked``: the ids of the checklist items the decider checked the artwork against;
    every active item is recorded with the decision as checked or not. A plain approval
    needs every item checked. An approval gets its reference and expiry date here.
    """
    try:
        chosen = ConsentAction(decision)
    except ValueError:
        chosen = None
    if chosen not in DECISIONS:
        raise Invalid({"decision": "Choose a decision: approve, approve with conditions, ask for changes or reject."})
    assert chosen is not None
    t = TRANSITIONS[chosen]
    consent = get_consent(consent.request_reference, for_update=True)
    check_transition(actor, consent, t)
    today = clock.today()
    errors: dict[str, str] = {}
    message = _note(note, t, errors)
    terms = _clean(conditions)
    if t.conditions_required and not terms:
        errors["conditions"] = "Enter the conditions the requester must meet"
    elif terms and not t.conditions_required:
        errors["conditions"] = "Conditions are given only when approving with conditions."
    elif len(terms) > CONDITIONS_MAX:
        errors["conditions"] = f"The conditions must be {CONDITIONS_MAX} characters or fewer"
    items = active_checklist()
    ticked = set(checked)
    if ticked - {item.id for item in items}:
        errors["checked"] = "Tick only items of the current NHS identity checklist."
    elif chosen is ConsentAction.APPROVE and {item.id for item in items} - ticked:
        errors["checked"] = (
            "Tick every item of the NHS identity checklist to approve. If the artwork does not meet one, "
            "approve with conditions or ask for changes."
        )
    expiry: dt.date | None = None
    if t.approves:
        expiry = _expiry(consent, expires_on, today, errors)
    elif expires_on is not None:
        errors["expires_on"] = "An expiry date is given only when approving."
    if errors:
        raise Invalid(errors)

    now = db.utcnow()
    previous = consent.status
    details: dict[str, Any] = {"from": previous, "to": t.target.value}
    if t.approves:
        assert expiry is not None
        consent.reference = allocate_reference(today.year)
        consent.expires_on = expiry
        consent.conditions = terms or None
        details.update(reference=consent.reference, expires_on=expiry)
        if terms:
            details["conditions"] = masked(terms)
    if t.approves or chosen is ConsentAction.REJECT:
        consent.decided_by = actor
        consent.decided_at = now
    consent.status = t.target.value
    consent.status_changed_at = now
    consent.updated_at = now
    step = _add_step(consent, chosen.value, previous, actor, message, now)
    db.session().flush()
    db.session().add_all(
        LogoConsentCheck(step_id=step.id, item_id=item.id, position=n, item_text=item.text, checked=item.id in ticked)
        for n, item in enumerate(items, start=1)
    )
    if message:
        details["note"] = masked(message)
    details["checklist"] = {
        "checked": sorted(i.id for i in items if i.id in ticked),
        "not_checked": sorted(i.id for i in items if i.id not in ticked),
    }
    record(t.audit, OBJECT_TYPE, consent.request_reference, details, actor=actor)
    _tell_requester(consent, chosen, message)
    db.session().flush()
    return consent


def _tell_requester(consent: LogoConsent, action: ConsentAction, message: str) -> None:
    ref = consent.request_reference
    title, message = masked(consent.title), masked(message)
    if action is ConsentAction.REQUEST_CHANGES:
        event, subject = "consent:changes_requested", f"Changes needed to your logo consent request {ref}"
        body = (
            f'The communications team needs changes to your request "{title}" before they can decide.\n\n'
            f"What needs to change: {message}\n\nChange your request and resubmit it."
        )
    elif action is ConsentAction.REJECT:
        event, subject = "consent:decided", f"Your logo consent request {ref} was rejected"
        body = f'The communications team rejected your request "{title}".\n\nWhy: {message}'
    else:
        assert consent.reference is not None and consent.expires_on is not None
        event, subject = "consent:decided", f'Consent {consent.reference} given for "{title}"'
        body = (
            f"The communications team gave consent {consent.reference} to use {consent.asset_enum.phrase} "
            f'for "{title}" until {uk_date(consent.expires_on)}.'
        )
        if consent.conditions:
            body += f"\n\nConditions: {masked(consent.conditions)}"
        if message:
            body += f"\n\nMessage: {message}"
        body += "\n\nOpen your request to view and print the consent letter."
    notifications.notify(consent.requester, event=event, subject=subject, body=body, link=_link(consent))


def withdraw(consent: LogoConsent, actor: User, *, note: str | None = None) -> LogoConsent:
    """The requester withdraws a request that is not yet decided (or is waiting on their changes)."""
    t = TRANSITIONS[ConsentAction.WITHDRAW]
    consent = get_consent(consent.request_reference, for_update=True)
    check_transition(actor, consent, t)
    errors: dict[str, str] = {}
    message = _note(note, t, errors)
    if errors:
        raise Invalid(errors)
    now = db.utcnow()
    previous = consent.status
    consent.status = t.target.value
    consent.status_changed_at = now
    consent.updated_at = now
    _add_step(consent, t.action.value, previous, actor, message, now)
    details: dict[str, Any] = {"from": previous, "to": t.target.value}
    if message:
        details["note"] = masked(message)
    record(t.audit, OBJECT_TYPE, consent.request_reference, details, actor=actor)
    notifications.notify_comms(
        event="consent:withdrawn",
        subject=f"Logo consent request {consent.request_reference} was withdrawn",
        body=f'{actor.name} withdrew the request "{masked(consent.title)}". Nothing more is needed.'
        + (f"\n\nWhy: {masked(message)}" if message else ""),
        link=_link(consent),
        exclude=actor,
    )
    db.session().flush()
    return consent


def _for_audit(value: Any) -> Any:
    return masked(value) if isinstance(value, str) else value


def resubmit(
    consent: LogoConsent,
    data: ConsentRequest,
    actor: User,
    *,
    add_artwork: Iterable[FileStorage] = (),
    remove_artwork: Iterable[int] = (),
    note: str | None = None,
) -> LogoConsent:
    """The requester changes the request as comms asked and sends it back for a decision.

    ``remove_artwork`` names uploads to take off the request (they stay in its history);
    at least one piece of artwork must remain or be added.
    """
    t = TRANSITIONS[ConsentAction.RESUBMIT]
    consent = get_consent(consent.request_reference, for_update=True)
    check_transition(actor, consent, t)
    checked, errors = _check_request(data, clock.today())
    message = _note(note, t, errors)
    current = [a for a in artwork_of(consent) if a.is_current]
    removing = set(remove_artwork)
    if removing - {a.upload_id for a in current}:
        errors["remove_artwork"] = "Choose only artwork that is part of this request."
    files = uploads.chosen_files(add_artwork)
    if not files and {a.upload_id for a in current} <= removing:
        errors["artwork"] = "Keep at least one piece of artwork, or attach new artwork"
    stored = uploads.store_all(files, actor=actor, field="artwork", errors=errors)
    assert checked is not None

    now = db.utcnow()
    session = db.session()
    changed: dict[str, Any] = {}
    for name, value in checked.columns().items():
        if getattr(consent, name) != value:
            changed[name] = {"from": _for_audit(getattr(consent, name)), "to": _for_audit(value)}
            setattr(consent, name, value)
    old_media = {m.value for m in consent.media}
    new_media = {m.value for m in checked.media}
    if old_media != new_media:
        changed["media"] = {"from": sorted(old_media), "to": sorted(new_media)}
        consent.media_rows = [row for row in consent.media_rows if row.medium in new_media] + [
            LogoConsentMedium(medium=m) for m in sorted(new_media - old_media)
        ]
    removed = [a for a in current if a.upload_id in removing]
    for artwork in removed:
        artwork.removed_at = now
        artwork.removed_by_id = actor.id
    session.add_all(LogoConsentArtwork(consent_id=consent.id, upload_id=u.id, added_at=now) for u in stored)
    if changed or removed or stored:
        update_details: dict[str, Any] = {"changed": changed}
        if stored:
            update_details["artwork_added"] = _artwork_details(stored)
        if removed:
            update_details["artwork_removed"] = [a.upload_id for a in removed]
        record(AuditAction.CONSENT_UPDATE, OBJECT_TYPE, consent.request_reference, update_details, actor=actor)
    previous = consent.status
    consent.status = t.target.value
    consent.status_changed_at = now
    consent.submitted_at = now
    consent.updated_at = now
    _add_step(consent, t.action.value, previous, actor, message, now)
    details: dict[str, Any] = {"from": previous, "to": t.target.value}
    if message:
        details["note"] = masked(message)
    record(t.audit, OBJECT_TYPE, consent.request_reference, details, actor=actor)
    notifications.notify_comms(
        event="consent:resubmitted",
        subject=f"Logo consent request {consent.request_reference} was changed and resubmitted",
        body=f'{actor.name} changed the request "{masked(consent.title)}" as asked and sent it back for a decision.'
        + (f"\n\nWhat changed: {masked(message)}" if message else ""),
        link=_link(consent),
        exclude=actor,
    )
    session.flush()
    return consent


# --- the NHS identity checklist -----------------------------------------------------------------


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
    value = _clean(text)
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


# --- the register -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentFilters:
    q: str = ""
    status: str = ""
    asset: str = ""
    medium: str = ""
    expiring_soon: bool = False

    def query(self) -> dict[str, str]:
        """These filters as query parameters (for links such as the CSV download)."""
        values = {
            "q": self.q,
            "status": self.status,
            "asset": self.asset,
            "medium": self.medium,
            "expiring_soon": "true" if self.expiring_soon else "",
        }
        return {key: value for key, value in values.items() if value}

    @classmethod
    def parse(cls, args: Mapping[str, str], *, strict: bool) -> ConsentFilters:
        """From query parameters; ``strict`` (the API) refuses unknown values with 422."""
        errors: dict[str, str] = {}
        status = (args.get("status") or "").strip()
        asset = (args.get("asset") or "").strip()
        medium = (args.get("medium") or "").strip()
        soon = (args.get("expiring_soon") or "").strip().lower()
        if status and status not in SHOWN_STATUSES:
            errors["status"] = "status must be one of " + ", ".join(SHOWN_STATUSES) + "."
            status = ""
        if asset and asset not in {a.value for a in Asset}:
            errors["asset"] = "asset must be one of " + ", ".join(a.value for a in Asset) + "."
            asset = ""
        if medium and medium not in {m.value for m in Medium}:
            errors["medium"] = "medium must be one of " + ", ".join(m.value for m in Medium) + "."
            medium = ""
        if soon not in ("", "true", "false"):
            errors["expiring_soon"] = "expiring_soon must be true or false."
            soon = ""
        if strict and errors:
            raise Invalid(errors)
        return cls(
            q=(args.get("q") or "").replace("\x00", "").strip()[:200],
            status=status,
            asset=asset,
            medium=medium,
            expiring_soon=soon == "true",
        )


def _approved() -> ColumnElement[bool]:
    return LogoConsent.status.in_([s.value for s in APPROVED_STATUSES])


def search(filters: ConsentFilters, user: User, *, today: dt.date | None = None) -> Select[tuple[LogoConsent]]:
    """Requests matching ``filters`` that ``user`` may see, newest first.

    ``asset`` "trust_logo" or "nhs_lozenge" also finds requests for both; ``status``
    "expired" finds approvals past their expiry date, and "approved" only those still in force.
    """
    today = today or clock.today()
    conditions: list[ColumnElement[bool]] = [visible_clause(user)]
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
        like = db.contains_pattern(filters.q.lower())
        people = select(User.id).where(
            or_(
                func.lower(User.name).like(like, escape=db.LIKE_ESCAPE),
                func.lower(User.email).like(like, escape=db.LIKE_ESCAPE),
            )
        )
        matches: list[ColumnElement[bool]] = [
            func.lower(LogoConsent.title).like(like, escape=db.LIKE_ESCAPE),
            func.lower(LogoConsent.purpose).like(like, escape=db.LIKE_ESCAPE),
            func.lower(LogoConsent.department).like(like, escape=db.LIKE_ESCAPE),
            func.lower(LogoConsent.partner_name).like(like, escape=db.LIKE_ESCAPE),
            func.lower(LogoConsent.reference).like(like, escape=db.LIKE_ESCAPE),
            LogoConsent.requester_id.in_(people),
        ]
        request_match = REQUEST_PATTERN.match(filters.q)
        if request_match:
            matches.append(LogoConsent.id == int(request_match.group(1)))
        consent_match = CONSENT_PATTERN.match(filters.q)
        if consent_match:
            matches.append(
                LogoConsent.reference == consent_reference(int(consent_match.group(1)), int(consent_match.group(2)))
            )
        conditions.append(or_(*matches))
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


# --- what awaits whom ---------------------------------------------------------------------------


def _item(consent: LogoConsent, *, status_label: str, needs_you: bool = False) -> WorkItem:
    return WorkItem(
        kind=KIND,
        reference=consent.request_reference,
        title=f"{consent.title} ({consent.asset_enum.phrase.removeprefix('the ')})",
        status_label=status_label,
        waiting_since=consent.status_changed_at,
        url=_link(consent),
        requester=consent.requester.name,
        needs_you=needs_you,
    )


def work_items_for_comms() -> list[WorkItem]:
    """Requests waiting for a decision, oldest first (two statements, however many)."""
    statement = (
        select(LogoConsent)
        .where(LogoConsent.status == ConsentStatus.SUBMITTED.value)
        .order_by(LogoConsent.status_changed_at, LogoConsent.id)
    )
    return [_item(c, status_label="Awaiting decision") for c in db.session().execute(statement).unique().scalars()]


def work_items_of(user: User) -> list[WorkItem]:
    """The person's open requests: waiting for comms, or for their own changes."""
    statement = (
        select(LogoConsent)
        .where(LogoConsent.requester_id == user.id, LogoConsent.status.in_([s.value for s in OPEN_STATUSES]))
        .order_by(LogoConsent.status_changed_at, LogoConsent.id)
    )
    items = []
    for consent in db.session().execute(statement).unique().scalars():
        waiting_on_you = consent.status_enum is ConsentStatus.CHANGES_REQUESTED
        items.append(
            _item(
                consent,
                status_label="Changes requested: over to you"
                if waiting_on_you
                else "Waiting for the communications team",
                needs_you=waiting_on_you,
            )
        )
    return items


def expiring_between(start: dt.date, end: dt.date) -> list[LogoConsent]:
    """Approved consents whose expiry date falls from ``start`` to ``end`` (both included), soonest first."""
    statement = (
        select(LogoConsent)
        .where(_approved(), LogoConsent.expires_on >= start, LogoConsent.expires_on <= end)
        .order_by(LogoConsent.expires_on, LogoConsent.id)
    )
    return list(db.session().execute(statement).unique().scalars())


def count_awaiting_decision() -> int:
    return (
        db.session()
        .execute(
            select(func.count()).select_from(LogoConsent).where(LogoConsent.status == ConsentStatus.SUBMITTED.value)
        )
        .scalar_one()
    )
