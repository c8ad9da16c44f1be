"""Security review of issue 14 (break-glass access, outgoing webhooks): each test is a problem found
in review, proved against the real thing (a real HTTP receiver on loopback, the real database)."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import flask
import pytest
from flask import Flask
from sqlalchemy import delete, select, update

from registry import alerts, db
from registry.alerts import services
from registry.alerts.models import AlertEvent, WebhookDelivery
from registry.auth.models import User, UserRole
from registry.breakglass import services as breakglass
from registry.channels.models import Channel
from registry.errors import NotPermitted
from registry.media import services as media
from registry.notifications.models import Delivery
from tests.conftest import Browser
from tests.test_alerts import Receiver, receiver, site, webhook  # noqa: F401  (receiver, site: fixtures)
from tests.test_breakglass import PASSWORD, credential, in_custody, opened
from tests.test_media_contacts import approach

#: What any member of staff may type into a media approach: a Markdown link whose words hide where it
#: goes, and Slack's control sequences (a mention of everyone, a link with other words).
LURE = "[Sign in to the Registry](https://evil.example/phish) <!channel> <https://evil.example/x|the Registry>"


def _markdown_read(node: Any) -> Iterator[str]:
    """Every string an Adaptive Card renderer reads as Markdown: a TextBlock's text and each fact's
    title and value (Microsoft's card format documentation); a RichTextBlock's TextRuns are literal."""
    if isinstance(node, dict):
        if node.get("type") == "TextBlock":
            yield str(node.get("text", ""))
        if node.get("type") == "FactSet":
            for fact in node.get("facts", []):
                yield str(fact.get("title", ""))
                yield str(fact.get("value", ""))
        for value in node.values():
            yield from _markdown_read(value)
    elif isinstance(node, list):
        for item in node:
            yield from _markdown_read(item)


def _literal_runs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if node.get("type") == "TextRun":
            yield str(node.get("text", ""))
        for value in node.values():
            yield from _literal_runs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _literal_runs(item)


def test_what_staff_type_is_never_read_as_markup_by_teams_or_slack(
    site: Flask,  # noqa: F811
    receiver: Receiver,  # noqa: F811
    make_user: Callable[..., User],
) -> None:
    admin = make_user("admin")
    webhook(admin, receiver.url("/teams"), "teams", events=(AlertEvent.MEDIA_APPROACH,))
    webhook(admin, receiver.url("/slack"), "slack", events=(AlertEvent.MEDIA_APPROACH,))
    make_user("comms")
    with db.transaction():
        media.log_approach(approach(enquiry=f"They asked me to {LURE}"), [], make_user("staff"))
    by_path = {r.path: r.json() for r in receiver.received}
    card = by_path["/teams"]["attachments"][0]["content"]
    assert not [t for t in _markdown_read(card) if "evil.example" in t]  # no hidden link on the card
    assert any(LURE in t for t in _literal_runs(card))  # shown as typed, as plain text
    slack = by_path["/slack"]
    # Slack reads its top-level text (the notification) as mrkdwn: <...> must arrive escaped.
    assert "<!channel>" not in slack["text"] and "<https://evil.example" not in slack["text"]
    assert "&lt;!channel&gt;" in slack["text"]
    assert all(b["text"]["type"] == "plain_text" for b in slack["blocks"] if "text" in b)


def test_a_long_enquiry_is_masked_before_it_is_shortened_for_the_alert(
    site: Flask,  # noqa: F811
    receiver: Receiver,  # noqa: F811
    make_user: Callable[..., User],
) -> None:
    """The alert quotes the first 300 characters of a media enquiry. Cut first, an NHS number across
    the cut arrived as its first eight digits, which the screener no longer recognises (and eight of
    ten digits leave ten candidates, the last being a check digit)."""
    webhook(make_user("admin"), receiver.url(), events=(AlertEvent.MEDIA_APPROACH,))
    make_user("comms")
    lead = "The journalist named the patient: "
    enquiry = lead + "x" * (300 - len(lead) - len(" 943 476 59")) + " 943 476 5919, and asked for comment."
    assert enquiry[:300].endswith("943 476 59")  # the cut falls inside the number
    with db.transaction():
        media.log_approach(approach(enquiry=enquiry), [], make_user("staff"))
    [got] = receiver.received
    sent = got.json()["text"]
    assert "476" not in sent and "94347659" not in sent.replace(" ", "")
    assert "The journalist named the patient" in sent


@dataclass
class Hooked:
    """A real HTTP server on loopback that keeps each POST and first runs ``on_post`` (in its thread)."""

    port: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)
    on_post: Callable[[dict[str, Any]], None] | None = None


@pytest.fixture
def hooked() -> Iterator[Hooked]:
    kept = Hooked()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802  (http.server's name)
            got = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            kept.received.append(got)
            if kept.on_post is not None:
                kept.on_post(got)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    kept.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield kept
    server.shutdown()
    server.server_close()


def test_a_batch_that_outlives_its_claim_never_sends_a_delivery_twice(
    site: Flask,  # noqa: F811
    hooked: Hooked,
    make_user: Callable[..., User],
) -> None:
    """`alerts send` claims a batch, then sends it one by one (up to 5 seconds each). Should the batch
    take longer than a claim lasts (15 minutes), the next `alerts send` claims what it has not reached
    yet, as left by a process that died: the first must then leave those alone, or they go twice."""
    webhook(make_user("admin"), f"http://127.0.0.1:{hooked.port}/hook")
    with db.transaction(), paused_delivery():
        alerts.raise_alert(AlertEvent.MEDIA_APPROACH, title="First", text="One.")
        alerts.raise_alert(AlertEvent.MEDIA_APPROACH, title="Second", text="Two.")

    def second_process(got: dict[str, Any]) -> None:
        if got["title"] != "First":
            return
        # While the first process sends "First", time passes beyond its claim on "Second", and the
        # timer's next `alerts send` runs (another process: another app, the same database).
        with site.app_context():
            db.session().execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.title == "Second")
                .values(claimed_at=db.utcnow() - dt.timedelta(minutes=20))
            )
            db.session().commit()
            assert services.deliver(db.session()).sent == 1
            db.session().close()

    hooked.on_post = second_process
    services.deliver(db.session())
    assert sorted(r["title"] for r in hooked.received) == ["First", "Second"]
    rows = db.session().execute(select(WebhookDelivery).execution_options(populate_existing=True)).scalars()
    assert {(r.title, r.delivery, r.attempts) for r in rows} == {
        ("First", Delivery.SENT.value, 1),
        ("Second", Delivery.SENT.value, 1),
    }


@contextmanager
def paused_delivery() -> Iterator[None]:
    """Alerts raised inside are written but not sent as they commit (left for `alerts send`)."""
    yield
    db.session().info.pop(db.AFTER_COMMIT, None)


def test_a_refused_webhook_form_that_shows_the_address_back_is_never_cached(
    site: Flask,  # noqa: F811
    browser_as: Callable[..., Browser],
) -> None:
    """A Teams or Slack address is itself a credential (its token lets anyone post to the channel): a form
    refused for another answer shows it back to correct, so that page must not be kept by any cache."""
    admin = browser_as("admin")
    address = "https://prod.example.org/workflows/abc?sig=TOKEN-IN-THE-ADDRESS"
    data = {"name": "", "url": address, "events": ["media_approach"], "format": "teams"}
    refused = admin.post("/admin/webhooks/new", data)
    assert refused.status_code == 422 and "TOKEN-IN-THE-ADDRESS" in refused.text
    assert refused.headers["Cache-Control"] == "no-store"
    hook, _secret = webhook(admin.user, "https://prod.example.org/hook")  # type: ignore[attr-defined]
    changed = admin.post(f"/admin/webhooks/{hook.id}", data)
    assert changed.status_code == 422 and "TOKEN-IN-THE-ADDRESS" in changed.text
    assert changed.headers["Cache-Control"] == "no-store"


# --- break-glass: what was probed and held (kept as regression pins) ------------------------------


def test_an_access_is_useless_once_its_holder_loses_on_call_or_at_the_very_moment_it_ends(
    browser_as: Callable[..., Browser],
    make_channel: Callable[..., Channel],
    make_user: Callable[..., User],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    channel = make_channel("active")
    in_custody(channel, make_user("comms"))
    on_call = browser_as("staff", "on-call")
    user: User = on_call.user  # type: ignore[attr-defined]
    access = opened(user, channel, ("password",))
    # At exactly ends_at the window has ended.
    at_end = access.ends_at
    with monkeypatch.context() as m:
        m.setattr(db, "utcnow", lambda: at_end)
        assert not access.is_live
    # The role taken away mid-window: the same browser, the same fresh second factor, nothing shown.
    db.session().execute(delete(UserRole).where(UserRole.user_id == user.id, UserRole.role == "on-call"))
    db.session().commit()
    refused = on_call.post(f"/break-glass/{access.reference}/secrets/password/reveal")
    assert refused.status_code == 403 and PASSWORD not in refused.text
    # The vault's own check refuses it too, should some other route reach it (as the route guard did here).
    db.session().expire_all()
    flask.g.auth_method = "token"  # a fresh second factor: only the role is missing
    try:
        with pytest.raises(NotPermitted, match="Only people on call"):
            breakglass.reveal(access.reference, "password", db.session().get(User, user.id))  # type: ignore[arg-type]
    finally:
        flask.g.pop("auth_method", None)
        db.session().rollback()
    assert not credential(channel, "password").rotation_required
