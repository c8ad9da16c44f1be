"""The monthly report's charts, drawn by matplotlib from the report's stored figures.

Readable without colour: every series has its own fill pattern, named in a legend, and
every bar carries its value; text stays text in the SVG. The page puts a table of the
same figures beside each chart. Drawn from the stored figures only, so an issued
report's charts never change. PNG is for the PDF.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final, TypedDict

from registry.channels.platforms import PLATFORMS, Platform
from registry.channels.workflow import ChannelStatus
from registry.web.charts import NHS_BLUE, NHS_GREY, NHS_TEXT, drawing, new_figure, whole_numbers

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.typing import RcKeyType

NHS_DARK_BLUE: Final = "#003087"
WHITE: Final = "#ffffff"

_STYLE: Final[dict[RcKeyType, Any]] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "registry-reports",
    "font.family": "sans-serif",
    "font.sans-serif": ["Arial", "Helvetica", "Liberation Sans", "DejaVu Sans"],
    "font.size": 11,
    "text.color": NHS_TEXT,
    "axes.labelcolor": NHS_TEXT,
    "xtick.color": NHS_TEXT,
    "ytick.color": NHS_TEXT,
    "hatch.linewidth": 1.2,
    "legend.frameon": False,
}


#: How each series is drawn: a fill and a pattern, so no two differ by colour alone.
class BarStyle(TypedDict, total=False):
    """How a group of bars is filled and outlined (keyword arguments of matplotlib's bar and barh)."""

    color: str
    edgecolor: str
    hatch: str


SOLID: Final[BarStyle] = {"color": NHS_BLUE, "edgecolor": NHS_BLUE}
DIAGONAL: Final[BarStyle] = {"color": WHITE, "edgecolor": NHS_DARK_BLUE, "hatch": "///"}
DOTTED: Final[BarStyle] = {"color": WHITE, "edgecolor": NHS_GREY, "hatch": ".."}

#: Live statuses grouped as the platform chart shows them.
PLATFORM_GROUPS: Final = (
    ("Active", (ChannelStatus.ACTIVE,), SOLID),
    ("Suspended", (ChannelStatus.SUSPENDED,), DIAGONAL),
    (
        "Not yet live (requested or approved)",
        (ChannelStatus.REQUESTED, ChannelStatus.INFO_REQUESTED, ChannelStatus.APPROVED),
        DOTTED,
    ),
)

CHARTS: Final = {
    "platforms": "Current channels by platform at the end of the month",
    "requests": "Requests received and decided, last 12 months",
    "channels": "Official channels at the end of each month, last 12 months",
    "account_health": "Account security of the active channels at the end of the month",
}


def _month_tick(key: str) -> str:
    year, month = (int(part) for part in key.split("-"))
    return f"{dt.date(year, month, 1):%b}\n{year}"


def _figure(width: float, height: float) -> Figure:
    return new_figure(figsize=(width, height), dpi=96, layout="constrained")


def _finish(figure: Figure, image_format: str) -> str | bytes:
    if image_format == "svg":
        text = io.StringIO()
        figure.savefig(text, format="svg", metadata={"Date": None, "Creator": None})
        return text.getvalue()
    binary = io.BytesIO()
    figure.savefig(binary, format="png", dpi=150, metadata={"Software": None})
    return binary.getvalue()


def _tidy(axes: Axes, title: str) -> None:
    axes.set_title(title, loc="left", fontsize=12, fontweight="bold")
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)


def _label_segments(axes: Axes, bars: Any, values: Sequence[int]) -> None:
    """Each non-empty segment's value on a white patch, readable over any pattern."""
    texts = axes.bar_label(bars, labels=[str(v) if v else "" for v in values], label_type="center")
    for text in texts:
        text.set_bbox({"facecolor": WHITE, "edgecolor": "none", "pad": 2.5})


def platforms(figures: dict[str, Any], image_format: str = "svg") -> str | bytes:
    """Current channels on each platform that has any, split into active, suspended and not yet live."""
    matrix = figures["channels"]["live_by_platform_status"]
    shown = [p for p in Platform if figures["channels"]["by_platform"][p.value]]
    with drawing(_STYLE):
        figure = _figure(7.2, 0.5 * max(len(shown), 2) + 1.9)
        axes = figure.add_subplot()
        _tidy(axes, CHARTS["platforms"])
        if not shown:
            axes.text(
                0.5, 0.5, "No live channels at the end of the month", ha="center", va="center", transform=axes.transAxes
            )
            axes.set_axis_off()
            return _finish(figure, image_format)
        labels = [PLATFORMS[p].label for p in shown]
        left = [0] * len(shown)
        for name, statuses, style in PLATFORM_GROUPS:
            values = [sum(matrix[p.value][s.value] for s in statuses) for p in shown]
            bars = axes.barh(labels, values, left=left, label=name, linewidth=1, **style)
            _label_segments(axes, bars, values)
            left = [a + b for a, b in zip(left, values, strict=True)]
        for y, total in enumerate(left):
            axes.text(total, y, f"  {total} in all", va="center", color=NHS_TEXT)
        axes.invert_yaxis()
        axes.set_xlim(0, max(left) * 1.35 + 1)
        whole_numbers(axes.xaxis)
        axes.set_xlabel("Number of channels")
        figure.legend(loc="outside lower center", ncols=3)
        return _finish(figure, image_format)


def _bar_values(axes: Axes, bars: Any) -> None:
    axes.bar_label(bars, padding=2, fontsize=9, color=NHS_TEXT)


def requests(figures: dict[str, Any], image_format: str = "svg") -> str | bytes:
    """Requests of every kind received and decided in each of the last twelve months."""
    trends = figures["trends"]
    ticks = [_month_tick(k) for k in trends["months"]]
    positions = list(range(len(ticks)))
    width = 0.4
    with drawing(_STYLE):
        figure = _figure(9.6, 4.2)
        axes = figure.add_subplot()
        _tidy(axes, CHARTS["requests"])
        received = axes.bar(
            [x - width / 2 for x in positions],
            trends["requests_received"],
            width,
            label="Received",
            linewidth=1,
            **SOLID,
        )
        decided = axes.bar(
            [x + width / 2 for x in positions],
            trends["requests_decided"],
            width,
            label="Decided",
            linewidth=1,
            **DIAGONAL,
        )
        _bar_values(axes, received)
        _bar_values(axes, decided)
        axes.set_xticks(positions, ticks, fontsize=9)
        axes.set_ylim(0, max([*trends["requests_received"], *trends["requests_decided"], 1]) * 1.2)
        whole_numbers(axes.yaxis)
        axes.set_ylabel("Number of requests")
        axes.legend(loc="upper left", ncols=2)
        return _finish(figure, image_format)


def channels(figures: dict[str, Any], image_format: str = "svg") -> str | bytes:
    """Official channels (active or suspended) at the end of each of the last twelve months."""
    trends = figures["trends"]
    ticks = [_month_tick(k) for k in trends["months"]]
    with drawing(_STYLE):
        figure = _figure(9.6, 3.8)
        axes = figure.add_subplot()
        _tidy(axes, CHARTS["channels"])
        bars = axes.bar(range(len(ticks)), trends["channels_official"], 0.6, linewidth=1, **SOLID)
        _bar_values(axes, bars)
        axes.set_xticks(range(len(ticks)), ticks, fontsize=9)
        axes.set_ylim(0, max([*trends["channels_official"], 1]) * 1.2)
        whole_numbers(axes.yaxis)
        axes.set_ylabel("Number of channels")
        return _finish(figure, image_format)


#: The account security outcomes, as the chart draws them: a pattern each, so none differs by colour alone.
HEALTH_GROUPS: Final = (
    ("Healthy", "healthy", SOLID),
    ("Needs attention", "needs_attention", DIAGONAL),
    ("Never checked", "unchecked", DOTTED),
)


def account_health(figures: dict[str, Any], image_format: str = "svg") -> str | bytes:
    """The channels active at the end of the month by account security health, and the share healthy."""
    found = figures.get("account_health")
    with drawing(_STYLE):
        figure = _figure(7.2, 2.9)
        axes = figure.add_subplot()
        if not found:
            _tidy(axes, CHARTS["account_health"])
            axes.text(
                0.5, 0.5, "Not counted when this report was made", ha="center", va="center", transform=axes.transAxes
            )
            axes.set_axis_off()
            return _finish(figure, image_format)
        _tidy(axes, f"{CHARTS['account_health']}: {found['percent_healthy']}% healthy")
        labels = [label for label, _key, _style in HEALTH_GROUPS]
        values = [int(found[key]) for _label, key, _style in HEALTH_GROUPS]
        for label, value, (_name, _key, style) in zip(labels, values, HEALTH_GROUPS, strict=True):
            bars = axes.barh([label], [value], linewidth=1, **style)
            axes.bar_label(bars, padding=4, color=NHS_TEXT)
        axes.invert_yaxis()
        axes.set_xlim(0, max([*values, 1]) * 1.2)
        whole_numbers(axes.xaxis)
        axes.set_xlabel("Number of active channels")
        return _finish(figure, image_format)


DRAW: Final[dict[str, Callable[..., str | bytes]]] = {
    "platforms": platforms,
    "requests": requests,
    "channels": channels,
    "account_health": account_health,
}
