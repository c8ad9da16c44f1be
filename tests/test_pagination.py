"""List pages' pagination: the NHS.UK design system's numbered pagination, windowed.

A list of many pages links to the first and last pages and to two pages either side of the current
one, with an ellipsis for each run of pages left out (the design system's own example, page 10 of
40: 1 … 8 9 10 11 12 … 40). However many pages there are, a page draws the same few links.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from registry.channels.models import Channel
from tests.conftest import Browser

CHANNELS = 45


def pagination(page: str) -> tuple[list[str], str | None, str | None]:
    """What the pagination shows: each item's text (page numbers, "…" for an ellipsis, "[n]" for the
    current page), and the pages the "Previous" and "Next" links go to."""
    nav = re.search(r'<nav class="nhsuk-pagination[^"]*"[^>]*>(.*?)</nav>', page, re.S)
    assert nav is not None, "no pagination"
    items = []
    for item in re.findall(r'<li class="nhsuk-pagination__item[^"]*">(.*?)</li>', nav[1], re.S):
        link = re.search(r'<a [^>]*href="([^"]+)"[^>]*>\s*(\d+)\s*</a>', item, re.S)
        if link is None:
            assert html.unescape(item).strip() == "⋯", item
            items.append("…")
            continue
        number = link[2]
        assert page_of(link[1]) == number, (link[1], number)
        items.append(f"[{number}]" if 'aria-current="page"' in item else number)

    def target(rel: str) -> str | None:
        found = re.search(rf'<a href="([^"]+)"[^>]*rel="{rel}"', nav[1])
        return None if found is None else page_of(found[1])

    return items, target("prev"), target("next")


def page_of(href: str) -> str:
    query = parse_qs(urlsplit(html.unescape(href)).query)
    assert query["per_page"] == ["1"] and query["sort"] == ["name"], href  # the list's other choices are kept
    return query["page"][0]


#: (page, what the pagination shows, where "Previous" and "Next" go) on a list of CHANNELS pages.
SHOWN: list[tuple[int, list[str], str | None, str | None]] = [
    (1, ["[1]", "2", "3", "…", "45"], None, "2"),
    (2, ["1", "[2]", "3", "4", "…", "45"], "1", "3"),
    (4, ["1", "2", "3", "[4]", "5", "6", "…", "45"], "3", "5"),
    # One page alone between the first and the neighbours is shown by its number, not an ellipsis.
    (5, ["1", "2", "3", "4", "[5]", "6", "7", "…", "45"], "4", "6"),
    (20, ["1", "…", "18", "19", "[20]", "21", "22", "…", "45"], "19", "21"),
    (41, ["1", "…", "39", "40", "[41]", "42", "43", "44", "45"], "40", "42"),
    (45, ["1", "…", "43", "44", "[45]"], "44", None),
    # A page beyond the last (an old link to a list that has shrunk): "Previous" goes to the last page.
    (900, ["1", "…", "43", "44", "45"], "45", None),
]


def test_a_long_list_links_to_the_first_last_and_neighbouring_pages(
    browser_as: Callable[..., Browser], make_channel: Callable[..., Channel]
) -> None:
    for _ in range(CHANNELS):
        make_channel("active")
    browser = browser_as("comms")
    for page, shown, previous, next_ in SHOWN:
        response = browser.get(f"/channels?per_page=1&sort=name&page={page}")
        assert response.status_code == 200
        assert pagination(response.get_data(as_text=True)) == (shown, previous, next_), page


def test_a_list_of_one_page_has_no_pagination(
    browser_as: Callable[..., Browser], make_channel: Callable[..., Channel]
) -> None:
    make_channel("active")
    assert "nhsuk-pagination" not in browser_as("comms").get("/channels?per_page=1&sort=name").get_data(as_text=True)
