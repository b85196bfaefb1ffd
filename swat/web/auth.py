"""Sign-in, sign-out and the language switch."""

from __future__ import annotations

import math

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_user, logout_user

from .. import transaction
from ..domain import permissions
from ..domain.text import is_safe_next
from ..services import accounts
from .common import account_settings, attempt, now
from .forms import LanguageForm, LoginForm
from .i18n import LOCALES

bp = Blueprint("auth", __name__)
# The sign-in waiting for its one-time code: {"uid", "at" (epoch seconds), "next"}.
PENDING = "pending_sign_in"


def home_for(user) -> str:
    return url_for(permissions.home_page(user))


@bp.get("/")
def home():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(home_for(current_user))


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        ip = request.remote_addr or ""
        username = form.username.data or ""
        with transaction.committed() as db_session:
            outcome = accounts.sign_in(db_session, now(), username, form.password.data or "", ip, account_settings())
        if outcome.throttled:
            current_app.logger.warning("sign-in throttled for %r from %s", username[:64], ip)
            seconds = max(1, math.ceil(outcome.retry_after.total_seconds()))
            flash(
                ngettext(
                    "Too many failed attempts. Try again in %(num)d minute.",
                    "Too many failed attempts. Try again in %(num)d minutes.",
                    math.ceil(seconds / 60),
                ),
                "error",
            )
            page = render_template("auth/login.html", form=form)
            return page, 429, {"Retry-After": str(seconds)}
        user = outcome.user
        if user is None:
            current_app.logger.info("failed sign-in for %r from %s", username[:64], ip)
            flash(_("The user name or password is wrong."), "error")
            return render_template("auth/login.html", form=form), 200
        if outcome.second_factor:
            return second_step(user, form.next.data or "")
        return finish_sign_in(user, outcome.token, form.next.data or "")
    return render_template("auth/login.html", form=form)


def second_step(user, target: str):
    """The password was right; the one-time code comes next (web.two_factor). Nothing of the
    account is in the browser yet but its id, signed, for a few minutes. Whoever was signed in
    in this browser is signed out on the server now."""
    before = current_user.session_id if current_user.is_authenticated else None
    if before:
        with transaction.committed() as db_session:
            accounts.end_session(db_session, now(), before)
    locale = None if current_user.is_authenticated else session.get("locale")
    session.clear()
    if locale in LOCALES:
        session["locale"] = locale
    session[PENDING] = {
        "uid": user.id,
        "at": now().timestamp(),
        # the account's sign-in time the password step wrote: a later one spends this step
        "since": user.last_login_at.timestamp() if user.last_login_at else None,
        # and a new password (a reset link, an admin) spends it too
        "password": user.password_changed_at.timestamp() if user.password_changed_at else None,
        "next": target if is_safe_next(target) else "",
    }
    return redirect(url_for("two_factor.verify"))


def finish_sign_in(user, token: str, target: str):
    """Sign the browser in with a new session (no fixation): whoever was signed in in this
    browser is signed out on the server too, and their language is theirs: only a choice made
    before anyone signed in carries over."""
    before = current_user.session_id if current_user.is_authenticated else None
    if before:
        with transaction.committed() as db_session:
            accounts.end_session(db_session, now(), before)
    locale = None if current_user.is_authenticated else session.get("locale")
    session.clear()
    user.session_id = token
    login_user(user)
    if locale in LOCALES and not user.locale:
        session["locale"] = locale
    return redirect(target if is_safe_next(target) else home_for(user))


@bp.post("/logout")
def logout():
    if current_user.is_authenticated and current_user.session_id:
        with transaction.committed() as db_session:
            accounts.end_session(db_session, now(), current_user.session_id)
    logout_user()
    session.clear()
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/language")
def language():
    form = LanguageForm()
    form.locale.choices = list(LOCALES.items())
    if form.validate_on_submit() and form.locale.data in LOCALES:
        session["locale"] = form.locale.data
        if current_user.is_authenticated:
            attempt(accounts.set_locale, transaction.session(), current_user, form.locale.data)
    target = form.next.data or ""
    return redirect(target if is_safe_next(target) else url_for("auth.home"))
