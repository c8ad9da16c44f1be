"""The work queue, the communications team's home page and each person's open requests cost the
same number of SQL statements however many requests wait (issue 12): the ordering, counting and
paging are done by the database, and only the requests a page shows are loaded. They still list
every kind of request, oldest first (a person's own: those waiting for them first), page by page."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, update
from sqlalchemy.orm import Session

from registry import clock, db
from registry.auth.models import User
from registry.breaches.models import BreachReport
from registry.channels.models import Channel
from registry.consent.models import LogoConsent
from registry.lifecycle.kind import kinds
from registry.media.models import MediaContact
from registry.notifications import reminders
from registry.posts.models import PostFinding, PostTarget, PromotionalPost
from registry.web import workqueue
from tests.conftest import Browser

#: A reference of any kind, as pages show them.
REFERENCE = re.compile(r"\b(?:CH|LCR|MC|BR)-\d{4,}\b|\bPP-\d{4}-\d{4,}\b")
REQUEST_MODELS = (Channel, LogoConsent, PromotionalPost, MediaContact, BreachReport)
#: What waits on the communications team, kind by kind in turn: (kind, status).
FOR_COMMS = (
    ("channel", "requested"),
    ("consent", "submitted"),
    ("post", "submitted"),
    ("media", "reported"),
    ("channel", "approved"),
    ("post", "approved"),
    ("media", "acknowledged"),
    ("post", "scheduled"),
    ("media", "comms_responding"),
)
#: What waits on the requester (changes or more information asked for, advice given), in turn.
FOR_REQUESTER = (
    ("channel", "info_requested"),
    ("consent", "changes_requested"),
    ("post", "changes_requested"),
    ("media", "advice_given"),
)


def main_text(response: Any) -> str:
    """The page's main content as one line of words (links' addresses left out)."""
    assert response.status_code == 200
    main = response.get_data(as_text=True).split("<main", 1)[1].split("</main>", 1)[0]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", "<main" + main)).split())


def references(response: Any) -> list[str]:
    return REFERENCE.findall(main_text(response))


@dataclass
class Seeded:
    """What was made: (waiting since, reference) of each request, by whom it waits on."""

    for_comms: list[tuple[dt.datetime, str]] = field(default_factory=list)
    for_requester: list[tuple[dt.datetime, str]] = field(default_factory=list)
    other_open: list[tuple[dt.datetime, str]] = field(default_factory=list)  # breach reports

    def queue(self, label: str | None = None) -> list[str]:
        """The work queue's order: oldest first."""
        return [ref for _, ref in sorted(self.for_comms) if label is None or ref.startswith(label)]

    def own(self) -> list[str]:
        """A person's order: what waits for them first, then the oldest."""
        return [ref for _, ref in sorted(self.for_requester)] + [
            ref for _, ref in sorted(self.for_comms + self.other_open)
        ]


@pytest.fixture
def seeded() -> Seeded:
    return Seeded()


def seed(seeded: Seeded, requester: User, target: Channel, start: int, count: int) -> None:
    """``count`` requests by ``requester`` waiting on the communications team, the kinds in turn,
    waiting since ``start`` minutes ago and a minute longer each; for every third, one waiting on
    the requester; for every fifth, a breach report they made."""
    session = db.session()
    now = db.utcnow()
    today = clock.today()
    made: list[tuple[Any, list[tuple[dt.datetime, str]]]] = []

    def request(kind: str, status: str, n: int, since: dt.datetime) -> Any:
        times = {"created_at": since, "updated_at": since, "status_changed_at": since}
        if kind == "channel":
            return Channel(
                platform="x",
                handle=f"scale_{status}_{n}",
                display_name=f"Scale channel {n}",
                url=f"https://x.com/scale_{status}_{n}",
                department="Estates",
                purpose="Updates.",
                audience="Patients.",
                sponsor="Director",
                policy_acknowledged_at=now,
                status=status,
                requester_id=requester.id,
                **times,
            )
        if kind == "consent":
            return LogoConsent(
                title=f"Scale leaflet {n}",
                department="Maternity",
                asset="nhs_lozenge",
                purpose="Classes.",
                audience="Parents",
                partner_involved=False,
                starts_on=today,
                ends_on=today + dt.timedelta(days=5),
                status=status,
                requester_id=requester.id,
                submitted_at=since,
                **times,
            )
        if kind == "post":
            return PromotionalPost(
                year=today.year,
                text=f"Scale post {n}",
                reason="Seeded.",
                wished_for=today + dt.timedelta(days=3),
                consent_confirmed_at=now,
                consent_location="Office",
                status=status,
                requester_id=requester.id,
                scheduled_for=now + dt.timedelta(days=2) if status == "scheduled" else None,
                targets=[PostTarget(channel_id=target.id)],
                findings=[
                    PostFinding(
                        field="text", kind="nhs_number", label="NHS number", start_offset=0, end_offset=5, masked="***"
                    )
                ]
                if n % 2
                else [],
                screened_at=since,
                **times,
            )
        if kind == "media":
            return MediaContact(
                platform="x",
                outlet="Scale Gazette",
                journalist=f"Journalist {n}",
                contacted_at=since,
                enquiry="About the ward.",
                no_response_confirmed_at=since,
                status=status,
                reporter_id=requester.id,
                advice="Say nothing yet." if status == "advice_given" else None,
                **times,
            )
        return BreachReport(
            status="to_route",
            account="@someone",
            link="https://x.com/someone/status/1",
            description="Posted a photo from the ward.",
            policy_version="2026",
            reporter_id=requester.id,
            created_at=since,
            status_changed_at=since,
        )

    for n in range(start, start + count):
        since = now - dt.timedelta(minutes=n + 1)
        made.append((request(*FOR_COMMS[n % len(FOR_COMMS)], n, since), seeded.for_comms))
        if n % 3 == 0:
            later = since + dt.timedelta(seconds=20)
            made.append((request(*FOR_REQUESTER[n // 3 % len(FOR_REQUESTER)], n, later), seeded.for_requester))
        if n % 5 == 0:
            made.append((request("breach", "", n, since + dt.timedelta(seconds=40)), seeded.other_open))
    session.add_all(row for row, _ in made)
    session.flush()
    for row, into in made:
        reference = row.shown_reference if isinstance(row, LogoConsent) else row.reference
        into.append((row.created_at if isinstance(row, BreachReport) else row.status_changed_at, reference))
    session.commit()


@pytest.fixture
def people(browser_as: Callable[..., Browser], make_channel: Callable[..., Channel]) -> dict[str, Any]:
    comms, staff = browser_as("comms"), browser_as("staff")
    return {"comms": comms, "staff": staff, "target": make_channel("active")}


PAGES = (("comms", "/queue"), ("comms", "/"), ("staff", "/"), ("staff", "/requests"))


def test_the_pages_run_the_same_statements_for_10_and_200_waiting_requests(
    app: Flask, people: dict[str, Any], seeded: Seeded, count_queries: Callable[[], Any]
) -> None:
    staff: User = people["staff"].user

    def statements() -> dict[str, int]:
        counts = {}
        for role, path in PAGES:
            browser: Browser = people[role]
            assert browser.get(path).status_code == 200
            with count_queries() as counted:
                assert browser.get(path).status_code == 200
            counts[f"{path} as {role}"] = counted.n
        return counts

    seed(seeded, staff, people["target"], 0, 10)
    small = statements()
    seed(seeded, staff, people["target"], 10, 190)
    large = statements()

    assert large == small
    assert len(seeded.for_comms) == 200
    # And they load only the requests they show (and the channel the posts are for), not every one waiting.
    for role, path in (("comms", "/queue"), ("staff", "/requests")):
        with loaded_requests() as loaded:
            shown = references(people[role].get(path))
        assert len(shown) == 50 and len(loaded) <= len(shown) + 1, path


@contextmanager
def loaded_requests() -> Iterator[list[object]]:
    """The requests (of any kind) loaded from the database inside the block."""
    loaded: list[object] = []

    def seen(_session: Session, instance: object) -> None:
        if isinstance(instance, REQUEST_MODELS):
            loaded.append(instance)

    event.listen(Session, "loaded_as_persistent", seen)
    try:
        yield loaded
    finally:
        event.remove(Session, "loaded_as_persistent", seen)


def test_the_work_queue_pages_every_kind_oldest_first(app: Flask, people: dict[str, Any], seeded: Seeded) -> None:
    comms: Browser = people["comms"]
    seed(seeded, people["staff"].user, people["target"], 0, 120)
    expected = seeded.queue()

    first, second, third = (comms.get(f"/queue?page={n}") for n in (1, 2, 3))

    assert references(first) == expected[:50]
    assert references(second) == expected[50:100]
    assert references(third) == expected[100:]
    assert "Showing 51 to 100 of 120 requests waiting." in main_text(second)
    assert {ref.split("-")[0] for ref in expected[:50]} == {"CH", "LCR", "PP", "MC"}
    # Ten a page, and a page beyond the last shows nothing.
    assert references(comms.get("/queue?page=3&per_page=10")) == expected[20:30]
    assert references(comms.get("/queue?page=99")) == []


def test_the_work_queue_shows_one_kind_with_its_own_total(app: Flask, people: dict[str, Any], seeded: Seeded) -> None:
    comms: Browser = people["comms"]
    seed(seeded, people["staff"].user, people["target"], 0, 60)
    media = seeded.queue("MC")

    page = comms.get("/queue?kind=Media contact&per_page=5&page=2")

    assert references(page) == media[5:10]
    assert f"Showing 6 to 10 of {len(media)} requests waiting." in main_text(page)
    body = page.get_data(as_text=True)
    for label in ("Channel request", "Logo consent", "Media contact", "Promotional post"):
        assert f'<option value="{label}"' in body
    assert '<option value="Breach report"' not in body
    # An unknown kind shows every kind.
    assert references(comms.get("/queue?kind=Fire drill")) == seeded.queue()[:50]


def test_the_comms_home_page_counts_everything_and_lists_the_oldest(
    app: Flask, people: dict[str, Any], seeded: Seeded
) -> None:
    seed(seeded, people["staff"].user, people["target"], 0, 40)
    expected = seeded.queue()

    page = main_text(people["comms"].get("/"))

    assert "40 requests waiting on you" in page
    queue_card = page.split("requests waiting on you", 1)[1].split("waiting on you", 1)[0]
    assert REFERENCE.findall(queue_card)[:3] == expected[:3]
    media = seeded.queue("MC")
    assert f"{len(media)} media contacts waiting on you" in page
    media_card = page.split("media contacts waiting on you", 1)[1]
    assert REFERENCE.findall(media_card)[:3] == media[:3]


def test_a_persons_requests_put_what_waits_for_them_first_page_by_page(
    app: Flask, people: dict[str, Any], seeded: Seeded
) -> None:
    staff: Browser = people["staff"]
    seed(seeded, staff.user, people["target"], 0, 90)  # type: ignore[attr-defined]
    expected = seeded.own()
    assert len(expected) == 90 + 30 + 18

    first, second, third = (staff.get(f"/requests?page={n}") for n in (1, 2, 3))

    assert references(first) == expected[:50]
    assert references(second) == expected[50:100]
    assert references(third) == expected[100:]
    assert f"Showing 51 to 100 of {len(expected)} open requests." in main_text(second)
    home = main_text(staff.get("/"))
    assert "30 of your requests are waiting for you" in home
    assert f"See all {len(expected)} of your requests" in home
    assert REFERENCE.findall(home.split("Your requests and cases", 1)[1])[:10] == expected[:10]
    # Nobody else's requests.
    assert references(people["comms"].get("/requests")) == []


def test_the_morning_digest_counts_the_queue_and_names_the_oldest_wait(
    app: Flask, people: dict[str, Any], seeded: Seeded
) -> None:
    seed(seeded, people["staff"].user, people["target"], 20_000, 30)  # about two weeks ago

    line = reminders.digest_lines(clock.today())["requests"]

    assert line == "30 requests wait for the communications team; the oldest has waited 13 days."
    assert workqueue.for_comms(per_page=1).page.total == 30


def test_requests_waiting_since_the_same_moment_are_listed_as_their_references_sort(
    app: Flask, people: dict[str, Any], seeded: Seeded
) -> None:
    seed(seeded, people["staff"].user, people["target"], 0, 12)
    moment = db.utcnow() - dt.timedelta(days=2)
    for model in REQUEST_MODELS:
        db.session().execute(update(model).values(status_changed_at=moment))
    year = clock.today().year
    post = min(ref for ref in seeded.queue() if ref.startswith("PP"))
    number = int(post.rsplit("-", 1)[1])
    db.session().execute(update(PromotionalPost).where(PromotionalPost.id == number).values(year=year + 1))
    db.session().commit()
    moved = f"PP-{year + 1}-{number:04d}"

    # By the kinds' prefixes (CH, LCR, MC, PP), then a post's year, then the number.
    assert references(people["comms"].get("/queue")) == sorted([*(set(seeded.queue()) - {post}), moved])
    assert all(kind.reference_prefix for kind in kinds() if kind.waiting_of(people["staff"].user) is not None)
