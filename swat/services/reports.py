"""Manager reports: grouped SQL over stored facts (tickets, ticket_slas, ticket_events).

No report walks tickets in Python: every figure is an aggregate query, filtered
by the same visibility rule as every list (a department head sees their own
department only). Durations are the business minutes the SLA clocks stored.

Definitions (the tests compute the same figures independently):
- opened: tickets filed in the period;
- resolved: tickets whose (latest) resolution falls in the period;
- backlog: tickets filed before the period's end and neither resolved nor closed
  before it (as they stand now);
- compliance: of the clocks that ended in the period (met or missed) plus the running
  clocks whose due time fell in the period and has passed, the share met;
- first-response / resolution time: median and 90th percentile of the business
  minutes used by the clocks that ended in the period, in business hours;
- reopened rate: tickets reopened in the period over tickets resolved in it;
- age: open tickets now, by business days since filing (0-2, 3-5, 6-10, 11-20, 21+).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

from ..domain import reports as rdomain
from ..domain import states
from ..models import Department, Theme, Ticket, TicketEvent, TicketInitiative, TicketSla, User
from . import sla
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


def measure_clause(measure: str, period: rdomain.Period):
    """The tickets a count stands for: the same predicate the report counts with and
    the drill-down list filters with, so a number and its list always agree."""
    start, end = period.bounds()
    if measure == "opened":
        return and_(Ticket.created_at >= start, Ticket.created_at < end)
    if measure == "resolved":
        return and_(Ticket.resolved_at >= start, Ticket.resolved_at < end)
    if measure == "backlog":
        return and_(Ticket.created_at < end, or_(Ticket.resolved_at.is_(None), Ticket.resolved_at >= end),
                    or_(Ticket.closed_at.is_(None), Ticket.closed_at >= end))
    raise ValueError(measure)


def _percentiles(session: Session, base, column) -> tuple[float | None, float | None]:
    """Median and p90 of a column, on the server (percentile_cont on PostgreSQL,
    ordered offsets elsewhere)."""
    sub = base.subquery()
    col = sub.c[column.key]
    if session.get_bind().dialect.name == "postgresql":
        row = session.execute(select(
            func.percentile_cont(0.5).within_group(col), func.percentile_cont(0.9).within_group(col)
        ).select_from(sub)).one()
        return row[0], row[1]
    n = session.scalar(select(func.count()).select_from(sub)) or 0
    if not n:
        return None, None
    out = []
    for p in (0.5, 0.9):
        pos = (n - 1) * p
        lo = int(pos)
        vals = list(session.scalars(select(col).order_by(col).offset(lo).limit(2)))
        hi_val = vals[1] if len(vals) > 1 and pos > lo else vals[0]
        out.append(vals[0] + (hi_val - vals[0]) * (pos - lo))
    return out[0], out[1]


def _hours(minutes):
    return None if minutes is None else round(float(minutes) / 60.0, 1)


def figures(session: Session, actor, period: rdomain.Period, now: datetime) -> Figures:
    start, end = period.bounds()
    visible = ticket_scope(actor)
    f = Figures()
    for measure in MEASURES:
        setattr(f, measure, session.scalar(select(func.count()).select_from(Ticket).where(
            visible, measure_clause(measure, period))) or 0)
    horizon = min(end, now)
    for target, met_attr, due_attr, med_attr, p90_attr in (
        ("first_response", "fr_met", "fr_due", "fr_median_h", "fr_p90_h"),
        ("resolution", "res_met", "res_due", "res_median_h", "res_p90_h"),
    ):
        ended = and_(TicketSla.target == target, TicketSla.state.in_(("met", "missed")),
                     TicketSla.stopped_at >= start, TicketSla.stopped_at < end)
        overdue = and_(TicketSla.target == target, TicketSla.state == "running",
                       TicketSla.due_at >= start, TicketSla.due_at < horizon)
        row = session.execute(
            select(func.count(), func.sum(case((TicketSla.state == "met", 1), else_=0)))
            .select_from(TicketSla).join(Ticket, Ticket.id == TicketSla.ticket_id)
            .where(visible, or_(ended, overdue))
        ).one()
        setattr(f, due_attr, row[0] or 0)
        setattr(f, met_attr, int(row[1] or 0))
        base = (select(TicketSla.used_minutes).join(Ticket, Ticket.id == TicketSla.ticket_id)
                .where(visible, ended))
        med, p90 = _percentiles(session, base, TicketSla.used_minutes)
        setattr(f, med_attr, _hours(med))
        setattr(f, p90_attr, _hours(p90))
    f.reopened = session.scalar(
        select(func.count(func.distinct(TicketEvent.ticket_id))).select_from(TicketEvent)
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .where(visible, TicketEvent.kind == "status", TicketEvent.old_value.in_((states.RESOLVED, states.CLOSED)),
               TicketEvent.new_value.in_((states.IN_PROGRESS, states.NEW)),
               TicketEvent.at >= start, TicketEvent.at < end)) or 0
    f.ages = ages(session, actor, now)
    return f


def _business_days_back(cal, now: datetime, days: int) -> datetime:
    """The start of the business day `days` business days before today (Tokyo)."""
    d = now.astimezone(rdomain.TOKYO).date()
    counted = 0
    while counted < days:
        d -= timedelta(days=1)
        if cal.is_business_day(d):
            counted += 1
    return datetime.combine(d, time(0), rdomain.TOKYO)


def ages(session: Session, actor, now: datetime) -> dict[str, int]:
    """Open tickets by business days since filing, with one grouped query: the bucket
    edges are turned into instants first."""
    rules = sla.current(session)
    labels = [b[0] for b in rdomain.AGE_BUCKETS]
    if rules is None:
        return dict.fromkeys(labels, 0)
    # A ticket filed on or after the start of the business day N days back is at most N days old.
    edges = [(label, _business_days_back(rules.calendar, now, hi)) for label, _lo, hi in rdomain.AGE_BUCKETS if hi]
    bucket = case(*[(Ticket.created_at >= edge, literal(label)) for label, edge in edges],
                  else_=literal(labels[-1]))
    rows = session.execute(select(bucket, func.count()).where(
        ticket_scope(actor), Ticket.status.in_(states.OPEN_STATUSES)).group_by(bucket)).all()
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
        return {"priority": states.PRIORITIES[key]}
    if dimension == "member":
        return {"assignee": str(key) if key else "none"}
    return {"initiative": key or "none"}


def breakdown(session: Session, actor, period: rdomain.Period, dimension: str, now: datetime) -> list[dict]:
    """Opened, resolved and backlog per department/theme/priority/member/initiative,
    each one grouped query; the same definitions as figures()."""
    if dimension not in DIMENSIONS:
        raise ValueError(dimension)
    start, end = period.bounds()
    visible = ticket_scope(actor)
    if dimension == "department":
        key, label_q = Ticket.department_id, select(Department.id, Department.name)
    elif dimension == "theme":
        key, label_q = func.coalesce(Ticket.theme_id, ""), select(Theme.id, Theme.name)
    elif dimension == "priority":
        key, label_q = Ticket.priority, None
    elif dimension == "member":
        key, label_q = func.coalesce(Ticket.assignee_id, 0), select(User.id, User.display_name)
    else:
        key, label_q = func.coalesce(TicketInitiative.initiative_id, ""), None
    opened, resolved, backlog = (case((measure_clause(m, period), 1), else_=0) for m in MEASURES)
    stmt = select(key.label("k"), func.sum(opened), func.sum(resolved), func.sum(backlog)).select_from(Ticket)
    if dimension == "initiative":
        stmt = stmt.outerjoin(TicketInitiative, TicketInitiative.ticket_id == Ticket.id)
    stmt = stmt.where(visible, Ticket.created_at < end).group_by(key)
    rows = session.execute(stmt).all()
    labels = dict(session.execute(label_q).all()) if label_q is not None else {}
    out = []
    for k, o, r, b in rows:
        if not (o or r or b):
            continue
        if dimension == "priority":
            name = states.PRIORITIES[k]
        elif dimension == "initiative":
            name = k or "-"
        else:
            name = labels.get(k, "-") if k not in ("", 0) else "-"
        out.append({"key": k, "label": name, "opened": int(o or 0), "resolved": int(r or 0),
                    "backlog": int(b or 0), "filter": _drill_filter(dimension, k)})
    out.sort(key=lambda row: (-row["opened"], str(row["label"])))
    return out
