"""Alembic environment: the Registry's metadata, on the app's own engine settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from registry.db import make_engine
from registry.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        _sqlite_foreign_keys(connection, on=False)
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=sqlite,
        compare_type=True,
    )
    try:
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    raise RuntimeError(
                        f"The migration left {len(broken)} rows whose foreign keys point nowhere: {broken[:5]}"
                    )
    finally:
        if sqlite:
            _sqlite_foreign_keys(connection, on=True)


def _sqlite_foreign_keys(connection: Connection, *, on: bool) -> None:
    """Batch mode rebuilds a SQLite table by copying it and dropping the old one; with foreign keys on,
    that drop would delete (cascade) or refuse the rows of every table that refers to it. They are off
    while migrations run (checked with ``foreign_key_check`` before the commit) and on again after.
    SQLite ignores the pragma inside a transaction, so it goes straight to the driver, between them."""
    if connection.in_transaction():
        if not on:
            raise RuntimeError("Run SQLite migrations on a connection with no transaction open.")
        return  # the caller commits; the engine turns them on again as the connection goes back to its pool
    connection.connection.driver_connection.execute(f"PRAGMA foreign_keys = {'ON' if on else 'OFF'}")  # type: ignore[union-attr]


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.connect() as connection:
            _run(connection)
            connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline (SQL script) migrations are not supported; run `flask --app wsgi db upgrade`.")
run_migrations_online()
