"""The report's exports: each table, or the whole report, and the consultations behind a
count, as CSV and Excel. Every file says above its table what it covers (the period, with
its first and last day, and the department or the whole desk), in the reader's language;
the files themselves are laid out by services/report_export.py."""

from __future__ import annotations

from datetime import timedelta

from flask import Response, abort, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext, pgettext
from flask_login import current_user

from ..domain import permissions, states
from ..domain import reports as rd
from ..services import drill_down, report_periods
from ..services.report_export import Sheet, csv_bytes, xlsx_bytes
from ..services.reports import MEASURES
from ..transaction import session
from .boundary import Refused
from .common import requires, settings
from .i18n import PRIORITY_LABELS, STATUS_LABELS, localized
from .listing_params import filters_from_request
from .report_tables import DIMENSION_LABELS, TABLES, asked_period, build_tables, period_label, period_message
from .report_tables import requested_times as times

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET_NAMES = {
    "figures": _l("Figures"),
    "ages": lazy_pgettext("sheet", "Open by age"),
    "trend": _l("Trend"),
    **DIMENSION_LABELS,
}


def _period() -> rd.Period:
    try:
        return asked_period()
    except rd.PeriodError as error:
        raise Refused(period_message(error)) from None


def scope_label() -> str:
    """Whose consultations the report counts: the reader's department, or the whole desk."""
    department = report_periods.scope(session(), current_user)
    return localized(department) if department is not None else _("All departments")


def about(title: str, period: rd.Period) -> list[list]:
    """The rows above a table: what it is, its period (named, then its first and last day)
    and its scope."""
    return [
        [_("Report"), title],
        [_("Period"), period_label(period), period.start, period.end - timedelta(days=1)],
        [_("Scope"), scope_label()],
    ]


def _filename(period: rd.Period, name: str, ext: str) -> str:
    return f"swat-{name}-{period.key()}.{ext}".replace("..", "_")


def _download(body: bytes, mimetype: str, filename: str) -> Response:
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _sheets(period: rd.Period, names) -> list[Sheet]:
    tables = build_tables(period, names, times())
    return [
        Sheet(str(SHEET_NAMES[name]), about(tables[name].title, period), tables[name].header, tables[name].rows)
        for name in names
    ]


@requires(permissions.can_view_reports)
def export_csv():
    """One table (default: the figures) as CSV."""
    period = _period()
    name = request.args.get("table", "figures")
    if name not in TABLES:
        abort(404)
    (sheet,) = _sheets(period, (name,))
    return _download(csv_bytes(sheet), "text/csv; charset=utf-8", _filename(period, name, "csv"))


@requires(permissions.can_view_reports)
def export_xlsx():
    """One table (?table=) or the whole report, one sheet per table, as an Excel workbook."""
    period = _period()
    name = request.args.get("table", "")
    if name and name not in TABLES:
        abort(404)
    names = (name,) if name else TABLES
    return _download(xlsx_bytes(_sheets(period, names)), XLSX, _filename(period, name or "report", "xlsx"))


# --- the consultations behind a count ------------------------------------------------------


def _drill_down_sheet() -> tuple[Sheet, rd.Period]:
    from .consultations import narrowed

    f = filters_from_request(settings()["queue_page_size"])
    if not f.period or f.measure not in MEASURES:
        raise Refused(_("Only the consultations behind a count of the report can be exported: open a count first."))
    try:
        period = rd.parse_period(f.period)
    except rd.PeriodError as error:
        raise Refused(period_message(error)) from None
    found = drill_down.drill_down_export(session(), current_user, f)
    header = [
        _("Number"),
        _("Title"),
        _("Department"),
        _("Theme"),
        _("Status"),
        _("Urgency"),
        _("Requester"),
        _("Assignee"),
        _("Filed"),
        pgettext("when", "Resolved"),
        _("Last activity"),
    ]
    rows = [
        [
            r.number,
            r.title,
            localized(r.department),
            localized(r.theme) if r.theme else "",
            str(STATUS_LABELS[r.status]),
            str(PRIORITY_LABELS[states.PRIORITIES[r.priority]]),
            r.requester,
            r.assignee or "",
            r.created_at,
            r.resolved_at,
            r.last_activity_at,
        ]
        for r in found.rows
    ]
    lines = about(_("List of consultations"), period)
    lines[1:1] = [[label, value] for arg, label, value in narrowed(f) if arg != "period"]
    if f.q:  # the rows are those the words find too: the file says so (cells are neutralised)
        lines.append([_("Search"), f.q])
    if found.total > len(found.rows):
        count = _("The first %(shown)s of %(total)s", shown=f"{len(found.rows):,}", total=f"{found.total:,}")
    else:
        count = found.total
    lines.append([_("Consultations listed"), count])
    return Sheet(_("Consultations"), lines, header, rows), period


@requires(permissions.can_view_reports)
def consultations_csv():
    """The consultations behind a count (the drill-down list, its filters and its scope) as CSV."""
    sheet, period = _drill_down_sheet()
    return _download(csv_bytes(sheet), "text/csv; charset=utf-8", _filename(period, "consultations", "csv"))


@requires(permissions.can_view_reports)
def consultations_xlsx():
    """The consultations behind a count as an Excel workbook."""
    sheet, period = _drill_down_sheet()
    return _download(xlsx_bytes([sheet]), XLSX, _filename(period, "consultations", "xlsx"))
