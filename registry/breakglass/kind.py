"""Emergency accesses as a kind of request: the declaration the request engine runs.

What is the kind's own: its window (an open access whose time ran out awaits review without anything
having to run: :meth:`EmergencyAccesses.waiting_for_comms` reads the time), the four-eyes review, and
the secrets seen under it flagged for rotation again when it closes (they were flagged as they were seen).
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import Select, select

from registry import db
from registry.auth.models import User
from registry.breakglass.models import EmergencyAccess, EmergencyAccessStep
from registry.breakglass.workflow import UNREVIEWED, AccessAction, AccessStatus
from registry.errors import Conflict
from registry.lifecycle.kind import Change, RequestKind, Waiting, WorkItem
from registry.lifecycle.table import Transition
from registry.notifications import services as notifications
from registry.text import uk_datetime
from registry.vault import services as custody
from registry.vault.models import Credential, CredentialReveal, RevealAction

#: What a reveal under an emergency access is recorded as.
EMERGENCY_ACTIONS: Final = (RevealAction.EMERGENCY_REVEAL.value, RevealAction.EMERGENCY_TOTP_CODE.value)


class EmergencyAccesses(RequestKind[EmergencyAccess]):
    """Its words, settings and report section are in breakglass/lifecycle.toml ([kind], [report])."""

    model = EmergencyAccess
    step_model = EmergencyAccessStep

    def not_permitted(self, t: Transition[Any, Any]) -> str:
        return "Only the communications team can review an emergency access."

    def requester_only(self, t: Transition[Any, Any]) -> str:
        return "Only the person who opened an emergency access can close it."

    def check_more(self, actor: User, request: EmergencyAccess, t: Transition[Any, Any]) -> None:
        if t.action is AccessAction.REVIEW and request.is_live:
            raise Conflict(
                f"{request.reference} is open until {uk_datetime(request.ends_at)}: it can be reviewed once "
                "it has been closed or its time has run out."
            )
        if t.action is AccessAction.CLOSE and not request.is_live:
            raise Conflict(f"{request.reference} has already ended.")

    def apply(self, change: Change[EmergencyAccess]) -> None:
        access = change.request
        # Each secret was flagged as it was seen; flag again any whose seen value is still current (a
        # no-op unless a flag was lost), so none seen under the access outlives it unflagged.
        seen = seen_under(access)
        if seen:
            custody.mark_rotation_required(seen, f"Emergency access {access.reference}", actor=change.actor)
        change.details["channel"] = access.channel.reference
        if change.transition.action is AccessAction.CLOSE:
            access.ends_at = change.now
        else:
            access.reviewed_at = change.now
            access.reviewed_by_id = change.actor.id
            access.review_notes = change.note

    def notify(self, change: Change[EmergencyAccess]) -> None:
        access = change.request
        if change.transition.action is AccessAction.CLOSE:
            notifications.notify_comms(
                event="emergency_access:close",
                subject=f"Emergency access {access.reference} to {access.channel.reference} closed: review it",
                body=(
                    f"{access.requester.name} closed emergency access {access.reference} to "
                    f"{access.channel.reference} ({access.channel.display_name}). "
                    f"{access.reveals} secret{'s were' if access.reveals != 1 else ' was'} shown under it.\n\n"
                    "Rotate the secrets marked for rotation, then record the post-incident review."
                ),
                link=self.link(access),
            )

    def waiting_for_comms(self) -> Waiting:
        """Every access not yet reviewed whose window has ended (closed early, or run out), since it ended."""
        return Waiting(UNREVIEWED, EmergencyAccess.ends_at, due=EmergencyAccess.ends_at)

    def work_item(self, request: EmergencyAccess, *, for_comms: bool) -> WorkItem:
        return WorkItem(
            kind=self.label,
            reference=request.reference,
            title=f"{request.channel.reference} {request.channel.display_name}: incident {request.incident_reference}",
            status_label="Awaiting review",
            waiting_since=request.ends_at,
            url=self.link(request),
            requester=request.requester.name,
        )


def under(access: EmergencyAccess, *columns: Any) -> Select[Any]:
    """The emergency reveals (and refusals) of ``access``: by the person who opened it, on its channel,
    in its window; selecting ``columns`` (the reveals themselves when none are given)."""
    return (
        select(*(columns or (CredentialReveal,)))
        .join(Credential, Credential.id == CredentialReveal.credential_id)
        .where(
            Credential.channel_id == access.channel_id,
            CredentialReveal.user_id == access.requester_id,
            CredentialReveal.action.in_(EMERGENCY_ACTIONS),
            CredentialReveal.occurred_at >= access.opened_at,
            CredentialReveal.occurred_at <= access.ends_at,
        )
    )


def seen_under(access: EmergencyAccess) -> list[Credential]:
    """The channel's secrets whose current value was shown under ``access``; one statement."""
    shown = under(access, CredentialReveal.credential_id).where(custody.exposes_current_value())
    return list(db.session().execute(select(Credential).where(Credential.id.in_(shown))).unique().scalars())


KIND: Final = EmergencyAccesses()

__all__ = ["KIND", "AccessStatus", "seen_under"]
