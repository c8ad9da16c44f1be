"""Test fixtures: a database migrated once per run, an app per configuration (handed from test to
test, tests/app_cache.py), each test in a transaction that is rolled back, factories for users
and channels, and sign-in helpers.

The database is SQLite unless ``REGISTRY_TEST_DATABASE_URL`` names a PostgreSQL
server; then a fresh database is created on it for this run and dropped after.
"""

from __future__ import annotations

import contextvars
import os
import re
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlsplit

import pytest
from alembic import command
from flask import Flask
from flask.testing import FlaskClient
from jinja2 import FileSystemBytecodeCache
from sqlalchemy import create_engine, delete, event, text
from sqlalchemy.engine import Connection, Engine, make_url

import config as registry_config
from registry import create_app, db
from registry.audit.services import Actor
from registry.auth import mfa, passwords, setup_links
from registry.auth import services as accounts
from registry.auth.models import SetupLink, SetupReason, User, UserTotp
from registry.auth.passwords import Argon2Profile
from registry.channels import services as channels
from registry.channels.models import Channel
from registry.cli import alembic_config
from registry.notifications.models import Notification
from tests.app_cache import AppCache, cache_key, changes, fingerprint, forget_additions
from tests.migrated_databases import MigratedTemplates

# The browser tests' shared checks (a plugin their modules load) report failures as test modules do.
pytest.register_assert_rewrite("tests.browser_support")

TEST_PASSWORD = "correct horse battery staple 42"
CHEAP_ARGON2 = Argon2Profile(memory_cost=1024, iterations=1, lanes=1)
ROLES = ("staff", "manager", "comms", "auditor", "admin")


def _postgres_url() -> str | None:
    return os.environ.get("REGISTRY_TEST_DATABASE_URL") or None


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty database for this run, migrated to head."""
    with migrated_database(_postgres_url(), tmp_path_factory.mktemp("db"), "registry.db") as url:
        yield url


class fresh_postgres_database:
    """Create a uniquely named PostgreSQL database beside ``base`` and drop it afterwards: empty, or a
    copy of the database named ``template``."""

    def __init__(self, base: str, template: str | None = None) -> None:
        self.base = make_url(base)
        self.name = f"registry_test_{uuid.uuid4().hex[:12]}"
        self.template = template

    def __enter__(self) -> str:
        self.admin = create_engine(self.base, isolation_level="AUTOCOMMIT")
        copy_of = f' TEMPLATE "{self.template}"' if self.template else ""
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{self.name}"{copy_of}'))
        return self.base.set(database=self.name).render_as_string(hide_password=False)

    def __exit__(self, *exc: object) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


def migrate(url: str, revision: str = "head") -> None:
    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            cfg = alembic_config(url)
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)
            connection.commit()
    finally:
        engine.dispose()


#: The run's migrated templates, which :func:`migrated_database` copies (tests/migrated_databases.py).
TEMPLATES = MigratedTemplates(migrate)


@contextmanager
def migrated_database(postgres_base: str | None, directory: Path, file_name: str = "live.db") -> Iterator[str]:
    """A new database migrated to head that nothing else uses: committed work stays in it.

    SQLite (``file_name`` in ``directory``) unless ``postgres_base`` names a PostgreSQL server, on which a
    uniquely named database is created and dropped afterwards. Either is a copy of the run's
    template (:data:`TEMPLATES`), with an audit chain id of its own as a new migration gives it.
    """
    if postgres_base is None:
        yield TEMPLATES.sqlite_copy(directory / file_name)
        return
    with fresh_postgres_database(postgres_base, TEMPLATES.postgres_template(postgres_base)) as url:
        engine = create_engine(url)
        try:
            with engine.begin() as connection:
                connection.execute(text("UPDATE audit_anchor SET chain_id = :id"), {"id": str(uuid.uuid4())})
        finally:
            engine.dispose()
        yield url


def _drop_postgres_database(base: str, name: str) -> None:
    admin = create_engine(make_url(base), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def pytest_sessionfinish(session: pytest.Session) -> None:
    TEMPLATES.close(_drop_postgres_database)


#: One audit key for the whole run, as a deployment has: every test app can check the trail
#: that another app (or a ``flask`` process given it) wrote on the same database.
TEST_AUDIT_KEYS = registry_config.generate_master_key_entry()


def settings_for(url: str, *_ignored: Any, **extra: Any) -> dict[str, Any]:
    """Settings for a test app on ``url`` (the instance folder comes from REGISTRY_INSTANCE_PATH)."""
    return {
        "ENV": "testing",
        "DATABASE_URL": url,
        "SECRET_KEY": secrets.token_urlsafe(32),
        "MASTER_KEYS": registry_config.generate_master_key_entry(),
        "AUDIT_KEYS": TEST_AUDIT_KEYS,
        "FINGERPRINT_KEYS": registry_config.generate_master_key_entry(),
        "ARGON2_PROFILE": CHEAP_ARGON2,
        "RATELIMIT_ENABLED": False,
        "TESTING": True,
        **extra,
    }


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = db.make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def app_settings() -> dict[str, Any]:
    """Override in a test module to change the app's settings."""
    return {}


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    connection = engine.connect()
    transaction = connection.begin()
    yield connection
    transaction.rollback()
    connection.close()


class IsolatedClient(FlaskClient):
    """Each request runs in a fresh context, as in production.

    The test itself holds an app context (for factories and assertions); without
    this, Flask would reuse it for requests and share ``g`` between them.
    """

    def open(self, *args: Any, **kwargs: Any):  # type: ignore[no-untyped-def]
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture(scope="session")
def template_cache(tmp_path_factory: pytest.TempPathFactory) -> FileSystemBytecodeCache:
    """Compiled templates shared by every test's app in this run (compiling them dominates page tests).

    A fresh folder per run: the cache keys on the template source, not on the
    environment's options, so bytecode from another configuration must not be reused.
    """
    return FileSystemBytecodeCache(str(tmp_path_factory.mktemp("jinja-bytecode")))


@pytest.fixture(scope="session")
def app_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppCache]:
    """The apps made in this run, one per distinct configuration (see tests/app_cache.py)."""
    global APP_CACHE
    APP_CACHE = AppCache(tmp_path_factory.mktemp("apps"))
    yield APP_CACHE
    APP_CACHE.close()


APP_CACHE: AppCache | None = None


@pytest.fixture
def app(
    database_url: str,
    connection: Connection,
    app_settings: dict[str, Any],
    app_cache: AppCache,
    template_cache: FileSystemBytecodeCache,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Flask]:
    """The application, its sessions bound to this test's rolled-back transaction.

    Made once for each distinct configuration (``app_settings`` and any ``REGISTRY_*`` variable a
    test set) and handed to each test that asks for it, with an empty instance folder and new
    rate-limit counts; dropped when a test changes it (tests/app_cache.py).
    """
    environment = {name: value for name, value in os.environ.items() if name.startswith("REGISTRY_")}
    environment.pop("REGISTRY_INSTANCE_PATH", None)
    key = cache_key({**app_settings, "environment": environment})

    def make() -> Flask:
        made = create_app(settings_for(database_url, **app_settings))
        made.register_views()  # as the first request would: the app handed out is the whole app
        made.jinja_env.bytecode_cache = template_cache
        made.test_client_class = IsolatedClient
        return made

    def instance_path(folder: Path) -> None:
        monkeypatch.setenv("REGISTRY_INSTANCE_PATH", str(folder))

    app = app_cache.app_for(key, make, instance_path).app
    database = app.extensions["registry.db"]
    database.bind_override = connection
    before = fingerprint(app)
    try:
        with app.app_context():
            yield app
            db.session().close()
    finally:
        forget_additions(app, before)
        changed = changes(before, fingerprint(app), app)
        database.bind_override = None
        if changed:
            app_cache.drop(key, changed)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def session(app: Flask):  # type: ignore[no-untyped-def]
    return db.session()


@pytest.fixture
def make_user(app: Flask) -> Callable[..., User]:
    counter = iter(range(1, 1_000_000))

    def make(
        *roles: str,
        email: str | None = None,
        name: str | None = None,
        password: str = TEST_PASSWORD,
        two_factor: bool | None = None,
    ) -> User:
        """A user with these roles. Comms and admins have two-factor sign-in set up unless
        ``two_factor=False`` (their app's secret is in ``TOTP_SECRETS[user.id]``)."""
        number = next(counter)
        chosen = roles or ("staff",)
        # The strength check (zxcvbn) of the one test password is made once per run
        # (``test_password_is_strong``), not for each of the thousands of people tests make.
        known = password == TEST_PASSWORD
        user = accounts.create_user(
            email=email or f"{'-'.join(chosen)}{number}@example.nhs.uk",
            name=name or f"{chosen[0].capitalize()} Person {number}",
            roles=chosen,
            password=None if known else password,
            actor=Actor.system("tests"),
        )
        if known:
            user.password_hash = passwords.hash_password(TEST_PASSWORD)
        if two_factor if two_factor is not None else mfa.requires_two_factor(user):
            enrol_two_factor(user)
        db.session().commit()
        return user

    return make


@pytest.fixture
def make_channel(app: Flask, make_user: Callable[..., User]) -> Callable[..., Channel]:
    """A channel requested by ``requester`` (a new staff member by default), moved to ``status``."""
    paths = {
        "requested": [],
        "info_requested": ["request_info"],
        "approved": ["approve"],
        "active": ["approve", "activate"],
        "suspended": ["approve", "activate", "suspend"],
        "retired": ["approve", "activate", "retire"],
        "rejected": ["reject"],
        "withdrawn": ["withdraw"],
    }
    state: dict[str, User] = {}
    counter = iter(range(1, 1_000_000))

    def make(
        status: str = "requested",
        *,
        platform: str = "x",
        handle: str | None = None,
        requester: User | None = None,
        department: str = "Maternity",
        display_name: str | None = None,
    ) -> Channel:
        number = next(counter)
        # Made once, on first need: ``setdefault(key, make_user(…))`` would make (and enrol) another
        # person for every channel, one who then receives every message sent to comms.
        if requester is None:
            if "requester" not in state:
                state["requester"] = make_user("staff")
            requester = state["requester"]
        if "decider" not in state:
            state["decider"] = make_user("comms")
        decider = state["decider"]
        channel = channels.request_channel(
            channels.ChannelRequest(
                platform=platform,
                handle=handle or f"trust_test_{number}",
                display_name=display_name or f"Test channel {number}",
                department=department,
                purpose="Updates for patients.",
                audience="Patients and visitors.",
                policy_acknowledged=True,
            ),
            requester,
        )
        for action in paths[status]:
            actor = requester if action == "withdraw" else decider
            channels.transition(channel, action, actor, reason="Because the test says so.")
        db.session().commit()
        return channel

    return make


_CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str | None = None) -> str:
    """A valid CSRF token for this client's session, read from a page as a browser would
    (``path``, or: signed in, every page's sign-out form carries one; otherwise the sign-in form does).
    """
    for candidate in (path,) if path else ("/account", "/account/password", "/login/mfa", "/login"):
        page = client.get(candidate)
        if page.status_code == 200:
            break
    match = _CSRF.search(page.get_data(as_text=True))
    assert match is not None, "no CSRF token on the page"
    return match.group(1)


@dataclass
class Browser:
    """A test client that fills in forms with their CSRF token, as a browser does."""

    client: FlaskClient

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any):  # type: ignore[no-untyped-def]
        return self.client.post(path, data={**(data or {}), "csrf_token": csrf_token(self.client)}, **kwargs)

    def get(self, path: str, **kwargs: Any):  # type: ignore[no-untyped-def]
        return self.client.get(path, **kwargs)


TOTP_SECRETS: dict[int, bytes] = {}


def enrol_two_factor(user: User) -> bytes:
    """Set up two-factor sign-in for ``user`` as if they had scanned the QR code; returns the app's secret."""
    enrolment = mfa.start_enrolment(user)
    mfa.confirm_enrolment(user, mfa.code_at(enrolment.secret, int(time.time() // mfa.STEP_SECONDS)))
    # Set up long before the test: the notice that it was turned on is not one of the test's messages.
    db.session().execute(
        delete(Notification).where(Notification.recipient_id == user.id, Notification.event == "account:change")
    )
    TOTP_SECRETS[user.id] = enrolment.secret
    return enrolment.secret


def next_code(user: User) -> str:
    """A code the app would show that has not been used yet.

    A code is good once, and only the steps either side of now are accepted; when a test
    signs the same person in more often than that allows, the used-step marker is moved
    back (the only way round the replay protection, and only here).
    """
    row = db.session().get(UserTotp, user.id, populate_existing=True)
    assert row is not None and row.confirmed_at is not None, f"{user.email} has no two-factor sign-in"
    now = int(time.time() // mfa.STEP_SECONDS)
    # Now's step or the next: still good if the clock passes a step boundary before the code is sent.
    step = now if row.last_step is None else max(now, row.last_step + 1)
    if step > now + 1:
        row.last_step = now - 2
        step = now
    # End the test's own transaction here: a savepoint left open would later roll back
    # what the sign-in request is about to write.
    db.session().commit()
    return mfa.code_at(TOTP_SECRETS[user.id], step)


def sign_in(client: FlaskClient, user: User, password: str = TEST_PASSWORD) -> None:
    """Sign in through the pages, with the second factor when the user has it."""
    token = csrf_token(client)
    response = client.post("/login", data={"email": user.email, "password": password, "csrf_token": token})
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:2000]
    if urlsplit(response.headers["Location"]).path == "/login/mfa":
        response = client.post("/login/mfa", data={"code": next_code(user), "csrf_token": csrf_token(client)})
        assert response.status_code in (302, 303), response.get_data(as_text=True)[:2000]


def open_setup_link(client: FlaskClient, user: User | None) -> SetupLink:
    """Issue a set-up link for ``user`` as the operator's command does, and open it in ``client`` as if
    from the e-mail (tests/test_separation_of_duties.py reads real e-mails; elsewhere this stands in)."""
    assert user is not None
    link = setup_links.issue(user, SetupReason.OPERATOR, actor=Actor.system("tests"), send=False)
    db.session().commit()
    opened = client.get(link.path)
    assert (opened.status_code, urlsplit(opened.headers.get("Location", "")).path) == (302, "/account/set-up")
    return link


@pytest.fixture
def browser_as(app: Flask, make_user: Callable[..., User]) -> Callable[..., Browser]:
    """``browser_as('comms')`` → a signed-in :class:`Browser` (its user is ``.user``)."""

    def signed_in(*roles: str, user: User | None = None) -> Browser:
        user = user or make_user(*roles)
        client = app.test_client()
        sign_in(client, user)
        browser = Browser(client)
        browser.user = user  # type: ignore[attr-defined]
        return browser

    return signed_in


@pytest.fixture
def api_token(app: Flask) -> Callable[[User], dict[str, str]]:
    """Authorization headers with a new API token for ``user``."""

    def headers(user: User) -> dict[str, str]:
        _token, value = accounts.create_token(user, actor=Actor.system("tests"))
        db.session().commit()
        return {"Authorization": f"Bearer {value}"}

    return headers


@pytest.fixture
def count_queries(connection: Connection) -> Callable[[], Any]:
    """``with count_queries() as counted: …`` then ``counted.n`` statements were run."""

    class Counter:
        def __init__(self) -> None:
            self.n = 0
            self.statements: list[str] = []

        def __enter__(self) -> Self:
            event.listen(connection, "before_cursor_execute", self._count)
            return self

        def __exit__(self, *exc: object) -> None:
            event.remove(connection, "before_cursor_execute", self._count)

        def _count(self, _conn: Any, _cursor: Any, statement: str, *args: Any) -> None:
            if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
                self.n += 1
                self.statements.append(statement)

    return Counter


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if APP_CACHE is not None:
        terminalreporter.write_line(APP_CACHE.summary())


def pytest_report_header(config: pytest.Config) -> str:
    url = _postgres_url()
    return f"database: {'PostgreSQL at ' + make_url(url).render_as_string() if url else 'SQLite (temporary file)'}"


#: Set by `make test` when it runs both legs side by side (Makefile): on the SQLite leg when the
#: PostgreSQL leg runs beside it, and on the PostgreSQL leg (which runs only then) beside the SQLite one.
BESIDE_POSTGRES = os.environ.get("REGISTRY_TEST_BESIDE_POSTGRES") == "1"
BESIDE_SQLITE = os.environ.get("REGISTRY_TEST_BESIDE_SQLITE") == "1"
LEGS = ("sqlite", "postgresql")


def one_leg_of(item: pytest.Item) -> str:
    """The leg that runs the ``one_leg`` test ``item`` when both run: the marker's ``leg`` when it names one,
    otherwise the SQLite leg, because it measures coverage: the browser journeys reach lines that other tests
    may not, and the floor must count them. The checks of every page and the showcase, which only look,
    name the PostgreSQL leg, so the two legs share the browser's time about evenly."""
    marker = item.get_closest_marker("one_leg")
    chosen = marker.kwargs.get("leg", "sqlite") if marker is not None else "sqlite"
    assert chosen in LEGS, f"{item.nodeid}: one_leg(leg={chosen!r}) is not one of {LEGS}"
    return str(chosen)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Checks marked ``one_leg`` (what a browser sees does not depend on the database) run once per
    `make test`: split between its two legs by :func:`one_leg_of` when both run, all of them otherwise."""
    here = "sqlite" if _postgres_url() is None else "postgresql"
    if not (BESIDE_POSTGRES if here == "sqlite" else BESIDE_SQLITE):
        return
    other = LEGS[1 - LEGS.index(here)]
    skip = pytest.mark.skip(reason=f"database-independent check: it runs on the {other} leg beside this one")
    for item in items:
        if item.get_closest_marker("one_leg") is not None and one_leg_of(item) != here:
            item.add_marker(skip)
