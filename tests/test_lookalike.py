"""Lookalike detection: skeletons, one-edit matching and the deletion-key index."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.channels.lookalike import (
    comparable_part,
    deletion_keys,
    is_lookalike,
    lookalike_keys,
    skeleton,
    within_one_edit,
)
from registry.channels.platforms import Platform

PROPERTY = settings(max_examples=200, deadline=None)


def osa_distance(a: str, b: str) -> int:
    """Reference optimal string alignment distance, by the textbook table."""
    rows, cols = len(a) + 1, len(b) + 1
    d = [[0] * cols for _ in range(rows)]
    for i in range(rows):
        d[i][0] = i
    for j in range(cols):
        d[0][j] = j
    for i in range(1, rows):
        for j in range(1, cols):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]


# --------------------------------------------------------------------------
# skeleton


@pytest.mark.parametrize(
    "variant",
    [
        "NHS_Trust",
        "nhs.trust",
        "nhstrust",
        "nhs-trust",
        "nhs trust",
        "@NHSTrust",
        "ｎｈｓtrust",
        "ＮＨＳＴＲＵＳＴ",
        "nhstrusт",
        "NHSTRUSТ",
        "nhstrսst",
        "nһstrust",
        "𝐧𝐡𝐬𝐭𝐫𝐮𝐬𝐭",
        "nhstrüst",
    ],
)
def test_variants_share_a_skeleton(variant: str) -> None:
    assert skeleton(variant) == "nhstrust"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("pаypal", "paypal"),
        ("nhs-cоuncil", "nhscouncil"),
        ("nhs_сare", "nhscare"),
        ("nhsеngland", "nhsengland"),
        ("g00gle", "google"),
        ("goog1e", "google"),
        ("goog1e", "googIe"),
        ("modern", "rnodern"),
        ("wave", "vvave"),
    ],
)
def test_homoglyphs_map_to_one_skeleton(a: str, b: str) -> None:
    assert skeleton(a) == skeleton(b)


def test_skeleton_keeps_distinct_handles_distinct() -> None:
    assert skeleton("nhstrust") != skeleton("cityzoo")
    assert skeleton("fox") != skeleton("sox")
    assert skeleton("nhs@mastodon.social") == "nhs@mastodonsociai"


@PROPERTY
@given(st.text(max_size=30))
def test_skeleton_is_idempotent(text: str) -> None:
    once = skeleton(text)
    assert skeleton(once) == once


@PROPERTY
@given(st.from_regex(r"[a-km-z2-9]{0,20}", fullmatch=True))
def test_skeleton_of_plain_lower_case_without_confusables_is_itself(text: str) -> None:
    if "rn" in text or "vv" in text:
        return
    assert skeleton(text) == text


# --------------------------------------------------------------------------
# within_one_edit and deletion_keys


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("", "", True),
        ("", "a", True),
        ("nhstrust", "nhstrust", True),
        ("nhstrust", "nhstrusts", True),
        ("nhstrust", "nhtrust", True),
        ("nhstrust", "nhstrost", True),
        ("nhstrust", "nhstruts", True),
        ("nhstrust", "hnstrust", True),
        ("nhstrust", "nhstrutsx", False),
        ("nhstrust", "tsurtshn", False),
        ("abc", "ca", False),
        ("ab", "ba", True),
        ("abc", "cba", False),
    ],
)
def test_within_one_edit_examples(a: str, b: str, expected: bool) -> None:
    assert within_one_edit(a, b) is expected
    assert within_one_edit(b, a) is expected


@PROPERTY
@given(st.text(alphabet="abc", max_size=7), st.text(alphabet="abc", max_size=7))
def test_within_one_edit_agrees_with_reference_osa(a: str, b: str) -> None:
    assert within_one_edit(a, b) == (osa_distance(a, b) <= 1)


@st.composite
def one_edit_apart(draw: st.DrawFn) -> tuple[str, str]:
    a = draw(st.text(alphabet="abcde", max_size=10))
    kind = draw(st.sampled_from(["insert", "delete", "substitute", "swap", "none"]))
    i = draw(st.integers(min_value=0, max_value=len(a)))
    letter = draw(st.sampled_from("abcdef"))
    if kind == "insert":
        b = a[:i] + letter + a[i:]
    elif kind == "delete" and i < len(a):
        b = a[:i] + a[i + 1 :]
    elif kind == "substitute" and i < len(a):
        b = a[:i] + letter + a[i + 1 :]
    elif kind == "swap" and i + 1 < len(a):
        b = a[:i] + a[i + 1] + a[i] + a[i + 2 :]
    else:
        b = a
    return a, b


@PROPERTY
@given(one_edit_apart())
def test_one_edit_apart_is_detected_and_indexed(pair: tuple[str, str]) -> None:
    a, b = pair
    assert osa_distance(a, b) <= 1
    assert within_one_edit(a, b)
    assert deletion_keys(a) & deletion_keys(b)


@PROPERTY
@given(st.text(alphabet="abcd", max_size=8), st.text(alphabet="abcd", max_size=8))
def test_deletion_keys_overlap_whenever_within_one_edit(a: str, b: str) -> None:
    if within_one_edit(a, b):
        assert deletion_keys(a) & deletion_keys(b)


def test_deletion_keys() -> None:
    assert deletion_keys("") == {""}
    assert deletion_keys("abc") == {"abc", "bc", "ac", "ab"}
    assert deletion_keys("aab") == {"aab", "ab", "aa"}


# --------------------------------------------------------------------------
# is_lookalike and lookalike_keys


@pytest.mark.parametrize(
    ("candidate", "official"),
    [
        ("nhs_trust", "nhstrust"),
        ("nhs.trust", "nhstrust"),
        ("nhstrusts", "nhstrust"),
        ("nhstrus", "nhstrust"),
        ("nhstruts", "nhstrust"),
        ("nhstrսst", "nhstrust"),
        ("nhstrusт", "nhstrust"),
        ("nhstrцst", "nhstrust"),
        ("ｎｈｓtrust", "nhstrust"),
        ("nhsengland", "nhsеnglаnd"),
        ("nhs0fficial", "nhsofficial"),
        ("nhs1eeds", "nhsleeds"),
        ("nhsrnanchester", "nhsmanchester"),
        ("nhs_trust_", "nhstrust"),
    ],
)
def test_lookalikes(candidate: str, official: str) -> None:
    assert is_lookalike(candidate, official)
    assert is_lookalike(official, candidate)
    assert lookalike_keys(candidate) & lookalike_keys(official)


@pytest.mark.parametrize(
    ("candidate", "official"),
    [
        ("nhstrust", "nhstrust"),
        ("cityzoo", "nhstrust"),
        ("nhsleeds", "nhsyork"),
        ("abc", "abd"),
        ("nhs", "nhx"),
        ("nhstrust", "nhstrustuk"),
        ("", "nhstrust"),
    ],
)
def test_not_lookalikes(candidate: str, official: str) -> None:
    assert not is_lookalike(candidate, official)


def test_short_handles_need_equal_skeletons() -> None:
    assert is_lookalike("nh_s", "nhs")
    assert is_lookalike("n0", "no")
    assert not is_lookalike("nhs", "nhz")


@PROPERTY
@given(st.text(max_size=12), st.text(max_size=12))
def test_is_lookalike_is_symmetric_and_indexed(a: str, b: str) -> None:
    assert is_lookalike(a, b) == is_lookalike(b, a)
    if is_lookalike(a, b):
        assert lookalike_keys(a) & lookalike_keys(b)


# --------------------------------------------------------------------------
# comparable_part


@pytest.mark.parametrize(
    ("platform", "handle", "expected"),
    [
        (Platform.LINKEDIN, "company/nhs-trust", "nhs-trust"),
        (Platform.LINKEDIN, "in/jane-smith", "jane-smith"),
        (Platform.YOUTUBE, "@nhstrust", "nhstrust"),
        (Platform.YOUTUBE, "c/nhstrust", "nhstrust"),
        (Platform.YOUTUBE, "user/nhstrust", "nhstrust"),
        (Platform.YOUTUBE, "channel/UCabcdEFGH_ijklMNOP-qrst", "channel/UCabcdEFGH_ijklMNOP-qrst"),
        (Platform.MASTODON, "nhstrust@mastodon.social", "nhstrust@mastodon.social"),
        (Platform.BLUESKY, "nhstrust.bsky.social", "nhstrust"),
        (Platform.BLUESKY, "nhs.uk", "nhs.uk"),
        (Platform.FACEBOOK, "groups/nhsstaff", "nhsstaff"),
        (Platform.X, "nhstrust", "nhstrust"),
        ("x", "nhstrust", "nhstrust"),
        ("not-a-platform", "nhstrust", "nhstrust"),
    ],
)
def test_comparable_part(platform: Platform | str, handle: str, expected: str) -> None:
    assert comparable_part(platform, handle) == expected
