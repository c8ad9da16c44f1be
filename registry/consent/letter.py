"""The consent letter: the words of an approval, for the printable page and the PDF.

The PDF needs the optional ``fpdf2`` package (``pip install '.[pdf]'``); without it the
letter page still prints, and the PDF link is not offered.
"""

from __future__ import annotations

import datetime as dt
import importlib.resources
from dataclasses import dataclass
from pathlib import Path

from registry.consent.models import LogoConsent
from registry.text import uk_date


@dataclass(frozen=True)
class Letter:
    """What the letter says, once, for both the page and the PDF."""

    trust_name: str
    reference: str
    heading: str
    dated: str
    addressee: str
    department: str
    paragraphs: tuple[str, ...]
    particulars: tuple[tuple[str, str], ...]
    conditions: str | None
    expired_on: str | None
    signed_by: str


def letter_for(consent: LogoConsent, *, trust_name: str, today: dt.date, decided_on: dt.date) -> Letter:
    assert consent.reference is not None and consent.expires_on is not None and consent.decided_by is not None
    heading = f"Consent to use {consent.asset_enum.phrase}"
    opening = (
        f"Under clause 6.8 of the Trust's social media policy, the communications department gives its consent "
        f"for {consent.asset_enum.phrase} to be used as described below, on the artwork "
        "submitted with the request."
    )
    if consent.conditions:
        opening += " The consent is given on the conditions set out in this letter."
    closing = (
        f"This consent expires on {uk_date(consent.expires_on)}. The artwork must not be used after that date, "
        "nor changed from the version approved, without asking the communications department again."
    )
    particulars = [
        ("Consent reference", consent.reference),
        ("Item or campaign", consent.title),
        ("Used by", consent.department),
        ("Purpose", consent.purpose),
        ("Where it will appear", consent.media_label),
        ("Audience", consent.audience),
        ("Partner organisation", consent.partner_name or "None"),
        ("Period of use", f"{uk_date(consent.starts_on)} to {uk_date(consent.ends_on)}"),
        ("Consent expires", uk_date(consent.expires_on)),
    ]
    return Letter(
        trust_name=trust_name,
        reference=consent.reference,
        heading=heading,
        dated=uk_date(decided_on),
        addressee=consent.requester.name,
        department=consent.department,
        paragraphs=(opening, closing),
        particulars=tuple(particulars),
        conditions=consent.conditions,
        expired_on=uk_date(consent.expires_on) if consent.expires_on < today else None,
        signed_by=consent.decided_by.name,
    )


def pdf_available() -> bool:
    """Whether the optional PDF dependency (fpdf2) can be imported here."""
    try:
        import fpdf  # noqa: F401
    except ImportError:
        return False
    return True


def _font(name: str) -> Path | None:
    """DejaVu Sans from matplotlib's data (a dependency already): Unicode text in the PDF."""
    try:
        path = Path(str(importlib.resources.files("matplotlib") / "mpl-data" / "fonts" / "ttf" / name))
    except ModuleNotFoundError:
        return None
    return path if path.is_file() else None


_PLAIN = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "…": "...", "•": "-"})


def render_pdf(letter: Letter) -> bytes:
    """The letter as an A4 PDF. Raises ImportError when fpdf2 is not installed."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_title(f"{letter.heading} {letter.reference}")
    pdf.set_subject(letter.reference)
    pdf.set_author(letter.trust_name)
    pdf.set_creator("Social Channel Registry")
    regular, bold = _font("DejaVuSans.ttf"), _font("DejaVuSans-Bold.ttf")
    if regular and bold:
        pdf.add_font("body", "", str(regular))
        pdf.add_font("body", "B", str(bold))
        family = "body"

        def text(value: str) -> str:
            return value
    else:  # the PDF core fonts know Latin-1 only
        family = "helvetica"

        def text(value: str) -> str:
            return value.translate(_PLAIN).encode("latin-1", "replace").decode("latin-1")

    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()
    width = pdf.epw

    def line(value: str, *, size: float = 11, style: str = "", height: float = 6, gap: float = 2) -> None:
        pdf.set_font(family, style, size)
        pdf.multi_cell(width, height, text(value), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(gap)

    line(letter.trust_name, size=14, style="B", gap=0)
    line("Communications department", size=11, gap=6)
    line(letter.dated, gap=4)
    line(f"To: {letter.addressee}, {letter.department}", gap=6)
    line(f"{letter.heading} ({letter.reference})", size=16, style="B", height=8, gap=4)
    if letter.expired_on:
        line(f"This consent expired on {letter.expired_on}. It no longer permits any use.", style="B", gap=4)
    line(letter.paragraphs[0], gap=4)
    for label, value in letter.particulars:
        line(label, style="B", gap=0)
        line(value, gap=3)
    if letter.conditions:
        line("Conditions", size=13, style="B", gap=1)
        line(letter.conditions, gap=4)
    line(letter.paragraphs[1], gap=8)
    line(letter.signed_by, style="B", gap=0)
    line(f"For the communications department, {letter.trust_name}")
    return bytes(pdf.output())
