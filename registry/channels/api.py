"""The channels API under ``/api/v1/channels``: list (or export), request, read, transitions.

A channel shows its internal details (purpose, plans, administrators, history) only to its
requester, the communications team and auditors; other staff see what the public sees.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from flask import request
from flask.wrappers import Response
from pydantic import Field, WithJsonSchema

from registry import db
from registry.account_health.states import HealthState
from registry.api import blocks
from registry.api.kinds import Links, PageQuery, Person, Routes, Step, stated
from registry.api.operations import (
    Among,
    Answer,
    Body,
    Choice,
    Described,
    Flag,
    FreeText,
    MaybeDate,
    Out,
    Paged,
    ShownTimestamp,
    Text,
    Timestamp,
    one_of,
    operation,
    reply,
)
from registry.api.support import acting_user
from registry.api.transitions import Action, ActionBody, row
from registry.auth.models import User
from registry.auth.permissions import Permission
from registry.channels import services
from registry.channels.kind import KIND
from registry.channels.models import Channel as ChannelRecord
from registry.channels.models import ChannelTransition
from registry.channels.platforms import MAX_INPUT_LENGTH
from registry.channels.services import LIMITS, REASON_MAX, SORTS
from registry.channels.workflow import LIFECYCLE, ChannelAction, ChannelStatus
from registry.errors import NotPermitted
from registry.lifecycle.table import Need, Transition
from registry.web.exports import csv_response
from registry.web.pagination import page_args, paginate
from registry.web.throttle import API_PER_CLIENT

STATUSES = [s.value for s in ChannelStatus]
HEALTH_STATES = [s.value for s in HealthState]

REFERENCE = blocks.reference_parameter(
    "The channel's reference, such as CH-0042.", "CH-0001", pattern="^CH-[0-9]{1,9}$"
)

# --- how a channel looks ----------------------------------------------------------------------------


class PublicChannel(Out):
    """What anyone may know of a Trust channel."""

    named: ClassVar[bool] = True
    reference: Annotated[str, WithJsonSchema({"type": "string", "pattern": "^CH-[0-9]+$"})]
    platform: Annotated[str, one_of(blocks.PLATFORMS)]
    platform_label: str
    handle: str
    url: str
    display_name: str
    department: str
    status: Annotated[str, one_of(STATUSES)]
    status_changed_at: Timestamp


class ChannelStep(Step):
    statuses: ClassVar[list[str]] = STATUSES
    reason: str | None


class Channel(PublicChannel):
    """A channel. The internal fields (purpose, plans, administrators, history…) are present only for
    its requester, the communications team and auditors; other staff see what the public sees."""

    status_label: str
    purpose: str = ""
    audience: str = ""
    posting_plan: str = ""
    moderation_plan: str = ""
    out_of_hours: str = ""
    sponsor: str = ""
    proposed_administrators: str = ""
    policy_acknowledged_at: ShownTimestamp = None
    created_at: ShownTimestamp = None
    updated_at: ShownTimestamp = None
    next_review_on: MaybeDate = None
    requested_by: Person | None = Field(
        default=None, description="Shown to the requester, the communications team and auditors; null for others."
    )
    health: Annotated[str, one_of(HEALTH_STATES)] | None = Field(
        default=None,
        description="Account security health at the latest check (`unchecked`, `healthy`, `needs_attention`): "
        "shown to the communications team and auditors; null for others.",
    )
    links: Links
    history: list[ChannelStep] = Field(default=[], description="Every step, oldest first (only on a single channel).")

    @classmethod
    def shown(cls, channel: ChannelRecord, viewer: User, history: list[ChannelTransition] | None = None) -> Channel:
        """``channel`` as ``viewer`` may see it, with its ``history`` if given."""
        links = Links.of("channel", "channels", channel.reference)
        if not services.sees_everything(viewer, channel):
            return cls.taking(channel, links=links)
        internal: dict[str, Any] = {name: getattr(channel, name) for name in INTERNAL}
        if history is not None:
            internal["history"] = [ChannelStep.of(s) for s in history]
        if viewer.can(Permission.CHANNEL_READ_ALL):
            internal["health"] = channel.health
        return cls.taking(channel, links=links, requested_by=Person.of(channel.requester), **internal)


INTERNAL = (
    "purpose",
    "audience",
    "posting_plan",
    "moderation_plan",
    "out_of_hours",
    "sponsor",
    "proposed_administrators",
    "policy_acknowledged_at",
    "created_at",
    "updated_at",
    "next_review_on",
)


class ChannelPage(Paged[Channel]):
    pass


# --- what a request may hold ------------------------------------------------------------------------


def _plan(limit: int) -> Text:
    return Text(blocks.optional_text(limit, description="Optional; null is the same as leaving it out."))


class ChannelRequest(Body):
    required = ("platform", "handle", "display_name", "department", "purpose", "audience", "policy_acknowledged")

    platform: Annotated[str | None, Text({"type": "string", "enum": blocks.PLATFORMS})] = None
    handle: Annotated[
        str | None,
        Text(
            blocks.required_text(
                MAX_INPUT_LENGTH,
                description="A handle or profile URL; it must fit the platform's rules and not be held by "
                "another live channel.",
                examples=["ExampleNHSTrust"],
            )
        ),
    ] = None
    display_name: Annotated[
        str | None, Text(blocks.required_text(LIMITS["display_name"], examples=["Example NHS Foundation Trust"]))
    ] = None
    department: Annotated[str | None, Text(blocks.required_text(LIMITS["department"], examples=["Communications"]))] = (
        None
    )
    purpose: Annotated[
        str | None,
        Text(blocks.required_text(LIMITS["purpose"], examples=["News and service updates for patients and visitors."])),
    ] = None
    audience: Annotated[
        str | None,
        Text(blocks.required_text(LIMITS["audience"], examples=["Patients, carers and the local community."])),
    ] = None
    posting_plan: Annotated[str | None, _plan(LIMITS["posting_plan"])] = None
    moderation_plan: Annotated[str | None, _plan(LIMITS["moderation_plan"])] = None
    out_of_hours: Annotated[str | None, _plan(LIMITS["out_of_hours"])] = None
    sponsor: Annotated[str | None, _plan(LIMITS["sponsor"])] = None
    proposed_administrators: Annotated[str | None, _plan(LIMITS["proposed_administrators"])] = None
    policy_acknowledged: Annotated[bool | None, Flag({"type": "boolean", "const": True})] = None

    def request(self) -> services.ChannelRequest:
        return stated(self, services.ChannelRequest)


def _activating(t: Transition[ChannelStatus, ChannelAction]) -> Need:
    """Only activation takes the live account's handle or address."""
    return Need.OPTIONAL if t.action is ChannelAction.ACTIVATE else Need.NONE


class TransitionRequest(ActionBody):
    actions: ClassVar[dict[str, Action[ChannelRecord]]] = {
        t.action.value: row(KIND, t, services.transition, handle=_activating(t), url=_activating(t))
        for t in LIFECYCLE.transitions
    }
    #: Any handle or address but none at all is refused, even blank, when the action is not activate.
    absent: ClassVar[dict[str, dict[str, Any]]] = {"handle": {"enum": [None, ""]}, "url": {"enum": [None, ""]}}

    reason: Annotated[
        str | None,
        Text(
            blocks.optional_text(
                REASON_MAX,
                description="Required to reject, request_info, suspend and retire; surrounding space is not kept.",
            )
        ),
    ] = None
    handle: Annotated[
        str | None,
        Text(
            blocks.optional_text(
                MAX_INPUT_LENGTH,
                description="Only with activate, when the live account's handle differs from the one approved; "
                "it must fit the platform's rules and not be held by another live channel.",
            )
        ),
    ] = None
    url: Annotated[
        str | None,
        Text(
            blocks.optional_text(
                MAX_INPUT_LENGTH, description="Only with activate: the live account's URL, instead of its handle."
            )
        ),
    ] = None


class ChannelQuery(PageQuery):
    status: Annotated[str, Among(STATUSES, "Empty means any status.")] = ""
    platform: Annotated[str, Among(blocks.PLATFORMS, "Empty means any platform.")] = ""
    department: Annotated[str, FreeText(200)] = ""
    q: Annotated[str, FreeText(200, description="Text in the name, handle or department, or a reference.")] = ""
    health: Annotated[
        str,
        Among(
            HEALTH_STATES,
            "Account security health (comms and auditors): `unchecked`, `healthy` or `needs_attention`. "
            "Empty means any.",
        ),
    ] = ""
    sort: Annotated[
        str, Described({"type": "string", "enum": ["", *SORTS]}), Field(description="Empty means by reference.")
    ] = ""
    dir: Annotated[
        str, Described({"type": "string", "enum": ["", "asc", "desc"]}), Field(description="Empty means ascending.")
    ] = ""
    format: Annotated[
        str,
        Choice(("json", "csv"), "json"),
        Field(description="`csv` downloads every matching channel (comms and auditors)."),
    ] = "json"


# --- routes -----------------------------------------------------------------------------------------


@operation(
    "GET",
    "/channels",
    id="listChannels",
    summary="Channels the caller may see (all of them for comms and auditors).",
    permission=Permission.CHANNEL_LIST,
    limit=API_PER_CLIENT,
    query=ChannelQuery,
    answers={
        200: Answer(
            ChannelPage,
            "A page of channels, or CSV with `format=csv`.",
            also={"text/csv": {"schema": {"type": "string"}}},
        )
    },
)
def list_channels() -> Response:
    query, (filters, (page, per_page)) = ChannelQuery.read(
        lambda: services.ChannelFilters.parse(request.args, strict=True), lambda: page_args(25, strict=True)
    )
    viewer = acting_user()
    statement = services.search(filters, viewer)
    if query.format == "csv":
        if not viewer.can(Permission.CHANNEL_EXPORT):
            raise NotPermitted("Only the communications team and auditors can export the inventory.")
        return csv_response("channels.csv", services.EXPORT_COLUMNS, services.export(viewer, filters))
    result = paginate(db.session(), statement, page, per_page)
    return reply(ChannelPage.of(result, [Channel.shown(c, viewer) for c in result.items]))


def visible(reference: str, viewer: User) -> ChannelRecord:
    """The channel, if the caller may see it (403 otherwise, 404 if there is none)."""
    channel = services.get_channel(reference)
    if not services.can_view(viewer, channel):
        raise NotPermitted("You can see your own requests and the Trust's official channels only.")
    return channel


CHANNELS: Routes[ChannelRecord] = Routes(
    path="/channels",
    permission=Permission.CHANNEL_LIST,
    reference=REFERENCE,
    find=visible,
    show=lambda channel: Channel.shown(channel, acting_user(), services.history(channel)),
    model=Channel,
    shown="The channel, with its history.",
)
CHANNELS.asking(
    "requestChannel",
    "Request a new channel (any signed-in user).",
    ChannelRequest,
    lambda given: services.request_channel(given.request(), acting_user()),
    "The request, in status `requested`.",
    links={
        name: {"operationId": name, "parameters": {"reference": "$response.body#/reference"}}
        for name in ("getChannel", "transitionChannel")
    },
    permission=Permission.CHANNEL_REQUEST,
)
CHANNELS.reading("One channel with its history.")
CHANNELS.moving(
    "Move a channel along its lifecycle.",
    TransitionRequest,
    "The channel's state, or the four-eyes rule, does not allow this action.",
)
