"""uploads in the database: every host serves the same files, and a file commits with its change

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07

Until now each file lived on the disk of the host that received it, under
``<instance>/uploads/<stored_name>``. Its bytes move into ``upload_contents`` (one row per upload,
so listing uploads never loads them) and ``uploads.stored_name`` goes.

Every file is checked before anything changes: one that is missing, or whose SHA-256 no longer
matches its row, stops the migration with a message naming each such upload and where it was
looked for, and nothing is changed. Nothing is silently dropped: with several app servers, a file
"missing" here is usually on another host's disk; copy it into this instance's ``uploads``
folder (or restore it from a backup) and run ``flask --app wsgi db upgrade`` again.

The old folder is left as it was (the migration may still roll back); once the upgrade has
committed and been backed up it is no longer read and may be deleted.

Downgrading writes every file back out under a new random name (folder 0700, files 0600) and
drops the table.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import stat
from pathlib import Path

import click
import sqlalchemy as sa
from alembic import context, op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

FOLDER = "uploads"
#: The names the Registry gave stored files (``secrets.token_hex(16)``): nothing else is read.
STORED_NAME = re.compile(r"[0-9a-f]{32}")
#: Larger than any upload the Registry accepted (10 MB): a bigger file is not one of them.
LARGEST = 16 * 1024 * 1024

uploads = sa.table(
    "uploads",
    sa.column("id", sa.Integer()),
    sa.column("sha256", sa.String()),
    sa.column("stored_name", sa.String()),
    sa.column("size", sa.Integer()),
)
upload_contents = sa.table(
    "upload_contents",
    sa.column("upload_id", sa.Integer()),
    sa.column("data", sa.LargeBinary()),
)


def _folder(purpose: str) -> Path:
    """``<instance>/uploads``; the instance folder comes from the app (``flask db upgrade``)."""
    instance_path = context.config.attributes.get("instance_path")
    if not instance_path:
        raise click.ClickException(
            f"There are uploaded files to {purpose}, but this migration was not told the app's instance folder. "
            "Run it with `flask --app wsgi db upgrade` (or downgrade) so that it can find them."
        )
    return Path(instance_path) / FOLDER


class _Unreadable(Exception):
    """Why a stored file is not read (its name, or what is at its path)."""


def _read(folder: Path, stored_name: str) -> bytes:
    """The bytes of ``<folder>/<stored_name>``: only a regular file with a name the Registry gives, not
    through a link, and no larger than any upload; :class:`FileNotFoundError` when there is none."""
    if not STORED_NAME.fullmatch(stored_name or ""):
        raise _Unreadable("its stored name is not one the Registry gives (the row was changed)")
    fd = os.open(folder / stored_name, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as handle:
        found = os.fstat(handle.fileno())
        if not stat.S_ISREG(found.st_mode):
            raise _Unreadable("it is not a regular file")
        if found.st_size > LARGEST:
            raise _Unreadable("it is larger than any upload the Registry accepts")
        return handle.read(LARGEST + 1)


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(uploads.c.id, uploads.c.stored_name, uploads.c.sha256).order_by(uploads.c.id)).all()
    paths: list[tuple[int, str, str]] = []
    problems: list[str] = []
    folder = _folder("move into the database") if rows else Path()
    for upload_id, stored_name, sha256 in rows:
        path = folder / stored_name
        try:
            data = _read(folder, stored_name)
        except FileNotFoundError:
            problems.append(f"upload {upload_id}: {path} is missing")
            continue
        except OSError:  # O_NOFOLLOW met a link
            problems.append(f"upload {upload_id}: {path} is a link, not the stored file")
            continue
        except _Unreadable as exc:
            problems.append(f"upload {upload_id}: {path} is not read: {exc}")
            continue
        if hashlib.sha256(data).hexdigest() != sha256:
            problems.append(f"upload {upload_id}: {path} does not match its SHA-256 (it changed after it was stored)")
            continue
        paths.append((upload_id, stored_name, sha256))
    if problems:
        raise click.ClickException(
            f"Nothing was changed: {len(problems)} of {len(rows)} uploaded files cannot be moved into the database.\n"
            + "\n".join(f"  - {problem}" for problem in problems)
            + "\nWith several app servers, a missing file is usually in another host's instance/uploads folder: "
            f"copy it into {folder} (or restore it from a backup) and run `flask --app wsgi db upgrade` again."
        )

    op.create_table(
        "upload_contents",
        sa.Column("upload_id", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("length(data) > 0", name=op.f("ck_upload_contents_data_not_empty")),
        sa.ForeignKeyConstraint(
            ["upload_id"], ["uploads.id"], name=op.f("fk_upload_contents_upload_id_uploads"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("upload_id", name=op.f("pk_upload_contents")),
    )
    for upload_id, stored_name, sha256 in paths:  # one file in memory at a time, checked again as it goes in
        data = _read(folder, stored_name)
        if hashlib.sha256(data).hexdigest() != sha256:
            raise click.ClickException(
                f"Nothing was changed: upload {upload_id} ({folder / stored_name}) changed while it was being moved."
            )
        bind.execute(sa.insert(upload_contents).values(upload_id=upload_id, data=data))
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.drop_constraint("uq_uploads_stored_name", type_="unique")
        batch_op.drop_column("stored_name")


def downgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stored_name", sa.String(length=64), nullable=True))
    ids = bind.execute(sa.select(uploads.c.id).order_by(uploads.c.id)).scalars().all()
    if ids:
        folder = _folder("write back out to disk")
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
    for upload_id in ids:
        data = bind.execute(
            sa.select(upload_contents.c.data).where(upload_contents.c.upload_id == upload_id)
        ).scalar_one()
        stored_name = secrets.token_hex(16)
        fd = os.open(folder / stored_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        bind.execute(sa.update(uploads).where(uploads.c.id == upload_id).values(stored_name=stored_name))
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.alter_column("stored_name", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_uploads_stored_name"), ["stored_name"])
    op.drop_table("upload_contents")
