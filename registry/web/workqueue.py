"""The communications team's work queue and each person's open requests: every kind of
request, gathered from its own domain as ``WorkItem`` objects."""

from __future__ import annotations

from collections.abc import Callable

from registry.auth.models import User
from registry.lifecycle.kind import WorkItem, kinds


def _sources() -> list[tuple[Callable[[], list[WorkItem]], Callable[[User], list[WorkItem]]]]:
    """Each kind of request: (what awaits comms, a person's own open requests)."""
    return [(kind.work_items_for_comms, kind.work_items_of) for kind in kinds()]


def for_comms() -> list[WorkItem]:
    """Everything awaiting the communications team, oldest first."""
    items = [item for for_comms_, _ in _sources() for item in for_comms_()]
    return sorted(items, key=lambda i: (i.waiting_since, i.reference))


def of(user: User) -> list[WorkItem]:
    """A person's open requests and the breach reports they made: those needing them first,
    then oldest first. (Breach cases are not in comms' queue: who may see one depends on who
    asks, so handlers find theirs on their home page.)"""
    items = [item for _, of_user in _sources() for item in of_user(user)]
    return sorted(items, key=lambda i: (not i.needs_you, i.waiting_since, i.reference))
