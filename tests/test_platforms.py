"""The platform catalogue and handle/web-address normalisation."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from registry.channels.platforms import (
    _HOSTS,
    PLATFORMS,
    HandleError,
    Platform,
    host_owner,
    looks_like_url,
    normalise_handle,
    parse_url,
)

PROPERTY = settings(max_examples=200, deadline=None)

# --------------------------------------------------------------------------
# The catalogue


def test_platform_values_and_catalogue_order() -> None:
    expected = [
        "x",
        "facebook",
        "instagram",
        "linkedin",
        "youtube",
        "tiktok",
        "threads",
        "bluesky",
        "mastodon",
        "pinterest",
        "flickr",
        "snapchat",
        "whatsapp",
        "other",
    ]
    assert [p.value for p in Platform] == expected
    assert [p.value for p in PLATFORMS] == expected
    assert all(info.platform is p for p, info in PLATFORMS.items())


def test_labels_hints_and_limits() -> None:
    assert PLATFORMS[Platform.X].label == "X (Twitter)"
    assert PLATFORMS[Platform.LINKEDIN].label == "LinkedIn"
    assert PLATFORMS[Platform.WHATSAPP].label == "WhatsApp"
    assert PLATFORMS[Platform.X].text_limit == 280
    assert PLATFORMS[Platform.BLUESKY].text_limit == 300
    assert PLATFORMS[Platform.THREADS].text_limit == 500
    assert PLATFORMS[Platform.MASTODON].text_limit == 500
    assert PLATFORMS[Platform.FLICKR].text_limit is None
    for info in PLATFORMS.values():
        assert info.label and info.handle_hint
        assert info.text_limit is None or info.text_limit > 0


# --------------------------------------------------------------------------
# Variants that name the same account

EQUIVALENT: list[tuple[Platform, str, list[str]]] = [
    (
        Platform.X,
        "nhstrust",
        [
            "NHSTrust",
            "@NHSTrust",
            "  @nhstrust  ",
            "x.com/NHSTrust",
            "https://x.com/NHSTrust/",
            "https://twitter.com/nhstrust?lang=en",
            "http://www.twitter.com/NHSTrust#top",
            "https://mobile.twitter.com/NHSTrust",
            "https://X.COM/nhstrust/media",
            "https://twitter.com/#!/NHSTrust",
            "https://x.com:443/NHSTrust",
            "//x.com/nhstrust",
            "https://x.com./NHSTrust",
        ],
    ),
    (
        Platform.FACEBOOK,
        "nhstrust",
        [
            "NHSTrust",
            "@nhs.trust",
            "N.H.S.Trust",
            "facebook.com/NHSTrust",
            "https://www.facebook.com/nhs.trust/",
            "https://m.facebook.com/NHSTrust?ref=bookmarks",
            "https://en-gb.facebook.com/NHSTrust/about/",
            "https://web.facebook.com/NHSTrust",
            "https://www.facebook.com/pg/NHSTrust/posts/",
            "https://fb.com/NHSTrust",
            "fb.me/nhstrust",
        ],
    ),
    (
        Platform.FACEBOOK,
        "100064123456789",
        [
            "100064123456789",
            "https://www.facebook.com/profile.php?id=100064123456789",
            "https://m.facebook.com/profile.php?id=100064123456789&sk=about",
            "https://www.facebook.com/people/NHS-Trust/100064123456789/",
            "https://www.facebook.com/p/NHS-Trust-100064123456789/",
            "https://www.facebook.com/100064123456789",
        ],
    ),
    (
        Platform.FACEBOOK,
        "groups/nhsstaff",
        [
            "groups/nhsstaff",
            "https://www.facebook.com/groups/NHSStaff/",
            "facebook.com/groups/nhsstaff/about",
        ],
    ),
    (
        Platform.INSTAGRAM,
        "nhs.trust",
        [
            "nhs.trust",
            "@NHS.Trust",
            "instagram.com/nhs.trust",
            "https://www.instagram.com/NHS.Trust/",
            "https://instagram.com/nhs.trust?igshid=abc123",
            "https://m.instagram.com/nhs.trust/reels/",
            "instagr.am/nhs.trust",
            "https://www.instagram.com/nhs.trust/tagged/",
        ],
    ),
    (
        Platform.THREADS,
        "nhs_trust",
        [
            "nhs_trust",
            "@NHS_Trust",
            "https://www.threads.net/@nhs_trust",
            "threads.com/@NHS_Trust/",
            "https://www.threads.com/@nhs_trust/replies",
        ],
    ),
    (
        Platform.LINKEDIN,
        "company/nhs-trust",
        [
            "nhs-trust",
            "@NHS-Trust",
            "company/NHS-Trust",
            "linkedin.com/company/nhs-trust",
            "https://www.linkedin.com/company/NHS-Trust/",
            "https://uk.linkedin.com/company/nhs-trust/about/",
            "https://www.linkedin.com/company/nhs-trust/posts/?feedView=all",
        ],
    ),
    (
        Platform.LINKEDIN,
        "in/jane-smith-123",
        [
            "in/jane-smith-123",
            "https://www.linkedin.com/in/Jane-Smith-123/",
            "uk.linkedin.com/in/jane-smith-123",
        ],
    ),
    # Company, school and showcase pages share one namespace: all are written company/.
    (
        Platform.LINKEDIN,
        "company/nhs-careers",
        ["showcase/nhs-careers", "linkedin.com/showcase/NHS-Careers", "linkedin.com/company/nhs-careers"],
    ),
    (Platform.LINKEDIN, "company/nhs-academy", ["school/nhs-academy", "linkedin.com/school/nhs-academy/"]),
    (
        Platform.LINKEDIN,
        "company/soci%c3%a9t%c3%a9",
        [
            "https://www.linkedin.com/company/soci%C3%A9t%C3%A9/",
            "linkedin.com/company/société",
            "company/société",
        ],
    ),
    (
        Platform.YOUTUBE,
        "@nhstrust",
        [
            "NHSTrust",
            "@NHSTrust",
            "youtube.com/@NHSTrust",
            "https://www.youtube.com/@nhstrust/videos",
            "https://m.youtube.com/@NHSTrust?si=abc",
            "https://youtube.com/%40nhstrust",
        ],
    ),
    (
        Platform.YOUTUBE,
        "channel/UCabcdEFGH_ijklMNOP-qrst",
        [
            "channel/UCabcdEFGH_ijklMNOP-qrst",
            "https://www.youtube.com/channel/UCabcdEFGH_ijklMNOP-qrst",
            "youtube.com/channel/UCabcdEFGH_ijklMNOP-qrst/featured",
        ],
    ),
    (
        Platform.YOUTUBE,
        "c/nhstrust",
        [
            "c/NHSTrust",
            "https://www.youtube.com/c/NHSTrust",
            "https://www.youtube.com/NHSTrust",
            "m.youtube.com/NHSTrust/videos",
        ],
    ),
    (Platform.YOUTUBE, "user/nhstrust", ["user/nhstrust", "https://www.youtube.com/user/NHSTrust/videos"]),
    (
        Platform.TIKTOK,
        "nhs.trust",
        [
            "nhs.trust",
            "@NHS.Trust",
            "tiktok.com/@nhs.trust",
            "https://www.tiktok.com/@NHS.Trust?lang=en",
            "https://m.tiktok.com/@nhs.trust/",
        ],
    ),
    (
        Platform.BLUESKY,
        "nhstrust.bsky.social",
        [
            "nhstrust",
            "@NHSTrust",
            "nhstrust.bsky.social",
            "@NHSTrust.bsky.social",
            "https://bsky.app/profile/nhstrust.bsky.social",
            "bsky.app/profile/NHSTrust.bsky.social/",
        ],
    ),
    (Platform.BLUESKY, "nhs.uk", ["nhs.uk", "@NHS.uk", "https://bsky.app/profile/nhs.uk"]),
    (
        Platform.BLUESKY,
        "did:plc:abcdefghijklmnopqrstuvwx",
        [
            "did:plc:abcdefghijklmnopqrstuvwx",
            "@did:plc:abcdefghijklmnopqrstuvwx",
            "https://bsky.app/profile/did:plc:abcdefghijklmnopqrstuvwx",
        ],
    ),
    (
        Platform.MASTODON,
        "nhstrust@mastodon.social",
        [
            "@NHSTrust@mastodon.social",
            "nhstrust@Mastodon.Social",
            "https://mastodon.social/@NHSTrust",
            "mastodon.social/@nhstrust/",
            "https://mastodon.social/users/nhstrust",
            "https://mastodon.social/@nhstrust/with_replies",
            "https://mastodon.social/web/@nhstrust",
            "https://fosstodon.org/@nhstrust@mastodon.social",
        ],
    ),
    (
        Platform.PINTEREST,
        "nhstrust",
        [
            "nhstrust",
            "@NHSTrust",
            "pinterest.com/nhstrust",
            "https://www.pinterest.co.uk/NHSTrust/",
            "https://uk.pinterest.com/nhstrust/_saved/",
            "https://pinterest.ca/nhstrust?x=1",
        ],
    ),
    (
        Platform.FLICKR,
        "nhstrust",
        [
            "nhstrust",
            "https://www.flickr.com/photos/NHSTrust/",
            "flickr.com/people/nhstrust",
            "https://flickr.com/photos/nhstrust/albums",
        ],
    ),
    (
        Platform.FLICKR,
        "12345678@N02",
        [
            "12345678@N02",
            "12345678@n02",
            "https://www.flickr.com/photos/12345678@N02/",
            "flickr.com/photos/12345678%40N02",
        ],
    ),
    (
        Platform.SNAPCHAT,
        "nhs.trust",
        [
            "nhs.trust",
            "@NHS.Trust",
            "snapchat.com/add/nhs.trust",
            "https://www.snapchat.com/add/NHS.Trust?share_id=x",
            "https://www.snapchat.com/@nhs.trust",
        ],
    ),
    (
        Platform.WHATSAPP,
        "447700900123",
        [
            "07700 900123",
            "07700900123",
            "+44 7700 900123",
            "+44 (0)7700 900123",
            "0044 7700 900123",
            "447700900123",
            "(07700) 900-123",
            "https://wa.me/447700900123",
            "wa.me/+447700900123",
            "https://api.whatsapp.com/send?phone=447700900123&text=hi",
            "https://api.whatsapp.com/send/?phone=%2B447700900123",
        ],
    ),
    (
        Platform.WHATSAPP,
        "channel/0029VaABCdefGHIjkl123",
        [
            "channel/0029VaABCdefGHIjkl123",
            "https://whatsapp.com/channel/0029VaABCdefGHIjkl123",
            "https://www.whatsapp.com/channel/0029VaABCdefGHIjkl123/",
        ],
    ),
    (
        Platform.OTHER,
        "forum.example.org/nhs-trust",
        [
            "forum.example.org/nhs-trust",
            "https://forum.example.org/nhs-trust/",
            "http://www.forum.example.org/nhs-trust?utm=1#top",
            "HTTPS://Forum.Example.ORG/nhs-trust",
        ],
    ),
    (Platform.OTHER, "example.org", ["example.org", "https://www.example.org/", "EXAMPLE.org"]),
    (Platform.OTHER, "nhstrust", ["nhstrust", "@NHSTrust", " NHSTrust "]),
]


@pytest.mark.parametrize(
    ("platform", "raw", "expected"),
    [(p, raw, expected) for p, expected, raws in EQUIVALENT for raw in raws],
)
def test_variants_normalise_to_one_canonical_handle(platform: Platform, raw: str, expected: str) -> None:
    assert normalise_handle(platform, raw) == expected
    assert normalise_handle(platform.value, raw) == expected


@pytest.mark.parametrize(("platform", "expected"), [(p, expected) for p, expected, _ in EQUIVALENT])
def test_canonical_handles_round_trip_through_their_profile_url(platform: Platform, expected: str) -> None:
    assert normalise_handle(platform, expected) == expected
    url = PLATFORMS[platform].profile_url(expected)
    if platform is Platform.OTHER and expected == "nhstrust":
        assert url == ""
        return
    assert url.startswith("https://")
    assert normalise_handle(platform, url) == expected


@pytest.mark.parametrize(
    ("platform", "handle", "url"),
    [
        (Platform.X, "nhstrust", "https://x.com/nhstrust"),
        (Platform.FACEBOOK, "nhstrust", "https://www.facebook.com/nhstrust"),
        (Platform.FACEBOOK, "100064", "https://www.facebook.com/profile.php?id=100064"),
        (Platform.LINKEDIN, "company/nhs-trust", "https://www.linkedin.com/company/nhs-trust/"),
        (Platform.YOUTUBE, "@nhstrust", "https://www.youtube.com/@nhstrust"),
        (
            Platform.YOUTUBE,
            "channel/UCabcdEFGH_ijklMNOP-qrst",
            "https://www.youtube.com/channel/UCabcdEFGH_ijklMNOP-qrst",
        ),
        (Platform.MASTODON, "nhs@mastodon.social", "https://mastodon.social/@nhs"),
        (Platform.BLUESKY, "nhs.uk", "https://bsky.app/profile/nhs.uk"),
        (Platform.WHATSAPP, "447700900123", "https://wa.me/447700900123"),
        (Platform.OTHER, "forum.example.org/nhs-trust", "https://forum.example.org/nhs-trust"),
    ],
)
def test_profile_urls(platform: Platform, handle: str, url: str) -> None:
    assert PLATFORMS[platform].profile_url(handle) == url


# --------------------------------------------------------------------------
# Refusals


def _refused(platform: Platform | str, raw: str) -> str:
    with pytest.raises(HandleError) as caught:
        normalise_handle(platform, raw)
    assert type(caught.value) is HandleError
    return str(caught.value)


@pytest.mark.parametrize(
    ("platform", "raw"),
    [
        (Platform.X, "https://evil.example/nhs"),
        (Platform.X, "https://x.com.evil.example/nhs"),
        (Platform.X, "https://evilx.com/nhs"),
        (Platform.X, "https://notx.com/nhs"),
        (Platform.X, "https://x.com:8443/nhs"),
        (Platform.X, "https://xn--x-8sb.com/nhs"),
        (Platform.X, "https://х.com/nhs"),
        (Platform.X, "https://ｘ.com/nhs"),
        (Platform.FACEBOOK, "https://facebook.com.evil.example/nhstrust"),
        (Platform.FACEBOOK, "https://instagram.com/nhstrust"),
        (Platform.INSTAGRAM, "https://www.facebook.com/nhstrust"),
        (Platform.LINKEDIN, "https://linkedin.evil.example/company/nhs"),
        (Platform.YOUTUBE, "https://yout.ube/@nhs"),
        (Platform.TIKTOK, "https://www.tiktok.co/@nhs"),
        (Platform.THREADS, "https://www.instagram.com/nhs"),
        (Platform.BLUESKY, "https://bsky.social/profile/nhs.uk"),
        (Platform.PINTEREST, "https://pinterest.evil/nhstrust"),
        (Platform.FLICKR, "https://flickr.net/photos/nhs"),
        (Platform.SNAPCHAT, "https://snap.com/add/nhs"),
        (Platform.WHATSAPP, "https://wa.me.evil.example/447700900123"),
        (Platform.MASTODON, "https://x.com/@nhstrust"),
        (Platform.MASTODON, "https://medium.com/@nhstrust"),
        (Platform.OTHER, "https://twitter.com/nhstrust"),
        (Platform.OTHER, "https://www.linkedin.com/company/nhs"),
    ],
)
def test_addresses_on_the_wrong_site_are_refused(platform: Platform, raw: str) -> None:
    _refused(platform, raw)


def test_wrong_site_messages_are_plain_english() -> None:
    assert _refused(Platform.X, "https://evil.example/nhs") == (
        "That is not an X address: the web address must be on x.com or twitter.com."
    )
    assert "Instagram address, not an X one" in _refused(Platform.X, "instagram.com/nhs")
    assert "evil.com" in _refused(Platform.X, "https://x.com@evil.com/nhs")
    assert "@name@mastodon.social" in _refused(Platform.MASTODON, "nhstrust")
    assert "1 to 15" in _refused(Platform.X, "@this_is_far_too_long_for_x")


@pytest.mark.parametrize(
    ("platform", "raw"),
    [
        *[
            (Platform.X, f"https://x.com/{word}")
            for word in (
                "home",
                "i",
                "intent",
                "share",
                "search",
                "hashtag",
                "explore",
                "settings",
                "messages",
                "notifications",
                "login",
                "signup",
                "tos",
                "privacy",
            )
        ],
        (Platform.X, "https://x.com/i/flow/login"),
        (Platform.X, "https://x.com/nhstrust/status/1234567890"),
        (Platform.X, "https://x.com/intent/tweet?text=hi"),
        (Platform.X, "https://x.com/"),
        (Platform.X, "home"),
        (Platform.X, "https://t.co/abc123"),
        (Platform.X, "https://help.x.com/nhstrust"),
        (Platform.FACEBOOK, "https://www.facebook.com/watch/?v=123"),
        (Platform.FACEBOOK, "https://www.facebook.com/nhstrust/posts/pfbid123"),
        (Platform.FACEBOOK, "https://www.facebook.com/profile.php"),
        (Platform.FACEBOOK, "https://www.facebook.com/sharer/sharer.php?u=x"),
        (Platform.FACEBOOK, "https://www.facebook.com/marketplace"),
        (Platform.FACEBOOK, "https://fb.watch/abc/"),
        (Platform.FACEBOOK, "nhs"),
        (Platform.FACEBOOK, "n.h.s"),
        (Platform.FACEBOOK, "watch"),
        *[
            (Platform.INSTAGRAM, f"https://www.instagram.com/{word}/abc")
            for word in (
                "p",
                "reel",
                "reels",
                "explore",
                "stories",
                "accounts",
                "direct",
            )
        ],
        (Platform.INSTAGRAM, "https://www.instagram.com/nhstrust/p/Cabc123/"),
        (Platform.INSTAGRAM, ".nhstrust"),
        (Platform.INSTAGRAM, "nhstrust."),
        (Platform.INSTAGRAM, "nhs..trust"),
        (Platform.INSTAGRAM, "a" * 31),
        (Platform.THREADS, "https://www.threads.net/nhstrust"),
        (Platform.THREADS, "https://www.threads.net/@nhstrust/post/C1abc"),
        (Platform.LINKEDIN, "https://www.linkedin.com/feed/"),
        (Platform.LINKEDIN, "https://www.linkedin.com/posts/nhs-trust_activity-123"),
        (Platform.LINKEDIN, "https://lnkd.in/abc"),
        (Platform.LINKEDIN, "group/nhs"),
        (Platform.LINKEDIN, "company/nhs.trust"),
        (Platform.YOUTUBE, "https://www.youtube.com/watch?v=dQw4w9WgXcQ"),
        (Platform.YOUTUBE, "https://youtu.be/dQw4w9WgXcQ"),
        (Platform.YOUTUBE, "https://www.youtube.com/shorts/abc"),
        (Platform.YOUTUBE, "https://www.youtube.com/feed/trending"),
        (Platform.YOUTUBE, "https://www.youtube.com/results?search_query=nhs"),
        (Platform.YOUTUBE, "https://www.youtube.com/channel/notachannel"),
        (Platform.YOUTUBE, "channel/ucabcdefghijklmnopqrstuv"),
        (Platform.YOUTUBE, "@ab"),
        (Platform.TIKTOK, "https://www.tiktok.com/@nhs/video/123"),
        (Platform.TIKTOK, "https://www.tiktok.com/nhs"),
        (Platform.TIKTOK, "https://vm.tiktok.com/ZMabc/"),
        (Platform.TIKTOK, "nhs."),
        (Platform.TIKTOK, "a"),
        (Platform.BLUESKY, "https://bsky.app/profile/nhs.uk/post/3kabc"),
        (Platform.BLUESKY, "https://bsky.app/search?q=nhs"),
        (Platform.BLUESKY, "did:plc:short"),
        (Platform.MASTODON, "https://mastodon.social/@nhstrust/111222333"),
        (Platform.MASTODON, "https://mastodon.social/about"),
        (Platform.MASTODON, "@nhstrust@"),
        (Platform.MASTODON, "@nhstrust@x.com"),
        (Platform.PINTEREST, "https://www.pinterest.com/pin/123/"),
        (Platform.PINTEREST, "https://www.pinterest.com/search/pins/?q=nhs"),
        (Platform.PINTEREST, "https://www.pinterest.com/ideas/"),
        (Platform.PINTEREST, "https://www.pinterest.com/today/"),
        (Platform.PINTEREST, "https://www.pinterest.com/nhstrust/recipes/"),
        (Platform.PINTEREST, "https://pin.it/abc"),
        (Platform.PINTEREST, "ab"),
        (Platform.FLICKR, "https://www.flickr.com/photos/nhstrust/53012345678/"),
        (Platform.FLICKR, "https://www.flickr.com/photos/tags/nhs"),
        (Platform.FLICKR, "https://www.flickr.com/explore"),
        (Platform.FLICKR, "https://flic.kr/p/abc"),
        (Platform.SNAPCHAT, "https://www.snapchat.com/discover/x"),
        (Platform.SNAPCHAT, "1nhs"),
        (Platform.SNAPCHAT, "nhs_"),
        (Platform.WHATSAPP, "https://chat.whatsapp.com/AbCdEf123"),
        (Platform.WHATSAPP, "https://wa.me/message/ABCDEF"),
        (Platform.WHATSAPP, "12345"),
        (Platform.WHATSAPP, "077009001"),
        (Platform.WHATSAPP, "07700 900123 ext 4"),
        (Platform.OTHER, "https://localhost/nhs"),
        (Platform.OTHER, "https://127.0.0.1/nhs"),
        (Platform.OTHER, "nhs trust"),
        # An address's closing full stop is read as the end of a sentence: a group named so could not be told apart.
        (Platform.FACEBOOK, "groups/nhstrust."),
        (Platform.FACEBOOK, "groups/nhstrust.."),
        (Platform.YOUTUBE, "@nhstrust."),
        (Platform.YOUTUBE, "000."),
    ],
)
def test_addresses_that_are_not_profiles_and_invalid_handles_are_refused(platform: Platform, raw: str) -> None:
    _refused(platform, raw)


HOSTILE = [
    "",
    "   ",
    "\u200b",
    "javascript:alert(1)",
    "JavaScript:alert(document.cookie)",
    "javascript://x.com/%0aalert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "ftp://x.com/nhstrust",
    "file:///etc/passwd",
    "mailto:nhs@example.org",
    "http:x.com/nhstrust",
    "nhs\x00trust",
    "https://x.com/nhs\x00trust",
    "nhs\ntrust",
    "nhs\u202etsurt",
    "https://x.com\\@evil.example/nhs",
    "https://x.com@evil.example/nhs",
    "https://user:pass@x.com/nhs",
    "x.com@evil.example/nhs",
    "https://[::1]/nhs",
    "https://[x.com/nhs",
    "https://x.com:99999/nhs",
    "https://x.com:abc/nhs",
    "https://пример.рф/nhs",
    "https://х.com/nhs",
    "https://xn--80ak6aa92e.com/nhs",
    "https://x.com/../nhs",
    "https://x.com/%2e%2e/nhs",
    "https://x.com/nhs trust",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "a" * 10_000,
    "https://x.com/" + "a" * 10_000,
    "\U0010ffff",
]


@pytest.mark.parametrize(
    ("platform", "raw"),
    [
        (platform, raw)
        for platform in Platform
        for raw in HOSTILE
        # A punycode site name is an ordinary ASCII address on an unknown site.
        if not (platform is Platform.OTHER and "xn--" in raw)
    ],
)
def test_hostile_input_raises_handle_error_only(platform: Platform, raw: str) -> None:
    _refused(platform, raw)


@pytest.mark.parametrize("raw", [None, 42, b"nhstrust", ["nhstrust"]])
def test_non_text_input_raises_handle_error(raw: object) -> None:
    _refused(Platform.X, raw)  # type: ignore[arg-type]
    with pytest.raises(HandleError):
        parse_url(raw)  # type: ignore[arg-type]


@pytest.mark.parametrize("platform", ["twitter", "", "X ", None, 3])
def test_unknown_platform_raises_handle_error(platform: object) -> None:
    if platform == "X ":
        assert normalise_handle("X ", "@nhs") == "nhs"
        return
    _refused(platform, "nhs")  # type: ignore[arg-type]


def test_other_sites_keep_path_case_and_drop_query() -> None:
    assert normalise_handle(Platform.OTHER, "https://www.Forum.Example.org/NHS-Trust/?x=1#y") == (
        "forum.example.org/NHS-Trust"
    )
    assert normalise_handle(Platform.OTHER, "https://example.org:8080/a") == "example.org:8080/a"
    assert normalise_handle(Platform.OTHER, "https://example.org/caf%C3%A9") == "example.org/caf%C3%A9"
    assert normalise_handle(Platform.OTHER, "https://example.org/café") == "example.org/caf%C3%A9"


# --------------------------------------------------------------------------
# looks_like_url and parse_url


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://x.com/nhs", True),
        ("x.com/nhs", True),
        ("javascript:alert(1)", True),
        ("//x.com/nhs", True),
        ("nhstrust", False),
        ("@nhstrust", False),
        ("nhs.trust", False),
        ("@nhs@mastodon.social", False),
        ("company/nhs-trust", False),
        ("07700 900123", False),
    ],
)
def test_looks_like_url(raw: str, expected: bool) -> None:
    assert looks_like_url(raw) is expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("x.com/NHSTrust", (Platform.X, "nhstrust")),
        ("https://twitter.com/nhstrust", (Platform.X, "nhstrust")),
        ("https://www.facebook.com/profile.php?id=123456", (Platform.FACEBOOK, "123456")),
        ("https://www.instagram.com/nhs.trust/", (Platform.INSTAGRAM, "nhs.trust")),
        ("https://uk.linkedin.com/company/nhs-trust", (Platform.LINKEDIN, "company/nhs-trust")),
        ("https://www.youtube.com/@NHSTrust", (Platform.YOUTUBE, "@nhstrust")),
        ("https://www.tiktok.com/@nhstrust", (Platform.TIKTOK, "nhstrust")),
        ("https://www.threads.net/@nhstrust", (Platform.THREADS, "nhstrust")),
        ("https://bsky.app/profile/nhs.uk", (Platform.BLUESKY, "nhs.uk")),
        ("https://mastodon.social/@NHSTrust", (Platform.MASTODON, "nhstrust@mastodon.social")),
        ("https://social.example.org/users/nhs", (Platform.MASTODON, "nhs@social.example.org")),
        ("https://www.pinterest.co.uk/nhstrust/", (Platform.PINTEREST, "nhstrust")),
        ("https://www.flickr.com/photos/nhstrust", (Platform.FLICKR, "nhstrust")),
        ("https://www.snapchat.com/add/nhstrust", (Platform.SNAPCHAT, "nhstrust")),
        ("https://wa.me/447700900123", (Platform.WHATSAPP, "447700900123")),
        ("https://forum.example.org/nhs-trust/", (Platform.OTHER, "forum.example.org/nhs-trust")),
        ("https://medium.com/@nhstrust", (Platform.OTHER, "medium.com/@nhstrust")),
        ("example.org", (Platform.OTHER, "example.org")),
    ],
)
def test_parse_url_detects_the_platform(raw: str, expected: tuple[Platform, str]) -> None:
    assert parse_url(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        *(raw for raw in HOSTILE if "xn--" not in raw),
        "nhstrust",
        "@nhs@mastodon.social",
        "https://x.com/home",
        "https://localhost/x",
    ],
)
def test_parse_url_refuses_hostile_and_unreadable_input(raw: str) -> None:
    with pytest.raises(HandleError):
        parse_url(raw)


@pytest.mark.parametrize("raw", ["( x.com/NHSTrust", "( https://x.com/NHSTrust", "(\u00a0https://x.com/NHSTrust"])
def test_an_address_after_a_bracket_and_a_space_is_refused_for_its_space(raw: str) -> None:
    """Pasted as "( x.com/NHSTrust" (a bracket, a space, then the address): the space is in the address,
    and the message says so, not that it is no address or a malformed handle."""
    for read in (lambda: parse_url(raw), lambda: normalise_handle(Platform.X, raw)):
        with pytest.raises(HandleError, match="A web address cannot contain spaces"):
            read()


# --------------------------------------------------------------------------
# Properties

_VALID_BARE: dict[Platform, st.SearchStrategy[str]] = {
    Platform.X: st.from_regex(r"@?[A-Za-z0-9_]{1,15}", fullmatch=True),
    Platform.FACEBOOK: st.one_of(
        st.from_regex(r"@?[A-Za-z0-9][A-Za-z0-9.]{4,40}", fullmatch=True),
        st.from_regex(r"[1-9][0-9]{5,16}", fullmatch=True),
        st.from_regex(r"groups/[a-z0-9][a-z0-9._-]{0,30}", fullmatch=True),
    ),
    Platform.INSTAGRAM: st.from_regex(r"@?[A-Za-z0-9_]{1,12}(\.[A-Za-z0-9_]{1,12})?", fullmatch=True),
    Platform.LINKEDIN: st.one_of(
        st.from_regex(r"(company|showcase|school|in)/[A-Za-z0-9_-]{1,30}", fullmatch=True),
        st.from_regex(r"[A-Za-z0-9-]{1,30}", fullmatch=True),
    ),
    Platform.YOUTUBE: st.one_of(
        st.from_regex(r"@?[A-Za-z0-9._-]{3,30}", fullmatch=True),
        st.from_regex(r"channel/UC[A-Za-z0-9_-]{22}", fullmatch=True),
        st.from_regex(r"(c|user)/[A-Za-z0-9_-]{1,30}", fullmatch=True),
    ),
    Platform.TIKTOK: st.from_regex(r"@?[A-Za-z0-9._]{1,23}[A-Za-z0-9_]", fullmatch=True),
    Platform.THREADS: st.from_regex(r"@?[A-Za-z0-9_]{1,12}(\.[A-Za-z0-9_]{1,12})?", fullmatch=True),
    Platform.BLUESKY: st.one_of(
        st.from_regex(r"@?[A-Za-z0-9]{1,20}", fullmatch=True),
        st.from_regex(r"[a-z0-9]{1,10}(-[a-z0-9]{1,5})?\.(bsky\.social|nhs\.uk|org)", fullmatch=True),
        st.from_regex(r"did:plc:[a-z2-7]{24}", fullmatch=True),
    ),
    Platform.MASTODON: st.from_regex(r"@?[A-Za-z0-9_]{1,20}@[a-z0-9]{1,10}\.(social|org|uk)", fullmatch=True),
    Platform.PINTEREST: st.from_regex(r"@?[A-Za-z0-9_]{3,30}", fullmatch=True),
    Platform.FLICKR: st.one_of(
        st.from_regex(r"[0-9]{5,12}@[Nn][0-9]{2}", fullmatch=True),
        st.from_regex(r"[A-Za-z0-9_-]{1,30}", fullmatch=True),
    ),
    Platform.SNAPCHAT: st.from_regex(r"[A-Za-z][A-Za-z0-9._-]{1,13}[A-Za-z0-9]", fullmatch=True),
    Platform.WHATSAPP: st.one_of(
        st.from_regex(r"07[0-9]{3} ?[0-9]{6}", fullmatch=True),
        st.from_regex(r"\+(1|33|44|353) ?[1-9][0-9]{7,10}", fullmatch=True),
        st.from_regex(r"channel/[A-Za-z0-9]{20,30}", fullmatch=True),
    ),
    Platform.OTHER: st.one_of(
        st.from_regex(r"@?[A-Za-z0-9_]{1,20}", fullmatch=True),
        st.from_regex(
            r"(https?://)?(www\.)?[a-z0-9]{1,10}\.(org|com|co\.uk)(/[A-Za-z0-9_~@-]{1,10}){0,3}/?",
            fullmatch=True,
        ),
    ),
}


@PROPERTY
@given(data=st.data(), platform=st.sampled_from(list(Platform)))
def test_canonical_handles_are_fixed_points(data: st.DataObject, platform: Platform) -> None:
    raw = data.draw(_VALID_BARE[platform])
    try:
        canonical = normalise_handle(platform, raw)
    except HandleError:
        assume(False)
        raise
    assert normalise_handle(platform, canonical) == canonical
    url = PLATFORMS[platform].profile_url(canonical)
    if platform is Platform.OTHER and not url:
        assert not looks_like_url(canonical)
        return
    assert url.startswith("https://")
    assert normalise_handle(platform, url) == canonical
    if platform not in (Platform.OTHER, Platform.MASTODON):
        assert parse_url(url) == (platform, canonical)


_SITES: dict[Platform, tuple[list[str], str]] = {
    Platform.X: (
        ["x.com", "www.x.com", "twitter.com", "www.twitter.com", "mobile.twitter.com", "m.twitter.com", "mobile.x.com"],
        "",
    ),
    Platform.INSTAGRAM: (["instagram.com", "www.instagram.com", "m.instagram.com"], ""),
    Platform.TIKTOK: (["tiktok.com", "www.tiktok.com", "m.tiktok.com"], "@"),
}


def _random_case(draw: st.DrawFn, text: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(ch.swapcase() if flip else ch for ch, flip in zip(text, flips, strict=True))


@st.composite
def _spelled_variant(draw: st.DrawFn, platform: Platform, handle: str) -> str:
    if draw(st.booleans()):
        spelled = _random_case(draw, handle)
        return draw(st.sampled_from(["", " ", "\t"])) + draw(st.sampled_from(["", "@"])) + spelled + " "
    hosts, path_prefix = _SITES[platform]
    scheme = draw(st.sampled_from(["", "https://", "http://", "HTTPS://", "//"]))
    host = _random_case(draw, draw(st.sampled_from(hosts)))
    slash = draw(st.sampled_from(["", "/"]))
    tail = draw(st.sampled_from(["", "?", "#"]))
    if tail:
        tail += draw(st.from_regex(r"[a-z]{1,5}=[A-Za-z0-9]{0,5}(&[a-z]{1,3}=[0-9]{1,3})?", fullmatch=True))
    return f"{scheme}{host}/{path_prefix}{_random_case(draw, handle)}{slash}{tail}"


_HANDLES = {
    Platform.X: st.from_regex(r"[a-z0-9_]{1,15}", fullmatch=True),
    Platform.INSTAGRAM: st.from_regex(r"[a-z0-9_]{1,12}(\.[a-z0-9_]{1,12})?", fullmatch=True),
    Platform.TIKTOK: st.from_regex(r"[a-z0-9._]{1,20}[a-z0-9_]", fullmatch=True),
}


@PROPERTY
@given(data=st.data(), platform=st.sampled_from(list(_SITES)))
def test_every_spelling_of_a_handle_gives_the_same_canonical(data: st.DataObject, platform: Platform) -> None:
    handle = data.draw(_HANDLES[platform])
    try:
        expected = normalise_handle(platform, handle)
    except HandleError:
        assume(False)
        raise
    assert expected == handle
    for _ in range(3):
        variant = data.draw(_spelled_variant(platform, handle))
        assert normalise_handle(platform, variant) == expected, variant


_URLISH_PREFIXES = [
    "",
    "@",
    "https://",
    "http://",
    "https://x.com/",
    "https://www.facebook.com/",
    "https://www.facebook.com/profile.php?id=",
    "https://www.instagram.com/",
    "https://www.linkedin.com/company/",
    "https://www.youtube.com/",
    "https://www.tiktok.com/@",
    "https://bsky.app/profile/",
    "https://mastodon.social/@",
    "https://www.pinterest.com/",
    "https://www.flickr.com/photos/",
    "https://www.snapchat.com/add/",
    "https://wa.me/",
    "https://api.whatsapp.com/send?phone=",
    "https://example.org/",
    "example.org/",
    "//",
    "https://[",
    "https://x.com@",
    "did:",
    "channel/",
    "company/",
]


@PROPERTY
@given(
    platform=st.one_of(st.sampled_from(list(Platform)), st.text(max_size=10)),
    prefix=st.sampled_from(_URLISH_PREFIXES),
    text=st.text(),
)
def test_normalise_handle_returns_a_fixed_point_or_raises_handle_error(
    platform: Platform | str, prefix: str, text: str
) -> None:
    try:
        result = normalise_handle(platform, prefix + text)
    except HandleError:
        return
    assert isinstance(result, str) and result
    assert normalise_handle(platform, result) == result


@PROPERTY
@given(prefix=st.sampled_from(_URLISH_PREFIXES), text=st.text())
def test_parse_url_returns_a_platform_or_raises_handle_error(prefix: str, text: str) -> None:
    try:
        platform, handle = parse_url(prefix + text)
    except HandleError:
        return
    assert isinstance(platform, Platform)
    assert normalise_handle(platform, handle) == handle


# --------------------------------------------------------------------------
# Links to single posts and follow links (read_link, for verification)

from registry.channels.platforms import Reading, read_link  # noqa: E402


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://x.com/NHSTrust/status/1790000000000000000?s=20&t=AbC", (Platform.X, "nhstrust", "post")),
        ("https://mobile.twitter.com/nhstrust/statuses/1/photo/1", (Platform.X, "nhstrust", "post")),
        ("https://x.com/intent/follow?screen_name=NHSTrust", (Platform.X, "nhstrust", "intent")),
        ("twitter.com/intent/user?screen_name=nhstrust&lang=en", (Platform.X, "nhstrust", "intent")),
        ("https://www.tiktok.com/@nhs.trust/video/7300000000000000000?lang=en", (Platform.TIKTOK, "nhs.trust", "post")),
        ("https://bsky.app/profile/nhs.uk/post/3kabc", (Platform.BLUESKY, "nhs.uk", "post")),
        ("https://www.threads.net/@nhstrust/post/C1abc", (Platform.THREADS, "nhstrust", "post")),
        ("https://www.instagram.com/nhstrust/p/Cabc123/", (Platform.INSTAGRAM, "nhstrust", "post")),
        ("https://www.instagram.com/nhstrust/reel/Cabc123/?igsh=x", (Platform.INSTAGRAM, "nhstrust", "post")),
        ("https://www.instagram.com/stories/nhstrust/3300/", (Platform.INSTAGRAM, "nhstrust", "post")),
        ("https://www.facebook.com/nhstrust/posts/pfbid123", (Platform.FACEBOOK, "nhstrust", "post")),
        ("https://www.facebook.com/permalink.php?story_fbid=1&id=1000123", (Platform.FACEBOOK, "1000123", "post")),
        ("https://www.facebook.com/groups/nhsfriends/posts/1", (Platform.FACEBOOK, "groups/nhsfriends", "post")),
        ("https://mastodon.social/@nhstrust/111222333", (Platform.MASTODON, "nhstrust@mastodon.social", "post")),
        ("https://www.flickr.com/photos/nhstrust/53012345678/", (Platform.FLICKR, "nhstrust", "post")),
        ("https://www.youtube.com/NHSEngland", (Platform.YOUTUBE, "c/nhsengland", "account")),
        ("https://x.com/NHSTrust", (Platform.X, "nhstrust", "account")),
    ],
)
def test_read_link_answers_for_the_account_a_post_or_follow_link_names(
    raw: str, expected: tuple[Platform, str, str]
) -> None:
    reading = read_link(None, raw)
    assert (reading.platform, reading.handle, reading.link) == expected
    assert read_link(expected[0], raw) == reading


@pytest.mark.parametrize(
    "raw",
    [
        "https://x.com/i/web/status/1790000000000000000",
        "https://x.com/i/status/1",
        "https://www.instagram.com/p/Cabc123/",
        "https://www.instagram.com/reel/Cabc123/",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        "https://www.youtube.com/shorts/abc",
        "https://www.facebook.com/watch/?v=123",
        "https://www.facebook.com/share/p/AbC/",
        "https://www.linkedin.com/posts/nhs-trust_activity-123",
        "https://www.pinterest.com/pin/123/",
        "https://www.threads.net/t/C1abc",
    ],
)
def test_read_link_says_when_an_address_names_no_account(raw: str) -> None:
    reading = read_link(None, raw)
    assert (reading.handle, reading.link) == (None, "post")
    assert "does not say which account posted it" in reading.message
    assert isinstance(reading, Reading)


def test_registration_accepts_a_follow_link_and_refuses_a_post_naming_the_account() -> None:
    assert normalise_handle(Platform.X, "https://x.com/intent/follow?screen_name=NHSTrust") == "nhstrust"
    assert parse_url("https://twitter.com/intent/user?screen_name=NHSTrust") == (Platform.X, "nhstrust")
    assert _refused(Platform.X, "https://x.com/NHSTrust/status/1") == (
        "That is a link to a single X post by @nhstrust, not to the account. "
        "Use the account's own address instead: https://x.com/nhstrust"
    )
    assert "does not say which account" in _refused(Platform.X, "https://x.com/i/web/status/1")
    assert "number, not its name" in _refused(Platform.X, "https://x.com/intent/user?user_id=12")
    # A post under an unreadable name is refused for the name.
    assert "1 to 15 letters" in _refused(Platform.X, "https://x.com/not-a-handle/status/1")


@PROPERTY
@given(st.from_regex(r"[A-Za-z0-9_]{1,15}", fullmatch=True), st.sampled_from(["status", "statuses"]))
def test_every_x_post_answers_for_its_account(name: str, kind: str) -> None:
    assume(name.lower() not in ("home", "i", "intent", "share", "search", "hashtag", "explore", "settings"))
    try:
        expected = normalise_handle(Platform.X, name)
    except HandleError:
        return
    reading = read_link(None, f"https://x.com/{name}/{kind}/1790000000000000000?s=20")
    assert (reading.platform, reading.handle, reading.link) == (Platform.X, expected, "post")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("<https://x.com/NHSTrust>", (Platform.X, "nhstrust")),
        ("“https://www.instagram.com/nhstrust/”", (Platform.INSTAGRAM, "nhstrust")),
        ("https://x.com/i/flow/login?redirect_after_login=%2FNHSTrust", (Platform.X, "nhstrust")),
        ("https://www.instagram.com/accounts/login/?next=%2Fnhstrust%2F&source=omni", (Platform.INSTAGRAM, "nhstrust")),
        (
            "https://www.facebook.com/login/?next=https%3A%2F%2Fwww.facebook.com%2FNHSTrust%2F",
            (Platform.FACEBOOK, "nhstrust"),
        ),
        (
            "https://www.linkedin.com/authwall?trk=bf&sessionRedirect=https%3A%2F%2Fuk.linkedin.com%2Fcompany%2Fnhs-trust",
            (Platform.LINKEDIN, "company/nhs-trust"),
        ),
        (
            "https://www.tiktok.com/login?redirect_url=https%3A%2F%2Fwww.tiktok.com%2F%40nhstrust",
            (Platform.TIKTOK, "nhstrust"),
        ),
    ],
)
def test_sign_in_pages_and_wrapped_addresses_read_as_the_account(raw: str, expected: tuple[Platform, str]) -> None:
    """Someone not signed in copies the sign-in page's address, which names the page it leads to; an
    address copied from an e-mail comes in angle brackets or quotes."""
    assert parse_url(raw) == expected
    assert normalise_handle(expected[0], raw) == expected[1]


@pytest.mark.parametrize(
    "raw",
    [
        "https://www.facebook.com/login/?next=https%3A%2F%2Fevil.example%2FNHSTrust",
        "https://x.com/i/flow/login?redirect_after_login=https%3A%2F%2Fx.com.evil.example%2FNHSTrust",
        "https://x.com/i/flow/login",
    ],
)
def test_a_sign_in_page_leading_elsewhere_is_not_an_account(raw: str) -> None:
    with pytest.raises(HandleError):
        parse_url(raw)


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("x.com", (Platform.X, "profile")),
        ("mobile.twitter.com", (Platform.X, "profile")),
        ("help.x.com", (Platform.X, "service")),
        ("uk.linkedin.com", (Platform.LINKEDIN, "profile")),
        ("music.youtube.com", (Platform.YOUTUBE, "profile")),
        ("www.pinterest.co.uk", (Platform.PINTEREST, "profile")),
        ("a.b.pinterest.co.uk", (Platform.PINTEREST, "service")),
        ("t.co", (Platform.X, "short")),
        ("evil-x.com", None),
        ("x.com.evil.example", None),
        ("co.uk", None),
        ("example.org", None),
    ],
)
def test_the_platform_that_owns_a_host(host: str, expected: tuple[Platform, str] | None) -> None:
    """A platform's own site, a profile subdomain of it, another of its sites, or nobody's; the sites'
    names are such that a host is under one of them at most (so which is found first cannot matter)."""
    sites = [site for bases in _HOSTS.values() for site in bases]
    assert not [(a, b) for a in sites for b in sites if a.endswith("." + b)]
    assert host_owner(host) == expected
