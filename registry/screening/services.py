"""Patient-identifier screening of draft posts (policy 6.11; SPEC capability 7).

:func:`screen` finds what could identify a patient in a text and says where it is, with
the match masked. Each detector proposes findings; where two overlap, the more specific
kind wins (an NHS number over a phone number, an e-mail address over a name), so the
findings come sorted by start and never overlap. The screener keeps nothing: it stores
and logs neither the text nor any match, and a finding's ``masked`` form never contains
the match it stands for.

What is found (offsets are in characters of the Python string, end exclusive):

``nhs_number``
    Ten digits that pass the NHS modulus 11 check and are not one digit repeated, written
    3-3-4 with spaces or hyphens ("943 476 5919", "943-476-5919"), or grouped any other way
    when "NHS" comes shortly before on the same line with no digit in between ("NHS no:
    9434765919", "NHS#9434765919") or "NHS number" / "NHS no" is anywhere in the same
    sentence, before or after it ("The NHS number of our patient is 9434765919", "9434765919
    (NHS number)"); not straight after a country code ("+44 (0)..."), as phone numbers are.
    A number that fails the check is reported as a ``hospital_number`` when "NHS" comes
    shortly before it: a mistyped NHS number still identifies a patient to someone who
    knows the right one.
``date_of_birth``
    A real date (01/02/1985, 1.2.85, 1-2-1985, 1985-02-01, 1 February 1985, 1st Feb 1985,
    1st of February, February 1, 1985) at most 40 characters after "DOB", "D.O.B", "date
    of birth", "birth date" or "born", in the same sentence. After those words a day and
    month without a year counts too ("born on 3rd March"); a year alone does not.
``hospital_number``
    A number of at least five digits (with up to four letters before it and one after, as
    hospital numbers have) labelled "MRN", "hospital number/no/id/ref", "hosp no", "unit
    number/no", "patient id/number/no/ref", "case number/no" or "(medical) record number";
    and, with no label, the trust-prefixed style "RXX123456": R, two capital letters or
    digits (a trust's organisation code), then six to eight digits.
``phone``
    UK numbers of eleven digits starting 01, 02, 03 or 07, or +44/0044 and the ten digits
    after the 0 ("+44 (0)7700 900123"), grouped with single spaces or hyphens, the area code
    perhaps in brackets. A ward extension ("ext 4959") is too short to be one; 08 numbers
    (free and charged-rate lines) belong to organisations rather than people.
``email``
    An address of the usual shape: a local part, "@", a domain with a top-level part.
``postcode``
    A full UK postcode whose outward and inward parts have a valid shape: in capitals
    ("HP11 2TT", "SW1A 1AA", "M1 1AE"; the space may be left out), or in small or mixed
    letters ("hp11 2tt", "Sw1a 1aa") when the space is there, the outward code starts with
    a real postcode area's letters (so not "a40 2nd") and the inward code is not an ordinal
    or a unit ("m6 3rd", "b1 6ft"). An outward code alone ("HP11") covers thousands of
    addresses and is not reported.
``patient_name``
    One to three capitalised words, or words in capitals with a vowel ("SMITH", not "NHS";
    one style throughout), initials before them allowed, after "Mr", "Mrs", "Ms", "Miss" or
    "Mx" (the finding includes the title) or after "patient" ("patient Sarah Jones", "our
    patient, John", "a patient called Amy"). After "patient" a name in capitals, or one
    after a colon or dash ("patient: Sarah Jones", "patient SARAH JONES"), needs at least
    two parts, as headings and quotations follow those ("Patient: Brilliant care!", "patient
    PALS"), and words in capitals after "PATIENT" are a heading. Common words are not names
    ("Don't Miss Our open day", "Patient Experience Week", "the Mr Men books", "Little Miss
    Sunshine"). "Dr" is not a cue: doctors named in posts are staff, whom posts name with
    their consent; likewise a title right after a job title ("consultant surgeon Mr Ahmed")
    or followed by one ("Miss Patel, consultant breast surgeon", "Mr Smith MP", "Mr JOHN
    SMITH OBE") is taken to be a member of staff or a public figure.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from collections.abc import Iterator

# BULLET, KINDS and Finding are re-exported: callers ask the screening services for them.
from registry.screening.findings import BULLET as BULLET
from registry.screening.findings import INLINE_SPACE, found, hide
from registry.screening.findings import KINDS as KINDS
from registry.screening.findings import Finding as Finding
from registry.screening.names import patient_names
from registry.screening.postcodes import postcodes

#: The longest text the API and the page accept (a post, with room for its alt texts).
MAX_TEXT = 20_000

#: Where findings overlap, the kind earlier in this list wins (then the longer finding).
SPECIFICITY = ("nhs_number", "email", "hospital_number", "date_of_birth", "phone", "postcode", "patient_name")
_RANK = {kind: rank for rank, kind in enumerate(SPECIFICITY)}


def screen(text: str) -> list[Finding]:
    """Every possible patient identifier in ``text``, sorted by start, none overlapping.

    Pure: nothing is stored or logged. Runs in time linear in the length of the text.
    """
    candidates = [
        *_nhs_numbers(text),
        *_emails(text),
        *_hospital_numbers(text),
        *_dates_of_birth(text),
        *_phones(text),
        *postcodes(text),
        *patient_names(text),
    ]
    candidates.sort(key=lambda f: (_RANK[f.kind], f.start - f.end, f.start))
    starts: list[int] = []
    chosen: list[Finding] = []
    for finding in candidates:
        at = bisect.bisect_left(starts, finding.start)
        if at > 0 and chosen[at - 1].end > finding.start:
            continue
        if at < len(chosen) and chosen[at].start < finding.end:
            continue
        starts.insert(at, finding.start)
        chosen.insert(at, finding)
    return chosen


# --- NHS numbers ------------------------------------------------------------------------------

_SEP = "[ \u00a0-]"
_NHS_334 = re.compile(rf"(?<![0-9])[0-9]{{3}}(?P<sep>{_SEP})[0-9]{{3}}(?P=sep)[0-9]{{4}}(?![0-9])")
_TEN_DIGITS = re.compile(rf"(?<![0-9])(?<![0-9]{_SEP})[0-9](?:{_SEP}?[0-9]){{9}}(?![0-9])(?!{_SEP}[0-9])")
_NHS_LABEL = re.compile(r"\bNHS\b[^0-9\n]{0,24}\Z", re.IGNORECASE)
#: The label that reaches a valid number anywhere in its sentence, before or after it.
_NHS_NUMBER_LABEL = re.compile(r"\bNHS[^\S\n]*(?:number|num|no)\b", re.IGNORECASE)
#: Where a sentence ends ("no." is the label's abbreviation, not an end).
_NHS_SENTENCE_END = re.compile(r"(?<!\b[Nn][Oo])[.!?](?=\s|\Z)|\n")
_COUNTRY_CODE = re.compile(r"(?:\+|\b00)44[ \u00a0-]?(?:\(0\)[ \u00a0-]?)?\Z")


def is_valid_nhs_number(digits: str) -> bool:
    """Ten digits whose last is the modulus 11 check digit of the first nine (and not one digit repeated)."""
    if len(digits) != 10 or not digits.isascii() or not digits.isdigit() or len(set(digits)) == 1:
        return False
    remainder = sum(int(d) * weight for d, weight in zip(digits[:9], range(10, 1, -1), strict=True)) % 11
    check = (11 - remainder) % 11
    return check != 10 and check == int(digits[9])


def _after_country_code(text: str, start: int) -> bool:
    return _COUNTRY_CODE.search(text[max(0, start - 12) : start]) is not None


def _nhs_numbers(text: str) -> Iterator[Finding]:
    seen: set[int] = set()
    for match in _NHS_334.finditer(text):
        digits = re.sub(r"[^0-9]", "", match.group())
        if is_valid_nhs_number(digits) and not _after_country_code(text, match.start()):
            seen.add(match.start())
            yield found("nhs_number", text, match.start(), match.end(), hide(match.group(), 2))
    labels = [m.start() for m in _NHS_NUMBER_LABEL.finditer(text)]
    ends = [(m.start(), m.end()) for m in _NHS_SENTENCE_END.finditer(text)] if labels else []
    for match in _TEN_DIGITS.finditer(text):
        if match.start() in seen or _after_country_code(text, match.start()):
            continue
        digits = re.sub(r"[^0-9]", "", match.group())
        if len(set(digits)) == 1:
            continue  # a placeholder such as 0000000000
        masked = hide(match.group(), 2)
        valid = is_valid_nhs_number(digits)
        if not _NHS_LABEL.search(text[max(0, match.start() - 40) : match.start()]):
            if valid and _labelled_in_sentence(labels, ends, match.start(), match.end()):
                yield found("nhs_number", text, match.start(), match.end(), masked)
            continue
        if valid:
            yield found("nhs_number", text, match.start(), match.end(), masked)
        else:
            yield found(
                "hospital_number",
                text,
                match.start(),
                match.end(),
                masked,
                label="Number labelled as an NHS number (it fails the NHS number check)",
            )


def _labelled_in_sentence(labels: list[int], ends: list[tuple[int, int]], start: int, end: int) -> bool:
    """Whether an "NHS number" label starts in the sentence that holds ``start:end``.

    ``labels`` are the labels' starts and ``ends`` the sentence ends' spans, both in order, so
    each number costs a few binary searches and screening stays linear.
    """
    before = bisect.bisect_right(ends, (start, start))
    sentence_start = ends[before - 1][1] if before else 0
    after = bisect.bisect_left(ends, (end, end))
    first = bisect.bisect_left(labels, sentence_start)
    return first < len(labels) and (after == len(ends) or labels[first] < ends[after][0])


# --- e-mail addresses -------------------------------------------------------------------------

_LOCAL = "A-Za-z0-9._%+-"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(
    rf"(?<![{_LOCAL}])[{_LOCAL}]{{1,64}}@(?P<domain>{_LABEL}(?:\.{_LABEL})*\.[A-Za-z]{{2,24}})(?![A-Za-z0-9-])"
)


def _emails(text: str) -> Iterator[Finding]:
    for match in _EMAIL.finditer(text):
        first, _, rest = match.group("domain").partition(".")
        masked = f"{match.group()[0]}{BULLET * 3}@{first[0]}{BULLET * 3}.{rest}"
        yield found("email", text, match.start(), match.end(), masked)


# --- hospital numbers -------------------------------------------------------------------------

_H = INLINE_SPACE
_HOSPITAL_LABEL = (
    rf"\b(?:MRN|M\.R\.N\.?|hospital{_H}+(?:no|number|num|id|ref(?:erence)?)|hosp\.?{_H}*(?:no|num(?:ber)?)"
    rf"|unit{_H}+(?:no|number)|patient{_H}+(?:id|no|number|ref(?:erence)?)"
    rf"|(?:medical{_H}+)?records?{_H}+(?:no|number)|case{_H}+(?:no|number))\b\.?"
)
_LABELLED_NUMBER = re.compile(
    _HOSPITAL_LABEL + rf"{_H}*(?:[:#=-]{_H}*)?(?:(?:is|was){_H}+)?"
    r"(?P<id>(?:(?-i:[A-Z]{1,4})[ -]?)?[0-9]{2,}(?:[ -][0-9]{2,}){0,4}[A-Z]?)(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_TRUST_PREFIXED = re.compile(r"(?<![A-Za-z0-9])R[A-Z0-9]{2}[0-9]{6,8}(?![A-Za-z0-9])")


def _hospital_numbers(text: str) -> Iterator[Finding]:
    for match in _LABELLED_NUMBER.finditer(text):
        start, end = match.span("id")
        if sum(ch.isdigit() for ch in match.group("id")) >= 5:
            yield found("hospital_number", text, start, end, hide(match.group("id"), 2))
    for match in _TRUST_PREFIXED.finditer(text):
        yield found("hospital_number", text, match.start(), match.end(), hide(match.group(), 2))


# --- dates of birth ---------------------------------------------------------------------------

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1
    )
}
_DAY = r"(?P<d>0?[1-9]|[12][0-9]|3[01])"
_DATES = (
    re.compile(
        rf"(?<![0-9]){_DAY}(?P<sep>[/.-])(?P<m>0?[1-9]|1[0-2])(?P=sep)(?P<y>(?:19|20)[0-9]{{2}}|[0-9]{{2}})(?![0-9])"
    ),
    re.compile(r"(?<![0-9])(?P<y>(?:19|20)[0-9]{2})-(?P<m>0[1-9]|1[0-2])-(?P<d>0[1-9]|[12][0-9]|3[01])(?![0-9])"),
    re.compile(
        rf"(?<![0-9]){_DAY}(?:st|nd|rd|th)?(?:{_H}+of)?{_H}+(?P<mon>{_MONTH})\b\.?"
        rf"(?:,?{_H}+(?P<y>(?:19|20)[0-9]{{2}}|['’][0-9]{{2}})(?![0-9]))?",
        re.IGNORECASE,
    ),
    re.compile(
        rf"\b(?P<mon>{_MONTH})\b\.?{_H}+{_DAY}(?:st|nd|rd|th)?,?{_H}+(?P<y>(?:19|20)[0-9]{{2}})(?![0-9])",
        re.IGNORECASE,
    ),
)
_DOB_CUE = re.compile(
    rf"\bD\.?{_H}?O\.?{_H}?B\b\.?|\bdate{_H}+of{_H}+birth\b|\bbirth{_H}?date\b|\bborn\b", re.IGNORECASE
)
_SENTENCE_END = re.compile(r"[.!?](?:\s|$)|\n")
_DOB_REACH = 40


def _real_date(match: re.Match[str]) -> bool:
    parts = match.groupdict()
    month = _MONTHS[parts["mon"][:3].lower()] if parts.get("mon") else int(parts["m"])
    year = parts.get("y")
    # 2000 is a leap year: 29 February is possible when the century is not known.
    number = 2000 if year is None or len(year.lstrip("'’")) == 2 else int(year)
    try:
        dt.date(number, month, int(parts["d"]))
    except ValueError:
        return False
    return True


def _mask_date(match: re.Match[str]) -> str:
    """Day and month hidden; a four-digit year keeps its last two digits (a year alone identifies nobody)."""
    masked = list(hide(match.group()))
    if len(match.group("y") or "") == 4:
        end = match.end("y") - match.start()
        masked[end - 2 : end] = match.group("y")[2:]
    return "".join(masked)


def _dates_of_birth(text: str) -> Iterator[Finding]:
    cues = list(_DOB_CUE.finditer(text))
    if not cues:
        return
    dates = sorted(
        ((m.start(), -m.end(), m) for pattern in _DATES for m in pattern.finditer(text) if _real_date(m)),
        key=lambda item: item[:2],
    )
    starts = [start for start, _, _ in dates]
    for cue in cues:
        at = bisect.bisect_left(starts, cue.end())
        if at == len(dates):
            continue
        start, _, match = dates[at]
        if start - cue.end() > _DOB_REACH or _SENTENCE_END.search(text, cue.end(), start):
            continue
        yield found("date_of_birth", text, match.start(), match.end(), _mask_date(match))


# --- phone numbers ----------------------------------------------------------------------------

_PHONE = re.compile(
    r"(?<![\w+])(?:(?P<intl>(?:\+|00)44[ \u00a0-]?(?:\(0\)[ \u00a0-]?)?)|(?P<open>\()?0)"
    r"[1237](?:(?:[ \u00a0-]|\)[ \u00a0-]?)?[0-9]){9}(?![0-9])"
)


def _phones(text: str) -> Iterator[Finding]:
    for match in _PHONE.finditer(text):
        number = match.group()
        rest = number[len(match.group("intl") or "") :]
        if rest.count(")") != (1 if match.group("open") else 0):
            continue  # an unbalanced bracket: not written as a phone number
        if sum(ch in " \u00a0-" for ch in rest) > 3:
            continue
        masked = (match.group("intl") or "") + hide(rest, 2)  # the country code identifies nobody
        yield found("phone", text, match.start(), match.end(), masked)
