"""The database: engine, declarative base, column types and the unit of work.

One place commits: after each request, the request's session commits when the
response succeeded and rolls back otherwise (or on any exception), so a state
change and its audit event stand or fall together. Services only ``flush()``.
Command-line code uses :func:`transaction`.

When the database cannot be reached the request's work is abandoned (rolled back
without raising) and the request answers 503; the engine reconnects by itself once
the database is back. SQLite files are kept readable by their owner only.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, ClassVar, cast

from flask import Flask, Response, current_app, g, has_app_context, has_request_context, request
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    CursorResult,
    DateTime,
    Engine,
    Index,
    Integer,
    MetaData,
    Result,
    Select,
    String,
    create_engine,
    event,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

from registry import clock

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

MIGRATIONS_PATH = Path(__file__).resolve().parent.parent / "migrations"


def utcnow() -> dt.datetime:
    """The current time, timezone-aware in UTC (the only kind stored); :func:`registry.clock.as_of` sets it back."""
    return clock.now()


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite keeps no zone, PostgreSQL keeps ``timestamptz``; both give aware values.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use registry.db.utcnow()")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


LIKE_ESCAPE = "\\"


def contains_pattern(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, its own ``%`` and ``_`` taken literally.

    Use with ``.like(pattern, escape=LIKE_ESCAPE)``.
    """
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


BigIntId = BigInteger().with_variant(Integer(), "sqlite")

intpk = Annotated[int, mapped_column(primary_key=True)]
bigpk = Annotated[int, mapped_column(BigIntId, primary_key=True)]
created = Annotated[dt.datetime, mapped_column(UTCDateTime(), default=utcnow)]
str200 = Annotated[str, mapped_column(String(200))]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dt.datetime: UTCDateTime()}


def sql_values(values: Iterable[StrEnum]) -> str:
    """An enum's values (or some of its members) as SQL literals, for ``IN (…)``: "'requested', 'approved'"."""
    return ", ".join(f"'{member.value}'" for member in values)


def known(column: str, values: Iterable[StrEnum]) -> CheckConstraint:
    """The check constraint ``<column>_known``: the column holds one of the enum's values."""
    return CheckConstraint(f"{column} IN ({sql_values(values)})", name=f"{column}_known")


def indexes(*columns: str) -> tuple[Index, ...]:
    """An index on each of ``columns``, for ``__table_args__``: the naming convention names it ix_<table>_<column>."""
    return tuple(Index(None, column) for column in columns)


PRIVATE_FILE_MODE = 0o600
#: Seconds to wait for PostgreSQL to accept a connection, unless the URL says otherwise: an
#: unreachable server then gives a prompt 503 instead of holding every request for minutes.
CONNECT_TIMEOUT_SECONDS = 10


def sqlite_file(url: str) -> Path | None:
    """The file an SQLite URL names, or None (in memory, or an ``uri=true`` URI SQLite resolves itself)."""
    parsed = make_url(url)
    database = parsed.database
    if not database or database == ":memory:" or parsed.query.get("uri") or database.startswith("file:"):
        return None
    return Path(database)


def keep_private(path: Path) -> None:
    """Make sure the SQLite database at ``path`` is readable and writable by its owner only.

    A missing file is created empty with mode 0600 before SQLite opens it (SQLite would
    create it with the umask's mode, usually 0644); SQLite gives its ``-wal`` and ``-shm``
    files the database file's mode, so they follow. An existing file, ``-wal`` or ``-shm``
    that others may read is tightened, and the change logged. A missing folder is left for
    SQLite to report when it opens the file.
    """
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, PRIVATE_FILE_MODE))
        return
    except FileExistsError:
        pass
    except OSError:
        return
    for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            mode = stat.S_IMODE(candidate.stat().st_mode)
        except OSError:
            continue
        if not mode & 0o077:
            continue
        private = mode & 0o700
        try:
            os.chmod(candidate, private)
        except OSError as exc:
            log.warning(
                "%s can be read by other users (mode %04o) and could not be tightened: %s",
                candidate,
                mode,
                exc.strerror,
            )
        else:
            log.warning("%s could be read by other users (mode %04o); it is now %04o", candidate, mode, private)


#: An execution option: this engine's transactions only read, unless they come to write (see :func:`make_engine`).
READING = "registry_reading"
#: Connection info: the current transaction has run a statement that writes (or locks rows to write them).
_WROTE = "registry.wrote"
#: Connection info (SQLite): the transaction reads without a lock; its first write takes the write lock.
_WRITE_LOCK_PENDING = "registry.write_lock_pending"
_READ_STATEMENTS = ("SELECT", "WITH", "BEGIN")
#: What a GET, HEAD or OPTIONS request does: read, mostly (see :func:`session`).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def writes(statement: str, context: Any) -> bool:
    """Whether ``statement`` writes, or reads rows to change them (``SELECT … FOR UPDATE``, which SQLite
    does not spell out). Savepoints and anything unrecognised count as writes."""
    if not statement.lstrip()[:6].upper().startswith(_READ_STATEMENTS):
        return True
    if context is None:
        return False
    if context.isinsert or context.isupdate or context.isdelete:
        return True  # PostgreSQL's WITH … INSERT, say
    compiled = getattr(context, "compiled", None)
    if statement.lstrip()[:4].upper() == "WITH" and not isinstance(getattr(compiled, "statement", None), Select):
        return True  # text("WITH … UPDATE …"): nothing says it only reads
    # SQLAlchemy keeps a statement's FOR UPDATE in this attribute; no public accessor exists.
    return getattr(getattr(compiled, "statement", None), "_for_update_arg", None) is not None


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for SQLite (embedded default) or PostgreSQL (production).

    SQLite gets foreign keys, WAL and ``BEGIN IMMEDIATE`` transactions, so two
    writers queue for the lock instead of failing half-way with "database is locked",
    and its files are kept private (:func:`keep_private`). A transaction on a connection
    with the :data:`READING` option (a GET request's) takes no lock: its reads run as they
    come, each seeing what is committed (as PostgreSQL's do), and ``BEGIN IMMEDIATE`` comes
    just before its first write, so a GET that writes still writes under the lock, with
    everything after in one transaction. PostgreSQL connections are checked before use, so
    the pool replaces those a restart or a network failure broke.

    On both, each connection notes whether its transaction has written (:func:`wrote`).
    """
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"timeout": 30, "check_same_thread": False}, hide_parameters=True, **kwargs
        )
        private_file = sqlite_file(url)

        if private_file is not None:

            @event.listens_for(engine, "do_connect")
            def _sqlite_private(*_args: Any) -> None:
                keep_private(private_file)

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys = ON")
            if ":memory:" not in url and url != "sqlite://":
                cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA busy_timeout = 30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection: Connection) -> None:
            reading = bool(connection.get_execution_options().get(READING))
            connection.info[_WRITE_LOCK_PENDING] = reading
            if not reading:
                connection.exec_driver_sql("BEGIN IMMEDIATE")

        @event.listens_for(engine, "before_cursor_execute")
        def _sqlite_lock_before_writing(
            connection: Connection, cursor: Any, statement: str, _parameters: Any, context: Any, _many: bool
        ) -> None:
            if connection.info.get(_WRITE_LOCK_PENDING) and writes(statement, context):
                connection.info[_WRITE_LOCK_PENDING] = False
                cursor.execute("BEGIN IMMEDIATE")

        @event.listens_for(engine, "checkin")
        def _sqlite_checkin(dbapi_connection: Any, _record: Any) -> None:
            # Migrations turn foreign keys off (migrations/env.py); no pooled connection keeps that.
            dbapi_connection.execute("PRAGMA foreign_keys = ON")

    else:
        connect_args: dict[str, Any] = {}
        if url.startswith("postgresql") and "connect_timeout" not in make_url(url).query:
            connect_args["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
        # hide_parameters: values never reach an exception message or a log line.
        engine = create_engine(url, pool_pre_ping=True, hide_parameters=True, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "begin")
    def _nothing_written_yet(connection: Connection) -> None:
        connection.info[_WROTE] = False

    @event.listens_for(engine, "before_cursor_execute")
    def _note_writes(
        connection: Connection, _cursor: Any, statement: str, _parameters: Any, context: Any, _many: bool
    ) -> None:
        if not connection.info.get(_WROTE) and writes(statement, context):
            connection.info[_WROTE] = True

    return engine


class Database:
    """The application's engine and session factory (``app.extensions['registry.db']``)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessionmaker = sessionmaker(bind=self.engine, expire_on_commit=False)
        self.reading_sessionmaker = sessionmaker(
            bind=self.engine.execution_options(**{READING: True}), expire_on_commit=False
        )
        #: Tests bind sessions to one connection inside an outer transaction.
        self.bind_override: Connection | None = None

    def new_session(self, *, reading: bool = False) -> Session:
        """A new session; ``reading``: one that mostly reads (SQLite takes no lock until it writes)."""
        if self.bind_override is not None:
            return Session(
                bind=self.bind_override,
                expire_on_commit=False,
                join_transaction_mode="create_savepoint",
            )
        return self.reading_sessionmaker() if reading else self.sessionmaker()


def database(app: Flask | None = None) -> Database:
    found: Database = (app or current_app).extensions["registry.db"]
    return found


def session() -> Session:
    """The session of the current request or command (created on first use).

    A GET, HEAD or OPTIONS request's session reads without taking SQLite's write lock, and commits
    only when it has written something (:func:`_commit_after_request`).
    """
    current: Session | None = g.get("_db_session")
    if current is None:
        reading = has_request_context() and request.method in SAFE_METHODS
        current = database().new_session(reading=reading)
        g._db_session = current
    return current


def open_session() -> Session | None:
    """The current request's or command's session if it has one, without making one."""
    return g._get_current_object().get("_db_session") if has_app_context() else None  # see _commit_after_request


def wrote(current: Session) -> bool:
    """Whether ``current``'s transaction has written anything, or has changes waiting to be."""
    if current.new or current.dirty or current.deleted:
        return True
    info = current.info.get(_CONNECTION_INFO)
    return bool(info is not None and current.in_transaction() and info.get(_WROTE))


_CONNECTION_INFO = "registry.connection_info"


@event.listens_for(Session, "after_begin")
def _remember_connection(current: Session, _transaction: Any, connection: Connection) -> None:
    current.info[_CONNECTION_INFO] = connection.info


def keep_on_error() -> None:
    """Commit this request's work even though the response is an error.

    For refusals that must be recorded (a refused secret reveal is audited).
    """
    g._db_keep_on_error = True


def even_if_refused(write: Callable[[Session], None]) -> None:
    """Run ``write`` in a fresh transaction if this request's own work is rolled back.

    For facts that stand whatever the outcome (an API token was used). ``write``
    must be repeatable: it also runs as part of the request when that succeeds.
    """
    write(session())
    g.setdefault("_db_even_if_refused", []).append(write)


@contextmanager
def transaction() -> Iterator[Session]:
    """Run a unit of work outside a request: commit on success, roll back on error."""
    current = session()
    try:
        yield current
        current.commit()
    except BaseException:
        current.rollback()
        raise
    _run_after_commit(current)


def changed_rows(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE run by ``session().execute`` changed (0 if the driver cannot say).

    SQLAlchemy types every ``Session.execute`` result as a plain ``Result``; a DML statement's is a
    ``CursorResult``, which has the row count.
    """
    return cast("CursorResult[Any]", result).rowcount or 0


AFTER_COMMIT = "registry.after_commit"


def after_commit(work: Callable[[Session], object]) -> None:
    """Run ``work`` once the current unit of work has committed (never if it rolls back).

    For what must not happen unless the change stands, such as sending an e-mail about it.
    ``work`` gets the session in a new transaction and commits what it writes itself;
    an error in it is logged, never raised: the change it follows has already happened.
    """
    session().info.setdefault(AFTER_COMMIT, []).append(work)


def _run_after_commit(current: Session) -> None:
    for work in current.info.pop(AFTER_COMMIT, []):
        try:
            work(current)
        except Exception as exc:
            _rollback_quietly(current)
            if unavailable(exc):
                log.error("Work after a commit failed: the database is unavailable (%s)", describe(exc))
            else:
                log.exception("Work after a commit failed")


@event.listens_for(Session, "after_soft_rollback")
def _forget_after_commit(current: Session, _previous: Any) -> None:
    current.info.pop(AFTER_COMMIT, None)


def unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means the database cannot be used just now (down, restarting, unreachable,
    its file missing, locked or full, a connection broken or the pool exhausted) rather than a
    mistake in a query; trying again later may work."""
    if isinstance(exc, sa_exc.DBAPIError):
        return exc.connection_invalidated or isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError))
    return isinstance(exc, (sa_exc.DisconnectionError, sa_exc.TimeoutError))


def describe(exc: BaseException) -> str:
    """One line for the log: the exception's type, the driver's and the driver's first line.

    Never the SQL or its parameters (the engine hides parameters anyway).
    """
    original = getattr(exc, "orig", None)
    if original is None:
        return type(exc).__name__
    first_line = (str(original).strip().splitlines() or [""])[0][:200]
    driver = f"{type(original).__module__}.{type(original).__name__}"
    return f"{type(exc).__name__} ({driver}: {first_line})" if first_line else f"{type(exc).__name__} ({driver})"


def _rollback_quietly(current: Session) -> SQLAlchemyError | None:
    """Roll back, returning (not raising) the error if the database cannot even do that.

    After a lost connection SQLAlchemy has already invalidated it, and the server discards
    a transaction whose connection went away, so nothing is left half-done.
    """
    try:
        current.rollback()
    except SQLAlchemyError as exc:
        return exc
    return None


def abandon() -> None:
    """Give up this request's unit of work because the database failed (the 503 path).

    Rolls back without raising, and the after-request commit then does nothing: neither the
    request's work nor the writes that stand for refused requests (they would fail too).
    """
    g._db_abandoned = True
    current: Session | None = g.get("_db_session")
    if current is not None:
        _rollback_quietly(current)


def _commit_after_request(response: Response) -> Response:
    # ``g`` itself, not the proxy: a method looked up through werkzeug's proxy is first looked for on the
    # proxy, which raises and catches an AttributeError (on every request; most have no session).
    current: Session | None = g._get_current_object().get("_db_session")
    if current is None or g.get("_db_abandoned"):
        return response
    if response.status_code < 400 or g.get("_db_keep_on_error"):
        if not wrote(current) and not current.info.get(AFTER_COMMIT):
            # It only read: end the read instead of committing. A database gone by now is answered as a
            # failed commit is: the page may rest on a read the database did not see through.
            failed = _rollback_quietly(current)
            if failed is not None and unavailable(failed):
                return _answer_instead(response, failed)
            return response
        try:
            current.commit()
        except SQLAlchemyError as exc:
            if not unavailable(exc):
                raise
            return _answer_instead(response, exc)
        _run_after_commit(current)
        return response
    failed = _rollback_quietly(current)
    follow_ups: list[Callable[[Session], None]] = g.pop("_db_even_if_refused", [])
    if failed is not None:
        log.error("Could not roll back a refused request: the database is unavailable (%s)", describe(failed))
        return response
    if follow_ups:
        try:
            for write in follow_ups:
                write(current)
            current.commit()
        except SQLAlchemyError as exc:
            _rollback_quietly(current)
            if unavailable(exc):
                log.error(
                    "Could not record what must stand for a refused request: the database is unavailable (%s)",
                    describe(exc),
                )
            else:
                log.exception("Could not record what must stand for a refused request")
    return response


#: Headers that describe the answer the failed commit replaces, not every answer (as the
#: security headers do): they must not travel with the 503.
_HEADERS_OF_THE_REPLACED_ANSWER = (
    "Location",
    "Refresh",
    "Link",
    "Content-Disposition",
    "Content-Encoding",
    "Content-Language",
    "Content-Location",
    "Content-Range",
    "Accept-Ranges",
    "ETag",
    "Last-Modified",
    "Expires",
)


def _answer_instead(response: Response, exc: SQLAlchemyError) -> Response:
    """The commit failed because the database went away: answer as the app's error handler
    answers that error (a 503), in place of the view's response.

    This runs last among the after-request hooks, so ``response`` already carries the headers
    every response gets (security policy and the like); they are kept, the content is replaced.
    """
    replacement = current_app.make_response(current_app.handle_user_exception(exc))
    g._db_abandoned = True
    replaced = response.response
    if hasattr(replaced, "close"):
        replaced.close()  # a file being sent
    for name in _HEADERS_OF_THE_REPLACED_ANSWER:
        response.headers.pop(name, None)
    response.direct_passthrough = False
    response.status_code = replacement.status_code
    response.set_data(replacement.get_data())
    for name, value in replacement.headers.items():
        if name.lower() != "content-length":
            response.headers[name] = value
    return response


def _close_session(exc: BaseException | None) -> None:
    """End the request's session without ever raising: by now the answer has been made."""
    current: Session | None = g._get_current_object().pop("_db_session", None)  # see _commit_after_request
    if current is None:
        return
    try:
        if exc is not None or current.in_transaction():
            failed = _rollback_quietly(current)
            if failed is not None and not g.get("_db_abandoned"):
                log.error(
                    "Could not roll back at the end of a request: the database is unavailable (%s)", describe(failed)
                )
    finally:
        try:
            current.close()
        except SQLAlchemyError as failed_close:
            log.error("Could not close a database session (%s)", describe(failed_close))


def init_app(app: Flask, url: str) -> None:
    app.extensions["registry.db"] = Database(url)
    app.after_request(_commit_after_request)
    app.teardown_appcontext(_close_session)
