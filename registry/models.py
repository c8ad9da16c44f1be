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
from registry.channels.models import Channel, ChannelLookalikeKey, ChannelTransition
from registry.db import Base
from registry.monitoring.models import UnauthorisedAccount
from registry.roster.models import AccessReview, AccessReviewItem, RosterGrant
from registry.vault.models import Credential, CredentialReveal, CredentialVersion

__all__ = [
    "AccessReview",
    "AccessReviewItem",
    "ApiToken",
    "AuditAnchor",
    "AuditEvent",
    "Base",
    "Channel",
    "ChannelLookalikeKey",
    "ChannelTransition",
    "Credential",
    "CredentialReveal",
    "CredentialVersion",
    "RecoveryCode",
    "RosterGrant",
    "UnauthorisedAccount",
    "User",
    "UserRole",
    "UserSession",
    "UserTotp",
]
