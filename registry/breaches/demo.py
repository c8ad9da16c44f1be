"""Demo breach reports: one in each state, with a generated screenshot as evidence.

Called by ``registry.demo.seed`` (``flask --app wsgi demo seed``) inside its transaction, after
the people exist. Everything goes through the services, so the history, the audit trail and
the messages are real. It records ``manager`` as ``staff``'s line manager.
"""

from __future__ import annotations

from PIL import ImageDraw
from werkzeug.datastructures import FileStorage

from registry import db
from registry.audit.services import Actor
from registry.auth import managers
from registry.auth.models import User
from registry.breaches import services
from registry.breaches.models import BreachReport
from registry.breaches.services import BreachAnswers, SubjectKind
from registry.lifecycle.demo import drawn_png


def _screenshot(name: str, caption: str) -> FileStorage:
    """A made-up screenshot of a post: a grey card with a line of text."""

    def card(draw: ImageDraw.ImageDraw) -> None:
        draw.rectangle((16, 16, 584, 224), fill=(255, 255, 255), outline=(174, 183, 189))
        draw.ellipse((32, 32, 80, 80), fill=(0, 94, 184))
        draw.text((96, 44), "Personal account", fill=(33, 43, 50))
        draw.text((32, 112), caption, fill=(33, 43, 50))

    return drawn_png(name, (600, 240), (240, 244, 245), card)


def seed_demo(staff: User, manager: User, reporters: list[User], comms: list[User]) -> list[BreachReport]:
    """Five reports by ``reporters`` (not ``staff`` or ``manager``): with ``manager`` (flagged), to
    route, escalated to HR, resolved informally, and closed by comms as no matter for a manager."""
    managers.set_line_manager(staff, manager, actor=Actor.system("demo seed"))
    first, second = reporters[0], reporters[-1]
    about_staff = {"subject_kind": SubjectKind.USER, "subject_user": staff.email}
    made: list[BreachReport] = []

    made.append(
        services.report_breach(
            BreachAnswers(
                account=f"{staff.name} on X",
                link="https://x.com/example_person/status/1790000000000000001",
                description="A post complaining about a named colleague on the ward, visible to the public.",
                clauses=("6.13", "6.3"),
                reputational_risk=True,
                **about_staff,
            ),
            [_screenshot("post-about-colleague.png", "Cannot believe who is on shift again...")],
            first,
        )
    )

    made.append(
        services.report_breach(
            BreachAnswers(
                account="'Example NHS Night Staff' on Facebook",
                link="https://www.facebook.com/groups/examplenightstaff",
                description="A group using the Trust logo as its picture and describing itself as the Trust's "
                "night team.",
                clauses=("6.7", "6.8"),
                reputational_risk=False,
                subject_kind=SubjectKind.UNKNOWN,
            ),
            [],
            second,
        )
    )

    escalated = services.report_breach(
        BreachAnswers(
            account=f"{staff.name} on TikTok",
            link="https://www.tiktok.com/@example.person/video/7300000000000000001",
            description="A video filmed on the ward in which a patient's room number and bed can be seen.",
            clauses=("6.11",),
            reputational_risk=False,
            **about_staff,
        ),
        [_screenshot("video-still.png", "Night shift vlog, part 3")],
        first,
    )
    services.take(
        escalated,
        "escalate",
        manager,
        note="A second confidentiality concern this year; the first was resolved informally in March.",
    )
    made.append(escalated)

    resolved = services.report_breach(
        BreachAnswers(
            account=f"{staff.name} on LinkedIn",
            link="https://www.linkedin.com/in/example-person",
            description="A profile saying they speak for the Trust on staffing matters.",
            clauses=("6.4", "6.10"),
            reputational_risk=False,
            **about_staff,
        ),
        [],
        second,
    )
    services.take(
        resolved,
        "resolve",
        manager,
        note="Talked it through; the profile now says the views are personal. No further action.",
    )
    made.append(resolved)

    closed = services.report_breach(
        BreachAnswers(
            account="@ExampleNHSFan on X",
            link="https://x.com/ExampleNHSFan",
            description="An account posting hospital news with the NHS lozenge in its banner.",
            clauses=("6.8",),
            reputational_risk=False,
            subject_kind=SubjectKind.OTHER,
            subject_name="A member of the public, not staff",
        ),
        [],
        first,
    )
    router = next(person for person in comms if person.id != first.id)
    services.take(
        closed,
        "close",
        router,
        note="Not a member of staff: recorded in monitoring as an unauthorised account instead.",
    )
    made.append(closed)
    db.session().flush()
    return made


def seed(users: list[User], comms: list[User]) -> None:
    """The demo's cases: about the first of ``users`` (a member of staff), whose line manager is the second;
    ``comms`` report and route them."""
    seed_demo(users[0], users[1], comms, comms)
