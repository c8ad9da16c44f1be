"""Typed configuration of the Social Channel Registry.

Values come from ``REGISTRY_*`` environment variables (read with Flask's
``from_prefixed_env``) and, in tests, from explicit overrides. Development gets
generated values kept in ``instance/``; production refuses to start without real
ones and names the variable that is missing. There is no default secret anywhere.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

ENV_PREFIX = "REGISTRY"
KEY_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
MIN_SECRET_KEY_LENGTH = 32
#: Room in a request for the rest of a form beside a file of the largest size allowed.
FORM_ALLOWANCE_BYTES = 512 * 1024


class ConfigError(RuntimeError):
    """The configuration cannot be used; the message names the variable to fix."""


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TESTING = "testing"
    PRODUCTION = "production"


@dataclass(frozen=True)
class MasterKey:
    """A named 32-byte key: a key-encryption key of the vault (``REGISTRY_MASTER_KEYS``) or a key of
    the audit chain (``REGISTRY_AUDIT_KEYS``). Never stored in the database."""

    key_id: str
    key: bytes = field(repr=False)


def generate_master_key_entry() -> str:
    """A new ``KEY_ID:KEY`` entry for ``REGISTRY_MASTER_KEYS`` or ``REGISTRY_AUDIT_KEYS`` (32 random bytes)."""
    key_id = "k" + secrets.token_hex(4)
    key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")
    return f"{key_id}:{key}"


def derived_fingerprint_key(master: MasterKey) -> MasterKey:
    """The fingerprint key of a production that sets no ``REGISTRY_FINGERPRINT_KEYS``: HKDF-SHA256 of the
    first master key, for this purpose alone (it opens nothing; whoever holds the master key could read
    the passwords anyway). Its id names the master key, so a fingerprint made under the next master key is
    never compared with one made under this; ``credentials assess`` refingerprints every password."""
    # HKDF (RFC 5869) written out with the standard library, so that every start need not load the
    # cryptography package: no salt (32 zero bytes), and the 32 bytes wanted are the first block.
    pseudorandom = hmac.digest(bytes(32), master.key, hashlib.sha256)
    derived = hmac.digest(pseudorandom, b"registry password fingerprints v1" + b"\x01", hashlib.sha256)
    return MasterKey(key_id=f"fp-{master.key_id[:29]}", key=derived)


def parse_master_keys(value: str, variable: str = "REGISTRY_MASTER_KEYS") -> tuple[MasterKey, ...]:
    """Parse ``KEY_ID:KEY,KEY_ID:KEY``; errors name the entry but never echo key material."""
    keys: list[MasterKey] = []
    seen: set[str] = set()
    entries = [entry.strip() for entry in value.split(",") if entry.strip()]
    if not entries:
        raise ConfigError(f"{variable} is empty: give at least one KEY_ID:KEY entry.")
    for position, entry in enumerate(entries, start=1):
        key_id, sep, encoded = entry.partition(":")
        if not sep or not KEY_ID_PATTERN.match(key_id):
            raise ConfigError(
                f"{variable} entry {position} is not KEY_ID:KEY "
                "(a key id of letters, digits, '-' or '_', then ':' and the key)."
            )
        try:
            key = base64.urlsafe_b64decode(encoded.encode("ascii") + b"=" * (-len(encoded) % 4))
        except (binascii.Error, ValueError, UnicodeEncodeError):
            raise ConfigError(f"{variable} entry {key_id!r} is not URL-safe base64.") from None
        if len(key) != 32:
            raise ConfigError(f"{variable} entry {key_id!r} must decode to 32 bytes.")
        if key_id in seen:
            raise ConfigError(f"{variable} names key id {key_id!r} twice.")
        seen.add(key_id)
        keys.append(MasterKey(key_id, key))
    return tuple(keys)


class LocalSignIn(StrEnum):
    """Who may sign in with a password (``REGISTRY_LOCAL_SIGN_IN``)."""

    ON = "on"
    #: Only accounts an administrator flagged as break-glass: for when the identity provider is down.
    BREAK_GLASS = "break-glass"
    OFF = "off"


@dataclass(frozen=True)
class OidcSettings:
    """Sign-in with an OpenID provider (NHSmail is Microsoft Entra ID): ``REGISTRY_OIDC_*``."""

    issuer: str
    client_id: str
    #: ``client_secret_post``/``client_secret_basic`` with this, or ``private_key_jwt`` with ``private_key``.
    client_secret: str | None = field(default=None, repr=False)
    #: A PEM private key (RSA or EC) for ``private_key_jwt``.
    private_key: str | None = field(default=None, repr=False)
    #: Entra tenant ids (``tid``) whose people may sign in; empty: any the issuer vouches for.
    allowed_tenants: tuple[str, ...] = ()
    #: E-mail domains whose people may sign in; empty: any.
    allowed_domains: tuple[str, ...] = ()
    label: str = "Sign in with NHSmail"
    #: Provider role or group → Registry role. Empty: roles beyond staff are managed in the Registry.
    role_map: tuple[tuple[str, str], ...] = ()
    roles_claim: str = "roles"
    #: ``acr`` values that mean the person used more than one factor (``amr`` with ``mfa`` always does).
    mfa_acr: tuple[str, ...] = ()
    scopes: str = "openid email profile"

    @property
    def maps_roles(self) -> bool:
        return bool(self.role_map)


@dataclass(frozen=True)
class Settings:
    """Everything the application needs to know about where it runs."""

    env: Environment
    database_url: str
    secret_key: str = field(repr=False)
    master_keys: tuple[MasterKey, ...] = field(repr=False)
    #: Keys of the audit chain's HMAC links and checkpoint signatures; the first keys new events.
    audit_keys: tuple[MasterKey, ...] = field(repr=False)
    #: Where ``audit checkpoint`` appends signed checkpoints of the chain's head.
    audit_checkpoint_file: Path
    #: Keys of the keyed fingerprints (HMAC-SHA256) that find a password reused across channels; the first
    #: fingerprints new values (``REGISTRY_FINGERPRINT_KEYS``). Never a master or audit key.
    fingerprint_keys: tuple[MasterKey, ...] = field(default=(), repr=False)
    #: Have I Been Pwned's SHA-1 list (one sorted file, or a directory of range files); None: not checked.
    breached_passwords_file: Path | None = None
    ratelimit_storage_uri: str = "memory://"
    trust_name: str = "Example NHS Foundation Trust"
    #: How anyone reaches the communications team (an e-mail address, a phone number…), shown wherever a
    #: page tells people to contact them (reporting an imitation, the accessibility statement…); None:
    #: "the communications team" without an address (in development: ``DEMO_COMMS_CONTACT``).
    comms_contact: str | None = None
    #: The Trust's own website, for the public directory's JSON-LD snippet (``url``); None leaves it out.
    trust_website: str | None = None
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    per_page: int = 25
    public_base_url: str | None = None
    rotation_days: int = 90
    #: How long a break-glass emergency access stays open (registry/breakglass).
    break_glass_minutes: int = 240
    max_upload_mb: int = 10
    #: Closed breach reports are anonymised this many years after closure (``retention apply``).
    breach_retention_years: int = 6
    #: Sign-in with the organisation's identity provider; None: passwords only.
    oidc: OidcSettings | None = None
    local_sign_in: LocalSignIn = LocalSignIn.ON
    #: E-mail domains the Trust controls (``REGISTRY_TRUST_EMAIL_DOMAINS``): a channel's recovery e-mail must
    #: be at one of them or a subdomain. Default: nhs.net and the sign-in domains of the identity provider.
    trust_email_domains: tuple[str, ...] = ("nhs.net",)
    #: An account with no post for longer than this is flagged as unused (``REGISTRY_INACTIVE_DAYS``).
    inactive_days: int = 180
    #: Days between account security checks of an official channel (``REGISTRY_HEALTH_CHECK_DAYS``).
    health_check_days: int = 90

    @property
    def max_upload_bytes(self) -> int:
        """The largest file accepted, in bytes."""
        return self.max_upload_mb * 1024 * 1024

    @property
    def is_production(self) -> bool:
        return self.env is Environment.PRODUCTION

    def flask_config(self) -> dict[str, Any]:
        """Flask and extension settings derived from these values."""
        secure_cookies = self.env is not Environment.DEVELOPMENT and self.env is not Environment.TESTING
        return {
            "SECRET_KEY": self.secret_key,
            "SESSION_COOKIE_NAME": "__Host-registry" if secure_cookies else "registry_session",
            "SESSION_COOKIE_SECURE": secure_cookies,
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_PATH": "/",
            "PERMANENT_SESSION_LIFETIME": self.session_absolute_hours * 3600,
            "REMEMBER_COOKIE_DURATION": 0,
            "WTF_CSRF_TIME_LIMIT": self.session_absolute_hours * 3600,
            "WTF_CSRF_CHECK_DEFAULT": False,
            "WTF_CSRF_SSL_STRICT": secure_cookies,
            "RATELIMIT_STORAGE_URI": self.ratelimit_storage_uri,
            "RATELIMIT_HEADERS_ENABLED": True,
            "MAX_CONTENT_LENGTH": self.max_upload_bytes + FORM_ALLOWANCE_BYTES,
            "JSON_SORT_KEYS": False,
        }


#: ``REGISTRY_COMMS_CONTACT`` when unset in development (the demo): an address of the example Trust.
DEMO_COMMS_CONTACT = "communications@example.nhs.uk"


def _text(value: Any) -> str | None:
    """``from_prefixed_env`` JSON-decodes values; bring them back to text."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _website(values: Mapping[str, Any]) -> str | None:
    """``REGISTRY_TRUST_WEBSITE``: the Trust's website, an absolute http(s) address, or None."""
    website = _text(values.get("TRUST_WEBSITE"))
    if website is None:
        return None
    parts = urlsplit(website)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ConfigError(
            "REGISTRY_TRUST_WEBSITE must be the full address of the Trust's website, for example https://www.example.nhs.uk"
        )
    return website


def _read_or_create(path: Path, make: Callable[[], str]) -> str:
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")
    log.info("Generated development value in %s", path)
    return value


def _environment(values: Mapping[str, Any]) -> Environment:
    raw_env = _text(values.get("ENV")) or Environment.DEVELOPMENT.value
    try:
        return Environment(raw_env.lower())
    except ValueError:
        allowed = ", ".join(e.value for e in Environment)
        raise ConfigError(f"REGISTRY_ENV is {raw_env!r}; use one of {allowed}.") from None


def _master_keys_given(values: Mapping[str, Any]) -> str | None:
    """REGISTRY_MASTER_KEYS, or else the contents of REGISTRY_MASTER_KEYS_FILE."""
    master_keys_value = _text(values.get("MASTER_KEYS"))
    master_keys_file = _text(values.get("MASTER_KEYS_FILE"))
    if master_keys_value is None and master_keys_file:
        try:
            return Path(master_keys_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"REGISTRY_MASTER_KEYS_FILE cannot be read: {exc.strerror}.") from None
    return master_keys_value


@dataclass(frozen=True)
class _Secrets:
    database_url: str
    secret_key: str
    master_keys: str
    audit_keys: str
    fingerprint_keys: str | None  # None in production when not given: derived from the first master key


def _secrets(values: Mapping[str, Any], env: Environment, instance_path: Path) -> _Secrets:
    """The database URL and the keys: in production every one must be given; elsewhere missing ones are
    generated once into ``instance_path`` (files readable by their owner only)."""
    database_url = _text(values.get("DATABASE_URL"))
    secret_key = _text(values.get("SECRET_KEY"))
    master_keys_value = _master_keys_given(values)
    audit_keys_value = _text(values.get("AUDIT_KEYS"))
    fingerprint_keys_value = _text(values.get("FINGERPRINT_KEYS"))

    if env is Environment.PRODUCTION:
        missing = [
            name
            for name, value in (
                ("REGISTRY_SECRET_KEY", secret_key),
                ("REGISTRY_DATABASE_URL", database_url),
                ("REGISTRY_MASTER_KEYS", master_keys_value),
                ("REGISTRY_AUDIT_KEYS", audit_keys_value),
            )
            if value is None
        ]
        if missing:
            raise ConfigError(
                "Production needs real values: set " + ", ".join(missing) + " (see README: Configuration)."
            )
        assert secret_key is not None
        if len(secret_key) < MIN_SECRET_KEY_LENGTH:
            raise ConfigError(
                f"REGISTRY_SECRET_KEY is too short: use at least {MIN_SECRET_KEY_LENGTH} random characters."
            )
    else:
        if database_url is None:
            instance_path.mkdir(parents=True, exist_ok=True)
            database_url = f"sqlite:///{instance_path / 'registry.db'}"
        if secret_key is None:
            secret_key = _read_or_create(instance_path / "secret_key", lambda: secrets.token_urlsafe(48))
        if master_keys_value is None:
            master_keys_value = _read_or_create(instance_path / "master_keys", generate_master_key_entry)
        if audit_keys_value is None:
            audit_keys_value = _read_or_create(instance_path / "audit_keys", generate_master_key_entry)
        if fingerprint_keys_value is None:
            fingerprint_keys_value = _read_or_create(instance_path / "fingerprint_keys", generate_master_key_entry)

    assert database_url is not None and secret_key is not None
    assert master_keys_value is not None and audit_keys_value is not None
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
    return _Secrets(database_url, secret_key, master_keys_value, audit_keys_value, fingerprint_keys_value)


def _ratelimit_storage(values: Mapping[str, Any], env: Environment) -> str:
    if env is Environment.PRODUCTION and not values.get("RATELIMIT_ENABLED", True):
        # Flask-Limiter's own test (a false value turns it off): every limit then goes, sign-in's included.
        log.warning(
            "REGISTRY_RATELIMIT_ENABLED is false: nothing is throttled, not sign-in guesses nor public "
            "verification. Leave it unset in production."
        )
    ratelimit = _text(values.get("RATELIMIT_STORAGE_URI"))
    if ratelimit is None:
        ratelimit = "memory://"
        if env is Environment.PRODUCTION:
            log.warning(
                "REGISTRY_RATELIMIT_STORAGE_URI is not set: sign-in throttling is per process. "
                "Set it to redis://… so every process shares one count."
            )
    return ratelimit


def _whole_number(values: Mapping[str, Any], name: str, default: int) -> int:
    value = values.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"REGISTRY_{name} must be a whole number.") from None
    if number <= 0:
        raise ConfigError(f"REGISTRY_{name} must be greater than zero.")
    return number


def _list(values: Mapping[str, Any], name: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in (_text(values.get(name)) or "").split(",") if part.strip())


def _role_map(values: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    from registry.auth.permissions import Role  # noqa: PLC0415  (config is read before the app exists)

    known = ", ".join(role.value for role in Role)
    pairs = []
    for entry in _list(values, "OIDC_ROLE_MAP"):
        claim, sep, role = entry.rpartition("=")
        if not sep or not claim.strip() or role.strip() not in {r.value for r in Role}:
            raise ConfigError(
                f"REGISTRY_OIDC_ROLE_MAP entry {entry!r} is not PROVIDER_ROLE=ROLE (ROLE one of {known}), "
                "for example Registry.Comms=comms."
            )
        pairs.append((claim.strip(), role.strip()))
    return tuple(pairs)


def _private_key(values: Mapping[str, Any]) -> str | None:
    given = _text(values.get("OIDC_PRIVATE_KEY"))
    path = _text(values.get("OIDC_PRIVATE_KEY_FILE"))
    if given is None and path is not None:
        try:
            given = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"REGISTRY_OIDC_PRIVATE_KEY_FILE cannot be read: {exc.strerror}.") from None
    return given


def _oidc(values: Mapping[str, Any], env: Environment) -> OidcSettings | None:
    issuer = _text(values.get("OIDC_ISSUER"))
    if issuer is None:
        return None
    client_id = _text(values.get("OIDC_CLIENT_ID"))
    secret = _text(values.get("OIDC_CLIENT_SECRET"))
    private_key = _private_key(values)
    if client_id is None:
        raise ConfigError("REGISTRY_OIDC_ISSUER is set but REGISTRY_OIDC_CLIENT_ID is not.")
    if (secret is None) == (private_key is None):
        raise ConfigError(
            "Give the identity provider one way to know the Registry: REGISTRY_OIDC_CLIENT_SECRET, or "
            "REGISTRY_OIDC_PRIVATE_KEY (or _FILE) for private_key_jwt."
        )
    if env is Environment.PRODUCTION and not issuer.startswith("https://"):
        raise ConfigError("REGISTRY_OIDC_ISSUER must be an https:// address in production.")
    return OidcSettings(
        issuer=issuer.rstrip("/"),
        client_id=client_id,
        client_secret=secret,
        private_key=private_key,
        allowed_tenants=_list(values, "OIDC_ALLOWED_TENANTS"),
        allowed_domains=tuple(domain.lower().lstrip("@") for domain in _list(values, "OIDC_ALLOWED_DOMAINS")),
        label=_text(values.get("OIDC_LABEL")) or "Sign in with NHSmail",
        role_map=_role_map(values),
        roles_claim=_text(values.get("OIDC_ROLES_CLAIM")) or "roles",
        mfa_acr=_list(values, "OIDC_MFA_ACR"),
        scopes=_text(values.get("OIDC_SCOPES")) or "openid email profile",
    )


#: How much of the start of the breached-password list is read to see that it is the list in hash order.
_BREACHED_SAMPLE = 64 * 1024
_SHA1_LINE = re.compile(rb"^[0-9A-Fa-f]{40}(:[0-9]*)?$")


def _breached_passwords_file(values: Mapping[str, Any]) -> Path | None:
    """``REGISTRY_BREACHED_PASSWORDS_FILE``: Have I Been Pwned's SHA-1 list, a sorted file or a directory of
    range files. A path given but not there is a mistake to say at start, not a check silently skipped."""
    given = _text(values.get("BREACHED_PASSWORDS_FILE"))
    if given is None:
        return None
    path = Path(given)
    if path.is_dir():
        return path
    try:
        with path.open("rb") as handle:
            start = handle.read(_BREACHED_SAMPLE)
    except OSError as exc:
        raise ConfigError(
            f"REGISTRY_BREACHED_PASSWORDS_FILE cannot be read: {exc.strerror}. Give the sorted SHA-1 file of "
            "Have I Been Pwned, or the directory of range files PwnedPasswordsDownloader wrote."
        ) from None
    # It is searched by seeking: a list in another order (by count) or an archive would answer "not breached".
    lines = start.splitlines()[:-1] if len(start) == _BREACHED_SAMPLE else start.splitlines()
    given_lines = [line.strip() for line in lines if line.strip()]
    hashes = [line.split(b":", 1)[0].upper() for line in given_lines]
    if not hashes or not all(_SHA1_LINE.match(line) for line in given_lines) or hashes != sorted(hashes):
        raise ConfigError(
            "REGISTRY_BREACHED_PASSWORDS_FILE is not Have I Been Pwned's SHA-1 list in hash order (SHA1:COUNT "
            "lines, sorted by hash): give the file ordered by hash, extracted, or the directory of range files."
        )
    return path


def _trust_email_domains(values: Mapping[str, Any], oidc: OidcSettings | None) -> tuple[str, ...]:
    """``REGISTRY_TRUST_EMAIL_DOMAINS`` (comma-separated), or nhs.net and the identity provider's domains."""
    given = _list(values, "TRUST_EMAIL_DOMAINS")
    chosen = given or ("nhs.net", *(oidc.allowed_domains if oidc else ()))
    domains = tuple(dict.fromkeys(domain.lower().lstrip("@").strip(".") for domain in chosen))
    for domain in domains:
        if "." not in domain or "@" in domain or " " in domain:
            raise ConfigError(
                f"REGISTRY_TRUST_EMAIL_DOMAINS entry {domain!r} is not a domain, for example nhs.net or example.nhs.uk."
            )
    return domains


def _local_sign_in(values: Mapping[str, Any], oidc: OidcSettings | None) -> LocalSignIn:
    raw = (_text(values.get("LOCAL_SIGN_IN")) or LocalSignIn.ON.value).lower()
    try:
        chosen = LocalSignIn(raw)
    except ValueError:
        allowed = ", ".join(choice.value for choice in LocalSignIn)
        raise ConfigError(f"REGISTRY_LOCAL_SIGN_IN is {raw!r}; use one of {allowed}.") from None
    if chosen is not LocalSignIn.ON and oidc is None:
        raise ConfigError(
            f"REGISTRY_LOCAL_SIGN_IN is {chosen.value} but no identity provider is set (REGISTRY_OIDC_ISSUER): "
            "nobody could sign in."
        )
    return chosen


def load_settings(values: Mapping[str, Any], instance_path: Path) -> Settings:
    """Build settings from prefixed values (``DATABASE_URL``, ``SECRET_KEY`` …).

    In production every secret must be given; elsewhere missing ones are
    generated once into ``instance_path`` (files readable by their owner only).
    """
    env = _environment(values)
    given = _secrets(values, env, instance_path)
    master_keys = parse_master_keys(given.master_keys)
    audit_keys = parse_master_keys(given.audit_keys, "REGISTRY_AUDIT_KEYS")
    if {key.key for key in audit_keys} & {key.key for key in master_keys}:
        # One key for two purposes: whoever holds the vault's key could forge the trail, and the other way round.
        raise ConfigError(
            "REGISTRY_AUDIT_KEYS reuses a key of REGISTRY_MASTER_KEYS: give the audit chain keys of its own."
        )
    fingerprint_keys = (
        parse_master_keys(given.fingerprint_keys, "REGISTRY_FINGERPRINT_KEYS")
        if given.fingerprint_keys is not None
        else (derived_fingerprint_key(master_keys[0]),)
    )
    if {key.key for key in fingerprint_keys} & {key.key for key in (*master_keys, *audit_keys)}:
        # Whoever holds the vault's (or the trail's) key must not also be able to test guesses against fingerprints.
        raise ConfigError(
            "REGISTRY_FINGERPRINT_KEYS reuses a key of REGISTRY_MASTER_KEYS or REGISTRY_AUDIT_KEYS: "
            "give the fingerprints keys of their own."
        )
    checkpoint_file = _text(values.get("AUDIT_CHECKPOINT_FILE"))
    ratelimit = _ratelimit_storage(values, env)
    oidc = _oidc(values, env)

    def number(name: str, default: int) -> int:
        return _whole_number(values, name, default)

    return Settings(
        env=env,
        database_url=given.database_url,
        secret_key=given.secret_key,
        master_keys=master_keys,
        audit_keys=audit_keys,
        fingerprint_keys=fingerprint_keys,
        breached_passwords_file=_breached_passwords_file(values),
        audit_checkpoint_file=Path(checkpoint_file) if checkpoint_file else instance_path / "audit-checkpoints.jsonl",
        ratelimit_storage_uri=ratelimit,
        trust_name=_text(values.get("TRUST_NAME")) or "Example NHS Foundation Trust",
        comms_contact=_text(values.get("COMMS_CONTACT"))
        or (DEMO_COMMS_CONTACT if env is Environment.DEVELOPMENT else None),
        trust_website=_website(values),
        session_idle_minutes=number("SESSION_IDLE_MINUTES", 30),
        session_absolute_hours=number("SESSION_ABSOLUTE_HOURS", 12),
        per_page=number("PER_PAGE", 25),
        public_base_url=_text(values.get("PUBLIC_BASE_URL")),
        rotation_days=number("ROTATION_DAYS", 90),
        break_glass_minutes=number("BREAK_GLASS_MINUTES", 240),
        max_upload_mb=number("MAX_UPLOAD_MB", 10),
        breach_retention_years=number("BREACH_RETENTION_YEARS", 6),
        oidc=oidc,
        local_sign_in=_local_sign_in(values, oidc),
        trust_email_domains=_trust_email_domains(values, oidc),
        inactive_days=number("INACTIVE_DAYS", 180),
        health_check_days=number("HEALTH_CHECK_DAYS", 90),
    )
