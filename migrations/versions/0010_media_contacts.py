"""media contacts: approaches logged by staff, their screenshots and triage steps

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

PLATFORMS = (
    "'x', 'facebook', 'instagram', 'linkedin', 'youtube', 'tiktok', 'threads', 'bluesky', 'mastodon', "
    "'pinterest', 'flickr', 'snapchat', 'whatsapp', 'other'"
)
STATUSES = "'reported', 'acknowledged', 'advice_given', 'comms_responding', 'closed'"


def upgrade() -> None:
    op.create_table(
        "media_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("outlet", sa.String(length=200), nullable=True),
        sa.Column("journalist", sa.String(length=200), nullable=True),
        sa.Column("contacted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("enquiry", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=2048), nullable=True),
        sa.Column("no_response_confirmed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("reporter_id", sa.Integer(), nullable=False),
        sa.Column("advice", sa.Text(), nullable=True),
        sa.Column("advised_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("advised_by_id", sa.Integer(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"status IN ({STATUSES})", name=op.f("ck_media_contacts_status_known")),
        sa.CheckConstraint(f"platform IN ({PLATFORMS})", name=op.f("ck_media_contacts_platform_known")),
        sa.CheckConstraint(
            "deadline_at IS NULL OR deadline_at >= contacted_at", name=op.f("ck_media_contacts_deadline_after_contact")
        ),
        sa.CheckConstraint(
            "status <> 'advice_given' OR advice IS NOT NULL", name=op.f("ck_media_contacts_advice_given_has_advice")
        ),
        sa.CheckConstraint(
            "(status = 'closed' AND closed_at IS NOT NULL) OR (status <> 'closed' AND closed_at IS NULL)",
            name=op.f("ck_media_contacts_closed_when_closed"),
        ),
        sa.ForeignKeyConstraint(["advised_by_id"], ["users.id"], name=op.f("fk_media_contacts_advised_by_id_users")),
        sa.ForeignKeyConstraint(["reporter_id"], ["users.id"], name=op.f("fk_media_contacts_reporter_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_contacts")),
    )
    with op.batch_alter_table("media_contacts", schema=None) as batch_op:
        batch_op.create_index("ix_media_contacts_closed_at", ["closed_at"], unique=False)
        batch_op.create_index("ix_media_contacts_created_at", ["created_at"], unique=False)
        batch_op.create_index("ix_media_contacts_reporter_id", ["reporter_id"], unique=False)
        batch_op.create_index("ix_media_contacts_status", ["status"], unique=False)
        batch_op.create_index("ix_media_contacts_status_changed_at", ["status_changed_at"], unique=False)

    op.create_table(
        "media_contact_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("media_contact_id", sa.Integer(), nullable=False),
        sa.Column("upload_id", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["media_contact_id"],
            ["media_contacts.id"],
            name=op.f("fk_media_contact_evidence_media_contact_id_media_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["upload_id"], ["uploads.id"], name=op.f("fk_media_contact_evidence_upload_id_uploads")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_contact_evidence")),
        sa.UniqueConstraint(
            "media_contact_id", "upload_id", name=op.f("uq_media_contact_evidence_media_contact_id_upload_id")
        ),
    )
    with op.batch_alter_table("media_contact_evidence", schema=None) as batch_op:
        batch_op.create_index("ix_media_contact_evidence_upload_id", ["upload_id"], unique=False)

    op.create_table(
        "media_contact_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("media_contact_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_status", sa.String(length=24), nullable=True),
        sa.Column("to_status", sa.String(length=24), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("advice", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_media_contact_steps_actor_id_users")),
        sa.ForeignKeyConstraint(
            ["media_contact_id"],
            ["media_contacts.id"],
            name=op.f("fk_media_contact_steps_media_contact_id_media_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_contact_steps")),
    )
    with op.batch_alter_table("media_contact_steps", schema=None) as batch_op:
        batch_op.create_index("ix_media_contact_steps_media_contact_id", ["media_contact_id"], unique=False)
        batch_op.create_index("ix_media_contact_steps_occurred_at", ["occurred_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("media_contact_steps", schema=None) as batch_op:
        batch_op.drop_index("ix_media_contact_steps_occurred_at")
        batch_op.drop_index("ix_media_contact_steps_media_contact_id")

    op.drop_table("media_contact_steps")
    with op.batch_alter_table("media_contact_evidence", schema=None) as batch_op:
        batch_op.drop_index("ix_media_contact_evidence_upload_id")

    op.drop_table("media_contact_evidence")
    with op.batch_alter_table("media_contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_media_contacts_status_changed_at")
        batch_op.drop_index("ix_media_contacts_status")
        batch_op.drop_index("ix_media_contacts_reporter_id")
        batch_op.drop_index("ix_media_contacts_created_at")
        batch_op.drop_index("ix_media_contacts_closed_at")

    op.drop_table("media_contacts")
