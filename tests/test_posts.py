"""Promotional post requests (SPEC capability 7, policy 7.1 and 6.11): staff propose a post for active
channels with text, images (each with its description), a date, a reason and consent; the text and the
descriptions are screened for patient identifiers on submit and again on review; comms record why
findings are acceptable before approving, ask for changes or reject (four-eyes), schedule, and record the
published address; the requester edits, resubmits or withdraws. Pages, the JSON API, visibility and
the number of statements each list costs.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from registry import clock, db
from registry.audit.models import AuditAnchor, AuditEvent
from registry.auth.models import User, UserRole
from registry.channels import services as channels
from registry.channels.models import Channel
from registry.errors import Conflict, Invalid, NotFound, NotPermitted
from registry.notifications.models import Notification
from registry.posts import services
from registry.posts.kind import KIND
from registry.posts.models import PostFinding, PostImage, PostTarget, PromotionalPost
from registry.screening import services as screening
from registry.uploads.models import Upload
from tests.conftest import Browser

TODAY = clock.today()
TOMORROW = TODAY + dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def _dates_as_this_test_starts() -> None:
    """A run can cross midnight: each test takes the date when it starts, not when the module loaded."""
    global TODAY, TOMORROW
    TODAY = clock.today()
    TOMORROW = TODAY + dt.timedelta(days=1)


NHS_NUMBER = "943 476 5919"
NHS_TEXT = f"Thank you to the ward team! Patient feedback form for NHS number {NHS_NUMBER} attached."
CLEAN_TEXT = "Our flu vaccination clinic opens on Tuesday in the main outpatients hall. Drop in from 9am."


def text_of(response: Any) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def png(colour: tuple[int, int, int] = (0, 94, 184)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(buffer, "PNG")
    return buffer.getvalue()


def pdf() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (255, 255, 255)).save(buffer, "PDF")
    return buffer.getvalue()


def form(channels_: list[Channel], **changes: Any) -> dict[str, Any]:
    """The proposal form as a browser sends it (multipart: files as (stream, name))."""
    when = changes.pop("wished_for", TOMORROW)
    data: dict[str, Any] = {
        "text": CLEAN_TEXT,
        "channels": [c.reference for c in channels_],
        "wished_for[day]": str(when.day),
        "wished_for[month]": str(when.month),
        "wished_for[year]": str(when.year),
        "reason": "Flu season starts next week and uptake among staff was low last year.",
        "consent_confirmed": "y",
        "consent_location": "",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def send(browser: Browser, path: str, data: dict[str, Any]):  # type: ignore[no-untyped-def]
    return browser.post(path, data, content_type="multipart/form-data")


def proposal(channels_: list[Channel], **changes: Any) -> services.PostProposal:
    values: dict[str, Any] = {
        "text": CLEAN_TEXT,
        "channels": [c.reference for c in channels_],
        "wished_for": TOMORROW,
        "reason": "Flu season.",
        "consent_confirmed": True,
        "consent_location": "",
    }
    values.update(changes)
    return services.PostProposal(**values)


def propose(requester: User, channels_: list[Channel], **changes: Any) -> PromotionalPost:
    post = services.propose(proposal(channels_, **changes), requester)
    db.session().commit()
    return post


def counts(connection: Connection) -> tuple[int, int, int, int]:
    """Posts, uploads, notifications and audit events: what a refusal must leave as it was."""
    return (
        connection.execute(select(func.count()).select_from(PromotionalPost)).scalar_one(),
        connection.execute(select(func.count()).select_from(Upload)).scalar_one(),
        connection.execute(select(func.count()).select_from(Notification)).scalar_one(),
        connection.execute(select(AuditAnchor.seq)).scalar_one(),
    )


def events(action: str, reference: str | None = None) -> list[AuditEvent]:
    statement = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
    if reference:
        statement = statement.where(AuditEvent.object_id == reference)
    return list(db.session().execute(statement).scalars())


def reload(post: PromotionalPost) -> PromotionalPost:
    db.session().expire_all()
    return services.get_post(post.reference)


@pytest.fixture
def x(make_channel: Callable[..., Channel]) -> Channel:
    return make_channel("active", platform="x", handle="trust_news")


@pytest.fixture
def facebook(make_channel: Callable[..., Channel]) -> Channel:
    return make_channel("active", platform="facebook", handle="ExampleTrustNews")


@pytest.fixture
def staff(browser_as: Callable[..., Browser]) -> Browser:
    return browser_as("staff")


@pytest.fixture
def comms(browser_as: Callable[..., Browser]) -> Browser:
    return browser_as("comms")


def user_of(browser: Browser) -> User:
    return browser.user  # type: ignore[attr-defined,no-any-return]


VERSION_FIELD = re.compile(r'name="(\w+)-version" value="(\d+)"')


def version_of(post: PromotionalPost) -> int:
    return db.session().execute(select(PromotionalPost.version).where(PromotionalPost.id == post.id)).scalar_one()


def shown_versions(browser: Browser, post: PromotionalPost) -> dict[str, str]:
    """The version each form on the post's page carries, by form (action, or ``findings``)."""
    return dict(VERSION_FIELD.findall(browser.get(f"/posts/{post.reference}").get_data(as_text=True)))


def act(
    browser: Browser,
    post: PromotionalPost,
    action: str,
    data: dict[str, Any] | None = None,
    *,
    version: int | str | None = None,
):  # type: ignore[no-untyped-def]
    """Send one of a post's comms forms (an action, or ``findings``) as the page would: with the
    version the page shows (the stored one when the page has no such form)."""
    path = f"/posts/{post.reference}/findings" if action == "findings" else f"/posts/{post.reference}/actions/{action}"
    if version is None:
        version = shown_versions(browser, post).get(action) or version_of(post)
    return browser.post(path, {f"{action}-version": str(version), **(data or {})})


# --- proposing -------------------------------------------------------------------------------------


def test_staff_propose_a_post_with_an_image_and_comms_are_told(
    staff: Browser,
    comms: Browser,
    x: Channel,
    facebook: Channel,
) -> None:
    """The post is saved with its channels, image and description; the requester sees it; each comms
    member is told (without the text); the audit trail has the request and the screening, not the text."""
    page = staff.get("/posts/new")
    assert page.status_code == 200
    shown = text_of(page)
    assert f"{x.display_name} (X (Twitter))" in shown and "up to 280 characters" in shown
    assert "up to 63,206 characters" in shown
    sent = send(
        staff,
        "/posts/new",
        form(
            [x, facebook],
            image_1=(io.BytesIO(png()), "clinic.png"),
            alt_1="The clinic's entrance with a welcome sign.",
            consent_location="Outpatients office, consent folder 2026",
        ),
    )
    assert sent.status_code == 302, text_of(sent)[:2000]
    post = db.session().execute(select(PromotionalPost)).scalar_one()
    assert re.fullmatch(rf"PP-{TODAY.year}-\d{{4,}}", post.reference)
    assert sent.headers["Location"].endswith(f"/posts/{post.reference}")
    assert post.status == "submitted" and post.text == CLEAN_TEXT and post.wished_for == TOMORROW
    assert [c.reference for c in post.channels] == sorted([x.reference, facebook.reference], key=lambda r: int(r[3:]))
    [image] = post.images
    assert (image.position, image.alt_text, image.upload.content_type) == (
        1,
        "The clinic's entrance with a welcome sign.",
        "image/png",
    )
    assert post.findings == []
    detail = staff.get(sent.headers["Location"])
    assert f"Your post {post.reference} has been sent to the communications team." in text_of(detail)
    assert CLEAN_TEXT in text_of(detail)
    assert (
        staff.get(f"/posts/{post.reference}/images/{image.id}").headers["Content-Disposition"].startswith("attachment")
    )

    [told] = (
        db.session()
        .execute(
            select(Notification).where(
                Notification.recipient_id == user_of(comms).id, Notification.event.like("post:%")
            )
        )
        .scalars()
    )
    assert told.event == "post:request" and told.link == f"/posts/{post.reference}"
    assert "flu" not in told.body.lower()
    [request_event] = events("post:request", post.reference)
    [screen_event] = events("post:screen", post.reference)
    for event in (request_event, screen_event):
        assert "flu" not in event.details.lower()
    assert '"images":1' in request_event.details and '"findings":0' in screen_event.details


def test_every_missing_answer_is_named_and_nothing_is_stored(
    staff: Browser,
    x: Channel,
    connection: Connection,
) -> None:
    before = counts(connection)
    refused = send(
        staff,
        "/posts/new",
        {"text": "", "reason": "", "wished_for[day]": "", "wished_for[month]": "", "wished_for[year]": ""},
    )
    assert refused.status_code == 422
    shown = text_of(refused)
    for message in (
        "Enter the text of the post",
        "Choose at least one channel to post on",
        "Enter the date you would like the post published",
        "Say why the Trust should publish this post",
        "Confirm that everyone who can be identified in the post has given their consent",
    ):
        assert message in shown
    assert 'href="#text"' in refused.get_data(as_text=True)
    assert counts(connection) == before


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "wished_for",
            TODAY - dt.timedelta(days=1),
            "The date you would like it published must be today or in the future",
        ),
        ("wished_for[day]", "31", "must be a real date"),
        ("reason", "x" * 2001, "The reason must be 2000 characters or fewer"),
        ("channels", ["CH-99999"], "CH-99999 is not one of the Trust's channels: choose from the list"),
        ("consent_confirmed", None, "Confirm that everyone who can be identified in the post has given their consent"),
    ],
)
def test_each_wrong_answer_is_refused_with_its_message(
    staff: Browser,
    x: Channel,
    connection: Connection,
    field: str,
    value: Any,
    message: str,
) -> None:
    before = counts(connection)
    data = form([x], **{field: value})
    if field == "wished_for[day]":
        data["wished_for[month]"] = "2"
    refused = send(staff, "/posts/new", data)
    assert refused.status_code == 422
    assert message in text_of(refused)
    assert counts(connection) == before


@pytest.mark.parametrize("status", ["suspended", "retired", "requested", "approved"])
def test_only_active_channels_can_be_chosen(
    staff: Browser,
    make_channel: Callable[..., Channel],
    connection: Connection,
    status: str,
) -> None:
    other = make_channel(status, platform="instagram", handle=f"not_live_{status}")
    assert other.reference not in text_of(staff.get("/posts/new"))
    before = counts(connection)
    refused = send(staff, "/posts/new", form([other]))
    assert refused.status_code == 422
    assert (
        f"{other.reference} ({other.display_name}, Instagram) is {other.status_enum.phrase}: choose an active channel"
        in text_of(refused)
    )
    assert counts(connection) == before


@pytest.mark.parametrize(
    ("platforms", "length", "refused_by"),
    [
        (("x", "facebook"), 281, "X (Twitter) allows 280"),
        (("x",), 280, None),
        (("bluesky", "threads"), 301, "Bluesky allows 300"),
        (("threads", "instagram"), 501, "Threads allows 500"),
        (("instagram", "linkedin"), 2201, "Instagram allows 2,200"),
        (("linkedin", "youtube"), 3001, "LinkedIn allows 3,000"),
        (("facebook",), 63206, None),
        (("facebook", "whatsapp"), 63207, "Facebook allows 63,206"),
        (("whatsapp",), 63207, "the Registry accepts at most 63,206"),
    ],
)
def test_the_strictest_chosen_platform_limits_the_text(
    make_channel: Callable[..., Channel],
    make_user: Callable[..., User],
    platforms: tuple[str, ...],
    length: int,
    refused_by: str | None,
) -> None:
    handles = {
        "x": "limits_x",
        "facebook": "LimitsPage",
        "bluesky": "limits.bsky.social",
        "threads": "limits_threads",
        "instagram": "limits_ig",
        "linkedin": "company/limits-nhs",
        "youtube": "@LimitsNHS",
        "whatsapp": "07700900123",
    }
    chosen = [make_channel("active", platform=p, handle=handles[p]) for p in platforms]
    text = ("Flu jabs now. " * 5000)[: length - 1] + "!"
    data = proposal(chosen, text=text)
    if refused_by is None:
        assert services.propose(data, make_user("staff")).text == text
        return
    with pytest.raises(Invalid) as refused:
        services.propose(data, make_user("staff"))
    assert refused_by in refused.value.errors["text"]
    assert f"{length:,} characters long" in refused.value.errors["text"]


def test_line_breaks_count_as_one_character_however_the_browser_sends_them(staff: Browser, x: Channel) -> None:
    text = ("a" * 69 + "\r\n") * 4  # 70 characters a line as people see it: 280, though 284 are sent
    sent = send(staff, "/posts/new", form([x], text=text))
    assert sent.status_code == 302, text_of(sent)
    assert db.session().execute(select(PromotionalPost.text)).scalar_one() == ("a" * 69 + "\n") * 3 + "a" * 69


def test_every_image_needs_its_description_and_nothing_is_stored_without(
    staff: Browser,
    x: Channel,
    connection: Connection,
) -> None:
    before = counts(connection)
    refused = send(
        staff,
        "/posts/new",
        form(
            [x],
            consent_location="Ward office",
            image_1=(io.BytesIO(png()), "one.png"),
            alt_1="A nurse giving a flu jab",
            image_2=(io.BytesIO(png((9, 9, 9))), "two.png"),
            alt_2="  ",
            alt_3="A description with no image",
        ),
    )
    assert refused.status_code == 422
    shown = text_of(refused)
    assert "Describe the image in slot 2 for people who cannot see it (alternative text)" in shown
    assert "Choose the image that the description in slot 3 is for, or clear the description" in shown
    assert "Choose the file again" in shown
    assert counts(connection) == before


def test_images_need_the_consent_forms_location_and_must_be_images(
    staff: Browser,
    x: Channel,
    connection: Connection,
) -> None:
    before = counts(connection)
    refused = send(staff, "/posts/new", form([x], image_1=(io.BytesIO(png()), "team.png"), alt_1="The ward team"))
    assert refused.status_code == 422
    assert "Say where the signed consent forms are kept: the post has images" in text_of(refused)
    leaflet = send(
        staff,
        "/posts/new",
        form(
            [x],
            image_1=(io.BytesIO(pdf()), "leaflet.pdf"),
            alt_1="The leaflet",
            consent_location="Office",
        ),
    )
    assert leaflet.status_code == 422
    assert "leaflet.pdf: only images (PNG, JPEG, GIF or WebP) can go in a post" in text_of(leaflet)
    fake = send(
        staff,
        "/posts/new",
        form(
            [x],
            image_1=(io.BytesIO(b"<html><script>alert(1)</script>"), "photo.png"),
            alt_1="A photo",
            consent_location="Office",
        ),
    )
    assert fake.status_code == 422
    assert "photo.png" in text_of(fake)
    assert counts(connection)[:3] == before[:3]
    assert [e.action for e in db.session().execute(select(AuditEvent).where(AuditEvent.seq > before[3])).scalars()] == [
        "upload:refused"  # the uploads area records each refused file, even though the request fails
    ]


def test_at_most_four_images(make_user: Callable[..., User], x: Channel) -> None:
    staff = make_user("staff")
    from werkzeug.datastructures import FileStorage

    images = [services.NewImage(FileStorage(io.BytesIO(png()), f"{n}.png"), f"Picture {n}", n) for n in range(1, 6)]
    with pytest.raises(Invalid) as refused:
        services.propose(proposal([x], consent_location="Office"), staff, images)
    assert refused.value.errors == {"image_5": "A post can have at most 4 images"}


# --- screening -------------------------------------------------------------------------------------


def test_an_nhs_number_is_shown_masked_and_blocks_approval_until_comms_accept_it(
    staff: Browser,
    comms: Browser,
    browser_as: Callable[..., Browser],
    x: Channel,
    connection: Connection,
) -> None:
    """The post is saved, the requester sees the masked warning; comms see it too and cannot approve
    until a colleague other than the requester has recorded why it is acceptable."""
    sent = send(staff, "/posts/new", form([x], text=NHS_TEXT))
    assert sent.status_code == 302
    post = db.session().execute(select(PromotionalPost)).scalar_one()
    [finding] = post.findings
    assert (finding.field, finding.image_position, finding.kind, finding.label) == (
        "text",
        None,
        "nhs_number",
        "NHS number",
    )
    assert NHS_TEXT[finding.start_offset : finding.end_offset] == NHS_NUMBER
    assert NHS_NUMBER not in finding.masked and "5919" not in finding.masked.replace(" ", "")[:3]

    first = staff.get(f"/posts/{post.reference}")
    assert "has been sent to the communications team, but it may contain patient identifiers" in text_of(first)
    for page in (first, comms.get(f"/posts/{post.reference}")):
        shown = text_of(page)
        assert "This post may identify a patient" in shown
        assert f"NHS number in the text: {finding.masked}" in shown
    for event in db.session().execute(select(AuditEvent).where(AuditEvent.action.like("post:%"))).scalars():
        assert "5919" not in event.details and "ward team" not in event.details
    [told] = (
        db.session()
        .execute(
            select(Notification).where(
                Notification.recipient_id == user_of(comms).id, Notification.event.like("post:%")
            )
        )
        .scalars()
    )
    assert "1 possible patient identifier" in told.body and "5919" not in told.body

    before = counts(connection)
    refused = act(comms, post, "approve", {"approve-reason": ""})
    assert refused.status_code == 409
    assert (
        f"{post.reference} may contain patient identifiers (1 finding: NHS number). Record why they are acceptable "
        "before approving it, or ask for changes."
    ) in text_of(refused)
    assert counts(connection) == before
    assert reload(post).status == "submitted"

    empty = act(comms, post, "findings", {"findings-acceptance": ""})
    assert empty.status_code == 422
    assert "Say why the possible identifiers are acceptable in this post" in text_of(empty)
    assert (
        act(comms, post, "findings", {"findings-acceptance": "Test number from the training pack."}).status_code == 302
    )
    post = reload(post)
    assert post.findings_accepted and post.findings_accepted_by_id == user_of(comms).id
    [accepted] = events("post:findings_accepted", post.reference)
    assert '"findings":1' in accepted.details and "training pack" in accepted.details
    assert "This post may identify a patient" in text_of(staff.get(f"/posts/{post.reference}"))
    assert "Test number from the training pack." in text_of(staff.get(f"/posts/{post.reference}"))
    approved = act(comms, post, "approve", {"approve-reason": "Lovely."})
    assert approved.status_code == 302
    assert reload(post).status == "approved"


def test_descriptions_are_screened_too_and_a_name_needs_the_consent_forms(
    make_user: Callable[..., User],
    x: Channel,
) -> None:
    from werkzeug.datastructures import FileStorage

    staff = make_user("staff")
    image = services.NewImage(FileStorage(io.BytesIO(png()), "photo.png"), "Our patient Sarah Jones with the team", 1)
    post = services.propose(proposal([x], consent_location="Ward 7 office"), staff, [image])
    [finding] = post.findings
    assert (finding.field, finding.image_position, finding.kind) == ("alt_text", 1, "patient_name")
    assert "Sarah Jones" not in finding.masked
    assert finding.where == "image 1's alternative text"

    with pytest.raises(Invalid) as refused:
        services.propose(proposal([x], text="Well done to our patient Ahmed Khan on finishing the marathon!"), staff)
    assert refused.value.errors == {
        "consent_location": "Say where the signed consent forms are kept: the post names someone"
    }


def test_opening_a_post_changes_nothing_and_shows_what_the_screening_finds_now(
    app: Flask,
    comms: Browser,
    make_user: Callable[..., User],
    x: Channel,
    browser_as: Callable[..., Browser],
    api_token: Callable[[User], dict[str, str]],
    connection: Connection,
) -> None:
    """Findings stored at submission that the screener would now give differently: opening the post
    (page or API, by comms) stores nothing, records nothing and clears no acceptance, but the page shows
    what the screening finds now, masked. Comms deciding or accepting the findings screens it again:
    the new findings replace the old, the earlier acceptance no longer counts, and the change is recorded."""
    post = propose(make_user("staff"), [x], text=NHS_TEXT)
    other = browser_as("comms")
    assert act(other, post, "findings", {"findings-acceptance": "Fine."}).status_code == 302
    db.session().execute(PostFinding.__table__.delete().where(PostFinding.post_id == post.id))
    db.session().commit()
    assert reload(post).findings == [] and reload(post).findings_accepted
    steps = len(services.history(post))
    before = counts(connection)

    for _ in range(2):
        page = comms.get(f"/posts/{post.reference}")
        assert page.status_code == 200
        shown = text_of(page)
        assert "This post may identify a patient" not in shown  # nothing is stored yet…
        assert "The screening now finds something different" in shown  # …but the page says what it finds now
        assert "Screened again now, the post gives 1 possible patient identifier" in shown
        assert f"NHS number in the text: {screening.screen(NHS_TEXT)[0].masked}" in shown
        assert "Record why the findings are acceptable" in shown  # the form is offered for what is found now
        api = app.test_client().get(f"/api/v1/posts/{post.reference}", headers=api_token(user_of(comms)))
        assert api.status_code == 200 and api.get_json()["findings"] == []
    assert "The screening now finds something different" in text_of(
        browser_as("staff", user=post.requester).get(f"/posts/{post.reference}")
    )
    post = reload(post)
    assert post.findings == [] and post.findings_accepted
    assert len(services.history(post)) == steps
    assert counts(connection)[:3] == before[:3]
    assert len(events("post:screen", post.reference)) == 1  # the submission's only

    refused = act(comms, post, "approve", {"approve-reason": ""})  # screened again: the new finding is not accepted
    assert refused.status_code == 409 and "may contain patient identifiers (1 finding: NHS number)" in text_of(refused)
    assert act(comms, post, "findings", {"findings-acceptance": "A test number."}).status_code == 302
    post = reload(post)
    assert [f.kind for f in post.findings] == ["nhs_number"]
    assert post.findings_accepted and post.findings_acceptance == "A test number."
    [rescreened] = events("post:screen", post.reference)[1:]
    assert '"when":"review"' in rescreened.details
    assert [s.action for s in services.history(post)][-2:] == ["screen", "accept_findings"]
    assert "The screening now finds something different" not in text_of(comms.get(f"/posts/{post.reference}"))
    assert act(comms, post, "approve", {}).status_code == 302
    assert len(events("post:screen", post.reference)) == 2  # unchanged findings: nothing more recorded


def test_a_decision_screens_the_post_again(
    comms: Browser,
    make_user: Callable[..., User],
    x: Channel,
) -> None:
    """Asking for changes (a decision like any other) stores what the screening finds now."""
    post = propose(make_user("staff"), [x], text=NHS_TEXT)
    db.session().execute(PostFinding.__table__.delete().where(PostFinding.post_id == post.id))
    db.session().commit()
    assert act(comms, post, "request_changes", {"request_changes-reason": "Take the number out."}).status_code == 302
    post = reload(post)
    assert post.status == "changes_requested" and [f.kind for f in post.findings] == ["nhs_number"]
    assert '"when":"review"' in events("post:screen", post.reference)[-1].details


# --- deciding --------------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["approve", "request_changes", "reject"])
def test_four_eyes_comms_cannot_decide_their_own_post(
    action: str,
    app: Flask,
    browser_as: Callable[..., Browser],
    x: Channel,
    api_token: Callable[[User], dict[str, str]],
    connection: Connection,
) -> None:
    comms = browser_as("comms")
    post = propose(user_of(comms), [x], text=NHS_TEXT)
    before = counts(connection)
    page = act(comms, post, action, {f"{action}-reason": "Looks fine."})
    assert page.status_code == 409
    assert (
        "You proposed this post, so another member of the communications team must decide it (four-eyes rule)."
        in text_of(page)
    )
    api = app.test_client().post(
        f"/api/v1/posts/{post.reference}/transitions",
        json={"action": action, "reason": "Looks fine.", "version": 1},
        headers=api_token(user_of(comms)),
    )
    assert api.status_code == 409 and "four-eyes rule" in api.get_json()["detail"]
    own = act(comms, post, "findings", {"findings-acceptance": "Mine is fine."})
    assert own.status_code == 409
    assert "another member of the communications team must accept its findings (four-eyes rule)" in text_of(own)
    assert counts(connection)[0::2] == before[0::2]  # no post or audit event added (the token's use aside)
    assert reload(post).status == "submitted" and not reload(post).findings_accepted
    colleague = browser_as("comms")
    assert act(colleague, post, "findings", {"findings-acceptance": "Fine."}).status_code == 302
    assert act(colleague, post, action, {f"{action}-reason": "Looks fine."}).status_code == 302


def test_a_channel_no_longer_active_stops_approval(
    comms: Browser,
    make_user: Callable[..., User],
    x: Channel,
    facebook: Channel,
    connection: Connection,
) -> None:
    post = propose(make_user("staff"), [x, facebook])
    channels.transition(facebook, "suspend", make_user("comms"), reason="Moderators away.")
    db.session().commit()
    before = counts(connection)
    refused = act(comms, post, "approve", {"approve-reason": ""})
    assert refused.status_code == 409
    assert (
        f"{facebook.reference} ({facebook.display_name}, Facebook) is suspended, not active, so {post.reference} "
        "cannot be approved: a post can only go on active channels."
    ) in text_of(refused)
    assert counts(connection) == before
    assert reload(post).status == "submitted"


def test_changes_asked_then_made_and_resubmitted_are_screened_again(
    staff: Browser,
    comms: Browser,
    x: Channel,
    facebook: Channel,
    connection: Connection,
) -> None:
    post = propose(user_of(staff), [x])
    empty = act(comms, post, "request_changes", {"request_changes-reason": " "})
    assert empty.status_code == 422
    assert "Enter a reason: what should the requester change" in text_of(empty)
    assert reload(post).status == "submitted"
    asked = act(comms, post, "request_changes", {"request_changes-reason": "Please add the clinic's opening hours."})
    assert asked.status_code == 302
    assert reload(post).status == "changes_requested"
    [told] = (
        db.session()
        .execute(
            select(Notification).where(
                Notification.recipient_id == user_of(staff).id, Notification.event == "post:request_changes"
            )
        )
        .scalars()
    )
    assert "Please add the clinic's opening hours." in told.body

    page = staff.get(f"/posts/{post.reference}")
    assert "The communications team asked for changes" in text_of(page)
    edit = staff.get(f"/posts/{post.reference}/edit")
    assert edit.status_code == 200
    assert "Please add the clinic's opening hours." in text_of(edit)
    new_text = "Flu clinic open 9am to 5pm. Questions? Call 01632 960 123."
    sent = send(staff, f"/posts/{post.reference}/edit", form([x, facebook], text=new_text, note="Added the hours."))
    assert sent.status_code == 302, text_of(sent)
    post = reload(post)
    assert post.status == "submitted" and post.text == new_text
    assert [c.reference for c in post.channels] == [x.reference, facebook.reference]
    assert [f.kind for f in post.findings] == ["phone"]
    [resubmitted] = events("post:resubmit", post.reference)
    assert '"changed":["channels","characters","reason","text"]' in resubmitted.details
    assert "01632" not in resubmitted.details
    assert '"when":"resubmit"' in events("post:screen", post.reference)[-1].details
    assert "Resubmitted" in text_of(comms.get(f"/posts/{post.reference}"))


def test_the_requester_may_change_a_post_waiting_for_a_decision_keeping_and_removing_images(
    staff: Browser,
    x: Channel,
) -> None:
    sent = send(
        staff,
        "/posts/new",
        form(
            [x],
            consent_location="Office",
            image_1=(io.BytesIO(png((1, 2, 3))), "one.png"),
            alt_1="First picture",
            image_2=(io.BytesIO(png((4, 5, 6))), "two.png"),
            alt_2="Second picture",
        ),
    )
    assert sent.status_code == 302
    post = db.session().execute(select(PromotionalPost)).scalar_one()
    first, second = post.images
    page = text_of(staff.get(f"/posts/{post.reference}/edit"))
    assert "Image 1: one.png" in page and "Image 2: two.png" in page and "New image 1 (optional)" in page
    assert "New image 3" not in page

    missing = send(
        staff,
        f"/posts/{post.reference}/edit",
        form(
            [x],
            consent_location="Office",
            **{f"keep_{first.id}_alt": "", f"keep_{second.id}_alt": "Second picture"},
        ),
    )
    assert missing.status_code == 422
    assert "Describe image 1 for people who cannot see it, or remove the image" in text_of(missing)
    assert f'href="#keep_{first.id}_alt"' in missing.get_data(as_text=True)

    changed = send(
        staff,
        f"/posts/{post.reference}/edit",
        form(
            [x],
            consent_location="Office",
            **{
                f"keep_{first.id}_alt": "First picture, described better",
                f"keep_{second.id}_alt": "Second picture",
                f"keep_{second.id}_remove": "y",
            },
            image_1=(io.BytesIO(png((7, 8, 9))), "three.png"),
            alt_1="Third picture",
        ),
    )
    assert changed.status_code == 302, text_of(changed)
    post = reload(post)
    assert [(i.position, i.alt_text, i.upload.original_name) for i in post.images] == [
        (1, "First picture, described better", "one.png"),
        (2, "Third picture", "three.png"),
    ]
    assert post.status == "submitted"
    [update] = events("post:update", post.reference)
    assert "described better" not in update.details and '"alt_texts"' in update.details


def test_only_the_requester_changes_or_withdraws_and_not_once_decided(
    staff: Browser,
    comms: Browser,
    browser_as: Callable[..., Browser],
    x: Channel,
    connection: Connection,
) -> None:
    post = propose(user_of(staff), [x])
    other = browser_as("staff")
    assert other.get(f"/posts/{post.reference}/edit").status_code == 404
    refused = comms.get(f"/posts/{post.reference}/edit")
    assert refused.status_code == 403 and "Only the person who proposed the post can change it." in text_of(refused)
    withdraw = comms.post(f"/posts/{post.reference}/actions/withdraw", {"withdraw-reason": ""})
    assert withdraw.status_code == 403
    assert "Only the person who proposed the post can withdraw it." in text_of(withdraw)
    before = counts(connection)
    act(comms, post, "reject", {"reject-reason": "Not for our channels."})
    assert reload(post).status == "rejected"
    assert staff.get(f"/posts/{post.reference}/edit").status_code == 409
    late = staff.post(f"/posts/{post.reference}/actions/withdraw", {"withdraw-reason": ""})
    assert late.status_code == 409
    assert f"{post.reference} is rejected, so it cannot be withdrawn." in text_of(late)
    assert counts(connection)[3] == before[3] + 1  # the rejection only


def test_withdrawing_a_scheduled_post_tells_comms(
    staff: Browser,
    comms: Browser,
    x: Channel,
) -> None:
    post = propose(user_of(staff), [x])
    act(comms, post, "approve", {})
    services.transition(post, "schedule", user_of(comms), scheduled_for=db.utcnow() + dt.timedelta(days=2))
    db.session().commit()
    assert (
        staff.post(f"/posts/{post.reference}/actions/withdraw", {"withdraw-reason": "The clinic moved."}).status_code
        == 302
    )
    assert reload(post).status == "withdrawn"
    [told] = (
        db.session()
        .execute(
            select(Notification).where(
                Notification.recipient_id == user_of(comms).id, Notification.event == "post:withdraw"
            )
        )
        .scalars()
    )
    assert "Take it out of any schedule" in told.body


# --- scheduling and publishing ---------------------------------------------------------------------


def test_comms_schedule_in_uk_time_and_record_the_published_addresses(
    staff: Browser,
    comms: Browser,
    x: Channel,
    facebook: Channel,
) -> None:
    post = propose(user_of(staff), [x, facebook])
    early = act(comms, post, "schedule", {})
    assert early.status_code == 409
    assert f"{post.reference} is waiting for a decision, so it cannot be scheduled." in text_of(early)
    act(comms, post, "approve", {})
    day = clock.today() + dt.timedelta(days=3)
    date = {
        "schedule-scheduled_on[day]": day.day,
        "schedule-scheduled_on[month]": day.month,
        "schedule-scheduled_on[year]": day.year,
    }
    no_time = act(comms, post, "schedule", date)
    assert no_time.status_code == 422 and "Enter the time the post will be published" in text_of(no_time)
    bad_time = act(comms, post, "schedule", {**date, "schedule-scheduled_time": "25:00"})
    assert bad_time.status_code == 422 and "Enter a real time, for example 09:30 or 2pm" in text_of(bad_time)
    past = TODAY - dt.timedelta(days=1)
    in_past = act(
        comms,
        post,
        "schedule",
        {
            "schedule-scheduled_on[day]": past.day,
            "schedule-scheduled_on[month]": past.month,
            "schedule-scheduled_on[year]": past.year,
            "schedule-scheduled_time": "09:30",
        },
    )
    assert in_past.status_code == 422
    assert "The time the post will be published must be in the future" in text_of(in_past)
    assert reload(post).status == "approved"
    scheduled = act(comms, post, "schedule", {**date, "schedule-scheduled_time": "2:30pm"})
    assert scheduled.status_code == 302
    post = reload(post)
    assert post.status == "scheduled"
    assert post.scheduled_for == dt.datetime.combine(day, dt.time(14, 30), tzinfo=clock.LONDON).astimezone(dt.UTC)
    assert f"{day.day} {day:%B %Y} at 2:30pm" in text_of(staff.get(f"/posts/{post.reference}"))

    wrong = act(
        comms,
        post,
        "publish",
        {
            f"publish-url_{x.reference}": "https://www.facebook.com/ExampleTrustNews/posts/123",
            f"publish-url_{facebook.reference}": "https://www.facebook.com/ExampleTrustNews",
        },
    )
    assert wrong.status_code == 422
    shown = text_of(wrong)
    assert f"That is not an X (Twitter) address, but {x.reference} is on X (Twitter)." in shown
    assert "That is the account's own page, not the post. Open the post and copy its address." in shown
    assert reload(post).status == "scheduled"
    elsewhere = act(
        comms,
        post,
        "publish",
        {
            f"publish-url_{x.reference}": "https://x.com/someone_else/status/1790000000000000000",
            f"publish-url_{facebook.reference}": "https://www.facebook.com/ExampleTrustNews/posts/pfbid02abc",
        },
    )
    assert "That post is on another account (someone_else), not trust_news." in text_of(elsewhere)
    published = act(
        comms,
        post,
        "publish",
        {
            f"publish-url_{x.reference}": "https://twitter.com/trust_news/status/1790000000000000000",
            f"publish-url_{facebook.reference}": "www.facebook.com/ExampleTrustNews/posts/pfbid02abc",
        },
    )
    assert published.status_code == 302, text_of(published)
    post = reload(post)
    assert post.status == "published" and post.published_at is not None
    assert {t.channel.reference: t.published_url for t in post.targets} == {
        x.reference: "https://twitter.com/trust_news/status/1790000000000000000",
        facebook.reference: "https://www.facebook.com/ExampleTrustNews/posts/pfbid02abc",
    }
    [event] = events("post:publish", post.reference)
    assert "1790000000000000000" in event.details
    assert "https://www.facebook.com/ExampleTrustNews/posts/pfbid02abc" in text_of(
        staff.get(f"/posts/{post.reference}")
    )
    told = (
        db.session()
        .execute(
            select(Notification.event).where(Notification.recipient_id == user_of(staff).id).order_by(Notification.id)
        )
        .scalars()
        .all()
    )
    assert told == ["post:approve", "post:schedule", "post:publish"]


@pytest.mark.parametrize(
    ("platform", "handle", "url", "problem"),
    [
        ("mastodon", "nhstrust@mastodon.social", "https://mastodon.social/@nhstrust/112233", None),
        ("mastodon", "nhstrust@mastodon.social", "https://fosstodon.org/@nhstrust/112233", "not on mastodon.social"),
        ("mastodon", "nhstrust@mastodon.social", "https://mastodon.social/@other/112233", "another account"),
        ("bluesky", "nhstrust.bsky.social", "https://bsky.app/profile/nhstrust.bsky.social/post/3kabc", None),
        ("bluesky", "nhstrust.bsky.social", "https://bsky.app/profile/other.bsky.social/post/3kabc", "another account"),
        ("linkedin", "company/nhs-trust", "https://www.linkedin.com/feed/update/urn:li:activity:7123/", None),
        ("youtube", "@NHSTrust", "https://youtu.be/abc123", "short link"),
        ("youtube", "@NHSTrust", "https://www.youtube.com/watch?v=abc123", None),
        ("x", "nhstrust", "javascript:alert(1)", "https://"),
        ("x", "nhstrust", "https://help.x.com/en/using-x", "not a post on X"),
        ("x", "nhstrust", "", "Enter the address of the post"),
        ("other", "forum.example.org/nhs-trust", "https://forum.example.org/t/flu-clinic/42", None),
        (
            "other",
            "forum.example.org/nhs-trust",
            "https://evil.example.com/t/flu-clinic/42",
            "not on forum.example.org",
        ),
    ],
)
def test_a_published_address_must_be_on_the_channels_platform(
    make_channel: Callable[..., Channel],
    platform: str,
    handle: str,
    url: str,
    problem: str | None,
) -> None:
    channel = make_channel("active", platform=platform, handle=handle)
    if problem is None:
        assert services.check_post_url(channel, url) == url
        return
    from registry.channels.platforms import HandleError

    with pytest.raises(HandleError) as refused:
        services.check_post_url(channel, url)
    assert problem in str(refused.value)


# --- who sees what ---------------------------------------------------------------------------------


def test_staff_see_only_their_own_posts_and_comms_and_auditors_see_all(
    app: Flask,
    staff: Browser,
    browser_as: Callable[..., Browser],
    make_user: Callable[..., User],
    x: Channel,
    api_token: Callable[[User], dict[str, str]],
) -> None:
    from werkzeug.datastructures import FileStorage

    own = propose(user_of(staff), [x])
    image = services.NewImage(FileStorage(io.BytesIO(png()), "secret.png"), "A picture", 1)
    theirs = services.propose(proposal([x], consent_location="Office"), make_user("staff"), [image])
    db.session().commit()
    listed = text_of(staff.get("/posts"))
    assert own.reference in listed and theirs.reference not in listed
    for path in (
        f"/posts/{theirs.reference}",
        f"/posts/{theirs.reference}/edit",
        f"/posts/{theirs.reference}/images/{theirs.images[0].id}",
    ):
        hidden = staff.get(path)
        assert hidden.status_code == 404, path
        assert f"There is no promotional post '{theirs.reference}'" in text_of(hidden)
    assert staff.post(f"/posts/{theirs.reference}/actions/withdraw", {}).status_code == 404
    headers = api_token(user_of(staff))
    api = app.test_client()
    assert api.get(f"/api/v1/posts/{theirs.reference}", headers=headers).status_code == 404
    assert [p["reference"] for p in api.get("/api/v1/posts", headers=headers).get_json()["items"]] == [own.reference]
    for role in ("comms", "auditor"):
        reader = browser_as(role)
        assert {own.reference, theirs.reference} <= set(re.findall(r"PP-\d{4}-\d+", text_of(reader.get("/posts"))))
        assert reader.get(f"/posts/{theirs.reference}").status_code == 200
        assert reader.get(f"/posts/{theirs.reference}/images/{theirs.images[0].id}").status_code == 200
    auditor = browser_as("auditor")
    page = text_of(auditor.get(f"/posts/{theirs.reference}"))
    assert "Approve the post" not in page
    refused = act(auditor, theirs, "approve", {})
    assert refused.status_code == 403 and "You do not have permission to do this" in text_of(refused)
    assert act(auditor, theirs, "findings", {"findings-acceptance": "x"}).status_code == 403


def test_the_list_filters_by_status_and_words(
    comms: Browser,
    make_user: Callable[..., User],
    x: Channel,
) -> None:
    staff = make_user("staff")
    flu = propose(staff, [x], text="Flu jabs for staff this week.")
    bloods = propose(staff, [x], text="The blood test clinic has moved to building 3.")
    services.transition(bloods, "reject", make_user("comms"), reason="Duplicate.")
    db.session().commit()
    assert set(re.findall(r"PP-\d{4}-\d+", text_of(comms.get("/posts?status=rejected")))) == {bloods.reference}
    assert set(re.findall(r"PP-\d{4}-\d+", text_of(comms.get("/posts?q=FLU")))) == {flu.reference}
    assert set(re.findall(r"PP-\d{4}-\d+", text_of(comms.get(f"/posts?q={bloods.reference.lower()}")))) == {
        bloods.reference
    }


# --- work items ------------------------------------------------------------------------------------


def test_work_items_for_comms_and_for_the_requester(
    make_user: Callable[..., User],
    x: Channel,
    count_queries: Callable[[], Any],
) -> None:
    staff, comms, colleague = make_user("staff"), make_user("comms"), make_user("comms")
    waiting = propose(staff, [x], text=NHS_TEXT)
    approved = propose(staff, [x])
    services.transition(approved, "approve", comms)
    changes = propose(staff, [x])
    services.transition(changes, "request_changes", comms, reason="Shorter please.")
    scheduled = propose(staff, [x])
    services.transition(scheduled, "approve", comms)
    services.transition(scheduled, "schedule", comms, scheduled_for=db.utcnow() + dt.timedelta(days=1))
    done = propose(staff, [x])
    services.transition(done, "reject", colleague, reason="No.")
    propose(make_user("staff"), [x])
    db.session().commit()
    db.session().expire_all()

    with count_queries() as counted:
        items = KIND.work_items_for_comms()
    assert counted.n <= 5
    assert [i.reference for i in items][:3] == [waiting.reference, approved.reference, scheduled.reference]
    first = items[0]
    assert (first.kind, first.status_label, first.url, first.requester) == (
        "Promotional post",
        "To decide: possible identifiers found",
        f"/posts/{waiting.reference}",
        staff.name,
    )
    assert first.title == f"Post for X (Twitter), asked for {TOMORROW.day} {TOMORROW:%B %Y}"
    assert "5919" not in first.title
    assert items[1].status_label == "To schedule" and items[2].status_label.startswith("To publish: scheduled for ")
    mine = KIND.work_items_of(staff)
    assert [i.reference for i in mine] == [
        changes.reference,
        waiting.reference,
        approved.reference,
        scheduled.reference,
    ]
    assert mine[0].status_label == "Changes requested: your action needed"
    assert [i.needs_you for i in mine] == [True, False, False, False]
    assert not any(i.needs_you for i in items)
    assert KIND.work_items_of(colleague) == []


# --- the API ---------------------------------------------------------------------------------------


def test_the_api_proposes_decides_schedules_and_publishes(
    app: Flask,
    make_user: Callable[..., User],
    x: Channel,
    api_token: Callable[[User], dict[str, str]],
    connection: Connection,
) -> None:
    staff, comms = make_user("staff"), make_user("comms")
    api = app.test_client()
    as_staff, as_comms = api_token(staff), api_token(comms)
    body = {
        "text": NHS_TEXT,
        "channels": [x.reference],
        "wished_for": TOMORROW.isoformat(),
        "reason": "Thank the ward.",
        "consent_confirmed": True,
    }
    before = counts(connection)
    for wrong, field, message in (
        ({"text": "x" * 281}, "text", "X (Twitter) allows 280"),
        ({"channels": "CH-0001"}, "channels", "channels must be a list of channel references"),
        ({"channels": []}, "channels", "Choose at least one channel to post on"),
        ({"wished_for": "tomorrow"}, "wished_for", "wished_for must be a date such as 2026-03-31."),
        ({"consent_confirmed": False}, "consent_confirmed", "Confirm that everyone who can be identified"),
        ({"reason": 3}, "reason", "reason must be text."),
    ):
        refused = api.post("/api/v1/posts", json={**body, **wrong}, headers=as_staff)
        assert refused.status_code == 422, wrong
        assert refused.mimetype == "application/problem+json"
        assert message in refused.get_json()["errors"][field]
    assert counts(connection)[:3] == before[:3]

    created = api.post("/api/v1/posts", json=body, headers=as_staff)
    assert created.status_code == 201
    post = created.get_json()
    reference = post["reference"]
    assert created.headers["Location"] == f"/api/v1/posts/{reference}"
    assert post["status"] == "submitted" and post["images"] == [] and post["findings_accepted"] is None
    [finding] = post["findings"]
    assert finding["kind"] == "nhs_number" and finding["field"] == "text" and NHS_NUMBER not in finding["masked"]
    assert NHS_TEXT[finding["start"] : finding["end"]] == NHS_NUMBER
    assert post["channels"][0]["text_limit"] == 280

    assert post["version"] == 1
    v1 = {"version": 1}
    blocked = api.post(f"/api/v1/posts/{reference}/transitions", json={"action": "approve", **v1}, headers=as_comms)
    assert blocked.status_code == 409 and "Record why they are acceptable" in blocked.get_json()["detail"]
    assert api.post(
        f"/api/v1/posts/{reference}/transitions", json={"action": "delete", **v1}, headers=as_comms
    ).get_json()["errors"] == {
        "action": "Choose an action: one of approve, request_changes, reject, withdraw, schedule, publish, "
        "accept_findings."
    }
    empty = api.post(
        f"/api/v1/posts/{reference}/transitions",
        json={"action": "accept_findings", "reason": "", **v1},
        headers=as_comms,
    )
    assert empty.status_code == 422 and "reason" in empty.get_json()["errors"]
    accepted = api.post(
        f"/api/v1/posts/{reference}/transitions",
        json={"action": "accept_findings", "reason": "A test number.", **v1},
        headers=as_comms,
    )
    assert accepted.get_json()["findings_accepted"]["reason"] == "A test number."
    assert (
        api.post(
            f"/api/v1/posts/{reference}/transitions", json={"action": "approve", **v1}, headers=as_comms
        ).get_json()["status"]
        == "approved"
    )
    assert (
        api.post(
            f"/api/v1/posts/{reference}/transitions", json={"action": "approve", **v1}, headers=as_staff
        ).status_code
        == 403
    )

    past = api.post(
        f"/api/v1/posts/{reference}/transitions",
        json={"action": "schedule", "scheduled_for": "2020-01-01T09:00:00Z"},
        headers=as_comms,
    )
    assert past.status_code == 422 and "scheduled_for" in past.get_json()["errors"]
    when = (db.utcnow() + dt.timedelta(days=2)).replace(microsecond=0)
    scheduled = api.post(
        f"/api/v1/posts/{reference}/transitions",
        json={"action": "schedule", "scheduled_for": when.isoformat()},
        headers=as_comms,
    )
    assert scheduled.get_json()["scheduled_for"] == when.isoformat()

    bad = api.post(
        f"/api/v1/posts/{reference}/transitions",
        json={"action": "publish", "urls": {x.reference: "https://x.com/trust_news"}},
        headers=as_comms,
    )
    assert bad.status_code == 422
    assert bad.get_json()["errors"] == {
        f"urls.{x.reference}": "That is the account's own page, not the post. Open the post and copy its address."
    }
    stranger = api.post(
        f"/api/v1/posts/{reference}/transitions",
        json={"action": "publish", "urls": {"CH-424242": "https://x.com/a/status/1"}},
        headers=as_comms,
    )
    assert set(stranger.get_json()["errors"]) == {"urls", f"urls.{x.reference}"}
    live = api.post(
        f"/api/v1/posts/{reference}/transitions",
        json={"action": "publish", "urls": {x.reference: "https://x.com/trust_news/status/1"}},
        headers=as_comms,
    )
    assert live.status_code == 200
    final = live.get_json()
    assert (
        final["status"] == "published" and final["channels"][0]["published_url"] == "https://x.com/trust_news/status/1"
    )
    assert [step["action"] for step in final["history"]] == [
        "request",
        "accept_findings",
        "approve",
        "schedule",
        "publish",
    ]
    assert (
        api.post(f"/api/v1/posts/{reference}/transitions", json={"action": "withdraw"}, headers=as_staff).status_code
        == 409
    )


def test_openapi_describes_the_posts_api_honestly(app: Flask) -> None:
    from registry.api.openapi import document

    doc = document()
    assert {
        "/api/v1/posts",
        "/api/v1/posts/{reference}",
        "/api/v1/posts/{reference}/transitions",
        "/api/v1/posts/{reference}/revision",
    } <= set(doc["paths"])
    schemas = doc["components"]["schemas"]
    assert schemas["PostRequest"]["properties"]["images"]["items"] == {"$ref": "#/components/schemas/PostImageUpload"}
    assert schemas["PostImageUpload"]["required"] == ["filename", "content_base64", "alt_text"]
    assert {"images", "remove_images", "alt_texts", "note", "text"} <= set(schemas["PostRevision"]["properties"])
    actions = schemas["PostTransitionRequest"]["anyOf"]
    branches = {branch["properties"]["action"]["enum"][0]: branch for branch in actions}
    assert branches["approve"]["required"] == ["action", "version"]
    assert branches["accept_findings"]["required"] == ["action", "reason", "version"]
    assert branches["schedule"]["required"] == ["action", "scheduled_for"]
    assert branches["publish"]["required"] == ["action", "urls"]
    assert branches["withdraw"]["required"] == ["action"]
    assert "version" in schemas["PromotionalPost"]["required"]
    revision = doc["paths"]["/api/v1/posts/{reference}/revision"]["post"]
    assert {"200", "403", "404", "409", "413", "422"} <= set(revision["responses"])


# --- who may decide, and on what -------------------------------------------------------------------


def test_what_comms_do_is_on_routes_declaring_post_decide_and_withdrawing_has_its_own(app: Flask) -> None:
    """The route, not only the service, says who may act: every comms action on a post's page (decide,
    schedule, publish, accept findings) is on a route declaring POST_DECIDE; the requester's
    withdrawal alone declares POST_REQUEST; there is no catch-all action route. The API's one
    transitions route declares each comms action's POST_DECIDE on the action instead."""
    from werkzeug.exceptions import NotFound as NoRoute

    from registry.auth.permissions import Permission, policy_of

    adapter = app.url_map.bind("localhost")
    for action in ("approve", "request_changes", "reject", "schedule", "publish"):
        endpoint, args = adapter.match(f"/posts/PP-2026-0001/actions/{action}", method="POST")
        assert (endpoint, args["action"]) == ("posts.decide", action)
        assert policy_of(app.view_functions[endpoint]) is Permission.POST_DECIDE
    assert adapter.match("/posts/PP-2026-0001/findings", method="POST")[0] == "posts.accept_findings"
    assert policy_of(app.view_functions["posts.accept_findings"]) is Permission.POST_DECIDE
    assert adapter.match("/posts/PP-2026-0001/actions/withdraw", method="POST")[0] == "posts.withdraw"
    assert policy_of(app.view_functions["posts.withdraw"]) is Permission.POST_REQUEST
    for unknown in ("resubmit", "launch", "Approve"):
        with pytest.raises(NoRoute):
            adapter.match(f"/posts/PP-2026-0001/actions/{unknown}", method="POST")
    # The API has one route per kind for every action; each comms action declares POST_DECIDE,
    # checked before the post is looked up, as a route's permission is.
    from registry.posts.api import PostTransitionRequest

    for name in ("transition_post", "revise_post"):
        assert policy_of(app.view_functions[f"api.{name}"]) is Permission.POST_REQUEST, name
    assert {name: action.permission for name, action in PostTransitionRequest.actions.items()} == {
        "approve": Permission.POST_DECIDE,
        "request_changes": Permission.POST_DECIDE,
        "reject": Permission.POST_DECIDE,
        "withdraw": None,
        "schedule": Permission.POST_DECIDE,
        "publish": Permission.POST_DECIDE,
        "accept_findings": Permission.POST_DECIDE,
    }


def test_comms_without_a_second_factor_cannot_decide_from_a_browser(
    app: Flask,
    make_user: Callable[..., User],
    x: Channel,
    connection: Connection,
) -> None:
    """A comms member signed in with a password alone is sent to set up two-factor sign-in (or
    refused) for every comms action, and nothing changes; they may still withdraw their own post."""
    from tests.conftest import sign_in

    requester, colleague = make_user("staff"), make_user("comms")
    waiting = propose(requester, [x], text=NHS_TEXT)
    ready = propose(requester, [x])
    services.transition(ready, "approve", colleague)
    db.session().commit()
    person = make_user("comms", two_factor=False)
    own = propose(person, [x])
    client = app.test_client()
    sign_in(client, person)
    browser = Browser(client)
    before = counts(connection)
    day = clock.today() + dt.timedelta(days=3)
    for post, action, data in (
        (waiting, "findings", {"findings-acceptance": "A test number."}),
        (waiting, "approve", {}),
        (waiting, "request_changes", {"request_changes-reason": "Shorter."}),
        (waiting, "reject", {"reject-reason": "No."}),
        (
            ready,
            "schedule",
            {
                "schedule-scheduled_on[day]": day.day,
                "schedule-scheduled_on[month]": day.month,
                "schedule-scheduled_on[year]": day.year,
                "schedule-scheduled_time": "09:30",
            },
        ),
        (ready, "publish", {f"publish-url_{x.reference}": "https://x.com/trust_news/status/1"}),
    ):
        response = act(browser, post, action, data, version=1)
        assert response.status_code in (302, 403), action
        if response.status_code == 302:
            assert response.headers["Location"].startswith(("/account/two-factor", "/login/step-up")), action
    assert counts(connection) == before
    assert (reload(waiting).status, reload(waiting).findings_accepted) == ("submitted", False)
    assert reload(ready).status == "approved"
    assert (
        browser.post(f"/posts/{own.reference}/actions/withdraw", {"withdraw-reason": "Not needed."}).status_code == 302
    )
    assert reload(own).status == "withdrawn"


@pytest.mark.parametrize("action", ["approve", "request_changes", "reject", "findings"])
def test_a_decision_on_a_post_changed_since_it_was_opened_is_refused(
    action: str,
    staff: Browser,
    comms: Browser,
    x: Channel,
    connection: Connection,
) -> None:
    """Comms open the post; the requester changes its text; the decision made on what comms saw
    is refused with 409, changes nothing, and the page they get shows the new text to decide on."""
    text = NHS_TEXT if action == "findings" else CLEAN_TEXT
    post = propose(user_of(staff), [x], text=text)
    shown = shown_versions(comms, post)
    assert shown[action] == "1"
    changed = f"{text} Now with the ward's new visiting hours."
    assert send(staff, f"/posts/{post.reference}/edit", form([x], text=changed)).status_code == 302
    assert version_of(post) == 2
    steps = len(services.history(post))
    before = counts(connection)
    data = {"findings-acceptance": "A test number."} if action == "findings" else {f"{action}-reason": "Fine."}

    refused = act(comms, post, action, data, version=shown[action])

    assert refused.status_code == 409
    assert services.STALE == "The post has changed since you opened it: read it again before deciding."
    assert services.STALE in text_of(refused)
    assert "visiting hours" in text_of(refused)
    assert shown_versions(comms, post)[action] == "2"
    assert counts(connection) == before
    post = reload(post)
    assert post.status == "submitted" and not post.findings_accepted and len(services.history(post)) == steps
    missing = comms.post(
        f"/posts/{post.reference}/findings" if action == "findings" else f"/posts/{post.reference}/actions/{action}",
        data,
    )
    assert missing.status_code == 409 and services.STALE in text_of(missing)
    assert counts(connection) == before
    assert act(comms, post, action, data).status_code == 302


def test_only_a_change_by_the_requester_raises_the_version(
    staff: Browser,
    comms: Browser,
    make_user: Callable[..., User],
    x: Channel,
) -> None:
    post = propose(user_of(staff), [x])
    assert version_of(post) == 1
    assert send(staff, f"/posts/{post.reference}/edit", form([x], text="Flu clinic: Tuesday 9am.")).status_code == 302
    assert version_of(post) == 2
    assert act(comms, post, "request_changes", {"request_changes-reason": "Add the place."}).status_code == 302
    assert version_of(post) == 2
    assert (
        send(staff, f"/posts/{post.reference}/edit", form([x], text="Flu clinic: Tuesday 9am, main hall.")).status_code
        == 302
    )
    assert (reload(post).status, version_of(post)) == ("submitted", 3)
    assert act(comms, post, "approve", {}).status_code == 302
    assert version_of(post) == 3


def test_the_api_decides_only_the_version_it_names(
    app: Flask,
    make_user: Callable[..., User],
    x: Channel,
    api_token: Callable[[User], dict[str, str]],
    connection: Connection,
) -> None:
    staff, comms = make_user("staff"), make_user("comms")
    api = app.test_client()
    as_staff, as_comms = api_token(staff), api_token(comms)
    post = propose(staff, [x], text=NHS_TEXT)
    decision = acceptance = f"/api/v1/posts/{post.reference}/transitions"
    assert api.get(f"/api/v1/posts/{post.reference}", headers=as_comms).get_json()["version"] == 1
    before = counts(connection)
    for body, message in (
        ({"action": "reject", "reason": "No."}, "Give the version of the post you read"),
        ({"action": "reject", "reason": "No.", "version": "1"}, "version must be the post's version"),
        ({"action": "reject", "reason": "No.", "version": True}, "version must be the post's version"),
        ({"action": "reject", "reason": "No.", "version": 0}, "version must be the post's version"),
    ):
        refused = api.post(decision, json=body, headers=as_comms)
        assert refused.status_code == 422 and message in refused.get_json()["errors"]["version"], body
    refused = api.post(acceptance, json={"action": "accept_findings", "reason": "A test number."}, headers=as_comms)
    assert refused.status_code == 422 and "version" in refused.get_json()["errors"]
    assert counts(connection)[:3] == before[:3]

    revised = api.post(
        f"/api/v1/posts/{post.reference}/revision",
        json={"text": f"{NHS_TEXT} Updated.", "consent_confirmed": True},
        headers=as_staff,
    )
    assert revised.status_code == 200 and revised.get_json()["version"] == 2
    before = counts(connection)
    for path, body in (
        (acceptance, {"action": "accept_findings", "reason": "A test number.", "version": 1}),
        (decision, {"action": "reject", "reason": "No.", "version": 1}),
    ):
        stale = api.post(path, json=body, headers=as_comms)
        assert stale.status_code == 409 and stale.mimetype == "application/problem+json"
        assert stale.get_json()["detail"] == "The post has changed since you opened it: read it again before deciding."
    assert counts(connection)[:3] == before[:3]
    assert reload(post).status == "submitted" and not reload(post).findings_accepted
    assert (
        api.post(
            acceptance, json={"action": "accept_findings", "reason": "A test number.", "version": 2}, headers=as_comms
        ).status_code
        == 200
    )
    approved = api.post(decision, json={"action": "approve", "version": 2}, headers=as_comms)
    assert approved.status_code == 200 and approved.get_json()["status"] == "approved"
    stale = api.post(
        f"/api/v1/posts/{post.reference}/transitions",
        headers=as_comms,
        json={"action": "schedule", "scheduled_for": (db.utcnow() + dt.timedelta(days=2)).isoformat(), "version": 1},
    )
    assert stale.status_code == 409 and "has changed since you opened it" in stale.get_json()["detail"]


# --- images and changes through the API ------------------------------------------------------------


def b64(content: bytes) -> str:
    return base64.b64encode(content).decode()


def test_the_api_takes_images_and_the_requester_revises_and_resubmits(
    app: Flask,
    make_user: Callable[..., User],
    x: Channel,
    facebook: Channel,
    api_token: Callable[[User], dict[str, str]],
    connection: Connection,
) -> None:
    staff, comms = make_user("staff"), make_user("comms")
    api = app.test_client()
    as_staff, as_comms = api_token(staff), api_token(comms)
    body = {
        "text": CLEAN_TEXT,
        "channels": [x.reference],
        "wished_for": TOMORROW.isoformat(),
        "reason": "Flu.",
        "consent_confirmed": True,
        "consent_location": "Outpatients office",
    }
    image = {"filename": "clinic.png", "content_base64": b64(png()), "alt_text": "The clinic's entrance."}
    before = counts(connection)
    for wrong, field, message in (
        ({"images": "clinic.png"}, "images", "images must be a list of objects"),
        ({"images": [image] * 5}, "images", "A post can have at most 4 images"),
        ({"images": [{**image, "content_base64": "not base64!"}]}, "images.0.content_base64", "not valid base64"),
        ({"images": [{**image, "filename": ""}]}, "images.0.filename", "Image 1 needs a filename"),
        ({"images": [{**image, "alt_text": None}]}, "images.0.alt_text", "alt_text must be text"),
        ({"images": [image, {**image, "alt_text": " "}]}, "images.1.alt_text", "Describe the image in slot 2"),
        (
            {"images": [{**image, "content_base64": b64(b"<html><script>alert(1)</script></html>")}]},
            "images.0.content_base64",
            "clinic.png",
        ),
        (
            {"images": [{**image, "filename": "poster.pdf", "content_base64": b64(pdf())}]},
            "images.0.content_base64",
            "poster.pdf: only images (PNG, JPEG, GIF or WebP) can go in a post",
        ),
        ({"images": [image], "consent_location": ""}, "consent_location", "the post has images"),
    ):
        refused = api.post("/api/v1/posts", json={**body, **wrong}, headers=as_staff)
        assert refused.status_code == 422, wrong
        assert message in refused.get_json()["errors"][field], (wrong, refused.get_json())
    assert counts(connection)[:2] == before[:2]
    assert events("upload:store") == []

    named = {**image, "alt_text": "Our patient Sarah Jones at the clinic"}
    created = api.post("/api/v1/posts", json={**body, "images": [image, named]}, headers=as_staff)
    assert created.status_code == 201, created.get_json()
    post = created.get_json()
    assert [(i["position"], i["alt_text"], i["content_type"]) for i in post["images"]] == [
        (1, "The clinic's entrance.", "image/png"),
        (2, "Our patient Sarah Jones at the clinic", "image/png"),
    ]
    assert [(f["field"], f["image"], f["kind"]) for f in post["findings"]] == [("alt_text", 2, "patient_name")]
    assert len(events("upload:store")) == 2  # every file through the upload checks
    reference = post["reference"]
    revision = f"/api/v1/posts/{reference}/revision"

    asked = api.post(
        f"/api/v1/posts/{reference}/transitions",
        headers=as_comms,
        json={"action": "request_changes", "reason": "Add the opening hours.", "version": 1},
    )
    assert asked.get_json()["status"] == "changes_requested"
    assert api.post(revision, json={"consent_confirmed": True}, headers=as_comms).status_code == 403
    assert (
        api.post(revision, json={"consent_confirmed": True}, headers=api_token(make_user("staff"))).status_code == 404
    )
    unconfirmed = api.post(revision, json={"text": "Flu clinic, 9am to 5pm."}, headers=as_staff)
    assert unconfirmed.status_code == 422 and "consent_confirmed" in unconfirmed.get_json()["errors"]
    unknown = api.post(revision, json={"consent_confirmed": True, "remove_images": [999999]}, headers=as_staff)
    assert unknown.status_code == 422 and "has no image 999999" in unknown.get_json()["errors"]["images"]
    blank = api.post(
        revision, json={"consent_confirmed": True, "alt_texts": {str(post["images"][0]["id"]): ""}}, headers=as_staff
    )
    assert blank.status_code == 422
    assert blank.get_json()["errors"] == {
        f"alt_texts.{post['images'][0]['id']}": "Describe image 1 for people who cannot see it, or remove the image"
    }
    assert reload(services.get_post(reference)).status == "changes_requested"

    new_text = "Our flu vaccination clinic is open 9am to 5pm, Tuesday to Thursday, in the main outpatients hall."
    revised = api.post(
        revision,
        headers=as_staff,
        json={
            "text": new_text,
            "channels": [x.reference, facebook.reference],
            "consent_confirmed": True,
            "remove_images": [post["images"][1]["id"]],
            "alt_texts": {str(post["images"][0]["id"]): "The clinic's entrance, with the opening hours on the door."},
            "images": [
                {"filename": "hours.png", "content_base64": b64(png((1, 2, 3))), "alt_text": "The opening hours."}
            ],
            "note": "Added the hours and took out the name.",
        },
    )
    assert revised.status_code == 200, revised.get_json()
    now = revised.get_json()
    assert (now["status"], now["version"], now["text"]) == ("submitted", 2, new_text)
    assert [c["reference"] for c in now["channels"]] == [x.reference, facebook.reference]
    assert [(i["position"], i["alt_text"]) for i in now["images"]] == [
        (1, "The clinic's entrance, with the opening hours on the door."),
        (2, "The opening hours."),
    ]
    assert now["findings"] == []
    assert (now["reason"], now["wished_for"], now["consent_location"]) == (
        "Flu.",
        TOMORROW.isoformat(),
        "Outpatients office",
    )
    assert (
        now["history"][-1]["action"] == "resubmit"
        and now["history"][-1]["reason"] == "Added the hours and took out the name."
    )
    [told] = (
        db.session()
        .execute(
            select(Notification).where(Notification.recipient_id == comms.id, Notification.event == "post:resubmit")
        )
        .scalars()
    )
    assert reference in told.subject

    waiting = api.post(revision, json={"consent_confirmed": True, "reason": "Flu season starts."}, headers=as_staff)
    assert (waiting.get_json()["status"], waiting.get_json()["version"]) == ("submitted", 3)
    assert waiting.get_json()["history"][-1]["action"] == "update"
    api.post(
        f"/api/v1/posts/{reference}/transitions",
        json={"action": "reject", "reason": "No.", "version": 3},
        headers=as_comms,
    )
    late = api.post(revision, json={"consent_confirmed": True}, headers=as_staff)
    assert late.status_code == 409 and "can no longer be changed" in late.get_json()["detail"]


# --- statements per page ---------------------------------------------------------------------------


def seed_posts(start: int, count: int, channels_: list[Channel]) -> None:
    """``count`` posts by as many people, each for two channels with an image and a finding, some decided."""
    session = db.session()
    now = db.utcnow()
    people = [
        User(email=f"poster{n}@example.nhs.uk", name=f"Poster {n}", role_grants=[UserRole(role="staff")])
        for n in range(start, start + count)
    ]
    session.add_all(people)
    session.flush()
    statuses = ("submitted", "approved", "changes_requested", "rejected")
    for n, person in enumerate(people, start=start):
        upload = Upload(
            sha256="0" * 64,
            original_name=f"{n}.png",
            content_type="image/png",
            size=100,
            uploaded_by_id=person.id,
        )
        post = PromotionalPost(
            year=TODAY.year,
            text=f"Post {n} for NHS number {NHS_NUMBER}",
            reason="Seeded.",
            wished_for=TOMORROW,
            consent_confirmed_at=now,
            consent_location="Office",
            status=statuses[n % 4],
            requester_id=person.id,
            targets=[PostTarget(channel_id=c.id) for c in channels_],
            images=[PostImage(upload=upload, alt_text="A picture", position=1)],
            findings=[
                PostFinding(
                    field="text",
                    kind="nhs_number",
                    label="NHS number",
                    start_offset=20,
                    end_offset=32,
                    masked="*** *** ****",
                )
            ],
        )
        session.add(post)
    session.flush()
    db.session().commit()


def test_post_lists_run_the_same_statements_for_10_and_60_posts(
    app: Flask,
    browser_as: Callable[..., Browser],
    count_queries: Callable[[], Any],
    x: Channel,
    facebook: Channel,
    make_user: Callable[..., User],
    api_token: Callable[[User], dict[str, str]],
) -> None:
    comms = browser_as("comms")
    headers = api_token(user_of(comms))
    paths = ("/posts?per_page=100", "/posts?per_page=100&status=submitted", "/api/v1/posts?per_page=100")

    def statements() -> dict[str, int]:
        result = {}
        for path in paths:
            get = (
                (lambda p=path: comms.client.get(p, headers=headers))
                if path.startswith("/api/")
                else (lambda p=path: comms.get(p))
            )
            assert get().status_code == 200, path
            with count_queries() as counted:
                assert get().status_code == 200, path
            result[path] = counted.n
        with count_queries() as counted:
            KIND.work_items_for_comms()
        result["work items"] = counted.n
        return result

    seed_posts(0, 10, [x, facebook])
    small = statements()
    seed_posts(10, 50, [x, facebook])
    large = statements()
    assert len(comms.client.get("/api/v1/posts?per_page=100", headers=headers).get_json()["items"]) == 60
    assert large == small


# --- the service's own guards ----------------------------------------------------------------------


def test_service_refusals(make_user: Callable[..., User], x: Channel) -> None:
    staff, comms = make_user("staff"), make_user("comms")
    post = propose(staff, [x])
    with pytest.raises(NotFound):
        services.get_visible(post.reference, make_user("staff"))
    with pytest.raises(NotFound):
        services.get_post("PP-1999-0001")
    with pytest.raises(NotPermitted, match="Only the person who proposed the post can change it."):
        services.revise(post, proposal([x]), comms)
    with pytest.raises(Invalid, match="Resubmit a post by changing it"):
        services.transition(post, "resubmit", staff)
    with pytest.raises(Invalid, match="Choose an action"):
        services.transition(post, "launch", comms)
    with pytest.raises(Conflict, match="there is nothing to accept"):
        services.accept_findings(post, comms, "Fine.")
    with pytest.raises(Invalid) as both:
        services.transition(
            post, "approve", comms, scheduled_for=db.utcnow(), urls={x.reference: "https://x.com/a/status/1"}
        )
    assert set(both.value.errors) == {"scheduled_for", "urls"}
    assert post.status == "submitted"


def test_the_demo_posts_cover_every_state(make_user: Callable[..., User], make_channel: Callable[..., Channel]) -> None:
    from registry.posts.demo import seed_demo

    for platform, handle in (
        ("x", "DemoTrust"),
        ("facebook", "DemoTrust"),
        ("linkedin", "company/demo-trust"),
        ("instagram", "demotrust"),
    ):
        make_channel("active", platform=platform, handle=handle)
    seed_demo([make_user("staff"), make_user("manager")], [make_user("comms"), make_user("comms")])
    posts = db.session().execute(select(PromotionalPost).order_by(PromotionalPost.id)).scalars().all()
    assert [p.status for p in posts] == [
        "submitted",
        "submitted",
        "changes_requested",
        "approved",
        "scheduled",
        "published",
        "rejected",
    ]
    assert len(posts[0].images) == 1 and [f.kind for f in posts[1].findings] == ["nhs_number"]
