"""Storing and serving uploaded files safely.

A file is accepted for what its content is, never for its name or the type the
browser claimed: :mod:`registry.uploads.content` judges each file and gives the
copy to store (images encoded again from their pixels alone, PDFs as qpdf writes
them from the objects it checked). This module stores, tracks and serves them.

Files live under ``<instance>/uploads/`` (outside the web root; the folder 0700,
each file 0600) under random names, with their SHA-256 in the ``uploads`` table.

Nothing is half-written. A file is written (and fsynced) before its row is
flushed, and registered with the session's current transaction; if that
transaction ends without committing (rolled back, or the session closed), the
files written in it are deleted. So a committed row always has its file; a crash
between writing and rolling back can leave an unreferenced file at worst, which
:func:`remove_orphans` clears. So can a commit that fails: its files are kept,
since the database may have committed before the connection broke. (Writing under a temporary name and renaming after
the commit would turn a failed rename into a committed row without its file.)

When the folder cannot be written (disk full, quota, read-only, no permission, an
I/O error), every file of the call is written first and any already written is
removed before :class:`~registry.errors.Unavailable` (503) is raised, so there is
no partial file, no row and no ``upload:store`` event of a store that did not happen.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import logging
import os
import re
import secrets
import time
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from flask import Response, current_app, g, send_file
from sqlalchemy import event, select
from sqlalchemy.orm import Session, SessionTransaction
from werkzeug.datastructures import FileStorage

from registry import db
from registry.audit.models import AuditAction
from registry.audit.services import Actor, record
from registry.auth.models import User
from registry.errors import Invalid, NotFound, Unavailable
from registry.uploads import content, pdf_scan
from registry.uploads.content import ACCEPTED as ACCEPTED
from registry.uploads.content import MAX_FRAMES as MAX_FRAMES
from registry.uploads.models import Upload, UploadType

log = logging.getLogger(__name__)

#: For an ``<input type="file" accept="…">``: a hint to the browser only; the content decides.
ACCEPT = ",".join(t.value for t in UploadType)
NAME_MAX = 255
FOLDER = "uploads"
FILE_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"
#: The files of one call are checked within this many seconds in all (a PDF's check alone may take
#: as long), so a request carrying many files that are slow to check cannot hold a web worker past
#: its timeout (gunicorn's default is 30 s); files left when it is spent are refused unchecked.
CHECK_SECONDS = pdf_scan.WALL_SECONDS

_TRACKED = "registry.uploads.written"
_COMMITTING = "registry.uploads.committing"
_STORED_NAME = re.compile(r"[0-9a-f]{32}")
#: Why the uploads folder may refuse a write that the service cannot help: answered with 503.
STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO})
STORAGE_UNAVAILABLE = (
    "The file could not be saved because the Registry's file storage is full or unavailable. "
    "Nothing was saved. Try again later. The problem has been logged for the administrators."
)


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
    named) before anything is written, and is recorded in the audit trail even
    though the request fails. ``errors`` are the caller's other answers' mistakes:
    the files are still checked, so every mistake is reported at once, and nothing is
    written unless there are none. Images are stored without their metadata. Flushes.

    If the uploads folder cannot be written, raises :class:`Unavailable` having left
    nothing behind: no file, no row, no audit event.
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
    written = _write_all(accepted)
    return [_register(item, stored_name, actor, field) for item, stored_name in zip(accepted, written, strict=True)]


def send(upload: Upload) -> Response:
    """The file as a download, never shown inline by the browser.

    The caller has checked that the viewer may see the request it belongs to.
    """
    path = _path(upload)
    if not path.is_file():
        log.error("Upload %s is missing from storage (%s)", upload.id, upload.stored_name)
        raise NotFound("The file is missing from storage. Ask the communications team to restore it.")
    response = send_file(
        path,
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
    """The stored bytes, checked against the SHA-256 recorded when they were written."""
    try:
        data = _path(upload).read_bytes()
    except FileNotFoundError:
        log.error("Upload %s is missing from storage (%s)", upload.id, upload.stored_name)
        raise NotFound("The file is missing from storage. Ask the communications team to restore it.") from None
    if hashlib.sha256(data).hexdigest() != upload.sha256:
        log.error("Upload %s does not match its SHA-256 (%s)", upload.id, upload.stored_name)
        raise NotFound("The stored file has changed since it was uploaded. Ask the communications team to restore it.")
    return data


def remove_orphans(older_than: dt.timedelta = dt.timedelta(hours=1)) -> int:
    """Delete stored files that no row refers to (left by a crash); returns how many.

    Only files named as this module names them and older than ``older_than`` are
    considered, so files of transactions still running are left alone.
    """
    folder = storage_folder()
    if not folder.is_dir():
        return 0
    known = set(db.session().scalars(select(Upload.stored_name)))
    cutoff = (db.utcnow() - older_than).timestamp()
    removed = 0
    for path in folder.iterdir():
        if not _STORED_NAME.fullmatch(path.name) or path.name in known or path.stat().st_mtime > cutoff:
            continue
        path.unlink(missing_ok=True)
        removed += 1
    if removed:
        log.info("Removed %d stored file(s) that no upload refers to", removed)
    return removed


def storage_folder() -> Path:
    """Where files are kept: ``<instance>/uploads`` (outside the web root)."""
    return Path(current_app.instance_path) / FOLDER


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


def _write_all(accepted: Sequence[content.Accepted]) -> list[str]:
    """Write every file under a new random name, tied to the current transaction; the names.

    All or nothing: if the folder refuses a write, the files of this call written so
    far (and the part of the one being written) are removed and :class:`Unavailable`
    is raised. No row names them yet, so nothing else needs undoing.
    """
    if not accepted:
        return []
    session = db.session()
    paths: list[Path] = []
    try:
        folder = _folder()
        for item in accepted:
            path = folder / secrets.token_hex(16)
            _track(session, path)
            paths.append(path)
            _write(path, item.data)
        _sync_folder(folder)
    except OSError as exc:
        _forget(session, paths)
        if exc.errno not in STORAGE_ERRNOS:
            raise
        # The errno and our own name for the file only: never the sender's file name.
        log.error(
            "Could not save an upload to file storage (%s) as %s; nothing was saved",
            errno.errorcode.get(exc.errno or 0, str(exc.errno)),
            paths[-1].name if paths else "(no file yet)",
        )
        raise Unavailable(STORAGE_UNAVAILABLE) from None
    except BaseException:
        _forget(session, paths)
        raise
    return [path.name for path in paths]


def _forget(session: Session, paths: list[Path]) -> None:
    """Remove these files (whole or partly written) and stop tracking them."""
    written: list[_Written] = session.info.get(_TRACKED, [])
    written[:] = [item for item in written if item.path not in paths]
    for path in paths:
        try:
            if os.path.lexists(path):  # on a read-only folder, even removing a missing file fails
                path.unlink()
        except OSError:
            log.exception("Could not remove %s after a failed write", path.name)


def _register(item: content.Accepted, stored_name: str, actor: User, field: str) -> Upload:
    """The row and audit event of a file already written as ``stored_name``."""
    upload = Upload(
        sha256=hashlib.sha256(item.data).hexdigest(),
        stored_name=stored_name,
        original_name=item.name,
        content_type=item.type.value,
        size=len(item.data),
        uploaded_by_id=actor.id,
        uploaded_by=actor,
    )
    session = db.session()
    session.add(upload)
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


def _folder() -> Path:
    folder = storage_folder()
    if not folder.is_dir():
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(folder, 0o700)  # whatever the umask
    return folder


def _write(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _sync_folder(folder: Path) -> None:
    """Make the new directory entry durable before the row that names it can commit."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _path(upload: Upload) -> Path:
    if not _STORED_NAME.fullmatch(upload.stored_name):
        raise NotFound("The file is missing from storage.")
    return storage_folder() / upload.stored_name


# --- files follow their transaction --------------------------------------------------------


@dataclass
class _Written:
    transaction: SessionTransaction
    path: Path


def _track(session: Session, path: Path) -> None:
    """Tie ``path`` to the session's innermost transaction (begun here if need be)."""
    written: list[_Written] | None = session.info.get(_TRACKED)
    if written is None:
        written = session.info[_TRACKED] = []
        event.listen(session, "before_commit", _committing)
        event.listen(session, "after_commit", _committed)
        event.listen(session, "after_transaction_end", _ended)
    if not session.in_transaction():
        session.begin()
    transaction = session.get_nested_transaction() or session.get_transaction()
    assert transaction is not None
    written.append(_Written(transaction, path))


def _committing(session: Session) -> None:
    """The outermost transaction is about to commit: from now on, whether it did is known only
    if the commit returns (see :func:`_ended`)."""
    if session.get_nested_transaction() is None:
        session.info[_COMMITTING] = session.get_transaction()


def _committed(session: Session) -> None:
    """A savepoint's files now belong to its parent; the outermost commit makes them permanent.

    Called before the committed transaction closes, so it is still the session's current one.
    """
    committed = session.get_nested_transaction() or session.get_transaction()
    written: list[_Written] = session.info.get(_TRACKED, [])
    if committed is None:
        return
    if committed.parent is None:
        written[:] = [item for item in written if item.transaction is not committed]
        return
    for item in written:
        if item.transaction is committed:
            item.transaction = committed.parent


def _ended(session: Session, transaction: SessionTransaction) -> None:
    """A transaction ended; files still tied to it were not committed: delete them, unless its
    commit failed. The connection may have broken after the database committed, and a committed
    row without its file is a loss, where a file without a row is cleared by :func:`remove_orphans`."""
    written: list[_Written] = session.info.get(_TRACKED, [])
    commit_failed = session.info.get(_COMMITTING) is transaction
    if transaction.parent is None:
        session.info.pop(_COMMITTING, None)
    if not any(item.transaction is transaction for item in written):
        return
    if commit_failed:
        kept = [item for item in written if item.transaction is transaction]
        log.warning(
            "Kept %d stored file(s) of a commit that failed, in case the database committed it; "
            "`uploads prune` removes them if no record refers to them",
            len(kept),
        )
        written[:] = [item for item in written if item.transaction is not transaction]
        return
    for item in [item for item in written if item.transaction is transaction]:
        try:
            item.path.unlink(missing_ok=True)
        except OSError:
            log.exception("Could not remove %s after its transaction rolled back", item.path.name)
    written[:] = [item for item in written if item.transaction is not transaction]
