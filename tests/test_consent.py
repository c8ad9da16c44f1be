"""Logo and NHS lozenge consent (policy 6.8; SPEC capability 6).

A member of staff asks with real artwork; the communications team approves (with or
without conditions), asks for changes or rejects, with a reference such as
``LC-2026-0001`` and an expiry date; the requester changes and resubmits, or withdraws.
Every refusal says why and changes nothing; nobody decides their own request; staff see
only their own requests and files; the consent letter prints and downloads as a PDF; the
NHS identity checklist is data comms edit; the register searches, filters and exports
without a query per row; the API does the same as the pages.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import json
import re
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import pikepdf
import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from registry import clock, db
from registry.audit.models import AuditEvent
from registry.auth.models import User
from registry.consent import services
from registry.consent.kind import KIND
from registry.consent.models import (
    ConsentChecklistItem,
    ConsentReferenceCounter,
    LogoConsent,
    LogoConsentArtwork,
    LogoConsentCheck,
)
from registry.consent.services import ConsentRequest
from registry.errors import Conflict, Invalid, NotFound, NotPermitted
from registry.notifications.models import Notification
from registry.uploads import services as uploads
from registry.uploads.models import Upload, UploadContent
from tests.conftest import Browser

REFERENCE = re.compile(r"^LC-(\d{4})-(\d{4,})$")
CONDITIONS = "Use the white lozenge on the NHS Blue panel only; no drop shadow."
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


# --- helpers ------------------------------------------------------------------------------------


def png(colour: tuple[int, int, int] = (0, 94, 184), size: tuple[int, int] = (40, 24)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def artwork(name: str = "draft-poster.png", data: bytes | None = None) -> FileStorage:
    return FileStorage(stream=io.BytesIO(png() if data is None else data), filename=name, content_type="image/png")


def answers(**changes: Any) -> ConsentRequest:
    start = clock.today() + dt.timedelta(days=7)
    values: dict[str, Any] = {
        "title": "Antenatal classes leaflet",
        "department": "Maternity",
        "asset": "nhs_lozenge",
        "purpose": "A leaflet inviting parents to antenatal classes.",
        "media": ("print", "web"),
        "audience": "Expectant parents",
        "partner_involved": False,
        "partner_name": "",
        "starts_on": start,
        "ends_on": start + dt.timedelta(days=90),
    }
    values.update(changes)
    return ConsentRequest(**values)


def form(**changes: Any) -> dict[str, Any]:
    """The request form as a browser sends it, with one real PNG."""
    start = changes.pop("start", clock.today() + dt.timedelta(days=7))
    end = changes.pop("end", start + dt.timedelta(days=90))
    data: dict[str, Any] = {
        "title": "Antenatal classes leaflet",
        "department": "Maternity",
        "asset": "nhs_lozenge",
        "purpose": "A leaflet inviting parents to antenatal classes.",
        "media": ["print", "web"],
        "audience": "Expectant parents",
        "partner_involved": "no",
        "partner_name": "",
        "starts_on[day]": str(start.day),
        "starts_on[month]": str(start.month),
        "starts_on[year]": str(start.year),
        "ends_on[day]": str(end.day),
        "ends_on[month]": str(end.month),
        "ends_on[year]": str(end.year),
        "artwork": [(io.BytesIO(png()), "draft-poster.png")],
    }
    data.update(changes)
    return data


def all_items() -> list[int]:
    return [item.id for item in services.active_checklist()]


def words(response: Any) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def audit_actions(reference: str) -> list[str]:
    return list(
        db.session()
        .execute(select(AuditEvent.action).where(AuditEvent.object_id == reference).order_by(AuditEvent.seq))
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


def count(model: Any) -> int:
    return db.session().execute(select(func.count()).select_from(model)).scalar_one()


def stored_files() -> list[int]:
    """The uploads whose bytes are stored (in the database), by id."""
    return list(db.session().scalars(select(UploadContent.upload_id).order_by(UploadContent.upload_id)))


def pdf_of_size(size: int) -> bytes:
    """A plain one-page PDF of exactly ``size`` bytes (its page's content is padding), whole
    enough for the upload check: a page tree and a cross-reference table."""

    def pdf(padding: int) -> bytes:
        objects = [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Resources << >> /Contents 4 0 R >>",
            b"<< /Length %d >>\nstream\n%s\nendstream" % (padding, b" " * padding),
        ]
        out, offsets = bytearray(b"%PDF-1.4\n"), []
        for number, body in enumerate(objects, start=1):
            offsets.append(len(out))
            out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
        xref = len(out)
        out += b"xref\n0 5\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
        return bytes(out + b"trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref)

    padding = size - len(pdf(0))
    while len(pdf(padding)) != size:
        padding -= len(pdf(padding)) - size
    return pdf(padding)


def notified(user: User, event: str) -> list[Notification]:
    return list(
        db.session()
        .execute(select(Notification).where(Notification.recipient_id == user.id, Notification.event == event))
        .scalars()
    )


def fresh(consent: LogoConsent) -> LogoConsent:
    """The request as the database has it now (pages change it in their own sessions)."""
    db.session().expire_all()
    return services.get_consent(consent.request_reference)


@pytest.fixture
def staff(make_user: Callable[..., User]) -> User:
    return make_user("staff", name="Sam Requester")


@pytest.fixture
def comms(make_user: Callable[..., User]) -> User:
    return make_user("comms", name="Chris Decider")


@pytest.fixture
def make_consent(app: Flask, make_user: Callable[..., User]) -> Callable[..., LogoConsent]:
    """A request by ``requester`` (a staff member by default), moved to ``status`` by a comms member."""
    state: dict[str, User] = {}

    def make(
        status: str = "submitted", *, requester: User | None = None, decider: User | None = None, **changes: Any
    ) -> LogoConsent:
        requester = requester or state.setdefault("requester", make_user("staff"))
        decider = decider or state.setdefault("decider", make_user("comms"))
        consent = services.request_consent(answers(**changes), [artwork()], requester)
        if status == "approved":
            services.decide(consent, "approve", decider, checked=all_items())
        elif status == "approved_with_conditions":
            services.decide(consent, "approve_with_conditions", decider, conditions=CONDITIONS, checked=all_items()[:2])
        elif status == "changes_requested":
            services.decide(consent, "request_changes", decider, note="Use the current lozenge artwork.")
        elif status == "rejected":
            services.decide(consent, "reject", decider, note="A new logo for a service is not allowed.")
        elif status == "withdrawn":
            services.withdraw(consent, requester)
        db.session().commit()
        return fresh(consent)

    return make


# --- asking -------------------------------------------------------------------------------------


def test_staff_ask_for_lozenge_consent_with_artwork(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_user: Callable[..., User],
) -> None:
    """The form takes every answer and a real PNG; the request waits for comms, who are told."""
    colleague = make_user("comms")
    browser = browser_as("staff")
    page = browser.get("/consents/new")
    assert page.status_code == 200
    assert "Ask to use the Trust logo or the NHS lozenge" in words(page)
    assert "NHS Blue (#005EB8)" in words(page)  # the checklist, as guidance

    sent = browser.post(
        "/consents/new",
        form(
            partner_involved="yes",
            partner_name="Example Maternity Voices",
            media=["print", "social_media", "video"],
        ),
    )
    assert sent.status_code == 302, words(sent)[:600]
    reference = sent.headers["Location"].rsplit("/", 1)[1]
    assert re.fullmatch(r"LCR-\d{4,}", reference)
    consent = services.get_consent(reference)
    assert consent.status == "submitted"
    assert consent.requester_id == browser.user.id  # type: ignore[attr-defined]
    assert consent.asset == "nhs_lozenge"
    assert [m.value for m in consent.media] == ["print", "social_media", "video"]
    assert (consent.partner_involved, consent.partner_name) == (True, "Example Maternity Voices")
    assert consent.reference is None and consent.expires_on is None
    [art] = services.artwork_of(consent)
    assert art.upload.content_type == "image/png" and art.upload.original_name == "draft-poster.png"
    assert audit_actions(reference) == ["consent:request"]
    details = audit_details(reference, "consent:request")
    assert details["media"] == ["print", "social_media", "video"] and details["artwork"][0]["upload"] == art.upload_id
    assert "draft-poster.png" not in json.dumps(details)
    [message] = notified(colleague, "consent:submitted")
    assert message.link == f"/consents/{reference}"
    assert "Antenatal classes leaflet" in message.subject

    shown = browser.get(f"/consents/{reference}")
    assert shown.status_code == 200
    text = words(shown)
    assert "Awaiting decision" in text and "Example Maternity Voices" in text
    assert "Print, Social media, Video" in text
    assert "Check the artwork and decide" not in text  # staff do not decide
    file = browser.get(f"/consents/{reference}/files/{art.upload_id}")
    assert file.status_code == 200
    assert file.mimetype == "image/png"
    assert file.headers["Content-Disposition"].startswith("attachment")
    assert file.headers["X-Content-Type-Options"] == "nosniff"
    assert Image.open(io.BytesIO(file.data)).size == (40, 24)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"title": "  "}, "title", "Enter the name of the item or campaign"),
        ({"department": ""}, "department", "Enter the service or department that will use it"),
        ({"asset": ""}, "asset", "Choose what you want to use: the Trust logo, the NHS lozenge or both"),
        ({"asset": "trust_crest"}, "asset", "Choose the Trust logo, the NHS lozenge or both"),
        ({"purpose": ""}, "purpose", "Describe what the logo or lozenge will be used for"),
        ({"media": ()}, "media", "Choose at least one medium where it will appear"),
        ({"media": ("print", "billboard")}, "media", "Choose media from the list"),
        ({"audience": ""}, "audience", "Describe who will see it"),
        ({"partner_involved": None}, "partner_involved", "Say whether a partner organisation is involved"),
        ({"partner_involved": True}, "partner_name", "Enter the name of the partner organisation"),
        ({"starts_on": None}, "starts_on", "Enter the date the use starts"),
        ({"ends_on": None}, "ends_on", "Enter the date the use ends"),
        ({"title": "x" * 201}, "title", "The name must be 200 characters or fewer"),
    ],
)
def test_a_request_missing_an_answer_is_refused_and_nothing_is_stored(
    app: Flask,
    staff: User,
    changes: dict[str, Any],
    field: str,
    message: str,
) -> None:
    before = (count(LogoConsent), count(Upload))
    with pytest.raises(Invalid) as refused:
        services.request_consent(answers(**changes), [artwork()], staff)
    assert refused.value.errors[field].startswith(message)
    assert (count(LogoConsent), count(Upload)) == before


def test_dates_must_make_sense(app: Flask, staff: User) -> None:
    """The use cannot start in the past (consent comes first), nor end before it starts."""
    today = clock.today()
    cases = [
        (
            {"starts_on": today - dt.timedelta(days=1), "ends_on": today + dt.timedelta(days=5)},
            "starts_on",
            "The start date must be today or in the future: consent is given before the use begins",
        ),
        (
            {"starts_on": today + dt.timedelta(days=5), "ends_on": today + dt.timedelta(days=4)},
            "ends_on",
            "The end date must be the same as or after the start date",
        ),
        (
            {"starts_on": today + dt.timedelta(days=5), "ends_on": today + dt.timedelta(days=5 + 366 * 5 + 2)},
            "ends_on",
            "One request can cover at most 5 years: ask again for a later period",
        ),
        (
            {"starts_on": today + dt.timedelta(days=800), "ends_on": today + dt.timedelta(days=900)},
            "starts_on",
            "The start date must be within 2 years from today",
        ),
    ]
    for changes, field, message in cases:
        with pytest.raises(Invalid) as refused:
            services.request_consent(answers(**changes), [artwork()], staff)
        assert refused.value.errors == {field: message}
    one_day = services.request_consent(answers(starts_on=today, ends_on=today), [artwork()], staff)
    assert one_day.starts_on == one_day.ends_on == today


def test_artwork_is_required_and_checked_by_content(app: Flask, staff: User) -> None:
    """No file, an empty file input, or an SVG pretending to be a PNG: refused with a message, nothing stored."""
    before = (count(LogoConsent), count(Upload))
    for files in ([], [FileStorage(stream=io.BytesIO(b""), filename="")]):
        with pytest.raises(Invalid) as refused:
            services.request_consent(answers(), files, staff)
        assert refused.value.errors == {"artwork": services.REQUIRED_MESSAGES["artwork"]}
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    with pytest.raises(Invalid) as refused:
        services.request_consent(answers(), [artwork("lozenge.png", svg)], staff)
    assert refused.value.errors["artwork"].startswith("lozenge.png:")
    assert "SVG" in refused.value.errors["artwork"]
    assert (count(LogoConsent), count(Upload)) == before


def test_a_refused_file_is_reported_with_every_other_mistake(app: Flask, staff: User, comms: User) -> None:
    """Files are checked in the same pass as the answers, so one round shows every mistake;
    a good file beside a wrong answer is checked but not kept (no row, no file on disk)."""
    before = (count(LogoConsent), count(Upload), stored_files())
    with pytest.raises(Invalid) as refused:
        services.request_consent(answers(title="", media=()), [artwork("lozenge.png", SVG)], staff)
    assert set(refused.value.errors) == {"title", "media", "artwork"}
    assert refused.value.errors["artwork"].startswith("lozenge.png: SVG images are not accepted")
    with pytest.raises(Invalid) as refused:
        services.request_consent(answers(audience=""), [artwork(), artwork("second.png")], staff)
    assert refused.value.errors == {"audience": services.REQUIRED_MESSAGES["audience"]}
    assert (count(LogoConsent), count(Upload), stored_files()) == before

    consent = services.request_consent(answers(), [artwork()], staff)
    services.decide(consent, "request_changes", comms, note="Use the white lozenge.")
    before = (count(Upload), stored_files(), audit_actions(consent.request_reference))
    for files, expected in (([artwork("white.png", SVG)], {"title", "artwork"}), ([artwork("white.png")], {"title"})):
        with pytest.raises(Invalid) as refused:
            services.resubmit(consent, answers(title=""), staff, add_artwork=files)
        assert set(refused.value.errors) == expected
    assert (count(Upload), stored_files(), audit_actions(consent.request_reference)) == before
    assert fresh(consent).status == "changes_requested"


def test_the_form_asks_for_the_artwork_again_after_any_mistake(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_user: Callable[..., User],
) -> None:
    """A browser cannot keep a chosen file when the form comes back: the message says to choose it again,
    at the file input and in the error summary, with the refusal of a bad file and the other mistakes."""
    browser = browser_as("staff")

    def artwork_error(response: Any) -> str:
        body = response.get_data(as_text=True)
        summary = re.search(r'class="nhsuk-error-summary".*?</ul>', body, re.DOTALL)
        assert summary is not None and 'href="#artwork"' in summary.group(0)
        found = re.search(r'id="artwork-error"[^>]*>(.*?)</span>\s*<input', body, re.DOTALL)
        assert found is not None
        return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(1))).split()).removeprefix("Error: ")

    svg_and_title = browser.post("/consents/new", form(title="", artwork=[(io.BytesIO(SVG), "lozenge.png")]))
    assert svg_and_title.status_code == 422 and "Enter the name of the item or campaign" in words(svg_and_title)
    message = artwork_error(svg_and_title)
    assert message.startswith("lozenge.png: SVG images are not accepted")
    assert message.endswith(
        "Choose your artwork file again: browsers do not keep chosen files when a form needs correcting."
    )

    good_file = browser.post(
        "/consents/new", form(audience="", artwork=[(io.BytesIO(png()), "a.png"), (io.BytesIO(png()), "b.png")])
    )
    assert good_file.status_code == 422 and "Describe who will see it" in words(good_file)
    assert artwork_error(good_file) == (
        "Choose your artwork 2 files again: browsers do not keep chosen files when a form needs correcting."
    )

    no_file = browser.post("/consents/new", form(audience="", artwork=[]))
    assert artwork_error(no_file) == services.REQUIRED_MESSAGES["artwork"]  # nothing chosen: nothing to repeat
    assert (count(LogoConsent), count(Upload), stored_files()) == (0, 0, [])

    staff = browser.user
    consent = services.request_consent(answers(), [artwork()], staff)
    services.decide(consent, "request_changes", make_user("comms"), note="Use the white lozenge.")
    db.session().commit()
    uploads_before = count(Upload)
    edit = browser.post(
        f"/consents/{consent.request_reference}/edit", form(title="", artwork=[(io.BytesIO(png()), "white.png")])
    )
    assert edit.status_code == 422 and artwork_error(edit).startswith("Choose your artwork file again")
    kept = browser.post(f"/consents/{consent.request_reference}/edit", form(title="", artwork=[]))
    assert kept.status_code == 422 and 'id="artwork-error"' not in kept.get_data(as_text=True)
    assert count(Upload) == uploads_before


def test_the_form_explains_every_mistake(app: Flask, browser_as: Callable[..., Browser]) -> None:
    """Bad answers re-render the form (422) with an error summary linking to each field."""
    browser = browser_as("staff")
    response = browser.post(
        "/consents/new",
        {
            "asset": "",
            "partner_involved": "yes",
            "starts_on[day]": "31",
            "starts_on[month]": "2",
            "starts_on[year]": "2027",
        },
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<title>Error: " in body
    summary = re.search(r'class="nhsuk-error-summary".*?</ul>', body, re.DOTALL)
    assert summary is not None
    targets = re.findall(r'href="#([^"]+)"', summary.group(0))
    for field in (
        "title",
        "department",
        "asset",
        "purpose",
        "media",
        "audience",
        "partner_name",
        "starts_on-day",
        "ends_on-day",
        "artwork",
    ):
        assert field in targets, field
        assert f'id="{field}"' in body, field
    assert "When does the use start? must be a real date" in words(response)
    assert count(LogoConsent) == 0


# --- deciding -----------------------------------------------------------------------------------


def test_comms_approve_with_a_reference_and_an_expiry_date(
    app: Flask,
    staff: User,
    comms: User,
    make_consent: Callable[..., LogoConsent],
) -> None:
    consent = make_consent(requester=staff)
    approved = services.decide(consent, "approve", comms, note="Lovely leaflet.", checked=all_items())
    db.session().commit()
    match = REFERENCE.match(approved.reference or "")
    assert match is not None and int(match.group(1)) == clock.today().year
    assert approved.status == "approved"
    assert approved.expires_on == approved.ends_on  # the default: as long as the use
    assert approved.decided_by_id == comms.id and approved.decided_at is not None
    assert services.get_consent(approved.reference or "").id == consent.id  # found by either reference
    details = audit_details(consent.request_reference, "consent:approve")
    assert details["reference"] == approved.reference and details["expires_on"] == approved.ends_on.isoformat()
    assert details["checklist"] == {"checked": sorted(all_items()), "not_checked": []}
    checks = db.session().execute(select(LogoConsentCheck)).scalars().all()
    assert {c.item_id for c in checks if c.checked} == set(all_items())
    [message] = notified(staff, "consent:decided")
    assert approved.reference in message.subject and "Lovely leaflet." in message.body


def test_approve_with_conditions_records_them_and_a_chosen_expiry(
    app: Flask,
    comms: User,
    make_consent: Callable[..., LogoConsent],
) -> None:
    consent = make_consent()
    later = consent.ends_on + dt.timedelta(days=180)
    approved = services.decide(
        consent, "approve_with_conditions", comms, conditions=CONDITIONS, expires_on=later, checked=all_items()[:3]
    )
    assert (approved.status, approved.conditions, approved.expires_on) == (
        "approved_with_conditions",
        CONDITIONS,
        later,
    )
    details = audit_details(consent.request_reference, "consent:approve_with_conditions")
    assert details["conditions"] == CONDITIONS
    assert len(details["checklist"]["not_checked"]) == len(all_items()) - 3


@pytest.mark.parametrize(
    ("decision", "kwargs", "field", "message"),
    [
        ("approve", {"checked": "some"}, "checked", "Tick every item of the NHS identity checklist to approve."),
        (
            "approve",
            {"checked": "all", "conditions": "Only on posters."},
            "conditions",
            "Conditions are given only when approving with conditions.",
        ),
        ("approve_with_conditions", {"conditions": "  "}, "conditions", "Enter the conditions the requester must meet"),
        (
            "approve",
            {"checked": "all", "expires_on": -1},
            "expires_on",
            "The expiry date must be on or after the end of the use",
        ),
        (
            "approve",
            {"checked": "all", "expires_on": 2 * 366 + 1},
            "expires_on",
            "The expiry date must be no later than",
        ),
        ("request_changes", {}, "note", "Say what needs to change, so the requester can put it right"),
        ("reject", {"note": ""}, "note", "Give the reason for rejecting the request"),
        ("reject", {"note": "No.", "expires_on": 10}, "expires_on", "An expiry date is given only when approving."),
        ("approve", {"checked": [999999]}, "checked", "Tick only items of the current NHS identity checklist."),
        ("ignore", {}, "decision", "Choose a decision: approve, approve with conditions, ask for changes or reject."),
    ],
)
def test_a_decision_missing_what_it_needs_is_refused_and_changes_nothing(
    app: Flask,
    comms: User,
    make_consent: Callable[..., LogoConsent],
    decision: str,
    kwargs: dict[str, Any],
    field: str,
    message: str,
) -> None:
    consent = make_consent()
    if kwargs.get("checked") == "all":
        kwargs["checked"] = all_items()
    elif kwargs.get("checked") == "some":
        kwargs["checked"] = all_items()[:-1]
    if "expires_on" in kwargs:
        kwargs["expires_on"] = consent.ends_on + dt.timedelta(days=kwargs["expires_on"])
    events, counters = count(AuditEvent), count(ConsentReferenceCounter)
    with pytest.raises(Invalid) as refused:
        services.decide(consent, decision, comms, **kwargs)
    assert refused.value.errors[field].startswith(message)
    db.session().rollback()
    after = fresh(consent)
    assert (after.status, after.reference, after.expires_on) == ("submitted", None, None)
    assert (count(AuditEvent), count(ConsentReferenceCounter)) == (events, counters)


def test_patient_identifiers_are_masked_in_messages_and_the_audit_trail(
    app: Flask,
    staff: User,
    comms: User,
    make_consent: Callable[..., LogoConsent],
) -> None:
    """Free text (the title, comms' notes and conditions, the requester's notes and changes) is stored
    as written, but e-mails and audit details get it with patient identifiers masked, as posts do."""
    identifying = (
        "Remove the photo of patient Jane Bloggs, NHS number 943 476 5919.",
        "Only with Mrs Jane Bloggs's written consent; call 07700 900123 first.",
    )
    secrets = ("Bloggs", "943 476 5919", "9434765919", "900123")
    consent = make_consent(requester=staff, title="Leaflet for patient Jane Bloggs")
    services.decide(consent, "request_changes", comms, note=identifying[0])
    services.resubmit(
        consent, answers(title="Leaflet for patient Jane Bloggs", purpose=identifying[1]), staff, note=identifying[0]
    )
    services.decide(
        consent, "approve_with_conditions", comms, conditions=identifying[1], note=identifying[0], checked=all_items()
    )
    other = make_consent(requester=staff, title="Poster")
    services.withdraw(other, staff, note=identifying[1])
    db.session().commit()

    after = fresh(consent)
    assert after.conditions == identifying[1] and after.purpose == identifying[1]  # stored as entered
    assert [s.note for s in services.history(after)][1:] == list(identifying[:1] * 3)
    messages = db.session().execute(select(Notification).where(Notification.event.like("consent:%"))).scalars().all()
    assert {m.event for m in messages} >= {
        "consent:submitted",
        "consent:changes_requested",
        "consent:resubmitted",
        "consent:decided",
        "consent:withdrawn",
    }
    trail = (
        db.session()
        .execute(
            select(AuditEvent.details).where(
                AuditEvent.object_id.in_([consent.request_reference, other.request_reference])
            )
        )
        .scalars()
        .all()
    )
    written = [m.subject for m in messages] + [m.body for m in messages] + [d or "" for d in trail]
    for secret in secrets:
        assert not [text for text in written if secret in text], secret
    masked = services.masked(identifying[0])
    assert masked == "Remove the photo of patient J••• B•••, NHS number ••• ••• ••19."
    [decided] = notified(staff, "consent:decided")
    assert masked in decided.body and services.masked(identifying[1]) in decided.body
    assert decided.subject.endswith('"Leaflet for patient J••• B•••"')
    approval = audit_details(consent.request_reference, "consent:approve_with_conditions")
    assert (approval["note"], approval["conditions"]) == (masked, services.masked(identifying[1]))
    update = audit_details(consent.request_reference, "consent:update")
    assert update["changed"]["purpose"]["to"] == services.masked(identifying[1])


def test_an_approval_whose_use_has_already_ended_is_refused(
    app: Flask,
    comms: User,
    make_consent: Callable[..., LogoConsent],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A request that waited past its end date cannot be approved as it is: comms ask for new dates."""
    consent = make_consent()
    later = consent.ends_on + dt.timedelta(days=3)
    monkeypatch.setattr(clock, "today", lambda: later)
    with pytest.raises(Invalid) as refused:
        services.decide(consent, "approve", comms, checked=all_items())
    assert "there is nothing left to approve" in refused.value.errors["expires_on"]


def test_changes_asked_then_the_requester_edits_and_resubmits(
    app: Flask,
    staff: User,
    comms: User,
    make_consent: Callable[..., LogoConsent],
    browser_as: Callable[..., Browser],
) -> None:
    """Comms ask for changes; the requester (told by message) changes answers and artwork, and resubmits."""
    consent = make_consent(requester=staff)
    services.decide(consent, "request_changes", comms, note="Use the white lozenge on the blue panel.")
    db.session().commit()
    [message] = notified(staff, "consent:changes_requested")
    assert "Use the white lozenge on the blue panel." in message.body
    [old] = services.artwork_of(consent)

    browser = browser_as(user=staff)
    page = browser.get(f"/consents/{consent.request_reference}")
    assert "The communications team asked for changes" in words(page)
    assert "Use the white lozenge on the blue panel." in words(page)
    edit = browser.get(f"/consents/{consent.request_reference}/edit")
    assert edit.status_code == 200 and 'value="Antenatal classes leaflet"' in edit.get_data(as_text=True)

    # Taking off the only artwork without adding any is refused.
    refused = browser.post(
        f"/consents/{consent.request_reference}/edit", form(remove_artwork=[str(old.upload_id)], artwork=[])
    )
    assert refused.status_code == 422
    assert "Keep at least one piece of artwork, or attach new artwork" in words(refused)
    assert fresh(consent).status == "changes_requested"

    sent = browser.post(
        f"/consents/{consent.request_reference}/edit",
        form(
            title="Antenatal classes leaflet (white lozenge)",
            media=["print"],
            remove_artwork=[str(old.upload_id)],
            artwork=[(io.BytesIO(png((255, 255, 255))), "white-lozenge.png")],
            note="Swapped to the white lozenge.",
        ),
    )
    assert sent.status_code == 302, words(sent)[:500]
    after = fresh(consent)
    assert after.status == "submitted" and after.title == "Antenatal classes leaflet (white lozenge)"
    assert [m.value for m in after.media] == ["print"]
    art = services.artwork_of(after)
    assert [(a.upload.original_name, a.is_current) for a in art] == [
        ("white-lozenge.png", True),
        ("draft-poster.png", False),
    ]
    assert audit_actions(consent.request_reference)[-3:] == [
        "consent:request_changes",
        "consent:update",
        "consent:resubmit",
    ]
    update = audit_details(consent.request_reference, "consent:update")
    assert update["changed"]["media"] == {"from": ["print", "web"], "to": ["print"]}
    assert update["artwork_removed"] == [old.upload_id]
    assert notified(comms, "consent:resubmitted")
    # The removed file stays viewable in the request's history.
    assert browser.get(f"/consents/{consent.request_reference}/files/{old.upload_id}").status_code == 200


def test_reject_needs_a_reason_and_is_shown_to_the_requester(
    app: Flask,
    staff: User,
    comms: User,
    make_consent: Callable[..., LogoConsent],
    browser_as: Callable[..., Browser],
) -> None:
    consent = make_consent("changes_requested", requester=staff)
    services.decide(consent, "reject", comms, note="A new logo for a single ward is not allowed.")
    db.session().commit()
    page = browser_as(user=staff).get(f"/consents/{consent.request_reference}")
    assert "Rejected" in words(page) and "A new logo for a single ward is not allowed." in words(page)
    assert notified(staff, "consent:decided")
    assert fresh(consent).decided_by_id == comms.id


def test_decisions_through_the_page(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_consent: Callable[..., LogoConsent],
) -> None:
    """The decision form: the checklist beside the artwork, conditions only with conditional approval."""
    consent = make_consent()
    comms = browser_as("comms")
    page = comms.get(f"/consents/{consent.request_reference}")
    body = page.get_data(as_text=True)
    assert "Check the artwork and decide" in words(page)
    assert "NHS Blue (#005EB8)" in words(page)
    assert f'src="/consents/{consent.request_reference}/files/' in body
    path = f"/consents/{consent.request_reference}/decision"
    missing = comms.post(path, {"decision": "approve_with_conditions", "checked": [str(i) for i in all_items()]})
    assert missing.status_code == 422
    assert "Enter the conditions the requester must meet" in words(missing)
    assert "<title>Error: " in missing.get_data(as_text=True)
    bad_date = comms.post(
        path,
        {
            "decision": "approve",
            "checked": [str(i) for i in all_items()],
            "expires_on[day]": "31",
            "expires_on[month]": "2",
            "expires_on[year]": "2027",
        },
    )
    assert bad_date.status_code == 422 and "Consent expires on must be a real date" in words(bad_date)
    assert fresh(consent).status == "submitted"
    done = comms.post(
        path,
        {
            "decision": "approve_with_conditions",
            "checked": [str(all_items()[0])],
            "conditions": CONDITIONS,
            "note": "Thanks.",
        },
    )
    assert done.status_code == 302
    after = fresh(consent)
    assert after.status == "approved_with_conditions" and after.conditions == CONDITIONS
    shown = words(comms.get(f"/consents/{after.reference}"))
    assert "Approved with conditions" in shown and after.reference in shown
    assert "Checked against the NHS identity checklist" in shown and "Not ticked" in shown


# --- withdrawing, four-eyes, states -------------------------------------------------------------


def test_the_requester_withdraws_while_undecided_or_waiting_for_changes(
    app: Flask,
    staff: User,
    make_consent: Callable[..., LogoConsent],
    browser_as: Callable[..., Browser],
) -> None:
    browser = browser_as(user=staff)
    for status in ("submitted", "changes_requested"):
        consent = make_consent(status, requester=staff)
        done = browser.post(f"/consents/{consent.request_reference}/withdraw", {"withdraw-note": "Not needed now."})
        assert done.status_code == 302
        assert fresh(consent).status == "withdrawn"
        assert audit_details(consent.request_reference, "consent:withdraw")["note"] == "Not needed now."
    approved = make_consent("approved", requester=staff)
    refused = browser.post(f"/consents/{approved.request_reference}/withdraw")
    assert refused.status_code == 409
    assert "is approved, so it cannot be withdrawn" in words(refused)
    assert fresh(approved).status == "approved"


def test_only_the_requester_may_withdraw_or_resubmit(
    app: Flask,
    make_user: Callable[..., User],
    make_consent: Callable[..., LogoConsent],
) -> None:
    consent = make_consent("changes_requested")
    with pytest.raises(NotPermitted, match="Only the person who made the request can withdraw it."):
        services.withdraw(consent, make_user("comms"))
    with pytest.raises(NotPermitted, match="Only the person who made the request can change and resubmit it."):
        services.resubmit(consent, answers(), make_user("comms"), add_artwork=[artwork()])
    assert fresh(consent).status == "changes_requested"


@pytest.mark.parametrize("status", ["approved", "rejected", "withdrawn", "changes_requested"])
def test_a_decided_request_cannot_be_decided_again(
    app: Flask,
    make_user: Callable[..., User],
    make_consent: Callable[..., LogoConsent],
    status: str,
) -> None:
    consent = make_consent(status)
    colleague = make_user("comms")
    events = count(AuditEvent)
    with pytest.raises(Conflict, match="so it cannot be approved"):
        services.decide(consent, "approve", colleague, checked=all_items())
    assert fresh(consent).status == status and count(AuditEvent) == events


def test_resubmitting_is_only_for_a_request_waiting_for_changes(
    app: Flask,
    staff: User,
    make_consent: Callable[..., LogoConsent],
    browser_as: Callable[..., Browser],
) -> None:
    consent = make_consent(requester=staff)
    with pytest.raises(Conflict, match="waiting for a decision, so it cannot be resubmitted"):
        services.resubmit(consent, answers(), staff)
    assert browser_as(user=staff).get(f"/consents/{consent.request_reference}/edit").status_code == 409


def test_four_eyes_comms_cannot_decide_their_own_request(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_consent: Callable[..., LogoConsent],
    api_token: Callable[[User], dict[str, str]],
) -> None:
    own = browser_as("comms")
    user: User = own.user  # type: ignore[attr-defined]
    consent = make_consent(requester=user)
    page = own.get(f"/consents/{consent.request_reference}")
    assert "another member of the communications team must decide it (four-eyes rule)" in words(page)
    assert "Check the artwork and decide" not in words(page)
    for decision in ("approve", "approve_with_conditions", "request_changes", "reject"):
        refused = own.post(
            f"/consents/{consent.request_reference}/decision",
            {
                "decision": decision,
                "checked": [str(i) for i in all_items()],
                "conditions": "x",
                "note": "x",
            },
        )
        assert refused.status_code == 409, decision
        assert "four-eyes rule" in words(refused)
    api = app.test_client().post(
        f"/api/v1/consents/{consent.request_reference}/transitions",
        json={"action": "approve", "checked": all_items()},
        headers=api_token(user),
    )
    assert api.status_code == 409 and api.mimetype == "application/problem+json"
    assert "four-eyes rule" in api.get_json()["detail"]
    assert fresh(consent).status == "submitted"
    colleague = browser_as("comms")
    assert (
        colleague.post(
            f"/consents/{consent.request_reference}/decision",
            {
                "decision": "approve",
                "checked": [str(i) for i in all_items()],
            },
        ).status_code
        == 302
    )


def test_comms_are_told_of_a_request_except_the_one_who_made_it(
    app: Flask,
    make_user: Callable[..., User],
) -> None:
    asker, colleague = make_user("comms"), make_user("comms")
    services.request_consent(answers(), [artwork()], asker)
    assert notified(colleague, "consent:submitted") and not notified(asker, "consent:submitted")


# --- who sees what ------------------------------------------------------------------------------


def test_staff_cannot_see_another_persons_request_or_its_files(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_consent: Callable[..., LogoConsent],
    api_token: Callable[[User], dict[str, str]],
) -> None:
    """Someone else's request, file, letter, edit page and API record are "not found" (404) for staff."""
    consent = make_consent("approved")
    [art] = services.artwork_of(consent)
    ref = consent.request_reference
    other = browser_as("staff")
    for path in (
        f"/consents/{ref}",
        f"/consents/{consent.reference}",
        f"/consents/{ref}/files/{art.upload_id}",
        f"/consents/{ref}/letter",
        f"/consents/{ref}/letter.pdf",
        f"/consents/{ref}/edit",
    ):
        response = other.get(path)
        assert response.status_code == 404, path
        assert "There is no logo consent" in words(response), path
    assert other.post(f"/consents/{ref}/withdraw").status_code == 404
    headers = api_token(other.user)  # type: ignore[attr-defined]
    client = app.test_client()
    for path in (f"/api/v1/consents/{ref}", f"/api/v1/consents/{ref}/artwork/{art.upload_id}"):
        response = client.get(path, headers=headers)
        assert response.status_code == 404 and response.mimetype == "application/problem+json", path
    assert client.get("/api/v1/consents", headers=headers).get_json()["total"] == 0
    assert "No consents." in words(other.get("/consents"))
    # An upload that is not part of this request is not served through it, even to comms.
    mine = make_consent(requester=other.user)  # type: ignore[attr-defined]
    [my_art] = services.artwork_of(mine)
    assert browser_as("comms").get(f"/consents/{ref}/files/{my_art.upload_id}").status_code == 404


def test_auditors_read_everything_but_decide_nothing(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_consent: Callable[..., LogoConsent],
) -> None:
    consent = make_consent()
    approved = make_consent("approved")
    auditor = browser_as("auditor")
    assert consent.request_reference in words(auditor.get("/consents"))
    assert auditor.get(f"/consents/{consent.request_reference}").status_code == 200
    assert "Check the artwork and decide" not in words(auditor.get(f"/consents/{consent.request_reference}"))
    assert auditor.get(f"/consents/{approved.reference}/letter").status_code == 200
    assert (
        auditor.post(
            f"/consents/{consent.request_reference}/decision", {"decision": "reject", "note": "No"}
        ).status_code
        == 403
    )
    assert auditor.get("/consents/checklist").status_code == 403
    assert fresh(consent).status == "submitted"


# --- expiry -------------------------------------------------------------------------------------


def test_an_approval_shows_as_expired_once_its_date_has_passed(
    app: Flask,
    staff: User,
    make_consent: Callable[..., LogoConsent],
    browser_as: Callable[..., Browser],
    api_token: Callable[[User], dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No job runs: from the day after the expiry date every page and the API say expired."""
    consent = make_consent("approved", requester=staff)
    browser = browser_as(user=staff)
    headers = api_token(staff)
    ref = consent.reference
    assert "Approved" in words(browser.get(f"/consents/{ref}"))
    last_day = consent.expires_on
    assert last_day is not None
    monkeypatch.setattr(clock, "today", lambda: last_day)
    assert "This consent has expired" not in words(browser.get(f"/consents/{ref}"))
    monkeypatch.setattr(clock, "today", lambda: last_day + dt.timedelta(days=1))
    page = words(browser.get(f"/consents/{ref}"))
    assert "This consent has expired" in page and f"expired on {last_day.day} {last_day:%B %Y}" in page
    assert "This consent has expired" in words(browser.get(f"/consents/{ref}/letter"))
    assert app.test_client().get(f"/api/v1/consents/{ref}", headers=headers).get_json()["status"] == "expired"
    assert fresh(consent).status == "approved"  # nothing stored changed
    assert ref in words(browser.get("/consents?status=expired"))
    assert ref not in words(browser.get("/consents?status=approved"))


def test_expiring_between_finds_approvals_whose_expiry_falls_in_the_range(
    app: Flask,
    make_consent: Callable[..., LogoConsent],
) -> None:
    today = clock.today()
    soon = make_consent("approved", starts_on=today, ends_on=today + dt.timedelta(days=10))
    conditional = make_consent("approved_with_conditions", starts_on=today, ends_on=today + dt.timedelta(days=30))
    make_consent("approved", starts_on=today, ends_on=today + dt.timedelta(days=31))
    make_consent("submitted", starts_on=today, ends_on=today + dt.timedelta(days=5))
    found = services.expiring_between(today, today + dt.timedelta(days=30))
    assert [c.id for c in found] == [soon.id, conditional.id]
    assert [c.reference for c in found] == [soon.reference, conditional.reference]


# --- references ---------------------------------------------------------------------------------


def test_references_count_up_within_the_year_of_approval(
    app: Flask,
    comms: User,
    make_consent: Callable[..., LogoConsent],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    year = clock.today().year
    first, second = make_consent(), make_consent()
    references = [services.decide(c, "approve", comms, checked=all_items()).reference for c in (first, second)]
    numbers = [int(REFERENCE.match(r or "").group(2)) for r in references]  # type: ignore[union-attr]
    assert numbers[1] == numbers[0] + 1
    assert all(r.startswith(f"LC-{year}-") and len(r) == len(f"LC-{year}-0000") for r in references if r)
    third = make_consent()
    new_year = dt.date(year + 1, 1, 2)
    monkeypatch.setattr(clock, "today", lambda: new_year)
    assert (
        services.decide(
            third, "approve_with_conditions", comms, conditions=CONDITIONS, expires_on=third.ends_on
        ).reference
        == f"LC-{year + 1}-0001"
    )


def test_the_database_refuses_a_reference_given_twice(
    app: Flask,
    comms: User,
    make_consent: Callable[..., LogoConsent],
) -> None:
    taken = make_consent("approved")
    other = make_consent()
    session = db.session()
    with pytest.raises(IntegrityError), session.begin_nested():
        other.status, other.reference = "approved", taken.reference
        other.expires_on, other.decided_by_id = other.ends_on, comms.id
        session.flush()


def test_concurrent_approvals_never_share_a_reference(database_url: str) -> None:
    """Eight transactions take numbers at once, each holding its transaction open a moment:
    on PostgreSQL the year's counter row is locked until each commits, so all differ."""
    engine = db.make_engine(database_url)
    year = 2999  # a year of its own, removed afterwards, so no other test sees these numbers
    start = threading.Barrier(8)
    taken: list[str] = []
    failures: list[BaseException] = []

    def approve() -> None:
        try:
            with Session(engine) as session:
                start.wait(timeout=30)
                reference = services.allocate_reference(year, session=session)
                time.sleep(0.05)  # another transaction would read the same number now, without the lock
                session.commit()
                taken.append(reference)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=approve) for _ in range(8)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert failures == []
        assert sorted(taken) == [f"LC-{year}-{n:04d}" for n in range(1, 9)]
    finally:
        with Session(engine) as session:
            session.execute(delete(ConsentReferenceCounter).where(ConsentReferenceCounter.year == year))
            session.commit()
        engine.dispose()


# --- the consent letter -------------------------------------------------------------------------


def test_the_requester_opens_and_prints_the_consent_letter(
    app: Flask,
    staff: User,
    make_consent: Callable[..., LogoConsent],
    browser_as: Callable[..., Browser],
) -> None:
    consent = make_consent(
        "approved_with_conditions", requester=staff, partner_involved=True, partner_name="Example Maternity Voices"
    )
    browser = browser_as(user=staff)
    detail = browser.get(f"/consents/{consent.reference}")
    assert "Open the consent letter" in words(detail)
    assert f"/consents/{consent.reference}/letter.pdf" in detail.get_data(as_text=True)
    letter = browser.get(f"/consents/{consent.reference}/letter")
    body = letter.get_data(as_text=True)
    text = words(letter)
    assert letter.status_code == 200
    assert 'class="app-letter-page' in body  # the print stylesheet hides the page furniture
    assert "js/consent-letter.js" in body and "Print this letter" in text
    assert "Consent to use the NHS lozenge" in text and consent.reference in text
    assert CONDITIONS in text and "Example Maternity Voices" in text
    assert "To: Sam Requester, Maternity" in text
    assert f"This consent expires on {consent.expires_on.day} {consent.expires_on:%B %Y}" in text  # type: ignore[union-attr]
    assert consent.decided_by.name in text  # type: ignore[union-attr]
    assert "clause 6.8" in text and "gives its consent for the NHS lozenge to be used" in text


def test_the_letter_as_a_pdf(
    app: Flask,
    staff: User,
    make_consent: Callable[..., LogoConsent],
    browser_as: Callable[..., Browser],
) -> None:
    consent = make_consent("approved", requester=staff, title="Café “Bump” posters – spring")
    response = browser_as(user=staff).get(f"/consents/{consent.request_reference}/letter.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{consent.reference}.pdf"'
    assert response.data.startswith(b"%PDF-")
    assert f"/Title (Consent to use the NHS lozenge {consent.reference})".encode() in response.data
    assert b"/Type /Page" in response.data


def test_no_pdf_without_the_optional_dependency(
    app: Flask,
    staff: User,
    make_consent: Callable[..., LogoConsent],
    browser_as: Callable[..., Browser],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Where fpdf2 cannot be imported the PDF link is not offered and the address explains itself."""
    consent = make_consent("approved", requester=staff)
    monkeypatch.setitem(sys.modules, "fpdf", None)  # makes `import fpdf` fail, as on a server without it
    browser = browser_as(user=staff)
    assert "letter.pdf" not in browser.get(f"/consents/{consent.request_reference}").get_data(as_text=True)
    assert "letter.pdf" not in browser.get(f"/consents/{consent.request_reference}/letter").get_data(as_text=True)
    response = browser.get(f"/consents/{consent.request_reference}/letter.pdf")
    assert response.status_code == 404
    assert "PDF consent letters are not available on this server. Open the letter and print it instead." in words(
        response
    )


def test_there_is_no_letter_before_approval(
    app: Flask,
    staff: User,
    make_consent: Callable[..., LogoConsent],
    browser_as: Callable[..., Browser],
) -> None:
    consent = make_consent("submitted", requester=staff)
    response = browser_as(user=staff).get(f"/consents/{consent.request_reference}/letter")
    assert response.status_code == 404
    assert "a consent letter exists only once the request is approved" in words(response)


# --- the checklist ------------------------------------------------------------------------------


def test_the_migration_seeds_the_nhs_identity_checklist(app: Flask) -> None:
    texts = [item.text for item in services.active_checklist()]
    assert len(texts) == 5
    for words_ in ("unaltered", "#005EB8", "clear space", "only once", "No new logo"):
        assert any(words_ in text for text in texts), words_


def test_comms_add_reword_and_retire_checklist_items(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_consent: Callable[..., LogoConsent],
) -> None:
    """Each change is audited; decisions keep the wording they were made against."""
    decided = make_consent("approved")
    comms = browser_as("comms")
    page = comms.get("/consents/checklist")
    assert page.status_code == 200 and "NHS identity checklist" in words(page)
    first = services.active_checklist()[0]

    added = comms.post("/consents/checklist", {"text": "Photographs of patients have signed consent forms."})
    assert added.status_code == 302
    new_item = services.active_checklist()[-1]
    assert new_item.text == "Photographs of patients have signed consent forms."

    reworded = comms.post(f"/consents/checklist/{first.id}", {f"item-{first.id}-text": "The lozenge is not altered."})
    assert reworded.status_code == 302
    db.session().refresh(first)
    assert first.text == "The lozenge is not altered."
    kept = (
        db.session()
        .execute(select(LogoConsentCheck.item_text).where(LogoConsentCheck.item_id == first.id))
        .scalars()
        .all()
    )
    assert kept and all(text != "The lozenge is not altered." for text in kept)

    retired = comms.post(f"/consents/checklist/{new_item.id}/retire")
    assert retired.status_code == 302
    assert new_item.id not in all_items()
    assert "Photographs of patients" in words(comms.get("/consents/checklist"))  # listed as retired
    changes = (
        db.session()
        .execute(
            select(AuditEvent.details).where(AuditEvent.action == "consent:checklist_change").order_by(AuditEvent.seq)
        )
        .scalars()
        .all()
    )
    assert [json.loads(d)["change"] for d in changes] == ["add", "reword", "retire"]
    again = comms.post(f"/consents/checklist/{new_item.id}/retire")
    assert again.status_code == 409 and "This item is already retired." in words(again)
    empty = comms.post("/consents/checklist", {"text": "  "})
    assert empty.status_code == 422 and "Enter what the artwork must meet" in words(empty)
    # A retired item is no longer offered with a decision.
    undecided = make_consent()
    assert "Photographs of patients" not in words(comms.get(f"/consents/{undecided.request_reference}"))
    assert decided.status == "approved"


def test_the_last_checklist_item_cannot_be_retired(app: Flask, comms: User) -> None:
    items = services.active_checklist()
    for item in items[:-1]:
        services.retire_checklist_item(item, comms)
    with pytest.raises(Conflict, match="Keep at least one item on the checklist"):
        services.retire_checklist_item(items[-1], comms)


def test_only_comms_change_the_checklist(app: Flask, browser_as: Callable[..., Browser]) -> None:
    item = services.active_checklist()[0]
    staff = browser_as("staff")
    assert staff.get("/consents/checklist").status_code == 403
    assert staff.post(f"/consents/checklist/{item.id}/retire").status_code == 403
    db.session().refresh(item)
    assert item.is_active
    with pytest.raises(NotPermitted):
        services.add_checklist_item("Anything", staff.user)  # type: ignore[attr-defined]


# --- the register -------------------------------------------------------------------------------


@pytest.fixture
def register(
    app: Flask, make_user: Callable[..., User], make_consent: Callable[..., LogoConsent]
) -> dict[str, LogoConsent]:
    today = clock.today()
    jo = make_user("staff", name="Jo Bloggs", email="jo.bloggs@example.nhs.uk")
    return {
        "leaflet": make_consent("approved", requester=jo, title="Leaflet", asset="nhs_lozenge", media=("print",)),
        "banner": make_consent("submitted", title="Web banner", asset="trust_logo", media=("web", "social_media")),
        "mug": make_consent(
            "approved_with_conditions",
            title="Staff mugs",
            asset="both",
            media=("merchandise",),
            department="Charity",
            starts_on=today,
            ends_on=today + dt.timedelta(days=20),
        ),
        "video": make_consent(
            "rejected",
            title="Recruitment video",
            asset="nhs_lozenge",
            media=("video",),
            partner_involved=True,
            partner_name="Bright Agency Ltd",
        ),
    }


def _listed(browser: Browser, query: str) -> set[str]:
    text = browser.get(f"/consents?{query}").get_data(as_text=True)
    return set(re.findall(r">(LCR-\d+|LC-\d{4}-\d+)</a>", text))


def test_the_register_searches_and_filters(
    app: Flask,
    browser_as: Callable[..., Browser],
    register: dict[str, LogoConsent],
) -> None:
    comms = browser_as("comms")
    ref = {name: c.shown_reference for name, c in register.items()}
    assert _listed(comms, "") == set(ref.values())
    assert _listed(comms, "status=approved") == {ref["leaflet"]}
    assert _listed(comms, "status=submitted") == {ref["banner"]}
    assert _listed(comms, "asset=nhs_lozenge") == {ref["leaflet"], ref["mug"], ref["video"]}  # "both" counts
    assert _listed(comms, "asset=both") == {ref["mug"]}
    assert _listed(comms, "medium=social_media") == {ref["banner"]}
    assert _listed(comms, "expiring_soon=true") == {ref["mug"]}
    assert _listed(comms, "q=jo+bloggs") == {ref["leaflet"]}
    assert _listed(comms, "q=bright+agency") == {ref["video"]}
    assert _listed(comms, "q=charity") == {ref["mug"]}
    assert _listed(comms, f"q={register['leaflet'].reference}") == {ref["leaflet"]}
    assert _listed(comms, f"q={ref['banner'].lower()}") == {ref["banner"]}
    assert _listed(comms, "q=100%25") == set()
    assert comms.get("/consents?status=nonsense&asset=x&per_page=abc").status_code == 200


def test_the_register_downloads_as_csv_and_the_download_is_audited(
    app: Flask,
    browser_as: Callable[..., Browser],
    register: dict[str, LogoConsent],
) -> None:
    comms = browser_as("comms")
    response = comms.get("/consents/export.csv?asset=nhs_lozenge")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    lines = response.get_data(as_text=True).strip().split("\r\n")
    assert lines[0].startswith("request_reference,consent_reference,status,title")
    assert len(lines) == 4
    assert any(register["mug"].reference in line and "approved_with_conditions" in line for line in lines)
    event = db.session().execute(select(AuditEvent).where(AuditEvent.action == "consent:export")).scalar_one()
    assert json.loads(event.details) == {"filters": {"asset": "nhs_lozenge"}, "rows": 3}
    assert browser_as("auditor").get("/consents/export.csv").status_code == 200
    assert browser_as("staff").get("/consents/export.csv").status_code == 403


def test_the_csv_is_safe_in_a_spreadsheet(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_consent: Callable[..., LogoConsent],
) -> None:
    make_consent(title='=HYPERLINK("http://evil.example")')
    text = browser_as("comms").get("/consents/export.csv").get_data(as_text=True)
    assert "'=HYPERLINK" in text


def _seed(n: int, requesters: list[User], comms: User) -> None:
    today = clock.today()
    for i in range(n):
        consent = services.request_consent(
            answers(
                title=f"Item {i}",
                media=("print", "web", "video")[: 1 + i % 3],
                starts_on=today,
                ends_on=today + dt.timedelta(days=10 + i),
            ),
            [artwork()],
            requesters[i % len(requesters)],
        )
        if i % 3 == 0:
            services.decide(consent, "approve", comms, checked=all_items())
    db.session().commit()


def test_register_pages_run_the_same_statements_for_10_and_60_requests(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_user: Callable[..., User],
    count_queries: Callable[[], Any],
    api_token: Callable[[User], dict[str, str]],
) -> None:
    """The register, its CSV, the API list and the work items cost a fixed number of statements."""
    decider = make_user("comms")
    requesters = [make_user("staff") for _ in range(4)]
    browser = browser_as("comms")
    headers = api_token(browser.user)  # type: ignore[attr-defined]
    paths = (
        "/consents?per_page=100",
        "/consents?per_page=100&status=approved&medium=print",
        "/consents/export.csv",
        "/api/v1/consents?per_page=100",
    )

    def statements() -> dict[str, int]:
        counts = {}
        for path in paths:
            get = (
                (lambda p=path: browser.client.get(p, headers=headers))
                if path.startswith("/api/")
                else (lambda p=path: browser.get(p))
            )
            assert get().status_code == 200, path
            with count_queries() as counted:
                assert get().status_code == 200, path
            counts[path] = counted.n
        for name, work in (
            ("comms", KIND.work_items_for_comms),
            ("mine", lambda: KIND.work_items_of(requesters[0])),
            ("expiring", lambda: services.expiring_between(clock.today(), clock.today() + dt.timedelta(days=365))),
        ):
            db.session().expire_all()
            with count_queries() as counted:
                work()
            counts[name] = counted.n
        return counts

    _seed(10, requesters, decider)
    small = statements()
    _seed(50, requesters, decider)
    large = statements()
    assert browser.client.get("/api/v1/consents?per_page=100", headers=headers).get_json()["total"] == 60
    assert large == small


# --- work items ---------------------------------------------------------------------------------


def test_work_items_for_comms_and_for_the_requester(
    app: Flask,
    staff: User,
    make_consent: Callable[..., LogoConsent],
) -> None:
    waiting = make_consent(requester=staff)
    changes = make_consent("changes_requested", requester=staff)
    make_consent("approved", requester=staff)
    [item] = [i for i in KIND.work_items_for_comms() if i.reference == waiting.request_reference]
    assert item.kind == "Logo consent" and item.url == f"/consents/{waiting.request_reference}"
    assert item.requester == staff.name and item.status_label == "Awaiting decision"
    assert changes.request_reference not in {i.reference for i in KIND.work_items_for_comms()}
    mine = {i.reference: i for i in KIND.work_items_of(staff)}
    assert set(mine) == {waiting.request_reference, changes.request_reference}
    assert mine[changes.request_reference].needs_you and not mine[waiting.request_reference].needs_you


# --- the API ------------------------------------------------------------------------------------


def _api_body(**changes: Any) -> dict[str, Any]:
    start = clock.today() + dt.timedelta(days=3)
    body: dict[str, Any] = {
        "title": "Screen saver",
        "department": "Estates",
        "asset": "trust_logo",
        "purpose": "Car park notices.",
        "media": ["signage", "web"],
        "audience": "Visitors",
        "partner_involved": False,
        "starts_on": start.isoformat(),
        "ends_on": (start + dt.timedelta(days=30)).isoformat(),
        "artwork": [{"filename": "screen.png", "content_base64": base64.b64encode(png()).decode()}],
    }
    body.update(changes)
    return body


def test_the_api_asks_decides_and_reads(
    app: Flask,
    make_user: Callable[..., User],
    api_token: Callable[[User], dict[str, str]],
) -> None:
    client = app.test_client()
    staff, comms = make_user("staff"), make_user("comms")
    mine, theirs = api_token(staff), api_token(comms)
    created = client.post("/api/v1/consents", json=_api_body(), headers=mine)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    ref = body["request_reference"]
    assert created.headers["Location"] == f"/api/v1/consents/{ref}"
    assert body["status"] == "submitted" and body["reference"] is None and body["media"] == ["web", "signage"]
    assert body["artwork"][0]["content_type"] == "image/png" and body["artwork"][0]["current"] is True
    assert body["links"]["letter"] is None

    checklist = client.get("/api/v1/consent-checklist", headers=theirs).get_json()["items"]
    ids = [item["id"] for item in checklist if item["active"]]
    decided = client.post(
        f"/api/v1/consents/{ref}/transitions",
        headers=theirs,
        json={
            "action": "approve_with_conditions",
            "conditions": CONDITIONS,
            "checked": ids[:2],
        },
    )
    assert decided.status_code == 200, decided.get_json()
    shown = decided.get_json()
    assert shown["status"] == "approved_with_conditions" and REFERENCE.match(shown["reference"])
    assert shown["expires_on"] == shown["ends_on"] and shown["conditions"] == CONDITIONS
    assert [c["checked"] for c in shown["checklist"]] == [True, True, False, False, False]
    assert shown["links"]["letter"] == f"/consents/{ref}/letter"
    assert [step["action"] for step in shown["history"]] == ["submit", "approve_with_conditions"]

    by_consent_reference = client.get(f"/api/v1/consents/{shown['reference']}", headers=mine).get_json()
    assert by_consent_reference["request_reference"] == ref
    file = client.get(shown["artwork"][0]["url"], headers=mine)
    assert file.status_code == 200 and file.mimetype == "image/png"
    listed = client.get("/api/v1/consents?status=approved_with_conditions&asset=trust_logo", headers=mine).get_json()
    assert [item["request_reference"] for item in listed["items"]] == [ref]
    assert "history" not in listed["items"][0]


def test_api_refusals_are_problems_naming_each_field(
    app: Flask,
    make_user: Callable[..., User],
    api_token: Callable[[User], dict[str, str]],
) -> None:
    client = app.test_client()
    headers = api_token(make_user("staff"))
    before = (count(LogoConsent), count(Upload))
    cases = [
        (_api_body(artwork=[]), "artwork", services.REQUIRED_MESSAGES["artwork"]),
        (_api_body(artwork=None), "artwork", services.REQUIRED_MESSAGES["artwork"]),
        (
            _api_body(artwork=[{"filename": "a.png", "content_base64": "not base64!"}]),
            "artwork",
            "a.png: content_base64 is not valid base64.",
        ),
        (
            _api_body(artwork=[{"filename": "page.png", "content_base64": base64.b64encode(b"<html>").decode()}]),
            "artwork",
            "page.png:",
        ),
        (_api_body(media="print"), "media", "media must be a list of text"),
        (_api_body(partner_involved="yes"), "partner_involved", "partner_involved must be true or false."),
        (_api_body(starts_on="next week"), "starts_on", "starts_on must be a date like 2027-03-31."),
        (_api_body(title=""), "title", "Enter the name of the item or campaign"),
        (_api_body(partner_involved=True), "partner_name", "Enter the name of the partner organisation"),
    ]
    for body, field, message in cases:
        response = client.post("/api/v1/consents", json=body, headers=headers)
        assert response.status_code == 422, (field, response.get_json())
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["errors"][field].startswith(message), response.get_json()
    bad_filter = client.get("/api/v1/consents?status=lost&medium=radio", headers=headers)
    assert bad_filter.status_code == 422 and set(bad_filter.get_json()["errors"]) == {"status", "medium"}
    assert client.post("/api/v1/consents", data="nope", headers=headers).status_code == 400
    assert client.get("/api/v1/consents/LCR-99999", headers=headers).status_code == 404
    assert (count(LogoConsent), count(Upload)) == before


def test_the_api_takes_files_up_to_the_upload_limit_despite_base64(
    app: Flask,
    make_user: Callable[..., User],
    api_token: Callable[[User], dict[str, str]],
) -> None:
    """Base64 makes a file a third larger; the artwork routes allow for that, so "10 MB" means the same
    in the API as in the browser: a file of exactly the limit is taken, one byte more is refused
    by name, and a body beyond 4/3 of the limit plus the allowance gets 413 saying the limit."""
    from registry.api.support import body_limit

    client = app.test_client()
    headers = api_token(make_user("staff"))
    limit = app.extensions["registry.settings"].max_upload_bytes
    assert limit == 10 * 1024 * 1024

    def sending(data: bytes) -> dict[str, Any]:
        return _api_body(artwork=[{"filename": "print-ready.pdf", "content_base64": base64.b64encode(data).decode()}])

    full = sending(pdf_of_size(limit))
    assert len(json.dumps(full)) > app.config["MAX_CONTENT_LENGTH"]  # the browser's limit would refuse it
    created = client.post("/api/v1/consents", json=full, headers=headers)
    assert created.status_code == 201, created.get_json()
    # Stored as qpdf writes it again (its page's padding compressed): the whole page is kept.
    stored = uploads.read_bytes(db.session().get(Upload, created.get_json()["artwork"][0]["id"]))
    with pikepdf.open(io.BytesIO(stored)) as copy:
        assert len(copy.pages[0].Contents.read_bytes()) > limit - 1024

    over = client.post("/api/v1/consents", json=sending(pdf_of_size(limit + 1)), headers=headers)
    assert over.status_code == 422
    assert over.get_json()["errors"]["artwork"] == (
        "print-ready.pdf: the file is too big. Each file must be 10 MB or smaller."
    )

    too_big = client.post(
        "/api/v1/consents", data=b" " * (body_limit(limit) + 1), headers=headers, content_type="application/json"
    )
    assert too_big.status_code == 413 and too_big.mimetype == "application/problem+json"
    assert too_big.get_json()["detail"].startswith("Each file must be 10 MB or smaller.")
    assert (
        client.post(
            "/api/v1/consents", data=b" " * body_limit(limit), headers=headers, content_type="application/json"
        ).status_code
        == 400
    )  # within the limit: read, not JSON

    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/api/v1/consents", "/api/v1/consents/{reference}/resubmission"):
        assert "4/3 of the upload size limit plus 512 KB" in paths[path]["post"]["responses"]["413"]["description"]


def test_api_withdraw_and_resubmit(
    app: Flask,
    make_user: Callable[..., User],
    api_token: Callable[[User], dict[str, str]],
) -> None:
    client = app.test_client()
    staff, comms = make_user("staff"), make_user("comms")
    mine, theirs = api_token(staff), api_token(comms)
    ref = client.post("/api/v1/consents", json=_api_body(), headers=mine).get_json()["request_reference"]
    asked = client.post(
        f"/api/v1/consents/{ref}/transitions",
        headers=theirs,
        json={"action": "request_changes", "note": "Add the date to the artwork."},
    )
    assert asked.get_json()["status"] == "changes_requested"
    [old] = asked.get_json()["artwork"]
    assert (
        client.post(f"/api/v1/consents/{ref}/transitions", json={"action": "withdraw"}, headers=theirs).status_code
        == 403
    )
    resubmitted = client.post(
        f"/api/v1/consents/{ref}/resubmission",
        headers=mine,
        json={
            "title": "Screen saver with dates",
            "remove_artwork": [old["id"]],
            "artwork": [{"filename": "screen-v2.png", "content_base64": base64.b64encode(png((0, 48, 135))).decode()}],
            "note": "Dates added.",
        },
    )
    assert resubmitted.status_code == 200, resubmitted.get_json()
    body = resubmitted.get_json()
    assert body["status"] == "submitted" and body["title"] == "Screen saver with dates"
    assert body["department"] == "Estates"  # not given: kept
    assert [(a["name"], a["current"]) for a in body["artwork"]] == [("screen-v2.png", True), ("screen.png", False)]
    again = client.post(f"/api/v1/consents/{ref}/resubmission", json={}, headers=mine)
    assert again.status_code == 409
    withdrawn = client.post(
        f"/api/v1/consents/{ref}/transitions", json={"action": "withdraw", "note": "Plans changed."}, headers=mine
    )
    assert withdrawn.status_code == 200 and withdrawn.get_json()["status"] == "withdrawn"
    assert (
        client.post(f"/api/v1/consents/{ref}/transitions", json={"action": "withdraw"}, headers=mine).status_code == 409
    )
    assert (
        client.post(f"/api/v1/consents/{ref}/transitions", json={"action": "approve"}, headers=mine).status_code == 403
    )


def test_get_consent_by_an_unknown_or_malformed_reference(app: Flask, comms: User) -> None:
    for reference in ("LCR-0", "LC-2026-9999", "CH-0001", "", "LCR-12345678901"):
        with pytest.raises(NotFound, match="There is no logo consent"):
            services.get_consent(reference)


def test_artwork_rows_are_kept_with_their_upload(app: Flask, make_consent: Callable[..., LogoConsent]) -> None:
    consent = make_consent()
    rows = (
        db.session()
        .execute(select(LogoConsentArtwork).where(LogoConsentArtwork.consent_id == consent.id))
        .scalars()
        .all()
    )
    assert len(rows) == 1 and rows[0].upload.sha256 and len(rows[0].upload.sha256) == 64
    assert db.session().get(ConsentChecklistItem, all_items()[0]) is not None


def test_the_demo_consents_cover_every_state(app: Flask, make_user: Callable[..., User]) -> None:
    from registry.consent.demo import seed_demo

    made = seed_demo([make_user("staff"), make_user("manager")], [make_user("comms"), make_user("comms")])
    today = clock.today()
    assert sorted(c.shown_status(today) for c in made) == sorted(
        [
            "submitted",
            "approved_with_conditions",
            "approved",
            "approved",
            "changes_requested",
            "rejected",
            "expired",
        ]
    )
    assert len(services.expiring_between(today, today + dt.timedelta(days=30))) >= 1


def test_comms_are_offered_only_the_decisions_the_state_allows(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_consent: Callable[..., LogoConsent],
) -> None:
    """While the requester makes changes comms may only reject; once decided, nothing is offered."""
    comms = browser_as("comms")
    waiting = comms.get(f"/consents/{make_consent('changes_requested').request_reference}")
    body = waiting.get_data(as_text=True)
    assert 'value="reject"' in body and 'value="approve"' not in body and 'value="request_changes"' not in body
    decided = words(comms.get(f"/consents/{make_consent('approved').request_reference}"))
    assert "Check the artwork and decide" not in decided


def test_an_api_filename_that_is_not_text_is_refused(
    app: Flask,
    make_user: Callable[..., User],
    api_token: Callable[[User], dict[str, str]],
) -> None:
    body = json.dumps(_api_body(artwork=[{"filename": "x", "content_base64": base64.b64encode(png()).decode()}]))
    body = body.replace('"filename": "x"', '"filename": "\\ud800.png"')
    response = app.test_client().post(
        "/api/v1/consents", data=body, content_type="application/json", headers=api_token(make_user("staff"))
    )
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"artwork": "File 1: the filename is not valid text."}
