"""Steps a signed-in user must take before anything else: change a password someone else set
(`must_change_password`), and set up two-factor sign-in when the desk requires it of their
role. Until then every page leads to the step; signing out, the language switch, the health
checks and static files stay open."""

from __future__ import annotations

from flask import Flask, current_app, redirect, request, url_for
from flask_login import current_user

from ..domain import permissions
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
    if endpoint in OPEN or not current_user.is_authenticated:
        return None
    step = pending_step(current_user)
    if step is None or endpoint == step or step not in current_app.view_functions:
        return None
    return redirect(url_for(step), code=303)


def init_app(app: Flask) -> None:
    app.before_request(_guard)
