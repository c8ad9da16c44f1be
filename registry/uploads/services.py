"""Storing and serving uploaded files safely.

A file is accepted for what its content is, never for its name or the type the
browser claimed: :mod:`registry.uploads.content` judges each file and gives the
copy to store (images encoded again from their pixels alone, PDFs as qpdf writes
them from the objects it checked). This module stores, tracks and serves them.

The bytes are stored in the database (``upload_contents``, beside the ``uploads``
row with their SHA-256), not on a host's disk: every app server on every host
serves the same file, and a file commits or rolls back with the change that brought
it, so there is never a row without its file nor a file without its row. At the
10 MB limit that is the simplest store that is shared, transactional and backed up
with everything else. Whatever is read back is checked against its SHA-256 before
anyone gets it.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import time
import unicodedata
from collections.abc import Iterable, Mapping

from flask import Response, current_app, g, send_file
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from registry import db
from registry.audit.models import AuditAction
from registry.audit.services import Actor, record
from registry.auth.models import User
from registry.errors import Invalid, NotFound
from registry.uploads import content
from registry.uploads.content import ACCEPTED as ACCEPTED
from registry.uploads.content import MAX_FRAMES as MAX_FRAMES
from registry.uploads.models import Upload, UploadContent, UploadType

log = logging.getLogger(__name__)

#: For an ``<input type="file" accept="…">``: a hint to the browser only; the content decides.
ACCEPT = ",".join(t.value for t in UploadType)
NAME_MAX = 255
FILE_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"
#: The files of one call are checked within this many seconds in all (a PDF's check alone may take
#: as long), so a request carrying many files that are slow to check cannot hold a web worker past
#: its timeout (gunicorn's default is 30 s); files left when it is spent are refused unchecked.
#: The same as ``pdf_scan.WALL_SECONDS``, written out so that a start does not import pikepdf
#: (tests/test_startup.py holds the two together).
CHECK_SECONDS = 20
MISSING = "The file is missing from storage. Ask the communications team to restore it."
CHANGED = "The stored file has changed since it was uploaded. Ask the communications team to restore it."


# --- public entry points ---------------------------------------------------------------


def store(file: FileStorage | None, *, actor: User, field: str) -> Upload:
    """Store one file, which must be given; see :func:`store_all`."""
    if not file or not file.filename:
        raise Invalid({field: f"Choose a file: {ACCEPTED}."})
    return store_all([file], actor=actor, field=field)[0]


def chosen_files(files: Iterable[FileStorage | None]) -> list[FileStorage]:
    """The files actually attached (a form's empty file input sends a nameless, empty part)."""
    return [file for file in files if file is not None and (file.filename or "").strip()]


def store_all(
    files: Iterable[FileStorage | None],
    *,
    actor: User,
    field: str,
    errors: Mapping[str, str] | None = None,
) -> list[Upload]:
    """Check every file, then store them all, or refuse and store none.

    Inputs with no file chosen are skipped. Each file is judged by its content;
    a refusal raises ``Invalid({field: "<name>: <reason>"})`` (every refused file
    named) before anything is stored, and is recorded in the audit trail even
    though the request fails. ``errors`` are the caller's other answers' mistakes:
    the files are still checked, so every mistake is reported at once, and nothing is
    stored unless there are none. Images are stored without their metadata. Flushes:
    the files stand or fall with the caller's transaction.
    """
    chosen = chosen_files(files)
    limit = current_app.extensions["registry.settings"].max_upload_bytes
    accepted: list[content.Accepted] = []
    refused: list[content.Refused] = []
    deadline = time.monotonic() + CHECK_SECONDS
    for file in chosen:
        name = clean_name(file.filename)
        try:
            left = deadline - time.monotonic()
            if left <= 0:
                raise content.out_of_time(name)
            accepted.append(content.check(name, file.stream.read(limit + 1), limit, left))
        except content.Refused as refusal:
            refused.append(refusal)
    problems = dict(errors or {})
    if refused:
        _record_refusal(refused, Actor.of(actor), field)
        problems[field] = " ".join(refusal.message for refusal in refused)
    if problems:
        raise Invalid(problems)
    return [_register(item, actor, field) for item in accepted]


def send(upload: Upload) -> Response:
    """The file as a download, never shown inline by the browser; refused (404, logged) if its bytes
    are missing or no longer match their SHA-256.

    The caller has checked that the viewer may see the request it belongs to.
    """
    response = send_file(
        io.BytesIO(read_bytes(upload)),
        mimetype=upload.content_type,
        as_attachment=True,
        download_name=download_name(upload),
        conditional=False,
        etag=False,
        last_modified=upload.created_at,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    g.csp_override = FILE_CSP  # should anything ever render it inline: no scripts, no plugins
    return response


def read_bytes(upload: Upload) -> bytes:
    """The stored bytes, checked against the SHA-256 recorded when they were stored."""
    data = db.session().get(UploadContent, upload.id)
    if data is None:
        log.error("Upload %s has no stored content", upload.id)
        raise NotFound(MISSING)
    if hashlib.sha256(data.data).hexdigest() != upload.sha256:
        log.error("Upload %s does not match its SHA-256: it is not served", upload.id)
        raise NotFound(CHANGED)
    return data.data


# --- names ---------------------------------------------------------------------------------


def clean_name(raw: str | None) -> str:
    """The sender's file name, for display only: no folders, no control or invisible
    characters (nor right-to-left overrides), single spaces, at most 255 characters."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(" " if ch.isspace() else ch for ch in name if unicodedata.category(ch)[0] != "C" or ch.isspace())
    name = re.sub(r" +", " ", name).strip(" .")
    if len(name) > NAME_MAX:
        stem, ext = os.path.splitext(name)
        ext = ext if len(ext) <= 16 else ""
        name = stem[: NAME_MAX - len(ext)].rstrip(" .") + ext
    return name or "file"


def download_name(upload: Upload) -> str:
    """The display name with the extension of what the file is (a PNG sent as ``logo.pdf``
    downloads as ``logo.png``)."""
    kind = upload.type
    stem, ext = os.path.splitext(upload.original_name)
    if ext.lower() in _extensions(kind):
        return upload.original_name
    if not (1 < len(ext) <= 6 and ext[1:].isalnum()):
        stem = upload.original_name
    return (stem[: NAME_MAX - len(kind.extension)] or "file") + kind.extension


def _extensions(kind: UploadType) -> frozenset[str]:
    return frozenset({kind.extension, ".jpeg", ".jpe"} if kind is UploadType.JPEG else {kind.extension})


# --- storing -------------------------------------------------------------------------------


def _register(item: content.Accepted, actor: User, field: str) -> Upload:
    """The row, the bytes and the audit event of an accepted file."""
    upload = Upload(
        sha256=hashlib.sha256(item.data).hexdigest(),
        original_name=item.name,
        content_type=item.type.value,
        size=len(item.data),
        uploaded_by_id=actor.id,
        uploaded_by=actor,
    )
    session = db.session()
    session.add(upload)
    session.flush()
    session.add(UploadContent(upload_id=upload.id, data=item.data))
    session.flush()
    # No file name in the trail: it is append-only and a name can identify a person.
    record(
        AuditAction.UPLOAD_STORE,
        "upload",
        upload.id,
        {"field": field, "content_type": upload.content_type, "size": upload.size, "sha256": upload.sha256},
        actor=actor,
    )
    return upload


def _record_refusal(refused: list[content.Refused], actor: Actor, field: str) -> None:
    reasons = [reason for refusal in refused for reason in refusal.reasons]

    def write(session: Session) -> None:
        record(
            AuditAction.UPLOAD_REFUSED,
            "upload",
            field,
            {"field": field, "reasons": reasons},
            actor=actor,
            session=session,
        )

    db.even_if_refused(write)
