"""Report facts (models.report.ReportFact, ReportTimeCount, and their sums ReportMonth and
ReportTimeBucket): checking and rebuilding them.

The database keeps report_facts and report_time_counts current with triggers (migrations
0008 and 0011), the facts' monthly sums with triggers on the facts and the clocks' per-bucket
counts with triggers on the clocks (0014), all per department but report_time_counts. This
module computes the same rows a second, independent way, with grouped
queries over tickets, ticket_initiatives, ticket_events and ticket_slas, for
`swat reports facts --check` (which must find nothing) and `--rebuild` (after a restore, a
bulk load or a manual repair).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import (
    Integer,
    String,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    true,
    union_all,
)
from sqlalchemy.orm import Session

from ..domain import reports as rd
from ..domain.tz import TOKYO
from ..models import (
    ReportFact,
    ReportMonth,
    ReportTimeBucket,
    ReportTimeCount,
    Ticket,
    TicketEvent,
    TicketInitiative,
    TicketSla,
)
from ..models.report import COUNTERS, TIME_BUCKET_MINUTES


def tokyo_day(session: Session, column):
    """The Asia/Tokyo calendar day of a stored instant, in SQL."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone(TOKYO.key, column))
    return func.date(column, "+9 hours")


def tokyo_month(session: Session, column):
    """The first day of the Asia/Tokyo calendar month of a stored instant, in SQL."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.date_trunc("month", func.timezone(TOKYO.key, column)))
    return func.date(column, "+9 hours", "start of month")


def exit_at():
    """When a ticket left the backlog, in SQL: domain.reports.left_backlog_at (the earlier of
    its resolution and its closing, whichever is set)."""
    return case(
        (Ticket.resolved_at.is_(None), Ticket.closed_at),
        (or_(Ticket.closed_at.is_(None), Ticket.resolved_at <= Ticket.closed_at), Ticket.resolved_at),
        else_=Ticket.closed_at,
    )


def breakdown_key(dimension: str):
    """A ticket's key in one breakdown, as report_facts spells it (initiative needs the
    ticket_initiatives join)."""
    return {
        "department": Ticket.department_id,
        "all": literal(""),
        "theme": func.coalesce(Ticket.theme_id, ""),
        "priority": cast(Ticket.priority, String),
        "member": func.coalesce(cast(Ticket.assignee_id, String), ""),
        "initiative": TicketInitiative.initiative_id,
    }[dimension]


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _computed_select(session: Session):
    """One SELECT of every fact row, in one pass: each ticket's contributions (filed,
    resolved, left the backlog, reopened, clocks stopped) are listed once with the day they
    fall on, added up per combination of the ticket's own columns and then under each
    breakdown key of those columns; the initiative keys through the ticket's links."""
    zero = literal(0)
    own = (
        Ticket.id.label("tid"),
        Ticket.department_id.label("department_id"),
        Ticket.theme_id.label("theme_id"),
        Ticket.priority.label("priority"),
        Ticket.assignee_id.label("assignee_id"),
    )

    def part(at, values: dict, *where, via=None):
        stmt = select(*own, tokyo_day(session, at).label("day"), *[values.get(c, zero).label(c) for c in COUNTERS])
        if via is not None:
            stmt = stmt.select_from(via[0]).join(Ticket, Ticket.id == via[1])
        # A duplicate merged into its original is left out: the reports count the original.
        return stmt.where(at.is_not(None), Ticket.merged_into_id.is_(None), *where)

    fr, res = TicketSla.target == "first_response", TicketSla.target == "resolution"
    met, missed = TicketSla.state == "met", TicketSla.state == "missed"

    def one(x):
        return case((x, 1), else_=0)

    def minutes(x):
        return case((x, TicketSla.used_minutes), else_=0)

    c = union_all(
        part(Ticket.created_at, {"opened": literal(1)}),
        part(Ticket.resolved_at, {"resolved": literal(1)}),
        part(exit_at(), {"exited": literal(1)}),  # left the backlog: domain.reports.left_backlog_at
        # Reopenings as domain.reports.is_reopening defines them.
        part(
            TicketEvent.at,
            {"reopened": literal(1)},
            TicketEvent.kind == rd.REOPEN_EVENT_KIND,
            TicketEvent.old_value.in_(rd.REOPENED_FROM),
            TicketEvent.new_value.in_(rd.REOPENED_TO),
            via=(TicketEvent, TicketEvent.ticket_id),
        ),
        part(
            TicketSla.stopped_at,
            {
                "fr_met": one(and_(fr, met)),
                "fr_missed": one(and_(fr, missed)),
                "fr_minutes": minutes(fr),
                "res_met": one(and_(res, met)),
                "res_missed": one(and_(res, missed)),
                "res_minutes": minutes(res),
            },
            TicketSla.state.in_(("met", "missed")),
            via=(TicketSla, TicketSla.ticket_id),
        ),
    ).cte("contributions")
    own_cols = (c.c.day, c.c.department_id, c.c.theme_id, c.c.priority, c.c.assignee_id)
    combo = select(*own_cols, *[func.sum(c.c[k]).label(k) for k in COUNTERS]).group_by(*own_cols).subquery("combo")
    dims = union_all(*[select(literal(d).label("dim")) for d in ("all", "theme", "priority", "member")]).subquery()
    key = case(
        (dims.c.dim == "theme", func.coalesce(combo.c.theme_id, "")),
        (dims.c.dim == "priority", cast(combo.c.priority, String)),
        (dims.c.dim == "member", func.coalesce(cast(combo.c.assignee_id, String), "")),
        else_=literal(""),
    )
    fanned = (
        select(
            combo.c.day,
            combo.c.department_id,
            dims.c.dim,
            key.label("key"),
            *[cast(func.sum(combo.c[k]), Integer).label(k) for k in COUNTERS],
        )
        .select_from(combo)
        .join(dims, true())
        .group_by(combo.c.day, combo.c.department_id, dims.c.dim, key)
    )
    by_initiative = (
        select(
            c.c.day,
            c.c.department_id,
            literal("initiative").label("dim"),
            TicketInitiative.initiative_id.label("key"),
            *[cast(func.sum(c.c[k]), Integer).label(k) for k in COUNTERS],
        )
        .select_from(c)
        .join(TicketInitiative, TicketInitiative.ticket_id == c.c.tid)
        .group_by(c.c.day, c.c.department_id, TicketInitiative.initiative_id)
    )
    return union_all(fanned, by_initiative)


def computed(session: Session) -> dict[tuple, dict[str, int]]:
    """Every non-zero fact row, from grouped queries over the tickets as they stand now."""
    out = {}
    for row in session.execute(_computed_select(session)):
        values = {c: int(v or 0) for c, v in zip(COUNTERS, row[4:], strict=True)}
        if any(values.values()):
            out[(_as_date(row[0]), row[1], row[2], row[3])] = values
    return out


def stored(session: Session) -> dict[tuple, dict[str, int]]:
    rows = session.execute(
        select(
            ReportFact.day,
            ReportFact.department_id,
            ReportFact.dim,
            ReportFact.key,
            *[getattr(ReportFact, c) for c in COUNTERS],
        )
    )
    out = {}
    for row in rows:
        values = dict(zip(COUNTERS, row[4:], strict=True))
        if any(values.values()):
            out[(_as_date(row[0]), row[1], row[2], row[3])] = values
    return out


def _time_counts_select(session: Session):
    """(target, month, minutes, clocks) of every stopped clock, grouped."""
    month = tokyo_month(session, TicketSla.stopped_at)
    return (
        select(TicketSla.target, month.label("month"), TicketSla.used_minutes, func.count().label("clocks"))
        .where(TicketSla.state.in_(("met", "missed")), TicketSla.stopped_at.is_not(None))
        .group_by(TicketSla.target, month, TicketSla.used_minutes)
    )


def computed_time_counts(session: Session) -> dict[tuple, int]:
    return {
        (target, _as_date(month), int(minutes)): int(n)
        for target, month, minutes, n in session.execute(_time_counts_select(session))
    }


def stored_time_counts(session: Session) -> dict[tuple, int]:
    rows = session.execute(
        select(ReportTimeCount.target, ReportTimeCount.month, ReportTimeCount.minutes, ReportTimeCount.clocks).where(
            ReportTimeCount.clocks != 0
        )
    )
    return {(target, _as_date(month), int(minutes)): int(n) for target, month, minutes, n in rows}


def months_of(facts: dict[tuple, dict[str, int]]) -> dict[tuple, dict[str, int]]:
    """report_months as the fact rows given add up: (dim, department, month, key)."""
    out: dict[tuple, dict[str, int]] = {}
    for (day, department, dim, key), values in facts.items():
        row = out.setdefault((dim, department, day.replace(day=1), key), dict.fromkeys(COUNTERS, 0))
        for c in COUNTERS:
            row[c] += values[c]
    return {k: v for k, v in out.items() if any(v.values())}


def stored_months(session: Session) -> dict[tuple, dict[str, int]]:
    cols = [getattr(ReportMonth, c) for c in COUNTERS]
    out = {}
    for row in session.execute(
        select(ReportMonth.dim, ReportMonth.department_id, ReportMonth.month, ReportMonth.key, *cols)
    ):
        values = dict(zip(COUNTERS, row[4:], strict=True))
        if any(values.values()):
            out[(row[0], row[1], _as_date(row[2]), row[3])] = values
    return out


def _time_buckets_select(session: Session):
    """(target, month, department, bucket, clocks) of every stopped clock, grouped."""
    month = tokyo_month(session, TicketSla.stopped_at)
    bucket = TicketSla.used_minutes // TIME_BUCKET_MINUTES
    return (
        select(TicketSla.target, month.label("month"), TicketSla.department_id, bucket.label("bucket"), func.count())
        .where(TicketSla.state.in_(("met", "missed")), TicketSla.stopped_at.is_not(None))
        .group_by(TicketSla.target, month, TicketSla.department_id, bucket)
    )


def computed_buckets(session: Session) -> dict[tuple, int]:
    """report_time_buckets as the clocks add up: (target, month, department, bucket)."""
    return {
        (target, _as_date(month), department, int(b)): int(n)
        for target, month, department, b, n in session.execute(_time_buckets_select(session))
    }


def stored_buckets(session: Session) -> dict[tuple, int]:
    rows = session.execute(
        select(
            ReportTimeBucket.target,
            ReportTimeBucket.month,
            ReportTimeBucket.department_id,
            ReportTimeBucket.bucket,
            ReportTimeBucket.clocks,
        )
    )
    return {(target, _as_date(month), department, int(b)): int(n) for target, month, department, b, n in rows if n}


def check(session: Session) -> list[str]:
    """Differences between the stored facts and a fresh computation (empty when they agree)."""
    want, have = computed(session), stored(session)
    problems = []
    for k in sorted(set(want) | set(have), key=str):
        w, h = want.get(k), have.get(k)
        if w != h:
            problems.append(f"{k[0]} {k[1]} {k[2]}={k[3]!r}: stored {h} but the tickets say {w}")
    want_t, have_t = computed_time_counts(session), stored_time_counts(session)
    for k in sorted(set(want_t) | set(have_t), key=str):
        want_n, have_n = want_t.get(k, 0), have_t.get(k, 0)
        if want_n != have_n:
            problems.append(f"{k[1]:%Y-%m} {k[0]} {k[2]} min: stored {have_n} clocks but the clocks say {want_n}")
    # The monthly sums must add up to the tickets too (not only to the stored rows they sum).
    want_m, have_m = months_of(want), stored_months(session)
    for k in sorted(set(want_m) | set(have_m), key=str):
        if want_m.get(k) != have_m.get(k):
            problems.append(
                f"{k[2]:%Y-%m} {k[1]} {k[0]}={k[3]!r}: monthly sums {have_m.get(k)} but the tickets say {want_m.get(k)}"
            )
    want_b, have_b = computed_buckets(session), stored_buckets(session)
    for k in sorted(set(want_b) | set(have_b), key=str):
        if want_b.get(k, 0) != have_b.get(k, 0):
            lo = k[3] * TIME_BUCKET_MINUTES
            problems.append(
                f"{k[1]:%Y-%m} {k[2]} {k[0]} {lo}-{lo + TIME_BUCKET_MINUTES - 1} min: stored {have_b.get(k, 0)} "
                f"clocks but the clocks say {want_b.get(k, 0)}"
            )
    return problems


def rebuild(session: Session) -> int:
    """Replace every fact row with a fresh computation; returns the number of rows.

    On PostgreSQL the tables the facts come from are locked against writes meanwhile, so
    no change slips between the computation and the replacement."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE tickets, ticket_initiatives, ticket_events, ticket_slas IN SHARE MODE"))
        # The grouping holds a row per (day, department, theme, urgency, assignee) at once:
        # in memory it is twice as fast as spilled to disk (this transaction only).
        session.execute(text("SET LOCAL work_mem = '256MB'"))
    # Triggers on the facts keep their monthly sums (migration 0014): emptying the facts
    # takes them out of the sums, whatever those held, emptying the sums clears any drift,
    # and the fresh facts add themselves back. The buckets follow the clocks, which stay.
    session.execute(delete(ReportFact))
    session.execute(delete(ReportTimeCount))
    session.execute(delete(ReportMonth))
    session.execute(delete(ReportTimeBucket))
    stmt = _computed_select(session).subquery()
    session.execute(
        insert(ReportFact).from_select(
            ["day", "department_id", "dim", "key", *COUNTERS],
            select(*stmt.c).where(or_(*[stmt.c[c] != 0 for c in COUNTERS])),
        )
    )
    session.execute(
        insert(ReportTimeCount).from_select(["target", "month", "minutes", "clocks"], _time_counts_select(session))
    )
    session.execute(
        insert(ReportTimeBucket).from_select(
            ["target", "month", "department_id", "bucket", "clocks"], _time_buckets_select(session)
        )
    )
    return session.scalar(select(func.count()).select_from(ReportFact)) or 0
