"""Spotting handles that imitate another: homoglyphs, separators and one-letter slips.

``skeleton`` reduces a handle to what it looks like; two handles that look
alike have equal skeletons, or skeletons one edit apart. ``lookalike_keys``
gives the index keys that make "which stored handles are within one edit of
this one?" a plain equality lookup. Everything here is pure.

The character map comes from the Unicode confusables data (a large table) and is built on the first
``skeleton``, not when the app starts: most processes (a command, a worker's first requests) never
compare handles.
"""

from __future__ import annotations

import functools
import re
import string
import unicodedata
from typing import Final

from registry.channels.platforms import Platform

_ASCII_ALNUM = frozenset(string.ascii_lowercase + string.digits)
_SEPARATORS = frozenset("._- ")
#: ``str.translate`` table that drops the separators.
_NO_SEPARATORS = str.maketrans(dict.fromkeys(_SEPARATORS))
_PROTECTED = frozenset("@/")
_DIRECTION_MARKS = "\u200e\u200f"


def _fold(text: str) -> str:
    """NFKC and casefold, repeated until stable (casefolding can undo NFKC in rare cases)."""
    for _ in range(4):
        folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
        if folded == text:
            break
        text = folded
    return text


def _ascii_representatives(data: dict[str, list[dict[str, str]]]) -> dict[str, str]:
    """For each ASCII letter and digit, the one member of its confusable class that stands for it.

    Two ASCII characters share a class when the data lists one as a homoglyph of
    the other (after folding: ``0``/``o``, ``1``/``l``/``I``); the representative
    is the class's first letter in alphabetical order.
    """
    parent = {ch: ch for ch in _ASCII_ALNUM}

    def root(ch: str) -> str:
        while parent[ch] != ch:
            ch = parent[ch]
        return ch

    for key, entries in data.items():
        if len(key) != 1 or not key.isascii():
            continue
        for entry in entries:
            glyph = entry["c"].strip(_DIRECTION_MARKS)
            if len(glyph) != 1 or not glyph.isascii():
                continue
            a, b = _fold(key), _fold(glyph)
            if a in _ASCII_ALNUM and b in _ASCII_ALNUM:
                parent[root(a)] = root(b)
    classes: dict[str, list[str]] = {}
    for ch in sorted(_ASCII_ALNUM):
        classes.setdefault(root(ch), []).append(ch)
    representatives: dict[str, str] = {}
    for members in classes.values():
        letters = [ch for ch in members if ch.isalpha()]
        chosen = min(letters or members)
        representatives.update((ch, chosen) for ch in members)
    return representatives


@functools.cache
def _char_map() -> dict[str, str]:
    """Map each folded character with an ASCII look-alike to that look-alike.

    The value is a representative ASCII letter or digit, a short ASCII string
    (``æ`` -> ``ae``) when no single character fits, or "" for look-alikes of
    separators. When the data offers several, the choice is deterministic: a
    match on the character itself beats one found through another case, a
    single character beats a string, then alphabetical order.
    """
    from confusable_homoglyphs import confusables

    data = confusables.confusables_data
    reps = _ascii_representatives(data)
    candidates: dict[str, set[tuple[int, str]]] = {}

    def ascii_target(folded: str) -> str | None:
        if folded in _SEPARATORS:
            return ""
        if folded and all(ch in _ASCII_ALNUM for ch in folded):
            return "".join(reps[ch] for ch in folded)
        return None

    def offer(source: str, target: str, same_case: bool) -> None:
        folded = _fold(source)
        if (
            len(folded) != 1
            or folded.isascii()
            and (folded in _ASCII_ALNUM or folded in _PROTECTED or folded in _SEPARATORS)
        ):
            return
        rank = (0 if same_case else 1) + (0 if len(target) == 1 else 2)
        candidates.setdefault(folded, set()).add((rank, target))

    for raw_key, entries in data.items():
        key = raw_key.strip(_DIRECTION_MARKS)
        folded_key = _fold(key)
        key_target = ascii_target(folded_key) if len(folded_key) == 1 else None
        for entry in entries:
            glyph = entry["c"].strip(_DIRECTION_MARKS)
            folded_glyph = _fold(glyph)
            if key_target is not None and len(folded_glyph) == 1:
                offer(glyph, key_target, glyph == folded_glyph)
            glyph_target = ascii_target(folded_glyph)
            if glyph_target is not None and len(folded_key) == 1:
                offer(key, glyph_target, key == folded_key)
    mapping = {source: min(options)[1] for source, options in candidates.items()}
    mapping.update((ch, rep) for ch, rep in reps.items() if ch != rep)
    return mapping


_PAIRS = (("rn", "m"), ("vv", "w"))


@functools.lru_cache(maxsize=8192)  # one question asks for the same skeletons several times
def skeleton(handle: str) -> str:
    """What ``handle`` looks like, as lower-case ASCII where a look-alike exists.

    NFKC and casefold; accents and other combining marks go (``ü`` looks like
    ``u``); every character with a Latin/ASCII homoglyph becomes that
    homoglyph (one representative per class of confusable ASCII characters, so
    ``0``/``o`` and ``1``/``l``/``i`` agree); separators (``. _ -``, spaces) and
    leading ``@`` go; ``rn`` becomes ``m`` and ``vv`` becomes ``w``.
    ``skeleton(skeleton(h)) == skeleton(h)``.
    """
    decomposed = unicodedata.normalize("NFD", _fold(handle))
    bases = (ch for ch in decomposed if not unicodedata.category(ch).startswith("M"))
    char_map = _char_map()
    mapped = "".join(char_map.get(ch, ch) for ch in bases)
    kept = "".join(ch for ch in mapped if ch not in _SEPARATORS and not ch.isspace())
    kept = kept.lstrip("@")
    for pair, single in _PAIRS:
        kept = kept.replace(pair, single)
    return kept


def deletion_keys(text: str) -> set[str]:
    """``text`` and every string made by deleting one of its characters.

    Two strings within one edit (insertion, deletion, substitution or swap of
    two adjacent characters) always share at least one key.
    """
    keys = {text[:i] + text[i + 1 :] for i in range(len(text))}
    keys.add(text)
    return keys


def within_one_edit(a: str, b: str) -> bool:
    """True when the optimal string alignment distance between ``a`` and ``b`` is at most 1."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diffs = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if len(diffs) == 1:
            return True
        if len(diffs) == 2:
            i, j = diffs
            return j == i + 1 and a[i] == b[j] and a[j] == b[i]
        return False
    shorter, longer = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(shorter) and shorter[i] == longer[i]:
        i += 1
    return shorter[i:] == longer[i + 1 :]


def lookalike_keys(handle: str) -> set[str]:
    """The index keys of ``handle``: ``deletion_keys(skeleton(handle))``."""
    return deletion_keys(skeleton(handle))


def is_lookalike(candidate: str, official: str) -> bool:
    """True when two different handles look alike.

    They look alike when their skeletons are equal, or (when both skeletons
    have at least 4 characters) within one edit of each other.
    """
    if candidate == official:
        return False
    a, b = skeleton(candidate), skeleton(official)
    if not a or not b:
        return False
    if a == b:
        return True
    return min(len(a), len(b)) >= 4 and within_one_edit(a, b)


def comparable_part(platform: Platform | str, handle: str) -> str:
    """The part of a canonical handle that people read as the account's name.

    LinkedIn: the slug after ``company/`` (or ``in/``...); YouTube: the name after
    ``@``, ``c/`` or ``user/`` (channel IDs are returned unchanged); Bluesky: the
    handle without ``.bsky.social``; Facebook groups: the name after ``groups/``;
    everything else (including Mastodon's ``user@server``): the handle itself.
    """
    if isinstance(platform, Platform):
        chosen = platform  # (as verification asks: no look-up by value)
    else:
        try:
            chosen = Platform(platform)
        except ValueError:
            return handle
    if chosen is Platform.LINKEDIN:
        return handle.partition("/")[2] or handle
    if chosen is Platform.YOUTUBE:
        if handle.startswith("@"):
            return handle[1:]
        for prefix in ("c/", "user/"):
            if handle.startswith(prefix):
                return handle[len(prefix) :]
        return handle
    if chosen is Platform.BLUESKY:
        return handle.removesuffix(".bsky.social") or handle
    if chosen is Platform.FACEBOOK:
        return handle.removeprefix("groups/")
    return handle


# --------------------------------------------------------------------------
# Names with something added: the official name plus an affix


#: Words impostors add before or after an official name ("buckshealthcare_official", "the_bucks...",
#: "...uk", "...-nhs"). Compared in skeleton space, so look-alike spellings of them count too.
AFFIXES: Final = (
    "official",
    "officials",
    "offical",
    "officiel",
    "real",
    "the",
    "its",
    "iam",
    "team",
    "uk",
    "gb",
    "nhs",
    "nhsuk",
    "nhsft",
    "nhstrust",
    "ft",
    "trust",
    "hq",
    "news",
    "info",
    "help",
    "helpdesk",
    "support",
    "online",
    "page",
    "account",
    "media",
    "comms",
    "press",
    "hospital",
    "hospitals",
    "org",
    "com",
    "couk",
    "verified",
    "admin",
    "staff",
    "live",
    "tv",
    "global",
    "app",
    "bsky",
    "social",
)
#: Affixes that claim the account is the authentic one ("official_leedsth", "real_leedsth"): with one of
#: these the rule also protects shorter names, down to :data:`MIN_AFFIX_OFFICIAL` characters, and what is
#: left of an official name without its own affixes ("leedsth" of "leedsth_nhs").
CLAIMS: Final = ("official", "officials", "offical", "officiel", "real", "verified", "its", "iam")
#: The shortest official name (as a skeleton) that the affix rule protects at all, and only against a
#: claim (:data:`CLAIMS`): shorter names ("nhs", "bucks") appear inside too many ordinary handles.
MIN_AFFIX_OFFICIAL: Final = 6
#: The shortest official name, or name left when affixes are taken off an official handle, that the rule
#: protects against any affix ("buckshealthcarenhs" is also "buckshealthcare"; "health" and "england" of
#: "nhsengland" are common words, found only with a claim such as "official_england").
MIN_AFFIX_CORE: Final = 8
#: The shortest official name (as a skeleton) found by the affix rule with a slip as well
#: ("buckshealthcre_official"): one edit is a smaller difference in a longer name.
MIN_AFFIX_EDIT: Final = 8
_MAX_STRIPS: Final = 3
_EDGE_DIGITS = re.compile(r"^[0-9._\- ]+|[0-9._\- ]+$")
_LETTER = re.compile(r"[^\W\d_]")
#: Marks a key found only with a claim; no handle's skeleton has it (control characters are refused).
_CLAIM: Final = "\x00"


@functools.cache
def _affix_skeletons() -> tuple[frozenset[str], frozenset[str]]:
    """The affixes and the claims as skeletons, and the claims alone."""
    words = frozenset(skeleton(word) for word in AFFIXES + CLAIMS)
    claims = frozenset(skeleton(word) for word in CLAIMS)
    return words, claims


@functools.cache
def _affix_ends() -> tuple[dict[str, tuple[int, ...]], dict[str, tuple[int, ...]]]:
    """The lengths of the affixes (as skeletons) that start with each pair of letters, and of those that
    end with each pair, longest first: a word is cut only where an affix could be (most words start and
    end with a pair no affix has)."""
    affixes, _claims = _affix_skeletons()
    assert all(len(word) >= 2 for word in affixes), "an affix of one letter has no pair to be found by"
    heads: dict[str, set[int]] = {}
    tails: dict[str, set[int]] = {}
    for word in affixes:
        heads.setdefault(word[:2], set()).add(len(word))
        tails.setdefault(word[-2:], set()).add(len(word))
    return (
        {pair: tuple(sorted(sizes, reverse=True)) for pair, sizes in heads.items()},
        {pair: tuple(sorted(sizes, reverse=True)) for pair, sizes in tails.items()},
    )


def _stripped(text: str, shortest: int) -> dict[str, bool]:
    """``text``'s skeleton and what is left of it when up to three affixes (and digits at either end)
    are taken off, keeping only what has at least ``shortest`` characters; each with whether a claim
    (:data:`CLAIMS`) was among the affixes taken off."""
    whole = skeleton(text)
    start = {whole}
    stripped = _EDGE_DIGITS.sub("", text)
    if stripped != text and _LETTER.search(stripped):
        start.add(skeleton(stripped))
    found = {word: False for word in start if len(word) >= shortest}
    frontier = dict(found)
    affixes, claims = _affix_skeletons()
    heads, tails = _affix_ends()
    for _ in range(_MAX_STRIPS):
        following: dict[str, bool] = {}
        for word, claimed in frontier.items():
            room = len(word) - shortest  # the longest affix that leaves enough of the word
            # An affix at the start, then at the end, of the lengths an affix with the word's first (last)
            # two letters has (the rest sliced only for an affix found).
            for length in heads.get(word[:2], ()):
                head = word[:length]
                if length <= room and head in affixes:
                    rest = word[length:]
                    following[rest] = following.get(rest, False) or claimed or head in claims
            for length in tails.get(word[-2:], ()):
                tail = word[-length:]
                if length <= room and tail in affixes:
                    rest = word[:-length]
                    following[rest] = following.get(rest, False) or claimed or tail in claims
        frontier = {word: claimed for word, claimed in following.items() if claimed and not found.get(word, False)}
        frontier.update((word, claimed) for word, claimed in following.items() if word not in found)
        found.update(frontier)
        if not frontier:
            break
    return found


def _without_affixes(text: str, shortest: int) -> set[str]:
    return set(_stripped(text, shortest))


@functools.lru_cache(maxsize=65536)
def official_affix_keys(official: str) -> frozenset[str]:
    """The keys under which an official name (its comparable part) is found by :func:`affix_keys`: its
    skeleton and what is left of it without affixes, when at least :data:`MIN_AFFIX_CORE` long; and, marked
    as found only with a claim, each of those of at least :data:`MIN_AFFIX_OFFICIAL`. An official name that
    is itself one of the affixes ("official", "hospital") is found only with a claim."""
    whole = skeleton(official)
    if len(whole) < MIN_AFFIX_OFFICIAL:
        return frozenset()
    affixes, _claims = _affix_skeletons()
    cores = _without_affixes(official, MIN_AFFIX_OFFICIAL)
    plain = {core for core in cores if len(core) >= MIN_AFFIX_CORE and core not in affixes}
    return frozenset(plain | {_CLAIM + core for core in cores})


def affix_keys(candidate: str) -> frozenset[str]:
    """The keys to look up for a handle (its comparable part) that may be an official name with
    affixes added: its skeleton and what is left without them, and (marked) what is left once a claim
    such as "official" or "real" is taken off."""
    cores = _stripped(candidate, MIN_AFFIX_OFFICIAL)
    return frozenset(set(cores) | {_CLAIM + core for core, claimed in cores.items() if claimed})


def lookalike_rule(candidate: str, official: str, cores: frozenset[str] | None = None) -> str | None:
    """Which rule says ``candidate`` imitates ``official`` (both comparable parts), or None.

    ``homoglyph``: the same skeleton, with a letter or digit that only looks the same (``buсks`` with a
    Cyrillic ``с``, ``examp1e``); ``separators``: the same but for ``. _ -`` added or removed;
    ``one_edit``: one letter added, dropped, changed or two swapped; ``affix``: the official name with
    words such as ``official``, ``uk``, ``the``, ``nhs`` or digits added (or swapped for others), and for
    names of at least :data:`MIN_AFFIX_EDIT` characters, with one slip as well.

    ``cores``: ``affix_keys(candidate)`` where the caller has it already (one candidate is compared with
    several official names).
    """
    if candidate == official:
        return None
    a, b = skeleton(candidate), skeleton(official)
    if not a or not b:
        return None
    if a == b:
        if candidate.casefold().translate(_NO_SEPARATORS) == official.casefold().translate(_NO_SEPARATORS):
            return "separators"
        return "homoglyph"
    if min(len(a), len(b)) >= 4 and within_one_edit(a, b):
        return "one_edit"
    if cores is None:
        cores = affix_keys(candidate)
    if cores & official_affix_keys(official):
        return "affix"
    unclaimed = {core for core in cores if not core.startswith(_CLAIM)}
    if (
        len(b) >= MIN_AFFIX_EDIT
        and b not in _affix_skeletons()[0]
        and any(core != a and within_one_edit(core, b) for core in unclaimed)
    ):
        return "affix"
    return None


def affix_edit_keys(candidate: str, cores: frozenset[str] | None = None) -> set[str]:
    """The deletion keys (as :func:`lookalike_keys` stores them for official names) of what is left of
    ``candidate`` without its affixes: official names one slip from that share one of them. ``cores``:
    ``affix_keys(candidate)`` where the caller has it already."""
    whole = skeleton(candidate)
    return {
        key
        for core in (affix_keys(candidate) if cores is None else cores)
        if core != whole and not core.startswith(_CLAIM)
        for key in deletion_keys(core)
    }


def deconfuse(text: str) -> str:
    """``text`` with each character beyond ASCII that looks like an ASCII letter or digit replaced by
    it (a Cyrillic ``с`` becomes ``c``; an accented ``é`` becomes ``e``); other characters stay."""
    char_map = _char_map()
    out: list[str] = []
    for ch in text:
        if ch.isascii():
            out.append(ch)
            continue
        base = "".join(
            c for c in unicodedata.normalize("NFD", _fold(ch)) if not unicodedata.category(c).startswith("M")
        )
        mapped = "".join(char_map.get(c, c) for c in base)
        out.append(mapped if mapped.isascii() and len(mapped) == 1 else ch)
    return "".join(out)
