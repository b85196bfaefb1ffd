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

from sqlalchemy import case, func, literal, select, union_all

from ..domain import reports as rdomain
from ..models import ReportFact, ReportMonth
from ..models.report import COUNTERS


def _month_start(d: date) -> date:
    return d.replace(day=1)


def _next_month(d: date) -> date:
    return (d.replace(day=1) + timedelta(days=32)).replace(day=1)


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
    start, end = period.start, period.end
    first_whole = start if start.day == 1 else _next_month(start)
    last_whole = _month_start(end)

    def months(lo: date | None, hi: date, inside: int):
        where = [] if department is None else [ReportMonth.department_id == department]
        if lo is not None:
            where.append(ReportMonth.month >= lo)
        return select(
            literal(inside).label("inside"),
            ReportMonth.month.label("day"),
            ReportMonth.dim.label("dim"),
            ReportMonth.department_id.label("department_id"),
            ReportMonth.key.label("key"),
            *[getattr(ReportMonth, c).label(c) for c in COUNTERS],
        ).where(ReportMonth.dim.in_(dims), ReportMonth.month < hi, *where)

    def days(lo: date, hi: date, inside: int):
        where = [] if department is None else [ReportFact.department_id == department]
        return select(
            literal(inside).label("inside"),
            ReportFact.day.label("day"),
            ReportFact.dim.label("dim"),
            ReportFact.department_id.label("department_id"),
            ReportFact.key.label("key"),
            *[getattr(ReportFact, c).label(c) for c in COUNTERS],
        ).where(ReportFact.dim.in_(dims), ReportFact.day >= lo, ReportFact.day < hi, *where)

    # Before the period: whole months up to the month the period starts in, then its days.
    parts = [months(None, _month_start(start), 0)]
    if _month_start(start) < start:
        parts.append(days(_month_start(start), start, 0))
    # The period: its part month at the start, its whole months, its part month at the end.
    if months_inside and first_whole < last_whole:
        parts.append(days(start, first_whole, 1) if start < first_whole else None)
        parts.append(months(first_whole, last_whole, 1))
        parts.append(days(last_whole, end, 1) if last_whole < end else None)
    else:
        parts.append(days(start, end, 1))
    return union_all(*[p for p in parts if p is not None]).subquery("facts")


def sums(facts) -> list:
    """Sums over source(): counts in the period, and the backlog at its end (filed minus
    left the backlog, over every day before the end)."""

    def within(name: str):
        return func.coalesce(func.sum(case((facts.c.inside == 1, facts.c[name]), else_=0)), 0).label(name)

    return [
        within("opened"),
        within("resolved"),
        func.coalesce(func.sum(facts.c.opened - facts.c.exited), 0).label("backlog"),
        within("reopened"),
        within("fr_met"),
        within("fr_missed"),
        within("fr_minutes"),
        within("res_met"),
        within("res_missed"),
        within("res_minutes"),
    ]
