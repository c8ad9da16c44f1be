"""The OpenID provider the sign-in tests run against (tests/oidc_provider/provider.mjs) does what
they rely on, checked from the outside over real HTTP: discovery, the authorisation code flow
with PKCE through its own login page, ID tokens that verify against its JWKS with the claims of
the configured account, step-up with max_age, and its test controls (key rollover, a lying JWKS,
a wrong clock, back-channel logout)."""

from __future__ import annotations

import base64
import hashlib
import queue
import secrets
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet, RSAKey
from joserfc.jws import extract_compact

from tests import oidc_support
from tests.oidc_support import (
    OidcProvider,
    ProviderError,
    oidc_account,
    oidc_account_password,
    oidc_client,
    running_provider,
)

SECRET = secrets.token_urlsafe(32)
CLIENT_KEY = RSAKey.generate_key(2048, parameters={"kid": "registry-client-key"})
TENANT = "5f6b1c9e-0000-4000-8000-000000000001"


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    form: dict[str, list[str]]


class Receiver:
    """A relying party stand-in: a real HTTP server on loopback that answers 200 to anything and
    keeps what it was sent (the redirect back with the code, back-channel logout tokens)."""

    def __init__(self) -> None:
        self.received: queue.Queue[Received] = queue.Queue()
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def _keep(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                parts = urlsplit(self.path)
                received.put(Received(self.command, parts.path, parse_qs(parts.query), parse_qs(body)))
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"received")

            do_GET = do_POST = _keep

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def next(self, path: str) -> Received:
        while True:
            got = self.received.get(timeout=10)
            if got.path == path:
                return got

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def rp() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture(scope="module")
def op(rp: Receiver) -> Iterator[OidcProvider]:
    config = {
        "clients": [
            oidc_client(
                "registry",
                f"{rp.url}/callback",
                client_secret=SECRET,
                post_logout_redirect_uris=[f"{rp.url}/signed-out"],
                backchannel_logout_uri=f"{rp.url}/backchannel-logout",
            ),
            oidc_client("registry-jwt", f"{rp.url}/callback", jwks=KeySet([CLIENT_KEY]).as_dict(private=False)),
        ],
        "accounts": [
            oidc_account(
                "alex",
                sub="sub-alex",
                email="alex.smith@nhs.net",
                name="Alex Smith",
                tid=TENANT,
                oid="oid-alex",
                roles=["Registry.Comms"],
                groups=["group-comms"],
                amr=["pwd", "mfa"],
                acr="urn:test:mfa",
            ),
            oidc_account("sam", sub="sub-sam", email="sam@nhs.net", name="Sam Jones", tid=TENANT, oid="oid-sam"),
        ],
    }
    with running_provider(config) as provider:
        yield provider


@pytest.fixture(autouse=True)
def honest(op: OidcProvider) -> Iterator[None]:
    yield
    op.control("reset")


def discovery(op: OidcProvider) -> dict[str, Any]:
    answer: dict[str, Any] = requests.get(f"{op.issuer}/.well-known/openid-configuration", timeout=10).json()
    return answer


def published_keys(op: OidcProvider) -> KeySet:
    return KeySet.import_key_set(requests.get(discovery(op)["jwks_uri"], timeout=10).json())


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


@dataclass
class Flow:
    session: requests.Session
    login_page: requests.Response | None
    callback: Received
    nonce: str
    state: str
    verifier: str


def authorize(
    op: OidcProvider, rp: Receiver, *, login: str | None = "alex", session: requests.Session | None = None, **extra: str
) -> Flow:
    """The front channel by hand: the authorisation request with state, nonce and an S256 code
    challenge, the provider's login page filled in (when shown), and the redirect back to ``rp``."""
    verifier, challenge = pkce()
    nonce, state = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    params = {
        "client_id": "registry",
        "response_type": "code",
        "scope": "openid email profile",
        "redirect_uri": f"{rp.url}/callback",
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    url = f"{discovery(op)['authorization_endpoint']}?{urlencode(params)}"
    password = oidc_account_password(login) if login else ""
    done = op.sign_in(url, login or "", password, session)
    return Flow(done.session, done.login_page, rp.next("/callback"), nonce, state, verifier)


def exchange(op: OidcProvider, rp: Receiver, flow: Flow, verifier: str | None = None) -> requests.Response:
    return requests.post(
        discovery(op)["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": flow.callback.query["code"][0],
            "redirect_uri": f"{rp.url}/callback",
            "code_verifier": verifier or flow.verifier,
        },
        auth=("registry", SECRET),
        timeout=10,
    )


def id_token(op: OidcProvider, rp: Receiver, *, login: str = "alex") -> str:
    response = exchange(op, rp, authorize(op, rp, login=login))
    assert response.status_code == 200, response.text
    token: str = response.json()["id_token"]
    return token


def verified_claims(op: OidcProvider, token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, published_keys(op), algorithms=["RS256"]).claims
    return claims


def unverified_header(token: str) -> dict[str, Any]:
    """A token's header, read without checking its signature (to see which kid signed it)."""
    header: dict[str, Any] = extract_compact(token.encode()).headers()
    return header


def test_discovery_names_the_issuer_endpoints_and_what_the_registry_relies_on(op: OidcProvider) -> None:
    document = discovery(op)
    assert document["issuer"] == op.issuer
    for endpoint in ("authorization_endpoint", "token_endpoint", "jwks_uri", "end_session_endpoint"):
        assert document[endpoint].startswith(f"{op.issuer}/"), endpoint
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["id_token_signing_alg_values_supported"] == ["RS256"]
    assert document["backchannel_logout_supported"] is True
    assert document["backchannel_logout_session_supported"] is True
    assert {"client_secret_basic", "client_secret_post", "private_key_jwt"} <= set(
        document["token_endpoint_auth_methods_supported"]
    )
    assert document["acr_values_supported"] == ["urn:test:mfa"]
    assert [key.kid for key in published_keys(op).keys] == [op.state()["kid"]]


def test_code_flow_with_pkce_gives_an_id_token_with_the_accounts_claims(op: OidcProvider, rp: Receiver) -> None:
    before = int(time.time())
    flow = authorize(op, rp)
    assert flow.login_page is not None, "the provider's login page was not shown"
    assert flow.callback.query["state"] == [flow.state]
    assert flow.callback.query["iss"] == [op.issuer]
    response = exchange(op, rp, flow)
    assert response.status_code == 200, response.text
    claims = verified_claims(op, response.json()["id_token"])
    assert claims["iss"] == op.issuer
    assert claims["aud"] == "registry"
    assert claims["nonce"] == flow.nonce
    assert before <= claims["iat"] <= time.time() + 1
    assert claims["exp"] == claims["iat"] + 3600
    assert before <= claims["auth_time"] <= claims["iat"]
    assert claims["sid"]
    expected = {
        "sub": "sub-alex",
        "email": "alex.smith@nhs.net",
        "name": "Alex Smith",
        "tid": TENANT,
        "oid": "oid-alex",
        "roles": ["Registry.Comms"],
        "groups": ["group-comms"],
        "amr": ["pwd", "mfa"],
        "acr": "urn:test:mfa",
    }
    assert {name: claims.get(name) for name in expected} == expected


def test_an_account_without_mfa_asserts_only_a_password(op: OidcProvider, rp: Receiver) -> None:
    claims = verified_claims(op, id_token(op, rp, login="sam"))
    assert (claims["sub"], claims["amr"], claims.get("acr"), claims.get("roles")) == ("sub-sam", ["pwd"], None, None)


def test_the_login_page_has_labelled_fields_and_says_when_the_password_is_wrong(op: OidcProvider, rp: Receiver) -> None:
    verifier, challenge = pkce()
    params = {
        "client_id": "registry",
        "response_type": "code",
        "scope": "openid",
        "redirect_uri": f"{rp.url}/callback",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    done = op.sign_in(f"{op.issuer}/auth?{urlencode(params)}", "alex", "not the password")
    assert done.login_page is not None
    page = done.login_page.text
    assert '<label for="username">Username</label>' in page and '<label for="password">Password</label>' in page
    assert '<button type="submit">Sign in</button>' in page
    assert done.response.status_code == 200
    assert op.is_login_page(done.response), "a wrong password must leave the person on the login page"
    assert "The username or password is wrong." in done.response.text
    assert rp.received.empty(), "nothing went back to the relying party"


def test_pkce_is_required_and_checked(op: OidcProvider, rp: Receiver) -> None:
    params = {"client_id": "registry", "response_type": "code", "scope": "openid", "redirect_uri": f"{rp.url}/callback"}
    refused = requests.get(f"{op.issuer}/auth?{urlencode(params)}", allow_redirects=False, timeout=10)
    assert refused.status_code == 303
    assert parse_qs(urlsplit(refused.headers["Location"]).query)["error"] == ["invalid_request"]

    wrong = exchange(op, rp, authorize(op, rp), verifier=secrets.token_urlsafe(48))
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_grant")


def test_authlib_with_private_key_jwt_completes_the_flow(op: OidcProvider, rp: Receiver) -> None:
    document = discovery(op)
    client = OAuth2Session(
        "registry-jwt",
        CLIENT_KEY,
        scope="openid email",
        redirect_uri=f"{rp.url}/callback",
        token_endpoint_auth_method=PrivateKeyJWT(document["token_endpoint"]),
        code_challenge_method="S256",
    )
    verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(16)
    url, state = client.create_authorization_url(
        document["authorization_endpoint"], nonce=nonce, code_verifier=verifier
    )
    op.sign_in(url, "alex", oidc_account_password("alex"))
    callback = rp.next("/callback")
    token = client.fetch_token(
        document["token_endpoint"],
        authorization_response=f"{rp.url}/callback?{urlencode({k: v[0] for k, v in callback.query.items()})}",
        state=state,
        code_verifier=verifier,
    )
    claims = verified_claims(op, token["id_token"])
    assert (claims["aud"], claims["nonce"], claims["email"]) == ("registry-jwt", nonce, "alex.smith@nhs.net")


def test_single_sign_on_until_max_age_0_asks_for_the_password_again(op: OidcProvider, rp: Receiver) -> None:
    first = authorize(op, rp)
    assert first.login_page is not None
    first_claims = verified_claims(op, exchange(op, rp, first).json()["id_token"])

    again = authorize(op, rp, session=first.session)
    assert again.login_page is None, "the provider's session should sign the person in without a password"
    assert verified_claims(op, exchange(op, rp, again).json()["id_token"])["auth_time"] == first_claims["auth_time"]

    time.sleep(1.1)  # auth_time has one-second resolution
    stepped_up = authorize(op, rp, session=first.session, max_age="0")
    assert stepped_up.login_page is not None, "max_age=0 must show the login page again"
    claims = verified_claims(op, exchange(op, rp, stepped_up).json()["id_token"])
    assert claims["auth_time"] > first_claims["auth_time"]
    assert claims["sid"] == first_claims["sid"], "the same provider session"

    with_prompt = authorize(op, rp, session=first.session, prompt="login")
    assert with_prompt.login_page is not None, "prompt=login must show the login page again"


def test_key_rotation_signs_with_a_new_kid_and_publishes_both(op: OidcProvider, rp: Receiver) -> None:
    old_kid = unverified_header(id_token(op, rp))["kid"]
    rotated = op.control("rotate-keys")
    assert rotated["previous_kid"] == old_kid and rotated["kid"] != old_kid
    token = id_token(op, rp)
    assert unverified_header(token)["kid"] == rotated["kid"]
    assert [key.kid for key in published_keys(op).keys] == [rotated["kid"], old_kid]
    assert verified_claims(op, token)["sub"] == "sub-alex"

    dropped = op.control("rotate-keys", drop_old=True)
    assert [key.kid for key in published_keys(op).keys] == [dropped["kid"]]
    assert unverified_header(id_token(op, rp))["kid"] == dropped["kid"]


def test_the_bad_key_mode_publishes_a_key_the_signature_does_not_verify_with(op: OidcProvider, rp: Receiver) -> None:
    honest_keys = published_keys(op)
    kid = op.control("bad-key")["kid"]
    token = id_token(op, rp)
    assert unverified_header(token)["kid"] == kid
    assert [key.kid for key in published_keys(op).keys] == [kid]
    with pytest.raises(BadSignatureError):
        verified_claims(op, token)
    assert jwt.decode(token, honest_keys, algorithms=["RS256"]).claims["sub"] == "sub-alex", "signed by the real key"


def test_a_provider_with_a_slow_clock_issues_expired_tokens(op: OidcProvider, rp: Receiver) -> None:
    assert op.control("clock", seconds=-7200) == {"seconds": -7200}
    claims = verified_claims(op, id_token(op, rp))
    assert claims["exp"] < time.time() - 3000
    assert claims["iat"] < time.time() - 7000


def test_the_next_id_token_can_carry_other_claims_once(op: OidcProvider, rp: Receiver) -> None:
    first = verified_claims(op, id_token(op, rp))
    op.control(
        "next-id-token", client_id="registry", claims={"nonce": "used-before", "tid": "other-tenant", "amr": None}
    )
    changed = verified_claims(op, id_token(op, rp))
    assert (changed["nonce"], changed["tid"], "amr" in changed) == ("used-before", "other-tenant", False)
    assert changed["sub"] == "sub-alex" and changed["acr"] == "urn:test:mfa", "the rest as it was"
    again = verified_claims(op, id_token(op, rp))
    assert (again["tid"], again["amr"]) == (first["tid"], first["amr"]), "only the next one"


def test_back_channel_logout_token_reaches_the_client(op: OidcProvider, rp: Receiver) -> None:
    sid = verified_claims(op, id_token(op, rp))["sid"]
    sent = op.control("backchannel-logout", client_id="registry", sub="sub-alex")
    assert (sent["status"], sent["sid"]) == (200, sid), "the sid of the latest sign-in"
    arrived = rp.next("/backchannel-logout")
    assert arrived.method == "POST"
    assert arrived.form["logout_token"] == [sent["logout_token"]]
    token = jwt.decode(sent["logout_token"], published_keys(op), algorithms=["RS256"])
    assert token.header["typ"] == "logout+jwt"
    claims = token.claims
    assert (claims["iss"], claims["aud"], claims["sub"], claims["sid"]) == (op.issuer, "registry", "sub-alex", sid)
    assert claims["events"] == {"http://schemas.openid.net/event/backchannel-logout": {}}
    assert claims["jti"] and "nonce" not in claims
    assert claims["iat"] <= time.time() + 1

    explicit = op.control("backchannel-logout", client_id="registry", sub="sub-alex", sid="another-sid")
    assert jwt.decode(explicit["logout_token"], published_keys(op)).claims["sid"] == "another-sid"
    rp.next("/backchannel-logout")


def test_rp_initiated_logout_sends_the_back_channel_token_and_returns(op: OidcProvider, rp: Receiver) -> None:
    flow = authorize(op, rp)
    tokens = exchange(op, rp, flow).json()
    sid = verified_claims(op, tokens["id_token"])["sid"]
    params = {
        "id_token_hint": tokens["id_token"],
        "post_logout_redirect_uri": f"{rp.url}/signed-out",
        "state": "bye",
    }
    page = flow.session.get(f"{discovery(op)['end_session_endpoint']}?{urlencode(params)}", timeout=10)
    assert "Sign out" in page.text
    op.sign_out(flow.session, page)
    logout_token = rp.next("/backchannel-logout").form["logout_token"][0]
    assert jwt.decode(logout_token, published_keys(op)).claims["sid"] == sid
    assert rp.next("/signed-out").query["state"] == ["bye"]
    assert authorize(op, rp, session=flow.session).login_page is not None, "the provider's session ended"


def test_a_client_registered_while_running_can_sign_in(op: OidcProvider, rp: Receiver) -> None:
    late = f"{rp.url}/late-callback"
    assert op.control("client", **oidc_client("late", late, client_secret=SECRET)) == {"client_id": "late"}
    verifier, challenge = pkce()
    params = {
        "client_id": "late",
        "response_type": "code",
        "scope": "openid",
        "redirect_uri": late,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    op.sign_in(f"{op.issuer}/auth?{urlencode(params)}", "sam", oidc_account_password("sam"))
    assert rp.next("/late-callback").query["code"]


def test_controls_refuse_bad_input(op: OidcProvider) -> None:
    with pytest.raises(ProviderError, match="seconds must be a whole number"):
        op.control("clock", seconds="soon")
    with pytest.raises(ProviderError, match="no client nobody"):
        op.control("backchannel-logout", client_id="nobody", sub="sub-alex")
    with pytest.raises(ProviderError, match="redirect_uris"):
        op.control("client", client_id="broken", client_secret=SECRET, redirect_uris="not a list")
    with pytest.raises(ProviderError, match="aud cannot be changed"):
        op.control("next-id-token", claims={"aud": "someone-else"})
    with pytest.raises(ProviderError, match=r"\(404\)"):
        op.control("unknown")
    state = op.state()
    assert state == {
        "kid": state["kid"],
        "published": [state["kid"]],
        "clock_seconds": 0,
        "bad_key": False,
        "next_id_token": None,
    }, "refused controls change nothing"


def test_without_node_the_tests_skip_with_a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(pytest.skip.Exception, match="^node is not installed.*OpenID Connect provider tests skipped$"):
        OidcProvider().start({})


def test_without_oidc_provider_installed_the_tests_skip_with_a_reason(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(oidc_support, "OIDC_PROVIDER_PACKAGE", tmp_path / "package.json")
    with pytest.raises(pytest.skip.Exception, match="^node_modules/oidc-provider is missing.*tests skipped$"):
        OidcProvider().start({})


def test_the_provider_stops_when_told(rp: Receiver) -> None:
    with running_provider({"clients": [], "accounts": []}) as provider:
        assert discovery(provider)["issuer"] == provider.issuer
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{provider.issuer}/.well-known/openid-configuration", timeout=5)
