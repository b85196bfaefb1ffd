"""Reference pages every signed-in user can read: the governance chart and the catalog."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Department, EscalationStep, GovernanceBody, Initiative, Theme
from ..models.reference import initiative_departments, initiative_themes

bp = Blueprint("reference", __name__, url_prefix="/reference")


@bp.get("/governance")
@login_required
def governance():
    bodies = db.session.scalars(select(GovernanceBody).order_by(GovernanceBody.sort_order)).all()
    children: dict[str | None, list[GovernanceBody]] = {}
    for b in bodies:
        if b.active:
            children.setdefault(b.parent_id, []).append(b)
    roots = children.get(None, [])
    dissolved = [b for b in bodies if not b.active]
    chain = db.session.scalars(select(EscalationStep).order_by(EscalationStep.level)).all()
    themes = db.session.scalars(
        select(Theme).where(Theme.active).options(selectinload(Theme.panel)).order_by(Theme.sort_order)
    ).all()
    return render_template(
        "reference/governance.html", roots=roots, children=children, dissolved=dissolved, chain=chain, themes=themes
    )


@bp.get("/initiatives")
@login_required
def initiatives():
    category = request.args.get("category", "")
    department = request.args.get("department", "")[:64]
    theme = request.args.get("theme", "")[:64]
    stmt = (
        select(Initiative)
        .where(Initiative.active)
        .options(selectinload(Initiative.departments), selectinload(Initiative.themes))
        .order_by(Initiative.category, Initiative.sort_order)
    )
    if category in ("1", "2", "3"):
        stmt = stmt.where(Initiative.category == int(category))
    if department:
        # Catalog items marked 全庁 (every department) count for every department.
        stmt = stmt.where(
            Initiative.all_departments
            | Initiative.id.in_(
                select(initiative_departments.c.initiative_id).where(
                    initiative_departments.c.department_id == department
                )
            )
        )
    if theme:
        stmt = stmt.where(
            Initiative.id.in_(select(initiative_themes.c.initiative_id).where(initiative_themes.c.theme_id == theme))
        )
    items = db.session.scalars(stmt).all()
    return render_template(
        "reference/initiatives.html",
        items=items,
        category=category,
        department=department,
        theme=theme,
        departments=db.session.scalars(
            select(Department).where(Department.active).order_by(Department.sort_order)
        ).all(),
        themes=db.session.scalars(select(Theme).where(Theme.active).order_by(Theme.sort_order)).all(),
    )
