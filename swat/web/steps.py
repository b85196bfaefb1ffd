"""Steps a signed-in user must take before anything else: change a password someone else set
(`must_change_password`), and set up two-factor sign-in when the desk requires it of their
role. Until then every page leads to the step; signing out, the language switch, the health
checks and static files stay open."""

from __future__ import annotations

from flask import Flask, current_app, redirect, request, url_for
from flask_login import current_user

from .. import transaction
from ..domain import permissions
from ..services.database import UNAVAILABLE
from .common import account_settings

# Pages that stay reachable whatever step is pending.
OPEN = {"static", "auth.logout", "auth.language", "auth.healthz", "auth.login"}

CHANGE_PASSWORD = "account.change_password"
ENROL_TWO_FACTOR = "two_factor.enrol"


def pending_step(user) -> str | None:
    """The endpoint of the step the user must take first, or None."""
    if getattr(user, "must_change_password", False) and user.auth_source == "local":
        return CHANGE_PASSWORD
    if (
        account_settings().two_factor_required
        and user.role in permissions.TWO_FACTOR_ROLES
        and user.totp_enabled_at is None
    ):
        return ENROL_TWO_FACTOR
    return None


def _guard():
    endpoint = request.endpoint or ""
    if endpoint in OPEN:
        return None
    try:
        user = current_user._get_current_object()
    except UNAVAILABLE:
        # The database cannot be read: the view's own use of it answers (the try-again page).
        transaction.rollback()
        return None
    if not user.is_authenticated:
        return None
    step = pending_step(user)
    # The step's own pages (its form posts too) stay open.
    if step is None or endpoint.partition(".")[0] == step.partition(".")[0] or step not in current_app.view_functions:
        return None
    return redirect(url_for(step), code=303)


def init_app(app: Flask) -> None:
    app.before_request(_guard)
