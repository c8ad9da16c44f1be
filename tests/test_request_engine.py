"""The request engine (registry.lifecycle): every kind's table is complete, one guarded apply
checks in order, reports every field's error at once, changes nothing when it refuses, and
writes the step and the audit event in the caller's transaction."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from registry import db
from registry.audit.models import AuditEvent
from registry.auth.models import User
from registry.channels.kind import KIND as CHANNELS
from registry.channels.kind import Channels
from registry.channels.models import Channel, ChannelTransition
from registry.channels.workflow import TRANSITIONS, ChannelAction
from registry.errors import Conflict, Invalid, NotPermitted
from registry.lifecycle import engine
from registry.lifecycle.kind import KINDS, Change, kinds
from registry.lifecycle.table import Lifecycle, State, Status

#: The colours of the NHS.UK tag component.
NHS_TAG_COLOURS = {
    "white",
    "grey",
    "green",
    "aqua-green",
    "blue",
    "purple",
    "pink",
    "red",
    "orange",
    "yellow",
}


def counts(channel: Channel) -> tuple[int, int]:
    session = db.session()
    steps = session.execute(
        select(func.count()).select_from(ChannelTransition).where(ChannelTransition.channel_id == channel.id)
    ).scalar_one()
    events = session.execute(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.object_id == channel.reference)
    ).scalar_one()
    return steps, events


def test_every_kind_registers_itself_with_a_complete_table(app: Flask) -> None:
    names = {kind.name for kind in kinds()}
    assert {"channel", "media_contact"} <= names
    for kind in kinds():
        table = kind.lifecycle
        assert kind.step_model.lifecycle is table, kind.name
        statuses = set(table.statuses)
        assert len({type(status) for status in statuses}) == 1, kind.name
        for status, state in table.statuses.items():
            assert state.label and state.phrase, (kind.name, status)
            assert state.colour in NHS_TAG_COLOURS, (kind.name, status, state.colour)
            assert status.label == state.label and status.colour == state.colour
        actions = [t.action for t in table.transitions]
        assert len(actions) == len(set(actions)), kind.name
        for t in table.transitions:
            assert t.sources and t.sources <= statuses and t.target in statuses, (kind.name, t.action)
            assert t.label and t.done and t.step, (kind.name, t.action)
            assert table.step_label(t.action.value) == t.step


def test_a_lifecycle_must_give_words_to_every_status() -> None:
    class Half(Status):
        ONE = "one"
        TWO = "two"

    with pytest.raises(TypeError, match="no words for"):
        Lifecycle(statuses={Half.ONE: State("One", "one", "blue")}, transitions=())


def test_a_kind_is_declared_once() -> None:
    with pytest.raises(RuntimeError, match="declared twice"):
        Channels()


def test_permission_is_checked_before_state_and_four_eyes_after_it(
    app: Flask, make_channel: Callable[..., Channel], make_user: Callable[..., User]
) -> None:
    approved = make_channel("approved")
    with pytest.raises(NotPermitted):
        # Not the team, and the channel is no longer waiting: the permission is what is said.
        engine.apply(CHANNELS, approved, "approve", make_user("staff"))
    comms = make_user("comms")
    own = make_channel("requested", requester=comms)
    with pytest.raises(Conflict, match="four-eyes rule"):
        engine.apply(CHANNELS, own, "approve", comms)
    with pytest.raises(Conflict, match="so it cannot be approved"):
        engine.apply(CHANNELS, approved, "approve", make_user("comms"))
    assert counts(own) == (1, 1) and own.status == "requested"


def test_every_field_error_is_reported_at_once_and_nothing_changes(
    app: Flask, make_channel: Callable[..., Channel], make_user: Callable[..., User]
) -> None:
    channel = make_channel("requested")
    before = counts(channel)
    with pytest.raises(Invalid) as refused:
        # Rejecting needs a reason, and a handle is only taken when activating.
        engine.apply(CHANNELS, channel, "reject", make_user("comms"), handle="@another")
    assert set(refused.value.errors) == {"reason", "handle"}
    db.session().rollback()
    assert counts(channel) == before
    assert CHANNELS.get(channel.reference).status == "requested"


def test_an_unknown_action_names_the_action_field(
    app: Flask, make_channel: Callable[..., Channel], make_user: Callable[..., User]
) -> None:
    with pytest.raises(Invalid) as refused:
        engine.apply(CHANNELS, make_channel("requested"), "promote", make_user("comms"))
    assert list(refused.value.errors) == ["action"]


@pytest.fixture
def failing_kind() -> Iterator[Channels]:
    """Channels whose notify hook fails, as a mail outage or a bug would, after everything else."""

    class FailingChannels(Channels):
        name = "test_failing_channel"

        def notify(self, change: Change[Any]) -> None:
            raise RuntimeError("notify failed")

    kind = FailingChannels()
    try:
        yield kind
    finally:
        del KINDS[kind.name]


def test_the_step_and_the_audit_event_stand_or_fall_with_the_change(
    app: Flask,
    make_channel: Callable[..., Channel],
    make_user: Callable[..., User],
    failing_kind: Channels,
) -> None:
    channel = make_channel("requested")
    before = counts(channel)
    with pytest.raises(RuntimeError, match="notify failed"):
        engine.apply(failing_kind, channel, "approve", make_user("comms"))
    db.session().rollback()
    assert counts(channel) == before
    assert CHANNELS.get(channel.reference).status == "requested"


def test_a_transition_writes_one_step_labelled_from_the_table_and_one_audit_event(
    app: Flask, make_channel: Callable[..., Channel], make_user: Callable[..., User]
) -> None:
    channel = make_channel("requested")
    comms = make_user("comms")
    moved = engine.apply(CHANNELS, channel, "approve", comms, note="Go ahead.")
    assert moved.status == "approved"
    steps = list(db.session().execute(CHANNELS.steps(moved)).scalars())
    assert [step.action_label for step in steps] == ["Requested", TRANSITIONS[ChannelAction.APPROVE].step]
    last = steps[-1]
    assert (last.from_status, last.to_status, last.actor_id, last.note) == (
        "requested",
        "approved",
        comms.id,
        "Go ahead.",
    )
    event = db.session().execute(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).scalar_one()
    assert (event.action, event.object_id) == ("channel:approve", channel.reference)
    details = json.loads(event.details)
    assert (details["from"], details["to"], details["reason"]) == ("requested", "approved", "Go ahead.")
    assert moved.status_changed_at == last.occurred_at
