"""``GET /api/v1/verify``: is this an official Trust account? Public, for anyone."""

from __future__ import annotations

import functools
from typing import Annotated, Any

from flask import request
from flask.wrappers import Response
from pydantic import Field

from registry.api import blocks
from registry.api.operations import Among, Answer, Described, Out, Query, one_of, operation
from registry.api.support import json_response
from registry.channels.api import PublicChannel
from registry.verification import index, services
from registry.verification.services import MAX_HANDLE, MAX_URL
from registry.web.throttle import VERIFY_PER_ADDRESS


class Verdict(Out):
    official: bool
    formerly_official: bool
    platform: Annotated[str, one_of(blocks.PLATFORMS)]
    handle: str = Field(description="The handle as the registry writes it.")
    channel: PublicChannel | None
    lookalike_of: PublicChannel | None
    known_unauthorised: bool

    @classmethod
    def body(cls, result: services.Verdict) -> dict[str, Any]:
        """The answer as JSON, each channel's part made once (the index's channels never change)."""
        return {
            "official": result.official,
            "formerly_official": result.formerly_official,
            "platform": result.platform.value,
            "handle": result.handle,
            "channel": _public(result.channel) if result.channel is not None else None,
            "lookalike_of": _public(result.lookalike_of) if result.lookalike_of is not None else None,
            "known_unauthorised": result.known_unauthorised,
        }


@functools.lru_cache(maxsize=4096)
def _public(channel: index.PublicChannel) -> dict[str, Any]:
    shown: dict[str, Any] = PublicChannel.taking(channel).model_dump(mode="json")
    return shown


class VerifyQuery(Query):
    url: Annotated[
        str,
        Described({"type": "string", "maxLength": MAX_URL, "examples": ["https://x.com/ExampleNHS"]}),
        Field(
            description="The account's web address; when given, `handle` is not read. Surrounding space is "
            "ignored; empty means not given."
        ),
    ] = ""
    platform: Annotated[
        str,
        Among(
            blocks.PLATFORMS, "Required with `handle`; with `url`, the platform to read it as. Empty means not given."
        ),
    ] = ""
    handle: Annotated[
        str,
        Described({"type": "string", "maxLength": MAX_HANDLE, "examples": ["ExampleNHS"]}),
        Field(description="The account's handle, which must fit the platform's rules; required without `url`."),
    ] = ""


@operation(
    "GET",
    "/verify",
    id="verify",
    summary="Is this an official Trust account?",
    description="Give `url`, or `platform` and `handle`. Public: no token needed.",
    permission=None,
    limit=VERIFY_PER_ADDRESS,
    query=VerifyQuery,
    answers={200: Answer(Verdict, "The answer.")},
)
def verify() -> Response:
    VerifyQuery.read()
    result = services.verify(
        url=request.args.get("url"), platform=request.args.get("platform"), handle=request.args.get("handle")
    )
    response = json_response(Verdict.body(result))
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
