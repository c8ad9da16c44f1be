"""gunicorn's settings, read by itself when ``gunicorn wsgi:app`` runs from the project folder.

The app registers its views, and declares its models, when it first needs them (:class:`registry.Registry`,
:func:`registry.declare_models`), so that commands start quickly. A server should not make its first
visitor wait for that: each worker registers them (the models first) as it starts, before it takes a
request.
"""

from typing import Any


def post_worker_init(worker: Any) -> None:
    register = getattr(worker.wsgi, "register_views", None)
    if register is not None:
        register()
