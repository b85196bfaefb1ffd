"""The report's tables as the page, the CSV and the XLSX all show them (built once per
request from the services' figures), and the period a request asks for."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import request
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_login import current_user

from ..domain import reports as rd
from ..domain.tz import TOKYO
from ..services import report_breakdowns, reports
from ..transaction import session
from .common import now
from .i18n import PRIORITY_LABELS, locale_code, localized

PCT = " (%)"
RESOLVED = lazy_pgettext("report", "Resolved")  # a count, not the status
HOURS = _l("business hours")


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
    """A breakdown row's name in the reader's language: an urgency's word, a department's,
    theme's or initiative's name as the catalog has it in English (as the queue names them,
    i18n.localized; Japanese where it has none), a member's display name."""
    if dimension == "priority":
        return str(PRIORITY_LABELS[row["label"]])
    if row["key"] == "":
        return str(_l("(not set)"))
    return localized(row["name"]) if row.get("name") is not None else str(row["label"])


def _sorted(dim: str, rows: list[dict]) -> list[dict]:
    """Rows in the order asked for with ?sort=<dimension>:<column>[:asc] (default: as given)."""
    parts = request.args.get("sort", "").split(":")
    allowed = {a for a, _, _ in BREAKDOWN_COLUMNS + TIME_COLUMNS} | {"label"}
    if len(parts) < 2 or parts[0] != dim or parts[1] not in allowed or parts[1] not in (rows[0] if rows else {}):
        return rows
    column, ascending = parts[1], len(parts) > 2 and parts[2] == "asc"
    present = [r for r in rows if r[column] is not None]
    missing = [r for r in rows if r[column] is None]
    present.sort(key=lambda r: r[column] if column != "label" else r["display"], reverse=not ascending)
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
            [str(_l("Figure")), period_label(period), period_label(period.previous())],
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
                    s["start"],
                    s["end"] - timedelta(days=1),
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
            for r in rows:
                r["display"] = _label(dim, r)
            rows = _sorted(dim, rows)
            out[dim] = Table(
                dim,
                str(DIMENSION_LABELS[dim]),
                [str(DIMENSION_LABELS[dim])] + [str(label) + unit(a) for a, label, _ in columns],
                [[r["display"]] + [r[a] for a, _, _ in columns] for r in rows],
                rows,
                columns,
            )
    return out


# --- the period asked for ----------------------------------------------------------------

PERIOD_FORMS = _l(
    "Choose a period from the list, or a first and a last day. In the address, ?period= takes a month "
    "(2026-11), a fiscal quarter (FY2026-Q3), a fiscal year (FY2026) or days (2026-04-01..2026-06-30)."
)
PERIOD_REASONS = {
    "form": _l("“%(value)s” is not a period the desk can read."),
    "days": _l("Enter both the first and the last day as dates (for example 2026-04-01)."),
    "order": _l("The last day is before the first."),
    "too_long": _l("A range of days can be at most five years."),
    "outside": _l("Reports cover April 2019 to March 2100, the period before the one shown included."),
}


def default_period() -> rd.Period:
    """This fiscal year (Tokyo)."""
    return rd.fiscal_year(rd.fiscal_year_of(today()))


def today() -> date:
    return now().astimezone(TOKYO).date()


def asked_days() -> tuple[str, str] | None:
    """The first and last day of the page's date picker (?from=&to=), if either was given."""
    first, last = request.args.get("from", "").strip(), request.args.get("to", "").strip()
    return (first, last) if first or last else None


def asked_period() -> rd.Period:
    """The period the request asks for: two days (?from=&to=), else ?period=, else this
    fiscal year. PeriodError when it cannot be shown (period_message says why)."""
    days = asked_days()
    if days is not None:
        return rd.parse_range(*days)
    key = request.args.get("period", "")
    return rd.parse_period(key) if key else default_period()


def period_message(error: rd.PeriodError) -> str:
    """Why a period cannot be shown and which forms can, in the reader's language."""
    reason = error.reason
    if reason == "form" and asked_days() is not None:
        reason = "days"
    value = request.args.get("period", "").strip()
    shown = value if len(value) <= 40 else value[:40] + "…"
    return f"{PERIOD_REASONS[reason] % {'value': shown}} {PERIOD_FORMS}"


def period_label(period: rd.Period) -> str:
    return period.label_ja() if locale_code() == "ja" else period.label_en()


def days_label(period: rd.Period) -> str:
    """The period's first and last day, as a range of days reads them."""
    return period_label(rd.Period("range", period.start, period.end))
