"""The promotional post rules (policy 7.1, 6.11): proposing, screening, deciding, scheduling, publishing.

Every function checks everything before it changes anything, raises a domain
error (``Invalid`` 422, ``NotPermitted`` 403, ``Conflict`` 409, ``NotFound`` 404)
with a plain-English message, and only flushes: the change, its audit events and
its notifications commit together in the caller's transaction, or not at all.

The text and every image's alternative text are screened for patient identifiers
when a post is proposed or changed, and again whenever the communications team
decides it or accepts its findings (never merely on reading it: a page shows what
the screening would find now, computed, when it differs from what is stored).
Only where each finding is, its kind and its masked form are stored; a post with
findings cannot be approved until a member of the team other than the requester
has recorded why they are acceptable. Neither the text nor a match ever reaches
the audit trail or a notification.

Every change the requester makes raises the post's ``version``; a decision or an
acceptance of findings names the version it was made on, and one made on an older
version is refused (409) so that nobody decides a text they have not seen.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, true
from werkzeug.datastructures import FileStorage

from registry import clock, db
from registry.audit.models import AuditAction
from registry.audit.services import record
from registry.auth.models import User
from registry.auth.permissions import Permission
from registry.channels import services as channels
from registry.channels.models import Channel
from registry.channels.platforms import (
    PLATFORMS,
    HandleError,
    Platform,
    host_owner,
    normalise_handle,
    split_url,
)
from registry.channels.workflow import ChannelStatus
from registry.errors import Conflict, Invalid, NotFound, NotPermitted
from registry.lifecycle.kind import WorkItem
from registry.notifications import services as notifications
from registry.posts import limits
from registry.posts.models import (
    CONSENT_LOCATION_MAX,
    FIELD_ALT_TEXT,
    FIELD_TEXT,
    PostFinding,
    PostImage,
    PostTarget,
    PostTransition,
    PromotionalPost,
    parse_reference,
)
from registry.posts.workflow import (
    AWAITING_COMMS,
    DECISIONS,
    EDITABLE_STATUSES,
    OPEN_STATUSES,
    TRANSITIONS,
    PostAction,
    PostStatus,
    Transition,
)
from registry.screening import services as screening
from registry.uploads import services as uploads

OBJECT_TYPE = "promotional_post"
KIND = "Promotional post"
MAX_IMAGES = 4
MAX_CHANNELS = 20
REASON_MAX = 2000
URL_MAX = 2048
#: Findings of this kind mean the text names a person, so the consent forms' location is needed.
NAME_KINDS = frozenset({"patient_name"})
STALE = "The post has changed since you opened it: read it again before deciding."

MESSAGES = {
    "text": "Enter the text of the post",
    "channels": "Choose at least one channel to post on",
    "wished_for": "Enter the date you would like the post published",
    "reason": "Say why the Trust should publish this post",
    "consent_confirmed": "Confirm that everyone who can be identified in the post has given their consent",
    "consent_location": "Say where the signed consent forms are kept",
}


def _clean(text: str | None) -> str:
    return (text or "").replace("\x00", "").strip()


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def uk_date(value: dt.date) -> str:
    return f"{value.day} {value:%B %Y}"


def uk_datetime(value: dt.datetime) -> str:
    local = value.astimezone(clock.LONDON)
    hour = local.strftime("%I").lstrip("0") or "12"
    return f"{local.day} {local:%B %Y} at {hour}:{local:%M}{local.strftime('%p').lower()}"


def link(post: PromotionalPost) -> str:
    """The post's page, as an absolute path (for notifications and work items)."""
    return f"/posts/{post.reference}"


# --- what a requester sends ----------------------------------------------------------------------


@dataclass
class PostProposal:
    """What a requester tells the communications team (policy 7.1, 6.11)."""

    text: str = ""
    channels: Sequence[str] = ()  # channel references, such as CH-0042
    wished_for: dt.date | None = None
    reason: str = ""
    consent_confirmed: bool = False
    consent_location: str = ""

    @classmethod
    def of(cls, post: PromotionalPost) -> PostProposal:
        """The post as it stands, for a change that gives only some fields. Consent is not
        carried over: the requester confirms it again with every change, as on the form."""
        return cls(
            text=post.text,
            channels=tuple(c.reference for c in post.channels),
            wished_for=post.wished_for,
            reason=post.reason,
            consent_confirmed=False,
            consent_location=post.consent_location,
        )

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, base: PostProposal | None = None) -> PostProposal:
        """From JSON: text fields are text, ``channels`` a list of references, ``wished_for``
        an ISO date and ``consent_confirmed`` a boolean; anything else is refused by field.
        Fields not given keep their value in ``base`` (when changing a post)."""
        errors: dict[str, str] = {}
        values: dict[str, Any] = {}
        for name in ("text", "reason", "consent_location"):
            value = data.get(name)
            if value is None:
                continue
            if isinstance(value, str):
                values[name] = value
            else:
                errors[name] = f"{name} must be text."
        chosen = data.get("channels")
        if chosen is not None:
            if isinstance(chosen, list) and all(isinstance(item, str) for item in chosen):
                values["channels"] = tuple(chosen)
            else:
                errors["channels"] = 'channels must be a list of channel references, such as ["CH-0042"].'
        wished = data.get("wished_for")
        if wished is not None:
            try:
                values["wished_for"] = dt.date.fromisoformat(wished) if isinstance(wished, str) else None
            except ValueError:
                values["wished_for"] = None
            if values["wished_for"] is None:
                errors["wished_for"] = "wished_for must be a date such as 2026-03-31."
        confirmed = data.get("consent_confirmed")
        if confirmed is not None:
            if isinstance(confirmed, bool):
                values["consent_confirmed"] = confirmed
            else:
                errors["consent_confirmed"] = "consent_confirmed must be true or false."
        if errors:
            raise Invalid(errors)
        if base is None:
            return cls(**values)
        return dataclasses.replace(base, **values)


@dataclass(frozen=True)
class NewImage:
    """An image chosen in slot ``slot`` of the form (fields ``image_<slot>`` and ``alt_<slot>``).

    ``file`` None: a description was written in a slot with no image (refused).
    """

    file: FileStorage | None
    alt_text: str
    slot: int


@dataclass(frozen=True)
class KeptImage:
    """An image already attached: keep it with this alternative text, or remove it."""

    image_id: int
    alt_text: str
    remove: bool = False


@dataclass
class _Checked:
    text: str
    reason: str
    wished_for: dt.date
    consent_location: str
    channels: list[Channel]
    kept: list[tuple[PostImage, str]]  # in their order, with their new alternative text
    added: list[NewImage]
    findings: list[tuple[str, int | None, screening.Finding]] = field(default_factory=list)


def _chosen_channels(references: Sequence[str], errors: dict[str, str]) -> list[Channel]:
    wanted: list[str] = list(dict.fromkeys(_clean(r).upper() for r in references if _clean(r)))
    if not wanted:
        errors["channels"] = MESSAGES["channels"]
        return []
    if len(wanted) > MAX_CHANNELS:
        errors["channels"] = f"Choose at most {MAX_CHANNELS} channels"
        return []
    found: dict[str, Channel] = {}
    ids = {ref: channel_id for ref in wanted if (channel_id := channels.id_from_reference(ref)) is not None}
    if ids:
        rows = db.session().execute(select(Channel).where(Channel.id.in_(set(ids.values())))).scalars()
        by_id = {c.id: c for c in rows}
        found = {ref: by_id[i] for ref, i in ids.items() if i in by_id}
    unknown = [ref for ref in wanted if ref not in found]
    if unknown:
        errors["channels"] = f"{unknown[0][:20]} is not one of the Trust's channels: choose from the list"
        return []
    chosen = [found[ref] for ref in wanted]
    inactive = next((c for c in chosen if c.status_enum is not ChannelStatus.ACTIVE), None)
    if inactive is not None:
        errors["channels"] = f"{_channel_name(inactive)} is {inactive.status_enum.phrase}: choose an active channel"
    return chosen


def _channel_name(channel: Channel) -> str:
    return f"{channel.reference} ({channel.display_name}, {channel.platform_label})"


def _check(
    data: PostProposal,
    *,
    kept: list[tuple[PostImage, str]],
    added: Sequence[NewImage],
) -> _Checked:
    """Check a proposal in full (nothing stored): every problem is reported at once."""
    errors: dict[str, str] = {}
    text = limits.normalise_text(data.text)
    reason = _clean(data.reason)
    location = _clean(data.consent_location)
    chosen = _chosen_channels(data.channels, errors)
    strictest = limits.strictest(c.platform for c in chosen)
    if not text:
        errors["text"] = MESSAGES["text"]
    elif limits.count(text) > strictest.limit:
        errors["text"] = limits.too_long_message(limits.count(text), strictest)
    if data.wished_for is None:
        errors["wished_for"] = MESSAGES["wished_for"]
    elif data.wished_for < clock.today():
        errors["wished_for"] = "The date you would like it published must be today or in the future"
    if not reason:
        errors["reason"] = MESSAGES["reason"]
    elif len(reason) > REASON_MAX:
        errors["reason"] = f"The reason must be {REASON_MAX} characters or fewer"
    files = [new for new in added if new.file is not None]
    if len(kept) + len(files) > MAX_IMAGES:
        errors[f"image_{files[-1].slot}" if files else "images"] = f"A post can have at most {MAX_IMAGES} images"
    alt_texts: list[str] = []
    for image, alt in kept:
        alt = limits.normalise_text(alt)
        alt_texts.append(alt)
        if not alt:
            errors[f"keep_{image.id}_alt"] = (
                f"Describe image {image.position} for people who cannot see it, or remove the image"
            )
        elif len(alt) > limits.ALT_TEXT_MAX:
            errors[f"keep_{image.id}_alt"] = (
                f"The description of image {image.position} must be {limits.ALT_TEXT_MAX:,} characters or fewer"
            )
    for new in added:
        alt = limits.normalise_text(new.alt_text)
        if new.file is None:
            errors[f"image_{new.slot}"] = (
                f"Choose the image that the description in slot {new.slot} is for, or clear the description"
            )
            continue
        alt_texts.append(alt)
        if not alt:
            errors[f"alt_{new.slot}"] = (
                f"Describe the image in slot {new.slot} for people who cannot see it (alternative text)"
            )
        elif len(alt) > limits.ALT_TEXT_MAX:
            errors[f"alt_{new.slot}"] = (
                f"The description in slot {new.slot} must be {limits.ALT_TEXT_MAX:,} characters or fewer"
            )
    if data.consent_confirmed is not True:
        errors["consent_confirmed"] = MESSAGES["consent_confirmed"]
    findings = _screen(text, alt_texts) if text else []
    names_someone = any(f.kind in NAME_KINDS for _field, _position, f in findings)
    if len(location) > CONSENT_LOCATION_MAX:
        errors["consent_location"] = f"Where the forms are kept must be {CONSENT_LOCATION_MAX} characters or fewer"
    elif not location and (kept or files or names_someone):
        errors["consent_location"] = MESSAGES["consent_location"] + (
            ": the post has images" if kept or files else ": the post names someone"
        )
    if errors:
        raise Invalid(errors)
    assert data.wished_for is not None
    return _Checked(
        text=text,
        reason=reason,
        wished_for=data.wished_for,
        consent_location=location,
        channels=chosen,
        kept=[(image, limits.normalise_text(alt)) for image, alt in kept],
        added=files,
        findings=findings,
    )


# --- screening ------------------------------------------------------------------------------------


def _screen(text: str, alt_texts: Sequence[str]) -> list[tuple[str, int | None, screening.Finding]]:
    """Screen the text and each image's alternative text (image positions count from 1)."""
    found: list[tuple[str, int | None, screening.Finding]] = [(FIELD_TEXT, None, f) for f in screening.screen(text)]
    for position, alt in enumerate(alt_texts, start=1):
        found.extend((FIELD_ALT_TEXT, position, f) for f in screening.screen(alt))
    return found


def _signature(rows: Iterable[tuple[str, int | None, str, int, int, str]]) -> list[tuple[Any, ...]]:
    return sorted(rows, key=lambda row: (row[0], row[1] or 0, row[3], row[4], row[2], row[5]))


def _stored_signature(post: PromotionalPost) -> list[tuple[Any, ...]]:
    return _signature(
        (f.field, f.image_position, f.kind, f.start_offset, f.end_offset, f.masked) for f in post.findings
    )


def _found_signature(found: list[tuple[str, int | None, screening.Finding]]) -> list[tuple[Any, ...]]:
    return _signature((name, position, f.kind, f.start, f.end, f.masked) for name, position, f in found)


def _kinds(found: Iterable[Any]) -> dict[str, int]:
    return dict(sorted(Counter(f.kind for f in found).items()))


def _store_findings(post: PromotionalPost, found: list[tuple[str, int | None, screening.Finding]]) -> None:
    post.findings.clear()
    db.session().flush()
    post.findings.extend(
        PostFinding(
            field=name,
            image_position=position,
            kind=f.kind[:32],
            label=f.label[:100],
            start_offset=f.start,
            end_offset=f.end,
            masked=f.masked[:200],
        )
        for name, position, f in found
    )
    post.screened_at = db.utcnow()
    _clear_acceptance(post)


def _clear_acceptance(post: PromotionalPost) -> None:
    post.findings_accepted_at = None
    post.findings_accepted_by_id = None
    post.findings_accepted_by = None
    post.findings_acceptance = None


def _record_screen(post: PromotionalPost, actor: User, when: str) -> None:
    record(
        AuditAction.POST_SCREEN,
        OBJECT_TYPE,
        post.reference,
        {"when": when, "findings": len(post.findings), "kinds": _kinds(post.findings)},
        actor=actor,
    )


def masked(text: str) -> str:
    """``text`` with every possible patient identifier in it masked (for audit details and e-mails)."""
    result = text
    for finding in sorted(screening.screen(text), key=lambda f: f.start, reverse=True):
        result = result[: finding.start] + finding.masked + result[finding.end :]
    return result


@dataclass(frozen=True)
class CurrentFinding:
    """What the screening finds in a post now (computed for a page, never stored)."""

    field: str
    image_position: int | None
    kind: str
    label: str
    masked: str

    @property
    def where(self) -> str:
        return "the text" if self.field == FIELD_TEXT else f"image {self.image_position}'s alternative text"


def screening_now(post: PromotionalPost) -> list[CurrentFinding] | None:
    """What the screening finds in the post now, when that differs from the stored findings
    (the screener has learnt something since); None when they agree. Changes nothing."""
    found = _screen(post.text, [image.alt_text for image in post.images])
    if _found_signature(found) == _stored_signature(post):
        return None
    return [
        CurrentFinding(field=name, image_position=position, kind=f.kind, label=f.label, masked=f.masked)
        for name, position, f in found
    ]


def rescreen(post: PromotionalPost, actor: User) -> bool:
    """Screen the post again (the communications team decides it or accepts its findings).

    When the findings differ from those stored (the screener has learnt something since),
    they replace them, any acceptance is cleared, and the change is recorded. Returns whether
    anything changed.
    """
    found = _screen(post.text, [image.alt_text for image in post.images])
    if _found_signature(found) == _stored_signature(post):
        return False
    _store_findings(post, found)
    _add_transition(post, "screen", post.status, post.status, actor, None)
    _record_screen(post, actor, "review")
    db.session().flush()
    return True


# --- reading --------------------------------------------------------------------------------------


def get_post(reference: str, *, for_update: bool = False) -> PromotionalPost:
    parsed = parse_reference(reference)
    post = None
    if parsed is not None:
        year, post_id = parsed
        statement = select(PromotionalPost).where(PromotionalPost.id == post_id, PromotionalPost.year == year)
        if for_update:
            statement = statement.with_for_update(of=PromotionalPost).execution_options(populate_existing=True)
        post = db.session().execute(statement).unique().scalar_one_or_none()
    if post is None:
        raise NotFound(
            f"There is no promotional post {reference[:40]!r}. Check the reference, for example PP-2026-0007."
        )
    return post


def can_view(user: User, post: PromotionalPost) -> bool:
    return user.can(Permission.POST_READ_ALL) or post.requester_id == user.id


def get_visible(reference: str, user: User) -> PromotionalPost:
    """The post, if ``user`` may see it; otherwise the same "no such post" as for one that does not exist."""
    post = get_post(reference)
    if not can_view(user, post):
        raise NotFound(
            f"There is no promotional post {reference[:40]!r}. Check the reference, for example PP-2026-0007."
        )
    return post


def visible_clause(user: User) -> ColumnElement[bool]:
    if user.can(Permission.POST_READ_ALL):
        return true()
    return PromotionalPost.requester_id == user.id


def history(post: PromotionalPost) -> list[PostTransition]:
    return list(
        db.session()
        .execute(
            select(PostTransition)
            .where(PostTransition.post_id == post.id)
            .order_by(PostTransition.occurred_at, PostTransition.id)
        )
        .scalars()
    )


def image_of(post: PromotionalPost, image_id: int) -> PostImage:
    image = next((i for i in post.images if i.id == image_id), None)
    if image is None:
        raise NotFound(f"{post.reference} has no image {image_id}.")
    return image


@dataclass(frozen=True)
class PostFilters:
    status: str = ""
    q: str = ""

    def query(self) -> dict[str, str]:
        return {key: value for key, value in (("status", self.status), ("q", self.q)) if value}

    @classmethod
    def parse(cls, args: Any, *, strict: bool) -> PostFilters:
        """From query parameters. ``strict`` (the API) refuses unknown values with 422."""
        status = (args.get("status") or "").strip()
        if status and status not in {s.value for s in PostStatus}:
            if strict:
                raise Invalid({"status": "status must be one of " + ", ".join(s.value for s in PostStatus) + "."})
            status = ""
        return cls(status=status, q=(args.get("q") or "").replace("\x00", "").strip()[:200])


def search(filters: PostFilters, user: User) -> Select[tuple[PromotionalPost]]:
    """Posts ``user`` may see (their own; all for comms and auditors), newest first."""
    conditions: list[ColumnElement[bool]] = [visible_clause(user)]
    if filters.status:
        conditions.append(PromotionalPost.status == filters.status)
    if filters.q:
        matches: list[ColumnElement[bool]] = [
            func.lower(PromotionalPost.text).like(db.contains_pattern(filters.q.lower()), escape=db.LIKE_ESCAPE)
        ]
        parsed = parse_reference(filters.q)
        if parsed is not None:
            matches.append(and_(PromotionalPost.year == parsed[0], PromotionalPost.id == parsed[1]))
        conditions.append(or_(*matches))
    return (
        select(PromotionalPost)
        .where(and_(*conditions))
        .order_by(PromotionalPost.created_at.desc(), PromotionalPost.id.desc())
    )


def active_channels() -> list[Channel]:
    """The channels a post may be proposed for, by platform and name."""
    return list(
        db.session()
        .execute(
            select(Channel)
            .where(Channel.status == ChannelStatus.ACTIVE.value)
            .order_by(Channel.platform, func.lower(Channel.display_name), Channel.id)
        )
        .scalars()
    )


# --- proposing and changing -----------------------------------------------------------------------


def _store_images(post: PromotionalPost, added: Sequence[NewImage], actor: User, first_position: int) -> None:
    """Store the new images (all or nothing) and attach them after the kept ones."""
    if not added:
        return
    try:
        stored = uploads.store_all([new.file for new in added if new.file is not None], actor=actor, field="images")
    except Invalid as exc:
        raise Invalid({_slot_field(added, message): message for message in exc.errors.values()}) from None
    not_images = [(new, upload) for new, upload in zip(added, stored, strict=True) if not upload.is_image]
    if not_images:
        new, upload = not_images[0]
        raise Invalid(
            {f"image_{new.slot}": f"{upload.original_name}: only images (PNG, JPEG, GIF or WebP) can go in a post"}
        )
    for offset, (new, upload) in enumerate(zip(added, stored, strict=True)):
        post.images.append(
            PostImage(
                upload_id=upload.id,
                upload=upload,
                alt_text=limits.normalise_text(new.alt_text),
                position=first_position + offset,
            )
        )


def _slot_field(added: Sequence[NewImage], message: str) -> str:
    """The form field of the file an upload refusal names (its message starts with the file's name)."""
    for new in added:
        name = (new.file.filename or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
        if name and message.startswith(name):
            return f"image_{new.slot}"
    return f"image_{added[0].slot}"


def _add_transition(
    post: PromotionalPost,
    action: str,
    from_status: str | None,
    to_status: str,
    actor: User,
    reason: str | None,
) -> PostTransition:
    step = PostTransition(
        post_id=post.id,
        action=action,
        from_status=from_status,
        to_status=to_status,
        actor_id=actor.id,
        occurred_at=db.utcnow(),
        reason=reason or None,
    )
    db.session().add(step)
    return step


def _describe(post: PromotionalPost) -> dict[str, Any]:
    """What the audit trail keeps of a post: never its text, alternative text or reason."""
    return {
        "channels": [c.reference for c in post.channels],
        "wished_for": post.wished_for.isoformat(),
        "images": len(post.images),
        "characters": limits.count(post.text),
        "consent_location_given": bool(post.consent_location),
    }


def propose(data: PostProposal, requester: User, images: Sequence[NewImage] = ()) -> PromotionalPost:
    """A member of staff asks communications to publish a post (policy 7.1).

    The post is saved even when the screening finds possible patient identifiers:
    the requester sees them at once and can change the post, and the communications
    team must record why they are acceptable before approving it.
    """
    checked = _check(data, kept=[], added=images)
    now = db.utcnow()
    post = PromotionalPost(
        year=clock.today().year,
        text=checked.text,
        reason=checked.reason,
        wished_for=checked.wished_for,
        consent_confirmed_at=now,
        consent_location=checked.consent_location,
        status=PostStatus.SUBMITTED.value,
        requester_id=requester.id,
        created_at=now,
        updated_at=now,
        status_changed_at=now,
        screened_at=now,
    )
    post.requester = requester
    post.targets = [PostTarget(channel_id=c.id, channel=c) for c in checked.channels]
    db.session().add(post)
    _store_images(post, checked.added, requester, 1)
    db.session().flush()
    _store_findings(post, checked.findings)
    _add_transition(post, "request", None, post.status, requester, None)
    record(AuditAction.POST_REQUEST, OBJECT_TYPE, post.reference, _describe(post), actor=requester)
    _record_screen(post, requester, "submit")
    notifications.notify_comms(
        event="post:request",
        subject=f"Promotional post {post.reference} to decide",
        body=(
            f"{requester.name} has asked the communications team to publish a post on "
            f"{_channels_text(post)}, ideally on {uk_date(post.wished_for)}." + _findings_note(post)
        ),
        link=link(post),
        exclude=requester,
    )
    db.session().flush()
    return post


def _channels_text(post: PromotionalPost) -> str:
    return ", ".join(f"{c.display_name} ({c.platform_label}, {c.reference})" for c in post.channels)


def _findings_note(post: PromotionalPost) -> str:
    if not post.findings:
        return ""
    return (
        f" The screening found {_plural(len(post.findings), 'possible patient identifier')}: "
        "record why they are acceptable before approving it."
    )


def revise(
    post: PromotionalPost,
    data: PostProposal,
    actor: User,
    *,
    kept: Sequence[KeptImage] = (),
    added: Sequence[NewImage] = (),
    note: str | None = None,
) -> PromotionalPost:
    """The requester changes their post while it waits for a decision, or makes the changes
    asked for and resubmits it. The post is screened again and any acceptance of earlier
    findings is cleared."""
    post = get_post(post.reference, for_update=True)
    if post.requester_id != actor.id:
        raise NotPermitted("Only the person who proposed the post can change it.")
    if post.status_enum not in EDITABLE_STATUSES:
        raise Conflict(
            f"{post.reference} is {post.status_enum.phrase}, so it can no longer be changed. "
            "Withdraw it and propose a new post if it needs to change."
        )
    by_id = {image.id: image for image in post.images}
    unknown = [k.image_id for k in kept if k.image_id not in by_id]
    if unknown:
        raise Invalid({"images": f"{post.reference} has no image {unknown[0]}: reload the page and try again"})
    keep = [(by_id[k.image_id], k.alt_text) for k in kept if not k.remove]
    kept_ids = {k.image_id for k in kept}
    keep.extend((image, image.alt_text) for image in post.images if image.id not in kept_ids)
    keep.sort(key=lambda pair: pair[0].position)
    checked = _check(data, kept=keep, added=added)
    note = _clean(note)
    if len(note) > REASON_MAX:
        raise Invalid({"note": f"The note must be {REASON_MAX} characters or fewer"})

    before = {
        **_describe(post),
        "text": post.text,
        "reason": post.reason,
        "consent_location": post.consent_location,
        "alt_texts": [i.alt_text for i in post.images],
    }
    removed = [image for image in post.images if image not in [pair[0] for pair in keep]]
    for image in removed:
        post.images.remove(image)
    for position, (image, alt) in enumerate(checked.kept, start=1):
        image.alt_text = alt
        image.position = position
    _store_images(post, checked.added, actor, len(checked.kept) + 1)
    post.text = checked.text
    post.reason = checked.reason
    post.wished_for = checked.wished_for
    post.consent_location = checked.consent_location
    post.consent_confirmed_at = db.utcnow()
    wanted = {c.id: c for c in checked.channels}
    for target in [t for t in post.targets if t.channel_id not in wanted]:
        post.targets.remove(target)
    present = {t.channel_id for t in post.targets}
    post.targets.extend(PostTarget(channel_id=c.id, channel=c) for c in checked.channels if c.id not in present)
    post.targets.sort(key=lambda t: t.channel_id)
    db.session().flush()
    _store_findings(post, checked.findings)
    after = {
        **_describe(post),
        "text": post.text,
        "reason": post.reason,
        "consent_location": post.consent_location,
        "alt_texts": [i.alt_text for i in post.images],
    }
    changed = sorted(name for name in after if after[name] != before[name])
    now = db.utcnow()
    post.updated_at = now
    post.version += 1
    resubmitting = post.status_enum is PostStatus.CHANGES_REQUESTED
    if resubmitting:
        t = TRANSITIONS[PostAction.RESUBMIT]
        post.status = t.target.value
        post.status_changed_at = now
        _add_transition(post, t.action.value, PostStatus.CHANGES_REQUESTED.value, post.status, actor, note or None)
        record(
            t.audit,
            OBJECT_TYPE,
            post.reference,
            {"from": PostStatus.CHANGES_REQUESTED.value, "to": post.status, "changed": changed, **_describe(post)},
            actor=actor,
        )
        notifications.notify_comms(
            event="post:resubmit",
            subject=f"Promotional post {post.reference} resubmitted",
            body=f"{actor.name} has made changes to {post.reference} and resubmitted it." + _findings_note(post),
            link=link(post),
            exclude=actor,
        )
    else:
        _add_transition(post, "update", post.status, post.status, actor, ", ".join(changed) or None)
        record(
            AuditAction.POST_UPDATE, OBJECT_TYPE, post.reference, {"changed": changed, **_describe(post)}, actor=actor
        )
    _record_screen(post, actor, "resubmit" if resubmitting else "update")
    db.session().flush()
    return post


# --- deciding, scheduling and publishing ----------------------------------------------------------


def _check_transition(actor: User, post: PromotionalPost, t: Transition) -> None:
    if t.permission is None:
        if post.requester_id != actor.id:
            raise NotPermitted(f"Only the person who proposed the post can {t.action.value.replace('_', ' ')} it.")
    elif not actor.can(t.permission):
        raise NotPermitted("Only the communications team can do this.")
    status = post.status_enum
    if status not in t.sources:
        allowed = " or ".join(sorted(s.phrase for s in t.sources))
        raise Conflict(
            f"{post.reference} is {status.phrase}, so it cannot be {t.done}. "
            f"Only a post that is {allowed} can be {t.done}."
        )
    if t.four_eyes and post.requester_id == actor.id:
        raise Conflict(
            "You proposed this post, so another member of the communications team must decide it (four-eyes rule)."
        )


def _check_version(post: PromotionalPost, version: int | None) -> None:
    """A decision made on an older version of the post than the one stored is refused.
    ``None``: the caller (the demo, a command) decides what it has just read itself."""
    if version is not None and version != post.version:
        raise Conflict(STALE)


def can_take(user: User, post: PromotionalPost, action: PostAction) -> bool:
    try:
        _check_transition(user, post, TRANSITIONS[action])
    except (NotPermitted, Conflict):
        return False
    return True


def available_actions(user: User, post: PromotionalPost) -> list[PostAction]:
    return [action for action in TRANSITIONS if action is not PostAction.RESUBMIT and can_take(user, post, action)]


def can_accept_findings(user: User, post: PromotionalPost, now: list[CurrentFinding] | None = None) -> bool:
    """Whether ``user`` may record why the post's findings are acceptable: those stored, or
    ``now`` (what the screening finds at present, from :func:`screening_now`), which the
    acceptance stores first."""
    found = post.needs_findings_accepted if now is None else bool(now)
    return (
        user.can(Permission.POST_DECIDE)
        and post.status_enum is PostStatus.SUBMITTED
        and post.requester_id != user.id
        and found
    )


def _inactive_channel(post: PromotionalPost) -> Channel | None:
    return next((c for c in post.channels if c.status_enum is not ChannelStatus.ACTIVE), None)


def _refuse_inactive(post: PromotionalPost, doing: str) -> None:
    channel = _inactive_channel(post)
    if channel is not None:
        raise Conflict(
            f"{_channel_name(channel)} is {channel.status_enum.phrase}, not active, so {post.reference} cannot be "
            f"{doing}: a post can only go on active channels. Ask for changes so the requester can choose "
            f"another channel."
        )


def parse_moment(value: str, field_name: str) -> dt.datetime:
    """An ISO 8601 date-time; without an offset it is read as UK time."""
    try:
        moment = dt.datetime.fromisoformat(value.strip())
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=clock.LONDON)
        return moment.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise Invalid(
            {field_name: f"{field_name} must be a date and time such as 2026-03-31T09:30:00+01:00."}
        ) from None


def transition(
    post: PromotionalPost,
    action: str,
    actor: User,
    *,
    reason: str | None = None,
    scheduled_for: dt.datetime | None = None,
    urls: Mapping[str, str] | None = None,
    version: int | None = None,
) -> PromotionalPost:
    """Move ``post`` along the lifecycle table, or refuse and change nothing.

    ``scheduled_for`` (aware, in the future) is needed to schedule; ``urls`` (each target
    channel's reference → the post's address there) to record it as published. ``version``:
    the version of the post the actor read (pages and the API always give it); another is
    refused with 409. A decision screens the post again first.
    """
    try:
        chosen = PostAction(action)
    except ValueError:
        allowed = ", ".join(a.value for a in PostAction if a is not PostAction.RESUBMIT)
        raise Invalid({"action": f"Choose an action: one of {allowed}."}) from None
    if chosen is PostAction.RESUBMIT:
        raise Invalid({"action": "Resubmit a post by changing it: open it and choose Change and resubmit."})
    t = TRANSITIONS[chosen]
    post = get_post(post.reference, for_update=True)
    _check_transition(actor, post, t)
    _check_version(post, version)
    reason = _clean(reason)
    errors: dict[str, str] = {}
    if t.reason_required and not reason:
        errors["reason"] = f"Enter a reason: {t.reason_label.rstrip('?').lower()}"
    elif len(reason) > REASON_MAX:
        errors["reason"] = f"The reason must be {REASON_MAX} characters or fewer"
    published: dict[int, str] = {}
    if chosen is PostAction.SCHEDULE:
        if scheduled_for is None:
            errors["scheduled_for"] = "Enter the date and time the post will be published"
        elif scheduled_for.tzinfo is None:
            raise ValueError("scheduled_for must be timezone-aware")
        elif scheduled_for <= db.utcnow():
            errors["scheduled_for"] = "The time the post will be published must be in the future"
    elif scheduled_for is not None:
        errors["scheduled_for"] = "A time can only be given when scheduling a post."
    if chosen is PostAction.PUBLISH:
        published = _check_urls(post, urls or {}, errors)
    elif urls:
        errors["urls"] = "Addresses can only be given when recording that a post is published."
    if errors:
        raise Invalid(errors)
    if chosen in DECISIONS:
        rescreen(post, actor)
    if chosen is PostAction.APPROVE:
        if post.needs_findings_accepted:
            raise Conflict(
                f"{post.reference} may contain patient identifiers "
                f"({_plural(len(post.findings), 'finding')}: {', '.join(sorted({f.label for f in post.findings}))}). "
                "Record why they are acceptable before approving it, or ask for changes."
            )
        _refuse_inactive(post, "approved")
    if chosen is PostAction.SCHEDULE:
        _refuse_inactive(post, "scheduled")

    previous = post.status
    now = db.utcnow()
    details: dict[str, Any] = {"from": previous, "to": t.target.value}
    if reason:
        details["reason"] = masked(reason)
    note = reason
    if chosen is PostAction.APPROVE:
        details["channels"] = [c.reference for c in post.channels]
    if chosen is PostAction.SCHEDULE:
        assert scheduled_for is not None
        post.scheduled_for = scheduled_for.astimezone(dt.UTC)
        details["scheduled_for"] = post.scheduled_for.isoformat()
        when = f"For {uk_datetime(post.scheduled_for)}."
        note = f"{when}\n{reason}" if reason else when
    if chosen is PostAction.PUBLISH:
        post.published_at = now
        for target in post.targets:
            target.published_url = published[target.channel_id]
        details["urls"] = {t.channel.reference: t.published_url for t in post.targets}
        addresses = "\n".join(t.published_url or "" for t in post.targets)
        note = f"{addresses}\n{reason}" if reason else addresses
    post.status = t.target.value
    post.status_changed_at = now
    post.updated_at = now
    _add_transition(post, chosen.value, previous, t.target.value, actor, note)
    record(t.audit, OBJECT_TYPE, post.reference, details, actor=actor)
    _notify(post, chosen, actor, reason)
    db.session().flush()
    return post


def _notify(post: PromotionalPost, action: PostAction, actor: User, reason: str) -> None:
    said = f"\n\nThey said: {masked(reason)}" if reason else ""
    if action is PostAction.WITHDRAW:
        notifications.notify_comms(
            event="post:withdraw",
            subject=f"Promotional post {post.reference} withdrawn",
            body=f"{actor.name} has withdrawn {post.reference}. Take it out of any schedule." + said,
            link=link(post),
            exclude=actor,
        )
        return
    lines = {
        PostAction.APPROVE: (
            "approved",
            f"The communications team has approved {post.reference}. They will schedule it.",
        ),
        PostAction.REQUEST_CHANGES: (
            "changes requested",
            f"The communications team has asked for changes to {post.reference}. Open it, make the changes and "
            f"resubmit it.",
        ),
        PostAction.REJECT: ("rejected", f"The communications team has rejected {post.reference}."),
        PostAction.SCHEDULE: (
            "scheduled",
            f"{post.reference} is scheduled for {uk_datetime(post.scheduled_for)}." if post.scheduled_for else "",
        ),
        PostAction.PUBLISH: (
            "published",
            f"{post.reference} is live:\n" + "\n".join(t.published_url or "" for t in post.targets),
        ),
    }
    word, body = lines[action]
    notifications.notify(
        post.requester,
        event=f"post:{action.value}",
        subject=f"Your promotional post {post.reference}: {word}",
        body=body + said,
        link=link(post),
    )


def accept_findings(
    post: PromotionalPost,
    actor: User,
    reason: str | None,
    *,
    version: int | None = None,
) -> PromotionalPost:
    """A member of the communications team (not the requester) records why the possible
    patient identifiers found in a post are acceptable, so that it can be approved.
    ``version`` as for :func:`transition`."""
    if not actor.can(Permission.POST_DECIDE):
        raise NotPermitted("Only the communications team can do this.")
    post = get_post(post.reference, for_update=True)
    if post.status_enum is not PostStatus.SUBMITTED:
        raise Conflict(
            f"{post.reference} is {post.status_enum.phrase}: findings are accepted only while a post waits for "
            f"a decision."
        )
    if post.requester_id == actor.id:
        raise Conflict(
            "You proposed this post, so another member of the communications team must accept its findings "
            "(four-eyes rule)."
        )
    _check_version(post, version)
    reason = _clean(reason)
    if not reason:
        raise Invalid({"acceptance": "Say why the possible identifiers are acceptable in this post"})
    if len(reason) > REASON_MAX:
        raise Invalid({"acceptance": f"The reason must be {REASON_MAX} characters or fewer"})
    rescreen(post, actor)
    if not post.findings:
        raise Conflict(
            f"The screening finds no possible patient identifiers in {post.reference}: there is nothing to accept."
        )
    if post.findings_accepted:
        raise Conflict(f"Why the findings in {post.reference} are acceptable has already been recorded.")
    now = db.utcnow()
    post.findings_accepted_at = now
    post.findings_accepted_by_id = actor.id
    post.findings_accepted_by = actor
    post.findings_acceptance = reason
    post.updated_at = now
    _add_transition(post, "accept_findings", post.status, post.status, actor, reason)
    record(
        AuditAction.POST_FINDINGS_ACCEPTED,
        OBJECT_TYPE,
        post.reference,
        {"findings": len(post.findings), "kinds": _kinds(post.findings), "reason": masked(reason)},
        actor=actor,
    )
    db.session().flush()
    return post


# --- published addresses --------------------------------------------------------------------------


def _check_urls(post: PromotionalPost, urls: Mapping[str, str], errors: dict[str, str]) -> dict[int, str]:
    """Each target channel's published address, checked to be a post on that channel's platform."""
    given = {_clean(ref).upper(): value for ref, value in urls.items()}
    result: dict[int, str] = {}
    for channel in post.channels:
        key = f"url_{channel.reference}"
        raw = given.pop(channel.reference, None)
        try:
            result[channel.id] = check_post_url(channel, raw if isinstance(raw, str) else "")
        except HandleError as exc:
            errors[key] = str(exc)
    if given:
        errors["urls"] = f"{next(iter(given))[:20]} is not one of the channels of {post.reference}."
    return result


def check_post_url(channel: Channel, raw: str) -> str:
    """The address of a published post, checked to be on ``channel``'s platform (and, where the
    address shows it, on the channel's own account) and not the account's own page."""
    platform = channel.platform_enum
    label = PLATFORMS[platform].label
    text = _clean(raw)
    if not text:
        raise HandleError(f"Enter the address of the post on {channel.display_name} ({label})")
    if len(text) > URL_MAX:
        raise HandleError(f"The address must be {URL_MAX} characters or fewer")
    url = split_url(text)
    if text.startswith("//"):
        text = "https:" + text
    elif "://" not in text:
        text = "https://" + text
    owner = host_owner(url.host)
    if platform in (Platform.MASTODON, Platform.OTHER):
        home = PLATFORMS[platform].profile_url(channel.handle)
        home_host = split_url(home).host.removeprefix("www.") if home else ""
        if home_host and url.host.removeprefix("www.") != home_host:
            raise HandleError(f"That address is not on {home_host}, where {channel.reference} is.")
        if (
            platform is Platform.MASTODON
            and url.part(0).startswith("@")
            and url.part(0)[1:].lower() != channel.handle.partition("@")[0].lower()
        ):
            raise HandleError(f"That post is on another account, not {channel.handle}.")
    else:
        if owner is None or owner[0] is not platform:
            article = "an" if label[:1] in "AEIOUX" else "a"
            raise HandleError(f"That is not {article} {label} address, but {channel.reference} is on {label}.")
        if owner[1] == "short":
            raise HandleError("That is a short link. Open it in your browser, then copy the full address of the post.")
        if owner[1] == "service":
            raise HandleError(f"That address is not a post on {label}. Open the post and copy its address.")
        _check_account(channel, url)
    try:
        handle = normalise_handle(platform, text)
    except HandleError:
        return text  # not an account's page: a post (or another page) on the right site
    if platform is Platform.OTHER and handle != channel.handle:
        return text  # on another site every address reads as an account's: only the channel's own is refused
    raise HandleError("That is the account's own page, not the post. Open the post and copy its address.")


def _check_account(channel: Channel, url: Any) -> None:
    """Where a platform's post addresses name the account, it must be the channel's."""
    first, second = url.part(0), url.part(1)
    account: str | None = None
    if channel.platform_enum is Platform.X and second.lower() == "status" and first.lower() != "i":
        account = first
    elif channel.platform_enum is Platform.BLUESKY and first.lower() == "profile" and not second.startswith("did:"):
        account = second
    elif channel.platform_enum in (Platform.THREADS, Platform.TIKTOK) and first.startswith("@"):
        account = first[1:]
    if account is not None and account.lower() != channel.handle.lower():
        raise HandleError(f"That post is on another account ({account[:40]}), not {channel.handle}.")


# --- work items -----------------------------------------------------------------------------------


def _comms_label(post: PromotionalPost) -> str:
    if post.status_enum is PostStatus.SUBMITTED:
        return "To decide: possible identifiers found" if post.needs_findings_accepted else "To decide"
    if post.status_enum is PostStatus.APPROVED:
        return "To schedule"
    assert post.scheduled_for is not None
    return f"To publish: scheduled for {uk_datetime(post.scheduled_for)}"


def work_items_for_comms() -> list[WorkItem]:
    """Every post waiting on the communications team (to decide, schedule or record as published), oldest first."""
    posts = (
        db.session()
        .execute(
            select(PromotionalPost)
            .where(PromotionalPost.status.in_([s.value for s in AWAITING_COMMS]))
            .order_by(PromotionalPost.status_changed_at, PromotionalPost.id)
        )
        .scalars()
        .all()
    )
    return [
        WorkItem(
            kind=KIND,
            reference=p.reference,
            title=p.title,
            status_label=_comms_label(p),
            waiting_since=p.status_changed_at,
            url=link(p),
            requester=p.requester.name,
        )
        for p in posts
    ]


def work_items_of(user: User) -> list[WorkItem]:
    """The user's own open posts, those waiting on their changes first, then oldest first."""
    posts = (
        db.session()
        .execute(
            select(PromotionalPost)
            .where(
                PromotionalPost.requester_id == user.id,
                PromotionalPost.status.in_([s.value for s in OPEN_STATUSES]),
            )
            .order_by(
                (PromotionalPost.status != PostStatus.CHANGES_REQUESTED.value),
                PromotionalPost.status_changed_at,
                PromotionalPost.id,
            )
        )
        .scalars()
        .all()
    )
    return [
        WorkItem(
            kind=KIND,
            reference=p.reference,
            title=p.title,
            status_label="Changes requested: your action needed"
            if p.status_enum is PostStatus.CHANGES_REQUESTED
            else p.status_label,
            waiting_since=p.status_changed_at,
            url=link(p),
            requester=p.requester.name,
            needs_you=p.status_enum is PostStatus.CHANGES_REQUESTED,
        )
        for p in posts
    ]


def count_awaiting_comms() -> int:
    return (
        db.session()
        .execute(
            select(func.count())
            .select_from(PromotionalPost)
            .where(PromotionalPost.status.in_([s.value for s in AWAITING_COMMS]))
        )
        .scalar_one()
    )
