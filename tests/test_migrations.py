"""Migrations: they build the schema the models describe, on an empty database, and every
revision goes down and up again cleanly. Each test has a database of its own.
"""

from __future__ import annotations

import hashlib
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Connection

from registry import create_app, db
from registry.audit.models import GENESIS_HASH, AuditAnchor
from registry.cli import alembic_config
from registry.models import Base
from tests.conftest import _postgres_url, fresh_postgres_database, settings_for

EXPECTED_TABLES = frozenset(Base.metadata.tables) | {"alembic_version"}


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it: a SQLite file, or a new PostgreSQL database."""
    base = _postgres_url()
    if base is None:
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with fresh_postgres_database(base) as url:
        yield url


def alembic(url: str, step: Callable[[Config], Any]) -> Any:
    """Run one Alembic command on its own connection and commit it, as ``flask db upgrade`` does."""
    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            cfg = alembic_config(url)
            cfg.attributes["connection"] = connection
            result = step(cfg)
            connection.commit()
            return result
    finally:
        engine.dispose()


def read(url: str, look: Callable[[Connection], Any]) -> Any:
    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            return look(connection)
    finally:
        engine.dispose()


def schema(connection: Connection) -> dict[str, Any]:
    """Tables with their columns, indexes (with their definitions, so expression indexes count),
    unique and foreign keys, and triggers: enough to tell two schemas apart.

    Alembic's own bookkeeping table is left out.
    """
    inspector = inspect(connection)
    shape: dict[str, Any] = {"(index definitions)": index_definitions(connection), "(triggers)": triggers(connection)}
    tables = sorted(set(inspector.get_table_names()) - {"alembic_version"})
    # Every table's at once: one query each on PostgreSQL rather than one per table (SQLite asks per table).
    columns = inspector.get_multi_columns(filter_names=tables)
    indexes = inspector.get_multi_indexes(filter_names=tables)
    unique = inspector.get_multi_unique_constraints(filter_names=tables)
    foreign_keys = inspector.get_multi_foreign_keys(filter_names=tables)
    for table in tables:
        key = (None, table)
        shape[table] = {
            # Sorted: a downgrade that puts back a dropped column cannot put it back in its old place on
            # PostgreSQL, and a column's place means nothing to the application.
            "columns": sorted((c["name"], str(c["type"]), c["nullable"]) for c in columns[key]),
            "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in indexes[key]),
            "unique": sorted((u["name"], tuple(u["column_names"])) for u in unique[key]),
            "foreign_keys": sorted((tuple(f["constrained_columns"]), f["referred_table"]) for f in foreign_keys[key]),
        }
    return shape


def index_definitions(connection: Connection) -> list[tuple[str, str]]:
    if connection.dialect.name == "sqlite":
        rows = connection.execute(
            text(
                "SELECT name, coalesce(sql, '') FROM sqlite_master WHERE type = 'index' AND tbl_name != "
                "'alembic_version'"
            )
        )
    else:
        rows = connection.execute(
            text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                "AND tablename != 'alembic_version'"
            )
        )
    return sorted((name, definition) for name, definition in rows)


def triggers(connection: Connection) -> set[str]:
    if connection.dialect.name == "sqlite":
        return set(connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars())
    return set(connection.execute(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")).scalars())


def current_revision(connection: Connection) -> str | None:
    if "alembic_version" not in inspect(connection).get_table_names():
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()


def revisions_in_order() -> list[tuple[str, str]]:
    """(revision, what it goes down to) from the first to the head."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    steps = [(r.revision, r.down_revision or "base") for r in script.walk_revisions()]
    return list(reversed(steps))  # type: ignore[arg-type]


def head() -> str:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()  # type: ignore[return-value]


def test_there_is_one_line_of_revisions() -> None:
    """No branches: every revision has one parent and the last is the only head."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1
    assert revisions_in_order()[-1][0] == head()


def test_upgrade_head_on_an_empty_database(empty_database: str) -> None:
    """Every table of the models exists, the anchor starts at the genesis hash, the trail is append-only,
    and so is an issued monthly report; the tables public verification reads move its version."""
    alembic(empty_database, lambda cfg: command.upgrade(cfg, "head"))

    def look(connection: Connection) -> dict[str, Any]:
        return {
            "tables": set(inspect(connection).get_table_names()),
            "revision": current_revision(connection),
            "anchor": tuple(connection.execute(select(AuditAnchor.id, AuditAnchor.seq, AuditAnchor.head_hash)).all()),
            "triggers": triggers(connection),
        }

    found = read(empty_database, look)
    assert found["tables"] == EXPECTED_TABLES
    assert found["revision"] == head()
    assert found["anchor"] == ((1, 0, GENESIS_HASH),)
    public_facts = ("channels", "channel_lookalike_keys", "unauthorised_accounts")
    expected_triggers = (
        {
            "audit_events_no_update",
            "audit_events_no_delete",
            "monthly_reports_issued_no_update",
            "monthly_reports_issued_no_delete",
            "channel_health_checks_no_update",
            *(f"{table}_public_facts_{change}" for table in public_facts for change in ("insert", "update", "delete")),
        }
        if empty_database.startswith("sqlite")
        else {
            "audit_events_no_change",
            "audit_events_no_truncate",
            "monthly_reports_issued_no_change",
            "channel_health_checks_no_update",
            *(f"{table}_public_facts{kind}" for table in public_facts for kind in ("", "_truncate")),
        }
    )
    assert found["triggers"] == expected_triggers


def test_models_equal_migrations(empty_database: str) -> None:
    """Alembic's ``check`` finds nothing to autogenerate: the models and the migrations agree."""
    alembic(empty_database, lambda cfg: command.upgrade(cfg, "head"))
    alembic(empty_database, command.check)


#: Revisions that change data only (each has a data test below).
DATA_ONLY = frozenset({"0023"})


def test_each_revision_goes_down_and_up_again(empty_database: str) -> None:
    """Each revision, applied in turn, downgrades to exactly the schema before it and upgrades again."""
    before = read(empty_database, schema)
    for revision, down in revisions_in_order():
        alembic(empty_database, lambda cfg, r=revision: command.upgrade(cfg, r))
        after = read(empty_database, schema)
        assert after != before or revision in DATA_ONLY, f"{revision} changed nothing"

        alembic(empty_database, lambda cfg, d=down: command.downgrade(cfg, d))
        assert read(empty_database, schema) == before, f"downgrading {revision} to {down} left changes"
        assert read(empty_database, current_revision) == (None if down == "base" else down)

        alembic(empty_database, lambda cfg, r=revision: command.upgrade(cfg, r))
        assert read(empty_database, schema) == after, f"{revision} applied twice differs"
        before = after

    alembic(empty_database, lambda cfg: command.downgrade(cfg, "base"))
    assert read(empty_database, lambda c: set(inspect(c).get_table_names())) == {"alembic_version"}
    assert read(empty_database, triggers) == set()
    alembic(empty_database, lambda cfg: command.upgrade(cfg, "head"))
    alembic(empty_database, command.check)


def test_flask_db_upgrade_builds_and_is_idempotent(
    empty_database: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``flask db upgrade`` on an empty database builds the schema; running it again changes nothing."""
    monkeypatch.setenv("REGISTRY_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(settings_for(empty_database, tmp_path / "instance"))
    try:
        first = app.test_cli_runner().invoke(args=["db", "upgrade"])
        built = read(empty_database, schema)
        second = app.test_cli_runner().invoke(args=["db", "upgrade"])
    finally:
        db.database(app).engine.dispose()

    assert first.exit_code == 0, first.output
    assert first.stdout == "Database is at head.\n"
    assert second.exit_code == 0, second.output
    assert second.stdout == "Database is at head.\n"
    assert {name for name in built if not name.startswith("(")} == EXPECTED_TABLES - {"alembic_version"}
    assert read(empty_database, schema) == built
    assert read(empty_database, current_revision) == head()
    assert read(empty_database, lambda c: c.execute(select(AuditAnchor.seq)).scalars().all()) == [0]


def test_0014_retires_the_temporary_passwords_administrators_chose(empty_database: str) -> None:
    """Data before 0014: one person still on a temporary password an administrator chose, one on their
    own. After it the temporary password no longer signs anyone in (they get a set-up link instead),
    the other is untouched, and roles stay as they were."""
    alembic(empty_database, lambda cfg: command.upgrade(cfg, "0013"))

    def load(connection: Connection) -> None:
        for email, temporary in (("temp@example.nhs.uk", True), ("own@example.nhs.uk", False)):
            connection.execute(
                text(
                    "INSERT INTO users (email, name, password_hash, active, must_change_password, created_at) "
                    "VALUES (:email, 'Person', :hash, :active, :temporary, CURRENT_TIMESTAMP)"
                ),
                {
                    "email": email,
                    "hash": f"$argon2id$v=19$m=1024,t=1,p=1$c2FsdA$hash-of-{email}",
                    "active": True,
                    "temporary": temporary,
                },
            )
            connection.execute(
                text("INSERT INTO user_roles (user_id, role) SELECT id, 'comms' FROM users WHERE email = :email"),
                {"email": email},
            )
        connection.commit()

    read(empty_database, load)
    alembic(empty_database, lambda cfg: command.upgrade(cfg, "0014"))

    def after(connection: Connection) -> dict[str, Any]:
        rows = connection.execute(
            text(
                "SELECT u.email, u.password_hash, r.role FROM users u JOIN user_roles r ON r.user_id = u.id "
                "ORDER BY u.email"
            )
        ).all()
        return {email: (password_hash, role) for email, password_hash, role in rows}

    assert read(empty_database, after) == {
        "own@example.nhs.uk": ("$argon2id$v=19$m=1024,t=1,p=1$c2FsdA$hash-of-own@example.nhs.uk", "comms"),
        "temp@example.nhs.uk": (None, "comms"),
    }


# --- 0016: uploaded files move from the instance folder into the database -------------------------------

FILES = {"poster.png": b"\x89PNG\r\n\x1a\n pretend poster", "letter.pdf": b"%PDF-1.7 pretend letter\n%%EOF\n"}


def load_uploads_before_0016(url: str, instance: Path, files: dict[str, bytes]) -> dict[int, tuple[str, bytes]]:
    """Uploads as 0015 kept them: a row each, the bytes in ``<instance>/uploads/<stored_name>``.
    Returns each upload's id with its stored name and bytes."""
    folder = instance / "uploads"
    folder.mkdir(parents=True, exist_ok=True)

    def load(connection: Connection) -> dict[int, tuple[str, bytes]]:
        connection.execute(
            text(
                "INSERT INTO users (email, name, active, created_at) "
                "VALUES ('sender@example.nhs.uk', 'Sender', :yes, CURRENT_TIMESTAMP)"
            ),
            {"yes": True},
        )
        loaded = {}
        for n, (name, data) in enumerate(files.items()):
            stored_name = f"{n:032x}"
            (folder / stored_name).write_bytes(data)
            upload_id = connection.execute(
                text(
                    "INSERT INTO uploads (sha256, stored_name, original_name, content_type, size, uploaded_by_id, "
                    "created_at) SELECT :sha256, :stored_name, :name, :type, :size, id, CURRENT_TIMESTAMP "
                    "FROM users RETURNING id"
                ),
                {
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "stored_name": stored_name,
                    "name": name,
                    "type": "application/pdf" if name.endswith(".pdf") else "image/png",
                    "size": len(data),
                },
            ).scalar_one()
            loaded[upload_id] = (stored_name, data)
        connection.commit()
        return loaded

    loaded: dict[int, tuple[str, bytes]] = read(url, load)
    return loaded


def with_instance(instance: Path, revision: str, *, down: bool = False) -> Callable[[Config], Any]:
    def step(cfg: Config) -> Any:
        cfg.attributes["instance_path"] = str(instance)
        return (command.downgrade if down else command.upgrade)(cfg, revision)

    return step


def test_0016_moves_uploaded_files_into_the_database_and_back(empty_database: str, tmp_path: Path) -> None:
    """Upgrading copies every file's bytes into ``upload_contents`` (checked against its SHA-256) and drops
    the stored name; the old folder is left alone. Downgrading writes every file back out, private, under
    new names that the rows record, and drops the table."""
    instance = tmp_path / "instance"
    alembic(empty_database, lambda cfg: command.upgrade(cfg, "0015"))
    loaded = load_uploads_before_0016(empty_database, instance, FILES)

    alembic(empty_database, with_instance(instance, "0016"))

    def contents(connection: Connection) -> dict[int, bytes]:
        rows = connection.execute(text("SELECT upload_id, data FROM upload_contents ORDER BY upload_id"))
        return {upload_id: bytes(data) for upload_id, data in rows}

    assert read(empty_database, contents) == {upload_id: data for upload_id, (_, data) in loaded.items()}
    columns = read(empty_database, lambda c: {col["name"] for col in inspect(c).get_columns("uploads")})
    assert "stored_name" not in columns
    assert sorted(p.name for p in (instance / "uploads").iterdir()) == sorted(n for n, _ in loaded.values())

    for path in (instance / "uploads").iterdir():
        path.unlink()
    alembic(empty_database, with_instance(instance, "0015", down=True))

    def stored(connection: Connection) -> dict[int, str]:
        return dict(connection.execute(text("SELECT id, stored_name FROM uploads ORDER BY id")).all())

    names = read(empty_database, stored)
    assert set(names) == set(loaded)
    folder = instance / "uploads"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for upload_id, name in names.items():
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600
        assert (folder / name).read_bytes() == loaded[upload_id][1]
    assert "upload_contents" not in read(empty_database, lambda c: inspect(c).get_table_names())

    alembic(empty_database, with_instance(instance, "head"))
    assert read(empty_database, contents) == {upload_id: data for upload_id, (_, data) in loaded.items()}


def test_0016_stops_and_changes_nothing_when_a_file_is_missing_or_changed(
    empty_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``flask db upgrade`` names every upload it cannot move (missing here, perhaps on another host; or
    changed since it was stored), says what to do, and exits 1 with the database still at 0015. Once the
    files are put back, the same command succeeds."""
    instance = tmp_path / "instance"
    alembic(empty_database, lambda cfg: command.upgrade(cfg, "0015"))
    loaded = load_uploads_before_0016(empty_database, instance, {**FILES, "third.png": b"\x89PNG third"})
    (missing_id, (missing_name, missing_data)), (changed_id, (changed_name, changed_data)), _ = loaded.items()
    folder = instance / "uploads"
    (folder / missing_name).unlink()
    (folder / changed_name).write_bytes(b"changed on disk")

    monkeypatch.setenv("REGISTRY_INSTANCE_PATH", str(instance))
    app = create_app(settings_for(empty_database))
    try:
        refused = app.test_cli_runner().invoke(args=["db", "upgrade"])
        assert refused.exit_code == 1
        assert refused.output == (
            "Error: Nothing was changed: 2 of 3 uploaded files cannot be moved into the database.\n"
            f"  - upload {missing_id}: {folder / missing_name} is missing\n"
            f"  - upload {changed_id}: {folder / changed_name} does not match its SHA-256 "
            "(it changed after it was stored)\n"
            "With several app servers, a missing file is usually in another host's instance/uploads folder: "
            f"copy it into {folder} (or restore it from a backup) and run `flask --app wsgi db upgrade` again.\n"
        )
        assert read(empty_database, current_revision) == "0015"
        assert "upload_contents" not in read(empty_database, lambda c: inspect(c).get_table_names())

        (folder / missing_name).write_bytes(missing_data)
        (folder / changed_name).write_bytes(changed_data)
        upgraded = app.test_cli_runner().invoke(args=["db", "upgrade"])
    finally:
        db.database(app).engine.dispose()
    assert upgraded.exit_code == 0, upgraded.output
    assert read(empty_database, current_revision) == head()
    moved = read(empty_database, lambda c: c.execute(text("SELECT count(*) FROM upload_contents")).scalar_one())
    assert moved == 3


def test_0016_reads_only_the_files_the_registry_stored(
    empty_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Someone who can write to the database or the folder cannot make the move read another file: a row
    whose stored name climbs out of the folder, and a stored file replaced by a link to a file elsewhere
    (with the very bytes and hash), are named and refused, and nothing changes."""
    instance = tmp_path / "instance"
    alembic(empty_database, lambda cfg: command.upgrade(cfg, "0015"))
    loaded = load_uploads_before_0016(empty_database, instance, FILES)
    (climbing_id, _), (linked_id, (linked_name, linked_data)) = loaded.items()
    folder = instance / "uploads"
    outside = tmp_path / "elsewhere.pdf"
    outside.write_bytes(linked_data)
    (folder / linked_name).unlink()
    (folder / linked_name).symlink_to(outside)
    engine = db.make_engine(empty_database)
    try:
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE uploads SET stored_name = '../../elsewhere.pdf' WHERE id = :id"), {"id": climbing_id}
            )
    finally:
        engine.dispose()

    monkeypatch.setenv("REGISTRY_INSTANCE_PATH", str(instance))
    app = create_app(settings_for(empty_database))
    try:
        refused = app.test_cli_runner().invoke(args=["db", "upgrade"])
    finally:
        db.database(app).engine.dispose()
    assert refused.exit_code == 1
    assert refused.output.splitlines()[:3] == [
        "Error: Nothing was changed: 2 of 2 uploaded files cannot be moved into the database.",
        f"  - upload {climbing_id}: {folder / '../../elsewhere.pdf'} is not read: its stored name is not one the "
        "Registry gives (the row was changed)",
        f"  - upload {linked_id}: {folder / linked_name} is a link, not the stored file",
    ]
    assert read(empty_database, current_revision) == "0015"


def insert_one_active_channel(connection: Connection) -> None:
    """In plain SQL: a comms user and an active channel they asked for (the schema of 0017 onwards)."""
    connection.execute(
        text(
            "INSERT INTO users (email, name, active, created_at) "
            "VALUES ('comms@example.nhs.uk', 'Comms', :yes, CURRENT_TIMESTAMP)"
        ),
        {"yes": True},
    )
    connection.execute(
        text(
            "INSERT INTO channels (platform, handle, display_name, url, department, purpose, audience, "
            "posting_plan, moderation_plan, out_of_hours, sponsor, proposed_administrators, "
            "policy_acknowledged_at, status, requester_id, created_at, updated_at, status_changed_at) "
            "SELECT 'x', 'examplenhs', 'Example NHS', 'https://x.com/examplenhs', 'Comms', 'News', 'Public', "
            "'', '', '', 'Chief executive', '', CURRENT_TIMESTAMP, 'active', id, CURRENT_TIMESTAMP, "
            "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM users"
        )
    )


#: The revision that adds the public facts' version row and its triggers.
PUBLIC_FACTS = "0018"


def test_0018_moves_the_public_facts_version_on_every_change_verification_shows(empty_database: str) -> None:
    """Data before 0018: a channel. After it the version starts at 0 and the channel is as it was; then
    every change verification shows (a channel's status, its lookalike keys, an unauthorised-account
    finding, a channel removed), made in plain SQL, moves the version once its transaction commits, and a
    change it does not show (the review date) leaves it alone. Downgrading removes the row and the triggers."""
    revision = ScriptDirectory.from_config(alembic_config("sqlite://")).get_revision(PUBLIC_FACTS)
    assert revision is not None and isinstance(revision.down_revision, str)
    previous = revision.down_revision
    alembic(empty_database, lambda cfg: command.upgrade(cfg, previous))

    def load(connection: Connection) -> None:
        insert_one_active_channel(connection)
        connection.commit()

    read(empty_database, load)
    alembic(empty_database, lambda cfg: command.upgrade(cfg, PUBLIC_FACTS))

    def version(connection: Connection) -> int:
        return int(connection.execute(text("SELECT version FROM public_facts_version WHERE id = 1")).scalar_one())

    def moves(*statements: str) -> int:
        """How far the version moves when ``statements`` commit in one transaction."""

        def run(connection: Connection) -> int:
            before = version(connection)
            connection.commit()
            for statement in statements:
                connection.execute(text(statement))
            connection.commit()
            return version(connection) - before

        return int(read(empty_database, run))

    assert read(empty_database, version) == 0
    assert read(empty_database, lambda c: c.execute(text("SELECT handle, status FROM channels")).all()) == [
        ("examplenhs", "active")
    ]
    assert moves("UPDATE channels SET next_review_on = CURRENT_DATE") == 0
    assert moves("UPDATE channels SET status = 'suspended'") >= 1
    assert moves("UPDATE channels SET display_name = 'Example NHS Trust'") >= 1
    assert (
        moves(
            "INSERT INTO channel_lookalike_keys (channel_id, key, platform) SELECT id, 'examplenhs', 'x' FROM channels",
            "INSERT INTO channel_lookalike_keys (channel_id, key, platform) SELECT id, 'xamplenhs', 'x' FROM channels",
        )
        >= 1
    )
    assert (
        moves(
            "INSERT INTO unauthorised_accounts (platform, handle, url, evidence, found_on, found_by_id, status, "
            "created_at, updated_at) SELECT 'x', 'examplenhs_', 'https://x.com/examplenhs_', 'Imitation.', "
            "CURRENT_DATE, id, 'unauthorised', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM users"
        )
        >= 1
    )
    assert moves("UPDATE unauthorised_accounts SET status = 'taken_down'") >= 1
    assert moves("DELETE FROM channel_lookalike_keys", "DELETE FROM unauthorised_accounts", "DELETE FROM channels") >= 1

    alembic(empty_database, lambda cfg: command.downgrade(cfg, previous))
    assert "public_facts_version" not in read(empty_database, lambda c: set(inspect(c).get_table_names()))
    assert not {name for name in read(empty_database, triggers) if "public_facts" in name}


#: The revision that drops the index on credential versions' key id and leaves room on each page.
ROTATED_IN_PLACE = "0020"


def test_0020_keeps_every_credential_version_and_rotation_rewrites_them_in_place(empty_database: str) -> None:
    """Data before 0020: a hundred sealed versions of a credential, packed on full pages. After it each
    version is byte for byte as it was and no index holds the key id; on PostgreSQL the table is
    rewritten with half of each page free, so rewriting every key id and wrapped key in one transaction
    (what ``keys rotate`` does) is a heap-only update for each. Downgrading brings the index back, with
    the versions still as they were."""
    revision = ScriptDirectory.from_config(alembic_config("sqlite://")).get_revision(ROTATED_IN_PLACE)
    assert revision is not None and isinstance(revision.down_revision, str)
    previous = revision.down_revision
    alembic(empty_database, lambda cfg: command.upgrade(cfg, previous))
    sealed = [
        {"version": n, "key_id": "old", "wrapped_key": bytes([n]) * 60, "nonce": bytes(12), "ciphertext": b"\x01" * 40}
        for n in range(1, 101)
    ]

    def load(connection: Connection) -> None:
        insert_one_active_channel(connection)
        connection.execute(
            text(
                "INSERT INTO credentials (channel_id, kind, current_version, created_at, rotated_at, "
                "rotation_due_on, rotation_required, rotation_reasons) "
                "SELECT id, 'password', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_DATE, :no, '[]' FROM channels"
            ),
            {"no": False},
        )
        connection.execute(
            text(
                "INSERT INTO credential_versions (credential_id, version, key_id, wrapped_key, nonce, ciphertext, "
                "created_at, created_by_id, reason) SELECT c.id, :version, :key_id, :wrapped_key, :nonce, :ciphertext, "
                "CURRENT_TIMESTAMP, u.id, 'Taking custody.' FROM credentials c, users u"
            ),
            sealed,
        )
        connection.commit()

    def stored(connection: Connection) -> list[tuple[Any, ...]]:
        rows = connection.execute(
            text("SELECT key_id, wrapped_key, nonce, ciphertext FROM credential_versions ORDER BY version")
        )
        return [(row.key_id, bytes(row.wrapped_key), bytes(row.nonce), bytes(row.ciphertext)) for row in rows]

    def key_id_indexed(connection: Connection) -> bool:
        return any(
            index["column_names"] == ["key_id"] for index in inspect(connection).get_indexes("credential_versions")
        )

    read(empty_database, load)
    kept = [(row["key_id"], row["wrapped_key"], row["nonce"], row["ciphertext"]) for row in sealed]
    assert read(empty_database, key_id_indexed)
    alembic(empty_database, lambda cfg: command.upgrade(cfg, ROTATED_IN_PLACE))

    assert read(empty_database, stored) == kept
    assert not read(empty_database, key_id_indexed)
    if empty_database.startswith("postgresql"):

        def rewrite_in_place(connection: Connection) -> tuple[list[str] | None, int]:
            options = connection.execute(
                text("SELECT reloptions FROM pg_class WHERE relname = 'credential_versions'")
            ).scalar_one()
            connection.execute(
                text("UPDATE credential_versions SET key_id = 'new', wrapped_key = :w"), {"w": b"\x02" * 60}
            )
            heap_only = connection.execute(
                text("SELECT n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = 'credential_versions'")
            ).scalar_one()
            connection.rollback()
            return options, int(heap_only)

        assert read(empty_database, rewrite_in_place) == (["fillfactor=50"], len(sealed))

    alembic(empty_database, lambda cfg: command.downgrade(cfg, previous))
    assert read(empty_database, stored) == kept
    assert read(empty_database, key_id_indexed)


#: The revision that writes LinkedIn school and showcase pages as company pages.
LINKEDIN_ONE_NAMESPACE = "0023"


def test_0023_writes_linkedin_school_and_showcase_pages_as_company_pages(empty_database: str) -> None:
    """Data before 0023: LinkedIn channels recorded as school/ and showcase/ pages, one whose company/ name a
    live channel already holds, a retired one, and a finding. After it each is company/NAME (its address
    too, when it was the registry's), except the one that would share a live account; others are untouched."""
    alembic(empty_database, lambda cfg: command.upgrade(cfg, "0022"))

    def load(connection: Connection) -> None:
        insert_one_active_channel(connection)
        for handle, url, status in (
            ("school/nhs-academy", "https://www.linkedin.com/school/nhs-academy/", "active"),
            ("showcase/nhs-careers", "https://uk.linkedin.com/showcase/nhs-careers", "requested"),
            ("company/nhs-trust", "https://www.linkedin.com/company/nhs-trust/", "active"),
            ("school/nhs-trust", "https://www.linkedin.com/school/nhs-trust/", "suspended"),
            ("school/old-school", "https://www.linkedin.com/school/old-school/", "retired"),
        ):
            connection.execute(
                text(
                    "INSERT INTO channels (platform, handle, display_name, url, department, purpose, audience, "
                    "posting_plan, moderation_plan, out_of_hours, sponsor, proposed_administrators, "
                    "policy_acknowledged_at, status, requester_id, created_at, updated_at, status_changed_at) "
                    "SELECT 'linkedin', :handle, 'Page', :url, 'Comms', 'News', 'Public', '', '', '', 'Chief', '', "
                    "CURRENT_TIMESTAMP, :status, id, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP "
                    "FROM users"
                ),
                {"handle": handle, "url": url, "status": status},
            )
        connection.execute(
            text(
                "INSERT INTO unauthorised_accounts (platform, handle, url, evidence, found_on, found_by_id, status, "
                "created_at, updated_at) SELECT 'linkedin', 'showcase/nhs-trust-jobs', "
                "'https://www.linkedin.com/showcase/nhs-trust-jobs/', 'Imitation.', CURRENT_DATE, id, "
                "'unauthorised', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM users"
            )
        )
        connection.commit()

    read(empty_database, load)
    alembic(empty_database, lambda cfg: command.upgrade(cfg, LINKEDIN_ONE_NAMESPACE))

    def after(connection: Connection) -> dict[str, Any]:
        return {
            "channels": connection.execute(text("SELECT platform, handle, url FROM channels ORDER BY id")).all(),
            "findings": connection.execute(text("SELECT handle FROM unauthorised_accounts")).scalars().all(),
        }

    assert read(empty_database, after) == {
        "channels": [
            ("x", "examplenhs", "https://x.com/examplenhs"),
            ("linkedin", "company/nhs-academy", "https://www.linkedin.com/company/nhs-academy/"),
            ("linkedin", "company/nhs-careers", "https://uk.linkedin.com/showcase/nhs-careers"),
            ("linkedin", "company/nhs-trust", "https://www.linkedin.com/company/nhs-trust/"),
            ("linkedin", "school/nhs-trust", "https://www.linkedin.com/school/nhs-trust/"),
            ("linkedin", "company/old-school", "https://www.linkedin.com/company/old-school/"),
        ],
        "findings": ["company/nhs-trust-jobs"],
    }


#: The revision that adds password health beside each credential version.
PASSWORD_HEALTH = "0026"


def test_0026_leaves_stored_versions_not_assessed_and_rotation_still_rewrites_in_place(empty_database: str) -> None:
    """A version stored before 0026 keeps every byte and has no health (every new column empty: "not
    assessed" until ``credentials assess``). On PostgreSQL the fingerprint index leaves ``keys rotate``'s
    rewrites heap-only (it never writes the indexed columns). Downgrading drops the columns, keeping the row."""
    revision = ScriptDirectory.from_config(alembic_config("sqlite://")).get_revision(PASSWORD_HEALTH)
    assert revision is not None and isinstance(revision.down_revision, str)
    previous = revision.down_revision
    alembic(empty_database, lambda cfg: command.upgrade(cfg, previous))
    sealed = {"key_id": "old", "wrapped_key": b"\x01" * 60, "nonce": bytes(12), "ciphertext": b"\x02" * 40}

    def load(connection: Connection) -> None:
        insert_one_active_channel(connection)
        connection.execute(
            text(
                "INSERT INTO credentials (channel_id, kind, current_version, created_at, rotated_at, "
                "rotation_due_on, rotation_required, rotation_reasons) "
                "SELECT id, 'password', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_DATE, :no, '[]' FROM channels"
            ),
            {"no": False},
        )
        connection.execute(
            text(
                "INSERT INTO credential_versions (credential_id, version, key_id, wrapped_key, nonce, ciphertext, "
                "created_at, created_by_id, reason) SELECT c.id, 1, :key_id, :wrapped_key, :nonce, :ciphertext, "
                "CURRENT_TIMESTAMP, u.id, 'Taking custody.' FROM credentials c, users u"
            ),
            sealed,
        )
        connection.commit()

    def stored(connection: Connection) -> tuple[Any, ...]:
        row = connection.execute(text("SELECT key_id, wrapped_key, nonce, ciphertext FROM credential_versions")).one()
        return (row.key_id, bytes(row.wrapped_key), bytes(row.nonce), bytes(row.ciphertext))

    def health(connection: Connection) -> tuple[Any, ...]:
        return tuple(
            connection.execute(
                text("SELECT assessed_at, weak, breached, fingerprint_key_id, fingerprint FROM credential_versions")
            ).one()
        )

    def columns(connection: Connection) -> set[str]:
        return {column["name"] for column in inspect(connection).get_columns("credential_versions")}

    read(empty_database, load)
    kept = tuple(sealed.values())
    alembic(empty_database, lambda cfg: command.upgrade(cfg, PASSWORD_HEALTH))

    assert read(empty_database, stored) == kept
    assert read(empty_database, health) == (None, None, None, None, None)
    if empty_database.startswith("postgresql"):

        def rewrite_in_place(connection: Connection) -> int:
            connection.execute(
                text("UPDATE credential_versions SET key_id = 'new', wrapped_key = :w"), {"w": b"\x03" * 60}
            )
            heap_only = connection.execute(
                text("SELECT n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = 'credential_versions'")
            ).scalar_one()
            connection.rollback()
            return int(heap_only)

        assert read(empty_database, rewrite_in_place) == 1

    alembic(empty_database, lambda cfg: command.downgrade(cfg, previous))
    assert read(empty_database, stored) == kept
    assert not {"assessed_at", "weak", "breached", "fingerprint_key_id", "fingerprint"} & read(empty_database, columns)
