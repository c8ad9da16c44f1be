"""keyed audit chain: each event names the audit key whose HMAC links it, and the anchor names its chain

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26

Events already in the trail keep their plain SHA-256 links (``key_id`` NULL) and stay
checkable as they were; the application writes an ``audit:keyed`` event before the first
keyed one. The chain id tells this database's signed checkpoints from another's; every
keyed link covers it, so changing it breaks the chain.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Added in place (not by copying the table, as batch mode would on SQLite) so that the
    # append-only triggers on audit_events stay as they are.
    op.add_column("audit_events", sa.Column("key_id", sa.String(length=32), nullable=True))
    with op.batch_alter_table("audit_anchor", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chain_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("head_key_id", sa.String(length=32), nullable=True))
    anchor = sa.table("audit_anchor", sa.column("id", sa.Integer), sa.column("chain_id", sa.String))
    op.execute(anchor.update().where(anchor.c.id == 1).values(chain_id=str(uuid.uuid4())))
    with op.batch_alter_table("audit_anchor", schema=None) as batch_op:
        batch_op.alter_column("chain_id", existing_type=sa.String(length=36), nullable=False)


def downgrade() -> None:
    """Refused once any event is keyed: without its key id a keyed event could never be checked
    again, and the evidence of the trail is not something a downgrade may destroy."""
    keyed = op.get_bind().execute(sa.text("SELECT count(*) FROM audit_events WHERE key_id IS NOT NULL")).scalar_one()
    if keyed:
        raise RuntimeError(
            f"{keyed} audit events are linked by a keyed HMAC; revision 0012 cannot check them, "
            "so downgrading would make the trail unverifiable. Restore a backup taken before 0013 instead."
        )
    with op.batch_alter_table("audit_anchor", schema=None) as batch_op:
        batch_op.drop_column("head_key_id")
        batch_op.drop_column("chain_id")
    if op.get_bind().dialect.name == "sqlite":
        # SQLite's own DROP COLUMN (3.35+): batch mode would copy the table and lose its triggers.
        op.execute("ALTER TABLE audit_events DROP COLUMN key_id")
    else:
        op.drop_column("audit_events", "key_id")
