"""The public page listing the Trust's official and formerly official accounts."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from markupsafe import Markup

from registry.auth.permissions import public
from registry.extensions import limited
from registry.verification import directory
from registry.web.throttle import VERIFY_PER_ADDRESS

bp = Blueprint("directory", __name__)

#: How the page groups the official accounts: ``?by=`` one of these (by platform unless it says otherwise).
GROUPINGS = {"platform": "By platform", "department": "By department"}


@bp.route("/directory")
@public
@limited(VERIFY_PER_ADDRESS)
def directory_page() -> str:
    by = request.args.get("by", "")
    by = by if by in GROUPINGS else "platform"
    found = directory.current()
    settings = current_app.extensions["registry.settings"]
    organisation = found.organisation(name=settings.trust_name, website=settings.trust_website)

    def content(listed: directory.Directory) -> bytes:
        return render_template(
            "verification/_directory_body.html",
            directory=listed,
            by=by,
            groupings=GROUPINGS,
            groups=listed.by_department if by == "department" else listed.by_platform,
            organisation=organisation,
            json_ld=listed.json_ld(name=settings.trust_name, website=settings.trust_website),
        ).encode()

    # The lists are the same for every visitor until the public facts change: made once per reading of
    # them, so the page costs the same for a Trust with ten accounts as for one with thousands.
    body = Markup(found.rendered(f"page:{by}", content).content.decode())
    return render_template("verification/directory.html", body=body, organisation=organisation)
