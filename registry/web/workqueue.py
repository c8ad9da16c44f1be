"""The communications team's work queue and each person's open requests: every kind of request,
each declaring which of its requests wait and on whom (``RequestKind.waiting_for_comms`` and
``waiting_of``, a :class:`~registry.lifecycle.kind.Waiting`).

The database orders, counts and pages them: one statement counts each kind's, one picks the page
(the ``UNION ALL`` of each kind's statuses, each read oldest first from its index and cut at the
page's end), then each kind loads the requests shown in one statement. A list costs the same
statements however many requests wait or ever waited.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BindParameter, CompoundSelect, Integer, Select, bindparam, case, func, literal, select, union_all

from registry import db
from registry.auth.models import User
from registry.lifecycle.kind import RequestKind, Waiting, WorkItem, WorkSource, kinds, sources, values
from registry.web.pagination import Page

#: The lists of one page: each kind of request (or other list of work) with what of it waits.
Lists = list[tuple[WorkSource, Waiting]]
#: A statement of rows of several columns.
Rows = Select[*tuple[Any, ...]]
#: What a list's statements are built for: each kind's name, statuses, statuses that wait on the person
#: "since" column and "due" column (see :func:`_shape`).
Shape = tuple[bool, tuple[tuple[str, tuple[str, ...], tuple[str, ...], str, str], ...]]

#: How far each kind's branch reads (the page's end), and the page's size and start: bound when a
#: page is read, so one statement serves every page.
_REACH: BindParameter[int] = bindparam("reach", type_=Integer)
_LIMIT: BindParameter[int] = bindparam("page_limit", type_=Integer)
_OFFSET: BindParameter[int] = bindparam("page_offset", type_=Integer)
#: The time of the reading, for lists whose rows wait once a time has passed (``Waiting.due``).
_NOW: BindParameter[dt.datetime] = bindparam("now", type_=db.UTCDateTime())
#: The count and page statements of lists whose statements are the same at every request (the
#: communications team's: no condition but the statuses), built once rather than on every page;
#: SQLAlchemy compiles them once either way.
_BUILT: dict[tuple[str, Shape], Rows | CompoundSelect[*tuple[Any, ...]]] = {}


@dataclass(frozen=True)
class Work:
    """A page of work items, how many wait of each kind (its label → how many, only kinds with
    some), and how many of them wait on the person whose list it is."""

    page: Page[WorkItem]
    by_kind: dict[str, int]
    waiting_for_you: int


def for_comms(
    page: int = 1,
    per_page: int = 50,
    *,
    only: str = "",
    kind: RequestKind[Any] | None = None,
    requests_only: bool = False,
) -> Work:
    """What awaits the communications team, oldest first: the requests of every kind and the other
    lists of work (channels due an account security check). ``only``: the kind of that label, if any
    of it waits (the work queue's filter; otherwise every kind); ``kind``: that kind alone;
    ``requests_only``: the kinds of request alone."""
    lists = _lists(
        lambda k: k.waiting_for_comms() if kind is None or k is kind else None,
        kinds() if requests_only else sources(),
    )
    return _work(lists, page, per_page, only=only, for_comms=True)


def of(user: User, page: int = 1, per_page: int = 50) -> Work:
    """A person's open requests and the breach reports they made: those waiting for them first,
    then the oldest. (Breach cases are not in comms' queue: who may see one depends on who asks,
    so handlers find theirs on their home page.)"""
    return _work(_lists(lambda kind: kind.waiting_of(user)), page, per_page, only="", for_comms=False)


def _lists(waiting: Callable[[WorkSource], Waiting | None], among: Sequence[WorkSource] | None = None) -> Lists:
    return [(kind, found) for kind in (sources() if among is None else among) if (found := waiting(kind)) is not None]


def _work(lists: Lists, page: int, per_page: int, *, only: str, for_comms: bool) -> Work:
    counts = _counts(lists)
    by_kind = {kind.label: counts[kind.name][0] for kind, _ in lists if counts[kind.name][0]}
    if only in by_kind:
        lists = [(kind, waiting) for kind, waiting in lists if kind.label == only]
    total = sum(counts[kind.name][0] for kind, _ in lists)
    waiting_for_you = sum(counts[kind.name][1] for kind, _ in lists)
    items = _page(lists, (page - 1) * per_page, per_page, for_comms=for_comms) if total else []
    return Work(Page(items, total, page, per_page), by_kind, waiting_for_you)


def _shape(lists: Lists, for_comms: bool) -> Shape | None:
    """What the lists' statements depend on, when nothing else goes into them (no ``where`` of their
    own, such as a person's id): lists of the same shape have the same statements."""
    if any(waiting.where for _, waiting in lists):
        return None
    return for_comms, tuple(
        (
            kind.name,
            tuple(values(waiting.statuses)),
            tuple(values(waiting.needs_you)),
            str(waiting.since),
            str(waiting.due),
        )
        for kind, waiting in lists
    )


def _built(
    name: str, lists: Lists, for_comms: bool, build: Callable[[], Rows | CompoundSelect[*tuple[Any, ...]]]
) -> Rows | CompoundSelect[*tuple[Any, ...]]:
    shape = _shape(lists, for_comms)
    if shape is None:
        return build()
    statement = _BUILT.get((name, shape))
    if statement is None:
        statement = _BUILT[name, shape] = build()
    return statement


def _counts(lists: Lists) -> dict[str, tuple[int, int]]:
    """Kind → (how many wait, how many of them wait on the person); one statement."""
    if not lists:
        return {}
    statement = _built("counts", lists, False, lambda: _count_statement(lists))
    found = {row.kind: (row.total, row.on_you) for row in db.session().execute(statement, _now(lists))}
    return {kind.name: found.get(kind.name, (0, 0)) for kind, _ in lists}


def _count_statement(lists: Lists) -> Rows | CompoundSelect[*tuple[Any, ...]]:
    parts: list[Rows] = []
    for kind, waiting in lists:
        status: Any = getattr(kind.model, "status")  # noqa: B009
        on_you = func.count(case((status.in_(values(waiting.needs_you)), 1))) if waiting.needs_you else literal(0)
        parts.append(
            select(literal(kind.name).label("kind"), func.count().label("total"), on_you.label("on_you"))
            .select_from(kind.model)
            .where(status.in_(values(waiting.statuses)), *waiting.conditions(_NOW))
        )
    return _union(parts)


def _page(lists: Lists, offset: int, limit: int, *, for_comms: bool) -> list[WorkItem]:
    """The items from ``offset`` to ``offset + limit`` in the list's order: those waiting on the
    person first, then by when they started waiting, then as their references would sort."""
    statement = _built("page", lists, for_comms, lambda: _page_statement(lists, for_comms=for_comms))
    bound = {"reach": offset + limit, "page_limit": limit, "page_offset": offset, **_now(lists)}
    shown = db.session().execute(statement, bound)
    picked = [(name, request_id) for name, request_id in shown]
    if not picked:
        return []
    # Every kind of the list loads, with one statement, even when none of its requests is shown:
    # a page costs the same statements whatever it shows.
    loaded = {
        kind.name: kind.work_items([i for name, i in picked if name == kind.name], for_comms=for_comms)
        for kind, _ in lists
    }
    # (One changed since it was picked, on PostgreSQL, shows as it is now; one gone is left out.)
    return [loaded[name][request_id] for name, request_id in picked if request_id in loaded[name]]


def _page_statement(lists: Lists, *, for_comms: bool) -> Rows:
    """The kind and id of the page's requests, for the bound page (see :data:`_REACH`)."""
    branches: list[Rows] = []
    for kind, waiting in lists:
        # The work queue reads each status on its own, oldest first and no further than this page
        # reaches: one range of its index, however many wait. A person's requests are few: one
        # range of their own for the kind's statuses.
        groups = [[value] for value in values(waiting.statuses)] if for_comms else [values(waiting.statuses)]
        branches += [_branch(kind, waiting, statuses) for statuses in groups]
    rows = _union(branches).subquery()
    return (
        select(rows.c.kind, rows.c.id)
        .order_by(rows.c.on_you_first, rows.c.since, rows.c.prefix, rows.c.year, rows.c.id)
        .limit(_LIMIT)
        .offset(_OFFSET)
    )


def _branch(kind: WorkSource, waiting: Waiting, statuses: list[str]) -> Rows:
    """The first :data:`_REACH` of the kind's requests in ``statuses``, in the list's order."""
    status: Any = getattr(kind.model, "status")  # noqa: B009
    year, request_id = kind.reference_order()
    on_you = values(waiting.needs_you)
    first = case((status.in_(on_you), 0), else_=1) if on_you else literal(1)
    branch = (
        select(
            literal(kind.name).label("kind"),
            request_id.label("id"),
            waiting.since.label("since"),
            first.label("on_you_first"),
            literal(kind.reference_prefix).label("prefix"),
            year.label("year"),
        )
        .where(status.in_(statuses) if len(statuses) > 1 else status == statuses[0], *waiting.conditions(_NOW))
        .order_by(*([first] if on_you and len(statuses) > 1 else []), waiting.since, year, request_id)
        .limit(_REACH)
        .subquery()
    )
    return select(*branch.c)


def _now(lists: Lists) -> dict[str, dt.datetime]:
    """The time of the reading, where a list has rows that wait once a time has passed."""
    return {"now": db.utcnow()} if any(waiting.due is not None for _, waiting in lists) else {}


def _union(parts: Sequence[Rows]) -> Rows | CompoundSelect[*tuple[Any, ...]]:
    return parts[0] if len(parts) == 1 else union_all(*parts)
