"""Department staff: file a consultation and follow their department's ones."""

from __future__ import annotations

import secrets

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..domain import permissions, states
from ..domain.errors import DomainError
from ..extensions import db
from ..models import Initiative, Theme, Ticket
from ..services import listing, routing, tickets
from .common import form_error, limits, now, settings, store, uploads
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
    page = listing.list_tickets(db.session, current_user, f)
    return render_template(
        "consultations/index.html", page=page, f=f, narrowed=_narrowed(f), can_file=permissions.can_file(current_user)
    )


def _narrowed(f) -> list[tuple[str, str, str]]:
    """(query argument, label, value) for each drill-down filter in force, in the user's language."""
    from ..domain.reports import parse_period
    from ..models import Department, User
    from .reports import FIGURE_ROWS

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
    for arg, label, model in (
        ("department", _("Department"), Department),
        ("theme", _("Theme"), Theme),
        ("initiative", _("Initiative"), Initiative),
    ):
        value = getattr(f, arg)
        if value:
            row = db.session.get(model, value) if value != "none" else None
            out.append((arg, label, localized(row) if row else nobody))
    if f.priority in PRIORITY_LABELS:
        out.append(("priority", _("Urgency"), str(PRIORITY_LABELS[f.priority])))
    if f.assignee:
        # Only SWAT members are named: an id never reveals anyone else's name.
        user_id = listing.assignee_id(f.assignee)
        user = db.session.get(User, user_id) if user_id is not None else None
        if user is not None and not permissions.is_assignable(user):
            user = None
        out.append(
            (
                "assignee",
                _("Assignee"),
                user.display_name if user else (current_user.display_name if f.assignee == "me" else nobody),
            )
        )
    return out


def _choices(form: ConsultationForm) -> None:
    themes = db.session.scalars(select(Theme).where(Theme.active).order_by(Theme.sort_order)).all()
    form.theme.choices = [("", _("Not sure (the desk decides)"))] + [(t.id, localized(t)) for t in themes]
    inits = db.session.scalars(
        select(Initiative).where(Initiative.active).order_by(Initiative.category, Initiative.sort_order)
    ).all()
    form.initiatives.choices = [(i.id, localized(i)) for i in inits]
    form.priority.choices = [(p, str(PRIORITY_LABELS[p])) for p in states.PRIORITIES]


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
    if form.validate_on_submit():
        token = (form.submission_token.data or "")[:64] or None
        try:
            ticket = tickets.file_consultation(
                db.session,
                current_user,
                now(),
                title=form.title.data,
                body=form.body.data,
                theme_id=form.theme.data or None,
                initiative_ids=form.initiatives.data or [],
                priority=form.priority.data,
                due_date=form.due_date.data,
                files=uploads(form.attachments.data),
                store=store(),
                limits=limits(),
                submission_token=token,
            )
            routing.route_new_ticket(db.session, ticket, now(), auto_apply=settings()["routing_auto_apply"])
            number = ticket.number
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            form_error(form, exc)
        except IntegrityError:
            # The same form submitted twice at once: the other request made the ticket.
            db.session.rollback()
            existing = db.session.scalar(select(Ticket).where(Ticket.submission_token == token)) if token else None
            if existing is None or existing.requester_id != current_user.id:
                raise
            number = existing.number
            return redirect(url_for("tickets.show", number=number))
        else:
            flash(
                _("Your consultation was filed as %(number)s. The SWAT team will answer here.", number=number),
                "success",
            )
            return redirect(url_for("tickets.show", number=number))
    status = 400 if request.method == "POST" else 200
    return render_template("consultations/new.html", form=form), status
