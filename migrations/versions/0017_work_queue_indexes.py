"""indexes for the work queue and each person's open requests

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07

The work queue and a person's open requests read each status of each kind oldest first, and stop
at the end of the page (registry/web/workqueue.py). These indexes hold the requests of one status
(of everyone's, and of one requester's) in the order they have waited, so a page reads as many
rows as it shows instead of walking every request ever made. No data changes.
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

#: (table, the requester's column, the column of when each started waiting, whether comms' queue reads it)
TABLES = (
    ("channels", "requester_id", "status_changed_at", True),
    ("logo_consents", "requester_id", "status_changed_at", True),
    ("promotional_posts", "requester_id", "status_changed_at", True),
    ("media_contacts", "reporter_id", "status_changed_at", True),
    ("breach_reports", "reporter_id", "created_at", False),
)


def upgrade() -> None:
    for table, requester, since, queued in TABLES:
        if queued:
            op.create_index(f"ix_{table}_status_{since}", table, ["status", since])
        op.create_index(f"ix_{table}_{requester}_status_{since}", table, [requester, "status", since])


def downgrade() -> None:
    for table, requester, since, queued in reversed(TABLES):
        op.drop_index(f"ix_{table}_{requester}_status_{since}", table_name=table)
        if queued:
            op.drop_index(f"ix_{table}_status_{since}", table_name=table)
