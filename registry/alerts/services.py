"""Webhooks: their administration (each change audited) and the alerts sent to them.

``raise_alert`` writes one delivery per matching active webhook in the current transaction; once it
commits they are sent (``db.after_commit``), as e-mail is. A refused delivery waits out a backoff and
is tried again by ``alerts send`` (a timer every minute or so), up to :data:`MAX_ATTEMPTS` times.
"""

from __future__ import annotations

import datetime as dt
import functools
import http.client
import json
import logging
import secrets
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from config import Environment
from registry import db
from registry.alerts import payloads
from registry.alerts.models import AlertEvent, Webhook, WebhookDelivery, WebhookFormat, webhook_aad
from registry.audit.models import AuditAction
from registry.audit.services import record
from registry.auth.models import User
from registry.crypto import Sealed, VaultError, vault
from registry.errors import Conflict, Invalid, NotFound
from registry.notifications import services as notifications
from registry.notifications.models import Delivery
from registry.text import clean, masked

log = logging.getLogger(__name__)

OBJECT_TYPE: Final = "webhook"
NAME_MAX: Final = 100
TITLE_MAX: Final = 200
TEXT_MAX: Final = 2000
FACTS_MAX: Final = 10
#: Give up on a delivery after this many refusals.
MAX_ATTEMPTS: Final = 6
#: How long to wait after the first, second... refusal before trying again.
BACKOFF: Final = (
    dt.timedelta(minutes=1),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=15),
    dt.timedelta(hours=1),
    dt.timedelta(hours=4),
)
#: Seconds to connect and to wait for an answer: a slow receiver must not hold up a request.
TIMEOUT: Final = 5.0
#: Failed deliveries this recent are counted on the administrators' home page.
RECENT: Final = dt.timedelta(days=7)
SECRET_PREFIX: Final = "whsec_"


# --- the webhooks --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """What an administrator sets: ``url`` None (on an edit) keeps the current address."""

    name: str
    url: str | None
    events: Iterable[str]
    format: str


def allow_http_loopback() -> bool:
    """Plain http to this computer: in development and testing, or where
    ``REGISTRY_WEBHOOKS_ALLOW_HTTP_LOOPBACK`` is true (a local relay in front of the real receiver)."""
    env = current_app.extensions["registry.settings"].env
    switch = current_app.config.get("WEBHOOKS_ALLOW_HTTP_LOOPBACK")
    return (
        env in {Environment.DEVELOPMENT, Environment.TESTING}
        or switch is True
        or str(switch).lower()
        in {
            "1",
            "true",
            "yes",
            "on",
        }
    )


def _checked(settings: Settings, *, new: bool) -> tuple[str, str | None, list[AlertEvent], WebhookFormat]:
    errors: dict[str, str] = {}
    name = clean(settings.name)
    if not name:
        errors["name"] = "Enter a name for the webhook, for example 'Comms on-call Teams channel'"
    elif len(name) > NAME_MAX:
        errors["name"] = f"The name must be {NAME_MAX} characters or fewer"
    url = clean(settings.url) if settings.url is not None else None
    if new or url:
        problem = payloads.check_url(url or "", allow_http_loopback=allow_http_loopback())
        if problem:
            errors["url"] = problem
    events = [AlertEvent(e) for e in dict.fromkeys(settings.events) if e in AlertEvent._value2member_map_]
    if not events:
        errors["events"] = "Choose at least one event to send"
    form = settings.format if settings.format in WebhookFormat._value2member_map_ else None
    if form is None:
        errors["format"] = "Choose the format the receiver expects"
    if errors:
        raise Invalid(errors)
    assert form is not None
    return name, url or None, events, WebhookFormat(form)


def _host(url: str) -> str:
    return urlsplit(url).hostname or ""


def _seal(hook: Webhook, url: str, secret: str) -> None:
    sealed = vault().seal(json.dumps({"url": url, "secret": secret}).encode("utf-8"), webhook_aad(hook.id))
    hook.key_id, hook.wrapped_key, hook.nonce, hook.ciphertext = (
        sealed.key_id,
        sealed.wrapped_key,
        sealed.nonce,
        sealed.ciphertext,
    )


def _open(hook: Webhook) -> tuple[str, str]:
    """The webhook's address and signing secret (in memory only)."""
    opened = json.loads(
        vault().open(Sealed(hook.key_id, hook.wrapped_key, hook.nonce, hook.ciphertext), webhook_aad(hook.id))
    )
    return str(opened["url"]), str(opened["secret"])


def _details(hook: Webhook) -> dict[str, Any]:
    """What the audit trail keeps of a webhook: never its address (a credential for Teams and Slack)
    or its secret, only the host."""
    return {"name": hook.name, "host": hook.host, "events": hook.events, "format": hook.format, "active": hook.active}


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def create(settings: Settings, actor: User) -> tuple[Webhook, str]:
    """A new webhook and its signing secret (shown once to whoever made it, never again)."""
    name, url, events, form = _checked(settings, new=True)
    assert url is not None
    hook = Webhook(
        name=name,
        host=_host(url),
        events=",".join(e.value for e in events),
        format=form.value,
        active=True,
        created_by_id=actor.id,
        key_id="",
        wrapped_key=b"",
        nonce=b"",
        ciphertext=b"",
    )
    session = db.session()
    session.add(hook)
    session.flush()  # the id binds the sealed address and secret to this row
    secret = new_secret()
    _seal(hook, url, secret)
    record(AuditAction.WEBHOOK_CREATE, OBJECT_TYPE, hook.id, _details(hook), actor=actor)
    session.flush()
    return hook, secret


def get(webhook_id: int, *, for_update: bool = False) -> Webhook:
    hook = db.session().get(Webhook, webhook_id, with_for_update=for_update, populate_existing=for_update)
    if hook is None or hook.deleted_at is not None:
        raise NotFound("There is no such webhook.")
    return hook


def update(hook: Webhook, settings: Settings, actor: User) -> Webhook:
    hook = get(hook.id, for_update=True)
    name, url, events, form = _checked(settings, new=False)
    hook.name, hook.events, hook.format = name, ",".join(e.value for e in events), form.value
    if url is not None:
        _current, secret = _open(hook)
        _seal(hook, url, secret)
        hook.host = _host(url)
    hook.updated_at = db.utcnow()
    record(
        AuditAction.WEBHOOK_UPDATE,
        OBJECT_TYPE,
        hook.id,
        {**_details(hook), "address_changed": url is not None},
        actor=actor,
    )
    db.session().flush()
    return hook


def pause(hook: Webhook, actor: User) -> Webhook:
    """Send nothing to it until it is resumed (alerts raised meanwhile are not kept for it)."""
    return _switch(hook, False, actor)


def resume(hook: Webhook, actor: User) -> Webhook:
    return _switch(hook, True, actor)


def _switch(hook: Webhook, active: bool, actor: User) -> Webhook:
    hook = get(hook.id, for_update=True)
    if hook.active is active:
        raise Conflict(f"'{hook.name}' is {'not paused' if active else 'already paused'}.")
    hook.active, hook.updated_at = active, db.utcnow()
    record(
        AuditAction.WEBHOOK_RESUME if active else AuditAction.WEBHOOK_PAUSE,
        OBJECT_TYPE,
        hook.id,
        _details(hook),
        actor=actor,
    )
    db.session().flush()
    return hook


def delete(hook: Webhook, actor: User) -> Webhook:
    """Stop sending to it for good. The row stays (its deliveries and audit events name it)."""
    hook = get(hook.id, for_update=True)
    now = db.utcnow()
    hook.active, hook.deleted_at, hook.updated_at = False, now, now
    record(AuditAction.WEBHOOK_DELETE, OBJECT_TYPE, hook.id, _details(hook), actor=actor)
    db.session().flush()
    return hook


def roll_secret(hook: Webhook, actor: User) -> tuple[Webhook, str]:
    """A new signing secret, shown once; the old one stops working at once."""
    hook = get(hook.id, for_update=True)
    url, _old = _open(hook)
    secret = new_secret()
    _seal(hook, url, secret)
    hook.updated_at = db.utcnow()
    record(AuditAction.WEBHOOK_ROLL_SECRET, OBJECT_TYPE, hook.id, _details(hook), actor=actor)
    db.session().flush()
    return hook, secret


def listing() -> Select[Webhook]:
    return select(Webhook).where(Webhook.deleted_at.is_(None)).order_by(func.lower(Webhook.name), Webhook.id)


def deliveries(delivery: str | None = None) -> Select[WebhookDelivery]:
    statement = select(WebhookDelivery).order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
    if delivery:
        statement = statement.where(WebhookDelivery.delivery == delivery)
    return statement


def failed_recently(now: dt.datetime | None = None) -> int:
    """Deliveries given up on in the last :data:`RECENT` (the administrators' home page)."""
    since = (now or db.utcnow()) - RECENT
    return (
        db.session()
        .execute(
            select(func.count())
            .select_from(WebhookDelivery)
            .where(WebhookDelivery.delivery == Delivery.FAILED.value, WebhookDelivery.created_at >= since)
        )
        .scalar_one()
    )


# --- raising an alert ----------------------------------------------------------------------------


def raise_alert(
    event: AlertEvent | str,
    *,
    title: str,
    text: str,
    link: str | None = None,
    facts: Mapping[str, object] | None = None,
) -> list[WebhookDelivery]:
    """Queue an alert for every active webhook that takes ``event``, in the current transaction.

    ``title`` and ``text`` are plain text; they, and each fact, pass through the patient-identifier
    screener (identifiers masked) before they are stored or sent. ``link`` is a path in the Registry
    (``/media-contacts/MC-0001``), made absolute on ``REGISTRY_PUBLIC_BASE_URL``. Never put a secret
    in any of them. Sent once the transaction commits; never if it rolls back.
    """
    kind = AlertEvent(event)
    session = db.session()
    hooks = [h for h in session.execute(listing().where(Webhook.active.is_(True))).scalars() if kind in h.event_set]
    if not hooks:
        return []
    now = db.utcnow()
    alert = payloads.Alert(
        event=kind,
        title=masked(clean(title))[:TITLE_MAX] or kind.label,
        text=masked(clean(text))[:TEXT_MAX],
        link=notifications.absolute(link),
        facts={
            masked(clean(str(k)))[:60]: masked(clean(str(v)))[:200] for k, v in list((facts or {}).items())[:FACTS_MAX]
        },
        occurred_at=now.isoformat(timespec="seconds").replace("+00:00", "Z"),
    )
    rows = [
        WebhookDelivery(
            webhook=hook,
            event=kind.value,
            title=alert.title,
            body=payloads.body(alert, hook.format_enum),
            delivery=Delivery.PENDING.value,
            next_attempt_at=now,
        )
        for hook in hooks
    ]
    session.add_all(rows)
    session.flush()
    ids = [row.id for row in rows]
    db.after_commit(lambda current: deliver(current, ids))
    return rows


# --- sending -------------------------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is answered as a refusal: an alert goes only where an administrator pointed it."""

    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None


@functools.cache
def _opener() -> urllib.request.OpenerDirector:
    """Made on the first delivery, with one TLS context (with the system's trusted certificates) for
    every delivery after it: loading those certificates takes tens of milliseconds each time."""
    tls = urllib.request.HTTPSHandler(context=ssl.create_default_context())
    return urllib.request.build_opener(_NoRedirects(), tls)


def _post(url: str, row: WebhookDelivery, secret: str) -> tuple[int | None, str | None]:
    """Send one delivery: (the HTTP status or None, None when accepted or a short reason). The
    receiver's answer is read no further than its status line: its body is never kept or shown."""
    data = row.body.encode("utf-8")
    request = urllib.request.Request(
        url,
        data=data,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "SocialChannelRegistry-Webhooks/1",
            "X-Registry-Event": row.event,
            "X-Registry-Delivery": str(row.id),
            payloads.SIGNATURE_HEADER: payloads.signature(secret, int(time.time()), data),
        },
    )
    try:
        with _opener().open(request, timeout=TIMEOUT) as answer:
            status = int(answer.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        reason = " (redirects are not followed)" if 300 <= exc.code < 400 else ""
        return exc.code, f"The receiver answered {exc.code} {str(exc.reason)[:60]}{reason}"
    except (OSError, http.client.HTTPException, ValueError) as exc:
        cause = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        return None, f"Could not reach the receiver ({type(cause).__name__})"
    if 200 <= status < 300:
        return status, None
    return status, f"The receiver answered {status}"


def deliver(session: Session, ids: Iterable[int] | None = None, *, limit: int = 200) -> notifications.DeliveryReport:
    """Send waiting deliveries that are due (those given, or all) and commit each one's state.

    Claimed first (``notifications.claim``), so no delivery is sent by two processes; the address,
    the secret and the bodies never reach the log.
    """
    now = db.utcnow()
    pending = notifications.claim(session, WebhookDelivery, ids, limit, due=WebhookDelivery.next_attempt_at <= now)
    claims = {row.id: row.claimed_at for row in pending}
    tried: list[WebhookDelivery] = []
    for row in pending:
        # A batch of slow receivers (5 seconds each) can outlive its claim: then another process may
        # have claimed what this one has not reached yet, and sends it.
        if not notifications.still_mine(session, WebhookDelivery, row.id, claims[row.id]):
            continue
        tried.append(row)
        hook = row.webhook
        status: int | None = None
        why: str | None
        if hook.deleted_at is not None or not hook.active:
            row.failed("The webhook was paused or deleted before this could be sent.", 1)
        else:
            try:
                url, secret = _open(hook)
            except VaultError:
                url, secret, why = (
                    "",
                    "",
                    "The webhook's address could not be decrypted (is its master key configured?)",
                )
            else:
                why = payloads.check_url(url, allow_http_loopback=allow_http_loopback())
            if why is None:
                status, why = _post(url, row, secret)
            row.last_status = status
            if why is None:
                row.sent(db.utcnow())
            else:
                log.warning("Webhook %s (%s) delivery %s refused: %s", hook.id, hook.host, row.id, why)
                row.failed(why, MAX_ATTEMPTS)
                row.next_attempt_at = db.utcnow() + BACKOFF[min(row.attempts, len(BACKOFF)) - 1]
        session.commit()
    return notifications.DeliveryReport().count(tried)


def waiting() -> int:
    """Deliveries still to be tried (for ``alerts send``'s summary)."""
    return (
        db.session()
        .execute(
            select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.delivery == Delivery.PENDING.value)
        )
        .scalar_one()
    )
