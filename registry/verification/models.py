"""The one row that tells each process when what public verification shows has changed."""

from __future__ import annotations

from sqlalchemy import CheckConstraint
from sqlalchemy.orm import Mapped, mapped_column

from registry.db import Base, BigIntId

#: The tables verification reads. Database triggers (migration 0016) move the version whenever a row
#: of theirs is added, removed, or changed in a column verification shows, however the change is made.
WATCHED_TABLES = frozenset({"channels", "channel_lookalike_keys", "unauthorised_accounts"})


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
