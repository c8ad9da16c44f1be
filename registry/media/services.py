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
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, distinct, func, or_, select

from registry import db
from registry.auth.models import User
from registry.channels.platforms import Platform
from registry.lifecycle.filters import Filters
from registry.media.intake import (
    DEADLINE_WITHIN,
    ENQUIRY_MAX,
    LOGGED_WITHIN,
    MAX_SCREENSHOTS,
    REQUIRED_MESSAGES,
    Approach,
    check_link,
    log_approach,
)
from registry.media.kind import ADVICE_MAX, KIND, NOTE_MAX, add_note, triage
from registry.media.models import MediaContact, MediaContactStep
from registry.media.workflow import FILTER_VALUES, NOTE, OPEN_FILTER, OPEN_STATUSES, TriageAction
from registry.text import uk_midnight

__all__ = [
    "ADVICE_MAX",
    "DEADLINE_WITHIN",
    "ENQUIRY_MAX",
    "LOGGED_WITHIN",
    "MAX_SCREENSHOTS",
    "NOTE_MAX",
    "REQUIRED_MESSAGES",
    "Approach",
    "add_note",
    "check_link",
    "log_approach",
    "triage",
]

# --- finding an approach and who may see it -------------------------------------------------------


#: Comms and auditors: every approach, with the team's notes.
sees_everything = KIND.sees_everything
get_contact = KIND.get
visible_contact = KIND.visible
evidence_of = KIND.files
evidence_file = KIND.file


def history(contact: MediaContact, user: User) -> list[MediaContactStep]:
    """The steps ``user`` may see, oldest first: all of them for comms and auditors; for the
    reporter, every change of status and every piece of advice, but not the team's notes
    (the step's ``note`` must not be shown to them either: see :func:`sees_everything`)."""
    statement = KIND.steps(contact)
    if not sees_everything(user):
        statement = statement.where(MediaContactStep.action != NOTE)
    return list(db.session().execute(statement).unique().scalars())


# --- the list -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MediaFilters(Filters):
    choices = {"status": FILTER_VALUES, "platform": [p.value for p in Platform]}

    status: str = ""
    platform: str = ""
    q: str = ""


def search(filters: MediaFilters, user: User) -> Select[MediaContact]:
    """Approaches matching ``filters`` that ``user`` may see, newest first."""
    conditions: list[ColumnElement[bool]] = [KIND.visible_clause(user)]
    if filters.status == OPEN_FILTER:
        conditions.append(MediaContact.status.in_([s.value for s in OPEN_STATUSES]))
    elif filters.status:
        conditions.append(MediaContact.status == filters.status)
    if filters.platform:
        conditions.append(MediaContact.platform == filters.platform)
    if filters.q:
        conditions.append(
            KIND.matching(filters.q, MediaContact.outlet, MediaContact.journalist, MediaContact.enquiry, requester=True)
        )
    return (
        select(MediaContact).where(and_(*conditions)).order_by(MediaContact.created_at.desc(), MediaContact.id.desc())
    )


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
    since, until = uk_midnight(start), uk_midnight(end + dt.timedelta(days=1))
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
