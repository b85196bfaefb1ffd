"""/reports: the manager's figures for a period beside the previous one, breakdowns, CSV."""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user

from ..domain import reports as rd
from ..extensions import db
from ..services import reports
from .common import now, roles_required

bp = Blueprint("reports", __name__, url_prefix="/reports")


def _period() -> rd.Period:
    key = request.args.get("period", "")
    if not key:
        return rd.fiscal_year(rd.fiscal_year_of(now().astimezone(rd.TOKYO).date()))
    try:
        return rd.parse_period(key)
    except ValueError:
        abort(400)


FIGURE_ROWS = [
    ("opened", "opened"), ("resolved", "resolved"), ("backlog", "backlog"),
    ("fr_compliance", "fr_compliance"), ("res_compliance", "res_compliance"),
    ("fr_median_h", "fr_median_h"), ("fr_p90_h", "fr_p90_h"), ("res_median_h", "res_median_h"),
    ("res_p90_h", "res_p90_h"), ("reopened_rate", "reopened_rate"),
]


@bp.get("")
@roles_required("manager", "lead", "admin")
def index():
    period = _period()
    at = now()
    current = reports.figures(db.session, current_user, period, at)
    previous = reports.figures(db.session, current_user, period.previous(), at)
    breakdowns = {dim: reports.breakdown(db.session, current_user, period, dim, at) for dim in reports.DIMENSIONS}
    today = at.astimezone(rd.TOKYO).date()
    fy = rd.fiscal_year_of(today)
    choices = [rd.fiscal_year(fy), rd.fiscal_year(fy - 1)] + [rd.fiscal_quarter(fy, q) for q in (1, 2, 3, 4)] + [
        rd.month(today.year, today.month), rd.month(today.year, today.month).previous()]
    return render_template("reports/index.html", period=period, current=current, previous=previous,
                           breakdowns=breakdowns, choices=choices, rows=FIGURE_ROWS, today=today)


@bp.get("/export.csv")
@roles_required("manager", "lead", "admin")
def export_csv():
    """A breakdown (or the figures) as CSV: UTF-8 with BOM for Excel, formula-safe cells."""
    period = _period()
    table = request.args.get("table", "figures")
    at = now()
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    if table == "figures":
        cur = reports.figures(db.session, current_user, period, at)
        prev = reports.figures(db.session, current_user, period.previous(), at)
        writer.writerow(["figure", period.key(), period.previous().key()])
        for name, attr in FIGURE_ROWS:
            writer.writerow([name, getattr(cur, attr), getattr(prev, attr)])
        for label, n in cur.ages.items():
            writer.writerow([f"open_age_{label}", n, ""])
    elif table in reports.DIMENSIONS:
        writer.writerow([table, "opened", "resolved", "backlog"])
        for row in reports.breakdown(db.session, current_user, period, table, at):
            writer.writerow([rd.safe_cell(str(row["label"])), row["opened"], row["resolved"], row["backlog"]])
    else:
        abort(404)
    name = f"swat-{table}-{period.key()}.csv".replace("..", "_")
    return Response(out.getvalue().encode("utf-8"), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


