"""The promotional posts API (``/api/v1/posts``).

Images travel as JSON, ``images: [{filename, content_base64, alt_text}]``, and go through the
same upload checks as on the pages. Screening findings appear masked, never the match. A
decision names the ``version`` of the post it was made on: one made on an older version is
refused with 409. Reading a post changes nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Annotated, Any, ClassVar

from flask import url_for
from pydantic import Field, WithJsonSchema

from registry.api import blocks
from registry.api.kinds import Links, PageQuery, Person, Routes, Step, stated
from registry.api.operations import (
    Among,
    Body,
    Date,
    Declared,
    Flag,
    FreeText,
    Ids,
    IsoDate,
    MaybeTimestamp,
    Moment,
    Out,
    Paged,
    ShownTimestamp,
    Text,
    Texts,
    Timestamp,
    component,
    one_of,
    refuse,
    refuse_each,
)
from registry.api.support import acting_user, as_file, decode_base64, is_unicode, object_list
from registry.api.transitions import Action, ActionBody, row
from registry.auth.models import User
from registry.auth.permissions import Permission
from registry.channels.platforms import Platform
from registry.errors import Invalid
from registry.lifecycle.table import Need
from registry.posts import limits, services
from registry.posts.kind import KIND
from registry.posts.models import CONSENT_LOCATION_MAX
from registry.posts.models import PromotionalPost as PostRecord
from registry.posts.workflow import DECISIONS, LIFECYCLE, PostAction, PostMove, PostStatus

VERSION_MAX = 2_147_483_647
STATUSES = [s.value for s in PostStatus]
REFERENCE = blocks.reference_parameter(
    "The post's reference, such as PP-2026-0007.", "PP-2026-0001", pattern="^PP-[0-9]{4}-[0-9]{1,9}$"
)
CONFLICT = (
    "The post's state, the four-eyes rule, unaccepted screening findings or an inactive channel do not allow this; "
    "or the post has changed since the version given."
)
TOO_BIG = "The body is larger than the upload size limit."

# --- how a post looks -------------------------------------------------------------------------------


class PostChannel(Out):
    reference: str
    platform: Annotated[str, one_of(p.value for p in Platform)]
    platform_label: str
    display_name: str
    handle: str
    status: str
    text_limit: int | None = Field(description="The platform's length limit; null when it has none.")
    published_url: str | None


class PostImage(Out):
    id: int
    position: Annotated[int, WithJsonSchema({"type": "integer", "minimum": 1})]
    alt_text: str
    content_type: str
    size: int
    url: str = Field(description="Download it (signed-in users who may see the post).")


class PostFinding(Out):
    field: Annotated[str, one_of(["text", "alt_text"])]
    image: int | None = Field(description="The image's position, for alt_text.")
    kind: str
    label: str
    start: Annotated[int, WithJsonSchema({"type": "integer", "minimum": 0})]
    end: Annotated[int, WithJsonSchema({"type": "integer", "minimum": 1})]
    masked: str


class FindingsAcceptance(Out):
    by: str
    at: ShownTimestamp
    reason: str


class PostHistoryStep(Step):
    statuses: ClassVar[list[str]] = STATUSES
    reason: str | None


class PromotionalPost(Out):
    """A promotional post request, as its requester, the communications team and auditors see it."""

    named: ClassVar[bool] = True

    reference: Annotated[str, WithJsonSchema({"type": "string", "pattern": "^PP-[0-9]{4}-[0-9]+$"})]
    status: Annotated[str, one_of(s.value for s in PostStatus)]
    status_label: str
    text: str
    characters: Annotated[int, WithJsonSchema({"type": "integer", "minimum": 0})]
    reason: str
    wished_for: Date
    consent_confirmed_at: Timestamp
    consent_location: str
    channels: list[PostChannel]
    images: list[PostImage]
    findings: list[PostFinding] = Field(
        description="Possible patient identifiers found by the screening, masked: never the match itself."
    )
    findings_accepted: FindingsAcceptance | None = Field(
        description="Why the communications team found the findings acceptable; null until recorded."
    )
    requested_by: Person
    created_at: Timestamp
    updated_at: Timestamp
    status_changed_at: Timestamp
    scheduled_for: MaybeTimestamp
    published_at: MaybeTimestamp
    version: Annotated[int, WithJsonSchema({"type": "integer", "minimum": 1})] = Field(
        description="Goes up with every change the requester makes; give it with a decision."
    )
    links: Links
    history: list[PostHistoryStep] = Field(default=[], description="Every step, oldest first (only on a single post).")

    @classmethod
    def shown(cls, post: PostRecord, *, with_history: bool = False) -> PromotionalPost:
        """A post as its requester, the communications team and auditors see it (findings masked)."""
        extra: dict[str, Any] = {}
        if with_history:
            extra["history"] = [PostHistoryStep.of(s) for s in services.history(post)]
        return cls.taking(
            post,
            characters=limits.count(post.text),
            channels=[
                PostChannel.taking(
                    t.channel, text_limit=limits.text_limit(t.channel.platform), published_url=t.published_url
                )
                for t in post.targets
            ],
            images=[
                PostImage.taking(
                    image,
                    content_type=image.upload.content_type,
                    size=image.upload.size,
                    url=url_for("posts.image", reference=post.reference, image_id=image.id),
                )
                for image in post.images
            ],
            findings=[
                PostFinding.taking(f, image=f.image_position, start=f.start_offset, end=f.end_offset)
                for f in post.findings
            ],
            findings_accepted=FindingsAcceptance(
                by=post.findings_accepted_by.name if post.findings_accepted_by else "",
                at=post.findings_accepted_at,
                reason=post.findings_acceptance or "",
            )
            if post.findings_accepted
            else None,
            requested_by=Person.of(post.requester),
            links=Links.of("post", "posts", post.reference),
            **extra,
        )


class PromotionalPostPage(Paged[PromotionalPost]):
    pass


# --- what a request may hold ------------------------------------------------------------------------


class Version(Declared):
    """The ``version`` of the post the caller read (``version`` in each post they are given)."""

    def check(self, value: object, name: str) -> object:
        if value is None:
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # JSON Schema counts 3.0 as an integer
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= VERSION_MAX:
            raise refuse(name, f"{name} must be the post's version as you read it: a whole number from 1.")
        return value


class NewImages(Declared):
    """``[{filename, content_base64, alt_text}]`` as new images for the upload checks (the first is
    slot 1); each mistake is refused naming the image's field (``images.0.filename``)."""

    def check(self, value: object, name: str) -> object:
        try:
            given = object_list(
                {name: value},
                name,
                most=services.MAX_IMAGES,
                keys="filename, content_base64 and alt_text",
                too_many=f"A post can have at most {services.MAX_IMAGES} images.",
            )
        except Invalid as exc:
            raise refuse(name, exc.errors[name]) from None
        errors: dict[str, str] = {}
        added = []
        for n, item in enumerate(given):
            where = f"{name}.{n}"
            filename, content, alt = item.get("filename"), item.get("content_base64"), item.get("alt_text")
            if (
                not isinstance(filename, str)
                or not filename.strip()
                or len(filename) > blocks.FILENAME_MAX
                or not is_unicode(filename)
            ):
                errors[f"{where}.filename"] = (
                    f"Image {n + 1} needs a filename of at most {blocks.FILENAME_MAX} characters, such as clinic.png."
                )
            if not isinstance(alt, str) or not is_unicode(alt):
                errors[f"{where}.alt_text"] = (
                    f"Describe image {n + 1} for people who cannot see it: alt_text must be text."
                )
            data = decode_base64(content) if isinstance(content, str) else None
            if not isinstance(content, str):
                errors[f"{where}.content_base64"] = (
                    f"Image {n + 1}: content_base64 must be the file's content, base64-encoded."
                )
            elif data is None:
                errors[f"{where}.content_base64"] = f"Image {n + 1}: content_base64 is not valid base64."
            if data is not None and not any(key.startswith(f"{where}.") for key in errors):
                added.append(services.NewImage(file=as_file(str(filename), data), alt_text=str(alt), slot=n + 1))
        if errors:
            raise refuse_each(errors)
        return added


class AltTexts(Declared):
    def check(self, value: object, name: str) -> object:
        if value is None:
            return None
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and k.isdigit() and len(k) <= 9 and isinstance(v, str) and is_unicode(v)
            for k, v in value.items()
        ):
            raise refuse(
                name,
                f"{name} must be an object giving an image's id and its new description, such as "
                '{"12": "The clinic\'s entrance"}.',
            )
        return {int(k): v for k, v in value.items()}


class Addresses(Declared):
    def check(self, value: object, name: str) -> object:
        if value is None or (isinstance(value, dict) and all(isinstance(v, str) for v in value.values())):
            return value
        raise refuse(name, f"{name} must be an object giving each channel's reference and the post's address on it.")


_REFERENCES = 'channel references, such as ["CH-0042"]'
_LIKE = "such as 2026-03-31"
VERSION = {
    "type": "integer",
    "minimum": 1,
    "maximum": VERSION_MAX,
    "description": "The post's version as you read it (its version field); 409 if it has changed since.",
}
OPTIONAL_VERSION = {
    **VERSION,
    "type": ["integer", "null"],
    "description": "Optional: the post's version as you read it.",
}
_TEXT = blocks.required_text(
    limits.TEXT_MAX,
    description="At most the limit of the strictest chosen channel's platform (a line break counts as one character).",
    examples=["Our flu clinic for staff opens on Tuesday in the main outpatients hall."],
)
_CHANNELS = {
    "type": "array",
    "minItems": 1,
    "maxItems": services.MAX_CHANNELS,
    "items": {"type": "string", "pattern": "^CH-[0-9]{1,9}$"},
    "description": "References of active channels.",
}
_REASON = blocks.required_text(services.REASON_MAX, examples=["To let staff know in good time."])
_IMAGES = {
    "type": ["array", "null"],
    "maxItems": services.MAX_IMAGES,
    "items": component(
        "PostImageUpload",
        blocks.base64_file(
            "The image itself: PNG, JPEG, GIF or WebP, checked by its content.",
            filename_max=blocks.FILENAME_MAX,
            alt_text=blocks.required_text(
                limits.ALT_TEXT_MAX,
                description="What the image shows, for people who cannot see it (screened like the text).",
            ),
        ),
    ),
}
_CONSENT_CONFIRMED = {
    "type": "boolean",
    "const": True,
    "description": "Everyone identifiable in the post has consented (or no one can be identified).",
}
_CONSENT_LOCATION = blocks.optional_text(
    CONSENT_LOCATION_MAX,
    description="Where the signed consent forms are kept; required when the post has images or its text names someone.",
)


class Proposal(Body):
    """What a requester states: the fields a new post and a revision share (each may be null in a
    revision, where null leaves it as it is)."""

    text: Annotated[str | None, Text(blocks.nullable(_TEXT))] = None
    channels: Annotated[tuple[str, ...] | None, Texts(blocks.nullable(_CHANNELS), such_as=_REFERENCES)] = None
    wished_for: Annotated[
        dt.date | None, IsoDate(blocks.or_null(blocks.DATE, description="Today or later."), like=_LIKE)
    ] = None
    reason: Annotated[str | None, Text(blocks.nullable(_REASON))] = None
    consent_confirmed: Annotated[bool | None, Flag(_CONSENT_CONFIRMED)] = None
    consent_location: Annotated[str | None, Text(_CONSENT_LOCATION)] = None
    images: Annotated[
        Any,
        NewImages(
            {
                **_IMAGES,
                "description": f"Images to add (in a revision, after those kept), each with its description; at "
                f"most {services.MAX_IMAGES} in all.",
            }
        ),
    ] = None

    def proposal(self, base: services.PostProposal | None = None) -> services.PostProposal:
        """The post as stated (with ``base``: fields not given keep ``base``'s values)."""
        return stated(self, services.PostProposal, base)


class PostRequest(Proposal):
    required: ClassVar[tuple[str, ...]] = ("text", "channels", "wished_for", "reason", "consent_confirmed")
    extra: ClassVar[dict[str, Any]] = {
        "description": "A proposed post, with its images (each file checked by its content, as on the pages). "
        "The text and each image's description are screened for patient identifiers; the post is saved even when "
        "some are found, and the findings (masked) are in the answer.",
        # A new post with images must say where their consent forms are.
        "anyOf": [
            {"properties": {"images": {"type": ["array", "null"], "maxItems": 0}}},
            {"required": ["consent_location"], "properties": {"consent_location": blocks.given({})}},
        ],
    }


class PostRevision(Proposal):
    required: ClassVar[tuple[str, ...]] = ("consent_confirmed",)
    extra: ClassVar[dict[str, Any]] = {
        "description": "The requester's change to their post: only the fields given (not null) change, and "
        "consent is confirmed again. A post waiting for changes goes back to the communications team "
        "(resubmitted); one waiting for a decision stays so. Either way it is screened again, any acceptance of "
        "earlier findings is cleared and its version goes up."
    }

    remove_images: Annotated[
        list[int] | None,
        Ids(
            {
                "type": ["array", "null"],
                "maxItems": services.MAX_IMAGES,
                "items": {"type": "integer", "minimum": 1, "maximum": VERSION_MAX},
                "description": "Ids of the post's images to remove.",
            },
            most=services.MAX_IMAGES,
            upper=VERSION_MAX,
            refusal=f"must be a list of at most {services.MAX_IMAGES} image ids (whole numbers), as in the post's "
            "images.",
        ),
    ] = None
    alt_texts: Annotated[
        dict[int, str] | None,
        AltTexts(
            {
                "type": ["object", "null"],
                "propertyNames": {"pattern": "^[0-9]{1,9}$"},
                "additionalProperties": blocks.required_text(limits.ALT_TEXT_MAX),
                "description": "A kept image's id → its new description.",
            }
        ),
    ] = None
    note: Annotated[
        str | None,
        Text(blocks.optional_text(services.REASON_MAX, description="What has changed (kept with a resubmission).")),
    ] = None


def _move(post: PostRecord, action: str, actor: User, **fields: Any) -> PostRecord:
    try:
        return services.transition(post, action, actor, **fields)
    except Invalid as exc:
        raise _api_fields(exc) from None


def _accept_findings(post: PostRecord, action: str, actor: User, reason: str | None, version: int | None) -> PostRecord:
    try:
        services.accept_findings(post, actor, reason, version=version)
    except Invalid as exc:
        raise Invalid({"reason": "; ".join(exc.errors.values())}) from None
    return services.get_post(post.reference)


_VERSION_NEEDED = {
    "version": "Give the version of the post you read (its version field), so that a post changed since is "
    "not decided unseen."
}

_URLS_NEEDED = {"urls": "urls must be an object giving each channel's reference and the post's address on it."}


def _table_action(t: PostMove) -> Action[PostRecord]:
    """A row of the table: only scheduling takes a time and only publishing addresses; a decision
    needs the version read."""
    needed = {**(_VERSION_NEEDED if t.action in DECISIONS else {}), **(_URLS_NEEDED if t.action == "publish" else {})}
    scheduled_for = Need.REQUIRED if t.action is PostAction.SCHEDULE else Need.NONE
    urls = Need.OPTIONAL if t.action is PostAction.PUBLISH else Need.NONE
    return row(KIND, t, _move, needed=needed, scheduled_for=scheduled_for, urls=urls, version=Need.OPTIONAL)


class PostTransitionRequest(ActionBody):
    """What is done to a post. It is resubmitted by changing it (POST /api/v1/posts/{reference}/revision),
    so resubmit is not one of these actions."""

    actions: ClassVar[dict[str, Action[PostRecord]]] = {
        **{t.action.value: _table_action(t) for t in LIFECYCLE.transitions if t.action is not PostAction.RESUBMIT},
        "accept_findings": Action(
            take=_accept_findings,
            needs={"reason": Need.REQUIRED},
            needed=_VERSION_NEEDED,
            permission=Permission.POST_DECIDE,
            refusal="Only the communications team can do this.",
        ),
    }

    reason: Annotated[
        str | None,
        Text(
            blocks.optional_text(
                services.REASON_MAX,
                description="Why (required to request_changes and to reject); for accept_findings, why the possible "
                "patient identifiers found are acceptable (required); a note otherwise.",
            )
        ),
    ] = None
    version: Annotated[int | None, Version(OPTIONAL_VERSION)] = None
    scheduled_for: Annotated[
        dt.datetime | None,
        Moment(
            {
                **blocks.DATE_TIME,
                "type": ["string", "null"],
                "description": "Only with schedule, and then required: in the future. The server reads a time "
                "without an offset as UK time.",
                "examples": ["2099-06-01T09:00:00+01:00"],
            }
        ),
    ] = None
    urls: Annotated[
        dict[str, str] | None,
        Addresses(
            {
                "type": ["object", "null"],
                "propertyNames": {"pattern": f"^[{blocks.BLANK}]*[Cc][Hh]-[0-9]{{4,}}[{blocks.BLANK}]*$"},
                "additionalProperties": blocks.required_text(services.URL_MAX),
                "description": "Only with publish, and then required: every target channel's reference → the "
                "post's address on it, which must be on that channel's platform (and account, where the address "
                "shows it).",
            }
        ),
    ] = None


class PostQuery(PageQuery):
    status: Annotated[str, Among(STATUSES, "Empty means any status.")] = ""
    q: Annotated[str, FreeText(200, description="Text in the post, or its reference.")] = ""


# --- the services' field names as the API names them --------------------------------------------------

FIELD_PATTERNS: tuple[tuple[re.Pattern[str], Callable[[str], str]], ...] = (
    (re.compile(r"^image_(\d+)$"), lambda n: f"images.{int(n) - 1}.content_base64"),
    (re.compile(r"^alt_(\d+)$"), lambda n: f"images.{int(n) - 1}.alt_text"),
    (re.compile(r"^keep_(\d+)_alt$"), lambda n: f"alt_texts.{n}"),
    (re.compile(r"^url_(.+)$"), lambda reference: f"urls.{reference}"),
)


def _api_fields(exc: Invalid) -> Invalid:
    """The service names the form's fields (``image_1``, ``alt_1``, ``keep_12_alt``, ``url_CH-0001``); the
    API names what was sent (``images.0.content_base64``, ``images.0.alt_text``, ``alt_texts.12``,
    ``urls.CH-0001``)."""
    renamed: dict[str, str] = {}
    for name, message in exc.errors.items():
        for pattern, rename in FIELD_PATTERNS:
            match = pattern.match(name)
            if match:
                name = rename(match.group(1))
                break
        renamed[name] = message
    return Invalid(renamed)


# --- routes -----------------------------------------------------------------------------------------


def _propose(given: PostRequest) -> PostRecord:
    try:
        return services.propose(given.proposal(), acting_user(), given.images or [])
    except Invalid as exc:
        raise _api_fields(exc) from None


def _revise(post: PostRecord, given: PostRevision, actor: User) -> PostRecord:
    """The requester changes their post (fields not given stay as they are): while it waits for a
    decision, or, when changes were asked for, making them and resubmitting it."""
    removed = set(given.remove_images or [])
    alt_texts = given.alt_texts or {}
    known = {image.id for image in post.images}
    kept = [
        services.KeptImage(
            image_id=image.id, alt_text=alt_texts.get(image.id, image.alt_text), remove=image.id in removed
        )
        for image in post.images
    ]
    kept += [
        services.KeptImage(image_id=i, alt_text="", remove=True) for i in sorted((removed | set(alt_texts)) - known)
    ]
    proposal = given.proposal(base=services.PostProposal.of(post))
    try:
        return services.revise(post, proposal, actor, kept=kept, added=given.images or [], note=given.note)
    except Invalid as exc:
        raise _api_fields(exc) from None


POSTS: Routes[PostRecord] = Routes(
    path="/posts",
    permission=Permission.POST_REQUEST,
    reference=REFERENCE,
    find=services.get_visible,
    show=lambda post: PromotionalPost.shown(post, with_history=True),
    model=PromotionalPost,
    shown="The post, with its history.",
)
POSTS.listing(
    "Promotional posts the caller may see (their own; all of them for comms and auditors).",
    PostQuery,
    PromotionalPostPage,
    services.PostFilters.parse,
    services.search,
    PromotionalPost.shown,
)
POSTS.asking(
    "proposePost",
    "Propose a promotional post, with its images (any signed-in user).",
    PostRequest,
    _propose,
    "The post, waiting for a decision, with any screening findings (masked).",
    refusals={413: TOO_BIG},
)
POSTS.reading("One post with its history (its requester, comms and auditors; 404 for anyone else).")
POSTS.changing(
    "revision",
    "revise_post",
    "revisePost",
    "Change one's own post while it waits for a decision, or make the changes asked for and resubmit it "
    "(its requester).",
    PostRevision,
    _revise,
    {409: CONFLICT, 413: TOO_BIG},
)
POSTS.moving(
    "Decide a post (approve, request_changes, reject), accept its screening findings, schedule it or record it as "
    "published (comms; not the requester's own), or withdraw it (its requester).",
    PostTransitionRequest,
    CONFLICT,
)
