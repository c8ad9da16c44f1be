"""LinkedIn company, school and showcase pages share one namespace: all are written company/NAME

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07

LinkedIn gives company, school and showcase pages names from one set (each address sends you to the
page of that name, whichever kind it is), so the registry now writes all three ``company/NAME``
(registry/channels/platforms.py) and an address of any kind finds the account. Channels recorded as
``school/NAME`` or ``showcase/NAME`` become ``company/NAME``, their address with them when it was the
one the registry writes; unauthorised-account findings likewise. A channel whose new handle another
live channel already holds keeps its old handle (no two live channels share one account); nothing else
changes. The lookalike keys are made from the name after the kind, so they stay as they are.

Downgrading leaves the handles as they are: ``company/NAME`` is a handle every revision reads.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

#: Statuses of live channels (registry.channels.workflow.LIVE_STATUSES when this was written).
_LIVE = ("requested", "info_requested", "approved", "active", "suspended")
_KINDS = ("school/", "showcase/")


def _profile(handle: str) -> str:
    return f"https://www.linkedin.com/{handle}/"


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.text("SELECT id, handle, url, status FROM channels WHERE platform = 'linkedin' ORDER BY id")
    ).all()
    live = {handle for _id, handle, _url, status in rows if status in _LIVE}
    for channel_id, handle, url, status in rows:
        kind = next((kind for kind in _KINDS if handle.startswith(kind)), None)
        if kind is None:
            continue
        new = "company/" + handle[len(kind) :]
        if status in _LIVE:
            if new in live:
                continue
            live.discard(handle)
            live.add(new)
        connection.execute(
            sa.text("UPDATE channels SET handle = :new, url = :url WHERE id = :id"),
            {"new": new, "url": _profile(new) if url == _profile(handle) else url, "id": channel_id},
        )
    for kind in _KINDS:
        connection.execute(
            sa.text(
                "UPDATE unauthorised_accounts SET handle = 'company/' || substr(handle, :start) "
                "WHERE platform = 'linkedin' AND substr(handle, 1, :length) = :kind"
            ),
            {"start": len(kind) + 1, "length": len(kind), "kind": kind},
        )


def downgrade() -> None:
    pass
