"""Jinja set-up: NHS.UK frontend templates, globals and the filters pages share."""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from flask import Flask, current_app, request, url_for
from flask_login import current_user
from jinja2 import ChainableUndefined, ChoiceLoader, FileSystemLoader, PackageLoader
from markupsafe import Markup

from registry import clock
from registry.auth.permissions import Permission, Role
from registry.text import noun, plural, uk_date, uk_datetime


def iso(value: dt.datetime | None) -> str:
    return value.astimezone(dt.UTC).isoformat() if value else ""


def url_with(**changes: Any) -> str:
    """The current page's address with some query parameters changed (None removes one)."""
    view_args = request.view_args or {}
    # Only ordinary query parameters: never url_for's own (_external, _anchor…) or the view's.
    args: dict[str, Any] = {
        key: value
        for key, value in request.args.items()
        if not key.startswith("_") and key != "endpoint" and key not in view_args
    }
    for key, value in changes.items():
        if value is None or value == "":
            args.pop(key, None)
        else:
            args[key] = value
    return url_for(request.endpoint or "web.home", **view_args, **args)


def navigation() -> list[dict[str, Any]]:
    """Header links for what the signed-in user's roles allow; for visitors not signed in, the public pages."""
    here = request.endpoint or ""
    if not current_user.is_authenticated:
        public = [("verification.verify_page", "Check an account"), ("directory.directory_page", "Official accounts")]
        return [{"href": url_for(endpoint), "text": text, "current": here == endpoint} for endpoint, text in public]
    entries = [
        ("web.home", "Home", Permission.DASHBOARD_VIEW),
        ("web.my_requests", "Your requests", Permission.DASHBOARD_VIEW),
        ("web.work_queue", "Work queue", Permission.WORK_QUEUE),
        ("channels.inventory", "Channels", Permission.CHANNEL_READ_ALL),
        ("consent.register", "Logo consents", Permission.CONSENT_REQUEST),
        ("posts.index", "Promotional posts", Permission.POST_REQUEST),
        ("media.index", "Media contacts", Permission.MEDIA_CONTACT_REPORT),
        ("breaches.index", "Breach reports", Permission.BREACH_REPORT),
        ("vault.overview", "Custody", Permission.CREDENTIAL_READ),
        ("roster.index", "Rosters", Permission.ROSTER_READ),
        ("monitoring.index", "Monitoring", Permission.MONITORING_READ),
        ("reports.index", "Monthly reports", Permission.REPORT_READ),
        ("audit.index", "Audit trail", Permission.AUDIT_READ),
        ("auth.users", "Users", Permission.USER_MANAGE),
        ("notifications.outbox", "Outbox", Permission.OUTBOX_READ),
        ("alerts.index", "Webhooks", Permission.WEBHOOK_READ),
        # Comms and auditors: every emergency access (comms open one from there); on call: opening one.
        ("breakglass.index", "Emergency access", Permission.BREAK_GLASS_READ_ALL),
    ]
    if not current_user.can(Permission.BREAK_GLASS_READ_ALL):
        entries.append(("breakglass.start", "Emergency access", Permission.BREAK_GLASS_OPEN))
    return [
        {"href": url_for(endpoint), "text": text, "current": here == endpoint}
        for endpoint, text, permission in entries
        if current_user.can(permission)
    ]


def requires_two_factor(user: Any) -> bool:
    """:func:`registry.auth.mfa.requires_two_factor`, for the templates (the start imports no model,
    and mfa imports the accounts' models)."""
    from registry.auth import mfa

    return mfa.requires_two_factor(user)


class Tagged(Protocol):
    """A status that knows its words and its NHS tag colour (a request's, a monitoring finding's)."""

    @property
    def label(self) -> str: ...

    @property
    def colour(self) -> str: ...


def status_tag(status: Tagged) -> Markup:
    """An NHS tag for a status, in the words and colour its own table gives it."""
    return Markup('<strong class="nhsuk-tag nhsuk-tag--{}">{}</strong>').format(status.colour, status.label)


def init_app(app: Flask) -> None:
    app.jinja_options = {
        **app.jinja_options,
        "undefined": ChainableUndefined,
        # The design system's macros live in .jinja files, which Flask would not
        # autoescape: escape everything, everywhere.
        "autoescape": True,
        "loader": ChoiceLoader(
            [
                FileSystemLoader(app.template_folder or "templates"),
                PackageLoader("nhsuk_frontend_jinja"),
            ]
        ),
    }
    app.jinja_env.filters.update(
        uk_datetime=uk_datetime, uk_date=uk_date, iso=iso, status_tag=status_tag, plural=plural, noun=noun
    )
    app.jinja_env.globals.update(
        url_with=url_with,
        navigation=navigation,
        Permission=Permission,
        Role=Role,
        requires_two_factor=requires_two_factor,
        today=clock.today,
        settings=lambda: current_app.extensions["registry.settings"],
    )
