"""separation of duties: four-eyes account requests, set-up links, and who may set up two-factor sign-in

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06

New tables hold the requests a second administrator approves and the single-use set-up links.

Data: a temporary password that an administrator chose (``users.must_change_password``) is one an
administrator knows, so it stops working (``password_hash`` cleared) and the column goes: the person
gets a set-up link and chooses their own. Every other account keeps its password, roles and
two-factor set-up.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

REASONS = "reason IN ('new_account', 'password_reset', 'role_granted', 'two_factor_reset', 'operator')"
KINDS = "kind IN ('grant_roles', 'reset_two_factor')"
STATUSES = "status IN ('pending', 'approved', 'rejected', 'cancelled', 'expired')"


def upgrade() -> None:
    users = sa.table(
        "users",
        sa.column("password_hash", sa.String),
        sa.column("must_change_password", sa.Boolean),
    )
    op.execute(users.update().where(users.c.must_change_password.is_(True)).values(password_hash=None))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("must_change_password")
    # Plain ADD COLUMN (nullable, no constraint): no table copy on SQLite.
    op.add_column("users", sa.Column("enrol_with_password_until", sa.DateTime(timezone=True), nullable=True))
    op.add_column("user_sessions", sa.Column("setup_link_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "setup_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("salt", sa.LargeBinary(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=300), nullable=False),
        sa.CheckConstraint(REASONS, name=op.f("ck_setup_links_reason_known")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_setup_links_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_setup_links_created_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_setup_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_setup_links_token_hash")),
    )
    op.create_index("ix_setup_links_user_id", "setup_links", ["user_id"], unique=False)
    op.create_table(
        "account_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("roles", sa.String(length=100), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.CheckConstraint(KINDS, name=op.f("ck_account_requests_kind_known")),
        sa.CheckConstraint(STATUSES, name=op.f("ck_account_requests_status_known")),
        sa.CheckConstraint("kind <> 'grant_roles' OR roles IS NOT NULL", name=op.f("ck_account_requests_roles_given")),
        sa.CheckConstraint("requested_by_id <> user_id", name=op.f("ck_account_requests_not_for_oneself")),
        sa.CheckConstraint(
            "status <> 'approved' OR (decided_by_id IS NOT NULL AND decided_by_id <> requested_by_id "
            "AND decided_by_id <> user_id)",
            name=op.f("ck_account_requests_four_eyes"),
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_account_requests_user_id_users")),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["users.id"], name=op.f("fk_account_requests_requested_by_id_users")
        ),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"], name=op.f("fk_account_requests_decided_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_requests")),
    )
    op.create_index(
        "ix_account_requests_status_requested_at", "account_requests", ["status", "requested_at"], unique=False
    )
    op.create_index("ix_account_requests_user_id", "account_requests", ["user_id"], unique=False)
    op.create_index(
        "uq_account_requests_one_pending",
        "account_requests",
        ["user_id", "kind"],
        unique=True,
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("setup_link_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_notifications_setup_link_id_setup_links"),
            "setup_links",
            ["setup_link_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_notifications_setup_link_id_setup_links"), type_="foreignkey")
        batch_op.drop_column("setup_link_id")
    op.drop_index("uq_account_requests_one_pending", table_name="account_requests")
    op.drop_index("ix_account_requests_user_id", table_name="account_requests")
    op.drop_index("ix_account_requests_status_requested_at", table_name="account_requests")
    op.drop_table("account_requests")
    op.drop_index("ix_setup_links_user_id", table_name="setup_links")
    op.drop_table("setup_links")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE user_sessions DROP COLUMN setup_link_at")
        op.execute("ALTER TABLE users DROP COLUMN enrol_with_password_until")
    else:
        op.drop_column("user_sessions", "setup_link_at")
        op.drop_column("users", "enrol_with_password_until")
    # Cleared temporary passwords are not restored: nobody should know them.
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()))
