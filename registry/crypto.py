"""Envelope encryption: the one place secrets are sealed and opened.

Infrastructure that any package may use: the custody package seals the channels'
credentials with it, and the accounts package seals each person's two-factor seed.

Each secret (each version of it) gets a fresh 256-bit data key; the value is
sealed with AES-256-GCM under that key, and the data key is itself sealed
("wrapped") with AES-256-GCM under a master key named by its key id. Both
seals take associated data naming the row the secret belongs to, so a
ciphertext copied into another row, or a wrapped key moved between rows, does
not open. Master keys come from configuration, never from the database; the
first one wraps new data keys and all of them unwrap.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import Flask, current_app

from config import MasterKey

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12
DATA_KEY_BYTES = 32
_WRAP_CONTEXT = b"registry/data-key/v1|"
_SEAL_CONTEXT = b"registry/secret/v1|"
_EXTENSION = "registry.vault"


class VaultError(Exception):
    """A secret could not be sealed or opened; the message says why, never what."""


class UnknownKeyId(VaultError):
    def __init__(self, key_id: str) -> None:
        super().__init__(
            f"The master key {key_id!r} that protects this secret is not configured. "
            "Add it back to REGISTRY_MASTER_KEYS (keep old keys until `keys rotate` has moved every secret off them)."
        )
        self.key_id = key_id


class DecryptionFailed(VaultError):
    def __init__(self) -> None:
        super().__init__(
            "The secret could not be decrypted: the master key is wrong, or the stored data was changed or moved."
        )


class NoMasterKey(VaultError):
    def __init__(self) -> None:
        super().__init__("No master key is configured: set REGISTRY_MASTER_KEYS.")


@dataclass(frozen=True)
class Sealed:
    """What is stored: the master key's id, the wrapped data key, the nonce and the ciphertext."""

    key_id: str
    wrapped_key: bytes
    nonce: bytes
    ciphertext: bytes


class Vault:
    """Seals, opens and rewraps secrets under the configured master keys."""

    def __init__(self, master_keys: Iterable[MasterKey]) -> None:
        keys = list(master_keys)
        if not keys:
            raise NoMasterKey()
        self._keys = {key.key_id: key.key for key in keys}
        self._ciphers: dict[str, AESGCM] = {}  # made when first used: the start need not load cryptography
        self.primary_key_id = keys[0].key_id

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._keys)

    def _master(self, key_id: str) -> AESGCM:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        cipher = self._ciphers.get(key_id)
        if cipher is None:
            try:
                key = self._keys[key_id]
            except KeyError:
                raise UnknownKeyId(key_id) from None
            cipher = self._ciphers.setdefault(key_id, AESGCM(key))
        return cipher

    @staticmethod
    def _wrap_aad(key_id: str, aad: bytes) -> bytes:
        return _WRAP_CONTEXT + key_id.encode("ascii") + b"|" + aad

    def _wrap(self, data_key: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._master(self.primary_key_id).encrypt(nonce, data_key, self._wrap_aad(self.primary_key_id, aad))
        return nonce + sealed

    def _unwrap(self, key_id: str, wrapped: bytes, aad: bytes) -> bytes:
        from cryptography.exceptions import InvalidTag

        master = self._master(key_id)
        try:
            return master.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], self._wrap_aad(key_id, aad))
        except (InvalidTag, ValueError):
            raise DecryptionFailed() from None

    def seal(self, plaintext: bytes, aad: bytes) -> Sealed:
        """Encrypt ``plaintext`` under a fresh data key, bound to ``aad`` (the row it belongs to)."""
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        data_key = AESGCM.generate_key(bit_length=DATA_KEY_BYTES * 8)
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = AESGCM(data_key).encrypt(nonce, plaintext, _SEAL_CONTEXT + aad)
        return Sealed(self.primary_key_id, self._wrap(data_key, aad), nonce, ciphertext)

    def open(self, sealed: Sealed, aad: bytes) -> bytes:
        """The plaintext, or :class:`UnknownKeyId` / :class:`DecryptionFailed`."""
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        data_key = self._unwrap(sealed.key_id, sealed.wrapped_key, aad)
        try:
            return AESGCM(data_key).decrypt(sealed.nonce, sealed.ciphertext, _SEAL_CONTEXT + aad)
        except (InvalidTag, ValueError):
            raise DecryptionFailed() from None

    def rewrap(self, sealed: Sealed, aad: bytes) -> Sealed:
        """The same secret with its data key wrapped under the primary master key.

        The ciphertext is untouched; only the data key is unwrapped and wrapped again.
        """
        return Sealed(
            self.primary_key_id,
            self.rewrapped_key(sealed.key_id, sealed.wrapped_key, aad),
            sealed.nonce,
            sealed.ciphertext,
        )

    def rewrapped_key(self, key_id: str, wrapped_key: bytes, aad: bytes) -> bytes:
        """A data key wrapped under master key ``key_id``, wrapped instead under the primary master key
        (what :meth:`rewrap` changes: rotation need not read the ciphertext)."""
        return self.rewrapped_keys([(key_id, wrapped_key, aad)])[0]

    def rewrapped_keys(self, entries: Sequence[tuple[str, bytes, bytes]]) -> list[bytes]:
        """:meth:`rewrapped_key` of each ``(key id, wrapped key, associated data)``, in order.

        The same AES-GCM unwrap (authenticated, so a wrong key or moved row raises
        :class:`DecryptionFailed`) and wrap under a fresh random nonce as one by one; the master keys
        and the key-id part of the associated data are looked up once per batch, not per key, and the
        nonces come from one read of the system's random source (each 12 bytes independent).
        """
        from cryptography.exceptions import InvalidTag

        primary_id = self.primary_key_id
        primary = self._master(primary_id)
        wrap_context = self._wrap_aad(primary_id, b"")
        unwrappers: dict[str, tuple[AESGCM, bytes]] = {}
        nonces = os.urandom(NONCE_BYTES * len(entries))
        rewrapped: list[bytes] = []
        append = rewrapped.append
        end = 0
        for key_id, wrapped, aad in entries:
            unwrapper = unwrappers.get(key_id)
            if unwrapper is None:
                unwrapper = unwrappers[key_id] = (self._master(key_id), self._wrap_aad(key_id, b""))
            try:
                data_key = unwrapper[0].decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], unwrapper[1] + aad)
            except (InvalidTag, ValueError):
                raise DecryptionFailed() from None
            start, end = end, end + NONCE_BYTES
            nonce = nonces[start:end]
            append(nonce + primary.encrypt(nonce, data_key, wrap_context + aad))
        return rewrapped


def init_app(app: Flask) -> None:
    """The one construction point of the vault, from the configured master keys."""
    app.extensions[_EXTENSION] = Vault(app.extensions["registry.settings"].master_keys)


def vault() -> Vault:
    """The application's vault (made by :func:`init_app`)."""
    found: Vault = current_app.extensions[_EXTENSION]
    return found
