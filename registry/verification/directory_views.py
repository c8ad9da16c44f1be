"""The public page listing the Trust's official and formerly official accounts."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from registry.auth.permissions import public
from registry.extensions import limiter
from registry.verification import directory
from registry.web.throttle import VERIFY_PER_ADDRESS

bp = Blueprint("directory", __name__)

#: How the page groups the official accounts: ``?by=`` one of these (by platform unless it says otherwise).
GROUPINGS = {"platform": "By platform", "department": "By department"}


@bp.route("/directory")
@public
@limiter.limit(VERIFY_PER_ADDRESS)
def directory_page() -> str:
    by = request.args.get("by", "")
    by = by if by in GROUPINGS else "platform"
    found = directory.current()
    settings = current_app.extensions["registry.settings"]
    return render_template(
        "verification/directory.html",
        directory=found,
        by=by,
        groupings=GROUPINGS,
        groups=found.by_department if by == "department" else found.by_platform,
        organisation=found.organisation(name=settings.trust_name, website=settings.trust_website),
        json_ld=found.json_ld(name=settings.trust_name, website=settings.trust_website),
    )
