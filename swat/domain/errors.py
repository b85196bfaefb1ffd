"""Domain errors. Views turn them into form errors or JSON errors.

Each error carries a message id (English, translated at the edge) and optional
format arguments, so the domain stays free of Flask-Babel.
"""

from __future__ import annotations


class DomainError(Exception):
    """A business rule refused the operation."""

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message)
        self.message = message
        self.params = params


class NotFound(DomainError):
    """The object does not exist or the actor may not know that it exists."""

    def __init__(self, message: str = "Not found.", **params: object) -> None:
        super().__init__(message, **params)


class Forbidden(DomainError):
    """The actor can see the object but may not do this to it."""


class Conflict(DomainError):
    """Someone else changed the object first (a lost claim, a stale form)."""


class InvalidTransition(DomainError):
    """The ticket's status does not allow this action."""


class ValidationError(DomainError):
    """Input broke a rule that a form cannot check (unknown ids, limits)."""

    def __init__(
        self, message: str, field: str | None = None, cause: DomainError | None = None, **params: object
    ) -> None:
        super().__init__(message, **params)
        self.field = field
        # A more specific error this one wraps ("Line 3:" + "That user name is taken.").
        self.cause = cause
