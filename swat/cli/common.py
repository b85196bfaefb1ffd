"""What the command modules share: the app's clock, and domain errors as shell text."""

from __future__ import annotations

from flask import current_app

from ..domain.errors import DomainError


def plain_text(exc: DomainError) -> str:
    """A domain error in English for the shell."""
    text = exc.message % exc.params if exc.params else exc.message
    cause = getattr(exc, "cause", None)
    return f"{text} {plain_text(cause)}" if cause is not None else text


def now():
    """The app's clock (a fixed one in tests): every command's `now`."""
    return current_app.extensions["swat.clock"].now()
