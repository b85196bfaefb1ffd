"""/reports: the manager's figures for a period beside the previous one, the trend, the
breakdowns, and their exports (CSV and XLSX built from the very tables the page shows)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_login import current_user
from markupsafe import Markup, escape

from ..domain import permissions
from ..domain import reports as rd
from ..domain.tz import TOKYO
from ..services import report_breakdowns, reports
from ..transaction import session
from . import i18n
from .boundary import Refused
from .common import now, requires
from .i18n import PRIORITY_LABELS

bp = Blueprint("reports", __name__, url_prefix="/reports")

PCT = " (%)"
RESOLVED = lazy_pgettext("report", "Resolved")  # a count, not the status
HOURS = _l("business hours")


BAD_PERIOD = _l(
    "The report period is not one the desk can show. Use a month (2026-11), a fiscal quarter (FY2026-Q3), "
    "a fiscal year (FY2026) or days (2026-04-01..2026-06-30, at most five years), from April 2019 to "
    "March 2100 (the period before it, shown beside it, included)."
)


def _period() -> rd.Period:
    key = request.args.get("period", "")
    if not key:
        return rd.fiscal_year(rd.fiscal_year_of(now().astimezone(TOKYO).date()))
    try:
        return rd.parse_period(key)
    except ValueError:
        raise Refused(BAD_PERIOD) from None


def _period_label(period: rd.Period) -> str:
    from flask_babel import get_locale

    return period.label_ja() if str(get_locale()) == "ja" else period.label_en()


# (attribute, label, is a count that links to its tickets)
FIGURE_ROWS = [
    ("opened", _l("Opened"), True),
    ("resolved", RESOLVED, True),
    ("backlog", _l("Backlog at period end"), True),
    ("fr_compliance", _l("First-response compliance"), False),
    ("res_compliance", _l("Resolution compliance"), False),
    ("fr_median_h", _l("First response, median"), False),
    ("fr_p90_h", _l("First response, 90th percentile"), False),
    ("res_median_h", _l("Resolution, median"), False),
    ("res_p90_h", _l("Resolution, 90th percentile"), False),
    ("reopened_rate", _l("Reopened"), False),
]
BREAKDOWN_COLUMNS = [
    ("opened", _l("Opened"), True),
    ("resolved", RESOLVED, True),
    ("backlog", _l("Backlog at period end"), True),
    ("fr_compliance", _l("First-response compliance"), False),
    ("res_compliance", _l("Resolution compliance"), False),
    ("fr_mean_h", _l("First response, mean"), False),
    ("res_mean_h", _l("Resolution, mean"), False),
    ("reopened_rate", _l("Reopened"), False),
]
# Shown per breakdown on request (?times=<dimension>): they read every clock of the period.
TIME_COLUMNS = [(attr, label, False) for attr, label, _ in FIGURE_ROWS if attr.endswith(("_median_h", "_p90_h"))]
DIMENSION_LABELS = {
    "department": _l("By department"),
    "theme": _l("By theme"),
    "priority": _l("By urgency"),
    "member": _l("By SWAT member"),
    "initiative": _l("By initiative"),
}
TABLES = ("figures", "ages", "trend", *reports.DIMENSIONS)


def unit(attr: str) -> str:
    """The unit shown after a column's name."""
    if attr.endswith("_compliance") or attr.endswith("_rate"):
        return PCT
    if attr.endswith("_h"):
        return f" ({HOURS})"
    return ""


@dataclass
class Table:
    """A report table as the page, the CSV and the XLSX all show it."""

    name: str
    title: str
    header: list[str]
    rows: list[list]
    source: list[dict] = field(default_factory=list)  # the rows as dicts: keys, drill-down filters, charts
    columns: list[tuple] = field(default_factory=list)  # (attribute, label, linked) after the first column


def _label(dimension: str, row: dict) -> str:
    if dimension == "priority":
        return str(PRIORITY_LABELS[row["label"]])
    return str(_l("(not set)")) if row["key"] == "" else str(row["label"])


def _sorted(dim: str, rows: list[dict]) -> list[dict]:
    """Rows in the order asked for with ?sort=<dimension>:<column>[:asc] (default: as given)."""
    parts = request.args.get("sort", "").split(":")
    allowed = {a for a, _, _ in BREAKDOWN_COLUMNS + TIME_COLUMNS} | {"label"}
    if len(parts) < 2 or parts[0] != dim or parts[1] not in allowed or parts[1] not in (rows[0] if rows else {}):
        return rows
    column, ascending = parts[1], len(parts) > 2 and parts[2] == "asc"
    present = [r for r in rows if r[column] is not None]
    missing = [r for r in rows if r[column] is None]
    present.sort(key=lambda r: r[column] if column != "label" else str(r["label"]), reverse=not ascending)
    return present + missing


def requested_times() -> tuple[str, ...]:
    """The breakdowns whose median and p90 times were asked for (?times=theme&times=member)."""
    return tuple(d for d in reports.DIMENSIONS if d in request.args.getlist("times"))


def build_tables(period: rd.Period, names=TABLES, times: tuple[str, ...] = ()) -> dict[str, Table]:
    """The report's tables for the signed-in user, computed once; the breakdowns named in
    `times` also get median and p90 times."""
    at = now()
    out: dict[str, Table] = {}
    cur = None
    dims = tuple(d for d in reports.DIMENSIONS if d in names)
    # The clocks overdue now, counted once for the breakdowns and the figures.
    overdue = reports.overdue_now(session(), current_user, period, at, dims) if dims else None
    if "figures" in names or "ages" in names:
        total = overdue.total if overdue is not None else None
        cur, prev = reports.figures_beside(session(), current_user, period, at, total)
        out["figures"] = Table(
            "figures",
            str(_l("Figures")),
            [str(_l("Figure")), _period_label(period), _period_label(period.previous())],
            [[str(label) + unit(attr), getattr(cur, attr), getattr(prev, attr)] for attr, label, _ in FIGURE_ROWS],
        )
        out["ages"] = Table(
            "ages",
            str(_l("Open consultations by age (business days)")),
            [str(_l("Age (business days)")), str(_l("Open consultations"))],
            [[label, n] for label, n in cur.ages.items()],
        )
    if "trend" in names:
        steps = reports.trend(session(), current_user, period, at)
        out["trend"] = Table(
            "trend",
            str(_l("Trend")),
            [str(_l("From")), str(_l("To")), str(_l("Opened")), str(RESOLVED), str(_l("Backlog at the end"))],
            [
                [
                    s["start"].isoformat(),
                    (s["end"] - timedelta(days=1)).isoformat(),
                    s["opened"],
                    s["resolved"],
                    s["backlog"],
                ]
                for s in steps
            ],
            steps,
        )
    if dims:
        for dim, rows in report_breakdowns.breakdowns(session(), current_user, period, at, dims, overdue).items():
            columns = list(BREAKDOWN_COLUMNS)
            if dim in times:
                columns += TIME_COLUMNS
                extra = report_breakdowns.time_percentiles(session(), current_user, period, dim, cur)
                for r in rows:
                    r.update({a: extra.get(r["key"], {}).get(a) for a, _, _ in TIME_COLUMNS})
            rows = _sorted(dim, rows)
            for r in rows:
                r["display"] = _label(dim, r)
            out[dim] = Table(
                dim,
                str(DIMENSION_LABELS[dim]),
                [str(DIMENSION_LABELS[dim])] + [str(label) + unit(a) for a, label, _ in columns],
                [[r["display"]] + [r[a] for a, _, _ in columns] for r in rows],
                rows,
                columns,
            )
    return out


@bp.get("")
@requires(permissions.can_view_reports)
def index():
    period = _period()
    times = requested_times()
    tables = build_tables(period, times=times)
    today = now().astimezone(TOKYO).date()
    fy = rd.fiscal_year_of(today)
    choices = (
        [rd.fiscal_year(fy), rd.fiscal_year(fy - 1)]
        + [rd.fiscal_quarter(fy, q) for q in (1, 2, 3, 4)]
        + [rd.month(today.year, today.month), rd.month(today.year, today.month).previous()]
    )
    return render_template(
        "reports/index.html",
        period=period,
        tables=tables,
        choices=choices,
        figure_rows=FIGURE_ROWS,
        dimensions=reports.DIMENSIONS,
        sort=request.args.get("sort", ""),
        today=today,
        zip=zip,
        times=times,
        drill=_drill_links(),
        period_key=period.key(),
        breakdown_body=_breakdown_body,
    )


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


def _requested() -> tuple[rd.Period, tuple[str, ...]]:
    period = _period()
    table = request.args.get("table", "")
    if table and table not in TABLES:
        abort(404)
    return period, ((table,) if table else TABLES)


def _filename(period: rd.Period, table: str, ext: str) -> str:
    return f"swat-{table or 'report'}-{period.key()}.{ext}".replace("..", "_")


@bp.get("/export.csv")
@requires(permissions.can_view_reports)
def export_csv():
    """One table (default: the figures) as CSV: UTF-8 with BOM so Excel reads Japanese,
    cells starting with = + - @ tab or CR neutralised."""
    period = _period()
    name = request.args.get("table", "figures")
    if name not in TABLES:
        abort(404)
    table = build_tables(period, (name,), requested_times())[name]
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([rd.safe_cell(h) for h in table.header])
    for row in table.rows:
        writer.writerow(["" if v is None else rd.safe_cell(v) for v in row])
    return Response(
        out.getvalue().encode("utf-8"),
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{_filename(period, name, "csv")}"'},
    )


@bp.get("/export.xlsx")
@requires(permissions.can_view_reports)
def export_xlsx():
    """One table (?table=) or the whole report, one sheet per table, as an Excel workbook."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    period, names = _requested()
    tables = build_tables(period, names, requested_times())
    book = Workbook()
    for sheet in list(book.worksheets):  # the empty default sheet
        book.remove(sheet)
    for name in names:
        table = tables[name]
        sheet = book.create_sheet(name)
        sheet.append([rd.safe_cell(h) for h in table.header])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in table.rows:
            # Text that looks like a formula is neutralised as in CSV; numbers stay numbers.
            sheet.append([rd.safe_cell(v) if isinstance(v, str) else v for v in row])
        sheet.column_dimensions["A"].width = 28
        sheet.freeze_panes = "B2"
    out = io.BytesIO()
    book.save(out)
    fname = _filename(period, request.args.get("table", ""), "xlsx")
    return Response(
        out.getvalue(),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{fname}"'},
    )
