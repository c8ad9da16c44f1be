"""The Trust's calendar: dates as people in England read them."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def today() -> dt.date:
    """Today's date in the UK (not UTC: just after midnight in summer they differ)."""
    return dt.datetime.now(LONDON).date()
