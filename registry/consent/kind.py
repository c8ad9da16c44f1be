"""Logo and lozenge consent as a kind of request: the declaration the request engine runs.

What is consent's own: a request has two references (``LCR-0042`` from the start, and
``LC-2026-0042`` once approved); a decision records the NHS identity checklist, and an
approval its reference, expiry date and any conditions; the requester changes the request
as asked (answers and artwork) when resubmitting it; and who is told at each step.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Final

from sqlalchemy import ColumnElement, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, lazyload
from sqlalchemy.orm.interfaces import ORMOption
from werkzeug.datastructures import FileStorage

from registry import clock, db
from registry.audit.models import AuditAction
from registry.audit.services import record
from registry.auth.models import User
from registry.consent.answers import ConsentRequest, check_request
from registry.consent.checklist import active_checklist
from registry.consent.models import (
    CONSENT_PATTERN,
    REQUEST_PATTERN,
    REQUEST_REFERENCE,
    ConsentReferenceCounter,
    LogoConsent,
    LogoConsentArtwork,
    LogoConsentCheck,
    LogoConsentMedium,
    LogoConsentStep,
    consent_reference,
)
from registry.consent.workflow import (
    DECISIONS,
    LIFECYCLE,
    ConsentAction,
    ConsentTransition,
)
from registry.errors import Invalid
from registry.lifecycle import engine
from registry.lifecycle.kind import Change, RequestKind, WorkItem
from registry.lifecycle.table import Transition
from registry.notifications import services as notifications
from registry.text import add_years, clean, masked, uk_date
from registry.uploads import services as uploads

NOTE_MAX: Final = 2000
CONDITIONS_MAX: Final = 2000
#: An approval may run on after the use ends (printed material stays in circulation), this far at most.
EXPIRY_AFTER_END_MAX_YEARS: Final = 2


def allocate_reference(year: int, *, session: Session | None = None) -> str:
    """The next consent reference of ``year``, such as ``LC-2026-0042``.

    The year's counter row is created if missing (``ON CONFLICT DO NOTHING``, so two
    first approvals of a year cannot both create it) and incremented with one
    ``UPDATE … RETURNING``: the row stays locked until this transaction ends, so a
    concurrent approval waits and then takes the next number. The unique index on
    ``logo_consents.reference`` stands behind it.
    """
    session = session or db.session()
    table: Any = ConsentReferenceCounter.__table__
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


def default_expiry(consent: LogoConsent) -> dt.date:
    """An approval lasts as long as the use it was asked for."""
    return consent.ends_on


def expiry_error(consent: LogoConsent, chosen: dt.date | None, today: dt.date) -> str | None:
    """What is wrong with the expiry date of an approval (``chosen``, or the default), or None."""
    expires_on = chosen or default_expiry(consent)
    latest = add_years(consent.ends_on, EXPIRY_AFTER_END_MAX_YEARS)
    if chosen is None and expires_on < today:
        return (
            f"The use ended on {uk_date(consent.ends_on)}, so there is nothing left to approve. "
            "Ask for changes so the requester can give new dates."
        )
    if expires_on < consent.ends_on:
        return (
            f"The expiry date must be on or after the end of the use ({uk_date(consent.ends_on)}). "
            "To allow a shorter use, ask for changes to the dates."
        )
    if expires_on < today:
        return "The expiry date must be today or in the future"
    if expires_on > latest:
        return (
            f"The expiry date must be no later than {uk_date(latest)}, "
            f"{EXPIRY_AFTER_END_MAX_YEARS} years after the end of the use"
        )
    return None


def _for_audit(value: Any) -> Any:
    return masked(value) if isinstance(value, str) else value


class LogoConsents(RequestKind[LogoConsent]):
    """Its words, settings and report section are in consent/lifecycle.toml ([kind], [report])."""

    model = LogoConsent
    step_model = LogoConsentStep
    note_max = NOTE_MAX
    reference_pattern = REQUEST_PATTERN
    reference_prefix = REQUEST_REFERENCE.prefix
    files_model = LogoConsentArtwork

    # --- finding one: by either reference ---------------------------------------------------------

    def reference_of(self, request: LogoConsent) -> str:
        """The request reference: audit events stay filed under it after approval."""
        return request.request_reference

    def name_of(self, request: LogoConsent) -> str:
        """The consent reference once approved, the request reference before."""
        return request.shown_reference

    def reference_clause(self, reference: str) -> ColumnElement[bool] | None:
        """By its request reference (``LCR-0042``) or, once approved, its consent reference (``LC-2026-0042``)."""
        match = CONSENT_PATTERN.match(reference or "")
        if match is None:
            return super().reference_clause(reference)
        return LogoConsent.reference == consent_reference(int(match.group(1)), int(match.group(2)))

    def files_order(self) -> tuple[Any, ...]:
        """Current artwork first, then removed files (newest removal first)."""
        return (LogoConsentArtwork.removed_at.is_not(None), LogoConsentArtwork.removed_at.desc(), LogoConsentArtwork.id)

    # --- refusals in consent's words --------------------------------------------------------------

    def not_permitted(self, t: Transition[Any, Any]) -> str:
        return "Only the communications team can decide a consent request."

    def requester_only(self, t: Transition[Any, Any]) -> str:
        verb = "withdraw" if t.action is ConsentAction.WITHDRAW else "change and resubmit"
        return f"Only the person who made the request can {verb} it."

    # --- the hooks ----------------------------------------------------------------------------------

    def validate(self, change: Change[LogoConsent]) -> None:
        t = change.transition
        assert isinstance(t, ConsentTransition)
        if t.is_decision:
            self._validate_decision(change, t)
        elif t.action is ConsentAction.RESUBMIT:
            self._validate_resubmission(change)

    def _validate_decision(self, change: Change[LogoConsent], t: ConsentTransition) -> None:
        errors, inputs = change.errors, change.inputs
        terms = clean(inputs.get("conditions"))
        if t.conditions_required and not terms:
            errors["conditions"] = "Enter the conditions the requester must meet"
        elif terms and not t.conditions_required:
            errors["conditions"] = "Conditions are given only when approving with conditions."
        elif len(terms) > CONDITIONS_MAX:
            errors["conditions"] = f"The conditions must be {CONDITIONS_MAX} characters or fewer"
        items = active_checklist()
        ticked = set(inputs.get("checked", ()))
        if ticked - {item.id for item in items}:
            errors["checked"] = "Tick only items of the current NHS identity checklist."
        elif t.action is ConsentAction.APPROVE and {item.id for item in items} - ticked:
            errors["checked"] = (
                "Tick every item of the NHS identity checklist to approve. If the artwork does not meet one, "
                "approve with conditions or ask for changes."
            )
        today, chosen = clock.today(), inputs.get("expires_on")
        if t.approves:
            problem = expiry_error(change.request, chosen, today)
            if problem:
                errors["expires_on"] = problem
        elif chosen is not None:
            errors["expires_on"] = "An expiry date is given only when approving."
        inputs.update(conditions=terms, items=items, ticked=ticked, today=today)

    def _validate_resubmission(self, change: Change[LogoConsent]) -> None:
        consent, inputs, errors = change.request, change.inputs, change.errors
        # The answers' mistakes come first, as the form lists them; then the message's.
        note_problem = errors.pop(self.note_field, None)
        checked, problems = check_request(inputs["data"], clock.today())
        errors.update(problems)
        if note_problem:
            errors[self.note_field] = note_problem
        current = [a for a in self.files(consent) if a.is_current]
        removing = set(inputs["remove_artwork"])
        if removing - {a.upload_id for a in current}:
            errors["remove_artwork"] = "Choose only artwork that is part of this request."
        files = uploads.chosen_files(inputs["add_artwork"])
        if not files and {a.upload_id for a in current} <= removing:
            errors["artwork"] = "Keep at least one piece of artwork, or attach new artwork"
        # Stores nothing (and refuses with every mistake at once) unless all is well.
        stored = uploads.store_all(files, actor=change.actor, field="artwork", errors=errors)
        inputs.update(checked=checked, current=current, removing=removing, stored=stored)

    def apply(self, change: Change[LogoConsent]) -> None:
        t = change.transition
        assert isinstance(t, ConsentTransition)
        if t.is_decision:
            self._apply_decision(change, t)
        elif t.action is ConsentAction.RESUBMIT:
            self._apply_changes(change)
            change.request.submitted_at = change.now

    def _apply_decision(self, change: Change[LogoConsent], t: ConsentTransition) -> None:
        consent, inputs, details = change.request, change.inputs, change.details
        note = details.pop(self.note_field, None)  # after the approval's details, as events always had it
        terms = inputs["conditions"]
        if t.approves:
            consent.reference = allocate_reference(inputs["today"].year)
            consent.expires_on = inputs.get("expires_on") or default_expiry(consent)
            consent.conditions = terms or None
            details.update(reference=consent.reference, expires_on=consent.expires_on)
            if terms:
                details["conditions"] = masked(terms)
        if t.approves or t.action is ConsentAction.REJECT:
            consent.decided_by = change.actor
            consent.decided_at = change.now
        if note is not None:
            details[self.note_field] = note
        items, ticked = inputs["items"], inputs["ticked"]
        details["checklist"] = {
            "checked": sorted(i.id for i in items if i.id in ticked),
            "not_checked": sorted(i.id for i in items if i.id not in ticked),
        }
        change.step["checks"] = [
            LogoConsentCheck(item_id=item.id, position=n, item_text=item.text, checked=item.id in ticked)
            for n, item in enumerate(items, start=1)
        ]

    def _apply_changes(self, change: Change[LogoConsent]) -> None:
        """The requester's changed answers and artwork, with their own audit event."""
        consent, inputs, now = change.request, change.inputs, change.now
        changed: dict[str, Any] = {}
        for name, value in inputs["checked"].columns().items():
            if getattr(consent, name) != value:
                changed[name] = {"from": _for_audit(getattr(consent, name)), "to": _for_audit(value)}
                setattr(consent, name, value)
        old_media = {m.value for m in consent.media}
        new_media = {m.value for m in inputs["checked"].media}
        if old_media != new_media:
            changed["media"] = {"from": sorted(old_media), "to": sorted(new_media)}
            consent.media_rows = [row for row in consent.media_rows if row.medium in new_media] + [
                LogoConsentMedium(medium=m) for m in sorted(new_media - old_media)
            ]
        removed = [a for a in inputs["current"] if a.upload_id in inputs["removing"]]
        for artwork in removed:
            artwork.removed_at = now
            artwork.removed_by_id = change.actor.id
        stored = inputs["stored"]
        added = self.attach(consent, stored, now)
        if changed or removed or stored:
            details: dict[str, Any] = {"changed": changed}
            if stored:
                details["artwork_added"] = added
            if removed:
                details["artwork_removed"] = [a.upload_id for a in removed]
            record(AuditAction.CONSENT_UPDATE, self.name, consent.request_reference, details, actor=change.actor)

    def notify(self, change: Change[LogoConsent]) -> None:
        consent, t, message, actor = change.request, change.transition, change.note, change.actor
        title = masked(consent.title)
        if t.action is ConsentAction.WITHDRAW:
            notifications.notify_comms(
                event="consent:withdrawn",
                subject=f"Logo consent request {consent.request_reference} was withdrawn",
                body=f'{actor.name} withdrew the request "{title}". Nothing more is needed.'
                + (f"\n\nWhy: {masked(message)}" if message else ""),
                link=self.link(consent),
                exclude=actor,
            )
        elif t.action is ConsentAction.RESUBMIT:
            notifications.notify_comms(
                event="consent:resubmitted",
                subject=f"Logo consent request {consent.request_reference} was changed and resubmitted",
                body=f'{actor.name} changed the request "{title}" as asked and sent it back for a decision.'
                + (f"\n\nWhat changed: {masked(message)}" if message else ""),
                link=self.link(consent),
                exclude=actor,
            )
        else:
            _tell_requester(consent, ConsentAction(t.action), message)

    # --- what awaits whom ---------------------------------------------------------------------------

    def work_item_options(self) -> tuple[ORMOption, ...]:
        return (lazyload(LogoConsent.media_rows),)  # a work item names no medium

    def work_item(self, request: LogoConsent, *, for_comms: bool) -> WorkItem:
        waiting_on_you = not for_comms and request.status_enum in self.waiting_on_requester
        if for_comms:
            status_label = request.status_enum.label
        elif waiting_on_you:
            status_label = "Changes requested: over to you"
        else:
            status_label = "Waiting for the communications team"
        return WorkItem(
            kind=self.label,
            reference=request.shown_reference,
            title=f"{request.title} ({request.asset_enum.phrase.removeprefix('the ')})",
            status_label=status_label,
            waiting_since=request.status_changed_at,
            url=self.link(request),
            requester=request.requester.name,
            needs_you=waiting_on_you,
        )


KIND: Final = LogoConsents()


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
    notifications.notify(consent.requester, event=event, subject=subject, body=body, link=KIND.link(consent))


# --- moving a request along the lifecycle: thin calls to the engine ---------------------------------


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
    if not isinstance(decision, str) or decision not in {a.value for a in DECISIONS}:
        raise Invalid({"decision": LIFECYCLE.choose_action})
    return engine.apply(
        KIND, consent, decision, actor, note=note, conditions=conditions, expires_on=expires_on, checked=checked
    )


def withdraw(consent: LogoConsent, actor: User, *, note: str | None = None) -> LogoConsent:
    """The requester withdraws a request that is not yet decided (or is waiting on their changes)."""
    return engine.apply(KIND, consent, ConsentAction.WITHDRAW.value, actor, note=note)


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
    return engine.apply(
        KIND,
        consent,
        ConsentAction.RESUBMIT.value,
        actor,
        note=note,
        data=data,
        add_artwork=add_artwork,
        remove_artwork=remove_artwork,
    )
