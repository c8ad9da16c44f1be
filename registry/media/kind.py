"""Media contacts as a kind of request: the declaration the request engine runs.

What is the media contact's own: advice to the reporter (required, optional or not taken by
each transition, kept as the approach's current advice and sent to the reporter), the team's
notes (never shown to the reporter), and what the reporter is told at each step.
"""

from __future__ import annotations

from typing import Any, Final

from registry import db
from registry.audit.models import AuditAction
from registry.audit.services import record
from registry.auth.models import User
from registry.auth.permissions import Permission
from registry.errors import Invalid, NotPermitted
from registry.lifecycle import engine
from registry.lifecycle.kind import Change, RequestKind, WorkItem
from registry.lifecycle.table import Need, Status, Transition
from registry.media.models import (
    MediaContact,
    MediaContactEvidence,
    MediaContactStep,
)
from registry.media.workflow import (
    NOTE,
    MediaContactStatus,
    Triage,
)
from registry.notifications import services as notifications
from registry.text import clean, masked, uk_datetime

ADVICE_MAX: Final = 4000
NOTE_MAX: Final = 2000

#: What the reporter's own list says at each open status.
_FOR_REPORTER: Final = {
    MediaContactStatus.REPORTED: "Waiting for the communications team: do not respond yet",
    MediaContactStatus.ACKNOWLEDGED: "Acknowledged: do not respond yet",
    MediaContactStatus.ADVICE_GIVEN: "Advice given: read it before you do anything",
    MediaContactStatus.COMMS_RESPONDING: "The communications team is responding",
}


class MediaContacts(RequestKind[MediaContact]):
    """Its words, settings and report section are in media/lifecycle.toml ([kind], [report])."""

    model = MediaContact
    step_model = MediaContactStep
    note_max = NOTE_MAX
    files_model = MediaContactEvidence

    def not_permitted(self, t: Transition[Any, Any]) -> str:
        return "Only the communications team can triage a media contact."

    def wrong_state(self, request: MediaContact, status: Status, t: Transition[Any, Any]) -> str:
        allowed = " or ".join(sorted(s.label.lower() for s in t.sources))
        return (
            f"{request.reference} is {status.phrase}, so it cannot be {t.done} now. "
            f"Only an approach that is {allowed} can be {t.done}."
        )

    def validate(self, change: Change[MediaContact]) -> None:
        t = change.transition
        assert isinstance(t, Triage)
        advice = clean(change.inputs.get("advice"))
        if t.advice is Need.REQUIRED and not advice:
            change.errors["advice"] = (
                f"Write your advice to {change.request.reporter.name}: what they should and should not do"
            )
        elif t.advice is Need.NONE and advice:
            change.errors["advice"] = (
                "Advice is sent only when giving advice or when the communications team will respond: "
                "clear it, or choose one of those"
            )
        elif len(advice) > ADVICE_MAX:
            change.errors["advice"] = f"It must be {ADVICE_MAX} characters or fewer"
        change.inputs["advice"] = advice

    def apply(self, change: Change[MediaContact]) -> None:
        contact, advice = change.request, change.inputs["advice"]
        if advice:
            contact.advice = advice
            contact.advised_at = change.now
            contact.advised_by = change.actor
            change.details["advice"] = masked(advice)
            change.step["advice"] = advice
        if change.transition.target is MediaContactStatus.CLOSED:
            contact.closed_at = change.now

    def notify(self, change: Change[MediaContact]) -> None:
        contact, t, advice = change.request, change.transition, change.inputs["advice"]
        assert isinstance(t, Triage)
        ref = contact.reference
        body = (
            f"Your media approach {ref} ({masked(contact.who)} on {contact.platform_label}) is now: {t.target.label}."
        )
        if advice:
            shown = masked(advice)
            body += f"\n\nAdvice from the communications team:\n{shown}"
            if shown != advice:
                body += (
                    "\n\n(Details that could identify someone are hidden here: open the approach to read it in full.)"
                )
        if t.target is MediaContactStatus.COMMS_RESPONDING:
            body += "\n\nThe communications team will respond on the Trust's behalf: do not respond yourself."
        elif t.target is not MediaContactStatus.CLOSED and not advice:
            body += "\n\nDo not respond until the communications team has advised you (policy 8.1)."
        notifications.notify(
            contact.reporter,
            event=f"media_contact:{t.action.value}",
            subject=t.tells_reporter.format(ref=ref),
            body=body,
            link=self.link(contact),
        )

    def offered(self, actor: User, request: MediaContact) -> list[str]:
        """The allowed triage actions, then a note (always, for the team)."""
        if not actor.can(Permission.MEDIA_CONTACT_TRIAGE):
            return []
        return [*super().offered(actor, request), NOTE]

    def work_item(self, request: MediaContact, *, for_comms: bool) -> WorkItem:
        title = f"{request.who} on {request.platform_label}"
        if request.deadline_at is not None and request.is_open:
            title += f" (deadline {uk_datetime(request.deadline_at)})"
        status = request.status_enum
        return WorkItem(
            kind=self.label,
            reference=request.reference,
            title=title,
            status_label=status.label if for_comms else _FOR_REPORTER[status],
            waiting_since=request.status_changed_at,
            url=self.link(request),
            requester=request.reporter.name,
            needs_you=not for_comms and status in self.waiting_on_requester,
        )


KIND: Final = MediaContacts()


def triage(
    contact: MediaContact, action: str, actor: User, *, advice: str | None = None, note: str | None = None
) -> MediaContact:
    """The communications team moves an approach on (or, with ``action`` "note", notes something).

    Advice is written to the reporter, kept as the approach's current advice and sent to
    them; the note stays with the team. The reporter is told of every change of status.
    """
    if action == NOTE:
        return add_note(contact, actor, note, advice=advice)
    return engine.apply(KIND, contact, action, actor, note=note, advice=advice)


def add_note(contact: MediaContact, actor: User, note: str | None, *, advice: str | None = None) -> MediaContact:
    """A note of the team's (seen by the team and auditors, not the reporter); the status stays."""
    if not actor.can(Permission.MEDIA_CONTACT_TRIAGE):
        raise NotPermitted("Only the communications team can add notes to a media contact.")
    contact = KIND.get(contact.reference, for_update=True)
    errors: dict[str, str] = {}
    text = clean(note)
    if not text:
        errors["note"] = "Write the note"
    elif len(text) > NOTE_MAX:
        errors["note"] = f"The note must be {NOTE_MAX} characters or fewer"
    if clean(advice):
        errors["advice"] = (
            'A note is not sent to the member of staff: to advise them, choose "Give advice to the member of staff"'
        )
    if errors:
        raise Invalid(errors)
    contact.updated_at = db.utcnow()
    engine.add_step(KIND, contact, NOTE, contact.status, actor, note=text, now=contact.updated_at)
    record(AuditAction.MEDIA_CONTACT_NOTE, KIND.name, contact.reference, {"note": masked(text)}, actor=actor)
    db.session().flush()
    return contact
