"""Time figures for the reports: exact median and 90th percentile of the business minutes of
the stopped SLA clocks, ranked by the database (see reports.py for the definitions)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, case, cast, func, literal, select, union_all
from sqlalchemy.orm import Session

from ..domain import reports as rdomain
from ..models import ReportTimeCount, TicketSla


def stopped_in(target: str, start: datetime, end: datetime, department: str | None) -> list:
    """The clocks of `target` that stopped, met or missed, in [start, end) (of one
    department, by the clock's copy of the ticket's department, see TicketSla): the one
    reading of "a time in the period" for the figures and the breakdowns."""
    clauses = [
        TicketSla.target == target,
        TicketSla.stopped_at >= start,
        TicketSla.stopped_at < end,
        TicketSla.state.in_(("met", "missed")),
    ]
    if department is not None:
        clauses.append(TicketSla.department_id == department)
    return clauses


def stopped_minutes(target: str, period: rdomain.Period, department: str | None):
    """(v, n) rows: n clocks of `target` that stopped (met or missed) in the period having
    used v business minutes; a v may repeat. Desk-wide, whole months come from the
    stored counts (report_time_counts) and only the part months at either end from the
    clocks themselves; a department's come from its clocks."""

    def clocks(first: date, after: date):
        start, end = rdomain.Period("range", first, after).bounds()
        return select(TicketSla.used_minutes.label("v"), literal(1).label("n")).where(
            *stopped_in(target, start, end, department)
        )

    months = None if department is not None else rdomain.whole_months(period.start, period.end)
    if months is None:
        return clocks(period.start, period.end)
    first, after = months
    parts = [
        select(ReportTimeCount.minutes.label("v"), ReportTimeCount.clocks.label("n")).where(
            ReportTimeCount.target == target,
            ReportTimeCount.month >= first,
            ReportTimeCount.month < after,
            ReportTimeCount.clocks != 0,
        )
    ]
    if period.start < first:
        parts.append(clocks(period.start, first))
    if after < period.end:
        parts.append(clocks(after, period.end))
    return union_all(*parts) if len(parts) > 1 else parts[0]


def ranked(session: Session, counts) -> dict[str, tuple[float, float]]:
    """Median and p90 (percentile_cont's definition, as rdomain.percentile) per
    key k of the multisets given by (k, v, n) rows (n values v under key k; a (k, v) may
    repeat), found by the database: it adds up each value's count, runs a cumulative count
    in value order within each key and returns only the values at the two ranks either side
    of each percentile (rank r is the first value whose cumulative count exceeds r). Keys
    without values are absent."""
    c = counts.subquery()
    grouped = select(c.c.k, c.c.v, func.sum(c.c.n).label("n")).group_by(c.c.k, c.c.v).subquery()
    w = select(
        grouped.c.k,
        grouped.c.v,
        cast(func.sum(grouped.c.n).over(partition_by=grouped.c.k, order_by=grouped.c.v), BigInteger).label("cum"),
        cast(func.sum(grouped.c.n).over(partition_by=grouped.c.k), BigInteger).label("total"),
    ).subquery()
    last = w.c.total - 1
    cols = [w.c.k, func.max(w.c.total)]
    for tenths in (5, 9):
        lo = (last * tenths) // 10  # floor((total - 1) * p), in integers
        hi = (last * tenths + 9) // 10  # its ceiling
        cols += [func.min(case((w.c.cum > lo, w.c.v))), func.min(case((w.c.cum > hi, w.c.v)))]
    out = {}
    for k, total, *ends in session.execute(select(*cols).group_by(w.c.k)):
        if not total:
            continue
        values = []
        for tenths, (lo_value, hi_value) in zip((5, 9), (ends[0:2], ends[2:4]), strict=True):
            pos = (total - 1) * (tenths / 10)  # as rdomain.percentile interpolates
            values.append(float(lo_value + (hi_value - lo_value) * (pos - (total - 1) * tenths // 10)))
        out[str(k)] = (values[0], values[1])
    return out


def median_p90(session: Session, counts) -> tuple[float | None, float | None]:
    """Median and p90 of the multiset given by (v, n) rows (see ranked)."""
    c = counts.subquery()
    return ranked(session, select(literal("").label("k"), c.c.v, c.c.n)).get("", (None, None))


def hours(minutes):
    return None if minutes is None else round(float(minutes) / 60.0, 1)
