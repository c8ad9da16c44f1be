"""Demo promotional posts: one in each state, one whose text the screening flags, one with an image.

Everything goes through the services, so history, audit trail and notifications are real.
"""

from __future__ import annotations

import datetime as dt

from werkzeug.datastructures import FileStorage

from registry import clock, db
from registry.auth.models import User
from registry.channels.models import Channel
from registry.lifecycle.demo import drawn_png
from registry.posts import services

POSTS = [
    # (requester index, platforms, text, days ahead, path through the lifecycle, reason for the last step)
    (
        0,
        ("x", "facebook"),
        (
            "Our flu vaccination clinic for staff opens on Tuesday in the main outpatients hall, 9am to 4pm. "
            "No appointment needed: bring your ID badge. #FluJab"
        ),
        5,
        [],
        None,
    ),
    (
        0,
        ("x",),
        (
            "A huge thank you to Ward 7 from the family of our patient, NHS number 943 476 5919, for the care "
            "they received this winter."
        ),
        3,
        [],
        None,
    ),
    (
        1,
        ("linkedin",),
        (
            "We're recruiting healthcare assistants for our outpatients department. Open day on Saturday from 10am "
            "at the education centre."
        ),
        10,
        ["request_changes"],
        "Please add the closing date and a link to the vacancy.",
    ),
    (
        0,
        ("instagram", "facebook"),
        "Meet the maternity team! This week our midwives are answering your questions about antenatal classes.",
        7,
        ["approve"],
        "Lovely: we will schedule it for Thursday morning.",
    ),
    (
        1,
        ("x", "linkedin"),
        "Our new MRI scanner is now open, cutting waiting times for scans by up to four weeks.",
        4,
        ["approve", "schedule"],
        None,
    ),
    (
        0,
        ("facebook",),
        "Visiting times on all adult wards are changing from 1 March: 11am to 8pm every day.",
        1,
        ["approve", "schedule", "publish"],
        None,
    ),
    (
        1,
        ("x",),
        "Our car park is full again today: sorry! Please use the park and ride.",
        2,
        ["reject"],
        "Car park updates go out through the main account's travel alerts, not promotional posts.",
    ),
]


def _picture() -> FileStorage:
    """A small poster-like PNG."""
    return drawn_png(
        "flu-clinic-poster.png",
        (600, 400),
        (0, 94, 184),
        lambda draw: draw.rectangle((40, 40, 560, 360), outline=(255, 255, 255), width=8),
    )


def _first(active: list[Channel], platform: str) -> Channel | None:
    return next((c for c in active if c.platform == platform), None)


def seed_demo(users: list[User], comms: list[User]) -> None:
    """Propose and move the demo posts: ``users[0]`` and ``users[1]`` request them, ``comms`` decide.

    Call after the demo channels exist (it uses the active ones), inside the demo's transaction.
    """
    active = services.active_channels()
    for number, (who, platforms, text, days, path, reason) in enumerate(POSTS):
        chosen = [c for c in (_first(active, p) for p in platforms) if c is not None]
        if not chosen:
            continue
        requester = users[who]
        decider = next(c for c in comms if c.id != requester.id)
        images = []
        if number == 0:
            images = [services.NewImage(_picture(), "A blue poster announcing the staff flu clinic.", 1)]
        post = services.propose(
            services.PostProposal(
                text=text,
                channels=[c.reference for c in chosen],
                wished_for=clock.today() + dt.timedelta(days=days),
                reason="To let patients and staff know in good time.",
                consent_confirmed=True,
                consent_location="Communications office, consent register 2026" if images else "",
            ),
            requester,
            images,
        )
        for step in path:
            if step == "schedule":
                services.transition(post, step, decider, scheduled_for=db.utcnow() + dt.timedelta(days=days))
            elif step == "publish":
                urls = {c.reference: f"{c.url.rstrip('/')}/posts/{1000 + number}" for c in post.channels}
                services.transition(post, step, decider, urls=urls)
            else:
                services.transition(post, step, decider, reason=reason)
