"""credential custody, two-factor sign-in and the administrator roster

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("started_by_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["started_by_id"], ["users.id"], name=op.f("fk_access_reviews_started_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_reviews")),
    )
    with op.batch_alter_table("access_reviews", schema=None) as batch_op:
        batch_op.create_index("ix_access_reviews_finished_at", ["finished_at"], unique=False)

    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_recovery_codes_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_codes")),
    )
    with op.batch_alter_table("recovery_codes", schema=None) as batch_op:
        batch_op.create_index("ix_recovery_codes_user_id", ["user_id"], unique=False)

    op.create_table(
        "user_totp",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("nonce", sa.LargeBinary(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_step", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_user_totp_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_totp")),
    )
    op.create_table(
        "credentials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rotation_due_on", sa.Date(), nullable=False),
        sa.Column("rotation_required", sa.Boolean(), nullable=False),
        sa.Column("rotation_reasons", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('password', 'recovery_codes', 'recovery_email', 'recovery_phone', 'totp_seed', 'notes')",
            name=op.f("ck_credentials_kind_known"),
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_credentials_channel_id_channels"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credentials")),
        sa.UniqueConstraint("channel_id", "kind", name=op.f("uq_credentials_channel_id_kind")),
    )
    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.create_index("ix_credentials_rotation_due_on", ["rotation_due_on"], unique=False)
        batch_op.create_index("ix_credentials_rotation_required", ["rotation_required"], unique=False)

    op.create_table(
        "roster_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("person_name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("organisation", sa.String(length=200), nullable=True),
        sa.Column("platform_role", sa.String(length=16), nullable=False),
        sa.Column("granted_by_id", sa.Integer(), nullable=True),
        sa.Column("granted_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "platform_role IN ('owner', 'admin', 'editor', 'moderator', 'analyst')",
            name=op.f("ck_roster_grants_platform_role_known"),
        ),
        sa.CheckConstraint(
            "user_id IS NOT NULL OR organisation IS NOT NULL", name=op.f("ck_roster_grants_person_identified")
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_roster_grants_channel_id_channels"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["granted_by_id"], ["users.id"], name=op.f("fk_roster_grants_granted_by_id_users")),
        sa.ForeignKeyConstraint(["revoked_by_id"], ["users.id"], name=op.f("fk_roster_grants_revoked_by_id_users")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_roster_grants_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster_grants")),
    )
    with op.batch_alter_table("roster_grants", schema=None) as batch_op:
        batch_op.create_index("ix_roster_grants_channel_id", ["channel_id"], unique=False)
        batch_op.create_index("ix_roster_grants_expires_on", ["expires_on"], unique=False)
        batch_op.create_index("ix_roster_grants_revoked_at", ["revoked_at"], unique=False)
        batch_op.create_index("ix_roster_grants_user_id", ["user_id"], unique=False)

    op.create_table(
        "access_review_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "decision IS NULL OR decision IN ('certified', 'revoked')",
            name=op.f("ck_access_review_items_decision_known"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_access_review_items_decided_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["roster_grants.id"],
            name=op.f("fk_access_review_items_grant_id_roster_grants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["access_reviews.id"],
            name=op.f("fk_access_review_items_review_id_access_reviews"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_review_items")),
        sa.UniqueConstraint("review_id", "grant_id", name=op.f("uq_access_review_items_review_id_grant_id")),
    )
    with op.batch_alter_table("access_review_items", schema=None) as batch_op:
        batch_op.create_index("ix_access_review_items_grant_id", ["grant_id"], unique=False)

    op.create_table(
        "credential_reveals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("credential_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["credentials.id"],
            name=op.f("fk_credential_reveals_credential_id_credentials"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_credential_reveals_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credential_reveals")),
    )
    with op.batch_alter_table("credential_reveals", schema=None) as batch_op:
        batch_op.create_index("ix_credential_reveals_credential_id", ["credential_id"], unique=False)
        batch_op.create_index("ix_credential_reveals_user_occurred", ["user_id", "occurred_at"], unique=False)

    op.create_table(
        "credential_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("credential_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("nonce", sa.LargeBinary(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_credential_versions_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["credentials.id"],
            name=op.f("fk_credential_versions_credential_id_credentials"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credential_versions")),
        sa.UniqueConstraint("credential_id", "version", name=op.f("uq_credential_versions_credential_id_version")),
    )
    with op.batch_alter_table("credential_versions", schema=None) as batch_op:
        batch_op.create_index("ix_credential_versions_key_id", ["key_id"], unique=False)

    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("second_factor_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.drop_column("second_factor_at")

    with op.batch_alter_table("credential_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_credential_versions_key_id")

    op.drop_table("credential_versions")
    with op.batch_alter_table("credential_reveals", schema=None) as batch_op:
        batch_op.drop_index("ix_credential_reveals_user_occurred")
        batch_op.drop_index("ix_credential_reveals_credential_id")

    op.drop_table("credential_reveals")
    with op.batch_alter_table("access_review_items", schema=None) as batch_op:
        batch_op.drop_index("ix_access_review_items_grant_id")

    op.drop_table("access_review_items")
    with op.batch_alter_table("roster_grants", schema=None) as batch_op:
        batch_op.drop_index("ix_roster_grants_user_id")
        batch_op.drop_index("ix_roster_grants_revoked_at")
        batch_op.drop_index("ix_roster_grants_expires_on")
        batch_op.drop_index("ix_roster_grants_channel_id")

    op.drop_table("roster_grants")
    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.drop_index("ix_credentials_rotation_required")
        batch_op.drop_index("ix_credentials_rotation_due_on")

    op.drop_table("credentials")
    op.drop_table("user_totp")
    with op.batch_alter_table("recovery_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_recovery_codes_user_id")

    op.drop_table("recovery_codes")
    with op.batch_alter_table("access_reviews", schema=None) as batch_op:
        batch_op.drop_index("ix_access_reviews_finished_at")

    op.drop_table("access_reviews")
