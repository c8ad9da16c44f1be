"""password health beside each credential version: weak, known breached, and a keyed fingerprint

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07

Each credential version gains the health of its value (registry/vault/health.py): when it was assessed,
whether it is weak, whether it is in the breached-password list (NULL: not checked), and an HMAC-SHA256
fingerprint under a key of REGISTRY_FINGERPRINT_KEYS with that key's id, so that a password reused on
another channel can be found without comparing plaintexts or keeping a plain hash. Versions stored before
this revision are left "not assessed" (every new column NULL) until ``flask credentials assess`` runs; the
custody pages say so. The index serves the reuse lookup; ``keys rotate`` never writes its columns, so its
rewrites stay heap-only updates (0020).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("credential_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assessed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("weak", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("breached", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("fingerprint_key_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("fingerprint", sa.LargeBinary(), nullable=True))
        batch_op.create_index("ix_credential_versions_fingerprint", ["fingerprint_key_id", "fingerprint"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("credential_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_credential_versions_fingerprint")
        batch_op.drop_column("fingerprint")
        batch_op.drop_column("fingerprint_key_id")
        batch_op.drop_column("breached")
        batch_op.drop_column("weak")
        batch_op.drop_column("assessed_at")
