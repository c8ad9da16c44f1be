"""The JSON API (``/api/v1``).

Every route is declared once with :func:`registry.api.operations.operation`: its permission, rate
limit, request models and answers; the OpenAPI document is built from those declarations. Each
domain keeps its routes in its own ``api.py``; importing it here registers them on the blueprint
before the blueprint is.
"""

from registry.api import views  # noqa: F401  (the document, audit events, credentials, rosters)
from registry.api.support import bp
from registry.channels import api as channels_api  # noqa: F401
from registry.consent import api as consent_api  # noqa: F401
from registry.media import api as media_api  # noqa: F401
from registry.posts import api as posts_api  # noqa: F401
from registry.screening import api as screening_api  # noqa: F401
from registry.verification import api as verification_api  # noqa: F401
from registry.verification import directory_api  # noqa: F401

__all__ = ["bp"]
