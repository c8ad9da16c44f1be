"""Logging an approach by the media (policy 8.1): what a member of staff tells comms, its rules
(the same for the browser and the API), and the approach as first recorded."""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from werkzeug.datastructures import FileStorage

from registry import alerts, db
from registry.alerts.models import AlertEvent
from registry.audit.models import AuditAction
from registry.auth.models import User
from registry.channels.platforms import PLATFORMS, HandleError, Platform, require_domain, split_url
from registry.lifecycle import engine
from registry.media.kind import KIND
from registry.media.models import JOURNALIST_MAX, LINK_MAX, OUTLET_MAX, MediaContact
from registry.media.workflow import MediaContactStatus
from registry.notifications import services as notifications
from registry.text import clean, masked, uk_datetime
from registry.uploads import services as uploads

ENQUIRY_MAX = 5000
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
    text = clean(raw)
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


def _timing_errors(contacted: dt.datetime | None, deadline: dt.datetime | None, now: dt.datetime) -> dict[str, str]:
    """What is wrong with when they made contact and their deadline."""
    if contacted is None:
        return {"contacted_at": REQUIRED_MESSAGES["contacted_at"]}
    if contacted > now + CLOCK_SKEW:
        return {"contacted_at": "The time they contacted you must be now or in the past"}
    if contacted < now - LOGGED_WITHIN:
        return {
            "contacted_at": "The approach must have been within the last year. Check the year, or tell the "
            "communications team about an older approach directly"
        }
    if deadline is not None and deadline < contacted:
        return {"deadline_at": "Their deadline must be after the time they contacted you"}
    if deadline is not None and deadline > contacted + DEADLINE_WITHIN:
        return {"deadline_at": "Their deadline must be within a year of the approach. Check the year"}
    return {}


def _check(data: Approach, now: dt.datetime) -> tuple[_Checked | None, dict[str, str]]:
    """Every problem with ``data`` (field → message), or the cleaned answers."""
    errors: dict[str, str] = {}
    platform: Platform | None = None
    if not clean(data.platform):
        errors["platform"] = REQUIRED_MESSAGES["platform"]
    else:
        try:
            platform = Platform(clean(data.platform).lower())
        except ValueError:
            errors["platform"] = "Choose a platform from the list"
    outlet, journalist, enquiry = clean(data.outlet), clean(data.journalist), clean(data.enquiry)
    if len(outlet) > OUTLET_MAX:
        errors["outlet"] = f"The outlet's name must be {OUTLET_MAX} characters or fewer"
    if len(journalist) > JOURNALIST_MAX:
        errors["journalist"] = f"The journalist's name must be {JOURNALIST_MAX} characters or fewer"
    if not enquiry:
        errors["enquiry"] = REQUIRED_MESSAGES["enquiry"]
    elif len(enquiry) > ENQUIRY_MAX:
        errors["enquiry"] = f"What they asked must be {ENQUIRY_MAX} characters or fewer: summarise it"
    contacted, deadline = data.contacted_at, data.deadline_at
    errors.update(_timing_errors(contacted, deadline, now))
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
    if not files and not clean(data.link) and "link" not in errors:
        errors["link"] = REQUIRED_MESSAGES["link"]
    if len(files) > MAX_SCREENSHOTS:
        errors["screenshots"] = f"Attach at most {MAX_SCREENSHOTS} screenshots"
        files = []
    stored = uploads.store_all(files, actor=reporter, field="screenshots", errors=errors)
    assert checked is not None
    session = db.session()
    contact = KIND.new(
        reporter,
        MediaContactStatus.REPORTED,
        now,
        platform=checked.platform.value,
        outlet=checked.outlet,
        journalist=checked.journalist,
        contacted_at=checked.contacted_at,
        deadline_at=checked.deadline_at,
        enquiry=checked.enquiry,
        link=checked.link,
        no_response_confirmed_at=now,
    )
    session.add(contact)
    session.flush()
    attached = KIND.attach(contact, stored, now)
    engine.opened(
        KIND,
        contact,
        "report",
        reporter,
        now=now,
        audit=AuditAction.MEDIA_CONTACT_REPORT,
        details={
            "platform": contact.platform,
            "outlet": masked(contact.outlet or ""),
            "journalist": masked(contact.journalist or ""),
            "contacted_at": contact.contacted_at,
            "deadline_at": contact.deadline_at,
            "enquiry": masked(contact.enquiry),
            "link": masked(contact.link or ""),
            "no_response_confirmed": True,
            "screenshots": attached,
        },
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
        link=KIND.link(contact),
        exclude=reporter,
    )
    # The enquiry is masked before it is shortened: cut first, an identifier across the cut would
    # reach the webhooks as a part the screener no longer recognises.
    alerts.raise_alert(
        AlertEvent.MEDIA_APPROACH,
        title=f"Urgent: media approach {contact.reference} on {platform}",
        text=(
            f"A member of staff was approached on their personal {platform} account by {contact.who}, and has "
            f"not responded. What they asked: {masked(contact.enquiry)[:300]}\n\n"
            "Triage it and advise them before they respond (policy 8.1)."
        ),
        link=KIND.link(contact),
        facts={
            "Reference": contact.reference,
            "Platform": platform,
            **({"Deadline": uk_datetime(contact.deadline_at)} if contact.deadline_at else {}),
        },
    )
    session.flush()
    return contact
