"""break-glass emergency access: the on-call role, emergency accesses and their history

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07

Someone on call opens a time-boxed access to one channel's secrets during an incident
(registry/breakglass). ``ends_at`` is when its window ends (brought forward when it is closed early): the
work queue reads unreviewed accesses whose window has ended from (status, ends_at).

Downgrading deletes every emergency access and every on-call role.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

OLD_ROLES = "role IN ('staff', 'manager', 'comms', 'auditor', 'admin', 'hr')"
NEW_ROLES = "role IN ('staff', 'manager', 'comms', 'auditor', 'admin', 'hr', 'on-call')"


def upgrade() -> None:
    with op.batch_alter_table("user_roles", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_user_roles_role_known"), type_="check")
        batch_op.create_check_constraint("role_known", NEW_ROLES)
    op.create_table(
        "emergency_accesses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("requester_id", sa.Integer(), nullable=False),
        sa.Column("incident_reference", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("kinds", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reveals", sa.Integer(), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("review_notes", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(status = 'reviewed' AND reviewed_at IS NOT NULL) OR (status <> 'reviewed' AND reviewed_at IS NULL)",
            name=op.f("ck_emergency_accesses_reviewed_when_reviewed"),
        ),
        sa.CheckConstraint("status IN ('open', 'closed', 'reviewed')", name=op.f("ck_emergency_accesses_status_known")),
        sa.CheckConstraint("ends_at >= opened_at", name=op.f("ck_emergency_accesses_ends_after_opening")),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_emergency_accesses_channel_id_channels")
        ),
        sa.ForeignKeyConstraint(["requester_id"], ["users.id"], name=op.f("fk_emergency_accesses_requester_id_users")),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"], ["users.id"], name=op.f("fk_emergency_accesses_reviewed_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emergency_accesses")),
    )
    with op.batch_alter_table("emergency_accesses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_emergency_accesses_channel_id"), ["channel_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_emergency_accesses_opened_at"), ["opened_at"], unique=False)
        batch_op.create_index(
            "ix_emergency_accesses_requester_id_status_ends_at", ["requester_id", "status", "ends_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_emergency_accesses_reviewed_at"), ["reviewed_at"], unique=False)
        batch_op.create_index("ix_emergency_accesses_status_ends_at", ["status", "ends_at"], unique=False)

    op.create_table(
        "emergency_access_steps",
        sa.Column("emergency_access_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_status", sa.String(length=24), nullable=True),
        sa.Column("to_status", sa.String(length=24), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_emergency_access_steps_actor_id_users")),
        sa.ForeignKeyConstraint(
            ["emergency_access_id"],
            ["emergency_accesses.id"],
            name=op.f("fk_emergency_access_steps_emergency_access_id_emergency_accesses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emergency_access_steps")),
    )
    with op.batch_alter_table("emergency_access_steps", schema=None) as batch_op:
        batch_op.create_index(
            "ix_emergency_access_steps_action_occurred_at",
            ["action", "occurred_at", "emergency_access_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_emergency_access_steps_emergency_access_id"), ["emergency_access_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_emergency_access_steps_occurred_at"), ["occurred_at"], unique=False)


def downgrade() -> None:
    op.drop_table("emergency_access_steps")
    op.drop_table("emergency_accesses")
    op.execute("DELETE FROM user_roles WHERE role = 'on-call'")
    with op.batch_alter_table("user_roles", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_user_roles_role_known"), type_="check")
        batch_op.create_check_constraint("role_known", OLD_ROLES)
