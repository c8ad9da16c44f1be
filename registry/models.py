"""Every model, imported once so the metadata (and Alembic) sees the whole schema: the
Registry's own here, and each kind of request's through its declaration (:func:`kinds` imports
every ``registry/<package>/kind.py``, and each imports its models)."""

from registry.account_health.models import HealthCheck
from registry.alerts.models import Webhook, WebhookDelivery
from registry.audit.models import AuditAnchor, AuditEvent
from registry.auth.models import (
    ApiToken,
    ProviderLogout,
    RecoveryCode,
    ScimToken,
    User,
    UserIdentity,
    UserRole,
    UserSession,
    UserTotp,
)
from registry.db import Base
from registry.lifecycle.kind import kinds
from registry.monitoring.models import UnauthorisedAccount
from registry.notifications.models import Notification
from registry.reports.models import MonthlyReport
from registry.roster.models import AccessReview, AccessReviewItem, RosterGrant
from registry.uploads.models import Upload, UploadContent
from registry.vault.models import Credential, CredentialReveal, CredentialVersion
from registry.verification.models import PublicFactsVersion

KINDS = kinds()

__all__ = [
    "KINDS",
    "AccessReview",
    "AccessReviewItem",
    "ApiToken",
    "AuditAnchor",
    "AuditEvent",
    "Base",
    "Credential",
    "CredentialReveal",
    "CredentialVersion",
    "HealthCheck",
    "MonthlyReport",
    "Notification",
    "ProviderLogout",
    "PublicFactsVersion",
    "RecoveryCode",
    "RosterGrant",
    "ScimToken",
    "UnauthorisedAccount",
    "Upload",
    "UploadContent",
    "User",
    "UserIdentity",
    "UserRole",
    "UserSession",
    "UserTotp",
    "Webhook",
    "WebhookDelivery",
]
