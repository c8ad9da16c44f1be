"""``GET /api/v1/directory``: the Trust's official and formerly official accounts. Public, for anyone.

The answer is cacheable: a strong ETag of its bytes, Last-Modified from the latest change the directory
shows, and ``Cache-Control: public, max-age=60``; a conditional request that still matches is a 304. A
cache may so show a retired account as official for up to :data:`MAX_AGE` seconds (plus the index's
:data:`~registry.verification.index.FRESH_FOR`); /verify, which is not cached, is always within the latter.
"""

from __future__ import annotations

from typing import Annotated, Final

from flask import request
from flask.wrappers import Response
from pydantic import Field

from registry.api import blocks
from registry.api.operations import Answer, Choice, MaybeTimestamp, Out, Query, Timestamp, one_of, operation
from registry.channels.workflow import OFFICIAL_STATUSES, ChannelStatus
from registry.verification import directory
from registry.verification.directory import Directory
from registry.web.throttle import VERIFY_PER_ADDRESS

#: How long a browser or proxy may keep an answer without asking again, in seconds.
MAX_AGE: Final = 60
_STATUSES = sorted(status.value for status in OFFICIAL_STATUSES | {ChannelStatus.RETIRED})


class DirectoryEntry(Out):
    """An official or formerly official account of the Trust."""

    named = True
    platform: Annotated[str, one_of(blocks.PLATFORMS)]
    handle: str = Field(description="The handle as the registry writes it.")
    url: str
    display_name: str
    department: str
    status: Annotated[str, one_of(_STATUSES)] = Field(
        description="`active` or `suspended` (official, though paused), or `retired` (formerly official)."
    )
    official_since: Timestamp = Field(description="When the account became official.")
    official_until: MaybeTimestamp = Field(description="When a formerly official account was retired; else null.")


class DirectoryListing(Out):
    items: list[DirectoryEntry]


class DirectoryQuery(Query):
    format: Annotated[
        str, Choice(("json", "csv"), "json"), Field(description="`csv` gives the same list as CSV, with a header row.")
    ] = "json"


def _json(found: Directory) -> bytes:
    return (
        DirectoryListing(items=[DirectoryEntry(**entry.item()) for entry in found.entries]).model_dump_json().encode()
    )


_CACHING = {
    "ETag": {"required": True, "schema": {"type": "string"}, "description": "Changes whenever the answer does."},
    "Last-Modified": {
        "required": False,
        "schema": {"type": "string"},
        "description": "When what the directory shows last changed (absent while it is empty).",
    },
    "Cache-Control": {
        "required": True,
        "schema": {"type": "string"},
        "description": f"`public, max-age={MAX_AGE}`: caches may keep the answer for a minute.",
    },
}


@operation(
    "GET",
    "/directory",
    id="directory",
    summary="The Trust's official and formerly official accounts.",
    description="Every official channel and every retired one that was official, by platform. Public: no "
    "token needed. Send `If-None-Match` or `If-Modified-Since` to be told (304) that nothing changed.",
    permission=None,
    limit=VERIFY_PER_ADDRESS,
    query=DirectoryQuery,
    answers={
        200: Answer(
            DirectoryListing,
            "The directory, or CSV with `format=csv`.",
            headers=_CACHING,
            also={"text/csv": {"schema": {"type": "string"}}},
        ),
        304: Answer(None, "Nothing has changed since the ETag or time the request gave.", headers=_CACHING),
    },
)
def list_directory() -> Response:
    query, _ = DirectoryQuery.read()
    found = directory.current()
    if query.format == "csv":
        body = found.rendered("csv", Directory.csv)
        response = Response(body.content, mimetype="text/csv")
        response.headers["Content-Disposition"] = 'attachment; filename="official-accounts.csv"'
    else:
        body = found.rendered("json", _json)
        response = Response(body.content, mimetype="application/json")
    response.set_etag(body.etag)
    if found.last_modified is not None:
        response.last_modified = found.last_modified
    response.cache_control.public = True
    response.cache_control.max_age = MAX_AGE
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.make_conditional(request)  # a 304 without the body when the request's ETag or time still holds
    return response
