"""Upload storage full or read-only (issue 9, part 5): the sender is told plainly that nothing
was saved (503, a page or problem+json), and nothing is left half-written: no partial file,
no upload row, no ``upload:store`` event, nor the request's own record.

The file system is real: a 64 KB tmpfs mounted over the test app's uploads folder, filled
by the upload itself, or remounted read-only. Mounting needs root (the tests skip, saying
why, where it is not allowed), and the mount is always undone.
"""

from __future__ import annotations

import base64
import io
import logging
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import func, select

from registry import db
from registry.audit.models import AuditAction, AuditEvent
from registry.auth.models import User
from registry.consent.models import LogoConsent
from registry.errors import Unavailable
from registry.uploads import services as uploads
from registry.uploads.models import Upload
from tests.conftest import Browser
from tests.test_consent import _api_body, form
from tests.test_uploads import file, image_bytes

SIZE = 64 * 1024
MESSAGE = (
    "The file could not be saved because the Registry's file storage is full or unavailable. "
    "Nothing was saved. Try again later. The problem has been logged for the administrators."
)


@pytest.fixture
def staff(make_user: Callable[..., User]) -> User:
    return make_user("staff")


@pytest.fixture
def storage(app: Flask, request: pytest.FixtureRequest) -> Path:
    """The uploads folder, on a 64 KB tmpfs of its own."""
    folder = uploads.storage_folder()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system over the uploads folder needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SIZE},mode=0700", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"this machine does not allow mounting a tmpfs over the uploads folder: {mounted.stderr.strip()}")
    request.addfinalizer(lambda: subprocess.run(["umount", str(folder)], check=True))
    return folder


def read_only(folder: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)


def writable(folder: Path) -> None:
    subprocess.run(["mount", "-o", "remount,rw", str(folder)], check=True)


def too_big_for_storage() -> bytes:
    """A real photo-like PNG that is still bigger than the storage after re-encoding."""
    buffer = io.BytesIO()
    Image.effect_noise((200, 150), 90).convert("RGB").save(buffer, "PNG")
    assert len(buffer.getvalue()) > SIZE
    return buffer.getvalue()


def nothing_left(folder: Path) -> None:
    """No file in the folder, no upload row, no ``upload:store`` event."""
    assert list(folder.iterdir()) == []
    session = db.session()
    assert session.execute(select(func.count()).select_from(Upload)).scalar_one() == 0
    stores = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == AuditAction.UPLOAD_STORE.value)
    assert session.execute(stores).scalar_one() == 0


def logged_for_administrators(caplog: pytest.LogCaptureFixture, errno_name: str) -> None:
    """One ERROR naming the errno and the stored (random) name, never the sender's file name."""
    [entry] = [r for r in caplog.records if r.name == "registry.uploads.services" and r.levelno == logging.ERROR]
    text = entry.getMessage()
    assert errno_name in text
    assert re.search(r"\b[0-9a-f]{32}\b", text)
    assert "Jane" not in text and ".png" not in text


# --- through the service -------------------------------------------------------------------


def test_a_full_storage_refuses_with_a_clear_message_and_keeps_nothing(
    app: Flask,
    staff: User,
    storage: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The first file fits, the second fills the disk half-way through: both go."""
    caplog.set_level(logging.ERROR)
    files = [
        file(image_bytes("PNG"), "Jane small.png"),
        file(too_big_for_storage(), "Jane Bloggs.png"),
    ]
    with pytest.raises(Unavailable) as refused:
        uploads.store_all(files, actor=staff, field="artwork")
    assert refused.value.status == 503
    assert refused.value.message == MESSAGE
    nothing_left(storage)
    logged_for_administrators(caplog, "ENOSPC")

    # Nothing of the failed attempt lingers: the space is free again for a file that fits.
    kept = uploads.store(file(image_bytes("PNG"), "small.png"), actor=staff, field="artwork")
    assert [path.name for path in storage.iterdir()] == [kept.stored_name]


def test_a_read_only_storage_refuses_with_a_clear_message_and_recovers(
    app: Flask,
    staff: User,
    storage: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR)
    read_only(storage)
    with pytest.raises(Unavailable) as refused:
        uploads.store(file(image_bytes("PNG"), "Jane Bloggs.png"), actor=staff, field="artwork")
    assert refused.value.message == MESSAGE
    nothing_left(storage)
    logged_for_administrators(caplog, "EROFS")

    writable(storage)
    kept = uploads.store(file(image_bytes("PNG"), "poster.png"), actor=staff, field="artwork")
    assert [path.name for path in storage.iterdir()] == [kept.stored_name]


# --- through a request -----------------------------------------------------------------------


@pytest.mark.parametrize("trouble", ["full", "read-only"])
def test_a_consent_request_gets_a_503_page_and_problem_json_and_nothing_is_saved(
    app: Flask,
    browser_as: Callable[..., Browser],
    staff: User,
    api_token: Callable[[User], dict[str, str]],
    storage: Path,
    trouble: str,
) -> None:
    artwork = too_big_for_storage() if trouble == "full" else image_bytes("PNG")
    if trouble == "read-only":
        read_only(storage)

    page = browser_as(user=staff).post(
        "/consents/new",
        form(artwork=[(io.BytesIO(artwork), "Jane Bloggs.png")]),
        content_type="multipart/form-data",
    )
    assert page.status_code == 503
    assert page.headers["Retry-After"] == "30"
    body = page.get_data(as_text=True)
    assert "Sorry, the service is unavailable" in body
    assert MESSAGE.replace("'", "&#39;") in body
    assert "Traceback" not in body and "Jane Bloggs" not in body

    encoded = base64.b64encode(artwork).decode()
    api = app.test_client().post(
        "/api/v1/consents",
        json=_api_body(artwork=[{"filename": "Jane Bloggs.png", "content_base64": encoded}]),
        headers=api_token(staff),
    )
    assert api.status_code == 503
    assert api.headers["Retry-After"] == "30"
    assert api.mimetype == "application/problem+json"
    problem: dict[str, Any] = api.get_json()
    assert problem["status"] == 503 and problem["title"] == "Sorry, the service is unavailable"
    assert problem["detail"] == MESSAGE

    nothing_left(storage)
    assert db.session().execute(select(func.count()).select_from(LogoConsent)).scalar_one() == 0
