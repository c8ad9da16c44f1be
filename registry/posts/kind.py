"""Promotional posts as a kind of request: the declaration the request engine runs.

What is the post's own: a post is versioned (every change the requester makes raises its
``version``, and a decision made on an older version is refused); a decision screens the
post again first, and a post whose possible patient identifiers nobody has yet accepted
cannot be approved; a post goes only on active channels; scheduling takes a time in the
future and recording it as published takes each channel's address of it; the requester is
told of each step in the team's words, and the team of a withdrawal.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from sqlalchemy import ColumnElement, and_
from sqlalchemy.orm import joinedload, lazyload
from sqlalchemy.orm.interfaces import ORMOption

from registry import db
from registry.auth.models import User
from registry.channels.workflow import ChannelStatus
from registry.errors import Conflict, NotFound
from registry.lifecycle import engine
from registry.lifecycle.kind import Change, RequestKind, WorkItem
from registry.lifecycle.table import Transition
from registry.notifications import services as notifications
from registry.posts import findings
from registry.posts.addresses import check_urls
from registry.posts.models import OBJECT_TYPE, PostTarget, PostTransition, PromotionalPost, parse_reference
from registry.posts.proposals import REASON_MAX, channel_name
from registry.posts.workflow import (
    DECISIONS,
    TRANSITIONS,
    PostAction,
    PostStatus,
)
from registry.text import masked, plural, uk_datetime

STALE: Final = "The post has changed since you opened it: read it again before deciding."


def addresses(post: PromotionalPost) -> str:
    return "\n".join(t.published_url or "" for t in post.targets)


class Posts(RequestKind[PromotionalPost]):
    """Its words, settings and report section are in posts/lifecycle.toml ([kind], [report])."""

    name = OBJECT_TYPE
    model = PromotionalPost
    step_model = PostTransition
    # PP-2026-0007: the year, then the number.
    reference_prefix = "PP"
    reference_year_column = "year"
    note_max = REASON_MAX
    stale = STALE

    # --- finding one: a reference names the year as well as the number ---------------------------

    def reference_clause(self, reference: str) -> ColumnElement[bool] | None:
        parsed = parse_reference(reference)
        if parsed is None or parsed[1] > 2_147_483_647:
            return None
        return and_(PromotionalPost.id == parsed[1], PromotionalPost.year == parsed[0])

    def not_found(self, reference: str) -> NotFound:
        return NotFound(
            f"There is no promotional post {reference[:40]!r}. Check the reference, for example PP-2026-0007."
        )

    # --- refusals in the post's words ---------------------------------------------------------

    def requester_only(self, t: Transition[Any, Any]) -> str:
        return f"Only the person who proposed the post can {t.action.value.replace('_', ' ')} it."

    def not_permitted(self, t: Transition[Any, Any]) -> str:
        return "Only the communications team can do this."

    # --- the hooks of a transition ------------------------------------------------------------

    def validate(self, change: Change[PromotionalPost]) -> None:
        """Only scheduling takes a time (in the future); only publishing takes addresses."""
        action, inputs, errors = change.transition.action, change.inputs, change.errors
        scheduled_for: dt.datetime | None = inputs.get("scheduled_for")
        if action is PostAction.SCHEDULE:
            if scheduled_for is None:
                errors["scheduled_for"] = "Enter the date and time the post will be published"
            elif scheduled_for.tzinfo is None:
                raise ValueError("scheduled_for must be timezone-aware")
            elif scheduled_for <= change.now:
                errors["scheduled_for"] = "The time the post will be published must be in the future"
        elif scheduled_for is not None:
            errors["scheduled_for"] = "A time can only be given when scheduling a post."
        inputs["published"] = {}
        if action is PostAction.PUBLISH:
            inputs["published"] = check_urls(change.request, inputs.get("urls") or {}, errors)
        elif inputs.get("urls"):
            errors["urls"] = "Addresses can only be given when recording that a post is published."

    def apply(self, change: Change[PromotionalPost]) -> None:
        self.admit(change)
        post, action, details = change.request, change.transition.action, change.details
        if action is PostAction.APPROVE:
            details["channels"] = [c.reference for c in post.channels]
        elif action is PostAction.SCHEDULE:
            post.scheduled_for = change.inputs["scheduled_for"].astimezone(dt.UTC)
            details["scheduled_for"] = post.scheduled_for.isoformat()
            change.step_note = self._with_note(f"For {uk_datetime(post.scheduled_for)}.", change.note)
        elif action is PostAction.PUBLISH:
            post.published_at = change.now
            for target in post.targets:
                target.published_url = change.inputs["published"][target.channel_id]
            details["urls"] = {t.channel.reference: t.published_url for t in post.targets}
            change.step_note = self._with_note(addresses(post), change.note)

    @staticmethod
    def _with_note(said: str, note: str) -> str:
        return f"{said}\n{note}" if note else said

    def admit(self, change: Change[PromotionalPost]) -> None:
        """What a valid step must still pass, on the post as it is now: a decision screens it
        again first; approving needs any possible identifiers accepted; approving and scheduling
        need every channel active."""
        post, action = change.request, change.transition.action
        if action in DECISIONS:
            self.rescreen(post, change.actor)
        if action is PostAction.APPROVE and post.needs_findings_accepted:
            labels = ", ".join(sorted({f.label for f in post.findings}))
            raise Conflict(
                f"{post.reference} may contain patient identifiers "
                f"({plural(len(post.findings), 'finding')}: {labels}). "
                "Record why they are acceptable before approving it, or ask for changes."
            )
        if action in (PostAction.APPROVE, PostAction.SCHEDULE):
            refuse_inactive(post, change.transition.done)

    def notify(self, change: Change[PromotionalPost]) -> None:
        post, action, actor = change.request, change.transition.action, change.actor
        said = f"\n\nThey said: {masked(change.note)}" if change.note else ""
        if action is PostAction.WITHDRAW:
            notifications.notify_comms(
                event="post:withdraw",
                subject=f"Promotional post {post.reference} withdrawn",
                body=f"{actor.name} has withdrawn {post.reference}. Take it out of any schedule." + said,
                link=self.link(post),
                exclude=actor,
            )
            return
        move = TRANSITIONS[action]  # what the requester is told of it: its tells_subject and tells
        word, body = move.tells_subject, move.tells
        when = uk_datetime(post.scheduled_for)
        notifications.notify(
            post.requester,
            event=f"post:{action.value}",
            subject=f"Your promotional post {post.reference}: {word}",
            body=body.format(ref=post.reference, when=when, addresses=addresses(post)) + said,
            link=self.link(post),
        )

    # --- screening again ----------------------------------------------------------------------

    def rescreen(self, post: PromotionalPost, actor: User) -> bool:
        """Screen the post again (the communications team decides it or accepts its findings).

        When the findings differ from those stored (the screener has learnt something since),
        they replace them, any acceptance is cleared, and the change is recorded. Returns whether
        anything changed.
        """
        found = findings.screen_post(post)
        if findings.agrees(post, found):
            return False
        findings.store_findings(post, found)
        engine.add_step(self, post, "screen", post.status, actor)
        findings.record_screen(post, actor, "review")
        db.session().flush()
        return True

    # --- what awaits whom ---------------------------------------------------------------------

    def work_item_options(self) -> tuple[ORMOption, ...]:
        """The channels (the title names their platforms) and the findings (whether any await
        acceptance), in the posts' own statement; not the images."""
        return (
            # "unnested": the channel is an outer join after the target's, not a nested join that the
            # database would make of every post's channels before picking this page's.
            joinedload(PromotionalPost.targets).joinedload(PostTarget.channel, innerjoin="unnested"),  # type: ignore[arg-type]  # documented; the stub says bool
            joinedload(PromotionalPost.findings),
            lazyload(PromotionalPost.images),
        )

    def work_item(self, request: PromotionalPost, *, for_comms: bool) -> WorkItem:
        changes_asked = request.status_enum in self.waiting_on_requester
        if for_comms:
            status_label = _comms_label(request)
        elif changes_asked:
            status_label = "Changes requested: your action needed"
        else:
            status_label = request.status_label
        return WorkItem(
            kind=self.label,
            reference=request.reference,
            title=request.title,
            status_label=status_label,
            waiting_since=request.status_changed_at,
            url=self.link(request),
            requester=request.requester.name,
            needs_you=not for_comms and changes_asked,
        )


def _comms_label(post: PromotionalPost) -> str:
    if post.status_enum is PostStatus.SUBMITTED:
        return "To decide: possible identifiers found" if post.needs_findings_accepted else "To decide"
    if post.status_enum is PostStatus.APPROVED:
        return "To schedule"
    return f"To publish: scheduled for {uk_datetime(post.scheduled_for)}"


def refuse_inactive(post: PromotionalPost, doing: str) -> None:
    """A post goes only on active channels: refuse ``doing`` it while one of its channels is not."""
    channel = next((c for c in post.channels if c.status_enum is not ChannelStatus.ACTIVE), None)
    if channel is not None:
        raise Conflict(
            f"{channel_name(channel)} is {channel.status_enum.phrase}, not active, so {post.reference} cannot be "
            f"{doing}: a post can only go on active channels. Ask for changes so the requester can choose "
            f"another channel."
        )


KIND: Final = Posts()
