"""Password health across custody (issue 14): weak, reused across channels, old and known breached,
worked out when a password is stored and by ``credentials assess``, shown on the custody overview and
each channel's credentials page and counted in the Board report, with no value, hash or fingerprint
ever shown.

Real crypto throughout (the vault seals, fingerprints are real HMACs under the configured key) and real
files: the breached-password lists are built here, in Have I Been Pwned's two layouts, from the SHA-1
of known strings.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.engine import Connection

import config as registry_config
from config import ConfigError, MasterKey, Settings
from registry import clock, create_app, db
from registry.audit.models import AuditEvent
from registry.auth.models import User
from registry.channels import services as channels
from registry.channels.models import Channel
from registry.reports import figures as report_figures
from registry.reports import services as report_services
from registry.vault import health
from registry.vault import services as custody
from registry.vault.models import Credential, CredentialVersion
from tests.conftest import Browser, IsolatedClient, settings_for, sign_in
from tests.test_vault import words

#: In both breached lists: a weak one, and one zxcvbn thinks strong (a breach does not care how strong).
BREACHED_WEAK = "password123"
BREACHED_STRONG = "Wobbly-Lantern-Quarry-1987!"
STRONG = "kV9#pQ2!mZ7$wR4&xT1@"
STRONG_OTHER = "Jy3$Lw8!Qe5#Rt2%Uo9^"
TOO_SHORT = "aB3$eF7!"
EASY = "aaaaaaaaaaaaaaaa"
OLD_ONE = "Qz8&Hn3!Vb6#Lp1*"
CLEAN = [STRONG, STRONG_OTHER, TOO_SHORT, EASY, OLD_ONE, "password1234"]
#: Lines of the sorted list: known strings among filler hashes (real SHA-1s of other strings).
FILLER = [f"filler-{n}" for n in range(200)]


def sha1(value: str) -> str:
    return hashlib.sha1(value.encode("utf-8")).hexdigest().upper()


def write_lists(directory: Path, breached: list[str], clean: list[str]) -> tuple[Path, Path]:
    """The sorted file (``SHA1:COUNT`` by hash, CRLF as the download has it) and a directory of range
    files (``ABCDE.txt`` of ``SUFFIX:COUNT``) holding ``breached`` and the filler. The real directory
    has a file for every prefix; this one also has (empty) files for the prefixes of ``clean``, the
    values the tests expect to be checked and not found."""
    hashes = sorted({sha1(value) for value in [*breached, *FILLER]})
    sorted_file = directory / "pwned-passwords-sha1-ordered-by-hash.txt"
    sorted_file.write_bytes(b"".join(f"{h}:{n + 3}\r\n".encode() for n, h in enumerate(hashes)))
    ranges = directory / "ranges"
    ranges.mkdir()
    by_prefix: dict[str, list[str]] = {}
    for h in hashes:
        by_prefix.setdefault(h[:5], []).append(h[5:])
    for value in clean:
        by_prefix.setdefault(sha1(value)[:5], [])
    for prefix, suffixes in by_prefix.items():
        (ranges / f"{prefix}.txt").write_bytes(b"".join(f"{s}:7\r\n".encode() for s in sorted(suffixes)))
    return sorted_file, ranges


@pytest.fixture(scope="module")
def lists(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return write_lists(tmp_path_factory.mktemp("pwned"), [BREACHED_WEAK, BREACHED_STRONG], CLEAN)


@pytest.fixture
def app_settings(lists: tuple[Path, Path]) -> dict[str, Any]:
    """This module's app checks against the directory of range files."""
    return {"BREACHED_PASSWORDS_FILE": str(lists[1])}


def put(channel: Channel, value: str, actor: User, kind: str = "password") -> Credential:
    credential = custody.store(channel, kind, value, "Taking custody.", actor)
    db.session().commit()
    return credential


def current(credential: Credential) -> CredentialVersion:
    db.session().expire_all()
    entry = db.session().execute(
        select(CredentialVersion).where(
            CredentialVersion.credential_id == credential.id, CredentialVersion.version == credential.current_version
        )
    )
    return entry.unique().scalar_one()


def reused_with(credential: Credential) -> tuple[str, ...]:
    db.session().expire_all()
    return health.health_of([credential])[credential.id].reused_with


def invoke(app: Flask, *args: str) -> Result:
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args))


def other_app(app: Flask, database_url: str, connection: Connection, **settings: Any) -> Iterator[Flask]:
    """Another instance of the application on the test's transaction, with the same master and
    fingerprint keys as ``app`` but ``settings`` otherwise."""
    mine: Settings = app.extensions["registry.settings"]

    def entry(keys: tuple[MasterKey, ...]) -> str:
        return ",".join(f"{k.key_id}:{base64.urlsafe_b64encode(k.key).decode('ascii')}" for k in keys)

    made = create_app(
        settings_for(
            database_url, MASTER_KEYS=entry(mine.master_keys), FINGERPRINT_KEYS=entry(mine.fingerprint_keys), **settings
        )
    )
    made.extensions["registry.db"].bind_override = connection
    made.test_client_class = IsolatedClient
    with made.app_context():
        yield made
        db.session().close()


# --- weak ----------------------------------------------------------------------------------------


def test_a_password_is_judged_weak_or_strong_when_it_is_stored(
    app: Flask, make_user: Callable[..., User], make_channel: Callable[..., Channel]
) -> None:
    """Under 12 characters, or a zxcvbn score under 3, is weak; a long random one is not. Other kinds
    of secret are not judged at all (nothing is stored beside them)."""
    comms = make_user("comms")
    generated = custody.generate_password()
    judged = {}
    for value in (TOO_SHORT, EASY, BREACHED_WEAK, STRONG, generated):
        entry = current(put(make_channel("active"), value, comms))
        judged[value] = entry.weak
        assert entry.assessed_at is not None
    assert judged == {TOO_SHORT: True, EASY: True, BREACHED_WEAK: True, STRONG: False, generated: False}
    # The generated one's range file is not in this test's small directory: not checked, not "clean".
    assert entry.breached is None
    # zxcvbn alone scores this 4; counting the account's own name, an attacker's first guess, it is weak.
    named = make_channel("active", platform="instagram", handle="oakfieldmaternity", display_name="Oakfield Maternity")
    assert current(put(named, "Oakfieldmaternity2026!", comms)).weak is True
    email = current(put(make_channel("active"), "comms@example.nhs.uk", comms, kind="recovery_email"))
    assert (email.assessed_at, email.weak, email.breached, email.fingerprint, email.fingerprint_key_id) == (
        None,
        None,
        None,
        None,
        None,
    )


# --- reused --------------------------------------------------------------------------------------


def test_a_password_used_on_two_channels_is_reused_but_not_one_a_channel_had_before(
    app: Flask, make_user: Callable[..., User], make_channel: Callable[..., Channel]
) -> None:
    """The fingerprint is the HMAC-SHA256 of the value under the first fingerprint key (worked out here
    from the configured key); two channels holding the same password each name the other; a channel's
    own earlier version, or another channel's replaced version, is not reuse."""
    comms = make_user("comms")
    a, b, c = make_channel("active"), make_channel("active"), make_channel("active")
    first = put(a, STRONG, comms)
    settings: Settings = app.extensions["registry.settings"]
    key = settings.fingerprint_keys[0]
    stored = current(first)
    assert stored.fingerprint_key_id == key.key_id
    assert (
        stored.fingerprint
        == hmac.new(key.key, b"registry/password-fingerprint/v1|" + STRONG.encode(), "sha256").digest()
    )
    assert STRONG.encode() not in stored.fingerprint and sha1(STRONG).encode() not in stored.fingerprint

    put(a, STRONG_OTHER, comms)  # a now holds another password; its old one is history
    put(a, STRONG, comms)  # and back: the same channel's history is not reuse
    put(a, STRONG_OTHER, comms)
    on_b = put(b, STRONG, comms)  # what a held before
    assert reused_with(on_b) == ()
    on_c = put(c, STRONG_OTHER, comms)
    assert reused_with(on_c) == (a.reference,)
    assert reused_with(custody.get_credential(a, "password")) == (c.reference,)
    assert health.summary().reused == 2


def test_fingerprints_under_different_key_ids_are_not_compared_until_assess_makes_them_anew(
    app: Flask, make_user: Callable[..., User], make_channel: Callable[..., Channel]
) -> None:
    """A fingerprint made under a key id that is no longer first is compared only with fingerprints of
    that key id; ``credentials assess`` recomputes every one under the first key."""
    comms = make_user("comms")
    a, b = make_channel("active"), make_channel("active")
    on_a, on_b = put(a, STRONG, comms), put(b, STRONG, comms)
    assert reused_with(on_a) == (b.reference,)
    db.session().execute(
        update(CredentialVersion).where(CredentialVersion.credential_id == on_a.id).values(fingerprint_key_id="retired")
    )
    db.session().commit()
    assert (reused_with(on_a), reused_with(on_b), health.summary().reused) == ((), (), 0)

    result = invoke(app, "credentials", "assess")

    assert result.exit_code == 0, result.output
    assert current(on_a).fingerprint_key_id == app.extensions["registry.settings"].fingerprint_keys[0].key_id
    assert reused_with(on_a) == (b.reference,)


# --- known breached ------------------------------------------------------------------------------


def test_the_sorted_file_is_searched_by_seeking_and_finds_every_line_and_nothing_else(
    lists: tuple[Path, Path],
) -> None:
    sorted_file, ranges = lists
    for value in [BREACHED_WEAK, BREACHED_STRONG, *FILLER]:
        assert health.in_sorted_file(sorted_file, value), value
        assert health.in_range_directory(ranges, value), value
    for value in (STRONG, STRONG_OTHER, "", "password1234", *[f"filler-{n}" for n in range(200, 260)]):
        assert not health.in_sorted_file(sorted_file, value), value
    for value in (STRONG, STRONG_OTHER, "password1234"):
        assert not health.in_range_directory(ranges, value), value


def test_a_range_file_with_a_zero_count_is_not_a_breach(tmp_path: Path) -> None:
    """Padding lines (count 0) are not breached passwords."""
    ranges = tmp_path / "ranges"
    ranges.mkdir()
    digest = sha1(STRONG)
    (ranges / f"{digest[:5]}.txt").write_text(f"{digest[5:]}:0\r\n")
    sorted_file = tmp_path / "sorted.txt"
    sorted_file.write_text(f"{digest}:0\r\n")
    assert not health.in_range_directory(ranges, STRONG)
    assert not health.in_sorted_file(sorted_file, STRONG)


def test_a_stored_password_is_checked_against_the_range_directory(
    app: Flask, make_user: Callable[..., User], make_channel: Callable[..., Channel]
) -> None:
    comms = make_user("comms")
    checked = {
        value: current(put(make_channel("active"), value, comms)).breached for value in (BREACHED_STRONG, STRONG)
    }
    assert checked == {BREACHED_STRONG: True, STRONG: False}


def test_a_stored_password_is_checked_against_the_sorted_file(
    app: Flask,
    database_url: str,
    connection: Connection,
    lists: tuple[Path, Path],
    make_user: Callable[..., User],
    make_channel: Callable[..., Channel],
) -> None:
    comms = make_user("comms")
    channels = [make_channel("active"), make_channel("active")]
    for made in other_app(app, database_url, connection, BREACHED_PASSWORDS_FILE=str(lists[0])):
        stored = [
            put(channel, value, comms) for channel, value in zip(channels, (BREACHED_STRONG, STRONG), strict=True)
        ]
        assert [current(c).breached for c in stored] == [True, False]
        assert made.extensions["registry.settings"].breached_passwords_file == lists[0]


def test_without_a_list_or_with_a_range_missing_the_check_is_said_not_to_have_run(
    app: Flask,
    database_url: str,
    connection: Connection,
    tmp_path: Path,
    make_user: Callable[..., User],
    make_channel: Callable[..., Channel],
) -> None:
    """No list configured, or a directory missing the range file a password needs (an incomplete
    download): the password is stored, marked "not checked", and the page says why."""
    comms = make_user("comms")
    channel = make_channel("active")
    empty = tmp_path / "empty-ranges"
    empty.mkdir()
    for made in other_app(app, database_url, connection, BREACHED_PASSWORDS_FILE=str(empty)):
        assert current(put(channel, STRONG, comms)).breached is None
        browser = Browser(made.test_client())
        sign_in(browser.client, comms)
        page = words(browser.get(f"/channels/{channel.reference}/credentials"))
        assert "Not checked against breached passwords: the list could not be read when it was assessed." in page
    other = make_channel("active")
    for made in other_app(app, database_url, connection):
        assert current(put(other, STRONG_OTHER, comms)).breached is None
        browser = Browser(made.test_client())
        sign_in(browser.client, comms)
        page = words(browser.get(f"/channels/{other.reference}/credentials"))
        assert "Not checked against breached passwords: no breached-password list is configured." in page
        overview = words(browser.get("/credentials"))
        assert "Known breached Not checked: no breached-password list is configured" in overview
        result = invoke(made, "credentials", "assess")
        assert result.exit_code == 0, result.output
        assert result.stdout.endswith("breach not checked (REGISTRY_BREACHED_PASSWORDS_FILE is not set).\n")


def test_a_breached_list_that_is_not_there_stops_the_start(tmp_path: Path) -> None:
    values = {"ENV": "testing", "BREACHED_PASSWORDS_FILE": str(tmp_path / "nowhere.txt")}
    with pytest.raises(ConfigError) as refused:
        registry_config.load_settings(values, tmp_path / "instance")
    assert str(refused.value).startswith("REGISTRY_BREACHED_PASSWORDS_FILE cannot be read: No such file or directory.")


# --- configuration -------------------------------------------------------------------------------


def test_the_fingerprint_key_is_generated_for_development_and_never_written_in_production(tmp_path: Path) -> None:
    settings = registry_config.load_settings({"ENV": "development"}, tmp_path)
    stored = tmp_path / "fingerprint_keys"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert settings.fingerprint_keys == registry_config.parse_master_keys(stored.read_text(), "X")
    production = {
        "ENV": "production",
        "DATABASE_URL": "postgresql://db/registry",
        "SECRET_KEY": "s" * 48,
        "MASTER_KEYS": registry_config.generate_master_key_entry(),
        "AUDIT_KEYS": registry_config.generate_master_key_entry(),
    }
    derived = registry_config.load_settings(production, tmp_path / "prod")
    assert [key.key_id for key in derived.fingerprint_keys] == ["fp-" + production["MASTER_KEYS"].partition(":")[0]]
    assert not (tmp_path / "prod" / "fingerprint_keys").exists()
    given = registry_config.generate_master_key_entry()
    chosen = registry_config.load_settings({**production, "FINGERPRINT_KEYS": given}, tmp_path / "prod")
    assert chosen.fingerprint_keys == registry_config.parse_master_keys(given, "X")


def test_the_fingerprint_key_must_not_be_the_master_key(tmp_path: Path) -> None:
    master = registry_config.generate_master_key_entry()
    same_key = "other:" + master.partition(":")[2]
    with pytest.raises(ConfigError) as refused:
        registry_config.load_settings({"ENV": "testing", "MASTER_KEYS": master, "FINGERPRINT_KEYS": same_key}, tmp_path)
    assert str(refused.value) == (
        "REGISTRY_FINGERPRINT_KEYS reuses a key of REGISTRY_MASTER_KEYS or REGISTRY_AUDIT_KEYS: "
        "give the fingerprints keys of their own."
    )


# --- credentials assess --------------------------------------------------------------------------


def test_assess_works_out_every_current_password_prints_counts_only_and_is_audited_once(
    app: Flask, make_user: Callable[..., User], make_channel: Callable[..., Channel]
) -> None:
    """Versions stored before health was worked out (every health column empty, as migration 0026
    leaves them) are "not assessed" until the command runs; it prints counts, never a value, hash or
    fingerprint, in batches, and one audit event says it ran."""
    comms = make_user("comms")
    values = [BREACHED_WEAK, BREACHED_STRONG, STRONG, STRONG, STRONG_OTHER]
    stored = [put(make_channel("active"), value, comms) for value in values]
    put(make_channel("active"), "comms@example.nhs.uk", comms, kind="recovery_email")
    db.session().execute(
        update(CredentialVersion).values(
            assessed_at=None, weak=None, breached=None, fingerprint=None, fingerprint_key_id=None
        )
    )
    db.session().commit()
    assert health.summary() == health.Summary(passwords=5, not_assessed=5)
    before = db.session().execute(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1)).scalar_one()

    result = invoke(app, "credentials", "assess", "--batch-size", "2")

    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "Assessed 5 passwords.\n"
        "Of 5 passwords of channels with an account: 1 weak, 2 reused on another channel, 0 past their rotation "
        "date, 2 known breached (0 could not be checked).\n"
    )
    output = result.output + (result.stderr or "")
    fingerprints = [current(c).fingerprint for c in stored]
    for secret in values:
        assert secret not in output and sha1(secret) not in output and sha1(secret).lower() not in output
    for value in fingerprints:
        assert value is not None and value.hex() not in output
    assert health.summary() == health.Summary(passwords=5, weak=1, reused=2, breached=2)
    events = list(db.session().execute(select(AuditEvent).where(AuditEvent.seq > before)).scalars())
    assert [e.action for e in events] == ["credential:assess"]
    for secret in values:
        assert secret not in events[0].details and sha1(secret) not in events[0].details


# --- the pages and the report --------------------------------------------------------------------


def test_findings_with_a_next_step_on_the_overview_and_the_channel_page_and_never_a_secret(
    app: Flask,
    make_user: Callable[..., User],
    make_channel: Callable[..., Channel],
    browser_as: Callable[..., Browser],
) -> None:
    comms = browser_as("comms")
    user = comms.user  # type: ignore[attr-defined]
    weak, a, b, fine, old = (make_channel("active") for _ in range(5))
    put(weak, BREACHED_WEAK, user)
    put(a, STRONG, user)
    put(b, STRONG, user)
    put(fine, STRONG_OTHER, user)
    aged = put(old, OLD_ONE, user)
    db.session().execute(
        update(Credential).where(Credential.id == aged.id).values(rotation_due_on=clock.today() - dt.timedelta(days=3))
    )
    db.session().commit()

    secrets = [BREACHED_WEAK, STRONG, STRONG_OTHER, sha1(BREACHED_WEAK), sha1(STRONG), sha1(STRONG).lower()]
    for role_browser in (comms, browser_as("auditor")):
        response = role_browser.get("/credentials")
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        assert [s for s in secrets if s in body] == []
        text = words(response)
        assert "Password health Every channel's current password is checked" in text
        assert (
            "Known breached 1 Reused on another channel 2 Weak 1 Past their rotation date 1 Not assessed yet 0" in text
        )
        assert "Showing 1 to 4 of 4 passwords with findings." in text
        assert (
            f"{weak.reference} {weak.display_name} Known breached This password is in the list of passwords published "
            "after data breaches: attackers try those first. Next step: Change this password on the platform now, then "
            "store the new one here. Weak" in text
        )
        assert (
            f"Reused The same password is held for {b.reference}. Next step: Change this password on the platform "
            "to one used nowhere else" in text
        )
        assert f"Reused The same password is held for {a.reference}." in text
        assert f"{old.reference} {old.display_name} Old It was due to be changed by" in text
        assert fine.reference not in text

    page = comms.get(f"/channels/{a.reference}/credentials")
    body = page.get_data(as_text=True)
    assert [s for s in secrets if s in body] == []
    assert (
        f"Password health Reused The same password is held for {b.reference}. Next step: Change this password on "
        "the platform to one used nowhere else, then store the new one here." in words(page)
    )
    assert (
        "No findings Not weak, not reused on another channel, not past its rotation date, "
        "not in the breached-password list." in words(comms.get(f"/channels/{fine.reference}/credentials"))
    )


def test_a_password_not_yet_assessed_says_so(
    app: Flask, make_user: Callable[..., User], make_channel: Callable[..., Channel], browser_as: Callable[..., Browser]
) -> None:
    comms = browser_as("comms")
    channel = make_channel("active")
    credential = put(channel, STRONG, comms.user)  # type: ignore[attr-defined]
    db.session().execute(
        update(CredentialVersion)
        .where(CredentialVersion.credential_id == credential.id)
        .values(assessed_at=None, weak=None, breached=None, fingerprint=None, fingerprint_key_id=None)
    )
    db.session().commit()
    assert (
        "Not assessed Stored before the Registry checked passwords: its health is worked out when the command "
        "flask credentials assess is run" in words(comms.get(f"/channels/{channel.reference}/credentials"))
    )
    assert "1 password stored before the Registry checked passwords has not been assessed" in words(
        comms.get("/credentials")
    )


def test_the_board_report_counts_password_health_at_the_end_of_the_month(
    app: Flask, make_user: Callable[..., User], make_channel: Callable[..., Channel]
) -> None:
    comms = make_user("comms")
    for value in (BREACHED_WEAK, STRONG, STRONG, STRONG_OTHER):
        put(make_channel("active"), value, comms)
    retired = make_channel("active")
    put(retired, BREACHED_STRONG, comms)
    put(retired, STRONG_OTHER, comms)  # reuse with a retired channel's is not counted either
    channels.transition(retired, "retire", comms, reason="No longer used.")
    db.session().commit()
    today = clock.today()
    figures = report_figures.compute(today.year, today.month)
    assert figures["password_health"] == {
        "passwords": 4,
        "not_assessed": 0,
        "weak": 1,
        "reused": 2,
        "old": 0,
        "breached": 1,
    }
    lines = {line.key: line.value for section in report_services.sections(figures) for line in section.lines}
    assert lines["password_health.reused"] == 2
