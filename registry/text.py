"""Text and time as people read and type them: the one home for these helpers.

Values with words of their own (a role, a delivery state) are :class:`Labelled` enums: each
member's label stands beside its value.

Every kind of request cleans what people type the same way, writes dates the way the
Trust does ("3 March 2026 at 2:05pm", UK time), reads ISO 8601 times from the API the
same way, and masks possible patient identifiers before text leaves the registry (in an
e-mail) or goes into the audit trail, which is kept for years.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, Self, TypeVar

from registry.clock import LONDON
from registry.errors import Invalid

#: A date, or a date and time (a ``datetime`` is a ``date``).
D = TypeVar("D", bound=dt.date)


class Labelled(StrEnum):
    """An enum of stored values that people read by their labels: declare each member as
    ``NAME = "value", "How it reads"``. The value is what is stored and sent; ``label`` is shown."""

    _value_: str
    label: str

    def __new__(cls, value: str, label: str = "") -> Self:
        # ``label`` has a default only so that type checkers take ``Role("comms")`` (a lookup by value,
        # which never comes here) as a call: a member declared without one fails as its class is made.
        if not label:
            raise TypeError(f"{cls.__name__} member {value!r} has no label")
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member


def clean(text: str | None) -> str:
    """What someone typed, without NUL characters (PostgreSQL refuses them) or surrounding space."""
    return (text or "").replace("\x00", "").strip()


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 finding``, ``2 findings``; ``many`` for a plural not made with an s (``1 person``, ``2 people``)."""
    return f"{n} {noun(n, word, many)}"


def noun(n: int, word: str, many: str | None = None) -> str:
    """The word alone for ``n`` of it (``role``, ``roles``), where the number is shown apart from it."""
    return word if n == 1 else many or f"{word}s"


def masked(text: str) -> str:
    """``text`` with every possible patient identifier masked, for e-mails and audit details.

    What people write is stored as written (only those who may see the request read it), but
    messages leave the registry and the audit trail is kept for years, so what goes there passes
    through the patient-identifier screener first. Findings are replaced from the end backwards,
    so that each one's offsets still hold.
    """
    from registry.screening import services as screening  # (its patterns: not at every start)

    result = text
    for finding in sorted(screening.screen(text), key=lambda f: f.start, reverse=True):
        result = result[: finding.start] + finding.masked + result[finding.end :]
    return result


def uk_date(value: dt.date | dt.datetime | None) -> str:
    """``3 March 2026``; a date-time is first turned into UK time. Empty for None."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.astimezone(LONDON).date()
    return f"{value.day} {value:%B %Y}"


def uk_datetime(value: dt.datetime | None) -> str:
    """``23 November 2026 at 2:05pm`` in UK time. Empty for None."""
    if value is None:
        return ""
    local = value.astimezone(LONDON)
    hour = local.strftime("%I").lstrip("0") or "12"
    return f"{local.day} {local:%B %Y} at {hour}:{local:%M}{local.strftime('%p').lower()}"


def uk_midnight(day: dt.date) -> dt.datetime:
    """The moment (in UTC) a UK calendar day begins."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=LONDON).astimezone(dt.UTC)


def add_years(day: D, years: int) -> D:
    """The same day (or moment) ``years`` later, or earlier with a negative ``years`` (28 February
    for 29 February in a common year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def parse_moment(value: Any, field_name: str) -> dt.datetime:
    """An ISO 8601 date and time from the API, in UTC; without an offset it is read as UK time.

    Anything else (not text, not a date-time) is :class:`Invalid`, naming ``field_name``.
    """
    if isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value.strip())
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=LONDON)
            return moment.astimezone(dt.UTC)
        except (ValueError, OverflowError):
            pass
    raise Invalid({field_name: f"{field_name} must be a date and time such as 2026-03-31T09:30:00+01:00."})
