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
from tests.conftest import migrated_database, settings_for

__all__ = ["live_app", "migrated_database", "serving"]


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
