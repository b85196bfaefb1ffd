"""Where a report's counts come from: the stored facts of every day before the period's end,
read as whole months from report_months wherever a month lies wholly on one side of the
period's start or inside the period, and as days from report_facts only for the part months.

A fiscal year beside the one before adds up a few rows per month, department and breakdown
key (the desk's figures sum its departments' rows here, as they are read), however many
consultations the desk holds; the backlog at the period's end still counts everything filed
minus everything that left the backlog before it, back to the first day.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

from sqlalchemy import func, literal, literal_column, select, union_all

from ..domain import reports as rdomain
from ..models import ReportFact, ReportMonth
from ..models.report import COUNTERS


def _month_start(d: date) -> date:
    return d.replace(day=1)


def _next_month(d: date) -> date:
    return (d.replace(day=1) + timedelta(days=32)).replace(day=1)


def _parts(period: rdomain.Period, months_inside: bool) -> list[tuple]:
    """(table, first day or None, day after, inside) spans covering every day before the
    period's end exactly once (see source)."""
    start, end = period.start, period.end
    first_whole = start if start.day == 1 else _next_month(start)
    last_whole = _month_start(end)
    # Before the period: whole months up to the month the period starts in, then its days.
    parts: list[tuple] = [(ReportMonth, None, _month_start(start), 0)]
    if _month_start(start) < start:
        parts.append((ReportFact, _month_start(start), start, 0))
    # The period: its part month at the start, its whole months, its part month at the end.
    if months_inside and first_whole < last_whole:
        if start < first_whole:
            parts.append((ReportFact, start, first_whole, 1))
        parts.append((ReportMonth, first_whole, last_whole, 1))
        if last_whole < end:
            parts.append((ReportFact, last_whole, end, 1))
    else:
        parts.append((ReportFact, start, end, 1))
    return parts


def _where(table, lo: date | None, hi: date, dims: tuple[str, ...], department: str | None) -> list:
    day = table.month if table is ReportMonth else table.day
    where = [table.dim.in_(dims), day < hi]
    if lo is not None:
        where.append(day >= lo)
    if department is not None:
        where.append(table.department_id == department)
    return where


def source(
    period: rdomain.Period,
    dims: tuple[str, ...],
    department: str | None,
    months_inside: bool = True,
):
    """A subquery of fact rows (inside, day, dim, department_id, key, counters)
    covering every day before the period's end exactly once: `inside` is 1 for the days of
    the period. `day` is the row's day, or the first day of a month row's month.

    department: one department's rows only (a department head), else every department's
    (the caller's grouping adds them up, or keeps them apart for the department breakdown);
    months_inside: read the period's whole months as month rows (a weekly trend needs days).
    """
    return _source(period, tuple(dims), department, bool(months_inside))


# The statements are built once per period and shape (they hold the period's dates as
# bound values): building one costs about a millisecond, a page reads several.
@lru_cache(maxsize=64)
def _source(period: rdomain.Period, dims: tuple[str, ...], department: str | None, months_inside: bool):
    parts = []
    for table, lo, hi, inside in _parts(period, months_inside):
        day = table.month if table is ReportMonth else table.day
        parts.append(
            select(
                literal(inside).label("inside"),
                day.label("day"),
                table.dim.label("dim"),
                table.department_id.label("department_id"),
                table.key.label("key"),
                *[getattr(table, c).label(c) for c in COUNTERS],
            ).where(*_where(table, lo, hi, dims, department))
        )
    return union_all(*parts).subquery("facts")


# The counts of the period itself (the backlog is counted over every day before its end).
WITHIN = tuple(c for c in COUNTERS if c != "exited")
# The columns of totals(), in this order: the backlog where the rows count who left it.
SUMS = tuple("backlog" if c == "exited" else c for c in COUNTERS)


def totals(period: rdomain.Period, dims: tuple[str, ...], department: str | None, by: tuple[str, ...] = ()):
    """The counts of the period, and the backlog at its end (filed minus left the backlog,
    over every day before the end), over the rows of source() grouped by the columns named
    in `by` (of dim, department_id and key; none: one row), as a statement whose columns are
    `by` then SUMS. Each span adds up
    its own rows first, the months before the period only what the backlog needs (filed
    minus left the backlog), so no row carries an "inside" test; then the spans' few sums
    are added. report_months' key (dim, key, month, department_id) gives a breakdown's rows
    in key order, so the grouping of its spans needs no sort."""
    return _totals(period, tuple(dims), department, tuple(by))


@lru_cache(maxsize=64)
def _totals(period: rdomain.Period, dims: tuple[str, ...], department: str | None, by: tuple[str, ...]):
    parts = []
    for table, lo, hi, inside in _parts(period, True):
        keys = [getattr(table, c).label(c) for c in by]
        counts = [(func.sum(getattr(table, c)) if inside else literal_column("0")).label(c) for c in WITHIN]
        parts.append(
            select(*keys, func.sum(table.opened - table.exited).label("backlog"), *counts)
            .where(*_where(table, lo, hi, dims, department))
            .group_by(*keys)
        )
    u = union_all(*parts).subquery("spans")
    return select(*[u.c[c] for c in by], *[func.coalesce(func.sum(u.c[c]), 0).label(c) for c in SUMS]).group_by(
        *[u.c[c] for c in by]
    )
