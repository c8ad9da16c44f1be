"""The SMTP server's settings (``REGISTRY_SMTP_*``), and the check at the start that they can work.

Apart from the services (which import every model they write) so that the app's start, which makes
the check, imports no model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app

from config import ConfigError


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    username: str | None
    password: str | None
    security: str  # "starttls", "ssl" or "none"
    sender: str
    timeout: float = 10.0

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None = None) -> SmtpSettings | None:
        """From ``config``, by default the current app's."""
        if config is None:
            config = current_app.config
        host = (config.get("SMTP_HOST") or "").strip()
        if not host:
            return None
        security = str(config.get("SMTP_SECURITY") or "starttls").strip().lower()
        if security not in {"starttls", "ssl", "none"}:
            raise ConfigError("REGISTRY_SMTP_SECURITY must be starttls, ssl or none.")
        default_port = {"starttls": 587, "ssl": 465, "none": 25}[security]
        port = str(config.get("SMTP_PORT") or default_port)
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError("REGISTRY_SMTP_PORT must be a port number from 1 to 65535.")
        return cls(
            host=host,
            port=int(port),
            username=(config.get("SMTP_USERNAME") or None),
            password=(config.get("SMTP_PASSWORD") or None),
            security=security,
            sender=str(config.get("SMTP_FROM") or f"Social Channel Registry <no-reply@{host}>"),
        )


def init_app(app: Flask) -> None:
    """Refuse to start with e-mail settings that could never work (rather than fail at the first message)."""
    if SmtpSettings.from_config(app.config) is not None and not app.extensions["registry.settings"].public_base_url:
        raise ConfigError(
            "REGISTRY_SMTP_HOST is set, so set REGISTRY_PUBLIC_BASE_URL too (the Registry's address, "
            "e.g. https://registry.example.nhs.uk): e-mails link to it."
        )
