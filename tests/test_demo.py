"""The demo seed: a year of history made through the services as of each step's day, so last month's
Board report and the 12-month trends have content, the queue has items that have waited for weeks, every
state of every kind of request appears, and the audit chain verifies; and the sign-ins a newcomer needs.

One seed for all the checks (it is the slow part): the demo's year is about 650 steps.
"""

from __future__ import annotations

import datetime as dt
import json
import re

from click.testing import Result
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from registry import clock, db
from registry.audit.models import AuditAnchor, AuditEvent
from registry.auth.models import User
from registry.auth.permissions import TWO_FACTOR_ROLES, Role
from registry.breaches.models import BreachReport
from registry.breaches.workflow import BreachStatus
from registry.channels.models import Channel
from registry.channels.workflow import ChannelStatus
from registry.consent.models import LogoConsent
from registry.consent.workflow import ConsentStatus
from registry.media.models import MediaContact
from registry.media.workflow import MediaContactStatus
from registry.monitoring.models import FindingStatus, UnauthorisedAccount
from registry.posts.models import PromotionalPost
from registry.posts.workflow import PostStatus
from registry.vault.models import CredentialReveal, CredentialVersion

KINDS = [
    (Channel, ChannelStatus),
    (PromotionalPost, PostStatus),
    (LogoConsent, ConsentStatus),
    (MediaContact, MediaContactStatus),
    (BreachReport, BreachStatus),
    (UnauthorisedAccount, FindingStatus),
]


def invoke(app: Flask, *args: str) -> Result:
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args))


def totals(connection: Connection) -> dict[str, int]:
    counted = {model.__tablename__: model for model, _status in KINDS}
    counted |= {"users": User, "reveals": CredentialReveal, "versions": CredentialVersion}
    result = {
        name: connection.execute(select(func.count()).select_from(model)).scalar_one()
        for name, model in counted.items()
    }
    result["events"] = connection.execute(select(AuditAnchor.seq)).scalar_one()
    return result


def previous_month(today: dt.date) -> str:
    first = today.replace(day=1) - dt.timedelta(days=1)
    return f"{first:%Y-%m}"


def test_a_year_of_real_history_fills_last_months_report_and_signs_in_every_role(
    app: Flask, connection: Connection
) -> None:
    seeded = invoke(app, "demo", "seed")

    assert seeded.exit_code == 0, seeded.output
    assert seeded.stdout == "Demo data loaded.\n"
    # Progress on stderr: a line per month of the year, ending with the time it took.
    months = re.findall(r"^  (\d{4}-\d{2}): \d+ steps", seeded.stderr, re.MULTILINE)
    assert len(months) >= 12 and months == sorted(months)
    assert re.search(r"done in \d+\.\d s", seeded.stderr)

    for model, status in KINDS:
        found = set(connection.execute(select(model.status).distinct()).scalars())
        assert found == {s.value for s in status}, model.__name__

    # Spread over the year: steps a year ago, and each step's audit event at the moment it happened.
    now = db.utcnow()
    oldest = connection.execute(select(func.min(AuditEvent.occurred_at))).scalar_one()
    assert oldest.replace(tzinfo=dt.UTC) <= now - dt.timedelta(days=360)
    times = list(connection.execute(select(AuditEvent.occurred_at).order_by(AuditEvent.seq)).scalars())
    assert times == sorted(times)
    # Custody in use: passwords revealed and rotated over the months.
    reveals = connection.execute(select(CredentialReveal.occurred_at).where(CredentialReveal.action == "reveal"))
    assert len({moment.strftime("%Y-%m") for moment in reveals.scalars()}) >= 6
    # Comms' queue: channel requests that have waited for more than a fortnight.
    waiting = connection.execute(
        select(func.count())
        .select_from(Channel)
        .where(Channel.status == "requested", Channel.created_at < now - dt.timedelta(days=14))
    ).scalar_one()
    assert waiting >= 1

    verified = invoke(app, "audit", "verify")
    assert verified.exit_code == 0, verified.output

    before = totals(connection)
    again = invoke(app, "demo", "seed")
    assert again.exit_code == 0
    assert again.stdout == "Demo data already present: nothing changed.\n"
    assert totals(connection) == before

    report = invoke(app, "report", "generate", previous_month(clock.today()), "--format", "json")
    assert report.exit_code == 0, report.output
    figures = json.loads(report.stdout)
    assert figures["requests"]["channel"]["received"] > 0
    assert figures["channels"]["by_status"]["active"] > 10
    assert figures["promotional_posts"]["published"] > 0
    assert figures["media_contacts"]["logged"] > 0
    assert figures["breaches"]["opened"] > 0
    trends = figures["trends"]
    assert len(trends["months"]) == 12
    assert sum(1 for n in trends["requests_received"] if n > 0) >= 11
    assert trends["channels_official"][-1] > trends["channels_official"][0]

    sign_ins_name_every_role_and_say_which_need_an_authenticator_app(app)


def sign_ins_name_every_role_and_say_which_need_an_authenticator_app(app: Flask) -> None:
    """Every role in SPEC's table can be tried from the printed sign-ins alone."""
    printed = invoke(app, "demo", "sign-ins").stdout

    rows = {line.split()[1]: line for line in printed.splitlines() if "@example.nhs.uk" in line and "http" not in line}
    roles_shown = {line.split()[0].rstrip(",") for line in rows.values()}
    assert roles_shown == {role.value for role in Role}
    for email, line in rows.items():
        role = Role(line.split()[0].rstrip(","))
        assert ("[authenticator app]" in line) == (role in TWO_FACTOR_ROLES), email
        assert re.search(r"\S{16}", line.split(email, 1)[1])  # the password
    needing = re.search(r"need an authenticator app \(two-factor sign-in\): (.+)\.$", printed, re.MULTILINE)
    assert needing is not None
    assert set(needing.group(1).split(", ")) == {role.value for role in TWO_FACTOR_ROLES}
    assert "Install an authenticator app" in printed and "Scan the QR code" in printed
    links = re.findall(r"^  .+ (\S+) +http://127\.0\.0\.1:5000/account/set-up/\S+$", printed, re.MULTILINE)
    assert {Role(role) for role in links} == set(TWO_FACTOR_ROLES)


def test_as_of_sets_every_now_and_today_and_puts_them_back(app: Flask) -> None:
    moment = dt.datetime(2025, 6, 30, 23, 30, tzinfo=dt.UTC)  # already 1 July in the UK (summer time)
    real = db.utcnow()
    with clock.as_of(moment):
        assert db.utcnow() == moment
        assert clock.today() == dt.date(2025, 7, 1)
        with clock.as_of(moment + dt.timedelta(days=1)):
            assert clock.today() == dt.date(2025, 7, 2)
        assert db.utcnow() == moment
    assert db.utcnow() >= real
