"""Importing existing secrets into custody (issue 13): a KeePass database, Bitwarden's JSON export or a CSV
file, matched to channels by web address; the command line and the communications team's page, both all
or nothing, with a report by entry; no plaintext anywhere but the vault's sealed rows."""

from __future__ import annotations

import functools
import io
import json
import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pykeepass
import pytest
from click.testing import Result
from construct import Container
from flask import Flask
from pykeepass.kdbx_parsing import KDBX
from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import Connection

from registry import db
from registry.audit.models import AuditAnchor, AuditEvent
from registry.auth.models import User
from registry.channels.models import Channel
from registry.vault import importing
from registry.vault import services as custody
from registry.vault.models import Credential, CredentialVersion
from tests.conftest import Browser, csrf_token
from tests.test_custody import stale_step_up

KEEPASS_PASSWORD = "correct horse import battery"
PASSWORD_A = "Kp-Secret-Alpha-7731!"
PASSWORD_B = "Kp-Secret-Bravo-2284?"
PASSWORD_OFF = "Kp-Personal-Charlie-9902"
SEED = "JBSWY3DPEHPK3PXPJBSWY3DP"
SEED_OLD = "GEZDGNBVGY3TQOJQGEZDGNBV"
NOTES = "Notes-Delta: the page's phone is in the comms safe"
CODES = "codes-echo-1111 codes-echo-2222"
SECRETS = (PASSWORD_A, PASSWORD_B, PASSWORD_OFF, SEED, SEED_OLD, NOTES, CODES, KEEPASS_PASSWORD)


def invoke(app: Flask, *args: str, stdin: str | None = None) -> Result:
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args), input=stdin)


def keepass_import(app: Flask, path: str, *extra: str, stdin: str = KEEPASS_PASSWORD) -> Result:
    return invoke(app, "credentials", "import", path, "--format", "keepass", "--password-stdin", *extra, stdin=stdin)


@functools.cache
def _least_key_work(password: str) -> bytes:
    """An empty KDBX 4 database (pykeepass's: Argon2d, AES-256) whose key derivation is set to Argon2's
    least work (1 MiB, one pass), made once per run: with pykeepass's own settings (64 MiB, 14 passes)
    every file a test made and every opening of one took seconds, most of this module's time.
    ``test_usual_keepass_key_settings_still_open`` keeps the usual settings."""
    made = pykeepass.create_database(io.BytesIO(), password=password)
    settings = made.kdbx.header.value.dynamic_header.kdf_parameters.data.dict
    settings["M"].value, settings["I"].value = 1 << 20, 1
    saved = io.BytesIO()
    made.save(saved)
    return saved.getvalue()


def new_keepass(path: Path, password: str = KEEPASS_PASSWORD, usual_key_work: bool = False) -> pykeepass.PyKeePass:
    """An empty KDBX 4 database that ``save()`` writes to ``path``; with Argon2's least key work unless
    ``usual_key_work`` (pykeepass's own settings, as KeePassXC's). Each save has new seeds and salt."""
    if usual_key_work:
        return pykeepass.create_database(str(path), password=password)
    database = pykeepass.PyKeePass(io.BytesIO(_least_key_work(password)), password=password)
    database.filename = str(path)
    return database


def keepass_bytes(
    tmp_path: Path, entries: list[dict[str, Any]], password: str = KEEPASS_PASSWORD, usual_key_work: bool = False
) -> bytes:
    """A KDBX 4 database made with pykeepass, holding ``entries`` (title, url, username, password, notes,
    otp and any other string fields); key derivation as :func:`new_keepass` sets it."""
    path = tmp_path / f"db{len(list(tmp_path.iterdir()))}.kdbx"
    database = new_keepass(path, password, usual_key_work)
    for number, spec in enumerate(entries):
        spec = dict(spec)
        entry = database.add_entry(
            database.root_group,
            spec.pop("title", f"Entry {number}"),
            spec.pop("username", ""),
            spec.pop("password", ""),
            url=spec.pop("url", None),
            notes=spec.pop("notes", None),
            otp=spec.pop("otp", None),
        )
        for key, value in spec.items():
            entry.set_custom_property(key, value)
    database.save()
    return path.read_bytes()


def as_kdbx3(data: bytes, password: str = KEEPASS_PASSWORD) -> bytes:
    """The same database as KDBX 3.1 (KeePass 2.x before 2.35; AES-KDF, AES-256, Salsa20 inner stream),
    written by pykeepass's own KDBX 3 structure: pykeepass can read and save KDBX 3 but makes only KDBX 4,
    so the KDBX 4 database's XML is put under a KDBX 3 header built here."""
    tree = pykeepass.PyKeePass(io.BytesIO(data), password=password).tree

    def item(name: str, value: object) -> Container:
        return Container(id=name, data=value)

    header = Container(
        cipher_id=item("cipher_id", "aes256"),
        compression_flags=item("compression_flags", Container(compression=True)),
        master_seed=item("master_seed", os.urandom(32)),
        transform_seed=item("transform_seed", os.urandom(32)),
        transform_rounds=item("transform_rounds", 6000),
        encryption_iv=item("encryption_iv", os.urandom(16)),
        protected_stream_key=item("protected_stream_key", os.urandom(32)),
        stream_start_bytes=item("stream_start_bytes", os.urandom(32)),
        protected_stream_id=item("protected_stream_id", "salsa20"),
        end=item("end", b"\r\n\r\n"),
    )
    signature = Container(sig1=b"\x03\xd9\xa2\x9a", sig2=b"\x67\xfb\x4b\xb5", minor_version=1, major_version=3)
    built: bytes = KDBX.build(
        Container(
            header=Container(value=Container(**signature, dynamic_header=header)),
            body=Container(payload=Container(cred_check=None, xml=tree)),
        ),
        password=password,
        keyfile=None,
        transformed_key=None,
        decrypt=True,
    )
    return built


def write(tmp_path: Path, data: bytes | str, name: str) -> str:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return str(path)


def versions(channel: Channel) -> dict[str, int]:
    db.session().expire_all()
    rows = db.session().execute(select(Credential).where(Credential.channel_id == channel.id)).unique().scalars()
    return {row.kind: row.current_version for row in rows}


def opened(channel: Channel, kind: str) -> str:
    """The current value, opened as a check of what was sealed (the tests' own reading, not a reveal)."""
    held = custody.current_versions([channel.id])[(channel.id, kind)]
    for candidate in SECRETS:
        if custody.is_current_value(held, candidate):
            return candidate
    return "(something else)"


def seq(connection: Connection) -> int:
    return connection.execute(select(AuditAnchor.seq)).scalar_one()


def events_since(start: int) -> list[AuditEvent]:
    return list(
        db.session().execute(select(AuditEvent).where(AuditEvent.seq > start).order_by(AuditEvent.seq)).scalars()
    )


def details(event: AuditEvent) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(event.details)
    return found


def every_text(connection: Connection) -> str:
    """Every value of every row of every table, as text (bytes decoded leniently)."""
    found: list[str] = []
    for table in inspect(connection).get_table_names():
        for row in connection.execute(text(f'SELECT * FROM "{table}"')):
            for value in row:
                if isinstance(value, bytes | memoryview | bytearray):
                    found.append(bytes(value).decode("latin-1"))
                elif value is not None:
                    found.append(str(value))
    return "\n".join(found)


def assert_no_plaintext(where: str, haystack: str) -> None:
    for secret in SECRETS:
        assert secret not in haystack, f"{secret!r} found in {where}"


@pytest.fixture
def site(make_channel: Callable[..., Channel]) -> dict[str, Channel]:
    return {
        "x": make_channel("active", platform="x", handle="NHSTrustImport"),
        "fb": make_channel("active", platform="facebook", handle="NHSTrustImportPage"),
        "old": make_channel("retired", platform="instagram", handle="nhstrust_old"),
        "spare": make_channel("active", platform="tiktok", handle="nhstrust_spare"),
    }


def kdbx(tmp_path: Path, usual_key_work: bool = False) -> bytes:
    return keepass_bytes(
        tmp_path,
        [
            {
                "title": "Trust X",
                "url": "https://twitter.com/NHSTrustImport",
                "username": "nhstrust",
                "password": PASSWORD_A,
                "otp": f"otpauth://totp/X:nhstrust?secret={SEED}&issuer=X",
                "notes": NOTES,
                "Recovery codes": CODES,
            },
            {
                "title": "Trust Facebook",
                "url": "facebook.com/NHSTrustImportPage",
                "password": PASSWORD_B,
                "TOTP Seed": SEED_OLD,
                "TOTP Settings": "30;6",
            },
            {"title": "Someone's shopping", "url": "https://shop.example.com/login", "password": PASSWORD_OFF},
            {"title": "Old Instagram", "url": "https://www.instagram.com/nhstrust_old/", "password": PASSWORD_OFF},
            {"title": "Empty", "url": "https://x.com/NHSTrustImport"},
        ],
        usual_key_work=usual_key_work,
    )


# --- the command line ----------------------------------------------------------------------------


def test_keepass_dry_run_reports_each_entry_and_stores_nothing(
    app: Flask, connection: Connection, site: dict[str, Channel], tmp_path: Path
) -> None:
    before = seq(connection)
    path = write(tmp_path, kdbx(tmp_path), "team.kdbx")

    result = invoke(
        app,
        "credentials",
        "import",
        path,
        "--format",
        "keepass",
        "--dry-run",
        "--password-stdin",
        stdin=KEEPASS_PASSWORD,
    )

    assert result.exit_code == 0, result.output
    x, fb = site["x"].reference, site["fb"].reference
    assert f"Entry 1 'Trust X' https://twitter.com/NHSTrustImport: will be stored ({x}; password, two-factor seed" in (
        result.output
    )
    assert "username present (not kept)" in result.output
    assert f"Entry 2 'Trust Facebook' facebook.com/NHSTrustImportPage: will be stored ({fb}; password" in result.output
    assert "Entry 3 'Someone's shopping' https://shop.example.com/login: unmatched: not imported" in result.output
    assert f"matches {site['old'].reference}, which is retired" in result.output
    assert "Entry 5 'Empty' https://x.com/NHSTrustImport: skipped (nothing to keep" in result.output
    assert "Dry run, nothing stored: 5 entries, 6 secrets to store, 0 unchanged, 1 unmatched, 2 skipped." in (
        result.output
    )
    assert_no_plaintext("the report", result.output)
    assert versions(site["x"]) == {} and seq(connection) == before


def test_keepass_import_stores_each_kind_once_and_a_second_run_stores_nothing(
    app: Flask, connection: Connection, site: dict[str, Channel], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    before = seq(connection)
    path = write(tmp_path, kdbx(tmp_path), "team.kdbx")
    args = ("credentials", "import", path, "--format", "keepass", "--password-stdin")

    result = invoke(app, *args, stdin=KEEPASS_PASSWORD + "\n")

    assert result.exit_code == 0, result.output
    assert "Imported: 5 entries, 6 secrets stored" in result.output
    x, fb = site["x"], site["fb"]
    assert versions(x) == {"password": 1, "totp_seed": 1, "notes": 1, "recovery_codes": 1}
    assert versions(fb) == {"password": 1, "totp_seed": 1}
    assert opened(x, "password") == PASSWORD_A and opened(x, "totp_seed") == SEED
    assert opened(x, "notes") == NOTES and opened(x, "recovery_codes") == CODES
    assert opened(fb, "password") == PASSWORD_B and opened(fb, "totp_seed") == SEED_OLD
    assert versions(site["old"]) == {}
    events = events_since(before)
    assert [e.action for e in events].count("credential:store") == 6
    summary = events[-1]
    assert summary.action == "credential:import"
    assert details(summary)["values_stored"] == 6 and details(summary)["format"] == "keepass"
    assert details(summary)["unmatched"] == 1 and details(summary)["skipped"] == 2
    stored = [e for e in events if e.action == "credential:store"]
    assert {e.object_id for e in stored} >= {f"{x.reference}/password", f"{fb.reference}/totp_seed"}
    assert all(details(e)["reason"].startswith("Imported from a KeePass database") for e in stored)
    assert_no_plaintext("the audit trail", str([e.details for e in events]) + str([e.object_id for e in events]))

    again = invoke(app, *args, stdin=KEEPASS_PASSWORD)

    assert again.exit_code == 0, again.output
    assert "Imported: 5 entries, 0 secrets stored, 2 unchanged, 1 unmatched, 2 skipped." in again.output
    assert "password (unchanged)" in again.output
    assert versions(x) == {"password": 1, "totp_seed": 1, "notes": 1, "recovery_codes": 1}
    assert_no_plaintext("the logs", caplog.text + result.output + again.output)
    assert_no_plaintext("the database", every_text(connection))


def test_a_kdbx3_database(app: Flask, connection: Connection, site: dict[str, Channel], tmp_path: Path) -> None:
    data = as_kdbx3(kdbx(tmp_path))
    assert pykeepass.PyKeePass(io.BytesIO(data), password=KEEPASS_PASSWORD).version == (3, 1)

    result = keepass_import(app, write(tmp_path, data, "kdbx3.kdbx"))

    assert result.exit_code == 0, result.output
    assert "Imported: 5 entries, 6 secrets stored" in result.output
    assert opened(site["x"], "password") == PASSWORD_A and opened(site["x"], "totp_seed") == SEED
    assert opened(site["fb"], "totp_seed") == SEED_OLD
    wrong = keepass_import(app, write(tmp_path, data, "kdbx3.kdbx"), stdin="not it")
    assert wrong.exit_code == 1 and "The KeePass password is wrong, or the file is damaged." in wrong.output


def test_a_changed_password_is_a_new_version(
    app: Flask, connection: Connection, site: dict[str, Channel], tmp_path: Path, make_user: Callable[..., User]
) -> None:
    custody.store(site["x"], "password", PASSWORD_B, "Taking custody.", make_user("comms"))
    db.session().commit()
    path = write(tmp_path, keepass_bytes(tmp_path, [{"url": "x.com/nhstrustimport", "password": PASSWORD_A}]), "a.kdbx")

    result = invoke(
        app, "credentials", "import", path, "--format", "keepass", "--password-stdin", stdin=KEEPASS_PASSWORD
    )

    assert result.exit_code == 0, result.output
    assert "password (new version)" in result.output
    assert versions(site["x"]) == {"password": 2}
    assert opened(site["x"], "password") == PASSWORD_A


def test_a_wrong_keepass_password_is_a_plain_message(
    app: Flask, connection: Connection, site: dict[str, Channel], tmp_path: Path
) -> None:
    before = seq(connection)
    path = write(tmp_path, kdbx(tmp_path), "team.kdbx")
    damaged = write(tmp_path, kdbx(tmp_path)[:300], "damaged.kdbx")

    wrong = invoke(app, "credentials", "import", path, "--format", "keepass", "--password-stdin", stdin="not it")
    broken = invoke(
        app, "credentials", "import", damaged, "--format", "keepass", "--password-stdin", stdin=KEEPASS_PASSWORD
    )

    for result in (wrong, broken):
        assert result.exit_code == 1
        assert "File: The KeePass password is wrong, or the file is damaged." in result.output
        assert "Traceback" not in result.output
    assert seq(connection) == before


def test_two_entries_giving_one_channel_different_passwords_refuse_everything(
    app: Flask, connection: Connection, site: dict[str, Channel], tmp_path: Path
) -> None:
    before = seq(connection)
    data = keepass_bytes(
        tmp_path,
        [
            {"url": "https://facebook.com/NHSTrustImportPage", "password": PASSWORD_B},
            {"url": "https://x.com/NHSTrustImport", "password": PASSWORD_A},
            {"url": "https://twitter.com/nhstrustimport", "password": PASSWORD_B, "otp": "otpauth://totp/x?secret=AB"},
        ],
    )

    result = keepass_import(app, write(tmp_path, data, "a.kdbx"))

    assert result.exit_code == 1
    assert f"Entry 2 gives {site['x'].reference} a different password: keep one of them." in result.output
    assert "Two-factor (TOTP) seed: That two-factor seed is too short" in result.output
    assert "Not imported: 2 problems: nothing was stored." in result.output
    assert versions(site["fb"]) == {} and seq(connection) == before
    assert_no_plaintext("the report", result.output)


def bitwarden(items: list[dict[str, Any]], **extra: Any) -> str:
    return json.dumps({"encrypted": False, "folders": [], "items": items, **extra})


def test_bitwarden_json_export(app: Flask, connection: Connection, site: dict[str, Channel], tmp_path: Path) -> None:
    export = bitwarden(
        [
            {
                "type": 1,
                "name": "Facebook page",
                "notes": NOTES,
                "fields": [{"name": "Recovery codes", "value": CODES, "type": 1}],
                "login": {
                    "uris": [{"match": None, "uri": "https://www.facebook.com/login"}, {"uri": "https://www.facebook.com/NHSTrustImportPage"}],
                    "username": "comms@example.nhs.uk",
                    "password": PASSWORD_B,
                    "totp": SEED.lower(),
                },
            },
            {"type": 2, "name": "A secure note", "notes": "nothing to match", "secureNote": {"type": 0}},
        ]
    )  # fmt: skip
    path = write(tmp_path, export, "bitwarden.json")

    result = invoke(app, "credentials", "import", path, "--format", "bitwarden-json")

    assert result.exit_code == 0, result.output
    assert "Entry 2 'A secure note': unmatched: not imported (custody notes; it has no web address)" in result.output
    assert versions(site["fb"]) == {"password": 1, "totp_seed": 1, "notes": 1, "recovery_codes": 1}
    assert opened(site["fb"], "totp_seed") == SEED
    assert_no_plaintext("the report", result.output)


def test_an_encrypted_bitwarden_export_is_refused(app: Flask, connection: Connection, tmp_path: Path) -> None:
    before = seq(connection)
    export = json.dumps({"encrypted": True, "passwordProtected": True, "salt": "x", "data": "2.abc|def|ghi"})

    result = invoke(app, "credentials", "import", write(tmp_path, export, "b.json"), "--format", "bitwarden-json")

    assert result.exit_code == 1
    assert "This is an encrypted Bitwarden export, which the Registry cannot open." in result.output
    assert seq(connection) == before


def test_csv_with_bitwarden_column_names(
    app: Flask, connection: Connection, site: dict[str, Channel], tmp_path: Path
) -> None:
    export = (
        "folder,favorite,type,name,notes,fields,reprompt,login_uri,login_username,login_password,login_totp\n"
        f",,login,Trust X,,,0,https://x.com/NHSTrustImport,nhstrust,{PASSWORD_A},otpauth://totp/X?secret={SEED}\n"
        f",,login,Shop,,,0,https://shop.example.com,me,{PASSWORD_OFF},\n"
    )

    result = invoke(app, "credentials", "import", write(tmp_path, export, "bw.csv"), "--format", "csv")

    assert result.exit_code == 0, result.output
    assert "Row 3 'Shop' https://shop.example.com: unmatched: not imported" in result.output
    assert versions(site["x"]) == {"password": 1, "totp_seed": 1}
    plain = f"url,username,password,totp,notes\nhttps://x.com/NHSTrustImport,nhstrust,{PASSWORD_A},{SEED},\n"
    again = invoke(app, "credentials", "import", write(tmp_path, plain, "plain.csv"), "--format", "csv")
    assert again.exit_code == 0 and "0 secrets stored, 1 unchanged" in again.output


def test_a_csv_without_the_columns_is_refused(app: Flask, tmp_path: Path) -> None:
    result = invoke(app, "credentials", "import", write(tmp_path, "a,b\n1,2\n", "x.csv"), "--format", "csv")

    assert result.exit_code == 1
    assert "Row 1 must name the columns: url, and at least one of password, totp, notes" in result.output


def test_totp_settings_the_registry_cannot_make_are_problems() -> None:
    for value, said in (
        (f"otpauth://totp/x?secret={SEED}&algorithm=SHA256", "not 6-digit SHA-1"),
        (f"otpauth://totp/x?secret={SEED}&digits=8", "not 6-digit SHA-1"),
        (f"otpauth://totp/x?secret={SEED}&period=60", "every 30 seconds"),
        (f"otpauth://hotp/x?secret={SEED}&counter=1", "not a time-based"),
        ("steam://ABCDEF", "Steam"),
    ):
        with pytest.raises(importing.Invalid) as caught:
            importing.totp_seed(value)
        assert said in caught.value.errors["totp"] and SEED not in caught.value.errors["totp"]
    assert importing.totp_seed(f" otpauth://totp/Trust%20X?secret={SEED.lower()}&issuer=X ") == SEED


# --- the page ------------------------------------------------------------------------------------


@pytest.fixture
def comms(browser_as: Callable[..., Browser]) -> Browser:
    return browser_as("comms")


def upload(browser: Browser, data: bytes, file_format: str, password: str = "", **fields: str):  # type: ignore[no-untyped-def]
    return browser.post(
        "/credentials/import",
        data={"file": (io.BytesIO(data), "export"), "format": file_format, "password": password, **fields},
        content_type="multipart/form-data",
    )


def confirm(browser: Browser, preview: str, data: bytes, password: str = "", **choices: str):  # type: ignore[no-untyped-def]
    token = re.search(r'name="confirm-token" type="hidden" value="([^"]+)"', preview)
    file_format = re.search(r'name="confirm-format" type="hidden" value="([^"]+)"', preview)
    assert token is not None and file_format is not None, preview[:3000]
    return browser.client.post(
        "/credentials/import/confirm",
        data={
            "confirm-file": (io.BytesIO(data), "export"),
            "confirm-format": file_format.group(1),
            "confirm-password": password,
            "confirm-token": token.group(1),
            "csrf_token": csrf_token(browser.client, "/credentials/import"),
            **choices,
        },
        content_type="multipart/form-data",
    )


def test_the_page_previews_then_stores_with_a_channel_chosen_for_an_unmatched_entry(
    comms: Browser, connection: Connection, site: dict[str, Channel], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    data = kdbx(tmp_path)
    before = seq(connection)

    preview = upload(comms, data, "keepass", KEEPASS_PASSWORD)

    body = preview.get_data(as_text=True)
    assert preview.status_code == 200, body[:3000]
    assert "Trust X" in body and site["x"].reference in body and "username present (not kept)" in body
    assert 'name="entry-3"' in body  # the unmatched entry: choose its channel
    assert versions(site["x"]) == {} and seq(connection) == before

    done = confirm(comms, body, data, KEEPASS_PASSWORD, **{"entry-3": str(site["spare"].id)})

    assert done.status_code == 302, done.get_data(as_text=True)[:3000]
    page = comms.get(done.headers["Location"])
    assert "Imported: 5 entries, 7 secrets stored" in page.get_data(as_text=True)
    assert versions(site["x"]) == {"password": 1, "totp_seed": 1, "notes": 1, "recovery_codes": 1}
    assert versions(site["spare"]) == {"password": 1}
    assert opened(site["spare"], "password") == PASSWORD_OFF
    summary = events_since(before)[-1]
    assert summary.action == "credential:import" and details(summary)["chosen_on_preview"] == 1
    assert details(summary)["source"] == "page"
    for response in (preview, done, page):
        assert_no_plaintext("a response", response.get_data(as_text=True))
    assert_no_plaintext("the logs", caplog.text)
    assert_no_plaintext("the database", every_text(connection))


def test_confirming_a_different_file_shows_a_new_preview_and_stores_nothing(
    comms: Browser, connection: Connection, site: dict[str, Channel], tmp_path: Path
) -> None:
    first = keepass_bytes(tmp_path, [{"url": "x.com/NHSTrustImport", "password": PASSWORD_A}])
    other = keepass_bytes(tmp_path, [{"url": "x.com/NHSTrustImport", "password": PASSWORD_B}])
    preview = upload(comms, first, "keepass", KEEPASS_PASSWORD).get_data(as_text=True)

    changed = confirm(comms, preview, other, KEEPASS_PASSWORD)

    assert changed.status_code == 409
    assert "not the file you previewed" in changed.get_data(as_text=True)
    assert versions(site["x"]) == {}


def test_a_wrong_keepass_password_on_the_page(comms: Browser, site: dict[str, Channel], tmp_path: Path) -> None:
    response = upload(comms, kdbx(tmp_path), "keepass", "guess")

    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "The KeePass password is wrong, or the file is damaged." in body
    assert "Traceback" not in body and "guess" not in body


def test_an_encrypted_bitwarden_export_on_the_page(comms: Browser) -> None:
    response = upload(comms, json.dumps({"encrypted": True, "data": "x"}).encode(), "bitwarden-json")

    assert response.status_code == 422
    assert "This is an encrypted Bitwarden export" in response.get_data(as_text=True)


@pytest.fixture
def empty_tempdir(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "spool"
    folder.mkdir()
    before = tempfile.tempdir
    tempfile.tempdir = str(folder)
    try:
        yield folder
    finally:
        tempfile.tempdir = before


def test_a_large_upload_never_touches_the_disk(comms: Browser, site: dict[str, Channel], empty_tempdir: Path) -> None:
    """Werkzeug spools file parts over 500 KB to a temporary file; this page keeps them in memory."""
    rows = "".join(f"https://example.org/n{n},someone,{PASSWORD_OFF}-{n},,{'z' * 150}\n" for n in range(4000))
    data = ("url,username,password,totp,notes\n" + rows).encode()
    assert len(data) > 600 * 1024

    response = upload(comms, data, "csv")

    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    assert "4000 entries" in response.get_data(as_text=True)
    assert os.listdir(empty_tempdir) == []


def test_the_page_needs_a_fresh_second_factor(comms: Browser, site: dict[str, Channel], tmp_path: Path) -> None:
    stale_step_up(comms.user)  # type: ignore[attr-defined]

    shown = comms.get("/credentials/import")
    posted = upload(comms, kdbx(tmp_path), "keepass", KEEPASS_PASSWORD)

    assert shown.status_code == 302 and "/account/step-up" in shown.headers["Location"]
    assert posted.status_code == 302 and "/account/step-up" in posted.headers["Location"]
    assert versions(site["x"]) == {}


@pytest.mark.parametrize("role", ["staff", "auditor", "admin"])
def test_only_comms_may_import(browser_as: Callable[..., Browser], role: str, tmp_path: Path) -> None:
    browser = browser_as(role)

    assert browser.get("/credentials/import").status_code == 403
    assert upload(browser, b"url,password\nx.com/a,b\n", "csv").status_code == 403


def test_plan_statements_do_not_grow_with_the_entries(
    app: Flask, site: dict[str, Channel], count_queries: Callable[[], Any], tmp_path: Path
) -> None:
    def statements(size: int) -> int:
        rows = "".join(f"https://x.com/NHSTrustImport,{PASSWORD_A}\nhttps://example.org/{n},{n}\n" for n in range(size))
        data = ("url,password\n" + rows).encode()
        with count_queries() as counted:
            importing.plan(data, "csv")
        return int(counted.n)

    assert statements(2) == statements(20)


def test_nothing_is_stored_for_a_closed_channel_chosen(
    app: Flask, make_channel: Callable[..., Channel], site: dict[str, Channel]
) -> None:
    data = f"url,password\nhttps://example.org/nobody,{PASSWORD_A}\n".encode()

    checked = importing.plan(data, "csv", choices={2: site["old"].id})

    assert not checked.ok
    assert checked.entries[0].problems == ["The channel chosen is not a live channel: choose another."]
    assert db.session().execute(select(func.count()).select_from(CredentialVersion)).scalar_one() == 0


def test_entries_left_out_cannot_stop_the_import_and_the_recycle_bin_is_left_out(
    app: Flask, site: dict[str, Channel], tmp_path: Path
) -> None:
    path = tmp_path / "binned.kdbx"
    database = new_keepass(path)
    database.add_entry(database.root_group, "Trust X", "", PASSWORD_A, url="https://x.com/NHSTrustImport")
    database.add_entry(
        database.root_group, "A game", "", PASSWORD_OFF, url="https://store.example.com", otp="steam://X"
    )
    binned = database.add_entry(database.root_group, "Old X", "", PASSWORD_B, url="https://x.com/NHSTrustImport")
    database.trash_entry(binned)
    database.save()

    checked = importing.plan(path.read_bytes(), "keepass", password=KEEPASS_PASSWORD)

    assert checked.ok, importing.report_lines(checked)
    assert [entry.title for entry in checked.entries] == ["Trust X", "A game"]
    assert checked.entries[1].outcome is importing.Outcome.UNMATCHED
    assert "Two-factor (TOTP) seed: Its two-factor setting is a Steam code" in "; ".join(checked.entries[1].notes)
    assert checked.secrets_to_store == 1


# --- an attacker's file (review13) ---------------------------------------------------------------


def with_header_value(data: bytes, marker: bytes, width: int, value: int) -> bytes:
    """``data`` with the header value after ``marker`` (a KDF setting) replaced, as a hostile file would
    have it: the header's own checks need the key, so the KDF would run before any of them."""
    at = data.index(marker) + len(marker)
    return data[:at] + value.to_bytes(width, "little") + data[at + width :]


ARGON2_MEMORY = b"\x01\x00\x00\x00M\x08\x00\x00\x00"
ARGON2_ITERATIONS = b"\x01\x00\x00\x00I\x08\x00\x00\x00"
ARGON2_LANES = b"\x01\x00\x00\x00P\x04\x00\x00\x00"


@pytest.mark.parametrize(
    ("marker", "width", "value"),
    [
        (ARGON2_MEMORY, 8, 2**40),  # a terabyte of memory asked for
        (ARGON2_ITERATIONS, 8, 2**32 - 1),  # hours of work on one core
        (ARGON2_LANES, 4, 2**24 - 1),  # millions of threads
    ],
)
def test_a_keepass_file_asking_for_unbounded_key_work_is_refused_before_it_is_done(
    app: Flask, tmp_path: Path, marker: bytes, width: int, value: int
) -> None:
    """The key derivation's cost is the file's to set and runs before the password is checked: a tiny
    file could pin a worker for hours or exhaust its memory. It is refused from the header alone."""
    hostile = with_header_value(kdbx(tmp_path), marker, width, value)

    checked = importing.plan(hostile, "keepass", password=KEEPASS_PASSWORD)

    assert not checked.ok and not checked.entries
    assert checked.problems == [importing.KEEPASS_TOO_COSTLY]


def test_a_kdbx3_file_with_unbounded_aes_rounds_is_refused_before_they_run(app: Flask, tmp_path: Path) -> None:
    data = as_kdbx3(kdbx(tmp_path))
    hostile = with_header_value(data, b"\x06\x08\x00", 8, 2**63)

    checked = importing.plan(hostile, "keepass", password=KEEPASS_PASSWORD)

    assert checked.problems == [importing.KEEPASS_TOO_COSTLY]


def test_usual_keepass_key_settings_still_open(app: Flask, site: dict[str, Channel], tmp_path: Path) -> None:
    """pykeepass's own (KeePassXC's: Argon2d, 64 MiB, 2 lanes) and KDBX 3's AES rounds are within bounds."""
    usual = kdbx(tmp_path, usual_key_work=True)
    assert importing.plan(usual, "keepass", password=KEEPASS_PASSWORD).ok
    assert importing.plan(as_kdbx3(usual), "keepass", password=KEEPASS_PASSWORD).ok


@pytest.mark.parametrize("tampered", ["9" * 30, "9" * 5000, "\u00b2", "2147483648"])
def test_a_tampered_channel_choice_is_a_plain_problem(
    comms: Browser, connection: Connection, site: dict[str, Channel], tmp_path: Path, tampered: str
) -> None:
    """A choice that is no channel's number (too long for the database, or a digit that is not 0-9) is
    "not a live channel", not a server error; nothing is stored."""
    data = kdbx(tmp_path)
    before = seq(connection)
    preview = upload(comms, data, "keepass", KEEPASS_PASSWORD).get_data(as_text=True)

    response = confirm(comms, preview, data, KEEPASS_PASSWORD, **{"entry-3": tampered, f"entry-{tampered}": "1"})

    assert response.status_code == 422, response.get_data(as_text=True)[:2000]
    assert "The channel chosen is not a live channel: choose another." in response.get_data(as_text=True)
    assert versions(site["x"]) == {} and seq(connection) == before


def test_json_nested_too_deeply_is_a_plain_problem(app: Flask) -> None:
    """Python's JSON reader gives up on deep nesting with a RecursionError, not a JSON error: a server error
    on the page and a traceback on the command line, until caught."""
    checked = importing.plan(b'{"items": ' + b"[" * 100_000, "bitwarden-json")

    assert checked.problems == ["The file is not a Bitwarden export: its lists are nested too deeply."]


def test_an_entry_as_read_never_shows_its_values_in_its_repr(app: Flask) -> None:
    """A repr reaches tracebacks with locals, debuggers and test reports: an entry read from the file keeps
    its plaintext out of it, as a planned item does."""
    entries = importing._csv(f"url,password,totp,notes\nhttps://x.com/a,{PASSWORD_A},{SEED},{NOTES}\n".encode())
    checked = importing.plan(f"url,password\nhttps://x.com/a,{PASSWORD_A}\n".encode(), "csv")

    assert_no_plaintext("an entry's repr", repr(entries) + repr(checked))


def test_another_team_members_preview_cannot_be_confirmed(
    comms: Browser, browser_as: Callable[..., Browser], connection: Connection, site: dict[str, Channel], tmp_path: Path
) -> None:
    """The token names who saw the preview: a colleague (or anyone holding the page) cannot confirm it."""
    data = kdbx(tmp_path)
    preview = upload(comms, data, "keepass", KEEPASS_PASSWORD).get_data(as_text=True)
    colleague = browser_as("comms")
    before = seq(connection)

    other = confirm(colleague, preview, data, KEEPASS_PASSWORD)

    assert other.status_code == 400
    assert "This confirmation is not the one the preview gave" in other.get_data(as_text=True)
    assert versions(site["x"]) == {} and seq(connection) == before


def test_a_keepass_database_that_unpacks_to_too_much_is_refused(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A KeePass database's contents are gzip-compressed XML: 5 MB could unpack to 5 GB. It is unpacked only
    up to a bound (lowered here, so that the test's database can be small)."""
    monkeypatch.setattr(importing, "KDBX_MAX_UNPACKED", 256 * 1024)
    data = keepass_bytes(tmp_path, [{"url": "x.com/NHSTrustImport", "password": PASSWORD_A, "notes": "z" * 400_000}])
    assert len(data) < 64 * 1024

    checked = importing.plan(data, "keepass", password=KEEPASS_PASSWORD)

    assert checked.problems == [importing.KEEPASS_TOO_LARGE]
    monkeypatch.undo()
    assert importing.plan(data, "keepass", password=KEEPASS_PASSWORD).problems == []


def test_an_old_export_cannot_put_back_a_value_the_vault_replaced(
    app: Flask, connection: Connection, site: dict[str, Channel], make_user: Callable[..., User]
) -> None:
    """A value the vault held before (an old export, made before a leaver's password was rotated) would be
    stored as a "new version", undoing the rotation and clearing its rotation-required mark. It is a
    problem by entry instead, and nothing is stored."""
    comms = make_user("comms")
    custody.store(site["x"], "password", PASSWORD_A, "Taking custody.", comms)
    custody.store(site["x"], "password", PASSWORD_B, "Rotated after a leaver.", comms)
    db.session().commit()
    before = seq(connection)

    checked = importing.plan(f"url,password\nhttps://x.com/NHSTrustImport,{PASSWORD_A}\n".encode(), "csv")

    assert not checked.ok
    assert checked.entries[0].problems == [
        f"{site['x'].reference}'s password was this value before (version 1, since replaced): this looks like an "
        "old export. Leave the entry out, or store the value on the channel's page if it really is current."
    ]
    assert_no_plaintext("the report", "\n".join(importing.report_lines(checked)))
    with pytest.raises(importing.Refused):
        importing.apply(
            f"url,password\nhttps://x.com/NHSTrustImport,{PASSWORD_A}\n".encode(), "csv", actor=comms, source="page"
        )
    db.session().rollback()
    assert versions(site["x"]) == {"password": 2} and opened(site["x"], "password") == PASSWORD_B
    assert seq(connection) == before


def test_a_preview_that_compares_stored_secrets_is_audited(
    app: Flask, connection: Connection, site: dict[str, Channel], comms: Browser, make_user: Callable[..., User]
) -> None:
    """A preview says whether a file's value is a channel's current secret. A file of guesses would be an
    untraced oracle, so a preview that compared stored secrets is audited as a reveal is: which secrets,
    and whether each was the same; never a value."""
    custody.store(site["x"], "password", PASSWORD_A, "Taking custody.", make_user("comms"))
    custody.store(site["fb"], "password", PASSWORD_B, "Taking custody.", make_user("comms"))
    db.session().commit()
    before = seq(connection)
    guesses = (
        f"url,password\nhttps://x.com/NHSTrustImport,{PASSWORD_A}\n"
        f"https://facebook.com/NHSTrustImportPage,{PASSWORD_A}\nhttps://www.tiktok.com/@nhstrust_spare,{PASSWORD_B}\n"
    )

    preview = upload(comms, guesses.encode(), "csv")

    assert preview.status_code == 200, preview.text[:2000]
    [event] = [e for e in events_since(before) if e.action == "credential:import_checked"]
    assert event.actor_id is not None
    assert details(event) == {
        "format": "csv",
        "compared": 2,
        "same": 1,
        "checked": [f"{site['x'].reference} password: same", f"{site['fb'].reference} password: different"],
    }
    assert_no_plaintext("the audit trail", "\n".join(e.details for e in events_since(before)))


def test_a_preview_that_compares_nothing_stored_leaves_no_event(
    app: Flask, connection: Connection, site: dict[str, Channel], comms: Browser
) -> None:
    before = seq(connection)

    preview = upload(comms, f"url,password\nhttps://x.com/NHSTrustImport,{PASSWORD_A}\n".encode(), "csv")

    assert preview.status_code == 200, preview.text[:2000]
    assert [e.action for e in events_since(before) if e.action.startswith("credential:")] == []


def test_a_csv_export_up_to_the_stated_size_is_read(app: Flask, site: dict[str, Channel]) -> None:
    """The import takes files of up to 5 MB (the page and the README say so); CSV and Bitwarden files were
    refused above the users import's 2 MB, as they are decoded by the same reader."""
    padding = "p" * 700
    rows = [f"https://example.org/n{number},{padding}" for number in range(4_000)]
    data = ("url,notes\n" + "\n".join(rows) + "\n").encode()
    assert 2 * 1024 * 1024 < len(data) < importing.MAX_BYTES

    checked = importing.plan(data, "csv")

    assert checked.problems == [] and len(checked.entries) == 4_000
    too_big = importing.plan(data * 2, "csv")
    assert too_big.problems == [
        f"The file is {len(data * 2) / 1024 / 1024:.1f} MB: the most one import takes is 5.0 MB."
    ]
