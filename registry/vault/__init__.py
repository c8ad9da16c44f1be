"""Credential custody (policy 7.2): the channels' credentials, sealed by :mod:`registry.crypto`."""

from __future__ import annotations

from flask import Flask

from registry import crypto


def init_app(app: Flask) -> None:
    """Make the application's vault (the factory calls it here; the vault itself is :mod:`registry.crypto`)."""
    crypto.init_app(app)
