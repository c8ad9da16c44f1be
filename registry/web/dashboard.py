"""The figures on each person's home page: what needs them now.

:func:`for_user` gathers only what the person's permissions allow (``User.can``, so a browser
session without its second factor gets the everyday figures only). Every figure is a count or
the first few rows of a list with its total, so the page runs the same statements however many
channels, requests, cases, users or audit events there are (tests/test_dashboards.py proves it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Exists, and_, case, exists, func, select
from sqlalchemy.orm import selectinload

from registry import clock, db
from registry.account_health import services as account_health
from registry.alerts import services as alert_services
from registry.audit import services as audit
from registry.auth.models import (
    AccountRequest,
    AccountRequestStatus,
    User,
    UserRole,
    UserTotp,
)
from registry.auth.permissions import TWO_FACTOR_ROLES, Permission
from registry.channels import services as channels
from registry.channels.models import Channel
from registry.consent import services as consents
from registry.lifecycle.kind import SHOWN, Card, Listing, WorkItem, count_of, kinds
from registry.monitoring.models import OPEN_FINDINGS, UnauthorisedAccount
from registry.roster import services as roster
from registry.vault import services as custody
from registry.web import workqueue

#: How many of a person's own open requests and cases the home page lists.
OWN_SHOWN = 10
#: A channel review or a logo consent's expiry "due soon" falls within this many days (the
#: consent register's "expiring soon" filter, so a card and the list it links to agree).
DUE_WITHIN_DAYS = consents.EXPIRING_SOON_DAYS
#: An active account nobody has signed in to for this long is dormant (and one never used,
#: created this long ago): it should be deactivated if its holder has left.
DORMANT_AFTER_DAYS = 90
#: The home page re-hashes this many of the newest audit events on every view; the whole chain
#: (about a second per 100,000 events) is checked on request and by ``flask audit verify``.
AUDIT_EVENTS_CHECKED = 1000


# --- everyone: their own requests and cases ------------------------------------------------------


@dataclass(frozen=True)
class OwnWork:
    listing: Listing[WorkItem]
    waiting_for_you: int  # of all of them, those where the person must act next


def own_work(user: User) -> OwnWork:
    """The person's open requests of every kind and the cases they reported, those waiting for
    them first, then the oldest."""
    work = workqueue.of(user, per_page=OWN_SHOWN)
    return OwnWork(Listing(work.page.items, work.page.total), work.waiting_for_you)


# --- communications team and auditors ------------------------------------------------------------


def work_queue() -> Listing[WorkItem]:
    """The requests awaiting the communications team: how many, and the oldest few (channels due an
    account security check have a card of their own, :func:`account_security`)."""
    work = workqueue.for_comms(per_page=SHOWN, requests_only=True)
    return Listing(work.page.items, work.page.total)


@dataclass(frozen=True)
class AccountSecurity:
    """The official (active) channels by account security health, and how many are due a check."""

    share: account_health.Share
    due: int


def account_security() -> AccountSecurity:
    return AccountSecurity(account_health.share(), account_health.count_due())


@dataclass(frozen=True)
class ChannelReviews:
    due: Listing[Channel]  # official channels whose review date falls within DUE_WITHIN_DAYS (or has passed)
    overdue: int  # of those, the ones whose review date has passed


def channel_reviews(within_days: int = DUE_WITHIN_DAYS) -> ChannelReviews:
    """Official channels due for review: how many, how many of them overdue, and the soonest few,
    in one statement (each count one range of an index; the list stops at the few shown)."""
    due = channels.reviews_due(within_days)
    overdue = count_of(due, Channel.next_review_on < clock.today())
    rows = db.session().execute(due.add_columns(count_of(due), overdue).limit(SHOWN)).unique().all()
    total, overdue_total = (rows[0][1], rows[0][2]) if rows else (0, 0)
    return ChannelReviews(Listing([row[0] for row in rows], total), overdue_total)


@dataclass(frozen=True)
class Rotations:
    total: int  # to rotate: overdue, or required (someone who knew it left or lost access)
    overdue: int  # past the rotation due date
    required: int  # marked "rotation required"


def rotations() -> Rotations:
    needing = custody.needing_rotation().order_by(None).subquery()
    total, overdue, required = (
        db.session()
        .execute(
            select(
                func.count(),
                func.coalesce(func.sum(case((needing.c.rotation_due_on < clock.today(), 1), else_=0)), 0),
                func.coalesce(func.sum(case((needing.c.rotation_required.is_(True), 1), else_=0)), 0),
            ).select_from(needing)
        )
        .one()
    )
    return Rotations(total, overdue, required)


def open_findings() -> int:
    return (
        db.session()
        .execute(
            select(func.count())
            .select_from(UnauthorisedAccount)
            .where(UnauthorisedAccount.status.in_([s.value for s in OPEN_FINDINGS]))
        )
        .scalar_one()
    )


# --- the audit chain -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditStatus:
    """The chain's head and a check of its newest events (see :func:`audit_status`)."""

    events: int
    head_hash: str
    report: audit.ChainReport

    @property
    def whole_chain_checked(self) -> bool:
        return self.report.checked >= self.events


def audit_status(newest: int = AUDIT_EVENTS_CHECKED) -> AuditStatus:
    """Check the links of the ``newest`` events, keyed or not, by the chain's rules, and that they end
    at the anchor.

    This finds a recent event changed (or rewritten without the audit key), events cut from the end,
    and an anchor that does not match, at a fixed cost whatever the trail's length. A change to an
    older event, and what the signed checkpoints say, show only in the full check
    (``audit.services.verify_chain``): the page offers it, and ``flask audit verify`` can run it on a
    schedule. Nothing is stored: a stored "intact" would be out of date at the next event and could
    be edited by whoever could edit the events.
    """
    seq, head_hash, report = audit.check_newest(newest, db.session())
    return AuditStatus(seq, head_hash, report)


# --- administrators ------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserHealth:
    active: int
    deactivated: int
    without_two_factor: int  # active people who have not set up two-factor sign-in
    must_enrol: Listing[User]  # of those, people whose roles require it (they cannot work until they do)
    dormant: Listing[User]  # active, no sign-in for DORMANT_AFTER_DAYS (or never, since created that long ago)
    dormant_after_days: int = DORMANT_AFTER_DAYS
    approvals_waiting: int = 0  # what an administrator asked for and a second must approve


def _enrolled() -> Exists:
    return exists().where(UserTotp.user_id == User.id, UserTotp.confirmed_at.is_not(None))


def _last_seen() -> ColumnElement[dt.datetime]:
    """When the person last signed in; for an account never used, when it was created."""
    return func.coalesce(User.last_login_at, User.created_at)


def user_health(*, now: dt.datetime | None = None, dormant_after_days: int = DORMANT_AFTER_DAYS) -> UserHealth:
    now = now or db.utcnow()
    session = db.session()
    waiting = (
        select(func.count())
        .select_from(AccountRequest)
        .where(AccountRequest.status == AccountRequestStatus.PENDING.value, AccountRequest.expires_at > now)
        .scalar_subquery()
    )
    active, deactivated, without, approvals_waiting = session.execute(
        select(
            func.coalesce(func.sum(case((User.active.is_(True), 1), else_=0)), 0),
            func.coalesce(func.sum(case((User.active.is_(False), 1), else_=0)), 0),
            func.coalesce(func.sum(case((and_(User.active.is_(True), ~_enrolled()), 1), else_=0)), 0),
            waiting,
        )
    ).one()
    needs_two_factor = exists().where(
        UserRole.user_id == User.id, UserRole.role.in_([r.value for r in TWO_FACTOR_ROLES])
    )
    # The role lists shown beside each name are loaded in one more statement (not one per person).
    must_enrol = Listing.first(
        select(User)
        .options(selectinload(User.role_grants))
        .where(User.active.is_(True), needs_two_factor, ~_enrolled())
        .order_by(func.lower(User.name), User.id)
    )
    dormant = Listing.first(
        select(User)
        .options(selectinload(User.role_grants))
        .where(User.active.is_(True), _last_seen() < now - dt.timedelta(days=dormant_after_days))
        .order_by(_last_seen(), User.id)
    )
    return UserHealth(
        active,
        deactivated,
        without,
        must_enrol,
        dormant,
        dormant_after_days,
        approvals_waiting,
    )


# --- one person's page ---------------------------------------------------------------------------


@dataclass
class Dashboard:
    """What one person's home page shows; ``None`` where their permissions do not reach."""

    own: OwnWork
    queue: Listing[WorkItem] | None = None
    #: The kinds' own cards (breach cases to act on, media contacts to triage, consents expiring…).
    cards: list[Card] = field(default_factory=list)
    channel_reviews: ChannelReviews | None = None
    account_security: AccountSecurity | None = None
    rotations: Rotations | None = None
    open_findings: int | None = None
    by_status: dict[str, int] | None = None
    by_platform: dict[str, int] | None = None
    roster: roster.RosterDashboard | None = None
    audit: AuditStatus | None = None
    users: UserHealth | None = None
    #: Webhook deliveries given up on in the last 7 days (administrators).
    alert_failures: int | None = None
    #: The figures the person acts on (rather than only reads): their cards go under "What needs you now".
    acts_on: frozenset[str] = frozenset()


def for_user(user: User) -> Dashboard:
    """Everything ``user``'s home page shows, each figure only where their permissions allow."""
    board = Dashboard(own=own_work(user))
    if user.can(Permission.WORK_QUEUE):
        board.queue = work_queue()
    board.cards = [card for kind in kinds() if (card := kind.home_card(user)) is not None]
    if user.can(Permission.CHANNEL_READ_ALL):
        board.channel_reviews = channel_reviews()
        board.account_security = account_security()
        counts = channels.counts()
        board.by_status, board.by_platform = counts.by_status, counts.by_platform
    if user.can(Permission.CREDENTIAL_READ):
        board.rotations = rotations()
    if user.can(Permission.MONITORING_READ):
        board.open_findings = open_findings()
    if user.can(Permission.ROSTER_READ):
        board.roster = roster.dashboard()
    if user.can(Permission.AUDIT_READ):
        board.audit = audit_status()
    if user.can(Permission.USER_MANAGE):
        board.users = user_health()
    if user.can(Permission.WEBHOOK_MANAGE):
        board.alert_failures = alert_services.failed_recently()
    board.acts_on = frozenset(
        name
        for name, permissions in (
            ("queue", (Permission.WORK_QUEUE,)),
            ("rotations", (Permission.CREDENTIAL_MANAGE,)),
            ("channel_reviews", (Permission.CHANNEL_EDIT,)),
            ("account_security", (Permission.CHANNEL_OPERATE,)),
            ("open_findings", (Permission.MONITORING_MANAGE,)),
            ("users", (Permission.USER_MANAGE,)),
            ("alert_failures", (Permission.WEBHOOK_MANAGE,)),
        )
        if any(user.can(p) for p in permissions) and getattr(board, name) is not None
    ) | {card.name for card in board.cards}
    return board
