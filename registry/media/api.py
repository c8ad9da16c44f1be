"""The media contact API under ``/api/v1`` (policy 8.1): list, log, read, triage, screenshots.

Screenshots travel inside the JSON body as base64 (``screenshots: [{filename,
content_base64}]``) and are checked by their content exactly as a browser upload is; the
routes that take them allow a body of 4/3 of the upload size limit plus the usual allowance.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from flask import url_for
from pydantic import Field, WithJsonSchema

from registry.api import blocks
from registry.api.kinds import SIZE_NOTE, Links, PageQuery, Person, Routes, Step, StoredFile, stated
from registry.api.operations import (
    Among,
    Base64Files,
    Body,
    Flag,
    FreeText,
    MaybeTimestamp,
    Moment,
    Out,
    Paged,
    Text,
    Timestamp,
    one_of,
)
from registry.api.support import acting_user
from registry.api.transitions import Action, ActionBody, row
from registry.auth.permissions import Permission
from registry.media import services
from registry.media.kind import KIND
from registry.media.models import JOURNALIST_MAX, LINK_MAX, OUTLET_MAX, MediaContactStep
from registry.media.models import MediaContact as ContactRecord
from registry.media.workflow import ACTIONS, FILTER_VALUES, LIFECYCLE, NOTE, MediaContactStatus, Need

STATUSES = [s.value for s in MediaContactStatus]
REFERENCE = blocks.reference_parameter("The approach's reference, such as MC-0042.", "MC-0001", maxLength=40)
# --- how an approach looks --------------------------------------------------------------------------


class MediaContactHistoryStep(Step):
    statuses: ClassVar[list[str]] = STATUSES
    action: Annotated[str, one_of(["report", *(a.value for a in ACTIONS), NOTE])]
    advice: str | None
    note: str | None


class MediaContact(Out):
    """An approach by the media to a member of staff's personal account (policy 8.1)."""

    named: ClassVar[bool] = True

    reference: Annotated[str, WithJsonSchema({"type": "string", "pattern": "^MC-[0-9]{4,}$"})]
    status: Annotated[str, one_of(STATUSES)]
    status_label: Annotated[str, one_of(s.label for s in MediaContactStatus)]
    platform: Annotated[str, one_of(blocks.PLATFORMS)]
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
    screenshots: list[StoredFile] = Field(default=[], description="The screenshots (only on a single approach).")

    @classmethod
    def shown(cls, contact: ContactRecord, *, everyone: bool, full: bool = False) -> MediaContact:
        """An approach as ``everyone`` (comms, auditors) or its reporter sees it, with its history and
        screenshots if ``full``: the reporter gets no notes of the team's."""
        ref = contact.reference
        extra: dict[str, Any] = {}
        if full:
            extra["history"] = [_step(s, everyone) for s in services.history(contact, acting_user())]
            extra["screenshots"] = [
                StoredFile.of(e, url_for("api.media_contact_screenshot", reference=ref, upload_id=e.upload_id))
                for e in services.evidence_of(contact)
            ]
        return cls.taking(
            contact,
            advised_by=contact.advised_by.name if contact.advised_by else None,
            reported_by=Person.of(contact.reporter),
            links=Links.of("media_contact", "media", ref),
            **extra,
        )


def _step(step: MediaContactStep, everyone: bool) -> MediaContactHistoryStep:
    return MediaContactHistoryStep.of(step, note=step.note if everyone else None)


class MediaContactPage(Paged[MediaContact]):
    pass


# --- what a request may hold ------------------------------------------------------------------------


class MediaContactReport(Body):
    required: ClassVar[tuple[str, ...]] = ("platform", "contacted_at", "enquiry", "not_responded")
    extra: ClassVar[dict[str, Any]] = {
        "description": "A link or at least one screenshot is required.",
        "anyOf": [
            {"required": ["link"], "properties": {"link": blocks.given({})}},
            {"required": ["screenshots"], "properties": {"screenshots": {"type": "array", "minItems": 1}}},
        ],
    }

    platform: Annotated[str | None, Text({"type": "string", "enum": blocks.PLATFORMS})] = None
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
        return stated(self, services.Approach)


class MediaContactTransitionRequest(ActionBody):
    """The communications team's triage: a step of the table, or a note of the team's (the status stays)."""

    actions: ClassVar[dict[str, Action[ContactRecord]]] = {
        **{t.action.value: row(KIND, t, services.triage, advice=t.advice) for t in LIFECYCLE.transitions},
        NOTE: Action(take=services.triage, needs={"note": Need.REQUIRED, "advice": Need.NONE}),
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


class MediaContactQuery(PageQuery):
    status: Annotated[str, Among(FILTER_VALUES, "Empty means any; `open` means any but closed.")] = ""
    platform: Annotated[str, Among(blocks.PLATFORMS)] = ""
    q: Annotated[
        str, FreeText(200, description="Text in the outlet, journalist, question or reporter, or a reference.")
    ] = ""


# --- routes -----------------------------------------------------------------------------------------


def _log(report: MediaContactReport) -> ContactRecord:
    return services.log_approach(report.approach(), report.screenshots or [], acting_user())


MEDIA_CONTACTS: Routes[ContactRecord] = Routes(
    path="/media-contacts",
    permission=Permission.MEDIA_CONTACT_REPORT,
    reference=REFERENCE,
    find=services.visible_contact,
    show=lambda contact: MediaContact.shown(contact, everyone=services.sees_everything(acting_user()), full=True),
    model=MediaContact,
    shown="The approach with its history and screenshots.",
)
MEDIA_CONTACTS.listing(
    "Media approaches: all for comms and auditors, one's own for others.",
    MediaContactQuery,
    MediaContactPage,
    services.MediaFilters.parse,
    services.search,
    lambda contact: MediaContact.shown(contact, everyone=services.sees_everything(acting_user())),
)
MEDIA_CONTACTS.asking(
    "logMediaContact",
    "Log an approach by the media to one's personal account, before responding (policy 8.1).",
    MediaContactReport,
    _log,
    "The approach, awaiting triage.",
    files=True,
)
MEDIA_CONTACTS.reading("One approach with its history and screenshots (404 if not the caller's to see).")
MEDIA_CONTACTS.moving(
    "Acknowledge, advise, take over the response, close, or add a note (comms).",
    MediaContactTransitionRequest,
    "The approach's status does not allow this, or the caller logged it (four-eyes rule).",
    Permission.MEDIA_CONTACT_TRIAGE,
)
MEDIA_CONTACTS.file(
    "screenshots",
    "media_contact_screenshot",
    "getMediaContactScreenshot",
    "One screenshot of an approach the caller may see, as a download.",
    services.evidence_file,
)
