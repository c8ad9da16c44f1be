"""Alerts that reach people (issue 14): outgoing webhooks to Teams, Slack and systems taking signed JSON.

Every delivery goes to a real HTTP server on loopback (``http.server`` in a thread on 127.0.0.1:0),
which answers as each test tells it and keeps what it received: the signature is checked here with
the standard library's HMAC from the secret the page showed, never with the code under test.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import flask
import pytest
from flask import Flask
from sqlalchemy import Connection, func, select, update

from registry import alerts, create_app, db
from registry.account_health import services as health
from registry.account_health.rules import TwoFactor
from registry.alerts import services
from registry.alerts.models import AlertEvent, Webhook, WebhookDelivery
from registry.alerts.payloads import check_url
from registry.audit.models import AuditEvent
from registry.auth.models import User
from registry.breaches import services as breaches
from registry.breakglass import services as breakglass
from registry.media import services as media
from registry.notifications.models import Delivery
from tests.conftest import Browser, settings_for
from tests.test_account_health import good as good_answers
from tests.test_audit import allow_tampering
from tests.test_breaches import People, people, report  # noqa: F401  (people: the fixture)
from tests.test_media_contacts import approach
from tests.test_vault import NEW, OLD, entry, invoke, keyed_app

NHS_NUMBER = "943 476 5919"  # a valid NHS number (its check digit holds)
BASE = "https://registry.example.nhs.uk"


# --- the receiver ------------------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A real HTTP server on loopback: answers each POST with the next of ``answers`` (then 200)."""

    port: int = 0
    received: list[Received] = field(default_factory=list)
    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    kept = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802  (http.server's name)
            length = int(self.headers.get("Content-Length") or 0)
            kept.received.append(Received(self.path, dict(self.headers.items()), self.rfile.read(length)))
            status, headers = kept.answers.pop(0) if kept.answers else (200, {})
            body = b"receiver's own words: SECRET-RECEIVER-BODY"
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    kept.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield kept
    server.shutdown()
    server.server_close()


@pytest.fixture
def site(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Flask:
    """The app with a public address, so links in alerts are absolute."""
    settings = dataclasses.replace(app.extensions["registry.settings"], public_base_url=BASE)
    monkeypatch.setitem(app.extensions, "registry.settings", settings)
    return app


def webhook(
    admin: User, url: str, form: str = "json", events: tuple[AlertEvent, ...] = tuple(AlertEvent)
) -> tuple[Webhook, str]:
    with db.transaction():
        return services.create(
            services.Settings(name=f"Hook {form}", url=url, events=[e.value for e in events], format=form), admin
        )


def deliveries() -> list[WebhookDelivery]:
    return list(
        db.session()
        .execute(select(WebhookDelivery).order_by(WebhookDelivery.id).execution_options(populate_existing=True))
        .scalars()
    )


def check_signature(received: Received, secret: str, *, now: float) -> None:
    """What a receiver does: recompute the HMAC of ``<t>.<body>`` and refuse an old timestamp."""
    parts = dict(item.split("=", 1) for item in received.headers["X-Registry-Signature"].split(","))
    timestamp = int(parts["t"])
    assert abs(now - timestamp) < 60
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + received.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected)


# --- delivery ----------------------------------------------------------------------------------


def test_plain_json_is_signed_with_the_secret_and_a_timestamp(
    site: Flask, receiver: Receiver, make_user: Callable[..., User]
) -> None:
    admin = make_user("admin")
    _hook, secret = webhook(admin, receiver.url())
    assert secret.startswith("whsec_") and len(secret) > 40
    with db.transaction():
        alerts.raise_alert(
            AlertEvent.MEDIA_APPROACH,
            title="Urgent: media approach MC-0001",
            text="A journalist asked about the maternity unit.",
            link="/media-contacts/MC-0001",
            facts={"Reference": "MC-0001"},
        )
        assert receiver.received == []  # nothing leaves before the change commits
    [got] = receiver.received
    check_signature(got, secret, now=time.time())
    with pytest.raises(AssertionError):
        check_signature(got, "whsec_another", now=time.time())
    with pytest.raises(AssertionError):  # replayed ten minutes later: refused on its timestamp
        check_signature(got, secret, now=time.time() + 600)
    assert got.headers["Content-Type"].startswith("application/json")
    assert got.headers["X-Registry-Event"] == "media_approach"
    assert got.json() == {
        "event": "media_approach",
        "title": "Urgent: media approach MC-0001",
        "text": "A journalist asked about the maternity unit.",
        "link": f"{BASE}/media-contacts/MC-0001",
        "facts": {"Reference": "MC-0001"},
        "occurred_at": got.json()["occurred_at"],
    }
    [row] = deliveries()
    assert (row.delivery, row.attempts, row.last_status) == (Delivery.SENT.value, 1, 200)


def test_teams_gets_an_adaptive_card_and_slack_text_and_blocks(
    site: Flask, receiver: Receiver, make_user: Callable[..., User]
) -> None:
    admin = make_user("admin")
    webhook(admin, receiver.url("/teams"), "teams")
    webhook(admin, receiver.url("/slack"), "slack")
    with db.transaction():
        alerts.raise_alert(
            "audit_verification_failed",
            title="The audit trail failed verification",
            text="Audit chain broken at event 4 <b>",
            link="/audit",
            facts={"Checked by": "audit verify"},
        )
    by_path = {r.path: r.json() for r in receiver.received}
    teams = by_path["/teams"]
    assert teams["type"] == "message"
    [attachment] = teams["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    texts = [run["text"] for b in card["body"] if b["type"] == "RichTextBlock" for run in b["inlines"]]
    assert texts == ["The audit trail failed verification", "Audit chain broken at event 4 <b>"]
    assert [b["facts"] for b in card["body"] if b["type"] == "FactSet"] == [
        [{"title": "Checked by", "value": "audit verify"}]
    ]
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Open in the Registry", "url": f"{BASE}/audit"}]
    slack = by_path["/slack"]
    assert slack["text"] == "The audit trail failed verification: Audit chain broken at event 4 &lt;b&gt;"
    kinds = [b["type"] for b in slack["blocks"]]
    assert kinds == ["header", "section", "section", "actions"]
    assert slack["blocks"][0]["text"] == {"type": "plain_text", "text": "The audit trail failed verification"}
    assert slack["blocks"][1]["text"]["type"] == "plain_text"  # what people typed is never read as markup
    assert slack["blocks"][3]["elements"][0]["url"] == f"{BASE}/audit"


def test_patient_identifiers_never_reach_the_receiver(
    site: Flask, receiver: Receiver, make_user: Callable[..., User]
) -> None:
    admin = make_user("admin")
    webhook(admin, receiver.url(), "json")
    webhook(admin, receiver.url("/teams"), "teams")
    with db.transaction():
        alerts.raise_alert(
            AlertEvent.MEDIA_APPROACH,
            title=f"Approach about NHS number {NHS_NUMBER}",
            text=f"The journalist quoted NHS number {NHS_NUMBER} and asked for comment.",
            facts={"Patient": f"NHS no. {NHS_NUMBER.replace(' ', '')}"},
        )
    assert len(receiver.received) == 2
    for got in receiver.received:
        raw = got.body.decode()
        assert NHS_NUMBER not in raw and NHS_NUMBER.replace(" ", "") not in raw and "476" not in raw
        assert "asked for comment" in raw
    assert all(NHS_NUMBER.replace(" ", "") not in row.body and "476" not in row.body for row in deliveries())


def test_a_change_that_rolls_back_sends_nothing(
    site: Flask, receiver: Receiver, make_user: Callable[..., User]
) -> None:
    webhook(make_user("admin"), receiver.url())
    with pytest.raises(RuntimeError), db.transaction():
        alerts.raise_alert(AlertEvent.MEDIA_APPROACH, title="Never", text="Never sent.")
        raise RuntimeError("the change failed")
    assert receiver.received == [] and deliveries() == []


def test_only_active_webhooks_taking_the_event_are_sent_to(
    site: Flask, receiver: Receiver, make_user: Callable[..., User]
) -> None:
    admin = make_user("admin")
    webhook(admin, receiver.url("/media"), events=(AlertEvent.MEDIA_APPROACH,))
    webhook(admin, receiver.url("/audit"), events=(AlertEvent.AUDIT_VERIFICATION_FAILED,))
    paused, _ = webhook(admin, receiver.url("/paused"))
    with db.transaction():
        services.pause(paused, admin)
    with db.transaction():
        alerts.raise_alert(AlertEvent.MEDIA_APPROACH, title="Media", text="An approach.")
    assert [r.path for r in receiver.received] == ["/media"]


def test_a_refusal_is_retried_after_its_backoff_and_then_delivered_once(
    site: Flask, receiver: Receiver, make_user: Callable[..., User]
) -> None:
    _hook, secret = webhook(make_user("admin"), receiver.url())
    receiver.answers.append((500, {}))
    with db.transaction():
        alerts.raise_alert(AlertEvent.MEDIA_APPROACH, title="Retry me", text="Body.")
    [row] = deliveries()
    assert (row.delivery, row.attempts, row.last_status) == (Delivery.PENDING.value, 1, 500)
    assert row.last_error == "The receiver answered 500 Internal Server Error"
    assert row.next_attempt_at > db.utcnow() + dt.timedelta(seconds=50)  # a minute's wait
    # Not yet due: `alerts send` leaves it.
    result = site.test_cli_runner().invoke(args=["alerts", "send"])
    assert result.exit_code == 0, result.output
    assert "0 sent, 0 waiting to be retried, 0 failed; 1 waiting in all" in result.output
    assert len(receiver.received) == 1
    # The wait is over.
    db.session().execute(update(WebhookDelivery).values(next_attempt_at=db.utcnow() - dt.timedelta(seconds=1)))
    db.session().commit()
    result = site.test_cli_runner().invoke(args=["alerts", "send"])
    assert "1 sent, 0 waiting to be retried, 0 failed; 0 waiting in all" in result.output
    assert len(receiver.received) == 2 and receiver.received[0].body == receiver.received[1].body
    check_signature(receiver.received[1], secret, now=time.time())
    [row] = deliveries()
    assert (row.delivery, row.attempts, row.last_status, row.last_error) == (Delivery.SENT.value, 2, 200, None)
    site.test_cli_runner().invoke(args=["alerts", "send"])
    assert len(receiver.received) == 2


def test_a_delivery_is_never_sent_twice_across_processes_and_restarts(
    site: Flask,
    receiver: Receiver,
    make_user: Callable[..., User],
    database_url: str,
    connection: Connection,
) -> None:
    webhook(make_user("admin"), receiver.url())
    with db.transaction():
        alerts.raise_alert(AlertEvent.MEDIA_APPROACH, title="Once", text="Only once.")
    assert len(receiver.received) == 1
    # Another process that was waiting claims one the first is sending: it leaves it alone.
    with db.transaction():
        [second] = alerts.raise_alert(AlertEvent.MEDIA_APPROACH, title="Being sent", text="By another process.")
        second.delivery, second.claimed_at = Delivery.SENDING.value, db.utcnow()
    # A restart: a new app (a new process, its own vault from the same keys) sends whatever waits.
    restarted = create_app(
        settings_for(database_url, MASTER_KEYS=site.config["MASTER_KEYS"], AUDIT_KEYS=site.config["AUDIT_KEYS"])
    )
    restarted.extensions["registry.db"].bind_override = connection
    try:
        with restarted.app_context():
            assert services.deliver(db.session()).sent == 0
            db.session().close()
        assert [r.json()["title"] for r in receiver.received] == ["Once"]
        # The process that claimed it died while sending: once the claim is stale, it is sent, once.
        db.session().execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == second.id)
            .values(claimed_at=db.utcnow() - dt.timedelta(minutes=20))
        )
        db.session().commit()
        with restarted.app_context():
            assert services.deliver(db.session()).sent == 1
            assert services.deliver(db.session()).sent == 0
            db.session().close()
    finally:
        restarted.extensions["registry.db"].bind_override = None
    assert [r.json()["title"] for r in receiver.received] == ["Once", "Being sent"]


def test_redirects_are_not_followed_and_a_receiver_is_given_up_after_six_tries(
    site: Flask, receiver: Receiver, make_user: Callable[..., User], browser_as: Callable[..., Browser]
) -> None:
    webhook(make_user("admin"), receiver.url())
    receiver.answers.append((302, {"Location": receiver.url("/elsewhere")}))
    with db.transaction():
        alerts.raise_alert(AlertEvent.MEDIA_APPROACH, title="Moved", text="Body.")
    assert [r.path for r in receiver.received] == ["/hook"]
    [row] = deliveries()
    assert row.last_error == "The receiver answered 302 Found (redirects are not followed)"
    receiver.answers.extend([(503, {})] * 5)
    for _ in range(services.MAX_ATTEMPTS):
        db.session().execute(update(WebhookDelivery).values(next_attempt_at=db.utcnow() - dt.timedelta(seconds=1)))
        db.session().commit()
        services.deliver(db.session())
    [row] = deliveries()
    assert (row.delivery, row.attempts) == (Delivery.FAILED.value, services.MAX_ATTEMPTS)
    assert len(receiver.received) == services.MAX_ATTEMPTS
    admin = browser_as("admin")
    home = admin.get("/")
    assert '<span class="app-count">1</span> alert not delivered to a webhook in 7 days' in home.text
    page = admin.get("/admin/webhooks/deliveries?delivery=failed")
    assert page.status_code == 200
    assert "Could not be sent" in page.text and "6 attempts: The receiver answered 503 Service Unavailable" in page.text
    assert "SECRET-RECEIVER-BODY" not in page.text
    assert "1 alert could not be delivered in the last 7 days" in " ".join(admin.get("/admin/webhooks").text.split())


def test_an_unreachable_receiver_is_a_short_reason(
    site: Flask, receiver: Receiver, make_user: Callable[..., User]
) -> None:
    webhook(make_user("admin"), "http://127.0.0.1:1/closed")
    with db.transaction():
        alerts.raise_alert(AlertEvent.MEDIA_APPROACH, title="Nobody there", text="Body.")
    [row] = deliveries()
    assert (row.delivery, row.last_status) == (Delivery.PENDING.value, None)
    assert row.last_error == "Could not reach the receiver (ConnectionRefusedError)"


# --- the addresses allowed ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "loopback", "message"),
    [
        ("https://prod-01.westeurope.logic.azure.com/workflows/abc?sig=x", False, None),
        ("https://hooks.slack.com/services/T0/B0/abc", False, None),
        ("http://127.0.0.1:8080/hook", True, None),
        ("http://[::1]:8080/hook", True, None),
        ("", False, "Enter the web address the Registry sends alerts to"),
        (
            "hooks.slack.com/services/x",
            False,
            "Enter a full web address starting with https://, for example https://example.org/hooks/alerts",
        ),
        (
            "ftp://example.org/hook",
            False,
            "Enter a full web address starting with https://, for example https://example.org/hooks/alerts",
        ),
        (
            "http://example.org/hook",
            True,
            "The web address must start with https:// (alerts are never sent unencrypted)",
        ),
        (
            "http://127.0.0.1:8080/hook",
            False,
            "The web address must start with https://: plain http to this computer is allowed only in "
            "development and testing, or with REGISTRY_WEBHOOKS_ALLOW_HTTP_LOOPBACK",
        ),
        (
            "https://user:pass@example.org/hook",
            False,
            "Remove the user name and password from the web address: the Registry never sends them",
        ),
        ("https://example.org/a b", False, "The web address must not contain spaces"),
        (
            "https://example.org:99999/hook",
            False,
            "Enter a full web address starting with https://, for example https://example.org/hooks/alerts",
        ),
        ("https://example.org/" + "a" * 2000, False, "The web address must be 2000 characters or fewer"),
    ],
)
def test_webhook_addresses(url: str, loopback: bool, message: str | None) -> None:
    assert check_url(url, allow_http_loopback=loopback) == message


def test_http_to_loopback_needs_testing_or_the_switch_in_production(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    from config import Environment

    assert services.allow_http_loopback()  # the tests run as "testing"
    production = dataclasses.replace(app.extensions["registry.settings"], env=Environment.PRODUCTION)
    monkeypatch.setitem(app.extensions, "registry.settings", production)
    assert not services.allow_http_loopback()
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOW_HTTP_LOOPBACK", True)
    assert services.allow_http_loopback()


# --- the pages ---------------------------------------------------------------------------------


def _form(url: str, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Comms on-call",
        "url": url,
        "events": ["media_approach", "breach_reputational_risk"],
        "format": "teams",
    }
    data.update(changes)
    return data


def test_an_administrator_adds_a_webhook_and_sees_its_secret_once(
    site: Flask, receiver: Receiver, browser_as: Callable[..., Browser], connection: Connection
) -> None:
    admin = browser_as("admin")
    url = receiver.url("/workflows/abc?sig=TOKEN-IN-THE-ADDRESS")
    made = admin.post("/admin/webhooks/new", _form(url, format="json"))
    assert made.status_code == 200, made.text
    assert made.headers["Cache-Control"] == "no-store"
    secret = made.text.split('id="secret">', 1)[1].split("<", 1)[0].strip()
    assert secret.startswith("whsec_")
    [hook] = db.session().execute(select(Webhook)).scalars()
    assert hook.host == "127.0.0.1" and hook.events == "media_approach,breach_reputational_risk"
    # Neither the secret nor the address (a credential for Teams and Slack) is stored or audited in the clear.
    row = connection.exec_driver_sql("SELECT * FROM webhooks").one()
    stored = repr(tuple(row))
    assert secret not in stored and "TOKEN-IN-THE-ADDRESS" not in stored
    [event] = db.session().execute(select(AuditEvent).where(AuditEvent.action == "webhook:create")).scalars()
    assert event.actor_id == admin.user.id  # type: ignore[attr-defined]
    assert secret not in event.details and "TOKEN-IN-THE-ADDRESS" not in event.details and "127.0.0.1" in event.details
    listed = admin.get("/admin/webhooks")
    assert "Comms on-call" in listed.text and secret not in listed.text and "TOKEN-IN-THE-ADDRESS" not in listed.text
    assert "TOKEN-IN-THE-ADDRESS" not in admin.get(f"/admin/webhooks/{hook.id}").text
    # The secret it showed is the one deliveries are signed with.
    with db.transaction():
        alerts.raise_alert(AlertEvent.MEDIA_APPROACH, title="Signed", text="Body.")
    check_signature(receiver.received[-1], secret, now=time.time())
    assert receiver.received[-1].path == "/workflows/abc?sig=TOKEN-IN-THE-ADDRESS"
    # Rolling the secret shows a new one once; the old one no longer verifies.
    rolled = admin.post(f"/admin/webhooks/{hook.id}/roll-secret")
    assert rolled.status_code == 200 and rolled.headers["Cache-Control"] == "no-store"
    new_secret = rolled.text.split('id="secret">', 1)[1].split("<", 1)[0].strip()
    assert new_secret.startswith("whsec_") and new_secret != secret
    with db.transaction():
        alerts.raise_alert(AlertEvent.MEDIA_APPROACH, title="Signed again", text="Body.")
    check_signature(receiver.received[-1], new_secret, now=time.time())
    with pytest.raises(AssertionError):
        check_signature(receiver.received[-1], secret, now=time.time())


def test_bad_input_is_refused_with_a_message_and_nothing_is_stored(
    site: Flask, browser_as: Callable[..., Browser]
) -> None:
    admin = browser_as("admin")
    refused = admin.post("/admin/webhooks/new", _form("http://example.org/hook", events=[], format="", name=""))
    assert refused.status_code == 422
    text = " ".join(refused.text.split())
    assert "The web address must start with https:// (alerts are never sent unencrypted)" in text
    assert "Choose at least one event to send" in text
    assert "Choose the format the receiver expects" in text
    assert "Enter a name for the webhook" in text
    with_password = admin.post("/admin/webhooks/new", _form("https://ann:hunter2@example.org/hook"))
    assert with_password.status_code == 422
    assert "Remove the user name and password from the web address" in with_password.text
    assert db.session().execute(select(func.count()).select_from(Webhook)).scalar_one() == 0
    assert (
        db.session()
        .execute(select(func.count()).select_from(AuditEvent).where(AuditEvent.action.like("webhook:%")))
        .scalar_one()
        == 0
    )


def test_edit_pause_resume_and_delete_are_each_audited(
    site: Flask, receiver: Receiver, browser_as: Callable[..., Browser]
) -> None:
    admin = browser_as("admin")
    hook, _secret = webhook(admin.user, receiver.url("/old"))  # type: ignore[attr-defined]
    edited = admin.post(f"/admin/webhooks/{hook.id}", _form("", name="Renamed", format="slack"))
    assert edited.status_code == 302, edited.text
    db.session().refresh(hook)
    assert (hook.name, hook.format) == ("Renamed", "slack")
    with db.transaction():
        alerts.raise_alert(AlertEvent.MEDIA_APPROACH, title="Kept address", text="Body.")
    assert receiver.received[-1].path == "/old"  # a blank address keeps the one it had
    assert admin.post(f"/admin/webhooks/{hook.id}", _form(receiver.url("/new"))).status_code == 302
    assert admin.post(f"/admin/webhooks/{hook.id}/pause").status_code == 302
    assert admin.post(f"/admin/webhooks/{hook.id}/pause").status_code == 302  # already paused: said, nothing changes
    with db.transaction():
        assert alerts.raise_alert(AlertEvent.MEDIA_APPROACH, title="Paused", text="Body.") == []
    assert admin.post(f"/admin/webhooks/{hook.id}/resume").status_code == 302
    with db.transaction():
        alerts.raise_alert(AlertEvent.MEDIA_APPROACH, title="New address", text="Body.")
    assert receiver.received[-1].path == "/new"
    assert admin.post(f"/admin/webhooks/{hook.id}/delete").status_code == 302
    assert admin.get(f"/admin/webhooks/{hook.id}").status_code == 404
    assert "Renamed" not in admin.get("/admin/webhooks").text
    with db.transaction():
        assert alerts.raise_alert(AlertEvent.MEDIA_APPROACH, title="Deleted", text="Body.") == []
    actions = list(
        db.session()
        .execute(
            select(AuditEvent.action)
            .where(AuditEvent.object_type == "webhook", AuditEvent.object_id == str(hook.id))
            .order_by(AuditEvent.seq)
        )
        .scalars()
    )
    assert actions == [
        "webhook:create",
        "webhook:update",
        "webhook:update",
        "webhook:pause",
        "webhook:resume",
        "webhook:delete",
    ]
    assert db.session().get(Webhook, hook.id) is not None  # deleted softly: its deliveries still name it


def test_auditors_read_the_list_and_only_administrators_change_it(
    site: Flask, receiver: Receiver, browser_as: Callable[..., Browser], make_user: Callable[..., User]
) -> None:
    hook, _ = webhook(make_user("admin"), receiver.url())
    auditor = browser_as("auditor")
    listed = auditor.get("/admin/webhooks")
    assert listed.status_code == 200 and "Hook json" in listed.text and "Add a webhook" not in listed.text
    assert auditor.get("/admin/webhooks/deliveries").status_code == 200
    assert auditor.get("/admin/webhooks/new").status_code == 403
    assert auditor.post(f"/admin/webhooks/{hook.id}/pause").status_code == 403
    for role in ("staff", "comms", "hr", "manager"):
        assert browser_as(role).get("/admin/webhooks").status_code == 403


# --- the events wired today ----------------------------------------------------------------------


def test_an_urgent_media_approach_raises_an_alert_with_identifiers_masked(
    site: Flask, receiver: Receiver, make_user: Callable[..., User]
) -> None:
    webhook(make_user("admin"), receiver.url(), events=(AlertEvent.MEDIA_APPROACH,))
    make_user("comms")
    reporter = make_user("staff")
    with db.transaction():
        contact = media.log_approach(
            approach(enquiry=f"Asked about the patient with NHS number {NHS_NUMBER}."), [], reporter
        )
        assert receiver.received == []
    [got] = receiver.received
    sent = got.json()
    assert sent["event"] == "media_approach" and sent["facts"]["Reference"] == contact.reference
    assert sent["link"] == f"{BASE}/media-contacts/{contact.reference}"
    assert "Asked about the patient" in sent["text"] and "476" not in got.body.decode()


def test_a_breach_flagged_as_a_reputational_risk_raises_an_alert_naming_only_its_reference(
    site: Flask,
    receiver: Receiver,
    make_user: Callable[..., User],
    people: People,  # noqa: F811
) -> None:
    webhook(make_user("admin"), receiver.url(), events=(AlertEvent.BREACH_REPUTATIONAL_RISK,))
    at_once = report(people, reputational_risk=True)
    later = report(people)
    breaches.flag(later, people.manager, note="A local journalist has shared it.")
    db.session().commit()
    services.deliver(db.session())
    sent = sorted((r.json() for r in receiver.received), key=lambda s: s["facts"]["Reference"])
    assert [s["facts"] for s in sent] == [{"Reference": at_once.reference}, {"Reference": later.reference}]
    for s in sent:
        assert s["event"] == "breach_reputational_risk"
        assert "journalist" not in json.dumps(s) and people.subject.name not in json.dumps(s)


def test_audit_verify_that_fails_raises_an_alert(
    site: Flask, receiver: Receiver, make_user: Callable[..., User], connection: Connection
) -> None:
    webhook(make_user("admin"), receiver.url(), events=(AlertEvent.AUDIT_VERIFICATION_FAILED,))
    make_user("auditor")
    ok = site.test_cli_runner().invoke(args=["audit", "verify"])
    assert ok.exit_code == 0 and receiver.received == []
    allow_tampering(connection)
    connection.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(actor="Mallory"))
    broken = site.test_cli_runner().invoke(args=["audit", "verify"])
    assert broken.exit_code == 1
    [got] = receiver.received
    assert got.json()["event"] == "audit_verification_failed"
    assert "Audit chain broken at event 2" in got.json()["text"]


def test_a_break_glass_access_opened_at_night_reaches_the_webhooks_once_it_commits(
    site: Flask, receiver: Receiver, make_user: Callable[..., User], make_channel: Callable[..., Any]
) -> None:
    webhook(make_user("admin"), receiver.url(), form="teams", events=(AlertEvent.BREAK_GLASS_OPENED,))
    make_user("comms")
    channel = make_channel(status="active")
    on_call = make_user("on-call")
    flask.g.auth_method = "token"  # an API token counts as a fresh second factor
    try:
        with db.transaction():
            access = breakglass.open_access(
                channel.reference, ["password"], "INC-0042", f"Hijacked; NHS number {NHS_NUMBER} posted.", on_call
            )
            assert receiver.received == []  # nothing leaves before the access is committed
    finally:
        flask.g.pop("auth_method", None)
    [got] = receiver.received
    card = json.dumps(got.json())
    assert channel.reference in card and on_call.name in card and "INC-0042" in card
    assert f"{BASE}/break-glass/{access.reference}" in card
    assert "476" not in card  # the screener masked the NHS number


def test_an_account_security_check_that_needs_attention_reaches_the_webhooks_and_a_healthy_one_does_not(
    site: Flask, receiver: Receiver, make_user: Callable[..., User], make_channel: Callable[..., Any]
) -> None:
    webhook(make_user("admin"), receiver.url(), form="slack", events=(AlertEvent.HEALTH_CHECK_FAILED,))
    comms = make_user("comms")
    channel = make_channel(status="active")
    with db.transaction():
        health.record_check(channel, good_answers(recovery_email_domain="nhs.net"), comms)
    assert receiver.received == []
    with db.transaction():
        health.record_check(
            channel,
            good_answers(recovery_email_domain="nhs.net", two_factor=TwoFactor.SMS, notes=f"Pt {NHS_NUMBER}"),
            comms,
        )
        assert receiver.received == []
    [got] = receiver.received
    slack = json.dumps(got.json())
    assert channel.reference in slack and "SMS" in slack and comms.name in slack
    assert f"{BASE}/channels/{channel.reference}/health" in slack
    assert "476" not in slack  # the check's notes never go out


class TestKeyRotation:
    """Webhooks sealed under the master key "old"; then "new" is configured first and ``keys rotate`` runs."""

    @pytest.fixture
    def app_settings(self) -> dict[str, Any]:
        return {"MASTER_KEYS": entry(OLD)}

    def test_keys_rotate_moves_webhooks_onto_the_new_master_key(
        self, app: Flask, receiver: Receiver, make_user: Callable[..., User], database_url: str, connection: Connection
    ) -> None:
        hook, secret = webhook(make_user("admin"), receiver.url())
        assert hook.key_id == "old"
        rotated = invoke(keyed_app(database_url, connection, NEW, OLD), "keys", "rotate")
        assert rotated.exit_code == 0, rotated.output
        new_only = keyed_app(database_url, connection, NEW)
        assert invoke(new_only, "keys", "verify").exit_code == 0
        with new_only.app_context():
            assert db.session().get(Webhook, hook.id).key_id == "new"  # type: ignore[union-attr]
            with db.transaction():
                alerts.raise_alert(AlertEvent.MEDIA_APPROACH, title="After rotation", text="Body.")
            db.session().close()
        check_signature(receiver.received[-1], secret, now=time.time())


def test_the_audit_page_that_finds_the_trail_broken_raises_an_alert(
    site: Flask,
    receiver: Receiver,
    make_user: Callable[..., User],
    browser_as: Callable[..., Browser],
    connection: Connection,
) -> None:
    webhook(make_user("admin"), receiver.url(), events=(AlertEvent.AUDIT_VERIFICATION_FAILED,))
    auditor = browser_as("auditor")
    assert auditor.post("/audit/verify").status_code == 200 and receiver.received == []
    allow_tampering(connection)
    connection.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(actor="Mallory"))
    page = auditor.post("/audit/verify")
    assert page.status_code == 200
    [got] = receiver.received
    assert got.json()["event"] == "audit_verification_failed"
    assert got.json()["facts"] == {"Checked by": auditor.user.name}  # type: ignore[attr-defined]


def test_reminders_send_also_retries_an_alert_whose_wait_is_over(
    site: Flask, receiver: Receiver, make_user: Callable[..., User]
) -> None:
    webhook(make_user("admin"), receiver.url())
    receiver.answers.append((500, {}))
    with db.transaction():
        alerts.raise_alert(AlertEvent.MEDIA_APPROACH, title="Daily safety net", text="Body.")
    db.session().execute(update(WebhookDelivery).values(next_attempt_at=db.utcnow() - dt.timedelta(seconds=1)))
    db.session().commit()
    assert site.test_cli_runner().invoke(args=["reminders", "send"]).exit_code == 0
    assert len(receiver.received) == 2
    [row] = deliveries()
    assert (row.delivery, row.attempts) == (Delivery.SENT.value, 2)
