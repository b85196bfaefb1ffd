"""Mail held for review: the list, one message, and filing, attaching or discarding it."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..domain import permissions
from ..domain.errors import Conflict, NotFound
from ..services import mail_review
from ..services.mail_intake import IntakeSettings
from ..transaction import session
from .common import attempt, error_text, limits, now, requires, settings, store

bp = Blueprint("mail_review", __name__, url_prefix="/mail/held")

# Why a message was held, in words (the reason codes services.mail_intake writes).
REASONS = {
    "unknown_sender": _l("The sender has no account on the desk"),
    "no_sender": _l("The message says no sender"),
    "not_allowed": _l("The sender may not reply to the consultation it names"),
    "not_staff": _l("The sender is not department staff, and the message names no consultation"),
    "too_many": _l("The sender mailed more than the hourly limit"),
    "not_authenticated": _l("The receiving mail server did not confirm the sender (SPF, DKIM, DMARC)"),
    "looks_automatic": _l("Its subject looks like an automatic reply"),
    "internal_notice": _l("It answers a notice for the desk alone (it might quote an internal note)"),
    "empty_reply": _l("The reply has no new text and no files"),
    "unreadable": _l("The desk could not read it"),
}


@bp.app_template_global()
def held_reason(code: str) -> str:
    return str(REASONS.get(code, code))


@bp.get("")
@requires(permissions.can_review_mail)
def index():
    raw = request.args.get("page", "1")
    page = int(raw) if raw.isascii() and raw.isdigit() and 0 < len(raw) < 6 else 1
    listing = mail_review.held_mails(session(), current_user, page)
    return render_template("mail/held.html", listing=listing)


def _page(mail_id: int, error=None, form: dict | None = None, status: int = 200):
    held, failed = attempt(mail_review.held_mail, session(), current_user, mail_id, store())
    if isinstance(failed, Conflict):  # dealt with meanwhile: the list says so
        flash(error_text(failed), "error")
        return redirect(url_for("mail_review.index"))
    if failed is not None or held is None:
        abort(404)
    return render_template(
        "mail/held_one.html",
        held=held,
        requesters=mail_review.requesters(session()),
        left_out=mail_review.fitting_files(held.mail, limits())[1],
        error=error,
        error_message=error_text(error) if error is not None else "",
        form=form or {},
    ), status


@bp.get("/<int:mail_id>")
@requires(permissions.can_review_mail)
def show(mail_id):
    return _page(mail_id)


def _done(error, mail_id: int, form: dict, message: str | None):
    if isinstance(error, NotFound):
        abort(404)
    if isinstance(error, Conflict):
        flash(error_text(error), "error")
        return redirect(url_for("mail_review.index"))
    if error is not None:
        return _page(mail_id, error, form, 400)
    if message:
        flash(message, "success")
    return redirect(url_for("mail_review.index"))


@bp.post("/<int:mail_id>/file")
@requires(permissions.can_review_mail)
def file(mail_id):
    raw = request.form.get("requester", "")
    requester_id = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else None
    ticket, error = attempt(
        mail_review.file_held,
        session(),
        current_user,
        now(),
        mail_id,
        requester_id,
        store(),
        limits(),
        IntakeSettings.from_settings(settings()),
    )
    done = _("The mail was filed as %(number)s.", number=ticket.number) if ticket else None
    return _done(error, mail_id, {"requester": raw}, done)


@bp.post("/<int:mail_id>/attach")
@requires(permissions.can_review_mail)
def attach(mail_id):
    number = request.form.get("number", "")[:20]
    ticket, error = attempt(mail_review.attach_held, session(), current_user, now(), mail_id, number, store(), limits())
    done = _("The mail was added to %(number)s as an internal note.", number=ticket.number) if ticket else None
    return _done(error, mail_id, {"number": number}, done)


@bp.post("/<int:mail_id>/discard")
@requires(permissions.can_review_mail)
def discard(mail_id):
    _discarded, error = attempt(mail_review.discard_held, session(), current_user, now(), mail_id, store())
    return _done(error, mail_id, {}, _("The mail was discarded.") if error is None else None)
