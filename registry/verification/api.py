"""``GET /api/v1/verify``: is this an official Trust account? Public, for anyone."""

from __future__ import annotations

import functools
from typing import Annotated, Any

from flask.wrappers import Response
from pydantic import Field

from registry.api import blocks
from registry.api.operations import Among, Answer, Described, Out, Query, one_of, operation
from registry.api.support import json_response
from registry.channels.api import PublicChannel
from registry.verification import index, services
from registry.verification.services import MAX_HANDLE, MAX_URL
from registry.web.throttle import VERIFY_PER_ADDRESS

#: The rules that find a lookalike (registry.channels.lookalike.lookalike_rule).
RULES = ["homoglyph", "separators", "one_edit", "affix"]
#: What a question was about.
LINKS = ["account", "post", "intent"]


class Lookalike(PublicChannel):
    """The official channel an account imitates, and how it imitates it."""

    rule: Annotated[str, one_of(RULES)] = Field(
        description="Which rule matched: `homoglyph` (a letter or digit that only looks the same, such as a "
        "Cyrillic с for c, or 1 for l), `separators` (. _ - added or removed), `one_edit` (one letter added, "
        "dropped, changed, or two swapped), `affix` (the official name with words such as official, uk, the, "
        "nhs, or digits, added, perhaps with one slip as well)."
    )


class Verdict(Out):
    official: bool
    formerly_official: bool
    platform: Annotated[str, one_of(blocks.PLATFORMS)]
    handle: str = Field(
        description="The handle as the registry writes it. For an account imitating another with letters "
        "from other alphabets, the handle as given, those letters kept."
    )
    channel: PublicChannel | None
    lookalike_of: Lookalike | None
    known_unauthorised: bool
    link: Annotated[str, one_of(LINKS)] = Field(
        description="What `url` pointed at: `account` (the account's page, or a handle), `post` (a single "
        "post whose address names the account: the answer is about that account) or `intent` (a link to "
        "follow the account). A post or follow link whose address does not name its account is a 422 saying so."
    )

    @classmethod
    def body(cls, result: services.Verdict) -> dict[str, Any]:
        """The answer as JSON, each channel's part made once (the index's channels never change)."""
        return {
            "official": result.official,
            "formerly_official": result.formerly_official,
            "platform": result.platform.value,
            "handle": result.handle,
            "channel": _public(result.channel) if result.channel is not None else None,
            "lookalike_of": (
                {**_public(result.lookalike_of), "rule": result.lookalike_rule}
                if result.lookalike_of is not None
                else None
            ),
            "known_unauthorised": result.known_unauthorised,
            "link": result.link,
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
    description="Give `url`, or `platform` and `handle`. Public: no token needed. A link to a single post, or "
    "a follow link, is answered for the account its address names (`link` says which it was).",
    permission=None,
    limit=VERIFY_PER_ADDRESS,
    query=VerifyQuery,
    answers={200: Answer(Verdict, "The answer.")},
)
def verify() -> Response:
    # The parameters as read once (a parameter not given is ""): werkzeug's ``args.get`` of one not given
    # makes and catches an exception each time.
    asked, _ = VerifyQuery.read()
    result = services.verify(url=asked.url, platform=asked.platform, handle=asked.handle)
    response = json_response(Verdict.body(result))
    response.headers.add("Access-Control-Allow-Origin", "*")
    return response
