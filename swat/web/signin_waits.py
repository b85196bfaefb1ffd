"""Sign-in waits: the user names and addresses that must wait after wrong passwords, and
lifting a wait (admins; each lift is in the audit trail)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import transaction
from ..domain import permissions
from ..services import signin_throttle
from .common import account_settings, attempt, now, requires

bp = Blueprint("signin_waits", __name__, url_prefix="/admin")


@bp.get("/sign-in-waits")
@requires(permissions.can_admin)
def index():
    found = signin_throttle.waits(transaction.session(), now(), account_settings())
    return render_template("admin/sign_in_waits.html", waits=found, now=now())


@bp.post("/sign-in-waits/lift")
@requires(permissions.can_admin)
def lift():
    username = request.form.get("username", "").strip()[:64]
    ip = request.form.get("ip", "").strip()[:64] or None
    lifted, _error = attempt(
        signin_throttle.lift,
        transaction.session(),
        now(),
        actor=current_user,
        username=username,
        ip=ip,
        source=request.remote_addr or "",
    )
    if lifted:
        flash(_("The sign-in wait of %(name)s was lifted.", name=username), "success")
    else:
        flash(_("%(name)s has no sign-in wait to lift.", name=username), "info")
    return redirect(url_for("signin_waits.index"))
