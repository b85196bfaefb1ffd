"""Manager reports: grouped SQL over stored facts.

Counts come from `report_facts` (per-day rows the database keeps current with triggers, see
models/report.py) and their monthly sums `report_months` (report_sums.py), so a fiscal
year over a million tickets sums a few thousand rows. The
time figures are exact percentiles of the business minutes of the stopped SLA clocks: for
whole months desk-wide from the per-month minute counts (report_time_counts), otherwise from
the clocks themselves, ranked in SQL. The live parts (clocks overdue right now, open
tickets by age) read the small set of open tickets. Every figure is scoped by the same
rule as every list: a department head sees their own department only. No report walks
tickets in Python.

This module has the period's figures, the ages and the trend, and the clauses they share;
report_breakdowns.py splits the figures by department, theme, urgency, member or
initiative, and report_times.py ranks the clocks' minutes for the median and p90.

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

from sqlalchemy import (
    Boolean,
    ColumnElement,
    FunctionElement,
    String,
    and_,
    bindparam,
    case,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session

from ..domain import permissions, states
from ..domain import reports as rdomain
from ..domain.tz import TOKYO
from ..models import Ticket, TicketInitiative, TicketSla
from ..models.ticket import backlog_span
from . import report_facts, report_sums, sla
from .report_times import desk_times_of, hours, median_p90, stopped_minutes
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
TARGET_NAMES = tuple(target for target, _ in TARGETS)


def measure_clause(measure: str, period: rdomain.Period):
    """The tickets a count stands for: the same predicate the report counts with and
    the drill-down list filters with, so a number and its list always agree. A duplicate
    merged into its original is in neither (the facts leave it out: migration 0021)."""
    start, end = period.bounds()
    counted = Ticket.merged_into_id.is_(None)
    if measure == "opened":
        return and_(Ticket.created_at >= start, Ticket.created_at < end, counted)
    if measure == "resolved":
        return and_(Ticket.resolved_at >= start, Ticket.resolved_at < end, counted)
    if measure == "backlog":
        return and_(in_backlog_at(end), counted)
    raise ValueError(measure)


class _InBacklogAt(FunctionElement):
    """See in_backlog_at: one predicate, spelled for each engine's index."""

    type = Boolean()
    inherit_cache = True
    name = "in_backlog_at"


@compiles(_InBacklogAt)
def _in_backlog_at(element, compiler, **kw):
    (at,) = element.clauses
    return compiler.process(
        and_(Ticket.created_at < at, or_(Ticket.left_backlog_at.is_(None), Ticket.left_backlog_at >= at)), **kw
    )


@compiles(_InBacklogAt, "postgresql")
def _in_backlog_span(element, compiler, **kw):
    (at,) = element.clauses
    return compiler.process(backlog_span(Ticket.created_at, Ticket.left_backlog_at).op("@>")(at), **kw)


def in_backlog_at(at: datetime) -> ColumnElement[bool]:
    """The backlog at an instant: filed before it and not out of the backlog before it
    (domain.reports.left_backlog_at, stored as Ticket.left_backlog_at). On PostgreSQL the
    same set as containment in the span (filed, left] that its GiST index holds (see
    models.ticket.backlog_span); elsewhere the two ranges, on a B-tree."""
    return _InBacklogAt(bindparam(None, at, type_=Ticket.created_at.type))


def fact_department(actor) -> str | None:
    """The one department whose facts the actor's report adds up, or None for the whole desk."""
    return permissions.department_scope(actor)


def overdue_clause(period: rdomain.Period, now: datetime, targets: tuple[str, ...] = TARGET_NAMES):
    """Running clocks (of these targets) whose due time fell in the period and has passed:
    they count as due (and not met) in compliance."""
    start, end = period.bounds()
    return and_(
        TicketSla.target.in_(targets),
        TicketSla.state == "running",
        TicketSla.due_at >= start,
        TicketSla.due_at < min(end, now),
    )


@dataclass
class Overdue:
    """The running clocks whose due time fell in the period and has passed (overdue_clause):
    how many per target, and per target under each key of each breakdown read."""

    total: dict[str, int] = field(default_factory=dict)
    by: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)  # dimension, key, target


def overdue_now(
    session: Session, actor, period: rdomain.Period, now: datetime, dimensions: tuple[str, ...] = DIMENSIONS
) -> Overdue:
    """The clocks overdue right now in the period, in one statement: they are found once with
    their tickets' keys (scoped by the clock's copy of the ticket's department, as
    reports.figures scopes them), then counted per target, per target and key of each
    breakdown, and for the initiatives through the ticket's links. The totals per target are
    the ones the period's figures need (figures() reads them here; with no breakdowns, the
    totals alone)."""
    department = fact_department(actor)
    own = [d for d in dimensions if d != "initiative"]
    clocks = select(
        TicketSla.target.label("target"),
        TicketSla.ticket_id.label("ticket_id"),
        *[report_facts.breakdown_key(d).label(d) for d in own],
    ).where(overdue_clause(period, now))
    if own:
        clocks = clocks.join(Ticket, Ticket.id == TicketSla.ticket_id)
    if department is not None:
        clocks = clocks.where(TicketSla.department_id == department)
    found = clocks.cte("overdue")  # read by every branch below: computed once
    branches = [
        select(found.c.target, literal(""), literal("", String), func.count()).group_by(found.c.target),
        *[
            select(found.c.target, literal(d), found.c[d], func.count()).group_by(found.c.target, found.c[d])
            for d in own
        ],
    ]
    if "initiative" in dimensions:
        branches.append(
            select(found.c.target, literal("initiative"), TicketInitiative.initiative_id, func.count())
            .select_from(found.join(TicketInitiative, TicketInitiative.ticket_id == found.c.ticket_id))
            .group_by(found.c.target, TicketInitiative.initiative_id)
        )
    out = Overdue(by={d: {} for d in dimensions})
    for target, dimension, k, n in session.execute(union_all(*branches)):
        if dimension:
            out.by[dimension].setdefault(k, {})[target] = n
        else:
            out.total[target] = n
    return out


def figures(
    session: Session,
    actor,
    period: rdomain.Period,
    now: datetime,
    with_ages: bool = True,
    times: dict[str, tuple[float | None, float | None]] | None = None,
    overdue: dict[str, int] | None = None,
) -> Figures:
    """The period's figures (and, with_ages, the open consultations by age now). times: the
    desk's median and p90 per target for the period, when already read (desk_times_of);
    overdue: the clocks overdue now per target, when already counted for the same actor
    and period (overdue_now)."""
    department = permissions.department_scope(actor)
    f = Figures()
    row = session.execute(report_sums.totals(period, ("all",), department)).one()._mapping
    f.opened, f.resolved, f.backlog, f.reopened = (int(row[k]) for k in ("opened", "resolved", "backlog", "reopened"))
    if department is not None:
        times = {}
    elif times is None:
        times = desk_times_of(session, (period,), TARGET_NAMES)[0]
    if overdue is None:
        overdue = overdue_now(session, actor, period, now, ()).total
    for target, prefix in TARGETS:
        met, missed = int(row[f"{prefix}_met"]), int(row[f"{prefix}_missed"])
        setattr(f, f"{prefix}_met", met)
        setattr(f, f"{prefix}_due", met + missed + overdue.get(target, 0))
        if department is None:
            med, p90 = times[target]
        else:
            med, p90 = median_p90(session, stopped_minutes(target, period, department))
        setattr(f, f"{prefix}_median_h", hours(med))
        setattr(f, f"{prefix}_p90_h", hours(p90))
    if with_ages:
        f.ages = ages(session, actor, now)
    return f


def figures_beside(
    session: Session, actor, period: rdomain.Period, now: datetime, overdue: dict[str, int] | None = None
) -> tuple[Figures, Figures]:
    """The period's figures (with the ages) and the previous period's (without): the desk's
    times of both read together (report_times.desk_times_of). overdue: as for figures(), of
    the period."""
    times: list = [None, None]
    previous = period.previous()
    if permissions.department_scope(actor) is None:
        times = desk_times_of(session, (period, previous), TARGET_NAMES)
    return (
        figures(session, actor, period, now, times=times[0], overdue=overdue),
        figures(session, actor, previous, now, with_ages=False, times=times[1]),
    )


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
        open_then = and_(in_backlog_at(at), Ticket.merged_into_id.is_(None))  # as the facts count it
    rows = session.execute(select(bucket, func.count()).where(ticket_scope(actor), open_then).group_by(bucket)).all()
    out = dict.fromkeys(labels, 0)
    out.update({label: n for label, n in rows})
    return out


def trend(session: Session, actor, period: rdomain.Period, now: datetime) -> list[dict]:
    """Opened and resolved per week (periods up to 92 days) or per month, with the backlog
    at each step's end: one grouped query over the stored facts (whole months of a monthly
    trend as month rows, dated on their first day; a weekly trend's days as days).

    The trend stops at today (Tokyo): a period in progress ends with the step that holds
    today, cut at the end of today, and a period that has not begun has no steps. Days to
    come have no filings yet, and a backlog drawn flat across them would read as a forecast."""
    weekly = period.days <= 92
    period = rdomain.Period("range", period.start, min(period.end, now.astimezone(TOKYO).date() + timedelta(days=1)))
    if period.end <= period.start:
        return []
    facts = report_sums.source(period, ("all",), fact_department(actor), months_inside=not weekly)
    rows = session.execute(
        select(facts.c.day, func.sum(facts.c.opened), func.sum(facts.c.resolved), func.sum(facts.c.exited)).group_by(
            facts.c.day
        )
    ).all()
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
