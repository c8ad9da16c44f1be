"""The channel lifecycle (SPEC capability 1) in the services and in the browser.

Every action is tried from every state: the legal ones move the channel and
record who, when and why with one audit event; the illegal ones are refused
with a plain-English message and change nothing at all.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from registry import db
from registry.audit.models import AuditAnchor, AuditEvent
from registry.auth.models import User
from registry.channels import services as channels
from registry.channels.lookalike import comparable_part, lookalike_keys
from registry.channels.models import Channel, ChannelLookalikeKey, ChannelTransition
from registry.channels.platforms import Platform
from registry.channels.workflow import TRANSITIONS, ChannelAction, ChannelStatus
from registry.errors import Conflict, Invalid, NotPermitted
from registry.lifecycle.table import Need
from tests.conftest import Browser

REQUESTER_ONLY = {ChannelAction.WITHDRAW, ChannelAction.RESUBMIT}
LEGAL = [(action, source) for action, t in TRANSITIONS.items() for source in sorted(t.sources)]
REASON = "The reason the test gives."
REFERENCE_LINK = re.compile(r'href="/channels/(CH-\d+)"')

FULL_REQUEST = {
    "platform": "x",
    "handle": "@TrustCardiology",
    "display_name": "Cardiology, Example NHS",
    "department": "Cardiology",
    "purpose": "Heart health campaigns.",
    "audience": "Patients and carers.",
    "posting_plan": "Two cardiac nurses.",
    "moderation_plan": "The same nurses, twice a day.",
    "out_of_hours": "Communications on call.",
    "sponsor": "Clinical director, cardiology",
    "proposed_administrators": "Ann Example (ann@example.nhs.uk)",
    "policy_acknowledged": "y",
}


def snapshot(connection: Connection, channel: Channel) -> dict[str, Any]:
    """Everything an illegal transition could touch, read straight from the database."""
    row = connection.execute(
        select(
            Channel.status,
            Channel.handle,
            Channel.url,
            Channel.updated_at,
            Channel.status_changed_at,
            Channel.next_review_on,
        ).where(Channel.id == channel.id)
    ).one()
    return {
        "channel": tuple(row),
        "transitions": connection.execute(
            select(ChannelTransition.id, ChannelTransition.action)
            .where(ChannelTransition.channel_id == channel.id)
            .order_by(ChannelTransition.id)
        ).all(),
        "events": connection.execute(select(func.count()).select_from(AuditEvent)).scalar_one(),
        "anchor": tuple(connection.execute(select(AuditAnchor.seq, AuditAnchor.head_hash)).one()),
        "lookalike_keys": sorted(
            connection.execute(
                select(ChannelLookalikeKey.key).where(ChannelLookalikeKey.channel_id == channel.id)
            ).scalars()
        ),
    }


def status_of(connection: Connection, channel: Channel) -> str:
    return connection.execute(select(Channel.status).where(Channel.id == channel.id)).scalar_one()


def page_text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


#: How the refusal should read to a busy clinician, written out here rather than taken from the code.
HOW_A_STATUS_READS = {
    ChannelStatus.REQUESTED: "waiting for a decision",
    ChannelStatus.INFO_REQUESTED: "waiting for more information from the requester",
    ChannelStatus.APPROVED: "approved but not yet live",
    ChannelStatus.ACTIVE: "active",
    ChannelStatus.SUSPENDED: "suspended",
    ChannelStatus.RETIRED: "retired",
    ChannelStatus.REJECTED: "rejected",
    ChannelStatus.WITHDRAWN: "withdrawn",
}
DONE = {
    ChannelAction.APPROVE: "approved",
    ChannelAction.REJECT: "rejected",
    ChannelAction.REQUEST_INFO: "sent back for more information",
    ChannelAction.RESUBMIT: "resubmitted",
    ChannelAction.ACTIVATE: "activated",
    ChannelAction.SUSPEND: "suspended",
    ChannelAction.REINSTATE: "reinstated",
    ChannelAction.RETIRE: "retired",
    ChannelAction.WITHDRAW: "withdrawn",
}


def refusal_message(channel: Channel, action: ChannelAction, status: ChannelStatus) -> str:
    return f"{channel.reference} is {HOW_A_STATUS_READS[status]}, so it cannot be {DONE[action]}."


def new_events(connection: Connection, after_seq: int) -> list[Any]:
    """The audit events written after ``after_seq``, oldest first."""
    return list(
        connection.execute(select(AuditEvent.__table__).where(AuditEvent.seq > after_seq).order_by(AuditEvent.seq))
    )


def anchor_seq(connection: Connection) -> int:
    return connection.execute(select(AuditAnchor.seq)).scalar_one()


@pytest.fixture
def requester(make_user: Callable[..., User]) -> User:
    return make_user("staff")


@pytest.fixture
def comms(make_user: Callable[..., User]) -> User:
    return make_user("comms")


def actor_for(action: ChannelAction, requester: User, comms: User) -> User:
    return requester if action in REQUESTER_ONLY else comms


# --- the services -----------------------------------------------------------------------------


def check_recorded(
    connection: Connection,
    channel: Channel,
    action: ChannelAction,
    source: ChannelStatus,
    actor: User,
    after_seq: int,
    started: dt.datetime,
) -> None:
    """The channel is in the target state; one history row and one audit event say who, when and why."""
    t = TRANSITIONS[action]
    case = f"{action.value} from {source.value}"
    assert status_of(connection, channel) == t.target.value, case
    step = (
        db.session()
        .execute(
            select(ChannelTransition)
            .where(ChannelTransition.channel_id == channel.id)
            .order_by(ChannelTransition.id.desc())
        )
        .scalars()
        .first()
    )
    assert step is not None, case
    assert (step.action, step.from_status, step.to_status) == (action.value, source.value, t.target.value), case
    assert (step.actor_id, step.reason) == (actor.id, REASON), case
    assert started - dt.timedelta(seconds=1) <= step.occurred_at <= db.utcnow(), case
    events = new_events(connection, after_seq)
    assert [(e.action, e.object_type, e.object_id, e.actor_id) for e in events] == [
        (t.audit.value, "channel", channel.reference, actor.id)
    ], case
    details = json.loads(events[0].details)
    assert (details["from"], details["to"], details["reason"]) == (source.value, t.target.value, REASON), case


def test_legal_transitions_move_and_record_who_when_why(
    app: Flask,
    connection: Connection,
    make_channel: Callable[..., Channel],
    requester: User,
    comms: User,
) -> None:
    """From each state the table allows, each action moves the channel to its target and records actor,
    time and reason in the history and in exactly one audit event."""
    for action, source in LEGAL:
        actor = actor_for(action, requester, comms)
        channel = make_channel(source.value, requester=requester)
        before = anchor_seq(connection)
        started = db.utcnow()

        channels.transition(channel, action.value, actor, reason=REASON)
        db.session().commit()

        check_recorded(connection, channel, action, source, actor, before, started)


def test_illegal_transitions_are_refused_and_change_nothing(
    app: Flask,
    connection: Connection,
    make_channel: Callable[..., Channel],
    requester: User,
    comms: User,
) -> None:
    """Every action from every state the table does not allow is a Conflict with a plain-English message;
    the status, history, audit trail and lookalike index are exactly as they were."""
    wrong: dict[str, str] = {}
    tried = 0
    for action, t in TRANSITIONS.items():
        for status in (s for s in ChannelStatus if s not in t.sources):
            tried += 1
            case = f"{action.value} from {status.value}"
            channel = make_channel(status.value, requester=requester)
            before = snapshot(connection, channel)
            try:
                channels.transition(channel, action.value, actor_for(action, requester, comms), reason=REASON)
            except Conflict as refused:
                if not refused.message.startswith(refusal_message(channel, action, status)) or refused.status != 409:
                    wrong[case] = f"unclear refusal: {refused.message!r}"
            else:
                wrong[case] = "was allowed"
            db.session().rollback()
            if snapshot(connection, channel) != before:
                wrong[case] = wrong.get(case, "") + " and changed the database"
    assert wrong == {}
    assert tried == len(TRANSITIONS) * len(ChannelStatus) - len(LEGAL)


def test_reason_is_required_for_reject_request_info_suspend_retire(
    app: Flask,
    connection: Connection,
    make_channel: Callable[..., Channel],
    comms: User,
) -> None:
    """Reject, request for information, suspend and retire need a reason: 422 naming ``reason``, nothing changes."""
    for action in (a for a, t in TRANSITIONS.items() if t.note is Need.REQUIRED):
        channel = make_channel(min(TRANSITIONS[action].sources).value)
        before = snapshot(connection, channel)
        for reason in (None, "", "   \n  "):
            with pytest.raises(Invalid) as refused:
                channels.transition(channel, action.value, comms, reason=reason)
            db.session().rollback()
            assert set(refused.value.errors) == {"reason"}, action
            assert refused.value.errors["reason"].startswith("Enter a reason"), action
            assert refused.value.status == 422
            assert snapshot(connection, channel) == before, action


def test_the_reasons_required_are_exactly_those_the_spec_names() -> None:
    """SPEC capability 1: reject, suspend and retire need a reason (and a request for information asks a question)."""
    assert {a for a, t in TRANSITIONS.items() if t.note is Need.REQUIRED} == {
        ChannelAction.REJECT,
        ChannelAction.REQUEST_INFO,
        ChannelAction.SUSPEND,
        ChannelAction.RETIRE,
    }


def test_four_eyes_nobody_decides_their_own_request(
    app: Flask,
    connection: Connection,
    make_channel: Callable[..., Channel],
    make_user: Callable[..., User],
) -> None:
    """A comms member who requested a channel cannot approve, reject or query it; another comms member can."""
    own, other = make_user("comms"), make_user("comms")
    for action in (a for a, t in TRANSITIONS.items() if t.four_eyes):
        channel = make_channel("requested", requester=own)
        before = snapshot(connection, channel)

        with pytest.raises(Conflict) as refused:
            channels.transition(channel, action.value, own, reason=REASON)
        db.session().rollback()
        assert refused.value.message == (
            "You made this request, so another member of the communications team must decide it (four-eyes rule)."
        ), action
        assert snapshot(connection, channel) == before, action

        channels.transition(channel, action.value, other, reason=REASON)
        assert status_of(connection, channel) == TRANSITIONS[action].target.value, action


def test_only_the_requester_withdraws_or_resubmits(
    app: Flask,
    connection: Connection,
    make_channel: Callable[..., Channel],
    make_user: Callable[..., User],
) -> None:
    """Withdraw and resubmit belong to the requester: comms, admins and other staff are refused (403)."""
    channel = make_channel("info_requested")
    others = [make_user(*roles) for roles in (("comms",), ("staff",), ("admin", "comms", "auditor", "manager"))]
    before = snapshot(connection, channel)
    for action in sorted(REQUESTER_ONLY):
        for other in others:
            with pytest.raises(NotPermitted) as refused:
                channels.transition(channel, action.value, other, reason=REASON)
            assert refused.value.message == f"Only the person who made the request can {action.value} it."
    db.session().rollback()
    assert snapshot(connection, channel) == before


def test_staff_managers_auditors_and_admins_cannot_decide_or_operate(
    app: Flask,
    connection: Connection,
    make_channel: Callable[..., Channel],
    make_user: Callable[..., User],
) -> None:
    """Deciding and running channels needs the comms role, whatever other roles a person holds."""
    others = [make_user(role) for role in ("staff", "manager", "auditor", "admin")]
    others.append(make_user("staff", "manager", "auditor", "admin"))
    for action, t in TRANSITIONS.items():
        if t.permission is None:
            continue
        channel = make_channel(min(t.sources).value)
        before = snapshot(connection, channel)
        for user in others:
            with pytest.raises(NotPermitted) as refused:
                channels.transition(channel, action.value, user, reason=REASON)
            assert refused.value.message == "Only the communications team can do this.", (action, user.roles)
        db.session().rollback()
        assert snapshot(connection, channel) == before, action


def test_an_unknown_action_is_invalid(app: Flask, make_channel: Callable[..., Channel], comms: User) -> None:
    """An action outside the vocabulary is a 422 naming ``action`` and listing the choices."""
    channel = make_channel("requested")
    with pytest.raises(Invalid) as refused:
        channels.transition(channel, "delete", comms)
    assert set(refused.value.errors) == {"action"}
    assert "approve" in refused.value.errors["action"] and "withdraw" in refused.value.errors["action"]


def test_requester_withdraws_from_each_open_state(
    app: Flask,
    connection: Connection,
    make_channel: Callable[..., Channel],
    requester: User,
) -> None:
    """The requester may withdraw a request that is requested, waiting on them, or approved."""
    for source in ("requested", "info_requested", "approved"):
        channel = make_channel(source, requester=requester)
        channels.transition(channel, "withdraw", requester)
        assert status_of(connection, channel) == "withdrawn", source


def test_a_handle_can_only_be_corrected_when_activating(
    app: Flask,
    connection: Connection,
    make_channel: Callable[..., Channel],
    comms: User,
) -> None:
    """Giving a handle with any other action is refused (422 naming ``handle``) and changes nothing."""
    channel = make_channel("requested")
    before = snapshot(connection, channel)
    with pytest.raises(Invalid) as refused:
        channels.transition(channel, "approve", comms, handle="@SomethingElse")
    db.session().rollback()
    assert refused.value.errors == {"handle": "A handle or web address can only be given when activating a channel."}
    assert snapshot(connection, channel) == before


def test_activate_with_a_corrected_handle(
    app: Flask,
    connection: Connection,
    make_channel: Callable[..., Channel],
    comms: User,
) -> None:
    """The live account may differ from the request: its handle, URL and lookalike keys are updated and audited."""
    for number, given in enumerate(
        ({"handle": "@TrustRenalLive"}, {"url": "https://mobile.twitter.com/TrustRenalLive/?lang=en"})
    ):
        channel = make_channel("approved", handle=f"TrustRenal{number}")
        keys_before = snapshot(connection, channel)["lookalike_keys"]
        before = anchor_seq(connection)

        channels.transition(channel, "activate", comms, **given)
        db.session().commit()

        row = connection.execute(
            select(Channel.status, Channel.handle, Channel.url).where(Channel.id == channel.id)
        ).one()
        assert (row.status, row.handle, row.url) == ("active", "trustrenallive", "https://x.com/trustrenallive"), given
        keys_after = snapshot(connection, channel)["lookalike_keys"]
        assert keys_after != keys_before
        assert keys_after == sorted(k[:255] for k in lookalike_keys(comparable_part(Platform.X, "trustrenallive")))
        (event,) = new_events(connection, before)
        assert event.action == "channel:activate"
        assert json.loads(event.details)["handle"] == {"from": f"trustrenal{number}", "to": "trustrenallive"}
        channels.transition(channel, "retire", comms, reason="Make the handle free for the next case.")
        db.session().commit()


def test_activate_refuses_a_handle_another_live_channel_holds(
    app: Flask,
    connection: Connection,
    make_channel: Callable[..., Channel],
    comms: User,
) -> None:
    """Correcting to a handle already live elsewhere is refused, naming the holder, and nothing changes."""
    holder = make_channel("active", handle="TrustTaken")
    channel = make_channel("approved", handle="TrustWanted")
    before = snapshot(connection, channel)
    for field, value in (("handle", "@TRUSTTAKEN"), ("url", "https://www.twitter.com/trusttaken/")):
        with pytest.raises(Invalid) as refused:
            channels.transition(channel, "activate", comms, **{field: value})
        db.session().rollback()
        assert set(refused.value.errors) == {field}
        assert refused.value.errors[field].startswith(f"This account is already in the registry as {holder.reference}")
        assert snapshot(connection, channel) == before


# --- duplicate handles ------------------------------------------------------------------------


def _request(handle: str, user: User, platform: str = "x") -> Channel:
    return channels.request_channel(
        channels.ChannelRequest(
            platform=platform,
            handle=handle,
            display_name="Another request",
            department="Renal",
            purpose="Updates.",
            audience="Patients.",
            policy_acknowledged=True,
        ),
        user,
    )


VARIANTS = (
    "trustmaternity",
    "@TrustMaternity",
    "  @TRUSTMATERNITY ",
    "https://twitter.com/TrustMaternity",
    "https://www.x.com/trustmaternity/",
    "https://mobile.twitter.com/TrustMaternity?lang=en",
    "x.com/@TrustMaternity",
)


def test_a_live_handle_cannot_be_requested_twice(
    app: Flask,
    connection: Connection,
    make_channel: Callable[..., Channel],
    requester: User,
) -> None:
    """Case, ``@``, host and URL variants of a live account are the same account: refused, naming the holder."""
    holder = make_channel("requested", handle="TrustMaternity")
    events = snapshot(connection, holder)["events"]
    count = connection.execute(select(func.count()).select_from(Channel)).scalar_one()

    for variant in VARIANTS:
        with pytest.raises(Invalid) as refused:
            _request(variant, requester)
        db.session().rollback()
        assert refused.value.errors == {
            "handle": f"This account is already in the registry as {holder.reference} (requested). "
            "Search for it instead of requesting it again."
        }, variant

    assert connection.execute(select(func.count()).select_from(Channel)).scalar_one() == count
    assert snapshot(connection, holder)["events"] == events


def test_a_handle_is_free_again_once_its_channel_has_ended(
    app: Flask,
    connection: Connection,
    make_channel: Callable[..., Channel],
    requester: User,
) -> None:
    """After rejection, withdrawal or retirement the same account may be requested again."""
    for number, ended in enumerate(("rejected", "withdrawn", "retired")):
        first = make_channel(ended, handle=f"TrustPhysio{number}")
        second = _request(f"@TRUSTPHYSIO{number}", requester)
        db.session().commit()
        assert second.id != first.id
        assert (second.handle, second.status) == (first.handle, "requested"), ended


def test_the_database_backs_the_one_live_holder_rule(
    app: Flask,
    connection: Connection,
    make_channel: Callable[..., Channel],
) -> None:
    """Even past the service, the partial unique index refuses a second live channel with the same handle."""
    holder = make_channel("active", handle="TrustUnique")
    other = make_channel("rejected", handle="TrustOther")
    with pytest.raises(IntegrityError) as refused, connection.begin_nested():
        connection.execute(
            update(Channel).where(Channel.id == other.id).values(handle=holder.handle, status="requested")
        )
    assert "unique" in str(refused.value).lower()


# --- atomicity --------------------------------------------------------------------------------


def _break_audit_insert(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        connection.execute(
            text(
                "CREATE TRIGGER audit_events_test_failure BEFORE INSERT ON audit_events "
                "BEGIN SELECT RAISE(ABORT, 'audit store unavailable'); END"
            )
        )
    else:
        connection.execute(
            text(
                "CREATE FUNCTION audit_events_test_failure() RETURNS trigger LANGUAGE plpgsql AS $$ "
                "BEGIN RAISE EXCEPTION 'audit store unavailable'; END $$"
            )
        )
        connection.execute(
            text(
                "CREATE TRIGGER audit_events_test_failure BEFORE INSERT ON audit_events "
                "FOR EACH ROW EXECUTE FUNCTION audit_events_test_failure()"
            )
        )


def _remove_anchor(connection: Connection) -> None:
    connection.execute(text("DELETE FROM audit_anchor"))


@pytest.mark.parametrize("failure", [_break_audit_insert, _remove_anchor], ids=["event-insert-fails", "anchor-missing"])
def test_state_change_and_audit_event_commit_together_in_the_browser(
    app: Flask,
    connection: Connection,
    make_channel: Callable[..., Channel],
    browser_as: Callable[..., Browser],
    failure: Callable[[Connection], None],
) -> None:
    """When the audit event cannot be written the request fails and the channel is not approved."""
    comms = browser_as("comms")
    channel = make_channel("requested")
    before = snapshot(connection, channel)
    failure(connection)

    response = comms.post(f"/channels/{channel.reference}/actions/approve", {"approve-reason": ""})

    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in page_text(response)
    assert status_of(connection, channel) == "requested"
    assert connection.execute(
        select(func.count()).select_from(ChannelTransition).where(ChannelTransition.channel_id == channel.id)
    ).scalar_one() == len(before["transitions"])
    if failure is _break_audit_insert:
        assert snapshot(connection, channel) == before


def test_state_change_and_audit_event_commit_together_in_the_api(
    app: Flask,
    connection: Connection,
    make_channel: Callable[..., Channel],
    make_user: Callable[..., User],
    api_token: Callable[[User], dict[str, str]],
) -> None:
    """Through the API too: a failed audit write leaves the channel as it was and answers 500 problem+json."""
    headers = api_token(make_user("comms"))
    channel = make_channel("active")
    before = snapshot(connection, channel)
    _break_audit_insert(connection)

    response = app.test_client().post(
        f"/api/v1/channels/{channel.reference}/transitions",
        json={"action": "suspend", "reason": REASON},
        headers=headers,
    )

    assert response.status_code == 500
    assert response.mimetype == "application/problem+json"
    assert snapshot(connection, channel) == before


# --- the browser ------------------------------------------------------------------------------


def test_legal_transitions_in_the_browser(
    app: Flask,
    connection: Connection,
    make_channel: Callable[..., Channel],
    browser_as: Callable[..., Browser],
    requester: User,
) -> None:
    """Each button on the channel page does what it says, is recorded, and the history shows who and why.
    (The resubmit button leads to the edit page, where the requester answers.)"""
    browsers = {"requester": browser_as(user=requester), "comms": browser_as("comms")}
    for action, source in LEGAL:
        channel = make_channel(source.value, requester=requester)
        browser = browsers["requester" if action in REQUESTER_ONLY else "comms"]
        path = f"/channels/{channel.reference}/actions/{action.value}"
        if action is ChannelAction.RESUBMIT:
            response = browser.post(path, {})
            assert response.status_code == 302
            assert response.headers["Location"].endswith(f"/channels/{channel.reference}/edit")
            continue
        before = anchor_seq(connection)
        started = db.utcnow()

        response = browser.post(path, {f"{action.value}-reason": REASON})

        assert response.status_code == 302, (action, source, page_text(response)[:3000])
        check_recorded(connection, channel, action, source, browser.user, before, started)  # type: ignore[attr-defined]
        page = page_text(browser.get(response.headers["Location"]))
        assert f"{channel.reference} has been {TRANSITIONS[action].done}." in page
        assert REASON in page
        assert browser.user.name in page  # type: ignore[attr-defined]


def test_illegal_transition_in_the_browser_is_409_and_changes_nothing(
    app: Flask,
    connection: Connection,
    make_channel: Callable[..., Channel],
    browser_as: Callable[..., Browser],
    requester: User,
) -> None:
    """A stale button (pressed twice, or another person acted first) gets 409 and the reason on the
    channel page; nothing changes. The whole table is covered at the service above; here each button is
    pressed again once it has done its work."""
    browsers = {"requester": browser_as(user=requester), "comms": browser_as("comms")}
    wrong: dict[str, str] = {}
    for action, t in TRANSITIONS.items():
        if action is ChannelAction.RESUBMIT:
            continue
        browser = browsers["requester" if action in REQUESTER_ONLY else "comms"]
        channel = make_channel(t.target.value, requester=requester)
        before = snapshot(connection, channel)

        response = browser.post(
            f"/channels/{channel.reference}/actions/{action.value}", {f"{action.value}-reason": REASON}
        )

        body = page_text(response)
        if response.status_code != 409:
            wrong[action.value] = f"answered {response.status_code}"
        elif refusal_message(channel, action, t.target) not in body or channel.display_name not in body:
            wrong[action.value] = "the page does not explain the refusal"
        if snapshot(connection, channel) != before:
            wrong[action.value] = wrong.get(action.value, "") + " and changed the database"
    assert wrong == {}


def test_resubmitting_is_only_possible_while_comms_wait_on_the_requester(
    app: Flask,
    connection: Connection,
    make_channel: Callable[..., Channel],
    browser_as: Callable[..., Browser],
    requester: User,
) -> None:
    """Outside "more information needed" the requester cannot open the resubmission page, nor change anything."""
    browser = browser_as(user=requester)
    for status in (s for s in ChannelStatus if s is not ChannelStatus.INFO_REQUESTED):
        channel = make_channel(status.value, requester=requester)
        before = snapshot(connection, channel)

        page = browser.get(f"/channels/{channel.reference}/edit")
        response = browser.post(f"/channels/{channel.reference}/edit", {"display_name": "Changed", "note": "Again"})

        assert (page.status_code, response.status_code) == (403, 403), status
        assert "Only the communications team can change a channel's details." in page_text(response)
        assert snapshot(connection, channel) == before, status


def test_missing_reason_in_the_browser_shows_the_error_at_the_field(
    app: Flask,
    connection: Connection,
    make_channel: Callable[..., Channel],
    browser_as: Callable[..., Browser],
) -> None:
    """422 with an error summary linking to the reason box, the inline error, and no change."""
    browser = browser_as("comms")
    for action in (a for a, t in TRANSITIONS.items() if t.note is Need.REQUIRED):
        channel = make_channel(min(TRANSITIONS[action].sources).value)
        before = snapshot(connection, channel)

        response = browser.post(
            f"/channels/{channel.reference}/actions/{action.value}", {f"{action.value}-reason": " "}
        )

        assert response.status_code == 422, action
        body = response.get_data(as_text=True)
        assert "There is a problem" in body
        assert f'href="#{action.value}-reason"' in body
        assert 'class="nhsuk-error-message"' in body
        assert "<title>Error: " in body
        assert snapshot(connection, channel) == before, action


def test_four_eyes_in_the_browser(
    app: Flask,
    connection: Connection,
    make_channel: Callable[..., Channel],
    browser_as: Callable[..., Browser],
) -> None:
    """A comms member's own request shows no decision buttons, and a forged POST is refused with 409."""
    browser = browser_as("comms")
    channel = make_channel("requested", requester=browser.user)  # type: ignore[attr-defined]
    before = snapshot(connection, channel)

    page = page_text(browser.get(f"/channels/{channel.reference}"))
    response = browser.post(f"/channels/{channel.reference}/actions/approve", {"approve-reason": ""})

    assert "Approve the request" not in page
    assert "Withdraw your request" in page
    assert response.status_code == 409
    assert "four-eyes rule" in page_text(response)
    assert snapshot(connection, channel) == before


def test_staff_cannot_decide_in_the_browser(
    app: Flask,
    connection: Connection,
    make_channel: Callable[..., Channel],
    browser_as: Callable[..., Browser],
    requester: User,
) -> None:
    """The requester sees their request but no decision buttons; a forged approval is 403 and changes nothing."""
    channel = make_channel("requested", requester=requester)
    browser = browser_as(user=requester)
    before = snapshot(connection, channel)

    page = page_text(browser.get(f"/channels/{channel.reference}"))
    response = browser.post(f"/channels/{channel.reference}/actions/approve", {"approve-reason": ""})

    assert "Approve the request" not in page
    assert response.status_code == 403
    assert "Only the communications team can do this." in page_text(response)
    assert snapshot(connection, channel) == before


def test_request_information_then_resubmit_through_the_edit_page(
    app: Flask,
    connection: Connection,
    make_channel: Callable[..., Channel],
    browser_as: Callable[..., Browser],
    requester: User,
) -> None:
    """Comms ask a question; the requester sees it, answers on the edit page and the request returns to comms."""
    channel = make_channel("requested", requester=requester)
    comms = browser_as("comms")
    staff = browser_as(user=requester)
    question = "Who will answer messages at weekends?"

    asked = comms.post(f"/channels/{channel.reference}/actions/request_info", {"request_info-reason": question})
    assert asked.status_code == 302
    detail = page_text(staff.get(f"/channels/{channel.reference}"))
    assert "The communications team needs more information" in detail
    assert question in detail
    assert f"/channels/{channel.reference}/edit" in detail
    assert staff.get(f"/channels/{channel.reference}/edit").status_code == 200

    before = anchor_seq(connection)
    answered = staff.post(
        f"/channels/{channel.reference}/edit",
        {
            "display_name": channel.display_name,
            "department": channel.department,
            "purpose": channel.purpose,
            "audience": channel.audience,
            "posting_plan": "Two midwives.",
            "moderation_plan": "The same midwives.",
            "out_of_hours": "The on-call communications manager at weekends.",
            "sponsor": "Head of Midwifery",
            "proposed_administrators": "Ann Example",
            "note": "Added the weekend cover.",
        },
    )

    assert answered.status_code == 302, page_text(answered)[:3000]
    assert status_of(connection, channel) == "requested"
    events = new_events(connection, before)
    assert [e.action for e in events] == ["channel:update", "channel:resubmit"]
    assert all(e.actor_id == requester.id for e in events)
    steps = (
        db.session()
        .execute(
            select(ChannelTransition).where(ChannelTransition.channel_id == channel.id).order_by(ChannelTransition.id)
        )
        .scalars()
        .all()
    )
    assert [s.action for s in steps] == ["request", "request_info", "update", "resubmit"]
    assert steps[-1].reason == "Added the weekend cover."
    assert steps[-1].actor_id == requester.id
    row = connection.execute(select(Channel.out_of_hours).where(Channel.id == channel.id)).scalar_one()
    assert row == "The on-call communications manager at weekends."
    assert "has been resubmitted to the communications team" in page_text(staff.get(answered.headers["Location"]))


def test_resubmission_with_a_required_field_emptied_is_refused_and_changes_nothing(
    app: Flask,
    connection: Connection,
    make_channel: Callable[..., Channel],
    browser_as: Callable[..., Browser],
    requester: User,
) -> None:
    """Emptying the purpose while resubmitting is a 422 at the field; the request stays with the requester."""
    channel = make_channel("info_requested", requester=requester)
    staff = browser_as(user=requester)
    before = snapshot(connection, channel)

    response = staff.post(
        f"/channels/{channel.reference}/edit",
        {
            "display_name": channel.display_name,
            "department": channel.department,
            "purpose": " ",
            "audience": channel.audience,
        },
    )

    assert response.status_code == 422
    body = page_text(response)
    assert 'href="#purpose"' in body
    assert "Describe what the account is for" in body
    assert snapshot(connection, channel) == before


def test_activate_with_a_corrected_handle_in_the_browser(
    app: Flask,
    connection: Connection,
    make_channel: Callable[..., Channel],
    browser_as: Callable[..., Browser],
) -> None:
    """The activation form takes the live account's address; a taken one is refused at the field."""
    make_channel("active", handle="TrustHeldAlrdy")
    channel = make_channel("approved", handle="TrustPlanned")
    comms = browser_as("comms")

    taken = comms.post(
        f"/channels/{channel.reference}/actions/activate",
        {"activate-reason": "", "activate-handle": "https://twitter.com/TrustHeldAlrdy"},
    )
    assert taken.status_code == 422
    assert 'href="#activate-handle"' in taken.get_data(as_text=True)
    assert status_of(connection, channel) == "approved"

    done = comms.post(
        f"/channels/{channel.reference}/actions/activate",
        {"activate-reason": "", "activate-handle": "https://twitter.com/TrustLiveNow"},
    )
    assert done.status_code == 302
    row = connection.execute(select(Channel.status, Channel.handle).where(Channel.id == channel.id)).one()
    assert (row.status, row.handle.lower()) == ("active", "trustlivenow")


# --- the request form -------------------------------------------------------------------------

REQUIRED_FIELD_MESSAGES = {
    "platform": "Choose the platform",
    "handle": "Enter the account's handle or web address",
    "display_name": "Enter the name the account will show",
    "department": "Enter the service or department that will own the account",
    "purpose": "Describe what the account is for",
    "audience": "Describe who the account is for",
    "policy_acknowledged": "Confirm that you have read the social media policy",
}
ALSO_REQUIRED_IN_THE_BROWSER = ("posting_plan", "moderation_plan", "out_of_hours", "sponsor", "proposed_administrators")


def test_the_request_form_names_every_missing_answer(
    app: Flask,
    connection: Connection,
    browser_as: Callable[..., Browser],
) -> None:
    """An empty request is 422: an error summary links to each field and each field shows its own message."""
    staff = browser_as("staff")
    count = connection.execute(select(func.count()).select_from(Channel)).scalar_one()

    response = staff.post("/channels/new", {})

    assert response.status_code == 422
    body = page_text(response)
    assert "There is a problem" in body
    for field, message in REQUIRED_FIELD_MESSAGES.items():
        assert f'href="#{field}"' in body, field
        assert body.count(message) >= 2, f"{field}: {message!r} should be in the summary and at the field"
    for field in ALSO_REQUIRED_IN_THE_BROWSER:
        assert f'href="#{field}"' in body, field
    assert connection.execute(select(func.count()).select_from(Channel)).scalar_one() == count


WRONG_ANSWERS = [
    ({"platform": "myspace"}, "platform", "Choose a platform from the list"),
    ({"handle": "https://facebook.com/TrustCardiology"}, "handle", None),
    ({"handle": "@"}, "handle", None),
    ({"display_name": "x" * 201}, "display_name", "The account name must be 200 characters or fewer"),
    ({"purpose": "   "}, "purpose", "Describe what the account is for"),
    ({"policy_acknowledged": ""}, "policy_acknowledged", "Confirm that you have read the social media policy"),
]


def test_the_request_form_explains_each_wrong_answer(
    app: Flask,
    connection: Connection,
    browser_as: Callable[..., Browser],
) -> None:
    """A wrong answer is shown at its field; the other answers are kept; nothing is created."""
    staff = browser_as("staff")
    count = connection.execute(select(func.count()).select_from(Channel)).scalar_one()
    for change, field, message in WRONG_ANSWERS:
        response = staff.post("/channels/new", {**FULL_REQUEST, **change})

        assert response.status_code == 422, change
        body = page_text(response)
        assert f'href="#{field}"' in body, change
        if message:
            assert message in body
        assert "Two cardiac nurses." in body
    assert connection.execute(select(func.count()).select_from(Channel)).scalar_one() == count


def test_a_complete_request_is_created_and_shown_to_the_requester(
    app: Flask,
    connection: Connection,
    browser_as: Callable[..., Browser],
) -> None:
    """The request is recorded with every answer, the policy acknowledgement, a reference and a history."""
    staff = browser_as("staff")
    response = staff.post("/channels/new", FULL_REQUEST)
    assert response.status_code == 302
    reference = response.headers["Location"].rsplit("/", 1)[1]
    channel = channels.get_channel(reference)
    assert (channel.platform, channel.handle, channel.status) == ("x", "trustcardiology", "requested")
    assert channel.out_of_hours == "Communications on call."
    assert channel.requester_id == staff.user.id  # type: ignore[attr-defined]
    assert channel.policy_acknowledged_at is not None
    page = page_text(staff.get(response.headers["Location"]))
    assert f"Your request {reference} has been sent to the communications team." in page
    assert "Requested" in page


# --- inventory, queue, my requests ------------------------------------------------------------


def listed(response: Any) -> list[str]:
    assert response.status_code == 200
    return REFERENCE_LINK.findall(response.get_data(as_text=True))


@pytest.fixture
def inventory(make_channel: Callable[..., Channel]) -> dict[str, Channel]:
    return {
        "maternity": make_channel(
            "active", platform="x", handle="TrustMatNews", department="Maternity", display_name="Maternity news"
        ),
        "renal": make_channel(
            "requested",
            platform="facebook",
            handle="TrustRenalGroup",
            department="Renal",
            display_name="Renal patients",
        ),
        "careers": make_channel(
            "suspended",
            platform="instagram",
            handle="trust_careers",
            department="Workforce",
            display_name="Careers at the Trust",
        ),
        "physio": make_channel(
            "retired", platform="x", handle="TrustPhysioOld", department="Therapies", display_name="Physiotherapy"
        ),
        "jobs": make_channel(
            "approved", platform="linkedin", handle="trust-jobs", department="workforce", display_name="Jobs board"
        ),
    }


SEARCHES = [
    ("", ["maternity", "renal", "careers", "physio", "jobs"]),
    ("q=renal+PATIENTS", ["renal"]),
    ("q=trustphysio", ["physio"]),
    ("q=workforce", ["careers", "jobs"]),
    ("status=active", ["maternity"]),
    ("status=suspended", ["careers"]),
    ("platform=x", ["maternity", "physio"]),
    ("department=Workforce", ["careers", "jobs"]),
    ("platform=x&status=retired", ["physio"]),
    ("q=nothing-like-this", []),
    ("q=%25", []),
    ("q=_", ["careers"]),
    ("status=not-a-status", ["maternity", "renal", "careers", "physio", "jobs"]),
]


def test_inventory_search_and_filters(
    app: Flask,
    browser_as: Callable[..., Browser],
    inventory: dict[str, Channel],
) -> None:
    """Comms find channels by reference (as printed or loosely, ``ch12``), name, handle and department,
    and filter by status, platform and department."""
    comms = browser_as("comms")
    found = {query: sorted(listed(comms.get(f"/channels?{query}"))) for query, _ in SEARCHES}
    assert found == {query: sorted(inventory[name].reference for name in names) for query, names in SEARCHES}
    target = inventory["careers"]
    assert listed(comms.get(f"/channels?q={target.reference}")) == [target.reference]
    assert target.reference in listed(comms.get(f"/channels?q=ch{target.id}"))


SORTINGS = [
    ("name", "asc", ["careers", "jobs", "maternity", "physio", "renal"]),
    ("name", "desc", ["renal", "physio", "maternity", "jobs", "careers"]),
    ("reference", "desc", ["jobs", "physio", "careers", "renal", "maternity"]),
    ("platform", "asc", ["renal", "careers", "jobs", "maternity", "physio"]),
    ("department", "asc", ["maternity", "renal", "physio", "careers", "jobs"]),
]


def test_inventory_sorts_and_paginates(
    app: Flask,
    browser_as: Callable[..., Browser],
    inventory: dict[str, Channel],
) -> None:
    """Sorting by a column heading orders the list either way; pages hold ``per_page`` channels each,
    in order, with none lost or repeated."""
    comms = browser_as("comms")
    found = {(sort, d): listed(comms.get(f"/channels?sort={sort}&dir={d}")) for sort, d, _ in SORTINGS}
    assert found == {(sort, d): [inventory[n].reference for n in names] for sort, d, names in SORTINGS}

    pages = [listed(comms.get(f"/channels?per_page=2&page={n}")) for n in (1, 2, 3)]
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [ref for p in pages for ref in p] == [c.reference for c in sorted(inventory.values(), key=lambda c: c.id)]
    assert listed(comms.get("/channels?per_page=2&page=4")) == []


def test_inventory_export_is_csv_safe_from_formula_injection_and_audited(
    app: Flask,
    connection: Connection,
    make_channel: Callable[..., Channel],
    browser_as: Callable[..., Browser],
) -> None:
    """The CSV holds the filtered channels; a cell starting ``=``/``+``/``-``/``@`` is neutralised; the
    export is audited."""
    hostile = make_channel(
        "active", display_name='=HYPERLINK("https://evil.example","Click")', department="+Cardiology"
    )
    make_channel("requested", display_name="@SUM(A1:A9)", department="-Renal")
    auditor = browser_as("auditor")
    before = anchor_seq(connection)

    response = auditor.get("/channels/export.csv?status=active")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="channels.csv"'
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["reference"] for r in rows] == [hostile.reference]
    assert rows[0]["display_name"] == '\'=HYPERLINK("https://evil.example","Click")'
    assert rows[0]["department"] == "'+Cardiology"
    assert rows[0]["status"] == "active"
    (event,) = new_events(connection, before)
    assert (event.action, event.actor_id) == ("channel:export", auditor.user.id)  # type: ignore[attr-defined]
    assert '"rows":1' in event.details and '"status":"active"' in event.details

    everything = list(csv.reader(io.StringIO(auditor.get("/channels?format=csv").get_data(as_text=True))))
    assert {row[6] for row in everything[1:]} == {"active", "requested"}
    for row in everything[1:]:
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row)


def test_staff_cannot_export_or_browse_the_inventory(
    app: Flask,
    connection: Connection,
    make_channel: Callable[..., Channel],
    browser_as: Callable[..., Browser],
) -> None:
    """The whole inventory is for comms and auditors: staff get 403 and nothing is audited."""
    make_channel("active")
    staff = browser_as("staff")
    before = anchor_seq(connection)
    assert staff.get("/channels").status_code == 403
    assert staff.get("/channels/export.csv").status_code == 403
    assert anchor_seq(connection) == before


def test_queue_shows_requests_waiting_on_comms_oldest_first(
    app: Flask,
    connection: Connection,
    make_channel: Callable[..., Channel],
    browser_as: Callable[..., Browser],
) -> None:
    """The work queue lists requested and approved channels by how long they have waited; nothing else."""
    newer = make_channel("requested")
    oldest = make_channel("approved")
    middle = make_channel("requested")
    for state in ("active", "info_requested", "rejected", "withdrawn", "suspended", "retired"):
        make_channel(state)
    now = db.utcnow()
    for channel, days in ((newer, 1), (oldest, 30), (middle, 7)):
        connection.execute(
            update(Channel).where(Channel.id == channel.id).values(status_changed_at=now - dt.timedelta(days=days))
        )
    comms = browser_as("comms")

    response = comms.get("/channels/queue")

    assert listed(response) == [oldest.reference, middle.reference, newer.reference]
    body = page_text(response)
    assert "30 days" in body and "7 days" in body and "1 day" in body
    assert browser_as("staff").get("/channels/queue").status_code == 403


def test_my_requests_shows_only_mine(
    app: Flask,
    make_channel: Callable[..., Channel],
    make_user: Callable[..., User],
    browser_as: Callable[..., Browser],
) -> None:
    """Each requester sees their own requests, in every state, and nobody else's."""
    me = make_user("staff")
    someone_else = make_user("staff")
    mine = [make_channel(state, requester=me) for state in ("requested", "rejected", "active")]
    theirs = make_channel("requested", requester=someone_else)
    browser = browser_as(user=me)

    refs = listed(browser.get("/channels/mine"))

    assert sorted(refs) == sorted(c.reference for c in mine)
    assert theirs.reference not in refs
    assert browser.get(f"/channels/{theirs.reference}").status_code == 403


def test_channel_page_shows_the_whole_history(
    app: Flask,
    make_channel: Callable[..., Channel],
    browser_as: Callable[..., Browser],
) -> None:
    """Every decision appears with who took it and why."""
    channel = make_channel("retired")
    page = page_text(browser_as("auditor").get(f"/channels/{channel.reference}"))
    for label in ("Requested", "Approved", "Activated", "Retired"):
        assert f">{label}<" in page
    assert page.count("Because the test says so.") == 3
    # Each step's from and to states are tags in the lifecycle's own words and colours.
    assert (
        '<strong class="nhsuk-tag nhsuk-tag--green">Active</strong> to '
        '<strong class="nhsuk-tag nhsuk-tag--grey">Retired</strong>'
    ) in page
    assert '<strong class="nhsuk-tag nhsuk-tag--grey">Retired</strong>' in page.split("<h2", 1)[0]
