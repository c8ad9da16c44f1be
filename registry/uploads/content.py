"""What an uploaded file is, judged by its content alone, and the copy of it that may be stored.

PNG, JPEG, GIF and WebP images must decode in full with Pillow and are encoded again from their
pixels alone (no EXIF, GPS, XMP, ICC profile, comments or PNG text chunks survive); animations keep
every frame, its duration and the loop count. PDFs must hold no active content (qpdf reads them in
a process of its own, see :mod:`registry.uploads.pdf_scan`), and what is stored is qpdf's copy of
the objects it checked. Anything else is refused with a reason for the audit trail and a message
for the sender. Storing is :mod:`registry.uploads.services`'.
"""

from __future__ import annotations

import io
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from registry.uploads.models import UploadType

if TYPE_CHECKING:
    from PIL import Image

ACCEPTED = "a PNG, JPEG, GIF or WebP image, or a PDF"
MAX_FRAMES = 1000

_PILLOW_FORMATS = {
    UploadType.PNG: "PNG",
    UploadType.JPEG: "JPEG",
    UploadType.GIF: "GIF",
    UploadType.WEBP: "WEBP",
}
_ANIMATED = frozenset({UploadType.PNG, UploadType.GIF, UploadType.WEBP})
#: What Pillow's decoders raise on malformed input (besides the decompression-bomb error).
_DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    struct.error,
    IndexError,
    KeyError,
    TypeError,
    ArithmeticError,
    MemoryError,
)


class Refused(Exception):
    """One file is not accepted: ``reasons`` are short codes for the audit trail (a PDF
    may have several kinds of active content), ``message`` names the file for the sender."""

    def __init__(self, reasons: str | Sequence[str], message: str) -> None:
        super().__init__(message)
        self.reasons = (reasons,) if isinstance(reasons, str) else tuple(reasons)
        self.message = message


@dataclass(frozen=True)
class Accepted:
    name: str
    type: UploadType
    data: bytes


def check(name: str, data: bytes, limit: int, seconds: float) -> Accepted:
    if not data:
        raise Refused("empty", f"{name}: the file is empty. Choose the file again.")
    if len(data) > limit:
        mb = limit // (1024 * 1024)
        raise Refused("too_big", f"{name}: the file is too big. Each file must be {mb} MB or smaller.")
    kind = _sniff(data)
    if kind is None:
        raise _unknown(name, data)
    if kind is UploadType.PDF:
        return Accepted(name, kind, _check_pdf(name, data, seconds))
    return Accepted(name, kind, _reencode(name, kind, data))


def _sniff(data: bytes) -> UploadType | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return UploadType.PNG
    if data.startswith(b"\xff\xd8\xff"):
        return UploadType.JPEG
    if data.startswith((b"GIF87a", b"GIF89a")):
        return UploadType.GIF
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return UploadType.WEBP
    if data.startswith(b"%PDF-"):
        return UploadType.PDF
    return None


_SVG = re.compile(rb"<svg[\s>]", re.IGNORECASE)


def _unknown(name: str, data: bytes) -> Refused:
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if _SVG.search(head) or (head.lower().startswith(b"<?xml") and b"svg" in head.lower()):
        return Refused(
            "svg",
            f"{name}: SVG images are not accepted, because they can contain scripts. Upload {ACCEPTED} instead.",
        )
    if b"%PDF-" in data[:1024]:
        return Refused(
            "pdf_header",
            f"{name}: this is not a valid PDF (it does not start with %PDF-). "
            "Save it as a PDF again and upload the new copy.",
        )
    return Refused("type", f"{name}: this type of file is not accepted. Upload {ACCEPTED}.")


def _check_pdf(name: str, data: bytes, seconds: float) -> bytes:
    """Refuse a PDF that is incomplete, encrypted, unreadable, too complex to check, or
    holds active content (see :mod:`registry.uploads.pdf_scan` for what, and the limits);
    otherwise the file to store: qpdf's copy of what it checked, so no viewer finds more."""
    if b"%%EOF" not in data[-2048:]:
        raise Refused(
            "pdf_incomplete",
            f"{name}: the PDF is incomplete (it has no end-of-file marker). "
            "Save it as a PDF again and upload the new copy.",
        )
    # Imported here, where a PDF is examined: pikepdf (qpdf) costs every process's start-up otherwise.
    from registry.uploads import pdf_scan

    verdict = pdf_scan.check(data, seconds=seconds)
    if verdict.outcome == "clean":
        return verdict.data
    if verdict.outcome == "out_of_time":
        raise out_of_time(name)
    if verdict.outcome == "encrypted":
        raise Refused(
            "pdf_encrypted",
            f"{name}: the PDF is password-protected or encrypted, so it cannot be checked. "
            "Save a copy without protection and upload that.",
        )
    if verdict.outcome == "too_complex":
        raise Refused(
            "pdf_too_complex",
            f"{name}: the PDF is too large or complex to check safely. "
            "Print it to a new PDF, or split it into smaller files, and upload that.",
        )
    if verdict.outcome == "active" and verdict.found:
        found = [pdf_scan.FOUND[code] for code in verdict.found]
        listing = found[0] if len(found) == 1 else ", ".join(found[:-1]) + " and " + found[-1]
        raise Refused(
            [f"pdf_{code}" for code in verdict.found],
            f"{name}: the PDF cannot be accepted because {listing}. "
            "Print it to a new PDF, which leaves such content out, and upload that.",
        )
    raise Refused(
        "pdf_unreadable",
        f"{name}: the PDF is damaged or stored in a way that cannot be checked. Print it to a new PDF and upload that.",
    )


def out_of_time(name: str) -> Refused:
    return Refused(
        "out_of_time",
        f"{name}: there was no time left to check this file after the others sent with it. "
        "Send it again on its own, or with fewer files.",
    )


def _reencode(name: str, kind: UploadType, data: bytes) -> bytes:
    """Decode the whole image with Pillow and encode its pixels again, and nothing else.

    Pillow is imported here, by the first image uploaded, not when the app starts."""
    from PIL import Image

    fmt = _PILLOW_FORMATS[kind]
    damaged = Refused(
        "image_damaged",
        f"{name}: the image is damaged or incomplete and cannot be read. Save it again and upload the new copy.",
    )
    try:
        with Image.open(io.BytesIO(data), formats=[fmt]) as probe:
            probe.verify()
        with Image.open(io.BytesIO(data), formats=[fmt]) as image:
            width, height = image.size
            loop = image.info.get("loop")
            count = getattr(image, "n_frames", 1) if kind in _ANIMATED else 1
            _check_frames(name, width, height, count)
            options = _encoder_options(kind, image, data, loop)
            frames, durations = [], []
            for index in range(count):
                image.seek(index)
                image.load()
                frame = _upright(image) if count == 1 else image
                frames.append(_pixels_only(frame, keep_alpha=kind is not UploadType.JPEG))
                durations.append(int(image.info.get("duration") or 100))
        if count > 1:
            options |= {"save_all": True, "append_images": frames[1:], "duration": durations}
        return _encode(frames[0], fmt, options)
    except Refused:
        raise
    except Image.DecompressionBombError:
        raise _too_many_pixels(name) from None
    except _DECODE_ERRORS:
        raise damaged from None


def _encoder_options(kind: UploadType, image: Image.Image, data: bytes, loop: object) -> dict[str, object]:
    """How to encode: the original's JPEG quality, WebP losslessness, animation loop count."""
    if kind is UploadType.JPEG:
        from PIL import JpegImagePlugin

        sampling = JpegImagePlugin.get_sampling(image)
        qtables = getattr(image, "quantization", None)
        quality: dict[str, object] = {"qtables": qtables} if qtables else {}
        return quality | ({"subsampling": sampling} if quality and sampling != -1 else {})
    options: dict[str, object] = {} if loop is None else {"loop": loop}
    if kind is UploadType.GIF:
        options["disposal"] = 2  # every frame is whole: clear before drawing the next
    elif kind is UploadType.PNG:
        options |= {"disposal": 0, "blend": 0}
    elif kind is UploadType.WEBP:
        options |= {"lossless": True} if _webp_lossless(data) else {"quality": 90}
    return options


def _encode(first: Image.Image, fmt: str, options: dict[str, object]) -> bytes:
    out = io.BytesIO()
    try:
        first.save(out, fmt, **options)
    except (ValueError, OSError):
        if "qtables" not in options:
            raise
        # The original's quantisation tables do not fit the RGB image (a CMYK original, say).
        out = io.BytesIO()
        first.save(out, fmt, quality=90)
    return out.getvalue()


def _check_frames(name: str, width: int, height: int, frames: int) -> None:
    if frames > MAX_FRAMES:
        raise Refused(
            "image_too_many_frames",
            f"{name}: the animation has {frames:,} frames; it can have up to {MAX_FRAMES:,}. "
            "Shorten it and upload it again.",
        )
    from PIL import Image

    limit = Image.MAX_IMAGE_PIXELS
    if limit is not None and width * height * frames > limit:
        raise _too_many_pixels(name, width, height, frames)


def _too_many_pixels(name: str, width: int = 0, height: int = 0, frames: int = 1) -> Refused:
    from PIL import Image

    size = f" ({width:,} × {height:,} pixels{f', {frames} frames' if frames > 1 else ''})" if width else ""
    return Refused(
        "image_too_many_pixels",
        f"{name}: the image is too large to process{size}. Images can have up to "
        f"{Image.MAX_IMAGE_PIXELS:,} pixels in all. Make it smaller and upload it again.",
    )


def _upright(image: Image.Image) -> Image.Image:
    """Turn the picture as its EXIF orientation says, since that tag is about to go."""
    from PIL import ImageOps

    try:
        return ImageOps.exif_transpose(image)
    except _DECODE_ERRORS:  # unreadable EXIF: the pixels as they are
        return image


def _pixels_only(frame: Image.Image, *, keep_alpha: bool) -> Image.Image:
    """A new image holding only ``frame``'s pixels: no EXIF, XMP, ICC profile, comment or text."""
    alpha = keep_alpha and (frame.mode in {"RGBA", "LA", "PA", "RGBa", "La"} or "transparency" in frame.info)
    if frame.mode.startswith("I"):  # 16-bit grey: scale to 8 bits, or it would all turn white
        frame = frame.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    clean = frame.convert("RGBA" if alpha else "RGB")
    clean.info = {}
    return clean


def _webp_lossless(data: bytes) -> bool:
    """Whether the WebP's (first) image is lossless (a ``VP8L`` chunk), so it stays lossless."""
    position = 12
    while position + 8 <= len(data):
        fourcc, size = data[position : position + 4], int.from_bytes(data[position + 4 : position + 8], "little")
        if fourcc == b"VP8L":
            return True
        if fourcc == b"VP8 ":
            return False
        if fourcc == b"ANMF":
            return data[position + 24 : position + 28] == b"VP8L"  # the first frame's image
        position += 8 + size + (size & 1)
    return False
