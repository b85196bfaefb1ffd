"""The lead's triage list, the team's availability, and the routing rules page."""

from __future__ import annotations

import json
from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import delete, func, select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from ..domain import states
from ..domain.errors import DomainError, NotFound
from ..domain.tz import TOKYO
from ..extensions import db
from ..models import Department, Initiative, MemberAbsence, RoutingProposal, Theme, Ticket, User
from ..services import routing
from ..services.visibility import get_visible_ticket
from .common import error_text, now, roles_required
from .i18n import localized

bp = Blueprint("triage", __name__)


def _catalog():
    themes = db.session.scalars(select(Theme).where(Theme.active).order_by(Theme.sort_order)).all()
    inits = db.session.scalars(
        select(Initiative).where(Initiative.active).order_by(Initiative.category, Initiative.sort_order)
    ).all()
    members = db.session.scalars(
        select(User).where(User.active, User.role.in_(("agent", "lead"))).order_by(User.display_name)
    ).all()
    return themes, inits, members


@bp.get("/triage")
@roles_required("lead", "admin")
def index():
    rows = db.session.execute(
        select(Ticket, RoutingProposal)
        .outerjoin(RoutingProposal, RoutingProposal.ticket_id == Ticket.id)
        .where(Ticket.triage.is_(True), Ticket.status.in_(states.OPEN_STATUSES))
        .options(selectinload(Ticket.department), selectinload(Ticket.requester))
        .order_by(Ticket.priority, Ticket.created_at)
        .limit(200)
    ).all()
    themes, inits, members = _catalog()
    items = []
    for ticket, proposal in rows:
        items.append(
            {
                "ticket": ticket,
                "proposal": proposal,
                "initiatives": json.loads(proposal.initiative_ids) if proposal else [],
                "departments": json.loads(proposal.department_ids) if proposal else [],
                "reasons": json.loads(proposal.reasons) if proposal else [],
            }
        )
    deps = {d.id: d for d in db.session.scalars(select(Department))}
    return render_template(
        "triage/index.html",
        items=items,
        themes=themes,
        inits=inits,
        members=members,
        deps=deps,
        theme_by_id={t.id: t for t in themes},
        init_by_id={i.id: i for i in inits},
    )


@bp.post("/triage/<number>")
@roles_required("lead", "admin")
def decide(number):
    try:
        ticket = get_visible_ticket(db.session, current_user, number)
    except NotFound:
        abort(404)
    assignee = request.form.get("assignee", "")
    if assignee and not assignee.isdigit():
        abort(400)
    try:
        routing.decide_triage(
            db.session,
            current_user,
            now(),
            ticket,
            theme_id=request.form.get("theme") or None,
            initiative_ids=request.form.getlist("initiatives")[:5],
            assignee_id=int(assignee) if assignee else None,
        )
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(f"{number}: {error_text(exc)}", "error")
        return redirect(url_for("triage.index"))
    except StaleDataError:
        db.session.rollback()
        flash(_("Someone else changed this consultation at the same time. Check it and try again."), "error")
        return redirect(url_for("triage.index"))
    flash(_("%(number)s was routed.", number=number), "success")
    return redirect(url_for("triage.index"))


@bp.get("/team")
@roles_required("agent", "lead", "admin")
def team():
    loaded = routing.current_rules(db.session)
    rules = loaded[0] if loaded else None
    members = db.session.scalars(
        select(User)
        .where(User.active, User.role.in_(("agent", "lead")))
        .options(selectinload(User.themes))
        .order_by(User.display_name)
    ).all()
    counts = dict(
        db.session.execute(
            select(Ticket.assignee_id, func.count())
            .where(Ticket.status.in_(states.OPEN_STATUSES), Ticket.assignee_id.is_not(None))
            .group_by(Ticket.assignee_id)
        ).all()
    )
    today = now().astimezone(TOKYO).date()
    absences = db.session.scalars(
        select(MemberAbsence).where(MemberAbsence.ends_on >= today).order_by(MemberAbsence.starts_on)
    ).all()
    by_user: dict[int, list[MemberAbsence]] = {}
    for a in absences:
        by_user.setdefault(a.user_id, []).append(a)
    caps = {m.id: (rules.members.get(m.username, {}).get("cap", rules.default_cap) if rules else None) for m in members}
    return render_template(
        "triage/team.html",
        members=members,
        counts=counts,
        caps=caps,
        by_user=by_user,
        today=today,
        can_manage=current_user.role in ("lead", "admin"),
    )


def _may_manage(user_id: int) -> bool:
    return current_user.role in ("lead", "admin") or user_id == current_user.id


@bp.post("/team/<int:user_id>/absences")
@roles_required("agent", "lead", "admin")
def add_absence(user_id):
    if not _may_manage(user_id):
        abort(403)
    member = db.session.get(User, user_id)
    if member is None or member.role not in ("agent", "lead"):
        abort(404)
    try:
        starts = date.fromisoformat(request.form.get("starts_on", ""))
        ends = date.fromisoformat(request.form.get("ends_on", "") or request.form.get("starts_on", ""))
    except ValueError:
        flash(_("Enter a valid date (YYYY-MM-DD)."), "error")
        return redirect(url_for("triage.team"))
    if ends < starts:
        flash(_("The last day cannot be before the first day."), "error")
        return redirect(url_for("triage.team"))
    db.session.add(
        MemberAbsence(
            user_id=user_id,
            starts_on=starts,
            ends_on=ends,
            note=request.form.get("note", "").strip()[:200],
            created_by_id=current_user.id,
            created_at=now(),
        )
    )
    db.session.commit()
    flash(_("The absence was saved."), "success")
    return redirect(url_for("triage.team"))


@bp.post("/team/absences/<int:absence_id>/delete")
@roles_required("agent", "lead", "admin")
def delete_absence(absence_id):
    absence = db.session.get(MemberAbsence, absence_id)
    if absence is None or not _may_manage(absence.user_id):
        abort(404)
    db.session.execute(delete(MemberAbsence).where(MemberAbsence.id == absence_id))
    db.session.commit()
    flash(_("The absence was removed."), "success")
    return redirect(url_for("triage.team"))


@bp.get("/admin/routing")
@roles_required("admin", "lead")
def rules_page():
    loaded = routing.current_rules(db.session)
    if loaded is None:
        return render_template("triage/rules.html", rules=None, doc=None)
    rules, doc = loaded
    themes = {t.id: t for t in db.session.scalars(select(Theme))}
    inits = {i.id: i for i in db.session.scalars(select(Initiative))}
    skills = db.session.scalars(
        select(User)
        .where(User.active, User.role.in_(("agent", "lead")))
        .options(selectinload(User.themes))
        .order_by(User.display_name)
    ).all()
    return render_template(
        "triage/rules.html", rules=rules, doc=doc, themes=themes, inits=inits, members=skills, localized=localized
    )
