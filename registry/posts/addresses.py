"""Where a published post is: each target channel's address of it, checked to be a post on
that channel's platform (and, where the address shows it, on the channel's own account)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from registry.channels.models import Channel
from registry.channels.platforms import PLATFORMS, HandleError, Platform, host_owner, normalise_handle, split_url
from registry.posts.models import PromotionalPost
from registry.text import clean

URL_MAX: Final = 2048


def check_urls(post: PromotionalPost, urls: Mapping[str, str], errors: dict[str, str]) -> dict[int, str]:
    """Each target channel's published address, checked to be a post on that channel's platform."""
    given = {clean(ref).upper(): value for ref, value in urls.items()}
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
    text = clean(raw)
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
