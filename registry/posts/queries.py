"""Finding posts: the list and its filters, a post's images, and the channels a post may go on."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, func, select

from registry import db
from registry.auth.models import User
from registry.channels.models import Channel
from registry.channels.workflow import ChannelStatus
from registry.errors import NotFound
from registry.lifecycle.filters import Filters
from registry.posts.kind import KIND
from registry.posts.models import PostImage, PromotionalPost
from registry.posts.workflow import PostStatus


def image_of(post: PromotionalPost, image_id: int) -> PostImage:
    image = next((i for i in post.images if i.id == image_id), None)
    if image is None:
        raise NotFound(f"{post.reference} has no image {image_id}.")
    return image


@dataclass(frozen=True)
class PostFilters(Filters):
    choices = {"status": [s.value for s in PostStatus]}

    status: str = ""
    q: str = ""


def search(filters: PostFilters, user: User) -> Select[PromotionalPost]:
    """Posts ``user`` may see (their own; all for comms and auditors), newest first."""
    conditions: list[ColumnElement[bool]] = [KIND.visible_clause(user)]
    if filters.status:
        conditions.append(PromotionalPost.status == filters.status)
    if filters.q:
        conditions.append(KIND.matching(filters.q, PromotionalPost.text))
    return (
        select(PromotionalPost)
        .where(and_(*conditions))
        .order_by(PromotionalPost.created_at.desc(), PromotionalPost.id.desc())
    )


def active_channels() -> list[Channel]:
    """The channels a post may be proposed for, by platform and name."""
    return list(
        db.session()
        .execute(
            select(Channel)
            .where(Channel.status == ChannelStatus.ACTIVE.value)
            .order_by(Channel.platform, func.lower(Channel.display_name), Channel.id)
        )
        .scalars()
    )
