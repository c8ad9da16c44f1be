"""indexes for the audit trail's pages: an object's or an action's events by seq, anonymised cases

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07

Every read of the audit trail by an auditor withholds the events of anonymised cases, and its
pages now count what they withhold instead of counting the trail. Both look up the anonymised
cases: with an index on ``anonymised_at`` they read those cases, not every case.

A page filtered by an object or an action shows its events newest first: with ``seq`` after the
object (type, id) and after the action in their indexes, the first page reads 50 entries of the
index instead of every matching event and sorting them, and the count reads the index alone. The
new indexes answer everything the old ones did, so those go. No data changes.
"""

from __future__ import annotations

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_breach_reports_anonymised_at", "breach_reports", ["anonymised_at"])
    op.create_index("ix_audit_events_object_seq", "audit_events", ["object_type", "object_id", "seq"])
    op.create_index("ix_audit_events_action_seq", "audit_events", ["action", "seq"])
    op.drop_index("ix_audit_events_object", table_name="audit_events")
    op.drop_index("ix_audit_events_action", table_name="audit_events")


def downgrade() -> None:
    op.create_index("ix_audit_events_action", "audit_events", ["action"])
    op.create_index("ix_audit_events_object", "audit_events", ["object_type", "object_id"])
    op.drop_index("ix_audit_events_action_seq", table_name="audit_events")
    op.drop_index("ix_audit_events_object_seq", table_name="audit_events")
    op.drop_index("ix_breach_reports_anonymised_at", table_name="breach_reports")
