"""Promotional posts beyond their own pages: the monthly report's figures."""

from __future__ import annotations

from sqlalchemy import distinct, func, select

from registry import db
from registry.clock import Period
from registry.posts.models import PostTransition
from registry.posts.workflow import PostAction


def figures(period: Period) -> dict[str, int]:
    """Posts published on Trust channels in the month (a post on two channels counts once)."""
    published = db.session().execute(
        select(func.count(distinct(PostTransition.post_id))).where(
            PostTransition.action == PostAction.PUBLISH.value, period.contains(PostTransition.occurred_at)
        )
    )
    return {"published": int(published.scalar_one())}
