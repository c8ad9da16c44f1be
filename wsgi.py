"""Entry point for ``flask --app wsgi`` and for gunicorn (``gunicorn wsgi:app``)."""

import sys

from config import ConfigError
from registry import create_app

try:
    app = create_app()
except ConfigError as exc:
    # A one-line reason naming the variable to set, not a traceback.
    sys.exit(f"Social Channel Registry cannot start: {exc}")
