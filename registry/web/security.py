"""Response headers: a strict Content-Security-Policy with a per-response nonce,
and the other browser protections every page gets."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, request

#: Where a form of this site may send the browser, redirects included (Chromium checks those too).
FORM_ACTION = "registry.form_action"


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


def _set_headers(response: Response) -> Response:
    headers = response.headers
    headers["Content-Security-Policy"] = g.get("csp_override") or _policy(
        csp_nonce(), current_app.extensions[FORM_ACTION]
    )
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    headers["X-Frame-Options"] = "DENY"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Cross-Origin-Resource-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
    if request.is_secure:
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    if not request.path.startswith("/assets/") and "Cache-Control" not in headers:
        # Pages show personal and operational data: never keep them in shared caches.
        headers["Cache-Control"] = "no-store" if g.get("no_store") else "private, no-cache"
    if g.get("no_store"):
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    return response


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
    app.extensions[FORM_ACTION] = form_action_sources(app)
    app.after_request(_set_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
