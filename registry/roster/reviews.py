"""Access reviews (policy 7.2): every active grant certified as still needed, or revoked, with the
four-eyes rule for a reviewer's own grants; a finished review is kept read-only.

Each function checks before it changes anything and only flushes (see :mod:`registry.roster.grants`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Select, case, func, select

from registry import clock, db
from registry.audit.models import AuditAction
from registry.audit.services import record
from registry.auth.models import User
from registry.auth.permissions import Permission
from registry.channels.models import Channel
from registry.channels.workflow import OFFICIAL_STATUSES
from registry.errors import Conflict, Invalid, NotFound
from registry.roster.grants import (
    REASON_MAX,
    _clean,
    check_may,
    clock_date,
    describe,
    end_grant,
    uk_date,
)
from registry.roster.models import AccessReview, AccessReviewItem, ReviewDecision, RosterGrant
from registry.text import plural

TITLE_MAX = 200
REVIEW_REFERENCE = re.compile(r"^\s*AR-?(\d{1,9})\s*$", re.IGNORECASE)
REVIEW_OBJECT = "access_review"


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
    check_may(actor, Permission.REVIEW_MANAGE, "Only the communications team runs access reviews.")
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
    check_may(actor, Permission.REVIEW_MANAGE, "Only the communications team decides access reviews.")
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
    if chosen is ReviewDecision.CERTIFIED and grant.revoked_at is not None:
        raise Conflict(
            f"{describe(grant)} was removed from the roster on {uk_date(clock_date(grant.revoked_at))} "
            f"({grant.revoke_reason}), so cannot be certified. Record it as revoked."
        )
    item.decision = chosen.value
    item.decided_by_id = actor.id
    item.decided_at = db.utcnow()
    item.note = note or None
    if chosen is ReviewDecision.REVOKED and grant.is_active:
        end_grant(
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


def reviews() -> Select[AccessReview]:
    """Every review: unfinished first (soonest due first), then finished ones, newest first."""
    return select(AccessReview).order_by(
        AccessReview.finished_at.is_not(None),
        AccessReview.due_on,
        AccessReview.finished_at.desc(),
        AccessReview.id.desc(),
    )


def overdue_reviews(today: dt.date | None = None) -> Select[AccessReview]:
    return (
        select(AccessReview)
        .where(AccessReview.finished_at.is_(None), AccessReview.due_on < (today or clock.today()))
        .order_by(AccessReview.due_on, AccessReview.id)
    )


def overdue_items(today: dt.date | None = None) -> Select[AccessReviewItem]:
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
    check_may(actor, Permission.REVIEW_MANAGE, "Only the communications team runs access reviews.")
    review = get_review(review.reference, for_update=True)
    if review.finished_at is not None:
        raise Conflict(f"{review.reference} was already finished.")
    done = progress(review)
    if done.remaining:
        raise Conflict(
            f"{done.remaining} of {plural(done.total, 'grant')} in {review.reference} still "
            f"{'needs' if done.remaining == 1 else 'need'} a decision: "
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
