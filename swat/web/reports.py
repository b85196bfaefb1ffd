"""/reports: the manager's figures for a period beside the previous one, the trend, the
breakdowns, and their exports (CSV and XLSX built from the very tables the page shows:
report_tables.py builds them, report_exports.py writes the files)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from flask import Blueprint, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup, escape

from ..domain import permissions
from ..domain import reports as rd
from ..services import report_periods, reports
from ..transaction import session
from . import i18n, report_exports
from .common import requires
from .report_tables import (
    FIGURE_ROWS,
    Table,
    asked_days,
    asked_period,
    build_tables,
    days_label,
    default_period,
    period_message,
    requested_times,
    today,
)

bp = Blueprint("reports", __name__, url_prefix="/reports")
for rule, view in (
    ("/export.csv", report_exports.export_csv),
    ("/export.xlsx", report_exports.export_xlsx),
    ("/consultations.csv", report_exports.consultations_csv),
    ("/consultations.xlsx", report_exports.consultations_xlsx),
):
    bp.add_url_rule(rule, view_func=view, methods=["GET"])


@bp.get("")
@requires(permissions.can_view_reports)
def index():
    """The report of the period asked for. A period that cannot be shown is named on the
    page itself (400), which shows this fiscal year below the picker meanwhile."""
    problem = None
    try:
        period = asked_period()
    except rd.PeriodError as error:
        problem, period = period_message(error), default_period()
    times = requested_times()
    tables = build_tables(period, times=times)
    offered = report_periods.choices(session(), current_user, today())
    days = asked_days() if problem else None
    page = render_template(
        "reports/index.html",
        period=period,
        tables=tables,
        offered=offered,
        offered_all=[p for group in offered.values() for p in group],
        range_from=days[0] if days else period.start.isoformat(),
        range_to=days[1] if days else (period.end - timedelta(days=1)).isoformat(),
        problem=problem,
        problem_in_days=problem is not None and asked_days() is not None,
        scope=report_exports.scope_label(),
        days=days_label(period),
        figure_rows=FIGURE_ROWS,
        dimensions=reports.DIMENSIONS,
        sort=request.args.get("sort", ""),
        zip=zip,
        times=times,
        drill=_drill_links(),
        period_key=period.key(),
        breakdown_body=_breakdown_body,
    )
    return page, 400 if problem else 200


def _breakdown_body(table: Table, period_key: str, drill) -> Markup:
    """The body rows of a breakdown table, written here rather than in the template: a
    fiscal year's breakdowns have hundreds of cells (see web/pieces.py). A dash, read out
    as "No data", for no value; a count as a link to its consultations (`drill`, the page's
    _drill_links, for each measure; each row's filter added once)."""
    no_data = f'<span aria-hidden="true">—</span><span class="visually-hidden">{escape(i18n.gettext("No data"))}</span>'
    prefix = {a: drill(period_key, a) for a, _, linked in table.columns if linked}
    out = []
    for row, src in zip(table.rows, table.source, strict=True):
        extra = "&" + urlencode(src["filter"]) if src["filter"] else ""
        cells = [f'<tr>\n        <th scope="row">{escape(row[0])}</th>']
        for (attr, _, linked), value in zip(table.columns, row[1:], strict=True):
            if value is None:
                cell = no_data
            elif linked and value:
                cell = f'<a href="{escape(prefix[attr] + extra)}">{escape(value)}</a>'
            else:
                cell = str(escape(value))
            cells.append(f'<td class="num">{cell}</td>')
        out.append("\n        ".join(cells) + "\n      </tr>")
    return Markup("".join(out))


def _drill_links():
    """The link of a count to its consultations (the drill-down list), built from the list's
    address once per page rather than once per cell: a fiscal year's breakdowns have
    hundreds of counts."""
    base = url_for("consultations.index")

    def drill(period_key: str, measure: str, extra: dict | None = None) -> str:
        return base + "?" + urlencode({"period": period_key, "measure": measure, **(extra or {})})

    return drill
