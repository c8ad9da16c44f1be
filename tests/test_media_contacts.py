"""Media contacts (policy 8.1; SPEC capability 8).

Any member of staff logs an approach by the media to their personal account (platform,
outlet and journalist if known, when, what was asked, a link or a screenshot, and that
they have not responded); the communications team are told at once, and triage it:
acknowledged, advice given, comms responding, closed, with notes of their own. The
reporter sees the status and the advice of their own approaches only; comms and auditors
see every approach (auditors only read). Every refusal says why and changes nothing;
every change is audited; lists cost a fixed number of statements; the API does what the
pages do; the monthly figures count what happened in a month.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import json
import re
from collections.abc import Callable
from typing import Any

import jsonschema_rs
import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import FileStorage

from registry import clock, db
from registry.audit.models import AuditEvent
from registry.auth.models import User
from registry.errors import Conflict, Invalid, NotFound, NotPermitted
from registry.media import services
from registry.media.kind import KIND
from registry.media.models import MediaContact, MediaContactEvidence, MediaContactStep
from registry.notifications.models import Notification
from registry.uploads.models import Upload
from tests.conftest import Browser

SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
ADVICE = "Do not reply. Tell them the communications team handles all media enquiries."
NHS_NUMBER = "943 476 5919"


# --- helpers ------------------------------------------------------------------------------------


def png(size: tuple[int, int] = (30, 20)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (0, 94, 184)).save(buffer, "PNG")
    return buffer.getvalue()


def screenshot(name: str = "message.png", data: bytes | None = None) -> FileStorage:
    return FileStorage(stream=io.BytesIO(png() if data is None else data), filename=name, content_type="image/png")


def approach(**changes: Any) -> services.Approach:
    values: dict[str, Any] = {
        "platform": "x",
        "outlet": "Evening Chronicle",
        "journalist": "Alex Reporter",
        "contacted_at": db.utcnow() - dt.timedelta(hours=2),
        "deadline_at": None,
        "enquiry": "Asked whether the maternity unit is closing this weekend.",
        "link": "https://x.com/messages/123456",
        "not_responded": True,
    }
    values.update(changes)
    return services.Approach(**values)


def form(**changes: Any) -> dict[str, Any]:
    """The form as a browser sends it: contacted an hour ago (UK time), with one real PNG."""
    when = changes.pop("when", dt.datetime.now(clock.LONDON) - dt.timedelta(hours=1))
    data: dict[str, Any] = {
        "platform": "instagram",
        "outlet": "Radio Example",
        "journalist": "Jo Producer",
        "contacted_on[day]": str(when.day),
        "contacted_on[month]": str(when.month),
        "contacted_on[year]": str(when.year),
        "contacted_time": when.strftime("%H:%M"),
        "enquiry": "Asked me to talk on air about working nights on the wards.",
        "link": "",
        "screenshots": [(io.BytesIO(png()), "message.png")],
        "not_responded": "y",
    }
    data.update(changes)
    return data


def words(response: Any) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def count(model: Any) -> int:
    return db.session().execute(select(func.count()).select_from(model)).scalar_one()


def audit_actions(reference: str) -> list[str]:
    return list(
        db.session()
        .execute(
            select(AuditEvent.action)
            .where(AuditEvent.object_type == "media_contact", AuditEvent.object_id == reference)
            .order_by(AuditEvent.seq)
        )
        .scalars()
    )


def audit_details(reference: str, action: str) -> dict[str, Any]:
    event = (
        db.session()
        .execute(
            select(AuditEvent)
            .where(AuditEvent.object_id == reference, AuditEvent.action == action)
            .order_by(AuditEvent.seq.desc())
        )
        .scalars()
        .first()
    )
    assert event is not None, action
    return json.loads(event.details)


def notified(user: User, event: str | None = None) -> list[Notification]:
    statement = select(Notification).where(Notification.recipient_id == user.id)
    if event is not None:
        statement = statement.where(Notification.event == event)
    return list(db.session().execute(statement.order_by(Notification.id)).scalars())


def fresh(contact: MediaContact) -> MediaContact:
    """The approach as the database has it now (pages change it in their own sessions)."""
    db.session().expire_all()
    return services.get_contact(contact.reference)


@pytest.fixture
def staff(make_user: Callable[..., User]) -> User:
    return make_user("staff", name="Sam Reporter")


@pytest.fixture
def comms(make_user: Callable[..., User]) -> User:
    return make_user("comms", name="Chris Triager")


PATHS = {
    "reported": [],
    "acknowledged": [("acknowledge", None, None)],
    "advice_given": [("advise", ADVICE, None)],
    "comms_responding": [("acknowledge", None, None), ("respond", None, "We will send the statement.")],
    "closed": [("advise", ADVICE, None), ("close", None, "They ran the story without naming anyone.")],
}


@pytest.fixture
def make_contact(app: Flask, make_user: Callable[..., User]) -> Callable[..., MediaContact]:
    """An approach logged by ``reporter`` (a staff member by default), moved to ``status`` by comms."""
    state: dict[str, User] = {}

    def make(
        status: str = "reported",
        *,
        reporter: User | None = None,
        triager: User | None = None,
        files: list[FileStorage] | None = None,
        **changes: Any,
    ) -> MediaContact:
        reporter = reporter or state.setdefault("reporter", make_user("staff"))
        triager = triager or state.setdefault("triager", make_user("comms"))
        contact = services.log_approach(approach(**changes), files or [], reporter)
        for action, advice, note in PATHS[status]:
            services.triage(contact, action, triager, advice=advice, note=note)
        db.session().commit()
        return fresh(contact)

    return make


# --- logging an approach ------------------------------------------------------------------------


def test_staff_log_an_approach_with_a_screenshot_and_comms_are_told_urgently(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_user: Callable[..., User],
) -> None:
    colleagues = [make_user("comms"), make_user("comms")]
    browser = browser_as("staff")
    page = browser.get("/media-contacts/new")
    assert page.status_code == 200
    assert "before you respond (policy 8.1)" in words(page)

    when = dt.datetime.now(clock.LONDON).replace(second=0, microsecond=0) - dt.timedelta(hours=1)
    deadline = when + dt.timedelta(days=1)
    sent = browser.post(
        "/media-contacts/new",
        form(
            when=when,
            **{
                "deadline_on[day]": str(deadline.day),
                "deadline_on[month]": str(deadline.month),
                "deadline_on[year]": str(deadline.year),
                "deadline_time": "5pm",
            },
        ),
    )
    assert sent.status_code == 302, words(sent)[:800]
    reference = sent.headers["Location"].rsplit("/", 1)[1]
    assert re.fullmatch(r"MC-\d{4,}", reference)
    contact = services.get_contact(reference)
    assert contact.status == "reported" and contact.reporter_id == browser.user.id  # type: ignore[attr-defined]
    assert (contact.platform, contact.outlet, contact.journalist) == ("instagram", "Radio Example", "Jo Producer")
    assert contact.contacted_at == when.astimezone(dt.UTC)
    assert contact.deadline_at == deadline.replace(hour=17, minute=0).astimezone(dt.UTC)
    assert contact.link is None and contact.no_response_confirmed_at is not None
    [evidence] = services.evidence_of(contact)
    assert evidence.upload.content_type == "image/png"
    assert audit_actions(reference) == ["media_contact:report"]
    details = audit_details(reference, "media_contact:report")
    assert details["platform"] == "instagram" and details["no_response_confirmed"] is True
    assert details["screenshots"][0]["upload"] == evidence.upload_id and "message.png" not in json.dumps(details)
    for colleague in colleagues:
        [message] = notified(colleague, "media_contact:reported")
        assert message.subject.startswith(f"Urgent: media approach {reference} on Instagram, deadline ")
        assert message.link == f"/media-contacts/{reference}"
        assert "has not responded" in message.body and "Their deadline:" in message.body
    assert notified(browser.user) == []  # type: ignore[attr-defined]

    shown = browser.get(f"/media-contacts/{reference}")
    assert shown.status_code == 200
    text = words(shown)
    assert "Awaiting triage" in text and "Jo Producer (Radio Example) on Instagram" in text
    assert "Do not respond to them until the communications team has advised you" in text
    assert f"/media-contacts/{reference}/triage" not in shown.get_data(as_text=True)  # staff do not triage
    file = browser.get(f"/media-contacts/{reference}/screenshots/{evidence.upload_id}")
    assert file.status_code == 200 and file.mimetype == "image/png"
    assert file.headers["Content-Disposition"].startswith("attachment")


def test_the_empty_form_explains_every_missing_answer_and_stores_nothing(
    app: Flask,
    browser_as: Callable[..., Browser],
) -> None:
    browser = browser_as("staff")
    before = (count(MediaContact), count(Upload))
    page = browser.post("/media-contacts/new", {})
    assert page.status_code == 422
    text = words(page)
    for message in (
        "Choose where they contacted you",
        "Enter the date they contacted you",
        "Enter the time they contacted you",
        "Describe what they asked you",
        "Give a link to their message or post, or attach a screenshot of it",
        "Confirm that you have not responded to them",
    ):
        assert message in text, message
    body = page.get_data(as_text=True)
    for target in ("platform", "contacted_on-day", "contacted_time", "enquiry", "link", "not_responded"):
        assert f'href="#{target}"' in body and f'id="{target}"' in body, target
    assert (count(MediaContact), count(Upload)) == before


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"platform": ""}, "platform", "Choose where they contacted you"),
        ({"platform": "myspace"}, "platform", "Choose a platform from the list"),
        ({"enquiry": "  "}, "enquiry", "Describe what they asked you"),
        ({"enquiry": "x" * 5001}, "enquiry", "What they asked must be 5000 characters or fewer"),
        ({"outlet": "x" * 201}, "outlet", "The outlet's name must be 200 characters or fewer"),
        ({"journalist": "x" * 201}, "journalist", "The journalist's name must be 200 characters or fewer"),
        ({"contacted_at": None}, "contacted_at", "Enter the date and time they contacted you"),
        ({"not_responded": False}, "not_responded", "Confirm that you have not responded to them"),
        ({"link": "javascript:alert(1)"}, "link", "Only web addresses that start with https:// or http://"),
        ({"link": "ask them"}, "link", "A web address cannot contain spaces"),
        ({"link": "nothing"}, "link", "That is not a complete web address"),
        ({"link": "https://user@evil.example/x"}, "link", "That web address is disguised"),
        ({"link": "", "files": []}, "link", "Give a link to their message or post, or attach a screenshot"),
    ],
)
def test_an_approach_missing_an_answer_is_refused_and_nothing_is_stored(
    app: Flask,
    staff: User,
    comms: User,
    changes: dict[str, Any],
    field: str,
    message: str,
) -> None:
    files = changes.pop("files", [screenshot()])
    before = (count(MediaContact), count(Upload), count(Notification))
    with pytest.raises(Invalid) as refused:
        services.log_approach(approach(**changes), files, staff)
    assert refused.value.errors[field].startswith(message), refused.value.errors
    db.session().rollback()
    assert (count(MediaContact), count(Upload), count(Notification)) == before


def test_when_it_happened_must_be_now_or_past_and_the_deadline_after_it(app: Flask, staff: User) -> None:
    now = db.utcnow()
    cases = [
        (
            {"contacted_at": now + dt.timedelta(minutes=30)},
            "contacted_at",
            "The time they contacted you must be now or in the past",
        ),
        (
            {"contacted_at": now - dt.timedelta(days=400)},
            "contacted_at",
            "The approach must have been within the last year",
        ),
        (
            {"contacted_at": now - dt.timedelta(hours=3), "deadline_at": now - dt.timedelta(hours=4)},
            "deadline_at",
            "Their deadline must be after the time they contacted you",
        ),
        (
            {"contacted_at": now - dt.timedelta(hours=3), "deadline_at": now + dt.timedelta(days=400)},
            "deadline_at",
            "Their deadline must be within a year of the approach",
        ),
    ]
    for changes, field, message in cases:
        with pytest.raises(Invalid) as refused:
            services.log_approach(approach(**changes), [], staff)
        assert refused.value.errors[field].startswith(message), changes
    # A moment ago, with a deadline in the past (logged late), is fine.
    contact = services.log_approach(
        approach(contacted_at=now - dt.timedelta(hours=5), deadline_at=now - dt.timedelta(hours=1)),
        [],
        staff,
    )
    assert contact.status == "reported"


def test_the_form_reads_uk_dates_and_times_and_explains_what_it_cannot(
    app: Flask,
    browser_as: Callable[..., Browser],
) -> None:
    browser = browser_as("staff")
    future = dt.datetime.now(clock.LONDON) + dt.timedelta(days=2)
    cases = [
        ({"contacted_time": "25:70"}, "Enter a real time, for example 09:30 or 2pm"),
        ({"contacted_time": ""}, "Enter the time they contacted you, for example 09:30"),
        ({"contacted_on[day]": "31", "contacted_on[month]": "2"}, "When did they contact you? must be a real date"),
        ({"when": future}, "The time they contacted you must be now or in the past"),
        ({"deadline_time": "5pm"}, "Enter the date of their deadline"),
        (
            {"deadline_on[day]": "1", "deadline_on[month]": "1", "deadline_on[year]": str(future.year + 1)},
            "Enter the time of their deadline, for example 09:30",
        ),
    ]
    for changes, message in cases:
        page = browser.post("/media-contacts/new", form(**changes))
        assert page.status_code == 422, changes
        assert message in words(page), changes
        assert "Choose your screenshot again" in words(page)
    assert count(MediaContact) == 0


def test_links_are_kept_as_full_addresses_and_a_link_alone_is_enough(app: Flask, staff: User) -> None:
    contact = services.log_approach(approach(link="  x.com/messages/42 "), [], staff)
    assert contact.link == "https://x.com/messages/42"
    assert services.evidence_of(contact) == []


def test_screenshots_are_checked_by_content_with_every_other_mistake(app: Flask, staff: User) -> None:
    before = (count(MediaContact), count(Upload))
    with pytest.raises(Invalid) as refused:
        services.log_approach(approach(enquiry="", link=""), [screenshot("fake.png", SVG)], staff)
    assert set(refused.value.errors) == {"enquiry", "screenshots"}
    assert refused.value.errors["screenshots"].startswith("fake.png:")
    with pytest.raises(Invalid) as too_many:
        services.log_approach(approach(), [screenshot(f"s{n}.png") for n in range(11)], staff)
    assert too_many.value.errors["screenshots"] == "Attach at most 10 screenshots"
    db.session().rollback()
    assert (count(MediaContact), count(Upload)) == before
    letter = io.BytesIO()
    Image.new("RGB", (40, 30), (255, 255, 255)).save(letter, "PDF")
    pdf = services.log_approach(approach(link=""), [screenshot("message.pdf", letter.getvalue())], staff)
    assert [e.upload.content_type for e in services.evidence_of(pdf)] == ["application/pdf"]


# --- triage -------------------------------------------------------------------------------------


def test_comms_triage_each_step_with_notes_and_the_reporter_is_told(
    app: Flask,
    browser_as: Callable[..., Browser],
    staff: User,
) -> None:
    contact = services.log_approach(approach(), [], staff)
    db.session().commit()
    ref = contact.reference
    triager = browser_as("comms")
    page = triager.get(f"/media-contacts/{ref}")
    assert "Triage" in words(page)
    assert 'value="acknowledge"' in page.get_data(as_text=True)

    steps = [
        (
            {"action": "acknowledge", "note": "Checking with the ward manager."},
            "acknowledged",
            "media_contact:acknowledge",
        ),
        ({"action": "advise", "advice": ADVICE}, "advice_given", "media_contact:advise"),
        ({"action": "advise", "advice": "Update: say nothing at all, please."}, "advice_given", "media_contact:advise"),
        ({"action": "respond", "note": "Statement agreed."}, "comms_responding", "media_contact:respond"),
        ({"action": "close", "note": "Statement sent; story ran on page 5."}, "closed", "media_contact:close"),
    ]
    for data, status, event in steps:
        done = triager.post(f"/media-contacts/{ref}/triage", data)
        assert done.status_code == 302, (data, words(done)[:600])
        assert fresh(contact).status == status
        assert notified(staff, event), event
    contact = fresh(contact)
    assert contact.advice == "Update: say nothing at all, please."
    assert contact.advised_by_id == triager.user.id and contact.closed_at is not None  # type: ignore[attr-defined]
    assert audit_actions(ref) == ["media_contact:report"] + ["media_contact:triage"] * 5
    closing = audit_details(ref, "media_contact:triage")
    assert closing == {
        "action": "close",
        "from": "comms_responding",
        "to": "closed",
        "note": "Statement sent; story ran on page 5.",
    }
    [advised, _update] = notified(staff, "media_contact:advise")
    assert advised.subject == f"Advice on your media approach {ref}" and ADVICE in advised.body
    [responding] = notified(staff, "media_contact:respond")
    assert "do not respond yourself" in responding.body

    own = browser_as(user=staff).get(f"/media-contacts/{ref}")
    text = words(own)
    assert "Closed" in text and "Update: say nothing at all, please." in text and ADVICE in text
    for note in ("Checking with the ward manager.", "Statement agreed.", "story ran on page 5"):
        assert note not in text
    shown = words(triager.get(f"/media-contacts/{ref}"))
    assert "Note for the team: Statement agreed." in shown


@pytest.mark.parametrize(
    ("status", "data", "field", "message"),
    [
        ("reported", {"action": "advise"}, "advice", "Write your advice to Sam Reporter"),
        ("reported", {"action": "advise", "advice": "x" * 4001}, "advice", "It must be 4000 characters or fewer"),
        ("reported", {"action": "acknowledge", "advice": "Hold on."}, "advice", "Advice is sent only when"),
        ("acknowledged", {"action": "close"}, "note", "Record the outcome in the note"),
        ("reported", {"action": "note"}, "note", "Write the note"),
        (
            "reported",
            {"action": "note", "note": "Hm.", "advice": "Reply now."},
            "advice",
            "A note is not sent to the member of staff",
        ),
        ("reported", {"action": "publish"}, "action", "Choose what happens next"),
        ("reported", {}, "action", "Choose what happens next"),
    ],
)
def test_a_triage_missing_what_it_needs_is_refused_and_changes_nothing(
    app: Flask,
    browser_as: Callable[..., Browser],
    staff: User,
    make_contact: Callable[..., MediaContact],
    status: str,
    data: dict[str, str],
    field: str,
    message: str,
) -> None:
    contact = make_contact(status, reporter=staff)
    before = (len(audit_actions(contact.reference)), count(MediaContactStep), len(notified(staff)))
    with pytest.raises(Invalid) as refused:
        services.triage(
            contact, data.get("action", ""), browser_as("comms").user, advice=data.get("advice"), note=data.get("note")
        )
    assert refused.value.errors[field].startswith(message)
    db.session().rollback()
    page = browser_as("comms").post(f"/media-contacts/{contact.reference}/triage", data)
    assert page.status_code == 422
    assert message in words(page)
    assert f'href="#{field}' in page.get_data(as_text=True)
    assert fresh(contact).status == status
    assert (len(audit_actions(contact.reference)), count(MediaContactStep), len(notified(staff))) == before


@pytest.mark.parametrize(
    ("status", "action", "message"),
    [
        ("acknowledged", "acknowledge", "is acknowledged by the communications team, so it cannot be acknowledged now"),
        ("advice_given", "acknowledge", "Only an approach that is awaiting triage can be acknowledged"),
        ("comms_responding", "advise", "is being answered by the communications team, so it cannot be advised on"),
        ("closed", "respond", "is closed, so it cannot be taken on by the communications team"),
        ("closed", "close", "is closed, so it cannot be closed now"),
    ],
)
def test_the_status_decides_what_may_happen_next(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_contact: Callable[..., MediaContact],
    status: str,
    action: str,
    message: str,
) -> None:
    contact = make_contact(status)
    comms = browser_as("comms")
    with pytest.raises(Conflict) as refused:
        services.triage(contact, action, comms.user, advice=ADVICE if action == "advise" else None, note="Done.")
    assert message in refused.value.message
    db.session().rollback()
    page = comms.post(
        f"/media-contacts/{contact.reference}/triage",
        {"action": action, "note": "Done.", "advice": ADVICE if action == "advise" else ""},
    )
    assert page.status_code == 409 and message in words(page)
    assert fresh(contact).status == status


def test_the_form_offers_only_what_the_status_allows(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_contact: Callable[..., MediaContact],
) -> None:
    comms = browser_as("comms")
    offered = {
        "reported": {"acknowledge", "advise", "respond", "close", "note"},
        "comms_responding": {"close", "note"},
        "closed": {"note"},
    }
    for status, actions in offered.items():
        body = comms.get(f"/media-contacts/{make_contact(status).reference}").get_data(as_text=True)
        shown = set(re.findall(r'name="action" type="radio" value="([a-z_]+)"', body)) or set(
            re.findall(r'value="([a-z_]+)"[^>]*name="action"', body)
        )
        assert shown == actions, (status, shown)


def test_comms_add_notes_at_any_time_which_the_reporter_never_sees(
    app: Flask,
    browser_as: Callable[..., Browser],
    api_token: Callable[[User], dict[str, str]],
    staff: User,
    make_contact: Callable[..., MediaContact],
) -> None:
    contact = make_contact("closed", reporter=staff)
    comms = browser_as("comms")
    done = comms.post(
        f"/media-contacts/{contact.reference}/triage",
        {"action": "note", "note": "The journalist called again; no further comment."},
    )
    assert done.status_code == 302
    assert fresh(contact).status == "closed"
    assert audit_details(contact.reference, "media_contact:note") == {
        "note": "The journalist called again; no further comment."
    }
    assert notified(staff, "media_contact:note") == []
    assert "The journalist called again" in words(comms.get(f"/media-contacts/{contact.reference}"))
    own = words(browser_as(user=staff).get(f"/media-contacts/{contact.reference}"))
    assert "The journalist called again" not in own and "Note added" not in own
    body = app.test_client().get(f"/api/v1/media-contacts/{contact.reference}", headers=api_token(staff)).get_json()
    assert [step["action"] for step in body["history"]] == ["report", "advise", "close"]
    assert all(step["note"] is None for step in body["history"])
    assert "journalist called again" not in json.dumps(body)


def test_four_eyes_comms_cannot_triage_an_approach_they_logged(
    app: Flask,
    browser_as: Callable[..., Browser],
    api_token: Callable[[User], dict[str, str]],
) -> None:
    reporter = browser_as("comms")
    contact = services.log_approach(approach(), [], reporter.user)  # type: ignore[attr-defined]
    db.session().commit()
    page = reporter.post(f"/media-contacts/{contact.reference}/triage", {"action": "acknowledge"})
    assert page.status_code == 409 and "four-eyes rule" in words(page)
    api = app.test_client().post(
        f"/api/v1/media-contacts/{contact.reference}/transitions",
        json={"action": "acknowledge"},
        headers=api_token(reporter.user),
    )  # type: ignore[attr-defined]
    assert api.status_code == 409 and "four-eyes rule" in api.get_json()["detail"]
    shown = words(reporter.get(f"/media-contacts/{contact.reference}"))
    assert "another member of the communications team must triage it" in shown
    assert (
        reporter.post(
            f"/media-contacts/{contact.reference}/triage", {"action": "note", "note": "Forwarded to the press office."}
        ).status_code
        == 302
    )
    assert fresh(contact).status == "reported"
    assert (
        browser_as("comms").post(f"/media-contacts/{contact.reference}/triage", {"action": "acknowledge"}).status_code
        == 302
    )
    assert fresh(contact).status == "acknowledged"


def test_only_comms_triage(
    app: Flask, make_user: Callable[..., User], make_contact: Callable[..., MediaContact]
) -> None:
    contact = make_contact()
    for role in ("staff", "manager", "auditor", "admin", "hr"):
        with pytest.raises(NotPermitted, match="Only the communications team can triage"):
            services.triage(contact, "acknowledge", make_user(role))
        with pytest.raises(NotPermitted, match="Only the communications team can add notes"):
            services.triage(contact, "note", make_user(role), note="Hm.")
    assert fresh(contact).status == "reported"


def test_patient_identifiers_are_masked_in_messages_and_the_audit_trail(
    app: Flask,
    staff: User,
    comms: User,
    make_user: Callable[..., User],
) -> None:
    colleague = make_user("comms")
    contact = services.log_approach(
        approach(enquiry=f"Asked about the patient with NHS number {NHS_NUMBER} on ward 4."),
        [],
        staff,
    )
    services.triage(
        contact,
        "advise",
        colleague,
        advice=f"Do not discuss NHS number {NHS_NUMBER}.",
        note=f"Patient {NHS_NUMBER} is known to PALS.",
    )
    db.session().commit()
    events = (
        db.session()
        .execute(select(AuditEvent.details).where(AuditEvent.object_id == contact.reference))
        .scalars()
        .all()
    )
    messages = notified(comms) + notified(staff)
    assert events and messages
    for text in [*events, *(m.subject + m.body for m in messages)]:
        assert NHS_NUMBER not in text and "9434765919" not in text
    [advised] = notified(staff, "media_contact:advise")
    assert "open the approach to read it in full" in advised.body
    assert NHS_NUMBER in fresh(contact).enquiry  # stored as written, for those who may read it


# --- who sees what ------------------------------------------------------------------------------


def test_staff_see_only_their_own_approaches(
    app: Flask,
    browser_as: Callable[..., Browser],
    api_token: Callable[[User], dict[str, str]],
    make_contact: Callable[..., MediaContact],
) -> None:
    """Someone else's approach, screenshot and API record are "not found" (404), whatever their role."""
    contact = make_contact("advice_given", files=[screenshot()])
    [evidence] = services.evidence_of(contact)
    ref = contact.reference
    client = app.test_client()
    for role in ("staff", "manager", "admin", "hr"):
        other = browser_as(role)
        for path in (f"/media-contacts/{ref}", f"/media-contacts/{ref}/screenshots/{evidence.upload_id}"):
            response = other.get(path)
            assert response.status_code == 404, (role, path)
            assert "There is no media contact" in words(response)
        headers = api_token(other.user)  # type: ignore[attr-defined]
        for path in (f"/api/v1/media-contacts/{ref}", f"/api/v1/media-contacts/{ref}/screenshots/{evidence.upload_id}"):
            response = client.get(path, headers=headers)
            assert response.status_code == 404 and response.mimetype == "application/problem+json", path
        assert client.get("/api/v1/media-contacts", headers=headers).get_json()["total"] == 0
        listed = words(other.get("/media-contacts"))
        assert ref not in listed and "You have not logged any media approaches." in listed
    mine = make_contact(reporter=other.user)  # type: ignore[attr-defined]
    listed = words(other.get("/media-contacts"))
    assert mine.reference in listed and ref not in listed
    # An upload that belongs to another approach is not served through this one, even to comms.
    assert (
        browser_as("comms").get(f"/media-contacts/{mine.reference}/screenshots/{evidence.upload_id}").status_code == 404
    )


def test_auditors_read_every_approach_but_triage_nothing(
    app: Flask,
    browser_as: Callable[..., Browser],
    api_token: Callable[[User], dict[str, str]],
    make_contact: Callable[..., MediaContact],
) -> None:
    contact = make_contact("comms_responding")
    auditor = browser_as("auditor")
    assert contact.reference in words(auditor.get("/media-contacts"))
    page = words(auditor.get(f"/media-contacts/{contact.reference}"))
    assert "Note for the team: We will send the statement." in page
    assert "What happens next?" not in page
    assert (
        auditor.post(f"/media-contacts/{contact.reference}/triage", {"action": "close", "note": "Done."}).status_code
        == 403
    )
    api = app.test_client().post(
        f"/api/v1/media-contacts/{contact.reference}/transitions",
        json={"action": "close", "note": "Done."},
        headers=api_token(auditor.user),
    )  # type: ignore[attr-defined]
    assert api.status_code == 403
    assert fresh(contact).status == "comms_responding"


def test_the_list_filters_by_status_platform_and_words(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_contact: Callable[..., MediaContact],
    api_token: Callable[[User], dict[str, str]],
) -> None:
    waiting = make_contact(platform="x", outlet="Evening Chronicle")
    advised = make_contact("advice_given", platform="tiktok", outlet="Radio Example")
    closed = make_contact("closed", platform="x", outlet="Daily Example")
    comms = browser_as("comms")

    def listed(query: str) -> set[str]:
        return set(re.findall(r"MC-\d{4,}", words(comms.get(f"/media-contacts?{query}")))) & {
            c.reference for c in (waiting, advised, closed)
        }

    assert listed("") == {waiting.reference, advised.reference, closed.reference}
    assert listed("status=open") == {waiting.reference, advised.reference}
    assert listed("status=closed") == {closed.reference}
    assert listed("platform=x") == {waiting.reference, closed.reference}
    assert listed("q=radio") == {advised.reference}
    assert listed(f"q={closed.reference}") == {closed.reference}
    assert listed("status=nonsense") == {waiting.reference, advised.reference, closed.reference}
    refused = app.test_client().get(
        "/api/v1/media-contacts?status=nonsense&platform=myspace", headers=api_token(comms.user)
    )  # type: ignore[attr-defined]
    assert refused.status_code == 422 and set(refused.get_json()["errors"]) == {"status", "platform"}


def test_pages_and_lists_run_the_same_statements_for_10_and_60_approaches(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_user: Callable[..., User],
    count_queries: Callable[[], Any],
    api_token: Callable[[User], dict[str, str]],
) -> None:
    """The list (for comms and for a reporter), the API list and the work items cost a fixed number of statements."""
    triager = make_user("comms")
    reporters = [make_user("staff") for _ in range(3)]
    comms = browser_as("comms")
    mine = browser_as(user=reporters[0])
    headers = api_token(comms.user)  # type: ignore[attr-defined]
    paths = (
        "/media-contacts?per_page=100",
        "/media-contacts?per_page=100&status=open&platform=x",
        "/api/v1/media-contacts?per_page=100",
    )
    made = [0]

    def seed(n: int) -> None:
        for _ in range(n):
            made[0] += 1
            contact = services.log_approach(
                approach(deadline_at=db.utcnow() + dt.timedelta(hours=3)), [], reporters[made[0] % 3]
            )
            if made[0] % 3 == 1:
                services.triage(contact, "advise", triager, advice=ADVICE)
        db.session().commit()

    def statements() -> dict[str, int]:
        counts = {}
        for who, path in [(comms, p) for p in paths] + [(mine, "/media-contacts?per_page=100")]:
            get = (
                (lambda p=path, b=who: b.client.get(p, headers=headers))
                if path.startswith("/api/")
                else (lambda p=path, b=who: b.get(p))
            )
            assert get().status_code == 200, path
            with count_queries() as counted:
                assert get().status_code == 200, path
            counts[f"{path} {who.user.email}"] = counted.n  # type: ignore[attr-defined]
        for name, work in (
            ("comms", KIND.work_items_for_comms),
            ("mine", lambda: KIND.work_items_of(reporters[0])),
        ):
            db.session().expire_all()
            with count_queries() as counted:
                work()
            counts[name] = counted.n
        return counts

    seed(10)
    small = statements()
    seed(50)
    large = statements()
    assert comms.client.get("/api/v1/media-contacts?per_page=100", headers=headers).get_json()["total"] == 60
    assert len(KIND.work_items_for_comms()) == 40
    assert large == small


# --- work items and figures ---------------------------------------------------------------------


def test_work_items_for_comms_and_for_the_reporter(
    app: Flask,
    staff: User,
    make_contact: Callable[..., MediaContact],
) -> None:
    waiting = make_contact(reporter=staff, deadline_at=db.utcnow() + dt.timedelta(hours=2))
    acknowledged = make_contact("acknowledged", reporter=staff)
    advised = make_contact("advice_given", reporter=staff)
    responding = make_contact("comms_responding", reporter=staff)
    closed = make_contact("closed", reporter=staff)
    for_comms = {i.reference: i for i in KIND.work_items_for_comms()}
    assert set(for_comms) == {waiting.reference, acknowledged.reference, responding.reference}
    item = for_comms[waiting.reference]
    assert item.kind == "Media contact" and item.url == f"/media-contacts/{waiting.reference}"
    assert item.requester == staff.name and item.status_label == "Awaiting triage"
    assert item.title.startswith("Alex Reporter (Evening Chronicle) on X (Twitter) (deadline ")
    mine = {i.reference: i for i in KIND.work_items_of(staff)}
    assert set(mine) == {waiting.reference, acknowledged.reference, advised.reference, responding.reference}
    assert closed.reference not in mine
    assert mine[advised.reference].needs_you and not mine[waiting.reference].needs_you


def test_month_figures_count_what_happened_in_the_month(
    app: Flask,
    staff: User,
    comms: User,
) -> None:
    """October 2026 in UK time: British Summer Time ends on 25 October."""
    session = db.session()

    def made(
        created: str, *, path: tuple[str, ...] = (), closed: str | None = None, responded: str | None = None
    ) -> MediaContact:
        contact = services.log_approach(approach(), [], staff)
        for action in path:
            services.triage(contact, action, comms, advice=ADVICE if action == "advise" else None, note="Done.")
        session.execute(
            update(MediaContact)
            .where(MediaContact.id == contact.id)
            .values(
                created_at=dt.datetime.fromisoformat(created),
                closed_at=dt.datetime.fromisoformat(closed) if closed else None,
            )
        )
        if responded:
            session.execute(
                update(MediaContactStep)
                .where(
                    MediaContactStep.media_contact_id == contact.id,
                    MediaContactStep.action == "respond",
                )
                .values(occurred_at=dt.datetime.fromisoformat(responded))
            )
        return contact

    made("2026-09-30T23:30:00+00:00")  # 00:30 on 1 October in London: logged, open at the end
    made("2026-09-15T10:00:00+00:00", path=("close",), closed="2026-10-05T10:00:00+00:00")  # closed
    made(
        "2026-10-10T10:00:00+00:00",
        path=("respond", "close"),
        responded="2026-10-11T10:00:00+00:00",
        closed="2026-11-02T10:00:00+00:00",
    )  # logged, comms responding, open at the end
    made("2026-11-01T00:10:00+00:00")  # November (GMT again): nothing in October
    made("2026-08-01T10:00:00+00:00", path=("advise",))  # open at the end
    made("2026-10-20T10:00:00+00:00", path=("close",), closed="2026-10-25T10:00:00+00:00")  # logged and closed
    made("2026-10-31T23:30:00+00:00", path=("respond",), responded="2026-11-01T09:00:00+00:00")  # logged, open
    session.flush()

    assert services.month_figures(dt.date(2026, 10, 1), dt.date(2026, 10, 31)) == {
        "logged": 4,
        "closed": 2,
        "open_at_end": 4,
        "comms_responding": 1,
    }
    assert services.month_figures(dt.date(2025, 1, 1), dt.date(2025, 1, 31)) == {
        "logged": 0,
        "closed": 0,
        "open_at_end": 0,
        "comms_responding": 0,
    }
    assert services.month_figures(dt.date(2026, 11, 1), dt.date(2026, 11, 30))["comms_responding"] == 1
    with pytest.raises(ValueError):
        services.month_figures(dt.date(2026, 10, 31), dt.date(2026, 10, 1))


# --- the database backs the rules ---------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        {"status": "closed"},  # closed without closed_at
        {"status": "advice_given", "advice": None},
        {"status": "lost"},
        {"platform": "myspace"},
    ],
)
def test_the_database_refuses_an_impossible_approach(
    app: Flask,
    make_contact: Callable[..., MediaContact],
    values: dict[str, Any],
) -> None:
    contact = make_contact()
    with pytest.raises(IntegrityError), db.session().begin_nested():
        db.session().execute(update(MediaContact).where(MediaContact.id == contact.id).values(**values))


def test_an_unknown_or_malformed_reference_is_not_found(app: Flask, comms: User) -> None:
    for reference in ("MC-9999999", "MC-99999999999", "CH-0001", "", "MC-"):
        with pytest.raises(NotFound):
            services.visible_contact(reference, comms)


# --- the API ------------------------------------------------------------------------------------


def _api_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "platform": "linkedin",
        "outlet": "Health Service Weekly",
        "journalist": None,
        "contacted_at": (dt.datetime.now(clock.LONDON) - dt.timedelta(hours=1)).replace(tzinfo=None).isoformat(),
        "enquiry": "Asked for my views on the new patient record system.",
        "not_responded": True,
        "screenshots": [{"filename": "dm.png", "content_base64": base64.b64encode(png()).decode()}],
    }
    body.update(changes)
    return body


def test_the_api_logs_reads_and_triages(
    app: Flask,
    make_user: Callable[..., User],
    api_token: Callable[[User], dict[str, str]],
) -> None:
    client = app.test_client()
    staff, comms = make_user("staff"), make_user("comms")
    created = client.post("/api/v1/media-contacts", json=_api_body(), headers=api_token(staff))
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    ref = body["reference"]
    assert created.headers["Location"] == f"/api/v1/media-contacts/{ref}"
    assert body["status"] == "reported" and body["status_label"] == "Awaiting triage"
    assert body["journalist"] is None and body["platform_label"] == "LinkedIn"
    assert [h["action"] for h in body["history"]] == ["report"]
    [shot] = body["screenshots"]
    assert shot["content_type"] == "image/png" and shot["name"] == "dm.png"
    file = client.get(shot["url"], headers=api_token(staff))
    assert file.status_code == 200 and Image.open(io.BytesIO(file.data)).size == (30, 20)

    triaged = client.post(
        f"/api/v1/media-contacts/{ref}/transitions",
        json={"action": "advise", "advice": ADVICE, "note": "Known journalist."},
        headers=api_token(comms),
    )
    assert triaged.status_code == 200, triaged.get_json()
    assert triaged.get_json()["status"] == "advice_given" and triaged.get_json()["advice"] == ADVICE
    assert triaged.get_json()["history"][-1]["note"] == "Known journalist."
    own = client.get(f"/api/v1/media-contacts/{ref}", headers=api_token(staff)).get_json()
    assert own["advice"] == ADVICE and own["advised_by"] == comms.name
    assert own["history"][-1]["note"] is None
    listed = client.get("/api/v1/media-contacts?status=advice_given", headers=api_token(comms)).get_json()
    assert [item["reference"] for item in listed["items"]] == [ref] and "history" not in listed["items"][0]


def test_api_refusals_are_problems_naming_each_field(
    app: Flask,
    make_user: Callable[..., User],
    api_token: Callable[[User], dict[str, str]],
    make_contact: Callable[..., MediaContact],
) -> None:
    client = app.test_client()
    headers = api_token(make_user("staff"))
    cases = [
        ({"platform": None, "enquiry": "", "not_responded": False}, {"platform", "enquiry", "not_responded"}),
        ({"contacted_at": "yesterday"}, {"contacted_at"}),
        ({"contacted_at": "2020-01-01T10:00:00Z"}, {"contacted_at"}),
        ({"not_responded": "yes"}, {"not_responded"}),
        ({"outlet": 42}, {"outlet"}),
        ({"screenshots": "dm.png"}, {"screenshots"}),
        ({"screenshots": [{"filename": "dm.png", "content_base64": "%%%"}]}, {"screenshots"}),
        ({"screenshots": None, "link": None}, {"link"}),
    ]
    for changes, fields in cases:
        response = client.post("/api/v1/media-contacts", json=_api_body(**changes), headers=headers)
        assert response.status_code == 422, changes
        assert response.mimetype == "application/problem+json"
        assert set(response.get_json()["errors"]) == fields, (changes, response.get_json())
    assert count(MediaContact) == 0
    contact = make_contact()
    comms = api_token(make_user("comms"))
    wrong = client.post(f"/api/v1/media-contacts/{contact.reference}/transitions", json={"action": 3}, headers=comms)
    assert wrong.status_code == 422 and set(wrong.get_json()["errors"]) == {"action"}
    missing = client.post(
        f"/api/v1/media-contacts/{contact.reference}/transitions", json={"action": "advise"}, headers=comms
    )
    assert missing.status_code == 422 and set(missing.get_json()["errors"]) == {"advice"}
    unknown = client.get("/api/v1/media-contacts/MC-999999", headers=comms)
    assert unknown.status_code == 404 and unknown.mimetype == "application/problem+json"


def test_api_bodies_match_the_documented_schema_for_reporter_and_comms(
    app: Flask,
    make_user: Callable[..., User],
    api_token: Callable[[User], dict[str, str]],
    make_contact: Callable[..., MediaContact],
) -> None:
    """Every body the API gives (a full approach, a list) fits the closed schema of the OpenAPI document,
    for the reporter's view and comms' (schemathesis mostly meets unknown references here)."""
    from registry.api.openapi import document

    validator = jsonschema_rs.validator_for(document()["components"]["schemas"]["MediaContact"])
    staff, comms = make_user("staff"), make_user("comms")
    client = app.test_client()
    made = [
        make_contact(status, reporter=staff, files=[screenshot()], deadline_at=db.utcnow())
        for status in ("reported", "comms_responding", "closed")
    ]
    services.triage(made[0], "note", comms, note="A note.")
    db.session().commit()
    for user in (staff, comms):
        headers = api_token(user)
        for contact in made:
            body = client.get(f"/api/v1/media-contacts/{contact.reference}", headers=headers).get_json()
            assert list(validator.iter_errors(body)) == [], body
        for item in client.get("/api/v1/media-contacts", headers=headers).get_json()["items"]:
            assert list(validator.iter_errors(item)) == [], item


# --- demo -----------------------------------------------------------------------------------------


def test_the_demo_approaches_cover_every_status(app: Flask, make_user: Callable[..., User]) -> None:
    from registry.media.demo import seed_demo

    made = seed_demo([make_user("staff"), make_user("manager")], [make_user("comms"), make_user("comms")])
    assert sorted(c.status for c in made) == sorted(
        ["reported", "acknowledged", "advice_given", "comms_responding", "closed"]
    )
    assert count(MediaContactEvidence) == 3
