"""SQLite databases and the instance folder are readable by their owner only (issue 9, §5):
another account on the server must not be able to copy the database, whatever the umask.

The database hashes passwords and encrypts secrets, but it still holds every channel, person,
breach report and audit event.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from registry import create_app, db


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The common umask (022), which would make new files 0644 and folders 0755."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_a_new_sqlite_database_and_its_wal_files_are_private(tmp_path: Path, usual_umask: None) -> None:
    path = tmp_path / "registry.db"
    engine = db.make_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE note (body TEXT)"))
            connection.execute(text("INSERT INTO note VALUES ('kept')"))
        with engine.connect() as connection:  # WAL mode: -wal and -shm exist while it is open
            assert connection.execute(text("SELECT body FROM note")).scalar_one() == "kept"
            files = {candidate.name: mode(candidate) for candidate in tmp_path.iterdir()}
    finally:
        engine.dispose()
    assert files == {
        "registry.db": 0o600,
        "registry.db-wal": 0o600,
        "registry.db-shm": 0o600,
    }


def test_an_existing_database_others_can_read_is_tightened_and_logged(
    tmp_path: Path,
    usual_umask: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = tmp_path / "registry.db"
    sqlite3.connect(path).close()  # SQLite itself, as an older release of the app did
    os.chmod(path, 0o644)
    engine = db.make_engine(f"sqlite:///{path}")
    try:
        with (
            caplog.at_level(logging.WARNING, logger="registry.db"),
            engine.connect() as connection,
        ):
            connection.execute(text("SELECT 1"))
    finally:
        engine.dispose()
    assert mode(path) == 0o600
    [warning] = [record.getMessage() for record in caplog.records if record.name == "registry.db"]
    assert str(path) in warning and "0644" in warning and "0600" in warning


def test_make_run_creates_a_private_instance_folder_and_database(
    tmp_path: Path,
    usual_umask: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What `make run` does on a fresh clone: the app with its development defaults, then `db upgrade`."""
    instance = tmp_path / "instance"
    monkeypatch.setenv("REGISTRY_INSTANCE_PATH", str(instance))
    for name in (
        "REGISTRY_DATABASE_URL",
        "REGISTRY_ENV",
        "REGISTRY_SECRET_KEY",
        "REGISTRY_MASTER_KEYS",
    ):
        monkeypatch.delenv(name, raising=False)
    app = create_app()
    try:
        result = app.test_cli_runner().invoke(args=["db", "upgrade"])
        assert result.exit_code == 0, result.output
    finally:
        db.database(app).engine.dispose()
    assert mode(instance) == 0o700
    assert mode(instance / "registry.db") == 0o600
    loose = {path.name: oct(mode(path)) for path in instance.iterdir() if mode(path) & 0o077}
    assert loose == {}, "files in the instance folder that other users can read"
