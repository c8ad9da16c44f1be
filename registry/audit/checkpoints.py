"""Signed checkpoints of the audit chain's head, kept outside the database.

``audit checkpoint`` appends one JSON line per run to ``REGISTRY_AUDIT_CHECKPOINT_FILE``
(and writes the same line to the log for a SIEM)::

    {"at": "2026-11-26T09:00:00Z", "chain_id": "…", "hash": "…", "key_id": "k1a2b3c4",
     "public_key": "…", "seq": 1234, "signature": "…", "v": 1}

The signature is Ed25519 over ``SIGNED_LABEL``, a newline, and the canonical JSON (sorted keys,
no spaces) of every field but ``signature``. The signing key is derived from the audit key
``key_id`` (see :mod:`registry.audit.keyring`), so anyone holding the printed public key can
check a line, and nobody without the audit key can write one that checks.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from registry.audit.keyring import AuditKeyring

log = logging.getLogger(__name__)

SIGNED_LABEL: Final = b"social-channel-registry audit checkpoint v1"
VERSION: Final = 1
_FIELDS: Final = frozenset({"v", "chain_id", "seq", "hash", "at", "key_id", "public_key", "signature"})
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_HEX128 = re.compile(r"^[0-9a-f]{128}$")
_CHAIN_ID = re.compile(r"^[0-9A-Za-z-]{1,64}$")
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def moment_text(moment: dt.datetime) -> str:
    """A checkpoint's time as written: UTC, to the second, ``2026-11-26T09:00:00Z``."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Checkpoint:
    """One signed statement: at ``at``, event ``seq`` of chain ``chain_id`` had hash ``hash``."""

    chain_id: str
    seq: int
    hash: str
    at: str
    key_id: str
    public_key: str
    signature: str
    #: Where it was read from (1-based); 0 for one not yet written.
    line: int = 0

    @property
    def moment(self) -> dt.datetime:
        return dt.datetime.strptime(self.at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)

    def signed_fields(self) -> dict[str, Any]:
        return {
            "v": VERSION,
            "chain_id": self.chain_id,
            "seq": self.seq,
            "hash": self.hash,
            "at": self.at,
            "key_id": self.key_id,
            "public_key": self.public_key,
        }

    def as_line(self) -> str:
        """The checkpoint as one line of JSON (no newline)."""
        return json.dumps({**self.signed_fields(), "signature": self.signature}, sort_keys=True, separators=(",", ":"))

    def describe(self, *, start: bool = False) -> str:
        """The words naming this checkpoint (its time and line), capitalised to ``start`` a sentence."""
        where = f" (line {self.line} of the checkpoint file)" if self.line else ""
        return f"{'The' if start else 'the'} checkpoint of {self.at}{where}"


def signed_message(fields: dict[str, Any]) -> bytes:
    return SIGNED_LABEL + b"\n" + json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def sign(keyring: AuditKeyring, chain_id: str, seq: int, hash_: str, moment: dt.datetime) -> Checkpoint:
    """A checkpoint of event ``seq`` with ``hash_``, signed with the primary audit key."""
    key_id = keyring.primary_id
    unsigned = Checkpoint(chain_id, seq, hash_, moment_text(moment), key_id, keyring.public_key_hex(key_id), "")
    _key_id, _public, signature = keyring.sign(signed_message(unsigned.signed_fields()))
    return Checkpoint(unsigned.chain_id, seq, hash_, unsigned.at, key_id, unsigned.public_key, signature)


class CheckpointFileError(ValueError):
    """A line of the checkpoint file is not a checkpoint this deployment can trust; names the line."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(f"line {line} of the checkpoint file {problem}")
        self.line = line


@dataclass(frozen=True)
class CheckpointFile:
    """What the file says about one chain: its checkpoints, each with a good signature."""

    path: Path
    own: tuple[Checkpoint, ...]
    #: Checkpoints of other chains signed with keys this deployment does not hold (another database).
    foreign: int


def _parse(number: int, text: str) -> Checkpoint:
    try:
        data = json.loads(text)
    except ValueError:
        raise CheckpointFileError(
            number, "is not JSON (it was changed, or not written by `audit checkpoint`)."
        ) from None
    if not isinstance(data, dict) or set(data) != _FIELDS:
        raise CheckpointFileError(number, "does not have exactly the fields of a checkpoint.")
    checks = (
        (data["v"] == VERSION and type(data["v"]) is int, "version"),
        (isinstance(data["chain_id"], str) and _CHAIN_ID.match(data["chain_id"]), "chain id"),
        (type(data["seq"]) is int and data["seq"] >= 0, "event number"),
        (isinstance(data["hash"], str) and _HEX64.match(data["hash"]), "hash"),
        (isinstance(data["at"], str) and _MOMENT.match(data["at"]), "time"),
        (isinstance(data["key_id"], str) and _KEY_ID.match(data["key_id"]), "key id"),
        (isinstance(data["public_key"], str) and _HEX64.match(data["public_key"]), "public key"),
        (isinstance(data["signature"], str) and _HEX128.match(data["signature"]), "signature"),
    )
    for good, name in checks:
        if not good:
            raise CheckpointFileError(number, f"has a malformed {name}.")
    return Checkpoint(
        data["chain_id"],
        data["seq"],
        data["hash"],
        data["at"],
        data["key_id"],
        data["public_key"],
        data["signature"],
        number,
    )


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        handle = path.open("r", encoding="utf-8", newline="\n")
    except FileNotFoundError:
        return
    with handle:
        for number, text in enumerate(handle, start=1):
            if text.strip():
                yield number, text.strip()


def read(path: Path, keyring: AuditKeyring, chain_id: str, *, every_signature: bool = True) -> CheckpointFile:
    """Every checkpoint of chain ``chain_id`` in ``path``, each signature checked; a missing file has none.

    Raises :class:`CheckpointFileError` naming the first line that cannot be trusted: one that is
    not a checkpoint, one of this chain signed with a key that is not configured, or one whose
    signature or public key does not match its audit key. A checkpoint of another chain that names
    a key of this deployment is refused too: ``audit checkpoint`` writes only its own chain's, so
    either this database's chain id was changed (its trail replaced) or the database was
    recreated beside an old file. Checkpoints of other chains under keys this deployment does
    not hold (another database's) are only counted.

    With ``every_signature`` false only the latest checkpoint's signature is checked (the rest of
    the file is still parsed and its key ids and public keys compared): what the timer needs
    before signing a new head, at a cost that does not grow with the file.
    """
    entries: list[Checkpoint | CheckpointFileError] = []
    for number, text in _lines(path):
        try:
            entries.append(_parse(number, text))
        except CheckpointFileError as exc:
            entries.append(exc)
    latest = max((e.seq for e in entries if isinstance(e, Checkpoint) and e.chain_id == chain_id), default=None)
    own: list[Checkpoint] = []
    foreign = 0
    for entry in entries:
        if isinstance(entry, CheckpointFileError):
            raise entry
        checkpoint, number = entry, entry.line
        if checkpoint.key_id not in keyring:
            if checkpoint.chain_id != chain_id:
                foreign += 1
                continue
            raise CheckpointFileError(
                number,
                f"is signed with audit key {checkpoint.key_id!r}, which is not in REGISTRY_AUDIT_KEYS "
                "(keep retired audit keys configured after the current one).",
            )
        check_signature = every_signature or (checkpoint.chain_id == chain_id and checkpoint.seq == latest)
        if checkpoint.public_key != keyring.public_key_hex(checkpoint.key_id) or (
            check_signature
            and not keyring.signature_ok(
                checkpoint.key_id, signed_message(checkpoint.signed_fields()), checkpoint.signature
            )
        ):
            raise CheckpointFileError(
                number,
                f"has a signature that does not check with audit key {checkpoint.key_id!r} (it was changed or forged).",
            )
        if checkpoint.chain_id != chain_id:
            raise CheckpointFileError(
                number,
                f"is a checkpoint of chain {checkpoint.chain_id} under this deployment's audit key, but this "
                f"database's chain is {chain_id}: its chain id was changed (the trail replaced), or the database was "
                "recreated, in which case move the old checkpoint file aside.",
            )
        own.append(checkpoint)
    return CheckpointFile(path, tuple(own), foreign)


def append(path: Path, checkpoint: Checkpoint) -> None:
    """Append ``checkpoint`` as one line, durably: the file is created readable by its owner only,
    written with ``O_APPEND`` (so concurrent runs never interleave a line) and flushed to disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = checkpoint.as_line().encode() + b"\n"
    created = not path.exists()
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            # A line cut short (a crash mid-write) stays a line of its own, named by `audit verify`.
            line = b"\n" + line
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)
    if created:
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    log.info("audit checkpoint %s", checkpoint.as_line())
