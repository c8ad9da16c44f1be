"""What awaits someone: one shape for every kind of request, so the communications team's
work queue and each person's requests page (``registry.web.workqueue``) list channel
requests, logo consents and promotional posts side by side."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from registry import db


@dataclass(frozen=True)
class WorkItem:
    kind: str  # "Channel request", "Logo consent", "Promotional post"
    reference: str  # CH-0042, LC-2026-0042, PP-2026-0007
    title: str  # one line a person recognises
    status_label: str
    waiting_since: dt.datetime  # when it reached its current state (UTC)
    url: str  # the path of the page where it is acted on (a plain path: reminders run outside requests)
    requester: str | None = None  # the requester's name (comms' queue)
    #: True when the person whose list this is must act next (their changes are asked for).
    needs_you: bool = False

    def age_days(self, now: dt.datetime | None = None) -> int:
        return max(0, ((now or db.utcnow()) - self.waiting_since).days)
