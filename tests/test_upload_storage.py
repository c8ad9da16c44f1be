"""Where uploaded files are kept (issue 12): in the database, beside their row, never on the disk of the
host that received them. So any app server on any host serves any file, a file commits or rolls back
with the request that brought it, and a host whose disk cannot be written still takes uploads.

The disk is taken away for real: the app's instance folder is bind-mounted read-only over itself.
Mounting needs root (the test skips, saying why, where it is not allowed), and the mount is always
undone. (Two app servers sharing one database are in test_two_hosts.py.)
"""

from __future__ import annotations

import base64
import io
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from registry import db
from registry.auth.models import User
from registry.uploads import services as uploads
from registry.uploads.models import Upload, UploadContent
from tests.conftest import Browser
from tests.test_consent import _api_body, form
from tests.test_uploads import image_bytes


@pytest.fixture
def staff(make_user: Callable[..., User]) -> User:
    return make_user("staff")


@pytest.fixture
def read_only_instance(app: Flask, request: pytest.FixtureRequest) -> Path:
    """The app's instance folder, read-only from here on."""
    folder = Path(app.instance_path)
    if os.geteuid() != 0:
        pytest.skip("making the instance folder read-only with a bind mount needs root")
    bound = subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True, text=True, check=False)
    if bound.returncode != 0:
        pytest.skip(f"this machine does not allow bind mounts: {bound.stderr.strip()}")
    request.addfinalizer(lambda: subprocess.run(["umount", str(folder)], check=True))
    subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], check=True)
    with pytest.raises(OSError):
        (folder / "probe").write_bytes(b"")
    return folder


def test_uploads_need_nothing_of_the_hosts_disk(
    app: Flask,
    browser_as: Callable[..., Browser],
    staff: User,
    api_token: Callable[[User], dict[str, str]],
    read_only_instance: Path,
) -> None:
    """With the instance folder read-only, a consent request with artwork is accepted through the page
    and through the API, and each file downloads as it was stored, from the database."""
    before = sorted(read_only_instance.iterdir())
    poster = image_bytes("PNG", size=(60, 40))
    browser = browser_as(user=staff)
    page = browser.post(
        "/consents/new", form(artwork=[(io.BytesIO(poster), "poster.png")]), content_type="multipart/form-data"
    )
    assert page.status_code == 302, page.get_data(as_text=True)

    api = app.test_client().post(
        "/api/v1/consents",
        json=_api_body(artwork=[{"filename": "screen.png", "content_base64": base64.b64encode(poster).decode()}]),
        headers=api_token(staff),
    )
    assert api.status_code == 201, api.get_json()

    stored = db.session().scalars(select(Upload).order_by(Upload.id)).all()
    assert len(stored) == 2
    for upload in stored:
        data = db.session().get_one(UploadContent, upload.id).data
        assert uploads.read_bytes(upload) == data
    reference = api.get_json()["request_reference"]
    download = app.test_client().get(f"/api/v1/consents/{reference}/artwork/{stored[1].id}", headers=api_token(staff))
    assert download.status_code == 200
    assert download.get_data() == db.session().get_one(UploadContent, stored[1].id).data
    assert sorted(read_only_instance.iterdir()) == before
