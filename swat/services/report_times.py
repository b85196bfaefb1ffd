"""Time figures for the reports: exact median and 90th percentile of the business minutes of
the stopped SLA clocks, ranked by the database (see reports.py for the definitions)."""

from __future__ import annotations

from bisect import bisect_right
from datetime import date, datetime, timedelta
from itertools import accumulate

from sqlalchemy import BigInteger, Select, and_, case, cast, func, literal, literal_column, or_, select, union_all
from sqlalchemy.orm import Session

from ..domain import reports as rdomain
from ..models import ReportTimeBucket, ReportTimeCount, TicketSla
from ..models.report import TIME_BUCKET_MINUTES as WIDTH


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


def _months(first: date, after: date) -> list[date]:
    out, d = [], first
    while d < after:
        out.append(d)
        d = (d + timedelta(days=32)).replace(day=1)
    return out


def _ranks(total: int) -> list[tuple[int, int, int]]:
    """(tenths, lower rank, upper rank) of the median and the p90 of `total` values: the
    0-based ranks either side of (total - 1) x p, in integers (see ranked)."""
    last = total - 1
    return [(tenths, (last * tenths) // 10, (last * tenths + 9) // 10) for tenths in (5, 9)]


def _interpolate(total: int, tenths: int, lo_value: int, hi_value: int) -> float:
    pos = (total - 1) * (tenths / 10)  # as rdomain.percentile interpolates
    return float(lo_value + (hi_value - lo_value) * (pos - (total - 1) * tenths // 10))


def _stopped(targets: tuple[str, ...], start: datetime, end: datetime) -> list:
    """stopped_in() for several targets at once, desk-wide."""
    return [
        TicketSla.target.in_(targets),
        TicketSla.stopped_at >= start,
        TicketSla.stopped_at < end,
        TicketSla.state.in_(("met", "missed")),
    ]


def desk_times(
    session: Session, period: rdomain.Period, targets: tuple[str, ...]
) -> dict[str, tuple[float | None, float | None]]:
    """The desk-wide median and p90 of each target for the period (see desk_times_of)."""
    return desk_times_of(session, (period,), targets)[0]


def _in_months(col, first: date, after: date, lo: date, hi: date) -> list:
    """col in [first, after), leaving out a bound the read's own range [lo, hi) implies."""
    return ([col >= first] if first > lo else []) + ([col < after] if after < hi else [])


def desk_times_of(
    session: Session, periods: tuple[rdomain.Period, ...], targets: tuple[str, ...]
) -> list[dict[str, tuple[float | None, float | None]]]:
    """The desk-wide median and p90 of each target for each period (a year and the one
    before it), exact, in two short reads for all of them: per bucket of 64 business minutes
    (report_time_buckets for the whole months, the clocks of any part month), which bucket
    holds each wanted rank; then the exact minutes of those buckets only
    (report_time_counts for the whole months, one index range per month and bucket). The
    buckets are read once for every period, in their key's order (target, bucket, month),
    each period's months added up in a column of its own. A period with no whole month
    ranks its clocks."""
    out: list[dict[str, tuple[float | None, float | None]]] = [{} for _ in periods]
    spans = []  # (index, first whole month, month after the last, part ranges)
    for i, period in enumerate(periods):
        months = rdomain.whole_months(period.start, period.end)
        if months is None:
            out[i] = {t: median_p90(session, stopped_minutes(t, period, None)) for t in targets}
            continue
        first, after = months
        parts = []
        if period.start < first:
            parts.append(rdomain.Period("range", period.start, first).bounds())
        if after < period.end:
            parts.append(rdomain.Period("range", after, period.end).bounds())
        spans.append((i, first, after, parts))
    if not spans:
        return out
    lo, hi = min(s[1] for s in spans), max(s[2] for s in spans)
    names = [f"n{i}" for i, *_ in spans]
    month = ReportTimeBucket.month
    ordered = sorted((first, after) for _, first, after, _ in spans)
    # Periods side by side with no part month (a year and the one before it): the read's
    # whole range is theirs, so the last one's count is the whole count less the others'.
    rest = (
        len(spans) - 1
        if len(spans) > 1
        and not any(parts for *_, parts in spans)
        and all(a == b for (_, a), (b, _) in zip(ordered, ordered[1:], strict=False))
        else None
    )
    per_period = [
        func.sum(case((and_(*cond), ReportTimeBucket.clocks), else_=0))
        if cond and j != rest
        else func.sum(ReportTimeBucket.clocks)
        for j, cond in enumerate(_in_months(month, first, after, lo, hi) for _, first, after, _ in spans)
    ]
    coarse: list[Select] = [
        select(
            ReportTimeBucket.target.label("t"),
            ReportTimeBucket.bucket.label("b"),
            *[c.label(n) for c, n in zip(per_period, names, strict=True)],
        )
        .where(ReportTimeBucket.target.in_(targets), month >= lo, month < hi)
        .group_by(ReportTimeBucket.target, ReportTimeBucket.bucket)
    ]
    for j, (_, _, _, parts) in enumerate(spans):
        for start, end in parts:
            coarse.append(
                select(
                    TicketSla.target.label("t"),
                    (TicketSla.used_minutes // WIDTH).label("b"),
                    *[literal_column("1" if k == j else "0").label(n) for k, n in enumerate(names)],
                ).where(*_stopped(targets, start, end))
            )
    if len(coarse) > 1:
        c = union_all(*coarse).subquery()
        coarse_stmt = select(c.c.t, c.c.b, *[func.sum(c.c[n]) for n in names]).group_by(c.c.t, c.c.b)
    else:
        coarse_stmt = coarse[0]
    buckets: list[dict[str, list[tuple[int, int]]]] = [{t: [] for t in targets} for _ in spans]
    for t, b, *ns in session.execute(coarse_stmt):
        if rest is not None:
            ns[rest] -= sum(n for j, n in enumerate(ns) if j != rest)
        for j, n in enumerate(ns):
            if n:
                buckets[j][t].append((int(b), int(n)))

    # Per period and target, each wanted rank's bucket and how many values lie below it.
    wanted: list[dict[tuple[str, int], tuple[int, int]]] = []
    totals: list[dict[str, int]] = []
    for j in range(len(spans)):
        wanted.append({})
        totals.append({})
        for t, rows in buckets[j].items():
            rows.sort()
            cum = list(accumulate(n for _, n in rows))  # values up to and including each bucket
            totals[j][t] = total = cum[-1] if cum else 0
            if not total:
                continue
            for _, lo_rank, hi_rank in _ranks(total):
                for r in (lo_rank, hi_rank):
                    i = bisect_right(cum, r)  # the first bucket whose values reach past rank r
                    wanted[j][(t, r)] = (rows[i][0], cum[i] - rows[i][1])

    def minutes_in(col, b: int):
        return and_(col >= b * WIDTH, col < (b + 1) * WIDTH)

    # One index range per bucket (and month): an OR of ranges would read whole months.
    fine: list[Select] = []
    for j, (_, first, after, parts) in enumerate(spans):
        chosen = sorted({(t, b) for (t, _), (b, _) in wanted[j].items()})
        month_list = _months(first, after)
        for t, b in chosen:
            fine.append(
                select(
                    literal_column(str(j)).label("p"),
                    ReportTimeCount.target.label("t"),
                    ReportTimeCount.minutes.label("v"),
                    ReportTimeCount.clocks.label("n"),
                ).where(
                    ReportTimeCount.target == t,
                    ReportTimeCount.month.in_(month_list),
                    minutes_in(ReportTimeCount.minutes, b),
                    ReportTimeCount.clocks != 0,
                )
            )
        for start, end in parts if chosen else ():
            fine.append(
                select(
                    literal_column(str(j)).label("p"),
                    TicketSla.target.label("t"),
                    TicketSla.used_minutes.label("v"),
                    literal_column("1").label("n"),
                ).where(
                    *_stopped(targets, start, end),
                    or_(*[and_(TicketSla.target == t, minutes_in(TicketSla.used_minutes, b)) for t, b in chosen]),
                )
            )
    values: list[dict[str, list[tuple[int, int]]]] = [{t: [] for t in targets} for _ in spans]
    if fine:
        f = (union_all(*fine) if len(fine) > 1 else fine[0]).subquery()
        stmt = select(f.c.p, f.c.t, f.c.v, func.sum(f.c.n)).group_by(f.c.p, f.c.t, f.c.v)
        for j, t, v, n in session.execute(stmt):
            if n:
                values[int(j)][t].append((int(v), int(n)))

    def value_at(j: int, t: str, rank: int) -> int:
        bucket, below = wanted[j][(t, rank)]
        for v, n in sorted(values[j][t]):
            if v // WIDTH != bucket:
                continue
            below += n
            if below > rank:
                return v
        raise AssertionError("the minute counts disagree with their buckets")

    for j, (i, *_) in enumerate(spans):
        for t in targets:
            total = totals[j][t]
            if not total:
                out[i][t] = (None, None)
                continue
            med, p90 = (
                _interpolate(total, tenths, value_at(j, t, lo_rank), value_at(j, t, hi_rank))
                for tenths, lo_rank, hi_rank in _ranks(total)
            )
            out[i][t] = (med, p90)
    return out


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
        values = [
            _interpolate(total, tenths, lo_value, hi_value)
            for tenths, (lo_value, hi_value) in zip((5, 9), (ends[0:2], ends[2:4]), strict=True)
        ]
        out[str(k)] = (values[0], values[1])
    return out


def median_p90(session: Session, counts) -> tuple[float | None, float | None]:
    """Median and p90 of the multiset given by (v, n) rows (see ranked)."""
    c = counts.subquery()
    return ranked(session, select(literal("").label("k"), c.c.v, c.c.n)).get("", (None, None))


def hours(minutes):
    return None if minutes is None else round(float(minutes) / 60.0, 1)
