"""Who is signed in: Flask-Login reads the server-side session (see services.accounts)."""

from __future__ import annotations

from flask import Flask, g
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .. import transaction
from ..extensions import login_manager
from ..services import accounts
from ..services.database import UNAVAILABLE


def _load_user(token: str):
    from .common import account_settings, now

    user = accounts.resume_session(transaction.session(), now(), token, account_settings())
    # The once-a-minute last-seen time: committed here, before the view does
    # anything, because a page that only reads never commits. Best effort: on
    # SQLite a concurrent writer wins and the next request writes it instead.
    if user is not None and not g.get("refused"):
        transaction.commit_if_changed()
        user.session_id = token
    return user


def signed_in_or_out():
    """Who is signed in; when that cannot be read (the database is down, most likely) the
    request goes on signed out, so its language, headers and error page need no database."""
    try:
        return current_user._get_current_object()
    except UNAVAILABLE:
        try:
            transaction.rollback()
        except Exception:  # a dead connection may refuse even that; the request ends anyway
            pass
        login_manager._update_request_context_with_user()
        return current_user._get_current_object()


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = None  # sessions are server-side; see services.accounts
    login_manager.user_loader(_load_user)
