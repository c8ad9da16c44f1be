"""The clauses of the social media policy a report can say were breached, and the policy's version.

The choices come from the policy file the Registry shows (``registry.policy``): its
sections 6 to 8, the standards staff keep, what they may ask of comms, and the media.
A report keeps the clauses it cites as data, with the policy version and the wording at
the time (``policy_clauses``, a row per version and clause, written when a report first
cites it), so a later version of the policy never changes what an old report said.
"""

from __future__ import annotations

import re
from functools import cache

from registry import policy

#: The sections whose clauses say what staff must or must not do.
BREACHABLE_SECTIONS = ("6", "7", "8")
_VERSION = re.compile(r"^Version\s+(\d+(?:\.\d+)*)\s*$")
SUMMARY_MAX = 160


@cache
def policy_version() -> str:
    """The version printed at the top of the policy file ("Version 1.0" → "1.0")."""
    for line in policy.POLICY_FILE.read_text(encoding="utf-8").splitlines():
        found = _VERSION.match(line.strip())
        if found:
            return found.group(1)
    raise RuntimeError(f"{policy.POLICY_FILE.name} does not say its version (a line such as 'Version 1.0').")


@cache
def breachable() -> tuple[policy.Clause, ...]:
    """Every clause a report may cite, in the policy's order."""
    return tuple(
        clause for section in policy.sections() if section.number in BREACHABLE_SECTIONS for clause in section.clauses
    )


def by_number() -> dict[str, policy.Clause]:
    return {clause.number: clause for clause in breachable()}


def summary(text: str) -> str:
    """The clause's first sentence, for a checkbox label (the full text is its hint)."""
    first = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    if len(first) > SUMMARY_MAX:
        first = first[: SUMMARY_MAX - 1].rsplit(" ", 1)[0] + "…"
    return first


def rest(text: str) -> str:
    """What the checkbox label leaves out: the text after the first sentence (all of it when the
    label had to cut the first sentence short)."""
    first = summary(text)
    if first.endswith("…"):
        return text
    return text[len(first) :].strip()
