"""Each person's messages, and the outbox of every message (administrators)."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user

from registry import db
from registry.auth.permissions import Permission, requires
from registry.notifications import services
from registry.notifications.models import Delivery
from registry.web.pagination import page_args, paginate

bp = Blueprint("notifications", __name__)


@bp.route("/messages")
@requires(Permission.DASHBOARD_VIEW)
def messages() -> str:
    page, per_page = page_args(25)
    result = paginate(db.session(), services.messages_of(current_user._get_current_object()), page, per_page)
    return render_template("notifications/messages.html", page=result, smtp=services.smtp_configured())


@bp.route("/messages/<int(max=2147483647):message_id>")
@requires(Permission.DASHBOARD_VIEW)
def message(message_id: int) -> str:
    found = services.get_message(current_user._get_current_object(), message_id)
    if found is None:
        abort(404, "There is no such message for you.")
    return render_template("notifications/message.html", message=found)


@bp.route("/outbox")
@requires(Permission.OUTBOX_READ)
def outbox() -> str:
    delivery = services.chosen_delivery(request.args.get("delivery", ""))
    page, per_page = page_args(50)
    result = paginate(db.session(), services.outbox(delivery), page, per_page)
    return render_template(
        "notifications/outbox.html",
        page=result,
        deliveries=list(Delivery),
        delivery=delivery or "",
        smtp=services.smtp_configured(),
    )
