"""Media contacts (policy 8.1): logging an approach, triage, who sees what, and the figures.

Every function checks everything before it changes anything, raises a domain error
(``Invalid`` 422, ``NotPermitted`` 403, ``Conflict`` 409, ``NotFound`` 404) with a
plain-English message, and records the change, its audit event and the messages it
sends in the caller's transaction (flush only).

Who sees what: the communications team and auditors see every approach (auditors
only read); anyone else sees only the approaches they logged, with the status and the
advice but not the team's notes, and another person's approach (or its screenshots)
is "not found", so that its existence is not given away.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, distinct, func, or_, select, true
from werkzeug.datastructures import FileStorage

from registry import clock, db
from registry.audit.models import AuditAction
from registry.audit.services import record
from registry.auth.models import User
from registry.auth.permissions import Permission
from registry.channels.platforms import PLATFORMS, HandleError, Platform
from registry.channels.platforms import _require_domain as require_domain
from registry.channels.platforms import _split_url as split_url
from registry.errors import Conflict, Invalid, NotFound, NotPermitted
from registry.media.models import (
    JOURNALIST_MAX,
    LINK_MAX,
    OUTLET_MAX,
    MediaContact,
    MediaContactEvidence,
    MediaContactStep,
    id_from_reference,
)
from registry.media.workflow import (
    ACTIONS,
    AWAITING_COMMS,
    FILTER_VALUES,
    NOTE,
    OPEN_FILTER,
    OPEN_STATUSES,
    TRANSITIONS,
    MediaContactStatus,
    Need,
    Transition,
    TriageAction,
)
from registry.notifications import services as notifications
from registry.screening import services as screening
from registry.uploads import services as uploads
from registry.uploads.models import Upload
from registry.web.templating import uk_datetime
from registry.web.work import WorkItem

OBJECT_TYPE = "media_contact"
KIND = "Media contact"
ENQUIRY_MAX = 5000
ADVICE_MAX = 4000
NOTE_MAX = 2000
MAX_SCREENSHOTS = 10
#: An approach is logged soon after it happens (policy 8.1: before responding); older
#: dates are almost always a mistyped year.
LOGGED_WITHIN = dt.timedelta(days=366)
#: A deadline more than this after the approach is a mistyped date.
DEADLINE_WITHIN = dt.timedelta(days=366)
#: Clocks differ a little: a time this far ahead of ours still counts as "now".
CLOCK_SKEW = dt.timedelta(minutes=2)

REQUIRED_MESSAGES = {
    "platform": "Choose where they contacted you",
    "contacted_at": "Enter the date and time they contacted you",
    "enquiry": "Describe what they asked you",
    "link": "Give a link to their message or post, or attach a screenshot of it",
    "not_responded": (
        "Confirm that you have not responded to them. If you already have, phone the communications "
        "team now instead (policy 8.1)"
    ),
}
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def _clean(text: str | None) -> str:
    return (text or "").replace("\x00", "").strip()


def masked(text: str) -> str:
    """``text`` with every possible patient identifier masked, for e-mails and audit details.

    A journalist may well ask about a patient: what people write is stored as written (only
    the reporter, comms and auditors read it), but messages leave the registry and the audit
    trail is kept for years, so what goes there passes through the screener first.
    """
    result = text
    for finding in sorted(screening.screen(text), key=lambda f: f.start, reverse=True):
        result = result[: finding.start] + finding.masked + result[finding.end :]
    return result


def link_to(contact: MediaContact) -> str:
    """The approach's page, as an absolute path (for messages and work items)."""
    return f"/media-contacts/{contact.reference}"


def parse_moment(value: Any, field_name: str) -> dt.datetime:
    """An ISO 8601 date and time; without an offset it is read as UK time."""
    if isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value.strip())
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=clock.LONDON)
            return moment.astimezone(dt.UTC)
        except (ValueError, OverflowError):
            pass
    raise Invalid({field_name: f"{field_name} must be a date and time such as 2026-03-31T09:30:00+01:00."})


# --- what a member of staff tells comms -----------------------------------------------------------


@dataclass(frozen=True)
class Approach:
    """An approach as the member of staff describes it (the same rules for the browser and the API)."""

    platform: str = ""
    outlet: str = ""
    journalist: str = ""
    contacted_at: dt.datetime | None = None
    deadline_at: dt.datetime | None = None
    enquiry: str = ""
    link: str = ""
    not_responded: bool = False

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Approach:
        """From JSON: text as text, times as ISO 8601 date-times, ``not_responded`` a boolean."""
        errors: dict[str, str] = {}
        values: dict[str, Any] = {}
        for f in fields(cls):
            value = data.get(f.name)
            if value is None:
                continue
            if f.name in ("contacted_at", "deadline_at"):
                try:
                    values[f.name] = parse_moment(value, f.name)
                except Invalid as exc:
                    errors.update(exc.errors)
            elif f.name == "not_responded":
                if isinstance(value, bool):
                    values[f.name] = value
                else:
                    errors[f.name] = "not_responded must be true or false."
            elif isinstance(value, str):
                values[f.name] = value
            else:
                errors[f.name] = f"{f.name} must be text."
        if errors:
            raise Invalid(errors)
        return cls(**values)


@dataclass(frozen=True)
class _Checked:
    platform: Platform
    outlet: str | None
    journalist: str | None
    contacted_at: dt.datetime
    deadline_at: dt.datetime | None
    enquiry: str
    link: str | None


def check_link(raw: str | None) -> str | None:
    """A web address (http or https, on a real site name) as it will be stored, or None for none.

    Raises ``HandleError`` (its text is for the person who typed it).
    """
    text = _clean(raw)
    if not text:
        return None
    if len(text) > LINK_MAX:
        raise HandleError(f"The link must be {LINK_MAX} characters or fewer")
    if any(unicodedata.category(ch) in _FORBIDDEN_CATEGORIES for ch in text):
        raise HandleError("The link contains hidden characters, which usually come from copying. Type it in again.")
    url = split_url(text)
    require_domain(url.host)
    if text.startswith("//"):
        text = "https:" + text
    elif "://" not in text:
        text = "https://" + text
    if len(text) > LINK_MAX:
        raise HandleError(f"The link must be {LINK_MAX} characters or fewer")
    return text


def _check(data: Approach, now: dt.datetime) -> tuple[_Checked | None, dict[str, str]]:
    """Every problem with ``data`` (field → message), or the cleaned answers."""
    errors: dict[str, str] = {}
    platform: Platform | None = None
    if not _clean(data.platform):
        errors["platform"] = REQUIRED_MESSAGES["platform"]
    else:
        try:
            platform = Platform(_clean(data.platform).lower())
        except ValueError:
            errors["platform"] = "Choose a platform from the list"
    outlet, journalist, enquiry = _clean(data.outlet), _clean(data.journalist), _clean(data.enquiry)
    if len(outlet) > OUTLET_MAX:
        errors["outlet"] = f"The outlet's name must be {OUTLET_MAX} characters or fewer"
    if len(journalist) > JOURNALIST_MAX:
        errors["journalist"] = f"The journalist's name must be {JOURNALIST_MAX} characters or fewer"
    if not enquiry:
        errors["enquiry"] = REQUIRED_MESSAGES["enquiry"]
    elif len(enquiry) > ENQUIRY_MAX:
        errors["enquiry"] = f"What they asked must be {ENQUIRY_MAX} characters or fewer: summarise it"
    contacted = data.contacted_at
    if contacted is None:
        errors["contacted_at"] = REQUIRED_MESSAGES["contacted_at"]
    elif contacted > now + CLOCK_SKEW:
        errors["contacted_at"] = "The time they contacted you must be now or in the past"
    elif contacted < now - LOGGED_WITHIN:
        errors["contacted_at"] = (
            "The approach must have been within the last year. Check the year, or tell the communications "
            "team about an older approach directly"
        )
    deadline = data.deadline_at
    if deadline is not None and contacted is not None and "contacted_at" not in errors:
        if deadline < contacted:
            errors["deadline_at"] = "Their deadline must be after the time they contacted you"
        elif deadline > contacted + DEADLINE_WITHIN:
            errors["deadline_at"] = "Their deadline must be within a year of the approach. Check the year"
    link: str | None = None
    try:
        link = check_link(data.link)
    except HandleError as exc:
        errors["link"] = str(exc)
    if not data.not_responded:
        errors["not_responded"] = REQUIRED_MESSAGES["not_responded"]
    if errors:
        return None, errors
    assert platform is not None and contacted is not None
    return _Checked(
        platform=platform,
        outlet=outlet or None,
        journalist=journalist or None,
        contacted_at=contacted,
        deadline_at=deadline,
        enquiry=enquiry,
        link=link,
    ), {}


def _step(
    contact: MediaContact,
    action: str,
    from_status: str | None,
    actor: User,
    now: dt.datetime,
    *,
    advice: str | None = None,
    note: str | None = None,
) -> MediaContactStep:
    step = MediaContactStep(
        media_contact_id=contact.id,
        action=action,
        from_status=from_status,
        to_status=contact.status,
        actor_id=actor.id,
        occurred_at=now,
        advice=advice or None,
        note=note or None,
    )
    db.session().add(step)
    return step


def log_approach(
    data: Approach,
    screenshots: Iterable[FileStorage | None],
    reporter: User,
    *,
    known_errors: Mapping[str, str] | None = None,
) -> MediaContact:
    """A member of staff logs an approach by the media before responding (policy 8.1).

    Needs a link to the message or at least one screenshot; the communications team are
    told at once (media work to deadlines). ``known_errors``: mistakes the caller found in
    what was typed (a time it could not read), reported with these rules' own so that every
    mistake shows at once; nothing is stored while there are any.
    """
    now = db.utcnow()
    checked, errors = _check(data, now)
    errors = {**errors, **(known_errors or {})}
    files = uploads.chosen_files(screenshots)
    if not files and not _clean(data.link) and "link" not in errors:
        errors["link"] = REQUIRED_MESSAGES["link"]
    if len(files) > MAX_SCREENSHOTS:
        errors["screenshots"] = f"Attach at most {MAX_SCREENSHOTS} screenshots"
        files = []
    stored = uploads.store_all(files, actor=reporter, field="screenshots", errors=errors)
    assert checked is not None
    session = db.session()
    contact = MediaContact(
        platform=checked.platform.value,
        outlet=checked.outlet,
        journalist=checked.journalist,
        contacted_at=checked.contacted_at,
        deadline_at=checked.deadline_at,
        enquiry=checked.enquiry,
        link=checked.link,
        no_response_confirmed_at=now,
        status=MediaContactStatus.REPORTED.value,
        reporter_id=reporter.id,
        created_at=now,
        updated_at=now,
        status_changed_at=now,
    )
    session.add(contact)
    session.flush()
    session.add_all(MediaContactEvidence(media_contact_id=contact.id, upload_id=u.id, added_at=now) for u in stored)
    _step(contact, "report", None, reporter, now)
    record(
        AuditAction.MEDIA_CONTACT_REPORT,
        OBJECT_TYPE,
        contact.reference,
        {
            "platform": contact.platform,
            "outlet": masked(contact.outlet or ""),
            "journalist": masked(contact.journalist or ""),
            "contacted_at": contact.contacted_at,
            "deadline_at": contact.deadline_at,
            "enquiry": masked(contact.enquiry),
            "link": masked(contact.link or ""),
            "no_response_confirmed": True,
            # No file names: the trail is append-only and a name can identify a person.
            "screenshots": [{"upload": u.id, "type": u.content_type, "sha256": u.sha256} for u in stored],
        },
        actor=reporter,
    )
    platform = PLATFORMS[checked.platform].label
    deadline = f", deadline {uk_datetime(contact.deadline_at)}" if contact.deadline_at else ""
    notifications.notify_comms(
        event="media_contact:reported",
        subject=f"Urgent: media approach {contact.reference} on {platform}{deadline}",
        body=(
            f"{reporter.name} was contacted on their personal {platform} account by {masked(contact.who)} "
            f"on {uk_datetime(contact.contacted_at)}, and has not responded.\n\n"
            f"What they asked: {masked(contact.enquiry)}\n\n"
            + (f"Their deadline: {uk_datetime(contact.deadline_at)}.\n\n" if contact.deadline_at else "")
            + "Triage it and advise them before they respond (policy 8.1)."
        ),
        link=link_to(contact),
        exclude=reporter,
    )
    session.flush()
    return contact


# --- finding an approach and who may see it -------------------------------------------------------


def not_found(reference: str) -> NotFound:
    return NotFound(f"There is no media contact {reference!r}. Check the reference, for example MC-0042.")


def get_contact(reference: str, *, for_update: bool = False) -> MediaContact:
    contact_id = id_from_reference(reference)
    found = None
    if contact_id is not None and contact_id <= 2_147_483_647:
        statement = select(MediaContact).where(MediaContact.id == contact_id)
        if for_update:
            statement = statement.with_for_update(of=MediaContact).execution_options(populate_existing=True)
        found = db.session().execute(statement).unique().scalar_one_or_none()
    if found is None:
        raise not_found(reference)
    return found


def sees_everything(user: User) -> bool:
    """Comms and auditors: every approach, with the team's notes."""
    return user.can(Permission.MEDIA_CONTACT_READ_ALL)


def can_view(user: User, contact: MediaContact) -> bool:
    return sees_everything(user) or contact.reporter_id == user.id


def visible_contact(reference: str, user: User) -> MediaContact:
    """The approach, if ``user`` may see it; otherwise "not found" (as if it did not exist)."""
    contact = get_contact(reference)
    if not can_view(user, contact):
        raise not_found(reference)
    return contact


def visible_clause(user: User) -> ColumnElement[bool]:
    if sees_everything(user):
        return true()
    return MediaContact.reporter_id == user.id


def evidence_of(contact: MediaContact) -> list[MediaContactEvidence]:
    return list(
        db.session()
        .execute(
            select(MediaContactEvidence)
            .where(MediaContactEvidence.media_contact_id == contact.id)
            .order_by(MediaContactEvidence.id)
        )
        .unique()
        .scalars()
    )


def evidence_file(contact: MediaContact, upload_id: int) -> Upload:
    """One of the approach's screenshots; "not found" for any other upload."""
    found = (
        db.session()
        .execute(
            select(MediaContactEvidence).where(
                MediaContactEvidence.media_contact_id == contact.id, MediaContactEvidence.upload_id == upload_id
            )
        )
        .unique()
        .scalar_one_or_none()
    )
    if found is None:
        raise NotFound(f"{contact.reference} has no screenshot {upload_id}.")
    return found.upload


def history(contact: MediaContact, user: User) -> list[MediaContactStep]:
    """The steps ``user`` may see, oldest first: all of them for comms and auditors; for the
    reporter, every change of status and every piece of advice, but not the team's notes
    (the step's ``note`` must not be shown to them either: see :func:`sees_everything`)."""
    statement = (
        select(MediaContactStep)
        .where(MediaContactStep.media_contact_id == contact.id)
        .order_by(MediaContactStep.occurred_at, MediaContactStep.id)
    )
    if not sees_everything(user):
        statement = statement.where(MediaContactStep.action != NOTE)
    return list(db.session().execute(statement).unique().scalars())


# --- triage -------------------------------------------------------------------------------------


def check_transition(actor: User, contact: MediaContact, t: Transition) -> None:
    if not actor.can(Permission.MEDIA_CONTACT_TRIAGE):
        raise NotPermitted("Only the communications team can triage a media contact.")
    status = contact.status_enum
    if status not in t.sources:
        allowed = " or ".join(sorted(s.label.lower() for s in t.sources))
        raise Conflict(
            f"{contact.reference} is {status.phrase}, so it cannot be {t.done} now. "
            f"Only an approach that is {allowed} can be {t.done}."
        )
    if contact.reporter_id == actor.id:
        raise Conflict(
            "You logged this approach, so another member of the communications team must triage it (four-eyes rule)."
        )


def can_take(user: User, contact: MediaContact, action: TriageAction) -> bool:
    """Whether ``action`` would be allowed now (for showing the triage form)."""
    try:
        check_transition(user, contact, TRANSITIONS[action])
    except (NotPermitted, Conflict):
        return False
    return True


def offered(user: User, contact: MediaContact) -> list[str]:
    """What the triage form offers ``user`` now: the allowed actions, then a note (always)."""
    if not user.can(Permission.MEDIA_CONTACT_TRIAGE):
        return []
    return [a.value for a in ACTIONS if can_take(user, contact, a)] + [NOTE]


def _text(
    value: str | None, need: Need, errors: dict[str, str], field: str, limit: int, *, required: str, not_taken: str
) -> str:
    text = _clean(value)
    if need is Need.REQUIRED and not text:
        errors[field] = required
    elif need is Need.NONE and text:
        errors[field] = not_taken
    elif len(text) > limit:
        errors[field] = f"It must be {limit} characters or fewer"
    return text


def triage(
    contact: MediaContact, action: str, actor: User, *, advice: str | None = None, note: str | None = None
) -> MediaContact:
    """The communications team moves an approach on (or, with ``action`` "note", notes something).

    Advice is written to the reporter, kept as the approach's current advice and sent to
    them; the note stays with the team. The reporter is told of every change of status.
    """
    if action == NOTE:
        return add_note(contact, actor, note, advice=advice)
    try:
        chosen = TriageAction(action)
    except ValueError:
        raise Invalid(
            {"action": "Choose what happens next: acknowledge, give advice, respond, close or add a note."}
        ) from None
    t = TRANSITIONS[chosen]
    contact = get_contact(contact.reference, for_update=True)
    check_transition(actor, contact, t)
    errors: dict[str, str] = {}
    advice_text = _text(
        advice,
        t.advice,
        errors,
        "advice",
        ADVICE_MAX,
        required=f"Write your advice to {contact.reporter.name}: what they should and should not do",
        not_taken="Advice is sent only when giving advice or when the communications team will respond: "
        "clear it, or choose one of those",
    )
    note_text = _text(
        note,
        t.note,
        errors,
        "note",
        NOTE_MAX,
        required="Record the outcome in the note, for example what was said to the journalist",
        not_taken="",
    )
    if errors:
        raise Invalid(errors)

    now = db.utcnow()
    previous = contact.status
    contact.status = t.target.value
    contact.status_changed_at = now
    contact.updated_at = now
    if advice_text:
        contact.advice = advice_text
        contact.advised_at = now
        contact.advised_by = actor
    if t.target is MediaContactStatus.CLOSED:
        contact.closed_at = now
    _step(contact, chosen.value, previous, actor, now, advice=advice_text, note=note_text)
    details: dict[str, Any] = {"action": chosen.value, "from": previous, "to": t.target.value}
    if advice_text:
        details["advice"] = masked(advice_text)
    if note_text:
        details["note"] = masked(note_text)
    record(AuditAction.MEDIA_CONTACT_TRIAGE, OBJECT_TYPE, contact.reference, details, actor=actor)
    _tell_reporter(contact, t, advice_text)
    db.session().flush()
    return contact


def _tell_reporter(contact: MediaContact, t: Transition, advice: str) -> None:
    ref = contact.reference
    body = f"Your media approach {ref} ({masked(contact.who)} on {contact.platform_label}) is now: {t.target.label}."
    if advice:
        shown = masked(advice)
        body += f"\n\nAdvice from the communications team:\n{shown}"
        if shown != advice:
            body += "\n\n(Details that could identify someone are hidden here: open the approach to read it in full.)"
    if t.target is MediaContactStatus.COMMS_RESPONDING:
        body += "\n\nThe communications team will respond on the Trust's behalf: do not respond yourself."
    elif t.target is not MediaContactStatus.CLOSED and not advice:
        body += "\n\nDo not respond until the communications team has advised you (policy 8.1)."
    notifications.notify(
        contact.reporter,
        event=f"media_contact:{t.action.value}",
        subject=t.tells_reporter.format(ref=ref),
        body=body,
        link=link_to(contact),
    )


def add_note(contact: MediaContact, actor: User, note: str | None, *, advice: str | None = None) -> MediaContact:
    """A note of the team's (seen by the team and auditors, not the reporter); the status stays."""
    if not actor.can(Permission.MEDIA_CONTACT_TRIAGE):
        raise NotPermitted("Only the communications team can add notes to a media contact.")
    contact = get_contact(contact.reference, for_update=True)
    errors: dict[str, str] = {}
    text = _clean(note)
    if not text:
        errors["note"] = "Write the note"
    elif len(text) > NOTE_MAX:
        errors["note"] = f"The note must be {NOTE_MAX} characters or fewer"
    if _clean(advice):
        errors["advice"] = (
            'A note is not sent to the member of staff: to advise them, choose "Give advice to the member of staff"'
        )
    if errors:
        raise Invalid(errors)
    now = db.utcnow()
    contact.updated_at = now
    _step(contact, NOTE, contact.status, actor, now, note=text)
    record(AuditAction.MEDIA_CONTACT_NOTE, OBJECT_TYPE, contact.reference, {"note": masked(text)}, actor=actor)
    db.session().flush()
    return contact


# --- the list -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MediaFilters:
    status: str = ""
    platform: str = ""
    q: str = ""

    def query(self) -> dict[str, str]:
        values = {"status": self.status, "platform": self.platform, "q": self.q}
        return {key: value for key, value in values.items() if value}

    @classmethod
    def parse(cls, args: Mapping[str, str], *, strict: bool) -> MediaFilters:
        """From query parameters; ``strict`` (the API) refuses unknown values with 422."""
        errors: dict[str, str] = {}
        status = (args.get("status") or "").strip()
        platform = (args.get("platform") or "").strip()
        if status and status not in FILTER_VALUES:
            errors["status"] = "status must be one of " + ", ".join(FILTER_VALUES) + "."
            status = ""
        if platform and platform not in {p.value for p in Platform}:
            errors["platform"] = "platform must be one of " + ", ".join(p.value for p in Platform) + "."
            platform = ""
        if strict and errors:
            raise Invalid(errors)
        return cls(status=status, platform=platform, q=(args.get("q") or "").replace("\x00", "").strip()[:200])


def search(filters: MediaFilters, user: User) -> Select[tuple[MediaContact]]:
    """Approaches matching ``filters`` that ``user`` may see, newest first."""
    conditions: list[ColumnElement[bool]] = [visible_clause(user)]
    if filters.status == OPEN_FILTER:
        conditions.append(MediaContact.status.in_([s.value for s in OPEN_STATUSES]))
    elif filters.status:
        conditions.append(MediaContact.status == filters.status)
    if filters.platform:
        conditions.append(MediaContact.platform == filters.platform)
    if filters.q:
        like = db.contains_pattern(filters.q.lower())
        people = select(User.id).where(
            or_(
                func.lower(User.name).like(like, escape=db.LIKE_ESCAPE),
                func.lower(User.email).like(like, escape=db.LIKE_ESCAPE),
            )
        )
        matches: list[ColumnElement[bool]] = [
            func.lower(MediaContact.outlet).like(like, escape=db.LIKE_ESCAPE),
            func.lower(MediaContact.journalist).like(like, escape=db.LIKE_ESCAPE),
            func.lower(MediaContact.enquiry).like(like, escape=db.LIKE_ESCAPE),
            MediaContact.reporter_id.in_(people),
        ]
        contact_id = id_from_reference(filters.q)
        if contact_id is not None:
            matches.append(MediaContact.id == contact_id)
        conditions.append(or_(*matches))
    return (
        select(MediaContact).where(and_(*conditions)).order_by(MediaContact.created_at.desc(), MediaContact.id.desc())
    )


# --- what awaits whom -------------------------------------------------------------------------------


def _item(contact: MediaContact, *, status_label: str, needs_you: bool = False) -> WorkItem:
    title = f"{contact.who} on {contact.platform_label}"
    if contact.deadline_at is not None and contact.is_open:
        title += f" (deadline {uk_datetime(contact.deadline_at)})"
    return WorkItem(
        kind=KIND,
        reference=contact.reference,
        title=title,
        status_label=status_label,
        waiting_since=contact.status_changed_at,
        url=link_to(contact),
        requester=contact.reporter.name,
        needs_you=needs_you,
    )


def work_items_for_comms() -> list[WorkItem]:
    """Approaches the communications team has still to act on (awaiting triage, acknowledged
    without advice yet, or being answered by the team), oldest first; one statement."""
    statement = (
        select(MediaContact)
        .where(MediaContact.status.in_([s.value for s in AWAITING_COMMS]))
        .order_by(MediaContact.status_changed_at, MediaContact.id)
    )
    return [_item(c, status_label=c.status_label) for c in db.session().execute(statement).unique().scalars()]


def work_items_of(user: User) -> list[WorkItem]:
    """The person's open approaches; once advice is given it "needs them" (to read and follow it)."""
    statement = (
        select(MediaContact)
        .where(MediaContact.reporter_id == user.id, MediaContact.status.in_([s.value for s in OPEN_STATUSES]))
        .order_by(MediaContact.status_changed_at, MediaContact.id)
    )
    items = []
    for contact in db.session().execute(statement).unique().scalars():
        advised = contact.status_enum is MediaContactStatus.ADVICE_GIVEN
        label = {
            MediaContactStatus.REPORTED: "Waiting for the communications team: do not respond yet",
            MediaContactStatus.ACKNOWLEDGED: "Acknowledged: do not respond yet",
            MediaContactStatus.ADVICE_GIVEN: "Advice given: read it before you do anything",
            MediaContactStatus.COMMS_RESPONDING: "The communications team is responding",
        }[contact.status_enum]
        items.append(_item(contact, status_label=label, needs_you=advised))
    return items


def open_count() -> int:
    """Approaches not yet closed."""
    return (
        db.session()
        .execute(
            select(func.count())
            .select_from(MediaContact)
            .where(MediaContact.status.in_([s.value for s in OPEN_STATUSES]))
        )
        .scalar_one()
    )


def _uk_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=clock.LONDON).astimezone(dt.UTC)


def month_figures(start: dt.date, end: dt.date) -> dict[str, int]:
    """Counts for the days from ``start`` to ``end``, both included (UK dates), e.g. a month:

    - ``logged``: approaches logged in the period;
    - ``closed``: approaches closed in the period;
    - ``open_at_end``: approaches logged by the end of the period and not closed by then;
    - ``comms_responding``: approaches the communications team took on, to respond to the
      media themselves, in the period.

    Counts only: no names.
    """
    if end < start:
        raise ValueError("end must not be before start")
    since, until = _uk_midnight(start), _uk_midnight(end + dt.timedelta(days=1))
    session = db.session()
    logged, closed, open_at_end = session.execute(
        select(
            func.count().filter(MediaContact.created_at >= since, MediaContact.created_at < until),
            func.count().filter(MediaContact.closed_at >= since, MediaContact.closed_at < until),
            func.count().filter(
                MediaContact.created_at < until,
                or_(MediaContact.closed_at.is_(None), MediaContact.closed_at >= until),
            ),
        ).select_from(MediaContact)
    ).one()
    responding = session.execute(
        select(func.count(distinct(MediaContactStep.media_contact_id))).where(
            MediaContactStep.action == TriageAction.RESPOND.value,
            MediaContactStep.occurred_at >= since,
            MediaContactStep.occurred_at < until,
        )
    ).scalar_one()
    return {"logged": logged, "closed": closed, "open_at_end": open_at_end, "comms_responding": responding}
