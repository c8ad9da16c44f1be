"""Notifications, the daily reminders, each person's messages, the outbox, the comms work
queue and each person's open requests.

E-mail goes through a real SMTP server (aiosmtpd) on a free local port.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import socket
from collections.abc import Callable, Iterator
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import func, select

from config import ConfigError
from registry import clock, create_app, db
from registry.audit.models import AuditAction, AuditEvent
from registry.auth.models import User
from registry.channels import services as channels
from registry.channels.models import Channel
from registry.notifications import reminders
from registry.notifications import services as notifications
from registry.notifications.models import Delivery, Notification
from registry.vault import services as custody
from tests.conftest import Browser, settings_for


class Inbox:
    """An SMTP server's handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.envelopes: list[Any] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # aiosmtpd calls it so
        self.envelopes.append(envelope)
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def messages_to(user: User) -> list[Notification]:
    return list(db.session().execute(notifications.messages_of(user)).scalars())


def count(model: type) -> int:
    return db.session().execute(select(func.count()).select_from(model)).scalar_one()


# --- without an e-mail server ------------------------------------------------------------------


def test_a_message_is_kept_in_the_outbox_and_read_by_its_recipient_only(
    app: Flask, make_user: Callable[..., User], browser_as: Callable[..., Browser]
) -> None:
    reader = browser_as("staff")
    other = browser_as("staff")
    [note] = notifications.notify(
        reader.user,
        event="test:hello",
        subject="Your request was approved",
        body="Line one.\nLine two.\n\nNext <b>para</b>.",
        link="/channels/CH-0001",
    )
    db.session().commit()
    assert note.delivery == Delivery.KEPT.value

    listing = reader.get("/messages")
    assert listing.status_code == 200
    assert "Your request was approved" in listing.text
    assert "No e-mail server is set up here" in listing.text
    opened = reader.get(f"/messages/{note.id}")
    assert opened.status_code == 200
    assert "Line one.<br>Line two." in opened.text
    assert "&lt;b&gt;para&lt;/b&gt;" in opened.text  # bodies are text, never markup
    assert 'href="/channels/CH-0001"' in opened.text

    assert other.get(f"/messages/{note.id}").status_code == 404
    assert "Your request was approved" not in other.get("/messages").text


def test_people_who_have_left_get_nothing_and_each_person_gets_one_copy(
    app: Flask, make_user: Callable[..., User]
) -> None:
    stays, leaves = make_user("staff"), make_user("staff")
    leaves.active = False
    sent = notifications.notify([stays, stays, leaves], event="test:x", subject="Hello", body="Body")
    assert [n.recipient_id for n in sent] == [stays.id]


def test_a_one_off_message_is_not_queued_twice(app: Flask, make_user: Callable[..., User]) -> None:
    person = make_user("staff")
    first = notifications.notify(person, event="test:x", subject="Once", body="Body", dedupe_key="once:1")
    again = notifications.notify(person, event="test:x", subject="Once", body="Body", dedupe_key="once:1")
    assert len(first) == 1 and again == []


def test_the_comms_team_is_told_but_not_the_member_who_acted(app: Flask, make_user: Callable[..., User]) -> None:
    acting, colleague = make_user("comms"), make_user("comms")
    staff = make_user("staff")
    sent = notifications.notify_comms(event="test:x", subject="New", body="Body", exclude=acting)
    recipients = {n.recipient_id for n in sent}
    assert colleague.id in recipients
    assert acting.id not in recipients and staff.id not in recipients


# --- channel requests tell the people who must act ----------------------------------------------


def test_a_channel_request_tells_comms_and_a_decision_tells_the_requester(
    app: Flask, make_user: Callable[..., User], make_channel: Callable[..., Channel]
) -> None:
    requester = make_user("staff", name="Rhea Quester")
    decider, colleague = make_user("comms"), make_user("comms")
    channel = make_channel("requested", requester=requester, display_name="Maternity news")
    [told] = messages_to(colleague)
    assert told.subject == f"New channel request {channel.reference}: Maternity news on {channel.platform_label}"
    assert "Rhea Quester" in told.body and told.link == f"/channels/{channel.reference}"

    channels.transition(channel, "request_info", decider, reason="Who will answer messages at weekends?")
    db.session().commit()
    [asked] = messages_to(requester)
    assert asked.subject == f"{channel.reference} needs more information"
    assert "Who will answer messages at weekends?" in asked.body
    assert all(n.event != "channel:request_info" for n in messages_to(decider))


def test_the_person_who_acted_on_their_own_channel_is_not_told(
    app: Flask, make_user: Callable[..., User], make_channel: Callable[..., Channel]
) -> None:
    requester = make_user("staff")
    channel = make_channel("requested", requester=requester)
    channels.transition(channel, "withdraw", requester, reason="No longer needed.")
    db.session().commit()
    assert messages_to(requester) == []


# --- e-mail through SMTP -----------------------------------------------------------------------


@pytest.fixture
def smtp_app(app: Flask, smtp: tuple[Inbox, int], monkeypatch: pytest.MonkeyPatch) -> tuple[Flask, Inbox]:
    inbox, port = smtp
    app.config.update(
        SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_SECURITY="none", SMTP_FROM="Registry <registry@example.nhs.uk>"
    )
    settings = dataclasses.replace(
        app.extensions["registry.settings"], public_base_url="https://registry.example.nhs.uk"
    )
    monkeypatch.setitem(app.extensions, "registry.settings", settings)
    return app, inbox


def test_messages_are_e_mailed_once_the_change_commits(
    smtp_app: tuple[Flask, Inbox], make_user: Callable[..., User]
) -> None:
    _app, inbox = smtp_app
    person = make_user("staff", name="Ann Example", email="ann@example.nhs.uk")
    with db.transaction():
        [note] = notifications.notify(
            person,
            event="test:x",
            subject="Your consent expires soon",
            body="Please renew it.",
            link="/consents/LC-2026-0001",
        )
        assert note.delivery == Delivery.PENDING.value
        assert inbox.messages == []  # nothing leaves before the change is committed
    assert len(inbox.messages) == 1
    mail = inbox.messages[0]
    assert mail["To"] == "Ann Example <ann@example.nhs.uk>"
    assert mail["From"] == "Registry <registry@example.nhs.uk>"
    assert mail["Subject"] == "Your consent expires soon"
    text = mail.get_payload(decode=True).decode()
    assert "Please renew it." in text and "https://registry.example.nhs.uk/consents/LC-2026-0001" in text
    db.session().refresh(note)
    assert note.delivery == Delivery.SENT.value and note.sent_at is not None and note.attempts == 1


def test_a_change_that_rolls_back_sends_nothing(smtp_app: tuple[Flask, Inbox], make_user: Callable[..., User]) -> None:
    _app, inbox = smtp_app
    person = make_user("staff")
    with pytest.raises(RuntimeError), db.transaction():
        notifications.notify(person, event="test:x", subject="Never", body="Never sent.")
        raise RuntimeError("the change failed")
    assert inbox.messages == []
    assert messages_to(person) == []


def test_a_request_that_fails_sends_nothing_and_one_that_succeeds_sends(
    smtp_app: tuple[Flask, Inbox], make_user: Callable[..., User], browser_as: Callable[..., Browser]
) -> None:
    _app, inbox = smtp_app
    make_user("comms", email="comms-desk@example.nhs.uk")
    staff = browser_as("staff")
    refused = staff.post("/channels/new", data={"platform": "x", "handle": "", "display_name": ""})
    assert refused.status_code == 422
    assert inbox.messages == []
    made = staff.post(
        "/channels/new",
        data={
            "platform": "x",
            "handle": "@trust_mail_test",
            "display_name": "Mail test",
            "department": "Maternity",
            "purpose": "Updates for parents.",
            "audience": "Parents",
            "posting_plan": "Midwives",
            "moderation_plan": "Midwives",
            "out_of_hours": "On-call comms",
            "sponsor": "Head of Midwifery",
            "proposed_administrators": "Ann Smith",
            "policy_acknowledged": "y",
        },
    )
    assert made.status_code == 302, made.text
    assert [m["To"] for m in inbox.messages if "comms-desk" in m["To"]]


def test_links_use_the_registrys_own_address_never_the_requests_host(
    smtp_app: tuple[Flask, Inbox], make_user: Callable[..., User]
) -> None:
    """Whoever sends a request chooses its Host header: e-mailed links must not follow it."""
    app, inbox = smtp_app
    person = make_user("staff")
    with app.test_request_context("/channels/new", base_url="http://evil.example"), db.transaction():
        notifications.notify(person, event="test:x", subject="Linked", body="Body", link="/channels/CH-0001")
    text = inbox.messages[0].get_payload(decode=True).decode()
    assert "https://registry.example.nhs.uk/channels/CH-0001" in text and "evil.example" not in text


def test_a_message_being_sent_by_another_process_is_not_sent_again(
    smtp_app: tuple[Flask, Inbox], make_user: Callable[..., User]
) -> None:
    _app, inbox = smtp_app
    person = make_user("staff")
    [note] = notifications.notify(person, event="test:x", subject="Once only", body="Body")
    note.delivery, note.claimed_at = Delivery.SENDING.value, db.utcnow()
    db.session().commit()
    assert notifications.deliver(db.session()).sent == 0
    assert inbox.messages == []
    note.claimed_at = db.utcnow() - dt.timedelta(minutes=20)  # its process died while sending
    db.session().commit()
    assert notifications.deliver(db.session()).sent == 1
    assert [m["Subject"] for m in inbox.messages] == ["Once only"]


def test_an_unreachable_server_is_retried_and_given_up_after_five_attempts(
    app: Flask, make_user: Callable[..., User]
) -> None:
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=_free_port(), SMTP_SECURITY="none")
    person = make_user("staff")
    with db.transaction():
        [note] = notifications.notify(person, event="test:x", subject="Hello", body="Body")
    db.session().refresh(note)
    assert note.delivery == Delivery.PENDING.value and note.attempts == 1
    assert note.last_error == "Could not reach the e-mail server (ConnectionRefusedError)."
    for _ in range(4):
        notifications.deliver(db.session())
    db.session().refresh(note)
    assert note.delivery == Delivery.FAILED.value and note.attempts == notifications.MAX_ATTEMPTS


def test_the_smtp_password_never_reaches_the_log_or_the_outbox(
    app: Flask, make_user: Callable[..., User], caplog: pytest.LogCaptureFixture
) -> None:
    secret = "smtp-Pa55word-never-logged"
    app.config.update(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=_free_port(),
        SMTP_SECURITY="none",
        SMTP_USERNAME="registry",
        SMTP_PASSWORD=secret,
    )
    person = make_user("staff")
    with caplog.at_level("DEBUG"), db.transaction():
        notifications.notify(person, event="test:x", subject="Hello", body="Body")
    assert secret not in caplog.text
    assert all(secret not in (n.last_error or "") for n in messages_to(person))


# --- the daily reminders ---------------------------------------------------------------------


def test_reminders_give_each_comms_member_one_digest_of_what_is_due_once_a_day(
    app: Flask, make_user: Callable[..., User], make_channel: Callable[..., Channel]
) -> None:
    comms = make_user("comms")
    waiting = make_channel("requested")
    active = make_channel("active")
    credential = custody.store(active, "password", "correct horse battery staple 1", "Taking custody.", comms)
    credential.rotation_due_on = clock.today() - dt.timedelta(days=1)
    db.session().commit()
    with db.transaction():
        report = reminders.send()
    assert report.digests >= 1
    [digest] = [n for n in messages_to(comms) if n.event == "reminders:digest"]
    assert "- 1 request waits for the communications team; the oldest has waited 0 days." in digest.body
    assert "- 1 credential is overdue for rotation or must be rotated." in digest.body
    assert digest.link == "/queue"
    assert waiting.reference not in digest.body  # a digest counts; the queue names

    with db.transaction():
        again = reminders.send()
    assert again.digests == 0
    assert len([n for n in messages_to(comms) if n.event == "reminders:digest"]) == 1
    events = (
        db.session()
        .execute(select(AuditEvent).where(AuditEvent.action == AuditAction.REMINDERS_SEND.value))
        .scalars()
        .all()
    )
    assert len(events) == 2


def test_a_quiet_day_sends_no_digest(app: Flask, make_user: Callable[..., User]) -> None:
    comms = make_user("comms")
    with db.transaction():
        report = reminders.send()
    assert report.digests == 0 and report.due == []
    assert messages_to(comms) == []


def test_reminders_send_on_the_command_line_says_what_it_did(
    app: Flask, make_user: Callable[..., User], make_channel: Callable[..., Channel]
) -> None:
    make_user("comms")
    make_channel("requested")
    result = app.test_cli_runner().invoke(args=["reminders", "send"])
    assert result.exit_code == 0, result.output
    assert "2 digests to the communications team; 0 consent expiry reminders;" in result.output
    assert "no SMTP server is set up, so they are kept in the outbox" in result.output


# --- pages ---------------------------------------------------------------------------------------


def test_the_work_queue_lists_every_waiting_request_oldest_first_with_its_age(
    app: Flask, make_channel: Callable[..., Channel], browser_as: Callable[..., Browser]
) -> None:
    older = make_channel("requested", display_name="Older request")
    newer = make_channel("approved", display_name="Newer request")
    make_channel("active", display_name="Already live")
    older.status_changed_at = db.utcnow() - dt.timedelta(days=12)
    db.session().commit()
    page = browser_as("comms").get("/queue")
    assert page.status_code == 200
    assert page.text.index(older.reference) < page.text.index(newer.reference)
    assert "12 days" in page.text
    assert "Already live" not in page.text


def test_the_work_queue_runs_the_same_statements_for_5_and_40_requests(
    app: Flask,
    make_channel: Callable[..., Channel],
    browser_as: Callable[..., Browser],
    count_queries: Callable[[], Any],
) -> None:
    comms = browser_as("comms")
    for _ in range(5):
        make_channel("requested")
    comms.get("/queue")
    with count_queries() as few:
        comms.get("/queue")
    for _ in range(35):
        make_channel("requested")
    with count_queries() as many:
        comms.get("/queue")
    assert many.n == few.n


def test_your_open_requests_put_what_waits_for_you_first(
    app: Flask, make_user: Callable[..., User], make_channel: Callable[..., Channel], browser_as: Callable[..., Browser]
) -> None:
    me = browser_as("staff")
    mine_waiting = make_channel("requested", requester=me.user, display_name="Still with comms")
    mine_asked = make_channel("info_requested", requester=me.user, display_name="Needs my answer")
    make_channel("active", requester=me.user, display_name="Already live")
    make_channel("requested", display_name="Someone else's")
    page = me.get("/requests")
    assert page.status_code == 200
    assert page.text.index(mine_asked.reference) < page.text.index(mine_waiting.reference)
    assert "Waiting for you" in page.text
    assert "Already live" not in page.text and "Someone else" not in page.text


def test_only_administrators_read_the_outbox(
    app: Flask, make_user: Callable[..., User], browser_as: Callable[..., Browser]
) -> None:
    person = make_user("staff", name="Outbox Person")
    notifications.notify(person, event="test:x", subject="Outbox subject line", body="Body")
    db.session().commit()
    admin = browser_as("admin")
    page = admin.get("/outbox")
    assert page.status_code == 200
    assert "Outbox subject line" in page.text and "In the outbox (no e-mail server set up)" in page.text
    assert "Outbox subject line" not in admin.get("/outbox?delivery=sent").text
    for role in ("staff", "comms", "auditor"):
        assert browser_as(role).get("/outbox").status_code == 403


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"SMTP_SECURITY": "tls1.0"}, "REGISTRY_SMTP_SECURITY must be starttls, ssl or none."),
        ({"SMTP_PORT": "mail"}, "REGISTRY_SMTP_PORT must be a port number from 1 to 65535."),
        ({"SMTP_PORT": 70000}, "REGISTRY_SMTP_PORT must be a port number from 1 to 65535."),
        (
            {},
            (
                "REGISTRY_SMTP_HOST is set, so set REGISTRY_PUBLIC_BASE_URL too (the Registry's address, "
                "e.g. https://registry.example.nhs.uk): e-mails link to it."
            ),
        ),
    ],
)
def test_e_mail_settings_that_cannot_work_stop_the_app_starting(
    database_url: str, setting: dict[str, Any], message: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGISTRY_INSTANCE_PATH", str(tmp_path))
    with pytest.raises(ConfigError) as refused:
        create_app(settings_for(database_url, SMTP_HOST="smtp.example.nhs.uk", **setting))
    assert str(refused.value) == message
