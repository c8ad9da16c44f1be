"""Health checks for load balancers and orchestrators.

``/healthz`` (liveness): the process answers; it touches nothing else, so a database
outage never gets healthy processes restarted. ``/readyz`` (readiness): the database
answers with the Registry's schema version; 503 with ``Retry-After`` until it does, so
no traffic is sent meanwhile. (``SELECT 1`` alone succeeds on an empty database: a
PostgreSQL database nobody migrated, or the empty SQLite file made in place of one on
a volume not mounted yet, where every page would fail.) Both are public, JSON, never
cached and never rate limited.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, jsonify
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError, SQLAlchemyError

from registry import db
from registry.auth.permissions import public
from registry.errors import Unavailable
from registry.extensions import limiter

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)
limiter.exempt(bp)


def _answer(body: dict[str, Any], status: int = 200) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/healthz")
@public
def healthz() -> Response:
    """Liveness: 200 while the process runs."""
    return _answer({"status": "ok"})


@bp.route("/readyz")
@public
def readyz() -> Response:
    """Readiness: 200 when the database answers with the Registry's schema version (Alembic's),
    otherwise 503 with ``Retry-After``."""
    try:
        version = db.session().execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()
    except SQLAlchemyError as exc:
        # A missing table is an OperationalError in SQLite, a ProgrammingError in PostgreSQL.
        if not (db.unavailable(exc) or isinstance(exc, ProgrammingError)):
            raise
        version = None
        db.abandon()
        # A warning, not an error: answering 503 here is the check doing its job, and a load
        # balancer asks every few seconds; failed requests themselves are logged as errors.
        log.warning("Not ready: the database does not answer (%s)", db.describe(exc))
    if version is None:
        response = _answer(
            {
                "status": "unavailable",
                "detail": "The database does not answer, or has no Registry in it yet.",
            },
            503,
        )
        response.headers["Retry-After"] = str(Unavailable.retry_after)
        return response
    return _answer({"status": "ok"})
