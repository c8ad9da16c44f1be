"""Channel requests as a kind of request: the declaration the request engine runs.

What is the channel's own: anyone may see the Trust's official accounts (they are public
anyway); activating may correct the handle (a different account from the one approved
needs another member of the team, four-eyes); an active channel gets a review date and a
retired one loses it; the requester is told of each decision in the team's words.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from flask import current_app
from sqlalchemy import ColumnElement, or_, true

from registry import clock
from registry.auth.models import User
from registry.channels import registration
from registry.channels.models import Channel, ChannelTransition
from registry.channels.platforms import PLATFORMS, HandleError, normalise_handle
from registry.channels.workflow import (
    OFFICIAL_STATUSES,
    ChannelAction,
    ChannelStatus,
)
from registry.errors import Conflict
from registry.lifecycle.kind import Change, RequestKind, WorkItem
from registry.lifecycle.table import Transition
from registry.text import clean


class Channels(RequestKind[Channel]):
    """Its words and settings are in channels/lifecycle.toml ([kind])."""

    model = Channel
    step_model = ChannelTransition
    note_max = registration.REASON_MAX

    def not_permitted(self, t: Transition[Any, Any]) -> str:
        return "Only the communications team can do this."

    # The Trust's official accounts are public: anyone signed in may see them.
    def can_view(self, user: User, request: Channel) -> bool:
        return super().can_view(user, request) or request.status_enum in OFFICIAL_STATUSES

    def visible_clause(self, user: User) -> ColumnElement[bool]:
        if self.sees_everything(user):
            return true()
        return or_(Channel.requester_id == user.id, Channel.status.in_([s.value for s in OFFICIAL_STATUSES]))

    def validate(self, change: Change[Channel]) -> None:
        """Only activation takes a handle or address: the account as it went live."""
        channel, inputs = change.request, change.inputs
        handle, url = clean(inputs.get("handle")), clean(inputs.get("url"))
        inputs["new_handle"] = None
        if change.transition.action is not ChannelAction.ACTIVATE:
            if inputs.get("handle") or inputs.get("url"):
                field = "handle" if inputs.get("handle") else "url"
                change.errors[field] = "A handle or web address can only be given when activating a channel."
            return
        if not (handle or url):
            return
        field = "url" if url else "handle"
        try:
            new_handle = normalise_handle(channel.platform_enum, url or handle)
        except HandleError as exc:
            change.errors[field] = str(exc)
            return
        holder = registration.live_holder(channel.platform_enum, new_handle, excluding=channel.id)
        if holder is not None:
            change.errors[field] = registration.taken_message(holder)
        elif new_handle != channel.handle and channel.requester_id == change.actor.id:
            # A different account than the one approved needs someone else's eyes.
            raise Conflict(
                "You requested this channel, so another member of the communications team must "
                "activate it under a different handle (four-eyes rule)."
            )
        inputs["new_handle"] = new_handle

    def apply(self, change: Change[Channel]) -> None:
        channel, new_handle, details = change.request, change.inputs["new_handle"], change.details
        if new_handle is not None and new_handle != channel.handle:
            details["handle"] = {"from": channel.handle, "to": new_handle}
            said = f"Handle changed from {channel.handle} to {new_handle}."
            change.step_note = f"{change.note}\n{said}" if change.note else said
            channel.handle = new_handle
            channel.url = PLATFORMS[channel.platform_enum].profile_url(new_handle)
            registration.set_lookalike_keys(channel)
        if change.transition.target is ChannelStatus.RETIRED and channel.next_review_on is not None:
            details["next_review_on"] = None
            channel.next_review_on = None
        if change.transition.action is ChannelAction.ACTIVATE and channel.next_review_on is None:
            channel.next_review_on = clock.today() + registration.REVIEW_INTERVAL
            details["next_review_on"] = channel.next_review_on.isoformat()
        if change.transition.action is ChannelAction.ACTIVATE and channel.health == "unchecked":
            # The team set the account up as it went live: its first security check falls due one
            # interval later. (An account brought in by import was never checked: due from the start.)
            days = current_app.extensions["registry.settings"].health_check_days
            channel.health_due_at = change.now + dt.timedelta(days=days)
        if new_handle is not None:
            registration.flush_unique(channel, channel.platform_enum, new_handle)

    def notify(self, change: Change[Channel]) -> None:
        registration.tell(change.request, change.transition.action.value, change.actor, change.step_note or change.note)

    def work_item(self, request: Channel, *, for_comms: bool) -> WorkItem:
        return WorkItem(
            kind=self.label,
            reference=request.reference,
            title=f"{request.display_name} on {request.platform_label}",
            status_label=request.status_label,
            waiting_since=request.status_changed_at,
            url=self.link(request),
            requester=request.requester.name,
            needs_you=not for_comms and request.status_enum in self.waiting_on_requester,
        )


KIND: Final = Channels()
