"""The application's request class: Flask's, except that a view may keep its uploads off the disk.

Werkzeug spools a file part larger than 500 KB to a temporary file. A view whose upload must never
touch the disk (a staff list: names and e-mail addresses) is marked :func:`in_memory`: its request
body is held in memory instead, and capped at the limit it names (beyond it, 413).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import IO, TypeVar

import flask
from flask import current_app
from werkzeug.formparser import FormDataParser

F = TypeVar("F", bound=Callable[..., object])
ATTRIBUTE = "in_memory_limit"


def in_memory(limit: int) -> Callable[[F], F]:
    """Mark a view: its request body (file parts and fields alike) stays in memory, up to ``limit`` bytes."""

    def decorate(view: F) -> F:
        setattr(view, ATTRIBUTE, limit)
        return view

    return decorate


class Request(flask.Request):
    def _in_memory_limit(self) -> int | None:
        view = current_app.view_functions.get(self.endpoint) if self.endpoint else None
        limit = getattr(view, ATTRIBUTE, None)
        return limit if isinstance(limit, int) else None

    def make_form_data_parser(self) -> FormDataParser:
        limit = self._in_memory_limit()
        if limit is not None:
            self.max_content_length = limit
            self.max_form_memory_size = limit
        return super().make_form_data_parser()

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        if self._in_memory_limit() is not None:
            return io.BytesIO()
        return super()._get_file_stream(total_content_length, content_type, filename, content_length)
