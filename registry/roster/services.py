"""The administrator roster's rules (policy 7.2), as the rest of the Registry calls them.

The rules live in three modules, re-exported here: :mod:`registry.roster.grants` (granting,
revoking, expiry), :mod:`registry.roster.leavers` (a leaver's grants end and what they could
know is flagged; what each leaver saw) and :mod:`registry.roster.reviews` (access reviews).
This module adds the dashboard's figures, which draw on all three.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from registry.roster.grants import (
    EXPIRING_WITHIN_DAYS,
    GRANT_FILTERS,
    GRANT_OBJECT,
    LEAVER_REASON,
    NAME_MAX,
    NO_ROSTER_STATUSES,
    ORGANISATION_MAX,
    REASON_MAX,
    ROLE_CHOICE_MESSAGE,
    GrantRequest,
    clock_date,
    count,
    describe,
    expire_due,
    expiring,
    get_grant,
    grant,
    grant_object_id,
    grants_of,
    parse_platform_role,
    revoke,
    search_grants,
    uk_date,
)
from registry.roster.leavers import LeaverExposure, LeaverReport, SeenCredential, exposure_of_leavers, leaver
from registry.roster.models import AccessReview
from registry.roster.reviews import (
    REVIEW_OBJECT,
    TITLE_MAX,
    ReviewProgress,
    decide,
    finish,
    four_eyes_blocks,
    get_item,
    get_review,
    is_overdue,
    items_of,
    overdue_items,
    overdue_reviews,
    progress,
    progress_of,
    review_id_from_reference,
    reviewable_channels,
    reviews,
    start_review,
)

__all__ = [
    "EXPIRING_WITHIN_DAYS",
    "GRANT_FILTERS",
    "GRANT_OBJECT",
    "LEAVER_REASON",
    "NAME_MAX",
    "NO_ROSTER_STATUSES",
    "ORGANISATION_MAX",
    "REASON_MAX",
    "REVIEW_OBJECT",
    "ROLE_CHOICE_MESSAGE",
    "TITLE_MAX",
    "GrantRequest",
    "LeaverExposure",
    "LeaverReport",
    "ReviewProgress",
    "RosterDashboard",
    "SeenCredential",
    "clock_date",
    "count",
    "dashboard",
    "decide",
    "describe",
    "expire_due",
    "expiring",
    "exposure_of_leavers",
    "finish",
    "four_eyes_blocks",
    "get_grant",
    "get_item",
    "get_review",
    "grant",
    "grant_object_id",
    "grants_of",
    "is_overdue",
    "items_of",
    "leaver",
    "overdue_items",
    "overdue_reviews",
    "parse_platform_role",
    "progress",
    "progress_of",
    "review_id_from_reference",
    "reviewable_channels",
    "reviews",
    "revoke",
    "search_grants",
    "start_review",
    "uk_date",
]


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
