"""The audit trail in words: what each action means to a person reading the trail.

The trail itself, the CSV export and the API keep the codes (``user:sign_in``); the pages say what
happened. Every :class:`AuditAction` has its phrase here (a test checks it), so a new action cannot be
added without words for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from registry.audit.models import AuditAction

A = AuditAction

#: What happened, as a phrase that follows the person's name ("Alex Smith signed in").
PHRASES: Final[dict[AuditAction, str]] = {
    A.USER_SIGN_IN: "signed in",
    A.USER_SIGN_IN_FAILED: "failed to sign in",
    A.USER_SIGN_OUT: "signed out",
    A.USER_CREATE: "created an account",
    A.USER_ROLES_CHANGE: "changed an account's roles",
    A.USER_DEACTIVATE: "deactivated an account",
    A.USER_REACTIVATE: "reactivated an account",
    A.USER_PASSWORD_CHANGE: "changed a password",
    A.USER_PASSWORD_RESET: "reset a password",
    A.USER_PASSWORD_REHASH: "had a stored password upgraded to a stronger hash",
    A.TOKEN_CREATE: "created an API token",
    A.TOKEN_REVOKE: "revoked an API token",
    A.CHANNEL_REQUEST: "asked for a new channel",
    A.CHANNEL_APPROVE: "approved a channel request",
    A.CHANNEL_REJECT: "rejected a channel request",
    A.CHANNEL_REQUEST_INFO: "asked for more information about a channel request",
    A.CHANNEL_RESUBMIT: "sent a channel request back with changes",
    A.CHANNEL_ACTIVATE: "made a channel live",
    A.CHANNEL_SUSPEND: "suspended a channel",
    A.CHANNEL_REINSTATE: "reinstated a channel",
    A.CHANNEL_RETIRE: "retired a channel",
    A.CHANNEL_WITHDRAW: "withdrew a channel request",
    A.CHANNEL_ADOPT: "adopted an existing account as an official channel",
    A.CHANNEL_IMPORT: "imported channels from a file",
    A.CHANNEL_UPDATE: "changed a channel's details",
    A.CHANNEL_EXPORT: "downloaded the list of channels",
    A.CHANNEL_HEALTH_CHECK: "checked a channel's account health",
    A.UNAUTHORISED_RECORD: "recorded an unauthorised account",
    A.UNAUTHORISED_UPDATE: "updated an unauthorised account",
    A.UNAUTHORISED_TAKEDOWN_REQUESTED: "asked the platform to take down an unauthorised account",
    A.UNAUTHORISED_TAKEN_DOWN: "recorded that an unauthorised account was taken down",
    A.UNAUTHORISED_ADOPTED: "adopted an unauthorised account as official",
    A.UNAUTHORISED_DISMISSED: "dismissed an unauthorised account",
    A.AUDIT_EXPORT: "downloaded the audit trail",
    A.USER_TWO_FACTOR_ENROL: "set up two-factor sign-in",
    A.USER_TWO_FACTOR_RESET: "reset two-factor sign-in",
    A.USER_TWO_FACTOR_FAILED: "entered a wrong two-factor code",
    A.USER_RECOVERY_CODES_CREATE: "made new recovery codes",
    A.USER_RECOVERY_CODE_USED: "signed in with a recovery code",
    A.USER_STEP_UP: "confirmed their identity again for a sensitive action",
    A.USER_IDENTITY_LINK: "linked an account to the identity provider",
    A.USER_BREAK_GLASS: "signed in with a break-glass account",
    A.USER_DETAILS_FROM_PROVIDER: "updated an account's details from the identity provider",
    A.USER_PROVIDER_LOGOUT: "signed out through the identity provider",
    A.USER_PROVIDER_LOGOUT_REFUSED: "refused a sign-out request from the identity provider",
    A.CREDENTIAL_STORE: "stored a credential in custody",
    A.CREDENTIAL_ROTATE: "rotated a credential",
    A.CREDENTIAL_CHANGE: "changed a credential",
    A.CREDENTIAL_REVEAL: "revealed a credential",
    A.CREDENTIAL_SEED_REVEAL: "revealed a two-factor seed",
    A.CREDENTIAL_RECOVERY_CODES_REVEAL: "revealed recovery codes",
    A.CREDENTIAL_TOTP_CODE_SHOWN: "was shown a two-factor code",
    A.CREDENTIAL_COPY: "copied a credential",
    A.CREDENTIAL_REVEAL_REFUSED: "was refused a credential",
    A.CREDENTIAL_ROTATION_REQUIRED: "marked a credential as needing rotation",
    A.CREDENTIAL_EMERGENCY_REVEAL: "revealed a credential under emergency access",
    A.CREDENTIAL_EMERGENCY_TOTP_CODE_SHOWN: "was shown a two-factor code under emergency access",
    A.EMERGENCY_ACCESS_OPEN: "opened emergency access",
    A.EMERGENCY_ACCESS_CLOSE: "closed emergency access",
    A.EMERGENCY_ACCESS_REVIEW: "reviewed an emergency access",
    A.CREDENTIAL_IMPORT: "imported credentials from a file",
    A.CREDENTIAL_IMPORT_CHECKED: "compared a file of credentials with those in custody",
    A.CREDENTIAL_ASSESS: "checked the strength of every stored password",
    A.KEYS_ROTATE: "rotated the encryption keys",
    A.ROSTER_GRANT: "gave someone access to a channel",
    A.ROSTER_REVOKE: "took away someone's access to a channel",
    A.ROSTER_EXPIRE: "ended someone's access to a channel when it expired",
    A.ACCESS_REVIEW_START: "started an access review",
    A.ACCESS_REVIEW_CERTIFY: "confirmed someone's access in an access review",
    A.ACCESS_REVIEW_REVOKE: "took away someone's access in an access review",
    A.ACCESS_REVIEW_FINISH: "finished an access review",
    A.UPLOAD_STORE: "uploaded a file",
    A.UPLOAD_REFUSED: "had a file upload refused",
    A.CONSENT_REQUEST: "asked for consent to use the logo",
    A.CONSENT_UPDATE: "changed a logo consent request",
    A.CONSENT_RESUBMIT: "sent a logo consent request back with changes",
    A.CONSENT_WITHDRAW: "withdrew a logo consent request",
    A.CONSENT_APPROVE: "approved a logo consent request",
    A.CONSENT_APPROVE_WITH_CONDITIONS: "approved a logo consent request with conditions",
    A.CONSENT_REQUEST_CHANGES: "asked for changes to a logo consent request",
    A.CONSENT_REJECT: "rejected a logo consent request",
    A.CONSENT_EXPORT: "downloaded the register of logo consents",
    A.CONSENT_CHECKLIST_CHANGE: "changed the logo consent checklist",
    A.POST_REQUEST: "asked for a promotional post",
    A.POST_UPDATE: "changed a promotional post",
    A.POST_RESUBMIT: "sent a promotional post back with changes",
    A.POST_WITHDRAW: "withdrew a promotional post",
    A.POST_SCREEN: "screened a promotional post",
    A.POST_FINDINGS_ACCEPTED: "accepted the screening findings on a promotional post",
    A.POST_APPROVE: "approved a promotional post",
    A.POST_REQUEST_CHANGES: "asked for changes to a promotional post",
    A.POST_REJECT: "rejected a promotional post",
    A.POST_SCHEDULE: "scheduled a promotional post",
    A.POST_PUBLISH: "recorded a promotional post as published",
    A.NOTIFICATION_SEND: "sent a notification",
    A.REMINDERS_SEND: "sent the daily reminders",
    A.USER_LINE_MANAGER_CHANGE: "changed someone's line manager",
    A.USER_IMPORT: "imported people from a file",
    A.USER_RENAME: "changed someone's name to match the file of people",
    A.MEDIA_CONTACT_REPORT: "reported a media contact",
    A.MEDIA_CONTACT_TRIAGE: "triaged a media contact",
    A.MEDIA_CONTACT_NOTE: "added a note to a media contact",
    A.BREACH_REPORT: "reported a possible policy breach",
    A.BREACH_VIEW: "viewed a breach report",
    A.BREACH_ROUTE: "routed a breach report",
    A.BREACH_RESOLVE: "resolved a breach report",
    A.BREACH_ESCALATE: "escalated a breach report",
    A.BREACH_FLAG: "flagged a breach report",
    A.BREACH_HR_OUTCOME: "recorded the HR outcome of a breach report",
    A.BREACH_CLOSE: "closed a breach report",
    A.BREACH_ANONYMISE: "anonymised a breach report",
    A.RETENTION_APPLY: "applied the retention period",
    A.REPORT_GENERATE: "generated a monthly report",
    A.REPORT_ISSUE: "issued a monthly report",
    A.REPORT_EXPORT: "downloaded a monthly report",
    A.DEMO_SEED: "filled the registry with demonstration data",
    A.ACCOUNT_REQUEST_CREATE: "asked for a change to an account (needs a second person)",
    A.ACCOUNT_REQUEST_APPROVE: "approved a change to an account",
    A.ACCOUNT_REQUEST_REJECT: "rejected a change to an account",
    A.ACCOUNT_REQUEST_CANCEL: "cancelled a request to change an account",
    A.USER_SETUP_LINK: "sent an account set-up link",
    A.USER_SETUP_COMPLETE: "finished setting up an account",
    A.USER_PROFILE_CHANGE: "changed an account's profile",
    A.USER_DEPROVISION: "removed an account (deprovisioned)",
    A.SCIM_TOKEN_CREATE: "created a provisioning (SCIM) token",
    A.SCIM_TOKEN_REVOKE: "revoked a provisioning (SCIM) token",
    A.AUDIT_KEYED: "started sealing the audit trail with a secret key",
    A.WEBHOOK_CREATE: "added a webhook",
    A.WEBHOOK_UPDATE: "changed a webhook",
    A.WEBHOOK_PAUSE: "paused a webhook",
    A.WEBHOOK_RESUME: "resumed a webhook",
    A.WEBHOOK_DELETE: "deleted a webhook",
    A.WEBHOOK_ROLL_SECRET: "changed a webhook's signing secret",
}

#: What the objects the trail names are called (object types without an entry are named from the code).
OBJECT_NOUNS: Final[dict[str, str]] = {
    "user": "Account",
    "api_token": "API token",
    "scim_token": "Provisioning token",
    "channel": "Channel",
    "credential": "Credential",
    "credential_import": "Credential import",
    "unauthorised_account": "Unauthorised account",
    "audit": "Audit trail",
    "vault": "Credential vault",
    "roster_grant": "Channel access",
    "access_review": "Access review",
    "upload": "File",
    "logo_consent": "Logo consent",
    "promotional_post": "Promotional post",
    "media_contact": "Media contact",
    "breach_report": "Breach report",
    "emergency_access": "Emergency access",
    "monthly_report": "Monthly report",
    "account_request": "Account change request",
    "webhook": "Webhook",
    "reminders": "Reminders",
    "retention": "Retention",
    "user_import": "People import",
}


#: What the actions of each subject (the code before the colon) are about, for the page's action filter.
SUBJECTS: Final[dict[str, str]] = {
    "user": "accounts and signing in",
    "token": "API tokens",
    "channel": "channels",
    "unauthorised_account": "unauthorised accounts",
    "audit": "the audit trail",
    "credential": "credentials in custody",
    "emergency_access": "emergency access",
    "keys": "encryption keys",
    "roster": "access to channels",
    "access_review": "access reviews",
    "upload": "uploaded files",
    "consent": "logo consents",
    "post": "promotional posts",
    "notification": "notifications",
    "reminders": "reminders",
    "media_contact": "media contacts",
    "breach": "breach reports",
    "retention": "retention",
    "report": "monthly reports",
    "demo": "demonstration data",
    "account_request": "account change requests",
    "scim_token": "provisioning tokens",
    "webhook": "webhooks",
}


@dataclass(frozen=True)
class ActionGroup:
    """One subject's actions for the filter: ``subject`` finds them all, each action by its code."""

    subject: str
    label: str
    actions: tuple[tuple[str, str], ...]  # (code, phrase with a capital)

    @property
    def heading(self) -> str:
        return self.label[:1].upper() + self.label[1:]


def action_groups() -> list[ActionGroup]:
    """Every action, grouped by subject in the order the vocabulary declares them."""
    grouped: dict[str, list[tuple[str, str]]] = {}
    for action in AuditAction:
        phrased = PHRASES[action]
        grouped.setdefault(action.value.partition(":")[0], []).append((action.value, phrased[:1].upper() + phrased[1:]))
    return [
        ActionGroup(subject, SUBJECTS.get(subject, subject.replace("_", " ")), tuple(actions))
        for subject, actions in grouped.items()
    ]


def is_listed(action: str) -> bool:
    """Whether the action filter's list offers ``action`` (a code, or a subject for all of its actions)."""
    return action in SUBJECTS or action in {a.value for a in AuditAction}


def phrase(action: str) -> str:
    """What ``action`` (a code) means; an unknown code (from a newer or older version) is shown as it is."""
    try:
        return PHRASES[AuditAction(action)]
    except ValueError:
        return action


def noun(object_type: str) -> str:
    return OBJECT_NOUNS.get(object_type) or object_type.replace("_", " ").capitalize()
