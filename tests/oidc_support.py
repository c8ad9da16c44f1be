"""A real OpenID provider for the tests: npm ``oidc-provider`` (tests/oidc_provider/provider.mjs)
on 127.0.0.1, and a sign-in driven through it over real HTTP.

Use::

    provider = OidcProvider()               # a free port: .issuer is known before it starts
    app = live_app(url, instance, OIDC_ISSUER=provider.issuer, ...)
    with serving(app) as base:
        provider.start({"clients": [oidc_client("registry", f"{base}/login/oidc/callback", ...)],
                        "accounts": [oidc_account("alex", sub="…", email="…", ...)]})
        try:
            done = provider.sign_in(f"{base}/login/oidc", "alex", oidc_account_password("alex"))
            assert done.response.url == f"{base}/"
        finally:
            provider.stop()

or ``with running_provider(config) as provider:`` when the clients' addresses are known first.
Where node or node_modules/oidc-provider is missing, :func:`require_node` (called by
:meth:`OidcProvider.start`) skips the test with a one-line reason, which ``-ra`` prints.
"""

from __future__ import annotations

import json
import os
import secrets
import select
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import IO, Any
from urllib.parse import urljoin

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
PROVIDER_SCRIPT = ROOT / "tests" / "oidc_provider" / "provider.mjs"
OIDC_PROVIDER_PACKAGE = ROOT / "node_modules" / "oidc-provider" / "package.json"
START_TIMEOUT = 30.0


def missing_node() -> str | None:
    """Why the provider cannot run here, or None when it can."""
    if shutil.which("node") is None:
        return "node is not installed (apt-get install nodejs): OpenID Connect provider tests skipped"
    if not OIDC_PROVIDER_PACKAGE.exists():
        return "node_modules/oidc-provider is missing (make install): OpenID Connect provider tests skipped"
    return None


def require_node() -> None:
    """Skip the calling test (or fixture) with a one-line notice when the provider cannot run."""
    reason = missing_node()
    if reason is not None:
        pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# --- config ------------------------------------------------------------------------------

_PASSWORDS: dict[str, str] = {}


def oidc_account_password(login: str) -> str:
    """The password :func:`oidc_account` gave ``login`` (one random password per login per run)."""
    return _PASSWORDS.setdefault(login, secrets.token_urlsafe(12))


def oidc_account(
    login: str,
    *,
    sub: str,
    email: str | None = None,
    name: str | None = None,
    tid: str | None = None,
    oid: str | None = None,
    roles: Sequence[str] = (),
    groups: Sequence[str] = (),
    amr: Sequence[str] | None = ("pwd",),
    acr: str | None = None,
    password: str | None = None,
    **claims: Any,
) -> dict[str, Any]:
    """An account of the provider's config: what its login page accepts and what its ID token says.
    Claims left as None are not asserted at all (``amr=None``: no amr claim)."""
    named = {"email": email, "name": name, "tid": tid, "oid": oid}
    account: dict[str, Any] = {
        "login": login,
        "password": password if password is not None else oidc_account_password(login),
        "claims": {"sub": sub, **{k: v for k, v in named.items() if v is not None}, **claims},
    }
    if roles:
        account["claims"]["roles"] = list(roles)
    if groups:
        account["claims"]["groups"] = list(groups)
    if amr is not None:
        account["amr"] = list(amr)
    if acr is not None:
        account["acr"] = acr
    return account


def oidc_client(
    client_id: str,
    redirect_uri: str,
    *,
    client_secret: str | None = None,
    jwks: Mapping[str, Any] | None = None,
    token_endpoint_auth_method: str | None = None,
    post_logout_redirect_uris: Sequence[str] = (),
    backchannel_logout_uri: str | None = None,
    **metadata: Any,
) -> dict[str, Any]:
    """A client of the provider's config (oidc-provider metadata). With ``jwks`` (public keys) it
    authenticates with private_key_jwt, else with ``client_secret`` (client_secret_basic)."""
    client: dict[str, Any] = {
        "client_id": client_id,
        "redirect_uris": [redirect_uri],
        "post_logout_redirect_uris": list(post_logout_redirect_uris),
        "id_token_signed_response_alg": "RS256",
        **metadata,
    }
    if jwks is not None:
        client["jwks"] = dict(jwks)
        client["token_endpoint_auth_method"] = token_endpoint_auth_method or "private_key_jwt"
    else:
        client["client_secret"] = client_secret
        client["token_endpoint_auth_method"] = token_endpoint_auth_method or "client_secret_basic"
    if backchannel_logout_uri is not None:
        client["backchannel_logout_uri"] = backchannel_logout_uri
        client["backchannel_logout_session_required"] = True
    return client


# --- pages -------------------------------------------------------------------------------


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(Form(values.get("action", ""), values.get("method", "get").lower()))
        elif self.forms and values.get("name") and (tag == "input" or (tag == "button" and "form" not in values)):
            self.forms[-1].fields[values["name"]] = values.get("value", "")


def forms(response: requests.Response) -> list[Form]:
    """The forms of an HTML page, with the values their inputs (and named buttons) would send."""
    parser = _Forms()
    parser.feed(response.text)
    return parser.forms


def submit(session: requests.Session, page: requests.Response, form: Form, **values: str) -> requests.Response:
    """Send ``form`` of ``page`` as a browser would, with ``values`` typed in; follow the redirects."""
    url = urljoin(page.url, form.action or page.url)
    data = {**form.fields, **values}
    if form.method == "post":
        return session.post(url, data=data, timeout=30)
    return session.get(url, params=data, timeout=30)


@dataclass
class SignIn:
    """What a sign-in through the provider ended with."""

    response: requests.Response  # the last page, after every redirect
    session: requests.Session  # with the Registry's and the provider's cookies
    login_page: requests.Response | None  # the provider's login page, if it was shown


# --- the provider ------------------------------------------------------------------------


class ProviderError(AssertionError):
    pass


class OidcProvider:
    """The test provider at ``issuer`` (``http://127.0.0.1:PORT``): known at once, running after
    :meth:`start`. Discovery is at ``issuer + "/.well-known/openid-configuration"``."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None
        self._directory: tempfile.TemporaryDirectory[str] | None = None
        self._log: IO[bytes] | None = None

    def start(self, config: dict[str, Any]) -> OidcProvider:
        """Start it with ``{"clients": [...], "accounts": [...]}``; return once it answers."""
        require_node()
        assert self._process is None, "the provider is already running"
        self._directory = tempfile.TemporaryDirectory(prefix="oidc-provider-")
        directory = Path(self._directory.name)
        config_file = directory / "config.json"
        config_file.write_text(json.dumps(config))
        config_file.chmod(0o600)
        self._log = (directory / "provider.log").open("w+b")
        self._process = subprocess.Popen(
            [
                "node",
                str(PROVIDER_SCRIPT),
                "--port",
                str(self.port),
                "--issuer",
                self.issuer,
                "--config",
                str(config_file),
            ],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env={**os.environ, "NODE_NO_WARNINGS": "1"},
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            readable, _, _ = select.select([self._process.stdout], [], [], deadline - time.monotonic())
            if not readable:
                break
            line = self._process.stdout.readline().decode()
            if line.startswith("READY "):
                return
            if not line:
                raise ProviderError(f"the OpenID provider exited ({self._process.wait()}): {self.log()}")
        raise ProviderError(f"the OpenID provider did not start in {START_TIMEOUT:.0f}s: {self.log()}")

    def log(self) -> str:
        """What the provider wrote on stderr (warnings, errors; never secrets)."""
        if self._log is None:
            return ""
        self._log.flush()
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            assert process.stdin is not None and process.stdout is not None
            process.stdin.close()  # it exits when its stdin closes
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.stdout.close()
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._directory is not None:
            self._directory.cleanup()
            self._directory = None

    def control(self, name: str, **body: Any) -> dict[str, Any]:
        """POST to /__test/<name> (rotate-keys, bad-key, clock, next-id-token, backchannel-logout, client,
        reset; see provider.mjs);
        the answer as a dict. Raises :class:`ProviderError` with the provider's reason on a refusal."""
        response = requests.post(f"{self.issuer}/__test/{name}", json=body, timeout=30)
        answer: dict[str, Any] = response.json()
        if response.status_code != 200:
            raise ProviderError(f"/__test/{name} refused ({response.status_code}): {answer.get('error')}")
        return answer

    def state(self) -> dict[str, Any]:
        """The signing kid, the published kids, the clock shift and whether the JWKS lies."""
        answer: dict[str, Any] = requests.get(f"{self.issuer}/__test/state", timeout=30).json()
        return answer

    def is_login_page(self, response: requests.Response) -> bool:
        return response.url.startswith(f"{self.issuer}/interaction/") and any(
            "password" in form.fields for form in forms(response)
        )

    def sign_in(self, start_url: str, username: str, password: str, session: requests.Session | None = None) -> SignIn:
        """Open ``start_url`` (the Registry's "Sign in with …" link) in ``session`` (a new one if
        None), follow the redirects to the provider, sign in on its login page when it is shown
        (it is not when the provider's session still stands and nothing asks for a fresh login),
        and follow the redirects back. Nothing is asserted: the caller checks where it ended."""
        session = session or requests.Session()
        page = session.get(start_url, timeout=30)
        if not self.is_login_page(page):
            return SignIn(page, session, None)
        (form,) = [form for form in forms(page) if "password" in form.fields]
        return SignIn(submit(session, page, form, username=username, password=password), session, page)

    def sign_out(self, session: requests.Session, page: requests.Response) -> requests.Response:
        """Confirm the provider's "Sign out" page (RP-initiated logout) that ``page`` is;
        the provider then sends its back-channel logout tokens and redirects back."""
        assert page.url.startswith(f"{self.issuer}/session/end"), page.url
        (form,) = [form for form in forms(page) if "xsrf" in form.fields]
        return submit(session, page, form, logout="yes")


@contextmanager
def running_provider(config: dict[str, Any], port: int | None = None) -> Iterator[OidcProvider]:
    """An :class:`OidcProvider` started with ``config``, stopped on the way out."""
    provider = OidcProvider(port)
    provider.start(config)
    try:
        yield provider
    finally:
        provider.stop()
