"""`make bench`: how fast the registry is with a realistic amount of data.

Seeds a fresh database (a temporary SQLite file, or a new PostgreSQL database beside
``--postgres URL`` / ``REGISTRY_BENCH_POSTGRES_URL``): 100,000 requests of every kind
(``--records``; 10,000 of them channel requests, ``--channels``, in every platform, department
and state, with lookalike keys; the rest promotional posts, logo consents, media contacts and
breach reports), each with its history over three years and one busy month, and each step of
it with its audit event (hashed by the application's own function); staff, line managers, HR
and comms; rosters and access reviews; messages; monitoring findings; and up to 10,000 secrets
in custody, sealed by the application's vault. Rows go in through SQLAlchemy core in bulk.

Then it measures, through the real application:

- every list page and each role's home page, signed in as that role (with two-factor where the
  role needs it), and the API's lists: median and 95th percentile, SQL statements, and the
  ratio to a bare Flask JSON route through the same test client;
- public verification under gunicorn (2 sync workers) beside a bare Flask JSON route with the
  same settings: requests per second for an exact match, a lookalike and a miss (rate limiting
  is turned off for that run only, and the output says so);
- ``flask audit verify`` as a command beside a bare sqlite3 (or psycopg) + hashlib loop over the
  same rows, also as a command;
- ``flask report generate`` for the busy month;
- the start: ``flask --app wsgi --help`` (which makes the app to list its commands) beside the same
  for a bare Flask app;
- ``keys rotate`` over every secret beside a bare rewrap of the same rows through the same database
  (the driver and AES-GCM alone: read, rewrap, write back, commit), with AES-GCM alone in memory for
  scale, then ``keys verify`` with only the new key.

Progress goes to stderr; Markdown tables for the README go to stdout, with the date and the
machine's load. ``--records 1000 --channels 100`` is a smoke check of a minute or two.

Not a test: nothing here passes or fails on speed. It stops with an error only when the data
or the application is wrong (a refused sign-in, a non-200 answer, a broken chain, a secret that
does not come back), because then the numbers would mean nothing.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import os
import platform as host
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import Engine, event, func, insert, select, text, update
from sqlalchemy.orm import Session

import config as registry_config
from registry import create_app, db
from registry.alerts.models import Webhook, webhook_aad
from registry.audit import checkpoints
from registry.audit.chain import HASHED_FIELDS, canonical_event, take_checkpoint, verify_span
from registry.audit.keyring import LINK_LABEL, current_keyring
from registry.audit.models import AuditAction, AuditAnchor, AuditEvent
from registry.audit.services import Actor, canonical_json, redact, verify_chain
from registry.auth import services as accounts
from registry.auth.models import User, UserRole, UserTotp, totp_aad
from registry.auth.permissions import TWO_FACTOR_ROLES, Role
from registry.channels.lookalike import comparable_part, lookalike_keys
from registry.channels.models import Channel, ChannelLookalikeKey, ChannelTransition, reference_for
from registry.channels.platforms import PLATFORMS, Platform, normalise_handle
from registry.channels.services import REVIEW_INTERVAL
from registry.channels.workflow import TRANSITIONS, ChannelAction, ChannelStatus
from registry.clock import LONDON
from registry.crypto import vault
from registry.lifecycle.kind import kinds
from registry.monitoring import services as monitoring
from registry.reports import figures
from registry.roster.models import RosterGrant
from registry.vault import services as custody
from registry.vault.models import Credential, CredentialKind, CredentialVersion, version_aad
from tests import bench_load, bench_seed
from tests.bench_seed import Batch, Clock, Crowd, Drafted, person
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

RECORDS = 100_000
CHANNELS = 10_000
SECRETS = 10_000
AUDIT_EVENTS = 100_000
BATCH = 2_000
HISTORY = bench_seed.HISTORY
CUSTODY_WINDOW = dt.timedelta(days=75)
#: How long before each month begins the seeded checkpoint timer signs the head.
TIMER_BEFORE_MONTH = dt.timedelta(minutes=1)
CUSTODY_REASON = "Taken into custody from the department when the account went live."
REVEAL_REASON = "Signing in to post the winter vaccination update."

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
ACTIVE_PATH = [ChannelAction.APPROVE, ChannelAction.ACTIVATE]
# Each final state, how common it is, and the decisions that lead there.
PATHS: list[tuple[ChannelStatus, int, list[ChannelAction]]] = [
    (ChannelStatus.ACTIVE, 48, ACTIVE_PATH),
    (ChannelStatus.RETIRED, 14, [ChannelAction.APPROVE, ChannelAction.ACTIVATE, ChannelAction.RETIRE]),
    (ChannelStatus.SUSPENDED, 5, [ChannelAction.APPROVE, ChannelAction.ACTIVATE, ChannelAction.SUSPEND]),
    (ChannelStatus.REQUESTED, 6, []),
    (ChannelStatus.REQUESTED, 2, [ChannelAction.REQUEST_INFO, ChannelAction.RESUBMIT]),
    (ChannelStatus.INFO_REQUESTED, 4, [ChannelAction.REQUEST_INFO]),
    (ChannelStatus.APPROVED, 5, [ChannelAction.APPROVE]),
    (ChannelStatus.REJECTED, 9, [ChannelAction.REJECT]),
    (ChannelStatus.WITHDRAWN, 7, [ChannelAction.WITHDRAW]),
]
#: The first channels are always active ones on these platforms: verification samples them, at any size.
SAMPLE_PLATFORMS = (Platform.X, Platform.LINKEDIN)
REASONS = {
    ChannelAction.REJECT: "A page for one ward is not a corporate channel; use the department's account.",
    ChannelAction.REQUEST_INFO: "Who answers messages at weekends? Patients may ask clinical questions.",
    ChannelAction.SUSPEND: "Moderators on leave; paused until cover is arranged.",
    ChannelAction.RETIRE: "The campaign ended; followers were pointed to the main account.",
    ChannelAction.WITHDRAW: "We will post through the main Trust account instead.",
}


# --------------------------------------------------------------------------
# Seeding


@dataclass
class People:
    """Who signs in (one person per role, through the real service), and API tokens."""

    by_role: dict[Role, User]
    deciders: list[User]
    token: str
    staff_token: str

    @property
    def reader(self) -> User:
        return self.by_role[Role.COMMS]


@dataclass(frozen=True)
class Secret:
    """A secret in custody and the value a reveal must show."""

    reference: str
    kind: str
    value: str


@dataclass
class Seeded:
    records: int = 0
    channels: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    steps: int = 0
    lookalike_keys: int = 0
    people: int = 0
    grants: int = 0
    messages: int = 0
    findings: int = 0
    audit_events: int = 0
    busy_month: str = ""
    #: (moment, event number, hash) a daily ``audit checkpoint`` timer would have signed at each month's start.
    month_starts: list[tuple[dt.datetime, int, str]] = field(default_factory=list)
    checkpoints: int = 0
    awaiting_comms: int = 0
    secrets: list[Secret] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    samples: dict[str, str] = field(default_factory=dict)


@contextmanager
def timed(into: dict[str, float], name: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    into[name] = into.get(name, 0.0) + time.perf_counter() - start


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def create_people(findings: int) -> People:
    """One person per role who signs in (Argon2 hashing, validation, audit through the real service;
    two-factor for the roles that need it), four comms deciders, monitoring findings, API tokens."""
    system = Actor.system("bench")

    def new(email: str, name: str, *roles: str) -> User:
        return accounts.create_user(email=email, name=name, roles=roles, password=TEST_PASSWORD, actor=system)

    by_role: dict[Role, User] = {}
    for role in Role:
        by_role[role] = new(f"bench.{role.value}@example.nhs.uk", f"Bench {role.label}", role.value)
        if role in TWO_FACTOR_ROLES:
            enrol_two_factor(by_role[role])
    deciders = [new(f"comms{n}@example.nhs.uk", f"Comms Officer {n}", "comms") for n in range(1, 5)]
    for number in range(1, findings + 1):
        platform = (Platform.X, Platform.FACEBOOK, Platform.INSTAGRAM, Platform.TIKTOK)[number % 4]
        monitoring.record_finding(
            platform=platform.value,
            url=PLATFORMS[platform].profile_url(f"trustoffers{number}"),
            evidence="Uses the Trust's name and logo and offers paid appointments.",
            found_on=None,
            actor=deciders[number % len(deciders)],
        )
    _token, value = accounts.create_token(by_role[Role.COMMS], actor=system)
    _token, staff_value = accounts.create_token(by_role[Role.STAFF], actor=system)
    return People(by_role, deciders, value, staff_value)


def address(rng: random.Random) -> str:
    return f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


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


def build_channels(
    crowd: Crowd, count: int, now: dt.datetime, rng: random.Random
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], list[Drafted]]:
    """Rows for channels, their histories and lookalike keys, and drafts of their audit events.

    Each channel follows a legal path through the workflow table, decided by a member of comms
    who is not the requester; handles are canonical, made by normalising what a requester would
    type. The first channels are active on X and LinkedIn, so there is always one to verify.
    """
    platforms = list(PLATFORM_WEIGHTS)
    weights = list(PLATFORM_WEIGHTS.values())
    paths = [(status, path) for status, _weight, path in PATHS]
    path_weights = [weight for _status, weight, _path in PATHS]
    channels: list[dict[str, Any]] = []
    transitions: list[dict[str, Any]] = []
    keys: list[dict[str, Any]] = []
    drafts: list[Drafted] = []
    start = now - HISTORY
    step = (HISTORY - dt.timedelta(days=120)) / count
    for number in range(1, count + 1):
        if number <= len(SAMPLE_PLATFORMS):
            platform, (status, path) = SAMPLE_PLATFORMS[number - 1], (ChannelStatus.ACTIVE, ACTIVE_PATH)
        else:
            platform = rng.choices(platforms, weights)[0]
            status, path = rng.choices(paths, path_weights)[0]
        department, slug = rng.choice(DEPARTMENTS)
        topic = rng.choice(TOPICS)
        handle = normalise_handle(platform, raw_handle(platform, number, slug, topic))
        requester = crowd.requester(rng)
        decider = rng.choice(crowd.comms)
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
                "note": None,
            }
        )
        drafts.append(
            Drafted(
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
                    "note": reason,
                }
            )
            drafts.append(Drafted(moment, actor, t.audit.value, "channel", reference, details, address(rng)))
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
    deciders: Sequence[User], channels: Sequence[dict[str, Any]], count: int, now: dt.datetime, rng: random.Random
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[Drafted], list[Secret]]:
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
    drafts: list[Drafted] = []
    secrets: list[Secret] = []
    for number in range(1, count + 1):
        channel = active[(number - 1) // len(kinds)]
        kind = kinds[(number - 1) % len(kinds)]
        value = secret_value(kind, channel["id"], rng)
        when = now - CUSTODY_WINDOW + dt.timedelta(seconds=rng.randrange(int(CUSTODY_WINDOW.total_seconds())))
        actor = rng.choice(deciders)
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
            Drafted(
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


def background_drafts(people: Sequence[Any], count: int, now: dt.datetime, rng: random.Random) -> list[Drafted]:
    """Everyday events around the decisions: sign-ins, sign-outs and exports."""
    drafts = []
    for _ in range(count):
        user = rng.choice(people)
        moment = now - HISTORY + dt.timedelta(seconds=rng.randrange(int(HISTORY.total_seconds())))
        roll = rng.random()
        if roll < 0.55:
            drafts.append(Drafted(moment, user, AuditAction.USER_SIGN_IN.value, "user", str(user.id), {}, address(rng)))
        elif roll < 0.97:
            drafts.append(
                Drafted(moment, user, AuditAction.USER_SIGN_OUT.value, "user", str(user.id), {}, address(rng))
            )
        else:
            drafts.append(
                Drafted(
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


def chain(drafts: list[Drafted], seq: int, head: str, chain_id: str) -> tuple[list[dict[str, Any]], int, str]:
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


def month_start_heads(rows: Sequence[dict[str, Any]]) -> list[tuple[dt.datetime, int, str]]:
    """The chain's head (event number and hash) a minute before each month the seeded rows span began
    (midnight in London, as the report's months do): what a daily ``audit checkpoint`` timer at 23:59
    signs on each month's last day, the busy month's included, so the busy month's report checks its
    trail from there. (A checkpoint signed at the month's first instant or later is never the start
    of the month's check: see ``verify_span``'s ``signed_before``.) ``rows`` are in order."""
    heads: list[tuple[dt.datetime, int, str]] = []
    if not rows:
        return heads
    first = rows[0]["occurred_at"].astimezone(LONDON)
    year, month = (first.year, first.month + 1) if first.month < 12 else (first.year + 1, 1)

    def signed(year: int, month: int) -> dt.datetime:
        return dt.datetime(year, month, 1, tzinfo=LONDON).astimezone(dt.UTC) - TIMER_BEFORE_MONTH

    moment = signed(year, month)
    last: dict[str, Any] | None = None
    for row in rows:
        while row["occurred_at"] >= moment:
            if last is not None:
                heads.append((moment, last["seq"], last["hash"]))
            year, month = (year, month + 1) if month < 12 else (year + 1, 1)
            moment = signed(year, month)
        last = row
    return heads


def sign_checkpoints(app: Flask, seeded: Seeded) -> None:
    """Append the month-start checkpoints to the app's checkpoint file, signed by its own service,
    then take one of the head now through ``take_checkpoint`` (what ``flask audit checkpoint`` runs),
    which refuses a head that does not hold."""
    with app.app_context():
        keyring = current_keyring()
        path = app.extensions["registry.settings"].audit_checkpoint_file
        chain_id = db.session().execute(select(AuditAnchor.chain_id).where(AuditAnchor.id == 1)).scalar_one()
        for moment, seq, head in seeded.month_starts:
            checkpoints.append(path, checkpoints.sign(keyring, chain_id, seq, head, moment))
        take_checkpoint()
    seeded.checkpoints = len(seeded.month_starts) + 1


def bulk_insert(session: Session, model: type[Any], rows: Sequence[dict[str, Any]]) -> None:
    """ORM bulk INSERT in batches; ``render_nulls`` keeps rows with and without NULLs in one batch."""
    statement = insert(model).execution_options(render_nulls=True)
    for offset in range(0, len(rows), BATCH):
        session.execute(statement, rows[offset : offset + BATCH])


def insert_batch(session: Session, batch: Batch) -> None:
    """A kind's rows, parents first (the order its builder met the models in is not that)."""
    for model in sorted(batch.rows, key=bench_seed.insert_order):
        bulk_insert(session, model, batch.rows[model])


def reset_sequences(session: Session, *tables: str) -> None:
    """After rows inserted with their own ids, PostgreSQL's sequences continue past them."""
    if session.get_bind().dialect.name == "postgresql":
        for table in tables:
            session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 1) FROM {table}))"
                )
            )


def next_id(session: Session, model: Any) -> int:
    return int(session.execute(select(model.id).order_by(model.id.desc()).limit(1)).scalar() or 0) + 1


def make_crowd(session: Session, people: People, records: int, now: dt.datetime, rng: random.Random) -> Crowd:
    """Staff (one for every fifty records), their line managers and HR, inserted in bulk; the signed-in
    manager manages one in twenty staff, and the signed-in member of staff makes one request in a hundred."""
    users, roles, staff, managers, hr = bench_seed.crowd_rows(next_id(session, User), max(20, records // 50), now, rng)
    manager = person(people.by_role[Role.MANAGER])
    for row in users:
        if row["line_manager_id"] is not None and rng.random() < 0.05:
            row["line_manager_id"] = manager.id
    bulk_insert(session, User, users)
    bulk_insert(session, UserRole, roles)
    reset_sequences(session, "users")
    line_manager_of = {row["id"]: row["line_manager_id"] for row in users if row["line_manager_id"] is not None}
    return Crowd(
        staff=staff,
        managers=[*managers, manager],
        comms=[person(user) for user in people.deciders],
        hr=[*hr, person(people.by_role[Role.HR])],
        heavy=person(people.by_role[Role.STAFF]),
        line_manager_of=line_manager_of,
    )


def split(records: int, channels: int) -> dict[str, int]:
    """How many requests of each kind besides the channel requests."""
    rest = records - channels
    shares = bench_seed.KIND_SHARES
    counts = {kind: int(rest * share) for kind, share in shares.items()}
    counts["posts"] += rest - sum(counts.values())
    return counts


def seed(app: Flask, args: argparse.Namespace) -> tuple[People, Seeded]:
    """Fill the database and commit; returns who signs in and what was made."""
    seeded = Seeded()
    rng = random.Random(20_240_601)
    now = db.utcnow()
    clock = Clock(now, rng)
    seeded.busy_month = clock.busy_month
    findings = max(10, args.records // 500)
    with app.app_context(), db.transaction() as session:
        with timed(seeded.timings, "people"):
            people = create_people(findings)
            session.flush()
            crowd = make_crowd(session, people, args.records, now, rng)
        with timed(seeded.timings, "channels"):
            channels, transitions, keys, drafts = build_channels(crowd, args.channels, now, rng)
            bulk_insert(session, Channel, channels)
            bulk_insert(session, ChannelTransition, transitions)
            bulk_insert(session, ChannelLookalikeKey, keys)
            reset_sequences(session, "channels")
        active = [row["id"] for row in channels if row["status"] == ChannelStatus.ACTIVE.value]
        counts = split(args.records, args.channels)
        batches: list[Batch] = []
        with timed(seeded.timings, "requests"):
            batches.append(bench_seed.posts(counts["posts"], 1, crowd, active, clock))
            batches.append(bench_seed.consents(counts["consents"], 1, crowd, clock))
            batches.append(bench_seed.media_contacts(counts["media"], 1, crowd, clock))
            batches.append(
                bench_seed.breach_reports(counts["breaches"], 1, crowd, clock, bench_seed.breach_clause_ids())
            )
            batches.append(bench_seed.rosters(active, crowd, clock))
            batches.append(bench_seed.messages(args.records, [crowd.heavy, *crowd.staff[:200], *crowd.comms], clock))
            for batch in batches:
                insert_batch(session, batch)
                drafts += batch.drafts
            reset_sequences(session, *bench_seed.TABLES_WITH_IDS)
        with timed(seeded.timings, "credentials"):
            capacity = len(active) * len(CredentialKind)
            count = min(args.secrets if args.secrets is not None else SECRETS, capacity)
            credentials, versions, stored, seeded.secrets = build_credentials(
                people.deciders, channels, count, now, rng
            )
            bulk_insert(session, Credential, credentials)
            bulk_insert(session, CredentialVersion, versions)
            reset_sequences(session, "credentials", "credential_versions")
            drafts += stored
        with timed(seeded.timings, "audit"):
            anchor = session.execute(select(AuditAnchor).where(AuditAnchor.id == 1).with_for_update()).scalar_one()
            filler = max(0, args.events - anchor.seq - len(drafts))
            everyone = [crowd.heavy, *crowd.staff, *crowd.comms, *crowd.managers]
            rows, seq, head = chain(
                drafts + background_drafts(everyone, filler, now, rng), anchor.seq, anchor.head_hash, anchor.chain_id
            )
            bulk_insert(session, AuditEvent, rows)
            seeded.month_starts = month_start_heads(rows)
            session.execute(
                update(AuditAnchor)
                .where(AuditAnchor.id == 1)
                .values(seq=seq, head_hash=head, head_key_id=current_keyring().primary_id, updated_at=now)
            )
        requests = batches[:4]
        seeded.records = args.channels + sum(b.made for b in requests)
        seeded.channels, seeded.lookalike_keys = len(channels), len(keys)
        kinds = ("posts", "consents", "media", "breaches")
        seeded.by_kind = {name: b.made for name, b in zip(kinds, requests, strict=True)}
        seeded.steps = len(transitions) + sum(b.steps for b in requests)
        seeded.people = len(crowd.staff) + len(crowd.managers) + len(crowd.hr) + len(people.by_role) + 4
        seeded.grants = len(batches[4].rows.get(RosterGrant, []))
        seeded.messages = batches[5].made or args.records
        seeded.findings = findings
        seeded.audit_events = seq
    engine = app.extensions["registry.db"].engine
    with timed(seeded.timings, "analyse"):
        if engine.dialect.name == "postgresql":
            # What autovacuum does soon after rows arrive on a server: statistics, and the visibility map
            # without which a count cannot read an index alone (a home page's counts took 26 ms, not 0.5).
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM ANALYZE"))
    with app.app_context(), db.transaction() as session:
        seeded.awaiting_comms = awaiting_comms(session)
    return people, seeded


def awaiting_comms(session: Session) -> int:
    """How many requests of every kind wait on the communications team (the work queue's length)."""
    total = 0
    for kind in kinds():
        model: Any = kind.model
        waiting = [status.value for status in kind.awaiting_comms]
        total += session.execute(select(func.count()).select_from(model).where(model.status.in_(waiting))).scalar_one()
    return total


def pick_samples(session: Session) -> dict[str, Channel]:
    """Official channels to verify: the newest active one on X (for a lookalike) and on LinkedIn
    (the first channels seeded are active ones on each, so there is one at any size)."""

    def newest_active(platform: Platform) -> Channel:
        return session.execute(
            select(Channel)
            .where(Channel.platform == platform.value, Channel.status == ChannelStatus.ACTIVE.value)
            .order_by(Channel.id.desc())
            .limit(1)
        ).scalar_one()

    return {"x": newest_active(Platform.X), "linkedin": newest_active(Platform.LINKEDIN)}


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
    role: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def p95(self) -> float:
        if len(self.times_ms) < 20:
            return max(self.times_ms)
        return statistics.quantiles(self.times_ms, n=20, method="inclusive")[18]


@dataclass(frozen=True)
class Pace:
    """How many times to call each measurement: ``runs`` timed after ``warmup``, but no more than
    ``budget`` seconds' worth once three have been timed (a page of 15 s is not timed 30 times)."""

    runs: int
    warmup: int
    budget: float


def measure(label: str, call: Callable[[], int], counter: StatementCounter, pace: Pace, role: str = "") -> Result:
    """Time ``call`` (it returns an HTTP status) as ``pace`` says; the statements of each timed call."""
    spent = 0.0
    for _ in range(pace.warmup):
        start = time.perf_counter()
        check(label, call())
        spent += time.perf_counter() - start
        if spent > pace.budget / 3:
            break
    times: list[float] = []
    statements: set[int] = set()
    for number in range(pace.runs):
        counter.n = 0
        start = time.perf_counter()
        status = call()
        times.append((time.perf_counter() - start) * 1000)
        statements.add(counter.n)
        check(label, status)
        if number >= 2 and sum(times) / 1000 > pace.budget:
            break
    progress(f"  {label}{f' as {role}' if role else ''}: median {statistics.median(times):.1f} ms, {len(times)} runs")
    return Result(label, times, statements, role=role)


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
    """``count`` different secrets from across ``items`` (over again if there are fewer): many channels,
    and every kind in turn (a step one more than a multiple of the kinds, as ``items`` go through the
    kinds in order)."""
    kinds = len(CredentialKind)
    step = max(1, len(items) // max(1, count) // kinds * kinds + 1)
    return iter([items[(n * step) % len(items)] for n in range(count)])


#: Every list page and home page, by who looks at it: (role, label, path). Comms see everything;
#: staff see their own; managers and HR their breach cases; auditors the trail; admins the users.
LIST_PAGES: list[tuple[Role, str, str]] = [
    (Role.COMMS, "Work queue", "/queue"),
    (Role.COMMS, "Work queue, page 2", "/queue?page=2"),
    (Role.COMMS, "Channel requests queue", "/channels/queue"),
    (Role.COMMS, "Promotional posts", "/posts"),
    (Role.COMMS, "Logo consents register", "/consents"),
    (Role.COMMS, "Media contacts", "/media-contacts"),
    (Role.COMMS, "Breach reports (reputational risks)", "/breaches"),
    (Role.COMMS, "Breach cases waiting, all", "/breaches/waiting"),
    (Role.COMMS, "Roster", "/roster"),
    (Role.COMMS, "Roster leavers", "/roster/leavers"),
    (Role.COMMS, "Access reviews", "/access-reviews"),
    (Role.COMMS, "Credentials overview", "/credentials"),
    (Role.COMMS, "Monitoring findings", "/monitoring"),
    (Role.COMMS, "Monthly reports", "/reports"),
    (Role.COMMS, "Audit log", "/audit"),
    (Role.COMMS, "Messages", "/messages"),
    (Role.COMMS, "Channels by platform chart", "/charts/channels-by-platform.svg"),
    (Role.STAFF, "Your requests", "/requests"),
    (Role.STAFF, "My channels", "/channels/mine"),
    (Role.STAFF, "Promotional posts (own)", "/posts"),
    (Role.STAFF, "Logo consents (own)", "/consents"),
    (Role.STAFF, "Media contacts (own)", "/media-contacts"),
    (Role.STAFF, "Breach reports (made)", "/breaches"),
    (Role.STAFF, "Messages", "/messages"),
    (Role.MANAGER, "Breach reports (line manager)", "/breaches"),
    (Role.HR, "Breach reports (escalated)", "/breaches"),
    (Role.HR, "Breach cases waiting, all", "/breaches/waiting"),
    (Role.AUDITOR, "Audit log", "/audit"),
    (Role.AUDITOR, "Logo consents register", "/consents"),
    (Role.ADMIN, "Users", "/admin/users"),
    (Role.ADMIN, "Role approvals", "/admin/approvals"),
    (Role.ADMIN, "Outbox", "/outbox"),
]
API_LISTS = [
    ("API posts", "/api/v1/posts"),
    ("API consents", "/api/v1/consents"),
    ("API media contacts", "/api/v1/media-contacts"),
    ("API audit events", "/api/v1/audit-events"),
]


def bare_client() -> FlaskClient:
    """The bare Flask JSON route of the gunicorn run, through a test client like the pages'."""
    app = bench_load.make_bare()
    app.test_client_class = IsolatedClient
    return app.test_client()


def run_measurements(app: Flask, people: People, seeded: Seeded, pace: Pace) -> list[Result]:
    counter = StatementCounter(app.extensions["registry.db"].engine)
    app.test_client_class = IsolatedClient
    browsers: dict[Role, FlaskClient] = {}
    for role, user in people.by_role.items():
        browsers[role] = app.test_client()
        with app.app_context():
            sign_in(browsers[role], user)
    browser = browsers[Role.COMMS]
    bearer = {"Authorization": f"Bearer {people.token}"}
    staff_bearer = {"Authorization": f"Bearer {people.staff_token}"}
    last_page = -(-seeded.channels // 25)
    results = [measure("Bare Flask JSON route (baseline)", getter(bare_client(), "/api/v1/verify"), counter, pace)]

    def page(
        label: str,
        path: str,
        headers: dict[str, str] | None = None,
        role: Role | None = Role.COMMS,
        shown_path: str | None = None,
    ) -> None:
        client = browsers[role] if role is not None else public
        shown = f"{label} `{shown_path or path}`"
        results.append(measure(shown, getter(client, path, headers), counter, pace, role.value if role else "public"))

    public = app.test_client()
    for role in Role:
        page("Home page", "/", role=role)
    for role, label, path in LIST_PAGES:
        page(label, path, role=role)
    for label, path in API_LISTS:
        page(label, path, bearer)
    page("API posts (own)", "/api/v1/posts", staff_bearer, role=Role.STAFF)
    for base, headers, name in (("/channels", None, "Inventory"), ("/api/v1/channels", bearer, "API channels")):
        page(name, base, headers)
        page(f"{name}, status=active", query(base, status="active"), headers)
        page(f"{name}, q=maternity", query(base, q="maternity"), headers)
        page(f"{name}, sort=name&dir=desc", query(base, sort="name", dir="desc"), headers)
        page(f"{name}, last page", query(base, page=last_page), headers)
        page(f"{name}, per_page=100", query(base, per_page=100), headers)
    page("API channels (own + official)", "/api/v1/channels", staff_bearer, role=Role.STAFF)

    with app.app_context():
        samples = pick_samples(db.session())
        x, linkedin = samples["x"], samples["linkedin"]
        seeded.samples = {"x_url": x.url, "x_handle": x.handle, "linkedin_url": linkedin.url}
        db.session().rollback()
    for label, url in verify_cases(seeded).items():
        page(f"Verify: {label}", query("/api/v1/verify", url=url), role=None, shown_path="/api/v1/verify")
    page(
        "Verify page: exact match",
        query("/verify", url=seeded.samples["linkedin_url"]),
        role=None,
        shown_path="/verify",
    )
    check_verdicts(lambda url: public.get(query("/api/v1/verify", url=url)).get_json(), seeded)
    # Every official and formerly official channel on one page (a Trust has dozens; the bench thousands).
    page("Public directory", "/directory", role=None)
    page("Public directory, JSON", "/api/v1/directory", role=None)
    page("Public directory, CSV", "/api/v1/directory?format=csv", role=None)

    custody_page = seeded.secrets[0].reference
    page(
        "Credentials of a channel (6 secrets)",
        f"/channels/{custody_page}/credentials",
        shown_path="/channels/<reference>/credentials",
    )
    step_up(app, browser, people.reader)
    results.append(
        measure(
            "Reveal a secret (POST with a reason; step-up done beforehand)",
            revealer(browser, spread(seeded.secrets, pace.runs + pace.warmup)),
            counter,
            pace,
            Role.COMMS.value,
        )
    )
    return results


def verify_cases(seeded: Seeded) -> dict[str, str]:
    """An official account, a lookalike of one (an underscore inserted), an unknown account, and a
    reported unauthorised one."""
    handle = str(seeded.samples["x_handle"])
    return {
        "exact match": str(seeded.samples["linkedin_url"]),
        "lookalike": f"https://x.com/{handle[:3]}_{handle[3:]}",
        "miss": "https://www.instagram.com/quiet.unrelated.account/",
        "reported unauthorised account": "https://x.com/TrustOffers4",
    }


def check_verdicts(verify: Callable[[str], Any], seeded: Seeded) -> None:
    cases = verify_cases(seeded)
    verdicts = {label: verify(url) for label, url in cases.items()}
    if not (
        verdicts["exact match"].get("official")
        and verdicts["lookalike"].get("lookalike_of")
        and not verdicts["miss"].get("official")
        and verdicts["reported unauthorised account"].get("known_unauthorised")
    ):
        raise SystemExit(f"verification did not answer as expected: {verdicts}")


# --------------------------------------------------------------------------
# Verification under gunicorn


@dataclass
class Served:
    """Requests per second under gunicorn: the bare route, then each verification case."""

    bare: float
    cases: dict[str, float]
    seconds: float
    environment: str


def server_environment(url: str, instance: Path, settings: dict[str, Any]) -> dict[str, str]:
    """What the Registry's processes are given: the bench's database and keys, in production mode."""
    env = dict(os.environ)
    env.update(
        {
            "REGISTRY_ENV": "production",
            "REGISTRY_DATABASE_URL": url,
            "REGISTRY_SECRET_KEY": str(settings["SECRET_KEY"]),
            "REGISTRY_MASTER_KEYS": str(settings["MASTER_KEYS"]),
            "REGISTRY_AUDIT_KEYS": str(settings["AUDIT_KEYS"]),
            "REGISTRY_FINGERPRINT_KEYS": str(settings["FINGERPRINT_KEYS"]),
            "REGISTRY_INSTANCE_PATH": str(instance),
            "PYTHONPATH": str(bench_load.PROJECT_ROOT),
        }
    )
    return env


def measure_served(env: dict[str, str], seeded: Seeded, seconds: float) -> Served:
    """The bare Flask route and ``/api/v1/verify`` under gunicorn with the same settings, one after
    the other; the Registry with rate limiting turned off (for this run only)."""
    with bench_load.gunicorn("tests.bench_load:bare", env, "/api/v1/verify") as base:
        bare = bench_load.hammer(base, "/api/v1/verify", seconds)
        progress(f"  bare Flask route under gunicorn: {bare:,.0f} requests/s")
    unlimited = {**env, "REGISTRY_RATELIMIT_ENABLED": "false"}
    cases: dict[str, float] = {}
    with bench_load.gunicorn("wsgi:app", unlimited, "/healthz") as base:
        check_verdicts(lambda url: bench_load.fetch_json(base + query("/api/v1/verify", url=url)), seeded)
        for label, url in verify_cases(seeded).items():
            if label == "reported unauthorised account":
                continue
            cases[label] = bench_load.hammer(base, query("/api/v1/verify", url=url), seconds)
            progress(f"  /api/v1/verify, {label}, under gunicorn: {cases[label]:,.0f} requests/s")
    return Served(bare, cases, seconds, env["REGISTRY_ENV"])


# --------------------------------------------------------------------------
# Commands


@dataclass
class Command:
    """A command timed (wall clock, median of its runs) beside the bare work it stands for."""

    label: str
    seconds: list[float]
    statements: str = ""
    baseline: str = ""
    baseline_seconds: list[float] = field(default_factory=list)
    #: "speed": the baseline's time ÷ the command's (1 is as fast); "times": the command's ÷ the baseline's.
    ratio_as: str = "speed"

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def baseline_median(self) -> float:
        return statistics.median(self.baseline_seconds)


def run_process(argv: Sequence[str], env: dict[str, str]) -> tuple[float, str]:
    """Seconds a command takes as from a shell (interpreter start-up included); stops the bench if it fails."""
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=bench_load.PROJECT_ROOT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"`{' '.join(argv)}` failed ({done.returncode}): {done.stdout}{done.stderr}")
    return elapsed, done.stdout


def measure_audit_verify(app: Flask, env: dict[str, str], url: str, events: int, repeat: int) -> list[Command]:
    """``flask audit verify`` as a command, and the bare loop over the same rows as a command; then
    ``verify_chain`` in this process, as the command runs it, with its statements."""
    flask = [sys.executable, "-m", "flask", "--app", "wsgi", "audit", "verify"]
    bare = [sys.executable, "-m", "tests.bench_load", "audit-loop", url, LINK_LABEL.decode()]
    command, loop = [], []
    for _ in range(repeat):
        seconds, output = run_process(flask, env)
        if str(events) not in output:
            raise SystemExit(f"`flask audit verify` did not check the {events} events: {output}")
        command.append(seconds)
        seconds, output = run_process(bare, env)
        if output.strip() != str(events):
            raise SystemExit(f"the bare audit loop linked {output.strip()} events, not {events}.")
        loop.append(seconds)
    progress(f"  flask audit verify: {statistics.median(command):.2f} s; bare loop {statistics.median(loop):.2f} s")
    counter = StatementCounter(app.extensions["registry.db"].engine)
    inside: list[float] = []
    for _ in range(repeat):
        with app.app_context():
            counter.n = 0
            start = time.perf_counter()
            report = verify_chain()
            inside.append(time.perf_counter() - start)
        if not report.ok or report.checked != events:
            raise SystemExit(f"the seeded chain does not verify: {report.describe()}")
    loop_label = "bare sqlite3 + hashlib loop" if url.startswith("sqlite") else "bare psycopg + hashlib loop"
    return [
        Command(
            f"`flask audit verify`, {events:,} events, as a command",
            command,
            "",
            f"{loop_label} over the same rows, as a command",
            loop,
        ),
        Command(
            f"`verify_chain()` in-process (what the command runs), {events:,} events",
            inside,
            str(counter.n),
            f"{loop_label}, as above",
            loop,
        ),
    ]


def measure_start(env: dict[str, str], repeat: int) -> Command:
    """``flask --app wsgi --help``: a process that makes the app (as every command and gunicorn worker
    does) and lists its commands, beside the same for a bare Flask app, alternately."""
    flask = [sys.executable, "-m", "flask", "--app", "wsgi", "--help"]
    bare = [sys.executable, "-m", "flask", "--app", "tests.bench_load:bare", "--help"]
    ours, baseline = [], []
    for _ in range(repeat):
        seconds, output = run_process(flask, env)
        if "audit" not in output:
            raise SystemExit(f"`flask --app wsgi --help` did not list the Registry's commands: {output}")
        ours.append(seconds)
        baseline.append(run_process(bare, env)[0])
    progress(f"  flask --help: {statistics.median(ours):.2f} s; bare app {statistics.median(baseline):.2f} s")
    return Command(
        "`flask --app wsgi --help` (the start: the app made, its commands listed)",
        ours,
        "",
        "`flask --help` of a bare Flask app",
        baseline,
    )


def measure_report(app: Flask, seeded: Seeded, repeat: int) -> Command:
    """``flask report generate`` for the busy month, through Click in this process (a draft each time).

    The report checks the chain from the last signed checkpoint before the month (the one taken at
    its start), not from the genesis; the row says which checkpoint, after confirming it is the one
    the check starts from."""
    month = seeded.busy_month
    with app.app_context():
        period = figures.period_of(*figures.parse_month(month))
        checkpoint = max((head for head in seeded.month_starts if head[0] < period.start), default=None)
        if checkpoint is None:
            raise SystemExit(f"no checkpoint was signed before the busy month {month} began.")
        # As the report calls it (figures.chain_check): from the last event before the month, with
        # checkpoints signed before the month began.
        chain, used = verify_span(checkpoint[1], checkpoint[1], signed_before=period.start)
        db.session().rollback()
    if not chain.ok or used is None or used.seq != checkpoint[1]:
        raise SystemExit(f"the report's chain check would not start from the checkpoint of event {checkpoint[1]}.")
    counter = StatementCounter(app.extensions["registry.db"].engine)
    runner = app.test_cli_runner()
    times: list[float] = []
    statements: set[int] = set()
    for _ in range(repeat):
        counter.n = 0
        start = time.perf_counter()
        result = runner.invoke(args=["report", "generate", month])
        times.append(time.perf_counter() - start)
        statements.add(counter.n)
        if result.exit_code != 0:
            raise SystemExit(f"`flask report generate {month}` failed ({result.exit_code}): {result.output}")
    progress(f"  report generate {month}: median {statistics.median(times):.2f} s")
    return Command(
        f"`flask report generate {month}` (the busy month), in-process; its chain check starts from the signed "
        f"checkpoint of event {checkpoint[1]:,} ({checkpoint[0]:%Y-%m-%d %H:%M} UTC), not the genesis",
        times,
        "/".join(map(str, sorted(statements))),
    )


def measure_report_page(app: Flask, people: People, month: str, pace: Pace) -> Result:
    counter = StatementCounter(app.extensions["registry.db"].engine)
    app.test_client_class = IsolatedClient
    client = app.test_client()
    with app.app_context():
        sign_in(client, people.reader)
    return measure(f"Monthly report `/reports/{month}`", getter(client, f"/reports/{month}"), counter, pace, "comms")


@dataclass
class Rotation:
    """Moving every secret to a new master key: through the application, and bare."""

    secrets: int
    rotate_s: float
    rotate_statements: int
    driver: str
    bare_s: float
    raw_s: list[float]
    verify_s: float
    verify_statements: int

    @property
    def raw_median(self) -> float:
        return statistics.median(self.raw_s)


Rewrap = tuple[str, bytes, bytes]

#: The context the vault (``registry.crypto``) puts before a wrapped key's associated data, written out
#: here so that the bare rewrap imports nothing it is measured beside: ``keys rotate`` opens what the
#: bare rewrap wrote, so a context that differed would stop the bench.
WRAP_CONTEXT = b"registry/data-key/v1|"


def sealed_entries(session: Session) -> list[Rewrap]:
    """``(key id, wrapped key, associated data)`` of every sealed secret, as ``keys verify`` reads them."""
    versions = session.execute(
        select(
            CredentialVersion.version,
            CredentialVersion.key_id,
            CredentialVersion.wrapped_key,
            Credential.channel_id,
            Credential.kind,
        )
        .join(Credential, Credential.id == CredentialVersion.credential_id)
        .order_by(CredentialVersion.id)
    )
    entries = [(r.key_id, r.wrapped_key, version_aad(r.channel_id, r.kind, r.version)) for r in versions]
    entries += [
        (seed.key_id, seed.wrapped_key, totp_aad(seed.user_id))
        for seed in session.execute(select(UserTotp).order_by(UserTotp.user_id)).scalars()
    ]
    entries += [
        (hook.key_id, hook.wrapped_key, webhook_aad(hook.id))
        for hook in session.execute(select(Webhook).order_by(Webhook.id)).scalars()
    ]
    return entries


def aes_gcm_rewrap(masters: dict[str, AESGCM], primary: str, entries: Sequence[Rewrap]) -> list[bytes]:
    """Each data key unwrapped and wrapped again under ``primary``, by AES-GCM alone: the stored form
    (12-byte nonce, then ciphertext and tag) and the associated data the vault gives a wrapped key
    (its context, the master key's id, the row's associated data), a fresh random nonce each."""
    wrap = masters[primary]
    rewrapped = []
    for key_id, wrapped, aad in entries:
        data_key = masters[key_id].decrypt(wrapped[:12], wrapped[12:], WRAP_CONTEXT + key_id.encode() + b"|" + aad)
        nonce = os.urandom(12)
        rewrapped.append(nonce + wrap.encrypt(nonce, data_key, WRAP_CONTEXT + primary.encode() + b"|" + aad))
    return rewrapped


def raw_rewrap(masters: dict[str, AESGCM], primary: str, entries: Sequence[Rewrap]) -> float:
    """Seconds to rewrap every data key in memory: AES-GCM only, no database."""
    start = time.perf_counter()
    aes_gcm_rewrap(masters, primary, entries)
    return time.perf_counter() - start


def bare_rewrap(url: str, masters: dict[str, AESGCM], primary: str) -> tuple[float, int]:
    """Seconds and count of the least a rotation through the database must do, with the driver alone
    (sqlite3 or psycopg): read every sealed secret's key id, wrapped key and what its associated data
    names, rewrap by AES-GCM (:func:`aes_gcm_rewrap`), write the keys back by id and commit, in one
    transaction. The connection is opened before the clock starts, as the application's pool has it."""
    postgres = not url.startswith("sqlite")
    if postgres:
        import psycopg

        connection: Any = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
        mark = "%s"
    else:
        import sqlite3

        connection = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        mark = "?"
    try:
        start = time.perf_counter()
        cursor = connection.cursor()
        if not postgres:
            cursor.execute("BEGIN IMMEDIATE")
        cursor.execute(
            "SELECT v.id, v.version, v.key_id, v.wrapped_key, c.channel_id, c.kind FROM credential_versions v"
            f" JOIN credentials c ON c.id = v.credential_id WHERE v.key_id <> {mark} FOR UPDATE OF v"
            if postgres
            else "SELECT v.id, v.version, v.key_id, v.wrapped_key, c.channel_id, c.kind FROM credential_versions v"
            f" JOIN credentials c ON c.id = v.credential_id WHERE v.key_id <> {mark}",
            (primary,),
        )
        rows = cursor.fetchall()
        keys = aes_gcm_rewrap(masters, primary, [(r[2], r[3], version_aad(r[4], r[5], r[1])) for r in rows])
        ids = [r[0] for r in rows]
        if postgres:
            cursor.execute(
                "UPDATE credential_versions SET key_id = %s, wrapped_key = bare.wrapped_key"
                " FROM unnest(%b::bigint[], %b::bytea[]) AS bare (id, wrapped_key)"
                " WHERE credential_versions.id = bare.id",
                (primary, ids, keys),
            )
        else:
            cursor.executemany(
                "UPDATE credential_versions SET key_id = ?, wrapped_key = ? WHERE id = ?",
                [(primary, key, version_id) for version_id, key in zip(ids, keys, strict=True)],
            )
        count = len(rows)
        for table, column, aad in (("user_totp", "user_id", totp_aad), ("webhooks", "id", webhook_aad)):
            cursor.execute(f"SELECT {column}, key_id, wrapped_key FROM {table} WHERE key_id <> {mark}", (primary,))  # noqa: S608
            found = cursor.fetchall()
            keys = aes_gcm_rewrap(masters, primary, [(key_id, wrapped, aad(id_)) for id_, key_id, wrapped in found])
            cursor.executemany(
                f"UPDATE {table} SET key_id = {mark}, wrapped_key = {mark} WHERE {column} = {mark}",  # noqa: S608
                [(primary, key, row[0]) for row, key in zip(found, keys, strict=True)],
            )
            count += len(found)
        if postgres:
            connection.commit()
        else:
            cursor.execute("COMMIT")
        return time.perf_counter() - start, count
    finally:
        connection.close()


def run_command(app: Flask, counter: StatementCounter, *args: str) -> tuple[float, str]:
    """Seconds a ``flask`` command takes through Click; stops the bench if it fails."""
    runner = app.test_cli_runner()
    counter.n = 0
    start = time.perf_counter()
    result = runner.invoke(args=list(args))
    elapsed = time.perf_counter() - start
    if result.exit_code != 0:
        raise SystemExit(f"`flask {' '.join(args)}` failed ({result.exit_code}): {result.output}")
    return elapsed, result.output


def measure_rotation(url: str, old_key: str) -> Rotation:
    """Move every secret off the seeded master key twice: first by :func:`bare_rewrap` onto a second key,
    then by ``keys rotate`` onto a third (the same rows, the same work), and time both; then
    ``keys verify`` with only the third key. ``keys rotate`` opens what the bare rewrap wrote, so a bare
    rewrap that wrote anything wrong stops the bench rather than look fast. AES-GCM alone in memory
    over the same keys (median of 3) is timed too, for scale."""
    middle_key, new_key = registry_config.generate_master_key_entry(), registry_config.generate_master_key_entry()
    new_id = new_key.partition(":")[0]
    keys = registry_config.parse_master_keys(f"{new_key},{middle_key},{old_key}")
    masters = {key.key_id: AESGCM(key.key) for key in keys}
    middle_id = keys[1].key_id
    rotating = create_app(settings_for(url, MASTER_KEYS=f"{new_key},{middle_key},{old_key}"))
    verifying = create_app(settings_for(url, MASTER_KEYS=new_key))
    try:
        with rotating.app_context():
            entries = sealed_entries(db.session())
            db.session().rollback()
        raw = [raw_rewrap(masters, middle_id, entries) for _ in range(3)]
        progress(f"  AES-GCM rewrap of {len(entries):,} data keys in memory: median {statistics.median(raw):.3f} s")
        driver = "sqlite3" if url.startswith("sqlite") else "psycopg"
        bare_s, bared = bare_rewrap(url, masters, middle_id)
        if bared != len(entries):
            raise SystemExit(f"the bare rewrap moved {bared} secrets, not {len(entries)}.")
        progress(f"  bare rewrap through the database: {bare_s:.2f} s")

        counter = StatementCounter(rotating.extensions["registry.db"].engine)
        rotate_s, output = run_command(rotating, counter, "keys", "rotate")
        rotate_statements = counter.n
        with rotating.app_context():
            left = [key_id for key_id, _wrapped, _aad in sealed_entries(db.session()) if key_id != new_id]
            db.session().rollback()
        if left:
            raise SystemExit(f"`keys rotate` left {len(left)} secrets under other keys than {new_id}: {output}")
        progress(f"  keys rotate: {rotate_s:.2f} s")

        counter = StatementCounter(verifying.extensions["registry.db"].engine)
        verify_s, output = run_command(verifying, counter, "keys", "verify")
        if str(len(entries)) not in output:
            raise SystemExit(f"`keys verify` with only the new key did not read every secret: {output}")
        progress(f"  keys verify: {verify_s:.2f} s")
        return Rotation(len(entries), rotate_s, rotate_statements, driver, bare_s, raw, verify_s, counter.n)
    finally:
        for app in (rotating, verifying):
            app.extensions["registry.db"].engine.dispose()


# --------------------------------------------------------------------------
# Reporting


def database_version(app: Flask) -> str:
    with app.app_context():
        session = db.session()
        if session.get_bind().dialect.name == "postgresql":
            return "PostgreSQL " + str(session.execute(text("SHOW server_version")).scalar_one()).split()[0]
        return "SQLite " + str(session.execute(text("SELECT sqlite_version()")).scalar_one())


def load_average() -> str:
    return " / ".join(f"{n:.1f}" for n in os.getloadavg()) if hasattr(os, "getloadavg") else "unknown"


def seconds(value: float) -> str:
    return f"{value:.{3 if value < 1 else 2}f}"


def seeding_line(seeded: Seeded) -> str:
    t = seeded.timings
    counts = seeded.by_kind
    steps = ", ".join(
        f"{name} {t[name]:.1f} s"
        for name in ("migrate", "people", "channels", "requests", "credentials", "audit", "checkpoints")
    )
    if t.get("analyse", 0) > 0.05:
        steps += f", VACUUM ANALYZE {t['analyse']:.1f} s"
    return (
        f"Seeded {seeded.records:,} requests ({seeded.channels:,} channel requests with "
        f"{seeded.lookalike_keys:,} lookalike keys, {counts['posts']:,} promotional posts, {counts['consents']:,} logo "
        f"consents, {counts['media']:,} media contacts, {counts['breaches']:,} breach reports) over three years with "
        f"{seeded.steps:,} history steps, the busy month {seeded.busy_month}, {seeded.awaiting_comms:,} of them "
        f"waiting on comms; {seeded.people:,} people, "
        f"{seeded.grants:,} roster grants, {seeded.messages:,} messages, {seeded.findings:,} monitoring findings, "
        f"{len(seeded.secrets):,} secrets in custody and {seeded.audit_events:,} audit events with "
        f"{seeded.checkpoints:,} signed checkpoints (at each month's start, as a daily `audit checkpoint` timer "
        f"takes them, and of the head), in "
        f"{sum(t.values()):.1f} s ({steps})."
    )


def pages_table(results: list[Result], pace: Pace) -> list[str]:
    bare = results[0].median
    lines = [
        f"Each page: up to {pace.runs} timed requests after a warm-up (fewer once {pace.budget:.0f} s are spent, "
        f"but at least {min(3, pace.runs)}), through the Flask test client, signed in as the role shown "
        "(two-factor where the role needs it; API: bearer token). × bare: the median over the bare Flask JSON "
        "route's, same client.",
        "",
        "| Page | Role | Median (ms) | p95 (ms) | × bare | SQL statements |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for result in results:
        statements = "/".join(str(n) for n in sorted(result.statements))
        label = f"{result.label} ({result.note})" if result.note else result.label
        lines.append(
            f"| {label} | {result.role or '–'} | {result.median:.1f} | {result.p95:.1f} | "
            f"{result.median / bare:,.0f} | {statements} |"
        )
    return lines


def served_table(served: Served) -> list[str]:
    lines = [
        f"Public verification under gunicorn ({bench_load.WORKERS} sync workers, REGISTRY_ENV={served.environment}), "
        f"{bench_load.CONCURRENCY} connections from a client on the same machine, {served.seconds:g} s per case after "
        "a warm-up. **Rate limiting was turned off for this run only** (`REGISTRY_RATELIMIT_ENABLED=false`); the "
        "bare route is a Flask app with one JSON route under the same gunicorn settings.",
        "",
        "| Verification under gunicorn | Requests/s | ÷ bare Flask route |",
        "| --- | ---: | ---: |",
        f"| Bare Flask JSON route | {served.bare:,.0f} | 1.00 |",
    ]
    for label, rate in served.cases.items():
        lines.append(f"| `/api/v1/verify`, {label} | {rate:,.0f} | {rate / served.bare:.2f} |")
    return lines


ROTATION_EXPLAINED = (
    "`keys rotate` reads each version's id, key id and wrapped key (not its ciphertext) with the channel, kind and "
    "version its associated data names, rewraps the batch's keys in one call of the vault (each unwrapped and "
    "authenticated by AES-GCM with its associated data, then wrapped under the new key with a fresh random nonce; "
    "the master keys looked up once a batch), and writes them back with one UPDATE per batch by primary key "
    "(on PostgreSQL one statement over binary arrays of ids and keys, each row rewritten in place on its own page, "
    "as no index holds the key id and half of each page is kept free; on SQLite one statement the driver runs for "
    "each row), a transaction and an audit event per batch of 10,000 (the default), then counts the secrets under "
    "each key id. The bare rewrap beside it moves the same rows off the seeded key first, with the driver alone: "
    "the same read, AES-GCM called directly, the same UPDATE (on PostgreSQL over the same binary arrays), one "
    "commit, no audit event; `keys rotate` then moves them on to a third key, opening what the bare rewrap wrote."
)


def commands_table(commands: list[Command], rotation: Rotation) -> list[str]:
    lines = [
        "| Command | Seconds (median) | SQL statements | Beside | Its seconds | Ratio |",
        "| --- | ---: | ---: | --- | ---: | ---: |",
    ]
    for command in commands:
        if command.baseline_seconds:
            ratio = command.baseline_median / command.median
            beside = (command.baseline, seconds(command.baseline_median), f"{ratio:.2f} (bare ÷ command)")
        else:
            beside = ("–", "–", "–")
        lines.append(
            f"| {command.label} ({len(command.seconds)} run{'s' if len(command.seconds) > 1 else ''}) | "
            f"{seconds(command.median)} | "
            f"{command.statements or '–'} | {' | '.join(beside)} |"
        )
    n, raw, bare = rotation.secrets, rotation.raw_median, rotation.bare_s
    lines += [
        f"| `flask keys rotate`, {n:,} secrets (as an operator runs it: default options), in-process | "
        f"{seconds(rotation.rotate_s)} | "
        f"{rotation.rotate_statements} | bare {rotation.driver} + AES-GCM rewrap of the same rows (read, rewrapped, "
        f"written back, one transaction) | {seconds(bare)} | {rotation.rotate_s / bare:.1f}× (command ÷ bare) |",
        f"| `flask keys verify` afterwards, only the new key configured, in-process | {seconds(rotation.verify_s)} | "
        f"{rotation.verify_statements} | – | – | – |",
        "",
        f"{ROTATION_EXPLAINED} AES-GCM alone over the same {n:,} data keys in memory, no database (median of 3): "
        f"{seconds(raw)} s, so the command took {rotation.rotate_s / raw:.1f}× the cryptography alone and the bare "
        f"rewrap {bare / raw:.1f}×.",
    ]
    return lines


def report(
    version: str,
    seeded: Seeded,
    results: list[Result],
    served: Served | None,
    commands: list[Command],
    rotation: Rotation,
    pace: Pace,
    load: tuple[str, str],
) -> str:
    machine = (
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC. **{version}**, Python {host.python_version()}, "
        f"{os.cpu_count()} CPUs ({host.system()} {host.machine()}); load average (1/5/15 min) {load[0]} before "
        f"measuring, {load[1]} after."
    )
    lines = [machine, "", seeding_line(seeded), "", *pages_table(results, pace), ""]
    if served is not None:
        lines += [*served_table(served), ""]
    return "\n".join([*lines, *commands_table(commands, rotation)])


def bench(url: str, instance: Path, args: argparse.Namespace) -> str:
    timings: dict[str, float] = {}
    with timed(timings, "migrate"):
        migrate(url)
    os.environ["REGISTRY_INSTANCE_PATH"] = str(instance)
    master_key = registry_config.generate_master_key_entry()
    settings = settings_for(url, MASTER_KEYS=master_key)
    seeding = create_app(settings)
    try:
        progress(f"Seeding {args.records:,} requests ({args.channels:,} channels) and {args.events:,}+ audit events…")
        people, seeded = seed(seeding, args)
        with timed(seeded.timings, "checkpoints"):
            sign_checkpoints(seeding, seeded)
    finally:
        seeding.extensions["registry.db"].engine.dispose()
    seeded.timings = {**timings, **seeded.timings}
    progress(f"Seeded in {sum(seeded.timings.values()):.1f} s. Measuring…")
    # A new application, as a new process would start on this database: nothing kept from the seeding.
    app = create_app(settings)
    pace = Pace(args.runs, args.warmup, args.budget)
    try:
        before = load_average()
        results = run_measurements(app, people, seeded, pace)
        served = None
        env = server_environment(url, instance, settings)
        if args.duration > 0:
            progress("Verification under gunicorn (rate limiting off for this run only)…")
            served = measure_served(env, seeded, args.duration)
        progress("Commands…")
        with app.app_context():
            events = verify_chain().checked
        commands = measure_audit_verify(app, env, url, events, args.repeat)
        commands.append(measure_report(app, seeded, args.repeat))
        commands.append(measure_start(env, args.repeat))
        results.append(measure_report_page(app, people, seeded.busy_month, pace))
        progress("Moving every secret to a new master key…")
        rotation = measure_rotation(url, master_key)
        return report(
            database_version(app), seeded, results, served, commands, rotation, pace, (before, load_average())
        )
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
    parser.add_argument("--records", type=int, default=RECORDS, help="requests of every kind, channels included")
    parser.add_argument("--channels", type=int, default=CHANNELS, help="of the records, channel requests")
    parser.add_argument("--secrets", type=int, help="secrets in custody (default 10,000; at most 6 per active channel)")
    parser.add_argument("--events", type=int, default=AUDIT_EVENTS, help="audit events at least (one per step anyway)")
    parser.add_argument("--runs", type=int, default=30, help="timed requests per page, at most")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--budget", type=float, default=10.0, help="seconds per page after which timing stops")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per gunicorn case; 0 skips gunicorn")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each command")
    args = parser.parse_args(argv)
    if args.channels < len(SAMPLE_PLATFORMS):
        parser.error(f"--channels must be at least {len(SAMPLE_PLATFORMS)}: verification needs active channels.")
    if args.records < args.channels:
        parser.error("--records counts requests of every kind, channels included: give at least --channels.")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="registry-bench-") as tmp:
        instance = Path(tmp) / "instance"
        if args.postgres:
            with fresh_postgres_database(args.postgres) as url:
                print(bench(url, instance, args))
        else:
            print(bench(f"sqlite:///{Path(tmp) / 'registry.db'}", instance, args))


if __name__ == "__main__":
    main()
