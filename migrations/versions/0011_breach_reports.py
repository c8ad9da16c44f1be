"""breach reports: cases, the policy clauses they cite (with the policy version), evidence and history

The clause table is not seeded here: its rows are written from the policy file, with the
version it states, the first time a report cites a clause (``registry.breaches.services.clause_rows``).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

STATUSES = "'to_route', 'with_manager', 'with_hr', 'closed'"
REASONS = "'subject_unknown', 'not_a_user', 'no_line_manager', 'manager_unavailable', 'manager_reported', 'returned'"


def upgrade() -> None:
    op.create_table(
        "policy_clauses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("policy_version", sa.String(length=20), nullable=False),
        sa.Column("number", sa.String(length=8), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_clauses")),
        sa.UniqueConstraint("policy_version", "number", name=op.f("uq_policy_clauses_policy_version_number")),
    )
    op.create_table(
        "breach_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("account", sa.String(length=200), nullable=True),
        sa.Column("link", sa.String(length=2000), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("policy_version", sa.String(length=20), nullable=False),
        sa.Column("reputational_risk", sa.Boolean(), nullable=False),
        sa.Column("flagged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("flagged_by_id", sa.Integer(), nullable=True),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("subject_name", sa.String(length=200), nullable=True),
        sa.Column("reporter_id", sa.Integer(), nullable=True),
        sa.Column("manager_id", sa.Integer(), nullable=True),
        sa.Column("route_reason", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("anonymised_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(f"status IN ({STATUSES})", name=op.f("ck_breach_reports_status_known")),
        sa.CheckConstraint(
            f"route_reason IS NULL OR route_reason IN ({REASONS})", name=op.f("ck_breach_reports_route_reason_known")
        ),
        sa.CheckConstraint("subject_id IS NULL OR subject_name IS NULL", name=op.f("ck_breach_reports_subject_once")),
        sa.CheckConstraint(
            "manager_id IS NULL OR subject_id IS NULL OR manager_id <> subject_id",
            name=op.f("ck_breach_reports_not_handled_by_subject"),
        ),
        sa.CheckConstraint(
            "status <> 'with_manager' OR manager_id IS NOT NULL", name=op.f("ck_breach_reports_manager_assigned")
        ),
        sa.CheckConstraint(
            "status <> 'with_hr' OR escalated_at IS NOT NULL", name=op.f("ck_breach_reports_escalation_recorded")
        ),
        sa.CheckConstraint(
            "(status = 'closed' AND closed_at IS NOT NULL) OR (status <> 'closed' AND closed_at IS NULL)",
            name=op.f("ck_breach_reports_closed_when_closed"),
        ),
        sa.CheckConstraint(
            "(reputational_risk AND flagged_at IS NOT NULL) OR (NOT reputational_risk AND flagged_at IS NULL)",
            name=op.f("ck_breach_reports_flag_recorded"),
        ),
        sa.CheckConstraint(
            "anonymised_at IS NULL OR status = 'closed'", name=op.f("ck_breach_reports_anonymised_once_closed")
        ),
        sa.CheckConstraint(
            "anonymised_at IS NOT NULL OR (reporter_id IS NOT NULL AND account IS NOT NULL AND description IS "
            "NOT NULL)",
            name=op.f("ck_breach_reports_details_until_anonymised"),
        ),
        sa.ForeignKeyConstraint(["flagged_by_id"], ["users.id"], name=op.f("fk_breach_reports_flagged_by_id_users")),
        sa.ForeignKeyConstraint(["manager_id"], ["users.id"], name=op.f("fk_breach_reports_manager_id_users")),
        sa.ForeignKeyConstraint(["reporter_id"], ["users.id"], name=op.f("fk_breach_reports_reporter_id_users")),
        sa.ForeignKeyConstraint(["subject_id"], ["users.id"], name=op.f("fk_breach_reports_subject_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_breach_reports")),
    )
    with op.batch_alter_table("breach_reports", schema=None) as batch_op:
        batch_op.create_index("ix_breach_reports_closed_at", ["closed_at"], unique=False)
        batch_op.create_index("ix_breach_reports_created_at", ["created_at"], unique=False)
        batch_op.create_index("ix_breach_reports_escalated_at", ["escalated_at"], unique=False)
        batch_op.create_index("ix_breach_reports_flagged_at", ["flagged_at"], unique=False)
        batch_op.create_index("ix_breach_reports_manager_id", ["manager_id"], unique=False)
        batch_op.create_index("ix_breach_reports_reporter_id", ["reporter_id"], unique=False)
        batch_op.create_index("ix_breach_reports_status", ["status"], unique=False)
        batch_op.create_index("ix_breach_reports_subject_id", ["subject_id"], unique=False)

    op.create_table(
        "breach_report_clauses",
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("clause_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clause_id"], ["policy_clauses.id"], name=op.f("fk_breach_report_clauses_clause_id_policy_clauses")
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["breach_reports.id"],
            name=op.f("fk_breach_report_clauses_report_id_breach_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("report_id", "clause_id", name=op.f("pk_breach_report_clauses")),
    )
    with op.batch_alter_table("breach_report_clauses", schema=None) as batch_op:
        batch_op.create_index("ix_breach_report_clauses_clause_id", ["clause_id"], unique=False)

    op.create_table(
        "breach_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("upload_id", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["breach_reports.id"],
            name=op.f("fk_breach_evidence_report_id_breach_reports"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["upload_id"], ["uploads.id"], name=op.f("fk_breach_evidence_upload_id_uploads")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_breach_evidence")),
        sa.UniqueConstraint("report_id", "upload_id", name=op.f("uq_breach_evidence_report_id_upload_id")),
    )
    with op.batch_alter_table("breach_evidence", schema=None) as batch_op:
        batch_op.create_index("ix_breach_evidence_upload_id", ["upload_id"], unique=False)

    op.create_table(
        "breach_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("assigned_to_id", sa.Integer(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_breach_steps_actor_id_users")),
        sa.ForeignKeyConstraint(["assigned_to_id"], ["users.id"], name=op.f("fk_breach_steps_assigned_to_id_users")),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["breach_reports.id"],
            name=op.f("fk_breach_steps_report_id_breach_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_breach_steps")),
    )
    with op.batch_alter_table("breach_steps", schema=None) as batch_op:
        batch_op.create_index("ix_breach_steps_occurred_at", ["occurred_at"], unique=False)
        batch_op.create_index("ix_breach_steps_report_id", ["report_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("breach_steps", schema=None) as batch_op:
        batch_op.drop_index("ix_breach_steps_report_id")
        batch_op.drop_index("ix_breach_steps_occurred_at")
    op.drop_table("breach_steps")
    with op.batch_alter_table("breach_evidence", schema=None) as batch_op:
        batch_op.drop_index("ix_breach_evidence_upload_id")
    op.drop_table("breach_evidence")
    with op.batch_alter_table("breach_report_clauses", schema=None) as batch_op:
        batch_op.drop_index("ix_breach_report_clauses_clause_id")
    op.drop_table("breach_report_clauses")
    with op.batch_alter_table("breach_reports", schema=None) as batch_op:
        for index in (
            "subject_id",
            "status",
            "reporter_id",
            "manager_id",
            "flagged_at",
            "escalated_at",
            "created_at",
            "closed_at",
        ):
            batch_op.drop_index(f"ix_breach_reports_{index}")
    op.drop_table("breach_reports")
    op.drop_table("policy_clauses")
