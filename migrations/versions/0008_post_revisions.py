"""promotional post revisions: a version number each decision must name

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("promotional_posts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch_op.create_check_constraint(op.f("ck_promotional_posts_version_positive"), "version >= 1")
    with op.batch_alter_table("promotional_posts", schema=None) as batch_op:
        batch_op.alter_column("version", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("promotional_posts", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_promotional_posts_version_positive"), type_="check")
        batch_op.drop_column("version")
