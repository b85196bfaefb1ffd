"""Manager reports: grouped SQL over stored facts.

Counts come from `report_facts` (per-day rows the database keeps current with triggers, see
models/report.py), so a fiscal year over a million tickets sums a few thousand rows. The
time figures are exact percentiles of the business minutes of the stopped SLA clocks: for
whole months desk-wide from the per-month minute counts (report_time_counts), otherwise from
the clocks themselves, ranked in SQL. The live parts (clocks overdue right now, open
tickets by age) read the small set of open tickets. Every figure is scoped by the same
rule as every list: a department head sees their own department only. No report walks
tickets in Python.

Definitions (the tests compute the same figures independently, row by row):
- opened: tickets filed in the period;
- resolved: tickets whose (latest) resolution falls in the period;
- backlog: tickets filed before the period's end and neither resolved nor closed
  before it (as they stand now);
- compliance: of the clocks that ended in the period (met or missed) plus the running
  clocks whose due time fell in the period and has passed, the share met;
- first-response / resolution time: median and 90th percentile of the business
  minutes used by the clocks that ended in the period, in business hours; in breakdowns,
  the mean (total business minutes over clocks ended), which the stored facts add up exactly;
- reopened rate: reopenings in the period over resolutions in the period;
- age: open tickets now, by business days since filing (0-2, 3-5, 6-10, 11-20, 21+).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import BigInteger, ColumnElement, and_, case, cast, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from ..domain import permissions, states
from ..domain import reports as rdomain
from ..domain.tz import TOKYO
from ..models import (
    Department,
    Initiative,
    ReportFact,
    ReportTimeCount,
    Theme,
    Ticket,
    TicketInitiative,
    TicketSla,
    User,
)
from . import report_facts, sla
from .visibility import ticket_scope

DIMENSIONS = ("department", "theme", "priority", "member", "initiative")


@dataclass
class Figures:
    opened: int = 0
    resolved: int = 0
    backlog: int = 0
    fr_met: int = 0
    fr_due: int = 0
    res_met: int = 0
    res_due: int = 0
    fr_median_h: float | None = None
    fr_p90_h: float | None = None
    res_median_h: float | None = None
    res_p90_h: float | None = None
    reopened: int = 0
    ages: dict[str, int] = field(default_factory=dict)

    @staticmethod
    def rate(part: int, whole: int) -> float | None:
        return round(100.0 * part / whole, 1) if whole else None

    @property
    def fr_compliance(self) -> float | None:
        return self.rate(self.fr_met, self.fr_due)

    @property
    def res_compliance(self) -> float | None:
        return self.rate(self.res_met, self.res_due)

    @property
    def reopened_rate(self) -> float | None:
        return self.rate(self.reopened, self.resolved)


MEASURES = ("opened", "resolved", "backlog")
TARGETS = (("first_response", "fr"), ("resolution", "res"))


def measure_clause(measure: str, period: rdomain.Period):
    """The tickets a count stands for: the same predicate the report counts with and
    the drill-down list filters with, so a number and its list always agree."""
    start, end = period.bounds()
    if measure == "opened":
        return and_(Ticket.created_at >= start, Ticket.created_at < end)
    if measure == "resolved":
        return and_(Ticket.resolved_at >= start, Ticket.resolved_at < end)
    if measure == "backlog":
        return and_(
            Ticket.created_at < end,
            or_(Ticket.resolved_at.is_(None), Ticket.resolved_at >= end),
            or_(Ticket.closed_at.is_(None), Ticket.closed_at >= end),
        )
    raise ValueError(measure)


def _fact_sums(period: rdomain.Period):
    """Sums over report_facts: counts in the period, and the backlog at its end (filed
    minus left the backlog, over every day before the end)."""
    s, e = period.start, period.end
    inside = and_(ReportFact.day >= s, ReportFact.day < e)

    def within(col):
        return func.coalesce(func.sum(case((inside, col), else_=0)), 0)

    return [
        within(ReportFact.opened).label("opened"),
        within(ReportFact.resolved).label("resolved"),
        func.coalesce(func.sum(ReportFact.opened - ReportFact.exited), 0).label("backlog"),
        within(ReportFact.reopened).label("reopened"),
        within(ReportFact.fr_met).label("fr_met"),
        within(ReportFact.fr_missed).label("fr_missed"),
        within(ReportFact.fr_minutes).label("fr_minutes"),
        within(ReportFact.res_met).label("res_met"),
        within(ReportFact.res_missed).label("res_missed"),
        within(ReportFact.res_minutes).label("res_minutes"),
    ]


def _fact_scope(actor):
    department = permissions.department_scope(actor)
    return [] if department is None else [ReportFact.department_id == department]


def _overdue_clause(period: rdomain.Period, now: datetime, target: str):
    """Running clocks whose due time fell in the period and has passed: they count as due
    (and not met) in compliance."""
    start, end = period.bounds()
    return and_(
        TicketSla.target == target,
        TicketSla.state == "running",
        TicketSla.due_at >= start,
        TicketSla.due_at < min(end, now),
    )


def _stopped_in(target: str, start: datetime, end: datetime, department: str | None) -> list:
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


def _stopped_minutes(target: str, period: rdomain.Period, department: str | None):
    """(v, n) rows: n clocks of `target` that stopped (met or missed) in the period having
    used v business minutes; a v may repeat. Desk-wide, whole months come from the
    stored counts (report_time_counts) and only the part months at either end from the
    clocks themselves; a department's come from its clocks."""

    def clocks(first: date, after: date):
        start, end = rdomain.Period("range", first, after).bounds()
        return select(TicketSla.used_minutes.label("v"), literal(1).label("n")).where(
            *_stopped_in(target, start, end, department)
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


def _ranked(session: Session, counts) -> dict[str, tuple[float, float]]:
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


def _median_p90(session: Session, counts) -> tuple[float | None, float | None]:
    """Median and p90 of the multiset given by (v, n) rows (see _ranked)."""
    c = counts.subquery()
    return _ranked(session, select(literal("").label("k"), c.c.v, c.c.n)).get("", (None, None))


def _hours(minutes):
    return None if minutes is None else round(float(minutes) / 60.0, 1)


def figures(session: Session, actor, period: rdomain.Period, now: datetime) -> Figures:
    department = permissions.department_scope(actor)
    f = Figures()
    row = (
        session.execute(
            select(*_fact_sums(period)).where(ReportFact.dim == "all", ReportFact.day < period.end, *_fact_scope(actor))
        )
        .one()
        ._mapping
    )
    f.opened, f.resolved, f.backlog, f.reopened = (int(row[k]) for k in ("opened", "resolved", "backlog", "reopened"))
    for target, prefix in TARGETS:
        overdue = select(func.count()).select_from(TicketSla).where(_overdue_clause(period, now, target))
        if department is not None:  # the clock's copy of the ticket's department (see TicketSla)
            overdue = overdue.where(TicketSla.department_id == department)
        met, missed = int(row[f"{prefix}_met"]), int(row[f"{prefix}_missed"])
        setattr(f, f"{prefix}_met", met)
        setattr(f, f"{prefix}_due", met + missed + (session.scalar(overdue) or 0))
        med, p90 = _median_p90(session, _stopped_minutes(target, period, department))
        setattr(f, f"{prefix}_median_h", _hours(med))
        setattr(f, f"{prefix}_p90_h", _hours(p90))
    f.ages = ages(session, actor, now)
    return f


def _business_days_back(cal, now: datetime, days: int) -> datetime:
    """The start of the business day `days` business days before today (Tokyo)."""
    d = now.astimezone(TOKYO).date()
    counted = 0
    while counted < days:
        d -= timedelta(days=1)
        if cal.is_business_day(d):
            counted += 1
    return datetime.combine(d, time(0), TOKYO)


def ages(session: Session, actor, now: datetime, at: datetime | None = None) -> dict[str, int]:
    """Open tickets by business days since filing, with one grouped query: the bucket
    edges are turned into instants first. With `at`, the tickets open at that past instant
    (the backlog rule: filed before it, neither resolved nor closed before it), aged as the
    page would have shown them then; the buckets add up to that backlog."""
    rules = sla.current(session)
    labels = [b[0] for b in rdomain.AGE_BUCKETS]
    if rules is None:
        return dict.fromkeys(labels, 0)
    when = now if at is None else at
    # A ticket filed on or after the start of the business day N days back is at most N days old.
    edges = [(label, _business_days_back(rules.calendar, when, hi)) for label, _lo, hi in rdomain.AGE_BUCKETS if hi]
    bucket = case(*[(Ticket.created_at >= edge, literal(label)) for label, edge in edges], else_=literal(labels[-1]))
    open_then: ColumnElement[bool]
    if at is None:
        open_then = Ticket.status.in_(states.OPEN_STATUSES)
    else:
        open_then = and_(
            Ticket.created_at < at,
            or_(Ticket.resolved_at.is_(None), Ticket.resolved_at >= at),
            or_(Ticket.closed_at.is_(None), Ticket.closed_at >= at),
        )
    rows = session.execute(select(bucket, func.count()).where(ticket_scope(actor), open_then).group_by(bucket)).all()
    out = dict.fromkeys(labels, 0)
    out.update({label: n for label, n in rows})
    return out


def _drill_filter(dimension: str, key) -> dict:
    """Query-string filters of the ticket list for one breakdown row."""
    if dimension == "department":
        return {"department": key}
    if dimension == "theme":
        return {"theme": key or "none"}
    if dimension == "priority":
        return {"priority": states.PRIORITIES[int(key)]}
    if dimension == "member":
        return {"assignee": key or "none"}
    return {"initiative": key}


def _labels(session: Session, dimension: str) -> dict[str, str]:
    if dimension == "department":
        return dict(session.execute(select(Department.id, Department.name)).all())
    if dimension == "theme":
        return dict(session.execute(select(Theme.id, Theme.name)).all())
    if dimension == "member":
        return {str(i): n for i, n in session.execute(select(User.id, User.display_name))}
    if dimension == "initiative":
        return dict(session.execute(select(Initiative.id, Initiative.name)).all())
    return {}


def breakdowns(
    session: Session, actor, period: rdomain.Period, now: datetime, dimensions: tuple[str, ...] = DIMENSIONS
) -> dict[str, list[dict]]:
    """Every figure the stored facts give, per department/theme/urgency/member/initiative:
    two grouped queries over report_facts, plus one small query per dimension for the
    clocks overdue right now. Rows with nothing in the period and no backlog are left out."""
    for dimension in dimensions:
        if dimension not in DIMENSIONS:
            raise ValueError(dimension)
    found: dict[str, dict[str, dict]] = {d: {} for d in dimensions}
    sums = _fact_sums(period)
    queries = []
    if "department" in dimensions:
        queries.append(
            select(literal("department"), ReportFact.department_id, *sums)
            .where(ReportFact.dim == "all", ReportFact.day < period.end, *_fact_scope(actor))
            .group_by(ReportFact.department_id)
        )
    others = [d for d in dimensions if d != "department"]
    if others:
        queries.append(
            select(ReportFact.dim, ReportFact.key, *sums)
            .where(ReportFact.dim.in_(others), ReportFact.day < period.end, *_fact_scope(actor))
            .group_by(ReportFact.dim, ReportFact.key)
        )
    for stmt in queries:
        for row in session.execute(stmt):
            values = {
                k: int(v)
                for k, v in row._mapping.items()
                if k
                in (
                    "opened",
                    "resolved",
                    "backlog",
                    "reopened",
                    "fr_met",
                    "fr_missed",
                    "fr_minutes",
                    "res_met",
                    "res_missed",
                    "res_minutes",
                )
            }
            found[row[0]][row[1]] = values
    for dimension in dimensions:
        key = report_facts.breakdown_key(dimension)
        for target, prefix in TARGETS:
            stmt = select(key, func.count()).select_from(TicketSla).join(Ticket, Ticket.id == TicketSla.ticket_id)
            if dimension == "initiative":
                stmt = stmt.join(TicketInitiative, TicketInitiative.ticket_id == Ticket.id)
            stmt = stmt.where(_overdue_clause(period, now, target), ticket_scope(actor)).group_by(key)
            for k, n in session.execute(stmt):
                entry = found[dimension].get(k)
                if entry is not None:
                    entry[f"{prefix}_overdue"] = n
    out = {}
    for dimension in dimensions:
        labels = _labels(session, dimension)
        rows = []
        for k, v in found[dimension].items():
            if not (
                v["opened"]
                or v["resolved"]
                or v["backlog"]
                or v["fr_met"]
                or v["fr_missed"]
                or v["res_met"]
                or v["res_missed"]
            ):
                continue
            fr_ended, res_ended = v["fr_met"] + v["fr_missed"], v["res_met"] + v["res_missed"]
            fr_due, res_due = fr_ended + v.get("fr_overdue", 0), res_ended + v.get("res_overdue", 0)
            if dimension == "priority":
                label = states.PRIORITIES[int(k)]
            else:
                label = labels.get(k, k) if k else "-"
            rows.append(
                {
                    "key": k,
                    "label": label,
                    "opened": v["opened"],
                    "resolved": v["resolved"],
                    "backlog": v["backlog"],
                    "fr_met": v["fr_met"],
                    "fr_due": fr_due,
                    "fr_compliance": Figures.rate(v["fr_met"], fr_due),
                    "res_met": v["res_met"],
                    "res_due": res_due,
                    "res_compliance": Figures.rate(v["res_met"], res_due),
                    "fr_mean_h": _hours(v["fr_minutes"] / fr_ended) if fr_ended else None,
                    "res_mean_h": _hours(v["res_minutes"] / res_ended) if res_ended else None,
                    "reopened": v["reopened"],
                    "reopened_rate": Figures.rate(v["reopened"], v["resolved"]),
                    "filter": _drill_filter(dimension, k),
                }
            )
        if dimension == "priority":
            rows.sort(key=lambda r: int(r["key"]))
        else:
            rows.sort(key=lambda r: (-r["opened"], -r["backlog"], str(r["label"])))
        out[dimension] = rows
    return out


def time_percentiles(session: Session, actor, period: rdomain.Period, dimension: str) -> dict[str, dict]:
    """Median and p90 first-response and resolution times (business hours) per key of one
    breakdown: the clocks that stopped, met or missed, in the period, ranked by the database
    per key (one statement per target; see _ranked), as for the whole desk's figures. Asked
    for one breakdown at a time: over a year of a large desk this reads every clock that
    stopped in it."""
    if dimension not in DIMENSIONS:
        raise ValueError(dimension)
    start, end = period.bounds()
    department = permissions.department_scope(actor)
    key = TicketSla.department_id if dimension == "department" else report_facts.breakdown_key(dimension)
    out: dict[str, dict] = {}
    for target, prefix in TARGETS:
        stmt = select(func.coalesce(key, "").label("k"), TicketSla.used_minutes.label("v"), literal(1).label("n"))
        if dimension != "department":
            stmt = stmt.join(Ticket, Ticket.id == TicketSla.ticket_id)
        if dimension == "initiative":
            stmt = stmt.join(TicketInitiative, TicketInitiative.ticket_id == Ticket.id)
        stmt = stmt.where(*_stopped_in(target, start, end, department))
        for k, (median, p90) in _ranked(session, stmt).items():
            row = out.setdefault(k, {})
            row[f"{prefix}_median_h"] = _hours(median)
            row[f"{prefix}_p90_h"] = _hours(p90)
    return out


def breakdown(session: Session, actor, period: rdomain.Period, dimension: str, now: datetime) -> list[dict]:
    """One dimension of breakdowns()."""
    return breakdowns(session, actor, period, now, (dimension,))[dimension]


def trend(session: Session, actor, period: rdomain.Period) -> list[dict]:
    """Opened and resolved per week (periods up to 92 days) or per month, with the backlog
    at each step's end: one grouped query over report_facts by day."""
    rows = session.execute(
        select(ReportFact.day, func.sum(ReportFact.opened), func.sum(ReportFact.resolved), func.sum(ReportFact.exited))
        .where(ReportFact.dim == "all", ReportFact.day < period.end, *_fact_scope(actor))
        .group_by(ReportFact.day)
    ).all()
    weekly = period.days <= 92
    steps: list[dict] = []
    backlog = 0
    by_day = {}
    for day, opened, resolved, exited in rows:
        day = day if isinstance(day, date) else date.fromisoformat(str(day))
        if day < period.start:
            backlog += int(opened or 0) - int(exited or 0)
        else:
            by_day[day] = (int(opened or 0), int(resolved or 0), int(exited or 0))
    d = period.start
    while d < period.end:
        if weekly:
            step_end = min(d + timedelta(days=7 - d.weekday()), period.end)
        else:
            step_end = min((d.replace(day=1) + timedelta(days=32)).replace(day=1), period.end)
        opened = resolved = 0
        x = d
        while x < step_end:
            o, r, e = by_day.get(x, (0, 0, 0))
            opened, resolved, backlog = opened + o, resolved + r, backlog + o - e
            x += timedelta(days=1)
        steps.append({"start": d, "end": step_end, "opened": opened, "resolved": resolved, "backlog": backlog})
        d = step_end
    return steps
