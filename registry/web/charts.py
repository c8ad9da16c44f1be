"""Charts drawn by matplotlib as SVG images.

Readable without colour: one colour, every bar labelled with its value, text
kept as text (``svg.fonttype: none``) so it stays sharp and searchable. Each
chart sits beside a table of the same figures for screen readers.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axis import Axis
    from matplotlib.figure import Figure
    from matplotlib.typing import RcKeyType

NHS_BLUE = "#005eb8"
NHS_TEXT = "#212b32"
NHS_GREY = "#4c6272"

_STYLE: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "registry",
    "font.family": "sans-serif",
    "font.sans-serif": ["Arial", "Helvetica", "Liberation Sans", "DejaVu Sans"],
    "font.size": 12,
    "text.color": NHS_TEXT,
    "axes.labelcolor": NHS_TEXT,
    "xtick.color": NHS_GREY,
    "ytick.color": NHS_TEXT,
}

#: The SVG's own styles are inline; this policy goes with the image response only.
SVG_CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"


@contextmanager
def drawing(style: dict[RcKeyType, Any]) -> Iterator[None]:
    """Draw the charts made inside in ``style``.

    matplotlib is imported when a chart is first drawn, not when the app starts: it was over a
    quarter of every process's start-up (each command, each worker), and most never draw one.
    """
    from matplotlib import rc_context

    with rc_context(style):
        yield


def new_figure(**options: Any) -> Figure:
    """A matplotlib ``Figure`` made with ``options`` (imported when first drawn, as in :func:`drawing`)."""
    from matplotlib.figure import Figure

    return Figure(**options)


def whole_numbers(axis: Axis) -> None:
    """Ticks on whole numbers only, for counts: matplotlib's default locator for the axis, told so."""
    from matplotlib.ticker import AutoLocator

    locator = AutoLocator()
    locator.set_params(integer=True)
    axis.set_major_locator(locator)


def horizontal_bars(labels: Sequence[str], values: Sequence[int], *, title: str, axis_label: str) -> str:
    """A horizontal bar chart as SVG text, largest category first as given."""
    with drawing(_STYLE):
        figure = new_figure(figsize=(6.4, 0.42 * max(len(labels), 1) + 1.3), dpi=96)
        axes = figure.add_subplot()
        bars = axes.barh(list(labels), list(values), color=NHS_BLUE)
        axes.invert_yaxis()
        axes.bar_label(bars, padding=4, color=NHS_TEXT)
        axes.set_title(title, loc="left", fontsize=13, fontweight="bold")
        axes.set_xlabel(axis_label)
        axes.set_xlim(0, max([*values, 1]) * 1.15)
        whole_numbers(axes.xaxis)
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
        figure.tight_layout()
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return buffer.getvalue()
