"""Who is signed in: Flask-Login reads the server-side session (see services.accounts)."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from .. import transaction
from ..extensions import login_manager
from ..services import accounts


def _load_user(token: str):
    from .common import account_settings, now

    user = accounts.resume_session(transaction.session(), now(), token, account_settings())
    # The once-a-minute last-seen time: committed here, before the view does
    # anything, because a page that only reads never commits.
    if user is not None and transaction.commit_if_changed():
        user.session_id = token
    return user


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = None  # sessions are server-side; see services.accounts
    login_manager.user_loader(_load_user)
