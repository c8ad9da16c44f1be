"""Account events (issue 10): the accounts package says that a person left or that their roles changed,
and the roster and breach reports react as receivers of ``registry.auth.signals``, in the same
transaction. Whether each reaction happens is proved where it belongs (``test_roster.py``,
``test_breaches.py``); here: that the receivers are connected without anyone remembering to, that
they run in the caller's transaction, and that an error in one undoes the whole change."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from registry import PROJECT_ROOT, db
from registry.audit.models import AuditAction, AuditEvent
from registry.audit.services import Actor
from registry.auth import services as accounts
from registry.auth.models import User
from registry.auth.signals import AccountSignal, roles_changed, user_left
from registry.channels.models import Channel
from registry.roster import services as roster
from registry.roster.models import RosterGrant
from registry.vault import services as custody
from registry.vault.models import Credential

RECEIVERS = {
    "user_left": [
        "registry.breaches.subscriptions.cases_of_a_leaver_go_back_to_comms",
        "registry.roster.subscriptions.grants_of_a_leaver_end",
    ],
    "roles_changed": ["registry.breaches.subscriptions.cases_of_a_former_manager_go_back_to_comms"],
}


def names(signal: AccountSignal) -> list[str]:
    return sorted(f"{r.__module__}.{r.__qualname__}" for r in signal.receivers_for(object()))


def test_each_package_that_reacts_is_connected(app: Flask) -> None:
    assert {"user_left": names(user_left), "roles_changed": names(roles_changed)} == RECEIVERS


def test_importing_a_package_connects_its_receivers_whatever_imports_it_first() -> None:
    """The models list (and so Alembic, the CLI and the app) imports each package's models before its
    services: that alone connects the package's receivers."""
    script = textwrap.dedent(
        """
        import registry.models
        from registry.auth.signals import roles_changed, user_left
        for signal in (user_left, roles_changed):
            print(sorted(f"{r.__module__}.{r.__qualname__}" for r in signal.receivers_for(object())))
        """
    )
    shown = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()

    assert shown == [str(RECEIVERS["user_left"]), str(RECEIVERS["roles_changed"])]


def test_receivers_run_in_the_order_they_were_connected() -> None:
    signal = AccountSignal("test-order")
    receivers = [lambda sender, n=n: n for n in range(40)]
    for receiver in receivers:
        signal.connect(receiver)
    signal.disconnect(receivers[7])

    assert [result for _, result in signal.send(object())] == [n for n in range(40) if n != 7]


def test_an_error_in_a_receiver_undoes_the_whole_deactivation(
    app: Flask, make_user: Callable[..., User], make_channel: Callable[..., Channel]
) -> None:
    """The roster's receiver ends the grant and flags the credential, then another receiver fails:
    nothing of the deactivation stands, neither the account's change, its audit event, nor what the
    receivers already did."""
    comms = make_user("comms", name="Cara Comms")
    leaver = make_user("staff", name="Lee Leaver")
    channel = make_channel("active")
    custody.store(channel, "password", "pw-1", "First set-up.", comms)
    held = roster.grant(channel, email=leaver.email, platform_role="editor", actor=comms)
    db.session().commit()
    seen: list[Any] = []

    def fails(sender: User, **kwargs: Any) -> None:
        grant = db.session().get(RosterGrant, held.id)
        seen.append((sender.active, grant.is_active if grant else None))  # in the caller's transaction
        raise RuntimeError("a receiver failed")

    with user_left.connected_to(fails), pytest.raises(RuntimeError, match="a receiver failed"), db.transaction():
        accounts.deactivate(leaver, actor=Actor.system("tests"))

    assert seen == [(False, False)]
    db.session().expire_all()
    assert db.session().get(User, leaver.id).active  # type: ignore[union-attr]
    assert db.session().get(RosterGrant, held.id).is_active  # type: ignore[union-attr]
    credential = (
        db.session().execute(select(Credential).where(Credential.channel_id == channel.id)).unique().scalar_one()
    )
    assert not credential.rotation_required
    actions = set(db.session().execute(select(AuditEvent.action)).scalars())
    assert AuditAction.USER_DEACTIVATE.value not in actions
    assert AuditAction.ROSTER_REVOKE.value not in actions
    assert fails not in list(user_left.receivers_for(leaver))


def test_deactivation_reports_what_the_receivers_did(
    app: Flask, make_user: Callable[..., User], make_channel: Callable[..., Channel]
) -> None:
    comms = make_user("comms", name="Cara Comms")
    leaver = make_user("staff", name="Lee Leaver")
    channel = make_channel("active")
    custody.store(channel, "password", "pw-1", "First set-up.", comms)
    roster.grant(channel, email=leaver.email, platform_role="editor", actor=comms)

    departure = accounts.deactivate(leaver, actor=Actor.system("tests"))

    assert departure.user is leaver
    assert departure.summary() == (
        "Lee Leaver: 1 roster grant ended; 1 credential marked rotation required "
        "(1 on channels they administered, 0 whose current value they had seen)."
    )
