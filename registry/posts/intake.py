"""Proposing a post and changing it: what the requester does.

The post is saved even when the screening finds possible patient identifiers: the requester
sees them at once and can change the post, and the communications team must record why they
are acceptable before approving it. Every change the requester makes raises the post's
``version``, screens it again and clears any acceptance of earlier findings; a change made
when changes were asked for resubmits it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from registry import clock, db
from registry.audit.models import AuditAction
from registry.audit.services import record
from registry.auth.models import User
from registry.errors import Conflict, Invalid, NotPermitted
from registry.lifecycle import engine
from registry.notifications import services as notifications
from registry.posts import findings, limits
from registry.posts.kind import KIND
from registry.posts.models import OBJECT_TYPE, PostImage, PostTarget, PromotionalPost
from registry.posts.proposals import REASON_MAX, Checked, KeptImage, NewImage, PostProposal, check
from registry.posts.workflow import EDITABLE_STATUSES, TRANSITIONS, PostAction, PostStatus
from registry.text import clean, plural, uk_date
from registry.uploads import services as uploads


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
        name = ((new.file.filename if new.file else None) or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
        if name and message.startswith(name):
            return f"image_{new.slot}"
    return f"image_{added[0].slot}"


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
    checked = check(data, kept=[], added=images)
    now = db.utcnow()
    post = KIND.new(
        requester,
        PostStatus.SUBMITTED,
        now,
        year=clock.today().year,
        text=checked.text,
        reason=checked.reason,
        wished_for=checked.wished_for,
        consent_confirmed_at=now,
        consent_location=checked.consent_location,
        screened_at=now,
    )
    post.requester = requester
    post.targets = [PostTarget(channel_id=c.id, channel=c) for c in checked.channels]
    db.session().add(post)
    _store_images(post, checked.added, requester, 1)
    db.session().flush()
    findings.store_findings(post, checked.findings)
    engine.opened(KIND, post, "request", requester, audit=AuditAction.POST_REQUEST, details=_describe(post))
    findings.record_screen(post, requester, "submit")
    notifications.notify_comms(
        event="post:request",
        subject=f"Promotional post {post.reference} to decide",
        body=(
            f"{requester.name} has asked the communications team to publish a post on "
            f"{_channels_text(post)}, ideally on {uk_date(post.wished_for)}." + _findings_note(post)
        ),
        link=KIND.link(post),
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
        f" The screening found {plural(len(post.findings), 'possible patient identifier')}: "
        "record why they are acceptable before approving it."
    )


def check_editable(post: PromotionalPost, actor: User) -> None:
    """Only the requester changes a post, and only while it waits for a decision or their changes."""
    if post.requester_id != actor.id:
        raise NotPermitted("Only the person who proposed the post can change it.")
    if post.status_enum not in EDITABLE_STATUSES:
        raise Conflict(
            f"{post.reference} is {post.status_enum.phrase}, so it can no longer be changed. "
            "Withdraw it and propose a new post if it needs to change."
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
    post = KIND.get(post.reference, for_update=True)
    check_editable(post, actor)
    keep = _images_kept(post, kept)
    checked = check(data, kept=keep, added=added)
    note = clean(note)
    if len(note) > REASON_MAX:
        raise Invalid({"note": f"The note must be {REASON_MAX} characters or fewer"})

    before = _snapshot(post)
    _store_changes(post, checked, [image for image, _alt in keep], actor)
    after = _snapshot(post)
    changed = sorted(name for name in after if after[name] != before[name])
    post.updated_at = db.utcnow()
    post.version += 1
    resubmitting = post.status_enum is PostStatus.CHANGES_REQUESTED
    if resubmitting:
        _resubmit(post, actor, changed, note)
    else:
        engine.add_step(KIND, post, "update", post.status, actor, note=", ".join(changed))
        record(
            AuditAction.POST_UPDATE, OBJECT_TYPE, post.reference, {"changed": changed, **_describe(post)}, actor=actor
        )
    findings.record_screen(post, actor, "resubmit" if resubmitting else "update")
    db.session().flush()
    return post


def _images_kept(post: PromotionalPost, kept: Sequence[KeptImage]) -> list[tuple[PostImage, str]]:
    """The images the post keeps, in their order, with their alternative text as given (an image
    the form did not mention keeps its own)."""
    by_id = {image.id: image for image in post.images}
    unknown = [k.image_id for k in kept if k.image_id not in by_id]
    if unknown:
        raise Invalid({"images": f"{post.reference} has no image {unknown[0]}: reload the page and try again"})
    keep = [(by_id[k.image_id], k.alt_text) for k in kept if not k.remove]
    kept_ids = {k.image_id for k in kept}
    keep.extend((image, image.alt_text) for image in post.images if image.id not in kept_ids)
    keep.sort(key=lambda pair: pair[0].position)
    return keep


def _snapshot(post: PromotionalPost) -> dict[str, Any]:
    """What a change is compared on, to name the fields it changed."""
    return {
        **_describe(post),
        "text": post.text,
        "reason": post.reason,
        "consent_location": post.consent_location,
        "alt_texts": [i.alt_text for i in post.images],
    }


def _store_changes(post: PromotionalPost, checked: Checked, keep: list[PostImage], actor: User) -> None:
    for image in [image for image in post.images if image not in keep]:
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
    findings.store_findings(post, checked.findings)


def _resubmit(post: PromotionalPost, actor: User, changed: list[str], note: str) -> None:
    """The changes asked for are made: the post waits for a decision again."""
    t = TRANSITIONS[PostAction.RESUBMIT]
    previous = post.status
    post.status = t.target.value
    post.status_changed_at = post.updated_at
    engine.add_step(KIND, post, t.action.value, previous, actor, note=note)
    record(
        t.audit,
        OBJECT_TYPE,
        post.reference,
        {"from": previous, "to": post.status, "changed": changed, **_describe(post)},
        actor=actor,
    )
    notifications.notify_comms(
        event="post:resubmit",
        subject=f"Promotional post {post.reference} resubmitted",
        body=f"{actor.name} has made changes to {post.reference} and resubmitted it." + _findings_note(post),
        link=KIND.link(post),
        exclude=actor,
    )
