"""The monthly report to senior management and the Board (policy 11.2).

The figures are checked against a month of known history: every record is made through
the services as people would make it, then its steps are moved to the times written
here, in March 2025 (UK time) or around it. The expected values are worked out by hand
from those times, never by the code under test. Also: an issued report does not change
afterwards (whatever happens, and even the database refuses), a month with no activity
still has every figure, the command line's JSON contract, the pages, charts and downloads.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError
from werkzeug.datastructures import FileStorage

from registry import clock, db
from registry.audit import services as audit
from registry.audit.chain import take_checkpoint
from registry.audit.models import GENESIS_HASH, AuditAction, AuditEvent
from registry.audit.services import head
from registry.auth.models import User
from registry.breaches import clauses as breach_clauses
from registry.breaches import services as breaches
from registry.breaches.models import BreachReport, BreachStep
from registry.channels import services as channels
from registry.channels.models import Channel, ChannelTransition
from registry.channels.platforms import PLATFORMS, Platform
from registry.channels.workflow import ChannelStatus
from registry.consent import services as consents
from registry.consent.models import LogoConsent, LogoConsentStep
from registry.errors import Conflict, Invalid, NotPermitted
from registry.media import services as media
from registry.media.models import MediaContact, MediaContactStep
from registry.monitoring import services as monitoring
from registry.posts import services as posts
from registry.posts.models import PostTransition
from registry.reports import figures as report_figures
from registry.reports import services as reports
from registry.reports.models import MonthlyReport
from registry.roster import services as roster
from registry.roster.models import AccessReview, AccessReviewItem, RosterGrant
from registry.vault import services as custody
from registry.vault.models import Credential, CredentialVersion
from tests.conftest import Browser

MONTH = "2025-03"


def uk(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> dt.datetime:
    """A moment as a clock in England shows it (GMT until 30 March 2025, BST after)."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=clock.LONDON).astimezone(dt.UTC)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)


def retime(model: Any, owner: Any, owner_id: int, times: dict[str, dt.datetime]) -> None:
    """Move the history steps of one record: each step whose action is named gets its time."""
    steps = db.session().execute(select(model).where(owner == owner_id)).unique().scalars().all()
    for step in steps:
        if step.action in times:
            step.occurred_at = times[step.action]
    assert {step.action for step in steps} >= times.keys()
    db.session().flush()


def channel_history(channel: Channel, **times: dt.datetime) -> None:
    retime(ChannelTransition, ChannelTransition.channel_id, channel.id, times)


# --- a month of known history ------------------------------------------------------------------


@pytest.fixture
def people(make_user: Callable[..., User]) -> dict[str, User]:
    return {"staff": make_user("staff"), "comms": make_user("comms"), "colleague": make_user("comms")}


def seed_channels(make_channel: Callable[..., Channel], staff: User, comms: User) -> dict[str, Channel]:
    """Ten channels whose histories end March 2025 in known states (current statuses differ for some)."""
    plan = {
        "A": ("active", "x"),
        "B": ("active", "facebook"),
        "C": ("rejected", "x"),
        "D": ("suspended", "instagram"),
        "E": ("retired", "x"),
        "F": ("requested", "x"),
        "G": ("approved", "linkedin"),
        "H": ("requested", "x"),
        "I": ("approved", "facebook"),
        "J": ("info_requested", "x"),
    }
    made = {
        key: make_channel(status, platform=platform, handle=f"NHSReport{key}", requester=staff)
        for key, (status, platform) in plan.items()
    }
    channels.transition(made["J"], "resubmit", staff)
    channels.transition(made["J"], "approve", comms)
    history = {
        "A": {"request": uk(2025, 2, 10), "approve": uk(2025, 2, 12), "activate": uk(2025, 2, 13)},
        # Went live in March: 2 days from request to approval.
        "B": {"request": uk(2025, 3, 3, 9), "approve": uk(2025, 3, 5, 9), "activate": uk(2025, 3, 6, 10)},
        # Rejected after 5 days.
        "C": {"request": uk(2025, 3, 10, 9), "reject": uk(2025, 3, 15, 9)},
        "D": {
            "request": uk(2025, 2, 1),
            "approve": uk(2025, 2, 2),
            "activate": uk(2025, 2, 3),
            "suspend": uk(2025, 3, 20),
        },
        "E": {
            "request": uk(2025, 1, 5),
            "approve": uk(2025, 1, 6),
            "activate": uk(2025, 1, 7),
            "retire": uk(2025, 3, 25),
        },
        "F": {"request": uk(2025, 3, 28)},
        # Requested in March, approved in April: approved now, requested at the end of March.
        "G": {"request": uk(2025, 3, 30), "approve": uk(2025, 4, 2)},
        # 23:30 UTC on 31 March is 00:30 on 1 April in England (BST): an April request.
        "H": {"request": utc(2025, 3, 31, 23, 30)},
        # Requested in February; approved on the first instant of March, half a day later.
        "I": {"request": utc(2025, 2, 28, 12), "approve": utc(2025, 3, 1, 0)},
        # Sent back for more information: 9 days from the first request to the approval.
        "J": {
            "request": uk(2025, 3, 1, 10),
            "request_info": uk(2025, 3, 2),
            "resubmit": uk(2025, 3, 4),
            "approve": uk(2025, 3, 10, 10),
        },
    }
    for key, times in history.items():
        channel_history(made[key], **times)
    return made


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (24, 16), (0, 94, 184)).save(buffer, "PNG")
    return buffer.getvalue()


def seed_consents(staff: User, comms: User) -> None:
    start = clock.today() + dt.timedelta(days=7)

    def request(title: str) -> LogoConsent:
        return consents.request_consent(
            consents.ConsentRequest(
                title=title,
                department="Maternity",
                asset="nhs_lozenge",
                purpose="Classes.",
                media=("print",),
                audience="Parents",
                partner_involved=False,
                starts_on=start,
                ends_on=start,
            ),
            [FileStorage(io.BytesIO(_png()), "draft.png")],
            staff,
        )

    every_item = [item.id for item in consents.active_checklist()]
    cases = (
        # (title, decision, submitted, decided, expires on)
        ("K1", "approve", uk(2025, 3, 2, 10), uk(2025, 3, 3, 10), dt.date(2025, 3, 20)),
        ("K2", "approve_with_conditions", uk(2025, 2, 20, 10), uk(2025, 3, 10, 10), dt.date(2025, 4, 15)),
        ("K3", "reject", uk(2025, 3, 12, 10), uk(2025, 3, 13, 22), None),
        ("K4", None, uk(2025, 3, 25, 10), None, None),
        ("K5", "approve", uk(2025, 1, 1, 10), uk(2025, 1, 2, 10), dt.date(2026, 1, 1)),
    )
    for title, decision, submitted, decided, expires_on in cases:
        consent = request(title)
        times = {"submit": submitted}
        if decision is not None:
            consents.decide(
                consent,
                decision,
                comms,
                checked=every_item,
                note="Not for this use." if decision == "reject" else None,
                conditions="Keep the clear space." if decision == "approve_with_conditions" else None,
            )
            assert decided is not None
            times[decision] = decided
            consent.decided_at = decided
            if expires_on is not None:
                consent.expires_on = expires_on
        retime(LogoConsentStep, LogoConsentStep.consent_id, consent.id, times)


def seed_posts(channel: Channel, staff: User, comms: User) -> None:
    cases = (
        ("P1", {"request": uk(2025, 3, 4, 9), "approve": uk(2025, 3, 6, 9), "publish": uk(2025, 3, 7, 9)}),
        ("P2", {"request": uk(2025, 3, 8, 9), "reject": uk(2025, 3, 9, 9)}),
        ("P3", {"request": uk(2025, 2, 25, 9), "approve": uk(2025, 2, 26, 9), "publish": uk(2025, 3, 2, 9)}),
        ("P4", {"request": uk(2025, 3, 29, 9), "approve": uk(2025, 4, 2, 9)}),
    )
    for number, (name, times) in enumerate(cases, start=1):
        post = posts.propose(
            posts.PostProposal(
                text=f"Post {name}: our new clinic opens.",
                channels=[channel.reference],
                wished_for=clock.today() + dt.timedelta(days=1),
                reason="Clinic news.",
                consent_confirmed=True,
            ),
            staff,
        )
        for action in times:
            if action == "approve":
                posts.transition(post, "approve", comms)
            elif action == "reject":
                posts.transition(post, "reject", comms, reason="Not for us.")
            elif action == "publish":
                posts.transition(
                    post,
                    "publish",
                    comms,
                    urls={channel.reference: f"https://x.com/{channel.handle}/status/{1000 + number}"},
                )
        retime(PostTransition, PostTransition.post_id, post.id, times)


def _set_versions(credential: Credential, *created: dt.datetime, due_on: dt.date) -> None:
    versions = (
        db.session()
        .execute(
            select(CredentialVersion)
            .where(CredentialVersion.credential_id == credential.id)
            .order_by(CredentialVersion.version)
        )
        .unique()
        .scalars()
        .all()
    )
    assert len(versions) == len(created)
    for version, moment in zip(versions, created, strict=True):
        version.created_at = moment
    credential.created_at = created[0]
    credential.rotated_at = created[-1]
    credential.rotation_due_on = due_on
    db.session().flush()


def seed_credentials(made: dict[str, Channel], comms: User) -> None:
    """Rotation every 90 days (the default). At the end of March 2025: A's password (rotated on 15 March)
    and recovery e-mail (due 30 January: overdue) and D's password (its version then from November
    2024, due 13 February: overdue; rotated since, in April) are held; E is retired, B's was stored in
    April, and custody notes are not counted."""

    def store(key: str, kind: str, times: int = 1) -> Credential:
        for n in range(times):
            value = "JBSWY3DPEHPK3PXP" if kind == "totp_seed" else f"{key} {kind} value {n}"
            credential = custody.store(made[key], kind, value, "Taking custody.", comms)
        return credential

    _set_versions(store("A", "password", 2), uk(2025, 1, 10), uk(2025, 3, 15), due_on=dt.date(2025, 6, 13))
    _set_versions(store("A", "recovery_email"), uk(2024, 11, 1), due_on=dt.date(2025, 1, 30))
    _set_versions(store("A", "notes"), uk(2024, 10, 1), due_on=dt.date(2025, 1, 1))
    _set_versions(store("D", "password", 2), uk(2024, 11, 15), uk(2025, 4, 5), due_on=dt.date(2025, 7, 4))
    _set_versions(store("E", "password"), uk(2025, 1, 8), due_on=dt.date(2025, 2, 1))
    _set_versions(store("B", "password"), uk(2025, 4, 3), due_on=clock.today() + dt.timedelta(days=90))


def seed_reviews(channel: Channel, comms: User) -> None:
    session = db.session()

    def grant(n: int) -> RosterGrant:
        return roster.grant(
            channel,
            email=f"agency{n}@agency.example",
            name=f"Agency Person {n}",
            organisation="Bright Agency Ltd",
            platform_role="editor",
            actor=comms,
        )

    def review(title: str) -> AccessReview:
        return roster.start_review(title=title, channel_ids=[channel.id], due_on=clock.today(), actor=comms)

    g1, g2 = grant(1), grant(2)
    r1 = review("R1")
    items = {item.grant_id: item for item in roster.items_of(r1)}
    roster.decide(items[g1.id], "certified", None, comms)
    roster.decide(items[g2.id], "revoked", "No longer works for us.", comms)
    roster.finish(r1, comms)
    session.execute(
        update(AccessReviewItem).where(AccessReviewItem.id == items[g1.id].id).values(decided_at=uk(2025, 3, 10))
    )
    session.execute(
        update(AccessReviewItem).where(AccessReviewItem.id == items[g2.id].id).values(decided_at=uk(2025, 3, 12))
    )
    session.execute(update(RosterGrant).where(RosterGrant.id == g2.id).values(revoked_at=uk(2025, 3, 12)))
    g3 = grant(3)
    r2, r3, r4 = review("R2"), review("R3"), review("R4")
    for each, started, due, finished in (
        (r1, uk(2025, 3, 1), dt.date(2025, 3, 15), uk(2025, 3, 14)),
        (r2, uk(2025, 3, 2), dt.date(2025, 3, 20), None),
        (r3, uk(2025, 2, 1), dt.date(2025, 2, 20), uk(2025, 3, 5)),
        (r4, uk(2025, 3, 20), dt.date(2025, 4, 30), None),
    ):
        session.execute(
            update(AccessReview)
            .where(AccessReview.id == each.id)
            .values(started_at=started, due_on=due, finished_at=finished)
        )
    roster.revoke(g3, reason="Contract ended.", actor=comms)
    session.execute(update(RosterGrant).where(RosterGrant.id == g3.id).values(revoked_at=uk(2025, 3, 22)))
    g4 = grant(4)
    roster.revoke(g4, reason="Contract ended.", actor=comms)
    session.execute(update(RosterGrant).where(RosterGrant.id == g4.id).values(revoked_at=uk(2025, 4, 2)))
    session.expire_all()


def seed_findings(comms: User) -> None:
    cases = (
        # (handle, found on, what happened, closed at)
        ("fake_trust_u1", dt.date(2025, 3, 5), "taken_down", uk(2025, 3, 20)),
        ("fake_trust_u2", dt.date(2025, 3, 10), None, None),
        ("fake_trust_u3", dt.date(2025, 2, 10), "dismiss", uk(2025, 3, 3)),
        ("fake_trust_u4", dt.date(2025, 2, 15), "taken_down", uk(2025, 4, 3)),
        ("fake_trust_u5", dt.date(2025, 4, 2), None, None),
    )
    for handle, found_on, action, closed_at in cases:
        finding = monitoring.record_finding(
            platform="", url=f"https://x.com/{handle}", evidence="Uses the Trust logo.", found_on=found_on, actor=comms
        )
        if action is not None:
            monitoring.move(finding, action, "Checked today.", comms)
        finding.created_at = uk(found_on.year, found_on.month, found_on.day)
        finding.closed_at = closed_at
    db.session().flush()


def seed_media(staff: User, comms: User) -> None:
    cases = (
        # (created, [(action, when)], closed at)
        (uk(2025, 3, 3), [("close", uk(2025, 3, 10))], uk(2025, 3, 10)),
        (uk(2025, 3, 20), [("respond", uk(2025, 3, 21))], None),
        (uk(2025, 2, 5), [("close", uk(2025, 4, 2))], uk(2025, 4, 2)),
    )
    for created, steps, closed_at in cases:
        contact = media.log_approach(
            media.Approach(
                platform="x",
                outlet="The Local Paper",
                contacted_at=db.utcnow() - dt.timedelta(hours=1),
                enquiry="Asked about waiting times.",
                link="https://x.com/journalist/status/42",
                not_responded=True,
            ),
            [],
            staff,
        )
        for action, _when in steps:
            media.triage(contact, action, comms, note="Done." if action == "close" else None)
        retime(MediaContactStep, MediaContactStep.media_contact_id, contact.id, {"report": created, **dict(steps)})
        db.session().execute(
            update(MediaContact).where(MediaContact.id == contact.id).values(created_at=created, closed_at=closed_at)
        )


def seed_breaches(staff: User) -> None:
    clause = breach_clauses.breachable()[0].number
    for risk, created in ((True, uk(2025, 3, 4)), (False, uk(2025, 2, 20))):
        report = breaches.report_breach(
            breaches.BreachAnswers(
                account="@someone on X",
                link="https://x.com/someone/status/5",
                description="A photo of a ward.",
                clauses=(clause,),
                reputational_risk=risk,
                subject_kind="unknown",
            ),
            [],
            staff,
        )
        db.session().execute(
            update(BreachReport)
            .where(BreachReport.id == report.id)
            .values(created_at=created, status_changed_at=created, flagged_at=created if risk else None)
        )
        db.session().execute(update(BreachStep).where(BreachStep.report_id == report.id).values(occurred_at=created))


@pytest.fixture
def march(app: Flask, people: dict[str, User], make_channel: Callable[..., Channel]) -> dict[str, Channel]:
    """The known history of March 2025 (and the months around it)."""
    staff, comms = people["staff"], people["colleague"]
    made = seed_channels(make_channel, staff, comms)
    seed_consents(staff, comms)
    seed_posts(made["A"], staff, comms)
    seed_credentials(made, comms)
    seed_reviews(made["A"], comms)
    seed_findings(comms)
    seed_media(staff, comms)
    seed_breaches(staff)
    db.session().commit()
    return made


ALL_ZERO_STATUSES = {s.value: 0 for s in ChannelStatus}
ALL_ZERO_PLATFORMS = {p.value: 0 for p in Platform}
TREND_MONTHS = [
    "2024-04",
    "2024-05",
    "2024-06",
    "2024-07",
    "2024-08",
    "2024-09",
    "2024-10",
    "2024-11",
    "2024-12",
    "2025-01",
    "2025-02",
    "2025-03",
]


def test_the_figures_of_a_month_match_its_known_history(
    app: Flask,
    people: dict[str, User],
    march: dict[str, Channel],
) -> None:
    """Every figure of March 2025, worked out by hand from the times the history was given."""
    figures = reports.generate(MONTH, people["comms"]).figures

    assert figures["month"] == "2025-03"
    assert figures["period"] == {
        "first_day": "2025-03-01",
        "last_day": "2025-03-31",
        "start": "2025-03-01T00:00:00+00:00",
        "end": "2025-03-31T23:00:00+00:00",
        "complete": True,
    }
    # At the end of March: A, B active; D suspended; E retired; C rejected; F, G requested; I, J approved.
    # H (requested at 00:30 on 1 April, UK time) did not exist yet.
    assert figures["channels"]["by_status"] == {
        **ALL_ZERO_STATUSES,
        "requested": 2,
        "approved": 2,
        "active": 2,
        "suspended": 1,
        "retired": 1,
        "rejected": 1,
    }
    assert figures["channels"]["by_platform"] == {
        **ALL_ZERO_PLATFORMS,
        "x": 3,
        "facebook": 2,
        "instagram": 1,
        "linkedin": 1,
    }
    assert figures["channels"]["live_by_platform_status"]["x"] == {
        "requested": 1,
        "info_requested": 0,
        "approved": 1,
        "active": 1,
        "suspended": 0,
    }
    assert {
        key: figures["channels"][key] for key in ("live", "official", "created", "suspended", "reinstated", "retired")
    } == {
        "live": 7,
        "official": 3,
        "created": 1,
        "suspended": 1,
        "reinstated": 0,
        "retired": 1,
    }

    requests = figures["requests"]
    # Channels: B, C, F, G, J received; decided I (0.5 days), B (2), C (5, rejected), J (9).
    assert requests["channel"] == {
        "received": 5,
        "decided": 4,
        "approved": 3,
        "rejected": 1,
        "median_days": 3.5,
        "longest_days": 9.0,
    }
    # Consents: K1, K3, K4 received; decided K1 (1 day), K3 (1.5, rejected), K2 (18, with conditions).
    assert requests["logo_consent"] == {
        "received": 3,
        "decided": 3,
        "approved": 2,
        "rejected": 1,
        "median_days": 1.5,
        "longest_days": 18.0,
    }
    # Posts: P1, P2, P4 received; decided P2 (1 day, rejected) and P1 (2).
    assert requests["promotional_post"] == {
        "received": 3,
        "decided": 2,
        "approved": 1,
        "rejected": 1,
        "median_days": 1.5,
        "longest_days": 2.0,
    }
    # All nine waits: 0.5, 1, 1, 1.5, 2, 2, 5, 9, 18.
    assert requests["all"] == {
        "received": 11,
        "decided": 9,
        "approved": 6,
        "rejected": 3,
        "median_days": 2.0,
        "longest_days": 18.0,
    }

    assert figures["credentials"] == {"held": 3, "rotated": 1, "overdue": 2, "required": 0}
    assert figures["access_reviews"] == {
        "due": 2,
        "completed": 2,
        "overdue": 1,
        "grants_certified": 1,
        "grants_revoked": 1,
        "grants_ended": 2,
    }
    assert figures["logo_consents"] == {"issued": 2, "expiring": 1, "expiring_next_month": 1, "in_force": 2}
    assert figures["promotional_posts"] == {"published": 2}
    assert figures["media_contacts"] == {"logged": 2, "closed": 1, "comms_responding": 1, "open_at_end": 2}
    assert figures["breaches"] == {"opened": 1, "closed": 0, "escalated": 0, "flagged": 1}
    assert figures["unauthorised_accounts"] == {
        "found": 2,
        "taken_down": 1,
        "adopted": 0,
        "dismissed": 1,
        "open_at_end": 2,
    }
    # Every audit event was written this year: the trail was empty when March 2025 ended.
    assert {k: v for k, v in figures["audit"].items() if k != "checkpoint"} == {
        "head_seq": 0,
        "head_hash": GENESIS_HASH,
        "events": 0,
        "chain_intact": True,
    }
    assert figures["audit"]["checkpoint"]["seq"] is None  # no checkpoint was signed before March 2025 ended

    assert figures["trends"] == {
        "months": TREND_MONTHS,
        "requests_received": [0] * 9 + [2, 5, 11],
        "requests_decided": [0] * 9 + [2, 3, 9],
        "channels_official": [0] * 9 + [1, 3, 3],
    }


def test_the_current_month_runs_to_now(app: Flask, people: dict[str, User], march: dict[str, Channel]) -> None:
    """This month's draft: states are today's, the audit head is the trail's head now, and the
    "rotation required" flags raised today (by the roster revocations) count."""
    before = head()
    today = clock.today()
    figures = reports.generate(f"{today:%Y-%m}", people["comms"]).figures
    assert figures["period"]["complete"] is False
    # Today A, B active, D suspended: A's password and e-mail, D's and B's passwords are held; A's
    # password (due June 2025), e-mail (January 2025) and D's password (July 2025) are overdue; A's
    # two were flagged when grants on A ended today.
    assert figures["credentials"] == {"held": 4, "rotated": 0, "overdue": 3, "required": 2}
    assert figures["channels"]["by_status"]["approved"] == 3  # G (approved in April), I and J
    assert figures["channels"]["by_status"]["requested"] == 2  # F and H
    assert (figures["audit"]["head_seq"], figures["audit"]["head_hash"]) == before
    assert figures["audit"]["chain_intact"] is True
    with pytest.raises(Conflict, match="has not ended yet"):
        reports.issue(reports.get(f"{today:%Y-%m}"), reports.get(f"{today:%Y-%m}").sha256, people["comms"])


def _keys(value: Any, prefix: str = "") -> set[str]:
    if isinstance(value, dict):
        return {path for key, item in value.items() for path in _keys(item, f"{prefix}{key}.")} | {prefix}
    return {prefix}


def test_a_month_with_no_activity_still_has_every_figure(
    app: Flask,
    people: dict[str, User],
    march: dict[str, Channel],
) -> None:
    """June 2024 had no activity: the report has the same figures as a busy month, each of them
    zero (turnaround: none, as nothing was decided), and twelve months of zero trends."""
    quiet = reports.generate("2024-06", people["comms"]).figures
    busy = reports.generate(MONTH, people["comms"]).figures
    assert _keys(quiet) == _keys(busy)

    def numbers(value: Any) -> list[Any]:
        if isinstance(value, dict):
            return [n for item in value.values() for n in numbers(item)]
        if isinstance(value, list):
            return [n for item in value for n in numbers(item)]
        return [value]

    for section in (
        "channels",
        "credentials",
        "access_reviews",
        "logo_consents",
        "promotional_posts",
        "media_contacts",
        "breaches",
        "unauthorised_accounts",
    ):
        assert set(numbers(quiet[section])) == {0}, section
    for kind in ("channel", "logo_consent", "promotional_post", "all"):
        assert quiet["requests"][kind] == {
            "received": 0,
            "decided": 0,
            "approved": 0,
            "rejected": 0,
            "median_days": None,
            "longest_days": None,
        }
    assert quiet["channels"]["by_status"] == ALL_ZERO_STATUSES
    assert quiet["channels"]["by_platform"] == ALL_ZERO_PLATFORMS
    assert quiet["trends"]["requests_received"] == [0] * 12
    assert quiet["trends"]["months"][-1] == "2024-06"
    assert quiet["audit"]["head_hash"] == GENESIS_HASH


def test_the_trends_count_each_step_in_its_uk_month_at_summer_month_boundaries(
    app: Flask, people: dict[str, User], make_channel: Callable[..., Channel]
) -> None:
    """In summer a UK month starts at 23:00 UTC the day before. A request at 23:30 UTC on 31 May is
    June's; a rejection at 22:59 UTC on 30 June is June's; a request at 23:00 UTC on 30 June is July's.
    A channel that went live in May and was retired on
    the last evening of June is official at May's end only."""
    staff = people["staff"]
    early = make_channel("rejected", platform="x", handle="NHSTrendEarly", requester=staff)
    late = make_channel("requested", platform="x", handle="NHSTrendLate", requester=staff)
    gone = make_channel("retired", platform="facebook", handle="NHSTrendGone", requester=staff)
    channel_history(early, request=utc(2025, 5, 31, 23, 30), reject=utc(2025, 6, 30, 22, 59))
    channel_history(late, request=utc(2025, 6, 30, 23, 0))
    channel_history(
        gone,
        request=utc(2025, 5, 1, 9),
        approve=utc(2025, 5, 2, 9),
        activate=utc(2025, 5, 3, 9),
        retire=utc(2025, 6, 30, 22, 0),
    )
    db.session().flush()

    trends = report_figures.compute(2025, 7, now=utc(2025, 12, 1))["trends"]

    assert trends["months"][-3:] == ["2025-05", "2025-06", "2025-07"]
    # Received: gone's request in May; early's in June (BST: 00:30 on 1 June); late's in July.
    assert trends["requests_received"] == [0] * 9 + [1, 1, 1]
    # Decided: gone's approval in May, early's rejection in June (23:59 on 30 June in England).
    assert trends["requests_decided"] == [0] * 9 + [1, 1, 0]
    # Gone was active at May's end and retired before June's.
    assert trends["channels_official"] == [0] * 9 + [1, 0, 0]


def test_an_empty_registry_gives_a_complete_report(
    app: Flask, people: dict[str, User], browser_as: Callable[..., Browser]
) -> None:
    """With nothing recorded at all, last month's report still has every section, and its page and charts work."""
    key = reports.default_month()
    report = reports.generate(key, people["comms"])
    db.session().commit()
    figures = report.figures
    assert figures["requests"]["all"]["decided"] == 0
    assert figures["channels"]["by_status"] == ALL_ZERO_STATUSES
    comms = browser_as(user=people["comms"])
    page = comms.get(f"/reports/{key}")
    assert page.status_code == 200
    assert "none decided" in page.get_data(as_text=True)
    for chart in ("platforms", "requests", "channels"):
        assert comms.get(f"/reports/{key}/charts/{chart}.svg").status_code == 200


# --- drafts, issuing and freezing ----------------------------------------------------------------


def test_a_draft_is_generated_again_and_audited(app: Flask, people: dict[str, User], march: dict[str, Channel]) -> None:
    """Generating again replaces the draft's figures; each generation is in the audit trail with its hash."""
    comms = people["comms"]
    first = reports.generate(MONTH, comms)
    first_hash = first.sha256
    channel_history(march["F"], request=uk(2025, 3, 28))
    channels.transition(march["F"], "reject", comms, reason="Duplicate of another account.")
    channel_history(march["F"], reject=uk(2025, 3, 29))
    again = reports.generate(MONTH, comms)
    assert again.id == first.id
    assert again.sha256 != first_hash
    assert again.figures["requests"]["channel"]["decided"] == 5
    assert again.figures["channels"]["by_status"]["rejected"] == 2
    events = (
        db.session()
        .execute(
            select(AuditEvent)
            .where(AuditEvent.action == AuditAction.REPORT_GENERATE.value, AuditEvent.object_id == MONTH)
            .order_by(AuditEvent.seq)
        )
        .scalars()
        .all()
    )
    assert [json.loads(e.details) for e in events] == [
        {"month": MONTH, "sha256": first_hash, "regenerated": False},
        {"month": MONTH, "sha256": again.sha256, "regenerated": True},
    ]


def test_an_issued_report_is_unchanged_by_later_activity(
    app: Flask,
    people: dict[str, User],
    march: dict[str, Channel],
    browser_as: Callable[..., Browser],
) -> None:
    """Once issued, a report keeps its figures and hash: later records (even ones dated in its
    month) do not alter it, it cannot be generated again, and the database refuses to change it."""
    comms = people["comms"]
    draft = reports.generate(MONTH, comms)
    issued = reports.issue(draft, draft.sha256, people["colleague"])
    frozen_text, frozen_hash = issued.figures_json, issued.sha256
    db.session().commit()
    [event] = (
        db.session()
        .execute(select(AuditEvent).where(AuditEvent.action == AuditAction.REPORT_ISSUE.value))
        .scalars()
        .all()
    )
    assert json.loads(event.details) == {"month": MONTH, "sha256": frozen_hash}

    # Later activity, some of it dated in March.
    channels.transition(march["F"], "reject", comms, reason="Duplicate.")
    channel_history(march["F"], request=uk(2025, 3, 28), reject=uk(2025, 3, 29))
    channels.transition(march["B"], "suspend", comms, reason="Not posting.")
    db.session().commit()
    assert reports.generate(f"{clock.today():%Y-%m}", comms).figures["channels"]["by_status"]["suspended"] == 2

    with pytest.raises(Conflict, match="cannot be generated again"):
        reports.generate(MONTH, comms)
    with pytest.raises(Conflict, match="already been issued"):
        reports.issue(issued, frozen_hash, comms)
    db.session().expire_all()
    stored = reports.get(MONTH)
    assert (stored.figures_json, stored.sha256, stored.status) == (frozen_text, frozen_hash, "issued")
    assert stored.figures["requests"]["channel"]["decided"] == 4

    # The page and the CSV show the issued figures.
    reader = browser_as("auditor")
    page = reader.get(f"/reports/{MONTH}").get_data(as_text=True)
    assert frozen_hash in page and "Issued" in page
    rows = {
        row["figure"]: row["value"]
        for row in csv.DictReader(io.StringIO(reader.get(f"/reports/{MONTH}/export.csv").get_data(as_text=True)))
    }
    assert rows["requests.channel.decided"] == "4"
    assert rows["channels.by_status.rejected"] == "1"

    # Below the service, the database itself refuses to change or delete an issued report.
    session = db.session()
    for statement in (
        update(MonthlyReport).where(MonthlyReport.month == MONTH).values(figures="{}"),
        update(MonthlyReport).where(MonthlyReport.month == MONTH).values(status="draft"),
        text("DELETE FROM monthly_reports WHERE month = :month").bindparams(month=MONTH),
    ):
        with pytest.raises(DBAPIError, match="issued monthly report never changes"), session.begin_nested():
            session.execute(statement)
    session.expire_all()
    assert reports.get(MONTH).sha256 == frozen_hash


def test_a_draft_generated_again_since_it_was_read_is_not_issued(app: Flask, people: dict[str, User]) -> None:
    """Issuing names the hash of the figures the issuer read: another draft since is refused (409)."""
    comms = people["comms"]
    key = reports.default_month()
    read = reports.generate(key, comms).sha256
    reports.generate(key, people["colleague"])
    with pytest.raises(Conflict, match="generated again since you opened it"):
        reports.issue(reports.get(key), read, comms)
    with pytest.raises(Invalid):
        reports.issue(reports.get(key), "", comms)
    assert reports.get(key).status == "draft"


def test_a_draft_worked_out_before_its_month_ended_is_not_issued(app: Flask, people: dict[str, User]) -> None:
    """A draft made mid-month misses the rest of the month: it must be generated again first."""
    comms = people["comms"]
    key = reports.default_month()
    draft = reports.generate(key, comms)
    figures = json.loads(draft.figures_json)
    figures["period"]["complete"] = False  # as a draft made on the 15th of the month would say
    draft.figures_json = json.dumps(figures, sort_keys=True, separators=(",", ":"))
    db.session().flush()
    assert not reports.can_issue(draft)
    with pytest.raises(Conflict, match="worked out before the month ended"):
        reports.issue(reports.get(key), draft.sha256, comms)
    fresh = reports.generate(key, comms)
    assert reports.issue(fresh, fresh.sha256, comms).status == "issued"


def test_only_the_communications_team_generates_and_issues(
    app: Flask,
    make_user: Callable[..., User],
    people: dict[str, User],
) -> None:
    key = reports.default_month()
    for role in ("staff", "auditor", "admin", "hr", "manager"):
        with pytest.raises(NotPermitted):
            reports.generate(key, make_user(role))
    draft = reports.generate(key, people["comms"])
    with pytest.raises(NotPermitted):
        reports.issue(draft, draft.sha256, make_user("auditor"))


@pytest.mark.parametrize("month", ["2025-13", "25-03", "March", "", "1999-12"])
def test_a_month_must_be_a_real_one(app: Flask, people: dict[str, User], month: str) -> None:
    with pytest.raises(Invalid) as refused:
        reports.generate(month, people["comms"])
    assert "for example 2026-10" in refused.value.errors["month"]


def test_a_month_not_yet_begun_is_refused(app: Flask, people: dict[str, User]) -> None:
    following = clock.today().replace(day=28) + dt.timedelta(days=10)
    with pytest.raises(Invalid) as refused:
        reports.generate(f"{following:%Y-%m}", people["comms"])
    assert "has not started yet" in refused.value.errors["month"]


# --- the command line ----------------------------------------------------------------------------


def invoke(app: Flask, *args: str):  # type: ignore[no-untyped-def]
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args))


def test_report_generate_prints_the_figures_as_json(app: Flask, march: dict[str, Channel]) -> None:
    """SPEC: ``report generate YYYY-MM --format json`` prints the figures (and nothing else) on stdout:
    at least the month, channels by status at the month's end, channels by platform, the audit head hash."""
    result = invoke(app, "report", "generate", MONTH, "--format", "json")
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["month"] == MONTH
    assert figures["channels"]["by_status"]["active"] == 2
    assert figures["channels"]["by_status"]["suspended"] == 1
    assert figures["channels"]["by_platform"]["x"] == 3
    assert figures["audit"]["head_hash"] == GENESIS_HASH
    db.session().expire_all()
    stored = reports.get(MONTH)
    assert stored.status == "draft" and stored.figures == figures
    assert stored.generated_by.startswith("command line")

    again = invoke(app, "report", "generate", MONTH)
    assert again.exit_code == 0
    assert again.stdout.startswith("Draft report for March 2025 generated")
    shown = invoke(app, "report", "show", MONTH)
    assert shown.exit_code == 0 and json.loads(shown.stdout)["month"] == MONTH


def test_report_generate_refuses_a_bad_month_and_an_issued_one(app: Flask, people: dict[str, User]) -> None:
    bad = invoke(app, "report", "generate", "2025-13", "--format", "json")
    assert bad.exit_code == 1 and bad.stdout == ""
    assert "for example 2026-10" in bad.output
    key = reports.default_month()
    draft = reports.generate(key, people["comms"])
    reports.issue(draft, draft.sha256, people["comms"])
    db.session().commit()
    refused = invoke(app, "report", "generate", key, "--format", "json")
    assert refused.exit_code == 1 and refused.stdout == ""
    assert "cannot be generated again" in refused.output


# --- pages, charts and downloads -----------------------------------------------------------------


def test_comms_generate_read_and_issue_the_report_in_the_browser(
    app: Flask,
    people: dict[str, User],
    march: dict[str, Channel],
    browser_as: Callable[..., Browser],
) -> None:
    comms = browser_as(user=people["comms"])
    listing = comms.get("/reports")
    assert listing.status_code == 200
    assert "Generate the draft" in listing.get_data(as_text=True)
    made = comms.post("/reports", {"month": MONTH})
    assert made.status_code == 302 and made.headers["Location"].endswith(f"/reports/{MONTH}")
    page = comms.get(f"/reports/{MONTH}").get_data(as_text=True)
    assert "Social media: March 2025" in page and "Draft" in page
    assert "Issue the report" in page
    draft = reports.get(MONTH)
    assert comms.get(f"/reports/{MONTH}/export.csv").status_code == 409  # only issued reports are downloaded

    stale = comms.post(f"/reports/{MONTH}/issue", {"sha256": "0" * 64})
    assert stale.status_code == 409
    issued = comms.post(f"/reports/{MONTH}/issue", {"sha256": draft.sha256})
    assert issued.status_code == 302
    db.session().expire_all()
    assert reports.get(MONTH).status == "issued"
    page = comms.get(f"/reports/{MONTH}").get_data(as_text=True)
    assert "Issue the report" not in page and "Generate the draft again" not in page
    assert "Download as CSV" in page
    again = comms.post("/reports", {"month": MONTH})
    assert again.status_code == 409
    assert "cannot be generated again" in again.get_data(as_text=True)

    listing = comms.get("/reports").get_data(as_text=True)
    assert "March 2025" in listing


def test_the_generate_form_explains_a_bad_month(
    app: Flask, people: dict[str, User], browser_as: Callable[..., Browser]
) -> None:
    page = browser_as(user=people["comms"]).post("/reports", {"month": "2025-13"})
    body = page.get_data(as_text=True)
    assert page.status_code == 422
    assert 'href="#month"' in body and 'class="nhsuk-error-message"' in body


def test_auditors_read_and_download_issued_reports_and_each_download_is_audited(
    app: Flask,
    people: dict[str, User],
    march: dict[str, Channel],
    browser_as: Callable[..., Browser],
) -> None:
    draft = reports.generate(MONTH, people["comms"])
    reports.issue(draft, draft.sha256, people["comms"])
    db.session().commit()
    auditor = browser_as("auditor")
    assert auditor.get("/reports").status_code == 200
    assert auditor.post("/reports", {"month": MONTH}).status_code == 403
    exported = auditor.get(f"/reports/{MONTH}/export.csv")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    assert exported.headers["Content-Disposition"] == f'attachment; filename="monthly-report-{MONTH}.csv"'
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    values = {row["figure"]: row["value"] for row in rows}
    assert values["sha256"] == draft.sha256
    assert values["requests.all.median_days"] == "2.0"
    assert values["credentials.overdue"] == "2"
    assert values["breaches.flagged"] == "1"
    assert values["audit.head_hash"] == GENESIS_HASH
    assert values["trends.requests_received.2025-02"] == "5"
    pdf = auditor.get(f"/reports/{MONTH}/export.pdf")
    assert pdf.status_code == 200 and pdf.get_data().startswith(b"%PDF-")
    exports = (
        db.session()
        .execute(
            select(AuditEvent).where(AuditEvent.action == AuditAction.REPORT_EXPORT.value).order_by(AuditEvent.seq)
        )
        .scalars()
        .all()
    )
    assert [json.loads(e.details)["format"] for e in exports] == ["csv", "pdf"]
    assert {e.actor_id for e in exports} == {auditor.user.id}  # type: ignore[attr-defined]


@pytest.mark.parametrize("role", ["staff", "manager", "admin", "hr"])
def test_other_roles_cannot_read_reports(
    app: Flask, people: dict[str, User], browser_as: Callable[..., Browser], role: str
) -> None:
    key = reports.default_month()
    reports.generate(key, people["comms"])
    db.session().commit()
    browser = browser_as(role)
    for path in ("/reports", f"/reports/{key}", f"/reports/{key}/charts/requests.svg"):
        assert browser.get(path).status_code == 403, path


def test_charts_are_svg_readable_without_colour(
    app: Flask,
    people: dict[str, User],
    march: dict[str, Channel],
    browser_as: Callable[..., Browser],
) -> None:
    """Each series has a fill pattern and a name in a legend; bars carry their values; the text is text."""
    reports.generate(MONTH, people["comms"])
    db.session().commit()
    comms = browser_as(user=people["comms"])
    platforms = comms.get(f"/reports/{MONTH}/charts/platforms.svg")
    assert platforms.status_code == 200 and platforms.mimetype == "image/svg+xml"
    assert "default-src 'none'" in platforms.headers["Content-Security-Policy"]
    svg = platforms.get_data(as_text=True)
    assert "<pattern" in svg  # hatching, not colour alone
    for words in ("Active", "Suspended", "Not yet live", PLATFORMS[Platform.X].label, "3 in all"):
        assert words in svg, words
    trend = comms.get(f"/reports/{MONTH}/charts/requests.svg").get_data(as_text=True)
    assert "<pattern" in trend and "Received" in trend and "Decided" in trend and ">11<" in trend
    assert comms.get(f"/reports/{MONTH}/charts/nothing.svg").status_code == 404
    page = comms.get(f"/reports/{MONTH}").get_data(as_text=True)
    # Platforms, requests, official channels, and the active channels' account security.
    assert page.count('class="app-chart"') == 4
    assert "The figures are in the table after it." in page


def test_an_unknown_report_is_a_404_that_explains(app: Flask, browser_as: Callable[..., Browser]) -> None:
    response = browser_as("auditor").get("/reports/2019-01")
    assert response.status_code == 404
    assert "There is no monthly report for" in response.get_data(as_text=True)


def test_the_list_runs_the_same_statements_for_3_and_12_issued_reports(
    app: Flask,
    people: dict[str, User],
    browser_as: Callable[..., Browser],
    count_queries: Callable[[], Any],
) -> None:
    """The list of issued reports does not query once per report (issuers are loaded with them)."""
    comms = browser_as(user=people["comms"])
    issuers = [people["comms"], people["colleague"]]

    def issue_months(months: range) -> None:
        for n in months:
            db.session().add(
                MonthlyReport(
                    month=f"2023-{n:02d}",
                    status="issued",
                    figures_json="{}",
                    sha256="0" * 64,
                    generated_at=db.utcnow(),
                    generated_by="tests",
                    issued_at=db.utcnow(),
                    issued_by_id=issuers[n % 2].id,
                )
            )
        db.session().commit()

    issue_months(range(1, 4))
    with count_queries() as few:
        assert comms.get("/reports").status_code == 200
    issue_months(range(4, 13))
    with count_queries() as many:
        assert comms.get("/reports").status_code == 200
    assert many.n == few.n


# --- cost that follows the month, not the trail -------------------------------------------------


def test_a_months_trail_check_and_statements_do_not_grow_with_earlier_history(
    app: Flask, people: dict[str, User], count_queries: Callable[[], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The report checks its month's events from the last signed checkpoint before the month, not the
    whole trail: with 20 and then 230 events before the month it hashes the month's 5 events, and
    works out every figure with the same statements."""
    comms = people["comms"]
    moment = [utc(2024, 1, 1)]
    monkeypatch.setattr(db, "utcnow", lambda: moment[0])

    def sign_ins(count: int, start: dt.datetime) -> None:
        for n in range(count):
            moment[0] = start + dt.timedelta(minutes=n)
            audit.record(AuditAction.USER_SIGN_IN, "user", comms.id, actor=comms)
        db.session().commit()

    def month_checked(year: int, month: int) -> tuple[int, int]:
        period = report_figures.period_of(year, month, now=utc(2025, 12, 1))
        head_seq = report_figures.audit_figures(period)["head_seq"]
        check = report_figures.chain_check(period, head_seq)
        assert check.ok, check.describe()
        with count_queries() as counted:
            computed = report_figures.compute(year, month, now=utc(2025, 12, 1))
        assert computed["audit"]["chain_intact"] is True
        return check.checked, counted.n

    earlier, _hash = head()
    sign_ins(20, uk(2025, 1, 10))
    take_checkpoint(now=utc(2025, 2, 1))
    sign_ins(5, uk(2025, 3, 10))
    short = month_checked(2025, 3)
    sign_ins(200, uk(2025, 5, 10))
    take_checkpoint(now=utc(2025, 6, 1))
    sign_ins(5, uk(2025, 7, 10))
    long = month_checked(2025, 7)
    assert short == (5, long[1])
    assert long[0] == 5
    # With no checkpoint before the month, the check runs from the genesis (the people's own events
    # were recorded first, today).
    assert month_checked(2025, 1)[0] == earlier + 20


def test_a_month_rewritten_and_hidden_behind_a_later_checkpoint_is_still_found(
    app: Flask, people: dict[str, User], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An attacker with the database but not the audit key rewrites a March event, then moves the time of
    the event a later checkpoint signed (leaving its stored hash) to before March, so that checkpoint
    would be chosen as the start and the rewritten event skipped. The report still says the trail is
    broken: a checkpoint signed after the month began is never the start, and the start event's hash is
    worked out again from its fields."""
    comms = people["comms"]
    moment = [utc(2024, 1, 1)]
    monkeypatch.setattr(db, "utcnow", lambda: moment[0])

    def sign_ins(count: int, start: dt.datetime) -> None:
        for n in range(count):
            moment[0] = start + dt.timedelta(minutes=n)
            audit.record(AuditAction.USER_SIGN_IN, "user", comms.id, actor=comms)
        db.session().commit()

    def intact() -> bool:
        computed = report_figures.compute(2025, 3, now=utc(2025, 12, 1))
        return bool(computed["audit"]["chain_intact"])

    sign_ins(5, uk(2025, 1, 10))
    take_checkpoint(now=utc(2025, 2, 1))
    sign_ins(5, uk(2025, 3, 10))
    take_checkpoint(now=utc(2025, 3, 20))
    sign_ins(3, uk(2025, 3, 25))
    session = db.session()
    march = session.scalars(
        select(AuditEvent.seq)
        .where(AuditEvent.occurred_at >= utc(2025, 3, 1), AuditEvent.occurred_at < utc(2025, 4, 1))
        .order_by(AuditEvent.seq)
    ).all()
    rewritten, signed_on_the_20th = march[0], march[4]
    assert intact()

    connection = session.connection()
    if connection.dialect.name == "sqlite":
        connection.execute(text("DROP TRIGGER audit_events_no_update"))
    else:
        connection.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
    session.execute(update(AuditEvent).where(AuditEvent.seq == rewritten).values(actor="someone else"))
    assert not intact()
    session.execute(update(AuditEvent).where(AuditEvent.seq == signed_on_the_20th).values(occurred_at=utc(2025, 2, 15)))
    assert not intact()
