"""Asking for consent (policy 6.8): a member of staff's request as first recorded, with its
artwork, its audit event and the message to the communications team."""

from __future__ import annotations

from collections.abc import Iterable

from werkzeug.datastructures import FileStorage

from registry import clock, db
from registry.audit.models import AuditAction
from registry.auth.models import User
from registry.consent.answers import REQUIRED_MESSAGES, ConsentRequest, check_request
from registry.consent.kind import KIND
from registry.consent.models import LogoConsent, LogoConsentMedium
from registry.consent.workflow import ConsentStatus
from registry.lifecycle import engine
from registry.notifications import services as notifications
from registry.text import masked, uk_date
from registry.uploads import services as uploads


def request_consent(data: ConsentRequest, artwork: Iterable[FileStorage], requester: User) -> LogoConsent:
    """A member of staff asks for consent to use the Trust's identity (policy 6.8)."""
    checked, errors = check_request(data, clock.today())
    files = uploads.chosen_files(artwork)
    if not files:
        errors["artwork"] = REQUIRED_MESSAGES["artwork"]
    stored = uploads.store_all(files, actor=requester, field="artwork", errors=errors)
    assert checked is not None
    session = db.session()
    now = db.utcnow()
    consent = KIND.new(
        requester,
        ConsentStatus.SUBMITTED,
        now,
        **checked.columns(),
        submitted_at=now,
        media_rows=[LogoConsentMedium(medium=m.value) for m in checked.media],
    )
    session.add(consent)
    session.flush()
    attached = KIND.attach(consent, stored, now)
    engine.opened(
        KIND,
        consent,
        "submit",
        requester,
        now=now,
        audit=AuditAction.CONSENT_REQUEST,
        details={
            "title": masked(consent.title),
            "department": masked(consent.department),
            "asset": consent.asset,
            "media": [m.value for m in checked.media],
            "partner_involved": consent.partner_involved,
            "starts_on": consent.starts_on,
            "ends_on": consent.ends_on,
            "artwork": attached,
        },
    )
    notifications.notify_comms(
        event="consent:submitted",
        subject=f"Logo consent request {consent.request_reference}: {masked(consent.title)}",
        body=(
            f'{requester.name} asks to use {consent.asset_enum.phrase} for "{masked(consent.title)}" '
            f"({', '.join(m.label.lower() for m in checked.media)}), "
            f"from {uk_date(consent.starts_on)} to {uk_date(consent.ends_on)}. "
            "Check the artwork against the NHS identity checklist and decide."
        ),
        link=KIND.link(consent),
        exclude=requester,
    )
    session.flush()
    return consent
