"""Breach reports (policy 9; SPEC capability 9).

Anyone reports a suspected breach (the account and link, evidence, the policy clauses kept
with the policy version, whether the Trust's reputation could suffer, who it is about). It
goes to that person's line manager, or to the communications team to route; the manager
resolves it informally, escalates it to HR with a reason, or hands it back; HR record the
outcome. A reputational risk lets comms see the case (9.3). Nobody handles a report about
themselves or one they made. A case is seen only by its reporter (whether it is still being
looked into, nothing more), its manager, comms when flagged or to route, HR once escalated
and auditors; everyone else gets "not found"; every view is audited; no page is cached.
Closed cases are anonymised after the retention period. Messages never say what a case is about.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from PIL import Image
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import FileStorage

import config as registry_config
from registry import db
from registry.audit.models import AuditEvent
from registry.audit.services import Actor, verify_chain
from registry.auth import managers
from registry.auth import services as accounts
from registry.auth.models import User
from registry.breaches import clauses, services, views
from registry.breaches.demo import seed_demo
from registry.breaches.kind import KIND
from registry.breaches.models import (
    BreachEvidence,
    BreachReport,
    BreachStep,
    PolicyClause,
)
from registry.breaches.services import BreachAnswers, SubjectKind
from registry.errors import Conflict, Invalid, NotFound, NotPermitted
from registry.notifications.models import Notification
from registry.uploads.models import Upload, UploadContent
from tests.conftest import Browser

DESCRIPTION = "Posted a photo of the ward whiteboard with a patient's surname legible, and mocked a colleague."
ACCOUNT = "@night_owl_nurse on X"
LINK = "https://x.com/night_owl_nurse/status/1790000000000000042"
NOTE = "Met them on Tuesday; the post is down and they have reread the policy."


# --- helpers ------------------------------------------------------------------------------------


def png(colour: tuple[int, int, int] = (0, 94, 184)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 24), colour).save(buffer, "PNG")
    return buffer.getvalue()


def screenshot(name: str = "screenshot.png") -> FileStorage:
    return FileStorage(stream=io.BytesIO(png()), filename=name, content_type="image/png")


def words(response: Any) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def audit_events(reference: str, action: str | None = None) -> list[AuditEvent]:
    statement = select(AuditEvent).where(AuditEvent.object_id == reference).order_by(AuditEvent.seq)
    if action:
        statement = statement.where(AuditEvent.action == action)
    return list(db.session().execute(statement).scalars())


def audit_actions(reference: str) -> list[str]:
    return [e.action for e in audit_events(reference)]


def messages_to(user: User, event: str | None = None) -> list[Notification]:
    statement = select(Notification).where(Notification.recipient_id == user.id)
    if event:
        statement = statement.where(Notification.event == event)
    return list(db.session().execute(statement).scalars())


def count(model: Any) -> int:
    return db.session().execute(select(func.count()).select_from(model)).scalar_one()


def stored_files() -> list[int]:
    """The uploads whose bytes are stored (in the database), by id."""
    return list(db.session().scalars(select(UploadContent.upload_id).order_by(UploadContent.upload_id)))


def fresh(report: BreachReport) -> BreachReport:
    db.session().expire_all()
    return services.get_report(report.reference)


@dataclass
class People:
    reporter: User
    subject: User
    manager: User
    other_manager: User
    comms: User
    comms_colleague: User
    hr: User
    auditor: User
    bystander: User
    admin: User


@pytest.fixture
def people(app: Flask, make_user: Callable[..., User]) -> People:
    """A reporter; the member of staff a report is about and their line manager; another line
    manager; two comms members; HR; an auditor; an unrelated member of staff; an administrator."""
    manager = make_user("manager", name="Morgan Manager")
    subject = make_user("staff", name="Sam Subject")
    managers.set_line_manager(subject, manager, actor=Actor.system("tests"))
    db.session().commit()
    return People(
        reporter=make_user("staff", name="Robin Reporter"),
        subject=subject,
        manager=manager,
        other_manager=make_user("manager", name="Oli Othermanager"),
        comms=make_user("comms", name="Kim Comms"),
        comms_colleague=make_user("comms", name="Lee Comms"),
        hr=make_user("hr", name="Harper HR"),
        auditor=make_user("auditor", name="Ari Auditor"),
        bystander=make_user("staff", name="Bo Bystander"),
        admin=make_user("admin", name="Ada Admin"),
    )


def answers(subject: User | None = None, **changes: Any) -> BreachAnswers:
    values: dict[str, Any] = {
        "account": ACCOUNT,
        "link": LINK,
        "description": DESCRIPTION,
        "clauses": ("6.11", "6.13"),
        "reputational_risk": False,
        "subject_kind": SubjectKind.USER if subject is not None else SubjectKind.UNKNOWN,
        "subject_user": subject.email if subject is not None else "",
    }
    values.update(changes)
    return BreachAnswers(**values)


def report(
    people: People, *, by: User | None = None, about: User | None = None, evidence: int = 0, **changes: Any
) -> BreachReport:
    """A report by ``by`` (the reporter) about ``about`` (the subject), committed."""
    made = services.report_breach(
        answers(about if about is not None else people.subject, **changes),
        [screenshot(f"evidence-{n}.png") for n in range(evidence)],
        by or people.reporter,
    )
    db.session().commit()
    return made


def form(subject: User | None, **changes: Any) -> dict[str, Any]:
    """The report form as a browser sends it, with one real PNG as evidence."""
    data: dict[str, Any] = {
        "account": ACCOUNT,
        "link": LINK,
        "description": DESCRIPTION,
        "clauses": ["6.11", "6.13"],
        "reputational_risk": "no",
        "subject_kind": "user" if subject else "unknown",
        "subject_user": subject.email if subject else "",
        "subject_name": "",
        "evidence": [(io.BytesIO(png()), "whiteboard.png")],
    }
    data.update(changes)
    return data


def browser_for(browser_as: Callable[..., Browser], user: User) -> Browser:
    return browser_as(user=user)


def sees(browser: Browser, made: BreachReport) -> int:
    return browser.get(f"/breaches/{made.reference}").status_code


# --- reporting ----------------------------------------------------------------------------------


def test_staff_report_a_breach_and_it_goes_to_the_subjects_line_manager(
    app: Flask,
    people: People,
    browser_as: Callable[..., Browser],
) -> None:
    """Through the form: the case goes to Sam's line manager with its clauses (as data, with the
    policy version), its evidence and its history; the manager is told that a report needs them,
    and nothing more; the reporter lands on their report, which says only that it is being looked into."""
    reporter = browser_for(browser_as, people.reporter)
    page = reporter.post("/breaches/new", form(people.subject))
    assert page.status_code == 302, words(page)[:2000]
    made = db.session().execute(select(BreachReport)).scalars().one()
    assert page.headers["Location"] == f"/breaches/{made.reference}"
    assert re.fullmatch(r"BR-\d{4,}", made.reference)
    assert (made.status, made.manager_id, made.subject_id, made.reporter_id) == (
        "with_manager",
        people.manager.id,
        people.subject.id,
        people.reporter.id,
    )
    assert (made.account, made.link, made.description) == (ACCOUNT, LINK, DESCRIPTION)
    assert [(c.policy_version, c.number) for c in made.clauses] == [("1.0", "6.11"), ("1.0", "6.13")]
    assert made.clauses[0].text.startswith("Staff must not identify any patients")
    [evidence] = services.evidence_of(made)
    assert evidence.upload.original_name == "whiteboard.png"
    assert [s.action for s in services.history(made)] == ["report"]

    [message] = messages_to(people.manager)
    assert message.event == "breach:assigned"
    assert message.subject == "A breach report needs your attention"
    assert message.link == f"/breaches/{made.reference}"
    for secret in (ACCOUNT, "whiteboard", "Sam", "Subject", "6.11", "patient", "Robin"):
        assert secret not in message.subject + message.body
    assert messages_to(people.comms) == []  # not flagged, and it has a line manager

    [event] = audit_events(made.reference, "breach:report")
    details = json.loads(event.details)
    assert details["clauses"] == ["6.11", "6.13"] and details["policy_version"] == "1.0"
    assert details["subject"] == "user" and details["manager_id"] == people.manager.id
    for secret in (DESCRIPTION, ACCOUNT, LINK, "Sam Subject", people.subject.email, "whiteboard"):
        assert secret not in event.details

    own = reporter.get(page.headers["Location"])
    text = words(own)
    assert own.status_code == 200
    assert "Being looked into" in text and DESCRIPTION in text
    for hidden in ("Morgan Manager", "With the line manager", "History"):
        assert hidden not in text


def test_a_report_missing_answers_is_refused_and_stores_nothing(app: Flask, people: People) -> None:
    with pytest.raises(Invalid) as refused:
        services.report_breach(BreachAnswers(), [], people.reporter)
    assert set(refused.value.errors) == {
        "account",
        "link",
        "description",
        "clauses",
        "reputational_risk",
        "subject_kind",
    }
    assert refused.value.errors["link"] == (
        "Give a link to what was posted, or attach a screenshot as evidence, or both"
    )
    assert count(BreachReport) == 0 and count(Upload) == 0 and stored_files() == []


def test_a_refused_report_keeps_no_evidence_file(app: Flask, people: People) -> None:
    """The evidence is checked with the answers; when any answer is wrong, nothing is kept."""
    with pytest.raises(Invalid) as refused:
        services.report_breach(answers(people.subject, description=""), [screenshot()], people.reporter)
    assert set(refused.value.errors) == {"description"}
    db.session().commit()
    assert count(Upload) == 0 and stored_files() == []
    with pytest.raises(Invalid) as bad_file:
        services.report_breach(
            answers(people.subject, account=""),
            [FileStorage(io.BytesIO(b"<svg></svg>"), "post.svg")],
            people.reporter,
        )
    assert set(bad_file.value.errors) == {"account", "evidence"}


def test_a_link_or_evidence_is_enough_and_links_are_checked(app: Flask, people: People) -> None:
    with_screenshot = services.report_breach(answers(people.subject, link=""), [screenshot()], people.reporter)
    assert with_screenshot.link is None
    bare = services.report_breach(answers(people.subject, link="x.com/someone/status/1"), [], people.reporter)
    assert bare.link == "https://x.com/someone/status/1"
    for wrong in ("javascript:alert(1)", "https://", "ftp://x.com/a", "https://x.com/a b"):
        with pytest.raises(Invalid) as refused:
            services.report_breach(answers(people.subject, link=wrong), [], people.reporter)
        assert set(refused.value.errors) == {"link"}, wrong


def test_clauses_come_from_the_policy_and_are_kept_with_its_version(
    app: Flask,
    people: People,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Sections 6 to 8 are offered; a clause row is written once per policy version, with the
    wording of the time, so a new version of the policy never changes what an old report cited."""
    offered = [c.number for c in clauses.breachable()]
    assert offered[0] == "6.1" and offered[-1] == "8.1" and "9.1" not in offered and "1.5" not in offered
    with pytest.raises(Invalid) as refused:
        services.report_breach(answers(people.subject, clauses=("9.1",)), [], people.reporter)
    assert refused.value.errors == {"clauses": "Choose parts of the policy from the list"}

    first = report(people)
    second = report(people, clauses=("6.13",))
    assert count(PolicyClause) == 2
    assert second.clauses[0].id == first.clauses[1].id

    monkeypatch.setattr(clauses, "policy_version", lambda: "2.0")
    newer = report(people, clauses=("6.13",))
    assert newer.policy_version == "2.0" and newer.clauses[0].policy_version == "2.0"
    assert count(PolicyClause) == 3
    assert [c.policy_version for c in fresh(first).clauses] == ["1.0", "1.0"]


# --- who the report is about --------------------------------------------------------------------


def test_the_member_of_staff_is_picked_by_email_or_name_or_given_as_free_text(
    app: Flask,
    people: People,
    make_user: Callable[..., User],
) -> None:
    by_name = report(people, subject_user="  sam subject ")
    assert by_name.subject_id == people.subject.id
    by_email = report(people, subject_user=people.subject.email.upper())
    assert by_email.subject_id == people.subject.id

    make_user("staff", name="Jo Twin")
    make_user("staff", name="Jo Twin")
    problems = {
        "Jo Twin": "More than one person in the Registry has this name: enter their email address",
        "nobody@example.nhs.uk": "There is nobody in the Registry",
        "": "Enter their email address or full name",
        people.reporter.email: "You have named yourself",
    }
    for given, message in problems.items():
        with pytest.raises(Invalid) as refused:
            services.report_breach(answers(people.subject, subject_user=given), [], people.reporter)
        assert refused.value.errors["subject_user"].startswith(message), given

    free = report(people, subject_kind=SubjectKind.OTHER, subject_user="", subject_name="Dr Jane Bloggs, locum")
    assert (free.subject_id, free.subject_name, free.status, free.route_reason) == (
        None,
        "Dr Jane Bloggs, locum",
        "to_route",
        "not_a_user",
    )
    unknown = report(people, subject_kind=SubjectKind.UNKNOWN, subject_user="")
    assert (unknown.subject_id, unknown.subject_name, unknown.route_reason) == (None, None, "subject_unknown")


def test_without_a_usable_line_manager_the_report_goes_to_comms_to_route(
    app: Flask,
    people: People,
    make_user: Callable[..., User],
) -> None:
    """No manager recorded, a manager who left or lost the role, or a manager who is the
    reporter (four-eyes): comms route it, and are told (except a comms member it is about)."""
    no_manager = make_user("staff", name="Nia Nomanager")
    assert report(people, about=no_manager).route_reason == "no_line_manager"

    leaver_manager = make_user("manager")
    managed = make_user("staff")
    managers.set_line_manager(managed, leaver_manager, actor=Actor.system("tests"))
    accounts.deactivate(leaver_manager, actor=Actor.system("tests"))
    db.session().commit()
    assert report(people, about=managed).route_reason == "manager_unavailable"

    own_manager = report(people, by=people.manager)
    assert (own_manager.status, own_manager.manager_id, own_manager.route_reason) == (
        "to_route",
        None,
        "manager_reported",
    )

    comms_subject = make_user("comms")
    about_comms = report(people, about=comms_subject)
    assert about_comms.status == "to_route"
    assert messages_to(comms_subject) == []
    assert len(messages_to(people.comms, "breach:to_route")) == 4


# --- the line manager, HR and comms -------------------------------------------------------------


def test_the_manager_resolves_it_informally_and_the_reporter_learns_only_that_it_closed(
    app: Flask,
    people: People,
    browser_as: Callable[..., Browser],
) -> None:
    made = report(people)
    manager = browser_for(browser_as, people.manager)
    path = f"/breaches/{made.reference}/decision"
    missing = manager.post(path, {"decision-decision": "resolve", "decision-note": ""})
    assert missing.status_code == 422 and "Say how it was resolved" in words(missing)
    assert fresh(made).status == "with_manager"

    done = manager.post(path, {"decision-decision": "resolve", "decision-note": NOTE})
    assert done.status_code == 302 and done.headers["Location"] == f"/breaches/{made.reference}"
    closed = fresh(made)
    assert closed.status == "closed" and closed.closed_at is not None
    assert [s.action for s in services.history(closed)] == ["report", "resolve"]
    assert services.history(closed)[-1].note == NOTE
    assert "breach:resolve" in audit_actions(made.reference)
    [told] = messages_to(people.reporter, "breach:closed")
    assert NOTE not in told.body

    own = words(browser_for(browser_as, people.reporter).get(f"/breaches/{made.reference}"))
    assert "Closed" in own and NOTE not in own and "Resolved informally" not in own


def test_the_manager_escalates_to_hr_who_record_the_outcome(
    app: Flask,
    people: People,
    browser_as: Callable[..., Browser],
    make_user: Callable[..., User],
) -> None:
    made = report(people)
    hr_subject = make_user("hr")  # an HR member the case is not about is told; one it is about never
    with pytest.raises(Invalid) as refused:
        services.take(made, "escalate", people.manager, note=" ")
    assert refused.value.errors == {"note": "Give the reason for escalating it to HR"}
    assert browser_for(browser_as, people.hr).get(f"/breaches/{made.reference}").status_code == 404

    services.take(made, "escalate", people.manager, note="Second time this year; needs a formal conversation.")
    db.session().commit()
    assert (fresh(made).status, fresh(made).escalated_at is not None) == ("with_hr", True)
    assert len(messages_to(people.hr, "breach:escalated")) == 1 and len(messages_to(hr_subject)) == 1

    hr = browser_for(browser_as, people.hr)
    page = hr.get(f"/breaches/{made.reference}")
    assert page.status_code == 200
    assert "Second time this year" in words(page) and "Record HR's outcome" in words(page)
    empty = hr.post(f"/breaches/{made.reference}/outcome", {"outcome-note": ""})
    assert empty.status_code == 422 and "Enter the outcome" in words(empty)
    done = hr.post(f"/breaches/{made.reference}/outcome", {"outcome-note": "Informal advice given; recorded on file."})
    assert done.status_code == 302
    closed = fresh(made)
    assert closed.status == "closed"
    assert [s.action for s in services.history(closed)] == ["report", "escalate", "outcome"]
    assert len(messages_to(people.manager, "breach:closed")) == 1
    assert len(messages_to(people.reporter, "breach:closed")) == 1
    assert hr.get(f"/breaches/{made.reference}").status_code == 200  # HR keep seeing what they closed
    with pytest.raises(Conflict):
        services.take(closed, "outcome", people.hr, note="Again.")


def test_the_manager_hands_back_a_report_that_is_not_theirs_and_comms_route_it_again(
    app: Flask,
    people: People,
    browser_as: Callable[..., Browser],
) -> None:
    made = report(people)
    services.take(made, "return", people.manager, note="Sam moved to the other ward in June.")
    db.session().commit()
    returned = fresh(made)
    assert (returned.status, returned.manager_id, returned.route_reason) == ("to_route", None, "returned")
    assert browser_for(browser_as, people.manager).get(f"/breaches/{made.reference}").status_code == 404
    assert len(messages_to(people.comms, "breach:to_route")) == 1

    comms = browser_for(browser_as, people.comms)
    page = comms.get(f"/breaches/{made.reference}")
    assert "The line manager handed it back" in words(page)
    options = re.findall(r'<option value="(\d+)"', page.get_data(as_text=True))
    assert str(people.other_manager.id) in options
    assert str(people.subject.id) not in options and str(people.reporter.id) not in options
    routed = comms.post(
        f"/breaches/{made.reference}/routing",
        {"routing-decision": "route", "routing-manager": str(people.other_manager.id)},
    )
    assert routed.status_code == 302
    assert routed.headers["Location"] == "/breaches"  # not flagged: comms no longer see it
    again = fresh(made)
    assert (again.status, again.manager_id) == ("with_manager", people.other_manager.id)
    assert [s.action for s in services.history(again)] == ["report", "return", "route"]
    assert services.history(again)[-1].assigned_to_id == people.other_manager.id
    assert comms.get(f"/breaches/{made.reference}").status_code == 404
    assert len(messages_to(people.other_manager, "breach:assigned")) == 1


def test_routing_is_checked(app: Flask, people: People, make_user: Callable[..., User]) -> None:
    """Comms choose an active line manager who is neither the subject nor the reporter."""
    made = report(people, subject_kind=SubjectKind.UNKNOWN, subject_user="")
    not_a_manager = make_user("staff")
    expected = {
        None: "Choose the line manager to send it to",
        not_a_manager.id: "is not an active line manager",
    }
    for manager_id, message in expected.items():
        with pytest.raises(Invalid) as refused:
            services.take(made, "route", people.comms, manager_id=manager_id)
        assert message in refused.value.errors["manager"], manager_id
    by_a_manager = report(people, by=people.other_manager, subject_kind=SubjectKind.UNKNOWN, subject_user="")
    with pytest.raises(Invalid) as four_eyes:
        services.take(by_a_manager, "route", people.comms, manager_id=people.other_manager.id)
    assert "made the report, so someone else must handle it (four-eyes rule)" in four_eyes.value.errors["manager"]
    manager_subject = report(people, about=people.other_manager)
    with pytest.raises(Invalid) as about_them:
        services.take(manager_subject, "route", people.comms, manager_id=people.other_manager.id)
    assert "nobody handles a report about themselves" in about_them.value.errors["manager"]
    with pytest.raises(Invalid) as no_reason:
        services.take(made, "close", people.comms)
    assert no_reason.value.errors == {"note": "Say why it is closed without going to a line manager"}
    services.take(made, "close", people.comms, note="Not staff: recorded in monitoring.")
    assert fresh(made).status == "closed"
    assert len(messages_to(people.reporter, "breach:closed")) == 1


def test_the_database_refuses_a_case_handled_by_its_subject(app: Flask, people: People) -> None:
    made = report(people)
    with pytest.raises(IntegrityError), db.session().begin_nested():
        db.session().execute(
            update(BreachReport).where(BreachReport.id == made.id).values(manager_id=people.subject.id)
        )


# --- reputational risk (9.3) --------------------------------------------------------------------


def test_a_reputational_risk_flagged_by_the_reporter_tells_comms_who_can_then_see_the_case(
    app: Flask,
    people: People,
    browser_as: Callable[..., Browser],
) -> None:
    plain = report(people)
    flagged = report(people, reputational_risk=True)
    assert flagged.status == "with_manager" and flagged.flagged_by_id == people.reporter.id
    assert len(messages_to(people.comms, "breach:flagged")) == 1
    assert len(messages_to(people.comms_colleague, "breach:flagged")) == 1
    comms = browser_for(browser_as, people.comms)
    page = comms.get(f"/breaches/{flagged.reference}")
    assert page.status_code == 200
    assert "It could affect the Trust's reputation" in words(page)
    assert "Flagged by Robin Reporter" in words(page)
    assert comms.get(f"/breaches/{plain.reference}").status_code == 404
    listed = words(comms.get("/breaches"))
    assert flagged.reference in listed and plain.reference not in listed
    with pytest.raises(NotPermitted):  # comms see it, but only its line manager handles it
        services.take(flagged, "resolve", people.comms, note="Done.")


def test_the_manager_flags_a_case_and_comms_are_told(
    app: Flask,
    people: People,
    browser_as: Callable[..., Browser],
) -> None:
    made = report(people)
    manager = browser_for(browser_as, people.manager)
    flagged = manager.post(f"/breaches/{made.reference}/flag", {"flag-note": "A local journalist has shared it."})
    assert flagged.status_code == 302
    after = fresh(made)
    assert after.reputational_risk and after.flagged_by_id == people.manager.id
    assert "breach:flag" in audit_actions(made.reference)
    assert len(messages_to(people.comms, "breach:flagged")) == 1
    assert browser_for(browser_as, people.comms).get(f"/breaches/{made.reference}").status_code == 200
    again = manager.post(f"/breaches/{made.reference}/flag", {"flag-note": ""})
    assert again.status_code == 409 and "already flagged" in words(again)
    other = browser_for(browser_as, people.other_manager).post(f"/breaches/{made.reference}/flag", {})
    assert other.status_code == 404


# --- four-eyes and "nobody handles a report about themselves" -----------------------------------


def test_four_eyes_comms_do_not_route_a_report_they_made(
    app: Flask,
    people: People,
    browser_as: Callable[..., Browser],
) -> None:
    made = report(people, by=people.comms, subject_kind=SubjectKind.UNKNOWN, subject_user="")
    comms = browser_for(browser_as, people.comms)
    page = comms.get(f"/breaches/{made.reference}")
    assert page.status_code == 200
    assert "another member of the communications team must route it (four-eyes rule)" in words(page)
    assert 'action="/breaches/' + made.reference + '/routing"' not in page.get_data(as_text=True)
    refused = comms.post(
        f"/breaches/{made.reference}/routing", {"routing-decision": "route", "routing-manager": str(people.manager.id)}
    )
    assert refused.status_code == 409 and "four-eyes rule" in words(refused)
    assert fresh(made).status == "to_route"
    assert messages_to(people.comms, "breach:to_route") == []  # the one who made it is not asked
    services.take(made, "route", people.comms_colleague, manager_id=people.manager.id)
    assert fresh(made).manager_id == people.manager.id


def test_four_eyes_hr_do_not_record_the_outcome_of_a_report_they_made(
    app: Flask,
    people: People,
    make_user: Callable[..., User],
) -> None:
    made = report(people, by=people.hr)
    services.take(made, "escalate", people.manager, note="Needs HR.")
    with pytest.raises(Conflict, match="four-eyes rule"):
        services.take(made, "outcome", people.hr, note="Advice given.")
    assert messages_to(people.hr, "breach:escalated") == []
    colleague = make_user("hr")
    services.take(made, "outcome", colleague, note="Advice given.")
    assert fresh(made).status == "closed"


def test_nobody_handles_or_sees_a_report_about_themselves_whatever_their_roles(
    app: Flask,
    people: People,
    browser_as: Callable[..., Browser],
    make_user: Callable[..., User],
) -> None:
    """An HR member, a comms member and an auditor who are the subject get "not found"; HR cannot
    record the outcome of an escalated case about them, and are not told of it."""
    manager = people.manager
    for roles in (("hr",), ("comms",), ("auditor",), ("comms", "hr", "auditor")):
        subject = make_user(*roles)
        managers.set_line_manager(subject, manager, actor=Actor.system("tests"))
        made = report(people, about=subject, reputational_risk=True)
        services.take(made, "escalate", manager, note="Needs HR.")
        db.session().commit()
        browser = browser_for(browser_as, subject)
        assert browser.get(f"/breaches/{made.reference}").status_code == 404, roles
        assert made.reference not in words(browser.get("/breaches")), roles
        assert made.reference not in [item.reference for item in services.waiting_for(subject)], roles
        assert [m for m in messages_to(subject) if m.link == f"/breaches/{made.reference}"] == [], roles
        if "hr" in roles:
            with pytest.raises(NotPermitted, match="about you"):
                services.take(made, "outcome", subject, note="Nothing to see.")
            refused = browser.post(f"/breaches/{made.reference}/outcome", {"outcome-note": "Nothing."})
            assert refused.status_code == 404
        assert fresh(made).status == "with_hr"


# --- visibility ---------------------------------------------------------------------------------


def test_a_manager_cannot_see_a_case_assigned_to_another_manager(
    app: Flask,
    people: People,
    browser_as: Callable[..., Browser],
) -> None:
    made = report(people, evidence=1)
    [evidence] = services.evidence_of(made)
    other = browser_for(browser_as, people.other_manager)
    for path in (f"/breaches/{made.reference}", f"/breaches/{made.reference}/evidence/{evidence.upload_id}"):
        response = other.get(path)
        assert response.status_code == 404, path
        assert f"There is no breach report '{made.reference}'" in words(response)
    refused = other.post(
        f"/breaches/{made.reference}/decision", {"decision-decision": "resolve", "decision-note": "Mine now."}
    )
    assert refused.status_code == 404
    assert made.reference not in words(other.get("/breaches"))
    assert services.waiting_for(people.other_manager) == []
    assert fresh(made).status == "with_manager"
    assert browser_for(browser_as, people.manager).get(f"/breaches/{made.reference}").status_code == 200


def test_staff_cannot_see_a_case_about_themselves(
    app: Flask,
    people: People,
    browser_as: Callable[..., Browser],
) -> None:
    made = report(people, evidence=1, reputational_risk=True)
    [evidence] = services.evidence_of(made)
    subject = browser_for(browser_as, people.subject)
    for path in (f"/breaches/{made.reference}", f"/breaches/{made.reference}/evidence/{evidence.upload_id}"):
        assert subject.get(path).status_code == 404, path
    listed = words(subject.get("/breaches"))
    assert made.reference not in listed and "No reports." in listed
    assert KIND.work_items_of(people.subject) == []
    # The only message they have is that their line manager was recorded (before the report).
    assert [m.subject for m in messages_to(people.subject)] == ["Your line manager in the Registry changed"]


def test_who_sees_a_case_at_each_stage(app: Flask, people: People, browser_as: Callable[..., Browser]) -> None:
    """The reporter (limited), the assigned manager, comms only to route or when flagged, HR only
    once escalated, auditors always; the subject, another manager, other staff and admins never."""
    browsers = {
        name: browser_for(browser_as, getattr(people, name))
        for name in ("reporter", "subject", "manager", "other_manager", "comms", "hr", "auditor", "bystander", "admin")
    }
    to_route = report(people, subject_kind=SubjectKind.UNKNOWN, subject_user="")
    with_manager = report(people)
    flagged = report(people, reputational_risk=True)
    escalated = report(people)
    services.take(escalated, "escalate", people.manager, note="Needs HR.")
    resolved = report(people)
    services.take(resolved, "resolve", people.manager, note=NOTE)
    db.session().commit()
    expected = {
        to_route: {"reporter", "comms", "auditor"},
        with_manager: {"reporter", "manager", "auditor"},
        flagged: {"reporter", "manager", "comms", "auditor"},
        escalated: {"reporter", "manager", "hr", "auditor"},
        resolved: {"reporter", "manager", "auditor"},
    }
    for made, allowed in expected.items():
        seen = {name for name, browser in browsers.items() if sees(browser, made) == 200}
        assert seen == allowed, made.status
        refused = {sees(browser, made) for name, browser in browsers.items() if name not in allowed}
        assert refused == {404}
        for name, browser in browsers.items():
            listed = made.reference in words(browser.get("/breaches"))
            assert listed == (name in allowed), (name, made.status)


def test_the_reporter_sees_whether_it_is_open_never_who_handles_it_or_what_was_decided(
    app: Flask,
    people: People,
    browser_as: Callable[..., Browser],
) -> None:
    made = report(people, evidence=1)
    services.flag(made, people.manager, note="The local paper picked it up.")
    services.take(made, "escalate", people.manager, note="Escalation reason for HR eyes only.")
    db.session().commit()
    reporter = browser_for(browser_as, people.reporter)
    open_page = words(reporter.get(f"/breaches/{made.reference}"))
    assert "Being looked into" in open_page
    assert "Could affect the Trust's reputation No" in open_page  # the manager's flag is not theirs to know
    for hidden in ("Escalated", "escalat", "HR", "Morgan Manager", "Escalation reason", "History"):
        assert hidden not in open_page, hidden
    [evidence] = services.evidence_of(made)
    assert reporter.get(f"/breaches/{made.reference}/evidence/{evidence.upload_id}").status_code == 200
    services.take(made, "outcome", people.hr, note="Formal warning issued.")
    db.session().commit()
    closed_page = words(reporter.get(f"/breaches/{made.reference}"))
    assert "Closed" in closed_page and "Formal warning" not in closed_page
    assert KIND.work_items_of(people.reporter) == []
    # Only "open" and "closed" filter the list: a precise state would tell the reporter what happened.
    assert made.reference in words(reporter.get("/breaches?state=closed"))
    assert made.reference not in words(reporter.get("/breaches?state=open"))
    assert made.reference in words(reporter.get("/breaches?state=with_hr"))  # ignored, not applied


def test_every_view_of_a_case_is_audited_and_no_page_is_cached(
    app: Flask,
    people: People,
    browser_as: Callable[..., Browser],
) -> None:
    made = report(people, evidence=1)
    [evidence] = services.evidence_of(made)
    manager = browser_for(browser_as, people.manager)
    reporter = browser_for(browser_as, people.reporter)
    before = len(audit_events(made.reference, "breach:view"))
    pages = [
        manager.get(f"/breaches/{made.reference}"),
        reporter.get(f"/breaches/{made.reference}"),
        manager.get(f"/breaches/{made.reference}/evidence/{evidence.upload_id}"),
    ]
    views = audit_events(made.reference, "breach:view")[before:]
    assert [(e.actor_id, json.loads(e.details)) for e in views] == [
        (people.manager.id, {"view": "full"}),
        (people.reporter.id, {"view": "reporter"}),
        (people.manager.id, {"view": "full", "evidence": evidence.upload_id}),
    ]
    refused = browser_for(browser_as, people.bystander).get(f"/breaches/{made.reference}")
    assert refused.status_code == 404
    assert len(audit_events(made.reference, "breach:view")) == before + 3  # a refusal shows nothing
    pages += [
        manager.get("/breaches"),
        reporter.get("/breaches/new"),
        refused,
        manager.post(f"/breaches/{made.reference}/decision", {"decision-decision": "resolve"}),
    ]
    for response in pages:
        assert response.headers["Cache-Control"] == "no-store", response.request.path
    assert pages[-1].status_code == 422
    assert len(audit_events(made.reference, "breach:view")) == before + 4  # the form shown again is a view


# --- what awaits whom, and the monthly figures --------------------------------------------------


def test_the_list_shows_the_oldest_cases_waiting_and_the_rest_are_paged(
    app: Flask, people: People, browser_as: Callable[..., Browser]
) -> None:
    """A line manager with more cases waiting than the list page shows sees the oldest few there
    and every one, a page at a time, a link away; the list never loads them all."""
    waiting = views.WAITING_SHOWN + 4
    made = [report(people) for _ in range(waiting)]
    manager = browser_for(browser_as, people.manager)

    listed = words(manager.get("/breaches"))
    assert f"The oldest {views.WAITING_SHOWN} of the {waiting} cases waiting for you" in listed
    assert [r.reference for r in made if f"{r.reference} Report Suspected" in listed] == [
        r.reference for r in made[: views.WAITING_SHOWN]
    ]

    first = words(manager.get("/breaches/waiting?per_page=5"))
    last = words(manager.get("/breaches/waiting?per_page=5&page=3"))
    assert f"Showing 1 to 5 of {waiting} cases waiting for you" in first
    assert f"Showing 11 to {waiting} of {waiting} cases waiting for you" in last
    assert [r.reference for r in made if r.reference in last] == [r.reference for r in made[10:]]
    nothing = words(browser_for(browser_as, people.bystander).get("/breaches/waiting"))
    assert "No cases waiting for you" in nothing
    assert "See all" not in words(browser_for(browser_as, people.hr).get("/breaches"))


def test_waiting_for_and_the_reporters_own_items(app: Flask, people: People) -> None:
    assigned = report(people)
    to_route = report(people, subject_kind=SubjectKind.UNKNOWN, subject_user="")
    flagged = report(people, reputational_risk=True)
    mine_to_route = report(people, by=people.comms, subject_kind=SubjectKind.UNKNOWN, subject_user="")
    escalated = report(people)
    services.take(escalated, "escalate", people.manager, note="Needs HR.")
    db.session().commit()

    def refs(user: User) -> list[str]:
        return [item.reference for item in services.waiting_for(user)]

    assert refs(people.manager) == [assigned.reference, flagged.reference]
    assert sorted(refs(people.comms)) == sorted([to_route.reference, flagged.reference])
    assert mine_to_route.reference in refs(people.comms_colleague)
    assert refs(people.hr) == [escalated.reference]
    assert refs(people.other_manager) == refs(people.reporter) == refs(people.auditor) == []
    items = services.waiting_for(people.comms)
    assert {i.needs_you for i in items if i.reference == to_route.reference} == {True}
    assert {i.needs_you for i in items if i.reference == flagged.reference} == {False}
    for item in items + services.waiting_for(people.manager):
        assert item.kind == "Breach report" and item.requester is None
        assert item.title == "Suspected breach of policy 6.11, 6.13"
        assert item.url == f"/breaches/{item.reference}"
    own = KIND.work_items_of(people.reporter)
    assert [i.reference for i in own] == [
        assigned.reference,
        to_route.reference,
        flagged.reference,
        escalated.reference,
    ]
    assert {i.status_label for i in own} == {"Being looked into"}
    assert {i.title for i in own} == {"Your breach report"}


def test_month_figures_count_opened_closed_escalated_and_flagged_on_uk_dates(app: Flask, people: People) -> None:
    """Counts only, for the UK days from start to end (both included); 00:30 on 1 July in the UK
    (23:30 UTC on 30 June) belongs to July."""

    def at(text: str) -> dt.datetime:
        return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)

    cases = [report(people) for _ in range(4)]
    flagged = report(people, reputational_risk=True)
    services.take(cases[0], "resolve", people.manager, note=NOTE)
    services.take(cases[1], "escalate", people.manager, note="Needs HR.")
    services.take(cases[1], "outcome", people.hr, note="Advice.")
    services.take(cases[2], "escalate", people.manager, note="Needs HR.")
    db.session().commit()
    moments = {
        cases[0].id: {"created_at": at("2026-06-30T23:30:00"), "closed_at": at("2026-07-15T10:00:00")},
        cases[1].id: {
            "created_at": at("2026-06-10T09:00:00"),
            "escalated_at": at("2026-06-30T22:59:00"),
            "closed_at": at("2026-07-31T22:59:59"),
        },
        cases[2].id: {"created_at": at("2026-07-20T09:00:00"), "escalated_at": at("2026-07-21T09:00:00")},
        cases[3].id: {"created_at": at("2026-07-31T23:00:00")},
        flagged.id: {"created_at": at("2026-07-02T09:00:00"), "flagged_at": at("2026-07-02T09:00:00")},
    }
    for report_id, values in moments.items():
        db.session().execute(update(BreachReport).where(BreachReport.id == report_id).values(**values))
    db.session().commit()
    july = services.month_figures(dt.date(2026, 7, 1), dt.date(2026, 7, 31))
    assert july == {"opened": 3, "closed": 2, "escalated": 1, "flagged": 1}
    assert services.month_figures(dt.date(2026, 6, 1), dt.date(2026, 6, 30)) == {
        "opened": 1,
        "closed": 0,
        "escalated": 1,
        "flagged": 0,
    }
    assert services.month_figures(dt.date(2030, 1, 1), dt.date(2030, 1, 31)) == {
        "opened": 0,
        "closed": 0,
        "escalated": 0,
        "flagged": 0,
    }


# --- retention ----------------------------------------------------------------------------------


def invoke(app: Flask, *args: str) -> Result:
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args))


def test_retention_apply_anonymises_closed_cases_past_the_period_once(
    app: Flask,
    people: People,
    browser_as: Callable[..., Browser],
) -> None:
    """Names, free text and evidence go (the files with them); status, dates, clauses and the
    shape of the history stay and still count; each case and the run are audited; a second run
    changes nothing; open and recently closed cases are left alone."""
    old = report(people, evidence=2, reputational_risk=True)
    services.take(old, "escalate", people.manager, note="Escalated with a name in it: Sam.")
    services.take(old, "outcome", people.hr, note="Outcome naming Sam Subject.")
    recent = report(people)
    services.take(recent, "resolve", people.manager, note=NOTE)
    still_open = report(people)
    db.session().commit()
    files_before = stored_files()
    assert len(files_before) == 2
    long_ago = db.utcnow() - dt.timedelta(days=6 * 366 + 2)
    db.session().execute(
        update(BreachReport)
        .where(BreachReport.id == old.id)
        .values(closed_at=long_ago, created_at=long_ago - dt.timedelta(days=30))
    )
    db.session().commit()
    figures_before = services.month_figures(
        long_ago.date() - dt.timedelta(days=40), long_ago.date() + dt.timedelta(days=1)
    )

    result = invoke(app, "retention", "apply")
    assert result.exit_code == 0, result.output
    assert "1 breach report closed before" in result.output and "2 evidence files removed" in result.output

    gone = fresh(old)
    assert gone.anonymised_at is not None and gone.status == "closed"
    assert (
        gone.account,
        gone.link,
        gone.description,
        gone.subject_id,
        gone.subject_name,
        gone.reporter_id,
        gone.manager_id,
        gone.flagged_by_id,
    ) == (None,) * 8
    assert gone.reputational_risk and gone.escalated_at is not None
    assert [c.number for c in gone.clauses] == ["6.11", "6.13"]
    steps = services.history(gone)
    assert [s.action for s in steps] == ["report", "escalate", "outcome"]
    assert {(s.note, s.actor_id, s.assigned_to_id) for s in steps} == {(None, None, None)}
    assert db.session().execute(select(func.count()).select_from(BreachEvidence)).scalar_one() == 0
    assert count(Upload) == 0 and stored_files() == []
    assert (
        services.month_figures(long_ago.date() - dt.timedelta(days=40), long_ago.date() + dt.timedelta(days=1))
        == figures_before
    )
    [anonymised] = audit_events(old.reference, "breach:anonymise")
    assert json.loads(anonymised.details)["evidence_removed"] == 2
    [run] = audit_events("breach_reports", "retention:apply")
    assert json.loads(run.details)["anonymised"] == 1
    assert fresh(recent).anonymised_at is None and fresh(recent).description == DESCRIPTION
    assert fresh(still_open).anonymised_at is None

    auditor = browser_for(browser_as, people.auditor)
    page = words(auditor.get(f"/breaches/{old.reference}"))
    assert "This report was anonymised" in page and "Sam" not in page and DESCRIPTION not in page

    events_before = count(AuditEvent)
    again = invoke(app, "retention", "apply")
    assert again.exit_code == 0 and again.output.startswith("0 breach reports closed before")
    assert count(AuditEvent) == events_before
    assert verify_chain().ok


@pytest.mark.parametrize("app_settings", [{"BREACH_RETENTION_YEARS": "1"}])
def test_the_retention_period_is_configurable(app: Flask, people: People) -> None:
    """REGISTRY_BREACH_RETENTION_YEARS=1: a case closed two years ago goes, one closed last month stays."""
    assert app.extensions["registry.settings"].breach_retention_years == 1
    made, recent = report(people), report(people)
    for case, days in ((made, 2 * 365), (recent, 30)):
        services.take(case, "resolve", people.manager, note=NOTE)
        db.session().execute(
            update(BreachReport)
            .where(BreachReport.id == case.id)
            .values(closed_at=db.utcnow() - dt.timedelta(days=days))
        )
    db.session().commit()
    result = services.apply_retention(Actor.system("tests"))
    assert result.anonymised == 1 and fresh(made).anonymised_at is not None and fresh(recent).anonymised_at is None
    with pytest.raises(Conflict):
        services.anonymise(report(people), Actor.system("tests"), years=1)


def test_the_retention_period_must_be_a_positive_number_of_years(tmp_path: Any) -> None:
    base = {
        "ENV": "testing",
        "DATABASE_URL": "sqlite://",
        "SECRET_KEY": "x" * 40,
        "MASTER_KEYS": registry_config.generate_master_key_entry(),
    }
    assert registry_config.load_settings(base, tmp_path).breach_retention_years == 6
    for wrong in ("0", "six", "-1"):
        with pytest.raises(registry_config.ConfigError, match="REGISTRY_BREACH_RETENTION_YEARS"):
            registry_config.load_settings({**base, "BREACH_RETENTION_YEARS": wrong}, tmp_path)


# --- line managers ------------------------------------------------------------------------------


def test_an_administrator_sets_a_users_line_manager(
    app: Flask,
    people: People,
    browser_as: Callable[..., Browser],
    make_user: Callable[..., User],
) -> None:
    admin = browser_for(browser_as, people.admin)
    newcomer = make_user("staff", name="Nat Newcomer")
    page = admin.get(f"/admin/users/{newcomer.id}")
    body = page.get_data(as_text=True)
    assert "None recorded" in words(page)
    options = dict(re.findall(r'<option value="(\d*)"[^>]*>([^<]+)</option>', body))
    assert options[""] == "No line manager"
    assert f"{people.manager.name} ({people.manager.email})" in options.values()
    assert people.bystander.name not in " ".join(options.values())

    done = admin.post(f"/admin/users/{newcomer.id}/line-manager", {"manager-line_manager": str(people.manager.id)})
    assert done.status_code == 302
    db.session().expire_all()
    assert db.session().get(User, newcomer.id).line_manager_id == people.manager.id
    [event] = (
        db.session()
        .execute(
            select(AuditEvent).where(
                AuditEvent.action == "user:line_manager_change", AuditEvent.object_id == str(newcomer.id)
            )
        )
        .scalars()
    )
    assert json.loads(event.details) == {"from": None, "to": {"id": people.manager.id, "email": people.manager.email}}
    assert "Breach reports about Nat Newcomer go to Morgan Manager first" in words(
        admin.get(f"/admin/users/{newcomer.id}")
    )

    refusals = {
        people.bystander.id: "is not an active user with the line manager role",
        999999: "Choose a line manager from the list",
    }
    for manager_id, message in refusals.items():
        refused = admin.post(f"/admin/users/{newcomer.id}/line-manager", {"manager-line_manager": str(manager_id)})
        assert refused.status_code == 422 and message in words(refused)
        assert 'href="#manager-line_manager"' in refused.get_data(as_text=True)
    cleared = admin.post(f"/admin/users/{newcomer.id}/line-manager", {"manager-line_manager": ""})
    assert cleared.status_code == 302
    db.session().expire_all()
    assert db.session().get(User, newcomer.id).line_manager_id is None


def test_nobody_manages_themselves_and_line_management_has_no_loops(
    app: Flask,
    people: People,
    make_user: Callable[..., User],
) -> None:
    top, middle, bottom = make_user("manager"), make_user("manager"), make_user("manager")
    system = Actor.system("tests")
    with pytest.raises(Invalid, match="cannot be their own line manager"):
        managers.set_line_manager(top, top, actor=system)
    assert managers.set_line_manager(middle, top, actor=system)
    assert managers.set_line_manager(bottom, middle, actor=system)
    assert not managers.set_line_manager(bottom, middle, actor=system)
    with pytest.raises(Invalid, match="line manager"):
        managers.set_line_manager(middle, bottom, actor=system)
    with pytest.raises(Invalid, match="further up"):
        managers.set_line_manager(top, bottom, actor=system)
    assert top not in managers.line_manager_candidates(top)


def test_users_create_can_record_a_line_manager(app: Flask, people: People) -> None:
    result = invoke(
        app,
        "users",
        "create",
        "new.starter@example.nhs.uk",
        "--name",
        "New Starter",
        "--role",
        "staff",
        "--line-manager",
        people.manager.email,
        "--password-stdin",
    )
    assert result.exit_code == 1  # no password on standard input
    with app.app_context():
        ok = app.test_cli_runner().invoke(
            args=[
                "users",
                "create",
                "new.starter@example.nhs.uk",
                "--name",
                "New Starter",
                "--role",
                "staff",
                "--line-manager",
                people.manager.email,
                "--password-stdin",
            ],
            input="plum orbit lantern seventeen\n",
        )
    assert ok.exit_code == 0, ok.output
    assert f"line manager {people.manager.email}" in ok.output
    db.session().expire_all()
    assert accounts.find_user("new.starter@example.nhs.uk").line_manager_id == people.manager.id
    with app.app_context():
        refused = app.test_cli_runner().invoke(
            args=[
                "users",
                "create",
                "another@example.nhs.uk",
                "--name",
                "Another",
                "--role",
                "staff",
                "--line-manager",
                people.bystander.email,
                "--password-stdin",
            ],
            input="plum orbit lantern seventeen\n",
        )
    assert refused.exit_code == 1 and "line manager role" in refused.output
    assert accounts.find_user("another@example.nhs.uk") is None


# --- pages --------------------------------------------------------------------------------------


def test_the_form_explains_every_mistake(app: Flask, browser_as: Callable[..., Browser]) -> None:
    browser = browser_as("staff")
    page = browser.post("/breaches/new", {"subject_kind": "user", "evidence": [(io.BytesIO(png()), "x.png")]})
    body = page.get_data(as_text=True)
    assert page.status_code == 422
    targets = re.findall(
        r'href="#([^"]+)"', re.search(r'class="nhsuk-error-summary".*?</ul>', body, re.DOTALL).group(0)
    )
    assert set(targets) == {"account", "description", "clauses", "reputational_risk", "subject_user", "evidence"}
    assert [t for t in targets if f'id="{t}"' not in body] == []
    assert "Choose your evidence file again" in words(page)


def test_list_pages_run_the_same_statements_for_10_and_60_cases(
    app: Flask,
    people: People,
    browser_as: Callable[..., Browser],
    count_queries: Callable[[], Any],
) -> None:
    auditor = browser_for(browser_as, people.auditor)
    comms = browser_for(browser_as, people.comms)

    def statements(browser: Browser) -> int:
        with count_queries() as counted:
            assert browser.get("/breaches?per_page=100").status_code == 200
        return counted.n

    for _ in range(10):
        report(people, reputational_risk=True)
    small = (statements(auditor), statements(comms))
    for _ in range(50):
        report(people, reputational_risk=True)
    assert (statements(auditor), statements(comms)) == small


def test_the_demo_reports_cover_every_state(app: Flask, make_user: Callable[..., User]) -> None:
    staff, manager = make_user("staff"), make_user("manager")
    comms = [make_user("comms"), make_user("comms")]
    made = seed_demo(staff, manager, comms, comms)
    assert {r.status for r in made} == {"with_manager", "to_route", "with_hr", "closed"}
    assert any(r.reputational_risk for r in made)


def test_get_report_by_an_unknown_or_malformed_reference(app: Flask, people: People) -> None:
    for reference in ("BR-99999", "nonsense", "", "BR-"):
        with pytest.raises(NotFound):
            services.get_report(reference)
    made = report(people)
    assert services.get_report(made.reference.lower().replace("-", "")).id == made.id
    assert db.session().execute(select(func.count()).select_from(BreachStep)).scalar_one() == 1


# --- review fixes -------------------------------------------------------------------------------


def test_a_leaving_manager_s_cases_go_back_to_comms_to_route(
    app: Flask,
    people: People,
    make_user: Callable[..., User],
) -> None:
    """Deactivating a line manager, or taking away their manager role, sends their open cases back
    to comms (audited, comms told); cases already with HR stay there."""
    made = report(people)
    with_hr = report(people)
    services.take(with_hr, "escalate", people.manager, note="Needs HR.")
    managed = make_user("staff")
    managers.set_line_manager(managed, people.other_manager, actor=Actor.system("tests"))
    other = report(people, about=managed)
    db.session().commit()

    accounts.deactivate(people.manager, actor=people.admin)
    db.session().commit()
    back = fresh(made)
    assert (back.status, back.manager_id, back.route_reason) == ("to_route", None, "manager_unavailable")
    assert back.route_reason_label is not None and back.route_reason_label.startswith(
        "The line manager can no longer act on it"
    )
    step = services.history(back)[-1]
    assert (step.action, step.from_status, step.to_status, step.actor_id) == (
        "unassign",
        "with_manager",
        "to_route",
        people.admin.id,
    )
    [event] = [e for e in audit_events(made.reference, "breach:route") if "former_manager_id" in e.details]
    assert json.loads(event.details)["former_manager_id"] == people.manager.id
    assert DESCRIPTION not in event.details
    assert len(messages_to(people.comms, "breach:to_route")) == 1
    assert fresh(with_hr).status == "with_hr"
    assert made.reference in [i.reference for i in services.waiting_for(people.comms)]

    accounts.set_roles(people.other_manager, ["staff"], actor=people.admin)
    db.session().commit()
    assert (fresh(other).status, fresh(other).manager_id) == ("to_route", None)
    services.take(fresh(other), "route", people.comms, manager_id=make_user("manager").id)  # routable again


def test_comms_reroute_a_case_whose_manager_can_no_longer_act(
    app: Flask,
    people: People,
    browser_as: Callable[..., Browser],
) -> None:
    """Belt and braces: a case left with an inactive manager (say, changed outside the Registry)
    is shown to comms, who may send it to another line manager."""
    made = report(people)
    db.session().execute(update(User).where(User.id == people.manager.id).values(active=False))
    db.session().commit()
    assert [i.needs_you for i in services.waiting_for(people.comms) if i.reference == made.reference] == [True]
    assert services.stranded(fresh(made))
    comms = browser_for(browser_as, people.comms)
    page = comms.get(f"/breaches/{made.reference}")
    assert page.status_code == 200 and "can no longer act on it" in words(page)
    routed = comms.post(
        f"/breaches/{made.reference}/routing",
        {"routing-decision": "route", "routing-manager": str(people.other_manager.id)},
    )
    assert routed.status_code == 302
    again = fresh(made)
    assert (again.status, again.manager_id) == ("with_manager", people.other_manager.id)
    assert comms.get(f"/breaches/{made.reference}").status_code == 404
    with pytest.raises(Conflict):  # an active manager's case is not comms' to take
        services.take(again, "route", people.comms, manager_id=people.other_manager.id)


def test_four_eyes_hr_who_escalated_or_manage_the_case_do_not_record_its_outcome(
    app: Flask,
    people: People,
    make_user: Callable[..., User],
    browser_as: Callable[..., Browser],
) -> None:
    both = make_user("manager", "hr")
    managed = make_user("staff")
    managers.set_line_manager(managed, both, actor=Actor.system("tests"))
    db.session().commit()
    made = report(people, about=managed)
    services.take(made, "escalate", both, note="Needs HR.")
    db.session().commit()
    # Their home card does not ask them for the outcome it would refuse; another HR member's does.
    assert made.reference not in [item.reference for item in services.waiting_for(both)]
    assert made.reference in [item.reference for item in services.waiting_for(people.hr)]
    with pytest.raises(Conflict, match="four-eyes"):
        services.take(made, "outcome", both, note="Closing my own escalation.")
    db.session().rollback()
    assert not services.can_take(both, fresh(made), services.BreachAction.OUTCOME)
    browser = browser_for(browser_as, both)
    page = browser.get(f"/breaches/{made.reference}")
    assert "Record HR's outcome" not in words(page) and "four-eyes" in words(page)
    refused = browser.post(f"/breaches/{made.reference}/outcome", {"outcome-note": "Closing it."})
    assert refused.status_code == 409 and fresh(made).status == "with_hr"
    services.take(fresh(made), "outcome", people.hr, note="Informal advice.")
    assert fresh(made).status == "closed"


def test_the_reporter_sees_only_their_own_risk_answer_in_the_list(
    app: Flask,
    people: People,
    browser_as: Callable[..., Browser],
) -> None:
    made = report(people)
    services.flag(made, people.manager)
    db.session().commit()
    mine = words(browser_for(browser_as, people.reporter).get("/breaches"))
    assert made.reference in mine and "Reputational risk No" in mine and "Reputational risk Yes" not in mine
    assert "Reputational risk Yes" in words(browser_for(browser_as, people.manager).get("/breaches"))


def test_the_home_card_counts_only_cases_needing_action(
    app: Flask,
    people: People,
    browser_as: Callable[..., Browser],
) -> None:
    """A flagged case comms see for information is listed, not counted as waiting for them."""
    report(people, subject_kind=SubjectKind.UNKNOWN, subject_user="")
    flagged = report(people, reputational_risk=True)
    page = words(browser_for(browser_as, people.comms).get("/"))
    assert "1 breach report waiting for you" in page and flagged.reference in page
    assert [i.reference for i in services.waiting_for(people.comms) if not i.needs_you] == [flagged.reference]


def test_what_happened_keeps_its_paragraphs(app: Flask, people: People, browser_as: Callable[..., Browser]) -> None:
    made = report(people, description="First they posted it.\n\nThen they <b>shared</b> it.")
    page = browser_for(browser_as, people.manager).get(f"/breaches/{made.reference}").get_data(as_text=True)
    assert "<p>First they posted it.</p><p>Then they &lt;b&gt;shared&lt;/b&gt; it.</p>" in page


def test_anonymising_a_case_removes_the_messages_about_it(app: Flask, people: People) -> None:
    old = report(people, reputational_risk=True)
    services.take(old, "resolve", people.manager, note=NOTE)
    kept = report(people)
    db.session().execute(
        update(BreachReport).where(BreachReport.id == old.id).values(closed_at=db.utcnow() - dt.timedelta(days=8 * 366))
    )
    db.session().commit()

    def about(made: BreachReport) -> int:
        return (
            db.session()
            .execute(
                select(func.count()).select_from(Notification).where(Notification.link == f"/breaches/{made.reference}")
            )
            .scalar_one()
        )

    assert about(old) > 0 and about(kept) > 0
    assert services.apply_retention(Actor.system("tests")).anonymised == 1
    db.session().commit()
    assert about(old) == 0 and about(kept) > 0
    [event] = audit_events(old.reference, "breach:anonymise")
    assert json.loads(event.details)["messages_removed"] > 0
