"""Pagination of list pages and API lists: one count query and one page query."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from flask import request
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from registry import db
from registry.errors import Invalid

T = TypeVar("T")
MAX_PER_PAGE = 100
#: How many page numbers a list's pagination shows either side of the current page (as the NHS.UK
#: design system's numbered pagination does: 1 … 8 9 10 11 12 … 40).
NEIGHBOURS = 2


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    def window(self, neighbours: int = NEIGHBOURS) -> list[int | None]:
        """The page numbers to link to, in order, ``None`` for an ellipsis: the first and last pages
        and ``neighbours`` either side of the current one. An ellipsis stands for two pages or more
        (one page alone is shown by its number). At most ``2 * neighbours + 5`` entries, however
        many pages there are."""
        current = min(max(self.page, 1), self.pages)
        around = range(max(1, current - neighbours), min(self.pages, current + neighbours) + 1)
        numbers = sorted({1, self.pages, *around})
        shown: list[int | None] = []
        previous = 0
        for number in numbers:
            if number - previous == 2:
                shown.append(number - 1)
            elif number - previous > 2:
                shown.append(None)
            shown.append(number)
            previous = number
        return shown

    @property
    def first_index(self) -> int:
        return 0 if self.total == 0 else (self.page - 1) * self.per_page + 1

    @property
    def last_index(self) -> int:
        return min(self.total, self.page * self.per_page)


def page_args(default_per_page: int, *, strict: bool = False) -> tuple[int, int]:
    """``page`` and ``per_page`` from the query string (1-based, at most 100 per page).

    With ``strict`` (the API) a bad value is :class:`Invalid`; pages fall back to defaults.
    """
    values: dict[str, int] = {}
    errors: dict[str, str] = {}
    for name, default, upper in (("page", 1, 1_000_000), ("per_page", default_per_page, MAX_PER_PAGE)):
        raw = request.args.get(name, "")
        if raw == "":
            values[name] = default
            continue
        number = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else 0
        if not 1 <= number <= upper:
            errors[name] = f"{name} must be a whole number from 1 to {upper}."
            number = default
        values[name] = number
    if strict and errors:
        raise Invalid(errors)
    return values["page"], values["per_page"]


def paginate(
    session: Session,
    statement: Select[Any],
    page: int,
    per_page: int,
    *,
    scalars: bool = True,
    total: Select[int] | None = None,
) -> Page[Any]:
    """The page of ``statement`` and how many rows it has: counted by ``total`` when given (a cheaper
    statement that must count the same rows), else by counting ``statement``'s rows."""
    counting = total if total is not None else select(func.count()).select_from(statement.order_by(None).subquery())
    count = session.execute(counting).scalar_one()
    result = session.execute(statement.limit(per_page).offset((page - 1) * per_page))
    items = list(result.scalars()) if scalars else list(result)
    return Page(items, count, page, per_page)


def paged(statement: Select[Any], default_per_page: int, *, scalars: bool = True) -> Page[Any]:
    """The page of ``statement`` a list page's query string asks for (see :func:`page_args`)."""
    page, per_page = page_args(default_per_page)
    return paginate(db.session(), statement, page, per_page, scalars=scalars)
