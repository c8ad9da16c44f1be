"""The JSON API (``/api/v1``).

Each domain whose requests have an API keeps its routes in its own ``api.py``, on this
blueprint, with ``openapi_schemas()`` and ``openapi_paths()`` for the OpenAPI document;
importing it here registers its routes before the blueprint is.
"""

from types import ModuleType

from registry.api.views import bp
from registry.consent import api as consent_api
from registry.media import api as media_api
from registry.posts import api as posts_api
from registry.screening import api as screening_api

#: Domain API modules: their routes are on ``bp``; the OpenAPI document merges their parts.
AREAS: tuple[ModuleType, ...] = (screening_api, posts_api, consent_api, media_api)

__all__ = ["AREAS", "bp"]
