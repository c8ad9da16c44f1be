"""The page where staff paste a draft and see what in it could identify a patient (policy 6.11).

Nothing pasted is stored, logged or audited, and the page is never cached (``no-store``).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, render_template, request

from registry.auth.permissions import Permission, requires
from registry.screening import services
from registry.screening.forms import ScreenForm
from registry.screening.services import Finding
from registry.web.security import no_store

bp = Blueprint("screening", __name__)


@dataclass(frozen=True)
class Piece:
    """A stretch of the draft as shown back: plain text, a finding (shown masked) or a line break."""

    text: str = ""
    finding: Finding | None = None
    line_break: bool = False


def pieces(text: str, findings: list[Finding]) -> list[Piece]:
    """The draft with each finding replaced by its masked form, split at line breaks."""
    shown: list[Piece] = []

    def plain(part: str) -> None:
        for number, line in enumerate(part.replace("\r\n", "\n").split("\n")):
            if number:
                shown.append(Piece(line_break=True))
            if line:
                shown.append(Piece(text=line))

    at = 0
    for found in findings:
        plain(text[at : found.start])
        shown.append(Piece(finding=found))
        at = found.end
    plain(text[at:])
    return shown


def line_of(text: str, finding: Finding) -> int:
    return text.count("\n", 0, finding.start) + 1


@bp.route("/screen", methods=["GET", "POST"])
@requires(Permission.SCREEN_TEXT)
def screen() -> tuple[str, int]:
    no_store()
    form = ScreenForm()
    findings: list[Finding] | None = None
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            findings = services.screen(form.text.data or "")
        else:
            status = 422
    text = form.text.data or ""
    return render_template(
        "screening/screen.html",
        form=form,
        findings=findings,
        pieces=pieces(text, findings) if findings else [],
        rows=[(f, line_of(text, f)) for f in findings or []],
        kinds=services.KINDS,
    ), status
