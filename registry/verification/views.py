"""The public page that checks whether an account is an official Trust channel."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from registry.auth.permissions import public
from registry.channels.platforms import PLATFORMS
from registry.extensions import limited
from registry.verification import services
from registry.web.refusals import attempt
from registry.web.throttle import VERIFY_PER_ADDRESS

bp = Blueprint("verification", __name__)


@bp.route("/verify")
@public
@limited(VERIFY_PER_ADDRESS)
def verify_page() -> tuple[str, int]:
    # A submitted form (even an empty one) is a question; arriving on the page is not.
    asked = any(name in request.args for name in ("url", "platform", "handle"))
    verdict = None
    errors: dict[str, str] = {}
    if asked:
        # The page draws each field's message itself (it has no form object).
        done = attempt(
            lambda: services.verify(
                url=request.args.get("url"), platform=request.args.get("platform"), handle=request.args.get("handle")
            ),
            aside=lambda _field: True,
        )
        verdict, errors = done.result, dict(done.aside)
    return render_template(
        "verification/verify.html",
        verdict=verdict,
        errors=errors,
        platforms=PLATFORMS,
        values={name: request.args.get(name, "")[:2048] for name in ("url", "platform", "handle")},
    ), 422 if errors else 200
