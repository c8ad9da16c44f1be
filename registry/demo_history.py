"""A year of the demo's history, played through the services as of the moment each step happened.

Each story (a channel's life, a post, a breach case …) is planned first: its steps and the
working-day moments they happen at, drawn from a seeded random generator, so every run plans
the same year. All the steps of all the stories are then taken in time order, each inside
:func:`registry.clock.as_of` its moment, so the requests' steps, the audit chain and the
notifications carry the times they describe and the chain verifies. A step that would fall
after now is not taken, and nor are the story's later steps: that item is still waiting,
for as long as it has been waiting.
"""

from __future__ import annotations

import base64
import datetime as dt
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import click
from flask import g
from werkzeug.datastructures import FileStorage

from registry import clock, db
from registry.account_health import services as account_health
from registry.account_health.rules import Answers, SeedAnswer, TwoFactor
from registry.auth.models import User
from registry.breaches import services as breaches
from registry.breaches.services import BreachAnswers, SubjectKind
from registry.channels import demo as channel_demo
from registry.channels import services as channels
from registry.channels.models import Channel
from registry.consent import services as consents
from registry.consent.services import ConsentRequest
from registry.lifecycle.demo import drawn_png
from registry.media import services as media
from registry.monitoring import services as monitoring
from registry.posts import services as posts
from registry.roster import services as roster
from registry.roster.reviews import four_eyes_blocks, items_of
from registry.vault import reveals
from registry.vault import services as custody

#: One step of a story: a call to a service (what it returns is not needed).
Step = Callable[[], object]

#: The same year every time.
SEED = 2026
DAYS = 365


@dataclass(frozen=True)
class People:
    """The demo's people by part: a member of staff and their line manager, comms, HR, audit."""

    staff: User
    manager: User
    comms: list[User]
    auditor: User
    hr: User

    def other_comms(self, person: User) -> User:
        return next(c for c in self.comms if c.id != person.id)


@dataclass
class Story:
    """One item's life: the steps that make it, each at its moment, in order."""

    steps: list[tuple[dt.datetime, Step]] = field(default_factory=list)
    item: dict[str, Any] = field(default_factory=dict)


class Year:
    """The plan: stories of steps at working-day moments between ``start`` and ``end``."""

    def __init__(self, end: dt.datetime, rng: random.Random) -> None:
        self.end = end
        self.start = end - dt.timedelta(days=DAYS)
        self.rng = rng
        self.stories: list[Story] = []

    def day(self, offset: float) -> dt.datetime:
        """A working-hours moment (UK time) ``offset`` days into the year, moved off weekends."""
        date = (self.start.astimezone(clock.LONDON) + dt.timedelta(days=offset)).date()
        while date.weekday() >= 5:
            date += dt.timedelta(days=1)
        minutes = self.rng.randrange(8 * 60 + 30, 17 * 60 + 30)
        local = dt.datetime(date.year, date.month, date.day, minutes // 60, minutes % 60, tzinfo=clock.LONDON)
        return local.astimezone(dt.UTC)

    def after(self, moment: dt.datetime, low: float, high: float) -> dt.datetime:
        """A working-hours moment between ``low`` and ``high`` days after ``moment`` (and after it)."""
        offset = (moment - self.start).total_seconds() / 86400 + self.rng.uniform(low, high)
        chosen = self.day(offset)
        return chosen if chosen > moment else moment + dt.timedelta(minutes=self.rng.randrange(20, 240))

    def spread(self, index: int, count: int, first: float = 0, last: float = DAYS - 3) -> dt.datetime:
        """The ``index``-th of ``count`` moments spread over the days ``first`` to ``last`` (with some jitter),
        so every month has its share."""
        gap = (last - first) / count
        return self.day(first + gap * index + self.rng.uniform(0, gap))

    def story(self) -> Story:
        story = Story()
        self.stories.append(story)
        return story

    def play(self) -> int:
        """Take every step due by now, in time order (a story stops at its first step after now)."""
        timed: list[tuple[dt.datetime, int, int, Step]] = []
        for number, story in enumerate(self.stories):
            previous = self.start
            for position, (moment, step) in enumerate(story.steps):
                if moment >= self.end or moment <= previous:
                    break
                previous = moment
                timed.append((moment, number, position, step))
        timed.sort(key=lambda entry: entry[:3])
        month = ""
        taken = 0
        for moment, _number, _position, step in timed:
            key = f"{moment.astimezone(clock.LONDON):%Y-%m}"
            if key != month:
                if month:
                    click.echo(f"  {month}: {taken} steps so far", err=True)
                month = key
            with clock.as_of(moment):
                step()
            taken += 1
        click.echo(f"  {month}: {taken} steps in all", err=True)
        return taken


@contextmanager
def confirmed_second_factor() -> Iterator[None]:
    """Reveals need a second factor confirmed within minutes; the demo's comms act as with an API token,
    which counts as its user's second factor."""
    before = g.get("auth_method")
    g.auth_method = "token"
    try:
        yield
    finally:
        g.auth_method = before


# --- channels ---------------------------------------------------------------------------------

# (platform, handle, name, department)
CHANNELS = [
    ("x", "@ExNHSCardiology", "Heart services, Example NHS", "Cardiology"),
    ("facebook", "ExampleNHSCharity", "Example NHS Charity", "Charity"),
    ("instagram", "examplenhs_nursing", "Nursing at Example NHS", "Nursing"),
    ("linkedin", "https://www.linkedin.com/company/example-nhs-research/", "Example NHS Research", "Research"),
    ("x", "@ExNHSPharmacy", "Pharmacy, Example NHS", "Pharmacy"),
    ("youtube", "@ExampleNHSPatientStories", "Patient stories, Example NHS", "Patient Experience"),
    ("facebook", "ExampleNHSVolunteers", "Volunteering at Example NHS", "Volunteering"),
    ("tiktok", "@examplenhs.nursing", "Example NHS nurses", "Nursing"),
    ("instagram", "examplenhs_children", "Children's hospital, Example NHS", "Paediatrics"),
    ("x", "@ExNHSEmergency", "Emergency department, Example NHS", "Emergency Medicine"),
    ("bluesky", "research.examplenhs.bsky.social", "Example NHS Research", "Research"),
    ("facebook", "ExampleNHSCancerCare", "Cancer care, Example NHS", "Oncology"),
    ("linkedin", "https://www.linkedin.com/company/example-nhs-estates/", "Estates and facilities", "Estates"),
    ("x", "@ExNHSMentalHlth", "Mental health services, Example NHS", "Mental Health"),
    ("instagram", "examplenhs_dietitians", "Dietitians, Example NHS", "Dietetics"),
    ("mastodon", "@examplenhs@mastodon.social", "Example NHS", "Communications"),
    ("youtube", "@ExampleNHSTraining", "Training and education, Example NHS", "Education"),
    ("facebook", "ExampleNHSStrokeClub", "Stroke survivors club", "Stroke"),
    ("x", "@ExNHSRadiology", "Imaging, Example NHS", "Radiology"),
    ("threads", "@examplenhs.careers", "Careers at Example NHS", "Workforce"),
    ("instagram", "examplenhs_theatres", "Theatres team, Example NHS", "Surgery"),
    ("facebook", "ExampleNHSDiabetes", "Diabetes service, Example NHS", "Diabetes"),
    ("tiktok", "@examplenhs.students", "Student nurses at Example NHS", "Education"),
    ("x", "@ExNHSEstates", "Estates, Example NHS", "Estates"),
    ("pinterest", "examplenhswellbeing", "Staff wellbeing, Example NHS", "Wellbeing"),
    ("linkedin", "https://www.linkedin.com/company/example-nhs-nursing/", "Nursing at Example NHS", "Nursing"),
    ("instagram", "examplenhs_estates", "Estates and facilities", "Estates"),
    ("facebook", "ExampleNHSHospice", "Hospice at home, Example NHS", "Palliative Care"),
    ("x", "@ExNHSPhysio", "Physiotherapy, Example NHS", "Therapies"),
    ("youtube", "@ExampleNHSHealthTalks", "Health talks, Example NHS", "Communications"),
]

#: Channels requested in the last weeks and not yet decided: they wait in comms' queue.
WAITING = (27, 28)

REASONS = {
    "reject": [
        "A second account for the same audience: please post through the Trust's main channel.",
        "Nobody is named to moderate it at weekends; ask again once the rota is agreed.",
    ],
    "request_info": [
        "Who will answer messages out of hours? Patients may ask clinical questions.",
        "Please name a second administrator, so the account never depends on one person.",
    ],
    "suspend": [
        "Both trained moderators are on leave; paused until cover is arranged.",
        "A compromised-login alert from the platform: paused while we secure it.",
    ],
    "reinstate": ["Cover arranged and the team retrained.", "Login secured, recovery details checked."],
    "retire": [
        "The service has merged into the main account; followers pointed there.",
        "The campaign ended; the account is archived.",
    ],
}


def _channel_story(year: Year, people: People, requesters: list[User], index: int) -> None:
    platform, handle, name, department = CHANNELS[index]
    rng = year.rng
    story = year.story()
    item = story.item
    requester = requesters[index % len(requesters)]
    decider = people.comms[index % 2] if people.comms[index % 2].id != requester.id else people.other_comms(requester)
    # The later channels are newer: some still wait in the queue.
    when = year.spread(index, len(CHANNELS), 0, DAYS - 25) if index < 26 else year.spread(index - 26, 4, DAYS - 35)

    def request() -> None:
        item["channel"] = channels.request_channel(
            channel_demo.demo_request(platform, handle, name, department, requester), requester
        )

    def move(action: str, actor: User) -> Step:
        reasons = REASONS.get(action)
        reason = rng.choice(reasons) if reasons else None
        return lambda: channels.transition(item["channel"], action, actor, reason=reason)

    story.steps.append((when, request))
    if index in WAITING:
        return
    roll = rng.random()
    when = year.after(when, 1, 12)
    if roll < 0.12:
        story.steps.append((when, move("reject", decider)))
        return
    if roll < 0.17:
        story.steps.append((when, move("withdraw", requester)))
        return
    if roll < 0.35:
        story.steps.append((when, move("request_info", decider)))
        when = year.after(when, 2, 9)
        story.steps.append((when, move("resubmit", requester)))
        when = year.after(when, 1, 6)
    story.steps.append((when, move("approve", decider)))
    when = year.after(when, 2, 10)
    story.steps.append((when, move("activate", decider)))
    _custody_steps(year, story, people, when)
    if rng.random() < 0.2:
        when = year.after(when, 60, 150)
        story.steps.append((when, move("suspend", decider)))
        if rng.random() < 0.6:
            when = year.after(when, 10, 40)
            story.steps.append((when, move("reinstate", decider)))
    if rng.random() < 0.15:
        when = year.after(when, 60, 200)
        story.steps.append((when, move("retire", decider)))


AGENCY_PEOPLE = [
    ("Robin Ellis", "Northern Light Media"),
    ("Kim Adebayo", "Harbour Creative"),
    ("Lee Marsh", "Fieldfare Digital"),
    ("Ana Costa", "Example Health Charity"),
]


def _custody_steps(year: Year, story: Story, people: People, activated: dt.datetime) -> None:
    """After going live: its password and two-factor seed into custody, an outside editor on the roster,
    reveals now and then, and a rotation every quarter or so."""
    rng = year.rng
    item = story.item
    keeper = people.comms[rng.randrange(2)]
    person, organisation = rng.choice(AGENCY_PEOPLE)
    local = person.lower().replace(" ", ".")
    seed = base64.b32encode(rng.randbytes(20)).decode("ascii")
    password = "".join(rng.choice("abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789!#%") for _ in range(24))

    def take_custody() -> None:
        channel: Channel = item["channel"]
        custody.store(channel, "password", password, "Taking custody at set-up.", keeper)
        custody.store(channel, "totp_seed", seed, "Two-factor set up on the account; the seed is kept here.", keeper)
        roster.grant(
            channel,
            email=f"{local}@{organisation.lower().replace(' ', '')}.example",
            name=person,
            organisation=organisation,
            platform_role="editor",
            actor=keeper,
        )

    when = year.after(activated, 0.1, 2)
    story.steps.append((when, take_custody))
    for _ in range(rng.randrange(1, 5)):
        when = year.after(when, 10, 70)
        revealer = people.comms[rng.randrange(2)]
        why = rng.choice(
            [
                "Signing in on the new team laptop.",
                "The platform asked to confirm the password after an update.",
                "Setting up scheduled posts for the campaign.",
            ]
        )
        story.steps.append((when, _reveal(item, revealer, why)))
        if rng.random() < 0.45:
            when = year.after(when, 0.1, 3)
            fresh = "".join(rng.choice("abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(24))
            story.steps.append((when, _rotate(item, revealer, fresh)))


def _reveal(item: dict[str, Any], actor: User, why: str) -> Step:
    def step() -> None:
        with confirmed_second_factor():
            reveals.reveal(custody.get_credential(item["channel"], "password"), actor, why)

    return step


def _rotate(item: dict[str, Any], actor: User, value: str) -> Step:
    return lambda: custody.store(item["channel"], "password", value, "Rotated after it was revealed.", actor)


# --- logo and lozenge consents ----------------------------------------------------------------

CONSENTS = [
    ("Staff awards evening programme", "both", ("print",), "Workforce"),
    ("Heart month leaflets", "nhs_lozenge", ("print", "web"), "Cardiology"),
    ("Charity fun run T-shirts", "trust_logo", ("merchandise",), "Charity"),
    ("Volunteers' week posters", "nhs_lozenge", ("print", "signage"), "Volunteering"),
    ("Research open day slides", "trust_logo", ("partner_material",), "Research"),
    ("Stroke club newsletter", "nhs_lozenge", ("print",), "Stroke"),
    ("Diabetes education videos", "nhs_lozenge", ("video", "social_media"), "Diabetes"),
    ("Nursing recruitment banners", "both", ("signage", "social_media"), "Nursing"),
    ("Car park wayfinding signs", "trust_logo", ("signage",), "Estates"),
    ("Children's ward colouring book", "nhs_lozenge", ("print",), "Paediatrics"),
    ("Hospice memory walk flyers", "both", ("print", "web"), "Palliative Care"),
    ("Student nurse induction packs", "trust_logo", ("print",), "Education"),
    ("Wellbeing week web banners", "nhs_lozenge", ("web", "social_media"), "Wellbeing"),
    ("Pharmacy medicines guide", "nhs_lozenge", ("print",), "Pharmacy"),
    ("Imaging department map", "trust_logo", ("signage",), "Radiology"),
    ("Cancer support group mugs", "trust_logo", ("merchandise",), "Oncology"),
    ("Theatres recruitment video", "nhs_lozenge", ("video",), "Surgery"),
    ("Research newsletter masthead", "both", ("print", "web"), "Research"),
]


def _artwork(title: str) -> FileStorage:
    def poster(draw: Any) -> None:
        draw.rectangle((0, 0, 480, 72), fill=(0, 94, 184))
        draw.text((16, 28), title[:40], fill=(255, 255, 255))

    return drawn_png("artwork.png", (480, 300), (255, 255, 255), poster)


def _consent_story(year: Year, people: People, index: int) -> None:
    title, asset, media_kinds, department = CONSENTS[index]
    rng = year.rng
    story = year.story()
    item = story.item
    requester = people.staff if index % 2 == 0 else people.manager
    decider = people.comms[index % 2]
    when = year.spread(index, len(CONSENTS))
    starts_in = rng.randrange(3, 15)
    lasts = rng.choice([30, 60, 90, 120])

    def ask() -> None:
        start = clock.today() + dt.timedelta(days=starts_in)
        item["consent"] = consents.request_consent(
            ConsentRequest(
                title=title,
                department=department,
                asset=asset,
                purpose=f"{title} for the {department.lower()} team.",
                media=media_kinds,
                audience="Patients, visitors and staff.",
                partner_involved=False,
                partner_name="",
                starts_on=start,
                ends_on=start + dt.timedelta(days=lasts),
            ),
            [_artwork(title)],
            requester,
        )

    def decide(action: str) -> Step:
        def step() -> None:
            everything = [entry.id for entry in consents.active_checklist()]
            if action == "approve":
                consents.decide(item["consent"], action, decider, checked=everything, note="Print as supplied.")
            elif action == "approve_with_conditions":
                consents.decide(
                    item["consent"],
                    action,
                    decider,
                    checked=everything,
                    conditions="Keep the lozenge top right and at its supplied size.",
                )
            elif action == "reject":
                consents.decide(item["consent"], action, decider, note="Use plain text: no new logos for teams.")
            else:
                consents.decide(item["consent"], action, decider, note="The lozenge is stretched: use the file.")

        return step

    story.steps.append((when, ask))
    if index % 9 == 5:
        note = "The event was cancelled."
        story.steps.append((year.after(when, 0.5, 2), lambda: consents.withdraw(item["consent"], requester, note=note)))
        return
    roll = rng.random()
    action = "approve" if roll < 0.6 else "approve_with_conditions" if roll < 0.8 else "reject"
    if roll > 0.93:
        action = "request_changes"
    story.steps.append((year.after(when, 1, 6), decide(action)))


# --- promotional posts ------------------------------------------------------------------------

POST_TEXTS = [
    "Our blood donation session is back in the education centre on Thursday, 10am to 3pm.",
    "Meet our volunteers: over 300 people give their time to the Trust every week. Thank you!",
    "Our new discharge lounge opens on Monday, so patients can wait in comfort for their lift home.",
    "We're recruiting student nurses for September: come to our open evening on Wednesday at 6pm.",
    "Please only come to the emergency department in an emergency: for other needs, call 111.",
    "Our charity's fun run raised over £12,000 for the children's ward. Thank you to every runner!",
    "Free NHS Health Checks for adults aged 40 to 74 at the community clinic this month.",
    "Heart month: learn hands-only CPR with our cardiology team in the main entrance on Friday.",
    "Our research team is looking for volunteers for a study on sleep and recovery after surgery.",
    "The hospital shop is now open on Saturdays from 9am to 1pm.",
    "Thank you to our estates team, who kept every ward warm through the cold snap.",
    "Our stroke survivors' club meets on the first Tuesday of every month: all welcome.",
]


def _post_story(year: Year, people: People, index: int, count: int) -> None:
    rng = year.rng
    story = year.story()
    item = story.item
    requester = people.staff if index % 3 else people.manager
    decider = people.comms[index % 2]
    when = year.spread(index, count, 20)
    text = POST_TEXTS[index % len(POST_TEXTS)]
    wished = rng.randrange(4, 15)
    picks = rng.randrange(1, 3)
    choice_seed = rng.random()

    def propose() -> None:
        active = posts.active_channels()
        if not active:
            return
        chosen = random.Random(choice_seed).sample(active, min(picks, len(active)))
        item["post"] = posts.propose(
            posts.PostProposal(
                text=text,
                channels=[c.reference for c in chosen],
                wished_for=clock.today() + dt.timedelta(days=wished),
                reason="To let patients and staff know in good time.",
                consent_confirmed=True,
                consent_location="",
            ),
            requester,
        )

    def move(action: str, **given: Any) -> Step:
        def step() -> None:
            post = item.get("post")
            if post is None:
                return
            if action == "schedule":
                posts.transition(post, action, decider, scheduled_for=db.utcnow() + dt.timedelta(days=2))
            elif action == "publish":
                urls = {c.reference: post_url(c, 5000 + index) for c in post.channels}
                posts.transition(post, action, decider, urls=urls)
            else:
                posts.transition(post, action, decider, **given)

        return step

    story.steps.append((when, propose))
    roll = rng.random()
    when = year.after(when, 0.2, 4)
    if roll < 0.1:
        story.steps.append((when, move("reject", reason="This is better as a story on the intranet.")))
        return
    if roll < 0.2:
        story.steps.append((when, move("request_changes", reason="Please add a link for more information.")))
        return
    if roll < 0.25:
        story.steps.append((when, lambda: item.get("post") and posts.transition(item["post"], "withdraw", requester)))
        return
    story.steps.append((when, move("approve", reason=None)))
    when = year.after(when, 0.1, 2)
    story.steps.append((when, move("schedule")))
    story.steps.append((when + dt.timedelta(days=2, hours=1), move("publish")))


def post_url(channel: Channel, number: int) -> str:
    """Where a published post would be on the channel's platform (each platform has its own pattern)."""
    handle = channel.handle.lstrip("@")
    code = base64.b32encode(number.to_bytes(5, "big")).decode("ascii").lower()
    patterns = {
        "x": f"https://x.com/{handle}/status/{1790000000000000000 + number}",
        "facebook": f"https://www.facebook.com/{handle}/posts/pfbid0{code}",
        "instagram": f"https://www.instagram.com/p/C{code}/",
        "linkedin": f"https://www.linkedin.com/feed/update/urn:li:activity:{7100000000000000000 + number}/",
        "youtube": f"https://www.youtube.com/watch?v=dQ{code[:9]}",
        "tiktok": f"https://www.tiktok.com/@{handle}/video/{7300000000000000000 + number}",
        "bluesky": f"https://bsky.app/profile/{handle}/post/3k{code}",
        "threads": f"https://www.threads.net/@{handle}/post/C{code}",
        "pinterest": f"https://www.pinterest.com/pin/{880000000000 + number}/",
        "mastodon": f"https://{handle.partition('@')[2]}/@{handle.partition('@')[0]}/{110000000000000000 + number}",
        "whatsapp": f"{channel.url.rstrip('/')}/{number}",
    }
    return patterns.get(channel.platform, f"{channel.url.rstrip('/')}/posts/{number}")


# --- media contacts ---------------------------------------------------------------------------

OUTLETS = [
    ("x", "Evening Chronicle", "Asked about waiting times in the emergency department."),
    ("facebook", "Radio Example", "Asked if I would talk on air about working on the wards."),
    ("linkedin", "Health Service Weekly", "Asked for my views on staffing for a feature."),
    ("instagram", "Daily Example", "Asked about a patient's complaint posted online."),
    ("tiktok", "", "Asked to film a day in the life of our team."),
    ("x", "Example Gazette", "Asked whether a ward is closing over the winter."),
]


def _media_story(year: Year, people: People, index: int, count: int) -> None:
    rng = year.rng
    story = year.story()
    item = story.item
    platform, outlet, enquiry = OUTLETS[index % len(OUTLETS)]
    reporter = people.staff if index % 2 == 0 else people.manager
    triager = people.comms[index % 2]
    when = year.spread(index, count)
    hours = rng.uniform(0.5, 6)

    def log() -> None:
        contacted = db.utcnow() - dt.timedelta(hours=hours)
        item["contact"] = media.log_approach(
            media.Approach(
                platform=platform,
                outlet=outlet,
                journalist="",
                contacted_at=contacted,
                deadline_at=contacted + dt.timedelta(hours=48),
                enquiry=enquiry,
                link=f"https://example.org/messages/{index}",
                not_responded=True,
            ),
            [],
            reporter,
        )

    def triage(action: str, **given: Any) -> Step:
        return lambda: media.triage(item["contact"], action, triager, **given)

    story.steps.append((when, log))
    when = when + dt.timedelta(hours=rng.uniform(0.5, 20))
    story.steps.append((when, triage("acknowledge", note="Looking into it.")))
    when = when + dt.timedelta(hours=rng.uniform(1, 30))
    if rng.random() < 0.5:
        advice = "Please do not reply: we will answer the journalist on the Trust's behalf."
        story.steps.append((when, triage("respond", advice=advice, note="Statement agreed.")))
    else:
        advice = "Thank you for checking. Reply that the communications team handles media enquiries."
        story.steps.append((when, triage("advise", advice=advice)))
    story.steps.append((year.after(when, 1, 10), triage("close", note="No further contact.")))


# --- breach cases -----------------------------------------------------------------------------

BREACHES = [
    ("on X", "A post complaining about a named colleague, visible to the public.", ("6.13", "6.3")),
    ("on TikTok", "A video filmed on the ward in which a patient's bed can be seen.", ("6.11",)),
    ("on LinkedIn", "A profile saying they speak for the Trust on staffing matters.", ("6.4", "6.10")),
    ("on Facebook", "A post sharing a screenshot of the staff rota.", ("6.11",)),
    ("on Instagram", "A photo in uniform endorsing a diet product.", ("6.9",)),
]

# How each case goes: "resolve" (the line manager), "escalate" (HR records the outcome),
# "close" (comms: not a matter for a line manager), "route" (comms send it to the manager),
# "hr_open" (escalated and still with HR).
ROUTES = ["resolve", "escalate", "close", "route", "resolve", "escalate", "close", "resolve", "hr_open", "route"]


def _breach_story(year: Year, people: People, index: int, count: int) -> None:
    story = year.story()
    item = story.item
    route = ROUTES[index % len(ROUTES)]
    where, description, clauses = BREACHES[index % len(BREACHES)]
    reporter = people.comms[index % 2] if index % 3 else people.auditor
    router = people.other_comms(reporter) if reporter in people.comms else people.comms[0]
    when = year.spread(index, count)
    about_staff = route not in {"close", "route"}

    def report() -> None:
        subject: dict[str, str] = (
            {"subject_kind": SubjectKind.USER, "subject_user": people.staff.email}
            if about_staff
            else {"subject_kind": SubjectKind.UNKNOWN}
            if route == "route"
            else {"subject_kind": SubjectKind.OTHER, "subject_name": "A member of the public, not staff"}
        )
        item["case"] = breaches.report_breach(
            BreachAnswers(
                account=f"{people.staff.name if about_staff else 'An account'} {where}",
                link=f"https://example.org/evidence/{index}",
                description=description,
                clauses=clauses,
                reputational_risk=index % 4 == 0,
                **subject,
            ),
            [],
            reporter,
        )

    def take(action: str, actor: User, note: str, **given: Any) -> Step:
        return lambda: breaches.take(item["case"], action, actor, note=note, **given)

    story.steps.append((when, report))
    when = year.after(when, 1, 8)
    if route == "close":
        story.steps.append((when, take("close", router, "Not a member of staff: recorded in monitoring.")))
        return
    if route == "route":
        story.steps.append((when, take("route", router, "It is one of your team.", manager_id=people.manager.id)))
        when = year.after(when, 2, 14)
    if route in {"resolve", "route"}:
        story.steps.append((when, take("resolve", people.manager, "Talked it through; the post was removed.")))
        return
    story.steps.append((when, take("escalate", people.manager, "A second concern this year; needs HR.")))
    if route != "hr_open":
        when = year.after(when, 7, 30)
        story.steps.append((when, take("outcome", people.hr, "Informal advice given under the Discipline Policy.")))


# --- monitoring, access reviews, account checks -----------------------------------------------

FINDINGS = [
    ("x", "https://x.com/ExampleNHS_Jobs", "Advertises jobs at the Trust and asks for a fee to apply."),
    ("facebook", "https://www.facebook.com/ExampleNHSFans", "Uses the Trust logo; posts appointment 'offers'."),
    ("instagram", "instagram.com/examplenhs.official", "Claims to be the Trust's official account."),
    ("tiktok", "https://www.tiktok.com/@examplenhs.hospital", "Reposts our videos with a lozenge watermark."),
    ("x", "https://x.com/ExampleNHSNews", "Posts hospital news with the NHS lozenge in its banner."),
    ("facebook", "https://www.facebook.com/ExampleNHSWardSix", "A ward group set up by a former member of staff."),
    ("instagram", "instagram.com/examplenhs.giveaway", "Runs a 'giveaway' asking for bank details."),
    ("youtube", "https://www.youtube.com/@ExampleNHSUnofficial", "Uploads our patient videos without consent."),
    ("x", "https://x.com/ExNHS_Careers", "Impersonates the careers team."),
    ("linkedin", "https://www.linkedin.com/company/example-nhs-trust-jobs/", "A fake recruitment page."),
]


def _finding_story(year: Year, people: People, index: int) -> None:
    platform, url, evidence = FINDINGS[index]
    story = year.story()
    item = story.item
    who = people.comms[index % 2]
    when = year.spread(index, len(FINDINGS))

    def record() -> None:
        item["finding"] = monitoring.record_finding(
            platform=platform, url=url, found_on=None, actor=who, evidence=evidence
        )

    def move(action: str, note: str) -> Step:
        return lambda: monitoring.move(item["finding"], action, note, who)

    story.steps.append((when, record))
    if index == 2:
        story.steps.append((year.after(when, 1, 5), lambda: _adopt(item, who)))
        return
    if index % 5 == 4:
        story.steps.append((year.after(when, 1, 5), move("dismiss", "A fan page that does not claim to be us.")))
        return
    when = year.after(when, 1, 5)
    story.steps.append((when, move("request_takedown", "Reported to the platform as impersonation.")))
    story.steps.append((year.after(when, 5, 30), move("taken_down", "Profile no longer exists; checked today.")))


def _adopt(item: dict[str, Any], actor: User) -> None:
    """The 'official' account turns out to be one the Trust set up years ago: it joins the registry."""
    monitoring.adopt(
        item["finding"],
        display_name="Example NHS (older account)",
        department="Communications",
        purpose="The Trust's first Instagram account, kept so its followers are not left to impostors.",
        audience="Patients, carers, visitors and the local community.",
        sponsor="Head of Communications",
        reason="Set up by the communications team in 2017; the login was found in the old team mailbox.",
        actor=actor,
    )


def _review_story(year: Year, people: People, offset: float) -> None:
    """A quarterly access review of every grant on the live channels, decided over the next fortnight."""
    story = year.story()
    item = story.item
    when = year.day(offset)
    lead = people.comms[0]

    def start() -> None:
        item["review"] = roster.start_review(
            title=f"Quarterly access review, {clock.today():%B %Y}",
            channel_ids=None,
            due_on=clock.today() + dt.timedelta(days=21),
            actor=lead,
        )

    def decide(share: float, seed: float) -> Step:
        def step() -> None:
            rng = random.Random(seed)
            waiting = [entry for entry in items_of(item["review"]) if entry.decision is None]
            for entry in waiting[: max(1, round(len(waiting) * share))]:
                actor = people.comms[1] if four_eyes_blocks(entry, people.comms[0]) else people.comms[0]
                if entry.grant.revoked_at is not None:
                    roster.decide(entry, "revoked", "Already removed from the account.", actor)
                elif rng.random() < 0.1 and entry.grant.user_id is None:
                    roster.decide(entry, "revoked", "Their contract with the Trust has ended.", actor)
                else:
                    roster.decide(entry, "certified", None, actor)

        return step

    story.steps.append((when, start))
    for share in (0.4, 0.6, 1.0):
        when = year.after(when, 2, 5)
        story.steps.append((when, decide(share, year.rng.random())))
    story.steps.append((year.after(when, 0.1, 2), lambda: roster.finish(item["review"], lead)))


def _health_checks(year: Year, people: People, offset: float) -> None:
    """Comms check the security of some live channels: most are in order, now and then one is not."""
    story = year.story()
    when = year.day(offset)
    seed = year.rng.random()

    def check() -> None:
        rng = random.Random(seed)
        today = clock.today()
        live = [c for c in posts.active_channels() if c.department != "Communications"]
        for channel in rng.sample(live, min(3, len(live))):
            weak = rng.random() < 0.25
            answers = Answers(
                two_factor=TwoFactor.SMS if weak else TwoFactor.APP,
                recovery_email_domain="nhs.net",
                recovery_phone_trust=True,
                password_matches=True,
                seed=SeedAnswer.NONE if weak else SeedAnswer.YES,
                seen_live=True,
                last_post_on=today - dt.timedelta(days=rng.randrange(1, 20)),
                roster_matches=True,
                notes="Codes still go to a team mobile." if weak else "",
            )
            account_health.record_check(channel, answers, people.comms[rng.randrange(2)])

    story.steps.append((when, check))


def plan(people: People, end: dt.datetime) -> Year:
    """The year's stories, the same every time for the same ``end``'s day."""
    year = Year(end, random.Random(SEED))
    requesters = [people.staff, people.manager, people.comms[0], people.comms[1]]
    for index in range(len(CHANNELS)):
        _channel_story(year, people, requesters, index)
    for index in range(len(CONSENTS)):
        _consent_story(year, people, index)
    for index in range(48):
        _post_story(year, people, index, 48)
    for index in range(30):
        _media_story(year, people, index, 30)
    for index in range(16):
        _breach_story(year, people, index, 16)
    for index in range(len(FINDINGS)):
        _finding_story(year, people, index)
    for offset in (60, 150, 240, 330):
        _review_story(year, people, offset)
    for offset in range(40, 360, 30):
        _health_checks(year, people, offset)
    return year
