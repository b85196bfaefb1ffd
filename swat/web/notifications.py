"""The bell: a user's notifications, escalations to acknowledge, and notification choices."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required

from .. import messages, transaction
from ..domain.errors import NotFound
from ..services import escalation
from ..services import notifications as bell
from .boundary import is_id
from .common import attempt, error_text, now
from .i18n import NOTIFY_KIND_LABELS

bp = Blueprint("notifications", __name__)

WEEKLY_SUMMARY_LABEL = _l("Weekly summary by e-mail (managers, Monday mornings)")


def unread_count() -> int:
    """The number on the bell in every page's header, for the signed-in user."""
    return bell.unread_count(transaction.session(), current_user)


@bp.get("/notifications")
@login_required
def index():
    items = [
        {
            "n": item.notification,
            "number": item.number,
            "esc": item.escalation,
            "text": messages.subject(item.notification.kind, item.notification.params),
        }
        for item in bell.inbox(transaction.session(), current_user)
    ]
    return render_template("notifications/index.html", items=items)


@bp.post("/notifications/read")
@login_required
def mark_read():
    attempt(bell.mark_all_read, transaction.session(), current_user, now())
    return redirect(url_for("notifications.index"))


@bp.post("/escalations/<int:escalation_id>/acknowledge")
@login_required
def acknowledge(escalation_id):
    _done, error = attempt(
        escalation.acknowledge,
        transaction.session(),
        current_user,
        now(),
        escalation_id,
        request.form.get("remark", ""),
    )
    if isinstance(error, NotFound):
        abort(404)
    if error is not None:
        flash(error_text(error), "error")
    else:
        flash(_("The escalation was acknowledged."), "success")
    return redirect(url_for("notifications.index"))


@bp.post("/escalations/acknowledge")
@login_required
def acknowledge_selected():
    """Acknowledge the escalations ticked on the notifications page, with one remark."""
    ids = request.form.getlist("escalation")
    if not ids or not all(is_id(i) for i in ids):
        flash(_("Choose the escalations to acknowledge."), "error")
        return redirect(url_for("notifications.index"))
    result, error = attempt(
        escalation.acknowledge_many,
        transaction.session(),
        current_user,
        now(),
        [int(i) for i in ids],
        request.form.get("remark", ""),
    )
    if error is not None or result is None:
        flash(error_text(error) if error else _("Nothing was acknowledged."), "error")
        return redirect(url_for("notifications.index"))
    if result.done:
        flash(_("%(n)d escalations were acknowledged.", n=len(result.done)), "success")
    for _id, number, why in result.refused:
        reason = error_text(why)
        flash(_("%(number)s: %(reason)s", number=number, reason=reason) if number else reason, "error")
    if result.not_theirs:
        flash(
            ngettext(
                "%(num)d of the ticked escalations cannot be acknowledged by you.",
                "%(num)d of the ticked escalations cannot be acknowledged by you.",
                result.not_theirs,
            ),
            "error",
        )
    return redirect(url_for("notifications.index"))


@bp.route("/settings/notifications", methods=["GET", "POST"])
@login_required
def preferences():
    if request.method == "POST":
        _done, error = attempt(
            bell.save_preferences,
            transaction.session(),
            current_user,
            inapp=request.form.get("inapp") == "y",
            email=request.form.get("email") == "y",
            kinds=request.form.getlist("kinds"),
        )
        if error is not None:
            flash(error_text(error), "error")
        else:
            flash(_("Your notification choices were saved."), "success")
        return redirect(url_for("notifications.preferences"))
    chosen = bell.preferences(current_user)
    labels = {**NOTIFY_KIND_LABELS, bell.WEEKLY_SUMMARY: WEEKLY_SUMMARY_LABEL}
    return render_template("notifications/preferences.html", prefs=chosen, labels=labels)
