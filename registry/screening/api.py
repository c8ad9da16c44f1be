"""``POST /api/v1/screen``: the patient-identifier screening of a draft, for any signed-in user.

The text is neither stored, logged nor audited (it may hold patient details), and the
answer carries ``Cache-Control: no-store``, as do its refusals.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from flask.wrappers import Response
from pydantic import Field, WithJsonSchema

from registry.api.operations import Answer, Body, Declared, Out, one_of, operation, refuse, reply
from registry.auth.permissions import Permission
from registry.errors import Invalid
from registry.screening import services
from registry.screening.services import KINDS, MAX_TEXT
from registry.web.security import no_store
from registry.web.throttle import API_PER_CLIENT


class Draft(Declared):
    """The draft: a string of at most ``MAX_TEXT`` characters."""

    def check(self, value: object, name: str) -> object:
        if value is not None and not isinstance(value, str):
            raise refuse(name, f"{name} must be a string.")
        if value is not None and len(value) > MAX_TEXT:
            raise refuse(name, f"{name} must be {MAX_TEXT:,} characters or fewer.")
        return value


class ScreenRequest(Body):
    required: ClassVar[tuple[str, ...]] = ("text",)

    text: Annotated[
        str | None,
        Draft(
            {
                "type": "string",
                "maxLength": MAX_TEXT,
                "description": "The draft: a post's text, a caption or an image's alt text.",
            }
        ),
    ] = None


class ScreenFinding(Out):
    """Something in the text that could identify a patient."""

    named: ClassVar[bool] = True

    kind: Annotated[str, one_of(KINDS)]
    start: Annotated[int, WithJsonSchema({"type": "integer", "minimum": 0})] = Field(
        description="Where the match starts, in characters (Unicode code points)."
    )
    end: Annotated[int, WithJsonSchema({"type": "integer", "minimum": 1})] = Field(
        description="Where it ends (exclusive)."
    )
    masked: str = Field(description="The match with its identifying characters hidden by •.")
    label: str = Field(description="The kind in plain English, such as “NHS number”.")


class ScreenResult(Out):
    findings: list[ScreenFinding] = Field(description="Sorted by start; they never overlap.")


@operation(
    "POST",
    "/screen",
    id="screenText",
    summary="Check a draft for patient identifiers (any signed-in user; policy 6.11).",
    description=(
        "Finds NHS numbers (modulus 11 check; 3-3-4 or labelled NHS), dates of birth (near "
        "DOB, date of birth or born), hospital numbers (labelled, or trust-prefixed such as "
        "RXX123456), UK phone numbers, e-mail addresses, full postcodes, and names after Mr, "
        "Mrs, Ms, Miss, Mx or patient. Where two overlap, the more specific kind wins. The "
        "text is not stored, logged or audited."
    ),
    permission=Permission.SCREEN_TEXT,
    limit=API_PER_CLIENT,
    body=ScreenRequest,
    answers={
        200: Answer(
            ScreenResult,
            "The findings, masked.",
            headers={
                "Cache-Control": {
                    "required": True,
                    "schema": {"type": "string", "const": "no-store"},
                    "description": "The text may hold patient details: no cache may keep the answer.",
                }
            },
        )
    },
)
def screen() -> Response:
    """Find what could identify a patient in ``text``; each match comes back masked."""
    no_store()
    text = ScreenRequest.read().text
    if text is None:
        raise Invalid({"text": "text is required: the draft to check."})
    return reply(ScreenResult(findings=[ScreenFinding.taking(f) for f in services.screen(text)]))
