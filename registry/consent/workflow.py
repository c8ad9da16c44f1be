"""The logo and lozenge consent lifecycle as data (policy 6.8).

``submitted`` → ``approved`` | ``approved_with_conditions`` | ``changes_requested`` |
``rejected``; ``changes_requested`` → ``submitted`` (the requester edits and
resubmits) or ``rejected``; ``submitted``/``changes_requested`` → ``withdrawn`` (by
the requester). An approval is shown as *expired* once its expiry date has passed:
that is computed from today, never stored, so no job has to run at midnight.
:func:`registry.consent.services.decide`, ``withdraw`` and ``resubmit`` move a
request along this table, and only they do.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from registry.audit.models import AuditAction
from registry.auth.permissions import Permission


class ConsentStatus(StrEnum):
    """What is stored. ``expired`` is not a stored status: see :data:`EXPIRED`."""

    SUBMITTED = "submitted"
    CHANGES_REQUESTED = "changes_requested"
    APPROVED = "approved"
    APPROVED_WITH_CONDITIONS = "approved_with_conditions"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.value]

    @property
    def phrase(self) -> str:
        """How the status reads in a sentence: "LCR-0001 is {phrase}"."""
        return STATUS_PHRASES[self]


#: The status shown (and filtered on) for an approval whose expiry date has passed.
EXPIRED: Final = "expired"
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

STATUS_LABELS: Final = {
    ConsentStatus.SUBMITTED.value: "Awaiting decision",
    ConsentStatus.CHANGES_REQUESTED.value: "Changes requested",
    ConsentStatus.APPROVED.value: "Approved",
    ConsentStatus.APPROVED_WITH_CONDITIONS.value: "Approved with conditions",
    EXPIRED: "Expired",
    ConsentStatus.REJECTED.value: "Rejected",
    ConsentStatus.WITHDRAWN.value: "Withdrawn",
}
#: NHS tag colours for each shown status.
STATUS_COLOURS: Final = {
    ConsentStatus.SUBMITTED.value: "blue",
    ConsentStatus.CHANGES_REQUESTED.value: "yellow",
    ConsentStatus.APPROVED.value: "green",
    ConsentStatus.APPROVED_WITH_CONDITIONS.value: "aqua-green",
    EXPIRED: "grey",
    ConsentStatus.REJECTED.value: "red",
    ConsentStatus.WITHDRAWN.value: "grey",
}
STATUS_PHRASES: Final = {
    ConsentStatus.SUBMITTED: "waiting for a decision",
    ConsentStatus.CHANGES_REQUESTED: "waiting for the requester's changes",
    ConsentStatus.APPROVED: "approved",
    ConsentStatus.APPROVED_WITH_CONDITIONS: "approved with conditions",
    ConsentStatus.REJECTED: "rejected",
    ConsentStatus.WITHDRAWN: "withdrawn",
}

#: Consents in force (or expired: the expiry date says which). Each has a reference and an expiry date.
APPROVED_STATUSES: Final = frozenset({ConsentStatus.APPROVED, ConsentStatus.APPROVED_WITH_CONDITIONS})
#: Requests still open: waiting on comms or on the requester.
OPEN_STATUSES: Final = frozenset({ConsentStatus.SUBMITTED, ConsentStatus.CHANGES_REQUESTED})


class Asset(StrEnum):
    TRUST_LOGO = "trust_logo"
    NHS_LOZENGE = "nhs_lozenge"
    BOTH = "both"

    @property
    def label(self) -> str:
        return ASSET_LABELS[self]

    @property
    def phrase(self) -> str:
        """How the asset reads mid-sentence: "consent to use {phrase}"."""
        return ASSET_PHRASES[self]


ASSET_PHRASES: Final = {
    Asset.TRUST_LOGO: "the Trust logo",
    Asset.NHS_LOZENGE: "the NHS lozenge",
    Asset.BOTH: "the Trust logo and the NHS lozenge",
}
ASSET_LABELS: Final = {
    Asset.TRUST_LOGO: "The Trust logo",
    Asset.NHS_LOZENGE: "The NHS lozenge",
    Asset.BOTH: "Both the Trust logo and the NHS lozenge",
}


class Medium(StrEnum):
    PRINT = "print"
    WEB = "web"
    SOCIAL_MEDIA = "social_media"
    SIGNAGE = "signage"
    MERCHANDISE = "merchandise"
    VIDEO = "video"
    PARTNER_MATERIAL = "partner_material"

    @property
    def label(self) -> str:
        return MEDIUM_LABELS[self]


MEDIUM_LABELS: Final = {
    Medium.PRINT: "Print",
    Medium.WEB: "Web",
    Medium.SOCIAL_MEDIA: "Social media",
    Medium.SIGNAGE: "Signage",
    Medium.MERCHANDISE: "Merchandise",
    Medium.VIDEO: "Video",
    Medium.PARTNER_MATERIAL: "Partner material",
}


class ConsentAction(StrEnum):
    APPROVE = "approve"
    APPROVE_WITH_CONDITIONS = "approve_with_conditions"
    REQUEST_CHANGES = "request_changes"
    REJECT = "reject"
    RESUBMIT = "resubmit"
    WITHDRAW = "withdraw"


@dataclass(frozen=True)
class Transition:
    """One row of the lifecycle table.

    ``permission`` None means only the requester may take the action; ``four_eyes``:
    the requester may not take it, whatever their roles. ``note_required``: the
    requester must be told why (changes asked, rejection).
    """

    action: ConsentAction
    sources: frozenset[ConsentStatus]
    target: ConsentStatus
    permission: Permission | None
    audit: AuditAction
    label: str
    done: str
    note_label: str
    note_required: bool = False
    four_eyes: bool = False
    conditions_required: bool = False

    @property
    def is_decision(self) -> bool:
        return self.permission is Permission.CONSENT_DECIDE

    @property
    def approves(self) -> bool:
        return self.target in APPROVED_STATUSES


TRANSITIONS: Final[dict[ConsentAction, Transition]] = {
    t.action: t
    for t in (
        Transition(
            ConsentAction.APPROVE,
            frozenset({ConsentStatus.SUBMITTED}),
            ConsentStatus.APPROVED,
            Permission.CONSENT_DECIDE,
            AuditAction.CONSENT_APPROVE,
            "Approve",
            "approved",
            "Message to the requester (optional)",
            four_eyes=True,
        ),
        Transition(
            ConsentAction.APPROVE_WITH_CONDITIONS,
            frozenset({ConsentStatus.SUBMITTED}),
            ConsentStatus.APPROVED_WITH_CONDITIONS,
            Permission.CONSENT_DECIDE,
            AuditAction.CONSENT_APPROVE_WITH_CONDITIONS,
            "Approve with conditions",
            "approved with conditions",
            "Message to the requester (optional)",
            four_eyes=True,
            conditions_required=True,
        ),
        Transition(
            ConsentAction.REQUEST_CHANGES,
            frozenset({ConsentStatus.SUBMITTED}),
            ConsentStatus.CHANGES_REQUESTED,
            Permission.CONSENT_DECIDE,
            AuditAction.CONSENT_REQUEST_CHANGES,
            "Ask for changes",
            "sent back for changes",
            "What needs to change?",
            note_required=True,
            four_eyes=True,
        ),
        Transition(
            ConsentAction.REJECT,
            frozenset({ConsentStatus.SUBMITTED, ConsentStatus.CHANGES_REQUESTED}),
            ConsentStatus.REJECTED,
            Permission.CONSENT_DECIDE,
            AuditAction.CONSENT_REJECT,
            "Reject",
            "rejected",
            "Why is it rejected?",
            note_required=True,
            four_eyes=True,
        ),
        Transition(
            ConsentAction.RESUBMIT,
            frozenset({ConsentStatus.CHANGES_REQUESTED}),
            ConsentStatus.SUBMITTED,
            None,
            AuditAction.CONSENT_RESUBMIT,
            "Resubmit",
            "resubmitted",
            "What have you changed? (optional)",
        ),
        Transition(
            ConsentAction.WITHDRAW,
            frozenset({ConsentStatus.SUBMITTED, ConsentStatus.CHANGES_REQUESTED}),
            ConsentStatus.WITHDRAWN,
            None,
            AuditAction.CONSENT_WITHDRAW,
            "Withdraw your request",
            "withdrawn",
            "Why are you withdrawing it? (optional)",
        ),
    )
}
#: The communications team's decisions, in the order the decision form offers them.
DECISIONS: Final = (
    ConsentAction.APPROVE,
    ConsentAction.APPROVE_WITH_CONDITIONS,
    ConsentAction.REQUEST_CHANGES,
    ConsentAction.REJECT,
)
