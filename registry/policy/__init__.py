"""The Trust's social media policy, as the Registry shows and cites it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

POLICY_FILE = Path(__file__).with_name("social-media-policy.txt")
_CLAUSE = re.compile(r"^- (\d{1,2}\.\d{1,2})\.\s+(.*)$")
_SECTION = re.compile(r"^(?:- )?(\d{1,2})\.\s+(.+?)\**$")


@dataclass(frozen=True)
class Clause:
    number: str
    text: str


@dataclass(frozen=True)
class Section:
    number: str
    title: str
    clauses: tuple[Clause, ...]


@cache
def sections() -> tuple[Section, ...]:
    """The numbered sections and clauses of the policy (the header table is left out)."""
    found: list[Section] = []
    title, number, clauses = "Introduction and purpose", "1", []
    started = False
    for raw in POLICY_FILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line == "Introduction and purpose":
            started = True
            continue
        if not started or not line:
            continue
        clause = _CLAUSE.match(line)
        if clause:
            clauses.append(Clause(clause.group(1), clause.group(2).replace("**", "")))
            continue
        section = _SECTION.match(line)
        if section:
            found.append(Section(number, title, tuple(clauses)))
            number, title, clauses = section.group(1), section.group(2).strip(), []
            continue
        if clauses and line.startswith("- "):
            last = clauses[-1]
            clauses[-1] = Clause(last.number, f"{last.text} {line[2:]}")
    found.append(Section(number, title, tuple(clauses)))
    return tuple(found)


@cache
def clause(number: str) -> Clause | None:
    for section in sections():
        for item in section.clauses:
            if item.number == number:
                return item
    return None
