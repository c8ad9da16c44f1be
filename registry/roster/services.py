"""The administrator roster's rules (policy 7.2): grants, revocations, leavers and access reviews.

Every function checks everything before it changes anything, raises a domain
error (``Invalid`` 422, ``NotPermitted`` 403, ``Conflict`` 409, ``NotFound`` 404)
with a plain-English message, and only flushes: the change, its audit events
and the "rotation required" flags on the channel's credentials commit together
in the caller's transaction, or not at all.

Whenever a grant ends (revoked, expired, or its holder left the Trust) every
credential of its channel is flagged for rotation, because the person may know
any of them. A leaver also flags every credential whose current value they saw.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select

from registry import clock, db
from registry.audit.models import AuditAction
from registry.audit.services import Actor, record
from registry.auth import services as accounts
from registry.auth.models import User
from registry.auth.permissions import Permission
from registry.channels import services as channels
from registry.channels.models import Channel
from registry.channels.workflow import OFFICIAL_STATUSES, ChannelStatus
from registry.errors import Conflict, Invalid, NotFound, NotPermitted
from registry.roster.models import (
    AccessReview,
    AccessReviewItem,
    PlatformRole,
    ReviewDecision,
    RosterGrant,
)
from registry.vault import services as vault
from registry.vault.models import Credential, CredentialReveal

NAME_MAX = 200
ORGANISATION_MAX = 200
REASON_MAX = 2000
TITLE_MAX = 200
EXPIRING_WITHIN_DAYS = 30
LEAVER_REASON = "left the Trust"
#: Channels that can have no administrators: the account was never set up, or is closed.
NO_ROSTER_STATUSES = frozenset({ChannelStatus.REJECTED, ChannelStatus.WITHDRAWN, ChannelStatus.RETIRED})
REVIEW_REFERENCE = re.compile(r"^\s*AR-?(\d{1,9})\s*$", re.IGNORECASE)
ROLE_CHOICE_MESSAGE = "Choose the person's role on the platform: owner, admin, editor, moderator or analyst."

GRANT_OBJECT = "roster_grant"
REVIEW_OBJECT = "access_review"


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


def _check_may(actor: User | Actor, permission: Permission, message: str) -> None:
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


def search_grants(status: str = "active", channel: Channel | None = None) -> Select[tuple[RosterGrant]]:
    """Grants on every channel (or one), by channel then person; ``status`` is active, ended or all."""
    statement = select(RosterGrant).order_by(RosterGrant.channel_id, RosterGrant.person_name, RosterGrant.id)
    if status == "active":
        statement = statement.where(RosterGrant.revoked_at.is_(None))
    elif status == "ended":
        statement = statement.where(RosterGrant.revoked_at.is_not(None))
    if channel is not None:
        statement = statement.where(RosterGrant.channel_id == channel.id)
    return statement


def expiring(within_days: int = EXPIRING_WITHIN_DAYS, *, today: dt.date | None = None) -> Select[tuple[RosterGrant]]:
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

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> GrantRequest:
        errors: dict[str, str] = {}
        values: dict[str, Any] = {}
        for name in ("email", "name", "organisation", "platform_role", "expires_on"):
            value = data.get(name)
            if value is None:
                continue
            if not isinstance(value, str):
                errors[name] = f"{name} must be text."
            elif name == "expires_on":
                if value.strip():
                    try:
                        values[name] = dt.date.fromisoformat(value.strip())
                    except ValueError:
                        errors[name] = "expires_on must be a date like 2027-03-31."
            else:
                values[name] = value
        if errors:
            raise Invalid(errors)
        return cls(**values)


def _same_person(email: str, user: User | None) -> Any:
    if user is None:
        return RosterGrant.email == email
    return or_(RosterGrant.user_id == user.id, RosterGrant.email == email)


def grant(
    channel: Channel,
    *,
    email: str,
    name: str | None = None,
    organisation: str | None = None,
    platform_role: str,
    expires_on: dt.date | None = None,
    actor: User,
) -> RosterGrant:
    """Record that a person holds a role on the channel's account.

    A Registry user is recognised by their e-mail address (the grant takes their
    name); anyone else is a named external person with their organisation.
    """
    _check_may(actor, Permission.ROSTER_MANAGE, "Only the communications team keeps the administrator roster.")
    errors: dict[str, str] = {}
    holder: User | None = None
    address = ""
    if not _clean(email):
        errors["email"] = "Enter the person's email address."
    else:
        try:
            address = accounts.checked_email(_clean(email))
        except Invalid as exc:
            errors.update(exc.errors)
    if address:
        holder = accounts.find_user(address)
        if holder is not None and not holder.active:
            errors["email"] = (
                f"{holder.name} has left the Trust (their account is deactivated), so cannot be given a role."
            )
    person_name = _clean(name)
    org = _clean(organisation)
    if holder is None:
        if not person_name:
            errors["name"] = "Enter the person's full name: they are not a user of the Registry."
        elif len(person_name) > NAME_MAX:
            errors["name"] = f"The name must be {NAME_MAX} characters or fewer."
        if not org:
            errors["organisation"] = "Enter the organisation the person works for, for example the agency's name."
        elif len(org) > ORGANISATION_MAX:
            errors["organisation"] = f"The organisation must be {ORGANISATION_MAX} characters or fewer."
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
        granted_by_id=actor.id,
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


def _end(grant: RosterGrant, *, reason: str, actor: User | Actor, action: AuditAction) -> int:
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
    flagged = vault.mark_rotation_required(
        vault.credentials_of_channel_ids([current.channel_id]),
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
    _check_may(actor, Permission.ROSTER_MANAGE, "Only the communications team keeps the administrator roster.")
    if not grant.is_active:
        raise _already_ended(grant)
    given = _reason(reason, field="reason", missing="Enter why this person is being removed from the roster.")
    _end(grant, reason=given, actor=actor, action=AuditAction.ROSTER_REVOKE)
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
            _end(
                each,
                reason=f"grant expired on {uk_date(each.expires_on)}",
                actor=actor,
                action=AuditAction.ROSTER_EXPIRE,
            )
        except Conflict:
            continue  # revoked by someone else since the list was read
        ended += 1
    return ended


# --- leavers ----------------------------------------------------------------------------------


@dataclass
class LeaverReport:
    """What a leaver's departure changed: their grants ended, and which credentials need rotating."""

    user: User
    grants: list[RosterGrant] = field(default_factory=list)
    #: Credentials of the channels they held a role on.
    roster_credentials: list[Credential] = field(default_factory=list)
    #: Credentials whose current value they saw (revealed, copied, or used a code from), on any channel.
    seen_credentials: list[Credential] = field(default_factory=list)

    @property
    def credentials(self) -> list[Credential]:
        """Every credential flagged because of this leaver, each once."""
        unique = {c.id: c for c in [*self.roster_credentials, *self.seen_credentials]}
        return sorted(unique.values(), key=lambda c: (c.channel_id, c.kind))

    def summary(self) -> str:
        grants = len(self.grants)
        flagged = len(self.credentials)
        return (
            f"{self.user.name}: {grants} roster grant{'s' if grants != 1 else ''} ended; "
            f"{flagged} credential{'s' if flagged != 1 else ''} marked rotation required "
            f"({len(self.roster_credentials)} on channels they administered, "
            f"{len(self.seen_credentials)} whose current value they had seen)."
        )


def leaver(user: User, actor: User | Actor) -> LeaverReport:
    """A person has left: end their grants and flag every credential they could know.

    Ends each active grant that is theirs (by account, or by their e-mail address
    for a grant recorded before they had one) with "left the Trust", flagging the
    channel's credentials, and flags every credential whose current value they
    saw since its last rotation, on any channel. Flush only, so it can run inside
    :func:`registry.auth.services.deactivate`.
    """
    report = LeaverReport(user)
    held = (
        db.session()
        .execute(
            select(RosterGrant)
            .where(
                RosterGrant.revoked_at.is_(None),
                or_(
                    RosterGrant.user_id == user.id, and_(RosterGrant.user_id.is_(None), RosterGrant.email == user.email)
                ),
            )
            .order_by(RosterGrant.channel_id, RosterGrant.id)
        )
        .unique()
        .scalars()
        .all()
    )
    for each in held:
        _end(each, reason=LEAVER_REASON, actor=actor, action=AuditAction.ROSTER_REVOKE)
        report.grants.append(each)
    report.roster_credentials = vault.credentials_of_channel_ids(g.channel_id for g in report.grants)
    report.seen_credentials = vault.seen_since_rotation(user)
    vault.mark_rotation_required(report.seen_credentials, f"seen by {user.name}, who has left", actor=actor)
    return report


@dataclass(frozen=True)
class SeenCredential:
    credential: Credential
    last_seen: dt.datetime
    #: What they did with it since its last rotation: {"reveal": 2, "copy": 1}.
    uses: dict[str, int]


@dataclass(frozen=True)
class LeaverExposure:
    user: User
    seen: list[SeenCredential]


def exposure_of_leavers() -> list[LeaverExposure]:
    """For each deactivated user, exactly which credentials they saw that have not been rotated since.

    Two queries whatever the number of leavers: one aggregate and one load.
    """
    uses = (
        db.session()
        .execute(
            select(
                CredentialReveal.user_id,
                CredentialReveal.credential_id,
                CredentialReveal.action,
                func.count().label("times"),
                func.max(CredentialReveal.occurred_at).label("last_seen"),
            )
            .join(Credential, Credential.id == CredentialReveal.credential_id)
            .join(User, User.id == CredentialReveal.user_id)
            .where(User.active.is_(False), vault.exposes_current_value())
            .group_by(CredentialReveal.user_id, CredentialReveal.credential_id, CredentialReveal.action)
        )
        .all()
    )
    if not uses:
        return []
    counts: dict[tuple[int, int], dict[str, int]] = {}
    latest: dict[tuple[int, int], dt.datetime] = {}
    for user_id, credential_id, action, times, last_seen in uses:
        pair = (user_id, credential_id)
        counts.setdefault(pair, {})[action] = times
        latest[pair] = max(latest.get(pair, last_seen), last_seen)
    users = {
        u.id: u
        for u in db.session().execute(select(User).where(User.id.in_({user_id for user_id, _ in counts}))).scalars()
    }
    credentials = {
        c.id: c
        for c in db.session()
        .execute(select(Credential).where(Credential.id.in_({credential_id for _, credential_id in counts})))
        .unique()
        .scalars()
    }
    grouped: dict[int, list[SeenCredential]] = {}
    for (user_id, credential_id), uses_of in counts.items():
        grouped.setdefault(user_id, []).append(
            SeenCredential(credentials[credential_id], latest[(user_id, credential_id)], uses_of)
        )
    result = [
        LeaverExposure(users[user_id], sorted(seen, key=lambda s: (s.credential.channel_id, s.credential.kind)))
        for user_id, seen in grouped.items()
    ]
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
    result.sort(key=lambda e: (-(e.user.deactivated_at or epoch).timestamp(), e.user.name))
    return result


# --- access reviews ---------------------------------------------------------------------------


def review_id_from_reference(reference: str) -> int | None:
    match = REVIEW_REFERENCE.match(reference or "")
    return int(match.group(1)) if match else None


def get_review(reference: str, *, for_update: bool = False) -> AccessReview:
    review_id = review_id_from_reference(reference)
    review = None
    if review_id is not None:
        statement = select(AccessReview).where(AccessReview.id == review_id)
        if for_update:
            statement = statement.with_for_update(of=AccessReview).execution_options(populate_existing=True)
        review = db.session().execute(statement).unique().scalar_one_or_none()
    if review is None:
        raise NotFound(f"There is no access review {reference!r}. Check the reference, for example AR-0003.")
    return review


def get_item(review: AccessReview, item_id: int) -> AccessReviewItem:
    item = (
        db.session()
        .execute(
            select(AccessReviewItem).where(AccessReviewItem.id == item_id, AccessReviewItem.review_id == review.id)
        )
        .unique()
        .scalar_one_or_none()
    )
    if item is None:
        raise NotFound(f"{review.reference} has no item {item_id}.")
    return item


def items_of(review: AccessReview) -> list[AccessReviewItem]:
    """The review's items by channel, then person, then role."""
    return list(
        db.session()
        .execute(
            select(AccessReviewItem)
            .join(RosterGrant, RosterGrant.id == AccessReviewItem.grant_id)
            .where(AccessReviewItem.review_id == review.id)
            .order_by(RosterGrant.channel_id, RosterGrant.person_name, RosterGrant.platform_role, AccessReviewItem.id)
        )
        .unique()
        .scalars()
    )


def reviewable_channels() -> list[tuple[Channel, int]]:
    """Channels that have someone on their roster, with how many active grants each has."""
    active = (
        select(RosterGrant.channel_id, func.count().label("grants"))
        .where(RosterGrant.revoked_at.is_(None))
        .group_by(RosterGrant.channel_id)
        .subquery()
    )
    rows = (
        db.session()
        .execute(select(Channel, active.c.grants).join(active, active.c.channel_id == Channel.id).order_by(Channel.id))
        .unique()
        .all()
    )
    return [(channel, grants) for channel, grants in rows]


def start_review(
    *,
    title: str,
    channel_ids: Iterable[int] | None,
    due_on: dt.date | None,
    actor: User,
) -> AccessReview:
    """Begin a review of every active grant on the Trust's live channels (``channel_ids`` None), or on some."""
    _check_may(actor, Permission.REVIEW_MANAGE, "Only the communications team runs access reviews.")
    errors: dict[str, str] = {}
    title = _clean(title)
    if not title:
        errors["title"] = "Enter a title for the review, for example 'Quarterly access review, spring 2026'."
    elif len(title) > TITLE_MAX:
        errors["title"] = f"The title must be {TITLE_MAX} characters or fewer."
    if due_on is None:
        errors["due_on"] = "Enter the date by which every grant must be reviewed."
    elif due_on < clock.today():
        errors["due_on"] = "The due date must be today or in the future."
    chosen: list[Channel] = []
    if channel_ids is not None:
        wanted = sorted(set(channel_ids))
        if not wanted:
            errors["channels"] = "Choose at least one channel, or review every channel."
        else:
            found = {
                c.id: c for c in db.session().execute(select(Channel).where(Channel.id.in_(wanted))).unique().scalars()
            }
            missing = [i for i in wanted if i not in found]
            if missing:
                errors["channels"] = "One of the chosen channels no longer exists. Choose again."
            chosen = [found[i] for i in wanted if i in found]
    if errors:
        raise Invalid(errors)
    statement = select(RosterGrant).where(RosterGrant.revoked_at.is_(None)).order_by(RosterGrant.id)
    if channel_ids is None:
        statement = statement.join(Channel, Channel.id == RosterGrant.channel_id).where(
            Channel.status.in_([s.value for s in OFFICIAL_STATUSES])
        )
    else:
        statement = statement.where(RosterGrant.channel_id.in_([c.id for c in chosen]))
    grants = db.session().execute(statement).unique().scalars().all()
    if not grants:
        if channel_ids is None:
            raise Conflict("Nobody is on the roster of any active or suspended channel: there is nothing to review.")
        raise Invalid({"channels": "Nobody is on the roster of the chosen channels: there is nothing to review."})
    assert due_on is not None
    review = AccessReview(
        title=title,
        scope="all" if channel_ids is None else "some",
        started_by_id=actor.id,
        due_on=due_on,
    )
    session = db.session()
    session.add(review)
    session.flush()
    session.add_all(AccessReviewItem(review_id=review.id, grant_id=g.id) for g in grants)
    session.flush()
    record(
        AuditAction.ACCESS_REVIEW_START,
        REVIEW_OBJECT,
        review.reference,
        {
            "title": title,
            "scope": review.scope,
            "due_on": due_on.isoformat(),
            "items": len(grants),
            "channels": sorted({g.channel.reference for g in grants}),
        },
        actor=actor,
    )
    return review


def four_eyes_blocks(item: AccessReviewItem, user: User) -> bool:
    """Whether ``user`` holds the item's grant, so someone else must decide it."""
    return item.grant.user_id == user.id or item.grant.email == user.email


def decide(item: AccessReviewItem, decision: str, note: str | None, actor: User) -> AccessReviewItem:
    """Certify a grant (still needed) or revoke it (ending it, with the note as the reason)."""
    _check_may(actor, Permission.REVIEW_MANAGE, "Only the communications team decides access reviews.")
    item = (
        db.session()
        .execute(
            select(AccessReviewItem)
            .where(AccessReviewItem.id == item.id)
            .with_for_update(of=AccessReviewItem)
            .execution_options(populate_existing=True)
        )
        .unique()
        .scalar_one()
    )
    review = item.review
    if review.finished_at is not None:
        raise Conflict(f"{review.reference} is finished: its decisions are kept as they were and cannot be changed.")
    if item.decision is not None:
        who = item.decided_by.name if item.decided_by else "someone"
        when = uk_date(clock_date(item.decided_at)) if item.decided_at else ""
        raise Conflict(
            f"{describe(item.grant)} on {item.grant.channel.reference} has already been "
            f"{item.decision} by {who} on {when}."
        )
    if four_eyes_blocks(item, actor):
        raise Conflict(
            "You hold this grant, so another member of the communications team must certify or revoke it "
            "(four-eyes rule)."
        )
    try:
        chosen = ReviewDecision(_clean(decision))
    except ValueError:
        raise Invalid({"decision": "Choose whether to certify or revoke this grant."}) from None
    note = _clean(note)
    if chosen is ReviewDecision.REVOKED and not note:
        raise Invalid({"note": "Enter why this grant is being revoked."})
    if len(note) > REASON_MAX:
        raise Invalid({"note": f"The note must be {REASON_MAX} characters or fewer."})
    grant = item.grant
    if chosen is ReviewDecision.CERTIFIED and not grant.is_active:
        raise Conflict(
            f"{describe(grant)} was removed from the roster on {uk_date(clock_date(grant.revoked_at))} "
            f"({grant.revoke_reason}), so cannot be certified. Record it as revoked."
        )
    item.decision = chosen.value
    item.decided_by_id = actor.id
    item.decided_at = db.utcnow()
    item.note = note or None
    if chosen is ReviewDecision.REVOKED and grant.is_active:
        _end(
            grant,
            reason=f"revoked in access review {review.reference}: {note}",
            actor=actor,
            action=AuditAction.ROSTER_REVOKE,
        )
    record(
        AuditAction.ACCESS_REVIEW_CERTIFY if chosen is ReviewDecision.CERTIFIED else AuditAction.ACCESS_REVIEW_REVOKE,
        REVIEW_OBJECT,
        review.reference,
        {
            "item": item.id,
            "grant": grant.id,
            "channel": grant.channel.reference,
            "person": grant.person_name,
            "platform_role": grant.platform_role,
            "note": note or None,
        },
        actor=actor,
    )
    db.session().flush()
    return item


@dataclass(frozen=True)
class ReviewProgress:
    total: int = 0
    certified: int = 0
    revoked: int = 0

    @property
    def decided(self) -> int:
        return self.certified + self.revoked

    @property
    def remaining(self) -> int:
        return self.total - self.decided

    @property
    def percent(self) -> int:
        return 100 if self.total == 0 else (100 * self.decided) // self.total


def progress_of(review_ids: Iterable[int]) -> dict[int, ReviewProgress]:
    """Each review's decided and total items, in one query."""
    ids = sorted(set(review_ids))
    if not ids:
        return {}
    rows = (
        db.session()
        .execute(
            select(
                AccessReviewItem.review_id,
                func.count(),
                func.sum(case((AccessReviewItem.decision == ReviewDecision.CERTIFIED.value, 1), else_=0)),
                func.sum(case((AccessReviewItem.decision == ReviewDecision.REVOKED.value, 1), else_=0)),
            )
            .where(AccessReviewItem.review_id.in_(ids))
            .group_by(AccessReviewItem.review_id)
        )
        .all()
    )
    found = {row[0]: ReviewProgress(int(row[1]), int(row[2] or 0), int(row[3] or 0)) for row in rows}
    return {i: found.get(i, ReviewProgress()) for i in ids}


def progress(review: AccessReview) -> ReviewProgress:
    return progress_of([review.id])[review.id]


def is_overdue(review: AccessReview, today: dt.date | None = None) -> bool:
    return review.finished_at is None and review.due_on < (today or clock.today())


def reviews() -> Select[tuple[AccessReview]]:
    """Every review: unfinished first (soonest due first), then finished ones, newest first."""
    return select(AccessReview).order_by(
        AccessReview.finished_at.is_not(None),
        AccessReview.due_on,
        AccessReview.finished_at.desc(),
        AccessReview.id.desc(),
    )


def overdue_reviews(today: dt.date | None = None) -> Select[tuple[AccessReview]]:
    return (
        select(AccessReview)
        .where(AccessReview.finished_at.is_(None), AccessReview.due_on < (today or clock.today()))
        .order_by(AccessReview.due_on, AccessReview.id)
    )


def overdue_items(today: dt.date | None = None) -> Select[tuple[AccessReviewItem]]:
    """Undecided items of unfinished reviews past their due date."""
    return (
        select(AccessReviewItem)
        .join(AccessReview, AccessReview.id == AccessReviewItem.review_id)
        .where(
            AccessReviewItem.decision.is_(None),
            AccessReview.finished_at.is_(None),
            AccessReview.due_on < (today or clock.today()),
        )
        .order_by(AccessReview.due_on, AccessReviewItem.id)
    )


def finish(review: AccessReview, actor: User) -> AccessReview:
    """Close a review whose every grant has been decided; it is then kept, read-only."""
    _check_may(actor, Permission.REVIEW_MANAGE, "Only the communications team runs access reviews.")
    review = get_review(review.reference, for_update=True)
    if review.finished_at is not None:
        raise Conflict(f"{review.reference} was already finished.")
    done = progress(review)
    if done.remaining:
        raise Conflict(
            f"{done.remaining} of {done.total} grants in {review.reference} still need a decision: "
            "certify or revoke each one before finishing the review."
        )
    review.finished_at = db.utcnow()
    record(
        AuditAction.ACCESS_REVIEW_FINISH,
        REVIEW_OBJECT,
        review.reference,
        {"items": done.total, "certified": done.certified, "revoked": done.revoked},
        actor=actor,
    )
    db.session().flush()
    return review


# --- the dashboard ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RosterDashboard:
    expiring: int
    overdue_reviews: int
    overdue_items: int
    open_reviews: int
    leavers_with_exposure: int
    credentials_seen_by_leavers: int


def dashboard() -> RosterDashboard:
    """The roster's figures for the home page of comms and auditors."""
    exposure = exposure_of_leavers()
    return RosterDashboard(
        expiring=count(expiring()),
        overdue_reviews=count(overdue_reviews()),
        overdue_items=count(overdue_items()),
        open_reviews=count(select(AccessReview).where(AccessReview.finished_at.is_(None))),
        leavers_with_exposure=len(exposure),
        credentials_seen_by_leavers=sum(len(e.seen) for e in exposure),
    )
