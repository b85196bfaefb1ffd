"""Small helpers shared by the views."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar

from flask import abort, current_app, flash
from flask_babel import gettext
from flask_login import current_user, login_required

from ..domain import permissions
from ..domain.errors import DomainError
from ..services import directory
from ..services.accounts import AccountSettings
from ..services.storage import AttachmentStore, Upload
from ..services.tickets import Limits
from ..services.upload_policy import UploadPolicy
from ..transaction import committed

T = TypeVar("T")


def now() -> datetime:
    return current_app.extensions["swat.clock"].now()


def settings() -> dict:
    return current_app.config["SWAT"]


def account_settings() -> AccountSettings:
    s = settings()
    return AccountSettings(
        hash_method=s["password_hash_method"],
        max_failures=s["login_max_failures"],
        window_minutes=s["login_window_minutes"],
        max_failures_per_ip=s["login_max_failures_per_ip"],
        delay_seconds=s["login_delay_seconds"],
        reset_minutes=s["password_reset_minutes"],
        two_factor_required=s["two_factor_required"],
        two_factor_issuer=s["two_factor_issuer"],
        idle_minutes=s["session_idle_minutes"],
        absolute_hours=s["session_absolute_hours"],
        directory=directory.settings_from(s),
    )


def store() -> AttachmentStore:
    return AttachmentStore(settings()["attachment_dir"])


def limits() -> Limits:
    s = settings()
    return Limits(
        max_bytes=s["max_attachment_bytes"],
        max_files=s["max_attachments_per_post"],
        policy=UploadPolicy.from_settings(s),
    )


def uploads(file_storages) -> list[Upload]:
    return [
        Upload(filename=f.filename or "", stream=f.stream, content_type=f.mimetype)
        for f in file_storages or []
        if f and f.filename
    ]


def error_text(exc: DomainError) -> str:
    """A domain error's message in the user's language (with the error it wraps, if any)."""
    text = gettext(exc.message, **exc.params) if exc.params else gettext(exc.message)
    cause = getattr(exc, "cause", None)
    return f"{text} {error_text(cause)}" if cause is not None else text


def form_error(form, exc: DomainError, default_field: str | None = None) -> None:
    """Attach a domain error to the form field it concerns, or flash it."""
    field = getattr(exc, "field", None) or default_field
    if field and field in form._fields:
        form._fields[field].errors = list(form._fields[field].errors) + [error_text(exc)]
    else:
        flash(error_text(exc), "error")


def attempt(fn: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[T | None, DomainError | None]:
    """Run one service call as the request's transaction: `(result, None)` after the commit.

    A refusal (any `DomainError`, a lost race as `Conflict` included) rolls the
    whole transaction back and comes back as `(None, error)`, for the view to
    flash (`error_text`) or attach to its form (`form_error`). Any other
    exception rolls back too and propagates (a 500).
    """
    try:
        with committed():
            result = fn(*args, **kwargs)
    except DomainError as exc:
        return None, exc
    return result, None


def requires(decision: Callable[[Any], bool]):
    """Sign-in plus one named permission from `swat.domain.permissions`; anyone else gets 403.

    The same functions decide what the navigation shows (`may` in templates),
    so a link is shown exactly when its page would open.
    """

    def deco(view):
        @wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if not decision(current_user):
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return deco


class May:
    """`may.triage`, `may.view_reports`, ...: the named permissions for the signed-in person, in templates.

    `may.<name>` is `permissions.can_<name>(current_user)`; an unknown name is an
    error, not a silent False, so a template cannot check a decision that does not exist.
    """

    def __init__(self, actor: Any) -> None:
        self._actor = actor

    def __getattr__(self, name: str) -> bool:
        if name.startswith("_"):
            raise AttributeError(name)
        decision = getattr(permissions, f"can_{name}", None)
        if decision is None:
            # Not AttributeError: Jinja would turn that into a silent, always-false Undefined.
            raise LookupError(f"no permission named can_{name}")
        return bool(self._actor is not None and self._actor.is_authenticated and decision(self._actor))
