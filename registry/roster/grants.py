"""Roster grants (policy 7.2): who holds which role on a channel's account; granting, revoking, expiry.

Every function checks everything before it changes anything, raises a domain
error (``Invalid`` 422, ``NotPermitted`` 403, ``Conflict`` 409, ``NotFound`` 404)
with a plain-English message, and only flushes: the change, its audit events
and the "rotation required" flags on the channel's credentials commit together
in the caller's transaction, or not at all.

Whenever a grant ends (revoked, expired, or its holder left the Trust) every
credential of its channel is flagged for rotation, because the person may know
any of them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select

from registry import clock, db
from registry.audit.models import AuditAction
from registry.audit.services import Actor, record
from registry.auth import services as accounts
from registry.auth.models import User
from registry.auth.permissions import Permission
from registry.channels import services as channels
from registry.channels.models import Channel
from registry.channels.workflow import ChannelStatus
from registry.errors import Conflict, Invalid, NotFound, NotPermitted
from registry.roster.models import PlatformRole, RosterGrant
from registry.vault import rotation

NAME_MAX = 200
ORGANISATION_MAX = 200
REASON_MAX = 2000
EXPIRING_WITHIN_DAYS = 30
LEAVER_REASON = "left the Trust"
#: Channels that can have no administrators: the account was never set up, or is closed.
NO_ROSTER_STATUSES = frozenset({ChannelStatus.REJECTED, ChannelStatus.WITHDRAWN, ChannelStatus.RETIRED})
ROLE_CHOICE_MESSAGE = "Choose the person's role on the platform: owner, admin, editor, moderator or analyst."

GRANT_OBJECT = "roster_grant"


def _clean(text: str | None) -> str:
    return (text or "").replace("\x00", "").strip()


def uk_date(value: dt.date) -> str:
    return f"{value.day} {value:%B %Y}"


def _reason(text: str | None, *, field: str, missing: str) -> str:
    reason = _clean(text)
    if not reason:
        raise Invalid({field: missing})
    if len(reason) > REASON_MAX:
        raise Invalid({field: f"The {field} must be {REASON_MAX} characters or fewer."})
    return reason


def check_may(actor: User | Actor, permission: Permission, message: str) -> None:
    """People need ``permission``; named system processes (expiry, a leaver's clean-up) act as the rules say."""
    if isinstance(actor, User) and not actor.can(permission):
        raise NotPermitted(message)


def grant_object_id(grant: RosterGrant) -> str:
    return f"{grant.channel.reference}/{grant.id}"


def describe(grant: RosterGrant) -> str:
    """How a grant reads in a sentence and in a rotation reason: "Jo Bloggs (editor)"."""
    return f"{grant.person_name} ({grant.platform_role})"


def parse_platform_role(value: str | None) -> PlatformRole:
    try:
        return PlatformRole(_clean(value).lower())
    except ValueError:
        raise Invalid({"platform_role": ROLE_CHOICE_MESSAGE}) from None


# --- reading ----------------------------------------------------------------------------------


def get_grant(channel: Channel, grant_id: int, *, for_update: bool = False) -> RosterGrant:
    statement = select(RosterGrant).where(RosterGrant.id == grant_id, RosterGrant.channel_id == channel.id)
    if for_update:
        statement = statement.with_for_update(of=RosterGrant).execution_options(populate_existing=True)
    found = db.session().execute(statement).unique().scalar_one_or_none()
    if found is None:
        raise NotFound(f"{channel.reference} has no roster grant {grant_id}.")
    return found


def grants_of(channel: Channel) -> list[RosterGrant]:
    """Every grant of the channel, active and past: the active ones first, then the newest ended."""
    return list(
        db.session()
        .execute(
            select(RosterGrant)
            .where(RosterGrant.channel_id == channel.id)
            .order_by(
                RosterGrant.revoked_at.is_not(None),
                RosterGrant.revoked_at.desc(),
                RosterGrant.person_name,
                RosterGrant.id,
            )
        )
        .unique()
        .scalars()
    )


GRANT_FILTERS = ("active", "ended", "all")


def search_grants(status: str = "active", channel: Channel | None = None) -> Select[RosterGrant]:
    """Grants on every channel (or one), by channel then person; ``status`` is active, ended or all."""
    statement = select(RosterGrant).order_by(RosterGrant.channel_id, RosterGrant.person_name, RosterGrant.id)
    if status == "active":
        statement = statement.where(RosterGrant.revoked_at.is_(None))
    elif status == "ended":
        statement = statement.where(RosterGrant.revoked_at.is_not(None))
    if channel is not None:
        statement = statement.where(RosterGrant.channel_id == channel.id)
    return statement


def expiring(within_days: int = EXPIRING_WITHIN_DAYS, *, today: dt.date | None = None) -> Select[RosterGrant]:
    """Active grants that expire in the next ``within_days`` days, soonest first."""
    today = today or clock.today()
    return (
        select(RosterGrant)
        .where(
            RosterGrant.revoked_at.is_(None),
            RosterGrant.expires_on.is_not(None),
            RosterGrant.expires_on >= today,
            RosterGrant.expires_on <= today + dt.timedelta(days=within_days),
        )
        .order_by(RosterGrant.expires_on, RosterGrant.id)
    )


def count(statement: Select[Any]) -> int:
    return db.session().execute(select(func.count()).select_from(statement.order_by(None).subquery())).scalar_one()


# --- granting and revoking --------------------------------------------------------------------


@dataclass(frozen=True)
class GrantRequest:
    """A grant as the API receives it: every field text (``expires_on`` an ISO date) or absent."""

    email: str = ""
    name: str | None = None
    organisation: str | None = None
    platform_role: str = ""
    expires_on: dt.date | None = None


def _same_person(email: str, user: User | None) -> Any:
    if user is None:
        return RosterGrant.email == email
    return or_(RosterGrant.user_id == user.id, RosterGrant.email == email)


def _holder(email: str | None, errors: dict[str, str]) -> tuple[str, User | None]:
    """The checked address and the Registry user it belongs to, if any (adding to ``errors``)."""
    if not _clean(email):
        errors["email"] = "Enter the person's email address."
        return "", None
    try:
        address = accounts.checked_email(_clean(email))
    except Invalid as exc:
        errors.update(exc.errors)
        return "", None
    holder = accounts.find_user(address)
    if holder is not None and not holder.active:
        errors["email"] = f"{holder.name} has left the Trust (their account is deactivated), so cannot be given a role."
    return address, holder


def _check_external(person_name: str, org: str, errors: dict[str, str]) -> None:
    """The name and organisation of someone who is not a Registry user (adding to ``errors``)."""
    if not person_name:
        errors["name"] = "Enter the person's full name: they are not a user of the Registry."
    elif len(person_name) > NAME_MAX:
        errors["name"] = f"The name must be {NAME_MAX} characters or fewer."
    if not org:
        errors["organisation"] = "Enter the organisation the person works for, for example the agency's name."
    elif len(org) > ORGANISATION_MAX:
        errors["organisation"] = f"The organisation must be {ORGANISATION_MAX} characters or fewer."


def grant(
    channel: Channel,
    *,
    email: str,
    name: str | None = None,
    organisation: str | None = None,
    platform_role: str,
    expires_on: dt.date | None = None,
    actor: User | Actor,
) -> RosterGrant:
    """Record that a person holds a role on the channel's account (``actor``: a comms member, or the
    command line's inventory import).

    A Registry user is recognised by their e-mail address (the grant takes their
    name); anyone else is a named external person with their organisation.
    """
    check_may(actor, Permission.ROSTER_MANAGE, "Only the communications team keeps the administrator roster.")
    errors: dict[str, str] = {}
    address, holder = _holder(email, errors)
    person_name = _clean(name)
    org = _clean(organisation)
    if holder is None:
        _check_external(person_name, org, errors)
    role: PlatformRole | None = None
    try:
        role = parse_platform_role(platform_role)
    except Invalid as exc:
        errors.update(exc.errors)
    today = clock.today()
    if expires_on is not None and expires_on <= today:
        errors["expires_on"] = "The expiry date must be in the future."
    if errors:
        raise Invalid(errors)
    assert role is not None
    channel = channels.get_channel(channel.reference, for_update=True)
    if channel.status_enum in NO_ROSTER_STATUSES:
        raise Conflict(f"{channel.reference} is {channel.status_enum.phrase}: there is no account to administer.")
    if holder is not None:
        person_name, org = holder.name, ""
    duplicate = (
        db.session()
        .execute(
            select(RosterGrant)
            .where(
                RosterGrant.channel_id == channel.id,
                RosterGrant.platform_role == role.value,
                RosterGrant.revoked_at.is_(None),
                _same_person(address, holder),
            )
            .limit(1)
        )
        .unique()
        .scalar_one_or_none()
    )
    if duplicate is not None:
        raise Invalid(
            {
                "email": f"{duplicate.person_name} already holds the {role.value} role on {channel.reference} "
                f"(granted {uk_date(duplicate.granted_on)})."
            }
        )
    given = RosterGrant(
        channel_id=channel.id,
        user_id=holder.id if holder else None,
        person_name=person_name,
        email=address,
        organisation=org or None,
        platform_role=role.value,
        granted_by_id=actor.id if isinstance(actor, User) else None,
        granted_on=today,
        expires_on=expires_on,
    )
    session = db.session()
    session.add(given)
    session.flush()
    given.channel = channel
    record(
        AuditAction.ROSTER_GRANT,
        GRANT_OBJECT,
        grant_object_id(given),
        {
            "channel": channel.reference,
            "person": person_name,
            "email": address,
            "organisation": org or None,
            "user_id": given.user_id,
            "platform_role": role.value,
            "expires_on": expires_on.isoformat() if expires_on else None,
        },
        actor=actor,
    )
    return given


def _already_ended(grant: RosterGrant) -> Conflict:
    assert grant.revoked_at is not None
    return Conflict(
        f"{describe(grant)} was already removed from the roster of {grant.channel.reference} "
        f"on {uk_date(clock_date(grant.revoked_at))}."
    )


def end_grant(grant: RosterGrant, *, reason: str, actor: User | Actor, action: AuditAction) -> int:
    """Close the grant and flag every credential of its channel; returns how many were newly flagged."""
    current = (
        db.session()
        .execute(
            select(RosterGrant)
            .where(RosterGrant.id == grant.id)
            .with_for_update(of=RosterGrant)
            .execution_options(populate_existing=True)
        )
        .unique()
        .scalar_one()
    )
    if current.revoked_at is not None:
        raise _already_ended(current)
    current.revoked_at = db.utcnow()
    current.revoked_by_id = actor.id
    current.revoke_reason = reason
    flagged = rotation.mark_rotation_required(
        rotation.credentials_of_channel_ids([current.channel_id]),
        f"{describe(current)} removed from the roster: {reason}",
        actor=actor,
    )
    record(
        action,
        GRANT_OBJECT,
        grant_object_id(current),
        {
            "channel": current.channel.reference,
            "person": current.person_name,
            "email": current.email,
            "platform_role": current.platform_role,
            "reason": reason,
            "credentials_flagged": flagged,
        },
        actor=actor,
    )
    db.session().flush()
    return flagged


def clock_date(moment: dt.datetime) -> dt.date:
    """The UK calendar date of a stored moment."""
    return moment.astimezone(clock.LONDON).date()


def revoke(grant: RosterGrant, *, reason: str, actor: User | Actor) -> RosterGrant:
    """Remove a person from the channel's roster, saying why; every credential of the channel needs rotating."""
    check_may(actor, Permission.ROSTER_MANAGE, "Only the communications team keeps the administrator roster.")
    if not grant.is_active:
        raise _already_ended(grant)
    given = _reason(reason, field="reason", missing="Enter why this person is being removed from the roster.")
    end_grant(grant, reason=given, actor=actor, action=AuditAction.ROSTER_REVOKE)
    return grant


def expire_due(today: dt.date | None = None) -> int:
    """End every grant whose expiry date has passed (by the system); returns how many ended."""
    today = today or clock.today()
    due = (
        db.session()
        .execute(
            select(RosterGrant)
            .where(RosterGrant.revoked_at.is_(None), RosterGrant.expires_on < today)
            .order_by(RosterGrant.id)
        )
        .unique()
        .scalars()
        .all()
    )
    actor = Actor.system("roster expiry")
    ended = 0
    for each in due:
        assert each.expires_on is not None
        try:
            end_grant(
                each,
                reason=f"grant expired on {uk_date(each.expires_on)}",
                actor=actor,
                action=AuditAction.ROSTER_EXPIRE,
            )
        except Conflict:
            continue  # revoked by someone else since the list was read
        ended += 1
    return ended
