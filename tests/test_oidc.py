"""Sign-in with the organisation's identity provider, against a real one: npm ``oidc-provider`` on
loopback (tests/oidc_support.py), the Registry served on loopback too, and every step over real HTTP.

Covers sign-in, first-sign-in provisioning, linking by subject (never by e-mail), role mapping, the MFA
claim, step-up with ``max_age=0``, the refusals (wrong tenant, bad signature, a nonce from another
sign-in, an expired token, a replayed callback), key rollover, ``private_key_jwt``, RP-initiated and
back-channel logout (and a replayed logout token).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from joserfc.jwk import RSAKey
from sqlalchemy import func, select

from registry import db
from registry.audit.models import AuditEvent
from registry.audit.services import Actor
from registry.auth.models import User, UserIdentity, UserSession
from registry.auth.services import create_user
from tests.conftest import TEST_PASSWORD
from tests.live_server import live_app, migrated_database, serving
from tests.oidc_support import OidcProvider, SignIn, forms, oidc_account, oidc_account_password, oidc_client, submit

TENANT = "3c1f0a51-trust-tenant"
CLIENT_ID = "registry"
SECRET = "registry-client-secret-for-tests-only"
LOGOUT_PATH = "/login/provider/backchannel-logout"


@dataclass
class Site:
    url: str
    app: Flask
    provider: OidcProvider

    def sign_in(self, login: str, session: requests.Session | None = None, start: str = "/login/provider") -> SignIn:
        return self.provider.sign_in(self.url + start, login, oidc_account_password(login), session)

    def user(self, email: str) -> User | None:
        with self.app.app_context():
            found = db.session().execute(select(User).where(User.email == email)).scalar_one_or_none()
            if found is not None:
                _ = (found.roles, found.password_hash)
                db.session().expunge(found)
            return found

    def roles(self, email: str) -> set[str]:
        found = self.user(email)
        assert found is not None
        return {role.value for role in found.roles}

    def events(self, action: str) -> list[dict[str, Any]]:
        with self.app.app_context():
            rows = db.session().execute(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
            return [
                {"object_id": e.object_id, "actor": e.actor, "details": json.loads(e.details or "{}")}
                for e in rows.scalars()
            ]

    def refusals(self) -> list[str]:
        return [e["details"].get("reason", "") for e in self.events("user:sign_in_failed")]


ACCOUNTS = [
    oidc_account("nia", sub="sub-nia", oid="oid-nia", email="nia.new@nhs.net", name="Nia New", tid=TENANT),
    oidc_account(
        "cal",
        sub="sub-cal",
        oid="oid-cal",
        email="cal.comms@nhs.net",
        name="Cal Comms",
        tid=TENANT,
        roles=["Registry.Comms"],
        amr=["pwd", "mfa"],
    ),
    oidc_account(
        "pat",
        sub="sub-pat",
        oid="oid-pat",
        email="pat.press@nhs.net",
        name="Pat Press",
        tid=TENANT,
        roles=["Registry.Comms"],
        amr=["pwd"],
    ),
    oidc_account("otto", sub="sub-otto", oid="oid-otto", email="otto@elsewhere.example", name="Otto", tid="other"),
    # Someone new who was given a leaver's address: a different person at the provider.
    oidc_account("nia2", sub="sub-nia2", oid="oid-nia2", email="nia.new@nhs.net", name="Nia Newer", tid=TENANT),
    oidc_account("lee", sub="sub-lee", oid="oid-lee", email="lee.local@nhs.net", name="Lee Local", tid=TENANT),
    oidc_account("sam", sub="sub-sam", oid="oid-sam", email="sam.scim@nhs.net", name="Sam Scim", tid=TENANT),
    oidc_account("dee", sub="sub-dee", oid="oid-dee", email="dee.gone@nhs.net", name="Dee Gone", tid=TENANT),
    oidc_account("kim", sub="sub-kim", oid="oid-kim", email="kim.key@nhs.net", name="Kim Key", tid=TENANT),
    oidc_account("una", sub="sub-una", oid="oid-una", email="una.imported@nhs.net", name="Una I", tid=TENANT),
    oidc_account("ida", sub="sub-ida", oid="oid-ida", email="ida@nhs.net", name="Ida", tid=TENANT),
    oidc_account("bea", sub="sub-bea", oid="oid-bea", email="bea.glass@nhs.net", name="Bea Glass", tid=TENANT),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    provider = OidcProvider()
    directory = tmp_path_factory.mktemp("oidc")
    with (
        pytest.MonkeyPatch.context() as env,
        migrated_database(os.environ.get("REGISTRY_TEST_DATABASE_URL") or None, directory) as url,
    ):
        env.setenv("REGISTRY_INSTANCE_PATH", str(directory / "instance"))
        app = live_app(
            url,
            directory / "instance",
            OIDC_ISSUER=provider.issuer,
            OIDC_CLIENT_ID=CLIENT_ID,
            OIDC_CLIENT_SECRET=SECRET,
            OIDC_ALLOWED_TENANTS=TENANT,
            OIDC_ROLE_MAP="Registry.Comms=comms, Registry.Auditor=auditor",
            OIDC_LABEL="Sign in with NHSmail",
        )
        with app.app_context(), db.transaction():
            operator = Actor.system("tests")
            create_user(
                email="lee.local@nhs.net", name="Lee Local", roles=["staff"], password=TEST_PASSWORD, actor=operator
            )
            sam = create_user(email="sam.scim@nhs.net", name="Sam Scim", roles=["staff"], password=None, actor=operator)
            sam.external_id = "oid-sam"
            dee = create_user(email="dee.gone@nhs.net", name="Dee Gone", roles=["staff"], password=None, actor=operator)
            dee.external_id = "oid-dee"
            dee.active = False
            bea = create_user(
                email="bea.glass@nhs.net", name="Bea Glass", roles=["admin"], password=TEST_PASSWORD, actor=operator
            )
            bea.break_glass = True
            # Prepared by an administrator (as `users import` does): never used by anyone.
            create_user(
                email="una.imported@nhs.net", name="Una Imported", roles=["staff"], password=None, actor=operator
            )
        with serving(app) as base:
            provider.start(
                {
                    "clients": [
                        oidc_client(
                            CLIENT_ID,
                            f"{base}/login/provider/callback",
                            client_secret=SECRET,
                            post_logout_redirect_uris=[f"{base}/login"],
                            backchannel_logout_uri=f"{base}/login/provider/backchannel-logout",
                        )
                    ],
                    "accounts": ACCOUNTS,
                }
            )
            try:
                yield Site(base, app, provider)
            finally:
                provider.stop()
                db.database(app).engine.dispose()


@pytest.fixture(autouse=True)
def honest_provider(site: Site) -> Iterator[None]:
    yield
    site.provider.control("reset")


def path_of(response: requests.Response, site: Site) -> str:
    assert response.url.startswith(site.url), response.url
    return response.url.removeprefix(site.url)


def text_of(response: requests.Response) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.text)))


def test_the_sign_in_page_offers_the_provider_above_the_password_form(site: Site) -> None:
    page = requests.get(site.url + "/login", timeout=30)
    assert page.status_code == 200
    button = page.text.index("Sign in with NHSmail")
    assert button < page.text.index('name="password"')
    assert 'href="/login/provider"' in page.text


def test_a_first_sign_in_makes_a_staff_account_known_by_its_subject(site: Site) -> None:
    done = site.sign_in("nia")
    assert done.login_page is not None, "the provider's own login page was shown"
    assert path_of(done.response, site) == "/"
    assert "Nia New" in done.response.text
    nia = site.user("nia.new@nhs.net")
    assert nia is not None and nia.name == "Nia New" and nia.password_hash is None
    assert site.roles("nia.new@nhs.net") == {"staff"}
    with site.app.app_context():
        identity = db.session().execute(select(UserIdentity).where(UserIdentity.user_id == nia.id)).scalar_one()
        assert (identity.issuer, identity.subject) == (site.provider.issuer, "oid-nia")
        live = db.session().execute(select(UserSession).where(UserSession.user_id == nia.id)).scalar_one()
        assert live.method == "oidc" and live.identity_id == identity.id and live.provider_sid
    made = [e for e in site.events("user:create") if e["object_id"] == str(nia.id)]
    assert made and made[0]["actor"] == "identity provider"
    assert [e["details"]["how"] for e in site.events("user:identity_link") if e["object_id"] == str(nia.id)] == [
        "first sign-in"
    ]
    signed_in = [e for e in site.events("user:sign_in") if e["object_id"] == str(nia.id)]
    assert signed_in[-1]["details"] == {"second_factor": None, "method": "identity provider"}

    # Again, in another browser: the same account, with the provider's new name for them (audited).
    site.provider.control("next-id-token", claims={"name": "Nia Newman"})
    again = site.sign_in("nia")
    assert path_of(again.response, site) == "/"
    with site.app.app_context():
        assert db.session().scalar(select(func.count()).select_from(User).where(User.email == "nia.new@nhs.net")) == 1
    assert site.user("nia.new@nhs.net").name == "Nia Newman"  # type: ignore[union-attr]
    changed = site.events("user:details_from_provider")
    assert changed[-1]["details"] == {"name": {"from": "Nia New", "to": "Nia Newman"}}


def test_an_e_mail_address_alone_never_signs_anyone_into_an_account(site: Site) -> None:
    site.sign_in("nia")  # the account exists, linked to oid-nia
    refused = site.sign_in("nia2")  # another person at the provider with the same address
    assert refused.response.status_code == 403
    assert "not linked to your organisation's account" in text_of(refused.response)
    assert site.user("nia.new@nhs.net").name != "Nia Newer"  # type: ignore[union-attr]
    assert site.refusals()[-1] == "e-mail already in use by an account not linked to this identity"
    assert refused.session.get(site.url + "/account", timeout=30).url.startswith(site.url + "/login?next=/account")


def test_an_existing_account_is_linked_once_its_owner_signs_in_with_its_password(site: Site) -> None:
    first = site.sign_in("lee")
    assert path_of(first.response, site) == "/login"
    assert "Sign in once with its password to link it" in text_of(first.response)
    (form,) = [f for f in forms(first.response) if "password" in f.fields]
    done = submit(first.session, first.response, form, email="lee.local@nhs.net", password=TEST_PASSWORD)
    assert path_of(done, site) == "/"
    assert "Your organisation's account is now linked" in text_of(done)
    lee = site.user("lee.local@nhs.net")
    assert lee is not None
    assert [e["details"]["how"] for e in site.events("user:identity_link") if e["object_id"] == str(lee.id)] == [
        "password"
    ]
    # From now on the provider alone signs them in: roles are mapped, so a linked account's password no longer
    # opens it (the provider decides what it may do), answered as a wrong password is.
    again = site.sign_in("lee")
    assert path_of(again.response, site) == "/"
    browser = requests.Session()
    page = browser.get(site.url + "/login", timeout=30)
    (form,) = [f for f in forms(page) if "password" in f.fields]
    refused = submit(browser, page, form, email="lee.local@nhs.net", password=TEST_PASSWORD)
    assert path_of(refused, site) == "/login"
    assert "Enter a correct email address and password" in text_of(refused)
    assert site.events("user:sign_in_failed")[-1]["details"]["reason"].startswith("roles come from the identity")


def test_an_account_prepared_for_an_address_and_never_used_is_claimed_at_its_first_sign_in(site: Site) -> None:
    done = site.sign_in("una")
    assert path_of(done.response, site) == "/"
    una = site.user("una.imported@nhs.net")
    assert una is not None and una.name == "Una I"
    assert [e["details"]["how"] for e in site.events("user:identity_link") if e["object_id"] == str(una.id)] == [
        "prepared account, first sign-in"
    ]


def test_a_break_glass_account_is_never_linked_to_an_identity(site: Site) -> None:
    refused = site.sign_in("bea")
    assert refused.response.status_code == 403
    assert site.refusals()[-1] == "e-mail already in use by an account not linked to this identity"
    assert site.events("user:sign_in_failed")[-1]["details"]["subject"] == "oid-bea"


def test_an_address_the_provider_has_not_verified_is_not_used(site: Site) -> None:
    site.provider.control(
        "next-id-token",
        claims={"email": "someone.else@nhs.net", "email_verified": False, "preferred_username": "ida@nhs.net"},
    )
    done = site.sign_in("ida")
    assert path_of(done.response, site) == "/"
    assert site.user("someone.else@nhs.net") is None
    assert site.user("ida@nhs.net") is not None


def test_an_answer_to_a_sign_in_this_browser_never_started_is_not_read(site: Site) -> None:
    forged = requests.get(
        site.url + "/login/provider/callback",
        params={"error": "access_denied: <b>anything</b>", "state": "x"},
        timeout=30,
    )
    assert forged.status_code == 403
    assert site.refusals()[-1] == "state does not match (an old or replayed sign-in)"


def test_a_sign_in_the_providers_own_session_answered_is_not_a_fresh_authentication(site: Site) -> None:
    hour_ago = int(time.time()) - 3600
    site.provider.control("next-id-token", claims={"auth_time": hour_ago})
    done = site.sign_in("cal")
    assert path_of(done.response, site) == "/"
    with site.app.app_context():
        cal_id = db.session().execute(select(User.id).where(User.email == "cal.comms@nhs.net")).scalar_one()
        proved = latest_second_factor(cal_id)
    # The provider's multi-factor sign-in counts as the second factor (comms pages open), as of when it happened:
    # revealing a secret still needs the person to sign in again.
    assert proved is not None and abs(proved.timestamp() - hour_ago) < 2
    assert path_of(done.session.get(site.url + "/channels/queue", timeout=30), site) == "/channels/queue"


def test_a_provisioned_account_is_linked_by_its_external_id_and_a_closed_one_is_refused(site: Site) -> None:
    done = site.sign_in("sam")
    assert path_of(done.response, site) == "/"
    sam = site.user("sam.scim@nhs.net")
    assert sam is not None
    assert [e["details"]["how"] for e in site.events("user:identity_link") if e["object_id"] == str(sam.id)] == [
        "provisioned"
    ]
    refused = site.sign_in("dee")
    assert refused.response.status_code == 403
    assert "Your account in this service has been closed" in text_of(refused.response)
    assert site.refusals()[-1] == "inactive"
    with site.app.app_context():
        dee = db.session().execute(select(User).where(User.email == "dee.gone@nhs.net")).scalar_one()
        assert db.session().execute(select(UserIdentity).where(UserIdentity.user_id == dee.id)).first() is None


def test_mapped_roles_follow_the_provider_and_its_mfa_claim_counts_as_the_second_factor(site: Site) -> None:
    done = site.sign_in("cal")
    assert path_of(done.response, site) == "/"
    assert site.roles("cal.comms@nhs.net") == {"staff", "comms"}
    # A comms-only page, without being asked for the Registry's own code: the provider asserted mfa.
    queue = done.session.get(site.url + "/channels/queue", timeout=30)
    assert queue.status_code == 200 and path_of(queue, site) == "/channels/queue"
    changed = [e for e in site.events("user:roles_change") if e["actor"] == "identity provider"]
    assert changed[-1]["details"]["after"] == ["comms", "staff"]

    # The provider takes the role away: at the next sign-in it is gone, audited.
    site.provider.control("next-id-token", claims={"roles": []})
    again = site.sign_in("cal")
    assert path_of(again.response, site) == "/"
    assert site.roles("cal.comms@nhs.net") == {"staff"}
    changed = [e for e in site.events("user:roles_change") if e["actor"] == "identity provider"]
    assert changed[-1]["details"]["before"] == ["comms", "staff"] and changed[-1]["details"]["after"] == ["staff"]
    # The old session ended with the role change.
    assert done.session.get(site.url + "/channels/queue", timeout=30).url.startswith(
        site.url + "/login?next=/channels/queue"
    )
    site.sign_in("cal")  # comms again for the tests that follow
    assert site.roles("cal.comms@nhs.net") == {"staff", "comms"}


def test_without_the_mfa_claim_a_privileged_person_still_needs_the_registrys_own_second_factor(site: Site) -> None:
    done = site.sign_in("pat")
    assert site.roles("pat.press@nhs.net") == {"staff", "comms"}
    assert path_of(done.response, site) == "/account/two-factor"
    queue = done.session.get(site.url + "/channels/queue", timeout=30)
    assert path_of(queue, site) == "/account/two-factor"


def test_step_up_sends_the_person_back_to_sign_in_again_and_checks_auth_time(site: Site) -> None:
    done = site.sign_in("cal")
    with site.app.app_context():
        cal_id = db.session().execute(select(User.id).where(User.email == "cal.comms@nhs.net")).scalar_one()
        before = latest_second_factor(cal_id)
    page = done.session.get(site.url + "/account/step-up?next=/account", timeout=30)
    assert "Sign in with NHSmail again" in text_of(page)
    # The provider's session still stands, yet max_age=0 makes it ask again.
    time.sleep(1.1)
    stepped = site.sign_in("cal", session=done.session, start="/account/step-up/provider?next=/account")
    assert stepped.login_page is not None, "max_age=0 made the provider ask for the password again"
    assert path_of(stepped.response, site) == "/account"
    with site.app.app_context():
        after = latest_second_factor(cal_id)
    assert before is not None and after is not None and after > before
    assert site.events("user:step_up")[-1]["details"] == {"second_factor": "identity provider"}

    # The provider took the role away since: stepping up ends the session instead.
    site.provider.control("next-id-token", claims={"roles": []})
    ended = site.sign_in("cal", session=done.session, start="/account/step-up/provider?next=/account")
    assert path_of(ended.response, site) == "/login"
    assert "Your roles in this service have changed" in text_of(ended.response)
    assert site.roles("cal.comms@nhs.net") == {"staff"}
    done = site.sign_in("cal")
    assert site.roles("cal.comms@nhs.net") == {"staff", "comms"}

    # A provider that says the person signed in an hour ago has not made them sign in again.
    site.provider.control("next-id-token", claims={"auth_time": int(time.time()) - 3600})
    stale = site.sign_in("cal", session=done.session, start="/account/step-up/provider?next=/account")
    assert path_of(stale.response, site).startswith("/account/step-up")
    assert "That did not confirm it is you" in text_of(stale.response)
    assert site.refusals()[-1] == "step-up: the provider did not sign the person in again"


def latest_second_factor(user_id: int) -> dt.datetime | None:
    """When the person's newest session last proved a second factor."""
    found: dt.datetime | None = db.session().scalar(
        select(UserSession.second_factor_at)
        .where(UserSession.user_id == user_id)
        .order_by(UserSession.id.desc())
        .limit(1)
    )
    return found


@pytest.mark.parametrize(
    ("control", "body", "reason"),
    [
        ("lying-jwks", {}, "bad signature"),
        ("clock", {"seconds": -7200}, "expired token"),
        ("next-id-token", {"claims": {"nonce": "a-nonce-from-another-sign-in"}}, "bad nonce"),
        ("next-id-token", {"claims": {"tid": "another-organisation"}}, "wrong tenant"),
    ],
)
def test_a_token_that_cannot_be_trusted_is_refused_and_the_reason_audited(
    site: Site, control: str, body: dict[str, Any], reason: str
) -> None:
    if control == "lying-jwks":
        # A new key the Registry has not seen (so it fetches the JWKS again), published with the wrong public key.
        site.provider.control("rotate-keys", drop_old=True)
        site.provider.control("bad-key")
    else:
        site.provider.control(control, **body)
    refused = site.sign_in("kim")
    assert refused.response.status_code == 403
    assert "You could not be signed in" in text_of(refused.response)
    assert site.refusals()[-1] == reason
    assert site.user("kim.key@nhs.net") is None
    assert refused.session.get(site.url + "/account", timeout=30).url.startswith(site.url + "/login?next=/account")


def test_someone_from_another_organisation_is_refused(site: Site) -> None:
    refused = site.sign_in("otto")
    assert refused.response.status_code == 403
    assert "belongs to an organisation that may not use this service" in text_of(refused.response)
    assert site.refusals()[-1] == "wrong tenant"
    assert site.user("otto@elsewhere.example") is None


def test_a_replayed_callback_is_refused(site: Site) -> None:
    session = requests.Session()
    start = session.get(site.url + "/login/provider", timeout=30)
    (form,) = [f for f in forms(start) if "password" in f.fields]
    session.max_redirects = 30
    # Stop at the Registry's callback to keep its address.
    landing = submit_until_callback(session, start, form, "kim")
    first = session.get(landing, timeout=30)
    assert path_of(first, site) == "/"
    replayed = session.get(landing, timeout=30)
    assert replayed.status_code == 403
    assert site.refusals()[-1] == "state does not match (an old or replayed sign-in)"


def submit_until_callback(session: requests.Session, page: requests.Response, form: Any, login: str) -> str:
    """Sign in on the provider's page and follow its redirects by hand up to the Registry's callback."""
    from urllib.parse import urljoin

    url = urljoin(page.url, form.action)
    response = session.post(
        url, data={**form.fields, "username": login, "password": oidc_account_password(login)}, allow_redirects=False
    )
    while response.is_redirect:
        target = urljoin(response.url, response.headers["Location"])
        if "/login/provider/callback" in target:
            return target
        response = session.get(target, allow_redirects=False, timeout=30)
    raise AssertionError(f"never reached the callback: {response.status_code} {response.url}")


def test_a_key_rollover_at_the_provider_needs_nothing_from_the_registry(site: Site) -> None:
    site.sign_in("kim")  # the old key is known (cached)
    rotated = site.provider.control("rotate-keys", drop_old=True)
    assert rotated["kid"] != rotated["previous_kid"]
    done = site.sign_in("kim")
    assert path_of(done.response, site) == "/"


def test_a_private_key_jwt_client_signs_in(site: Site, tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = RSAKey.import_key(pem).as_dict(private=False)
    with site.app.app_context():
        url = db.database(site.app).engine.url.render_as_string(hide_password=False)
    other = live_app(
        url,
        tmp_path,
        OIDC_ISSUER=site.provider.issuer,
        OIDC_CLIENT_ID="registry-jwt",
        OIDC_PRIVATE_KEY=pem,
        OIDC_ALLOWED_TENANTS=TENANT,
    )
    with serving(other) as base:
        site.provider.control(
            "client",
            **oidc_client("registry-jwt", f"{base}/login/provider/callback", jwks={"keys": [public]}),
        )
        done = site.provider.sign_in(base + "/login/provider", "kim", oidc_account_password("kim"))
        assert done.response.url == base + "/"
    db.database(other).engine.dispose()


def test_signing_out_signs_out_at_the_provider_too_and_its_back_channel_ends_the_session(site: Site) -> None:
    done = site.sign_in("nia")
    page = done.session.get(site.url + "/account", timeout=30)
    (form,) = [f for f in forms(page) if f.action.endswith("/logout")]
    ending = submit(done.session, page, form)
    # The provider asks whether to sign out there too (RP-initiated logout), then sends the person back.
    back = site.provider.sign_out(done.session, ending)
    assert path_of(back, site).startswith("/login")
    assert "You have signed out" in text_of(back)


def test_a_back_channel_logout_ends_that_sign_in_and_a_replay_is_refused(site: Site) -> None:
    done = site.sign_in("kim")
    other = site.sign_in("kim")  # a second sign-in, elsewhere
    sent = site.provider.control("backchannel-logout", client_id=CLIENT_ID, sub="sub-kim")
    assert sent["status"] == 200
    # The sid named the latest sign-in: that one ended, the first goes on.
    assert other.session.get(site.url + "/account", timeout=30).url.startswith(site.url + "/login?next=/account")
    assert path_of(done.session.get(site.url + "/account", timeout=30), site) == "/account"
    logged = site.events("user:provider_logout")[-1]
    assert logged["details"] == {"sessions_ended": 1, "by_sid": True}

    replay = requests.post(site.url + LOGOUT_PATH, data={"logout_token": sent["logout_token"]}, timeout=30)
    assert replay.status_code == 400
    assert replay.json() == {"error": "invalid_request", "error_description": "The logout token was refused."}
    assert site.events("user:provider_logout_refused")[-1]["details"] == {"reason": "replayed logout token"}
    assert replay.headers["Cache-Control"] == "no-store"


def test_a_forged_or_malformed_logout_token_is_refused(site: Site) -> None:
    done = site.sign_in("kim")
    forged_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    from joserfc import jwt as jose_jwt

    now = int(time.time())
    forged = jose_jwt.encode(
        {"alg": "RS256", "kid": site.provider.state()["kid"]},
        {
            "iss": site.provider.issuer,
            "aud": CLIENT_ID,
            "iat": now,
            "jti": "forged-1",
            "sub": "sub-kim",
            "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
        },
        RSAKey.import_key(
            forged_key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        ),
    )
    for token, reason in [
        (forged, "bad signature"),
        ("not-a-token", "unreadable token (DecodeError)"),
        ("", "no logout token"),
    ]:
        answer = requests.post(
            site.url + "/login/provider/backchannel-logout", data={"logout_token": token}, timeout=30
        )
        assert answer.status_code == 400
        assert site.events("user:provider_logout_refused")[-1]["details"]["reason"] == reason
    assert path_of(done.session.get(site.url + "/account", timeout=30), site) == "/account"
    assert [e["details"]["reason"] for e in site.events("user:provider_logout_refused")][-3:] == [
        "bad signature",
        "unreadable token (DecodeError)",
        "no logout token",
    ]
