"""The Flask extensions the Registry uses: one object each, made here and set up on an app by
``create_app``.

Modules import them from here (``from registry.extensions import limiter``). This module imports
nothing of the Registry's, so importing it starts no chain of imports, and nothing imports the
package's ``__init__`` (the application factory) back.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable
from typing import Any, TypeVar

from flask import request
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect


def client_address() -> str:
    """Who is asking, for counting: the address, or its /64 network for IPv6
    (one IPv6 customer holds billions of addresses)."""
    raw = request.remote_addr or "unknown"
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return raw
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


#: Throttling; the limits and what they count are in :mod:`registry.web.throttle`.
limiter = Limiter(
    key_func=client_address,
    default_limits=[],
    in_memory_fallback_enabled=True,
    key_prefix="registry",
)

F = TypeVar("F", bound=Callable[..., Any])


def limited(limit: str) -> Callable[[F], F]:
    """``limiter.limit(limit)``, costing nothing while rate limiting is off (``RATELIMIT_ENABLED`` false).

    Flask-Limiter's decorator works out the request's endpoint, limits and exemptions on every call even
    when the extension is disabled, only to find no limit applies (some 60 µs a request, as much as the
    rest of public verification). Here the view runs directly while the limiter is not enabled, and
    through Flask-Limiter's decorator, unchanged, when it is: it reads the same ``enabled`` and
    ``initialized`` that Flask-Limiter itself reads to decide that no limit applies. One limit per
    view: stacked limits go through ``limiter.limit`` itself."""

    def decorate(view: F) -> F:
        counted = limiter.limit(limit)(view)

        @functools.wraps(view)
        def either(*args: Any, **kwargs: Any) -> Any:
            if limiter.enabled and limiter.initialized:
                return counted(*args, **kwargs)
            return view(*args, **kwargs)

        return either  # type: ignore[return-value]

    return decorate


#: CSRF tokens of forms and of API calls made with a browser's session (:mod:`registry.auth.guard`).
csrf = CSRFProtect()

#: Sign-in sessions and API tokens; the loaders are in :mod:`registry.auth.sessions`.
login_manager = LoginManager()
