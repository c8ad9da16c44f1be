"""Who may still use a password once the organisation's identity provider signs people in
(``REGISTRY_LOCAL_SIGN_IN``), and how the identity provider's settings are checked."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask import session as flask_session
from flask.testing import FlaskClient
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select

import config as registry_config
from registry import db
from registry.audit.models import AuditEvent
from registry.audit.services import Actor
from registry.auth import setup_links
from registry.auth.models import SetupReason, User, UserIdentity, UserSession
from tests.conftest import TEST_PASSWORD, csrf_token, next_code

PROVIDER = {
    # Nothing listens here: the provider is unreachable.
    "OIDC_ISSUER": "http://127.0.0.1:9",
    "OIDC_CLIENT_ID": "registry",
    "OIDC_CLIENT_SECRET": "not used: nothing here reaches the provider",
}


def words(response: Any) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).replace("&#39;", "'")


def password_sign_in(client: FlaskClient, user: User, token: str | None = None) -> Any:
    data = {"email": user.email, "password": TEST_PASSWORD, "csrf_token": token or csrf_token(client)}
    return client.post("/login", data=data)


def form_token(app: Flask, client: FlaskClient) -> str:
    """A valid form token for ``client``, as a sign-in page opened before passwords were switched off gave."""
    with app.test_request_context():
        token = generate_csrf()
        raw = flask_session["csrf_token"]
    with client.session_transaction() as stored:
        stored["csrf_token"] = raw
    return str(token)


def sessions_of(user: User) -> int:
    return len(db.session().execute(select(UserSession).where(UserSession.user_id == user.id)).all())


class TestOff:
    @pytest.fixture
    def app_settings(self) -> dict[str, Any]:
        return {**PROVIDER, "LOCAL_SIGN_IN": "off", "OIDC_LABEL": "Sign in with Trust NHSmail"}

    def test_the_sign_in_page_offers_only_the_provider(self, client: FlaskClient) -> None:
        page = client.get("/login")
        assert page.status_code == 200
        assert "Sign in with Trust NHSmail" in words(page)
        assert 'name="password"' not in page.get_data(as_text=True)

    def test_a_right_password_is_refused_and_nothing_is_signed_in(
        self, app: Flask, client: FlaskClient, make_user: Callable[..., User]
    ) -> None:
        user = make_user("staff")
        refused = password_sign_in(client, user, form_token(app, client))
        assert refused.status_code == 403
        assert "Password sign-in is switched off for this service" in words(refused)
        assert sessions_of(user) == 0
        assert sessions_of(user) == 0

    def test_a_set_up_link_no_longer_opens(self, client: FlaskClient, make_user: Callable[..., User]) -> None:
        person = make_user("staff")
        link = setup_links.issue(person, SetupReason.OPERATOR, actor=Actor.system("tests"), send=False)
        db.session().commit()
        opened = client.get(link.path)
        assert opened.status_code == 403
        assert "Set-up links are not used here any more" in words(opened)
        assert sessions_of(person) == 0

    def test_an_unreachable_provider_is_explained_not_a_crash(self, client: FlaskClient) -> None:
        page = client.get("/login/provider")
        assert page.status_code == 503
        assert "Your organisation's sign-in service did not answer" in words(page)
        refused = client.post("/login/provider/backchannel-logout", data={"logout_token": "a.b.c"})
        assert refused.status_code == 400
        [event] = (
            db.session()
            .execute(select(AuditEvent.details).where(AuditEvent.action == "user:provider_logout_refused"))
            .scalars()
        )
        assert "could not be fetched" in event


class TestBreakGlass:
    @pytest.fixture
    def app_settings(self) -> dict[str, Any]:
        return {**PROVIDER, "LOCAL_SIGN_IN": "break-glass"}

    def test_only_a_break_glass_account_may_use_its_password(
        self, client: FlaskClient, app: Flask, make_user: Callable[..., User]
    ) -> None:
        everyday = make_user("comms")
        refused = password_sign_in(client, everyday)
        # Answered as a wrong password is: whether the password was right is not told.
        wrong = client.post(
            "/login", data={"email": everyday.email, "password": "not it at all", "csrf_token": csrf_token(client)}
        )
        assert (refused.status_code, words(refused)) == (wrong.status_code, words(wrong))
        assert "Enter a correct email address and password" in words(refused)
        assert sessions_of(everyday) == 0
        failed = select(AuditEvent.details).where(
            AuditEvent.action == "user:sign_in_failed", AuditEvent.actor_id == everyday.id
        )
        details = db.session().execute(failed).scalars().all()
        assert ["only for break-glass accounts" in text for text in details] == [True, True]

        emergency = make_user("admin")
        emergency.break_glass = True
        db.session().flush()
        first = password_sign_in(client, emergency)
        assert first.status_code == 302 and first.headers["Location"] == "/login/mfa"
        done = client.post("/login/mfa", data={"code": next_code(emergency), "csrf_token": csrf_token(client)})
        assert done.status_code == 302
        assert client.get("/account").status_code == 200

    def test_the_page_says_what_the_password_form_is_for(self, client: FlaskClient) -> None:
        page = client.get("/login")
        assert "Emergency (break-glass) sign-in" in words(page)
        text = page.get_data(as_text=True)
        assert text.index("Sign in with NHSmail") < text.index('name="password"')


class TestWithoutProvider:
    def test_the_sign_in_page_is_as_before(self, client: FlaskClient) -> None:
        page = client.get("/login")
        assert "NHSmail" not in words(page)
        assert 'name="password"' in page.get_data(as_text=True)
        assert client.get("/login/provider").status_code == 404
        assert client.post("/login/provider/backchannel-logout", data={"logout_token": "x"}).status_code == 404


def settings(tmp_path: Path, **values: str) -> registry_config.Settings:
    return registry_config.load_settings({"ENV": "development", **values}, tmp_path)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"LOCAL_SIGN_IN": "off"}, "REGISTRY_LOCAL_SIGN_IN is off but no identity provider is set"),
        (
            {**PROVIDER, "LOCAL_SIGN_IN": "sometimes"},
            "REGISTRY_LOCAL_SIGN_IN is 'sometimes'; use one of on, break-glass",
        ),
        ({"OIDC_ISSUER": "https://idp.example"}, "REGISTRY_OIDC_CLIENT_ID is not"),
        (
            {"OIDC_ISSUER": "https://idp.example", "OIDC_CLIENT_ID": "registry"},
            "REGISTRY_OIDC_CLIENT_SECRET, or REGISTRY_OIDC_PRIVATE_KEY",
        ),
        (
            {**PROVIDER, "OIDC_PRIVATE_KEY": "-----BEGIN PRIVATE KEY-----"},
            "REGISTRY_OIDC_CLIENT_SECRET, or REGISTRY_OIDC_PRIVATE_KEY",
        ),
        ({**PROVIDER, "OIDC_ROLE_MAP": "Registry.Comms=communications"}, "is not PROVIDER_ROLE=ROLE"),
        ({**PROVIDER, "OIDC_ROLE_MAP": "comms"}, "for example Registry.Comms=comms"),
        (
            {**PROVIDER, "OIDC_PRIVATE_KEY_FILE": "/nonexistent/key.pem"},
            "REGISTRY_OIDC_PRIVATE_KEY_FILE cannot be read",
        ),
    ],
)
def test_a_setting_that_cannot_work_is_refused_naming_the_variable(
    tmp_path: Path, values: dict[str, str], message: str
) -> None:
    with pytest.raises(registry_config.ConfigError, match=re.escape(message)):
        settings(tmp_path, **values)


def test_production_wants_an_https_issuer(tmp_path: Path) -> None:
    values = {
        **PROVIDER,
        "OIDC_ISSUER": "http://login.example.test",
        "ENV": "production",
        "SECRET_KEY": "x" * 40,
        "DATABASE_URL": "sqlite:///x.db",
        "MASTER_KEYS": registry_config.generate_master_key_entry(),
        "AUDIT_KEYS": registry_config.generate_master_key_entry(),
        "FINGERPRINT_KEYS": registry_config.generate_master_key_entry(),
    }
    with pytest.raises(registry_config.ConfigError, match="must be an https:// address in production"):
        registry_config.load_settings(values, tmp_path)


def test_the_provider_settings_are_read_as_a_deployment_writes_them(tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\nMII...\n-----END PRIVATE KEY-----\n")
    read = settings(
        tmp_path,
        OIDC_ISSUER="https://login.microsoftonline.com/tenant-id/v2.0/",
        OIDC_CLIENT_ID="registry",
        OIDC_PRIVATE_KEY_FILE=str(key),
        OIDC_ALLOWED_TENANTS="tenant-id, second-tenant",
        OIDC_ALLOWED_DOMAINS="@NHS.net, trust.nhs.uk",
        OIDC_ROLE_MAP="Registry.Comms=comms,Registry.Admin = admin",
        OIDC_ROLES_CLAIM="groups",
        OIDC_MFA_ACR="urn:trust:mfa",
        LOCAL_SIGN_IN="Break-Glass",
    ).oidc
    assert read is not None
    assert read.issuer == "https://login.microsoftonline.com/tenant-id/v2.0"
    assert read.private_key is not None and read.private_key.startswith("-----BEGIN PRIVATE KEY-----")
    assert read.client_secret is None
    assert read.allowed_tenants == ("tenant-id", "second-tenant")
    assert read.allowed_domains == ("nhs.net", "trust.nhs.uk")
    assert read.role_map == (("Registry.Comms", "comms"), ("Registry.Admin", "admin"))
    assert read.roles_claim == "groups" and read.mfa_acr == ("urn:trust:mfa",)
    assert "MII" not in repr(read), "the private key stays out of logs and tracebacks"
    assert settings(tmp_path).local_sign_in is registry_config.LocalSignIn.ON


def test_the_users_page_says_how_a_person_signs_in(
    browser_as: Callable[..., Any], make_user: Callable[..., User]
) -> None:
    admin = browser_as("admin")
    linked, emergency, provisioned = make_user("staff"), make_user("admin"), make_user("staff")
    db.session().add(UserIdentity(user_id=linked.id, issuer="https://idp.example", subject="oid-1"))
    emergency.break_glass = True
    provisioned.external_id = "oid-2"
    db.session().commit()
    assert "Organisation account Linked: they sign in with it" in words(admin.get(f"/admin/users/{linked.id}"))
    shown = words(admin.get(f"/admin/users/{emergency.id}"))
    assert "Organisation account Not linked" in shown and "Break-glass account Yes" in shown
    assert "Provisioned by the organisation's directory (oid-2), not yet used" in words(
        admin.get(f"/admin/users/{provisioned.id}")
    )
