"""Databases migrated to head for the tests, each a copy of one database migrated once per run.

Migrating an empty database to head takes seconds (1.5 s on SQLite, 2.3 s on PostgreSQL here), and the
suite needs dozens: the session's own, each browser module's live site, and every test that commits for
real in a database of its own. They are all the same schema, so one database per run is migrated (the
*template*) and each new one is a copy: a file copy on SQLite, ``CREATE DATABASE … TEMPLATE`` on
PostgreSQL (which copies the template through the write-ahead log, without a checkpoint). The migrations
themselves are tested step by step in tests/test_migrations.py, on a database of their own.

A copy is what a new migration would give, with one difference put right: the migration gives each
database its own audit chain id (a random UUID, 0013_keyed_audit_chain), so each copy is given a new one.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from registry import db


class MigratedTemplates:
    """One migrated template per kind of database (SQLite, and each PostgreSQL server asked for),
    made on first use by ``migrate`` and removed by :meth:`close` at the end of the run."""

    def __init__(self, migrate: Callable[[str], None]) -> None:
        self._migrate = migrate
        self._folder: Path | None = None
        self._sqlite: Path | None = None
        self._postgres: dict[str, str] = {}

    def sqlite_copy(self, target: Path) -> str:
        """A new SQLite database at ``target`` (which must not exist), migrated to head; its URL."""
        if self._sqlite is None:
            self._folder = Path(tempfile.mkdtemp(prefix="registry-template-"))
            template = self._folder / "template.db"
            self._migrate(f"sqlite:///{template}")
            self._sqlite = template
        db.keep_private(target)  # created 0600, as the application's own engine would create it
        with closing(sqlite3.connect(self._sqlite)) as source, closing(sqlite3.connect(target)) as copy:
            source.backup(copy)
            copy.execute("UPDATE audit_anchor SET chain_id = ?", (str(uuid.uuid4()),))
            copy.commit()
        return f"sqlite:///{target}"

    def postgres_template(self, base: str) -> str:
        """The name of the migrated template database on ``base``'s server (made on first use).

        Nothing connects to it once migrated: PostgreSQL copies a template only while no session is
        connected to it."""
        name = self._postgres.get(base)
        if name is None:
            name = f"registry_template_{uuid.uuid4().hex[:12]}"
            admin = create_engine(make_url(base), isolation_level="AUTOCOMMIT")
            try:
                with admin.connect() as connection:
                    connection.execute(text(f'CREATE DATABASE "{name}"'))
            finally:
                admin.dispose()
            self._postgres[base] = name
            self._migrate(make_url(base).set(database=name).render_as_string(hide_password=False))
        return name

    def close(self, drop_postgres: Callable[[str, str], None]) -> None:
        """Remove the SQLite template and drop each PostgreSQL one (``drop_postgres(base, name)``)."""
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = self._sqlite = None
        for base, name in self._postgres.items():
            drop_postgres(base, name)
        self._postgres.clear()
