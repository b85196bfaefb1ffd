"""Canned replies (定型文): the desk's shared ones and each member's own, kept on one page."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..domain import permissions
from ..domain.errors import NotFound
from ..services import canned, catalog
from ..transaction import session
from .common import attempt, error_text, now, requires

bp = Blueprint("canned", __name__, url_prefix="/canned")


def _page(editing=None, form: dict | None = None, error=None, status: int = 200):
    replies = canned.listing(session(), current_user)
    return render_template(
        "canned/index.html",
        replies=replies,
        editing=editing,
        form=form or {},
        error=error,
        error_message=error_text(error) if error is not None else "",
        themes=catalog.stored_catalog(session()).active_themes,
        theme_names={t.id: t for t in catalog.stored_catalog(session()).themes},
        may_share=permissions.can_triage(current_user),
        placeholders="　".join("{" + names[0] + "}" for names in canned.PLACEHOLDERS.values()),
    ), status


@bp.get("")
@requires(permissions.is_desk)
def index():
    return _page()


@bp.get("/<int:reply_id>/edit")
@requires(permissions.is_desk)
def edit(reply_id):
    reply, error = attempt(canned.kept_by, session(), current_user, reply_id)
    if error is not None:
        abort(404)
    return _page(editing=reply)


def _save(reply_id: int | None):
    form = {
        "title": request.form.get("title", ""),
        "body": request.form.get("body", ""),
        "theme": request.form.get("theme", "")[:64],
        "shared": request.form.get("shared") == "y",
    }
    _done, error = attempt(
        canned.save,
        session(),
        current_user,
        now(),
        reply_id=reply_id,
        title=form["title"],
        body=form["body"],
        shared=form["shared"],
        theme_id=form["theme"] or None,
    )
    if isinstance(error, NotFound):
        abort(404)
    if error is not None:
        editing = attempt(canned.kept_by, session(), current_user, reply_id)[0] if reply_id else None
        return _page(editing=editing, form=form, error=error, status=400)
    flash(_("The canned reply was saved."), "success")
    return redirect(url_for("canned.index"))


@bp.post("")
@requires(permissions.is_desk)
def create():
    return _save(None)


@bp.post("/<int:reply_id>")
@requires(permissions.is_desk)
def update(reply_id):
    return _save(reply_id)


@bp.post("/<int:reply_id>/delete")
@requires(permissions.is_desk)
def delete(reply_id):
    _done, error = attempt(canned.delete, session(), current_user, reply_id)
    if isinstance(error, NotFound):
        abort(404)
    if error is not None:
        flash(error_text(error), "error")
    else:
        flash(_("The canned reply was deleted."), "success")
    return redirect(url_for("canned.index"))
