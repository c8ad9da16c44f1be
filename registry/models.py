"""Every model, imported once so the metadata (and Alembic) sees the whole schema."""

from registry.audit.models import AuditAnchor, AuditEvent
from registry.auth.models import (
    ApiToken,
    RecoveryCode,
    User,
    UserRole,
    UserSession,
    UserTotp,
)
from registry.breaches.models import (
    BreachEvidence,
    BreachReport,
    BreachReportClause,
    BreachStep,
    PolicyClause,
)
from registry.channels.models import Channel, ChannelLookalikeKey, ChannelTransition
from registry.consent.models import (
    ConsentChecklistItem,
    ConsentReferenceCounter,
    LogoConsent,
    LogoConsentArtwork,
    LogoConsentCheck,
    LogoConsentMedium,
    LogoConsentStep,
)
from registry.db import Base
from registry.media.models import MediaContact, MediaContactEvidence, MediaContactStep
from registry.monitoring.models import UnauthorisedAccount
from registry.notifications.models import Notification
from registry.posts.models import (
    PostFinding,
    PostImage,
    PostTarget,
    PostTransition,
    PromotionalPost,
)
from registry.reports.models import MonthlyReport
from registry.roster.models import AccessReview, AccessReviewItem, RosterGrant
from registry.uploads.models import Upload
from registry.vault.models import Credential, CredentialReveal, CredentialVersion

__all__ = [
    "AccessReview",
    "AccessReviewItem",
    "ApiToken",
    "AuditAnchor",
    "AuditEvent",
    "Base",
    "BreachEvidence",
    "BreachReport",
    "BreachReportClause",
    "BreachStep",
    "Channel",
    "ChannelLookalikeKey",
    "ChannelTransition",
    "ConsentChecklistItem",
    "ConsentReferenceCounter",
    "Credential",
    "CredentialReveal",
    "CredentialVersion",
    "LogoConsent",
    "LogoConsentArtwork",
    "LogoConsentCheck",
    "LogoConsentMedium",
    "LogoConsentStep",
    "MediaContact",
    "MediaContactEvidence",
    "MediaContactStep",
    "MonthlyReport",
    "Notification",
    "PolicyClause",
    "PostFinding",
    "PostImage",
    "PostTarget",
    "PostTransition",
    "PromotionalPost",
    "RecoveryCode",
    "RosterGrant",
    "UnauthorisedAccount",
    "Upload",
    "User",
    "UserRole",
    "UserSession",
    "UserTotp",
]
