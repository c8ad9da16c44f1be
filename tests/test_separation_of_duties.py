"""Separation of duties (issue 9, part 1): no administrator alone can reach the Trust's secrets.

The two attacks found on main are reproduced first: an administrator giving themselves the comms
role, and an administrator taking over a comms member's account (set their password, reset their
two-factor sign-in, enrol their own phone). Then the rules that replace them: four-eyes requests
for privileged roles and privileged two-factor resets, set-up links sent to the person's own
e-mail (a real SMTP server, aiosmtpd) instead of passwords an administrator chooses, and a first
two-factor set-up that needs the link, not just the password.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
import socket
from collections.abc import Callable, Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import func, inspect, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from werkzeug.test import TestResponse

from registry import create_app, db
from registry.audit.models import AuditEvent
from registry.audit.services import Actor
from registry.auth import approvals, mfa, setup_links
from registry.auth import services as accounts
from registry.auth.models import (
    AccountRequest,
    SetupLink,
    SetupReason,
    User,
    UserSession,
    UserTotp,
)
from registry.auth.permissions import Role
from registry.channels.models import Channel
from registry.errors import NotPermitted
from registry.notifications.models import Notification
from registry.vault import services as custody
from tests.conftest import (
    TEST_PASSWORD,
    Browser,
    csrf_token,
    settings_for,
    sign_in,
)
from tests.test_vault import reveal

BASE = "https://registry.example.nhs.uk"
LINK = re.compile(re.escape(BASE) + r"(/account/set-up/[A-Za-z0-9_-]+)")
CHOSEN = "harbour violet lantern 2207"


class Inbox:
    """An SMTP server's handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # aiosmtpd calls it so
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"

    def to(self, email: str) -> list[Message]:
        return [m for m in self.messages if email in m["To"]]

    def link_for(self, email: str) -> str:
        """The set-up link in the newest e-mail to ``email`` (as its path on the Registry)."""
        bodies = [m.get_payload(decode=True).decode() for m in self.to(email)]
        found = [LINK.search(body) for body in bodies]
        links = [match.group(1) for match in found if match]
        assert links, f"no set-up link was e-mailed to {email}"
        return links[-1]


@pytest.fixture
def inbox(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    """A real SMTP server the app sends through, with its public address for links."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    received = Inbox()
    controller = Controller(received, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(
        SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_SECURITY="none", SMTP_FROM="Registry <r@example.nhs.uk>"
    )
    settings = dataclasses.replace(app.extensions["registry.settings"], public_base_url=BASE)
    monkeypatch.setitem(app.extensions, "registry.settings", settings)
    yield received
    controller.stop()


def words(response: TestResponse) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).replace("&#39;", "'").split())


def location(response: TestResponse) -> str:
    return urlsplit(response.headers.get("Location", "")).path


def roles_of(user: User) -> set[str]:
    db.session().expire_all()
    return {role.value for role in db.session().get(User, user.id).roles}  # type: ignore[union-attr]


def requests_about(user: User) -> list[AccountRequest]:
    return list(
        db.session()
        .execute(
            select(AccountRequest)
            .where(AccountRequest.user_id == user.id)
            .order_by(AccountRequest.id)
            .execution_options(populate_existing=True)
        )
        .scalars()
    )


def actions(*names: str) -> list[tuple[str, int | None, str]]:
    return [
        (e.action, e.actor_id, e.object_id)
        for e in db.session()
        .execute(select(AuditEvent).where(AuditEvent.action.in_(names)).order_by(AuditEvent.seq))
        .scalars()
    ]


def subjects_to(user: User) -> list[str]:
    return list(
        db.session()
        .execute(select(Notification.subject).where(Notification.recipient_id == user.id).order_by(Notification.id))
        .scalars()
    )


def password_works(app: Flask, user: User, password: str) -> bool:
    """Whether signing in with ``password`` gets past the password step."""
    client = app.test_client()
    response = client.post("/login", data={"email": user.email, "password": password, "csrf_token": csrf_token(client)})
    return response.status_code == 302


def active_channel_with_secret(make_channel: Callable[..., Channel], keeper: User) -> Channel:
    channel = make_channel("active")
    custody.store(channel, "password", "the trust's real password", "Taking custody.", keeper)
    db.session().commit()
    return channel


def can_reveal(browser: Browser, channel: Channel) -> bool:
    shown = reveal(browser, channel, "password")
    return shown.status_code == 200 and "the trust's real password" in shown.get_data(as_text=True).replace(
        "&#39;", "'"
    )


# --- the attacks found on main ------------------------------------------------------------------


def test_an_administrator_cannot_give_themselves_the_comms_role(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_user: Callable[..., User],
    make_channel: Callable[..., Channel],
) -> None:
    """The self-grant: POST /admin/users/<own id>/roles with roles=admin&roles=comms was accepted, and after
    signing in again the administrator revealed any password. Now it is refused, changes nothing, and
    asks nobody for anything; the service refuses it too, whoever calls it."""
    keeper = make_user("comms")
    channel = active_channel_with_secret(make_channel, keeper)
    assert can_reveal(browser_as(user=keeper), channel)  # what the administrator was after
    admin = browser_as("admin")
    me: User = admin.user  # type: ignore[attr-defined]

    refused = admin.post(f"/admin/users/{me.id}/roles", {"roles": ["admin", "comms"], "reason": "I need it."})

    assert refused.status_code == 403
    assert "Nobody changes the roles of their own account" in words(refused)
    assert roles_of(me) == {"admin"}
    assert requests_about(me) == []
    sign_in(admin.client, me)
    assert not can_reveal(admin, channel)
    with pytest.raises(NotPermitted):
        accounts.set_roles(me, ["admin", "comms"], actor=me)
    assert "Nobody changes their own roles" in words(admin.get(f"/admin/users/{me.id}"))


def test_an_administrator_cannot_take_over_a_comms_members_account(
    app: Flask,
    inbox: Inbox,
    browser_as: Callable[..., Browser],
    make_channel: Callable[..., Channel],
) -> None:
    """The takeover: the administrator set a comms member's password, reset their two-factor sign-in,
    signed in as them, enrolled their own phone and revealed secrets, and nobody was told.

    Now the password an administrator types is never used: the reset sends the person a set-up link
    (the administrator never sees it), the old password stops working, and the two-factor reset waits
    for a second administrator while the person is e-mailed at once."""
    victim = browser_as("comms")
    person: User = victim.user  # type: ignore[attr-defined]
    channel = active_channel_with_secret(make_channel, person)
    assert can_reveal(victim, channel)
    admin = browser_as("admin")

    reset = admin.post(f"/admin/users/{person.id}/password", {"password": "attacker chosen 7781 words"})
    asked = admin.post(f"/admin/users/{person.id}/two-factor/reset", {"reason": "Says they lost their phone."})

    assert (reset.status_code, asked.status_code) == (302, 302)
    assert not password_works(app, person, "attacker chosen 7781 words")
    assert not password_works(app, person, TEST_PASSWORD)  # the old one stops working too
    assert location(victim.get("/")) == "/login"  # every session of theirs ended
    assert mfa.is_enrolled(person)  # the reset waits for a second administrator
    assert [r.status for r in requests_about(person)] == ["pending"]
    told = [m["Subject"] for m in inbox.to(person.email)]
    assert "Set up your Social Channel Registry account" in told
    assert "Someone asked to reset your two-factor sign-in" in told
    token = inbox.link_for(person.email).rsplit("/", 1)[1]
    for page in ("/outbox", f"/admin/users/{person.id}", "/admin/approvals", "/audit"):
        assert token not in admin.get(page).get_data(as_text=True), page
    # The administrator cannot approve their own request, and cannot reveal anything.
    assert admin.post(f"/admin/approvals/{requests_about(person)[0].id}/approve").status_code == 403
    assert mfa.is_enrolled(person)
    assert not can_reveal(admin, channel)


def test_a_privileged_account_needs_its_set_up_link_to_set_up_two_factor(
    app: Flask,
    make_user: Callable[..., User],
) -> None:
    """Whoever knows a new comms member's password (today's takeover ended with the administrator
    enrolling their own phone) cannot set up two-factor sign-in with it: the page says to use the
    set-up link, and nothing is stored. Through the link, the same person can."""
    person = make_user("comms", two_factor=False)
    intruder = app.test_client()
    assert (
        location(
            intruder.post(
                "/login",
                data={
                    "email": person.email,
                    "password": TEST_PASSWORD,
                    "csrf_token": csrf_token(intruder),
                },
            )
        )
        == "/account/two-factor"
    )

    page = intruder.get("/account/two-factor")
    tried = intruder.post("/account/two-factor", data={"code": "123456", "csrf_token": csrf_token(intruder)})

    assert (page.status_code, tried.status_code) == (403, 403)
    assert "Use your set-up link to set up two-factor sign-in" in words(page)
    assert db.session().get(UserTotp, person.id) is None
    assert location(intruder.get("/credentials")) == "/account/two-factor"

    link = setup_links.issue(person, SetupReason.ROLE_GRANTED, actor=Actor.system("tests"), send=False)
    db.session().commit()
    owner = app.test_client()
    assert location(owner.get(link.path)) == "/account/set-up"
    done = owner.post(
        "/account/set-up", data={"password": TEST_PASSWORD, "csrf_token": csrf_token(owner, "/account/set-up")}
    )
    assert location(done) == "/account/two-factor"
    enrolment = owner.get("/account/two-factor")
    assert enrolment.status_code == 200 and "Set up two-factor sign-in" in words(enrolment)
    secret = mfa.pending_enrolment(person).secret  # type: ignore[union-attr]
    step = int(dt.datetime.now(dt.UTC).timestamp() // mfa.STEP_SECONDS)
    turned_on = owner.post(
        "/account/two-factor", data={"code": mfa.code_at(secret, step), "csrf_token": csrf_token(owner)}
    )
    assert turned_on.status_code == 200
    assert mfa.is_enrolled(person)


def test_the_set_up_window_closes_thirty_minutes_after_the_link(app: Flask, make_user: Callable[..., User]) -> None:
    """A session opened by a set-up link may set up two-factor sign-in for 30 minutes, not for ever."""
    person = make_user("auditor", two_factor=False)
    client = app.test_client()
    link = setup_links.issue(person, SetupReason.ROLE_GRANTED, actor=Actor.system("tests"), send=False)
    db.session().commit()
    client.get(link.path)
    client.post(
        "/account/set-up", data={"password": TEST_PASSWORD, "csrf_token": csrf_token(client, "/account/set-up")}
    )
    assert client.get("/account/two-factor").status_code == 200
    db.session().execute(
        update(UserSession)
        .where(UserSession.user_id == person.id, UserSession.ended_at.is_(None))
        .values(setup_link_at=db.utcnow() - dt.timedelta(minutes=31))
    )
    db.session().commit()
    assert client.get("/account/two-factor").status_code == 403


# --- four eyes ------------------------------------------------------------------------------------


def test_a_privileged_role_takes_effect_only_when_a_second_administrator_approves_it(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_user: Callable[..., User],
) -> None:
    """Asking changes nothing yet; the person, every comms member and the other administrators are told;
    neither the one who asked nor the person can approve; a second administrator's approval gives the
    role, ends the person's sessions, tells them and comms, and sends a set-up link for two-factor."""
    comms_team = [make_user("comms"), make_user("comms")]
    staff = browser_as("staff")
    person: User = staff.user  # type: ignore[attr-defined]
    first, second = browser_as("admin"), browser_as("admin")
    asker: User = first.user  # type: ignore[attr-defined]
    approver: User = second.user  # type: ignore[attr-defined]

    asked = first.post(
        f"/admin/users/{person.id}/roles", {"roles": ["staff", "comms"], "reason": "Joins comms on Monday."}
    )

    assert location(asked) == f"/admin/users/{person.id}"
    assert roles_of(person) == {"staff"}
    assert location(staff.get("/")) == ""  # still signed in, still staff
    [waiting] = requests_about(person)
    assert (waiting.status, waiting.roles, waiting.requested_by_id) == ("pending", "comms", asker.id)
    assert "You have been put forward for the Communications team role" in subjects_to(person)
    for member in comms_team:
        assert f"{person.name} put forward for the Communications team role" in subjects_to(member)
    assert f"Approve or reject: Communications team role for {person.name}" in subjects_to(approver)
    assert subjects_to(asker) == []
    assert first.post(f"/admin/approvals/{waiting.id}/approve").status_code == 403
    assert staff.post(f"/admin/approvals/{waiting.id}/approve").status_code == 403
    assert roles_of(person) == {"staff"}

    approved = second.post(f"/admin/approvals/{waiting.id}/approve")

    assert location(approved) == "/admin/approvals"
    assert roles_of(person) == {"staff", "comms"}
    assert location(staff.get("/")) == "/login"
    assert [r.status for r in requests_about(person)] == ["approved"]
    assert "You now have the Communications team role" in subjects_to(person)
    for member in comms_team:
        assert f"{person.name} now has the Communications team role" in subjects_to(member)
    assert setup_links.open_link_for(person) is not None  # to set up two-factor sign-in
    reference = waiting.reference
    assert actions("account_request:create", "account_request:approve") == [
        ("account_request:create", asker.id, reference),
        ("account_request:approve", approver.id, reference),
    ]
    assert actions("user:roles_change")[-1][1] == approver.id


def test_roles_taken_away_and_everyday_roles_change_at_once(
    browser_as: Callable[..., Browser],
    make_user: Callable[..., User],
) -> None:
    """Removing a privileged role, or giving the line manager role, needs nobody else."""
    person = make_user("comms", "staff")
    admin = browser_as("admin")
    assert (
        location(admin.post(f"/admin/users/{person.id}/roles", {"roles": ["staff", "manager"]}))
        == f"/admin/users/{person.id}"
    )
    assert roles_of(person) == {"staff", "manager"}
    assert requests_about(person) == []


def test_a_privileged_role_needs_a_reason_and_a_refusal_changes_nothing(
    browser_as: Callable[..., Browser],
    make_user: Callable[..., User],
    connection: Connection,
) -> None:
    """Without a reason the page says what to write (422, the field named) and nothing is written."""
    person = make_user("staff")
    admin = browser_as("admin")
    before = connection.execute(select(func.count()).select_from(AuditEvent)).scalar_one()

    refused = admin.post(f"/admin/users/{person.id}/roles", {"roles": ["staff", "hr", "manager"]})

    assert refused.status_code == 422
    assert 'href="#reason"' in refused.get_data(as_text=True)
    assert "Say why they need the Human resources role" in words(refused)
    assert roles_of(person) == {"staff"}
    assert requests_about(person) == []
    assert connection.execute(select(func.count()).select_from(AuditEvent)).scalar_one() == before


def test_nobody_approves_a_request_about_themselves_and_the_database_backs_the_rule(
    browser_as: Callable[..., Browser],
    make_user: Callable[..., User],
) -> None:
    """An administrator put forward for a role cannot approve it; a row that breaks the four-eyes rule
    is refused by the database itself."""
    first, subject = browser_as("admin"), browser_as("admin")
    target: User = subject.user  # type: ignore[attr-defined]
    asker: User = first.user  # type: ignore[attr-defined]
    first.post(f"/admin/users/{target.id}/roles", {"roles": ["admin", "auditor"], "reason": "Audit cover."})
    [waiting] = requests_about(target)

    refused = subject.post(f"/admin/approvals/{waiting.id}/approve")

    assert refused.status_code == 403
    assert "about your own account" in words(refused)
    assert roles_of(target) == {"admin"}
    for bad in (
        {"requested_by_id": asker.id, "user_id": asker.id},  # asking for oneself
        {"requested_by_id": asker.id, "user_id": target.id, "status": "approved", "decided_by_id": asker.id},
        {"requested_by_id": asker.id, "user_id": target.id, "status": "approved", "decided_by_id": target.id},
    ):
        with pytest.raises(IntegrityError), db.session().begin_nested():
            db.session().add(
                AccountRequest(
                    kind="grant_roles",
                    roles="comms",
                    reason="Forged.",
                    expires_at=db.utcnow(),
                    **bad,
                )
            )
            db.session().flush()


def test_a_request_lapses_after_seven_days_and_a_leavers_requests_and_links_end(
    browser_as: Callable[..., Browser],
    make_user: Callable[..., User],
) -> None:
    first, second = browser_as("admin"), browser_as("admin")
    person, leaver = make_user("staff"), make_user("staff")
    first.post(f"/admin/users/{person.id}/roles", {"roles": ["auditor"], "reason": "Audit."})
    first.post(f"/admin/users/{leaver.id}/roles", {"roles": ["auditor"], "reason": "Audit."})
    [old] = requests_about(person)
    db.session().execute(
        update(AccountRequest)
        .where(AccountRequest.id == old.id)
        .values(expires_at=db.utcnow() - dt.timedelta(minutes=1))
    )
    db.session().commit()

    late = second.post(f"/admin/approvals/{old.id}/approve")

    assert late.status_code == 409
    assert "nobody approved it within 7 days" in words(late)
    assert roles_of(person) == {"staff"}
    again = first.post(f"/admin/users/{person.id}/roles", {"roles": ["auditor"], "reason": "Audit, asked again."})
    assert location(again) == f"/admin/users/{person.id}"
    assert [r.status for r in requests_about(person)] == ["expired", "pending"]

    setup_links.issue(leaver, SetupReason.PASSWORD_RESET, actor=Actor.system("tests"), send=False)
    db.session().commit()
    assert second.post(f"/admin/users/{leaver.id}/deactivate").status_code == 302
    assert [r.status for r in requests_about(leaver)] == ["cancelled"]
    assert setup_links.open_link_for(leaver) is None
    # What a leaving administrator asked for lapses too: nobody approves a departed colleague's request.
    assert second.post(f"/admin/users/{first.user.id}/deactivate").status_code == 302  # type: ignore[attr-defined]
    assert [r.status for r in requests_about(person)] == ["expired", "cancelled"]


def test_a_privileged_users_two_factor_reset_needs_a_reason_and_a_staff_members_happens_at_once(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_user: Callable[..., User],
) -> None:
    admin = browser_as("admin")
    comms, staff = make_user("comms"), make_user("staff", two_factor=True)

    refused = admin.post(f"/admin/users/{comms.id}/two-factor/reset", {"reason": ""})
    done = admin.post(f"/admin/users/{staff.id}/two-factor/reset", {"reason": ""})

    assert refused.status_code == 422 and "Say why their two-factor sign-in must be reset" in words(refused)
    assert mfa.is_enrolled(comms) and requests_about(comms) == []
    assert location(done) == f"/admin/users/{staff.id}"
    db.session().expire_all()
    assert not mfa.is_enrolled(staff)
    assert requests_about(staff) == []


# --- set-up links ---------------------------------------------------------------------------------


def test_a_new_person_chooses_their_own_password_through_the_e_mailed_link(
    app: Flask,
    inbox: Inbox,
    browser_as: Callable[..., Browser],
    connection: Connection,
) -> None:
    """An administrator adds someone without choosing a password; the link in the e-mail lets them
    choose one (mistakes explained, nothing changed), signs them in, and works once. The token is in no
    row of any table, no page the administrator sees, and no audit event."""
    admin = browser_as("admin")
    added = admin.post(
        "/admin/users/new", {"name": "Robin Newman", "email": "robin.newman@example.nhs.uk", "roles": ["staff"]}
    )
    assert location(added).startswith("/admin/users/")
    assert "A set-up link has been e-mailed to robin.newman@example.nhs.uk" in words(admin.get(location(added)))
    path = inbox.link_for("robin.newman@example.nhs.uk")
    token = path.rsplit("/", 1)[1]
    robin = accounts.find_user("robin.newman@example.nhs.uk")
    assert robin is not None and not robin.password_hash
    assert not password_works(app, robin, "")

    client = app.test_client()
    opened = client.get(path)
    assert location(opened) == "/account/set-up"
    form = client.get("/account/set-up")
    assert "Choose your password" in words(form)
    assert form.headers["Cache-Control"] == "no-store"
    mismatch = client.post(
        "/account/set-up",
        data={
            "password": CHOSEN,
            "confirm": CHOSEN + "!",
            "csrf_token": csrf_token(client, "/account/set-up"),
        },
    )
    weak = client.post(
        "/account/set-up",
        data={
            "password": "password1234",
            "confirm": "password1234",
            "csrf_token": csrf_token(client, "/account/set-up"),
        },
    )
    assert (mismatch.status_code, weak.status_code) == (422, 422)
    assert "The two passwords are not the same" in words(mismatch)
    assert "most commonly used passwords" in words(weak)
    db.session().expire_all()
    assert not db.session().get(User, robin.id).password_hash  # type: ignore[union-attr]

    done = client.post(
        "/account/set-up",
        data={
            "password": CHOSEN,
            "confirm": CHOSEN,
            "csrf_token": csrf_token(client, "/account/set-up"),
        },
    )

    assert location(done) == "/"
    assert client.get("/").status_code == 200
    assert password_works(app, robin, CHOSEN)
    assert app.test_client().get(path).status_code == 404  # single use
    assert "This set-up link does not work" in words(app.test_client().get(path))
    everything = " ".join(
        repr(row)
        for table in inspect(connection).get_table_names()
        for row in connection.execute(text(f'SELECT * FROM "{table}"'))
    )
    assert token not in everything
    for page in ("/outbox", f"/admin/users/{robin.id}", "/audit"):
        assert token not in admin.get(page).get_data(as_text=True), page
    assert token not in client.get("/messages").get_data(as_text=True)
    assert [a for a in actions("user:setup_link", "user:setup_complete") if a[2] == str(robin.id)] == [
        ("user:setup_link", admin.user.id, str(robin.id)),
        ("user:setup_complete", robin.id, str(robin.id)),  # type: ignore[attr-defined]
    ]


def test_a_password_reset_ends_sessions_and_the_person_chooses_a_new_one(
    app: Flask,
    inbox: Inbox,
    browser_as: Callable[..., Browser],
) -> None:
    person = browser_as("staff")
    user: User = person.user  # type: ignore[attr-defined]
    admin = browser_as("admin")

    assert location(admin.post(f"/admin/users/{user.id}/password")) == f"/admin/users/{user.id}"

    assert location(person.get("/")) == "/login"
    assert not password_works(app, user, TEST_PASSWORD)
    client = app.test_client()
    client.get(inbox.link_for(user.email))
    client.post(
        "/account/set-up",
        data={"password": CHOSEN, "confirm": CHOSEN, "csrf_token": csrf_token(client, "/account/set-up")},
    )
    assert client.get("/").status_code == 200
    assert password_works(app, user, CHOSEN)


def test_a_link_that_expired_was_replaced_or_belongs_to_a_leaver_does_not_work(
    app: Flask,
    make_user: Callable[..., User],
) -> None:
    """Each gets the same plain answer, so the page tells a guesser nothing."""
    system = Actor.system("tests")
    expired_for, replaced_for, leaver = make_user("staff"), make_user("staff"), make_user("staff")
    expired = setup_links.issue(expired_for, SetupReason.PASSWORD_RESET, actor=system, send=False)
    replaced = setup_links.issue(replaced_for, SetupReason.PASSWORD_RESET, actor=system, send=False)
    newer = setup_links.issue(replaced_for, SetupReason.PASSWORD_RESET, actor=system, send=False)
    gone = setup_links.issue(leaver, SetupReason.PASSWORD_RESET, actor=system, send=False)
    db.session().execute(
        update(SetupLink).where(SetupLink.id == expired.id).values(expires_at=db.utcnow() - dt.timedelta(seconds=1))
    )
    accounts.deactivate(leaver, actor=system)
    db.session().commit()
    for path in (expired.path, replaced.path, gone.path, "/account/set-up/" + "A" * 43):
        response = app.test_client().get(path)
        assert response.status_code == 404, path
        assert "it has been used, has expired (links last 24 hours) or was replaced" in words(response)
    assert location(app.test_client().get(newer.path)) == "/account/set-up"


def test_a_wrong_password_on_a_link_is_refused_and_audited(app: Flask, make_user: Callable[..., User]) -> None:
    """Someone who has the link but not the password of an account that has one gets nowhere."""
    person = make_user("hr", two_factor=False)
    link = setup_links.issue(person, SetupReason.ROLE_GRANTED, actor=Actor.system("tests"), send=False)
    db.session().commit()
    client = app.test_client()
    client.get(link.path)
    wrong = client.post(
        "/account/set-up", data={"password": "not their password", "csrf_token": csrf_token(client, "/account/set-up")}
    )
    assert wrong.status_code == 422
    assert "Your password is not right" in words(wrong)
    assert location(client.get("/account")) == "/login"
    failed = [e for e in actions("user:sign_in_failed") if e[2] == str(person.id)]
    assert failed == [("user:sign_in_failed", person.id, str(person.id))]
    assert setup_links.open_link_for(person) is not None  # still usable by its owner


# --- the operator's command line -----------------------------------------------------------------


def test_the_operator_prints_a_set_up_link_and_command_line_accounts_may_enrol_for_a_day(
    app: Flask,
    make_user: Callable[..., User],
) -> None:
    """``users create`` stays as SPEC says: the operator's account may set up two-factor sign-in with
    its password for 24 hours. ``users setup-link`` prints a working link (and nothing else on stdout)."""
    runner = app.test_cli_runner()
    made = runner.invoke(
        args=[
            "users",
            "create",
            "ops.admin@example.nhs.uk",
            "--name",
            "Ops Admin",
            "--role",
            "admin",
            "--password-stdin",
        ],
        input=TEST_PASSWORD + "\n",
    )
    assert made.exit_code == 0, made.output
    operator_made = accounts.find_user("ops.admin@example.nhs.uk")
    client = app.test_client()
    client.post(
        "/login", data={"email": operator_made.email, "password": TEST_PASSWORD, "csrf_token": csrf_token(client)}
    )  # type: ignore[union-attr]
    assert client.get("/account/two-factor").status_code == 200
    db.session().execute(
        update(User)
        .where(User.email == "ops.admin@example.nhs.uk")
        .values(enrol_with_password_until=db.utcnow() - dt.timedelta(seconds=1))
    )
    db.session().commit()
    assert client.get("/account/two-factor").status_code == 403

    person = make_user("comms", two_factor=False)
    printed = runner.invoke(args=["users", "setup-link", person.email])
    assert printed.exit_code == 0, printed.output
    [line] = printed.stdout.splitlines()
    assert line.startswith("http://127.0.0.1:5000/account/set-up/")
    assert location(app.test_client().get(urlsplit(line).path)) == "/account/set-up"
    assert runner.invoke(args=["users", "setup-link", "nobody@example.nhs.uk"]).exit_code == 1
    assert [(a, actor) for a, actor, obj in actions("user:setup_link") if obj == str(person.id)] == [
        ("user:setup_link", None)
    ]


def test_privileged_roles_come_only_with_approval_however_the_service_is_called(
    make_user: Callable[..., User],
) -> None:
    """The one place roles change refuses a privileged role a person adds without an approved request."""
    admin, other, person = make_user("admin"), make_user("admin"), make_user("staff")
    with pytest.raises(NotPermitted):
        accounts.set_roles(person, ["staff", "comms"], actor=admin)
    change = approvals.change_roles(person, ["staff", "comms"], actor=admin, reason="Joins comms.")
    assert change.request is not None
    stolen = change.request
    with pytest.raises(NotPermitted):  # an unapproved request is no licence
        accounts.set_roles(person, ["staff", "comms"], actor=admin, approved=stolen)
    approvals.approve(stolen, actor=other)
    assert Role.COMMS in person.roles
    db.session().rollback()


def test_demo_sign_ins_print_a_working_set_up_link_for_each_privileged_demo_user(app: Flask) -> None:
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo", "seed"]).exit_code == 0
    printed = runner.invoke(args=["demo", "sign-ins"]).stdout
    links = re.findall(r"http://127\.0\.0\.1:5000(/account/set-up/\S+)", printed)
    privileged = [u for u in db.session().execute(select(User)).scalars() if mfa.requires_two_factor(u)]
    assert len(links) == len(privileged) == 7  # comms x2, auditor, admin x2, hr, on-call
    client = app.test_client()
    assert location(client.get(links[0])) == "/account/set-up"
    assert "Confirm it is you" in words(client.get("/account/set-up"))


def test_people_are_told_when_their_sign_in_details_or_privileges_change(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_user: Callable[..., User],
) -> None:
    """ASVS V2.2.3: a changed password, new recovery codes, a two-factor reset, a line manager recorded and
    a privileged role taken away each tell the person (and comms, for the role), so a change they did not
    make does not go unnoticed."""
    person = browser_as("staff")
    user: User = person.user  # type: ignore[attr-defined]
    comms_member = make_user("comms")
    admin = browser_as("admin")
    manager = make_user("manager")
    auditor = make_user("auditor", "staff")

    person.post("/account/password", {"current_password": TEST_PASSWORD, "new_password": CHOSEN})
    admin.post(f"/admin/users/{user.id}/line-manager", {"manager-line_manager": str(manager.id)})
    admin.post(f"/admin/users/{auditor.id}/roles", {"roles": ["staff"]})
    recovery = browser_as(user=make_user("hr"))
    recovery.post("/account/two-factor/recovery-codes")
    hr: User = recovery.user  # type: ignore[attr-defined]

    assert subjects_to(user) == ["Your password was changed", "Your line manager in the Registry changed"]
    assert subjects_to(auditor) == ["Your Auditor role was removed"]
    assert f"{auditor.name} no longer has the Auditor role" in subjects_to(comms_member)
    assert subjects_to(hr) == ["New recovery codes were made"]
    body = db.session().execute(select(Notification.body).where(Notification.recipient_id == user.id)).scalars().first()
    assert body is not None and "If this was not you" in body


def test_a_set_up_links_token_never_reaches_the_log(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A failure while a link is being opened (here the database is out of reach) logs the route's
    pattern, never the token itself."""
    monkeypatch.setenv("REGISTRY_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(settings_for(f"sqlite:///{tmp_path / 'not-mounted-yet' / 'registry.db'}"))
    token = "Zq" + "x" * 41
    caplog.clear()
    with caplog.at_level(logging.INFO):
        response = app.test_client().get(f"/account/set-up/{token}")
    assert response.status_code == 503
    assert "/account/set-up/<token>" in caplog.text
    assert token not in caplog.text
