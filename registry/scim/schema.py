"""What the Registry serves over SCIM: its User resource, the enterprise extension's manager, and the
capabilities it declares, as scim2-models models. The Schemas, ResourceTypes and
ServiceProviderConfig endpoints publish exactly these, so a client (and the ``scim2-tester``
checker) learns the real shape of the service, not the whole of RFC 7643.

A Registry user has one address, one name and one line manager, so:

- ``userName`` is the e-mail address (unique); ``emails`` are accepted (a directory sends the work
  address there) but never returned: the address is ``userName``;
- ``displayName`` is the person's name (required); ``name`` (``formatted``, or ``givenName`` and
  ``familyName``) is accepted as the name when ``displayName`` is not sent, and never returned;
- ``externalId`` is the identity provider's id for the person (Entra's object id; unique);
- ``active`` (required: the Registry always knows) false is a leaver;
- the enterprise extension's ``manager`` is the line manager.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field
from scim2_models import (
    URN,
    AuthenticationScheme,
    Bulk,
    CaseExact,
    ChangePassword,
    ComplexAttribute,
    ETag,
    Extension,
    External,
    Filter,
    Mutability,
    Pagination,
    Patch,
    Reference,
    Required,
    Resource,
    ResourceType,
    Returned,
    ScimProvider,
    ServiceProviderConfig,
    Sort,
    Uniqueness,
)

#: The most users one page holds, and the page size when the client does not say.
MAX_PAGE = 200
DEFAULT_PAGE = 100


class Name(ComplexAttribute):
    """The parts of a name a directory sends; the Registry keeps one full name (``displayName``)."""

    formatted: str | None = None
    family_name: str | None = None
    given_name: str | None = None


class Email(ComplexAttribute):
    """An address a directory sends; the Registry's one address is ``userName``."""

    value: str | None = None
    type: str | None = None
    primary: bool | None = None


class Manager(ComplexAttribute):
    """The line manager: the SCIM id of another user, and its address."""

    value: Annotated[str | None, Required.true, CaseExact.true] = None
    ref: Annotated[Reference["User"] | None, Required.false] = Field(  # noqa: UP037 (the referenced type's name)
        None, serialization_alias="$ref", validation_alias="$ref"
    )


class EnterpriseUser(Extension):
    """The part of RFC 7643's enterprise extension the Registry keeps: the manager."""

    __schema__ = URN("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")

    manager: Manager | None = None


class User(Resource[Any]):
    """A person who may sign in to the Registry, as the identity provider provisions them."""

    __schema__ = URN("urn:ietf:params:scim:schemas:core:2.0:User")

    user_name: Annotated[str | None, Uniqueness.server, Required.true] = None
    name: Annotated[Name | None, Mutability.write_only, Returned.never] = None
    display_name: Annotated[str | None, Required.true] = None
    emails: Annotated[list[Email] | None, Mutability.write_only, Returned.never] = None
    active: Annotated[bool | None, Required.true] = None


#: The resource served at ``/Users``: a user with the enterprise extension.
ScimUser: Any = User[EnterpriseUser]  # type: ignore[misc]

ENTERPRISE = str(EnterpriseUser.__schema__)


def service_provider_config(documentation: str) -> ServiceProviderConfig:
    """What the service supports (RFC 7643 §5): PATCH and simple filters, nothing else optional."""
    return ServiceProviderConfig(
        documentation_uri=Reference[External](documentation),
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_PAGE),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=False),
        pagination=Pagination(cursor=False, index=True, default_page_size=DEFAULT_PAGE, max_page_size=MAX_PAGE),
        authentication_schemes=[
            AuthenticationScheme(
                type=AuthenticationScheme.Type.oauthbearertoken,
                name="Bearer token",
                description="The token printed by flask --app wsgi scim token create, in the Authorization header.",
                primary=True,
            )
        ],
    )


def provider(documentation: str) -> ScimProvider:
    """The service as scim2-models describes one: its models, resource type and capabilities."""
    return ScimProvider(
        models=[User, EnterpriseUser],
        resource_types=[ResourceType.from_resource(ScimUser)],
        config=service_provider_config(documentation),
    )
