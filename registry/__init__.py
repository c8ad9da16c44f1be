"""The Social Channel Registry: the application factory.

It reads as a table of contents: load the configuration, then initialise each
piece of infrastructure, then register each domain's commands, and its views when
the app first needs them (:class:`Registry`). The models are declared when first
needed as well (:func:`declare_models`).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from inspect import CO_COROUTINE
from pathlib import Path
from types import FunctionType, MethodType
from typing import TYPE_CHECKING, Any

import click
from flask import Flask
from flask.ctx import RequestContext
from flask.sansio.blueprints import Blueprint
from sqlalchemy import event
from sqlalchemy.orm import Mapper
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import Map

import config as registry_config

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = PROJECT_ROOT / "templates"


def declare_models() -> None:
    """Declare every model (``registry.models``: each package's ``models`` module), once.

    Declaring them (some 50 mapped classes, their tables and the modules they import) was a third of
    the start, and a command's ``--help`` or a process that serves no page needs none. They are
    declared before any of them is used: before each of the app's commands runs, by the registration
    of the views (the first request: :class:`Registry`), and in any case by the first configuration
    of the mappers (a query, a new row: every relationship must find its class), so a model imported
    on its own still joins the others. Declared in one order, ``registry.models``'s, whatever is used
    first: the account signals' receivers, connected as the packages are imported, run in that order.
    """
    import registry.models  # noqa: F401


# Any first use of a mapped class (a query, a new row) configures the mappers: every model first.
event.listen(Mapper, "before_configured", declare_models)


def create_app(overrides: Mapping[str, Any] | None = None) -> Registry:
    """Build the application. ``overrides`` stand in for ``REGISTRY_*`` variables (tests)."""
    with collected_once():
        return build_app(overrides)


class Registry(Flask):
    """The Registry's Flask app: its views are registered when the app first needs them.

    Every process makes the app, and most never serve a page: a command, ``flask --help``. The views
    (some 190 URL rules and every module behind them, the API's models among them) were most of the
    start. They are registered, all at once, by the first read of the URL map, the view functions or
    the blueprints, and by every request before its context is made (Flask counts even a request it
    refuses before matching its URL as served, and allows no setup after one): the first request, a
    test client's or ``test_request_context``'s, ``url_for`` outside a request, ``flask routes``.
    :meth:`register_views` does it now; a server that would rather make them before its first request
    calls it. The commands are registered as the app is made, so
    ``flask --help`` lists them all.
    """

    _views_pending: Callable[[Flask], None] | None = None
    _views_thread: int | None = None
    _views_failed: BaseException | None = None
    _views_lock = threading.Lock()

    def defer_views(self, register: Callable[[Flask], None]) -> None:
        """``register(app)`` registers the views, when they are first needed."""
        self._views_lock = threading.Lock()
        self._views_pending = register

    def views_registered(self) -> bool:
        return self._views_pending is None

    def register_views(self) -> None:
        """Register the views unless they are: once, by the first thread to need them (any other
        waits for it). Views that failed to register fail every later use of the app as well."""
        if self.views_registered() or self._views_thread == threading.get_ident():
            return  # or being registered by this thread (Flask reads its own map as it adds to it)
        declare_models()  # before any view module imports some of them
        with self._views_lock:
            if self._views_failed is not None:
                raise RuntimeError("the Registry's views could not be registered") from self._views_failed
            register = self._views_pending
            if register is None:
                return  # by the thread this one waited for
            self._views_thread = threading.get_ident()
            try:
                with collected_once():
                    register(self)
            except BaseException as exc:
                self._views_failed = exc
                raise
            finally:
                self._views_thread = None
            self._views_pending = None

    def request_context(self, environ: WSGIEnvironment) -> RequestContext:
        """Every request (the server's, a test client's, ``test_request_context``) registers the views
        first, whatever it does next: one refused before Flask reads its URL map (a Host not among
        ``TRUSTED_HOSTS``) still counts as served, after which Flask forbids adding a view."""
        self.register_views()
        return super().request_context(environ)

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Flask's, answered at once for a plain ``def`` function or a method of one: Flask asks it of every
        hook and view on every request, and ``inspect.iscoroutinefunction`` unwraps and inspects each (about
        a twentieth of a public verification). Its answer for those is their code's coroutine flag (or a
        mark from ``inspect.markcoroutinefunction``); anything else goes to Flask. Nothing is kept: hooks
        made for one request (``after_this_request``) are new functions every time."""
        plain = func.__func__ if type(func) is MethodType else func
        if (
            type(plain) is FunctionType
            and not plain.__code__.co_flags & CO_COROUTINE
            and "_is_coroutine_marker" not in plain.__dict__
        ):
            return func
        return super().ensure_sync(func)

    # Flask's own attributes that the views fill: kept where Flask keeps them (the instance's
    # ``__dict__``), and read after the views are registered.

    @property
    def url_map(self) -> Map:
        self.register_views()
        return vars(self)["url_map"]  # type: ignore[no-any-return]

    @url_map.setter
    def url_map(self, value: Map) -> None:
        vars(self)["url_map"] = value

    @property
    def view_functions(self) -> dict[str, Any]:
        self.register_views()
        return vars(self)["view_functions"]  # type: ignore[no-any-return]

    @view_functions.setter
    def view_functions(self, value: dict[str, Any]) -> None:
        vars(self)["view_functions"] = value

    @property
    def blueprints(self) -> dict[str, Blueprint]:
        self.register_views()
        return vars(self)["blueprints"]  # type: ignore[no-any-return]

    @blueprints.setter
    def blueprints(self, value: dict[str, Blueprint]) -> None:
        vars(self)["blueprints"] = value


@contextlib.contextmanager
def collected_once() -> Iterator[None]:
    """The garbage collector off while the app is made, then one collection.

    Making the app creates over 100,000 objects that live as long as it does (modules, classes,
    mappers, routes); left on, the collector went over them again and again as they were made, a
    fifth to a third of the start. Once is enough: what it keeps moves to the oldest generation. A
    caller that has turned the collector off itself decides what follows (``wsgi.py`` freezes).
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
    gc.collect()


def build_app(overrides: Mapping[str, Any] | None) -> Registry:
    app = Registry(
        __name__,
        instance_path=os.environ.get("REGISTRY_INSTANCE_PATH") or str(PROJECT_ROOT / "instance"),
        template_folder=str(TEMPLATES),
        static_folder="static",
        static_url_path="/assets",
    )
    init_instance_folder(app)
    settings = load_configuration(app, overrides)
    init_logging(app)
    init_proxy(app)

    from registry import db, vault
    from registry.auth import guard, oidc, sessions
    from registry.notifications import smtp
    from registry.web import errors, requests, security, templating, throttle

    app.request_class = requests.Request  # a view may keep its uploads off the disk (registry/web/requests.py)
    app.response_class = requests.Response  # sent without checking each header twice
    db.init_app(app, settings.database_url)
    vault.init_app(app)
    templating.init_app(app)
    security.init_app(app)
    sessions.init_app(app)
    oidc.init_app(app)
    guard.init_app(app)
    throttle.init_app(app)
    errors.init_app(app)
    smtp.init_app(app)

    register_commands(app)
    declare_static_public(app)
    app.defer_views(register_blueprints)
    return app


def init_instance_folder(app: Flask) -> None:
    """Create the instance folder, when it is missing, readable by its owner only (0700): it holds
    generated keys and the SQLite database. An existing folder is left as it is."""
    try:
        os.makedirs(app.instance_path, mode=0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        # Deployments that keep nothing in it may run without one; what needs it reports its own error.
        logging.getLogger(__name__).warning("Cannot create the instance folder %s: %s", app.instance_path, exc.strerror)


def load_configuration(app: Flask, overrides: Mapping[str, Any] | None) -> registry_config.Settings:
    app.config.from_prefixed_env(registry_config.ENV_PREFIX)
    if overrides:
        app.config.update(overrides)
    settings = registry_config.load_settings(app.config, Path(app.instance_path))
    app.config.update(settings.flask_config())
    if overrides:
        app.config.update(overrides)  # explicit Flask settings (tests) win over derived ones
    app.extensions["registry.settings"] = settings
    return settings


def init_logging(app: Flask) -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def init_proxy(app: Flask) -> None:
    """Trust ``X-Forwarded-*`` from this many proxies (``REGISTRY_TRUSTED_PROXIES``)."""
    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]


def register_blueprints(app: Flask) -> None:
    from registry.account_health.views import bp as account_health
    from registry.alerts.views import bp as alerts
    from registry.api import bp as api
    from registry.audit.views import bp as audit
    from registry.auth import admin, import_views  # noqa: F401  (user administration: routes on the auth blueprint)
    from registry.auth import views as auth_views  # noqa: F401  (sign-in: its routes are on the auth blueprint)
    from registry.auth.blueprint import bp as auth
    from registry.breaches.views import bp as breaches
    from registry.breakglass.views import bp as breakglass
    from registry.channels import import_views as channel_import_views  # noqa: F401  (routes on the channels blueprint)
    from registry.channels.views import bp as channels
    from registry.consent.views import bp as consent
    from registry.media.views import bp as media
    from registry.monitoring.views import bp as monitoring
    from registry.notifications.views import bp as notifications
    from registry.posts.views import bp as posts
    from registry.reports.views import bp as reports
    from registry.roster.views import bp as roster
    from registry.scim.views import bp as scim
    from registry.screening.views import bp as screening
    from registry.vault import import_views as vault_import  # noqa: F401  (routes on the vault blueprint)
    from registry.vault.views import bp as vault
    from registry.verification.directory_views import bp as directory
    from registry.verification.views import bp as verification
    from registry.web.health import bp as health
    from registry.web.views import bp as web

    for blueprint in (
        health,
        web,
        auth,
        channels,
        account_health,
        vault,
        roster,
        monitoring,
        notifications,
        alerts,
        screening,
        posts,
        consent,
        media,
        breaches,
        breakglass,
        reports,
        verification,
        directory,
        audit,
        api,
        scim,
    ):
        app.register_blueprint(blueprint)


def declare_static_public(app: Flask) -> None:
    """The design system's CSS, JavaScript and icons are public, like any website's."""
    from registry.auth.permissions import public

    serve = app.view_functions["static"]

    @functools.wraps(serve)
    def static(**kwargs: Any) -> Any:
        return serve(**kwargs)

    app.view_functions["static"] = public(static)


def register_commands(app: Flask) -> None:
    from registry import cli
    from registry.scim.cli import scim_cli

    cli.init_app(app)
    app.cli.add_command(scim_cli)
    declare_models_first(app.cli)


def declare_models_first(group: click.Group) -> None:
    """Each command of ``group`` declares every model before it runs (before its services, which it
    imports as it runs, import some of them): listing the commands (``--help``) declares none."""
    for command in group.commands.values():
        if isinstance(command, click.Group):
            declare_models_first(command)
        elif command.callback is not None:
            command.callback = with_models_declared(command.callback)


#: Callbacks that declare the models first. The commands are module-level objects, shared by every
#: app a process makes (the tests make hundreds): each is wrapped once, not once more per app.
_MODELS_FIRST: set[Callable[..., Any]] = set()


def with_models_declared(callback: Callable[..., Any]) -> Callable[..., Any]:
    if callback in _MODELS_FIRST:
        return callback

    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        declare_models()
        return callback(*args, **kwargs)

    _MODELS_FIRST.add(run)
    return run
