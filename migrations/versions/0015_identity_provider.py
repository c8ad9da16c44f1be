"""sign-in with the organisation's identity provider, and provisioning

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06

New: who a person is at an OpenID provider (issuer + subject), the back-channel logout tokens already
acted on, and the provisioning (SCIM) clients' hashed bearer tokens. Users gain the provider's
identifier for them (SCIM ``externalId``) and a break-glass flag; sessions record how they were
signed in and the provider's session. No data moves: every existing account keeps its password,
roles and sessions, and none is a break-glass account until an administrator says so.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("issuer", sa.String(length=255), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_sign_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_identities_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_identities")),
        sa.UniqueConstraint("issuer", "subject", name=op.f("uq_user_identities_issuer_subject")),
    )
    op.create_index(op.f("ix_user_identities_user_id"), "user_identities", ["user_id"], unique=False)
    op.create_table(
        "provider_logouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issuer", sa.String(length=255), nullable=False),
        sa.Column("jti", sa.String(length=255), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_logouts")),
        sa.UniqueConstraint("issuer", "jti", name=op.f("uq_provider_logouts_issuer_jti")),
    )
    op.create_index(op.f("ix_provider_logouts_expires_at"), "provider_logouts", ["expires_at"], unique=False)
    op.create_table(
        "scim_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scim_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_scim_tokens_token_hash")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("external_id", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("break_glass", sa.Boolean(), server_default=sa.text("false"), nullable=False))
        batch_op.add_column(sa.Column("deprovisioned_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_users_external_id"), ["external_id"])
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("method", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("identity_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("provider_sid", sa.String(length=255), nullable=True))
        batch_op.create_index(batch_op.f("ix_user_sessions_identity_id"), ["identity_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_user_sessions_provider_sid"), ["provider_sid"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_user_sessions_identity_id_user_identities"),
            "user_identities",
            ["identity_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_user_sessions_identity_id_user_identities"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_user_sessions_provider_sid"))
        batch_op.drop_index(batch_op.f("ix_user_sessions_identity_id"))
        batch_op.drop_column("provider_sid")
        batch_op.drop_column("identity_id")
        batch_op.drop_column("method")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_users_external_id"), type_="unique")
        batch_op.drop_column("deprovisioned_at")
        batch_op.drop_column("break_glass")
        batch_op.drop_column("external_id")
    op.drop_table("scim_tokens")
    op.drop_index(op.f("ix_provider_logouts_expires_at"), table_name="provider_logouts")
    op.drop_table("provider_logouts")
    op.drop_index(op.f("ix_user_identities_user_id"), table_name="user_identities")
    op.drop_table("user_identities")
