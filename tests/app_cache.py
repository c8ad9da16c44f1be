"""One application per distinct test configuration, handed from test to test.

``create_app`` spends nearly all its time registering the Registry's URL rules (Werkzeug writes
and compiles two URL-builder functions for each), and calling it for every test was a quarter of
the suite's time. The ``app`` fixture now makes one app per distinct ``app_settings`` and hands it
to every test that asks for those settings. What a test sees is still what a new app would show:

- the database: each test works in its own transaction, rolled back after it (``connection``);
- the instance folder (uploads, checkpoints, generated files) is emptied before each test;
- the one Limiter of the process is set up again for the app handed out, as ``create_app`` sets
  it up: enabled or not as that app is configured, with new, empty counts;
- an app that a test changed (a route, hook, error handler, setting, extension, Jinja global or
  any other attribute added, replaced or removed) is not handed out again: it is dropped after
  that test and the next test gets a new one. :func:`fingerprint` is what is compared.

``tests/test_app_cache.py`` proves that rows, settings, counts, sign-ins, messages, files and
clock overrides do not pass from one test to the next.
"""

from __future__ import annotations

import functools
import inspect
import os
import shutil
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.utils import cached_property as werkzeug_cached_property

from registry.extensions import limiter

#: How deep :func:`_shape` looks into dicts, lists and objects' attributes.
_DEPTH = 3


def cache_key(settings: dict[str, Any]) -> str:
    """Test settings as a key: two tests share an app only when their settings read the same."""
    return repr(sorted((str(name), repr(value)) for name, value in settings.items()))


def _shape(value: Any, depth: int = 0) -> Any:
    """What ``value`` is made of, by identity: a structure equal to a later one only when nothing
    in it was added, removed or replaced (to ``_DEPTH`` levels of containers and attributes)."""
    if isinstance(value, (str, bytes, int, float, bool, type(None))):
        return value
    if depth >= _DEPTH:
        return id(value)
    if isinstance(value, dict):
        items = value.items()
        if isinstance(value, defaultdict):  # reading one fills in empty entries
            items = [(k, v) for k, v in items if not _empty(v)]
        return (id(value), tuple(sorted(((repr(k), _shape(v, depth + 1)) for k, v in items), key=repr)))
    if isinstance(value, (list, tuple)):
        return (id(value), tuple(_shape(item, depth + 1) for item in value))
    if isinstance(value, (set, frozenset)):
        return (id(value), frozenset(id(item) for item in value))
    if not callable(value) and not isinstance(value, type):
        try:
            attributes = vars(value)
        except TypeError:  # no __dict__
            return id(value)
        return (id(value), _shape(attributes, depth + 1))
    return id(value)


def _empty(value: Any) -> bool:
    """An empty container, or a dict holding only empty ones."""
    if isinstance(value, dict):
        return all(_empty(item) for item in value.values())
    return isinstance(value, (list, set)) and not value


def fingerprint(app: Flask) -> dict[str, Any]:
    """Everything a test could change on ``app``, one entry per attribute.

    The URL map, the Jinja environment and the settings are read for what they hold (their other
    attributes are caches filled as requests come). The one Limiter is left out: it belongs to the
    process, and is set up again for each test.
    """
    shape: dict[str, Any] = {}
    for name, value in vars(app).items():
        if name == "_got_first_request":
            continue
        if name == "url_map":
            shape[name] = (
                id(value),
                tuple(id(rule) for rule in value.iter_rules()),
                _shape(value.converters),
                value.strict_slashes,
                value.default_subdomain,
            )
        elif name == "jinja_env":
            shape[name] = (
                id(value),
                _shape(value.globals),
                _shape(value.filters),
                _shape(value.tests),
                _shape(value.policies),
                id(value.loader),
                id(value.bytecode_cache),
                value.autoescape,
                id(value.undefined),
            )
        elif name == "config":
            shape[name] = (id(value), repr(sorted(value.items(), key=lambda item: str(item[0]))))
        elif name == "cli":
            shape[name] = (id(value), _shape(value.commands))
        elif name == "extensions":
            # Entries added while serving (the audit keyring, made on first use) are taken out after
            # each test (:func:`forget_additions`), so the next test makes them again.
            shape[name] = {key: _shape(item, 1) for key, item in value.items() if key != "limiter"}
            shape["extensions.limiter"] = _shape(value.get("limiter"))
        else:
            shape[name] = _shape(value)
    return shape


def forget_additions(app: Flask, before: dict[str, Any]) -> None:
    """Take out the extensions added since ``before`` (caches made on first use, such as the audit
    keyring): the app is then as ``create_app`` left it."""
    for key in app.extensions.keys() - before["extensions"].keys() - {"limiter"}:
        del app.extensions[key]


def changes(before: dict[str, Any], after: dict[str, Any], app: Flask) -> list[str]:
    """The attributes that differ; an attribute that appeared is a change unless it is one of the
    app's own lazily computed properties (``logger``, say)."""
    changed = [name for name in before if before[name] != after.get(name, object())]
    for name in after.keys() - before.keys():
        if not _lazy_property(app, name):
            changed.append(name)
    return sorted(changed)


def _lazy_property(app: Flask, name: str) -> bool:
    descriptor = inspect.getattr_static(type(app), name, None)
    return isinstance(descriptor, (werkzeug_cached_property, functools.cached_property))


@dataclass
class CachedApp:
    app: Flask
    instance: Path
    handed_out: int = 0


@dataclass
class AppCache:
    """The apps made so far, by settings, and what happened to them (for the run's summary)."""

    root: Path
    apps: dict[str, CachedApp] = field(default_factory=dict)
    made: int = 0
    reused: int = 0
    dropped: dict[str, list[str]] = field(default_factory=dict)

    def app_for(
        self,
        key: str,
        make: Callable[[], Flask],
        set_instance_path: Callable[[Path], None],
    ) -> CachedApp:
        """The app for ``key``, made by ``make()`` unless one is cached; its instance
        folder emptied and ``set_instance_path`` told of it (tests and commands read it from
        ``REGISTRY_INSTANCE_PATH``, as the app was made with)."""
        cached = self.apps.get(key)
        if cached is not None:
            try:
                _empty_folder(cached.instance)
            except OSError:
                self.drop(key, ["instance folder could not be emptied"])
                cached = None
        if cached is None:
            instance = self.root / f"app{self.made}" / "instance"
            set_instance_path(instance)
            cached = CachedApp(make(), instance)
            self.apps[key] = cached
            self.made += 1
        else:
            set_instance_path(cached.instance)
            self.reused += 1
        cached.handed_out += 1
        prepare(cached.app)
        return cached

    def drop(self, key: str, why: list[str]) -> None:
        cached = self.apps.pop(key, None)
        if cached is None:
            return
        self.dropped.setdefault(", ".join(why), []).append(key)
        dispose(cached.app)

    def close(self) -> None:
        for cached in self.apps.values():
            dispose(cached.app)
        self.apps.clear()

    def summary(self) -> str:
        lines = [f"app cache: {self.made} apps made, {self.reused} tests were handed one already made"]
        for why, keys in sorted(self.dropped.items()):
            lines.append(f"  dropped after a test changed {why}: {len(keys)}")
        return "\n".join(lines)


def prepare(app: Flask) -> None:
    """Put back what the process shares between apps, as ``create_app`` left it for this one."""
    # Each app's create_app set the one Limiter up for itself (enabled or not, new storage); another
    # app made since has set it up for that one.
    limiter.init_app(app)
    # A test may add routes or hooks (Flask refuses once an app has served a request); the app is
    # then dropped after it, as its fingerprint differs.
    app._got_first_request = False


def dispose(app: Flask) -> None:
    database = app.extensions.get("registry.db")
    if database is not None:
        database.engine.dispose()


def _empty_folder(folder: Path) -> None:
    """An empty folder, readable by its owner only, as ``create_app`` makes it."""
    if folder.exists():
        shutil.rmtree(folder)
    os.makedirs(folder, mode=0o700)
