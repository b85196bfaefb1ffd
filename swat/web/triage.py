"""The lead's triage list, the team's availability, and the routing rules page."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import transaction
from ..domain import permissions
from ..domain.errors import Conflict, Forbidden, NotFound
from ..services import routing, team
from ..services import triage as triage_service
from ..services.visibility import get_visible_ticket
from .common import attempt, error_text, now, requires
from .i18n import localized
from .listing_params import page_number

bp = Blueprint("triage", __name__)


@bp.get("/triage")
@requires(permissions.can_triage)
def index():
    page = triage_service.triage_page(transaction.session(), current_user, page_number(request.args.get("page")))
    return render_template(
        "triage/index.html",
        page=page,
        items=page.items,
        themes=page.themes,
        inits=page.initiatives,
        members=page.members,
        deps=page.departments,
        theme_by_id=page.theme_by_id,
        init_by_id=page.initiative_by_id,
    )


@bp.post("/triage/<number>")
@requires(permissions.can_triage)
def decide(number):
    try:
        ticket = get_visible_ticket(transaction.session(), current_user, number)
    except NotFound:
        abort(404)
    assignee = request.form.get("assignee", "")
    if assignee and not assignee.isdigit():
        abort(400)
    _done, error = attempt(
        routing.decide_triage,
        transaction.session(),
        current_user,
        now(),
        ticket,
        theme_id=request.form.get("theme") or None,
        initiative_ids=request.form.getlist("initiatives")[:5],
        assignee_id=int(assignee) if assignee else None,
    )
    if isinstance(error, Conflict):
        flash(error_text(error), "error")
    elif error is not None:
        flash(f"{number}: {error_text(error)}", "error")
    else:
        flash(_("%(number)s was routed.", number=number), "success")
    # Back to the page of the list the lead routed from (the list clamps a page past its end).
    back = page_number(request.form.get("page"))
    return redirect(url_for("triage.index", page=back) if back > 1 else url_for("triage.index"))


@bp.get("/team", endpoint="team")
@requires(permissions.can_view_team)
def team_page():
    page = team.team_page(transaction.session(), current_user, now())
    return render_template("triage/team.html", page=page)


def _absence_done(error, done_message: str):
    """Back to the team page after an absence change: 403/404 as the page would, a refused rule flashed."""
    if isinstance(error, Forbidden):
        abort(403)
    if isinstance(error, NotFound):
        abort(404)
    if error is not None:
        flash(error_text(error), "error")
    else:
        flash(done_message, "success")
    return redirect(url_for("triage.team"))


@bp.post("/team/<int:user_id>/absences")
@requires(permissions.can_view_team)
def add_absence(user_id):
    _done, error = attempt(
        team.add_absence,
        transaction.session(),
        current_user,
        now(),
        user_id,
        request.form.get("starts_on", ""),
        request.form.get("ends_on", ""),
        request.form.get("note", ""),
    )
    return _absence_done(error, _("The absence was saved."))


@bp.post("/team/absences/<int:absence_id>/delete")
@requires(permissions.can_view_team)
def delete_absence(absence_id):
    _done, error = attempt(team.delete_absence, transaction.session(), current_user, absence_id)
    return _absence_done(error, _("The absence was removed."))


@bp.get("/admin/routing")
@requires(permissions.can_edit_routing)
def rules_page():
    page = triage_service.rules_page(transaction.session(), current_user)
    return render_template(
        "triage/rules.html",
        rules=page.rules,
        doc=page.doc,
        themes=page.themes,
        inits=page.initiatives,
        members=page.members,
        localized=localized,
    )
