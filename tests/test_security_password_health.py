"""Security review of password health (issue 14): what an attacker could do with the checks themselves.

- A long password (the Registry makes them up to 128 characters) must store, and ``credentials assess``
  must judge it, without zxcvbn refusing it.
- Storing a guess and watching "Reused" appear tests the guess against another channel's password; that
  must leave a trace naming the channel, as a reveal (or an import preview) does.
- The breached-password reader must never read a whole file into memory for one line: a file that is
  not a breached-password list (no line ends) is "not checked", not "checked, not in it".
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from registry.auth.models import User
from registry.channels.models import Channel
from registry.vault import health
from registry.vault import services as custody
from tests.test_password_health import current, invoke, put


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
