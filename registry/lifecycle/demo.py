"""What the kinds' demo modules share: files drawn on the spot, so the demo needs none on disk."""

from __future__ import annotations

import io
from collections.abc import Callable

from PIL import Image, ImageDraw
from werkzeug.datastructures import FileStorage

Colour = tuple[int, int, int]


def drawn_png(
    name: str, size: tuple[int, int], background: Colour, draw: Callable[[ImageDraw.ImageDraw], object]
) -> FileStorage:
    """A PNG of ``size`` on ``background``, with what ``draw`` puts on it, as if uploaded as ``name``."""
    image = Image.new("RGB", size, background)
    draw(ImageDraw.Draw(image))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    buffer.seek(0)
    return FileStorage(stream=buffer, filename=name, content_type="image/png")
