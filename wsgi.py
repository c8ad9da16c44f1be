"""Entry point for ``flask --app wsgi`` and for gunicorn (``gunicorn wsgi:app``).

It starts the process, so it also sets the garbage collector for a long-lived process: starting
creates some 200,000 objects that live as long as the process (modules, classes, mappers, routes),
and the collector, left on, went over them again and again as they were made (about a third of the
start). It is off while the app is made; one collection then drops what the start left over, and
``gc.freeze`` sets what remains aside, so that no later collection goes over it again (nor, in
gunicorn's forked workers, touches its memory).
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
    gc.collect()
    gc.freeze()
finally:
    if collecting:
        gc.enable()
