"""Health checks for load balancers and orchestrators.

``/healthz`` (liveness): the process answers; it touches nothing else, so a database
outage never gets healthy processes restarted. ``/readyz`` (readiness): the database
answers a trivial query; 503 with ``Retry-After`` until it does, so no traffic is sent
meanwhile. Both are public, JSON, never cached and never rate limited.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from registry import db
from registry.auth.permissions import public
from registry.errors import Unavailable
from registry.web.throttle import limiter

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
    """Readiness: 200 when the database answers ``SELECT 1``, otherwise 503 with ``Retry-After``."""
    try:
        db.session().execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        if not db.unavailable(exc):
            raise
        db.abandon()
        # A warning, not an error: answering 503 here is the check doing its job, and a load
        # balancer asks every few seconds; failed requests themselves are logged as errors.
        log.warning("Not ready: the database does not answer (%s)", db.describe(exc))
        response = _answer(
            {"status": "unavailable", "detail": "The database does not answer."}, 503
        )
        response.headers["Retry-After"] = str(Unavailable.retry_after)
        return response
    return _answer({"status": "ok"})
