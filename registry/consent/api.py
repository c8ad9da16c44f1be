"""The consent API under ``/api/v1`` (policy 6.8): list, ask, read, decide, withdraw, resubmit.

The API speaks JSON like the rest of ``/api/v1``, so draft artwork travels inside the
JSON body as base64 (``artwork: [{filename, content_base64}]``); each file is checked by
its content exactly as a browser upload is. Base64 makes a file a third larger, so the
routes that take artwork allow a body of 4/3 of the upload size limit
(``REGISTRY_MAX_UPLOAD_MB``) plus the usual allowance for the other fields: files of up
to the limit, each and together, fit, as they do in the browser's form.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, ClassVar

from flask import url_for
from flask.wrappers import Response
from pydantic import Field, WithJsonSchema

from registry import clock
from registry.api import blocks
from registry.api.kinds import SIZE_NOTE, Links, PageQuery, Person, Routes, Step, StoredFile, stated
from registry.api.operations import (
    Among,
    Answer,
    Base64Files,
    Body,
    Date,
    Flag,
    FreeText,
    Ids,
    IsoDate,
    Listing,
    MaybeDate,
    MaybeTimestamp,
    Out,
    Paged,
    Text,
    Texts,
    Timestamp,
    one_of,
    operation,
    reply,
)
from registry.api.support import acting_user
from registry.api.transitions import Action, ActionBody, row
from registry.auth.models import User
from registry.auth.permissions import Permission
from registry.consent import letter as letters
from registry.consent import services
from registry.consent.kind import KIND
from registry.consent.models import LogoConsent as ConsentRecord
from registry.consent.models import LogoConsentCheck
from registry.consent.workflow import (
    DECISIONS,
    SHOWN_STATUSES,
    STATUS_LABELS,
    TRANSITIONS,
    Asset,
    ConsentAction,
    ConsentStatus,
    ConsentTransition,
    Medium,
)
from registry.lifecycle.table import Need
from registry.web.throttle import API_PER_CLIENT

ARTWORK_MAX_FILES = 20
ASSETS = [a.value for a in Asset]
MEDIA = [m.value for m in Medium]
STATUSES = [s.value for s in ConsentStatus]
LIMITS = services.LIMITS
REFERENCE = blocks.reference_parameter(
    "The request reference (LCR-0042) or, once approved, the consent reference (LC-2026-0042).",
    "LCR-0001",
    "LC-2026-0001",
    maxLength=40,
)
#: A PNG of one pixel in NHS blue: artwork the upload checks accept.
ARTWORK_EXAMPLE = {
    "filename": "poster.png",
    "content_base64": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR42mNgiNsBAAF4ARd5aW+TAAAAAElFTkSuQmCC",
}
# --- how a consent looks ----------------------------------------------------------------------------


class ConsentLinks(Links):
    letter: str | None = Field(description="The printable consent letter, once approved.")
    letter_pdf: str | None = Field(description="The letter as a PDF, where the server has the PDF dependency.")


class ConsentStep(Step):
    statuses: ClassVar[list[str]] = STATUSES
    note: str | None


class ConsentArtwork(StoredFile):
    current: bool
    removed_at: MaybeTimestamp


class ConsentCheck(Out):
    item_id: int
    text: str
    checked: bool

    @classmethod
    def of(cls, check: LogoConsentCheck) -> ConsentCheck:
        return cls(item_id=check.item_id, text=check.item_text, checked=check.checked)


class LogoConsent(Out):
    """A request to use the Trust logo or the NHS lozenge, and the consent once approved."""

    named: ClassVar[bool] = True

    request_reference: Annotated[str, WithJsonSchema({"type": "string", "pattern": "^LCR-[0-9]+$"})]
    reference: Annotated[
        str | None, WithJsonSchema({"type": ["string", "null"], "pattern": "^LC-[0-9]{4}-[0-9]{4,}$"})
    ] = Field(description="The consent reference, given on approval.")
    status: Annotated[str, one_of(SHOWN_STATUSES)] = Field(
        description="`expired` once an approval's expiry date has passed."
    )
    status_label: Annotated[str, one_of(STATUS_LABELS.values())]
    title: str
    department: str
    asset: Annotated[str, one_of(ASSETS)]
    media: Annotated[list[str], WithJsonSchema({"type": "array", "items": {"type": "string", "enum": MEDIA}})]
    purpose: str
    audience: str
    partner_involved: bool
    partner_name: str | None
    starts_on: Date
    ends_on: Date
    expires_on: MaybeDate
    conditions: str | None
    decided_by: str | None
    decided_at: MaybeTimestamp
    requested_by: Person
    created_at: Timestamp
    submitted_at: Timestamp
    updated_at: Timestamp
    links: ConsentLinks
    history: list[ConsentStep] = Field(default=[], description="Every step, oldest first (only on a single request).")
    artwork: list[ConsentArtwork] = Field(
        default=[], description="Every artwork file, current first, then removed ones (only on a single request)."
    )
    checklist: list[ConsentCheck] = Field(
        default=[],
        description="What the last decision recorded against the NHS identity checklist (only on a single "
        "request; empty before a decision).",
    )

    @classmethod
    def shown(cls, consent: ConsentRecord, *, today: dt.date, full: bool = False) -> LogoConsent:
        """The request as the API shows it; ``full``: with its history, artwork and last checklist."""
        ref = consent.request_reference
        approved = consent.is_approved
        extra: dict[str, Any] = {}
        if full:
            steps = services.history(consent)
            extra = {
                "history": [ConsentStep.of(s) for s in steps],
                "artwork": [
                    ConsentArtwork.of(
                        a,
                        url_for("api.consent_artwork", reference=ref, upload_id=a.upload_id),
                        current=a.is_current,
                        removed_at=a.removed_at,
                    )
                    for a in services.artwork_of(consent)
                ],
                "checklist": [ConsentCheck.of(c) for c in services.checks_of(services.last_decision(steps))],
            }
        return cls.taking(
            consent,
            status=consent.shown_status(today),
            status_label=consent.status_label_on(today),
            media=[m.value for m in consent.media],
            decided_by=consent.decided_by.name if consent.decided_by else None,
            requested_by=Person.of(consent.requester),
            links=ConsentLinks.of(
                "consent",
                "consent",
                ref,
                letter=url_for("consent.letter", reference=ref) if approved else None,
                letter_pdf=url_for("consent.letter_pdf", reference=ref)
                if approved and letters.pdf_available()
                else None,
            ),
            **extra,
        )


class LogoConsentPage(Paged[LogoConsent]):
    pass


# --- what a request may hold ------------------------------------------------------------------------


def _artwork(**schema: Any) -> Base64Files:
    artwork_file = blocks.base64_file("The file itself: a PNG, JPEG, GIF or WebP image, or a PDF.")
    artwork_file["examples"] = [ARTWORK_EXAMPLE]
    return Base64Files(
        {**schema, "maxItems": ARTWORK_MAX_FILES, "items": artwork_file},
        most=ARTWORK_MAX_FILES,
        too_many=f"Send at most {ARTWORK_MAX_FILES} files at once.",
        noun="File",
        example="draft-poster.png",
    )


_MEDIA = {
    "type": "array",
    "minItems": 1,
    "items": {"type": "string", "enum": MEDIA},
    "description": "Where it will appear; a medium named twice counts once.",
}
_TEXTS = 'text, such as ["print", "web"]'
_STARTS = f"Today or later, and within {services.START_WITHIN_YEARS} years."
_EXAMPLES = {
    "title": "Flu campaign poster",
    "department": "Pharmacy",
    "purpose": "Posters for the staff flu campaign.",
    "audience": "Staff and visitors",
}


def _text(name: str) -> Text:
    return Text({**blocks.required_text(LIMITS[name], examples=[_EXAMPLES[name]]), "type": ["string", "null"]})


class Answers(Body):
    """What a requester states: the fields a new request and a resubmission share (each may be null in a
    resubmission, where null leaves it as it is)."""

    title: Annotated[str | None, _text("title")] = None
    department: Annotated[str | None, _text("department")] = None
    asset: Annotated[str | None, Text({"type": ["string", "null"], "enum": [*ASSETS, None]})] = None
    purpose: Annotated[str | None, _text("purpose")] = None
    media: Annotated[tuple[str, ...] | None, Texts({**_MEDIA, "type": ["array", "null"]}, such_as=_TEXTS)] = None
    audience: Annotated[str | None, _text("audience")] = None
    partner_involved: Annotated[bool | None, Flag({"type": ["boolean", "null"]})] = None
    partner_name: Annotated[
        str | None,
        Text(
            blocks.optional_text(
                description=f"Required when the request names a partner (partner_involved is true, or, in a "
                f"resubmission, stays true), at most {LIMITS['partner_name']} characters; not read otherwise."
            )
        ),
    ] = None
    starts_on: Annotated[dt.date | None, IsoDate(blocks.or_null(blocks.DATE, description=_STARTS))] = None
    ends_on: Annotated[
        dt.date | None,
        IsoDate(
            blocks.or_null(
                blocks.DATE,
                description=f"On or after the start date, and at most {services.PERIOD_MAX_YEARS} years after it.",
            )
        ),
    ] = None
    artwork: Annotated[
        Any,
        _artwork(
            type=["array", "null"],
            description="The draft artwork, each file checked by its content (in a resubmission, artwork to add: "
            "at least one piece must remain or be added). " + SIZE_NOTE,
        ),
    ] = None

    def request(self, base: services.ConsentRequest | None = None) -> services.ConsentRequest:
        """The request as stated (with ``base``: fields not given keep ``base``'s values)."""
        return stated(self, services.ConsentRequest, base)


class LogoConsentRequest(Answers):
    required: ClassVar[tuple[str, ...]] = (
        "title",
        "department",
        "asset",
        "purpose",
        "media",
        "audience",
        "partner_involved",
        "starts_on",
        "ends_on",
        "artwork",
    )
    narrowed: ClassVar[dict[str, dict[str, Any]]] = {"artwork": {"minItems": 1}}
    extra: ClassVar[dict[str, Any]] = {
        "anyOf": [
            blocks.branch(
                "partner_involved",
                [True],
                needs=["partner_name"],
                partner_name=blocks.given({"maxLength": LIMITS["partner_name"]}),
            ),
            blocks.branch("partner_involved", [False]),
        ]
    }


class LogoConsentResubmission(Answers):
    extra: ClassVar[dict[str, Any]] = {
        "description": "Only the fields given (not null) change; the request as changed must still meet every "
        "rule of a new one, and goes back to the communications team."
    }

    remove_artwork: Annotated[
        list[int] | None,
        Ids(
            {
                "type": ["array", "null"],
                "items": {"type": "integer"},
                "description": "Ids of current artwork to take off the request.",
            }
        ),
    ] = None
    note: Annotated[str | None, Text(blocks.optional_text(services.NOTE_MAX))] = None


def _decide(
    consent: ConsentRecord, action: str, actor: User, checked: list[int] | None, **fields: Any
) -> ConsentRecord:
    return services.decide(consent, action, actor, checked=checked or [], **fields)


def _withdraw(consent: ConsentRecord, action: str, actor: User, note: str | None) -> ConsentRecord:
    return services.withdraw(consent, actor, note=note)


def _decision(t: ConsentTransition) -> Action[ConsentRecord]:
    """Conditions are taken only to approve with conditions (and then required), an expiry date only to approve."""
    return row(
        KIND,
        t,
        _decide,
        conditions=Need.REQUIRED if t.conditions_required else Need.NONE,
        expires_on=Need.OPTIONAL if t.approves else Need.NONE,
        checked=Need.OPTIONAL,
    )


class LogoConsentTransitionRequest(ActionBody):
    """A decision (comms; not on one's own request) or the requester's withdrawal. Changing a request and
    resubmitting it is POST /api/v1/consents/{reference}/resubmission, so resubmit is not one of these actions."""

    actions: ClassVar[dict[str, Action[ConsentRecord]]] = {
        **{action.value: _decision(TRANSITIONS[action]) for action in DECISIONS},
        ConsentAction.WITHDRAW.value: row(KIND, TRANSITIONS[ConsentAction.WITHDRAW], _withdraw),
    }

    note: Annotated[
        str | None,
        Text(
            blocks.optional_text(
                services.NOTE_MAX,
                description="Required for request_changes (what to change) and reject (why); optional otherwise.",
            )
        ),
    ] = None
    conditions: Annotated[
        str | None,
        Text(
            blocks.optional_text(
                services.CONDITIONS_MAX, description="Required for approve_with_conditions, and only for it."
            )
        ),
    ] = None
    expires_on: Annotated[
        dt.date | None,
        IsoDate(
            blocks.or_null(
                blocks.DATE,
                description="Approvals only. Default: the end of the use; not before it, nor before today, and at "
                f"most {services.EXPIRY_AFTER_END_MAX_YEARS} years after it.",
            )
        ),
    ] = None
    checked: Annotated[
        list[int] | None,
        Ids(
            {
                "type": ["array", "null"],
                "items": {"type": "integer"},
                "description": "Decisions only: ids of the current checklist items the artwork meets; approve "
                "needs them all.",
            }
        ),
    ] = None


class ConsentQuery(PageQuery):
    q: Annotated[
        str, FreeText(200, description="Text in the title, purpose, department, partner or requester, or a reference.")
    ] = ""
    status: Annotated[str, Among(SHOWN_STATUSES, "Empty means any. `approved` excludes expired approvals.")] = ""
    asset: Annotated[str, Among(ASSETS, "`trust_logo` and `nhs_lozenge` include requests for both.")] = ""
    medium: Annotated[str, Among(MEDIA)] = ""
    expiring_soon: Annotated[
        str, Among(["true", "false"], f"`true`: approvals expiring within {services.EXPIRING_SOON_DAYS} days.")
    ] = ""


class ConsentChecklistItem(Out):
    named: ClassVar[bool] = True

    id: Annotated[int, WithJsonSchema({"type": "integer", "minimum": 1})]
    text: str
    position: int
    active: bool


class ConsentChecklist(Listing[ConsentChecklistItem]):
    pass


# --- routes -----------------------------------------------------------------------------------------


def _ask(given: LogoConsentRequest) -> ConsentRecord:
    return services.request_consent(given.request(), given.artwork or [], acting_user())


def _resubmit(consent: ConsentRecord, given: LogoConsentResubmission, actor: User) -> ConsentRecord:
    """The requester changes what comms asked about (fields not given stay as they are) and resubmits."""
    return services.resubmit(
        consent,
        given.request(base=services.ConsentRequest.of(consent)),
        actor,
        add_artwork=given.artwork or [],
        remove_artwork=given.remove_artwork or [],
        note=given.note,
    )


CONSENTS: Routes[ConsentRecord] = Routes(
    path="/consents",
    permission=Permission.CONSENT_REQUEST,
    reference=REFERENCE,
    find=services.visible_consent,
    show=lambda consent: LogoConsent.shown(consent, today=clock.today(), full=True),
    model=LogoConsent,
    shown="The request with its history, artwork and last checklist.",
    reference_of=lambda consent: consent.request_reference,
)
CONSENTS.listing(
    "Logo and lozenge consent requests: all for comms and auditors, one's own for others.",
    ConsentQuery,
    LogoConsentPage,
    services.ConsentFilters.parse,
    lambda filters, user: services.search(filters, user, today=clock.today()),
    lambda consent: LogoConsent.shown(consent, today=clock.today()),
)
CONSENTS.asking(
    "requestConsent",
    "Ask for consent to use the Trust logo or the NHS lozenge, with the draft artwork.",
    LogoConsentRequest,
    _ask,
    "The request, waiting for a decision.",
    files=True,
)
CONSENTS.reading("One request, with its history, artwork and last checklist (404 if not the caller's).")
CONSENTS.moving(
    "Approve (with or without conditions), ask for changes or reject (comms), or withdraw one's own request while "
    "it is undecided or waiting for changes.",
    LogoConsentTransitionRequest,
    "The request's state does not allow this, or the caller made it (four-eyes rule).",
)
CONSENTS.changing(
    "resubmission",
    "resubmit_consent",
    "resubmitConsent",
    "Change one's own request as comms asked and send it back for a decision.",
    LogoConsentResubmission,
    _resubmit,
    {409: "The request is not waiting for the requester's changes."},
    files=True,
)
CONSENTS.file(
    "artwork",
    "consent_artwork",
    "getConsentArtwork",
    "One artwork file of a request the caller may see, as a download.",
    services.artwork_file,
)


@operation(
    "GET",
    "/consent-checklist",
    id="getConsentChecklist",
    summary="The NHS identity checklist comms check artwork against; retired items last.",
    permission=Permission.CONSENT_REQUEST,
    limit=API_PER_CLIENT,
    answers={200: Answer(ConsentChecklist, "The checklist.")},
)
def consent_checklist() -> Response:
    """The NHS identity checklist comms check artwork against (ids for a decision's ``checked``)."""
    return reply(
        ConsentChecklist(
            items=[
                ConsentChecklistItem(id=item.id, text=item.text, position=item.position, active=item.is_active)
                for item in services.checklist()
            ]
        )
    )
