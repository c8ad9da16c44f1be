"""indexes for sorting channels by name and department

The inventory sorts case-insensitively; without these every page sorted the
whole table (measured by `make bench`).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_channels_lower_display_name", "channels", [sa.text("lower(display_name)"), "id"])
    op.create_index("ix_channels_lower_department", "channels", [sa.text("lower(department)"), "id"])


def downgrade() -> None:
    op.drop_index("ix_channels_lower_department", table_name="channels")
    op.drop_index("ix_channels_lower_display_name", table_name="channels")
