"""Password hashing (Argon2id, PHC strings) and the password rules.

The cost parameters come from the application's config so that tests can use a
cheap profile; a stored hash made with other parameters is rehashed at sign-in.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cache

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from flask import current_app, has_app_context

MIN_LENGTH = 12
MAX_LENGTH = 128
_PHC = re.compile(r"^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$")


@cache
def _common() -> frozenset[str]:
    """zxcvbn's list of the most common passwords (zxcvbn is loaded when a password is first judged,
    not at every process's start)."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


@dataclass(frozen=True)
class Argon2Profile:
    """Memory (KiB), iterations and lanes of Argon2id (RFC 9106 second recommendation by default)."""

    memory_cost: int = 65536
    iterations: int = 3
    lanes: int = 4


PRODUCTION_PROFILE = Argon2Profile()


def _profile() -> Argon2Profile:
    if has_app_context():
        profile: Argon2Profile = current_app.config.get("ARGON2_PROFILE", PRODUCTION_PROFILE)
        return profile
    return PRODUCTION_PROFILE


def hash_password(password: str, profile: Argon2Profile | None = None) -> str:
    profile = profile or _profile()
    kdf = Argon2id(
        salt=os.urandom(16),
        length=32,
        iterations=profile.iterations,
        lanes=profile.lanes,
        memory_cost=profile.memory_cost,
    )
    return kdf.derive_phc_encoded(password.encode("utf-8"))


def verify_password(encoded: str | None, password: str) -> bool:
    """True when ``password`` matches; a missing or malformed hash never matches."""
    if not encoded or not _PHC.match(encoded):
        return False
    try:
        Argon2id.verify_phc_encoded(password.encode("utf-8"), encoded)
    except (InvalidKey, ValueError):
        return False
    return True


def needs_rehash(encoded: str, profile: Argon2Profile | None = None) -> bool:
    profile = profile or _profile()
    match = _PHC.match(encoded)
    if not match:
        return True
    memory, iterations, lanes = (int(part) for part in match.groups())
    return (memory, iterations, lanes) != (profile.memory_cost, profile.iterations, profile.lanes)


_DUMMY_HASHES: dict[Argon2Profile, str] = {}


def burn_equivalent_time(password: str) -> None:
    """Spend the time a real verification would, so unknown e-mails are not revealed by timing."""
    profile = _profile()
    dummy = _DUMMY_HASHES.get(profile)
    if dummy is None:
        dummy = _DUMMY_HASHES[profile] = hash_password(os.urandom(16).hex(), profile)
    verify_password(dummy, password)


def password_problem(password: str, *, email: str = "", name: str = "") -> str | None:
    """Why ``password`` is not acceptable, in plain English, or None when it is.

    Length 12 to 128, not one of the most common passwords, not easy to guess
    (zxcvbn score 3 or more, counting the person's own name and e-mail).
    """
    if len(password) < MIN_LENGTH:
        return f"Your password must be at least {MIN_LENGTH} characters long."
    if len(password) > MAX_LENGTH:
        return f"Your password must be {MAX_LENGTH} characters or fewer."
    common = _common()
    if password.lower() in common or password.strip().lower() in common:
        return "That password is one of the most commonly used passwords. Choose another."
    user_inputs = [part for part in re.split(r"[@.\s_-]+", f"{email} {name}".lower()) if len(part) >= 3]
    from zxcvbn import zxcvbn

    result = zxcvbn(password[:100], user_inputs=user_inputs)
    if result["score"] < 3:
        warning = result["feedback"].get("warning") or "It would be easy to guess."
        return f"That password is too easy to guess. {warning.rstrip('.')}. Try a longer phrase of unrelated words."
    return None
