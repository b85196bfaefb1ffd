"""Writers in different departments never share a row of the report sums.

report_months and report_time_buckets are kept per department, as report_facts is: two
transactions of two departments that touch the breakdowns in opposite orders both commit
(on PostgreSQL they run interleaved, each holding its first rows while it writes its second;
on SQLite writers take turns on the database lock anyway).
"""

import threading
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import insert, select, update

from swat.extensions import db
from swat.models import ReportFact, Ticket, TicketSla
from swat.models.report import COUNTERS
from swat.services import report_facts

DEPARTMENTS = ("welfare", "health-medical")


def _run_opposite(engine, steps: dict[str, list]) -> dict[str, str]:
    """Run each department's statements in its own connection and thread; on PostgreSQL
    both first statements are done before either second one starts. Returns how each ended."""
    interleave = engine.dialect.name == "postgresql"
    barrier = threading.Barrier(len(steps), timeout=30)
    ended: dict[str, str] = {}

    def writer(department: str) -> None:
        try:
            with engine.connect() as conn:
                first, *rest = steps[department]
                conn.execute(first)
                if interleave:
                    barrier.wait()
                for stmt in rest:
                    conn.execute(stmt)
                conn.commit()
            ended[department] = "committed"
        except Exception as exc:  # the test reports which writer failed, and how
            if interleave:
                barrier.abort()
            ended[department] = f"{type(exc).__name__}: {exc}"

    threads = [threading.Thread(target=writer, args=(d,)) for d in steps]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return ended


def _fact(department: str, dim: str, key: str):
    return insert(ReportFact).values(
        dim=dim, day=date(2026, 10, 5), department_id=department, key=key, **dict.fromkeys(COUNTERS, 1)
    )


def test_two_departments_writing_facts_in_opposite_orders_both_commit(ctx):
    engine = db.engine
    ended = _run_opposite(
        engine,
        {
            "welfare": [_fact("welfare", "all", ""), _fact("welfare", "theme", "data")],
            "health-medical": [_fact("health-medical", "theme", "data"), _fact("health-medical", "all", "")],
        },
    )
    assert ended == dict.fromkeys(DEPARTMENTS, "committed")
    db.session.rollback()
    facts = report_facts.stored(db.session)
    assert len(facts) == 4
    months = report_facts.stored_months(db.session)
    assert months == report_facts.months_of(facts)
    assert months[("all", "welfare", date(2026, 10, 1), "")]["opened"] == 1
    assert months[("theme", "health-medical", date(2026, 10, 1), "data")]["opened"] == 1


@pytest.fixture
def two_departments_clocks(users):
    """Per department, two stopped resolution clocks in October: 10 and 70 business minutes
    in welfare, 20 and 80 in health-medical (so no two share a per-minute count)."""
    at = datetime(2026, 10, 5, 3, 0, tzinfo=UTC)
    rows = []
    for i, (department, minutes) in enumerate(
        [("welfare", 10), ("welfare", 70), ("health-medical", 20), ("health-medical", 80)], start=1
    ):
        rows.append((i, department, minutes))
        db.session.execute(
            insert(Ticket).values(
                id=i,
                number=f"2026-{i:05d}",
                title="相談",
                body="本文",
                status="resolved",
                priority=2,
                department_id=department,
                requester_id=users["staff_health"].id,
                created_at=at,
                updated_at=at,
                last_activity_at=at,
                resolved_at=at,
            )
        )
        db.session.execute(
            insert(TicketSla).values(
                ticket_id=i,
                target="resolution",
                department_id=department,
                target_minutes=600,
                used_minutes=minutes,
                state="met",
                stopped_at=at,
            )
        )
    db.session.commit()
    return rows


def test_two_departments_stopping_clocks_in_opposite_buckets_both_commit(two_departments_clocks):
    def longer(ticket_id: int):
        return (
            update(TicketSla)
            .where(TicketSla.ticket_id == ticket_id, TicketSla.target == "resolution")
            .values(used_minutes=TicketSla.used_minutes + 1)
        )

    # welfare changes its clock of bucket 0 and then of bucket 1, health-medical the other way round.
    ended = _run_opposite(
        db.engine,
        {"welfare": [longer(1), longer(2)], "health-medical": [longer(4), longer(3)]},
    )
    assert ended == dict.fromkeys(DEPARTMENTS, "committed")
    db.session.rollback()
    used = dict(db.session.execute(select(TicketSla.ticket_id, TicketSla.used_minutes)).all())
    assert used == {1: 11, 2: 71, 3: 21, 4: 81}
    assert report_facts.stored_buckets(db.session) == report_facts.computed_buckets(db.session)
    assert report_facts.check(db.session) == []
