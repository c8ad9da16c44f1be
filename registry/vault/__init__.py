"""Credential custody (policy 7.2): the vault and the channels' credentials."""

from __future__ import annotations

from flask import Flask, current_app

from registry.vault.crypto import Vault


def init_app(app: Flask) -> None:
    """The one construction point of the vault, from the configured master keys."""
    app.extensions["registry.vault"] = Vault(app.extensions["registry.settings"].master_keys)


def vault() -> Vault:
    return current_app.extensions["registry.vault"]
