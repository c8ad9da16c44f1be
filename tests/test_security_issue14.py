"""Security review of issue 14 (break-glass access, outgoing webhooks): each test is a problem found
in review, proved against the real thing (a real HTTP receiver on loopback, the real database)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from flask import Flask

from registry import db
from registry.alerts.models import AlertEvent
from registry.auth.models import User
from registry.media import services as media
from tests.test_alerts import Receiver, receiver, site, webhook  # noqa: F401  (receiver, site: fixtures)
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
