"""Audit events as a person reads them: who (by name), what happened (in words), to what (a link where
the viewer may open it) and a short sentence of the details; the raw codes, hashes and details stay for
the "Technical details". The CSV export and the API keep the codes exactly (they do not use this).

The people an event names are read once for the whole page (:func:`people`), never one query per event.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import HTTPException

from registry import db
from registry.audit import words
from registry.audit.models import AuditEvent
from registry.auth.models import User
from registry.auth.permissions import POLICY_ATTRIBUTE, Permission, Role
from registry.lifecycle.kind import RequestKind, kinds

#: Who did it when no user did, by the label the trail holds (other labels are system processes).
PUBLIC_LABEL: Final = "public"
SYSTEM_LABEL: Final = "system"
#: Details that are only for checking (hashes, digests, key ids): kept for the technical details.
_TECHNICAL_KEYS: Final = frozenset({"sha256", "hash", "digest", "key_id", "prev_hash", "head_hash", "fingerprint"})
_HEXLIKE: Final = re.compile(r"^[0-9a-fA-F]{32,}$")
_LONGEST_VALUE: Final = 120
_MOST_ITEMS: Final = 5


@dataclass(frozen=True)
class Who:
    name: str
    role: str  # the person's roles, or what kind of system process it was ("" for none)


@dataclass(frozen=True)
class Thing:
    text: str
    url: str | None = None


@dataclass(frozen=True)
class EventView:
    event: AuditEvent
    who: Who
    what: str
    thing: Thing
    summary: str
    details: dict[str, Any]


def people(events: Iterable[AuditEvent]) -> dict[int, User]:
    """The people ``events`` name (as actor or as the account acted on), with their roles, in two statements."""
    ids = {e.actor_id for e in events if e.actor_id is not None}
    ids |= {i for e in events if e.object_type == "user" for i in _user_ids(e.object_id)}
    if not ids:
        return {}
    found = db.session().execute(select(User).options(selectinload(User.role_grants)).where(User.id.in_(ids)))
    return {user.id: user for user in found.scalars()}


def present(events: Sequence[AuditEvent], viewer: Any) -> list[EventView]:
    """``events`` in words for ``viewer``: links only to pages ``viewer`` may open."""
    known = people(events)
    views = []
    for event in events:
        details = json.loads(event.details)
        details = details if isinstance(details, dict) else {"details": details}
        views.append(
            EventView(
                event=event,
                who=who(event, known),
                what=_first_upper(words.phrase(event.action)),
                thing=thing(event, viewer, known),
                summary=summary(details),
                details=details,
            )
        )
    return views


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def role_names(user: User) -> str:
    return ", ".join(role.label for role in sorted(user.roles, key=list(Role).index))


def who(event: AuditEvent, known: Mapping[int, User]) -> Who:
    if event.actor_id is not None and (user := known.get(event.actor_id)) is not None:
        # Their roles today, said so: what they held when they acted is in the trail's role changes.
        roles = role_names(user)
        return Who(user.name, f"Now: {roles}" if roles else "No roles now")
    if event.actor == PUBLIC_LABEL:
        return Who("A member of the public", "")
    if event.actor == SYSTEM_LABEL:
        return Who("The system", "")
    if event.actor_id is None:
        return Who("The system", event.actor)
    return Who(event.actor, "")


Linker = Callable[[AuditEvent, Any], str | None]


@functools.cache
def _kinds() -> dict[str, RequestKind[Any]]:
    return {kind.name: kind for kind in kinds()}


def _kind_link(object_type: str, reference: str, viewer: Any) -> str | None:
    """A request's page (channel, consent, post, media contact, breach, emergency access) if ``viewer``
    sees every request of its kind (the audit trail already withholds the breach cases they may not read)."""
    kind = _kinds().get(object_type)
    if kind is None or not kind.sees_everything(viewer) or kind.reference_clause(reference) is None:
        return None
    return f"{kind.pages}/{reference}"


def _channel_page(page: str, permission: Permission) -> Linker:
    """A page of the channel named first in the object id (``CH-0001/password``, ``CH-0001/7``)."""

    def link(event: AuditEvent, viewer: Any) -> str | None:
        channel = event.object_id.partition("/")[0]
        if not viewer.can(permission) or _kind_link("channel", channel, viewer) is None:
            return None
        return f"/channels/{channel}/{page}"

    return link


def _page(pattern: str, path: str, permission: Permission) -> Linker:
    """``path`` (with ``{ref}`` the object id, ``{0}`` its first group) when the id matches ``pattern``."""
    compiled = re.compile(pattern)

    def link(event: AuditEvent, viewer: Any) -> str | None:
        match = compiled.fullmatch(event.object_id)
        if match is None or not viewer.can(permission):
            return None
        return path.format(*match.groups(), ref=event.object_id)

    return link


_LINKS: Final[dict[str, Linker]] = {
    "credential": _channel_page("credentials", Permission.CREDENTIAL_READ),
    "roster_grant": _channel_page("roster", Permission.ROSTER_READ),
    "access_review": _page(r"AR-\d{1,9}", "/access-reviews/{ref}", Permission.ROSTER_READ),
    "account_request": _page(r"AR-(\d{1,9})", "/admin/approvals/{0}", Permission.USER_MANAGE),
    "unauthorised_account": _page(r"[A-Z]{1,4}-\d{1,9}", "/monitoring/{ref}", Permission.MONITORING_READ),
    "monthly_report": _page(r"\d{4}-\d{2}", "/reports/{ref}", Permission.REPORT_READ),
    "user": _page(r"(\d{1,9})", "/admin/users/{0}", Permission.USER_MANAGE),
}


def thing(event: AuditEvent, viewer: Any, known: Mapping[int, User]) -> Thing:
    """The object the event is about, named, with its page where ``viewer`` may open it."""
    noun = words.noun(event.object_type)
    if event.object_type == "user" and (names := _names(event.object_id, known)):
        text = f"{noun} of {names[0]}" if len(names) == 1 else f"{noun}s of {', '.join(names[:-1])} and {names[-1]}"
    elif event.object_id in ("", "-"):
        return Thing("")
    else:
        text = f"{noun} {event.object_id}"
    link = _LINKS.get(event.object_type)
    url = link(event, viewer) if link is not None else _kind_link(event.object_type, event.object_id, viewer)
    return Thing(text, url if url is not None and may_open(url, viewer) else None)


def _user_ids(object_id: str) -> list[int]:
    """The accounts a user event is about: one id, or several joined by commas (a provider's sign-out)."""
    parts = object_id.split(",")
    if not all(part.isdigit() and len(part) <= 9 for part in parts):
        return []
    return [int(part) for part in parts]


def _names(object_id: str, known: Mapping[int, User]) -> list[str]:
    found = [known.get(i) for i in _user_ids(object_id)]
    return [user.name for user in found if user is not None] if all(found) else []


def may_open(path: str, viewer: Any) -> bool:
    """Whether the page at ``path`` exists as a route and its declared permission is ``viewer``'s (a
    second check on the rules above: a link is never offered to a page that would refuse the reader)."""
    try:
        endpoint, _args = current_app.url_map.bind("localhost").match(path, method="GET")
    except HTTPException:
        return False
    policy = getattr(current_app.view_functions[endpoint], POLICY_ATTRIBUTE, None)
    return isinstance(policy, Permission) and bool(viewer.can(policy))


def is_technical(key: str, value: Any) -> bool:
    lowered = key.lower()
    if lowered in _TECHNICAL_KEYS or lowered.endswith(("_hash", "_sha256", "_digest", "_key_id")):
        return True
    return isinstance(value, str) and bool(_HEXLIKE.match(value))


def _said(value: Any) -> str | None:
    """A value in a sentence; None for one that is only technical (a nested record)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        if _HEXLIKE.match(value):
            return None
        return value if len(value) <= _LONGEST_VALUE else value[: _LONGEST_VALUE - 1] + "…"
    if isinstance(value, list):
        said = [s for s in (_said(item) for item in value if not isinstance(item, dict | list)) if s]
        if not said:
            return None
        more = len(said) - _MOST_ITEMS
        shown = ", ".join(said[:_MOST_ITEMS])
        return f"{shown} and {more} more" if more > 0 else shown
    if isinstance(value, dict) and set(value) == {"from", "to"}:
        before, after = _said(value["from"]) or "nothing", _said(value["to"]) or "nothing"
        return f"from {before} to {after}"
    return None


def _status(value: Any) -> str | None:
    """A status code as words (``info_requested``: "info requested")."""
    said = _said(value)
    return said.replace("_", " ") if said and isinstance(value, str) else said


def summary(details: Mapping[str, Any]) -> str:
    """The details as a short sentence: each readable value by its name; hashes and nested records left
    for the technical details."""
    parts = []
    if "from" in details and "to" in details:
        before, after = _status(details["from"]), _status(details["to"])
        if before and after:
            parts.append(f"From {before} to {after}")
    for key, value in details.items():
        if key in ("from", "to") and parts or is_technical(key, value):
            continue
        said = _said(value)
        if said is not None:
            parts.append(f"{key.replace('_', ' ').capitalize()}: {said}")
    sentence = "; ".join(parts)
    return sentence if not sentence or sentence.endswith((".", "…", "!", "?")) else sentence + "."
