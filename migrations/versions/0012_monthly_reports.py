"""monthly reports to senior management and the Board: drafts, and issued reports frozen by triggers

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# An issued report is the Trust's record: the database refuses to change or delete it.
SQLITE_TRIGGERS = [
    """CREATE TRIGGER monthly_reports_issued_no_update BEFORE UPDATE ON monthly_reports
       WHEN OLD.status = 'issued'
       BEGIN SELECT RAISE(ABORT, 'an issued monthly report never changes'); END""",
    """CREATE TRIGGER monthly_reports_issued_no_delete BEFORE DELETE ON monthly_reports
       WHEN OLD.status = 'issued'
       BEGIN SELECT RAISE(ABORT, 'an issued monthly report never changes'); END""",
]
POSTGRESQL_TRIGGERS = [
    """CREATE FUNCTION monthly_reports_issued_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF OLD.status = 'issued' THEN RAISE EXCEPTION 'an issued monthly report never changes'; END IF;
         IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER monthly_reports_issued_no_change BEFORE UPDATE OR DELETE ON monthly_reports
       FOR EACH ROW EXECUTE FUNCTION monthly_reports_issued_frozen()""",
]


def upgrade() -> None:
    op.create_table(
        "monthly_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("figures", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("generated_by_id", sa.Integer(), nullable=True),
        sa.Column("generated_by", sa.String(length=300), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("issued_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("status IN ('draft', 'issued')", name=op.f("ck_monthly_reports_status_known")),
        sa.CheckConstraint(
            "status <> 'issued' OR (issued_at IS NOT NULL AND issued_by_id IS NOT NULL)",
            name=op.f("ck_monthly_reports_issue_recorded"),
        ),
        sa.ForeignKeyConstraint(
            ["generated_by_id"], ["users.id"], name=op.f("fk_monthly_reports_generated_by_id_users")
        ),
        sa.ForeignKeyConstraint(["issued_by_id"], ["users.id"], name=op.f("fk_monthly_reports_issued_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monthly_reports")),
        sa.UniqueConstraint("month", name=op.f("uq_monthly_reports_month")),
    )
    with op.batch_alter_table("monthly_reports", schema=None) as batch_op:
        batch_op.create_index("ix_monthly_reports_status", ["status"], unique=False)

    dialect = op.get_bind().dialect.name
    for statement in SQLITE_TRIGGERS if dialect == "sqlite" else POSTGRESQL_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS monthly_reports_issued_no_update")
        op.execute("DROP TRIGGER IF EXISTS monthly_reports_issued_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS monthly_reports_issued_no_change ON monthly_reports")
        op.execute("DROP FUNCTION IF EXISTS monthly_reports_issued_frozen()")
    with op.batch_alter_table("monthly_reports", schema=None) as batch_op:
        batch_op.drop_index("ix_monthly_reports_status")

    op.drop_table("monthly_reports")
