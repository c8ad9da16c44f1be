"""Demo media contacts: one in each status, with a generated screenshot.

Called by ``registry.demo.seed`` (``flask --app wsgi demo seed``) inside its transaction, as
``seed_demo([staff, manager], [comms, comms])``. Everything goes through the services, so the
history, the audit trail and the messages are real.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from PIL import ImageDraw
from werkzeug.datastructures import FileStorage

from registry import db
from registry.auth.models import User
from registry.lifecycle.demo import drawn_png
from registry.media import services
from registry.media.models import MediaContact


def _screenshot(name: str, lines: Sequence[str]) -> FileStorage:
    """A direct message as a phone would show it: a header band and a speech bubble."""

    def message(draw: ImageDraw.ImageDraw) -> None:
        draw.rectangle((0, 0, 360, 40), fill=(33, 43, 50))
        draw.text((12, 14), "Direct message", fill=(255, 255, 255))
        draw.rounded_rectangle((12, 56, 348, 64 + 18 * len(lines)), radius=8, fill=(255, 255, 255))
        for n, line in enumerate(lines):
            draw.text((20, 62 + 18 * n), line, fill=(33, 43, 50))

    return drawn_png(name, (360, 240), (240, 244, 245), message)


def _log(
    reporter: User,
    *,
    hours_ago: float,
    platform: str,
    outlet: str | None,
    journalist: str | None,
    enquiry: str,
    link: str = "",
    deadline_in: float | None = None,
    screenshot: Sequence[str] = (),
) -> MediaContact:
    contacted = db.utcnow() - dt.timedelta(hours=hours_ago)
    data = services.Approach(
        platform=platform,
        outlet=outlet or "",
        journalist=journalist or "",
        contacted_at=contacted,
        deadline_at=contacted + dt.timedelta(hours=deadline_in) if deadline_in is not None else None,
        enquiry=enquiry,
        link=link,
        not_responded=True,
    )
    files = [_screenshot("message.png", screenshot)] if screenshot else []
    return services.log_approach(data, files, reporter)


def seed_demo(reporters: Sequence[User], triagers: Sequence[User]) -> list[MediaContact]:
    """Five approaches logged by ``reporters`` and triaged by ``triagers`` (who must not be reporters)."""
    staff, other = reporters[0], reporters[-1]
    first, second = triagers[0], triagers[-1]
    made: list[MediaContact] = []

    made.append(
        _log(
            staff,
            hours_ago=1,
            platform="x",
            outlet="Evening Chronicle",
            journalist="Alex Reporter",
            enquiry="Asked whether the maternity unit is closing to new admissions this weekend, and for a comment.",
            link="https://x.com/messages/1234567890",
            deadline_in=6,
            screenshot=("Hi, I'm writing a piece on the maternity", "unit. Is it closing this weekend?"),
        )
    )

    acknowledged = _log(
        other,
        hours_ago=5,
        platform="facebook",
        outlet="Radio Example",
        journalist=None,
        enquiry="A producer asked if I would talk on air about working nights on the wards.",
        screenshot=("Would you come on the breakfast show", "to talk about night shifts?"),
    )
    services.triage(acknowledged, "acknowledge", first, note="Checking with the ward manager first.")
    made.append(acknowledged)

    advised = _log(
        staff,
        hours_ago=26,
        platform="linkedin",
        outlet="Health Service Weekly",
        journalist="Sam Writer",
        enquiry="Asked for my views on the new electronic patient record system for a feature.",
        link="https://www.linkedin.com/in/sam-writer-example",
        deadline_in=72,
    )
    services.triage(
        advised,
        "advise",
        second,
        advice="Thank you for checking. Please do not give a view on the record system: reply that the "
        "communications team handles media enquiries, and pass on press@example.nhs.uk.",
    )
    made.append(advised)

    responding = _log(
        other,
        hours_ago=50,
        platform="instagram",
        outlet="Daily Example",
        journalist="Jo Columnist",
        enquiry="Asked about a patient complaint posted online about waiting times in A&E.",
        link="https://www.instagram.com/direct/t/example",
        deadline_in=24,
    )
    services.triage(responding, "acknowledge", first)
    services.triage(
        responding,
        "respond",
        first,
        advice="Do not reply. We will answer the journalist on the Trust's behalf today.",
        note="Statement agreed with the A&E clinical director.",
    )
    made.append(responding)

    closed = _log(
        staff,
        hours_ago=24 * 9,
        platform="tiktok",
        outlet=None,
        journalist="Freelance video journalist",
        enquiry="Asked to film a day in the life of the pharmacy team.",
        screenshot=("Love your videos! Could I film", "a day with the pharmacy team?"),
    )
    services.triage(
        closed,
        "advise",
        second,
        advice="Filming on Trust premises needs the communications team's approval: we will contact them.",
    )
    services.triage(closed, "close", second, note="Declined politely: no filming in clinical areas this year.")
    made.append(closed)
    return made


def seed(users: list[User], comms: list[User]) -> None:
    """The demo's examples: the first two of ``users`` (a member of staff and a manager) ask, ``comms`` act."""
    seed_demo(users[:2], comms)
