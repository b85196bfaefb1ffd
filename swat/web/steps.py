"""Steps a signed-in user must take before anything else: change a password someone else set
(`must_change_password`), and set up two-factor sign-in when the desk requires it of their
role. Until then every page leads to the step; signing out, the language switch, the health
checks and static files stay open."""

from __future__ import annotations

from flask import Flask, current_app, flash, jsonify, redirect, request, url_for
from flask_babel import gettext
from flask_login import current_user

from .. import transaction
from ..domain import permissions
from ..services.database import UNAVAILABLE
from .common import account_settings

# Pages that stay reachable whatever step is pending.
OPEN = {
    "static",
    "auth.logout",
    "auth.language",
    "health.healthz",
    "health.readyz",
    "metrics.scrape",
    "auth.login",
    # a reset link opened in a browser where someone is signed in still works
    "account.forgot",
    "account.open_link",
    "account.reset",
}

# Headers the page's own scripts send (static/js/app.js).
SCRIPTED = {"X-Swat-Draft", "X-Swat-Panel"}

CHANGE_PASSWORD = "account.change_password"
ENROL_TWO_FACTOR = "two_factor.enrol"


def pending_steps(user) -> list[str]:
    """The endpoints of the steps the user must take first, in order."""
    steps = []
    if getattr(user, "must_change_password", False) and user.auth_source == "local":
        steps.append(CHANGE_PASSWORD)
    if (
        account_settings().two_factor_required
        and user.role in permissions.TWO_FACTOR_ROLES
        and user.totp_enabled_at is None
    ):
        steps.append(ENROL_TWO_FACTOR)
    return steps


def _guard():
    endpoint = request.endpoint or ""
    if endpoint in OPEN:
        return None
    try:
        user = current_user._get_current_object()
    except UNAVAILABLE:
        # The database cannot be read: the view's own use of it answers (the try-again page).
        try:
            transaction.rollback()
        except Exception:  # a dead connection may refuse even that
            pass
        return None
    if not user.is_authenticated:
        return None
    step = next((s for s in pending_steps(user) if s in current_app.view_functions), None)
    # The step's own pages (its form posts too) stay open.
    if step is None or endpoint.partition(".")[0] == step.partition(".")[0]:
        return None
    if SCRIPTED & set(request.headers.keys()) or request.accept_mimetypes.best == "application/json":
        # The page's scripts (a draft saved, the side panel): an answer they can show, where a
        # redirect to a form would fail without a word.
        return jsonify(error=gettext("Finish the step this page leads to first."), step=url_for(step)), 403
    if request.method != "GET":
        flash(gettext("Finish this step first: nothing else was saved."), "error")
    return redirect(url_for(step), code=303)


def init_app(app: Flask) -> None:
    app.before_request(_guard)
