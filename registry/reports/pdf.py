"""The monthly report as an A4 PDF, for the Board's papers.

Needs the optional ``fpdf2`` package (``pip install '.[pdf]'``), as the consent letter
does: without it the report page still prints, and the PDF link is not offered. The
words and figures are the page's (``services.sections`` and the same tables); the
charts are the page's charts drawn as PNG.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path
from typing import Any

from registry.channels.platforms import PLATFORMS, Platform
from registry.channels.workflow import ChannelStatus
from registry.consent.letter import pdf_available
from registry.reports import charts, services
from registry.reports.models import MonthlyReport

__all__ = ["pdf_available", "render_pdf"]


def _font(name: str) -> Path | None:
    """DejaVu Sans from matplotlib's data (a dependency already): Unicode text in the PDF."""
    path = Path(str(importlib.resources.files("matplotlib") / "mpl-data" / "fonts" / "ttf" / name))
    return path if path.is_file() else None


def render_pdf(report: MonthlyReport, *, trust_name: str) -> bytes:
    """The report as a PDF. Raises ImportError when fpdf2 is not installed."""
    from fpdf import FPDF

    figures = report.figures
    label = services.month_label(report.month)
    pdf = FPDF(format="A4")
    pdf.set_title(f"Monthly report on social media: {label}")
    pdf.set_subject(f"{report.month} {report.status} sha256 {report.sha256}")
    pdf.set_author(trust_name)
    pdf.set_creator("Social Channel Registry")
    regular, bold = _font("DejaVuSans.ttf"), _font("DejaVuSans-Bold.ttf")
    family = "helvetica"
    if regular and bold:
        pdf.add_font("body", "", str(regular))
        pdf.add_font("body", "B", str(bold))
        family = "body"
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()
    width = pdf.epw

    def line(value: str, *, size: float = 10, style: str = "", height: float = 5.5, gap: float = 1.5) -> None:
        pdf.set_font(family, style, size)
        pdf.multi_cell(width, height, value, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(gap)

    def table(headings: tuple[str, ...], body: list[tuple[Any, ...]], widths: tuple[int, ...]) -> None:
        pdf.set_font(family, "", 9)
        with pdf.table(
            col_widths=widths,
            text_align=("LEFT", *("RIGHT",) * (len(headings) - 1)),
            line_height=5,
            first_row_as_headings=True,
        ) as grid:
            grid.row([str(h) for h in headings])
            for values in body:
                grid.row([services.shown(v) for v in values])
        pdf.ln(3)

    def chart(name: str) -> None:
        image = charts.DRAW[name](figures, "png")
        assert isinstance(image, bytes)
        pdf.image(image, w=width)
        pdf.ln(2)

    line(trust_name, size=13, style="B", gap=0)
    line("Report to senior management and the Board (social media policy, clause 11.2)", gap=4)
    line(f"Social media: {label}", size=18, style="B", height=9, gap=2)
    if report.is_issued and report.issued_at is not None and report.issued_by is not None:
        line(f"Issued on {report.issued_at:%d %B %Y} by {report.issued_by.name}.", gap=0)
    else:
        line("DRAFT: these figures may still change. Only the issued report is the Trust's record.", style="B", gap=0)
    line("", gap=2)

    channels = figures["channels"]
    line("Channels at the end of the month", size=13, style="B", gap=1)
    table(("Status", "Channels"), [(s.label, channels["by_status"][s.value]) for s in ChannelStatus], (3, 1))
    chart("platforms")
    table(
        ("Platform", "Current channels"),
        [(PLATFORMS[p].label, channels["by_platform"][p.value]) for p in Platform if channels["by_platform"][p.value]]
        or [("No current channels", 0)],
        (3, 1),
    )

    line("Requests and decisions", size=13, style="B", gap=1)
    table(
        ("Kind", *(heading for _key, heading in services.REQUEST_COLUMNS)),
        [
            (name, *(figures["requests"][kind][key] for key, _h in services.REQUEST_COLUMNS))
            for kind, name in services.request_labels().items()
        ],
        (4, 2, 2, 2, 2, 2, 2),
    )

    for section in services.sections(figures):
        line(f"{section.title} (policy {section.clause})", size=13, style="B", gap=1)
        if section.note:
            line(section.note, size=9)
        if section.key == "account_health" and figures.get("account_health"):
            chart("account_health")
        table(("Figure", "Number"), [(ln.label, ln.value) for ln in section.lines], (5, 1))

    line("The last 12 months", size=13, style="B", gap=1)
    chart("requests")
    chart("channels")
    trends = figures["trends"]
    table(
        ("Month", *services.TREND_LABELS.values()),
        [
            (services.month_label(month), *(trends[key][i] for key in services.TREND_LABELS))
            for i, month in enumerate(trends["months"])
        ],
        (3, 2, 2, 3),
    )

    line("Audit trail", size=13, style="B", gap=1)
    for path, text in services.AUDIT_LABELS:
        line(text, style="B", gap=0)
        line(services.shown(services.get_figure(figures, path)), size=9 if path.endswith(("hash", "key")) else 10)

    line("Technical details", size=13, style="B", gap=1)
    line("SHA-256 of the figures, to show they have not been changed since:", style="B", gap=0)
    line(report.sha256, size=8)
    return bytes(pdf.output())
