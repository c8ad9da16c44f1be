"""Master-key operations over every sealed secret: rotating onto the primary key, and checking that each opens.

Sealed secrets are the channels' credential versions, each person's two-factor seed
(``registry.auth.models.UserTotp``) and each webhook's address and signing secret
(``registry.alerts.models.Webhook``); all are sealed by :mod:`registry.crypto`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from registry import db
from registry.alerts.models import Webhook, webhook_aad
from registry.auth.models import UserTotp, totp_aad
from registry.channels.models import reference_for
from registry.crypto import Sealed, VaultError, vault
from registry.vault.models import (
    Credential,
    CredentialVersion,
    version_aad,
)


@dataclass(frozen=True)
class KeyRotationReport:
    rewrapped: int
    remaining: dict[str, int]


def remaining_by_key() -> dict[str, int]:
    """How many sealed secrets (credential versions, users' own two-factor seeds, webhooks) each key id protects."""
    counts: dict[str, int] = {}
    for model in (CredentialVersion, UserTotp, Webhook):
        for key_id, count in db.session().execute(select(model.key_id, func.count()).group_by(model.key_id)).all():
            counts[key_id] = counts.get(key_id, 0) + count
    return counts


class KeyRotation:
    """Moves sealed secrets onto the primary master key, a batch at a time.

    Each batch reads only what rewrapping a data key takes (not the ciphertext, which does not
    change) and writes the new wrapped keys back by primary key in one UPDATE per batch (see
    :func:`_write_rewrapped`): no ORM objects or session bookkeeping per secret. A cursor keeps later
    batches from re-reading rows already moved. Each batch is the caller's transaction, so an
    interrupted rotation loses nothing: every secret stays under the old key or the new one, and
    a rerun (a new KeyRotation) picks up whatever is left. Credential versions already loaded in
    the session are not refreshed.
    """

    def __init__(self) -> None:
        self.after_id = 0

    def batch(self, size: int) -> int:
        """Rewrap up to ``size`` secrets not under the primary key (flush only); returns how many."""
        sealer = vault()
        primary = sealer.primary_key_id
        session = db.session()
        # Core, not the ORM: plain rows, no ORM loading step per row.
        rows = (
            session.connection()
            .execute(
                select(
                    CredentialVersion.id,
                    CredentialVersion.version,
                    CredentialVersion.key_id,
                    CredentialVersion.wrapped_key,
                    Credential.channel_id,
                    Credential.kind,
                )
                .join(Credential, Credential.id == CredentialVersion.credential_id)
                .where(CredentialVersion.key_id != primary, CredentialVersion.id > self.after_id)
                .order_by(CredentialVersion.id)
                .limit(size)
                .with_for_update(of=CredentialVersion, skip_locked=True)
            )
            .all()
        )
        if rows:
            keys = sealer.rewrapped_keys(
                [
                    (key_id, wrapped_key, version_aad(channel_id, kind, version))
                    for _id, version, key_id, wrapped_key, channel_id, kind in rows
                ]
            )
            _write_rewrapped(session, primary, [row[0] for row in rows], keys)
            self.after_id = rows[-1].id
        done = len(rows)
        if done < size:
            done += _rewrap_rows(UserTotp, lambda seed: totp_aad(seed.user_id), size - done)
        if done < size:
            done += _rewrap_rows(Webhook, lambda hook: webhook_aad(hook.id), size - done)
        session.flush()
        return done


Sealable = TypeVar("Sealable", UserTotp, Webhook)


def _rewrap_rows(model: type[Sealable], aad: Callable[[Sealable], bytes], limit: int) -> int:
    """Rewrap up to ``limit`` rows of ``model`` (two-factor seeds, webhooks) not under the primary key."""
    sealer = vault()
    rows = (
        db.session()
        .execute(
            select(model)
            .where(model.key_id != sealer.primary_key_id)
            .order_by(*model.__mapper__.primary_key)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        .scalars()
        .all()
    )
    for row in rows:
        sealed = sealer.rewrap(seal_of(row), aad(row))
        row.key_id, row.wrapped_key = sealed.key_id, sealed.wrapped_key
    return len(rows)


def _write_rewrapped(session: Session, primary: str, ids: list[int], keys: list[bytes]) -> None:
    """Set each credential version ``ids[i]`` to wrapped key ``keys[i]`` under ``primary``: one statement per batch.

    PostgreSQL takes the batch as two arrays joined back by id (psycopg would otherwise send an
    executemany as one statement per row), sent in binary (``%b``): a text bytea array is written
    by psycopg in Python, a regular expression escaping each key, which took as long as the AES-GCM
    rewrap of the same keys. The batch's id range lets PostgreSQL find its rows by primary key
    rather than hash every version of the table for each batch. SQLite gets a plain executemany
    through the driver, which loops in C, past SQLAlchemy's per-row parameter handling.
    """
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        result = connection.exec_driver_sql(
            "UPDATE credential_versions SET key_id = %(primary)s, wrapped_key = rewrapped.wrapped_key"
            " FROM unnest(%(ids)b::bigint[], %(keys)b::bytea[]) AS rewrapped (id, wrapped_key)"
            " WHERE credential_versions.id = rewrapped.id AND credential_versions.id BETWEEN %(first)s AND %(last)s",
            {"primary": primary, "ids": ids, "keys": keys, "first": min(ids), "last": max(ids)},
        )
    else:
        result = connection.exec_driver_sql(
            "UPDATE credential_versions SET key_id = ?, wrapped_key = ? WHERE id = ?",
            [(primary, key, version_id) for version_id, key in zip(ids, keys, strict=True)],
        )
    if result.rowcount != len(ids):
        # The rows are locked, so every one must have been written; if not, the batch rolls back with
        # its audit event rather than record as rewrapped a secret still under the old key.
        raise VaultError(f"{result.rowcount} of {len(ids)} credential versions were written; the batch was not changed")


def rewrap_batch(batch_size: int) -> int:
    """One batch of a fresh rotation (see :class:`KeyRotation`)."""
    return KeyRotation().batch(batch_size)


def seal_of(row: UserTotp | CredentialVersion | Webhook) -> Sealed:
    return Sealed(row.key_id, row.wrapped_key, row.nonce, row.ciphertext)


def _sealed(*first: Any) -> Select[Any]:
    """``first``, then what opening a sealed secret takes: its version's key id, wrapped key, nonce and
    ciphertext, and the channel and kind its associated data names."""
    return select(
        *first,
        CredentialVersion.version,
        CredentialVersion.key_id,
        CredentialVersion.wrapped_key,
        CredentialVersion.nonce,
        CredentialVersion.ciphertext,
        Credential.channel_id,
        Credential.kind,
    ).join(Credential, Credential.id == CredentialVersion.credential_id)


def verify_all(batch_size: int = 1000) -> tuple[int, list[str]]:
    """Open every sealed secret in memory; the count, and a line naming each that fails."""
    checked = 0
    failures: list[str] = []
    # Plain rows, streamed: this may read every version of every secret.
    rows = db.session().execute(_sealed().order_by(CredentialVersion.id).execution_options(yield_per=batch_size))
    for row in rows:
        checked += 1
        try:
            vault().open(
                Sealed(row.key_id, row.wrapped_key, row.nonce, row.ciphertext),
                version_aad(row.channel_id, row.kind, row.version),
            )
        except VaultError as exc:
            failures.append(
                f"{reference_for(row.channel_id)} {row.kind} version {row.version} (key {row.key_id}): {exc}"
            )
    for seed in db.session().execute(select(UserTotp).order_by(UserTotp.user_id)).scalars():
        checked += 1
        try:
            vault().open(seal_of(seed), totp_aad(seed.user_id))
        except VaultError as exc:
            failures.append(f"two-factor secret of user {seed.user_id} (key {seed.key_id}): {exc}")
    for hook in db.session().execute(select(Webhook).order_by(Webhook.id)).scalars():
        checked += 1
        try:
            vault().open(seal_of(hook), webhook_aad(hook.id))
        except VaultError as exc:
            failures.append(f"address and signing secret of webhook {hook.id} (key {hook.key_id}): {exc}")
    return checked, failures
