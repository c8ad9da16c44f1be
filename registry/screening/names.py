"""Patients' names, for :func:`registry.screening.services.screen` (its docstring says what is found)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from registry.screening.findings import BULLET, INLINE_SPACE, Finding, found

_H = INLINE_SPACE
_UPPER = "A-ZÀ-ÖØ-Þ"
_LOWER = "a-zß-öø-ÿ"
_WORD = re.compile(
    rf"[{_UPPER}](?:[{_LOWER}]+|['’](?=[{_UPPER}]))(?:['’-][{_UPPER}]?[{_LOWER}]+|[{_UPPER}][{_LOWER}]+)*"
    rf"(?![{_UPPER}{_LOWER}0-9])"
)
#: A name in capitals ("SMITH", "O'BRIEN", "MCDONALD-JONES"), as forms and notes write surnames.
_CAPS_WORD = re.compile(rf"[{_UPPER}](?:['’](?=[{_UPPER}]))?[{_UPPER}]+(?:-[{_UPPER}]{{2,}})*(?![{_UPPER}{_LOWER}0-9])")
_VOWEL = re.compile(r"[AEIOUYÀ-ÆÈ-ÏÒ-ÖØ-Ý]")
_INITIAL = re.compile(rf"[{_UPPER}]\.?(?={_H}+[{_UPPER}])")
_GAP = re.compile(rf"{_H}+")
_TITLE = re.compile(rf"(?<![\w])(?:Mrs|Mr|Ms|Miss|Mx)\b\.?(?={_H}+[{_UPPER}])")
_PATIENT = re.compile(rf"\b(?i:patient)\b(?:,|{_H}?(?P<stop>[:–—-]))?(?:{_H}+(?:called|named))?(?={_H}+[{_UPPER}])")
_LITTLE = re.compile(rf"\bLittle{_H}+\Z")
_ROLE = (
    r"(?:consultants?|surgeons?|doctors?|nurses?|matrons?|midwi(?:fe|ves)|physio(?:therapist)?s?|therapists?"
    r"|pharmacists?|radiographers?|paramedics?|directors?|managers?|chief|lead|registrars?|anaesthetists?"
    r"|practitioners?|sister|specialists?|executive|chair(?:man|woman|person)?|governors?|volunteers?|porters?"
    r"|officers?|head|clinicians?|dietitians?|psychologists?|professor|mayor|MP|councillor|minister"
    r"|secretary|president|CEO|chaplain|ambassador|speaker|clerks?|receptionists?|administrators?|assistants?"
    r"|technicians?|cleaners?|housekeepers?|coordinators?|supervisors?|workers?|staff|colleagues?)"
)
_ROLE_BEFORE = re.compile(rf"\b{_ROLE}{_H}*[,:]?{_H}*\Z", re.IGNORECASE)
_ROLE_AFTER = re.compile(
    rf"(?:{_H}*[,(–—-]{_H}*(?:(?:our|the|a|an){_H}+)?"
    rf"(?:(?!(?:who|whose|whom|which|that|was|is|has|had|and|with|by|to|for|from)\b)[A-Za-z-]+{_H}+){{0,3}}?{_ROLE}\b"
    rf"|{_H}+(?-i:MP|MBE|OBE|CBE|DBE|KBE|FRCS|MSP)\b)",
    re.IGNORECASE,
)
#: Capitalised words that follow a title but are not names.
_NOT_NAMES = frozenset(
    (
        "the",
        "a",
        "an",
        "and",
        "or",
        "but",
        "nor",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "from",
        "with",
        "by",
        "as",
        "if",
        "so",
        "than",
        "then",
        "our",
        "your",
        "their",
        "his",
        "her",
        "my",
        "its",
        "this",
        "that",
        "these",
        "those",
        "it",
        "we",
        "you",
        "they",
        "he",
        "she",
        "i",
        "us",
        "them",
        "all",
        "any",
        "every",
        "each",
        "some",
        "no",
        "not",
        "out",
        "up",
        "about",
        "over",
        "what",
        "when",
        "where",
        "why",
        "how",
        "who",
        "which",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "do",
        "does",
        "did",
        "can",
        "could",
        "should",
        "would",
        "must",
        "shall",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "today",
        "tomorrow",
        "tonight",
        "yesterday",
        "mr",
        "mrs",
        "ms",
        "miss",
        "mx",
        "dr",
        "sir",
        "madam",
        "men",
        "man",
        "world",
        "universe",
        "england",
        "scotland",
        "wales",
        "britain",
        "uk",
        "right",
        "speaker",
        "blobby",
        "tumble",
        "motivator",
        "tickle",
        "happy",
        "greedy",
        "bump",
        "messy",
        "grumpy",
        "silly",
        "nosey",
        "sneeze",
        "bounce",
        "muddle",
        "lazy",
        "noisy",
        "chatterbox",
        "sunshine",
        "bossy",
        "naughty",
        "christmas",
        "mp",
        "mbe",
        "obe",
        "cbe",
        "dbe",
        "kbe",
        "frcs",
        "msp",
    )
)
#: Capitalised words that follow "patient" in the names of services, events and groups.
_NOT_PATIENT_NAMES = _NOT_NAMES | frozenset(
    (
        "experience",
        "experiences",
        "advice",
        "advocacy",
        "safety",
        "participation",
        "transport",
        "partner",
        "partners",
        "panel",
        "panels",
        "leader",
        "leaders",
        "voice",
        "voices",
        "feedback",
        "care",
        "records",
        "record",
        "information",
        "info",
        "service",
        "services",
        "liaison",
        "access",
        "flow",
        "survey",
        "surveys",
        "story",
        "stories",
        "forum",
        "forums",
        "group",
        "groups",
        "champion",
        "champions",
        "day",
        "week",
        "month",
        "year",
        "engagement",
        "first",
        "charter",
        "portal",
        "knows",
        "led",
        "centred",
        "centered",
        "involvement",
        "representative",
        "representatives",
        "reps",
        "council",
        "network",
        "education",
        "hotel",
        "line",
        "helpline",
        "support",
        "pathway",
        "pathways",
        "journey",
        "journeys",
        "satisfaction",
        "outcome",
        "outcomes",
        "choice",
        "choices",
        "association",
        "environment",
        "area",
        "areas",
        "lounge",
        "hub",
        "library",
        "notes",
        "letters",
        "letter",
        "app",
        "initiated",
        "facing",
        "initiative",
        "ambassador",
        "ambassadors",
        "tracking",
        "tracker",
        "list",
        "lists",
        "data",
        "privacy",
        "confidentiality",
        "consent",
        "identifiable",
        "numbers",
        "number",
        "wellbeing",
        "welfare",
        "dignity",
        "dining",
        "meals",
        "food",
        "menu",
        "menus",
        "parking",
        "property",
        "reported",
        "administration",
        "admin",
        "appointments",
        "appointment",
        "booking",
        "bookings",
        "rights",
        "guide",
        "guides",
        "leaflet",
        "leaflets",
        "insight",
        "insights",
        "reference",
        "carer",
        "carers",
        "family",
        "families",
        "recorded",
        "id",
        "ref",
    )
)


def _name_words(text: str, at: int, not_names: frozenset[str]) -> tuple[list[tuple[int, int]], bool]:
    """The spans of the name starting after ``at`` (initials, then one to three words, each
    capitalised or, all of them, in capitals) and whether it is written in capitals."""
    spans: list[tuple[int, int]] = []
    words = 0
    capitals: bool | None = None
    while words < 3:
        gap = _GAP.match(text, at)
        if gap is None:
            break
        word = None if capitals else _WORD.match(text, gap.end())
        if word is None and capitals is not False:
            word = _CAPS_WORD.match(text, gap.end())
            if word is not None and not _VOWEL.search(word.group()):
                word = None  # an abbreviation ("NHS"), not a name
        if word is not None:
            if word.group().lower() in not_names:
                break
            if capitals is None:
                capitals = word.group().isupper()
            spans.append(word.span())
            words += 1
            at = word.end()
            continue
        initial = _INITIAL.match(text, gap.end())
        if initial is None or words or len(spans) >= 2:
            break
        spans.append(initial.span())
        at = initial.end()
    return (spans, bool(capitals)) if words else ([], False)


def _mask_words(text: str, spans: list[tuple[int, int]]) -> str:
    return " ".join(
        BULLET if end - start <= 2 and not text[start + 1 : end].isalpha() else text[start] + BULLET * 3
        for start, end in spans
    )


def patient_names(text: str) -> Iterator[Finding]:
    for cue in _TITLE.finditer(text):
        if cue.group().startswith("Miss") and _LITTLE.search(text, max(0, cue.start() - 12), cue.start()):
            continue  # Little Miss Sunshine and friends
        spans, _ = _name_words(text, cue.end(), _NOT_NAMES)
        if not spans:
            continue
        end = spans[-1][1]
        if _ROLE_BEFORE.search(text, max(0, cue.start() - 40), cue.start()) or _ROLE_AFTER.match(text, end):
            continue  # a member of staff or a public figure, named with their job
        masked = f"{cue.group()} {_mask_words(text, spans)}"
        yield found("patient_name", text, cue.start(), end, masked)
    for cue in _PATIENT.finditer(text):
        spans, capitals = _name_words(text, cue.end(), _NOT_PATIENT_NAMES)
        if capitals and cue.group().isupper():
            continue  # "OUR PATIENT HANDOVER TIMES": a heading in capitals, not a name
        if len(spans) >= (2 if capitals or cue.group("stop") else 1):  # a heading or a quotation may follow
            yield found("patient_name", text, spans[0][0], spans[-1][1], _mask_words(text, spans))
