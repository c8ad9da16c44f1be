"""indexes for the home page's cards

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07

The home page counts official channels due for review and lists the soonest, counts live channels
by platform, and counts approved logo consents expiring soon and lists the soonest
(registry/web/dashboard.py, registry/consent/overview.py). These indexes hold each status's rows in
the order of those dates (and platforms), so a count reads one range of an index and a list stops
after the few it shows, instead of reading every channel or consent of the status. No data changes.
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

#: (index, table, columns)
INDEXES = (
    ("ix_channels_status_next_review_on", "channels", ["status", "next_review_on"]),
    ("ix_channels_status_platform", "channels", ["status", "platform"]),
    ("ix_logo_consents_status_expires_on", "logo_consents", ["status", "expires_on"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
