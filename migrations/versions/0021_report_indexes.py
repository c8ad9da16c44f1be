"""indexes for the monthly report: each kind's steps by action and time

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07

The monthly report counts, for each kind of request, the steps of one action in a month (requests
received, decisions, channels that went live, posts published) and the requests that took them,
and the same for each of the twelve months of its trends. An index on (action, occurred_at, the
request's column) answers each of those from the index alone, reading only the month's entries of
that action, instead of every step of the month (or, by the action alone, of all time). It covers
what ``ix_channel_transitions_action`` did, so that index goes. No data changes.
"""

from __future__ import annotations

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

#: Each kind's steps, and the column naming their request.
STEPS = (
    ("channel_transitions", "channel_id"),
    ("logo_consent_steps", "consent_id"),
    ("promotional_post_transitions", "post_id"),
    ("media_contact_steps", "media_contact_id"),
    ("breach_steps", "report_id"),
)


def upgrade() -> None:
    for table, request in STEPS:
        op.create_index(f"ix_{table}_action_occurred_at", table, ["action", "occurred_at", request])
    op.drop_index("ix_channel_transitions_action", table_name="channel_transitions")


def downgrade() -> None:
    op.create_index("ix_channel_transitions_action", "channel_transitions", ["action"])
    for table, _request in reversed(STEPS):
        op.drop_index(f"ix_{table}_action_occurred_at", table_name=table)
