"""Every model, imported once so the metadata (and Alembic) sees the whole schema."""

from registry.audit.models import AuditAnchor, AuditEvent
from registry.auth.models import ApiToken, User, UserRole, UserSession
from registry.channels.models import Channel, ChannelLookalikeKey, ChannelTransition
from registry.db import Base
from registry.monitoring.models import UnauthorisedAccount

__all__ = [
    "ApiToken",
    "AuditAnchor",
    "AuditEvent",
    "Base",
    "Channel",
    "ChannelLookalikeKey",
    "ChannelTransition",
    "UnauthorisedAccount",
    "User",
    "UserRole",
    "UserSession",
]
