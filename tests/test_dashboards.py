"""The home page per role (registry/web/dashboard.py): what needs each person now, only what their
roles let them see, and a fixed number of statements however much data there is."""

from __future__ import annotations

import datetime as dt
import html
import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import delete, select, text, update
from sqlalchemy.engine import Connection
from werkzeug.datastructures import FileStorage

from registry import clock, db
from registry.audit.models import AuditAction, AuditEvent
from registry.audit.services import Actor, record, verify_chain
from registry.auth.models import User, UserRole
from registry.breaches import services as breaches
from registry.breaches.clauses import breachable
from registry.breaches.models import BreachReport
from registry.channels.models import Channel
from registry.consent import services as consents
from registry.consent.models import LogoConsent
from registry.media import services as media
from registry.media.models import MediaContact
from registry.monitoring import services as monitoring
from registry.monitoring.models import UnauthorisedAccount
from registry.vault import services as custody
from registry.vault.models import Credential
from registry.web import dashboard
from tests.conftest import Browser, sign_in

TODAY = clock.today()


@pytest.fixture(autouse=True)
def _dates_as_this_test_starts() -> None:
    """A run can cross midnight: each test takes the date when it starts, not when the module loaded."""
    global TODAY
    TODAY = clock.today()


def words(response: Any) -> str:
    """The text of the page's main content (not the navigation), as one line."""
    assert response.status_code == 200
    main = response.get_data(as_text=True).split("<main", 1)[1].split("</main>", 1)[0]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", "<main" + main)).split())


def refs(page: str) -> list[str]:
    """Channel references in the order the page mentions them."""
    return re.findall(r"CH-\d{4,}", page)


def backdate(channel: Channel, days: int) -> None:
    """As if the channel had been waiting in its state for ``days`` days."""
    db.session().execute(
        update(Channel).where(Channel.id == channel.id).values(status_changed_at=db.utcnow() - dt.timedelta(days=days))
    )
    db.session().commit()


def review_in(channel: Channel, days: int) -> None:
    db.session().execute(
        update(Channel).where(Channel.id == channel.id).values(next_review_on=TODAY + dt.timedelta(days=days))
    )
    db.session().commit()


def approved_consent(requester: User, decider: User, *, expires_in: int, title: str = "Ward leaflet") -> LogoConsent:
    """A logo consent approved until ``expires_in`` days from today."""
    buffer = io.BytesIO()
    Image.new("RGB", (24, 16), (0, 94, 184)).save(buffer, "PNG")
    consent = consents.request_consent(
        consents.ConsentRequest(
            title=title,
            department="Maternity",
            asset="nhs_lozenge",
            purpose="Classes.",
            media=("print",),
            audience="Parents",
            partner_involved=False,
            starts_on=TODAY + dt.timedelta(days=1),
            ends_on=TODAY + dt.timedelta(days=2),
        ),
        [FileStorage(stream=io.BytesIO(buffer.getvalue()), filename="draft.png")],
        requester,
    )
    consents.decide(
        consent,
        "approve",
        decider,
        note="Fine.",
        expires_on=TODAY + dt.timedelta(days=expires_in),
        checked=[i.id for i in consents.active_checklist()],
    )
    db.session().commit()
    return consent


def approach(reporter: User, n: int = 0) -> MediaContact:
    """A media approach ``reporter`` logs (policy 8.1)."""
    contact = media.log_approach(
        media.Approach(
            platform="x",
            outlet="Local Gazette",
            journalist="Jo Reporter",
            contacted_at=db.utcnow() - dt.timedelta(hours=1),
            enquiry="About the new ward.",
            link=f"https://x.com/gazette/status/{1000 + n}",
            not_responded=True,
        ),
        [],
        reporter,
    )
    db.session().commit()
    return contact


def breach_about(subject: User, reporter: User, *, risk: bool = False) -> BreachReport:
    """``reporter`` reports a suspected breach by ``subject`` (policy 9)."""
    report = breaches.report_breach(
        breaches.BreachAnswers(
            account="@someone on X",
            link="https://x.com/someone/status/1",
            description="Posted a photo from the ward.",
            clauses=(breachable()[0].number,),
            reputational_risk=risk,
            subject_kind="user",
            subject_user=subject.email,
        ),
        [],
        reporter,
    )
    db.session().commit()
    return report


# --- staff ------------------------------------------------------------------------------------------


def test_staff_see_their_own_open_requests_those_waiting_for_them_first(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_channel: Callable[..., Channel],
    make_user: Callable[..., User],
) -> None:
    browser = browser_as("staff")
    me = browser.user  # type: ignore[attr-defined]
    older = make_channel("requested", requester=me)
    backdate(older, 9)
    mine_to_fix = make_channel("info_requested", requester=me)
    live = make_channel("active", requester=me)
    someone_elses = make_channel("requested", requester=make_user("staff"))

    page = words(browser.get("/"))

    assert "1 of your requests is waiting for you" in page
    own = page.split("Your requests and cases", 1)[1]
    assert refs(own) == [mine_to_fix.reference, older.reference]  # a live channel is no longer a request
    assert "Waiting for you" in own and "More information needed" in own
    assert live.reference not in page and someone_elses.reference not in page


def test_staff_see_the_media_approaches_they_logged_and_comms_those_waiting(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_user: Callable[..., User],
) -> None:
    browser = browser_as("staff")
    mine = approach(browser.user)  # type: ignore[attr-defined]
    theirs = approach(make_user("staff"), 1)

    page = words(browser.get("/"))
    own = page.split("Your requests and cases", 1)[1]
    assert f"{mine.reference} Jo Reporter" in own and "do not respond yet" in own
    assert theirs.reference not in page and "media contact" not in page

    comms = words(browser_as("comms").get("/"))
    assert "2 media contacts waiting on you" in comms
    assert mine.reference in comms and theirs.reference in comms
    assert "media contacts waiting" not in words(browser_as("auditor").get("/"))


def test_staff_see_nothing_beyond_their_own(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_channel: Callable[..., Channel],
    make_user: Callable[..., User],
) -> None:
    """No queue, no inventory figures, no audit chain, no user figures, no findings."""
    make_channel("requested")
    monitoring.record_finding(
        platform="", url="https://x.com/FakeTrustStaff", evidence="Imitation.", found_on=None, actor=make_user("comms")
    )
    db.session().commit()
    for role in ("staff", "manager", "hr"):
        page = words(browser_as(role).get("/"))
        for hidden in (
            "waiting on you",
            "Inventory health",
            "credentials to rotate",
            "unauthorised account",
            "Chain intact",
            "events recorded",
            "dormant",
            "two-factor",
            "Manage users",
        ):
            assert hidden not in page, (role, hidden)
        assert "You have no open requests or cases." in page


@pytest.mark.parametrize("role", ["comms", "admin", "hr"])
def test_without_the_second_factor_the_page_is_everyday_only(
    app: Flask,
    make_user: Callable[..., User],
    make_channel: Callable[..., Channel],
    role: str,
) -> None:
    """Someone whose role needs two-factor sign-in, signed in with a password only, sees what staff see."""
    make_channel("requested")
    person = make_user(role, two_factor=False)
    client = app.test_client()
    sign_in(client, person)
    page = words(client.get("/"))
    assert "Your requests and cases" in page
    for hidden in (
        "What needs you now",
        "waiting on you",
        "reports waiting for you",
        "Inventory health",
        "Chain intact",
        "dormant",
        "must set up two-factor",
    ):
        assert hidden not in page, hidden


# --- breach cases ---------------------------------------------------------------------------------------


def test_breach_cases_show_only_to_whoever_must_act_on_them(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_user: Callable[..., User],
) -> None:
    """The assigned manager sees the case; another manager, the person it is about, HR (until it is
    escalated), comms (unless it is flagged) and auditors get no count of it. The reporter sees their
    own report, with no detail."""
    manager, other_manager = browser_as("manager"), browser_as("manager")
    subject = browser_as("staff")
    subject.user.line_manager_id = manager.user.id  # type: ignore[attr-defined]
    reporter = browser_as("staff")
    db.session().commit()
    report = breach_about(subject.user, reporter.user)  # type: ignore[attr-defined]
    hr, comms, auditor = browser_as("hr"), browser_as("comms"), browser_as("auditor")

    page = words(manager.get("/"))
    assert "1 breach report waiting for you" in page
    assert f"{report.reference} Suspected breach of policy" in page and "Resolve it or escalate it to HR" in page
    for handler in (other_manager, hr, comms):  # their own (empty) list, nothing of this case
        page = words(handler.get("/"))
        assert "0 breach reports waiting for you" in page and report.reference not in page
    for someone in (subject, auditor):
        assert "breach report" not in words(someone.get("/")).lower()
    own = words(reporter.get("/")).split("Your requests and cases", 1)[1]
    assert f"{report.reference} Your breach report" in own
    assert "photo" not in own.lower() and "Waiting for you" not in own

    breaches.take(report, "escalate", manager.user, note="Needs HR.")  # type: ignore[attr-defined]
    db.session().commit()
    page = words(hr.get("/"))
    assert "1 breach report waiting for you" in page and f"{report.reference} Suspected breach" in page
    assert "0 breach reports waiting for you" in words(manager.get("/"))
    assert report.reference not in words(comms.get("/"))


def test_comms_see_breach_cases_to_route_and_those_flagged(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_user: Callable[..., User],
) -> None:
    reporter = make_user("staff")
    no_manager = make_user("staff")
    to_route = breach_about(no_manager, reporter)
    managed = make_user("staff")
    managed.line_manager_id = make_user("manager").id
    db.session().commit()
    flagged = breach_about(managed, reporter, risk=True)
    breach_about(managed, reporter)  # the manager's alone

    page = words(browser_as("comms").get("/"))
    assert "1 breach report waiting for you" in page  # the flagged one is for information only
    assert f"{to_route.reference} Suspected breach" in page and "Choose a line manager" in page
    assert f"{flagged.reference} Suspected breach" in page and "Reputational risk" in page


def card_of(page: str, heading: str) -> str:
    """The words of the home page's card whose heading says ``heading``."""
    cards = [card for card in page.split("<li class=") if heading in card]
    assert len(cards) == 1, heading
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", "<li class=" + cards[0])).split())


def test_the_breach_card_counts_every_case_and_lists_the_oldest_few(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_user: Callable[..., User],
) -> None:
    """More cases than the card lists: the counts are of all of them, the three oldest of each list
    are shown, oldest first, and the rest are a link away. A case whose line manager has left waits
    for comms too; one escalated and flagged waits for a person in comms and HR as HR's, not for
    their information."""
    reporter = make_user("staff")
    leaver, manager = make_user("manager"), make_user("manager")
    leavers_report, managed = make_user("staff"), make_user("staff")
    leavers_report.line_manager_id, managed.line_manager_id = leaver.id, manager.id
    db.session().commit()
    left = breach_about(leavers_report, reporter)
    flagged = [breach_about(managed, reporter, risk=True) for _ in range(4)]
    to_route = [breach_about(make_user("staff"), reporter) for _ in range(4)]
    db.session().execute(update(User).where(User.id == leaver.id).values(active=False))
    db.session().commit()

    comms = card_of(browser_as("comms").get("/").get_data(as_text=True), "waiting for you</a>")
    assert "5 breach reports waiting for you" in comms  # four to route, and the one whose manager left
    shown = re.findall(r"BR-\d+", comms)
    assert shown == [left.reference, *(r.reference for r in to_route[:2]), *(r.reference for r in flagged[:3])]
    assert "Its line manager can no longer act on it" in comms and "And 2 more" in comms
    assert "4 open reports are flagged as a reputational risk" in comms and "And 1 more" in comms

    escalated = flagged[0]
    breaches.take(escalated, "escalate", manager, note="Needs HR.")
    db.session().commit()
    both = card_of(browser_as("comms", "hr").get("/").get_data(as_text=True), "waiting for you</a>")
    assert "6 breach reports waiting for you" in both and "3 open reports are flagged" in both
    assert "reputational risk: with hr" not in both.lower()  # asked of them as HR, not shown for information


def test_the_consents_card_counts_those_expiring_and_lists_the_soonest(
    app: Flask, browser_as: Callable[..., Browser], make_user: Callable[..., User]
) -> None:
    """More consents expiring than the card lists: all of them counted (none beyond the 30 days), the
    three soonest listed, soonest first, and the rest a link away."""
    requester, decider = make_user("staff"), make_user("comms")
    for days in (9, 2, 30, 5, 3, 31, 60):
        approved_consent(requester, decider, expires_in=days, title=f"Leaflet {days}")
    card = card_of(browser_as("comms").get("/").get_data(as_text=True), "logo consents expiring in 30 days</a>")
    assert "5 logo consents expiring in 30 days" in card and "And 2 more" in card
    assert re.findall(r"Leaflet \d+", card) == ["Leaflet 2", "Leaflet 3", "Leaflet 5"]


# --- the communications team --------------------------------------------------------------------------


@pytest.fixture
def due(app: Flask, make_channel: Callable[..., Channel], make_user: Callable[..., User]) -> dict[str, Any]:
    """Five requests waiting on comms (the oldest first: 12, 9, 6, 3 and 0 days), two official channels
    whose review is overdue or due in 10 days and one due in 60, a credential past its rotation date and
    one marked required, a logo consent expiring in 10 days and one in 60, and an open finding."""
    comms = make_user("comms")
    waiting = [make_channel("requested") for _ in range(5)]
    for channel, days in zip(waiting, (12, 9, 6, 3, 0), strict=True):
        backdate(channel, days)
    overdue, soon, later = make_channel("active"), make_channel("active"), make_channel("suspended")
    review_in(overdue, -2)
    review_in(soon, 10)
    review_in(later, 60)
    custody.store(overdue, "password", "dashboard secret one", "Taking custody.", comms)
    custody.store(soon, "password", "dashboard secret two", "Taking custody.", comms)
    db.session().execute(
        update(Credential)
        .where(Credential.channel_id == overdue.id)
        .values(rotation_due_on=TODAY - dt.timedelta(days=1))
    )
    custody.mark_rotation_required(custody.credentials_of(soon), "Ann Smith left the agency.", actor=comms)
    staff = make_user("staff")
    expiring = approved_consent(staff, comms, expires_in=10, title="Ward leaflet")
    approved_consent(staff, comms, expires_in=60, title="Annual report")
    monitoring.record_finding(
        platform="", url="https://x.com/FakeTrustDash", evidence="Imitation.", found_on=None, actor=comms
    )
    db.session().commit()
    return {"waiting": waiting, "overdue": overdue, "soon": soon, "later": later, "expiring": expiring}


def test_comms_see_the_queue_oldest_first_and_what_falls_due(
    app: Flask,
    browser_as: Callable[..., Browser],
    due: dict[str, Any],
) -> None:
    page = words(browser_as("comms").get("/"))
    needs = page.split("What needs you now", 1)[1].split("Your requests and cases", 1)[0]

    queue = needs.split("requests waiting on you", 1)[1].split("credentials to rotate", 1)[0]
    assert "5 requests waiting on you" in needs
    assert refs(queue) == [c.reference for c in due["waiting"][: dashboard.SHOWN]]
    assert "Requested, 12 days." in queue and "And 2 more" in queue
    assert "2 credentials to rotate 1 past the rotation date; 1 marked" in needs
    assert "2 channel reviews due in 30 days 1 overdue." in needs
    assert f"{due['overdue'].reference} {due['overdue'].display_name}" in needs
    assert due["later"].reference not in needs
    assert f"1 logo consent expiring in 30 days {due['expiring'].reference} Ward leaflet" in needs
    assert "Annual report" not in needs
    assert "1 unauthorised account still open" in needs


def test_auditors_see_inventory_health_but_no_work_of_their_own(
    app: Flask,
    browser_as: Callable[..., Browser],
    due: dict[str, Any],
) -> None:
    page = words(browser_as("auditor").get("/"))
    assert "What needs you now" not in page and "waiting on you" not in page
    health = page.split("Inventory health", 1)[1]
    assert "Official channels 3 (2 active, 1 suspended)" in health
    assert "Channel reviews 1 overdue ; 2 due within 30 days" in health
    assert "2 credentials to rotate : 1 overdue, 1 required" in health
    assert "Unauthorised accounts 1 still open" in health
    assert "Channels by status" in health


# --- the audit chain ----------------------------------------------------------------------------------


def allow_tampering(connection: Connection) -> None:
    """Remove the append-only protection, as an attacker with the database owner's rights could."""
    if connection.dialect.name == "sqlite":
        connection.execute(text("DROP TRIGGER audit_events_no_update"))
        connection.execute(text("DROP TRIGGER audit_events_no_delete"))
    else:
        connection.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))


def newest_seq(connection: Connection) -> int:
    return connection.execute(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1)).scalar_one()


@pytest.mark.parametrize("role", ["auditor", "comms", "admin"])
def test_the_audit_chain_shows_intact(app: Flask, browser_as: Callable[..., Browser], role: str) -> None:
    page = words(browser_as(role).get("/"))
    assert "Chain intact" in page and "Every one was re-hashed just now" in page
    assert "Check the whole chain now" in page


def test_a_recent_event_changed_shows_the_chain_broken_at_that_event(
    app: Flask,
    browser_as: Callable[..., Browser],
    connection: Connection,
) -> None:
    browser = browser_as("auditor")
    target = newest_seq(connection) - 1
    allow_tampering(connection)
    connection.execute(update(AuditEvent).where(AuditEvent.seq == target).values(actor="Somebody Else"))

    page = words(browser.get("/"))

    assert "Chain intact" not in page
    assert "The audit chain is broken" in page
    assert f"Audit chain broken at event {target}" in page and "the event was changed" in page


def test_events_cut_from_the_end_show_the_chain_broken(
    app: Flask,
    browser_as: Callable[..., Browser],
    connection: Connection,
) -> None:
    browser = browser_as("auditor")
    browser.get("/")  # its sign-in events are in the trail
    allow_tampering(connection)
    connection.execute(delete(AuditEvent).where(AuditEvent.seq > newest_seq(connection) - 2))

    page = words(browser.get("/"))

    assert "The audit chain is broken" in page and "the anchor records" in page


def test_only_the_newest_events_are_checked_on_every_view(
    app: Flask,
    make_channel: Callable[..., Channel],
    connection: Connection,
) -> None:
    """The decision, in a test: a change to an event older than the window is the full check's to find."""
    for _ in range(3):
        make_channel("active")
    total = newest_seq(connection)
    assert total > 10
    assert dashboard.audit_status(newest=5).report.ok
    assert dashboard.audit_status(newest=5).report.checked == 5
    allow_tampering(connection)
    connection.execute(update(AuditEvent).where(AuditEvent.seq == total - 2).values(object_id="CH-9999"))
    connection.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(object_id="CH-9999"))

    recent = dashboard.audit_status(newest=5)
    assert not recent.report.ok and recent.report.broken_seq == total - 2
    assert dashboard.audit_status(newest=2).report.ok  # the window no longer reaches either change
    assert not verify_chain().ok


# --- administrators -----------------------------------------------------------------------------------


def test_admins_see_who_must_set_up_two_factor_and_dormant_accounts(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_user: Callable[..., User],
) -> None:
    browser = browser_as("admin")
    not_enrolled = make_user("comms", name="Casey Noapp", two_factor=False)
    make_user("hr", name="Harper Enrolled")  # enrolled: fine
    make_user("staff", name="Sam Staff", two_factor=False)  # not required to enrol
    old = db.utcnow() - dt.timedelta(days=dashboard.DORMANT_AFTER_DAYS + 5)
    dormant = make_user("staff", name="Dana Dormant")
    dormant.last_login_at = old
    never = make_user("staff", name="Nev Neverused")
    never.created_at = old
    recent = make_user("staff", name="Rita Recent")
    recent.last_login_at = db.utcnow() - dt.timedelta(days=dashboard.DORMANT_AFTER_DAYS - 5)
    left = make_user("staff", name="Lee Leaver")
    left.last_login_at, left.active = old, False
    db.session().commit()

    page = words(browser.get("/"))

    enrol = page.split("must set up two-factor sign-in", 1)[1].split("dormant account", 1)[0]
    assert "1 person must set up two-factor sign-in" in page
    assert "Casey Noapp (Communications team)" in enrol
    assert "Harper" not in enrol and "Sam Staff" not in enrol
    assert "2 dormant accounts" in page
    dormant_part = page.split("dormant accounts", 1)[1].split("Your requests and cases", 1)[0]
    shown = old.astimezone(clock.LONDON)  # the page speaks UK time: late in a UTC evening that is the next day
    assert f"Dana Dormant (Staff): last signed in {shown.day} {shown:%B %Y}" in dormant_part
    assert "Nev Neverused (Staff): never signed in" in dormant_part
    assert "Rita" not in dormant_part and "Lee Leaver" not in dormant_part
    assert f'href="/admin/users/{not_enrolled.id}"' in browser.get("/").get_data(as_text=True)
    assert "1 deactivated users" in page


# --- speed --------------------------------------------------------------------------------------------


def seed(viewers: list[User], start: int, count: int) -> None:
    """``count`` more of everything the home pages count or list: people (half dormant, a third
    comms without two-factor), each with a channel request waiting on comms; for each viewer an
    open request of their own (sent back to them); official channels due for review with credentials to rotate;
    unauthorised accounts; audit events."""
    session = db.session()
    now = db.utcnow()
    people = [
        User(
            email=f"seeded{n}@example.nhs.uk",
            name=f"Seeded {n}",
            role_grants=[UserRole(role="comms" if n % 3 == 0 else "staff")],
            last_login_at=now - dt.timedelta(days=200 if n % 2 else 1),
        )
        for n in range(start, start + count)
    ]
    session.add_all(people)
    session.flush()

    def channel(n: int, requester: User, status: str, kind: str) -> Channel:
        made = Channel(
            platform="x",
            handle=f"dash{kind}{n}",
            display_name=f"Dashboard {kind} {n}",
            url=f"https://x.com/dash{kind}{n}",
            department="Estates",
            purpose="Updates.",
            audience="Patients.",
            sponsor="Director",
            policy_acknowledged_at=now,
            status=status,
            requester_id=requester.id,
            status_changed_at=now - dt.timedelta(days=n % 20),
            next_review_on=TODAY + dt.timedelta(days=n % 40 - 5),
        )
        session.add(made)
        return made

    for offset, person in enumerate(people):
        n = start + offset
        channel(n, person, "requested", "queue")
        for viewer in viewers:
            channel(n, viewer, "info_requested", f"own{viewer.id}x")
        official = channel(n, person, "active", "live")
        session.flush()
        session.add(
            Credential(
                channel_id=official.id,
                kind="password",
                current_version=1,
                rotated_at=now,
                rotation_due_on=TODAY - dt.timedelta(days=n % 3),
                rotation_required=bool(n % 2),
                rotation_reasons_json="[]",
            )
        )
        session.add(
            UnauthorisedAccount(
                platform="instagram",
                handle=f"dashfake{n}",
                url=f"https://www.instagram.com/dashfake{n}/",
                evidence="Uses the Trust's name.",
                found_on=TODAY,
                found_by_id=person.id,
                status="unauthorised",
            )
        )
        record(AuditAction.USER_CREATE, "user", person.id, {"n": n}, actor=Actor.of(person))
    session.commit()


ROLES = ("staff", "manager", "hr", "comms", "auditor", "admin")


def cases(viewers: list[User], staff: User) -> None:
    """For each viewer: a breach case they reported, and one about someone they manage (escalated
    to HR when they have a manager of their own), one to route, one flagged."""
    for viewer in viewers:
        managed = User(
            email=f"managed{viewer.id}-{db.utcnow().timestamp()}@example.nhs.uk",
            name="Managed Person",
            role_grants=[UserRole(role="staff")],
            line_manager_id=viewer.id,
        )
        db.session().add(managed)
        db.session().flush()
        breach_about(managed, viewer)
        breach_about(managed, staff, risk=True)
        breach_about(staff, viewer)


def test_every_home_page_runs_the_same_statements_for_a_little_and_a_lot_of_data(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_user: Callable[..., User],
    count_queries: Callable[[], Any],
) -> None:
    browsers = {role: browser_as(role) for role in ROLES}
    viewers = [b.user for b in browsers.values()]  # type: ignore[attr-defined]
    comms = make_user("comms")
    staff = make_user("staff")

    def statements() -> dict[str, int]:
        counts = {}
        for role, browser in browsers.items():
            assert browser.get("/").status_code == 200
            with count_queries() as counted:
                assert browser.get("/").status_code == 200
            counts[role] = counted.n
        return counts

    seed(viewers, 0, 4)
    approved_consent(staff, comms, expires_in=5)
    for n, viewer in enumerate(viewers):
        approach(viewer, n)
    cases(viewers, staff)
    small = statements()
    seed(viewers, 4, 60)
    approved_consent(staff, comms, expires_in=6)
    approved_consent(staff, comms, expires_in=7)
    for n, viewer in enumerate(viewers * 2, start=len(viewers)):
        approach(viewer, n)
    cases(viewers * 2, staff)
    large = statements()

    assert large == small
    page = words(browsers["comms"].get("/"))
    # The work queue counts every kind of request, media approaches included (64 + 18).
    assert "82 requests waiting on you" in page and "3 logo consents expiring in 30 days" in page
    assert "32 dormant accounts" in words(browsers["admin"].get("/"))
    assert "18 media contacts waiting on you" in page
    assert "See all 73 of your requests" in words(browsers["staff"].get("/"))
