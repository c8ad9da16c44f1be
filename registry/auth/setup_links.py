"""Set-up links: how a person chooses their own password and turns on two-factor sign-in.

An administrator never learns a usable password. A new account, a password reset, an approved
privileged role and an approved two-factor reset each send the person a single-use link to their
own e-mail address, valid for 24 hours. Opening it asks them to choose a password (when their
account has none) or to enter the one they have, then signs them in with a session that may set up
two-factor sign-in: for a privileged account that first set-up needs the link, not just a password.

The token is random and never stored. Each link keeps a random salt; the token is the HMAC of the
link's id and salt under a key derived from the application's secret key (outside the database),
worked out when the e-mail is written. Only the token's SHA-256 is kept, to find the link. Someone
who reads the database (or the outbox) cannot rebuild a link from it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select, update

from registry import db
from registry.audit.models import AuditAction
from registry.audit.services import Actor, record
from registry.auth import mfa, sessions
from registry.auth.models import SetupLink, SetupReason, User
from registry.auth.passwords import hash_password, password_problem, verify_password
from registry.auth.permissions import TWO_FACTOR_ROLES
from registry.errors import Conflict, Invalid
from registry.notifications import services as notifications

LIFETIME = dt.timedelta(hours=24)
#: How long after opening a set-up link its session may still set up two-factor sign-in.
ENROL_WINDOW = dt.timedelta(minutes=30)
#: How long an account made on the command line may set up two-factor sign-in with its password alone.
OPERATOR_PERMIT = dt.timedelta(hours=24)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue(user: User, reason: SetupReason, *, actor: Actor | User, send: bool = True) -> SetupLink:
    """A new link for ``user`` (earlier unused links stop working), audited (never the token). ``send``:
    e-mail it to them (after the change commits); the operator's command prints it instead. Flushes."""
    if not user.active:
        raise Conflict(f"{user.name} is deactivated: reactivate them before sending a set-up link.")
    now = db.utcnow()
    session = db.session()
    revoked = _revoke_open_links(user, now)
    link = SetupLink(
        user_id=user.id,
        reason=reason.value,
        salt=secrets.token_bytes(32),
        token_hash="0" * 64,
        created_at=now,
        expires_at=now + LIFETIME,
        created_by_id=actor.id if isinstance(actor, User) else None,
        created_by=actor.label[:300],
    )
    session.add(link)
    session.flush()
    link.token_hash = _digest(link.token)
    record(
        AuditAction.USER_SETUP_LINK,
        "user",
        user.id,
        {"reason": reason.value, "link_id": link.id, "expires_at": link.expires_at, "earlier_links_revoked": revoked},
        actor=actor,
    )
    if send:
        _send(user, link)
    session.flush()
    return link


def _send(user: User, link: SetupLink) -> None:
    """E-mail ``user`` their set-up link. It goes nowhere else: the outbox and the person's Messages page
    show that it was sent, never the link. Without an e-mail server the link cannot reach them, and the
    message they find says who can give them one (the operator prints one on the server)."""
    reason = link.reason_enum
    purpose = {
        SetupReason.NEW_ACCOUNT: "An account has been made for you in the Social Channel Registry. "
        "Use the link below to choose your password.",
        SetupReason.PASSWORD_RESET: "A system administrator has reset your password for the Social Channel Registry. "
        "Use the link below to choose a new one. Your old password no longer works.",
        SetupReason.ROLE_GRANTED: "You have been given a role in the Social Channel Registry that needs two-factor "
        "sign-in. Use the link below, enter your password, then set up your authenticator app.",
        SetupReason.TWO_FACTOR_RESET: "Your two-factor sign-in for the Social Channel Registry has been reset. "
        "Use the link below, enter your password, then set up your authenticator app again.",
        SetupReason.OPERATOR: "Use the link below to set up your Social Channel Registry account.",
    }[reason]
    warning = (
        "The link works once, for 24 hours. Do not forward it: whoever opens it can set up your account. "
        f"If you did not expect this message, tell {notifications.comms_contact_phrase()} and your IT service desk "
        "at once."
    )
    if notifications.smtp_configured():
        notifications.notify(
            user,
            event="user:setup_link",
            subject="Set up your Social Channel Registry account",
            body=f"{purpose}\n\n{warning}",
            setup_link=link,
        )
        return
    notifications.notify(
        user,
        event="user:setup_link",
        subject="Set up your Social Channel Registry account",
        body=(
            f"{purpose}\n\nThis Registry has no e-mail server, so the link could not be sent to you. Ask the person "
            "who runs the Registry's server for a set-up link: they print one with "
            f"`flask --app wsgi users setup-link {user.email}`.\n\n{warning}"
        ),
    )


def address(link: SetupLink) -> str:
    """The link as a full address: on REGISTRY_PUBLIC_BASE_URL, or the development server's."""
    base = current_app.extensions["registry.settings"].public_base_url or "http://127.0.0.1:5000"
    return base.rstrip("/") + link.path


def _revoke_open_links(user: User, now: dt.datetime) -> int:
    return db.changed_rows(
        db.session().execute(
            update(SetupLink)
            .where(SetupLink.user_id == user.id, SetupLink.used_at.is_(None), SetupLink.revoked_at.is_(None))
            .values(revoked_at=now)
        )
    )


def revoke_all(user: User) -> int:
    """A deactivated account's links stop working."""
    return _revoke_open_links(user, db.utcnow())


def open_link_for(user: User) -> SetupLink | None:
    """The person's link that still works, if any."""
    return (
        db.session()
        .execute(
            select(SetupLink)
            .where(
                SetupLink.user_id == user.id,
                SetupLink.used_at.is_(None),
                SetupLink.revoked_at.is_(None),
                SetupLink.expires_at > db.utcnow(),
            )
            .order_by(SetupLink.id.desc())
            .limit(1)
        )
        .scalar_one_or_none()
    )


NOT_VALID = (
    "This set-up link does not work: it has been used, has expired (links last 24 hours) or was replaced "
    "by a newer one. Ask a system administrator to send you a new link."
)


def find(token: str) -> SetupLink | None:
    """The working link with this token, or None (unknown, used, replaced, expired, or its account is
    deactivated): the same answer for each, so the page tells an attacker nothing."""
    if not token or len(token) > 100:
        return None
    link = db.session().execute(select(SetupLink).where(SetupLink.token_hash == _digest(token))).scalar_one_or_none()
    if link is None or not link.works(db.utcnow()):
        return None
    if not hmac.compare_digest(link.token, token):
        return None  # the secret key changed since the link was sent
    return link


def get(link_id: int) -> SetupLink | None:
    """The link with this id if it still works (the page keeps the id, never the token, in its cookie)."""
    link = (
        db.session()
        .execute(
            select(SetupLink)
            .where(SetupLink.id == link_id)
            .with_for_update(of=SetupLink)
            .execution_options(populate_existing=True)
        )
        .unique()
        .scalar_one_or_none()
    )
    return link if link is not None and link.works(db.utcnow()) else None


def needs_new_password(link: SetupLink) -> bool:
    """A new account, or one whose password an administrator reset, has no password to enter."""
    return not link.user.password_hash


@dataclass(frozen=True)
class Completed:
    user: User
    must_enrol: bool
    #: They have two-factor sign-in: the code from their app comes next, as at sign-in.
    needs_code: bool = False


def complete(link: SetupLink, *, password: str, confirm: str | None = None) -> Completed:
    """Use the link: set the chosen password (or check the one the person has) and end every session of
    theirs. Single use. Someone without two-factor sign-in is then signed in, with a session that may set
    it up; someone with it is only half signed in until they give a code from their app (or a recovery
    code), because the link proves only that its holder reads the person's e-mail."""
    user = link.user
    errors: dict[str, str] = {}
    if needs_new_password(link):
        problem = password_problem(password, email=user.email, name=user.name)
        if problem:
            errors["password"] = problem
        elif confirm is not None and confirm != password:
            errors["confirm"] = "The two passwords are not the same. Enter the same password twice."
    elif not password:
        errors["password"] = "Enter your password"
    elif not verify_password(user.password_hash, password):
        errors["password"] = (
            "Your password is not right. If you have forgotten it, ask a system administrator to reset it."
        )
        record(
            AuditAction.USER_SIGN_IN_FAILED,
            "user",
            user.id,
            {"reason": "wrong_password", "via": "setup_link"},
            actor=user,
        )
    if errors:
        raise Invalid(errors)
    now = db.utcnow()
    chose_password = needs_new_password(link)
    if chose_password:
        user.password_hash = hash_password(password)
    link.used_at = now
    ended = sessions.end_all(user, "setup_link")
    enrolled = mfa.is_enrolled(user)
    # A key shown before the link was used (to whoever knew the password, while the account needed no link)
    # must not become the one the person confirms now: they are shown a new key.
    discarded = not enrolled and mfa.discard_pending(user)
    record(
        AuditAction.USER_SETUP_COMPLETE,
        "user",
        user.id,
        {
            "reason": link.reason,
            "link_id": link.id,
            "password_chosen": chose_password,
            "sessions_ended": ended,
            "code_next": enrolled,
            "unconfirmed_key_discarded": discarded,
        },
        actor=user,
    )
    if enrolled:
        # A signed-in session, even one limited to everyday pages, could create new recovery codes: the
        # mailbox (and one administrator's password reset) would then stand in for the person's phone.
        sessions.hold_for_second_factor(user, None)
        return Completed(user, must_enrol=False, needs_code=True)
    sessions.start(user, via_setup_link=True)
    user.last_login_at = now
    return Completed(user, must_enrol=bool(user.roles & TWO_FACTOR_ROLES))


def may_enrol(user: User) -> bool:
    """Whether ``user`` may set up two-factor sign-in now, in this session.

    Anyone may, except that a privileged account's set-up needs a session opened through its set-up
    link within the last 30 minutes (or the operator's permit for an account made on the command
    line): a password alone is not enough, so whoever learns it cannot enrol their own phone.
    """
    if not (user.roles & TWO_FACTOR_ROLES):
        return True
    now = db.utcnow()
    if user.enrol_with_password_until is not None and now < user.enrol_with_password_until:
        return True
    current = sessions.current_record()
    return current is not None and current.setup_link_at is not None and now - current.setup_link_at <= ENROL_WINDOW
