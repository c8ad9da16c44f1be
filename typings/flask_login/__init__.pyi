# Stubs for Flask-Login 0.6.3 (see typings/README.md): the parts the Registry uses.
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask

_C = TypeVar("_C", bound=Callable[..., Any])

# A proxy to whatever the user loader returned (the Registry's User) or to an anonymous user.
current_user: Any

class LoginManager:
    session_protection: str | None
    login_view: str | None
    def __init__(self, app: Flask | None = None, add_context_processor: bool = True) -> None: ...
    def init_app(self, app: Flask, add_context_processor: bool = True) -> None: ...
    def user_loader(self, callback: _C) -> _C: ...
    def request_loader(self, callback: _C) -> _C: ...
    def unauthorized_handler(self, callback: _C) -> _C: ...

def login_user(
    user: Any, remember: bool = False, duration: Any = None, force: bool = False, fresh: bool = True
) -> bool: ...
def logout_user() -> bool: ...
