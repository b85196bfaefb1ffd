"""Relating consultations and merging a duplicate into its original, from the consultation's
page (the routes are the tickets blueprint's: tickets.link, tickets.unlink, tickets.merge_into)."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..services import merge
from ..transaction import session
from .common import attempt, error_text
from .tickets import _act, _load, _page, bp


def _typed() -> str:
    return request.form.get("number", "")[:40]


@bp.post("/<number>/link")
@login_required
def link(number):
    return _act(number, merge.link_tickets, lambda o: _("Related to %(number)s.", number=o.number), _typed())


@bp.post("/<number>/unlink")
@login_required
def unlink(number):
    return _act(
        number, merge.unlink_tickets, lambda o: _("No longer related to %(number)s.", number=o.number), _typed()
    )


@bp.post("/<number>/merge")
@login_required
def merge_into(number):
    """A merge cannot be undone: the first submit shows the original it would go into (its
    number and title) with the button that merges; only that one merges."""
    typed = _typed()
    if request.form.get("confirm") == "1":
        done = lambda o: _("This consultation was merged into %(number)s.", number=o.number)  # noqa: E731
        return _act(number, merge.merge_ticket, done, typed)
    original, error = attempt(merge.merge_target, session(), current_user, _load(number), typed)
    if error is not None:
        flash(error_text(error), "error")
        return redirect(url_for("tickets.show", number=number))
    return _page(number, merge_preview=original)
