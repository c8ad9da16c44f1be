"""Demo logo and lozenge consents: one in each state, with generated artwork.

Called by ``registry.demo.seed`` (``flask --app wsgi demo seed``) inside its transaction.
Everything goes through the services, so the history, the audit trail and the messages
are real; only the expired example has its dates moved back afterwards, since no
request may start in the past.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from PIL import ImageDraw
from werkzeug.datastructures import FileStorage

from registry import clock, db
from registry.auth.models import User
from registry.consent import services
from registry.consent.models import LogoConsent
from registry.consent.services import ConsentRequest
from registry.lifecycle.demo import drawn_png

NHS_BLUE = (0, 94, 184)


def _artwork(name: str, caption: str, *, background: tuple[int, int, int] = (255, 255, 255)) -> FileStorage:
    """A draft poster: a title band in NHS Blue with a white block where the lozenge sits."""

    def poster(draw: ImageDraw.ImageDraw) -> None:
        draw.rectangle((0, 0, 640, 96), fill=NHS_BLUE)
        draw.rectangle((520, 24, 616, 72), fill=(255, 255, 255))
        draw.text((24, 40), caption, fill=(255, 255, 255))
        draw.text((24, 160), "Draft for the communications team", fill=(33, 43, 50))

    return drawn_png(name, (640, 400), background, poster)


def _ask(
    requester: User,
    title: str,
    *,
    asset: str,
    media: tuple[str, ...],
    department: str,
    purpose: str,
    audience: str,
    starts_in: int,
    lasts: int,
    partner: str | None = None,
) -> LogoConsent:
    start = clock.today() + dt.timedelta(days=starts_in)
    data = ConsentRequest(
        title=title,
        department=department,
        asset=asset,
        purpose=purpose,
        media=media,
        audience=audience,
        partner_involved=partner is not None,
        partner_name=partner or "",
        starts_on=start,
        ends_on=start + dt.timedelta(days=lasts),
    )
    slug = title.lower().replace(" ", "-").replace(",", "")[:40]
    return services.request_consent(data, [_artwork(f"{slug}.png", title[:40])], requester)


def seed_demo(requesters: Sequence[User], deciders: Sequence[User]) -> list[LogoConsent]:
    """Seven requests by ``requesters`` decided by ``deciders`` (who must not be requesters)."""
    staff, other = requesters[0], requesters[-1]
    first, second = deciders[0], deciders[-1]
    everything = [item.id for item in services.active_checklist()]
    made: list[LogoConsent] = []

    waiting = _ask(
        staff,
        "Antenatal classes leaflet",
        asset="nhs_lozenge",
        media=("print", "web"),
        department="Maternity",
        purpose="A leaflet for clinics inviting parents to antenatal classes.",
        audience="Expectant parents and their families.",
        starts_in=21,
        lasts=180,
    )
    made.append(waiting)

    open_day = _ask(
        staff,
        "Maternity open day banner",
        asset="both",
        media=("signage", "social_media"),
        department="Maternity",
        purpose="A banner and matching posts for the maternity unit's open day.",
        audience="Local families and the public.",
        starts_in=10,
        lasts=30,
        partner="Example Maternity Voices",
    )
    services.decide(
        open_day,
        "approve_with_conditions",
        first,
        checked=everything[:3],
        conditions="Show the partner's name in text only, not its logo, and keep the lozenge top right.",
    )
    made.append(open_day)

    careers = _ask(
        other,
        "Careers fair stand",
        asset="trust_logo",
        media=("signage", "merchandise"),
        department="Workforce",
        purpose="A pop-up stand and lanyards for the regional careers fair.",
        audience="Students and job seekers.",
        starts_in=5,
        lasts=60,
    )
    services.decide(careers, "approve", second, checked=everything, note="Looks good: print as supplied.")
    made.append(careers)

    soon = _ask(
        other,
        "Flu vaccination posters",
        asset="nhs_lozenge",
        media=("print", "signage"),
        department="Occupational Health",
        purpose="Posters for the staff flu vaccination campaign.",
        audience="Staff and volunteers.",
        starts_in=0,
        lasts=20,
    )
    services.decide(soon, "approve", first, checked=everything)
    made.append(soon)

    video = _ask(
        staff,
        "Physiotherapy exercise video",
        asset="nhs_lozenge",
        media=("video", "social_media"),
        department="Therapies",
        purpose="Short exercise videos for patients after knee surgery.",
        audience="Patients recovering at home.",
        starts_in=14,
        lasts=365,
    )
    services.decide(
        video,
        "request_changes",
        second,
        note="The lozenge is stretched in the end frame. Use the supplied file without resizing it.",
    )
    made.append(video)

    ward = _ask(
        other,
        "Ward 7 team logo",
        asset="trust_logo",
        media=("merchandise",),
        department="Surgery",
        purpose="A team logo for mugs and hoodies combining the Trust logo with a ward badge.",
        audience="Ward 7 staff.",
        starts_in=7,
        lasts=90,
    )
    services.decide(
        ward, "reject", first, note="No new logos for services or teams: use the Trust logo on its own, or plain text."
    )
    made.append(ward)

    summer = _ask(
        staff,
        "Summer fete programme",
        asset="nhs_lozenge",
        media=("print",),
        department="Charity",
        purpose="The programme for the hospital charity's summer fete.",
        audience="Visitors and families.",
        starts_in=0,
        lasts=10,
    )
    services.decide(summer, "approve", second, checked=everything)
    # Demo only: move last summer's consent into the past so the register shows an expired one.
    shift = dt.timedelta(days=150)
    summer.starts_on, summer.ends_on = summer.starts_on - shift, summer.ends_on - shift
    summer.expires_on = summer.ends_on
    made.append(summer)
    db.session().flush()
    return made


def seed(users: list[User], comms: list[User]) -> None:
    """The demo's examples: the first two of ``users`` (a member of staff and a manager) ask, ``comms`` act."""
    seed_demo(users[:2], comms)
