"""a version number for what public verification shows, moved by triggers

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07

Every process answers ``/verify`` from an index of the public facts it holds in memory, and must
know within a second when the database's facts have changed, whoever changed them (any process,
any host, a command, or SQL typed by hand). One row, ``public_facts_version``, is moved by
triggers on the tables verification reads: a row added or removed, or a column verification shows
changed. Each process reads that row at most once a second.

SQLite runs one writer at a time, so its row triggers move the version straight away. PostgreSQL's
are deferred to the commit and move it once per transaction: the row is then locked only for the
moment of the commit, never while a transaction goes on to take other locks (the audit anchor),
so no two writers can wait for each other. No data moves; the version starts at 0.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

#: Each watched table, and the columns whose change verification shows (None: every column).
WATCHED = {
    "channels": "platform, handle, url, display_name, department, status, status_changed_at",
    "channel_lookalike_keys": None,
    "unauthorised_accounts": "platform, handle, status",
}
BUMP = "UPDATE public_facts_version SET version = version + 1 WHERE id = 1"


def _sqlite_triggers(table: str, columns: str | None) -> list[tuple[str, str]]:
    events = {
        "insert": "INSERT",
        "delete": "DELETE",
        "update": f"UPDATE OF {columns}" if columns else "UPDATE",
    }
    return [
        (
            f"{table}_public_facts_{name}",
            f"CREATE TRIGGER {table}_public_facts_{name} AFTER {event} ON {table} BEGIN {BUMP}; END",
        )
        for name, event in events.items()
    ]


POSTGRESQL_FUNCTION = f"""CREATE FUNCTION public_facts_changed() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    -- Once per transaction: a bulk change of many rows moves the version once.
    IF current_setting('registry.public_facts_changed', true) IS DISTINCT FROM 'yes' THEN
      PERFORM set_config('registry.public_facts_changed', 'yes', true);
      {BUMP};
    END IF;
    RETURN NULL;
  END $$"""


def _postgresql_triggers(table: str, columns: str | None) -> list[str]:
    update = f"UPDATE OF {columns}" if columns else "UPDATE"
    return [
        f"""CREATE CONSTRAINT TRIGGER {table}_public_facts AFTER INSERT OR DELETE OR {update} ON {table}
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public_facts_changed()""",
        f"""CREATE TRIGGER {table}_public_facts_truncate AFTER TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION public_facts_changed()""",
    ]


def upgrade() -> None:
    op.create_table(
        "public_facts_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_public_facts_version_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_facts_version")),
    )
    version = sa.table("public_facts_version", sa.column("id", sa.Integer), sa.column("version", sa.Integer))
    op.bulk_insert(version, [{"id": 1, "version": 0}])
    if op.get_bind().dialect.name == "sqlite":
        for table, columns in WATCHED.items():
            for _name, statement in _sqlite_triggers(table, columns):
                op.execute(statement)
        return
    op.execute(POSTGRESQL_FUNCTION)
    for table, columns in WATCHED.items():
        for statement in _postgresql_triggers(table, columns):
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table, columns in WATCHED.items():
            for name, _statement in _sqlite_triggers(table, columns):
                op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        for table in WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_public_facts ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_public_facts_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS public_facts_changed()")
    op.drop_table("public_facts_version")
