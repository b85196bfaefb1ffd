"""Department staff: file a consultation and follow their department's ones."""

from __future__ import annotations

import secrets

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..domain import permissions, states
from ..services import drill_down, filing, history, listing, routing
from ..transaction import session
from .common import attempt, form_error, limits, now, settings, store, uploads
from .forms import ConsultationForm
from .i18n import PRIORITY_LABELS, localized
from .listing_params import filters_from_request

bp = Blueprint("consultations", __name__, url_prefix="/consultations")


@bp.get("")
@login_required
def index():
    f = filters_from_request(settings()["queue_page_size"])
    if f.sort == "priority" and "sort" not in request.args:
        f.sort, f.descending = "activity", True
    page = listing.list_tickets(session(), current_user, f)
    # The consultations behind a report's count can be downloaded by those who read reports.
    exportable = permissions.can_view_reports(current_user) and drill_down.is_drill_down(f)
    export_args = [(k, v) for k, v in request.args.items(multi=True) if k not in ("page", "per_page", "count")]
    return render_template(
        "consultations/index.html",
        page=page,
        f=f,
        narrowed=narrowed(f),
        can_file=permissions.can_file(current_user),
        export_args=export_args if exportable else None,
    )


def narrowed(f) -> list[tuple[str, str, str]]:
    """(query argument, label, value) for each drill-down filter in force, in the user's language."""
    from ..domain.reports import parse_period
    from .report_tables import FIGURE_ROWS

    out = []
    nobody = _("None")
    if f.period and f.measure:
        try:
            period = parse_period(f.period)
            out.append(("period", _("Period"), period.label_ja() if str(get_locale()) == "ja" else period.label_en()))
        except ValueError:
            pass
        labels = {attr: str(label) for attr, label, _linked in FIGURE_ROWS}
        if f.measure in labels:
            out.append(("measure", _("Figure"), labels[f.measure]))
    named = listing.filtered_by(session(), f)
    for arg, label in (("department", _("Department")), ("theme", _("Theme")), ("initiative", _("Initiative"))):
        if arg in named:
            out.append((arg, label, localized(named[arg]) if named[arg] else nobody))
    if f.priority in PRIORITY_LABELS:
        out.append(("priority", _("Urgency"), str(PRIORITY_LABELS[f.priority])))
    if f.assignee:
        user = named["assignee"]
        out.append(
            (
                "assignee",
                _("Assignee"),
                user.display_name if user else (current_user.display_name if f.assignee == "me" else nobody),
            )
        )
    return out


def _choices(form: ConsultationForm) -> None:
    themes, inits = filing.filing_options(session())
    form.theme.choices = [("", _("Not sure (the desk decides)"))] + [(t.id, localized(t)) for t in themes]
    form.initiatives.choices = [(i.id, localized(i)) for i in inits]
    form.priority.choices = [(p, str(PRIORITY_LABELS[p])) for p in states.PRIORITIES]


def _file(form: ConsultationForm, ask_if_duplicate: bool):
    """File the consultation and route it; the same form sent twice gives back the first ticket."""
    with history.batched(session()):  # the history of both steps in one INSERT
        ticket = _file_and_route(form, ask_if_duplicate)
    return ticket.number


def _file_and_route(form: ConsultationForm, ask_if_duplicate: bool):
    ticket = filing.file_consultation(
        session(),
        current_user,
        now(),
        title=form.title.data or "",
        body=form.body.data or "",
        theme_id=form.theme.data or None,
        initiative_ids=form.initiatives.data or [],
        priority=form.priority.data,
        due_date=form.due_date.data,
        files=uploads(form.attachments.data),
        store=store(),
        limits=limits(),
        submission_token=(form.submission_token.data or "")[:64] or None,
        ask_if_duplicate=ask_if_duplicate,
    )
    routing.route_new_ticket(session(), ticket, now(), auto_apply=settings()["routing_auto_apply"])
    return ticket


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    if not permissions.can_file(current_user):
        abort(403)
    form = ConsultationForm()
    _choices(form)
    if request.method == "GET":
        form.submission_token.data = secrets.token_urlsafe(24)
        form.priority.data = "normal"
    duplicate = None
    if form.validate_on_submit():
        # The same title and text filed a moment ago: asked once, then filed if confirmed.
        number, error = attempt(_file, form, request.form.get("file_anyway") != "1")
        if error is None:
            flash(
                _("Your consultation was filed as %(number)s. The SWAT team will answer here.", number=number),
                "success",
            )
            return redirect(url_for("tickets.show", number=number))
        if isinstance(error, filing.Duplicate):
            duplicate = error
        else:
            form_error(form, error)
    status = (409 if duplicate else 400) if request.method == "POST" else 200
    # The files chosen are not kept on a page sent back: the question says to choose them again.
    had_files = duplicate is not None and any(f.filename for f in request.files.getlist("attachments"))
    return render_template("consultations/new.html", form=form, duplicate=duplicate, had_files=had_files), status
