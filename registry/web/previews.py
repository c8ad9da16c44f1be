"""An uploaded file carried from its preview to its confirmation, without being stored.

The preview page carries the file back, base64-encoded, with a token signed by the server that names
the file's digest, what the preview said the import would do and who saw it. The confirmation takes
the file back only when the token is the server's, is the same person's, is at most an hour old and
names this very file; the view then checks the file again from scratch and compares what it would
do with what was previewed. (The users import and the channel inventory import both work this way.)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from registry.auth.models import User

TOKEN_MAX_AGE = 3600


def request_limit(max_bytes: int) -> int:
    """The request that carries a file of at most ``max_bytes``: the file (a little more is read, to
    say how big it is), or its base64 on the confirmation (a third more)."""
    return 2 * max_bytes + 64 * 1024


def encoded(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@dataclass(frozen=True)
class Carried:
    """The file a confirmation brings back, and what its preview said the import would do."""

    data: bytes
    fingerprint: str


@dataclass(frozen=True)
class PreviewSigner:
    """Signs and checks the tokens of one kind of import (``salt`` keeps them apart)."""

    salt: str

    def _signer(self) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=self.salt)

    def token(self, data: bytes, fingerprint: str, actor: User) -> str:
        return self._signer().dumps({"sha256": hashlib.sha256(data).hexdigest(), "plan": fingerprint, "by": actor.id})

    def carried(self, file: str | None, token: str | None, actor: User) -> Carried | None:
        """The file the preview gave ``actor``, or None when the confirmation is not one the server gave
        them, is over an hour old, or brings another file back."""
        try:
            data = base64.b64decode(file or "", validate=True)
            signed: Any = self._signer().loads(token or "", max_age=TOKEN_MAX_AGE)
        except (binascii.Error, ValueError, BadSignature):
            return None
        if (
            not isinstance(signed, dict)
            or signed.get("by") != actor.id
            or signed.get("sha256") != hashlib.sha256(data).hexdigest()
        ):
            return None
        return Carried(data, str(signed.get("plan")))
