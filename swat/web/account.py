"""Your own account: changing your password, and resetting a forgotten one by mail."""

from __future__ import annotations

import math

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from .. import transaction
from ..domain.errors import ValidationError
from ..services import accounts, passwords
from .common import account_settings, form_error, now, settings

bp = Blueprint("account", __name__)
REQUIRED = _l("This field is required.")
NOT_THE_SAME = _l("The two new passwords differ: type the same one twice.")
# A reset link carries its token in the address: no page it leads to passes it on.
NO_REFERRER = {"Referrer-Policy": "no-referrer"}
# The token of the reset link this browser opened.
RESET_TOKEN = "password_reset_token"


def _new_password():
    return PasswordField(
        _l("New password"),
        validators=[DataRequired(REQUIRED), Length(max=passwords.PASSWORD_MAX)],
        render_kw={"autocomplete": "new-password"},
    )


def hint():
    return _(
        "At least %(min)d characters, hard to guess: a few unrelated words together work well.",
        min=passwords.PASSWORD_MIN,
    )


def _again():
    return PasswordField(
        _l("New password again"),
        validators=[DataRequired(REQUIRED), EqualTo("password", NOT_THE_SAME)],
        render_kw={"autocomplete": "new-password"},
    )


class ChangeForm(FlaskForm):
    current = PasswordField(
        _l("Current password"),
        validators=[DataRequired(REQUIRED), Length(max=passwords.PASSWORD_MAX)],
        render_kw={"autocomplete": "current-password", "autofocus": True},
    )
    password = _new_password()
    again = _again()


class ForgotForm(FlaskForm):
    name = StringField(
        _l("User name or e-mail address"),
        validators=[DataRequired(REQUIRED), Length(max=254)],
        render_kw={"autocomplete": "username", "autofocus": True},
    )


class ResetForm(FlaskForm):
    password = _new_password()
    again = _again()


@bp.route("/settings/password", methods=["GET", "POST"])
@login_required
def change_password():
    user = current_user._get_current_object()
    form = ChangeForm()
    if user.auth_source != "local":
        return render_template("account/password.html", form=None, user=user)
    if form.validate_on_submit():
        ip = request.remote_addr or ""
        try:
            with transaction.committed() as db:
                outcome, wait = passwords.change_own(
                    db,
                    now(),
                    accounts.get_user(db, user.id),
                    current=form.current.data or "",
                    new=form.password.data or "",
                    hash_method=settings()["password_hash_method"],
                    ip=ip,
                    cfg=account_settings(),
                    keep_token=user.session_id,
                )
        except ValidationError as exc:
            form_error(form, exc, "password")
            return render_template("account/password.html", form=form, user=user, hint=hint()), 200
        if outcome == passwords.CHANGED:
            current_app.logger.info("password changed by its holder %s from %s", user.username, ip)
            flash(_("Your password was changed. Every other browser signed in as you was signed out."), "success")
            return redirect(url_for("auth.home"), code=303)
        if outcome == passwords.WAIT:
            minutes = math.ceil(max(1, (wait.total_seconds() if wait else 60)) / 60)
            form.current.errors = [
                ngettext(
                    "Too many wrong passwords. Try again in %(num)d minute.",
                    "Too many wrong passwords. Try again in %(num)d minutes.",
                    minutes,
                )
            ]
            return render_template("account/password.html", form=form, user=user, hint=hint()), 429
        if outcome == passwords.WRONG:
            form.current.errors = [_("That is not your current password.")]
        else:
            form.password.errors = [_("Choose a password different from the one you have.")]
    return render_template("account/password.html", form=form, user=user, hint=hint())


@bp.route("/password/reset", methods=["GET", "POST"])
def forgot():
    form = ForgotForm()
    if form.validate_on_submit():
        ip = request.remote_addr or ""
        with transaction.committed() as db:
            passwords.ask_reset(db, now(), form.name.data or "", ip)
        current_app.logger.info("password reset asked from %s", ip)
        # One answer whoever was named: it tells nobody which accounts exist.
        return render_template("auth/reset_sent.html", minutes=settings()["password_reset_minutes"])
    return render_template("auth/forgot.html", form=form)


def _gone():
    return render_template("auth/reset_gone.html"), 404, NO_REFERRER


@bp.get("/password/reset/<token>")
def open_link(token: str):
    """The link from the mail: its token goes into this browser's session and out of the
    address (so no log line, history entry or page after it holds the token)."""
    if passwords.reset_for(transaction.session(), now(), token, account_settings().directory) is None:
        return _gone()
    session[RESET_TOKEN] = token
    return redirect(url_for("account.reset"), code=303), NO_REFERRER


@bp.route("/password/reset/new", methods=["GET", "POST"])
def reset():
    token = session.get(RESET_TOKEN) or ""
    directory = account_settings().directory
    if not isinstance(token, str) or passwords.reset_for(transaction.session(), now(), token, directory) is None:
        session.pop(RESET_TOKEN, None)
        return _gone()
    form = ResetForm()
    if form.validate_on_submit():
        ip = request.remote_addr or ""
        try:
            with transaction.committed() as db:
                user = passwords.use_reset(
                    db,
                    now(),
                    token,
                    form.password.data or "",
                    hash_method=settings()["password_hash_method"],
                    ip=ip,
                    directory=directory,
                )
        except ValidationError as exc:
            form_error(form, exc, "password")
            return render_template("auth/reset.html", form=form, hint=hint()), 200, NO_REFERRER
        session.pop(RESET_TOKEN, None)
        if user is None:
            return _gone()
        current_app.logger.info("password reset by link for %s from %s", user.username, ip)
        flash(
            _("Your new password is set, and every browser signed in as you was signed out. Sign in with it."),
            "success",
        )
        return redirect(url_for("auth.login"), code=303)
    return render_template("auth/reset.html", form=form, hint=hint()), 200, NO_REFERRER
