"""Postcodes, for :func:`registry.screening.services.screen` (its docstring says what is found)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from registry.screening.findings import BULLET, Finding, found

_OUTWARD = r"(?P<out>GIR|[A-PR-UWYZ](?:[0-9]{1,2}|[A-HK-Y][0-9]{1,2}|[0-9][A-HJKPSTUW]|[A-HK-Y][0-9][ABEHMNPRVWXY]))"
_INWARD = r"(?P<in>[0-9][ABD-HJLNP-UW-Z]{2})(?![A-Za-z0-9])"
_POSTCODE = re.compile(rf"(?<![A-Za-z0-9]){_OUTWARD}(?P<sep>[ \u00a0]?){_INWARD}")
#: Written in small letters, a postcode needs its space ("hp11 2tt").
_SMALL_POSTCODE = re.compile(rf"(?<![A-Za-z0-9]){_OUTWARD}(?P<sep>[ \u00a0]){_INWARD}", re.IGNORECASE)
#: The UK's postcode areas (the letters that start an outward code).
_AREAS = frozenset(
    (
        "AB",
        "AL",
        "B",
        "BA",
        "BB",
        "BD",
        "BH",
        "BL",
        "BN",
        "BR",
        "BS",
        "BT",
        "CA",
        "CB",
        "CF",
        "CH",
        "CM",
        "CO",
        "CR",
        "CT",
        "CV",
        "CW",
        "DA",
        "DD",
        "DE",
        "DG",
        "DH",
        "DL",
        "DN",
        "DT",
        "DY",
        "E",
        "EC",
        "EH",
        "EN",
        "EX",
        "FK",
        "FY",
        "G",
        "GL",
        "GU",
        "GY",
        "HA",
        "HD",
        "HG",
        "HP",
        "HR",
        "HS",
        "HU",
        "HX",
        "IG",
        "IM",
        "IP",
        "IV",
        "JE",
        "KA",
        "KT",
        "KW",
        "KY",
        "L",
        "LA",
        "LD",
        "LE",
        "LL",
        "LN",
        "LS",
        "LU",
        "M",
        "ME",
        "MK",
        "ML",
        "N",
        "NE",
        "NG",
        "NN",
        "NP",
        "NR",
        "NW",
        "OL",
        "OX",
        "PA",
        "PE",
        "PH",
        "PL",
        "PO",
        "PR",
        "RG",
        "RH",
        "RM",
        "S",
        "SA",
        "SE",
        "SG",
        "SK",
        "SL",
        "SM",
        "SN",
        "SO",
        "SP",
        "SR",
        "SS",
        "ST",
        "SW",
        "SY",
        "TA",
        "TD",
        "TF",
        "TN",
        "TQ",
        "TR",
        "TS",
        "TW",
        "UB",
        "W",
        "WA",
        "WC",
        "WD",
        "WF",
        "WN",
        "WR",
        "WS",
        "WV",
        "YO",
        "ZE",
    )
)
#: Small-letter inward codes that are ordinals and units ("the a40 2nd exit", "m1 3rd", "6ft").
_NOT_INWARD = re.compile(r"1st|2nd|3rd|[04-9]th|[0-9](?:ft|lb|hr|yd)", re.IGNORECASE)


def postcodes(text: str) -> Iterator[Finding]:
    for match in _POSTCODE.finditer(text):
        masked = f"{match.group('out')}{match.group('sep')}{BULLET * 3}"
        yield found("postcode", text, match.start(), match.end(), masked)
    for match in _SMALL_POSTCODE.finditer(text):
        outward = match.group("out")
        area = re.match(r"[A-Za-z]+", outward)  # the letters before the first digit
        if match.group().isupper() or area is None or area.group().upper() not in _AREAS:
            continue  # in capitals it is found above; "a40 2nd" is no postcode area
        if _NOT_INWARD.fullmatch(match.group("in")):
            continue
        masked = f"{outward}{match.group('sep')}{BULLET * 3}"
        yield found("postcode", text, match.start(), match.end(), masked)
