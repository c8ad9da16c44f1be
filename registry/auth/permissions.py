"""Who may do what: roles, the permission vocabulary and route declarations.

Every view declares one permission with :func:`requires` or is marked
:func:`public`; ``registry.auth.guard`` enforces the declaration before the view
runs and refuses any route that declares nothing. Object-level rules (the
four-eyes rule, "only the requester may withdraw") live in the services.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any, Final, TypeVar

from registry.text import Labelled

F = TypeVar("F", bound=Callable[..., Any])


class Role(Labelled):
    STAFF = "staff", "Staff"
    MANAGER = "manager", "Line manager"
    COMMS = "comms", "Communications team"
    AUDITOR = "auditor", "Auditor"
    ADMIN = "admin", "System administrator"
    HR = "hr", "Human resources"
    ON_CALL = "on-call", "On call (break-glass access)"


class Permission(StrEnum):
    """``resource:action`` names; a route declares exactly one."""

    DASHBOARD_VIEW = "dashboard:view"
    ACCOUNT_MANAGE_OWN = "account:manage_own"
    CHANNEL_REQUEST = "channel:request"
    CHANNEL_LIST = "channel:list"
    CHANNEL_READ_ALL = "channel:read_all"
    CHANNEL_DECIDE = "channel:decide"
    CHANNEL_OPERATE = "channel:operate"
    CHANNEL_EDIT = "channel:edit"
    CHANNEL_EXPORT = "channel:export"
    MONITORING_READ = "monitoring:read"
    MONITORING_MANAGE = "monitoring:manage"
    AUDIT_READ = "audit:read"
    USER_MANAGE = "user:manage"
    CREDENTIAL_READ = "credential:read"
    CREDENTIAL_MANAGE = "credential:manage"
    CREDENTIAL_REVEAL = "credential:reveal"
    ROSTER_READ = "roster:read"
    ROSTER_MANAGE = "roster:manage"
    REVIEW_MANAGE = "access_review:manage"
    CONSENT_REQUEST = "consent:request"
    CONSENT_READ_ALL = "consent:read_all"
    CONSENT_DECIDE = "consent:decide"
    CONSENT_CHECKLIST_MANAGE = "consent:checklist_manage"
    POST_REQUEST = "post:request"
    POST_READ_ALL = "post:read_all"
    POST_DECIDE = "post:decide"
    SCREEN_TEXT = "screen:text"
    WORK_QUEUE = "work_queue:view"
    OUTBOX_READ = "outbox:read"
    MEDIA_CONTACT_REPORT = "media_contact:report"
    MEDIA_CONTACT_READ_ALL = "media_contact:read_all"
    MEDIA_CONTACT_TRIAGE = "media_contact:triage"
    BREACH_REPORT = "breach:report"
    BREACH_MANAGE = "breach:manage"  # line managers: cases assigned to them
    BREACH_ROUTE = "breach:route"  # comms: cases with no manager to route, and those flagged (9.3)
    BREACH_HR = "breach:hr"  # HR: escalated cases
    BREACH_READ_ALL = "breach:read_all"  # auditors
    REPORT_READ = "report:read"
    REPORT_MANAGE = "report:manage"
    WEBHOOK_READ = "webhook:read"  # administrators and auditors: the webhooks and their deliveries
    WEBHOOK_MANAGE = "webhook:manage"  # administrators: create, edit, pause, delete, roll the secret
    BREAK_GLASS_OPEN = "break_glass:open"  # on-call and comms: open an emergency access, use one's own
    BREAK_GLASS_VIEW = "break_glass:view"  # on-call (their own), comms and auditors (every one): an access's page
    BREAK_GLASS_READ_ALL = "break_glass:read_all"  # comms and auditors: every emergency access
    BREAK_GLASS_REVIEW = "break_glass:review"  # comms: the post-incident review (four-eyes)


_EVERYONE: Final = frozenset(
    {
        Permission.DASHBOARD_VIEW,
        Permission.ACCOUNT_MANAGE_OWN,
        Permission.CHANNEL_REQUEST,
        Permission.CHANNEL_LIST,
        Permission.CONSENT_REQUEST,
        Permission.POST_REQUEST,
        Permission.SCREEN_TEXT,
        Permission.MEDIA_CONTACT_REPORT,
        Permission.BREACH_REPORT,
    }
)

ROLE_PERMISSIONS: Final[dict[Role, frozenset[Permission]]] = {
    Role.STAFF: _EVERYONE,
    Role.MANAGER: _EVERYONE | {Permission.BREACH_MANAGE},
    Role.COMMS: _EVERYONE
    | {
        Permission.CHANNEL_READ_ALL,
        Permission.CHANNEL_DECIDE,
        Permission.CHANNEL_OPERATE,
        Permission.CHANNEL_EDIT,
        Permission.CHANNEL_EXPORT,
        Permission.MONITORING_READ,
        Permission.MONITORING_MANAGE,
        Permission.AUDIT_READ,
        Permission.CREDENTIAL_READ,
        Permission.CREDENTIAL_MANAGE,
        Permission.CREDENTIAL_REVEAL,
        Permission.ROSTER_READ,
        Permission.ROSTER_MANAGE,
        Permission.REVIEW_MANAGE,
        Permission.CONSENT_READ_ALL,
        Permission.CONSENT_DECIDE,
        Permission.CONSENT_CHECKLIST_MANAGE,
        Permission.POST_READ_ALL,
        Permission.POST_DECIDE,
        Permission.WORK_QUEUE,
        Permission.MEDIA_CONTACT_READ_ALL,
        Permission.MEDIA_CONTACT_TRIAGE,
        Permission.BREACH_ROUTE,
        Permission.REPORT_READ,
        Permission.REPORT_MANAGE,
        Permission.BREAK_GLASS_OPEN,
        Permission.BREAK_GLASS_VIEW,
        Permission.BREAK_GLASS_READ_ALL,
        Permission.BREAK_GLASS_REVIEW,
    },
    Role.AUDITOR: _EVERYONE
    | {
        Permission.CHANNEL_READ_ALL,
        Permission.CHANNEL_EXPORT,
        Permission.MONITORING_READ,
        Permission.AUDIT_READ,
        Permission.CREDENTIAL_READ,
        Permission.ROSTER_READ,
        Permission.CONSENT_READ_ALL,
        Permission.POST_READ_ALL,
        Permission.MEDIA_CONTACT_READ_ALL,
        Permission.BREACH_READ_ALL,
        Permission.REPORT_READ,
        Permission.WEBHOOK_READ,
        Permission.BREAK_GLASS_VIEW,
        Permission.BREAK_GLASS_READ_ALL,
    },
    Role.HR: _EVERYONE | {Permission.BREACH_HR},
    # Policy 7.2 holds out of hours too: nothing in custody but an emergency access of their own
    # (registry/breakglass), never storing, rotating, the rosters or the credentials overview.
    Role.ON_CALL: _EVERYONE | {Permission.BREAK_GLASS_OPEN, Permission.BREAK_GLASS_VIEW},
    Role.ADMIN: _EVERYONE
    | {
        Permission.USER_MANAGE,
        Permission.AUDIT_READ,
        Permission.OUTBOX_READ,
        Permission.WEBHOOK_READ,
        Permission.WEBHOOK_MANAGE,
    },
}


#: Roles whose holders must use two-factor sign-in before anything beyond the everyday.
TWO_FACTOR_ROLES: Final = frozenset({Role.COMMS, Role.ADMIN, Role.HR, Role.AUDITOR, Role.ON_CALL})
#: Roles that reach secrets, special-category data or other people's accounts: an administrator's grant of
#: one takes effect only when a second administrator approves it (the four-eyes rule for accounts).
PRIVILEGED_ROLES: Final = frozenset({Role.COMMS, Role.ADMIN, Role.AUDITOR, Role.HR, Role.ON_CALL})
EVERYDAY: Final = _EVERYONE


def permissions_for(roles: set[Role] | frozenset[Role]) -> frozenset[Permission]:
    granted: set[Permission] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS[role]
    return frozenset(granted)


class _Public:
    """The declaration of a route that anyone, signed in or not, may use."""

    def __repr__(self) -> str:
        return "PUBLIC"


PUBLIC: Final = _Public()


class BearerClient:
    """The declaration of a route for a machine client that is not a person (the identity provider's
    provisioning client): it proves itself on every request with a bearer token of its own, never a
    cookie or a session, so it has no user, no roles and nothing for CSRF to protect.

    ``authenticate`` checks the request's credential before the view runs: it answers the refusal
    (a response) or None to let the request through, having noted who the client is for the view.
    """

    def __init__(self, name: str, authenticate: Callable[[], Any]) -> None:
        self.name = name
        self.authenticate = authenticate

    def __repr__(self) -> str:
        return f"BearerClient({self.name})"


Policy = Permission | _Public | BearerClient
POLICY_ATTRIBUTE: Final = "_registry_policy"


def requires(permission: Permission) -> Callable[[F], F]:
    """Declare that a view needs ``permission`` (enforced centrally)."""

    def decorate(view: F) -> F:
        setattr(view, POLICY_ATTRIBUTE, permission)
        return view

    return decorate


def public(view: F) -> F:
    """Declare that a view is open to anyone, including people not signed in."""
    setattr(view, POLICY_ATTRIBUTE, PUBLIC)
    return view


SERVER_CALLED_ATTRIBUTE: Final = "_registry_server_called"


def called_by_servers(view: F) -> F:
    """Declare a public endpoint that another server calls (the identity provider's back-channel logout):
    no browser and no cookies, so no form token to check; the view authenticates what it is sent."""
    setattr(view, POLICY_ATTRIBUTE, PUBLIC)
    setattr(view, SERVER_CALLED_ATTRIBUTE, True)
    return view


def is_called_by_servers(view: Callable[..., Any] | None) -> bool:
    return bool(getattr(view, SERVER_CALLED_ATTRIBUTE, False))


def client(policy: BearerClient) -> Callable[[F], F]:
    """Declare that a view is for the machine client ``policy`` names (see :class:`BearerClient`)."""

    def decorate(view: F) -> F:
        setattr(view, POLICY_ATTRIBUTE, policy)
        return view

    return decorate


def policy_of(view: Callable[..., Any] | None) -> Policy | None:
    return getattr(view, POLICY_ATTRIBUTE, None) if view is not None else None
