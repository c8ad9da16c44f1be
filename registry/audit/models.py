"""The audit trail: append-only, hash-chained events and the anchor of the chain's head."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from registry.db import Base, BigIntId, UTCDateTime, bigpk, indexes

GENESIS_HASH = "0" * 64


class AuditAction(StrEnum):
    """The vocabulary of audited actions: ``subject:action``."""

    USER_SIGN_IN = "user:sign_in"
    USER_SIGN_IN_FAILED = "user:sign_in_failed"
    USER_SIGN_OUT = "user:sign_out"
    USER_CREATE = "user:create"
    USER_ROLES_CHANGE = "user:roles_change"
    USER_DEACTIVATE = "user:deactivate"
    USER_REACTIVATE = "user:reactivate"
    USER_PASSWORD_CHANGE = "user:password_change"
    USER_PASSWORD_RESET = "user:password_reset"
    USER_PASSWORD_REHASH = "user:password_rehash"
    TOKEN_CREATE = "token:create"
    TOKEN_REVOKE = "token:revoke"
    CHANNEL_REQUEST = "channel:request"
    CHANNEL_APPROVE = "channel:approve"
    CHANNEL_REJECT = "channel:reject"
    CHANNEL_REQUEST_INFO = "channel:request_info"
    CHANNEL_RESUBMIT = "channel:resubmit"
    CHANNEL_ACTIVATE = "channel:activate"
    CHANNEL_SUSPEND = "channel:suspend"
    CHANNEL_REINSTATE = "channel:reinstate"
    CHANNEL_RETIRE = "channel:retire"
    CHANNEL_WITHDRAW = "channel:withdraw"
    CHANNEL_ADOPT = "channel:adopt"
    CHANNEL_IMPORT = "channel:import"
    CHANNEL_UPDATE = "channel:update"
    CHANNEL_EXPORT = "channel:export"
    CHANNEL_HEALTH_CHECK = "channel:health_check"
    UNAUTHORISED_RECORD = "unauthorised_account:record"
    UNAUTHORISED_UPDATE = "unauthorised_account:update"
    UNAUTHORISED_TAKEDOWN_REQUESTED = "unauthorised_account:takedown_requested"
    UNAUTHORISED_TAKEN_DOWN = "unauthorised_account:taken_down"
    UNAUTHORISED_ADOPTED = "unauthorised_account:adopted"
    UNAUTHORISED_DISMISSED = "unauthorised_account:dismissed"
    AUDIT_EXPORT = "audit:export"
    USER_TWO_FACTOR_ENROL = "user:two_factor_enrol"
    USER_TWO_FACTOR_RESET = "user:two_factor_reset"
    USER_TWO_FACTOR_FAILED = "user:two_factor_failed"
    USER_RECOVERY_CODES_CREATE = "user:recovery_codes_create"
    USER_RECOVERY_CODE_USED = "user:recovery_code_used"
    USER_STEP_UP = "user:step_up"
    USER_IDENTITY_LINK = "user:identity_link"
    USER_BREAK_GLASS = "user:break_glass"
    USER_DETAILS_FROM_PROVIDER = "user:details_from_provider"
    USER_PROVIDER_LOGOUT = "user:provider_logout"
    USER_PROVIDER_LOGOUT_REFUSED = "user:provider_logout_refused"
    CREDENTIAL_STORE = "credential:store"
    CREDENTIAL_ROTATE = "credential:rotate"
    CREDENTIAL_CHANGE = "credential:change"
    CREDENTIAL_REVEAL = "credential:reveal"
    CREDENTIAL_SEED_REVEAL = "credential:seed_reveal"
    CREDENTIAL_RECOVERY_CODES_REVEAL = "credential:recovery_codes_reveal"
    CREDENTIAL_TOTP_CODE_SHOWN = "credential:totp_code_shown"
    CREDENTIAL_COPY = "credential:copy"
    CREDENTIAL_REVEAL_REFUSED = "credential:reveal_refused"
    CREDENTIAL_ROTATION_REQUIRED = "credential:rotation_required"
    # A secret seen under a break-glass emergency access (registry/breakglass): details name the access.
    CREDENTIAL_EMERGENCY_REVEAL = "credential:emergency_reveal"
    CREDENTIAL_EMERGENCY_TOTP_CODE_SHOWN = "credential:emergency_totp_code_shown"
    EMERGENCY_ACCESS_OPEN = "emergency_access:open"
    EMERGENCY_ACCESS_CLOSE = "emergency_access:close"
    EMERGENCY_ACCESS_REVIEW = "emergency_access:review"
    # Existing secrets taken into custody from a KeePass, Bitwarden or CSV file (issue 13): the import
    # itself, with its counts; each secret stored has its own credential:store (or rotate/change) event.
    CREDENTIAL_IMPORT = "credential:import"
    # A preview of such an import compared the file's values with stored secrets: which, and whether each was
    # the same, so that checking a guessed value against custody leaves a trace as a reveal does.
    CREDENTIAL_IMPORT_CHECKED = "credential:import_checked"
    # `credentials assess` decrypted every current password in memory to work out its health (counts only).
    CREDENTIAL_ASSESS = "credential:assess"
    KEYS_ROTATE = "keys:rotate"
    ROSTER_GRANT = "roster:grant"
    ROSTER_REVOKE = "roster:revoke"
    ROSTER_EXPIRE = "roster:expire"
    ACCESS_REVIEW_START = "access_review:start"
    ACCESS_REVIEW_CERTIFY = "access_review:certify"
    ACCESS_REVIEW_REVOKE = "access_review:revoke"
    ACCESS_REVIEW_FINISH = "access_review:finish"
    UPLOAD_STORE = "upload:store"
    UPLOAD_REFUSED = "upload:refused"
    CONSENT_REQUEST = "consent:request"
    CONSENT_UPDATE = "consent:update"
    CONSENT_RESUBMIT = "consent:resubmit"
    CONSENT_WITHDRAW = "consent:withdraw"
    CONSENT_APPROVE = "consent:approve"
    CONSENT_APPROVE_WITH_CONDITIONS = "consent:approve_with_conditions"
    CONSENT_REQUEST_CHANGES = "consent:request_changes"
    CONSENT_REJECT = "consent:reject"
    CONSENT_EXPORT = "consent:export"
    CONSENT_CHECKLIST_CHANGE = "consent:checklist_change"
    POST_REQUEST = "post:request"
    POST_UPDATE = "post:update"
    POST_RESUBMIT = "post:resubmit"
    POST_WITHDRAW = "post:withdraw"
    POST_SCREEN = "post:screen"
    POST_FINDINGS_ACCEPTED = "post:findings_accepted"
    POST_APPROVE = "post:approve"
    POST_REQUEST_CHANGES = "post:request_changes"
    POST_REJECT = "post:reject"
    POST_SCHEDULE = "post:schedule"
    POST_PUBLISH = "post:publish"
    NOTIFICATION_SEND = "notification:send"
    REMINDERS_SEND = "reminders:send"
    USER_LINE_MANAGER_CHANGE = "user:line_manager_change"
    # Joiners and movers from a CSV file (issue 11): the import itself, with its counts, and a name brought
    # into line with the file (each user's other changes have their usual events).
    USER_IMPORT = "user:import"
    USER_RENAME = "user:rename"
    MEDIA_CONTACT_REPORT = "media_contact:report"
    MEDIA_CONTACT_TRIAGE = "media_contact:triage"
    MEDIA_CONTACT_NOTE = "media_contact:note"
    BREACH_REPORT = "breach:report"
    BREACH_VIEW = "breach:view"
    BREACH_ROUTE = "breach:route"
    BREACH_RESOLVE = "breach:resolve"
    BREACH_ESCALATE = "breach:escalate"
    BREACH_FLAG = "breach:flag"
    BREACH_HR_OUTCOME = "breach:hr_outcome"
    BREACH_CLOSE = "breach:close"
    BREACH_ANONYMISE = "breach:anonymise"
    RETENTION_APPLY = "retention:apply"
    REPORT_GENERATE = "report:generate"
    REPORT_ISSUE = "report:issue"
    REPORT_EXPORT = "report:export"
    DEMO_SEED = "demo:seed"
    # Separation of duties (issue 9): privileged changes to an account are four-eyes requests.
    ACCOUNT_REQUEST_CREATE = "account_request:create"
    ACCOUNT_REQUEST_APPROVE = "account_request:approve"
    ACCOUNT_REQUEST_REJECT = "account_request:reject"
    ACCOUNT_REQUEST_CANCEL = "account_request:cancel"
    USER_SETUP_LINK = "user:setup_link"
    USER_SETUP_COMPLETE = "user:setup_complete"
    # Provisioning by the identity provider (SCIM 2.0, issue 11).
    USER_PROFILE_CHANGE = "user:profile_change"
    USER_DEPROVISION = "user:deprovision"
    SCIM_TOKEN_CREATE = "scim_token:create"
    SCIM_TOKEN_REVOKE = "scim_token:revoke"
    # The audit trail's own integrity: the switch to keyed (HMAC) links. (A signed checkpoint is not an
    # event: it only reads the trail, and its record is the checkpoint file and the log.)
    AUDIT_KEYED = "audit:keyed"
    # Outgoing webhooks for alerts (issue 14).
    WEBHOOK_CREATE = "webhook:create"
    WEBHOOK_UPDATE = "webhook:update"
    WEBHOOK_PAUSE = "webhook:pause"
    WEBHOOK_RESUME = "webhook:resume"
    WEBHOOK_DELETE = "webhook:delete"
    WEBHOOK_ROLL_SECRET = "webhook:roll_secret"


class AuditEvent(Base):
    """One audited change. Never updated or deleted (database triggers refuse it).

    ``hash`` links the event to the one before: an HMAC-SHA256 under the audit key
    ``key_id`` over the chain id, the previous hash and this event's canonical form, so an
    edit, a deletion or a rewritten tail breaks the chain for anyone without the key.
    Events written before keyed links (``key_id`` NULL) keep their plain SHA-256 hash.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        # An object's or an action's events newest first, read from the index a page at a time
        # (the audit pages, registry.audit.services.search_events), and counted from it alone.
        Index("ix_audit_events_object_seq", "object_type", "object_id", "seq"),
        Index("ix_audit_events_action_seq", "action", "seq"),
        *indexes("occurred_at", "actor_id"),
    )

    id: Mapped[bigpk]
    seq: Mapped[int] = mapped_column(BigIntId, unique=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(String(300))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_id: Mapped[str | None] = mapped_column(String(32))

    @property
    def object_label(self) -> str:
        return f"{self.object_type} {self.object_id}"


class AuditAnchor(Base):
    """The chain's head, kept outside the events table so truncation shows.

    ``chain_id`` names this database's chain in signed checkpoints; ``head_key_id`` is the
    audit key of the head event (NULL while the head is the genesis or an unkeyed event).
    """

    __tablename__ = "audit_anchor"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigIntId)
    head_hash: Mapped[str] = mapped_column(String(64))
    chain_id: Mapped[str] = mapped_column(String(36))
    head_key_id: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
