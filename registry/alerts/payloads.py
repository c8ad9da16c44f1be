"""What a webhook receives: the body in each format, the signature of plain JSON, and the
address rules. Pure functions: no database, no network."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from registry.alerts.models import AlertEvent, WebhookFormat

SIGNATURE_HEADER = "X-Registry-Signature"
#: Longest web address accepted (Teams workflow addresses run to some 300 characters).
URL_MAX = 2000
#: How a Teams card's title run looks (a TextRun takes a TextBlock's weight and size).
TITLE_RUN: Final = {"weight": "Bolder", "size": "Medium"}


@dataclass(frozen=True)
class Alert:
    """One alert as it leaves the Registry: every text already masked."""

    event: AlertEvent
    title: str
    text: str
    link: str | None
    facts: Mapping[str, str]
    occurred_at: str


def body(alert: Alert, form: WebhookFormat) -> str:
    """The JSON body for a webhook of format ``form``."""
    payload = {WebhookFormat.TEAMS: teams, WebhookFormat.SLACK: slack, WebhookFormat.JSON: plain}[form](alert)
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def teams(alert: Alert) -> dict[str, Any]:
    """An Adaptive Card in the ``attachments`` envelope that a Teams workflow ("when a Teams webhook
    request is received", then "post card in a chat or channel") accepts."""
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        # RichTextBlock's TextRuns, not TextBlocks: Teams reads a TextBlock as Markdown, so what
        # someone typed ("[Sign in](https://elsewhere)") would become a link whose words hide its target.
        "body": [
            {"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": alert.title, **TITLE_RUN}]},
            {"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": alert.text}]},
        ],
    }
    if alert.facts:
        card["body"].append({"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in alert.facts.items()]})
    if alert.link and alert.link.startswith("https://"):
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open in the Registry", "url": alert.link}]
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }


def slack(alert: Alert) -> dict[str, Any]:
    """Slack's incoming-webhook shape: ``text`` (the notification's fallback) and blocks, all plain
    text so nothing a person typed is read as markup."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": alert.title[:150]}},
        {"type": "section", "text": {"type": "plain_text", "text": alert.text[:3000]}},
    ]
    if alert.facts:
        blocks.append(
            {
                "type": "section",
                "fields": [
                    {"type": "plain_text", "text": f"{k}: {v}"[:2000]} for k, v in list(alert.facts.items())[:10]
                ],
            }
        )
    if alert.link and alert.link.startswith(("https://", "http://")):
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open in the Registry"},
                        "url": alert.link,
                    }
                ],
            }
        )
    # The top-level text (the notification) is read as mrkdwn: escape what makes a link or a mention.
    return {"text": slack_escaped(f"{alert.title}: {alert.text}"), "blocks": blocks}


def slack_escaped(text: str) -> str:
    """``text`` with Slack's three control characters escaped, as Slack's formatting guide asks, so
    ``<!channel>`` or ``<https://elsewhere|words>`` arrive as the characters typed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plain(alert: Alert) -> dict[str, Any]:
    return {
        "event": alert.event.value,
        "title": alert.title,
        "text": alert.text,
        "link": alert.link,
        "facts": dict(alert.facts),
        "occurred_at": alert.occurred_at,
    }


def signature(secret: str, timestamp: int, payload: bytes) -> str:
    """``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">``, as Stripe signs: a receiver recomputes
    it with the shared secret and refuses a timestamp older than a few minutes (a replay)."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + payload, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, *, allow_http_loopback: bool) -> str | None:
    """What is wrong with a webhook's address, in plain English, or None.

    https only; plain http only to this computer (127.0.0.1, ::1, localhost) and only where
    ``allow_http_loopback`` (development, testing, or ``REGISTRY_WEBHOOKS_ALLOW_HTTP_LOOPBACK``).
    No user name or password in it: the receiver checks the signature (or its own address's token).
    """
    if not url:
        return "Enter the web address the Registry sends alerts to"
    if len(url) > URL_MAX:
        return f"The web address must be {URL_MAX} characters or fewer"
    if any(c.isspace() for c in url):
        return "The web address must not contain spaces"
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        _ = parts.port
    except ValueError:
        return "Enter a full web address starting with https://, for example https://example.org/hooks/alerts"
    if parts.scheme not in {"https", "http"} or not host:
        return "Enter a full web address starting with https://, for example https://example.org/hooks/alerts"
    if parts.username is not None or parts.password is not None:
        return "Remove the user name and password from the web address: the Registry never sends them"
    if parts.scheme == "http":
        if not is_loopback(host):
            return "The web address must start with https:// (alerts are never sent unencrypted)"
        if not allow_http_loopback:
            return (
                "The web address must start with https://: plain http to this computer is allowed only in "
                "development and testing, or with REGISTRY_WEBHOOKS_ALLOW_HTTP_LOOPBACK"
            )
    return None
