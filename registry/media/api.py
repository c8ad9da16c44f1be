"""The media contact API under ``/api/v1`` (policy 8.1): list, log, read, triage, screenshots.

Screenshots travel inside the JSON body as base64 (``screenshots: [{filename,
content_base64}]``) and are checked by their content exactly as a browser upload is; the
routes that take them allow a body of 4/3 of the upload size limit plus the usual allowance.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from flask import request, url_for
from flask.wrappers import Response
from pydantic import Field, WithJsonSchema

from registry import db
from registry.api import blocks
from registry.api.operations import (
    Answer,
    Base64Files,
    Body,
    Declared,
    Described,
    Flag,
    FreeText,
    MaybeTimestamp,
    Out,
    Paged,
    Query,
    Text,
    Timestamp,
    one_of,
    operation,
    refuse,
    reply,
)
from registry.api.support import acting_user, room_for_base64
from registry.api.transitions import Action, ActionBody, row, transitions
from registry.auth.models import User
from registry.auth.permissions import Permission
from registry.channels.platforms import Platform
from registry.errors import Invalid
from registry.media import services
from registry.media.kind import KIND
from registry.media.models import JOURNALIST_MAX, LINK_MAX, OUTLET_MAX, MediaContactStep
from registry.media.models import MediaContact as ContactRecord
from registry.media.workflow import ACTIONS, FILTER_VALUES, LIFECYCLE, NOTE, MediaContactStatus, Need
from registry.text import parse_moment
from registry.uploads import services as uploads
from registry.uploads.models import UploadType
from registry.web.pagination import MAX_PER_PAGE, page_args, paginate
from registry.web.throttle import API_PER_CLIENT

PLATFORMS = [p.value for p in Platform]
STATUSES = [s.value for s in MediaContactStatus]
REFERENCE = {
    "name": "reference",
    "in": "path",
    "required": True,
    "description": "The approach's reference, such as MC-0042.",
    "schema": {"type": "string", "maxLength": 40, "examples": ["MC-0001"]},
}
SIZE_NOTE = (
    "Each file, and all the files together, may be up to the upload size limit (REGISTRY_MAX_UPLOAD_MB, "
    "10 MB unless configured otherwise) before base64 encoding."
)
TOO_BIG = "The body is larger than 4/3 of the upload size limit plus 512 KB."

# --- how an approach looks --------------------------------------------------------------------------


class Person(Out):
    name: str
    email: str


class Links(Out):
    self: str
    html: str


class MediaContactHistoryStep(Out):
    action: Annotated[str, one_of(["report", *(a.value for a in ACTIONS), NOTE])]
    from_status: Annotated[str | None, one_of(STATUSES, null=True)]
    to_status: Annotated[str, one_of(STATUSES)]
    actor: str
    occurred_at: Timestamp
    advice: str | None
    note: str | None


class Screenshot(Out):
    id: Annotated[int, WithJsonSchema({"type": "integer", "minimum": 1})]
    name: str
    content_type: Annotated[str, one_of(t.value for t in UploadType)]
    size: Annotated[int, WithJsonSchema({"type": "integer", "minimum": 1})]
    sha256: Annotated[str, WithJsonSchema({"type": "string", "pattern": "^[0-9a-f]{64}$"})]
    added_at: Timestamp
    url: str


class MediaContact(Out):
    """An approach by the media to a member of staff's personal account (policy 8.1)."""

    named: ClassVar[bool] = True

    reference: Annotated[str, WithJsonSchema({"type": "string", "pattern": "^MC-[0-9]{4,}$"})]
    status: Annotated[str, one_of(STATUSES)]
    status_label: Annotated[str, one_of(s.label for s in MediaContactStatus)]
    platform: Annotated[str, one_of(PLATFORMS)]
    platform_label: str
    outlet: str | None
    journalist: str | None
    contacted_at: Timestamp
    deadline_at: MaybeTimestamp
    enquiry: str
    link: str | None
    no_response_confirmed_at: Timestamp
    advice: str | None = Field(description="The communications team's latest advice to the reporter.")
    advised_at: MaybeTimestamp
    advised_by: str | None
    reported_by: Person
    created_at: Timestamp
    updated_at: Timestamp
    status_changed_at: Timestamp
    closed_at: MaybeTimestamp
    links: Links
    history: list[MediaContactHistoryStep] = Field(
        default=[],
        description="Every step, oldest first (only on a single approach). The reporter sees no notes of the "
        "team's: no `note` steps, and `note` is null.",
    )
    screenshots: list[Screenshot] = Field(default=[], description="The screenshots (only on a single approach).")

    @classmethod
    def shown(cls, contact: ContactRecord, *, everyone: bool, full: bool = False) -> MediaContact:
        """An approach as ``everyone`` (comms, auditors) or its reporter sees it, with its history and
        screenshots if ``full``: the reporter gets no notes of the team's."""
        ref = contact.reference
        extra: dict[str, Any] = {}
        if full:
            extra["history"] = [_step(s, everyone) for s in services.history(contact, acting_user())]
            extra["screenshots"] = [
                Screenshot.taking(
                    e.upload,
                    id=e.upload_id,
                    name=e.upload.original_name,
                    added_at=e.added_at,
                    url=url_for("api.media_contact_screenshot", reference=ref, upload_id=e.upload_id),
                )
                for e in services.evidence_of(contact)
            ]
        return cls.taking(
            contact,
            advised_by=contact.advised_by.name if contact.advised_by else None,
            reported_by=Person(name=contact.reporter.name, email=contact.reporter.email),
            links=Links(
                self=url_for("api.get_media_contact", reference=ref), html=url_for("media.detail", reference=ref)
            ),
            **extra,
        )


def _step(step: MediaContactStep, everyone: bool) -> MediaContactHistoryStep:
    return MediaContactHistoryStep.taking(step, actor=step.actor.name, note=step.note if everyone else None)


class MediaContactPage(Paged[MediaContact]):
    pass


def _full(contact: ContactRecord, status: int = 200) -> Response:
    everyone = services.sees_everything(acting_user())
    return reply(MediaContact.shown(contact, everyone=everyone, full=True), status)


# --- what a request may hold ------------------------------------------------------------------------


class Moment(Declared):
    """A date and time (ISO 8601; without an offset, UK time), or null or left out."""

    def check(self, value: object, name: str) -> object:
        try:
            return None if value is None else parse_moment(value, name)
        except Invalid as exc:
            raise refuse(name, exc.errors[name]) from None


class MediaContactReport(Body):
    required: ClassVar[tuple[str, ...]] = ("platform", "contacted_at", "enquiry", "not_responded")
    extra: ClassVar[dict[str, Any]] = {
        "description": "A link or at least one screenshot is required.",
        "anyOf": [
            {"required": ["link"], "properties": {"link": blocks.given({})}},
            {"required": ["screenshots"], "properties": {"screenshots": {"type": "array", "minItems": 1}}},
        ],
    }

    platform: Annotated[str | None, Text({"type": "string", "enum": PLATFORMS})] = None
    outlet: Annotated[str | None, Text(blocks.optional_text(OUTLET_MAX, examples=["The Evening Post"]))] = None
    journalist: Annotated[str | None, Text(blocks.optional_text(JOURNALIST_MAX, examples=["Alex Reporter"]))] = None
    contacted_at: Annotated[
        Any,
        Moment(
            {
                **blocks.DATE_TIME,
                "description": "When they made contact: not in the future and within "
                f"the last {services.LOGGED_WITHIN.days} days. The server reads a time without an offset as UK "
                "time.",
            }
        ),
    ] = None
    deadline_at: Annotated[
        Any,
        Moment(
            blocks.or_null(
                blocks.DATE_TIME,
                description="Their deadline, if they gave one: after contacted_at "
                f"and within {services.DEADLINE_WITHIN.days} days of it.",
            )
        ),
    ] = None
    enquiry: Annotated[
        str | None,
        Text(
            blocks.required_text(
                services.ENQUIRY_MAX, examples=["Asked for a comment on waiting times in the emergency department."]
            )
        ),
    ] = None
    link: Annotated[
        str | None,
        Text(
            blocks.optional_text(
                LINK_MAX,
                description="The address of their message or post: http(s), on a real site name (https:// may be "
                "left out).",
                examples=["https://x.com/EveningPost/status/1"],
            )
        ),
    ] = None
    screenshots: Annotated[
        Any,
        Base64Files(
            {
                "type": ["array", "null"],
                "maxItems": services.MAX_SCREENSHOTS,
                "items": blocks.base64_file("A PNG, JPEG, GIF or WebP image, or a PDF."),
                "description": "Screenshots of the approach, each checked by its content. " + SIZE_NOTE,
            },
            most=services.MAX_SCREENSHOTS,
            too_many=f"Send at most {services.MAX_SCREENSHOTS} screenshots.",
            noun="Screenshot",
            example="message.png",
        ),
    ] = None
    not_responded: Annotated[
        bool | None,
        Flag(
            {
                "type": "boolean",
                "const": True,
                "description": "The reporter confirms they have not responded (policy 8.1).",
            }
        ),
    ] = None

    def approach(self) -> services.Approach:
        given = self.model_dump(exclude_none=True, exclude={"screenshots"})
        return services.Approach(**given)


def _triage(contact: ContactRecord, given: MediaContactTransitionRequest, actor: User) -> ContactRecord:
    return services.triage(contact, given.action or "", actor, advice=given.advice, note=given.note)


class MediaContactTransitionRequest(ActionBody):
    """The communications team's triage: a step of the table, or a note of the team's (the status stays)."""

    actions: ClassVar[dict[str, Action[ContactRecord]]] = {
        **{t.action.value: row(KIND, t, _triage, advice=t.advice) for t in LIFECYCLE.transitions},
        NOTE: Action(take=_triage, needs={"note": Need.REQUIRED, "advice": Need.NONE}),
    }

    advice: Annotated[
        str | None,
        Text(
            blocks.optional_text(
                services.ADVICE_MAX,
                description="To the reporter: required for advise, optional for respond, refused otherwise.",
            )
        ),
    ] = None
    note: Annotated[
        str | None,
        Text(blocks.optional_text(services.NOTE_MAX, description="The team's own: required for close and note.")),
    ] = None


class MediaContactQuery(Query):
    status: Annotated[
        str,
        Described(blocks.blank_or(FILTER_VALUES)),
        Field(description="Empty means any; `open` means any but closed."),
    ] = ""
    platform: Annotated[str, Described(blocks.blank_or(PLATFORMS))] = ""
    q: Annotated[
        str,
        FreeText(200),
        Field(description="Text in the outlet, journalist, question or reporter, or a reference."),
    ] = ""
    page: Annotated[str, Described(blocks.page_number(1_000_000, 1)), Field(description="Empty means 1.")] = ""
    per_page: Annotated[str, Described(blocks.page_number(MAX_PER_PAGE, 25)), Field(description="Empty means 25.")] = ""


# --- routes -----------------------------------------------------------------------------------------

SHOWN = Answer(MediaContact, "The approach with its history and screenshots.")


@operation(
    "GET",
    "/media-contacts",
    id="listMediaContacts",
    summary="Media approaches: all for comms and auditors, one's own for others.",
    permission=Permission.MEDIA_CONTACT_REPORT,
    limit=API_PER_CLIENT,
    query=MediaContactQuery,
    answers={200: Answer(MediaContactPage, "A page of approaches, newest first.")},
)
def list_media_contacts() -> Response:
    """Approaches the caller may see: all for comms and auditors, one's own otherwise."""
    _, (filters, (page, per_page)) = MediaContactQuery.read(
        lambda: services.MediaFilters.parse(request.args, strict=True), lambda: page_args(25, strict=True)
    )
    user = acting_user()
    everyone = services.sees_everything(user)
    result = paginate(db.session(), services.search(filters, user), page, per_page)
    return reply(MediaContactPage.of(result, [MediaContact.shown(c, everyone=everyone) for c in result.items]))


@operation(
    "POST",
    "/media-contacts",
    id="logMediaContact",
    summary="Log an approach by the media to one's personal account, before responding (policy 8.1).",
    permission=Permission.MEDIA_CONTACT_REPORT,
    limit=API_PER_CLIENT,
    body=MediaContactReport,
    answers={
        201: Answer(
            MediaContact,
            "The approach, awaiting triage.",
            headers={"Location": {"required": True, "schema": {"type": "string"}}},
        )
    },
    refusals={413: TOO_BIG},
)
def create_media_contact() -> Response:
    room_for_base64()
    report = MediaContactReport.read()
    contact = services.log_approach(report.approach(), report.screenshots or [], acting_user())
    response = _full(contact, 201)
    response.headers["Location"] = url_for("api.get_media_contact", reference=contact.reference)
    return response


@operation(
    "GET",
    "/media-contacts/<reference>",
    id="getMediaContact",
    summary="One approach with its history and screenshots (404 if not the caller's to see).",
    permission=Permission.MEDIA_CONTACT_REPORT,
    limit=API_PER_CLIENT,
    parameters=(REFERENCE,),
    answers={200: SHOWN},
)
def get_media_contact(reference: str) -> Response:
    return _full(services.visible_contact(reference, acting_user()))


transitions(
    "/media-contacts/<reference>/transitions",
    name="transition_media_contact",
    id="transitionMediaContact",
    summary="Acknowledge, advise, take over the response, close, or add a note (comms).",
    permission=Permission.MEDIA_CONTACT_TRIAGE,
    parameter=REFERENCE,
    body=MediaContactTransitionRequest,
    find=lambda reference: services.visible_contact(reference, acting_user()),
    show=_full,
    answer=SHOWN,
    conflict="The approach's status does not allow this, or the caller logged it (four-eyes rule).",
)


@operation(
    "GET",
    "/media-contacts/<reference>/screenshots/<int(max=2147483647):upload_id>",
    id="getMediaContactScreenshot",
    summary="One screenshot of an approach the caller may see, as a download.",
    permission=Permission.MEDIA_CONTACT_REPORT,
    limit=API_PER_CLIENT,
    parameters=(REFERENCE, blocks.UPLOAD_ID_PARAM),
    answers={200: Answer(None, blocks.FILE_DOWNLOAD["description"], content=blocks.FILE_DOWNLOAD["content"])},
)
def media_contact_screenshot(reference: str, upload_id: int) -> Response:
    """One screenshot of an approach the caller may see, as a download."""
    contact = services.visible_contact(reference, acting_user())
    return uploads.send(services.evidence_file(contact, upload_id))
