"""The Trust's calendar: dates as people in England read them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_

LONDON = ZoneInfo("Europe/London")

#: The moment the Registry acts at, when set by :func:`as_of`; otherwise the real time.
_AS_OF: ContextVar[dt.datetime | None] = ContextVar("registry_as_of", default=None)


def now() -> dt.datetime:
    """The current time, timezone-aware in UTC: the real one, or the moment set by :func:`as_of`."""
    moment = _AS_OF.get()
    return moment if moment is not None else dt.datetime.now(dt.UTC)


@contextmanager
def as_of(moment: dt.datetime) -> Iterator[None]:
    """Act as at ``moment`` (timezone-aware): every "now" and "today" of the Registry (``db.utcnow``,
    column defaults, :func:`today`) reads it until the block ends. The demo's history is made this way,
    through the services, so its steps and audit events carry the times they describe."""
    if moment.tzinfo is None:
        raise ValueError("as_of needs a timezone-aware moment")
    token = _AS_OF.set(moment.astimezone(dt.UTC))
    try:
        yield
    finally:
        _AS_OF.reset(token)


def today() -> dt.date:
    """Today's date in the UK (not UTC: just after midnight in summer they differ)."""
    return now().astimezone(LONDON).date()


@dataclass(frozen=True)
class Period:
    """One UK calendar month, and the moment its figures run to."""

    year: int
    month: int
    #: The first instant of the month (UTC).
    start: dt.datetime
    #: The first instant after it (UTC), or the moment of generation if the month has not ended.
    end: dt.datetime
    #: Whether the month had ended when the figures were worked out.
    complete: bool

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        return f"{self.first_day:%B %Y}"

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def next_first(self) -> dt.date:
        return dt.date(self.year + self.month // 12, self.month % 12 + 1, 1)

    @property
    def last_day(self) -> dt.date:
        return self.next_first - dt.timedelta(days=1)

    @property
    def as_of(self) -> dt.date:
        """The UK date at the end of the period: dates before it have passed (overdue, expired)."""
        return self.next_first if self.complete else today()

    def contains_date(self, column: Any) -> ColumnElement[bool]:
        return and_(column >= self.first_day, column < self.next_first)

    def contains(self, column: Any) -> ColumnElement[bool]:
        return and_(column >= self.start, column < self.end)
