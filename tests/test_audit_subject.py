"""Nobody reads a breach case about themselves in the audit trail (issue 9, part 2).

The breach pages answer "not found" to the member of staff a report is about. The audit trail
must not tell them either: not on the page, through the API (``?object=BR-…`` included), in the
CSV export or on their home page. A case's events name who reported it (its ``breach:report``
and the ``upload:store`` of each evidence file, which also carries the file's SHA-256), the
clauses, and every ``breach:view`` (who handles it). The tests sign in as real people and read
the trail as they would, on the real database.

Who reads what:
- an auditor (who may read every case) reads all of a case's events, unless the case is about
  them; the subject still reads every other event, other cases included;
- comms and administrators, who read the trail but not every case, read no case's events and no
  evidence file's events;
- once a case is anonymised, nobody reads its events but ``breach:anonymise`` (the subject can no
  longer be recognised, and the retention period is honoured); ``audit verify`` still checks them.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import cast, literal, select, update
from werkzeug.datastructures import FileStorage

from registry import db
from registry.audit.models import AuditEvent
from registry.audit.services import Actor, case_reference, verify_chain
from registry.auth import managers
from registry.auth.models import User
from registry.breaches import services as breaches
from registry.breaches.models import BreachReport, reference_for
from registry.breaches.services import BreachAnswers, SubjectKind
from registry.errors import Invalid
from tests.conftest import Browser

SEQ_CELL = re.compile(r"<tr [^>]*data-seq=\"(\d+)\"")


# --- helpers ------------------------------------------------------------------------------------


_COLOURS = itertools.count(1)


def png() -> bytes:
    """A screenshot unlike any other in the test, so its SHA-256 names one file."""
    buffer = io.BytesIO()
    Image.new("RGB", (40, 24), (0, 94, next(_COLOURS) % 256)).save(buffer, "PNG")
    return buffer.getvalue()


def report(reporter: User, about: User, *, evidence: int = 1) -> BreachReport:
    """A report by ``reporter`` about ``about``, with ``evidence`` screenshots, committed."""
    made = breaches.report_breach(
        BreachAnswers(
            account="@night_owl on X",
            link="https://x.com/night_owl/status/42",
            description="Posted a photo of the ward whiteboard.",
            clauses=("6.11", "6.13"),
            reputational_risk=False,
            subject_kind=SubjectKind.USER,
            subject_user=about.email,
        ),
        [FileStorage(io.BytesIO(png()), f"evidence-{n}.png", content_type="image/png") for n in range(evidence)],
        reporter,
    )
    db.session().commit()
    return made


def evidence_ids(case: BreachReport) -> list[str]:
    return [str(e.upload_id) for e in breaches.evidence_of(case)]


def events_of(case: BreachReport, evidence: list[str]) -> dict[int, AuditEvent]:
    """Every event that reveals ``case``, read straight from the table: its own events and the
    storing of its evidence files (``evidence`` as taken before anything was anonymised)."""
    found = (
        db.session()
        .execute(
            select(AuditEvent).where(
                ((AuditEvent.object_type == "breach_report") & (AuditEvent.object_id == case.reference))
                | ((AuditEvent.object_type == "upload") & AuditEvent.object_id.in_(evidence or ["-"]))
            )
        )
        .scalars()
    )
    return {event.seq: event for event in found}


def all_seqs() -> set[int]:
    return set(db.session().execute(select(AuditEvent.seq)).scalars())


def api_seqs(client: FlaskClient, headers: dict[str, str], query: str = "") -> set[int]:
    """The sequence numbers the API lists for ``query``, every page of them."""
    seqs: set[int] = set()
    page = 1
    while True:
        response = client.get(f"/api/v1/audit-events?per_page=100&page={page}&{query}", headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        seqs |= {item["seq"] for item in body["items"]}
        if page * 100 >= body["total"]:
            return seqs
        page += 1


def page_seqs(browser: Browser, query: str = "") -> set[int]:
    seqs: set[int] = set()
    page = 1
    while True:
        response = browser.get(f"/audit?per_page=100&page={page}&{query}")
        assert response.status_code == 200
        found = {int(seq) for seq in SEQ_CELL.findall(response.get_data(as_text=True))}
        seqs |= found
        if len(found) < 100:
            return seqs
        page += 1


def csv_rows(browser: Browser, query: str = "") -> list[dict[str, str]]:
    response = browser.get(f"/audit/export.csv?{query}")
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def csv_seqs(browser: Browser, query: str = "") -> set[int]:
    return {int(row["seq"]) for row in csv_rows(browser, query)}


@dataclass
class Scene:
    subject: User  # an auditor a report is about
    reporter: User
    manager: User  # the subject's line manager, who handles the case
    auditor: User  # another auditor
    comms: User
    admin: User
    colleague: User  # staff, the subject of another case
    case: BreachReport  # about the subject, with one evidence file, viewed and flagged by the manager
    other: BreachReport  # about the colleague
    evidence: list[str]  # the case's evidence upload ids
    sha256: str  # of the case's evidence file


@pytest.fixture
def scene(app: Flask, make_user: Callable[..., User]) -> Scene:
    manager = make_user("manager", name="Morgan Manager")
    subject = make_user("auditor", name="Sam Subject")
    colleague = make_user("staff", name="Cal Colleague")
    for person in (subject, colleague):
        managers.set_line_manager(person, manager, actor=Actor.system("tests"))
    db.session().commit()
    reporter = make_user("staff", name="Robin Reporter")
    case = report(reporter, subject)
    breaches.record_view(case, manager)
    breaches.flag(case, manager, note="A journalist has seen it.")
    other = report(make_user("staff", name="Pat Otherreporter"), colleague)
    breaches.record_view(other, manager)
    db.session().commit()
    [evidence] = breaches.evidence_of(case)
    return Scene(
        subject=subject,
        reporter=reporter,
        manager=manager,
        auditor=make_user("auditor", name="Ari Auditor"),
        comms=make_user("comms", name="Kim Comms"),
        admin=make_user("admin", name="Ada Admin"),
        colleague=colleague,
        case=case,
        other=other,
        evidence=[str(evidence.upload_id)],
        sha256=evidence.upload.sha256,
    )


def filters_for(case: BreachReport, evidence: list[str]) -> list[str]:
    """Every way to ask the trail for a case's events by object."""
    return [
        f"object={case.reference}",
        f"object=breach_report:{case.reference}",
        *(f"object=upload:{upload}" for upload in evidence),
    ]


# --- the attack: the subject reads their own case -----------------------------------------------


def test_the_subject_reads_none_of_their_cases_events_through_the_api(
    app: Flask,
    scene: Scene,
    api_token: Callable[[User], dict[str, str]],
) -> None:
    """GET /api/v1/audit-events?object=BR-… answers as if the case had no events at all, and the
    whole trail lists none of them: not the report, its evidence, the views nor the flag."""
    headers, client = api_token(scene.subject), app.test_client()
    revealing = events_of(scene.case, scene.evidence)
    assert {e.action for e in revealing.values()} == {
        "breach:report",
        "upload:store",
        "breach:view",
        "breach:flag",
    }
    for query in filters_for(scene.case, scene.evidence):
        response = client.get(f"/api/v1/audit-events?{query}", headers=headers)
        assert response.status_code == 200
        assert response.get_json()["items"] == [] and response.get_json()["total"] == 0, query
    everything = client.get("/api/v1/audit-events?per_page=100", headers=headers)
    assert everything.get_json()["total"] < 100
    assert scene.sha256 not in everything.get_data(as_text=True)
    assert scene.reporter.id not in {item["actor_id"] for item in everything.get_json()["items"]}
    assert api_seqs(client, headers) & set(revealing) == set()


def test_the_subject_reads_none_of_their_cases_events_on_the_page(
    app: Flask, scene: Scene, browser_as: Callable[..., Browser]
) -> None:
    subject = browser_as(user=scene.subject)
    revealing = set(events_of(scene.case, scene.evidence))
    for query in filters_for(scene.case, scene.evidence):
        assert page_seqs(subject, query) == set(), query
    whole = subject.get("/audit?per_page=100").get_data(as_text=True)
    assert scene.sha256 not in whole and html.escape(scene.reporter.label) not in whole
    assert page_seqs(subject) & revealing == set()


def test_the_subject_exports_none_of_their_cases_events(
    app: Flask, scene: Scene, browser_as: Callable[..., Browser]
) -> None:
    subject = browser_as(user=scene.subject)
    revealing = set(events_of(scene.case, scene.evidence))
    for query in filters_for(scene.case, scene.evidence):
        assert csv_rows(subject, query) == [], query
    rows = csv_rows(subject)
    assert {int(row["seq"]) for row in rows} & revealing == set()
    assert not any(scene.sha256 in row["details"] or row["actor"] == scene.reporter.label for row in rows)


def test_the_subjects_home_page_shows_nothing_of_the_case(
    app: Flask, scene: Scene, browser_as: Callable[..., Browser]
) -> None:
    """The audit card counts and checks the chain but lists no event, so it names nobody: a guard
    for the day it lists recent events (it passes on the code before the fix too)."""
    page = browser_as(user=scene.subject).get("/").get_data(as_text=True)
    assert "Audit trail" in page
    for revealing in (
        scene.case.reference,
        scene.sha256,
        "Robin Reporter",
        "breach:view",
        "breach:report",
    ):
        assert revealing not in page, revealing


def test_the_subject_still_reads_every_other_event(
    app: Flask,
    scene: Scene,
    browser_as: Callable[..., Browser],
    api_token: Callable[[User], dict[str, str]],
) -> None:
    """Only the case about them is withheld: every other event is there, the other case's, their
    own sign-ins and everyone else's."""
    subject = browser_as(user=scene.subject)
    headers = api_token(scene.subject)
    withheld = set(events_of(scene.case, scene.evidence))
    expected = all_seqs() - withheld
    assert api_seqs(app.test_client(), headers) == expected
    assert page_seqs(subject) == expected
    other = events_of(scene.other, evidence_ids(scene.other))
    assert {e.action for e in other.values()} == {
        "breach:report",
        "upload:store",
        "breach:view",
    }
    assert api_seqs(app.test_client(), headers, f"object={scene.other.reference}") == {
        s for s, e in other.items() if e.object_type == "breach_report"
    }
    assert set(other) <= csv_seqs(subject)
    signed_in = (
        db.session()
        .execute(
            select(AuditEvent.seq).where(
                AuditEvent.action == "user:sign_in",
                AuditEvent.actor_id == scene.subject.id,
            )
        )
        .scalars()
        .all()
    )
    assert signed_in and set(signed_in) <= page_seqs(subject)


# --- everyone else ------------------------------------------------------------------------------


def test_another_auditor_reads_every_event_of_the_case(
    app: Flask,
    scene: Scene,
    browser_as: Callable[..., Browser],
    api_token: Callable[[User], dict[str, str]],
) -> None:
    auditor = browser_as(user=scene.auditor)
    revealing = events_of(scene.case, scene.evidence)
    own = {s for s, e in revealing.items() if e.object_type == "breach_report"}
    assert (
        api_seqs(
            app.test_client(),
            api_token(scene.auditor),
            f"object={scene.case.reference}",
        )
        == own
    )
    assert page_seqs(auditor, f"object=breach_report:{scene.case.reference}") == own
    assert csv_seqs(auditor, f"object={scene.case.reference}") == own
    assert page_seqs(auditor, f"object=upload:{scene.evidence[0]}") == set(revealing) - own
    assert set(revealing) <= page_seqs(auditor)
    assert scene.sha256 in auditor.get("/audit?per_page=100").get_data(as_text=True)


@pytest.mark.parametrize("role", ["comms", "admin"])
def test_comms_and_admins_read_no_event_of_any_case_nor_of_its_evidence(
    role: str,
    app: Flask,
    scene: Scene,
    browser_as: Callable[..., Browser],
    api_token: Callable[[User], dict[str, str]],
) -> None:
    """They read the trail but not every case: no case's events, and not the storing of its
    evidence either (it names the reporter and carries the file's hash)."""
    reader: User = getattr(scene, role)
    browser, headers = browser_as(user=reader), api_token(reader)
    revealing = set(events_of(scene.case, scene.evidence)) | set(events_of(scene.other, evidence_ids(scene.other)))
    for seqs in (
        api_seqs(app.test_client(), headers),
        page_seqs(browser),
        csv_seqs(browser),
    ):
        assert seqs and seqs & revealing == set()
    assert scene.sha256 not in browser.get("/audit?per_page=100").get_data(as_text=True)
    assert api_seqs(app.test_client(), headers, f"object=upload:{scene.evidence[0]}") == set()


def test_a_refused_evidence_file_is_read_only_by_auditors(
    app: Flask,
    scene: Scene,
    browser_as: Callable[..., Browser],
) -> None:
    """A refused evidence file still names someone who was reporting a breach: auditors read it
    (a refused file can be an attack), comms and administrators do not."""
    with pytest.raises(Invalid):
        breaches.report_breach(
            BreachAnswers(
                account="@x",
                link="",
                description="Posted it.",
                clauses=("6.11",),
                reputational_risk=False,
                subject_kind=SubjectKind.UNKNOWN,
            ),
            [FileStorage(io.BytesIO(b"<svg></svg>"), "post.svg")],
            scene.reporter,
        )
    db.session().commit()
    [refused] = (
        db.session()
        .execute(
            select(AuditEvent.seq).where(
                AuditEvent.action == "upload:refused",
                AuditEvent.object_id == "evidence",
            )
        )
        .scalars()
        .all()
    )
    assert refused in page_seqs(browser_as(user=scene.auditor), "action=upload")
    for reader in (scene.comms, scene.admin):
        assert refused not in page_seqs(browser_as(user=reader), "action=upload")


# --- an export that names the case --------------------------------------------------------------


def test_an_export_of_the_cases_events_is_not_shown_to_its_subject(
    app: Flask,
    scene: Scene,
    browser_as: Callable[..., Browser],
) -> None:
    """Another auditor exporting the case's events is recorded with the reference they asked for
    (who is looking into it): the subject does not read that, other auditors do."""
    auditor = browser_as(user=scene.auditor)
    assert len(csv_rows(auditor, f"object=breach_report:{scene.case.reference}")) == 3
    assert len(csv_rows(auditor, f"object={scene.other.reference}")) == 2
    exports = dict(
        db.session()
        .execute(select(AuditEvent.seq, AuditEvent.details).where(AuditEvent.action == "audit:export"))
        .all()
    )
    [of_case] = [seq for seq, details in exports.items() if scene.case.reference in details]
    [of_other] = [seq for seq, details in exports.items() if scene.other.reference in details]
    assert {of_case, of_other} <= page_seqs(auditor, "action=audit:export")
    assert page_seqs(browser_as(user=scene.subject), "action=audit:export") == {of_other}


# --- anonymised cases ---------------------------------------------------------------------------


def test_an_anonymised_case_shows_only_its_anonymisation_to_everyone(
    app: Flask,
    scene: Scene,
    browser_as: Callable[..., Browser],
    api_token: Callable[[User], dict[str, str]],
) -> None:
    """Anonymising clears the subject, so the subject can no longer be recognised; the append-only
    trail still names the reporter and the handlers. From then on nobody reads the case's events
    but its anonymisation, the evidence's included; ``audit verify`` still checks every one."""
    breaches.take(
        scene.case,
        "resolve",
        scene.manager,
        note="Talked it through; the post is down.",
    )
    long_ago = db.utcnow() - dt.timedelta(days=7 * 366)
    db.session().execute(update(BreachReport).where(BreachReport.id == scene.case.id).values(closed_at=long_ago))
    db.session().commit()
    before = events_of(scene.case, scene.evidence)
    assert breaches.apply_retention(Actor.system("tests")).anonymised == 1
    db.session().commit()
    revealing = events_of(scene.case, scene.evidence)
    [anonymised] = [s for s, e in revealing.items() if e.action == "breach:anonymise"]
    assert set(revealing) - set(before) == {anonymised}

    for reader in (scene.auditor, scene.subject):
        browser, headers = browser_as(user=reader), api_token(reader)
        assert api_seqs(app.test_client(), headers, f"object={scene.case.reference}") == {anonymised}
        assert page_seqs(browser, f"object=breach_report:{scene.case.reference}") == {anonymised}
        assert page_seqs(browser, f"object=upload:{scene.evidence[0]}") == set()
        assert csv_seqs(browser) & set(before) == set()
        assert scene.sha256 not in browser.get("/audit?per_page=100").get_data(as_text=True)
    # The case still open about the colleague is untouched by the rule.
    assert events_of(scene.other, evidence_ids(scene.other)).keys() <= page_seqs(browser_as(user=scene.auditor))
    for reader in (scene.comms, scene.admin):
        assert page_seqs(browser_as(user=reader), f"object={scene.case.reference}") == set()

    chain = verify_chain()
    assert chain.ok and chain.checked == max(all_seqs())


# --- cost ---------------------------------------------------------------------------------------


def test_the_page_costs_the_same_statements_however_many_cases_are_about_the_reader(
    app: Flask,
    scene: Scene,
    browser_as: Callable[..., Browser],
    count_queries: Callable[[], Any],
) -> None:
    subject = browser_as(user=scene.subject)

    def statements() -> int:
        assert subject.get("/audit?per_page=100").status_code == 200
        with count_queries() as counted:
            assert subject.get("/audit?per_page=100").status_code == 200
        return counted.n

    one = statements()
    for _ in range(4):
        report(scene.reporter, scene.subject, evidence=2)
    assert statements() == one


def test_the_sql_reference_matches_the_reference_shown(app: Flask) -> None:
    """The trail finds a case's events by its reference, worked out in SQL as ``reference_for`` does."""
    numbers = [1, 42, 999, 1000, 9999, 10000, 123456789]
    found = (
        db.session().execute(select(*(case_reference(cast(literal(n), BreachReport.id.type)) for n in numbers))).one()
    )
    assert list(found) == [reference_for(n) for n in numbers]
    assert [reference_for(n) for n in (1, 10000)] == ["BR-0001", "BR-10000"]


# --- totals: counted without reading the trail, withholding exactly what the items do -----------


def listed(client: FlaskClient, headers: dict[str, str], query: str = "") -> tuple[int, set[int]]:
    """The API's total for ``query`` and every event it lists, paging until a page comes back short
    (not trusting the total to say when to stop)."""
    seqs: set[int] = set()
    total: set[int] = set()
    for page in range(1, 1000):
        body = client.get(f"/api/v1/audit-events?per_page=100&page={page}&{query}", headers=headers).get_json()
        total.add(body["total"])
        seqs |= {item["seq"] for item in body["items"]}
        if len(body["items"]) < 100:
            break
    [one] = total
    return one, seqs


def filters_of_the_trail(case: BreachReport) -> list[str]:
    """The queries the totals are checked for: none, and each indexed filter and the actor's text."""
    return [
        "",
        f"object={case.reference}",
        "action=breach:view",
        "action=breach",
        "action=auth:sign_in",
        "since=2000-01-01",
        "until=9000-01-01",
        "actor=manager",
    ]


@pytest.mark.parametrize("anonymised", [False, True])
def test_every_total_counts_exactly_the_events_its_reader_is_shown(
    anonymised: bool,
    app: Flask,
    scene: Scene,
    browser_as: Callable[..., Browser],
    api_token: Callable[[User], dict[str, str]],
) -> None:
    """The total no longer counts the trail, but it counts what the pages list: never an event
    withheld from the reader (nor fewer than they are shown), on the API and on the page, for the
    subject of a case, another auditor, comms and administrators, before and after anonymising."""
    if anonymised:
        breaches.take(scene.case, "resolve", scene.manager, note="Talked it through; the post is down.")
        long_ago = db.utcnow() - dt.timedelta(days=7 * 366)
        db.session().execute(update(BreachReport).where(BreachReport.id == scene.case.id).values(closed_at=long_ago))
        db.session().commit()
        assert breaches.apply_retention(Actor.system("tests")).anonymised == 1
        db.session().commit()
    case_events = set(events_of(scene.case, scene.evidence))
    other_events = set(events_of(scene.other, evidence_ids(scene.other)))
    anonymisation = {s for s, e in events_of(scene.case, scene.evidence).items() if e.action == "breach:anonymise"}
    hidden = {
        scene.subject.id: case_events - anonymisation,
        scene.auditor.id: (case_events - anonymisation) if anonymised else set(),
        scene.comms.id: case_events | other_events,
        scene.admin.id: case_events | other_events,
    }
    for reader in (scene.subject, scene.auditor, scene.comms, scene.admin):
        headers, browser = api_token(reader), browser_as(user=reader)
        trail = all_seqs()  # signing in was audited
        total, seqs = listed(app.test_client(), headers)
        assert seqs == trail - hidden[reader.id] and total == len(seqs), reader.label
        for query in filters_of_the_trail(scene.case):
            total, seqs = listed(app.test_client(), headers, query)
            assert total == len(seqs) and seqs & hidden[reader.id] == set(), (reader.label, query)
            text = browser.get(f"/audit?per_page=100&{query}").get_data(as_text=True)
            shown = f"of {total} " if total else "No "
            assert shown in text, (reader.label, query)
