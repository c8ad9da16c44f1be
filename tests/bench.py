"""`make bench`: how fast the registry is with a realistic amount of data.

Seeds a fresh database (a temporary SQLite file, or a new PostgreSQL database
beside ``--postgres URL`` / ``REGISTRY_BENCH_POSTGRES_URL``) with 10,000 channels
in every platform, department and state, each with its whole history and
lookalike keys, 200 monitoring findings, 10,000 secrets in custody (every kind,
each sealed by the application's vault under its master key), and 100,000 audit
events forming a valid chain (hashed by the application's own function). Then it
times, through the real application and real commits, the inventory page, the
API list, public verification, revealing a secret (signed in with two-factor,
the step-up done beforehand) and ``audit verify``, and counts the SQL statements
each request runs. Last, with a second master key made primary, it times
``keys rotate`` over every secret, ``keys verify`` with only the new key, and,
beside them, the raw AES-GCM rewrap of the same data in memory. Progress goes to
stderr; Markdown tables for the README go to stdout.

Not a test: nothing here passes or fails on speed. It stops with an error only
when the data or the application is wrong (a refused sign-in, a non-200 answer,
a broken chain, a secret that does not come back), because then the numbers
would mean nothing.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import os
import platform as host
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import Engine, event, insert, select, text, update
from sqlalchemy.orm import Session

import config as registry_config
from registry import create_app, db
from registry.audit.chain import HASHED_FIELDS, canonical_event
from registry.audit.keyring import current_keyring
from registry.audit.models import AuditAction, AuditAnchor, AuditEvent
from registry.audit.services import (
    Actor,
    canonical_json,
    redact,
    verify_chain,
)
from registry.auth import services as accounts
from registry.auth.models import User, UserTotp, totp_aad
from registry.channels.lookalike import comparable_part, lookalike_keys
from registry.channels.models import (
    Channel,
    ChannelLookalikeKey,
    ChannelTransition,
    reference_for,
)
from registry.channels.platforms import PLATFORMS, Platform, normalise_handle
from registry.channels.services import REVIEW_INTERVAL
from registry.channels.workflow import TRANSITIONS, ChannelAction, ChannelStatus
from registry.crypto import Sealed, Vault, vault
from registry.monitoring import services as monitoring
from registry.vault import services as custody
from registry.vault.models import (
    Credential,
    CredentialKind,
    CredentialVersion,
    version_aad,
)
from tests.conftest import (
    TEST_PASSWORD,
    IsolatedClient,
    csrf_token,
    enrol_two_factor,
    fresh_postgres_database,
    migrate,
    next_code,
    settings_for,
    sign_in,
)

CHANNELS = 10_000
SECRETS = 10_000
AUDIT_EVENTS = 100_000
FINDINGS = 200
BATCH = 2_000
HISTORY = dt.timedelta(days=3 * 365)
CUSTODY_WINDOW = dt.timedelta(days=75)
CUSTODY_REASON = "Taken into custody from the department when the account went live."
REVEAL_REASON = "Signing in to post the winter vaccination update."
ROTATE_BATCH = 500

# (department, short name used in handles)
DEPARTMENTS = [
    ("Maternity", "mat"),
    ("Emergency Department", "ed"),
    ("Children's Services", "kids"),
    ("Cancer Services", "onc"),
    ("Cardiology", "card"),
    ("Mental Health", "mh"),
    ("Pharmacy", "phar"),
    ("Radiology", "rad"),
    ("Renal", "ren"),
    ("Surgery", "surg"),
    ("Therapies", "ther"),
    ("Dietetics", "diet"),
    ("Workforce", "jobs"),
    ("Research", "res"),
    ("Estates and Facilities", "est"),
    ("Volunteering", "vol"),
    ("Critical Care", "icu"),
    ("Communications", "comm"),
    ("Community Nursing", "cn"),
    ("Outpatients", "opd"),
]
TOPICS = ["news", "info", "team", "care", "voice", "help", "live", "hub"]
PLATFORM_WEIGHTS = {
    Platform.X: 20,
    Platform.FACEBOOK: 20,
    Platform.INSTAGRAM: 14,
    Platform.LINKEDIN: 8,
    Platform.YOUTUBE: 6,
    Platform.TIKTOK: 5,
    Platform.THREADS: 4,
    Platform.BLUESKY: 5,
    Platform.MASTODON: 3,
    Platform.PINTEREST: 2,
    Platform.FLICKR: 2,
    Platform.SNAPCHAT: 2,
    Platform.WHATSAPP: 4,
    Platform.OTHER: 5,
}
# Each final state, how common it is, and the decisions that lead there.
PATHS: list[tuple[ChannelStatus, int, list[ChannelAction]]] = [
    (ChannelStatus.ACTIVE, 48, [ChannelAction.APPROVE, ChannelAction.ACTIVATE]),
    (ChannelStatus.RETIRED, 14, [ChannelAction.APPROVE, ChannelAction.ACTIVATE, ChannelAction.RETIRE]),
    (ChannelStatus.SUSPENDED, 5, [ChannelAction.APPROVE, ChannelAction.ACTIVATE, ChannelAction.SUSPEND]),
    (ChannelStatus.REQUESTED, 6, []),
    (ChannelStatus.REQUESTED, 2, [ChannelAction.REQUEST_INFO, ChannelAction.RESUBMIT]),
    (ChannelStatus.INFO_REQUESTED, 4, [ChannelAction.REQUEST_INFO]),
    (ChannelStatus.APPROVED, 5, [ChannelAction.APPROVE]),
    (ChannelStatus.REJECTED, 9, [ChannelAction.REJECT]),
    (ChannelStatus.WITHDRAWN, 7, [ChannelAction.WITHDRAW]),
]
REASONS = {
    ChannelAction.REJECT: "A page for one ward is not a corporate channel; use the department's account.",
    ChannelAction.REQUEST_INFO: "Who answers messages at weekends? Patients may ask clinical questions.",
    ChannelAction.SUSPEND: "Moderators on leave; paused until cover is arranged.",
    ChannelAction.RETIRE: "The campaign ended; followers were pointed to the main account.",
    ChannelAction.WITHDRAW: "We will post through the main Trust account instead.",
}


def raw_handle(platform: Platform, number: int, slug: str, topic: str) -> str:
    """What a requester might type for account ``number``: a handle or an address, per platform."""
    name = f"{slug}{topic}{number:05d}"
    return {
        Platform.X: f"@{name}",
        Platform.FACEBOOK: f"https://www.facebook.com/{name.capitalize()}",
        Platform.INSTAGRAM: f"{slug}.{topic}.{number:05d}",
        Platform.LINKEDIN: f"https://www.linkedin.com/company/{slug}-{topic}-{number:05d}/",
        Platform.YOUTUBE: f"@{name}",
        Platform.TIKTOK: f"@{slug}.{topic}{number:05d}",
        Platform.THREADS: f"@{slug}_{topic}{number:05d}",
        Platform.BLUESKY: f"{slug}-{topic}-{number:05d}.bsky.social",
        Platform.MASTODON: f"{name}@mastodon.social",
        Platform.PINTEREST: name,
        Platform.FLICKR: name,
        Platform.SNAPCHAT: f"{slug}-{topic}{number:05d}",
        Platform.WHATSAPP: f"https://whatsapp.com/channel/0029Va{slug.capitalize()}{topic}{number:08d}",
        Platform.OTHER: f"https://forum.example.org/{slug}-{topic}-{number:05d}",
    }[platform]


# --------------------------------------------------------------------------
# Seeding


@dataclass
class People:
    requesters: list[User]
    deciders: list[User]
    reader: User
    token: str
    staff_token: str


@dataclass
class Draft:
    """An audit event before it has a place in the chain."""

    occurred_at: dt.datetime
    actor: User
    action: str
    object_type: str
    object_id: str
    details: dict[str, Any]
    address: str | None = None


@dataclass(frozen=True)
class Secret:
    """A secret in custody and the value a reveal must show."""

    reference: str
    kind: str
    value: str


@dataclass
class Seeded:
    channels: int = 0
    transitions: int = 0
    lookalike_keys: int = 0
    audit_events: int = 0
    secrets: list[Secret] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    samples: dict[str, Channel] = field(default_factory=dict)


@contextmanager
def timed(into: dict[str, float], name: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    into[name] = time.perf_counter() - start


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def create_people() -> People:
    """Users through the real service (Argon2 hashing, validation, audit), and API tokens."""
    system = Actor.system("bench")

    def person(email: str, name: str, *roles: str) -> User:
        return accounts.create_user(email=email, name=name, roles=roles, password=TEST_PASSWORD, actor=system)

    requesters = [person(f"staff{n}@example.nhs.uk", f"Staff Member {n}", "staff") for n in range(1, 21)]
    deciders = [person(f"comms{n}@example.nhs.uk", f"Comms Officer {n}", "comms") for n in range(1, 5)]
    person("auditor@example.nhs.uk", "Internal Auditor", "auditor")
    reader = person("bench.comms@example.nhs.uk", "Bench Reader", "comms")
    enrol_two_factor(reader)
    for number in range(1, FINDINGS + 1):
        platform = (Platform.X, Platform.FACEBOOK, Platform.INSTAGRAM, Platform.TIKTOK)[number % 4]
        monitoring.record_finding(
            platform=platform.value,
            url=PLATFORMS[platform].profile_url(f"trustoffers{number}"),
            evidence="Uses the Trust's name and logo and offers paid appointments.",
            found_on=None,
            actor=deciders[number % len(deciders)],
        )
    _token, value = accounts.create_token(reader, actor=system)
    _token, staff_value = accounts.create_token(requesters[0], actor=system)
    return People(requesters, deciders, reader, value, staff_value)


def address(rng: random.Random) -> str:
    return f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def build_channels(
    people: People, count: int, now: dt.datetime, rng: random.Random
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], list[Draft]]:
    """Rows for channels, their histories and lookalike keys, and drafts of their audit events.

    Each channel follows a legal path through the workflow table, decided by a
    member of comms who is not the requester; handles are canonical, made by
    normalising what a requester would type.
    """
    platforms = list(PLATFORM_WEIGHTS)
    weights = list(PLATFORM_WEIGHTS.values())
    paths = [(status, path) for status, _weight, path in PATHS]
    path_weights = [weight for _status, weight, _path in PATHS]
    channels: list[dict[str, Any]] = []
    transitions: list[dict[str, Any]] = []
    keys: list[dict[str, Any]] = []
    drafts: list[Draft] = []
    start = now - HISTORY
    step = (HISTORY - dt.timedelta(days=120)) / count
    for number in range(1, count + 1):
        platform = rng.choices(platforms, weights)[0]
        department, slug = rng.choice(DEPARTMENTS)
        topic = rng.choice(TOPICS)
        handle = normalise_handle(platform, raw_handle(platform, number, slug, topic))
        status, path = rng.choices(paths, path_weights)[0]
        requester = rng.choice(people.requesters)
        decider = rng.choice(people.deciders)
        created_at = start + step * number + dt.timedelta(seconds=rng.randrange(3600))
        reference = reference_for(number)
        row: dict[str, Any] = {
            "id": number,
            "platform": platform.value,
            "handle": handle,
            "display_name": f"{department} {topic} {number}",
            "url": PLATFORMS[platform].profile_url(handle),
            "department": department,
            "purpose": f"News, service updates and campaigns from {department.lower()} for the people we serve.",
            "audience": "Patients, carers, visitors and the local community.",
            "posting_plan": f"Two named members of the {department.lower()} team, trained by communications.",
            "moderation_plan": "The same team checks comments twice a day on weekdays.",
            "out_of_hours": "The communications on-call manager watches notifications at weekends.",
            "sponsor": f"Head of {department}",
            "proposed_administrators": f"{requester.name} ({requester.email}); the communications team",
            "policy_acknowledged_at": created_at,
            "status": ChannelStatus.REQUESTED.value,
            "requester_id": requester.id,
            "created_at": created_at,
            "updated_at": created_at,
            "status_changed_at": created_at,
            "next_review_on": None,
        }
        transitions.append(
            {
                "channel_id": number,
                "action": "request",
                "from_status": None,
                "to_status": ChannelStatus.REQUESTED.value,
                "actor_id": requester.id,
                "occurred_at": created_at,
                "reason": None,
            }
        )
        drafts.append(
            Draft(
                created_at,
                requester,
                AuditAction.CHANNEL_REQUEST.value,
                "channel",
                reference,
                {"platform": platform.value, "handle": handle, "department": department},
                address(rng),
            )
        )
        moment = created_at
        for action in path:
            moment += dt.timedelta(days=rng.randint(1, 20), seconds=rng.randrange(86_400))
            t = TRANSITIONS[action]
            actor = requester if t.permission is None else decider
            reason = REASONS.get(action)
            details: dict[str, Any] = {"from": row["status"], "to": t.target.value}
            if reason:
                details["reason"] = reason
            if action is ChannelAction.ACTIVATE:
                row["next_review_on"] = (moment + REVIEW_INTERVAL).date()
                details["next_review_on"] = row["next_review_on"].isoformat()
            transitions.append(
                {
                    "channel_id": number,
                    "action": action.value,
                    "from_status": row["status"],
                    "to_status": t.target.value,
                    "actor_id": actor.id,
                    "occurred_at": moment,
                    "reason": reason,
                }
            )
            drafts.append(Draft(moment, actor, t.audit.value, "channel", reference, details, address(rng)))
            row["status"] = t.target.value
            row["status_changed_at"] = row["updated_at"] = moment
        assert row["status"] == status.value
        channels.append(row)
        keys.extend(
            {"channel_id": number, "key": key[:255], "platform": platform.value}
            for key in sorted(lookalike_keys(comparable_part(platform, handle)))
        )
    return channels, transitions, keys, drafts


def secret_value(kind: CredentialKind, number: int, rng: random.Random) -> str:
    """A plausible value of ``kind`` for channel ``number``, in the form ``services.store`` keeps it."""
    match kind:
        case CredentialKind.PASSWORD:
            alphabet = "".join(custody.PASSWORD_CLASSES.values())
            return "".join(rng.choice(alphabet) for _ in range(24))
        case CredentialKind.RECOVERY_CODES:
            return "\n".join(f"{rng.randrange(10**4):04d}-{rng.randrange(10**4):04d}" for _ in range(10))
        case CredentialKind.RECOVERY_EMAIL:
            return f"social.media+{number:05d}@example.nhs.uk"
        case CredentialKind.RECOVERY_PHONE:
            return f"+44 7700 900{rng.randrange(1000):03d}"
        case CredentialKind.TOTP_SEED:
            return custody.normalise_totp_seed(base64.b32encode(rng.randbytes(20)).decode("ascii"))
        case CredentialKind.NOTES:
            return f"Hardware key {number} is in the communications office safe, envelope {rng.randrange(1, 400)}."
    raise AssertionError(kind)


def build_credentials(
    people: People, channels: Sequence[dict[str, Any]], count: int, now: dt.datetime, rng: random.Random
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[Draft], list[Secret]]:
    """Rows for ``count`` secrets (every kind of the oldest active channels), sealed by the app's vault.

    Each is what ``services.store`` makes for a first version: the credential, its
    version sealed under the primary master key with the row's associated data, and
    the audit event, by a member of comms in the last few weeks.
    """
    active = [row for row in channels if row["status"] == ChannelStatus.ACTIVE.value]
    kinds = list(CredentialKind)
    if count > len(active) * len(kinds):
        raise SystemExit(f"{count} secrets need {-(-count // len(kinds))} active channels; there are {len(active)}.")
    sealer = vault()
    days = custody.rotation_days()
    credentials: list[dict[str, Any]] = []
    versions: list[dict[str, Any]] = []
    drafts: list[Draft] = []
    secrets: list[Secret] = []
    for number in range(1, count + 1):
        channel = active[(number - 1) // len(kinds)]
        kind = kinds[(number - 1) % len(kinds)]
        value = secret_value(kind, channel["id"], rng)
        when = now - CUSTODY_WINDOW + dt.timedelta(seconds=rng.randrange(int(CUSTODY_WINDOW.total_seconds())))
        actor = rng.choice(people.deciders)
        sealed = sealer.seal(value.encode("utf-8"), version_aad(channel["id"], kind.value, 1))
        credentials.append(
            {
                "id": number,
                "channel_id": channel["id"],
                "kind": kind.value,
                "current_version": 1,
                "created_at": when,
                "rotated_at": when,
                "rotation_due_on": when.date() + dt.timedelta(days=days),
                "rotation_required": False,
                "rotation_reasons_json": "[]",
            }
        )
        versions.append(
            {
                "id": number,
                "credential_id": number,
                "version": 1,
                "key_id": sealed.key_id,
                "wrapped_key": sealed.wrapped_key,
                "nonce": sealed.nonce,
                "ciphertext": sealed.ciphertext,
                "created_at": when,
                "created_by_id": actor.id,
                "reason": CUSTODY_REASON,
            }
        )
        reference = reference_for(channel["id"])
        drafts.append(
            Draft(
                when,
                actor,
                AuditAction.CREDENTIAL_STORE.value,
                "credential",
                f"{reference}/{kind.value}",
                {"version": 1, "reason": CUSTODY_REASON, "key_id": sealed.key_id, "was_required": False},
                address(rng),
            )
        )
        secrets.append(Secret(reference, kind.value, value))
    return credentials, versions, drafts, secrets


def background_drafts(people: People, count: int, now: dt.datetime, rng: random.Random) -> list[Draft]:
    """Everyday events around the decisions: sign-ins, sign-outs and exports."""
    everyone = people.requesters + people.deciders + [people.reader]
    drafts = []
    for _ in range(count):
        user = rng.choice(everyone)
        moment = now - HISTORY + dt.timedelta(seconds=rng.randrange(int(HISTORY.total_seconds())))
        roll = rng.random()
        if roll < 0.55:
            drafts.append(Draft(moment, user, AuditAction.USER_SIGN_IN.value, "user", str(user.id), {}, address(rng)))
        elif roll < 0.97:
            drafts.append(Draft(moment, user, AuditAction.USER_SIGN_OUT.value, "user", str(user.id), {}, address(rng)))
        else:
            user = rng.choice(people.deciders)
            drafts.append(
                Draft(
                    moment,
                    user,
                    AuditAction.CHANNEL_EXPORT.value,
                    "channel",
                    "inventory",
                    {"filters": {"status": "active"}, "rows": rng.randrange(1000, 6000)},
                    address(rng),
                )
            )
    return drafts


def chain(drafts: list[Draft], seq: int, head: str, chain_id: str) -> tuple[list[dict[str, Any]], int, str]:
    """Audit rows continuing the chain after ``seq``/``head``, linked by the application's own keyed function."""
    keyring = current_keyring()
    rows = []
    for draft in sorted(drafts, key=lambda d: d.occurred_at):
        seq += 1
        event = AuditEvent(
            seq=seq,
            occurred_at=draft.occurred_at,
            actor_id=draft.actor.id,
            actor=draft.actor.label[:300],
            action=draft.action,
            object_type=draft.object_type,
            object_id=draft.object_id[:64],
            address=draft.address,
            details=canonical_json(redact(draft.details)),
            prev_hash=head,
        )
        fields = {name: getattr(event, name) for name in HASHED_FIELDS}
        head = keyring.link(keyring.primary_id, chain_id, head, canonical_event(fields))
        rows.append({**fields, "prev_hash": event.prev_hash, "hash": head, "key_id": keyring.primary_id})
    return rows, seq, head


def bulk_insert(session: Session, model: type[Any], rows: Sequence[dict[str, Any]]) -> None:
    """ORM bulk INSERT in batches; ``render_nulls`` keeps rows with and without NULLs in one batch."""
    statement = insert(model).execution_options(render_nulls=True)
    for offset in range(0, len(rows), BATCH):
        session.execute(statement, rows[offset : offset + BATCH])


def reset_sequences(session: Session, *tables: str) -> None:
    """After rows inserted with their own ids, PostgreSQL's sequences continue past them."""
    if session.get_bind().dialect.name == "postgresql":
        for table in tables:
            session.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            )


def seed(app: Flask, channel_count: int, secret_count: int, event_count: int) -> tuple[People, Seeded]:
    """Fill the database and commit; returns who signs in and what was made."""
    seeded = Seeded()
    rng = random.Random(20_240_601)
    now = db.utcnow()
    with app.app_context(), db.transaction() as session:
        with timed(seeded.timings, "users"):
            people = create_people()
            session.flush()
        with timed(seeded.timings, "channels"):
            channels, transitions, keys, drafts = build_channels(people, channel_count, now, rng)
            bulk_insert(session, Channel, channels)
            bulk_insert(session, ChannelTransition, transitions)
            bulk_insert(session, ChannelLookalikeKey, keys)
            reset_sequences(session, "channels")
        with timed(seeded.timings, "credentials"):
            credentials, versions, stored, seeded.secrets = build_credentials(people, channels, secret_count, now, rng)
            bulk_insert(session, Credential, credentials)
            bulk_insert(session, CredentialVersion, versions)
            reset_sequences(session, "credentials", "credential_versions")
            drafts += stored
        with timed(seeded.timings, "audit"):
            anchor = session.execute(select(AuditAnchor).where(AuditAnchor.id == 1).with_for_update()).scalar_one()
            filler = event_count - anchor.seq - len(drafts)
            if filler < 0:
                raise SystemExit(f"{event_count} audit events are too few for {channel_count} channels' histories.")
            rows, seq, head = chain(
                drafts + background_drafts(people, filler, now, rng), anchor.seq, anchor.head_hash, anchor.chain_id
            )
            bulk_insert(session, AuditEvent, rows)
            session.execute(
                update(AuditAnchor)
                .where(AuditAnchor.id == 1)
                .values(seq=seq, head_hash=head, head_key_id=current_keyring().primary_id, updated_at=now)
            )
        seeded.channels, seeded.transitions, seeded.lookalike_keys = len(channels), len(transitions), len(keys)
        seeded.audit_events = seq
    with app.app_context(), db.transaction() as session:
        with timed(seeded.timings, "analyse"):
            if session.get_bind().dialect.name == "postgresql":
                session.execute(text("ANALYZE"))
        seeded.samples = pick_samples(session)
    return people, seeded


def pick_samples(session: Session) -> dict[str, Channel]:
    """Official channels to verify: one on X (for a lookalike) and one on LinkedIn."""

    def first_active(platform: Platform) -> Channel:
        return session.execute(
            select(Channel)
            .where(Channel.platform == platform.value, Channel.status == ChannelStatus.ACTIVE.value)
            .order_by(Channel.id.desc())
            .limit(1)
        ).scalar_one()

    return {"x": first_active(Platform.X), "linkedin": first_active(Platform.LINKEDIN)}


# --------------------------------------------------------------------------
# Measuring


class StatementCounter:
    """Counts the SQL statements the engine runs (transaction control left out)."""

    def __init__(self, engine: Engine) -> None:
        self.n = 0
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, _conn: Any, _cursor: Any, statement: str, *args: Any) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "SAVEPOINT", "RELEASE", "ROLLBACK")):
            self.n += 1


@dataclass
class Result:
    label: str
    times_ms: list[float]
    statements: set[int]
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def p95(self) -> float:
        if len(self.times_ms) < 20:
            return max(self.times_ms)
        return statistics.quantiles(self.times_ms, n=20, method="inclusive")[18]


def measure(
    label: str, call: Callable[[], int], counter: StatementCounter, runs: int, warmup: int, note: str = ""
) -> Result:
    """Time ``call`` ``runs`` times after ``warmup`` untimed calls; it returns an HTTP status."""
    for _ in range(warmup):
        check(label, call())
    times: list[float] = []
    statements: set[int] = set()
    for _ in range(runs):
        counter.n = 0
        start = time.perf_counter()
        status = call()
        times.append((time.perf_counter() - start) * 1000)
        statements.add(counter.n)
        check(label, status)
    progress(f"  {label}: median {statistics.median(times):.1f} ms")
    return Result(label, times, statements, note)


def check(label: str, status: int) -> None:
    if status != 200:
        raise SystemExit(f"{label} answered {status}, not 200: the numbers would mean nothing.")


def getter(client: FlaskClient, path: str, headers: dict[str, str] | None = None) -> Callable[[], int]:
    def call() -> int:
        return client.get(path, headers=headers or {}).status_code

    return call


def query(path: str, **params: Any) -> str:
    return f"{path}?{urlencode(params)}" if params else path


def step_up(app: Flask, client: FlaskClient, user: User) -> None:
    """Confirm the second factor again (untimed), so reveals in the next five minutes are allowed."""
    with app.app_context():
        code = next_code(user)
    response = client.post("/account/step-up", data={"code": code, "csrf_token": csrf_token(client)})
    if response.status_code not in (302, 303):
        raise SystemExit(f"the step-up answered {response.status_code}: reveals would be refused.")


def revealer(client: FlaskClient, secrets: Iterator[Secret]) -> Callable[[], int]:
    """POSTs a reveal of the next secret with a reason; stops the bench if its value is not on the page."""
    token = csrf_token(client)

    def call() -> int:
        secret = next(secrets)
        response = client.post(
            f"/channels/{secret.reference}/credentials/{secret.kind}/reveal",
            data={f"{secret.kind}-reason": REVEAL_REASON, "csrf_token": token},
        )
        if response.status_code == 200 and str(escape(secret.value)) not in response.get_data(as_text=True):
            raise SystemExit(f"revealing {secret.reference}/{secret.kind} did not show its value.")
        return response.status_code

    return call


def spread(items: Sequence[Secret], count: int) -> Iterator[Secret]:
    """``count`` different secrets from across ``items``: many channels, and every kind in turn
    (a step one more than a multiple of the kinds, as ``items`` go through the kinds in order)."""
    kinds = len(CredentialKind)
    step = max(1, len(items) // count // kinds * kinds + 1)
    return iter([items[(n * step) % len(items)] for n in range(count)])


def run_measurements(app: Flask, people: People, seeded: Seeded, runs: int, warmup: int) -> list[Result]:
    counter = StatementCounter(app.extensions["registry.db"].engine)
    app.test_client_class = IsolatedClient
    browser = app.test_client()
    with app.app_context():
        sign_in(browser, people.reader)
    bearer = {"Authorization": f"Bearer {people.token}"}
    staff_bearer = {"Authorization": f"Bearer {people.staff_token}"}
    last_page = -(-seeded.channels // 25)
    results = []

    def page(label: str, path: str, headers: dict[str, str] | None = None, client: FlaskClient | None = None) -> None:
        results.append(measure(label, getter(client or browser, path, headers), counter, runs, warmup))

    for base, headers, name in (("/channels", None, "Inventory page"), ("/api/v1/channels", bearer, "API list")):
        page(f"{name} `{base}` (page 1)", base, headers)
        page(f"{name}, `status=active`", query(base, status="active"), headers)
        page(f"{name}, `q=maternity`", query(base, q="maternity"), headers)
        page(f"{name}, `sort=name&dir=desc`", query(base, sort="name", dir="desc"), headers)
        page(f"{name}, page 200", query(base, page=200), headers)
        page(f"{name}, last page ({last_page})", query(base, page=last_page), headers)
        for per_page in (10, 100):
            page(f"{name}, `per_page={per_page}`", query(base, per_page=per_page), headers)
    page("API list as staff (own + official)", "/api/v1/channels", staff_bearer)

    public = app.test_client()
    x, linkedin = seeded.samples["x"], seeded.samples["linkedin"]
    lookalike = f"https://x.com/{x.handle[:3]}_{x.handle[3:]}"
    for label, url in (
        ("Verify: exact match", linkedin.url),
        ("Verify: lookalike", lookalike),
        ("Verify: miss", "https://www.instagram.com/quiet.unrelated.account/"),
        ("Verify: reported unauthorised account", "https://x.com/TrustOffers4"),
    ):
        page(f"{label} `/api/v1/verify`", query("/api/v1/verify", url=url), client=public)
    verdicts = {
        label: public.get(query("/api/v1/verify", url=url)).get_json()
        for label, url in (
            ("exact", linkedin.url),
            ("lookalike", lookalike),
            ("unauthorised", "https://x.com/TrustOffers4"),
        )
    }
    if not (
        verdicts["exact"].get("official")
        and verdicts["lookalike"].get("lookalike_of")
        and verdicts["unauthorised"].get("known_unauthorised")
    ):
        raise SystemExit(f"verification did not answer as expected: {verdicts}")

    custody_page = seeded.secrets[0].reference
    page(
        f"Credentials page of a channel (6 secrets) `/channels/{custody_page}/credentials`",
        f"/channels/{custody_page}/credentials",
    )
    step_up(app, browser, people.reader)
    results.append(
        measure(
            "Reveal a secret (POST with a reason; step-up done beforehand)",
            revealer(browser, spread(seeded.secrets, runs + warmup)),
            counter,
            runs,
            warmup,
        )
    )

    results.append(measure_audit_verify(app, counter, seeded.audit_events))
    return results


def measure_audit_verify(app: Flask, counter: StatementCounter, at_least: int) -> Result:
    """``verify_chain`` as ``flask audit verify`` runs it; the chain holds the seeded events and the bench's sign-in."""
    times: list[float] = []
    statements: set[int] = set()
    checked = 0
    for _ in range(3):
        with app.app_context():
            counter.n = 0
            start = time.perf_counter()
            report = verify_chain()
            times.append((time.perf_counter() - start) * 1000)
            statements.add(counter.n)
        if not report.ok or report.checked < at_least:
            raise SystemExit(f"the seeded chain does not verify: {report.describe()}")
        checked = report.checked
    progress(f"  audit verify: median {statistics.median(times):.0f} ms")
    return Result(f"`flask audit verify`, {checked:,} events", times, statements, note="3 runs; p95 = slowest")


@dataclass
class Rotation:
    """Moving every secret to a new master key: through the database, and the bare cryptography."""

    secrets: int
    rotate_s: float
    rotate_statements: int
    raw_s: list[float]
    verify_s: float
    verify_statements: int

    @property
    def raw_median(self) -> float:
        return statistics.median(self.raw_s)


def sealed_pairs(session: Session) -> list[tuple[Sealed, bytes]]:
    """Every sealed secret with its associated data, as ``keys verify`` reads them, in memory."""
    versions = session.execute(
        select(
            CredentialVersion.version,
            CredentialVersion.key_id,
            CredentialVersion.wrapped_key,
            CredentialVersion.nonce,
            CredentialVersion.ciphertext,
            Credential.channel_id,
            Credential.kind,
        )
        .join(Credential, Credential.id == CredentialVersion.credential_id)
        .order_by(CredentialVersion.id)
    )
    pairs = [
        (Sealed(r.key_id, r.wrapped_key, r.nonce, r.ciphertext), version_aad(r.channel_id, r.kind, r.version))
        for r in versions
    ]
    pairs += [
        (custody.seal_of(seed), totp_aad(seed.user_id))
        for seed in session.execute(select(UserTotp).order_by(UserTotp.user_id)).scalars()
    ]
    return pairs


def raw_rewrap(sealer: Vault, pairs: Sequence[tuple[Sealed, bytes]]) -> float:
    """Seconds to unwrap and wrap again every data key: AES-GCM only, no database."""
    start = time.perf_counter()
    rewrapped = [sealer.rewrap(sealed, aad) for sealed, aad in pairs]
    elapsed = time.perf_counter() - start
    if any(entry.key_id != sealer.primary_key_id for entry in rewrapped):
        raise SystemExit("the in-memory rewrap did not move every data key to the new master key.")
    return elapsed


def run_command(app: Flask, counter: StatementCounter, *args: str) -> tuple[float, str]:
    """Seconds a ``flask`` command takes through Click, as from a shell; stops the bench if it fails."""
    runner = app.test_cli_runner()
    counter.n = 0
    start = time.perf_counter()
    result = runner.invoke(args=list(args))
    elapsed = time.perf_counter() - start
    if result.exit_code != 0:
        raise SystemExit(f"`flask {' '.join(args)}` failed ({result.exit_code}): {result.output}")
    return elapsed, result.output


def measure_rotation(url: str, old_key: str) -> Rotation:
    """Make a new master key primary, time ``keys rotate`` and the raw rewrap of the same secrets,
    then ``keys verify`` with the old key gone."""
    new_key = registry_config.generate_master_key_entry()
    new_id = new_key.partition(":")[0]
    rotating = create_app(settings_for(url, MASTER_KEYS=f"{new_key},{old_key}"))
    verifying = create_app(settings_for(url, MASTER_KEYS=new_key))
    try:
        with rotating.app_context():
            pairs = sealed_pairs(db.session())
            db.session().rollback()
        sealer = rotating.extensions["registry.vault"]
        raw = [raw_rewrap(sealer, pairs) for _ in range(3)]
        progress(f"  raw rewrap of {len(pairs):,} data keys: median {statistics.median(raw):.2f} s")

        counter = StatementCounter(rotating.extensions["registry.db"].engine)
        rotate_s, output = run_command(rotating, counter, "keys", "rotate", "--batch-size", str(ROTATE_BATCH))
        rotate_statements = counter.n
        if f"Rewrapped {len(pairs)} data keys under {new_id}." not in output or (
            f"Secrets under each key id: {new_id}: {len(pairs)}" not in output
        ):
            raise SystemExit(f"`keys rotate` did not move every secret to {new_id}: {output}")
        progress(f"  keys rotate: {rotate_s:.2f} s")

        counter = StatementCounter(verifying.extensions["registry.db"].engine)
        verify_s, output = run_command(verifying, counter, "keys", "verify")
        if f"{len(pairs)} secrets decrypted; all can be read." not in output:
            raise SystemExit(f"`keys verify` with only the new key did not read every secret: {output}")
        progress(f"  keys verify: {verify_s:.2f} s")
        return Rotation(len(pairs), rotate_s, rotate_statements, raw, verify_s, counter.n)
    finally:
        for app in (rotating, verifying):
            app.extensions["registry.db"].engine.dispose()


# --------------------------------------------------------------------------
# Reporting


def database_version(app: Flask) -> str:
    with app.app_context():
        session = db.session()
        if session.get_bind().dialect.name == "postgresql":
            return "PostgreSQL " + session.execute(text("SHOW server_version")).scalar_one().split()[0]
        return "SQLite " + session.execute(text("SELECT sqlite_version()")).scalar_one()


def load_average() -> str:
    return f"{os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "unknown"


def report(
    version: str, seeded: Seeded, results: list[Result], rotation: Rotation, runs: int, load: tuple[str, str]
) -> str:
    t = seeded.timings
    machine = (
        f"**{version}**, Python {host.python_version()}, {os.cpu_count()} CPUs ({host.system()} {host.machine()}); "
        f"load average {load[0]} before measuring, {load[1]} after."
    )
    steps = [
        f"migrate {t['migrate']:.1f} s",
        f"users and {FINDINGS} monitoring findings {t['users']:.1f} s",
        f"channels {t['channels']:.1f} s",
        f"secrets {t['credentials']:.1f} s",
        f"audit chain {t['audit']:.1f} s",
    ]
    if t.get("analyse", 0) > 0.05:
        steps.append(f"ANALYZE {t['analyse']:.1f} s")
    seeding = (
        f"Seeded {seeded.channels:,} channels ({seeded.transitions:,} history steps, "
        f"{seeded.lookalike_keys:,} lookalike keys), {len(seeded.secrets):,} secrets in custody "
        f"(every kind of {-(-len(seeded.secrets) // len(CredentialKind)):,} active channels) and "
        f"{seeded.audit_events:,} audit events in {sum(t.values()):.1f} s ({', '.join(steps)}). "
        f"Each page: {runs} timed requests after a warm-up, through the Flask test client, signed in as "
        "comms with two-factor (API: bearer token); each reveal is of a different secret."
    )
    lines = [
        machine,
        "",
        seeding,
        "",
        "| Measurement | Median (ms) | p95 (ms) | SQL statements |",
        "| --- | ---: | ---: | ---: |",
    ]
    for result in results:
        statements = "/".join(str(n) for n in sorted(result.statements))
        label = f"{result.label} ({result.note})" if result.note else result.label
        lines.append(f"| {label} | {result.median:.1f} | {result.p95:.1f} | {statements} |")
    return "\n".join(lines + ["", rotation_table(rotation)])


def rotation_table(rotation: Rotation) -> str:
    n = rotation.secrets
    batches = -(-n // ROTATE_BATCH)
    raw = rotation.raw_median
    rows = [
        (
            f"`flask keys rotate` ({batches} batches of {ROTATE_BATCH}, a transaction each)",
            rotation.rotate_s,
            str(rotation.rotate_statements),
        ),
        ("`Vault.rewrap` alone on the same data in memory (AES-GCM unwrap and wrap; median of 3)", raw, "0"),
        (
            "`flask keys verify` afterwards, only the new key configured",
            rotation.verify_s,
            str(rotation.verify_statements),
        ),
    ]
    lines = [
        f"| Moving {n:,} secrets to a new master key | Seconds | Secrets per second | SQL statements |",
        "| --- | ---: | ---: | ---: |",
    ]
    for label, seconds, statements in rows:
        lines.append(f"| {label} | {seconds:.{3 if seconds < 1 else 2}f} | {n / seconds:,.0f} | {statements} |")
    ratio = (
        f"`keys rotate` took {rotation.rotate_s / raw:.0f}× the raw rewrap of the same data keys "
        f"({rotation.rotate_s:.2f} s against {raw:.3f} s): the rest is loading each version through the ORM "
        "(with its credential, channel and users), writing it back, and a transaction and an audit event per batch."
    )
    return "\n".join([*lines, "", ratio])


def bench(url: str, instance: Path, args: argparse.Namespace) -> None:
    timings: dict[str, float] = {}
    with timed(timings, "migrate"):
        migrate(url)
    os.environ["REGISTRY_INSTANCE_PATH"] = str(instance)
    master_key = registry_config.generate_master_key_entry()
    app = create_app(settings_for(url, MASTER_KEYS=master_key))
    try:
        progress(f"Seeding {args.channels:,} channels, {args.secrets:,} secrets and {args.events:,} audit events…")
        people, seeded = seed(app, args.channels, args.secrets, args.events)
        seeded.timings = {**timings, **seeded.timings}
        progress(f"Seeded in {sum(seeded.timings.values()):.1f} s. Measuring…")
        before = load_average()
        results = run_measurements(app, people, seeded, args.runs, args.warmup)
        progress("Moving every secret to a new master key…")
        rotation = measure_rotation(url, master_key)
        print(report(database_version(app), seeded, results, rotation, args.runs, (before, load_average())))
    finally:
        app.extensions["registry.db"].engine.dispose()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default=os.environ.get("REGISTRY_BENCH_POSTGRES_URL") or None,
        help="a PostgreSQL server URL; a fresh database is created beside it and dropped afterwards "
        "(default: $REGISTRY_BENCH_POSTGRES_URL, else a temporary SQLite file)",
    )
    parser.add_argument("--channels", type=int, default=CHANNELS)
    parser.add_argument("--secrets", type=int, default=SECRETS, help="secrets in custody (6 per active channel)")
    parser.add_argument("--events", type=int, default=AUDIT_EVENTS, help="audit events in all")
    parser.add_argument("--runs", type=int, default=30, help="timed requests per measurement")
    parser.add_argument("--warmup", type=int, default=3)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="registry-bench-") as tmp:
        instance = Path(tmp) / "instance"
        if args.postgres:
            with fresh_postgres_database(args.postgres) as url:
                bench(url, instance, args)
        else:
            bench(f"sqlite:///{Path(tmp) / 'registry.db'}", instance, args)


if __name__ == "__main__":
    main()
