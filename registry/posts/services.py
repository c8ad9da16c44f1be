"""The promotional post rules (policy 7.1, 6.11): proposing, screening, deciding, scheduling, publishing.

Every function checks everything before it changes anything, raises a domain
error (``Invalid`` 422, ``NotPermitted`` 403, ``Conflict`` 409, ``NotFound`` 404)
with a plain-English message, and only flushes: the change, its audit events and
its notifications commit together in the caller's transaction, or not at all.

The rules live where their seam is, and this module is the one the pages, the API and
other packages call:

- :mod:`registry.posts.proposals`: what a requester sends, and its checks;
- :mod:`registry.posts.intake`: proposing and changing a post (and resubmitting it);
- :mod:`registry.posts.findings`: screening for patient identifiers, and what is kept of it;
- :mod:`registry.posts.addresses`: a published post's address on each channel;
- :mod:`registry.posts.kind`: the kind's declaration and hooks, which the request engine runs;
- :mod:`registry.posts.queries`: the list, its filters and the channels offered;
- here: deciding, scheduling and publishing (one call to the engine), and accepting findings.

A post with findings cannot be approved until a member of the team other than the requester
has recorded why they are acceptable. Every change the requester makes raises the post's
``version``; a decision or an acceptance of findings names the version it was made on, and
one made on an older version is refused (409) so that nobody decides a text they have not seen.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from registry import db
from registry.audit.models import AuditAction
from registry.audit.services import record
from registry.auth.models import User
from registry.auth.permissions import Permission
from registry.errors import Conflict, Invalid, NotPermitted
from registry.lifecycle import engine
from registry.posts import findings
from registry.posts.addresses import URL_MAX, check_post_url
from registry.posts.findings import CurrentFinding, screening_now
from registry.posts.intake import check_editable, propose, revise
from registry.posts.kind import KIND, STALE
from registry.posts.models import OBJECT_TYPE, PromotionalPost
from registry.posts.proposals import MAX_CHANNELS, MAX_IMAGES, REASON_MAX, KeptImage, NewImage, PostProposal
from registry.posts.queries import PostFilters, active_channels, image_of, search
from registry.posts.workflow import TRANSITIONS, PostAction, PostStatus
from registry.text import clean, masked, parse_moment

__all__ = [
    "MAX_CHANNELS",
    "MAX_IMAGES",
    "STALE",
    "URL_MAX",
    "CurrentFinding",
    "KeptImage",
    "NewImage",
    "PostFilters",
    "PostProposal",
    "REASON_MAX",
    "active_channels",
    "check_editable",
    "check_post_url",
    "image_of",
    "parse_moment",
    "propose",
    "revise",
    "screening_now",
    "search",
]

# --- reading --------------------------------------------------------------------------------------


get_post = KIND.get
#: The post, if ``user`` may see it; otherwise the same "no such post" as for one that does not exist.
get_visible = KIND.visible
history = KIND.history


# --- deciding, scheduling and publishing ----------------------------------------------------------


def can_take(user: User, post: PromotionalPost, action: PostAction) -> bool:
    return KIND.can_take(user, post, TRANSITIONS[action])


def available_actions(user: User, post: PromotionalPost) -> list[PostAction]:
    """What ``user`` may do to the post from its page (a resubmission is a change of the post)."""
    return [action for action in TRANSITIONS if action is not PostAction.RESUBMIT and can_take(user, post, action)]


def transition(
    post: PromotionalPost,
    action: str,
    actor: User,
    *,
    reason: str | None = None,
    scheduled_for: dt.datetime | None = None,
    urls: Mapping[str, str] | None = None,
    version: int | None = None,
) -> PromotionalPost:
    """Move ``post`` along the lifecycle table, or refuse and change nothing.

    ``scheduled_for`` (aware, in the future) is needed to schedule; ``urls`` (each target
    channel's reference → the post's address there) to record it as published. ``version``:
    the version of the post the actor read (pages and the API always give it); another is
    refused with 409. A decision screens the post again first.
    """
    if action == PostAction.RESUBMIT.value:
        raise Invalid({"action": "Resubmit a post by changing it: open it and choose Change and resubmit."})
    return engine.apply(KIND, post, action, actor, note=reason, version=version, scheduled_for=scheduled_for, urls=urls)


def rescreen(post: PromotionalPost, actor: User) -> bool:
    """Screen the post again; see :meth:`registry.posts.kind.Posts.rescreen`."""
    return KIND.rescreen(post, actor)


# --- accepting findings ---------------------------------------------------------------------------


def can_accept_findings(user: User, post: PromotionalPost, now: list[CurrentFinding] | None = None) -> bool:
    """Whether ``user`` may record why the post's findings are acceptable: those stored, or
    ``now`` (what the screening finds at present, from :func:`screening_now`), which the
    acceptance stores first."""
    found = post.needs_findings_accepted if now is None else bool(now)
    return (
        user.can(Permission.POST_DECIDE)
        and post.status_enum is PostStatus.SUBMITTED
        and post.requester_id != user.id
        and found
    )


def accept_findings(
    post: PromotionalPost,
    actor: User,
    reason: str | None,
    *,
    version: int | None = None,
) -> PromotionalPost:
    """A member of the communications team (not the requester) records why the possible
    patient identifiers found in a post are acceptable, so that it can be approved.
    ``version`` as for :func:`transition`."""
    if not actor.can(Permission.POST_DECIDE):
        raise NotPermitted("Only the communications team can do this.")
    post = KIND.get(post.reference, for_update=True)
    if post.status_enum is not PostStatus.SUBMITTED:
        raise Conflict(
            f"{post.reference} is {post.status_enum.phrase}: findings are accepted only while a post waits for "
            f"a decision."
        )
    if post.requester_id == actor.id:
        raise Conflict(
            "You proposed this post, so another member of the communications team must accept its findings "
            "(four-eyes rule)."
        )
    if version is not None and version != post.version:
        raise Conflict(STALE)
    reason = clean(reason)
    if not reason:
        raise Invalid({"acceptance": "Say why the possible identifiers are acceptable in this post"})
    if len(reason) > REASON_MAX:
        raise Invalid({"acceptance": f"The reason must be {REASON_MAX} characters or fewer"})
    KIND.rescreen(post, actor)
    if not post.findings:
        raise Conflict(
            f"The screening finds no possible patient identifiers in {post.reference}: there is nothing to accept."
        )
    if post.findings_accepted:
        raise Conflict(f"Why the findings in {post.reference} are acceptable has already been recorded.")
    now = db.utcnow()
    post.findings_accepted_at = now
    post.findings_accepted_by_id = actor.id
    post.findings_accepted_by = actor
    post.findings_acceptance = reason
    post.updated_at = now
    engine.add_step(KIND, post, "accept_findings", post.status, actor, note=reason, now=now)
    record(
        AuditAction.POST_FINDINGS_ACCEPTED,
        OBJECT_TYPE,
        post.reference,
        {"findings": len(post.findings), "kinds": findings.kinds(post.findings), "reason": masked(reason)},
        actor=actor,
    )
    db.session().flush()
    return post
