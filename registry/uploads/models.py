"""A stored file: what it is (found from its content), who sent it, its SHA-256, and its bytes."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.auth.models import User
from registry.db import Base, created, intpk, known


class UploadType(StrEnum):
    """The kinds of file accepted, by content type; the value is what is stored and served."""

    PNG = "image/png"
    JPEG = "image/jpeg"
    GIF = "image/gif"
    WEBP = "image/webp"
    PDF = "application/pdf"

    @property
    def extension(self) -> str:
        return {"image/jpeg": ".jpg", "application/pdf": ".pdf"}.get(self.value, "." + self.value.split("/")[1])

    @property
    def is_image(self) -> bool:
        return self.value.startswith("image/")


class Upload(Base):
    """A file someone sent. Its bytes are in :class:`UploadContent`, so that listing files never loads them.

    The areas that accept files link to it through their own association tables;
    each serves it through its own route, after checking who may see it.
    """

    __tablename__ = "uploads"
    __table_args__ = (
        known("content_type", UploadType),
        CheckConstraint("size > 0", name="size_positive"),
        CheckConstraint("length(sha256) = 64", name="sha256_length"),
        Index("ix_uploads_uploaded_by_id", "uploaded_by_id"),
    )

    id: Mapped[intpk]
    sha256: Mapped[str] = mapped_column(String(64))
    original_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int]
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[created]

    uploaded_by: Mapped[User] = relationship(lazy="joined", innerjoin=True)

    @property
    def type(self) -> UploadType:
        return UploadType(self.content_type)

    @property
    def is_image(self) -> bool:
        return self.type.is_image


class UploadContent(Base):
    """The bytes of an upload, in the database with its row: every app server on every host reads the
    same file, and a file commits (or rolls back) with the change that brought it."""

    __tablename__ = "upload_contents"
    __table_args__ = (CheckConstraint("length(data) > 0", name="data_not_empty"),)

    upload_id: Mapped[int] = mapped_column(ForeignKey("uploads.id", ondelete="CASCADE"), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
