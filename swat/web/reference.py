"""Reference pages every signed-in user can read: the governance chart and the catalog."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import login_required

from .. import transaction
from ..services import catalog

bp = Blueprint("reference", __name__, url_prefix="/reference")


@bp.get("/governance")
@login_required
def governance():
    chart = catalog.governance(transaction.session())
    return render_template(
        "reference/governance.html",
        roots=chart.roots,
        children=chart.children,
        dissolved=chart.dissolved,
        chain=chart.chain,
        themes=chart.themes,
    )


@bp.get("/initiatives")
@login_required
def initiatives():
    category = request.args.get("category", "")
    department = request.args.get("department", "")[:64]
    theme = request.args.get("theme", "")[:64]
    session = transaction.session()
    items = catalog.find_initiatives(
        session,
        category=int(category) if category in ("1", "2", "3") else None,
        department_id=department,
        theme_id=theme,
    )
    return render_template(
        "reference/initiatives.html",
        items=items,
        category=category,
        department=department,
        theme=theme,
        departments=catalog.active_departments(session),
        themes=catalog.active_themes(session),
    )
