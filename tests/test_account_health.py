"""Account security health, per channel (issue 14): comms record checks of each official account on its
platform; each rule that fails puts the channel in "needs attention" with a plain message; checks fall
due on a schedule, join the reminders digest and the work queue; the inventory filters by health; the
home page and the Board report show the share of active channels that are healthy."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError

import config as registry_config
from registry import clock, db
from registry.account_health import services as health
from registry.account_health.models import HealthCheck
from registry.account_health.rules import Answers, SeedAnswer, TwoFactor
from registry.audit.models import AuditEvent
from registry.auth.models import User
from registry.channels import registration as channels
from registry.channels.models import Channel
from registry.errors import Conflict, Invalid, NotPermitted
from registry.notifications import reminders
from registry.reports import figures as report_figures
from registry.reports import services as reports
from registry.web import workqueue
from tests.conftest import Browser


@pytest.fixture
def app_settings() -> dict[str, Any]:
    return {"TRUST_EMAIL_DOMAINS": "nhs.net, example.nhs.uk", "INACTIVE_DAYS": "180", "HEALTH_CHECK_DAYS": "90"}


def good(**changes: Any) -> Answers:
    """Answers of a check where everything is as it should be, with ``changes``."""
    answers: dict[str, Any] = {
        "two_factor": TwoFactor.APP,
        "recovery_email_domain": "example.nhs.uk",
        "recovery_phone_trust": True,
        "password_matches": True,
        "seed": SeedAnswer.YES,
        "seen_live": True,
        "last_post_on": clock.today() - dt.timedelta(days=3),
        "roster_matches": True,
    }
    return Answers(**{**answers, **changes})


def form(**changes: str) -> dict[str, str]:
    """The check form as a browser sends it, everything as it should be, with ``changes``."""
    posted = clock.today() - dt.timedelta(days=3)
    fields = {
        "two_factor": "security_key",
        "recovery_email": "social.media@example.nhs.uk",
        "recovery_phone_trust": "yes",
        "password_matches": "yes",
        "seed": "none",
        "seen_live": "yes",
        "last_post_on[day]": str(posted.day),
        "last_post_on[month]": str(posted.month),
        "last_post_on[year]": str(posted.year),
        "roster_matches": "yes",
        "notes": "",
    }
    return {**fields, **changes}


def events_for(channel: Channel) -> list[AuditEvent]:
    statement = select(AuditEvent).where(
        AuditEvent.object_id == channel.reference, AuditEvent.action == "channel:health_check"
    )
    return list(db.session().execute(statement).scalars())


# --- configuration ------------------------------------------------------------------------------


def test_configuration_defaults_to_nhs_net_and_the_sign_in_domains(tmp_path: Path) -> None:
    plain = registry_config.load_settings({"ENV": "testing"}, tmp_path)
    assert plain.trust_email_domains == ("nhs.net",)
    assert (plain.inactive_days, plain.health_check_days) == (180, 90)
    with_provider = registry_config.load_settings(
        {
            "ENV": "testing",
            "OIDC_ISSUER": "https://login.example.test",
            "OIDC_CLIENT_ID": "registry",
            "OIDC_CLIENT_SECRET": "not-a-real-secret",
            "OIDC_ALLOWED_DOMAINS": "Example.NHS.uk",
        },
        tmp_path,
    )
    assert with_provider.trust_email_domains == ("nhs.net", "example.nhs.uk")
    given = registry_config.load_settings(
        {"ENV": "testing", "TRUST_EMAIL_DOMAINS": "@trust.nhs.uk,nhs.net", "INACTIVE_DAYS": "30"}, tmp_path
    )
    assert given.trust_email_domains == ("trust.nhs.uk", "nhs.net") and given.inactive_days == 30
    with pytest.raises(registry_config.ConfigError, match="REGISTRY_TRUST_EMAIL_DOMAINS entry 'localhost'"):
        registry_config.load_settings({"ENV": "testing", "TRUST_EMAIL_DOMAINS": "localhost"}, tmp_path)
    with pytest.raises(registry_config.ConfigError, match="REGISTRY_HEALTH_CHECK_DAYS must be a whole number"):
        registry_config.load_settings({"ENV": "testing", "HEALTH_CHECK_DAYS": "often"}, tmp_path)


# --- recording checks ---------------------------------------------------------------------------


RULES = [
    pytest.param(
        {"two_factor": TwoFactor.SMS, "seed": SeedAnswer.NONE},
        "two_factor_sms",
        "Two-factor sends codes by SMS text message, which is weak",
        id="sms is weak",
    ),
    pytest.param(
        {"two_factor": TwoFactor.OFF, "seed": SeedAnswer.NONE},
        "two_factor_off",
        "Two-factor authentication is off on the platform",
        id="two-factor off",
    ),
    pytest.param(
        {"recovery_email_domain": "gmail.com"},
        "recovery_email",
        "The recovery e-mail is at gmail.com, which the Trust does not control",
        id="recovery e-mail not the Trust's",
    ),
    pytest.param(
        # A look-alike of a Trust domain is not a subdomain of it.
        {"recovery_email_domain": "notexample.nhs.uk"},
        "recovery_email",
        "The recovery e-mail is at notexample.nhs.uk, which the Trust does not control",
        id="recovery e-mail at a look-alike domain",
    ),
    pytest.param(
        {"recovery_phone_trust": False},
        "recovery_phone",
        "The recovery phone is not owned by the Trust",
        id="recovery phone not the Trust's",
    ),
    pytest.param(
        {"password_matches": False},
        "password",
        "The password in custody was not confirmed to be the one the platform uses",
        id="password unconfirmed",
    ),
    pytest.param(
        {"seed": SeedAnswer.NO},
        "seed",
        "The authenticator seed in custody was not confirmed",
        id="seed unconfirmed",
    ),
    pytest.param(
        {"seed": SeedAnswer.NONE},
        "seed_missing",
        "Two-factor is by authenticator app, but no seed is in custody",
        id="app without a seed in custody",
    ),
    pytest.param({"seen_live": False}, "not_live", "The account was not seen live on the platform", id="not seen live"),
    pytest.param(
        {"last_post_on": clock.today() - dt.timedelta(days=181)},
        "inactive",
        "The last post was 181 days before the check. The NCSC advises closing accounts nobody uses",
        id="inactive beyond the days",
    ),
    pytest.param(
        {"roster_matches": False},
        "roster",
        "The administrators on the platform do not match the Registry's roster",
        id="roster mismatch",
    ),
]


@pytest.mark.parametrize(("changes", "code", "said"), RULES)
def test_each_rule_that_fails_needs_attention_with_a_plain_message(
    app: Flask,
    make_channel: Callable[..., Channel],
    make_user: Callable[..., User],
    changes: dict[str, Any],
    code: str,
    said: str,
) -> None:
    channel = make_channel("active")
    comms = make_user("comms")
    check = health.record_check(channel, good(**changes), comms)
    db.session().commit()

    assert channel.health == "needs_attention"
    assert check.problem_codes == [code]
    [finding] = health.findings(check)
    assert said in finding.text
    # Needs attention: due again at once, until a check finds it healthy.
    assert channel.health_due_at == check.checked_at == check.due_at
    [event] = events_for(channel)
    details = json.loads(event.details)
    assert details["from"] == "unchecked" and details["to"] == "needs_attention"
    assert details["problems"] == [code]
    assert event.actor_id == comms.id


def test_a_check_where_everything_is_right_is_healthy_and_due_again_after_the_interval(
    app: Flask, make_channel: Callable[..., Channel], make_user: Callable[..., User]
) -> None:
    channel = make_channel("active")
    assert channel.health == "unchecked" and health.latest(channel) is None
    comms = make_user("comms")
    # A subdomain of a Trust domain is the Trust's; 180 days without a post is not yet beyond 180.
    check = health.record_check(
        channel,
        good(recovery_email_domain="comms.example.nhs.uk", last_post_on=clock.today() - dt.timedelta(days=180)),
        comms,
    )
    db.session().commit()
    assert channel.health == "healthy" and check.problems == "" and health.findings(check) == []
    assert channel.health_due_at == check.checked_at + dt.timedelta(days=90)
    assert not health.is_due(channel)
    assert health.is_due(channel, check.checked_at + dt.timedelta(days=90))
    assert health.latest(channel) is check
    assert check.checked_by_id == comms.id

    # A check is never changed: the database refuses (a savepoint keeps the test's transaction).
    with pytest.raises(DBAPIError, match="account security checks are never changed"), db.session().begin_nested():
        db.session().execute(update(HealthCheck).where(HealthCheck.id == check.id).values(notes="edited"))

    # Checks are kept, newest first; the channel's state is the latest one's.
    later = health.record_check(channel, good(roster_matches=False), comms)
    assert [c.id for c in health.history(channel)] == [later.id, check.id]
    assert channel.health == "needs_attention"


def test_the_first_check_falls_due_an_interval_after_going_live_and_an_imported_account_at_once(
    app: Flask, make_channel: Callable[..., Channel], make_user: Callable[..., User]
) -> None:
    activated = make_channel("active")
    assert activated.health == "unchecked"
    assert activated.status_changed_at + dt.timedelta(days=89) < activated.health_due_at
    assert activated.health_due_at <= db.utcnow() + dt.timedelta(days=90)
    # An account brought in from the existing inventory was never checked: due from the start.
    owner = make_user("staff")
    imported = channels.import_channel(
        channels.ChannelRequest(
            platform="x",
            handle="trust_import_1",
            display_name="Imported account",
            department="Estates",
            purpose="Updates.",
            audience="Patients.",
            policy_acknowledged=True,
        ),
        owner,
        actor=make_user("comms"),
        note="In the inventory spreadsheet.",
        next_review_on=clock.today() + dt.timedelta(days=300),
    )
    db.session().commit()
    assert imported.health == "unchecked" and health.is_due(imported)


def test_a_check_is_refused_with_every_field_named_and_nothing_changes(
    app: Flask, make_channel: Callable[..., Channel], make_user: Callable[..., User]
) -> None:
    channel = make_channel("active")
    with pytest.raises(Invalid) as refused:
        health.parse(
            {"recovery_email": "not an address", "last_post_on": clock.today() + dt.timedelta(days=1)}, clock.today()
        )
    assert refused.value.errors == {
        "two_factor": "Select how two-factor authentication is set up on the platform",
        "seed": "Select whether the authenticator seed in custody gives the platform's codes",
        "recovery_phone_trust": "Select whether the recovery phone is owned by the Trust",
        "password_matches": "Select whether the password in custody is the one the platform uses",
        "seen_live": "Select whether you saw the account live on the platform",
        "roster_matches": "Select whether the platform's administrators match the roster",
        "recovery_email": "Enter the recovery e-mail's domain, such as nhs.net, or the whole address "
        "(only its domain is kept)",
        "last_post_on": "The date of the last post must be today or in the past",
    }
    # Only the domain of an address is kept.
    given = health.parse(
        {**{k: v for k, v in form().items() if "[" not in k}, "last_post_on": clock.today()}, clock.today()
    )
    assert given.recovery_email_domain == "example.nhs.uk"

    with pytest.raises(NotPermitted, match="Only the communications team"):
        health.record_check(channel, good(), make_user("auditor"))
    with pytest.raises(Conflict, match="only an official channel's account is checked"):
        health.record_check(make_channel("requested"), good(), make_user("comms"))
    db.session().rollback()
    assert health.history(channel) == [] and events_for(channel) == []
    assert channel.health == "unchecked"


# --- reminders, the work queue -------------------------------------------------------------------


def due_now(channel: Channel) -> None:
    """As if the channel's check interval had passed."""
    channel.health_due_at = db.utcnow() - dt.timedelta(days=1)


def test_due_checks_join_the_morning_digest_and_the_work_queue(
    app: Flask, make_channel: Callable[..., Channel], make_user: Callable[..., User], browser_as: Callable[..., Browser]
) -> None:
    comms = make_user("comms")
    fine, overdue, failing = make_channel("active"), make_channel("active"), make_channel("active")
    health.record_check(fine, good(), comms)
    due_now(overdue)
    health.record_check(failing, good(two_factor=TwoFactor.SMS, seed=SeedAnswer.NONE), comms)
    make_channel("requested")
    db.session().commit()

    lines = reminders.digest_lines(clock.today())
    assert lines["health_checks"].startswith("2 official channels are due an account security check")
    # The requests line counts requests only.
    assert lines["requests"].startswith("1 request waits for the communications team")

    work = workqueue.for_comms()
    assert work.by_kind["Account security check"] == 2
    checks = [item for item in work.page.items if item.kind == "Account security check"]
    assert [item.reference for item in checks] == [overdue.reference, failing.reference]  # longest due first
    assert [item.status_label for item in checks] == ["Never checked", "Needs attention"]
    assert checks[0].url == f"/channels/{overdue.reference}/health/check"

    page = browser_as(user=comms).get("/queue?kind=Account security check")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert overdue.reference in text and failing.reference in text and fine.reference not in text

    # A check found healthy takes it off the queue until the next interval.
    health.record_check(failing, good(), comms)
    db.session().commit()
    assert workqueue.for_comms().by_kind["Account security check"] == 1


def test_the_work_queue_runs_the_same_statements_for_2_and_12_due_checks(
    app: Flask,
    make_channel: Callable[..., Channel],
    browser_as: Callable[..., Browser],
    count_queries: Callable[[], Any],
) -> None:
    comms = browser_as("comms")

    def statements() -> dict[str, int]:
        counts = {}
        for path in ("/queue", "/queue?kind=Account security check", "/", "/channels?health=unchecked"):
            assert comms.get(path).status_code == 200
            with count_queries() as counted:
                assert comms.get(path).status_code == 200
            counts[path] = counted.n
        return counts

    for _ in range(2):
        due_now(make_channel("active"))
    db.session().commit()
    small = statements()
    for _ in range(10):
        due_now(make_channel("active"))
    db.session().commit()
    assert statements() == small
    assert workqueue.for_comms().by_kind["Account security check"] == 12


# --- the inventory ------------------------------------------------------------------------------


def test_the_inventory_and_the_api_filter_by_health(
    app: Flask,
    make_channel: Callable[..., Channel],
    make_user: Callable[..., User],
    browser_as: Callable[..., Browser],
    api_token: Callable[[User], dict[str, str]],
) -> None:
    comms = make_user("comms")
    healthy, attention, unchecked = (make_channel("active") for _ in range(3))
    health.record_check(healthy, good(), comms)
    health.record_check(attention, good(recovery_phone_trust=False), comms)
    db.session().commit()

    page = browser_as(user=comms).get("/channels?health=needs_attention").get_data(as_text=True)
    assert attention.reference in page and healthy.reference not in page and unchecked.reference not in page

    client = app.test_client()
    answer = client.get("/api/v1/channels?health=healthy", headers=api_token(make_user("auditor")))
    assert answer.status_code == 200
    assert [item["reference"] for item in answer.get_json()["items"]] == [healthy.reference]
    assert answer.get_json()["items"][0]["health"] == "healthy"
    refused = client.get("/api/v1/channels?health=sick", headers=api_token(comms))
    assert refused.status_code == 422 and "health" in refused.get_json()["errors"]
    # Staff see the official channels, but not how secure their accounts are.
    staff_headers = api_token(make_user("staff"))
    staff = client.get("/api/v1/channels?health=healthy", headers=staff_headers)
    assert staff.status_code == 403
    shown = client.get(f"/api/v1/channels/{attention.reference}", headers=staff_headers).get_json()
    assert shown["reference"] == attention.reference and shown.get("health") is None


# --- the pages ----------------------------------------------------------------------------------


def test_comms_record_a_check_through_the_form_and_everyone_who_reads_sees_it(
    app: Flask, make_channel: Callable[..., Channel], browser_as: Callable[..., Browser]
) -> None:
    channel = make_channel("active")
    comms = browser_as("comms")
    path = f"/channels/{channel.reference}/health/check"

    refused = comms.post(path, data={"recovery_email": "gmail.com"})
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "There is a problem" in text and "Enter the date of the account&#39;s last post" in text
    assert health.history(channel) == []

    future = clock.today() + dt.timedelta(days=2)
    refused = comms.post(
        path,
        data=form(
            **{
                "last_post_on[day]": str(future.day),
                "last_post_on[month]": str(future.month),
                "last_post_on[year]": str(future.year),
            }
        ),
    )
    assert refused.status_code == 422
    assert "The date of the last post must be today or in the past" in refused.get_data(as_text=True)

    done = comms.post(path, data=form(two_factor="sms", recovery_email="someone@gmail.com"))
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/channels/{channel.reference}/health")
    [check] = health.history(channel)
    assert check.recovery_email_domain == "gmail.com"  # never the address
    assert check.problem_codes == ["two_factor_sms", "recovery_email"]

    for reader in (comms, browser_as("auditor")):
        history = reader.get(f"/channels/{channel.reference}/health").get_data(as_text=True)
        assert "Needs attention" in history and "which the Trust does not control" in history
        detail = reader.get(f"/channels/{channel.reference}").get_data(as_text=True)
        assert "Account security" in detail and "Two-factor sends codes by SMS text message" in detail
    # Only comms are offered the form; staff see nothing of it on the channel's page.
    assert "Record a check" not in browser_as("auditor").get(f"/channels/{channel.reference}").get_data(as_text=True)
    assert "Account security" not in browser_as("staff").get(f"/channels/{channel.reference}").get_data(as_text=True)


# --- the home page and the Board report ------------------------------------------------------------


def test_the_home_page_and_the_board_report_show_the_share_of_active_channels_healthy(
    app: Flask, make_channel: Callable[..., Channel], make_user: Callable[..., User], browser_as: Callable[..., Browser]
) -> None:
    comms = make_user("comms")
    channels = [make_channel("active") for _ in range(4)]
    health.record_check(channels[0], good(), comms)
    health.record_check(channels[1], good(), comms)
    health.record_check(channels[2], good(seen_live=False), comms)
    make_channel("suspended")  # official, but not active: not in the share
    db.session().commit()

    share = health.share()
    assert (share.healthy, share.needs_attention, share.unchecked, share.percent_healthy) == (2, 1, 1, 50)

    browser = browser_as(user=comms)
    home = browser.get("/").get_data(as_text=True)
    assert "50% of the 4 active channels healthy" in home
    chart = browser.get("/charts/channels-by-health.svg")
    assert chart.status_code == 200 and chart.mimetype == "image/svg+xml"
    assert "50% healthy" in chart.get_data(as_text=True)

    today = clock.today()
    computed = report_figures.compute(today.year, today.month)
    assert computed["account_health"] == {
        "active": 4,
        "healthy": 2,
        "needs_attention": 1,
        "unchecked": 1,
        "percent_healthy": 50,
        "checks": 3,
        "checks_needing_attention": 1,
    }
    month = f"{today.year:04d}-{today.month:02d}"
    reports.generate(month, comms)
    db.session().commit()
    svg = browser.get(f"/reports/{month}/charts/account_health.svg").get_data(as_text=True)
    assert "<pattern" in svg and "50% healthy" in svg and "Needs attention" in svg
    page = browser.get(f"/reports/{month}").get_data(as_text=True)
    assert "Account security of the official channels" in page
    assert "Active channels whose account is healthy (per cent)" in page
