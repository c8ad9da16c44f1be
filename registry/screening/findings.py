"""What a detector of :mod:`registry.screening.services` reports, and how a match is masked."""

from __future__ import annotations

from dataclasses import dataclass

BULLET = "•"
#: A space that does not end the line, for the detectors' patterns.
INLINE_SPACE = r"[^\S\n]"

#: Each kind and its plain-English label.
KINDS: dict[str, str] = {
    "nhs_number": "NHS number",
    "date_of_birth": "Date of birth",
    "hospital_number": "Hospital number",
    "phone": "Phone number",
    "email": "Email address",
    "postcode": "Postcode",
    "patient_name": "Name",
}


@dataclass(frozen=True)
class Finding:
    """Something in the text that could identify a patient."""

    kind: str
    start: int
    end: int
    masked: str
    label: str


def hide(match: str, keep_last: int = 0) -> str:
    """``match`` with every letter and digit replaced by a bullet except the last ``keep_last``;
    spaces and punctuation stay, so the shape can still be recognised."""
    positions = [i for i, ch in enumerate(match) if ch.isalnum()]
    kept = set(positions[-keep_last:]) if keep_last else set()
    return "".join(BULLET if ch.isalnum() and i not in kept else ch for i, ch in enumerate(match))


def found(kind: str, text: str, start: int, end: int, masked: str, label: str | None = None) -> Finding:
    """A finding of ``kind`` at ``text[start:end]``, shown as ``masked`` (never the match itself)."""
    if text[start:end] in masked:  # each masking hides something; this makes sure of it
        masked = hide(text[start:end])
    return Finding(kind=kind, start=start, end=end, masked=masked, label=label or KINDS[kind])
