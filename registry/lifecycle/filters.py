"""The filters of a list of requests, declared once for its page and its API list.

A kind's filters are a frozen dataclass that subclasses :class:`Filters`: each field is a query
parameter, with its default. A field named in ``choices`` takes only those values, a ``bool``
field takes ``true`` or ``false``, and any other field is free text (at most 200 characters).
Reading the query string (:meth:`Filters.parse`) and writing the filters back into a link
(:meth:`Filters.query`) then follow from the declaration.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Self

from registry.errors import Invalid

#: The longest free-text filter kept (a search box).
TEXT_MAX = 200


@dataclass(frozen=True)
class Filters:
    #: The values each closed filter takes, by field, in the order a refusal lists them.
    choices: ClassVar[Mapping[str, Collection[str]]] = {}
    #: Query parameters named otherwise than their field (``direction`` is ``dir``).
    params: ClassVar[Mapping[str, str]] = {}
    #: Fields whose value is read in any case (``DESC`` is ``desc``).
    folded: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def param(cls, name: str) -> str:
        return cls.params.get(name, name)

    def query(self) -> dict[str, str]:
        """These filters as query parameters (for links such as the CSV export): each one not at its default."""
        values: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value != f.default:
                values[self.param(f.name)] = ("true" if value else "") if isinstance(value, bool) else value
        return {name: value for name, value in values.items() if value}

    @classmethod
    def parse(cls, args: Mapping[str, str], *, strict: bool) -> Self:
        """From query parameters. ``strict`` (the API) refuses unknown values with 422; a page
        ignores them and shows the list unfiltered by them."""
        errors: dict[str, str] = {}
        values: dict[str, Any] = {}
        for f in fields(cls):
            name, default = cls.param(f.name), f.default
            if isinstance(default, bool):
                allowed: Collection[str] = ("true", "false")
                raw = (args.get(name) or "").strip().lower()
            elif f.name in cls.choices:
                allowed = cls.choices[f.name]
                raw = (args.get(name) or str(default)).strip()
                raw = raw.lower() if f.name in cls.folded else raw
            else:
                values[f.name] = (args.get(name) or "").replace("\x00", "").strip()[:TEXT_MAX]
                continue
            if (raw or default) and raw not in allowed:
                listed = list(allowed)
                either = f"{listed[0]} or {listed[1]}" if len(listed) == 2 else "one of " + ", ".join(listed)
                errors[name] = f"{name} must be {either}."
                raw = "" if isinstance(default, bool) else str(default)
            values[f.name] = raw == "true" if isinstance(default, bool) else raw
        if strict and errors:
            raise Invalid(errors)
        return cls(**values)
