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
import string
import unicodedata

from registry.channels.platforms import Platform

_ASCII_ALNUM = frozenset(string.ascii_lowercase + string.digits)
_SEPARATORS = frozenset("._- ")
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
    return {text} | {text[:i] + text[i + 1 :] for i in range(len(text))}


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
