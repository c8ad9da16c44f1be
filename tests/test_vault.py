"""The vault: envelope encryption with AES-256-GCM (a fresh data key per secret version, wrapped
by a configured master key, both bound to the row), what a moved, tampered or wrongly keyed
secret does, master-key rotation (``keys rotate``, also killed half-way and rerun), ``keys
verify``, and that no plaintext reaches the database's rows or its file.

Helpers at the top (a database that really commits, users and channels made in it, storing
and revealing through the pages) are shared with ``test_custody.py`` and ``test_two_factor.py``.
"""

from __future__ import annotations

import base64
import html
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import func, inspect, select, text, update
from sqlalchemy.engine import Connection
from werkzeug.test import TestResponse

from config import MasterKey
from registry import PROJECT_ROOT, create_app, db
from registry.audit.models import AuditEvent
from registry.audit.services import Actor, verify_chain
from registry.auth import mfa
from registry.auth import services as accounts
from registry.auth.models import User, UserTotp, totp_aad
from registry.channels import services as channels
from registry.channels.models import Channel
from registry.crypto import (
    DecryptionFailed,
    NoMasterKey,
    Sealed,
    UnknownKeyId,
    Vault,
)
from registry.vault import services as custody
from registry.vault.models import CredentialReveal, CredentialVersion, version_aad
from tests.conftest import (
    TEST_AUDIT_KEYS,
    TEST_PASSWORD,
    TOTP_SECRETS,
    Browser,
    IsolatedClient,
    enrol_two_factor,
    settings_for,
    sign_in,
)
from tests.live_server import live_app, migrated_database

ON_POSTGRES = (os.environ.get("REGISTRY_TEST_DATABASE_URL") or "").startswith("postgresql")
OLD = MasterKey("old", os.urandom(32))
NEW = MasterKey("new", os.urandom(32))
DECRYPTION_FAILED = (
    "The secret could not be decrypted: the master key is wrong, or the stored data was changed or moved."
)
SECRET_VALUE = re.compile(r'<pre class="app-secret__value" id="secret-value">(.*?)</pre>', re.DOTALL)


def entry(*keys: MasterKey) -> str:
    """``REGISTRY_MASTER_KEYS`` naming ``keys`` (the first is the primary)."""
    return ",".join(f"{key.key_id}:{base64.urlsafe_b64encode(key.key).decode('ascii')}" for key in keys)


def not_in_custody(key_id: str) -> str:
    return (
        f"The master key {key_id!r} that protects this secret is not configured. Add it back to "
        "REGISTRY_MASTER_KEYS (keep old keys until `keys rotate` has moved every secret off them)."
    )


def keyed_app(database_url: str, connection: Connection, *keys: MasterKey) -> Flask:
    """Another instance of the application, configured with ``keys``, on the test's transaction."""
    other = create_app(settings_for(database_url, MASTER_KEYS=entry(*keys)))
    other.extensions["registry.db"].bind_override = connection
    other.test_client_class = IsolatedClient
    return other


def invoke(app: Flask, *args: str) -> Result:
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args))


def revealed(response: TestResponse) -> str:
    """The secret shown on a reveal page."""
    match = SECRET_VALUE.search(response.get_data(as_text=True))
    assert match is not None, response.get_data(as_text=True)[:3000]
    return html.unescape(match.group(1))


def words(response: TestResponse) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def reveal(
    browser: Browser,
    channel: Channel,
    kind: str,
    reason: str = "Posting the clinic update.",
    version: int | None = None,
) -> TestResponse:
    data: dict[str, Any] = {f"{kind}-reason": reason}
    if version is not None:
        data[f"{kind}-version"] = str(version)
    return browser.post(f"/channels/{channel.reference}/credentials/{kind}/reveal", data)


def store_page(
    browser: Browser, channel: Channel, kind: str, value: str, reason: str = "Taking custody."
) -> TestResponse:
    return browser.post(f"/channels/{channel.reference}/credentials", {"kind": kind, "value": value, "reason": reason})


def audit_actions(since: int = 0) -> list[str]:
    return list(
        db.session().execute(select(AuditEvent.action).where(AuditEvent.seq > since).order_by(AuditEvent.seq)).scalars()
    )


def last_seq() -> int:
    return db.session().execute(select(func.coalesce(func.max(AuditEvent.seq), 0))).scalar_one()


def new_user(*roles: str, email: str, two_factor: bool = True) -> User:
    """A user made in the current transaction (for databases that commit for real)."""
    user = accounts.create_user(
        email=email,
        name=email.split("@")[0].replace(".", " ").title(),
        roles=roles,
        password=TEST_PASSWORD,
        actor=Actor.system("tests"),
    )
    if two_factor:
        enrol_two_factor(user)
    return user


def active_channel(requester: User, decider: User, handle: str) -> Channel:
    """An active channel made in the current transaction (for databases that commit for real)."""
    channel = channels.request_channel(
        channels.ChannelRequest(
            platform="x",
            handle=handle,
            display_name=f"Channel {handle}",
            department="Maternity",
            purpose="Updates for patients.",
            audience="Patients and visitors.",
            policy_acknowledged=True,
        ),
        requester,
    )
    for action in ("approve", "activate"):
        channels.transition(channel, action, decider, reason="Because the test says so.")
    return channel


@dataclass
class CommittedSite:
    """A database of its own that really commits, and application instances on it."""

    url: str
    directory: Path
    apps: list[Flask] = field(default_factory=list)

    def app(self, *keys: MasterKey, **settings: Any) -> Flask:
        made = live_app(self.url, self.directory / "instance", MASTER_KEYS=entry(*(keys or (OLD,))), **settings)
        made.test_client_class = IsolatedClient
        self.apps.append(made)
        return made

    def dispose(self) -> None:
        for made in self.apps:
            db.database(made).engine.dispose()


@contextmanager
def committed_database(directory: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CommittedSite]:
    """A migrated database nothing else uses (SQLite in ``directory``, or a new PostgreSQL database)."""
    monkeypatch.setenv("REGISTRY_INSTANCE_PATH", str(directory / "instance"))
    with migrated_database(os.environ.get("REGISTRY_TEST_DATABASE_URL") or None, directory) as url:
        site = CommittedSite(url, directory)
        try:
            yield site
        finally:
            site.dispose()


@pytest.fixture
def committed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CommittedSite]:
    with committed_database(tmp_path, monkeypatch) as site:
        yield site


def signed_in(app: Flask, user: User) -> Browser:
    """A browser signed in to ``app`` (on a committed database) as ``user``, with the second factor."""
    client = app.test_client()
    with app.app_context():
        sign_in(client, user)
    return Browser(client)


# --- the Vault class --------------------------------------------------------------------------

AAD = version_aad(7, "password", 1)
PLAINTEXT = b"Tr0ub4dor&3 maternity account"


def test_a_secret_is_sealed_with_aes_256_gcm_under_a_fresh_data_key_and_opens_again() -> None:
    """The stored parts are what the issue describes: the master key's id, a 256-bit data key
    wrapped with AES-GCM under the master key, and the value sealed with AES-GCM under the data
    key, both bound to the row; each seal has a new data key and nonces."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    vault = Vault([OLD])
    sealed = vault.seal(PLAINTEXT, AAD)
    again = vault.seal(PLAINTEXT, AAD)

    assert vault.open(sealed, AAD) == PLAINTEXT
    assert sealed.key_id == "old"
    assert len(sealed.nonce) == 12
    assert len(sealed.ciphertext) == len(PLAINTEXT) + 16
    assert PLAINTEXT not in sealed.ciphertext + sealed.wrapped_key
    data_key = AESGCM(OLD.key).decrypt(
        sealed.wrapped_key[:12], sealed.wrapped_key[12:], b"registry/data-key/v1|old|" + AAD
    )
    assert len(data_key) == 32
    assert AESGCM(data_key).decrypt(sealed.nonce, sealed.ciphertext, b"registry/secret/v1|" + AAD) == PLAINTEXT
    assert again.ciphertext != sealed.ciphertext
    assert again.nonce != sealed.nonce
    assert again.wrapped_key[:12] != sealed.wrapped_key[:12]


MOVES = {
    "another version": version_aad(7, "password", 2),
    "another channel": version_aad(8, "password", 1),
    "another kind": version_aad(7, "notes", 1),
    "a user's two-factor secret": totp_aad(7),
}


@pytest.mark.parametrize("target", MOVES)
def test_a_sealed_secret_moved_to_another_row_does_not_open(target: str) -> None:
    """Its associated data names its own row (table, channel, kind, version), so a copy in any
    other row fails with DecryptionFailed, not with another secret's value."""
    vault = Vault([OLD])
    sealed = vault.seal(PLAINTEXT, AAD)
    with pytest.raises(DecryptionFailed) as failure:
        vault.open(sealed, MOVES[target])
    assert str(failure.value) == DECRYPTION_FAILED


def test_a_ciphertext_swapped_under_another_rows_data_key_does_not_open() -> None:
    """Copying only the ciphertext (or only the wrapped key) between two rows fails too."""
    vault = Vault([OLD])
    mine = vault.seal(PLAINTEXT, AAD)
    theirs = vault.seal(b"another channel's password", version_aad(8, "password", 1))
    for mixed in (
        Sealed(mine.key_id, mine.wrapped_key, mine.nonce, theirs.ciphertext),
        Sealed(mine.key_id, mine.wrapped_key, theirs.nonce, theirs.ciphertext),
        Sealed(mine.key_id, theirs.wrapped_key, mine.nonce, mine.ciphertext),
    ):
        with pytest.raises(DecryptionFailed):
            vault.open(mixed, AAD)


def _flip(data: bytes, at: int) -> bytes:
    changed = bytearray(data)
    changed[at] ^= 0x01
    return bytes(changed)


def _flip_stored(
    connection: Connection, version_id: int, column: Literal["wrapped_key", "ciphertext"], at: int
) -> None:
    """Change one bit of a stored credential version's column, as someone with the database could."""
    row = {"id": version_id}
    read = text(f"SELECT {column} FROM credential_versions WHERE id = :id")
    stored = bytes(connection.execute(read, row).scalar_one())
    write = text(f"UPDATE credential_versions SET {column} = :value WHERE id = :id")
    connection.execute(write, row | {"value": _flip(stored, at)})


TAMPERING: dict[str, Callable[[Sealed], Sealed]] = {
    "first byte of the ciphertext": lambda s: Sealed(s.key_id, s.wrapped_key, s.nonce, _flip(s.ciphertext, 0)),
    "its tag": lambda s: Sealed(s.key_id, s.wrapped_key, s.nonce, _flip(s.ciphertext, -1)),
    "ciphertext cut short": lambda s: Sealed(s.key_id, s.wrapped_key, s.nonce, s.ciphertext[:-1]),
    "ciphertext emptied": lambda s: Sealed(s.key_id, s.wrapped_key, s.nonce, b""),
    "nonce": lambda s: Sealed(s.key_id, s.wrapped_key, _flip(s.nonce, 5), s.ciphertext),
    "nonce emptied": lambda s: Sealed(s.key_id, s.wrapped_key, b"", s.ciphertext),
    "wrapped key's nonce": lambda s: Sealed(s.key_id, _flip(s.wrapped_key, 0), s.nonce, s.ciphertext),
    "wrapped key": lambda s: Sealed(s.key_id, _flip(s.wrapped_key, 20), s.nonce, s.ciphertext),
    "wrapped key cut to a few bytes": lambda s: Sealed(s.key_id, s.wrapped_key[:5], s.nonce, s.ciphertext),
    "key id of another configured key": lambda s: Sealed("new", s.wrapped_key, s.nonce, s.ciphertext),
}


@pytest.mark.parametrize("change", TAMPERING)
def test_a_tampered_secret_does_not_open(change: str) -> None:
    """Any change to what is stored fails authentication: DecryptionFailed, never garbage."""
    vault = Vault([NEW, OLD])
    sealed = Vault([OLD]).seal(PLAINTEXT, AAD)
    assert vault.open(sealed, AAD) == PLAINTEXT
    with pytest.raises(DecryptionFailed) as failure:
        vault.open(TAMPERING[change](sealed), AAD)
    assert str(failure.value) == DECRYPTION_FAILED


def test_a_secret_under_a_key_that_is_not_configured_names_that_key() -> None:
    """UnknownKeyId carries the key id and a message saying what to do; no key material in it."""
    sealed = Vault([OLD]).seal(PLAINTEXT, AAD)
    with pytest.raises(UnknownKeyId) as failure:
        Vault([NEW]).open(sealed, AAD)
    assert failure.value.key_id == "old"
    assert str(failure.value) == not_in_custody("old")
    assert base64.urlsafe_b64encode(OLD.key).decode() not in str(failure.value)


def test_a_wrong_master_key_with_the_right_id_does_not_open() -> None:
    """A key file with the id right but other bytes gives DecryptionFailed."""
    sealed = Vault([OLD]).seal(PLAINTEXT, AAD)
    impostor = MasterKey("old", os.urandom(32))
    with pytest.raises(DecryptionFailed):
        Vault([impostor]).open(sealed, AAD)


def test_rewrapping_under_a_new_primary_key_keeps_the_value_and_the_ciphertext() -> None:
    """Only the data key's wrapping changes: the nonce and ciphertext bytes are identical, the new
    key alone opens it, and the old key alone no longer does."""
    sealed = Vault([OLD]).seal(PLAINTEXT, AAD)
    rewrapped = Vault([NEW, OLD]).rewrap(sealed, AAD)

    assert rewrapped.key_id == "new"
    assert (rewrapped.nonce, rewrapped.ciphertext) == (sealed.nonce, sealed.ciphertext)
    assert rewrapped.wrapped_key != sealed.wrapped_key
    assert Vault([NEW]).open(rewrapped, AAD) == PLAINTEXT
    with pytest.raises(UnknownKeyId):
        Vault([OLD]).open(rewrapped, AAD)
    with pytest.raises(DecryptionFailed):
        Vault([NEW, OLD]).rewrap(sealed, version_aad(7, "password", 2))


def test_a_batch_rewrap_opens_each_key_under_its_own_master_key_and_row() -> None:
    """Rotation rewraps a batch in one call: secrets under different old keys each come back under the
    new key with their own fresh nonce, each opening only with its own row's associated data; one key
    whose row does not match fails the whole call."""
    older = MasterKey("older", os.urandom(32))
    rows = [version_aad(7, "password", 1), version_aad(7, "password", 2), version_aad(8, "notes", 1)]
    sealed = [Vault([OLD]).seal(PLAINTEXT, rows[0]), Vault([older]).seal(b"two", rows[1])]
    sealed.append(Vault([OLD]).seal(b"three", rows[2]))
    rotating = Vault([NEW, OLD, older])

    keys = rotating.rewrapped_keys([(s.key_id, s.wrapped_key, aad) for s, aad in zip(sealed, rows, strict=True)])

    moved = [Sealed("new", key, s.nonce, s.ciphertext) for s, key in zip(sealed, keys, strict=True)]
    assert [Vault([NEW]).open(m, aad) for m, aad in zip(moved, rows, strict=True)] == [PLAINTEXT, b"two", b"three"]
    assert len({key[:12] for key in keys}) == 3
    with pytest.raises(DecryptionFailed):
        Vault([NEW]).open(moved[0], rows[1])
    swapped = [(s.key_id, s.wrapped_key, aad) for s, aad in zip(sealed, [rows[0], rows[2], rows[1]], strict=True)]
    with pytest.raises(DecryptionFailed):
        rotating.rewrapped_keys(swapped)


def test_a_vault_without_a_master_key_refuses_to_exist() -> None:
    with pytest.raises(NoMasterKey) as failure:
        Vault([])
    assert str(failure.value) == "No master key is configured: set REGISTRY_MASTER_KEYS."


# --- moved and tampered rows in the database ------------------------------------------------


def test_a_row_given_another_rows_sealed_value_is_refused_by_reveal_and_named_by_keys_verify(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_channel: Callable[..., Channel],
) -> None:
    """Three password rows each given every sealed column of another row (another version of the
    same secret, another channel's, another kind's): each reveal is a 500 that says why and shows
    and records nothing, and ``keys verify`` exits 1 naming exactly those three versions."""
    comms = browser_as("comms")
    user: User = comms.user  # type: ignore[attr-defined]
    versions, channels_, kinds = make_channel("active"), make_channel("active"), make_channel("active")
    other = make_channel("active")
    for channel in (versions, channels_, kinds, other):
        custody.store(channel, "password", f"first password of {channel.reference}", "Taking custody.", user)
    custody.store(versions, "password", f"second password of {versions.reference}", "Rotated.", user)
    custody.store(kinds, "notes", f"Hardware key of {kinds.reference} in the comms safe", "Taking custody.", user)
    db.session().commit()
    swaps = [
        (versions, _version_row(versions, "password", 2)),
        (channels_, _version_row(other, "password", 1)),
        (kinds, _version_row(kinds, "notes", 1)),
    ]
    for target, source in swaps:
        db.session().execute(
            update(CredentialVersion)
            .where(CredentialVersion.id == _version_row(target, "password", 1).id)
            .values(
                key_id=source.key_id,
                wrapped_key=source.wrapped_key,
                nonce=source.nonce,
                ciphertext=source.ciphertext,
            )
        )
    db.session().commit()
    before = last_seq()

    for target, _source in swaps:
        response = reveal(comms, target, "password", version=1)

        assert response.status_code == 500
        assert DECRYPTION_FAILED in words(response)
        body = response.get_data(as_text=True)
        assert not any(value in body for value in ("password of", "comms safe"))
    assert audit_actions(since=before) == []
    assert db.session().execute(select(func.count()).select_from(CredentialReveal)).scalar_one() == 0
    result = invoke(app, "keys", "verify")
    assert result.exit_code == 1
    assert result.stdout == ""
    checked = 6 + db.session().execute(select(func.count()).select_from(UserTotp)).scalar_one()
    assert result.stderr.splitlines() == [
        *(
            f"{target.reference} password version 1 (key {source.key_id}): {DECRYPTION_FAILED}"
            for target, source in swaps
        ),
        f"3 of {checked} secrets could not be decrypted.",
    ]


def _version_row(channel: Channel, kind: str, version: int) -> CredentialVersion:
    credential = custody.get_credential(channel, kind)
    return next(v for v in custody.versions_of(credential) if v.version == version)


# --- keys rotate and keys verify ----------------------------------------------------------------


class TestKeyRotation:
    """Secrets stored under the key "old"; then "new" is configured first and ``keys rotate`` runs."""

    @pytest.fixture
    def app_settings(self) -> dict[str, Any]:
        return {"MASTER_KEYS": entry(OLD)}

    @pytest.fixture
    def stored(
        self, app: Flask, make_user: Callable[..., User], make_channel: Callable[..., Channel]
    ) -> dict[tuple[int, str, int], str]:
        """Eight versions on two channels (and the comms users' own two-factor secrets), all under "old"."""
        comms = make_user("comms")
        values: dict[tuple[int, str, int], str] = {}
        for channel in (make_channel("active"), make_channel("suspended")):
            for kind, value in (
                ("password", "first"),
                ("password", "second"),
                ("recovery_codes", "codes"),
                ("notes", "safe"),
            ):
                credential = custody.store(
                    channel, kind, f"{value} {kind} of {channel.reference}", "Taking custody.", comms
                )
                values[(channel.id, kind, credential.current_version)] = f"{value} {kind} of {channel.reference}"
        db.session().commit()
        return values

    @staticmethod
    def sealed_rows(connection: Connection) -> dict[tuple[str, int], tuple[str, bytes, bytes, bytes]]:
        rows = {
            ("credential_versions", row.id): (
                row.key_id,
                bytes(row.wrapped_key),
                bytes(row.nonce),
                bytes(row.ciphertext),
            )
            for row in connection.execute(
                text("SELECT id, key_id, wrapped_key, nonce, ciphertext FROM credential_versions")
            )
        }
        rows |= {
            ("user_totp", row.user_id): (row.key_id, bytes(row.wrapped_key), bytes(row.nonce), bytes(row.ciphertext))
            for row in connection.execute(text("SELECT user_id, key_id, wrapped_key, nonce, ciphertext FROM user_totp"))
        }
        return rows

    def test_rotate_moves_every_secret_to_the_first_key_and_reports_the_count_per_key(
        self,
        app: Flask,
        database_url: str,
        connection: Connection,
        stored: dict[tuple[int, str, int], str],
    ) -> None:
        """Every data key is rewrapped under "new" in batches, each audited; the report names the
        count per key id; ciphertexts are untouched; with "old" removed everything still opens,
        and ``keys verify`` says so."""
        before = self.sealed_rows(connection)
        total = len(before)
        assert total == len(stored) + db.session().execute(select(func.count()).select_from(UserTotp)).scalar_one()
        rotating = keyed_app(database_url, connection, NEW, OLD)

        result = invoke(rotating, "keys", "rotate", "--batch-size", "3")

        assert result.exit_code == 0, result.output
        assert result.stdout.splitlines() == [
            f"Rewrapped {total} data keys under new.",
            f"Secrets under each key id: new: {total}",
        ]
        assert result.stderr.splitlines()[-1] == f"Rewrapped {total} so far."
        after = self.sealed_rows(connection)
        assert after.keys() == before.keys()
        for row, (key_id, wrapped, nonce, ciphertext) in after.items():
            assert key_id == "new", row
            assert (nonce, ciphertext) == before[row][2:], row
            assert wrapped != before[row][1], row
        new_only = keyed_app(database_url, connection, NEW)
        with new_only.app_context():
            for (channel_id, kind, version), value in stored.items():
                row = (
                    db.session()
                    .execute(
                        text(
                            "SELECT v.key_id, v.wrapped_key, v.nonce, v.ciphertext FROM credential_versions v "
                            "JOIN credentials c ON c.id = v.credential_id "
                            "WHERE c.channel_id = :channel AND c.kind = :kind AND v.version = :version"
                        ),
                        {"channel": channel_id, "kind": kind, "version": version},
                    )
                    .one()
                )
                sealed = Sealed(row.key_id, bytes(row.wrapped_key), bytes(row.nonce), bytes(row.ciphertext))
                assert Vault([NEW]).open(sealed, version_aad(channel_id, kind, version)).decode() == value
        verified = invoke(new_only, "keys", "verify")
        assert (verified.exit_code, verified.stdout) == (0, f"{total} secrets decrypted; all can be read.\n")
        rewrapped = [
            event.details
            for event in db.session()
            .execute(select(AuditEvent).where(AuditEvent.action == "keys:rotate").order_by(AuditEvent.seq))
            .scalars()
        ]
        assert rewrapped == ['{"rewrapped":3}'] * (total // 3) + ([f'{{"rewrapped":{total % 3}}}'] if total % 3 else [])
        assert verify_chain(db.session()).ok

    def test_a_person_still_signs_in_with_their_authenticator_after_rotation(
        self,
        app: Flask,
        database_url: str,
        connection: Connection,
        make_user: Callable[..., User],
    ) -> None:
        """Users' own two-factor secrets are rewrapped too: with only the new key configured, the
        code from their phone still works."""
        user = make_user("comms")
        assert invoke(keyed_app(database_url, connection, NEW, OLD), "keys", "rotate").exit_code == 0
        new_only = keyed_app(database_url, connection, NEW)
        client = new_only.test_client()
        sign_in(client, user)
        assert client.get("/channels/queue").status_code == 200

    def test_an_interrupted_rotation_rerun_finishes_and_loses_nothing(
        self,
        app: Flask,
        database_url: str,
        connection: Connection,
        stored: dict[tuple[int, str, int], str],
    ) -> None:
        """One batch committed, the next lost half-way (as if the process died), then a rerun:
        every secret is under the new key and opens."""
        total = len(self.sealed_rows(connection))
        rotating = keyed_app(database_url, connection, NEW, OLD)
        with rotating.app_context():
            with db.transaction():
                assert custody.rewrap_batch(2) == 2
            assert custody.rewrap_batch(2) == 2
            db.session().rollback()
            assert custody.remaining_by_key() == {"new": 2, "old": total - 2}
            db.session().rollback()

        result = invoke(rotating, "keys", "rotate", "--batch-size", "2")

        assert result.exit_code == 0, result.output
        assert result.stdout.splitlines()[-1] == f"Secrets under each key id: new: {total}"
        verified = invoke(keyed_app(database_url, connection, NEW), "keys", "verify")
        assert verified.exit_code == 0, verified.output

    def test_rotation_without_a_needed_old_key_stops_and_changes_nothing(
        self,
        app: Flask,
        database_url: str,
        connection: Connection,
        stored: dict[tuple[int, str, int], str],
    ) -> None:
        """With only "new" configured, the first batch cannot be opened: exit 1 naming the missing
        key, and every row is as it was."""
        before = self.sealed_rows(connection)

        result = invoke(keyed_app(database_url, connection, NEW), "keys", "rotate")

        assert result.exit_code == 1
        assert result.stderr == f"Stopped after rewrapping 0: {not_in_custody('old')}\n"
        assert self.sealed_rows(connection) == before

    def assert_only_the_first_batch_of_three_rotated(
        self, connection: Connection, ids: list[int], before: dict[tuple[str, int], tuple[str, bytes, bytes, bytes]]
    ) -> None:
        """The first three versions are under "new", every other as it was, and one rotation audited."""
        after = self.sealed_rows(connection)
        moved = {row for row, sealed in after.items() if sealed[0] == "new"}
        assert moved == {("credential_versions", version_id) for version_id in ids[:3]}
        assert {row: after[row] for row in after.keys() - moved} == {row: before[row] for row in after.keys() - moved}
        rotations = [
            event.details
            for event in db.session().execute(select(AuditEvent).where(AuditEvent.action == "keys:rotate")).scalars()
        ]
        assert rotations == ['{"rewrapped":3}']
        assert verify_chain(db.session()).ok

    def test_a_secret_that_will_not_rewrap_stops_rotation_with_its_whole_batch_under_the_old_key(
        self,
        app: Flask,
        database_url: str,
        connection: Connection,
        stored: dict[tuple[int, str, int], str],
    ) -> None:
        """The fifth version's wrapped key changed in the database, batches of three: the first batch
        is rewrapped and audited; the second (which holds it) stops the command and stays wholly
        under "old", the versions before it in that batch included; every other secret still opens."""
        ids = [row.id for row in connection.execute(text("SELECT id FROM credential_versions ORDER BY id"))]
        tampered = ids[4]
        _flip_stored(connection, tampered, "wrapped_key", -1)
        before = self.sealed_rows(connection)

        result = invoke(keyed_app(database_url, connection, NEW, OLD), "keys", "rotate", "--batch-size", "3")

        assert result.exit_code == 1
        assert result.stderr.splitlines()[-1] == f"Stopped after rewrapping 3: {DECRYPTION_FAILED}"
        self.assert_only_the_first_batch_of_three_rotated(connection, ids, before)
        both = Vault([NEW, OLD])
        for row in connection.execute(
            text(
                "SELECT v.id, c.channel_id, c.kind, v.version, v.key_id, v.wrapped_key, v.nonce, v.ciphertext "
                "FROM credential_versions v JOIN credentials c ON c.id = v.credential_id WHERE v.id <> :tampered"
            ),
            {"tampered": tampered},
        ):
            sealed = Sealed(row.key_id, bytes(row.wrapped_key), bytes(row.nonce), bytes(row.ciphertext))
            opened = both.open(sealed, version_aad(row.channel_id, row.kind, row.version)).decode()
            assert opened == stored[(row.channel_id, row.kind, row.version)], row.id

    def test_a_version_the_database_does_not_write_stops_rotation_with_its_whole_batch_under_the_old_key(
        self,
        app: Flask,
        database_url: str,
        connection: Connection,
        stored: dict[tuple[int, str, int], str],
    ) -> None:
        """A trigger silently skips the update of the fifth version (as a changed statement or a wrong
        array type would): the batch that holds it is not recorded as rewrapped while one of its
        secrets is still under "old"; it rolls back whole, with no audit event, and says so."""
        ids = [row.id for row in connection.execute(text("SELECT id FROM credential_versions ORDER BY id"))]
        skipped = ids[4]
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("CREATE FUNCTION skip_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$")
            )
            connection.execute(
                text(
                    "CREATE TRIGGER skip_one BEFORE UPDATE ON credential_versions FOR EACH ROW "
                    f"WHEN (OLD.id = {skipped}) EXECUTE FUNCTION skip_update()"
                )
            )
        else:
            connection.execute(
                text(
                    "CREATE TRIGGER skip_one BEFORE UPDATE ON credential_versions "
                    f"WHEN OLD.id = {skipped} BEGIN SELECT RAISE(IGNORE); END"
                )
            )
        before = self.sealed_rows(connection)

        result = invoke(keyed_app(database_url, connection, NEW, OLD), "keys", "rotate", "--batch-size", "3")

        assert result.exit_code == 1
        assert result.stderr.splitlines()[-1] == (
            "Stopped after rewrapping 3: 2 of 3 credential versions were written; the batch was not changed"
        )
        self.assert_only_the_first_batch_of_three_rotated(connection, ids, before)

    def test_verify_names_every_secret_whose_key_was_removed(
        self,
        app: Flask,
        database_url: str,
        connection: Connection,
        stored: dict[tuple[int, str, int], str],
    ) -> None:
        """Removing "old" before rotating: ``keys verify`` exits 1 naming each secret and the key it needs."""
        total = len(self.sealed_rows(connection))

        result = invoke(keyed_app(database_url, connection, NEW), "keys", "verify")

        assert result.exit_code == 1
        lines = result.stderr.splitlines()
        assert lines[-1] == f"{total} of {total} secrets could not be decrypted."
        assert len(lines) == total + 1
        assert all(line.endswith(f"(key old): {not_in_custody('old')}") for line in lines[:-1])
        named = {line.split(" (key")[0] for line in lines[:-1]}
        for channel_id, kind, version in stored:
            reference = f"CH-{channel_id:04d}"
            assert f"{reference} {kind} version {version}" in named

    def test_verify_names_each_tampered_secret(
        self,
        app: Flask,
        connection: Connection,
        stored: dict[tuple[int, str, int], str],
    ) -> None:
        """Two ciphertexts changed in the database: exit 1 naming exactly those two."""
        total = len(self.sealed_rows(connection))
        ids = [row.id for row in connection.execute(text("SELECT id FROM credential_versions ORDER BY id"))][1:3]
        for version_id in ids:
            _flip_stored(connection, version_id, "ciphertext", 0)
        names = [
            f"{row.reference} {row.kind} version {row.version}"
            for row in (_describe(connection, version_id) for version_id in ids)
        ]

        result = invoke(app, "keys", "verify")

        assert result.exit_code == 1
        assert result.stderr.splitlines() == [
            f"{names[0]} (key old): {DECRYPTION_FAILED}",
            f"{names[1]} (key old): {DECRYPTION_FAILED}",
            f"2 of {total} secrets could not be decrypted.",
        ]


@dataclass(frozen=True)
class _Described:
    reference: str
    kind: str
    version: int


def _describe(connection: Connection, version_id: int) -> _Described:
    row = connection.execute(
        text(
            "SELECT c.channel_id, c.kind, v.version FROM credential_versions v "
            "JOIN credentials c ON c.id = v.credential_id WHERE v.id = :id"
        ),
        {"id": version_id},
    ).one()
    return _Described(f"CH-{row.channel_id:04d}", row.kind, row.version)


# --- kill -9 during keys rotate, on a database that commits -------------------------------------

SECRETS_FOR_THE_KILL = 300


def test_keys_rotate_killed_half_way_then_rerun_leaves_every_secret_readable(committed: CommittedSite) -> None:
    """``flask keys rotate --batch-size 1`` in its own process, killed with SIGKILL after some
    batches have committed: secrets are split between the keys; a rerun moves the rest, every
    secret opens under the new key alone with its original value, and the audit chain is intact."""
    seeding = committed.app(OLD)
    values: dict[tuple[int, str, int], str] = {}
    kinds = ("password", "recovery_codes", "recovery_email", "recovery_phone", "notes")
    with seeding.app_context(), db.transaction():
        staff = new_user("staff", email="requester@example.nhs.uk", two_factor=False)
        comms = new_user("comms", email="keeper@example.nhs.uk")
        for number in range(6):
            channel = active_channel(staff, comms, f"rotation_{number}")
            for kind in kinds:
                first = f"{kind} 1 of {channel.reference}"
                credential = custody.store(channel, kind, first, "Taking custody.", comms)
                values[(channel.id, kind, 1)] = first
                # Earlier versions sealed directly: storing 270 more through the service only adds time.
                for version in range(2, SECRETS_FOR_THE_KILL // 30 + 1):
                    value = f"{kind} {version} of {channel.reference}"
                    row = CredentialVersion(
                        credential_id=credential.id, version=version, created_by_id=comms.id, reason="Rotated."
                    )
                    row.store(custody.vault().seal(value.encode(), version_aad(channel.id, kind, version)))
                    db.session().add(row)
                    values[(channel.id, kind, version)] = value
                credential.current_version = SECRETS_FOR_THE_KILL // 30
    assert len(values) == SECRETS_FOR_THE_KILL
    total = SECRETS_FOR_THE_KILL + 1  # and the keeper's own two-factor secret
    environment = {
        **os.environ,
        "REGISTRY_ENV": "testing",
        "REGISTRY_DATABASE_URL": committed.url,
        "REGISTRY_MASTER_KEYS": entry(NEW, OLD),
        "REGISTRY_SECRET_KEY": "a" * 40,
        "REGISTRY_AUDIT_KEYS": TEST_AUDIT_KEYS,
        "REGISTRY_INSTANCE_PATH": str(committed.directory / "instance"),
    }
    environment.pop("REGISTRY_MASTER_KEYS_FILE", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "keys", "rotate", "--batch-size", "1"],
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        for line in process.stderr:
            if line.strip() == "Rewrapped 40 so far.":
                break
        else:
            pytest.fail(f"keys rotate ended before it was killed: {process.wait()}")
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    rotating = committed.app(NEW, OLD)
    with rotating.app_context():
        split = custody.remaining_by_key()
        db.session().rollback()
    assert split["new"] >= 40 and split["old"] > 0, split
    assert split["new"] + split["old"] == total

    rerun = invoke(rotating, "keys", "rotate")

    assert rerun.exit_code == 0, rerun.output
    assert rerun.stdout.splitlines() == [
        f"Rewrapped {split['old']} data key{'' if split['old'] == 1 else 's'} under new.",
        f"Secrets under each key id: new: {total}",
    ]
    new_only = committed.app(NEW)
    verified = invoke(new_only, "keys", "verify")
    assert (verified.exit_code, verified.stdout) == (0, f"{total} secrets decrypted; all can be read.\n")
    with new_only.app_context():
        rows = (
            db.session()
            .execute(
                text(
                    "SELECT c.channel_id, c.kind, v.version, v.key_id, v.wrapped_key, v.nonce, v.ciphertext "
                    "FROM credential_versions v JOIN credentials c ON c.id = v.credential_id"
                )
            )
            .all()
        )
        opened = {
            (row.channel_id, row.kind, row.version): Vault([NEW])
            .open(
                Sealed(row.key_id, bytes(row.wrapped_key), bytes(row.nonce), bytes(row.ciphertext)),
                version_aad(row.channel_id, row.kind, row.version),
            )
            .decode()
            for row in rows
        }
        assert opened == values
        assert verify_chain(db.session()).ok
        db.session().rollback()


# --- no plaintext in the database -------------------------------------------------------------

PAGE_SECRETS = {
    "password": "Pagestored-Password-7741-maternity",
    "recovery_codes": "pagecode-1111-2222 pagecode-3333-4444",
    "recovery_email": "page.recovery.mailbox@example.nhs.uk",
    "recovery_phone": "+44 7700 900 461 page",
    "totp_seed": "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U",
    "notes": "Page note: the YubiKey is in safe 7 behind reception",
}
API_SECRETS = {
    "password": "Apistored-Password-9902-cardiology",
    "recovery_codes": "apicode-5555-6666 apicode-7777-8888",
    "recovery_email": "api.recovery.mailbox@example.nhs.uk",
    "recovery_phone": "+44 7700 900 462 api",
    "totp_seed": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
    "notes": "API note: the second hardware key is with the on-call manager",
}


def encodings(secret: bytes) -> list[bytes]:
    """``secret`` as stored by a careless program: raw, hex, base64, base32."""
    return [
        secret,
        secret.hex().encode(),
        secret.hex().upper().encode(),
        base64.b64encode(secret),
        base64.urlsafe_b64encode(secret),
        base64.b32encode(secret).rstrip(b"="),
    ]


def every_row(url: str) -> list[tuple[str, str, bytes]]:
    """Every value of every row of every table, read with plain SQL, as bytes."""
    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            found = []
            for table in inspect(connection).get_table_names():
                result = connection.execute(text(f'SELECT * FROM "{table}"'))
                columns = list(result.keys())
                for row in result:
                    for column, value in zip(columns, row, strict=True):
                        if isinstance(value, bytes | memoryview | bytearray):
                            found.append((table, column, bytes(value)))
                        elif value is not None:
                            found.append((table, column, str(value).encode()))
            return found
    finally:
        engine.dispose()


def test_no_secret_reaches_the_database_in_plaintext(committed: CommittedSite) -> None:
    """Every kind stored through the page and through the API, one revealed, a user's own
    authenticator secret and recovery codes: no row of any table (bytes columns included)
    holds any of them raw, in hex, base64 or base32; on SQLite, neither does the database file."""
    app = committed.app(OLD)
    with app.app_context(), db.transaction():
        staff = new_user("staff", email="requester@example.nhs.uk", two_factor=False)
        comms = new_user("comms", email="keeper@example.nhs.uk")
        channel = active_channel(staff, comms, "plaintext_probe")
        recovery_codes = mfa.regenerate_recovery_codes(comms)
        _token, token = accounts.create_token(comms, actor=Actor.system("tests"))
    own_secret = TOTP_SECRETS[comms.id]
    browser = signed_in(app, comms)
    for kind, value in PAGE_SECRETS.items():
        assert store_page(browser, channel, kind, value).status_code == 302, kind
    for kind, value in API_SECRETS.items():
        stored = app.test_client().post(
            f"/api/v1/channels/{channel.reference}/credentials",
            json={"kind": kind, "value": value, "reason": "Second version."},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert stored.status_code == 201, stored.get_json()
    shown = reveal(browser, channel, "password", version=1)
    assert revealed(shown) == PAGE_SECRETS["password"]
    committed.dispose()

    needles = [
        *(needle for value in [*PAGE_SECRETS.values(), *API_SECRETS.values()] for needle in encodings(value.encode())),
        *(
            needle
            for seed in (PAGE_SECRETS["totp_seed"], API_SECRETS["totp_seed"])
            for needle in encodings(base64.b32decode(seed))
        ),
        *encodings(own_secret),
        *(code.encode() for code in recovery_codes),
        *(code.replace("-", "").encode() for code in recovery_codes),
    ]
    rows = every_row(committed.url)
    assert len([1 for table, column, _ in rows if (table, column) == ("credential_versions", "ciphertext")]) == 12
    assert any(b"Second version." in value for _table, _column, value in rows)  # what is not secret is readable here
    assert [(table, column) for table, column, value in rows if any(n in value for n in needles)] == []
    if not ON_POSTGRES:
        files = sorted(committed.directory.glob("live.db*"))
        assert files
        contents = b"".join(path.read_bytes() for path in files)
        assert b"Second version." in contents
        assert [needle for needle in needles if needle in contents] == []
