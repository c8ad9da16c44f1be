"""Public verification answers from each process's index of the public facts (issue 12), never more than
:data:`~registry.verification.index.FRESH_FOR` behind the database, in any process; and a request that
only reads neither takes SQLite's write lock nor commits.

These tests run the application on a database of its own that commits for real (as production does),
not in the suite's rolled-back transaction. That another host's index follows within the bound is
proved in ``tests/test_two_hosts.py``, with two gunicorn servers.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, event, literal, select, text
from sqlalchemy.orm import Session

from registry import db
from registry.audit.models import AuditEvent
from registry.audit.services import Actor, verify_chain
from registry.auth import passwords
from registry.auth import services as accounts
from registry.auth.models import User, UserSession
from registry.channels import services as channels
from registry.channels.models import Channel
from registry.verification import index
from registry.verification import services as verification
from tests.conftest import TEST_PASSWORD, _postgres_url, sign_in
from tests.live_server import live_app, migrated_database


@dataclass
class Seeded:
    requester: User
    token: str
    official: Channel
    other: Channel


def seed(app: Flask) -> Seeded:
    """A requester (who can sign in with the test password), a comms officer with an API token, and two
    active channels, committed."""
    with app.app_context(), db.transaction():
        system = Actor.system("tests")
        requester = accounts.create_user(
            email="requester@example.nhs.uk", name="Rita Requester", roles=["staff"], password=None, actor=system
        )
        requester.password_hash = passwords.hash_password(TEST_PASSWORD)
        comms = accounts.create_user(
            email="comms@example.nhs.uk", name="Colm Comms", roles=["comms"], password=None, actor=system
        )
        _token, value = accounts.create_token(comms, actor=system)
        made = []
        for handle in ("ExampleHospital", "ExampleWards"):
            channel = channels.request_channel(
                channels.ChannelRequest(
                    platform="x",
                    handle=handle,
                    display_name=f"{handle} official",
                    department="Communications",
                    purpose="News for patients.",
                    audience="Patients and visitors.",
                    policy_acknowledged=True,
                ),
                requester,
            )
            for action in ("approve", "activate"):
                channels.transition(channel, action, comms, reason="Set up for the test.")
            made.append(channel)
    return Seeded(requester, value, *made)


@pytest.fixture
def own_database(tmp_path: Path) -> Iterator[str]:
    """A database of this test's own, migrated to head, on SQLite or the suite's PostgreSQL server."""
    with migrated_database(_postgres_url(), tmp_path) as url:
        yield url


@pytest.fixture
def live(own_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    monkeypatch.setenv("REGISTRY_INSTANCE_PATH", str(tmp_path / "instance"))
    app = live_app(own_database, tmp_path / "instance")
    try:
        yield app
    finally:
        db.database(app).engine.dispose()


# --- what a request sends to the database ---------------------------------------------------------


@dataclass
class Traffic:
    """Every statement the application's engine runs, and every COMMIT; on SQLite, also what the driver
    itself sends (``BEGIN IMMEDIATE`` is sent straight to it)."""

    statements: list[str] = field(default_factory=list)
    commits: int = 0
    sqlite: list[str] = field(default_factory=list)

    def clear(self) -> None:
        self.statements.clear()
        self.sqlite.clear()
        self.commits = 0


@pytest.fixture
def traffic(live: Flask) -> Traffic:
    engine: Engine = db.database(live).engine
    engine.dispose()  # connections made from here on are traced
    seen = Traffic()

    @event.listens_for(engine, "before_cursor_execute")
    def _statement(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.statements.append(" ".join(statement.split()))

    @event.listens_for(engine, "commit")
    def _commit(_conn: Any) -> None:
        seen.commits += 1

    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _trace(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.set_trace_callback(lambda sql: seen.sqlite.append(" ".join(sql.split())))

    return seen


def locks_and_commits(seen: Traffic) -> list[str]:
    return [sql for sql in seen.sqlite if sql.upper().startswith(("BEGIN", "COMMIT"))]


VERIFY_QUESTIONS = {
    "exact": "/api/v1/verify?url=https://x.com/ExampleHospital",
    "lookalike": "/api/v1/verify?platform=x&handle=examp1ehospital",
    "miss": "/api/v1/verify?url=https://www.instagram.com/quiet.unrelated.account/",
    "affix": "/api/v1/verify?platform=x&handle=examplewards_uk",
    "homoglyph": "/api/v1/verify?url=https://x.com/ex%D0%B0mplehospital",
    "post": "/api/v1/verify?url=https://x.com/ExampleHospital/status/1790000000000000000",
    "page": "/verify?url=https://x.com/ExampleHospital",
    # The other paths a question can take: a follow link, a sign-in page's onward address, an affix with a
    # slip (the deletion-key index again), a claim on a name, YouTube's two legacy names, a fediverse address
    # read as another site, and an address pasted from a sentence.
    "intent": "/api/v1/verify?url=https%3A%2F%2Fx.com%2Fintent%2Ffollow%3Fscreen_name%3DExampleHospital",
    "sign_in": "/api/v1/verify?url=https%3A%2F%2Fx.com%2Fi%2Fflow%2Flogin%3Fredirect_after_login%3D%252FExampleWards",
    "affix_slip": "/api/v1/verify?platform=x&handle=examplwardsreal",
    "claim": "/api/v1/verify?platform=x&handle=itsexamplewards",
    "youtube": "/api/v1/verify?url=https://www.youtube.com/ExampleHospital",
    "fediverse": "/api/v1/verify?url=https://social.example.org/@examplehospital",
    "sentence": "/api/v1/verify?url=(https://x.com/ExampleHospital).",
}


def test_verification_reads_at_most_the_version_and_never_locks_or_commits(live: Flask, traffic: Traffic) -> None:
    """Once the index is loaded, each question (exact match, lookalike, miss, the page) runs at most one
    statement, the one-row version check, and none of them takes SQLite's write lock or commits."""
    seed(live)
    traffic.clear()
    client = live.test_client()
    first = client.get(VERIFY_QUESTIONS["exact"])
    assert first.status_code == 200 and first.get_json()["official"] is True
    assert traffic.commits == 0 and locks_and_commits(traffic) == []

    for name, path in VERIFY_QUESTIONS.items():
        traffic.clear()
        response = client.get(path)
        assert response.status_code == 200, name
        assert len(traffic.statements) <= 1, (name, traffic.statements)
        assert all(sql.startswith("SELECT public_facts_version.version FROM") for sql in traffic.statements), name
        assert traffic.commits == 0, name
        assert locks_and_commits(traffic) == [], name
    lookalike = client.get(VERIFY_QUESTIONS["lookalike"]).get_json()["lookalike_of"]
    assert lookalike is not None and lookalike["handle"] == "examplehospital"
    assert client.get(VERIFY_QUESTIONS["affix"]).get_json()["lookalike_of"]["rule"] == "affix"
    assert client.get(VERIFY_QUESTIONS["homoglyph"]).get_json()["lookalike_of"]["rule"] == "homoglyph"
    assert client.get(VERIFY_QUESTIONS["post"]).get_json()["link"] == "post"
    assert client.get(VERIFY_QUESTIONS["intent"]).get_json()["official"] is True
    assert client.get(VERIFY_QUESTIONS["sign_in"]).get_json()["official"] is True
    assert client.get(VERIFY_QUESTIONS["affix_slip"]).get_json()["lookalike_of"]["rule"] == "affix"
    assert client.get(VERIFY_QUESTIONS["claim"]).get_json()["lookalike_of"]["rule"] == "affix"
    assert client.get(VERIFY_QUESTIONS["sentence"]).get_json()["official"] is True


def signed_in(app: Flask, user: User) -> Any:
    browser = app.test_client()
    with app.app_context():
        sign_in(browser, user)
    return browser


def test_a_read_only_page_neither_locks_nor_commits(live: Flask, traffic: Traffic) -> None:
    """A signed-in person's GET that changes nothing (their home page, the API list) reads without SQLite's
    write lock and ends without a COMMIT."""
    seeded = seed(live)
    browser = signed_in(live, seeded.requester)
    for path in ("/", "/api/v1/channels", "/"):
        traffic.clear()
        response = browser.get(path)
        assert response.status_code == 200, path
        assert traffic.statements, path
        assert traffic.commits == 0, path
        assert locks_and_commits(traffic) == [], path


def test_a_get_that_writes_takes_the_lock_before_it_and_commits_with_its_audit_event(
    live: Flask, traffic: Traffic
) -> None:
    """Exporting the inventory (a GET) is audited: the write lock is taken before the audit trail's head
    is read, so two exports cannot fork the chain, and the event commits with the request."""
    seeded = seed(live)
    client = live.test_client()
    export = "/api/v1/channels?format=csv"
    bearer = {"Authorization": f"Bearer {seeded.token}"}
    assert client.get(export, headers=bearer).status_code == 200  # notes the token's use, which writes too
    traffic.clear()
    assert client.get(export, headers=bearer).status_code == 200
    assert traffic.commits == 1
    if traffic.sqlite:
        anchor = next(i for i, sql in enumerate(traffic.sqlite) if "FROM audit_anchor" in sql)
        assert [sql.upper() for sql in traffic.sqlite[anchor - 1 : anchor]] == ["BEGIN IMMEDIATE"]
        assert locks_and_commits(traffic) == ["BEGIN IMMEDIATE", "COMMIT"]
    with live.app_context():
        exports = db.session().execute(select(AuditEvent).where(AuditEvent.action == "channel:export")).scalars()
        assert [json.loads(event.details)["rows"] for event in exports] == [2, 2]
        assert verify_chain().ok


def test_a_get_that_notes_the_session_is_seen_still_commits_it(live: Flask, traffic: Traffic) -> None:
    """A page view more than a minute after the last one moves the session's last-seen time (it keeps the
    idle timeout honest): the GET writes it under the lock, and it is committed."""
    seeded = seed(live)
    browser = signed_in(live, seeded.requester)
    with live.app_context(), db.transaction() as session:
        record = session.execute(select(UserSession).where(UserSession.user_id == seeded.requester.id)).scalar_one()
        earlier = record.last_seen_at - dt.timedelta(minutes=5)
        record.last_seen_at = earlier
    traffic.clear()
    assert browser.get("/").status_code == 200
    assert traffic.commits == 1
    if traffic.sqlite:
        assert locks_and_commits(traffic) == ["BEGIN IMMEDIATE", "COMMIT"]
    with live.app_context():
        seen = db.session().execute(select(UserSession.last_seen_at)).scalar_one()
        assert seen > earlier


# --- one process: its own changes ---------------------------------------------------------------------


def test_a_change_shows_at_once_to_its_own_session_and_to_the_process_once_committed(
    app: Flask, make_channel: Any, make_user: Any
) -> None:
    """Retiring a channel shows at once in the session that did it, before it commits; rolled back, the
    channel is official again; committed, every request of the process sees it at once (no waiting for
    the bound)."""
    channel = make_channel("active", handle="ExampleClinic")
    comms = make_user("comms")
    client = app.test_client()
    assert client.get("/api/v1/verify?platform=x&handle=ExampleClinic").get_json()["official"] is True

    channels.transition(channel, "retire", comms, reason="Closed.")
    assert verification.verify(platform="x", handle="ExampleClinic").formerly_official
    db.session().rollback()
    assert verification.verify(platform="x", handle="ExampleClinic").official

    channels.transition(db.session().get(Channel, channel.id), "retire", comms, reason="Closed.")  # type: ignore[arg-type]
    db.session().commit()
    answer = client.get("/api/v1/verify?platform=x&handle=ExampleClinic").get_json()
    assert (answer["official"], answer["formerly_official"]) == (False, True)


def test_a_write_spelled_with_a_common_table_expression_counts_as_a_write(tmp_path: Path) -> None:
    """In a reading session (a GET's), ``text("WITH … INSERT …")`` writes under the lock inside the
    request's transaction, so a rollback undoes it (it is not saved at once, outside the unit of work);
    a ``WITH`` built as a query still only reads."""
    engine = db.make_engine(f"sqlite:///{tmp_path / 'cte.db'}")
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        session = Session(bind=engine.execution_options(**{db.READING: True}))
        numbers = select(literal(1).label("x")).cte("numbers")
        session.execute(select(numbers.c.x))
        assert not session.connection().info.get("registry.wrote")
        session.execute(text("WITH v AS (SELECT 1 AS x) INSERT INTO t SELECT x FROM v"))
        assert session.connection().info.get("registry.wrote")
        session.rollback()
        session.close()
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM t").scalar() == 0
    finally:
        engine.dispose()


def test_an_index_whose_version_came_back_to_the_same_number_is_reloaded_within_the_backstop(
    live: Flask, own_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database restored from a backup (or failed over) can hold the very version number a process
    loaded, with other facts. Within :data:`~registry.verification.index.RELOAD_AT_LEAST` the process
    reloads anyway."""
    seeded = seed(live)
    monkeypatch.setattr(index, "FRESH_FOR", 0.0)
    client = live.test_client()
    shown = client.get("/api/v1/verify?platform=x&handle=ExampleWards").get_json()["channel"]["display_name"]
    assert shown == "ExampleWards official"

    engine = db.make_engine(own_database)
    try:
        with engine.begin() as connection:
            version = connection.execute(text("SELECT version FROM public_facts_version")).scalar_one()
            connection.execute(
                text("UPDATE channels SET display_name = 'Example Wards' WHERE id = :id"), {"id": seeded.other.id}
            )
        with engine.begin() as connection:  # as restored: the same number, other facts
            connection.execute(text("UPDATE public_facts_version SET version = :v"), {"v": version})
    finally:
        engine.dispose()

    def shown_now() -> str:
        return str(client.get("/api/v1/verify?platform=x&handle=ExampleWards").get_json()["channel"]["display_name"])

    assert shown_now() == "ExampleWards official"  # the version alone cannot tell
    monkeypatch.setattr(index, "RELOAD_AT_LEAST", 0.0)
    assert shown_now() == "Example Wards"
