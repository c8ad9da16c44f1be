"""logo and lozenge consent: requests, artwork, decisions, the NHS identity checklist and references

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

#: The NHS identity guidelines comms check artwork against; comms edit them afterwards.
CHECKLIST = (
    "The NHS lozenge is used unaltered, as supplied: not redrawn, stretched, rotated, cropped or outlined.",
    "The lozenge is NHS Blue (#005EB8) with white letters, or white on an NHS Blue or dark background.",
    "The required clear space is kept around the logo and the lozenge: no text, image or edge inside it.",
    "The lozenge appears only once on each item (page, screen, poster, product or video).",
    "No new logo has been made for a service, team, project or campaign: the Trust's logo is used instead.",
)


def upgrade() -> None:
    checklist = op.create_table(
        "consent_checklist_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_checklist_items")),
    )
    with op.batch_alter_table("consent_checklist_items", schema=None) as batch_op:
        batch_op.create_index("ix_consent_checklist_items_retired_at", ["retired_at"], unique=False)

    op.create_table(
        "consent_reference_counters",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_consent_reference_counters")),
    )
    op.create_table(
        "logo_consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("department", sa.String(length=200), nullable=False),
        sa.Column("asset", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("audience", sa.Text(), nullable=False),
        sa.Column("partner_involved", sa.Boolean(), nullable=False),
        sa.Column("partner_name", sa.String(length=200), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("requester_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("conditions", sa.Text(), nullable=True),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.CheckConstraint("asset IN ('trust_logo', 'nhs_lozenge', 'both')", name=op.f("ck_logo_consents_asset_known")),
        sa.CheckConstraint(
            "status <> 'approved_with_conditions' OR conditions IS NOT NULL",
            name=op.f("ck_logo_consents_conditions_given"),
        ),
        sa.CheckConstraint(
            "status IN ('submitted', 'changes_requested', 'approved', 'approved_with_conditions', 'rejected', "
            "'withdrawn')",
            name=op.f("ck_logo_consents_status_known"),
        ),
        sa.CheckConstraint(
            "status NOT IN ('approved', 'approved_with_conditions') OR (reference IS NOT NULL AND expires_on "
            "IS NOT NULL AND decided_by_id IS NOT NULL)",
            name=op.f("ck_logo_consents_approval_complete"),
        ),
        sa.CheckConstraint(
            "(partner_involved AND partner_name IS NOT NULL) OR (NOT partner_involved AND partner_name IS NULL)",
            name=op.f("ck_logo_consents_partner_named"),
        ),
        sa.CheckConstraint("ends_on >= starts_on", name=op.f("ck_logo_consents_ends_after_start")),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"], name=op.f("fk_logo_consents_decided_by_id_users")),
        sa.ForeignKeyConstraint(["requester_id"], ["users.id"], name=op.f("fk_logo_consents_requester_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_logo_consents")),
        sa.UniqueConstraint("reference", name=op.f("uq_logo_consents_reference")),
    )
    with op.batch_alter_table("logo_consents", schema=None) as batch_op:
        batch_op.create_index("ix_logo_consents_created_at", ["created_at"], unique=False)
        batch_op.create_index("ix_logo_consents_expires_on", ["expires_on"], unique=False)
        batch_op.create_index("ix_logo_consents_requester_id", ["requester_id"], unique=False)
        batch_op.create_index("ix_logo_consents_status", ["status"], unique=False)
        batch_op.create_index("ix_logo_consents_status_changed_at", ["status_changed_at"], unique=False)

    op.create_table(
        "logo_consent_artwork",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consent_id", sa.Integer(), nullable=False),
        sa.Column("upload_id", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["consent_id"],
            ["logo_consents.id"],
            name=op.f("fk_logo_consent_artwork_consent_id_logo_consents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["removed_by_id"], ["users.id"], name=op.f("fk_logo_consent_artwork_removed_by_id_users")
        ),
        sa.ForeignKeyConstraint(["upload_id"], ["uploads.id"], name=op.f("fk_logo_consent_artwork_upload_id_uploads")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_logo_consent_artwork")),
        sa.UniqueConstraint("consent_id", "upload_id", name=op.f("uq_logo_consent_artwork_consent_id_upload_id")),
    )
    with op.batch_alter_table("logo_consent_artwork", schema=None) as batch_op:
        batch_op.create_index("ix_logo_consent_artwork_upload_id", ["upload_id"], unique=False)

    op.create_table(
        "logo_consent_media",
        sa.Column("consent_id", sa.Integer(), nullable=False),
        sa.Column("medium", sa.String(length=20), nullable=False),
        sa.CheckConstraint(
            "medium IN ('print', 'web', 'social_media', 'signage', 'merchandise', 'video', 'partner_material')",
            name=op.f("ck_logo_consent_media_medium_known"),
        ),
        sa.ForeignKeyConstraint(
            ["consent_id"],
            ["logo_consents.id"],
            name=op.f("fk_logo_consent_media_consent_id_logo_consents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("consent_id", "medium", name=op.f("pk_logo_consent_media")),
    )
    with op.batch_alter_table("logo_consent_media", schema=None) as batch_op:
        batch_op.create_index("ix_logo_consent_media_medium", ["medium"], unique=False)

    op.create_table(
        "logo_consent_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consent_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_status", sa.String(length=24), nullable=True),
        sa.Column("to_status", sa.String(length=24), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_logo_consent_steps_actor_id_users")),
        sa.ForeignKeyConstraint(
            ["consent_id"],
            ["logo_consents.id"],
            name=op.f("fk_logo_consent_steps_consent_id_logo_consents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_logo_consent_steps")),
    )
    with op.batch_alter_table("logo_consent_steps", schema=None) as batch_op:
        batch_op.create_index("ix_logo_consent_steps_consent_id", ["consent_id"], unique=False)
        batch_op.create_index("ix_logo_consent_steps_occurred_at", ["occurred_at"], unique=False)

    op.create_table(
        "logo_consent_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("item_text", sa.String(length=500), nullable=False),
        sa.Column("checked", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["consent_checklist_items.id"],
            name=op.f("fk_logo_consent_checks_item_id_consent_checklist_items"),
        ),
        sa.ForeignKeyConstraint(
            ["step_id"],
            ["logo_consent_steps.id"],
            name=op.f("fk_logo_consent_checks_step_id_logo_consent_steps"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_logo_consent_checks")),
        sa.UniqueConstraint("step_id", "item_id", name=op.f("uq_logo_consent_checks_step_id_item_id")),
    )

    now = dt.datetime.now(dt.UTC)
    if op.get_bind().dialect.name == "sqlite":
        now = now.replace(tzinfo=None)  # SQLite keeps UTC without a zone, as registry.db.UTCDateTime does
    op.bulk_insert(
        checklist,
        [
            {"text": text, "position": position, "created_at": now, "updated_at": now}
            for position, text in enumerate(CHECKLIST, start=1)
        ],
    )


def downgrade() -> None:
    op.drop_table("logo_consent_checks")
    with op.batch_alter_table("logo_consent_steps", schema=None) as batch_op:
        batch_op.drop_index("ix_logo_consent_steps_occurred_at")
        batch_op.drop_index("ix_logo_consent_steps_consent_id")

    op.drop_table("logo_consent_steps")
    with op.batch_alter_table("logo_consent_media", schema=None) as batch_op:
        batch_op.drop_index("ix_logo_consent_media_medium")

    op.drop_table("logo_consent_media")
    with op.batch_alter_table("logo_consent_artwork", schema=None) as batch_op:
        batch_op.drop_index("ix_logo_consent_artwork_upload_id")

    op.drop_table("logo_consent_artwork")
    with op.batch_alter_table("logo_consents", schema=None) as batch_op:
        batch_op.drop_index("ix_logo_consents_status_changed_at")
        batch_op.drop_index("ix_logo_consents_status")
        batch_op.drop_index("ix_logo_consents_requester_id")
        batch_op.drop_index("ix_logo_consents_expires_on")
        batch_op.drop_index("ix_logo_consents_created_at")

    op.drop_table("logo_consents")
    op.drop_table("consent_reference_counters")
    with op.batch_alter_table("consent_checklist_items", schema=None) as batch_op:
        batch_op.drop_index("ix_consent_checklist_items_retired_at")

    op.drop_table("consent_checklist_items")
