"""The bell: a user's notifications, escalations to acknowledge, and notification choices."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select, update

from .. import messages
from ..domain import permissions
from ..domain.errors import DomainError
from ..extensions import db
from ..models import Escalation, Notification, Ticket
from ..services import escalation
from ..services.notify import KINDS
from ..services.visibility import ticket_scope
from ..services.weekly_summary import KIND as WEEKLY_SUMMARY
from .common import error_text, now
from .i18n import NOTIFY_KIND_LABELS

bp = Blueprint("notifications", __name__)


def _visible():
    """Notifications of tickets the user may still see (or of no ticket)."""
    return or_(
        Notification.ticket_id.is_(None),
        Notification.ticket_id.in_(select(Ticket.id).where(ticket_scope(current_user))),
    )


def unread_count() -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == current_user.id, Notification.read_at.is_(None), _visible())
        )
        or 0
    )


@bp.get("/notifications")
@login_required
def index():
    rows = db.session.execute(
        select(Notification, Ticket.number, Escalation)
        .outerjoin(Ticket, Ticket.id == Notification.ticket_id)
        .outerjoin(Escalation, Escalation.id == Notification.escalation_id)
        .where(Notification.user_id == current_user.id, _visible())
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(100)
    ).all()
    items = [
        {"n": n, "number": number, "esc": esc, "text": messages.subject(n.kind, n.params)} for n, number, esc in rows
    ]
    return render_template("notifications/index.html", items=items)


@bp.post("/notifications/read")
@login_required
def mark_read():
    db.session.execute(
        update(Notification)
        .where(Notification.user_id == current_user.id, Notification.read_at.is_(None))
        .values(read_at=now())
    )
    db.session.commit()
    return redirect(url_for("notifications.index"))


@bp.post("/escalations/<int:escalation_id>/acknowledge")
@login_required
def acknowledge(escalation_id):
    try:
        escalation.acknowledge(db.session, current_user, now(), escalation_id, request.form.get("remark", ""))
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        if exc.__class__.__name__ == "NotFound":
            abort(404)
        flash(error_text(exc), "error")
    else:
        flash(_("The escalation was acknowledged."), "success")
    return redirect(url_for("notifications.index"))


WEEKLY_SUMMARY_LABEL = _l("Weekly summary by e-mail (managers, Monday mornings)")


def _kinds() -> tuple[str, ...]:
    """The kinds this user can choose: everyone's, plus the weekly summary for managers."""
    if permissions.receives_weekly_summary(current_user):
        return (*KINDS, WEEKLY_SUMMARY)
    return KINDS


@bp.route("/settings/notifications", methods=["GET", "POST"])
@login_required
def preferences():
    kinds = _kinds()
    if request.method == "POST":
        current_user.notify_inapp = request.form.get("inapp") == "y"
        current_user.notify_email = request.form.get("email") == "y"
        wanted = set(request.form.getlist("kinds"))
        current_user.muted_kinds = ",".join(k for k in kinds if k not in wanted)
        db.session.commit()
        flash(_("Your notification choices were saved."), "success")
        return redirect(url_for("notifications.preferences"))
    muted = set((current_user.muted_kinds or "").split(","))
    labels = {**NOTIFY_KIND_LABELS, WEEKLY_SUMMARY: WEEKLY_SUMMARY_LABEL}
    return render_template("notifications/preferences.html", kinds=kinds, muted=muted, labels=labels)
