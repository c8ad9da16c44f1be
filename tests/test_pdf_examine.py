"""The PDF check's own logic, run in this process (``pdf_scan.examine``), agrees with what the
limited child process answers (``pdf_scan.check``), file by file: the upload tests see only the
child's verdict, so this is where the checking code itself is exercised and measured."""

from __future__ import annotations

import io
from collections.abc import Callable

import pikepdf
import pytest
from pikepdf import Dictionary, Name, String

from registry.uploads import pdf_scan
from tests.test_upload_pdf import (
    SCRIPT_IN_OBJECT_STREAM,
    embedded_file,
    external_picture,
    made_with_pikepdf,
    object_stream_pdf,
    open_action_script,
    page_additional_action,
    with_annotation,
    with_form,
    with_internal_links,
    with_link,
)

CASES: list[tuple[str, Callable[[], bytes], str, tuple[str, ...]]] = [
    ("plain", lambda: made_with_pikepdf(), "clean", ()),
    ("object-streams", lambda: made_with_pikepdf(object_streams=True), "clean", ()),
    ("internal-links", lambda: made_with_pikepdf(with_internal_links, object_streams=True), "clean", ()),
    ("open-action-script", lambda: made_with_pikepdf(open_action_script), "active", ("javascript", "open_action")),
    ("additional-actions", lambda: made_with_pikepdf(page_additional_action), "active", ("additional_actions",)),
    (
        "launch",
        lambda: made_with_pikepdf(with_link(lambda pdf: Dictionary(S=Name.Launch, F=String("calc.exe")))),
        "active",
        ("launch",),
    ),
    ("embedded-file", lambda: made_with_pikepdf(embedded_file, object_streams=True), "active", ("embedded_file",)),
    ("external-stream", lambda: made_with_pikepdf(external_picture), "active", ("external_stream",)),
    ("xfa", lambda: made_with_pikepdf(with_form(xfa=True)), "active", ("xfa",)),
    ("3d", lambda: made_with_pikepdf(with_annotation(Subtype=Name("/3D"))), "active", ("3d",)),
    (
        "script-in-object-stream",
        lambda: object_stream_pdf(SCRIPT_IN_OBJECT_STREAM, stream_entries=b" /Note (obj)"),
        "active",
        ("javascript",),
    ),
    (
        "encrypted",
        lambda: made_with_pikepdf(encryption=pikepdf.Encryption(owner="owner-secret", user="")),
        "encrypted",
        (),
    ),
    ("garbage", lambda: b"%PDF-1.7\n" + bytes(range(256)) * 8 + b"\n%%EOF\n", "unreadable", ()),
]


@pytest.mark.parametrize(("data", "outcome", "found"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_check_in_this_process_agrees_with_the_child(
    data: Callable[[], bytes], outcome: str, found: tuple[str, ...]
) -> None:
    pdf = data()
    here, there = pdf_scan.examine(pdf), pdf_scan.check(pdf)
    assert (here.outcome, here.found) == (outcome, found)
    assert (there.outcome, there.found) == (outcome, found)
    if outcome == "clean":
        # Written again by qpdf from the objects it checked: a PDF with the same pages.
        with pikepdf.open(io.BytesIO(here.data)) as again:
            assert len(again.pages) == 2
        assert here.data.startswith(b"%PDF-") and there.data.startswith(b"%PDF-")
    else:
        assert here.data == b"" and there.data == b""
