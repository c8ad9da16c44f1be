"""What a kind of request may ask of the request engine beyond the defaults.

- ``note_audited``: whether a transition's audit event holds its note (masked). Breach reports
  say no: their free text never reaches the audit trail, which is kept for years.
- A model without an ``updated_at`` column (a breach report) is not given one by the engine.
- ``registry.text.add_years`` moves a date or a moment, forwards or back.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from registry import db
from registry.audit.models import AuditEvent
from registry.audit.services import Actor
from registry.auth import managers
from registry.auth.models import User
from registry.breaches import services as breaches
from registry.breaches.kind import KIND as BREACHES
from registry.lifecycle import engine
from registry.media import services as media
from registry.media.kind import KIND
from registry.text import add_years

NHS_NUMBER = "943 476 5919"


def _contact(reporter: User) -> Any:
    return media.log_approach(
        media.Approach(
            platform="x",
            outlet="Evening Chronicle",
            journalist="Alex Reporter",
            contacted_at=db.utcnow() - dt.timedelta(hours=2),
            deadline_at=None,
            enquiry="Asked whether the maternity unit is closing this weekend.",
            link="https://x.com/messages/123456",
            not_responded=True,
        ),
        [],
        reporter,
    )


def _last_details(reference: str) -> dict[str, Any]:
    event = (
        db.session()
        .execute(select(AuditEvent).where(AuditEvent.object_id == reference).order_by(AuditEvent.seq.desc()))
        .scalars()
        .first()
    )
    assert event is not None
    return dict(json.loads(event.details))


@pytest.mark.parametrize("audited", [True, False])
def test_a_kind_says_whether_the_note_goes_into_the_audit_event(
    app: Flask, make_user: Callable[..., User], monkeypatch: pytest.MonkeyPatch, audited: bool
) -> None:
    reporter, comms = make_user("staff"), make_user("comms")
    contact = _contact(reporter)
    monkeypatch.setattr(KIND, "note_audited", audited)

    engine.apply(KIND, contact, "close", comms, note=f"Patient {NHS_NUMBER} was named: no story.")

    details = _last_details(contact.reference)
    assert {"action": "close", "from": "reported", "to": "closed"}.items() <= details.items()
    if audited:
        assert details["note"].startswith("Patient ")
        assert NHS_NUMBER not in details["note"]  # masked
    else:
        assert "note" not in details
    # The step keeps the note as written either way: only those who may see the request read it.
    assert KIND.get(contact.reference).status == "closed"
    [*_, step] = db.session().execute(KIND.steps(contact)).unique().scalars()
    assert step.note == f"Patient {NHS_NUMBER} was named: no story."


def test_breach_notes_stay_out_of_the_trail_and_no_updated_at_is_invented(
    app: Flask, make_user: Callable[..., User]
) -> None:
    manager, subject, reporter = make_user("manager"), make_user("staff"), make_user("staff")
    managers.set_line_manager(subject, manager, actor=Actor.system("tests"))
    made = breaches.report_breach(
        breaches.BreachAnswers(
            account="@someone on X",
            link="https://x.com/someone/status/1",
            description="Posted a photo of the ward whiteboard.",
            clauses=("6.11",),
            reputational_risk=False,
            subject_kind=breaches.SubjectKind.USER,
            subject_user=subject.email,
        ),
        [],
        reporter,
    )
    note = f"Spoke to them about patient {NHS_NUMBER}; the post is down."

    engine.apply(BREACHES, made, "resolve", manager, note=note)

    assert _last_details(made.reference) == {"action": "resolve", "from": "with_manager", "to": "closed"}
    assert breaches.history(made)[-1].note == note
    assert "updated_at" not in vars(made)


def test_add_years_takes_dates_and_moments_forwards_and_back() -> None:
    assert add_years(dt.date(2024, 2, 29), 1) == dt.date(2025, 2, 28)
    assert add_years(dt.date(2026, 3, 31), -6) == dt.date(2020, 3, 31)
    moment = dt.datetime(2028, 2, 29, 13, 5, tzinfo=dt.UTC)
    back = add_years(moment, -1)
    assert back == dt.datetime(2027, 2, 28, 13, 5, tzinfo=dt.UTC)
    assert isinstance(back, dt.datetime)
