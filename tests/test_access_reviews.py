"""Access reviews (SPEC capability 5): comms start a review of every active grant (on all live
channels, or some); each grant is certified or revoked by a comms member other than its holder;
progress and overdue reviews are shown; a finished review is kept, read-only, with its decisions.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from registry import clock, db
from registry.audit.models import AuditAnchor, AuditEvent
from registry.auth.models import User
from registry.channels.models import Channel
from registry.errors import Conflict, Invalid, NotPermitted
from registry.roster import services as roster
from registry.roster.models import AccessReview, AccessReviewItem, RosterGrant
from registry.vault import services as vault
from registry.vault.models import Credential
from tests.conftest import Browser

TODAY = clock.today()
DUE = TODAY + dt.timedelta(days=14)


@pytest.fixture(autouse=True)
def _dates_as_this_test_starts() -> None:
    """A run can cross midnight: each test takes the date when it starts, not when the module loaded."""
    global TODAY, DUE
    TODAY = clock.today()
    DUE = TODAY + dt.timedelta(days=14)


def text_of(response: Any) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def events_so_far(connection: Connection) -> int:
    return connection.execute(select(AuditAnchor.seq)).scalar_one()


def actions() -> list[str]:
    return list(
        db.session()
        .execute(select(AuditEvent.action).where(AuditEvent.object_type == "access_review").order_by(AuditEvent.seq))
        .scalars()
    )


def item_state(connection: Connection, item: AccessReviewItem) -> tuple[Any, ...]:
    return tuple(
        connection.execute(
            select(AccessReviewItem.decision, AccessReviewItem.decided_by_id, AccessReviewItem.note).where(
                AccessReviewItem.id == item.id
            )
        ).one()
    )


@pytest.fixture
def comms(make_user: Callable[..., User]) -> User:
    return make_user("comms", name="Cara Comms")


@pytest.fixture
def reviewer(make_user: Callable[..., User]) -> User:
    return make_user("comms", name="Rhys Reviewer")


def give(channel: Channel, actor: User, *, email: str, role: str = "editor") -> RosterGrant:
    local = email.split("@")[0]
    granted = roster.grant(
        channel,
        email=email,
        name=local.title(),
        organisation="Bright Agency Ltd",
        platform_role=role,
        actor=actor,
    )
    db.session().commit()
    return granted


def start(actor: User, channel_ids: list[int] | None = None, due_on: dt.date = DUE) -> AccessReview:
    review = roster.start_review(title="Spring review", channel_ids=channel_ids, due_on=due_on, actor=actor)
    db.session().commit()
    return review


def item_for(review: AccessReview, grant: RosterGrant) -> AccessReviewItem:
    return next(i for i in roster.items_of(review) if i.grant_id == grant.id)


# --- starting ---------------------------------------------------------------------------------


def test_a_review_of_all_channels_covers_every_active_grant_on_live_channels(
    app: Flask,
    make_channel: Callable[..., Channel],
    comms: User,
) -> None:
    """Active and suspended channels' current grants; not ended grants, nor channels not yet live."""
    active, suspended, approved = make_channel("active"), make_channel("suspended"), make_channel("approved")
    one = give(active, comms, email="one@agency.example")
    two = give(active, comms, email="two@agency.example", role="admin")
    three = give(suspended, comms, email="three@agency.example")
    give(approved, comms, email="four@agency.example")
    ended = give(active, comms, email="five@agency.example")
    roster.revoke(ended, reason="Left.", actor=comms)

    review = start(comms)

    assert (review.scope, review.title, review.due_on, review.started_by_id) == ("all", "Spring review", DUE, comms.id)
    assert sorted(i.grant_id for i in roster.items_of(review)) == sorted([one.id, two.id, three.id])
    assert roster.progress(review) == roster.ReviewProgress(total=3)
    assert review.reference == f"AR-{review.id:04d}"
    assert actions() == ["access_review:start"]


def test_a_review_of_some_channels_covers_only_those(
    app: Flask,
    make_channel: Callable[..., Channel],
    comms: User,
) -> None:
    chosen, other = make_channel("active"), make_channel("active")
    mine = give(chosen, comms, email="one@agency.example")
    give(other, comms, email="two@agency.example")

    review = start(comms, [chosen.id])

    assert review.scope == "some"
    assert [i.grant_id for i in roster.items_of(review)] == [mine.id]


def test_starting_a_review_explains_each_mistake_and_changes_nothing(
    app: Flask,
    connection: Connection,
    make_channel: Callable[..., Channel],
    comms: User,
) -> None:
    empty = make_channel("active")
    before = events_so_far(connection)

    with pytest.raises(Invalid) as wrong:
        roster.start_review(title=" ", channel_ids=[], due_on=TODAY - dt.timedelta(days=1), actor=comms)
    with pytest.raises(Invalid) as nothing_chosen:
        roster.start_review(title="Review", channel_ids=[empty.id], due_on=DUE, actor=comms)
    with pytest.raises(Conflict) as nothing_at_all:
        roster.start_review(title="Review", channel_ids=None, due_on=DUE, actor=comms)

    assert wrong.value.errors == {
        "title": "Enter a title for the review, for example 'Quarterly access review, spring 2026'.",
        "due_on": "The due date must be today or in the future.",
        "channels": "Choose at least one channel, or review every channel.",
    }
    assert nothing_chosen.value.errors == {
        "channels": "Nobody is on the roster of the chosen channels: there is nothing to review."
    }
    assert nothing_at_all.value.message == (
        "Nobody is on the roster of any active or suspended channel: there is nothing to review."
    )
    assert events_so_far(connection) == before
    assert connection.execute(select(func.count()).select_from(AccessReview)).scalar_one() == 0


@pytest.mark.parametrize("role", ["auditor", "staff", "admin"])
def test_only_comms_start_or_decide_reviews(
    app: Flask,
    connection: Connection,
    make_user: Callable[..., User],
    make_channel: Callable[..., Channel],
    comms: User,
    role: str,
) -> None:
    granted = give(make_channel("active"), comms, email="one@agency.example")
    review = start(comms)
    other = make_user(role)
    before = events_so_far(connection)

    with pytest.raises(NotPermitted):
        roster.start_review(title="Mine", channel_ids=None, due_on=DUE, actor=other)
    with pytest.raises(NotPermitted):
        roster.decide(item_for(review, granted), "certified", None, other)
    with pytest.raises(NotPermitted):
        roster.finish(review, other)

    assert events_so_far(connection) == before


# --- deciding ---------------------------------------------------------------------------------


def test_certifying_keeps_the_grant_and_is_decided_once(
    app: Flask,
    connection: Connection,
    make_channel: Callable[..., Channel],
    comms: User,
    reviewer: User,
) -> None:
    granted = give(make_channel("active"), comms, email="one@agency.example")
    review = start(comms)
    item = item_for(review, granted)

    roster.decide(item, "certified", "Still posts weekly.", reviewer)
    db.session().commit()

    assert item_state(connection, item) == ("certified", reviewer.id, "Still posts weekly.")
    assert connection.execute(select(RosterGrant.revoked_at).where(RosterGrant.id == granted.id)).scalar_one() is None
    before = events_so_far(connection)
    with pytest.raises(Conflict) as again:
        roster.decide(item, "revoked", "Changed my mind.", comms)
    assert again.value.message == (
        f"One (editor) on {granted.channel.reference} has already been certified by Rhys Reviewer on "
        f"{roster.uk_date(TODAY)}."
    )
    assert events_so_far(connection) == before
    assert item_state(connection, item) == ("certified", reviewer.id, "Still posts weekly.")
    assert roster.progress(review) == roster.ReviewProgress(total=1, certified=1)


def test_revoking_in_a_review_ends_the_grant_and_flags_the_channels_credentials(
    app: Flask,
    connection: Connection,
    make_channel: Callable[..., Channel],
    comms: User,
    reviewer: User,
) -> None:
    channel = make_channel("active")
    vault.store(channel, "password", "pw-1", "Onboarding.", comms)
    granted = give(channel, comms, email="one@agency.example")
    review = start(comms)
    item = item_for(review, granted)

    with pytest.raises(Invalid) as no_note:
        roster.decide(item, "revoked", "  ", reviewer)
    with pytest.raises(Invalid) as no_decision:
        roster.decide(item, "maybe", None, reviewer)
    roster.decide(item, "revoked", "No longer works with us.", reviewer)
    db.session().commit()

    assert no_note.value.errors == {"note": "Enter why this grant is being revoked."}
    assert no_decision.value.errors == {"decision": "Choose whether to certify or revoke this grant."}
    reason = f"revoked in access review {review.reference}: No longer works with us."
    row = connection.execute(
        select(RosterGrant.revoked_by_id, RosterGrant.revoke_reason).where(RosterGrant.id == granted.id)
    ).one()
    assert tuple(row) == (reviewer.id, reason)
    db.session().expire_all()
    [credential] = (
        db.session().execute(select(Credential).where(Credential.channel_id == channel.id)).unique().scalars()
    )
    assert credential.rotation_required
    assert [r["reason"] for r in credential.rotation_reasons] == [f"One (editor) removed from the roster: {reason}"]
    assert actions() == ["access_review:start", "access_review:revoke"]


def test_nobody_decides_their_own_grant(
    app: Flask,
    connection: Connection,
    make_channel: Callable[..., Channel],
    comms: User,
    reviewer: User,
) -> None:
    """Four-eyes: the holder's certify and revoke are both refused; a colleague may decide it."""
    granted = roster.grant(make_channel("active"), email=reviewer.email, platform_role="owner", actor=comms)
    db.session().commit()
    review = start(comms)
    item = item_for(review, granted)
    before = events_so_far(connection)

    for decision, note in (("certified", None), ("revoked", "Tidying up.")):
        with pytest.raises(Conflict) as refused:
            roster.decide(item, decision, note, reviewer)
        assert refused.value.message == (
            "You hold this grant, so another member of the communications team must certify or revoke it "
            "(four-eyes rule)."
        )
    assert events_so_far(connection) == before
    assert item_state(connection, item) == (None, None, None)

    roster.decide(item, "certified", None, comms)
    assert item.decision == "certified"


def test_a_grant_removed_outside_the_review_can_only_be_recorded_as_revoked(
    app: Flask,
    make_channel: Callable[..., Channel],
    comms: User,
    reviewer: User,
) -> None:
    granted = give(make_channel("active"), comms, email="one@agency.example")
    review = start(comms)
    roster.revoke(granted, reason="Contract ended.", actor=comms)
    item = item_for(review, granted)

    with pytest.raises(Conflict) as refused:
        roster.decide(item, "certified", None, reviewer)
    roster.decide(item, "revoked", "Already removed when the contract ended.", reviewer)

    assert refused.value.message.endswith("(Contract ended.), so cannot be certified. Record it as revoked.")
    assert (item.decision, granted.revoke_reason) == ("revoked", "Contract ended.")


# --- finishing, progress, overdue ---------------------------------------------------------------


def test_a_review_finishes_only_when_every_grant_is_decided_and_is_then_read_only(
    app: Flask,
    connection: Connection,
    make_channel: Callable[..., Channel],
    comms: User,
    reviewer: User,
) -> None:
    channel = make_channel("active")
    one = give(channel, comms, email="one@agency.example")
    two = give(channel, comms, email="two@agency.example")
    review = start(comms)
    roster.decide(item_for(review, one), "certified", None, reviewer)

    with pytest.raises(Conflict) as early:
        roster.finish(review, reviewer)
    assert early.value.message == (
        f"1 of 2 grants in {review.reference} still needs a decision: certify or revoke each one before "
        f"finishing the review."
    )
    roster.decide(item_for(review, two), "revoked", "Not needed.", reviewer)
    roster.finish(review, reviewer)
    db.session().commit()
    before = (events_so_far(connection), item_state(connection, item_for(review, one)))

    with pytest.raises(Conflict) as finished:
        roster.finish(review, comms)
    assert finished.value.message == f"{review.reference} was already finished."
    assert review.finished_at is not None
    assert roster.progress(review) == roster.ReviewProgress(total=2, certified=1, revoked=1)
    assert actions() == [
        "access_review:start",
        "access_review:certify",
        "access_review:revoke",
        "access_review:finish",
    ]
    assert (events_so_far(connection), item_state(connection, item_for(review, one))) == before


def test_decisions_of_a_finished_review_cannot_change(
    app: Flask,
    connection: Connection,
    make_channel: Callable[..., Channel],
    comms: User,
    reviewer: User,
) -> None:
    granted = give(make_channel("active"), comms, email="one@agency.example")
    review = start(comms)
    item = item_for(review, granted)
    roster.decide(item, "certified", None, reviewer)
    roster.finish(review, reviewer)
    db.session().commit()
    before = events_so_far(connection)

    with pytest.raises(Conflict) as refused:
        roster.decide(item, "revoked", "Late change.", comms)

    assert refused.value.message == (
        f"{review.reference} is finished: its decisions are kept as they were and cannot be changed."
    )
    assert item_state(connection, item) == ("certified", reviewer.id, None)
    assert events_so_far(connection) == before
    assert connection.execute(select(RosterGrant.revoked_at).where(RosterGrant.id == granted.id)).scalar_one() is None


def test_progress_and_overdue_reviews(
    app: Flask,
    make_channel: Callable[..., Channel],
    comms: User,
    reviewer: User,
) -> None:
    """Counts per review in one query; a review is overdue after its due date until it is finished."""
    channel = make_channel("active")
    one = give(channel, comms, email="one@agency.example")
    give(channel, comms, email="two@agency.example")
    soon = start(comms, due_on=TODAY)
    later = start(comms, due_on=DUE)
    roster.decide(item_for(soon, one), "certified", None, reviewer)
    day_after_due = TODAY + dt.timedelta(days=1)

    assert roster.progress_of([soon.id, later.id]) == {
        soon.id: roster.ReviewProgress(total=2, certified=1),
        later.id: roster.ReviewProgress(total=2),
    }
    assert roster.progress(soon).percent == 50
    assert db.session().execute(roster.overdue_reviews()).unique().scalars().all() == []
    assert [r.id for r in db.session().execute(roster.overdue_reviews(day_after_due)).unique().scalars()] == [soon.id]
    assert roster.is_overdue(soon, day_after_due) and not roster.is_overdue(later, day_after_due)
    assert len(db.session().execute(roster.overdue_items(day_after_due)).unique().scalars().all()) == 1


def test_the_dashboard_figures(
    app: Flask,
    make_channel: Callable[..., Channel],
    comms: User,
) -> None:
    channel = make_channel("active")
    roster.grant(
        channel,
        email="soon@agency.example",
        name="Soon",
        organisation="Agency",
        platform_role="editor",
        expires_on=TODAY + dt.timedelta(days=3),
        actor=comms,
    )
    start(comms)

    figures = roster.dashboard()

    assert figures == roster.RosterDashboard(
        expiring=1,
        overdue_reviews=0,
        overdue_items=0,
        open_reviews=1,
        leavers_with_exposure=0,
        credentials_seen_by_leavers=0,
    )


# --- pages ------------------------------------------------------------------------------------


def test_comms_run_a_review_through_the_pages(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_channel: Callable[..., Channel],
    comms: User,
) -> None:
    """Start (for chosen channels), certify one grant, revoke another, finish; the list shows progress."""
    chosen, other = make_channel("active"), make_channel("active")
    keep = give(chosen, comms, email="keep@agency.example")
    drop = give(chosen, comms, email="drop@agency.example")
    give(other, comms, email="other@agency.example")
    browser = browser_as("comms")

    form = browser.get("/access-reviews/new")
    started = browser.post(
        "/access-reviews/new",
        {
            "title": "Spring review",
            "due_on[day]": str(DUE.day),
            "due_on[month]": str(DUE.month),
            "due_on[year]": str(DUE.year),
            "scope": "some",
            "channels": [str(chosen.id)],
        },
    )
    [review] = db.session().execute(select(AccessReview)).unique().scalars()
    path = f"/access-reviews/{review.reference}"
    page = browser.get(path)
    keep_item, drop_item = item_for(review, keep), item_for(review, drop)
    certified = browser.post(f"{path}/items/{keep_item.id}", {f"item-{keep_item.id}-decision": "certified"})
    revoked = browser.post(
        f"{path}/items/{drop_item.id}",
        {
            f"item-{drop_item.id}-decision": "revoked",
            f"item-{drop_item.id}-note": "Left the agency.",
        },
    )
    before_finish = browser.get(path)
    finished = browser.post(f"{path}/finish")
    after = browser.get(path)
    listing = browser.get("/access-reviews")

    assert form.status_code == 200 and chosen.reference in text_of(form)
    assert started.status_code == 302 and started.headers["Location"].endswith(path)
    assert page.status_code == 200 and "0 of 2 decided (0%)" in text_of(page)
    assert (certified.status_code, revoked.status_code) == (302, 302)
    assert "Finish the review" in text_of(before_finish)
    assert finished.status_code == 302
    assert "This review is finished" in text_of(after) and "Save decision" not in text_of(after)
    assert "2 of 2 decided (100%): 1 certified, 1 revoked" in text_of(after)
    assert "Finished" in text_of(listing) and "2 of 2 decided (100%)" in text_of(listing)
    db.session().expire_all()
    assert not db.session().get(RosterGrant, drop.id).is_active  # type: ignore[union-attr]


def test_the_review_pages_explain_mistakes(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_channel: Callable[..., Channel],
    comms: User,
) -> None:
    granted = give(make_channel("active"), comms, email="one@agency.example")
    browser = browser_as("comms")

    bad_start = browser.post("/access-reviews/new", {"title": "", "scope": "all"})
    review = start(comms)
    item = item_for(review, granted)
    no_note = browser.post(
        f"/access-reviews/{review.reference}/items/{item.id}", {f"item-{item.id}-decision": "revoked"}
    )
    early_finish = browser.post(f"/access-reviews/{review.reference}/finish")

    assert bad_start.status_code == 422
    assert text_of(bad_start).count("Enter a title for the review") == 2
    assert text_of(bad_start).count("Enter the date by which every grant must be reviewed.") == 2
    assert no_note.status_code == 422
    assert "There is a problem" in text_of(no_note)
    assert text_of(no_note).count("Enter why this grant is being revoked.") == 2
    assert early_finish.status_code == 409
    assert "1 of 1 grant in" in text_of(early_finish)


def test_the_holder_sees_the_four_eyes_rule_instead_of_a_form(
    app: Flask,
    connection: Connection,
    browser_as: Callable[..., Browser],
    make_channel: Callable[..., Channel],
    comms: User,
) -> None:
    browser = browser_as("comms")
    holder: User = browser.user  # type: ignore[attr-defined]
    granted = roster.grant(make_channel("active"), email=holder.email, platform_role="admin", actor=comms)
    db.session().commit()
    review = start(comms)
    item = item_for(review, granted)

    page = browser.get(f"/access-reviews/{review.reference}")
    forced = browser.post(
        f"/access-reviews/{review.reference}/items/{item.id}", {f"item-{item.id}-decision": "certified"}
    )

    assert "You hold this role, so another member of the communications team must decide it" in text_of(page)
    assert "Save decision" not in text_of(page)
    assert forced.status_code == 409 and "four-eyes rule" in text_of(forced)
    assert item_state(connection, item) == (None, None, None)


def test_auditors_see_and_export_reviews_but_cannot_act(
    app: Flask,
    connection: Connection,
    browser_as: Callable[..., Browser],
    make_channel: Callable[..., Channel],
    comms: User,
    reviewer: User,
) -> None:
    granted = give(make_channel("active"), comms, email="one@agency.example")
    review = start(comms)
    item = item_for(review, granted)
    roster.decide(item, "certified", "Needed for the =SUM(campaign).", reviewer)
    db.session().commit()
    auditor = browser_as("auditor")
    path = f"/access-reviews/{review.reference}"
    before = (events_so_far(connection), item_state(connection, item))

    listing, page, export = auditor.get("/access-reviews"), auditor.get(path), auditor.get(f"{path}/export.csv")

    assert listing.status_code == 200 and review.reference in text_of(listing)
    assert "Start an access review" not in text_of(listing)
    assert page.status_code == 200 and "Finish the review" not in text_of(page) and "Save decision" not in text_of(page)
    assert export.status_code == 200 and export.mimetype == "text/csv"
    assert f'filename="{review.reference}.csv"' in export.headers["Content-Disposition"]
    [row] = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
    assert (row["review"], row["title"], row["due_on"], row["finished_at"]) == (
        review.reference,
        "Spring review",
        DUE.isoformat(),
        "",
    )
    assert (row["item_id"], row["channel"], row["person_name"], row["email"], row["platform_role"]) == (
        str(item.id),
        granted.channel.reference,
        "One",
        "one@agency.example",
        "editor",
    )
    assert (row["decision"], row["decided_by"], row["note"]) == (
        "certified",
        "Rhys Reviewer",
        "Needed for the =SUM(campaign).",
    )
    assert auditor.get("/access-reviews/new").status_code == 403
    assert auditor.post("/access-reviews/new", {"title": "Mine", "scope": "all"}).status_code == 403
    assert auditor.post(f"{path}/items/{item.id}", {f"item-{item.id}-decision": "revoked"}).status_code == 403
    assert auditor.post(f"{path}/finish").status_code == 403
    assert (events_so_far(connection), item_state(connection, item)) == before


@pytest.mark.parametrize("role", ["staff", "manager", "admin"])
def test_other_roles_cannot_see_reviews(
    app: Flask,
    browser_as: Callable[..., Browser],
    make_channel: Callable[..., Channel],
    comms: User,
    role: str,
) -> None:
    give(make_channel("active"), comms, email="one@agency.example")
    review = start(comms)
    browser = browser_as(role)
    for path in (
        "/access-reviews",
        f"/access-reviews/{review.reference}",
        f"/access-reviews/{review.reference}/export.csv",
    ):
        assert browser.get(path).status_code == 403, path


def test_an_unknown_review_is_a_404_that_explains(app: Flask, browser_as: Callable[..., Browser]) -> None:
    response = browser_as("auditor").get("/access-reviews/AR-9999")

    assert response.status_code == 404
    assert "There is no access review 'AR-9999'" in text_of(response)
