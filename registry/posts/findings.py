"""Screening a post for patient identifiers (policy 6.11), and what is kept of it.

The text and every image's alternative text are screened when a post is proposed or changed,
and again whenever the communications team decides it or accepts its findings (never merely
on reading it: a page shows what the screening would find now, computed, when it differs
from what is stored). Only where each finding is, its kind and its masked form are stored:
never the match itself, and neither the text nor a match reaches the audit trail.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

from registry import db
from registry.audit.models import AuditAction
from registry.audit.services import record
from registry.auth.models import User
from registry.posts.models import FIELD_ALT_TEXT, FIELD_TEXT, OBJECT_TYPE, PostFinding, PromotionalPost
from registry.screening import services as screening

#: Findings of this kind mean the text names a person, so the consent forms' location is needed.
NAME_KINDS: Final = frozenset({"patient_name"})

#: A finding of the screener, with the field it is in and (for alternative text) the image's position.
Found: TypeAlias = tuple[str, int | None, screening.Finding]


def screen(text: str, alt_texts: Sequence[str]) -> list[Found]:
    """Screen the text and each image's alternative text (image positions count from 1)."""
    found: list[Found] = [(FIELD_TEXT, None, f) for f in screening.screen(text)]
    for position, alt in enumerate(alt_texts, start=1):
        found.extend((FIELD_ALT_TEXT, position, f) for f in screening.screen(alt))
    return found


def screen_post(post: PromotionalPost) -> list[Found]:
    return screen(post.text, [image.alt_text for image in post.images])


def _signature(rows: Iterable[tuple[str, int | None, str, int, int, str]]) -> list[tuple[Any, ...]]:
    return sorted(rows, key=lambda row: (row[0], row[1] or 0, row[3], row[4], row[2], row[5]))


def _stored_signature(post: PromotionalPost) -> list[tuple[Any, ...]]:
    return _signature(
        (f.field, f.image_position, f.kind, f.start_offset, f.end_offset, f.masked) for f in post.findings
    )


def _found_signature(found: list[Found]) -> list[tuple[Any, ...]]:
    return _signature((name, position, f.kind, f.start, f.end, f.masked) for name, position, f in found)


def agrees(post: PromotionalPost, found: list[Found]) -> bool:
    """Whether ``found`` is what is stored for the post."""
    return _found_signature(found) == _stored_signature(post)


def kinds(found: Iterable[Any]) -> dict[str, int]:
    return dict(sorted(Counter(f.kind for f in found).items()))


def store_findings(post: PromotionalPost, found: list[Found]) -> None:
    post.findings.clear()
    db.session().flush()
    post.findings.extend(
        PostFinding(
            field=name,
            image_position=position,
            kind=f.kind[:32],
            label=f.label[:100],
            start_offset=f.start,
            end_offset=f.end,
            masked=f.masked[:200],
        )
        for name, position, f in found
    )
    post.screened_at = db.utcnow()
    clear_acceptance(post)


def clear_acceptance(post: PromotionalPost) -> None:
    post.findings_accepted_at = None
    post.findings_accepted_by_id = None
    post.findings_accepted_by = None
    post.findings_acceptance = None


def record_screen(post: PromotionalPost, actor: User, when: str) -> None:
    record(
        AuditAction.POST_SCREEN,
        OBJECT_TYPE,
        post.reference,
        {"when": when, "findings": len(post.findings), "kinds": kinds(post.findings)},
        actor=actor,
    )


@dataclass(frozen=True)
class CurrentFinding:
    """What the screening finds in a post now (computed for a page, never stored)."""

    field: str
    image_position: int | None
    kind: str
    label: str
    masked: str

    @property
    def where(self) -> str:
        return "the text" if self.field == FIELD_TEXT else f"image {self.image_position}'s alternative text"


def screening_now(post: PromotionalPost) -> list[CurrentFinding] | None:
    """What the screening finds in the post now, when that differs from the stored findings
    (the screener has learnt something since); None when they agree. Changes nothing."""
    found = screen_post(post)
    if agrees(post, found):
        return None
    return [
        CurrentFinding(field=name, image_position=position, kind=f.kind, label=f.label, masked=f.masked)
        for name, position, f in found
    ]
