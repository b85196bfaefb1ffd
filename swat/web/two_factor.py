"""Two-factor sign-in: enrolment with a QR code, the code at sign-in, recovery codes."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import DataRequired, Length

from .. import transaction
from ..domain import permissions
from ..domain.errors import DomainError
from ..services import accounts, signin, two_factor
from .auth import PENDING, finish_sign_in
from .common import account_settings, attempt, form_error, now

bp = Blueprint("two_factor", __name__)

# How long the password step stays good while the code is asked for.
PENDING_SECONDS = 300
REQUIRED = _l("This field is required.")


class CodeForm(FlaskForm):
    code = StringField(
        _l("One-time code"),
        validators=[DataRequired(REQUIRED), Length(max=32)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True},
    )
    next = HiddenField()


def _pending_user():
    """The account whose password was right a moment ago in this browser, or None."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict):
        return None
    at = pending.get("at")
    if not isinstance(at, int | float) or not 0 <= now().timestamp() - at <= PENDING_SECONDS:
        session.pop(PENDING, None)
        return None
    try:
        user = accounts.get_user(transaction.session(), int(pending.get("uid", 0)))
    except DomainError:
        return None
    if not user.active or not two_factor.enrolled(user):
        return None
    # The step is good for the password step that made it, and only until the account's next
    # sign-in (or the completion of this one): a copy of it is then spent.
    since = user.last_login_at.timestamp() if user.last_login_at else None
    changed = user.password_changed_at.timestamp() if user.password_changed_at else None
    if pending.get("since") != since or pending.get("password") != changed:
        session.pop(PENDING, None)
        return None
    return user


@bp.route("/login/two-factor", methods=["GET", "POST"])
def verify():
    user = _pending_user()
    if user is None:
        flash(_("Sign in again: the time for the one-time code ran out."), "info")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if form.validate_on_submit():
        ip = request.remote_addr or ""
        cfg = account_settings()
        token = ""
        with transaction.committed() as db:
            if two_factor.too_many_failures(db, now(), user, cfg.window_minutes):
                refused = "wait"
            elif method := two_factor.check_code(db, now(), user, form.code.data or ""):
                refused = ""
                token = signin.complete_sign_in(db, now(), user, ip, method=method)
            else:
                refused = "wrong"
                two_factor.record_failure(db, now(), user, ip)
        if refused == "wait":
            session.pop(PENDING, None)
            flash(_("Too many wrong codes. Wait %(n)d minutes, then sign in again.", n=cfg.window_minutes), "error")
            return redirect(url_for("auth.login"))
        if refused == "wrong":
            form.code.errors = [_("That code does not match. Check the time on your phone and try again.")]
            return render_template("auth/two_factor.html", form=form), 200
        target = (session.get(PENDING) or {}).get("next", "")
        return finish_sign_in(user, token, target)
    return render_template("auth/two_factor.html", form=form)


def _required_of(user) -> bool:
    return account_settings().two_factor_required and user.role in permissions.TWO_FACTOR_ROLES


@bp.get("/settings/two-factor")
@login_required
def enrol():
    user = current_user._get_current_object()
    if two_factor.enrolled(user):
        left = two_factor.recovery_codes_left(transaction.session(), user)
        return render_template(
            "account/two_factor.html", user=user, left=left, required=_required_of(user), form=CodeForm()
        )
    with transaction.committed() as db:
        account = accounts.get_user(db, user.id)
        secret = two_factor.start_enrolment(db, account)
        uri = two_factor.provisioning_uri(account, account_settings().two_factor_issuer)
    return render_template(
        "account/two_factor_enrol.html",
        qr=two_factor.qr_svg(uri),
        secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        required=_required_of(user),
        form=CodeForm(),
    )


def _own_account(db):
    return accounts.get_user(db, current_user.id)


@bp.post("/settings/two-factor")
@login_required
def confirm():
    form = CodeForm()
    if not form.validate_on_submit():
        flash(_("Enter the six-digit one-time code."), "error")
        return redirect(url_for("two_factor.enrol"))
    ip = request.remote_addr or ""
    db = transaction.session()
    codes, err = attempt(lambda: two_factor.confirm_enrolment(db, now(), _own_account(db), form.code.data or "", ip))
    if err is not None:
        form_error(form, err, "code")
        flash(form.code.errors[0] if form.code.errors else _("Enter the six-digit one-time code."), "error")
        return redirect(url_for("two_factor.enrol"))
    flash(_("Two-factor sign-in is on. Keep the recovery codes below somewhere safe."), "success")
    return render_template("account/recovery_codes.html", codes=codes)


def _own_code_then(action, form: CodeForm):
    """`(result, None)` of `action(db, account, ip)` after a right code from the app, or
    `(None, message)`. A wrong code is counted (and committed) as a failed sign-in is."""
    if not form.validate_on_submit():
        return None, _("Enter the six-digit one-time code.")
    ip = request.remote_addr or ""
    window = account_settings().window_minutes
    with transaction.committed() as db:
        account = _own_account(db)
        if two_factor.too_many_failures(db, now(), account, window):
            return None, _("Too many wrong codes. Wait %(n)d minutes and try again.", n=window)
        if not two_factor.check_code(db, now(), account, form.code.data or "", recovery=False):
            two_factor.record_failure(db, now(), account, ip)
            return None, _("That code does not match. Check the time on your phone and try again.")
        return action(db, account, ip), None


@bp.post("/settings/two-factor/recovery-codes")
@login_required
def renew_codes():
    form = CodeForm()
    codes, refused = _own_code_then(lambda db, account, ip: two_factor.new_recovery_codes(db, now(), account, ip), form)
    if refused:
        flash(refused, "error")
        return redirect(url_for("two_factor.enrol"))
    flash(_("New recovery codes: the old ones no longer work."), "success")
    return render_template("account/recovery_codes.html", codes=codes)


@bp.post("/settings/two-factor/off")
@login_required
def turn_off():
    if _required_of(current_user):
        abort(403)
    form = CodeForm()
    done, refused = _own_code_then(
        lambda db, account, ip: two_factor.reset(
            db, now(), account, actor=account, source=ip, end_sessions=False, reason="own_choice"
        ),
        form,
    )
    if refused:
        flash(refused, "error")
        return redirect(url_for("two_factor.enrol"))
    flash(_("Two-factor sign-in is off."), "info")
    return redirect(url_for("two_factor.enrol"))
