"""Account security checks: one row per check, never changed once written (the history)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.account_health.rules import SeedAnswer, TwoFactor
from registry.account_health.states import HealthState
from registry.auth.models import User
from registry.channels.models import Channel
from registry.db import Base, UTCDateTime, intpk, known


class HealthCheck(Base):
    """What a member of the communications team found when they checked a channel's account on its
    platform: the answers as given, the outcome and the problems found (codes of
    :data:`registry.account_health.rules.PROBLEMS`). The recovery e-mail address itself stays in
    custody: only its domain is kept here."""

    __tablename__ = "channel_health_checks"
    __table_args__ = (
        known("state", (HealthState.HEALTHY, HealthState.NEEDS_ATTENTION)),
        known("two_factor", TwoFactor),
        known("seed", SeedAnswer),
        # A channel's checks, newest first (its health page, its latest check).
        Index("ix_channel_health_checks_channel_id_checked_at", "channel_id", "checked_at"),
    )

    id: Mapped[intpk]
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    checked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    checked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    two_factor: Mapped[str] = mapped_column(String(16))
    recovery_email_domain: Mapped[str] = mapped_column(String(253))
    recovery_phone_trust: Mapped[bool]
    password_matches: Mapped[bool]
    seed: Mapped[str] = mapped_column(String(8))
    seen_live: Mapped[bool]
    last_post_on: Mapped[dt.date] = mapped_column(Date)
    roster_matches: Mapped[bool]
    notes: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(20))
    #: The problems found, as codes separated by commas ("" when healthy).
    problems: Mapped[str] = mapped_column(String(400), default="")
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    channel: Mapped[Channel] = relationship(lazy="raise_on_sql")
    checked_by: Mapped[User] = relationship(lazy="joined", innerjoin=True)

    @property
    def state_enum(self) -> HealthState:
        return HealthState(self.state)

    @property
    def problem_codes(self) -> list[str]:
        return [code for code in self.problems.split(",") if code]
