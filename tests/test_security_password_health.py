"""Security review of password health (issue 14): what an attacker could do with the checks themselves.

- A long password (the Registry makes them up to 128 characters) must store, and ``credentials assess``
  must judge it, without zxcvbn refusing it.
- Storing a guess and watching "Reused" appear tests the guess against another channel's password; that
  must leave a trace naming the channel, as a reveal (or an import preview) does.
- The breached-password reader must never read a whole file into memory for one line: a file that is
  not a breached-password list (no line ends) is "not checked", not "checked, not in it".
"""

from __future__ import annotations

import base64
import json
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

import config as registry_config
from config import ConfigError
from registry import db
from registry.audit.models import AuditEvent
from registry.auth.models import User
from registry.channels.models import Channel
from registry.vault import health
from registry.vault import services as custody
from tests.test_password_health import STRONG, current, invoke, put, sha1


def test_a_long_password_is_stored_and_assessed(
    app: Flask, make_user: Callable[..., User], make_channel: Callable[..., Channel]
) -> None:
    """The generator makes passwords up to 128 characters and a pasted one may be up to 10,000: each is
    judged (a long random one is strong, a long run of one letter weak) and stored, and assess rejudges."""
    comms = make_user("comms")
    strong = {n: custody.generate_password(n) for n in (73, 100, 128)}
    for value in strong.values():
        entry = current(put(make_channel("active"), value, comms))
        assert (entry.assessed_at is not None, entry.weak) == (True, False)
    long_weak = current(put(make_channel("active"), "a" * 10_000, comms))
    assert long_weak.weak is True
    assert health.is_weak("€" * 500) is True

    result = invoke(app, "credentials", "assess")

    assert result.exit_code == 0, result.output
    for value in strong.values():
        assert value not in result.output


def _audit_since(seq: int) -> list[AuditEvent]:
    return list(db.session().execute(select(AuditEvent).where(AuditEvent.seq > seq)).scalars())


def test_storing_a_value_another_channel_holds_names_that_channel_in_the_audit_event(
    app: Flask, make_user: Callable[..., User], make_channel: Callable[..., Channel]
) -> None:
    """A comms member can store a guess on a channel nobody uses (a retired one) and watch "Reused" name the
    channel whose password it is, without revealing it. The store's audit event says which channels the
    stored value matched, so the test leaves a trace as a reveal does; a value matching none says nothing."""
    comms = make_user("comms")
    target = make_channel("active")
    put(target, STRONG, comms)
    spare = make_channel("retired")
    before = db.session().execute(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1)).scalar_one()

    put(spare, "Not-the-password-9!x", comms)
    put(spare, STRONG, comms)

    miss, hit = _audit_since(before)
    assert "reused_with" not in json.loads(miss.details)
    assert json.loads(hit.details)["reused_with"] == [target.reference]
    assert STRONG not in hit.details and sha1(STRONG) not in hit.details


def test_a_file_without_line_ends_is_not_read_whole_and_is_not_checked(
    tmp_path: Path, app: Flask, make_user: Callable[..., User]
) -> None:
    """Pointed at the wrong thing (a file of no lines), a check must not read the file into memory, nor say
    "not breached": it is "not checked"."""
    blob = tmp_path / "not-a-list.txt"
    blob.write_bytes(b"F" * (16 * 1024 * 1024))
    ranges = tmp_path / "ranges"
    ranges.mkdir()
    (ranges / f"{sha1(STRONG)[:5]}.txt").write_bytes(b"0" * (16 * 1024 * 1024))
    for check, path in ((health.in_sorted_file, blob), (health.in_range_directory, ranges)):
        tracemalloc.start()
        try:
            with pytest.raises(OSError):
                check(path, STRONG)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 1024 * 1024, (check.__name__, peak)


def test_a_breached_list_not_in_hash_order_stops_the_start(tmp_path: Path) -> None:
    """Have I Been Pwned also published its list ordered by how often each password was seen, and the
    download is an archive: searched by seeking, either would answer "not breached" for passwords that
    are. Given as the file, either stops the start; the list in hash order (CRLF, any case) starts."""
    ordered_by_count = [sha1(v) for v in ("123456", "123456789", "qwerty", "password", "12345")]
    wrong = tmp_path / "pwned-passwords-sha1-ordered-by-count.txt"
    wrong.write_bytes(b"".join(f"{h}:{9 - n}\r\n".encode() for n, h in enumerate(ordered_by_count)))
    archive = tmp_path / "pwned-passwords-sha1-ordered-by-hash.7z"
    archive.write_bytes(b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(range(256)) * 8)
    for given in (wrong, archive):
        with pytest.raises(ConfigError) as refused:
            registry_config.load_settings({"ENV": "testing", "BREACHED_PASSWORDS_FILE": str(given)}, tmp_path / "i")
        assert str(refused.value).startswith("REGISTRY_BREACHED_PASSWORDS_FILE is not Have I Been Pwned's SHA-1 list")
    right = tmp_path / "pwned-passwords-sha1-ordered-by-hash.txt"
    right.write_bytes(b"".join(f"{h.lower()}:{n + 1}\r\n".encode() for n, h in enumerate(sorted(ordered_by_count))))
    settings = registry_config.load_settings({"ENV": "testing", "BREACHED_PASSWORDS_FILE": str(right)}, tmp_path / "i")
    assert settings.breached_passwords_file == right


def test_the_api_and_the_pages_carry_no_fingerprint_and_no_health_field(
    app: Flask,
    make_user: Callable[..., User],
    make_channel: Callable[..., Channel],
    api_token: Callable[[User], dict[str, str]],
    browser_as: Callable[..., Any],
) -> None:
    """SPEC: the API's credentials are metadata only. A fingerprint (in hex, base64 or any case) or a SHA-1
    reaches no API answer, no page and no audit detail; the API answer has the same fields as before."""
    comms = make_user("comms")
    a, b = make_channel("active"), make_channel("active")
    put(a, STRONG, comms)
    client = app.test_client()
    stored = client.post(
        f"/api/v1/channels/{b.reference}/credentials",
        json={"kind": "password", "value": STRONG, "reason": "Taking custody."},
        headers=api_token(comms),
    )
    assert stored.status_code == 201, stored.get_data(as_text=True)
    listed = client.get(f"/api/v1/channels/{b.reference}/credentials", headers=api_token(comms))
    fingerprint = current(custody.get_credential(b, "password")).fingerprint
    assert fingerprint is not None
    forbidden = [
        STRONG,
        sha1(STRONG),
        sha1(STRONG).lower(),
        fingerprint.hex(),
        fingerprint.hex().upper(),
        base64.b64encode(fingerprint).decode(),
        base64.urlsafe_b64encode(fingerprint).decode().rstrip("="),
    ]
    [item] = listed.get_json()["items"]
    for answer in (stored.get_json(), item):
        assert not {"fingerprint", "fingerprint_key_id", "weak", "breached", "assessed_at"} & set(answer)
    bodies = [stored.get_data(as_text=True), listed.get_data(as_text=True)]
    for role in ("comms", "auditor"):
        browser = browser_as(role)
        for page in ("/credentials", f"/channels/{b.reference}/credentials"):
            response = browser.get(page)
            assert response.status_code == 200 and "Password health" in response.get_data(as_text=True)
            bodies.append(response.get_data(as_text=True))
    bodies += [e.details for e in db.session().execute(select(AuditEvent)).scalars()]
    assert [s for s in forbidden for body in bodies if s in body] == []
