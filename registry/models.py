"""Every model, imported once so the metadata (and Alembic) sees the whole schema and the first query,
a command's or a view's, can configure every mapper: each package's ``models`` module
(``registry/<package>/models.py``), found as :func:`registry.lifecycle.kind.discover` finds the kinds,
so that a new one needs no edit here. The models alone: not the kinds' declarations, nor the API's
schemas that some of those bring (the views import them when they are registered)."""

import importlib
from pathlib import Path

from registry.db import Base

PACKAGES = Path(__file__).resolve().parent


def declare_every_model() -> None:
    for found in sorted(PACKAGES.glob("*/models.py")):
        importlib.import_module(f"registry.{found.parent.name}.models")


declare_every_model()

__all__ = ["Base"]
