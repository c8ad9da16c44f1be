"""A realistic demo data set: one user per role, a year of history (``registry.demo_history``: channels,
custody, consents, posts, media contacts, breach cases, monitoring, access reviews and account checks,
each step taken as of its day), then every kind of request's present-day examples (each kind's own
``demo`` module), secrets and rosters for the live channels, monitoring findings.

Everything goes through the services, so the history and the audit trail are
real. Passwords are random, written once to ``instance/demo-sign-ins.txt``.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import secrets
import time
from pathlib import Path

import click
from sqlalchemy import func, select

from registry import clock, db
from registry.account_health import services as account_health
from registry.account_health.rules import Answers, SeedAnswer, TwoFactor
from registry.audit.services import Actor
from registry.auth import managers, mfa, setup_links
from registry.auth import services as accounts
from registry.auth.models import SetupReason, User
from registry.auth.permissions import TWO_FACTOR_ROLES, Role
from registry.channels.models import Channel
from registry.lifecycle.kind import kinds
from registry.monitoring import services as monitoring
from registry.roster import services as roster
from registry.vault import services as custody

SIGN_INS_FILE = "demo-sign-ins.txt"

PEOPLE = [
    ("priya.shah@example.nhs.uk", "Priya Shah", ["staff"], "Ward sister, maternity"),
    ("tom.hughes@example.nhs.uk", "Tom Hughes", ["manager"], "Line manager, outpatients"),
    ("alex.morgan@example.nhs.uk", "Alex Morgan", ["comms"], "Communications manager"),
    ("jordan.lee@example.nhs.uk", "Jordan Lee", ["comms"], "Digital communications officer"),
    ("chris.taylor@example.nhs.uk", "Chris Taylor", ["auditor"], "Internal audit"),
    ("morgan.price@example.nhs.uk", "Morgan Price", ["admin"], "System administrator"),
    ("sasha.green@example.nhs.uk", "Sasha Green", ["hr"], "HR business partner"),
    ("dev.patel@example.nhs.uk", "Dev Patel", ["on-call"], "Duty manager, out of hours (break-glass access)"),
    # A second administrator: giving a privileged role needs two (the four-eyes rule).
    ("sam.okafor@example.nhs.uk", "Sam Okafor", ["admin"], "Deputy system administrator"),
]


def _has_data() -> bool:
    return db.session().execute(select(func.count()).select_from(User)).scalar_one() > 0


def seed(instance_path: Path) -> bool:
    """Load the demo set into an empty database; False (and no change) when it has users."""
    if _has_data():
        return False
    # Only here: the history draws its images with Pillow, which a start of the app must not load.
    from registry import demo_history

    began = time.monotonic()
    system = Actor.system("demo seed")
    now = clock.now()
    lines = ["Demo sign-ins (development only):"]
    users: list[User] = []
    click.echo("Demo: the people, a year ago", err=True)
    with clock.as_of(now - dt.timedelta(days=demo_history.DAYS + 1)):
        for email, name, roles, job in PEOPLE:
            password = secrets.token_urlsafe(12)
            users.append(accounts.create_user(email=email, name=name, roles=roles, password=password, actor=system))
            lines.append(f"  {', '.join(roles):<8} {email:<32} {password}   ({job})")
        managers.set_line_manager(users[0], users[1], actor=system)
    comms = [users[2], users[3]]
    click.echo("Demo: a year of history, month by month", err=True)
    people = demo_history.People(staff=users[0], manager=users[1], comms=comms, auditor=users[4], hr=users[6])
    demo_history.plan(people, now).play()
    click.echo("Demo: today's examples of every kind", err=True)
    for kind in sorted(kinds(), key=lambda kind: kind.demo_order):
        kind.seed_demo(users, comms)
    _custody_and_rosters(users, comms)
    _account_security(comms)
    monitoring.record_finding(
        platform="x",
        url="https://x.com/ExampleNHS_Help",
        found_on=None,
        actor=comms[0],
        evidence="Uses the Trust name and NHS lozenge in its profile picture; posts appointment 'offers'.",
    )
    finding = monitoring.record_finding(
        platform="",
        url="https://www.facebook.com/ExampleNHSMaternityGroup",
        found_on=None,
        actor=comms[1],
        evidence="A group called 'Example NHS Maternity' set up by a former member of staff in 2019.",
    )
    monitoring.move(finding, "request_takedown", "Reported to Facebook as impersonation, report 118-2207.", comms[1])
    finding = monitoring.record_finding(
        platform="instagram",
        url="instagram.com/examplenhs.jobs",
        found_on=None,
        actor=comms[0],
        evidence="Advertises jobs at the Trust and asks for a fee to apply.",
    )
    monitoring.move(finding, "taken_down", "Profile no longer exists; checked today.", comms[0])
    _write_sign_ins(instance_path, "\n".join(lines) + "\n")
    click.echo(f"Demo: done in {time.monotonic() - began:.1f} s", err=True)
    return True


def _account_security(comms: list[User]) -> None:
    """Account security checks of the first live channels: two healthy, one whose two-factor is by SMS
    and has not posted for months (in the work queue at once); the others never checked yet."""
    live = [c for c in channels_in("active")]
    today = clock.today()

    def answers(**changes: object) -> Answers:
        given: dict[str, object] = {
            "two_factor": TwoFactor.APP,
            "recovery_email_domain": "nhs.net",
            "recovery_phone_trust": True,
            "password_matches": True,
            "seed": SeedAnswer.YES,
            "seen_live": True,
            "last_post_on": today - dt.timedelta(days=2),
            "roster_matches": True,
        }
        return Answers(**{**given, **changes})  # type: ignore[arg-type]

    account_health.record_check(live[0], answers(notes="Security key added as a second method."), comms[0])
    account_health.record_check(live[1], answers(), comms[1])
    account_health.record_check(
        live[2],
        answers(
            two_factor=TwoFactor.SMS,
            seed=SeedAnswer.NONE,
            last_post_on=today - dt.timedelta(days=200),
            notes="Codes go to the old team mobile; moving to an authenticator app next week.",
        ),
        comms[0],
    )


def _custody_and_rosters(users: list[User], comms: list[User]) -> None:
    """Secrets and administrators for the live channels, and an access review under way."""
    live = [c for c in channels_in("active")][:4]
    for channel in live:
        custody.store(channel, "password", custody.generate_password(24), "Taking custody at set-up.", comms[0])
        custody.store(
            channel, "recovery_email", "social.media@example.nhs.uk", "Recovery goes to the team mailbox.", comms[0]
        )
        custody.store(
            channel,
            "totp_seed",
            base64.b32encode(secrets.token_bytes(20)).decode("ascii"),
            "Two-factor set up on the account; the seed is kept here so the team can sign in.",
            comms[0],
        )
        roster.grant(channel, email=comms[0].email, platform_role="owner", actor=comms[1])
        roster.grant(channel, email=comms[1].email, platform_role="admin", actor=comms[0])
    custody.store(
        live[0],
        "notes",
        "The hardware security key is in the comms office safe, envelope 3.",
        "Where the backup key is kept.",
        comms[0],
    )
    maternity = next(c for c in channels_in("active") if c.department == "Maternity")
    roster.grant(maternity, email=users[0].email, platform_role="editor", actor=comms[0])
    roster.grant(
        live[1],
        email="jo@brightagency.example",
        name="Jo Bright",
        organisation="Bright Agency Ltd",
        platform_role="editor",
        expires_on=clock.today() + dt.timedelta(days=20),
        actor=comms[0],
    )
    roster.start_review(
        title="Quarterly access review",
        channel_ids=[c.id for c in live[:2]],
        due_on=clock.today() + dt.timedelta(days=14),
        actor=comms[0],
    )


def channels_in(status: str) -> list[Channel]:
    return list(
        db.session().execute(select(Channel).where(Channel.status == status).order_by(Channel.id)).unique().scalars()
    )


def _write_sign_ins(instance_path: Path, text: str) -> None:
    instance_path.mkdir(parents=True, exist_ok=True)
    path = instance_path / SIGN_INS_FILE
    if path.exists():
        path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def sign_ins_text(instance_path: Path, actor: Actor) -> str:
    """The demo sign-ins: each person's role, e-mail address and password, which roles need an authenticator
    app and how to set one up, and a fresh set-up link for each privileged demo user who has not yet set up
    two-factor sign-in (for them the password alone is not enough: the link stands in for their e-mail).
    Each link is issued (and audited) anew; earlier ones stop working."""
    path = instance_path / SIGN_INS_FILE
    if not path.exists():
        return "No demo sign-ins: run `flask --app wsgi demo seed` on an empty database first."
    two_factor = sorted(role.value for role in TWO_FACTOR_ROLES)
    password_only = sorted(role.value for role in Role if role not in TWO_FACTOR_ROLES)
    lines = []
    for line in path.read_text(encoding="utf-8").rstrip("\n").splitlines():
        person = next((accounts.find_user(p[0]) for p in PEOPLE if p[0] in line.split()), None)
        if person is not None and mfa.requires_two_factor(person):
            line += "   [authenticator app]"
        lines.append(line)
    lines += [
        "",
        f"Roles that need an authenticator app (two-factor sign-in): {', '.join(two_factor)}.",
        f"Roles that sign in with the password alone: {', '.join(password_only)}.",
    ]
    links = []
    for email, name, roles, _job in PEOPLE:
        user = accounts.find_user(email)
        if user is None or not user.active or not mfa.requires_two_factor(user) or mfa.is_enrolled(user):
            continue
        link = setup_links.issue(user, SetupReason.OPERATOR, actor=actor, send=False)
        links.append(f"  {name:<14} {', '.join(roles):<8} {setup_links.address(link)}")
    if links:
        lines += [
            "",
            "To sign in as one of them the first time (once per person):",
            "  1. Install an authenticator app on your phone: Microsoft Authenticator, Google Authenticator or any",
            "     app for six-digit time-based codes (TOTP), such as 2FAS, Aegis or FreeOTP; or on a computer,",
            "     KeePassXC or 1Password.",
            "  2. Open the person's set-up link below (it works once, for 24 hours) and enter their password above.",
            "  3. Scan the QR code on that page with the app (or type in the key shown under it), then enter the",
            "     six-digit code the app shows.",
            "  4. Later sign-ins: e-mail and password, then the app's current code.",
            "  A second browser or a private window lets you be two people at once (a request and its decision).",
            "  Run `flask --app wsgi demo sign-ins` again for fresh links; earlier ones stop working.",
            "Set-up links:",
            *links,
        ]
    lines += ["", "Open http://127.0.0.1:5000 and sign in with one of these."]
    return "\n".join(lines)
