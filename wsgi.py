"""Entry point for ``flask --app wsgi`` and for gunicorn (``gunicorn wsgi:app``).

This process keeps the app for its whole life, so the garbage collector is off while it starts
(starting makes over 100,000 objects that live as long as the process, and the collector went over
them again and again as they were made) and what the start made is then frozen (``gc.freeze``): no
collection goes over it, now or later (nor, where gunicorn preloads the app and forks its workers,
writes to the memory they share). The start leaves some hundreds of objects unreachable; they stay,
once, rather than a collection of the whole heap to find them.
"""

import gc
import sys

collecting = gc.isenabled()
gc.disable()
try:
    from config import ConfigError
    from registry import create_app

    try:
        app = create_app()
    except ConfigError as exc:
        # A one-line reason naming the variable to set, not a traceback.
        sys.exit(f"Social Channel Registry cannot start: {exc}")
    gc.freeze()
finally:
    if collecting:
        gc.enable()
