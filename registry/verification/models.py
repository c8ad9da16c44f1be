"""The one row that tells each process when what public verification shows has changed."""

from __future__ import annotations

from typing import Final

from sqlalchemy import CheckConstraint
from sqlalchemy.orm import Mapped, mapped_column

from registry.db import Base, BigIntId

#: The tables verification reads, each with the columns whose change it shows (None: any change).
#: Database triggers (migration 0018) move the version whenever a row of theirs is added or removed,
#: or one of those columns changes, however the change is made.
WATCHED: Final[dict[str, frozenset[str] | None]] = {
    "channels": frozenset({"platform", "handle", "url", "display_name", "department", "status", "status_changed_at"}),
    "channel_lookalike_keys": None,
    "unauthorised_accounts": frozenset({"platform", "handle", "status"}),
}
WATCHED_TABLES: Final = frozenset(WATCHED)


class PublicFactsVersion(Base):
    """A number the database moves, in the same transaction, whenever a public fact changes: a channel's
    handle, status or what the public sees of it, a lookalike key, an open unauthorised-account finding.

    Each process keeps its own index of those facts and reads this one row (at most once a second) to
    know whether the index is still the database's.
    """

    __tablename__ = "public_facts_version"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(BigIntId)
