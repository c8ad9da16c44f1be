"""The audit trail page as a person reads it (issue 15): each event says what happened in words, who did it
by name and role, links to what it was about where the reader may open it, and keeps the codes, hashes and
raw details behind "Technical details". Dates are typed as day, month and year. The CSV and the API keep
the codes (they are tested in test_audit.py and test_api.py, unchanged).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser

from flask import Flask
from sqlalchemy import func, select

from registry import db
from registry.audit.models import AuditAction, AuditEvent
from registry.audit.services import Actor, record
from registry.audit.words import PHRASES, SUBJECTS
from registry.auth.models import User
from registry.breaches import services as breaches
from registry.breaches.services import BreachAnswers, SubjectKind
from registry.channels import services as channels
from registry.channels.models import Channel
from tests.conftest import Browser

HEX64 = re.compile(r"\b[0-9a-f]{64}\b")


@dataclass
class Row:
    seq: int
    cells: list[str] = field(default_factory=list)  # what shows without opening anything
    technical: str = ""  # inside the "Technical details"
    summary: str = ""  # the details component's summary text
    links: list[tuple[str, str]] = field(default_factory=list)  # (text, href) outside the details

    @property
    def shown(self) -> str:
        return " ".join(" ".join(self.cells).split())


class Rows(HTMLParser):
    """The audit table's rows as the page shows them: the text and links of each row, apart from what
    is inside its details component (closed until the reader opens it)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[Row] = []
        self.row: Row | None = None
        self.in_details = self.in_summary = self.in_heading = False
        self.href: str | None = None
        self.link_text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "tr" and found.get("data-seq"):
            self.row = Row(int(found["data-seq"] or 0))
            self.rows.append(self.row)
        elif self.row is None:
            return
        elif tag == "td":
            self.row.cells.append("")
        elif tag == "details":
            self.in_details = True
        elif tag == "summary":
            self.in_summary = True
        elif tag == "span" and "nhsuk-table-responsive__heading" in (found.get("class") or ""):
            self.in_heading = True
        elif tag == "a" and not self.in_details:
            self.href, self.link_text = found.get("href"), ""

    def handle_endtag(self, tag: str) -> None:
        if self.row is None:
            return
        if tag == "tr":
            self.row = None
        elif tag == "details":
            self.in_details = False
        elif tag == "summary":
            self.in_summary = False
        elif tag == "span":
            self.in_heading = False
        elif tag == "a" and self.href is not None:
            self.row.links.append((" ".join(self.link_text.split()), self.href))
            self.href = None

    def handle_data(self, data: str) -> None:
        if self.row is None or self.in_heading:
            return
        if self.in_summary:
            self.row.summary += data
        elif self.in_details:
            self.row.technical += data + " "
        elif self.row.cells:
            self.row.cells[-1] += data + " "
            if self.href is not None:
                self.link_text += data


def rows_of(html: str) -> list[Row]:
    parser = Rows()
    parser.feed(html)
    return parser.rows


def event_row(browser: Browser, event: AuditEvent, query: str = "") -> Row:
    html = browser.get(f"/audit?per_page=100&{query}").get_data(as_text=True)
    [row] = [row for row in rows_of(html) if row.seq == event.seq]
    return row


def latest(action: AuditAction) -> AuditEvent:
    found = db.session().execute(
        select(AuditEvent).where(AuditEvent.action == action.value).order_by(AuditEvent.seq.desc()).limit(1)
    )
    return found.scalar_one()


# --- the words ------------------------------------------------------------------------------------


def test_every_action_has_words_and_no_two_say_the_same() -> None:
    """A new action cannot be added without a phrase for the page; each phrase is words, not a code."""
    assert set(PHRASES) == set(AuditAction), set(AuditAction) - set(PHRASES)
    for action, phrase in PHRASES.items():
        assert phrase and phrase == phrase.strip() and phrase[0].islower(), action
        assert ":" not in phrase and "_" not in phrase, action
    assert len(set(PHRASES.values())) == len(PHRASES)
    # And the filter's list names every subject of the vocabulary in words.
    assert {action.value.partition(":")[0] for action in AuditAction} <= set(SUBJECTS)


def test_the_action_filter_lists_every_action_in_words_and_keeps_the_codes_as_values(
    app: Flask, make_channel: Callable[..., Channel], browser_as: Callable[..., Browser]
) -> None:
    make_channel("active")
    auditor = browser_as("auditor")
    page = auditor.get("/audit").get_data(as_text=True)
    options = dict(re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', page))
    for action in AuditAction:
        assert options[action.value][0].isupper() and ":" not in options[action.value], action
    assert options["channel:approve"] == "Approved a channel request"
    assert options["channel"] == "Anything about channels"

    chosen = auditor.get("/audit?action=channel:approve").get_data(as_text=True)
    assert '<option value="channel:approve" selected>' in chosen
    listed = rows_of(chosen)
    assert len(listed) == 1 and "Approved a channel request" in listed[0].shown
    # A subject, or any text the address carries (as the CSV and the API take it), stays chosen.
    assert '<option value="channel" selected>' in auditor.get("/audit?action=channel").get_data(as_text=True)
    assert '<option value="chan" selected>chan</option>' in auditor.get("/audit?action=chan").get_data(as_text=True)


# --- the page -------------------------------------------------------------------------------------


def test_an_event_reads_as_a_sentence_with_names_a_link_and_its_technical_details_folded_away(
    app: Flask,
    make_user: Callable[..., User],
    make_channel: Callable[..., Channel],
    browser_as: Callable[..., Browser],
) -> None:
    decider = make_user("comms", name="Chris Decider")
    channel = make_channel("requested")
    channels.transition(channel, "approve", decider, reason="Fits the policy.")
    db.session().commit()
    approved = latest(AuditAction.CHANNEL_APPROVE)
    auditor = browser_as("auditor")

    row = event_row(auditor, approved)

    assert "Approved a channel request" in row.shown
    assert "Chris Decider" in row.shown and "Communications team" in row.shown
    assert (f"Channel {channel.reference}", f"/channels/{channel.reference}") in row.links
    assert "From requested to approved; Reason: Fits the policy." in row.shown  # the details, as a sentence
    assert "policy.." not in row.shown
    assert row.summary.split() == ["Technical", "details", "of", "event", str(approved.seq)]
    # The codes, the hashes and the raw details: only in the technical details.
    assert "channel:approve" not in row.shown and "channel:approve" in row.technical
    assert HEX64.findall(row.shown) == []
    assert approved.hash in row.technical and approved.prev_hash in row.technical
    assert f"user {decider.id}" not in row.shown


def test_who_did_it_is_a_name_or_the_system_or_a_member_of_the_public(
    app: Flask, make_user: Callable[..., User], browser_as: Callable[..., Browser]
) -> None:
    person = make_user("staff", name="Pat Person")
    by_public = record(
        AuditAction.USER_SIGN_IN_FAILED, "user", "-", {"reason": "unknown email"}, actor=Actor.system("public")
    )
    by_system = record(AuditAction.ROSTER_EXPIRE, "roster_grant", "CH-0001/1", {}, actor=Actor.system("roster expiry"))
    by_person = record(AuditAction.USER_PASSWORD_CHANGE, "user", person.id, {}, actor=person)
    other = make_user("staff", name="Quinn Other")
    both = record(AuditAction.USER_PROVIDER_LOGOUT, "user", f"{person.id},{other.id}", {}, actor=Actor.system("idp"))
    db.session().commit()
    auditor = browser_as("auditor")

    public = event_row(auditor, by_public).shown
    assert "A member of the public" in public and "Failed to sign in" in public and "Account -" not in public
    system = event_row(auditor, by_system).shown
    assert "The system" in system and "roster expiry" in system
    mine = event_row(auditor, by_person)
    # Their roles as they are now, and said to be now (not necessarily when they acted).
    assert "Pat Person" in mine.shown and "Now: Staff" in mine.shown
    # The object is the account, by name; an auditor may not open account pages, so no link.
    assert "Account of Pat Person" in mine.shown and mine.links == []
    assert "Accounts of Pat Person and Quinn Other" in event_row(auditor, both).shown


def test_objects_link_only_to_pages_the_reader_may_open(
    app: Flask,
    make_user: Callable[..., User],
    make_channel: Callable[..., Channel],
    browser_as: Callable[..., Browser],
) -> None:
    person = make_user("staff", name="Robin Roles")
    channel = make_channel("active")
    renamed = record(
        AuditAction.USER_ROLES_CHANGE, "user", person.id, {"roles": ["staff"]}, actor=Actor.system("tests")
    )
    revealed = record(
        AuditAction.CREDENTIAL_REVEAL, "credential", f"{channel.reference}/password", {"reason": "Posting."}
    )
    db.session().commit()
    admin, auditor = browser_as("admin"), browser_as("auditor")

    assert event_row(admin, renamed).links == [("Account of Robin Roles", f"/admin/users/{person.id}")]
    assert event_row(auditor, renamed).links == []
    credential_page = f"/channels/{channel.reference}/credentials"
    assert event_row(auditor, revealed).links == [(f"Credential {channel.reference}/password", credential_page)]
    # Administrators do not read channels or credentials: the object is named, not linked.
    as_admin = event_row(admin, revealed)
    assert as_admin.links == [] and f"Credential {channel.reference}/password" in as_admin.shown
    # Every link the page offers the reader opens for them.
    for browser in (admin, auditor):
        html = browser.get("/audit?per_page=100").get_data(as_text=True)
        for row in rows_of(html):
            for _text, href in row.links:
                assert browser.get(href).status_code == 200, href


# --- the counts -----------------------------------------------------------------------------------


def test_the_two_counts_say_what_each_counts(app: Flask, browser_as: Callable[..., Browser]) -> None:
    comms = browser_as("comms")
    reporter = comms.user  # type: ignore[attr-defined]
    breaches.report_breach(
        BreachAnswers(
            account="@someone",
            link="https://x.com/someone/status/1",
            description="Posted a ward photo.",
            clauses=("6.11",),
            reputational_risk=False,
            subject_kind=SubjectKind.UNKNOWN,
            subject_user="",
        ),
        [],
        reporter,
    )
    db.session().commit()
    in_chain = db.session().execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    case_events = (
        db.session()
        .execute(select(func.count()).select_from(AuditEvent).where(AuditEvent.object_type == "breach_report"))
        .scalar_one()
    )
    html = comms.get("/audit").get_data(as_text=True)
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())

    assert f"The chain holds {in_chain} events in all" in text
    assert f"of {in_chain - case_events} events you may see" in text
    assert f"The other {case_events} event" in text and "about breach cases you may not read" in text
    filtered = " ".join(re.sub(r"<[^>]+>", " ", comms.get("/audit?action=user").get_data(as_text=True)).split())
    assert "events that match these filters" in filtered and "The other" not in filtered


# --- the dates ------------------------------------------------------------------------------------


def test_dates_are_typed_as_day_month_and_year_and_an_impossible_one_is_explained(
    app: Flask, browser_as: Callable[..., Browser]
) -> None:
    auditor = browser_as("auditor")
    everything = {row.seq for row in rows_of(auditor.get("/audit?per_page=100").get_data(as_text=True))}

    future = auditor.get("/audit?since[day]=1&since[month]=1&since[year]=2999").get_data(as_text=True)
    assert rows_of(future) == [] and "No events match these filters" in future
    # The CSV link carries the date as the export takes it.
    assert "since=2999-01-01" in future
    past = auditor.get("/audit?per_page=100&since[day]=1&since[month]=1&since[year]=2000").get_data(as_text=True)
    assert {row.seq for row in rows_of(past)} >= everything

    impossible = auditor.get("/audit?since[day]=31&since[month]=2&since[year]=2026")
    assert impossible.status_code == 200
    body = impossible.get_data(as_text=True)
    assert "There is a problem" in body and "From must be a real date" in body
    assert 'href="#since-day"' in body and "<title>Error: Audit trail" in body
    assert 'value="31"' in body  # what was typed stays, to correct it
    missing = auditor.get("/audit?until[day]=1&until[month]=2").get_data(as_text=True)
    assert "Before must include a year" in missing

    # An address with the ISO dates the CSV and the API take still filters, and fills the fields.
    iso = auditor.get("/audit?since=2999-01-01").get_data(as_text=True)
    assert rows_of(iso) == [] and 'name="since[year]"' in iso and 'value="2999"' in iso


def test_the_csv_keeps_the_codes(app: Flask, browser_as: Callable[..., Browser]) -> None:
    auditor = browser_as("auditor")
    exported = auditor.get("/audit/export.csv?since[day]=1&since[month]=1&since[year]=2000").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert rows and "user:sign_in" in {row["action"] for row in rows}
    assert all(HEX64.fullmatch(row["hash"]) for row in rows)
