"""Response headers: a strict Content-Security-Policy with a per-response nonce on pages, a fixed
stricter one on JSON, and the other browser protections every response gets."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, request
from werkzeug.datastructures import Headers

#: The app's Content-Security-Policy (:class:`_Policy`), which names where its forms may send the browser.
POLICY = "registry.content_security_policy"


def csp_nonce() -> str:
    """The nonce of this response's one inline script (the NHS template's)."""
    nonce: str | None = g.get("csp_nonce")
    if nonce is None:
        nonce = g.csp_nonce = secrets.token_urlsafe(18)
    return nonce


def _policy(nonce: str, form_action: str) -> str:
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "manifest-src 'self'",
            f"form-action {form_action}",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "object-src 'none'",
        ]
    )


#: The headers every response gets, whatever it is (the policy's nonce changes, so it is not here).
_EVERY_RESPONSE: Final = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
)


@dataclass(frozen=True, slots=True)
class _Policy:
    """The app's Content-Security-Policy, written once: what comes before the nonce and after it."""

    before_nonce: str
    after_nonce: str

    @classmethod
    def for_form_action(cls, form_action: str) -> _Policy:
        marker = "\0nonce\0"
        before, after = _policy(marker, form_action).split(marker)
        return cls(before, after)

    def with_nonce(self, nonce: str) -> str:
        return self.before_nonce + nonce + self.after_nonce


_HSTS: Final = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")

#: The policy of a JSON answer (the API's, problem+json included): a browser never runs it as a page, so it
#: needs no script, hence no nonce, and may load, frame or send nothing (OWASP's REST Security guidance).
JSON_POLICY: Final = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

#: Everything an ordinary JSON answer gets, written once: added in one step to an answer that has none of them.
_JSON_HEADERS: Final = (
    ("Content-Security-Policy", JSON_POLICY),
    *_EVERY_RESPONSE,
    ("Cache-Control", "private, no-cache"),
)
_JSON_NAMES: Final = frozenset(name.lower() for name, _ in _JSON_HEADERS)
Headers(_JSON_HEADERS)  # werkzeug's check of every value, once: the fast path below adds them unchecked


def _is_json(content_type: str) -> bool:
    mimetype = content_type.partition(";")[0].strip().lower()
    return mimetype == "application/json" or (mimetype.startswith("application/") and mimetype.endswith("+json"))


def _set_headers(response: Response) -> Response:
    """Every response's protections. Run on every answer, so it is kept cheap: the policies are written
    once per app, the request's ``g`` is looked up once (not once per question asked of it), and a
    header the response does not have yet is added rather than searched for and replaced (a view may
    have set one of them itself: that one is replaced, as before). An ordinary JSON answer (none of
    them set, nothing asked of this response) gets all of them in one step."""
    headers = response.headers
    state = g._get_current_object()
    # The request itself: each attribute read through werkzeug's proxy raises and catches an AttributeError.
    asked = request._get_current_object()  # type: ignore[attr-defined]
    present = set()
    content_type = ""
    for name, value in headers:
        lowered = name.lower()
        present.add(lowered)
        if lowered == "content-type":
            content_type = value
    csp = state.get("csp_override")  # (getattr of one not set raises and catches an AttributeError twice)
    no_store_set = state.get("no_store")
    if _is_json(content_type) and not csp:
        if not no_store_set and present.isdisjoint(_JSON_NAMES) and not asked.path.startswith("/assets/"):
            headers._list.extend(_JSON_HEADERS)  # checked once, above; werkzeug keeps its pairs in _list
            if asked.is_secure:
                headers.add(*_HSTS)
            return response
        csp = JSON_POLICY
    if not csp:
        policy: _Policy = current_app.extensions[POLICY]
        csp = policy.with_nonce(csp_nonce())
    _put(headers, present, "Content-Security-Policy", csp)
    for name, value in _EVERY_RESPONSE:
        _put(headers, present, name, value)
    if asked.is_secure:
        _put(headers, present, *_HSTS)
    if not asked.path.startswith("/assets/") and "cache-control" not in present:
        # Pages show personal and operational data: never keep them in shared caches.
        headers.add("Cache-Control", "no-store" if no_store_set else "private, no-cache")
    elif no_store_set:
        headers["Cache-Control"] = "no-store"
    if no_store_set:
        _put(headers, present, "Pragma", "no-cache")
    return response


def _put(headers: Headers, present: set[str], name: str, value: str) -> None:
    """``headers[name] = value``, without looking through the headers when ``name`` is not among them."""
    if name.lower() in present:
        headers[name] = value
    else:
        headers.add(name, value)


def no_store() -> None:
    """Mark this response as one no cache may keep (pages that show a secret)."""
    g.no_store = True


def form_action_sources(app: Flask) -> str:
    """``'self'``, and the identity provider's origin where there is one: signing out posts to this site,
    which redirects to the provider's end-session endpoint (RP-initiated logout), and the browser blocks
    a form's redirect to anywhere its page's form-action does not name."""
    sources = ["'self'"]
    provider = app.extensions["registry.settings"].oidc
    if provider is not None:
        issuer = urlsplit(provider.issuer)
        sources.append(f"{issuer.scheme}://{issuer.netloc}")
    return " ".join(sources)


def init_app(app: Flask) -> None:
    app.extensions[POLICY] = _Policy.for_form_action(form_action_sources(app))
    app.after_request(_set_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
