"""The application's request and response classes: Flask's, except that a view may keep its uploads off
the disk, and an answer that needs nothing fixed is not checked again as it is sent.

Werkzeug spools a file part larger than 500 KB to a temporary file. A view whose upload must never
touch the disk (a staff list: names and e-mail addresses) is marked :func:`in_memory`: its request
body is held in memory instead, and capped at the limit it names (beyond it, 413).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, TypeVar

import flask
from flask import current_app
from werkzeug.datastructures import Headers
from werkzeug.formparser import FormDataParser

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

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


#: The headers werkzeug's :meth:`~werkzeug.wrappers.Response.get_wsgi_headers` may rewrite as it sends them.
_FIXED_AS_SENT = frozenset({"location", "content-location"})


class Response(flask.Response):
    def get_wsgi_headers(self, environ: WSGIEnvironment) -> Headers:
        """Werkzeug's, without its copy checking every header a second time when there is nothing to fix.

        Werkzeug sends a copy of the headers, made by adding each one again (each checked for a newline,
        as it was when first added: a dozen on every answer), then fixes what needs it: a Location made
        absolute, a Content-Location made a URI, the length of an answer that must have none, a length
        not yet known. An answer with a body and its length (every JSON answer) and neither location has
        none of those: its copy is the headers as they are. Anything else is werkzeug's, unchanged.
        """
        status = self.status_code
        if status >= 200 and status not in (204, 304):
            names = {name.lower() for name, _ in self.headers}
            if "content-length" in names and names.isdisjoint(_FIXED_AS_SENT):
                sent = Headers()
                sent._list = list(self.headers._list)  # already checked as each was added
                return sent
        return super().get_wsgi_headers(environ)
