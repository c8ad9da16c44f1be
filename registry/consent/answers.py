"""What a requester tells the communications team when asking for consent, and its rules:
the same for the browser and the API, for a new request and for one changed as asked."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final

from registry.consent.models import LogoConsent
from registry.consent.workflow import Asset, Medium
from registry.text import add_years, clean

LIMITS: Final = {"title": 200, "department": 200, "purpose": 5000, "audience": 2000, "partner_name": 200}
#: How far ahead a use may start, and how long one request may cover.
START_WITHIN_YEARS = 2
PERIOD_MAX_YEARS = 5
REQUIRED_MESSAGES = {
    "title": "Enter the name of the item or campaign",
    "department": "Enter the service or department that will use it",
    "asset": "Choose what you want to use: the Trust logo, the NHS lozenge or both",
    "purpose": "Describe what the logo or lozenge will be used for",
    "media": "Choose at least one medium where it will appear",
    "audience": "Describe who will see it",
    "partner_involved": "Say whether a partner organisation is involved",
    "partner_name": "Enter the name of the partner organisation",
    "starts_on": "Enter the date the use starts",
    "ends_on": "Enter the date the use ends",
    "artwork": "Attach your draft artwork: at least one PNG, JPEG, GIF, WebP or PDF file",
}
FIELD_NAMES = {
    "title": "The name",
    "department": "The service or department",
    "purpose": "The purpose",
    "audience": "The audience",
    "partner_name": "The partner's name",
}


@dataclass(frozen=True)
class ConsentRequest:
    """A request as a requester states it (the same rules for the browser and the API)."""

    title: str = ""
    department: str = ""
    asset: str = ""
    purpose: str = ""
    media: tuple[str, ...] = ()
    audience: str = ""
    partner_involved: bool | None = None
    partner_name: str = ""
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None

    @classmethod
    def of(cls, consent: LogoConsent) -> ConsentRequest:
        """A consent's current answers (to edit them)."""
        return cls(
            title=consent.title,
            department=consent.department,
            asset=consent.asset,
            purpose=consent.purpose,
            media=tuple(m.value for m in consent.media),
            audience=consent.audience,
            partner_involved=consent.partner_involved,
            partner_name=consent.partner_name or "",
            starts_on=consent.starts_on,
            ends_on=consent.ends_on,
        )


@dataclass(frozen=True)
class Checked:
    """A request's answers after checking: ready to store."""

    title: str
    department: str
    asset: Asset
    purpose: str
    media: tuple[Medium, ...]
    audience: str
    partner_involved: bool
    partner_name: str | None
    starts_on: dt.date
    ends_on: dt.date

    def columns(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "department": self.department,
            "asset": self.asset.value,
            "purpose": self.purpose,
            "audience": self.audience,
            "partner_involved": self.partner_involved,
            "partner_name": self.partner_name,
            "starts_on": self.starts_on,
            "ends_on": self.ends_on,
        }


def _asset(value: str, errors: dict[str, str]) -> Asset | None:
    if not clean(value):
        errors["asset"] = REQUIRED_MESSAGES["asset"]
        return None
    try:
        return Asset(clean(value))
    except ValueError:
        errors["asset"] = "Choose the Trust logo, the NHS lozenge or both"
        return None


def _media(values: tuple[str, ...], errors: dict[str, str]) -> list[Medium]:
    media: list[Medium] = []
    for value in values:
        try:
            medium = Medium(clean(value))
        except ValueError:
            errors["media"] = "Choose media from the list: " + ", ".join(m.label.lower() for m in Medium)
            return media
        if medium not in media:
            media.append(medium)
    if not media:
        errors["media"] = REQUIRED_MESSAGES["media"]
    return media


def _partner_name(involved: bool | None, name: str, errors: dict[str, str]) -> str | None:
    if involved is None:
        errors["partner_involved"] = REQUIRED_MESSAGES["partner_involved"]
    elif involved:
        if not name:
            errors["partner_name"] = REQUIRED_MESSAGES["partner_name"]
        elif len(name) > LIMITS["partner_name"]:
            errors["partner_name"] = f"The partner's name must be {LIMITS['partner_name']} characters or fewer"
        return name
    return None


def _dates(starts_on: dt.date | None, ends_on: dt.date | None, today: dt.date, errors: dict[str, str]) -> None:
    if starts_on is None:
        errors["starts_on"] = REQUIRED_MESSAGES["starts_on"]
    elif starts_on < today:
        errors["starts_on"] = "The start date must be today or in the future: consent is given before the use begins"
    elif starts_on > add_years(today, START_WITHIN_YEARS):
        errors["starts_on"] = f"The start date must be within {START_WITHIN_YEARS} years from today"
    if ends_on is None:
        errors["ends_on"] = REQUIRED_MESSAGES["ends_on"]
    elif starts_on is not None and "starts_on" not in errors:
        if ends_on < starts_on:
            errors["ends_on"] = "The end date must be the same as or after the start date"
        elif ends_on > add_years(starts_on, PERIOD_MAX_YEARS):
            errors["ends_on"] = f"One request can cover at most {PERIOD_MAX_YEARS} years: ask again for a later period"


def check_request(data: ConsentRequest, today: dt.date) -> tuple[Checked | None, dict[str, str]]:
    """Every problem with ``data`` (field → message), or the cleaned answers."""
    errors: dict[str, str] = {}
    text = {name: clean(getattr(data, name)) for name in LIMITS}
    for name, limit in LIMITS.items():
        if name == "partner_name":
            continue
        if not text[name]:
            errors[name] = REQUIRED_MESSAGES[name]
        elif len(text[name]) > limit:
            errors[name] = f"{FIELD_NAMES[name]} must be {limit} characters or fewer"
    asset = _asset(data.asset, errors)
    media = _media(data.media, errors)
    partner_name = _partner_name(data.partner_involved, text["partner_name"], errors)
    _dates(data.starts_on, data.ends_on, today, errors)
    if errors:
        return None, errors
    assert asset is not None and data.starts_on is not None and data.ends_on is not None
    return Checked(
        title=text["title"],
        department=text["department"],
        asset=asset,
        purpose=text["purpose"],
        media=tuple(media),
        audience=text["audience"],
        partner_involved=bool(data.partner_involved),
        partner_name=partner_name,
        starts_on=data.starts_on,
        ends_on=data.ends_on,
    ), {}
