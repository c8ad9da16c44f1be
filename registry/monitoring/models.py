"""Accounts found by monitoring that purport to be the Trust's (policy 6.7, 11.1)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Final

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.auth.models import User
from registry.channels.models import Channel, OnPlatform
from registry.db import Base, created, intpk, known
from registry.text import Labelled

REFERENCE_PATTERN = re.compile(r"^\s*UA-?(\d{1,9})\s*$", re.IGNORECASE)


class FindingStatus(Labelled):
    UNAUTHORISED = "unauthorised", "Unauthorised"
    TAKEDOWN_REQUESTED = "takedown_requested", "Takedown requested"
    TAKEN_DOWN = "taken_down", "Taken down"
    ADOPTED = "adopted", "Adopted into the registry"
    DISMISSED = "dismissed", "Dismissed"

    @property
    def colour(self) -> str:
        """The NHS tag colour that shows it."""
        return FINDING_COLOURS[self]


FINDING_COLOURS: Final = {
    FindingStatus.UNAUTHORISED: "red",
    FindingStatus.TAKEDOWN_REQUESTED: "orange",
    FindingStatus.TAKEN_DOWN: "green",
    FindingStatus.ADOPTED: "blue",
    FindingStatus.DISMISSED: "grey",
}
OPEN_FINDINGS: Final = frozenset({FindingStatus.UNAUTHORISED, FindingStatus.TAKEDOWN_REQUESTED})


def finding_reference(finding_id: int) -> str:
    return f"UA-{finding_id:04d}"


def finding_id_from_reference(reference: str) -> int | None:
    match = REFERENCE_PATTERN.match(reference or "")
    return int(match.group(1)) if match else None


class UnauthorisedAccount(OnPlatform, Base):
    __tablename__ = "unauthorised_accounts"
    __table_args__ = (
        known("status", FindingStatus),
        Index("ix_unauthorised_accounts_status", "status"),
        Index("ix_unauthorised_accounts_platform_handle", "platform", "handle"),
        Index("ix_unauthorised_accounts_found_on", "found_on"),
    )

    id: Mapped[intpk]
    platform: Mapped[str] = mapped_column(String(16))
    handle: Mapped[str] = mapped_column(String(255))
    url: Mapped[str] = mapped_column(String(2048))
    evidence: Mapped[str] = mapped_column(Text)
    found_on: Mapped[dt.date] = mapped_column(Date)
    found_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(20), default=FindingStatus.UNAUTHORISED.value)
    outcome_note: Mapped[str | None] = mapped_column(Text)
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id"))
    created_at: Mapped[created]
    updated_at: Mapped[created]
    closed_at: Mapped[dt.datetime | None]

    found_by: Mapped[User] = relationship(lazy="joined", innerjoin=True)
    channel: Mapped[Channel | None] = relationship(lazy="joined")

    @property
    def reference(self) -> str:
        return finding_reference(self.id)

    @property
    def status_enum(self) -> FindingStatus:
        return FindingStatus(self.status)

    @property
    def is_open(self) -> bool:
        return self.status_enum in OPEN_FINDINGS
