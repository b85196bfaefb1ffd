"""Report facts (models.report.ReportFact): checking and rebuilding them.

The database keeps report_facts current with triggers (migration 0008). This module
computes the same rows a second, independent way, with grouped queries over tickets,
ticket_initiatives, ticket_events and ticket_slas, for `swat reports facts --check`
(which must find nothing) and `--rebuild` (after a restore or a manual repair).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Integer, String, and_, case, cast, delete, func, insert, literal, or_, select, text, union_all
from sqlalchemy.orm import Session

from ..domain import states
from ..models import ReportFact, Ticket, TicketEvent, TicketInitiative, TicketSla
from ..models.report import COUNTERS

REOPEN_FROM = (states.RESOLVED, states.CLOSED)
REOPEN_TO = states.OPEN_STATUSES


def tokyo_day(session: Session, column):
    """The Asia/Tokyo calendar day of a stored instant, in SQL."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("Asia/Tokyo", column))
    return func.date(column, "+9 hours")


def exit_at():
    """When a ticket left the backlog: the earlier of its resolution and its closing."""
    return case((Ticket.resolved_at.is_(None), Ticket.closed_at),
                (or_(Ticket.closed_at.is_(None), Ticket.resolved_at <= Ticket.closed_at), Ticket.resolved_at),
                else_=Ticket.closed_at)


def breakdown_key(dimension: str):
    """A ticket's key in one breakdown, as report_facts spells it (initiative needs the
    ticket_initiatives join)."""
    return {"department": Ticket.department_id, "all": literal(""),
            "theme": func.coalesce(Ticket.theme_id, ""), "priority": cast(Ticket.priority, String),
            "member": func.coalesce(cast(Ticket.assignee_id, String), ""),
            "initiative": TicketInitiative.initiative_id}[dimension]


def _dimensions():
    """(dim, key expression, needs the initiative join)."""
    return [(dim, breakdown_key(dim), dim == "initiative")
            for dim in ("all", "theme", "priority", "member", "initiative")]


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _computed_select(session: Session):
    """One SELECT of every fact row: grouped queries per dimension and kind of fact, added up
    by (day, department, dim, key)."""
    fr, res = TicketSla.target == "first_response", TicketSla.target == "resolution"
    met, missed = TicketSla.state == "met", TicketSla.state == "missed"

    def one(x):
        return func.sum(case((x, 1), else_=0))

    def minutes(x):
        return func.sum(case((x, TicketSla.used_minutes), else_=0))

    zero = literal(0)
    parts = []
    for dim, key, via_initiatives in _dimensions():
        def grouped(day_col, values: dict, *where, extra_join=None, dim=dim, key=key, via=via_initiatives):
            day = tokyo_day(session, day_col)
            cols = [values.get(c, zero).label(c) for c in COUNTERS]
            stmt = select(day.label("day"), Ticket.department_id.label("department_id"),
                          literal(dim).label("dim"), func.coalesce(key, "").label("key"), *cols).select_from(Ticket)
            if via:
                stmt = stmt.join(TicketInitiative, TicketInitiative.ticket_id == Ticket.id)
            if extra_join is not None:
                stmt = stmt.join(*extra_join)
            parts.append(stmt.where(day_col.is_not(None), *where).group_by(day, Ticket.department_id, key))

        grouped(Ticket.created_at, {"opened": func.count()})
        grouped(Ticket.resolved_at, {"resolved": func.count()})
        grouped(exit_at(), {"exited": func.count()})
        grouped(TicketEvent.at, {"reopened": func.count()}, TicketEvent.kind == "status",
                TicketEvent.old_value.in_(REOPEN_FROM), TicketEvent.new_value.in_(REOPEN_TO),
                extra_join=(TicketEvent, TicketEvent.ticket_id == Ticket.id))
        grouped(TicketSla.stopped_at, {"fr_met": one(and_(fr, met)), "fr_missed": one(and_(fr, missed)),
                                       "fr_minutes": minutes(fr), "res_met": one(and_(res, met)),
                                       "res_missed": one(and_(res, missed)), "res_minutes": minutes(res)},
                TicketSla.state.in_(("met", "missed")),
                extra_join=(TicketSla, TicketSla.ticket_id == Ticket.id))
    u = union_all(*parts).subquery()
    return (select(u.c.day, u.c.department_id, u.c.dim, u.c.key,
                   *[cast(func.sum(u.c[c]), Integer).label(c) for c in COUNTERS])
            .group_by(u.c.day, u.c.department_id, u.c.dim, u.c.key))


def computed(session: Session) -> dict[tuple, dict[str, int]]:
    """Every non-zero fact row, from grouped queries over the tickets as they stand now."""
    out = {}
    for row in session.execute(_computed_select(session)):
        values = {c: int(v or 0) for c, v in zip(COUNTERS, row[4:], strict=True)}
        if any(values.values()):
            out[(_as_date(row[0]), row[1], row[2], row[3])] = values
    return out


def stored(session: Session) -> dict[tuple, dict[str, int]]:
    rows = session.execute(select(ReportFact.day, ReportFact.department_id, ReportFact.dim, ReportFact.key,
                                  *[getattr(ReportFact, c) for c in COUNTERS]))
    out = {}
    for row in rows:
        values = dict(zip(COUNTERS, row[4:], strict=True))
        if any(values.values()):
            out[(_as_date(row[0]), row[1], row[2], row[3])] = values
    return out


def check(session: Session) -> list[str]:
    """Differences between the stored facts and a fresh computation (empty when they agree)."""
    want, have = computed(session), stored(session)
    problems = []
    for k in sorted(set(want) | set(have), key=str):
        w, h = want.get(k), have.get(k)
        if w != h:
            problems.append(f"{k[0]} {k[1]} {k[2]}={k[3]!r}: stored {h} but the tickets say {w}")
    return problems


def rebuild(session: Session) -> int:
    """Replace every fact row with a fresh computation; returns the number of rows.

    On PostgreSQL the tables the facts come from are locked against writes meanwhile, so
    no change slips between the computation and the replacement."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE tickets, ticket_initiatives, ticket_events, ticket_slas IN SHARE MODE"))
    session.execute(delete(ReportFact))
    stmt = _computed_select(session).subquery()
    session.execute(insert(ReportFact).from_select(
        ["day", "department_id", "dim", "key", *COUNTERS],
        select(*stmt.c).where(or_(*[stmt.c[c] != 0 for c in COUNTERS]))))
    return session.scalar(select(func.count()).select_from(ReportFact)) or 0
