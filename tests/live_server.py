"""A real HTTP server for the browser test: the app on 127.0.0.1, a free port, its own database."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.serving import make_server

from registry import create_app
from tests.conftest import fresh_postgres_database, migrate, settings_for


@contextmanager
def migrated_database(postgres_base: str | None, directory: Path) -> Iterator[str]:
    """A new database migrated to head that nothing else uses: committed work stays in it.

    SQLite in ``directory`` unless ``postgres_base`` names a PostgreSQL server, on which a
    uniquely named database is created and dropped afterwards.
    """
    if postgres_base is None:
        url = f"sqlite:///{directory / 'live.db'}"
        migrate(url)
        yield url
        return
    with fresh_postgres_database(postgres_base) as url:
        migrate(url)
        yield url


def live_app(url: str, instance: Path, **extra: Any) -> Flask:
    """The application as the test suite configures it, on ``url``, committing for real."""
    return create_app(settings_for(url, instance, **extra))


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """Serve ``app`` from a background thread; yield its base address, e.g. ``http://127.0.0.1:41234``."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
