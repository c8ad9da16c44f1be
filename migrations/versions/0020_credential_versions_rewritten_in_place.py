"""credential versions rewrapped in place: no index on the key id, room on each page for a second copy

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07

``flask keys rotate`` rewrites every credential version's key id and wrapped key. The index on
``key_id`` served no query (rotation walks versions by primary key, since "not under the
primary key" names every row a rotation has left; counting versions by key reads the whole table
anyway), and on PostgreSQL it made each of those writes a new row with a new entry in every index
of the table. Without it, and with half of each page left free (fillfactor 50), PostgreSQL writes
each rewrapped version beside the old one on its own page, touching no index (a heap-only tuple):
one transaction rewraps every version of a page, and the old copies cannot be reclaimed before it
commits, so a page needs room for both. The table is rewritten once so that the versions already
stored get that room. SQLite has no fillfactor; there only the index goes. No data changes.
"""

from __future__ import annotations

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_credential_versions_key_id", table_name="credential_versions")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE credential_versions SET (fillfactor = 50)")
        # CLUSTER (unlike VACUUM FULL) rewrites the table inside the migration's transaction.
        op.execute("CLUSTER credential_versions USING pk_credential_versions")
        op.execute("ALTER TABLE credential_versions SET WITHOUT CLUSTER")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE credential_versions RESET (fillfactor)")
    op.create_index("ix_credential_versions_key_id", "credential_versions", ["key_id"])
