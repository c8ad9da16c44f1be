"""promotional post requests: posts, their target channels, images, screening findings and history

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "promotional_posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("wished_for", sa.Date(), nullable=False),
        sa.Column("consent_confirmed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consent_location", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("requester_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("screened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("findings_accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("findings_accepted_by_id", sa.Integer(), nullable=True),
        sa.Column("findings_acceptance", sa.Text(), nullable=True),
        sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status <> 'published' OR published_at IS NOT NULL", name=op.f("ck_promotional_posts_published_has_time")
        ),
        sa.CheckConstraint(
            "status <> 'scheduled' OR scheduled_for IS NOT NULL", name=op.f("ck_promotional_posts_scheduled_has_time")
        ),
        sa.CheckConstraint(
            "status IN ('submitted', 'changes_requested', 'approved', 'scheduled', 'published', 'rejected', "
            "'withdrawn')",
            name=op.f("ck_promotional_posts_status_known"),
        ),
        sa.CheckConstraint(
            "(findings_accepted_at IS NULL AND findings_accepted_by_id IS NULL AND findings_acceptance IS "
            "NULL) OR (findings_accepted_at IS NOT NULL AND findings_accepted_by_id IS NOT NULL "
            "AND findings_acceptance IS NOT NULL)",
            name=op.f("ck_promotional_posts_findings_acceptance_complete"),
        ),
        sa.ForeignKeyConstraint(
            ["findings_accepted_by_id"], ["users.id"], name=op.f("fk_promotional_posts_findings_accepted_by_id_users")
        ),
        sa.ForeignKeyConstraint(["requester_id"], ["users.id"], name=op.f("fk_promotional_posts_requester_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promotional_posts")),
    )
    with op.batch_alter_table("promotional_posts", schema=None) as batch_op:
        batch_op.create_index("ix_promotional_posts_created_at", ["created_at"], unique=False)
        batch_op.create_index("ix_promotional_posts_requester_id", ["requester_id"], unique=False)
        batch_op.create_index("ix_promotional_posts_status", ["status"], unique=False)
        batch_op.create_index("ix_promotional_posts_status_changed_at", ["status_changed_at"], unique=False)

    op.create_table(
        "promotional_post_channels",
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("published_url", sa.String(length=2048), nullable=True),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_promotional_post_channels_channel_id_channels")
        ),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["promotional_posts.id"],
            name=op.f("fk_promotional_post_channels_post_id_promotional_posts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("post_id", "channel_id", name=op.f("pk_promotional_post_channels")),
    )
    with op.batch_alter_table("promotional_post_channels", schema=None) as batch_op:
        batch_op.create_index("ix_promotional_post_channels_channel_id", ["channel_id"], unique=False)

    op.create_table(
        "promotional_post_findings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=20), nullable=False),
        sa.Column("image_position", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("start_offset", sa.Integer(), nullable=False),
        sa.Column("end_offset", sa.Integer(), nullable=False),
        sa.Column("masked", sa.String(length=200), nullable=False),
        sa.CheckConstraint(
            "(field = 'text' AND image_position IS NULL) OR (field = 'alt_text' AND image_position IS NOT NULL)",
            name=op.f("ck_promotional_post_findings_image_given_for_alt_text"),
        ),
        sa.CheckConstraint("field IN ('text', 'alt_text')", name=op.f("ck_promotional_post_findings_field_known")),
        sa.CheckConstraint(
            "start_offset >= 0 AND end_offset > start_offset", name=op.f("ck_promotional_post_findings_offsets_ordered")
        ),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["promotional_posts.id"],
            name=op.f("fk_promotional_post_findings_post_id_promotional_posts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promotional_post_findings")),
    )
    with op.batch_alter_table("promotional_post_findings", schema=None) as batch_op:
        batch_op.create_index("ix_promotional_post_findings_post_id", ["post_id"], unique=False)

    op.create_table(
        "promotional_post_images",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("upload_id", sa.Integer(), nullable=False),
        sa.Column("alt_text", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.CheckConstraint("position >= 1", name=op.f("ck_promotional_post_images_position_positive")),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["promotional_posts.id"],
            name=op.f("fk_promotional_post_images_post_id_promotional_posts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["upload_id"], ["uploads.id"], name=op.f("fk_promotional_post_images_upload_id_uploads")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promotional_post_images")),
        sa.UniqueConstraint("post_id", "upload_id", name=op.f("uq_promotional_post_images_post_id_upload_id")),
    )
    with op.batch_alter_table("promotional_post_images", schema=None) as batch_op:
        batch_op.create_index("ix_promotional_post_images_upload_id", ["upload_id"], unique=False)

    op.create_table(
        "promotional_post_transitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_promotional_post_transitions_actor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["promotional_posts.id"],
            name=op.f("fk_promotional_post_transitions_post_id_promotional_posts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promotional_post_transitions")),
    )
    with op.batch_alter_table("promotional_post_transitions", schema=None) as batch_op:
        batch_op.create_index("ix_promotional_post_transitions_occurred_at", ["occurred_at"], unique=False)
        batch_op.create_index("ix_promotional_post_transitions_post_id", ["post_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("promotional_post_transitions", schema=None) as batch_op:
        batch_op.drop_index("ix_promotional_post_transitions_post_id")
        batch_op.drop_index("ix_promotional_post_transitions_occurred_at")

    op.drop_table("promotional_post_transitions")
    with op.batch_alter_table("promotional_post_images", schema=None) as batch_op:
        batch_op.drop_index("ix_promotional_post_images_upload_id")

    op.drop_table("promotional_post_images")
    with op.batch_alter_table("promotional_post_findings", schema=None) as batch_op:
        batch_op.drop_index("ix_promotional_post_findings_post_id")

    op.drop_table("promotional_post_findings")
    with op.batch_alter_table("promotional_post_channels", schema=None) as batch_op:
        batch_op.drop_index("ix_promotional_post_channels_channel_id")

    op.drop_table("promotional_post_channels")
    with op.batch_alter_table("promotional_posts", schema=None) as batch_op:
        batch_op.drop_index("ix_promotional_posts_status_changed_at")
        batch_op.drop_index("ix_promotional_posts_status")
        batch_op.drop_index("ix_promotional_posts_requester_id")
        batch_op.drop_index("ix_promotional_posts_created_at")

    op.drop_table("promotional_posts")
