"""account security health: the checks of each channel's account, and its state and due date

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07

Each account security check is a row of ``channel_health_checks`` (who checked, when, the answers, the
outcome); the channel keeps the latest outcome (``health``: unchecked, healthy or needs_attention) and
when its next check falls due (``health_due_at``), with indexes for the inventory's filter, the Board
report's count and the work queue. Existing channels are unchecked, due from when they were made. A
trigger refuses to change a check.
Downgrading drops the checks.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

_STATES = "'unchecked', 'healthy', 'needs_attention'"
# A check is kept as it was recorded: the database refuses to change one. (Deleting stays possible, so
# that a channel's rows can go with it.)
_SQLITE_TRIGGERS = [
    """CREATE TRIGGER channel_health_checks_no_update BEFORE UPDATE ON channel_health_checks
       BEGIN SELECT RAISE(ABORT, 'account security checks are never changed'); END""",
]
_POSTGRESQL_TRIGGERS = [
    """CREATE FUNCTION channel_health_checks_unchanged() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'account security checks are never changed'; END $$""",
    """CREATE TRIGGER channel_health_checks_no_update BEFORE UPDATE ON channel_health_checks
       FOR EACH ROW EXECUTE FUNCTION channel_health_checks_unchanged()""",
]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    timestamp = "TIMESTAMP WITH TIME ZONE" if dialect == "postgresql" else "DATETIME"
    # Column constraints, so that SQLite adds them without rebuilding the table (and its triggers).
    op.execute(
        "ALTER TABLE channels ADD COLUMN health VARCHAR(20) DEFAULT 'unchecked' NOT NULL "
        f"CONSTRAINT ck_channels_health_known CHECK (health IN ({_STATES}))"
    )
    op.execute(f"ALTER TABLE channels ADD COLUMN health_due_at {timestamp} DEFAULT '1970-01-01 00:00:00' NOT NULL")
    op.execute("UPDATE channels SET health_due_at = created_at")
    if dialect == "postgresql":
        op.alter_column("channels", "health", server_default=None)
        op.alter_column("channels", "health_due_at", server_default=None)
    op.create_index("ix_channels_health", "channels", ["health"])
    op.create_index("ix_channels_status_health", "channels", ["status", "health"])
    op.create_index("ix_channels_status_health_due_at", "channels", ["status", "health_due_at"])
    op.create_table(
        "channel_health_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("checked_by_id", sa.Integer(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("two_factor", sa.String(length=16), nullable=False),
        sa.Column("recovery_email_domain", sa.String(length=253), nullable=False),
        sa.Column("recovery_phone_trust", sa.Boolean(), nullable=False),
        sa.Column("password_matches", sa.Boolean(), nullable=False),
        sa.Column("seed", sa.String(length=8), nullable=False),
        sa.Column("seen_live", sa.Boolean(), nullable=False),
        sa.Column("last_post_on", sa.Date(), nullable=False),
        sa.Column("roster_matches", sa.Boolean(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("problems", sa.String(length=400), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('healthy', 'needs_attention')", name=op.f("ck_channel_health_checks_state_known")
        ),
        sa.CheckConstraint(
            "two_factor IN ('app', 'security_key', 'sms', 'off')",
            name=op.f("ck_channel_health_checks_two_factor_known"),
        ),
        sa.CheckConstraint("seed IN ('yes', 'no', 'none')", name=op.f("ck_channel_health_checks_seed_known")),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name=op.f("fk_channel_health_checks_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["checked_by_id"], ["users.id"], name=op.f("fk_channel_health_checks_checked_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_health_checks")),
    )
    op.create_index(
        "ix_channel_health_checks_channel_id_checked_at", "channel_health_checks", ["channel_id", "checked_at"]
    )
    op.create_index("ix_channel_health_checks_checked_by_id", "channel_health_checks", ["checked_by_id"])
    for statement in _SQLITE_TRIGGERS if dialect == "sqlite" else _POSTGRESQL_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS channel_health_checks_no_update ON channel_health_checks")
        op.execute("DROP FUNCTION IF EXISTS channel_health_checks_unchanged()")
    else:
        op.execute("DROP TRIGGER IF EXISTS channel_health_checks_no_update")
    op.drop_index("ix_channel_health_checks_checked_by_id", table_name="channel_health_checks")
    op.drop_index("ix_channel_health_checks_channel_id_checked_at", table_name="channel_health_checks")
    op.drop_table("channel_health_checks")
    op.drop_index("ix_channels_status_health_due_at", table_name="channels")
    op.drop_index("ix_channels_status_health", table_name="channels")
    op.drop_index("ix_channels_health", table_name="channels")
    # Dropping the column drops its check constraint with it (PostgreSQL and SQLite alike).
    op.execute("ALTER TABLE channels DROP COLUMN health_due_at")
    op.execute("ALTER TABLE channels DROP COLUMN health")
