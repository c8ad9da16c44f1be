"""The request engine's hooks a kind may override (registry/lifecycle), on a kind made for the
test from media contacts: the reference a request is found and audited by, the SQL that finds
it, the refusal given to someone other than the requester, and whether audit details name the
action. Media contacts themselves keep the defaults (their own tests cover them)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import ColumnElement, select

from registry import db
from registry.audit.models import AuditEvent
from registry.auth.models import User
from registry.errors import NotFound, NotPermitted
from registry.lifecycle import engine
from registry.lifecycle.kind import KINDS, kinds
from registry.lifecycle.table import Transition
from registry.media import services as media
from registry.media.kind import KIND as MEDIA
from registry.media.kind import MediaContacts
from registry.media.models import MediaContact
from registry.media.workflow import LIFECYCLE, TriageAction
from tests.test_media_contacts import approach


class Renamed(MediaContacts):
    """Media contacts filed under ``mc<id>`` instead of ``MC-0001``, found only that way."""

    name = "renamed_media_contact"
    audit_names_action = False

    def reference_of(self, request: MediaContact) -> str:
        return f"mc{request.id}"

    def reference_clause(self, reference: str) -> ColumnElement[bool] | None:
        if not reference.startswith("mc"):
            return None
        return super().reference_clause(reference)

    def requester_only(self, t: Transition[Any, Any]) -> str:
        return f"Only the reporter can {t.action.value} this."


@pytest.fixture
def renamed() -> Iterator[Renamed]:
    kind = Renamed()
    yield kind
    del KINDS[kind.name]


@pytest.fixture
def contact(app: Flask, make_user: Callable[..., User]) -> MediaContact:
    found = media.log_approach(approach(), [], make_user("staff"))
    db.session().commit()
    return found


def last_event(object_id: str) -> AuditEvent:
    event = (
        db.session()
        .execute(select(AuditEvent).where(AuditEvent.object_id == object_id).order_by(AuditEvent.seq.desc()))
        .scalars()
        .first()
    )
    assert event is not None, object_id
    return event


def test_every_kind_registers_once(app: Flask) -> None:
    names = [kind.name for kind in kinds()]
    assert {"media_contact", "logo_consent"} <= set(names)
    assert len(names) == len(set(names))


def test_a_reference_past_the_id_range_is_not_found(app: Flask) -> None:
    assert MEDIA.reference_clause("MC-999999999") is not None
    assert MEDIA.reference_clause("MC-2147483648") is None
    with pytest.raises(NotFound):
        MEDIA.get("MC-2147483648")


def test_a_kind_finds_and_audits_requests_by_its_own_reference(
    renamed: Renamed, contact: MediaContact, make_user: Callable[..., User]
) -> None:
    assert renamed.get(f"mc{contact.id}").id == contact.id
    with pytest.raises(NotFound):
        renamed.get(contact.reference)  # the default form is not this kind's
    engine.apply(renamed, contact, TriageAction.ACKNOWLEDGE.value, make_user("comms"))
    event = last_event(f"mc{contact.id}")
    assert event.object_type == "renamed_media_contact"
    # Without the action in the details (the audit action says it already).
    assert json.loads(event.details) == {"from": "reported", "to": "acknowledged"}


def test_media_contacts_name_the_action_in_the_details(contact: MediaContact, make_user: Callable[..., User]) -> None:
    engine.apply(MEDIA, contact, TriageAction.ACKNOWLEDGE.value, make_user("comms"))
    details = json.loads(last_event(contact.reference).details)
    assert details == {"action": "acknowledge", "from": "reported", "to": "acknowledged"}


def test_a_kind_says_in_its_own_words_who_alone_may_act(
    renamed: Renamed, contact: MediaContact, make_user: Callable[..., User]
) -> None:
    acknowledge = LIFECYCLE.by_action[TriageAction.ACKNOWLEDGE.value]
    reporter_only = dataclasses.replace(acknowledge, permission=None, four_eyes=False)
    someone = make_user("comms")
    with pytest.raises(NotPermitted) as refused:
        renamed.check(someone, contact, reporter_only)
    assert refused.value.message == "Only the reporter can acknowledge this."
    with pytest.raises(NotPermitted) as default:
        MEDIA.check(someone, contact, reporter_only)
    assert default.value.message == "Only the person who made the request can acknowledge it."
