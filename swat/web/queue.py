"""The SWAT queue: every visible ticket, filtered, sorted and paged."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required
from sqlalchemy import select

from ..domain import permissions, states
from ..extensions import db
from ..models import Department, Theme, User
from ..services import listing, sla
from .common import now, settings
from .listing_params import filters_from_request

bp = Blueprint("queue", __name__, url_prefix="/queue")


def desk_members():
    return db.session.scalars(
        select(User).where(User.active, User.role.in_(("agent", "lead"))).order_by(User.display_name)
    ).all()


@bp.get("")
@login_required
def index():
    if not (permissions.can_work_queue(current_user) or current_user.role == "manager"):
        abort(403)
    f = filters_from_request(settings()["queue_page_size"], default_statuses=list(states.OPEN_STATUSES))
    page = listing.list_tickets(db.session, current_user, f)
    clocks = sla.views(db.session, [t.id for t in page.rows], now())
    return render_template(
        "queue/index.html", page=page, f=f, sla_of={tid: sla.nearest(v) for tid, v in clocks.items()},
        themes=db.session.scalars(select(Theme).order_by(Theme.sort_order)).all(),
        departments=db.session.scalars(select(Department).order_by(Department.sort_order)).all(),
        members=desk_members(), statuses=states.STATUSES,
        can_claim=permissions.can_work_queue(current_user),
    )
