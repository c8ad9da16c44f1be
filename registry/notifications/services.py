"""Tell people what they must act on or would want to know.

``notify`` writes one outbox row per recipient in the current transaction, so a message
exists exactly when the change it announces does. Once that transaction commits, the
messages are sent through SMTP where ``REGISTRY_SMTP_HOST`` is set; otherwise they stay in
the outbox, which each person reads on their Messages page (and an administrator on the
outbox page). ``reminders send`` retries what could not be sent.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import smtplib
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import TypeVar

from flask import current_app
from sqlalchemy import ColumnElement, Select, and_, or_, select, update
from sqlalchemy.orm import Session

from registry import db
from registry.audit.models import AuditAction
from registry.audit.services import record
from registry.auth.models import SetupLink, User, UserRole
from registry.auth.permissions import Role
from registry.notifications.models import Delivery, Notification, OutboxRow
from registry.notifications.smtp import SmtpSettings

log = logging.getLogger(__name__)

Row = TypeVar("Row", bound=OutboxRow)

#: Give up on a message after this many refusals by the SMTP server.
MAX_ATTEMPTS = 5
SUBJECT_LIMIT = 200


def smtp_configured() -> bool:
    return bool((current_app.config.get("SMTP_HOST") or "").strip())


def comms_contact_phrase() -> str:
    """The words "the communications team", with how to reach them (``REGISTRY_COMMS_CONTACT``) when it is set."""
    contact = current_app.extensions["registry.settings"].comms_contact
    return f"the communications team ({contact})" if contact else "the communications team"


def absolute(link: str | None) -> str | None:
    """The link as a full address on the Registry's own public address (never the request's
    Host header, which whoever sends a request chooses)."""
    if not link:
        return None
    base = current_app.extensions["registry.settings"].public_base_url
    return base.rstrip("/") + link if base else link


def notify(
    recipients: User | Iterable[User],
    *,
    event: str,
    subject: str,
    body: str,
    link: str | None = None,
    dedupe_key: str | None = None,
    setup_link: SetupLink | None = None,
) -> list[Notification]:
    """Queue a message to each active recipient (once each) in the current transaction.

    ``dedupe_key`` (with the recipient's id appended) makes a message a one-off: one already
    queued under the same key is not queued again. Bodies are plain text and must never hold a
    secret or a patient identifier. ``setup_link`` goes only into the e-mail, worked out as it is written.
    """
    people = [recipients] if isinstance(recipients, User) else list(recipients)
    session = db.session()
    delivery = Delivery.PENDING if smtp_configured() else Delivery.KEPT
    queued: list[Notification] = []
    seen: set[int] = set()
    for person in people:
        if not person.active or person.id in seen:
            continue
        seen.add(person.id)
        key = f"{dedupe_key}:{person.id}" if dedupe_key else None
        if key and session.execute(select(Notification.id).where(Notification.dedupe_key == key)).first():
            continue
        message = Notification(
            recipient=person,
            to_address=person.email,
            event=event,
            subject=subject[:SUBJECT_LIMIT],
            body=body,
            link=link,
            dedupe_key=key,
            delivery=delivery.value,
            setup_link_id=setup_link.id if setup_link is not None else None,
        )
        session.add(message)
        queued.append(message)
    if queued:
        session.flush()
        if delivery is Delivery.PENDING:
            ids = [m.id for m in queued]
            db.after_commit(lambda current: deliver(current, ids))
    return queued


def comms_team(exclude: User | None = None) -> list[User]:
    statement = (
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.COMMS.value, User.active.is_(True))
        .order_by(User.id)
    )
    people = db.session().execute(statement).unique().scalars().all()
    return [p for p in people if exclude is None or p.id != exclude.id]


def notify_comms(
    *,
    event: str,
    subject: str,
    body: str,
    link: str | None = None,
    exclude: User | None = None,
    dedupe_key: str | None = None,
) -> list[Notification]:
    """Tell every active member of the communications team (except ``exclude``, who did it)."""
    return notify(comms_team(exclude), event=event, subject=subject, body=body, link=link, dedupe_key=dedupe_key)


def _message(settings: SmtpSettings, note: Notification) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = formataddr((note.recipient.name, note.to_address))
    message["Subject"] = note.subject
    message["Message-ID"] = make_msgid(domain=settings.host)
    link = absolute(note.link)
    if note.setup_link_id is not None:
        link = _setup_link_address(note.setup_link_id)
    text = note.body.rstrip() + ("\n\n" + link if link else "")
    text += "\n\n-- \nSocial Channel Registry. You get this because of your role in it."
    message.set_content(text)
    return message


def _setup_link_address(link_id: int) -> str:
    link = db.session().get(SetupLink, link_id)
    if link is None or not link.works(db.utcnow()):
        return "(This link has already been used, has expired or was replaced: ask for a new one.)"
    return absolute(link.path) or ""


def _connect(settings: SmtpSettings) -> smtplib.SMTP:
    if settings.security == "ssl":
        server: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=settings.timeout, context=ssl.create_default_context()
        )
    else:
        server = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        if settings.security == "starttls":
            server.starttls(context=ssl.create_default_context())
    if settings.username:
        server.login(settings.username, settings.password or "")
    return server


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    waiting: int = 0

    def count(self, rows: Iterable[OutboxRow]) -> DeliveryReport:
        """Add each row's state once it has been tried: sent, failed for good, or waiting to be retried."""
        for row in rows:
            if row.delivery == Delivery.SENT.value:
                self.sent += 1
            elif row.delivery == Delivery.FAILED.value:
                self.failed += 1
            else:
                self.waiting += 1
        return self


#: A message claimed for sending this long ago, and neither sent nor failed, was left by a
#: process that died while sending it: it may be claimed again.
STALE_CLAIM = dt.timedelta(minutes=15)


def claim(
    session: Session,
    model: type[Row],
    ids: Iterable[int] | None,
    limit: int,
    *,
    due: ColumnElement[bool] | None = None,
) -> list[Row]:
    """Mark waiting rows of an outbox table as being sent, in one committed UPDATE, and return them.

    Two processes (a request's after-commit delivery and ``reminders send`` or ``alerts send``) can
    run at once: the conditional UPDATE lets each row be claimed by one of them only. A row claimed
    longer than :data:`STALE_CLAIM` ago was left by a process that died: it may be claimed again.
    ``due`` narrows the waiting rows further (a webhook delivery waits out its backoff).
    """
    now = db.utcnow()
    waiting = or_(
        model.delivery == Delivery.PENDING.value,
        and_(model.delivery == Delivery.SENDING.value, model.claimed_at < now - STALE_CLAIM),
    )
    if due is not None:
        waiting = and_(waiting, due)
    candidates = select(model.id).where(waiting).order_by(model.id).limit(limit)
    if ids is not None:
        candidates = candidates.where(model.id.in_(list(ids)))
    chosen = list(session.execute(candidates).scalars())
    if not chosen:
        return []
    claimed = (
        session.execute(
            update(model)
            .where(model.id.in_(chosen), waiting)
            .values(delivery=Delivery.SENDING.value, claimed_at=now)
            .returning(model.id)
            .execution_options(synchronize_session=False)
        )
        .scalars()
        .all()
    )
    session.commit()
    if not claimed:
        return []
    return list(
        session.execute(
            select(model).where(model.id.in_(claimed)).order_by(model.id).execution_options(populate_existing=True)
        ).scalars()
    )


def still_mine(session: Session, model: type[Row], row_id: int, claimed_at: dt.datetime | None) -> bool:
    """Renew this process's claim on one claimed row just before sending it (committed); False if its
    claim went stale while earlier rows of the batch were sent and another process has claimed it since
    (that one sends it: this one must leave it alone, or it goes twice)."""
    renewed = session.execute(
        update(model)
        .where(model.id == row_id, model.delivery == Delivery.SENDING.value, model.claimed_at == claimed_at)
        .values(claimed_at=db.utcnow())
        .returning(model.id)
        .execution_options(synchronize_session=False)
    ).first()
    session.commit()
    return renewed is not None


def deliver(session: Session, ids: Iterable[int] | None = None, *, limit: int = 500) -> DeliveryReport:
    """Send waiting messages (those given, or all) through SMTP and commit each one's state.

    Each message is claimed before it is sent and marked as it goes, so no message is sent
    twice by two processes; the SMTP password and message bodies never reach the log.
    """
    report = DeliveryReport()
    settings = SmtpSettings.from_config()
    if settings is None:
        return report
    pending = claim(session, Notification, ids, limit)
    if not pending:
        return report
    try:
        server = _connect(settings)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("Could not reach the SMTP server %s:%s (%s)", settings.host, settings.port, type(exc).__name__)
        for note in pending:
            _failed(note, f"Could not reach the e-mail server ({type(exc).__name__}).")
        session.commit()
        report.waiting = sum(1 for n in pending if n.delivery == Delivery.PENDING.value)
        report.failed = len(pending) - report.waiting
        return report
    try:
        for note in pending:
            try:
                server.send_message(_message(settings, note))
            except smtplib.SMTPException as exc:
                _failed(note, f"The e-mail server refused it ({type(exc).__name__}).")
            else:
                note.sent(db.utcnow())
            session.commit()
    finally:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            server.quit()
    return report.count(pending)


def _failed(note: Notification, why: str) -> None:
    note.failed(why, MAX_ATTEMPTS)


def messages_of(user: User) -> Select[Notification]:
    return (
        select(Notification)
        .where(Notification.recipient_id == user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    )


def chosen_delivery(value: str, allowed: Iterable[Delivery] = tuple(Delivery)) -> str | None:
    """The delivery state a list is filtered by (``?delivery=``), or None for every row."""
    return value if value in {d.value for d in allowed} else None


def outbox(delivery: str | None = None) -> Select[Notification]:
    statement = select(Notification).order_by(Notification.created_at.desc(), Notification.id.desc())
    if delivery:
        statement = statement.where(Notification.delivery == delivery)
    return statement


def get_message(user: User, message_id: int) -> Notification | None:
    return (
        db.session()
        .execute(select(Notification).where(Notification.id == message_id, Notification.recipient_id == user.id))
        .scalar_one_or_none()
    )


def record_reminders(counts: Mapping[str, object]) -> None:
    record(AuditAction.REMINDERS_SEND, "reminders", db.utcnow().date().isoformat(), counts)
