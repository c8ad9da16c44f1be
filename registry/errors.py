"""Domain errors: each carries a plain-English message and maps to one HTTP status.

Services raise them before changing anything; views turn them into a form error
or a flash message, the API into ``application/problem+json``.
"""

from __future__ import annotations


class RegistryError(Exception):
    """A refusal the user should read: ``message`` is shown as it is."""

    status = 400
    title = "Bad request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotPermitted(RegistryError):
    """The user's roles do not allow this action."""

    status = 403
    title = "Not permitted"


class NotFound(RegistryError):
    status = 404
    title = "Not found"


class Conflict(RegistryError):
    """The current state (or the four-eyes rule) does not allow this action."""

    status = 409
    title = "Not possible now"


class Invalid(RegistryError):
    """Input is missing or wrong; ``errors`` maps each field to its message."""

    status = 422
    title = "Check your answers"

    def __init__(self, errors: dict[str, str], message: str | None = None) -> None:
        super().__init__(message or "; ".join(errors.values()))
        self.errors = errors


class Unavailable(RegistryError):
    """Something the service depends on (the database, file storage) cannot be used just now;
    nothing was changed and trying again later may work. Answered with ``Retry-After``."""

    status = 503
    title = "Sorry, the service is unavailable"
    retry_after = 30
