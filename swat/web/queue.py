"""The SWAT queue: every visible ticket, filtered, sorted and paged.

The queue remembers each member's filters (a bare /queue goes back to them) and
keeps the views they saved by name, next to a few built-in ones.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask import session as cookie
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required

from ..domain import permissions, states
from ..domain.errors import NotFound
from ..domain.text import is_safe_next
from ..services import bulk, canned, escalation, listing, queue_views, sla, team
from ..services.my_day import my_day
from ..transaction import commit_changes, session
from .common import attempt, error_text, limits, now, settings, store
from .listing_params import filters_from_request

bp = Blueprint("queue", __name__, url_prefix="/queue")

# Views every member has: (name, canonical query).
BUILTIN_VIEWS = (
    (_l("Assigned to me"), "assignee=me"),
    (_l("Unassigned"), "assignee=none"),  # open statuses: the default
    (_l("Overdue first"), "sort=sla"),
)
# Arguments of a report drill-down: a one-off list, not filters to remember.
ONE_OFF_KEYS = ("initiative", "period", "measure", "sla")
# Set just before sending a bare /queue to the remembered filters: the page then says so.
REMEMBERED_NOTE = "queue_remembered"


def _require_queue() -> None:
    if not queue_views.may_use(current_user):
        abort(403)


def queue_url(query: str) -> str:
    """The queue with these filters; with none, the default queue (forgetting remembered filters)."""
    query = queue_views.canonical(query)
    return f"{url_for('queue.index')}?{query}" if query else url_for("queue.index", reset=1)


def _view_links(current: str) -> tuple[list[dict], list[dict]]:
    """Built-in and saved views as links; the first whose filters are on screen is current."""
    builtin = [{"id": None, "name": name, "href": queue_url(q), "query": q} for name, q in BUILTIN_VIEWS]
    saved = [
        {"id": v.id, "name": v.name, "href": queue_url(v.query), "query": v.query}
        for v in queue_views.list_views(session(), current_user)
    ]
    first = next((link for link in builtin + saved if link["query"] == current), None)
    for link in builtin + saved:
        link["current"] = link is first
    return builtin, saved


def _own_navigation() -> bool:
    """The member got here from the desk itself (or typed the address), not from a link on
    another site: only then may opening the queue change what it remembers."""
    return request.headers.get("Sec-Fetch-Site", "same-origin") in ("same-origin", "none")


@bp.get("")
@login_required
def index():
    _require_queue()
    args = request.args
    if "reset" in args:
        if _own_navigation():
            commit_changes(queue_views.forget_filters, session(), current_user)
        return redirect(url_for("queue.index"))
    if not args:
        remembered = queue_views.canonical(current_user.queue_query)
        if remembered:
            cookie[REMEMBERED_NOTE] = True
            return redirect(f"{url_for('queue.index')}?{remembered}")
    current = queue_views.canonical_query(args.items(multi=True))
    if any(k in args for k in queue_views.FILTER_KEYS) and not any(k in args for k in ONE_OFF_KEYS):
        if _own_navigation():
            commit_changes(queue_views.remember_filters, session(), current_user, current)
    remembered_note = bool(cookie.pop(REMEMBERED_NOTE, False))
    f = filters_from_request(settings()["queue_page_size"], default_statuses=list(states.OPEN_STATUSES))
    page = listing.list_tickets(session(), current_user, f)
    clocks = sla.views(session(), [t.id for t in page.rows], now())
    # Escalations are the desk's business (the ticket page shows them to the desk alone).
    desk = permissions.is_desk(current_user)
    escalated = escalation.unacknowledged(session(), [t.id for t in page.rows]) if desk else set()
    builtin_views, saved_views = _view_links(current)
    themes, departments = listing.filter_options(session())
    return render_template(
        "queue/index.html",
        page=page,
        f=f,
        sla_of={tid: sla.nearest(v) for tid, v in clocks.items()},
        escalated=escalated,
        canned_replies=canned.listing(session(), current_user) if desk else [],
        day=my_day(session(), current_user, now()),
        themes=themes,
        departments=departments,
        members=team.assignable_members(session()),
        statuses=states.STATUSES,
        can_claim=permissions.can_work_queue(current_user),
        current_query=current,
        builtin_views=builtin_views,
        saved_views=saved_views,
        remembered_note=remembered_note,
        max_view_name=queue_views.NAME_MAX,
    )


@bp.post("/bulk")
@login_required
def bulk_apply():
    """One action on the consultations ticked in the queue; back to the same page of it."""
    _require_queue()
    back = request.form.get("back", "")
    target = url_for("queue.index") + (f"?{back}" if back else "")
    if not is_safe_next(target):
        target = url_for("queue.index")
    result, error = attempt(
        bulk.apply,
        session(),
        current_user,
        now(),
        request.form.getlist("t")[: bulk.MAX_TICKETS + 1],
        request.form.get("action", ""),
        request.form.get(request.form.get("action", "") + "_value", "")[:64],
        store(),
        limits(),
        remark=request.form.get("remark", "")[:1000],
    )
    if error is not None or result is None:
        flash(error_text(error) if error else _("Nothing was changed."), "error")
        return redirect(target)
    if result.done:
        flash(
            ngettext("Done for %(num)d consultation.", "Done for %(num)d consultations.", len(result.done)), "success"
        )
    for number, why in result.refused:
        flash(_("%(number)s: %(reason)s", number=number, reason=error_text(why)), "error")
    return redirect(target)


@bp.get("/row/<number>")
@login_required
def row(number):
    """One queue row, redrawn by the side panel after it changed the ticket."""
    _require_queue()
    ticket = listing.list_row(session(), current_user, number)
    if ticket is None:
        abort(404)
    clocks = sla.views(session(), [ticket.id], now())
    return render_template(
        "queue/_row.html",
        row=ticket,
        sla_view=sla.nearest(clocks.get(ticket.id, [])),
        can_claim=permissions.can_work_queue(current_user),
        escalated=permissions.is_desk(current_user) and bool(escalation.unacknowledged(session(), [ticket.id])),
    )


@bp.post("/views")
@login_required
def save_view():
    _require_queue()
    query = request.form.get("query", "")

    def save() -> tuple[str, str]:
        view = queue_views.save_view(session(), current_user, now(), request.form.get("name", ""), query)
        return view.name, view.query

    saved, error = attempt(save)
    if error is not None or saved is None:
        if error is not None:
            flash(error_text(error), "error")
        return redirect(queue_url(query))
    name, query = saved
    flash(_("The view “%(name)s” was saved.", name=name), "success")
    return redirect(queue_url(query))


@bp.post("/views/<int:view_id>/delete")
@login_required
def delete_view(view_id):
    _require_queue()
    name, error = attempt(lambda: queue_views.delete_view(session(), current_user, view_id).name)
    if isinstance(error, NotFound):
        abort(404)
    if error is not None:
        flash(error_text(error), "error")
    else:
        flash(_("The view “%(name)s” was deleted.", name=name), "success")
    return redirect(queue_url(request.form.get("query", "")))
