"""Correcting a channel's details: who may, what is refused (with the field named, nothing
changed), and what the audit trail records of a change."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import select

from registry import clock, db
from registry.audit.models import AuditEvent
from registry.auth.models import User
from registry.channels import services as channels
from registry.channels.models import Channel
from registry.errors import Conflict, Invalid, NotPermitted


def update_events(channel: Channel) -> list[AuditEvent]:
    statement = select(AuditEvent).where(
        AuditEvent.object_id == channel.reference, AuditEvent.action == "channel:update"
    )
    return list(db.session().execute(statement.order_by(AuditEvent.seq)).scalars())


def test_only_comms_or_the_requester_asked_for_more_may_change_details(
    app: Flask, make_channel: Callable[..., Channel], make_user: Callable[..., User]
) -> None:
    channel = make_channel("requested")
    with pytest.raises(NotPermitted, match="Only the communications team can change"):
        channels.update_details(channel, {"department": "Outpatients"}, make_user("staff"))
    with pytest.raises(NotPermitted):
        # The requester too, until comms ask them for more information.
        channels.update_details(channel, {"department": "Outpatients"}, channel.requester)
    assert update_events(channel) == []


@pytest.mark.parametrize("status", ["rejected", "withdrawn"])
def test_a_closed_request_keeps_its_details(
    app: Flask, make_channel: Callable[..., Channel], make_user: Callable[..., User], status: str
) -> None:
    channel = make_channel(status)
    with pytest.raises(Conflict, match=f"is {status}: its details are kept as they were"):
        channels.update_details(channel, {"department": "Outpatients"}, make_user("comms"))


def test_every_wrong_field_is_named_and_nothing_changes(
    app: Flask, make_channel: Callable[..., Channel], make_user: Callable[..., User]
) -> None:
    channel = make_channel("info_requested")
    before = (channel.display_name, channel.department)
    with pytest.raises(Invalid) as refused:
        channels.update_details(
            channel,
            {"display_name": "  ", "department": "x" * 201},
            channel.requester,
            next_review_on=clock.today() + dt.timedelta(days=30),
        )
    assert refused.value.errors == {
        "display_name": "Enter the name the account will show",
        "department": "The service or department must be 200 characters or fewer",
        "next_review_on": "Only the communications team sets the review date.",
    }
    db.session().rollback()
    fresh = channels.get_channel(channel.reference)
    assert (fresh.display_name, fresh.department) == before and update_events(channel) == []


def test_comms_move_the_review_date_and_a_change_to_nothing_records_nothing(
    app: Flask, make_channel: Callable[..., Channel], make_user: Callable[..., User]
) -> None:
    channel = make_channel("active")
    comms = make_user("comms")
    was = channel.next_review_on
    assert was is not None
    moved = was + dt.timedelta(days=60)
    assert channels.update_details(channel, {}, comms, next_review_on=moved) is True
    assert channel.next_review_on == moved
    [event] = update_events(channel)
    assert json.loads(event.details) == {
        "changed": {"next_review_on": {"from": was.isoformat(), "to": moved.isoformat()}}
    }
    assert channels.update_details(channel, {"department": channel.department}, comms, next_review_on=moved) is False
    assert len(update_events(channel)) == 1
