"""The JSON API (``/api/v1``)."""

from registry.api.views import bp

__all__ = ["bp"]
