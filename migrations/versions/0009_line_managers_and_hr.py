"""line managers (breach reports go to them first) and the hr role

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

OLD_ROLES = "role IN ('staff', 'manager', 'comms', 'auditor', 'admin')"
NEW_ROLES = "role IN ('staff', 'manager', 'comms', 'auditor', 'admin', 'hr')"


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("line_manager_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_users_line_manager_id_users"), "users", ["line_manager_id"], ["id"])
        batch_op.create_index("ix_users_line_manager_id", ["line_manager_id"], unique=False)
    with op.batch_alter_table("user_roles", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_user_roles_role_known"), type_="check")
        batch_op.create_check_constraint("role_known", NEW_ROLES)


def downgrade() -> None:
    op.execute("DELETE FROM user_roles WHERE role = 'hr'")
    with op.batch_alter_table("user_roles", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_user_roles_role_known"), type_="check")
        batch_op.create_check_constraint("role_known", OLD_ROLES)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ix_users_line_manager_id")
        batch_op.drop_constraint(batch_op.f("fk_users_line_manager_id_users"), type_="foreignkey")
        batch_op.drop_column("line_manager_id")
