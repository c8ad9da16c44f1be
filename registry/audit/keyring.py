"""The audit trail's keys: HMAC links between events and Ed25519 signatures on checkpoints.

Both come from ``REGISTRY_AUDIT_KEYS`` through HKDF-SHA256 with a label per use, so the same
32 bytes never serve two purposes and no second secret has to be kept: the checkpoint signing
key of audit key ``k`` is always the same, and its public key can be printed and checked later.

:class:`AuditKeyring` is the one place these keys are made and used; its errors are
:class:`UnknownAuditKey`.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from flask import current_app

from config import MasterKey

LINK_LABEL = b"social-channel-registry audit link v1"
SIGNING_LABEL = b"social-channel-registry audit checkpoint signing v1"
EXTENSION = "registry.audit_keyring"
_LINK_PREFIX = LINK_LABEL + b"\n"
#: How many (key, chain) starting states a keyring keeps (a database has one chain, a few keys).
_LINK_STATES = 16


class UnknownAuditKey(LookupError):
    """An event or a checkpoint names an audit key that is not configured."""

    def __init__(self, key_id: str) -> None:
        super().__init__(key_id)
        self.key_id = key_id


def _derive(key: bytes, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(key)


@dataclass(frozen=True)
class _Key:
    key_id: str
    link_key: bytes = field(repr=False)
    signing_seed: bytes = field(repr=False)

    @cached_property
    def signing_key(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.signing_seed)

    @cached_property
    def public_key(self) -> Ed25519PublicKey:
        return self.signing_key.public_key()

    @cached_property
    def public_key_hex(self) -> str:
        return self.public_key.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


class AuditKeyring:
    """The configured audit keys; the first keys new events and signs new checkpoints."""

    def __init__(self, keys: Sequence[MasterKey]) -> None:
        if not keys:
            raise ValueError("No audit key is configured: set REGISTRY_AUDIT_KEYS.")
        self._keys = {
            key.key_id: _Key(key.key_id, _derive(key.key, LINK_LABEL), _derive(key.key, SIGNING_LABEL)) for key in keys
        }
        self.primary_id = keys[0].key_id
        #: (key id, chain id) → the HMAC state after the label, chain id and key id every link of that
        #: key in that chain starts with: a link copies it and adds only the previous hash and the event.
        self._link_states: dict[tuple[str, str], hmac.HMAC] = {}

    def __contains__(self, key_id: object) -> bool:
        return key_id in self._keys

    def _key(self, key_id: str) -> _Key:
        try:
            return self._keys[key_id]
        except KeyError:
            raise UnknownAuditKey(key_id) from None

    def link(self, key_id: str, chain_id: str, prev_hash: str, canonical_event: str) -> str:
        """The HMAC-SHA256 (hex) that links an event, in its canonical form, to ``prev_hash``.

        The key id and the chain id are part of what is authenticated: an event moved to another
        chain, or relabelled with another key id, no longer matches.
        """
        # The same bytes as HMAC(link key, prefix + f"{chain_id}\n{key_id}\n{prev_hash}\n{canonical_event}"),
        # fed in two parts: the start, hashed once per key and chain, and the rest.
        state = self._link_states.get((key_id, chain_id))
        if state is None:
            if len(self._link_states) >= _LINK_STATES:
                self._link_states.clear()
            start = _LINK_PREFIX + f"{chain_id}\n{key_id}\n".encode()
            state = self._link_states[key_id, chain_id] = hmac.new(self._key(key_id).link_key, start, "sha256")
        mac = state.copy()
        mac.update(f"{prev_hash}\n{canonical_event}".encode())
        return mac.hexdigest()

    def public_key_hex(self, key_id: str) -> str:
        """The raw Ed25519 public key (hex) that checks checkpoints signed under audit key ``key_id``."""
        return self._key(key_id).public_key_hex

    def sign(self, message: bytes) -> tuple[str, str, str]:
        """Sign ``message`` with the primary key: (key id, public key hex, signature hex)."""
        key = self._key(self.primary_id)
        return key.key_id, key.public_key_hex, key.signing_key.sign(message).hex()

    def signature_ok(self, key_id: str, message: bytes, signature_hex: str) -> bool:
        """Whether ``signature_hex`` is the signature of ``message`` under audit key ``key_id``.

        Raises :class:`UnknownAuditKey` when that key is not configured.
        """
        key = self._key(key_id)
        try:
            key.public_key.verify(bytes.fromhex(signature_hex), message)
        except (InvalidSignature, ValueError):
            return False
        return True


def current_keyring() -> AuditKeyring:
    """The application's keyring, made once from its settings (no file is read)."""
    extensions = current_app.extensions
    keyring = extensions.get(EXTENSION)
    if keyring is None:
        keyring = extensions[EXTENSION] = AuditKeyring(extensions["registry.settings"].audit_keys)
    return keyring
