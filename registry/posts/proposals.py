"""What a requester sends when they propose or change a post, and the checks it must pass.

A proposal is checked in full before anything is stored, and every problem is reported at
once (``Invalid``, by field): the text against the strictest chosen platform's limit, the
channels (known to the Trust and active), the date wished for, the reason, each image's
alternative text, the consent and where its forms are kept (needed when the post has images
or names someone). The screening's findings come back with the checked proposal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from registry import clock, db
from registry.channels.models import Channel, id_from_reference
from registry.channels.workflow import ChannelStatus
from registry.errors import Invalid
from registry.posts import limits
from registry.posts.findings import NAME_KINDS, Found, screen
from registry.posts.models import CONSENT_LOCATION_MAX, PostImage, PromotionalPost
from registry.text import clean

MAX_IMAGES: Final = 4
MAX_CHANNELS: Final = 20
#: The longest reason, note or acceptance a requester or the team may write.
REASON_MAX: Final = 2000

MESSAGES: Final = {
    "text": "Enter the text of the post",
    "channels": "Choose at least one channel to post on",
    "wished_for": "Enter the date you would like the post published",
    "reason": "Say why the Trust should publish this post",
    "consent_confirmed": "Confirm that everyone who can be identified in the post has given their consent",
    "consent_location": "Say where the signed consent forms are kept",
}


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
class Checked:
    text: str
    reason: str
    wished_for: dt.date
    consent_location: str
    channels: list[Channel]
    kept: list[tuple[PostImage, str]]  # in their order, with their new alternative text
    added: list[NewImage]
    findings: list[Found] = field(default_factory=list)


def channel_name(channel: Channel) -> str:
    return f"{channel.reference} ({channel.display_name}, {channel.platform_label})"


def chosen_channels(references: Sequence[str], errors: dict[str, str]) -> list[Channel]:
    wanted: list[str] = list(dict.fromkeys(clean(r).upper() for r in references if clean(r)))
    if not wanted:
        errors["channels"] = MESSAGES["channels"]
        return []
    if len(wanted) > MAX_CHANNELS:
        errors["channels"] = f"Choose at most {MAX_CHANNELS} channels"
        return []
    found: dict[str, Channel] = {}
    ids = {ref: channel_id for ref in wanted if (channel_id := id_from_reference(ref)) is not None}
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
        errors["channels"] = f"{channel_name(inactive)} is {inactive.status_enum.phrase}: choose an active channel"
    return chosen


def check(data: PostProposal, *, kept: list[tuple[PostImage, str]], added: Sequence[NewImage]) -> Checked:
    """Check a proposal in full (nothing stored): every problem is reported at once."""
    errors: dict[str, str] = {}
    text = limits.normalise_text(data.text)
    reason = clean(data.reason)
    location = clean(data.consent_location)
    chosen = chosen_channels(data.channels, errors)
    _check_text(text, chosen, errors)
    _check_wished_for(data.wished_for, errors)
    if not reason:
        errors["reason"] = MESSAGES["reason"]
    elif len(reason) > REASON_MAX:
        errors["reason"] = f"The reason must be {REASON_MAX} characters or fewer"
    files = [new for new in added if new.file is not None]
    if len(kept) + len(files) > MAX_IMAGES:
        errors[f"image_{files[-1].slot}" if files else "images"] = f"A post can have at most {MAX_IMAGES} images"
    alt_texts = _check_kept(kept, errors) + _check_added(added, errors)
    if data.consent_confirmed is not True:
        errors["consent_confirmed"] = MESSAGES["consent_confirmed"]
    findings = screen(text, alt_texts) if text else []
    _check_location(location, bool(kept or files), findings, errors)
    if errors:
        raise Invalid(errors)
    assert data.wished_for is not None
    return Checked(
        text=text,
        reason=reason,
        wished_for=data.wished_for,
        consent_location=location,
        channels=chosen,
        kept=[(image, limits.normalise_text(alt)) for image, alt in kept],
        added=files,
        findings=findings,
    )


def _check_text(text: str, chosen: list[Channel], errors: dict[str, str]) -> None:
    strictest = limits.strictest(c.platform for c in chosen)
    if not text:
        errors["text"] = MESSAGES["text"]
    elif limits.count(text) > strictest.limit:
        errors["text"] = limits.too_long_message(limits.count(text), strictest)


def _check_wished_for(wished_for: dt.date | None, errors: dict[str, str]) -> None:
    if wished_for is None:
        errors["wished_for"] = MESSAGES["wished_for"]
    elif wished_for < clock.today():
        errors["wished_for"] = "The date you would like it published must be today or in the future"


def _check_kept(kept: list[tuple[PostImage, str]], errors: dict[str, str]) -> list[str]:
    """The kept images' alternative texts, in their order; what is wrong with them in ``errors``."""
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
    return alt_texts


def _check_added(added: Sequence[NewImage], errors: dict[str, str]) -> list[str]:
    """The new images' alternative texts, in their order; what is wrong with them in ``errors``."""
    alt_texts: list[str] = []
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
    return alt_texts


def _check_location(location: str, has_images: bool, findings: list[Found], errors: dict[str, str]) -> None:
    """Where the consent forms are kept: needed when the post has images or names someone."""
    names_someone = any(f.kind in NAME_KINDS for _field, _position, f in findings)
    if len(location) > CONSENT_LOCATION_MAX:
        errors["consent_location"] = f"Where the forms are kept must be {CONSENT_LOCATION_MAX} characters or fewer"
    elif not location and (has_images or names_someone):
        errors["consent_location"] = MESSAGES["consent_location"] + (
            ": the post has images" if has_images else ": the post names someone"
        )
