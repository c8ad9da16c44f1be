"""The logo and lozenge consent lifecycle as data (policy 6.8).

``submitted`` → ``approved`` | ``approved_with_conditions`` | ``changes_requested`` |
``rejected``; ``changes_requested`` → ``submitted`` (the requester edits and
resubmits) or ``rejected``; ``submitted``/``changes_requested`` → ``withdrawn`` (by
the requester). An approval is shown as *expired* once its expiry date has passed:
that is computed from today, never stored, so no job has to run at midnight.
The request engine (:func:`registry.lifecycle.engine.apply`) moves a request along this
table, and only it does (through :func:`registry.consent.services.decide`, ``withdraw``
and ``resubmit``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar, Final

from registry.auth.permissions import Permission
from registry.lifecycle.table import Lifecycle, Need, State, Status, Transition, Worded, lifecycle_file


class ConsentStatus(Status):
    """What is stored. ``expired`` is not a stored status: see :data:`EXPIRED`."""

    SUBMITTED = "submitted"
    CHANGES_REQUESTED = "changes_requested"
    APPROVED = "approved"
    APPROVED_WITH_CONDITIONS = "approved_with_conditions"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class ConsentAction(StrEnum):
    APPROVE = "approve"
    APPROVE_WITH_CONDITIONS = "approve_with_conditions"
    REQUEST_CHANGES = "request_changes"
    REJECT = "reject"
    RESUBMIT = "resubmit"
    WITHDRAW = "withdraw"


#: Consents in force (or expired: the expiry date says which). Each has a reference and an expiry date.
APPROVED_STATUSES: Final = frozenset({ConsentStatus.APPROVED, ConsentStatus.APPROVED_WITH_CONDITIONS})


@dataclass(frozen=True, kw_only=True)
class ConsentTransition(Transition[ConsentStatus, ConsentAction]):
    """A row of the consent table. Decisions need the decide permission and are refused to
    the requester (four-eyes); resubmitting and withdrawing are the requester's alone.

    ``note_prompt``: what the form asks for the note (``note_label`` names it in messages);
    ``conditions_required``: the conditions the requester must meet are required (and taken
    only then).
    """

    audit_prefix: ClassVar[str] = "CONSENT"
    note_prompt: str
    permission: Permission | None = Permission.CONSENT_DECIDE
    four_eyes: bool = True
    note_label: str = "The message"
    conditions_required: bool = False

    @property
    def is_decision(self) -> bool:
        return self.permission is Permission.CONSENT_DECIDE

    @property
    def approves(self) -> bool:
        return self.target in APPROVED_STATUSES

    @property
    def note_required(self) -> bool:
        return self.note is Need.REQUIRED


LIFECYCLE: Final = Lifecycle.load(
    lifecycle_file(__file__), statuses=ConsentStatus, actions=ConsentAction, row=ConsentTransition
)
#: Requests still open: waiting on comms or on the requester (``open = true`` in lifecycle.toml).
OPEN_STATUSES: Final = LIFECYCLE.open_statuses
#: Requests the communications team has still to decide (their work queue: ``waits_on = "comms"``).
AWAITING_COMMS: Final = LIFECYCLE.awaiting_comms

#: The status shown (and filtered on) for an approval whose expiry date has passed.
EXPIRED: Final = "expired"
#: How an expired approval reads: computed from today, never stored, so not one of the lifecycle's states.
EXPIRED_STATE: Final = State("Expired", "expired", "grey")
#: Every status a person can see or filter on, in the order the register lists them.
SHOWN_STATUSES: Final = (
    ConsentStatus.SUBMITTED.value,
    ConsentStatus.CHANGES_REQUESTED.value,
    ConsentStatus.APPROVED.value,
    ConsentStatus.APPROVED_WITH_CONDITIONS.value,
    EXPIRED,
    ConsentStatus.REJECTED.value,
    ConsentStatus.WITHDRAWN.value,
)


def shown_state(value: str) -> State:
    """The words and colour of a shown status (a stored one, or ``expired``)."""
    return EXPIRED_STATE if value == EXPIRED else ConsentStatus(value).state


#: Each shown status's label, for the register's filter and the API (read from the lifecycle).
STATUS_LABELS: Final = {value: shown_state(value).label for value in SHOWN_STATUSES}

TRANSITIONS: Final[dict[ConsentAction, ConsentTransition]] = {t.action: t for t in LIFECYCLE.transitions}
#: The communications team's decisions, in the order the decision form offers them.
DECISIONS: Final = tuple(t.action for t in LIFECYCLE.transitions if t.is_decision)


@LIFECYCLE.worded("asset", phrase="asset_phrase")
class Asset(Worded):
    TRUST_LOGO = "trust_logo"
    NHS_LOZENGE = "nhs_lozenge"
    BOTH = "both"


@LIFECYCLE.worded("medium")
class Medium(Worded):
    PRINT = "print"
    WEB = "web"
    SOCIAL_MEDIA = "social_media"
    SIGNAGE = "signage"
    MERCHANDISE = "merchandise"
    VIDEO = "video"
    PARTNER_MATERIAL = "partner_material"
