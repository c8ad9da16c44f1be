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


# --------------------------------------------------------------------------
# Names with something added, and which rule matched

from pathlib import Path  # noqa: E402

from registry.channels.lookalike import (  # noqa: E402
    MIN_AFFIX_EDIT,
    MIN_AFFIX_OFFICIAL,
    affix_edit_keys,
    affix_keys,
    deconfuse,
    lookalike_rule,
    official_affix_keys,
)

#: Official handles of the kind a Trust has (the demo data's, and a realistic Trust's).
OFFICIAL = (
    "buckshealthcare",
    "bucksmaternity",
    "buckshealthcarecareers",
    "bucksnhsjobs",
    "stokemandeville",
    "wycombehospital",
    "buckscharity",
    "examplenhs",
    "exmaternitynhs",
    "examplenhstrust",
    "examplematernityvoices",
    "examplenhscareers",
    "example-nhs-ft",
    "example_physio",
)
ORDINARY = [
    line
    for line in (Path(__file__).parent / "data" / "ordinary_handles.txt").read_text(encoding="utf-8").splitlines()
    if line and not line.startswith("#")
]
#: The most of the ordinary handles that may be reported as imitating one of OFFICIAL.
FALSE_ALARM_LIMIT = 0.005
#: Look-alike letters from other alphabets: Cyrillic а е о р с х і and Greek ο.
HOMOGLYPHS = {"a": "а", "e": "е", "o": "ο", "p": "р", "c": "с", "x": "х", "i": "і"}


def impostors(official: str) -> dict[str, str]:
    """The forms impostors give an official name, each with the rule that must catch it."""
    forms: dict[str, str] = {}
    for affix in ("official", "uk", "nhs", "team", "news", "hq", "trust", "real", "2024", "1"):
        for sep in ("", ".", "_", "-"):
            forms[f"{official}{sep}{affix}"] = "affix"
    for affix in ("the", "official", "real", "nhs"):
        for sep in ("", "_", "."):
            forms[f"{affix}{sep}{official}"] = "affix"
    forms[f"the_{official}_uk"] = "affix"
    forms[f"{official}_official_uk"] = "affix"
    middle = len(official) // 2
    if len(skeleton(official)) >= MIN_AFFIX_EDIT:  # an affix and a slip
        forms[f"{official[:middle]}{official[middle + 1 :]}_official"] = "affix"
    for sep in (".", "_", "-"):
        forms[official[:middle] + sep + official[middle:]] = "separators"
    forms[official[:-1]] = "one_edit"
    forms[official + official[-1]] = "one_edit"
    swapped = official[:middle] + official[middle + 1] + official[middle] + official[middle + 2 :]
    pairs = {official[i : i + 2] for i in range(middle - 1, middle + 2)}
    if not {"rn", "vv"} & pairs and official[middle : middle + 2].isalpha():  # rn looks like m
        forms[swapped] = "one_edit"
    for letter, glyph in HOMOGLYPHS.items():
        if letter in official:
            forms[official.replace(letter, glyph, 1)] = "homoglyph"
    forms.pop(official, None)
    for numeral, letter in (("0", "o"), ("1", "l")):
        if letter in official:
            forms[official.replace(letter, numeral, 1)] = "homoglyph"
    return forms


@pytest.mark.parametrize("official", [name for name in OFFICIAL if len(skeleton(name)) >= MIN_AFFIX_OFFICIAL])
def test_every_impostor_form_is_caught_with_its_rule(official: str) -> None:
    """Each true-positive form (affixes added, separators added, one edit, homoglyphs) is caught by its rule."""
    for candidate, rule in impostors(official).items():
        found = lookalike_rule(candidate, official)
        # A short affix ("1") or a homoglyph may also be one edit away: the earlier rule names it.
        allowed = {rule, "one_edit"} if rule in ("affix", "homoglyph") else {rule}
        assert found in allowed, (candidate, official, found)


@pytest.mark.parametrize(
    ("candidate", "official", "rule"),
    [
        ("buckshealthcare.nhs", "buckshealthcare", "affix"),
        ("buckshealthcare_official", "buckshealthcare", "affix"),
        ("buckshealthcareuk", "buckshealthcare", "affix"),
        ("the_buckshealthcare", "buckshealthcare", "affix"),
        ("buckshealthcare-nhs", "buckshealthcare", "affix"),
        ("buckshealthcare_uk", "buckshealthcarenhs", "affix"),  # one affix swapped for another
        ("officialbuckshealthcare2024", "buckshealthcare", "affix"),
        ("bucks_health_care", "buckshealthcare", "separators"),
        ("buсkshealthcare", "buckshealthcare", "homoglyph"),  # Cyrillic с
        ("buckshea1thcare", "buckshealthcare", "homoglyph"),
        ("buckshealthcar", "buckshealthcare", "one_edit"),
        ("buckshealthcre_official", "buckshealthcare", "affix"),  # an affix and a slip
        ("the.buckshelthcare.uk", "buckshealthcare", "affix"),
    ],
)
def test_lookalike_rule_names_the_rule(candidate: str, official: str, rule: str) -> None:
    assert lookalike_rule(candidate, official) == rule


@pytest.mark.parametrize(
    ("candidate", "official"),
    [
        ("buckshealthcare", "buckshealthcare"),  # the account itself
        ("england", "nhsengland"),  # what is left of a short official name is not protected
        ("bucks_official", "bucks"),  # too short to protect: "bucks" is in many ordinary handles
        ("nhs_uk", "nhs"),
        ("bucksfreepress", "buckshealthcare"),
        ("theatreroyal", "theatre"),
        ("bucksmaternity_uk", "buckscharity"),  # a slip is allowed on the name, not a different name
        ("bcks_official", "bucks"),  # too short for a slip as well
    ],
)
def test_lookalike_rule_stays_quiet(candidate: str, official: str) -> None:
    assert lookalike_rule(candidate, official) is None


def test_short_official_names_have_no_affix_keys() -> None:
    assert official_affix_keys("bucks") == frozenset()
    assert "bucksheaithcare" in official_affix_keys("buckshealthcarenhs")  # long enough without "nhs"
    # "england" is too short alone: found only with a claim ("official_england").
    assert official_affix_keys("nhsengland") == {
        skeleton("nhsengland"),
        "\x00" + skeleton("nhsengland"),
        "\x00" + skeleton("england"),
    }


def test_affix_keys_are_few() -> None:
    """A candidate's keys are a handful, so a look-up stays a few dictionary reads."""
    assert len(affix_keys("the_official_buckshealthcare_nhs_uk_2024")) <= 16


def test_ordinary_handles_stay_quiet() -> None:
    """Of a few thousand handles of people and other organisations, next to none is reported as
    imitating a realistic set of official handles (the rate is printed: run with -s to see it)."""
    assert len(ORDINARY) >= 2500
    alarms = [
        (candidate, official, rule)
        for candidate in ORDINARY
        for official in OFFICIAL
        if (rule := lookalike_rule(candidate, official)) is not None
    ]
    rate = len({candidate for candidate, _o, _r in alarms}) / len(ORDINARY)
    print(f"\nfalse alarms: {len(alarms)} of {len(ORDINARY)} ordinary handles ({rate:.2%}): {alarms[:10]}")
    assert rate <= FALSE_ALARM_LIMIT, alarms


def test_deconfuse_makes_look_alike_letters_ascii() -> None:
    assert deconfuse("buсkshealthcare") == "buckshealthcare"
    assert deconfuse("х.com/ехаmple") == "x.com/example"
    assert deconfuse("plain-ascii_1") == "plain-ascii_1"
    assert deconfuse("名前") == "名前"


@pytest.mark.parametrize(
    ("candidate", "official"),
    [
        # The name people know a Trust by is often its handle without "nhs": an impostor claims it outright.
        ("official_leedsth", "leedsth_nhs"),
        ("real_leedsth", "leedsth_nhs"),
        ("leedsth_official", "leedsth_nhs"),
        ("leedsthnhs_official", "leedsth_nhs"),
        ("leedsth.nhs.uk", "leedsth_nhs"),
        ("the_real_leedsth", "leedsth_nhs"),
        ("official_england", "nhsengland"),
        ("real_health", "health"),
    ],
)
def test_a_claim_to_be_the_real_account_is_caught_on_a_shorter_name(candidate: str, official: str) -> None:
    """Words that claim authenticity (official, real, verified) added to the official name, or to what is
    left of it without "nhs" or "trust", make an impostor even when that name is short (6 or 7 letters)."""
    assert lookalike_rule(candidate, official) == "affix"


@pytest.mark.parametrize(
    ("candidate", "official"),
    [
        ("leedsth2", "leedsth_nhs"),  # what is left is a different, shorter name with a number
        ("leedsth_news", "leedsth_nhs"),  # the Trust's news account, or another's: not a claim
        ("leedsth", "leedsth_nhs"),
        ("england_uk", "nhsengland"),
        ("healthnews", "health"),  # an official name that is a common word does not make every
        ("ukhealth", "health"),  # handle with that word in it a lookalike
        ("thehealth", "health"),
        ("health_uk", "health"),
        ("hospitalnews", "hospital"),
        ("nhs_official", "official"),  # an official name that is itself one of the added words
    ],
)
def test_a_short_or_common_official_name_needs_a_claim_not_just_a_word(candidate: str, official: str) -> None:
    assert lookalike_rule(candidate, official) is None


@pytest.mark.parametrize(
    "hostile",
    ["the_uk_nhs_" * 24, "officialrealtheuk" * 15, "nhsuknhstrust" * 20, "ukgbft" * 43, "1" * 255, "rn" * 128],
)
def test_a_question_looks_up_a_bounded_number_of_keys(hostile: str) -> None:
    """However a handle (at most 255 characters) is made of affixes, the look-ups one question makes stay
    bounded: a few dozen affix keys, and the deletion keys of those (one per character of each)."""
    handle = hostile[:255]
    keys = affix_keys(handle)
    assert len(keys) <= 32
    assert len(affix_edit_keys(handle)) <= 32 * 256
