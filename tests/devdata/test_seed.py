"""swat seed: bulk consultations whose history, replies and SLA facts hang together."""

from __future__ import annotations

from collections import defaultdict

import pytest
from sqlalchemy import func, select

from swat.devdata.seed import SeedRefused, seed
from swat.domain import states
from swat.extensions import db
from swat.models import Message, SlaEvent, Ticket, TicketCounter, TicketEvent, TicketSla, User
from swat.services import report_facts, search_index
from swat.services.listing import TicketFilters, list_tickets

N = 300


@pytest.fixture
def seeded(ctx, clock):
    report = seed(db.session, clock.now(), ctx.config["SWAT"], N, rng_seed=42, years=2)
    return report


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_counts_and_cast(seeded):
    assert seeded.tickets == N
    assert count(Ticket) == N
    assert count(TicketSla) == 2 * N
    assert count(Message) >= 1
    assert count(TicketEvent) >= N
    assert count(SlaEvent) >= 2 * N
    rows = seeded.rows
    assert rows == sum(count(m) for m in (Ticket, Message, TicketEvent, TicketSla, SlaEvent)) + db.session.scalar(
        select(func.count()).select_from(Ticket.__table__.metadata.tables["ticket_initiatives"])
    )
    roles = dict(
        db.session.execute(
            select(User.role, func.count()).where(User.username.like("seed-%")).group_by(User.role)
        ).all()
    )
    assert roles == {"staff": 60, "agent": 12, "lead": 2, "manager": 2}
    statuses = set(db.session.scalars(select(Ticket.status).distinct()))
    assert {states.CLOSED, states.RESOLVED} <= statuses and statuses & set(states.OPEN_STATUSES)
    assert "seeded 300 tickets" in seeded.summary()


def test_sla_facts_and_times_are_consistent(seeded, clock):
    now = clock.now()
    slas = defaultdict(dict)
    for r in db.session.scalars(select(TicketSla)):
        slas[r.ticket_id][r.target] = r
    first_reply = dict(
        db.session.execute(
            select(Message.ticket_id, func.min(Message.created_at))
            .join(User, User.id == Message.author_id)
            .where(User.role.in_(("agent", "lead")))
            .group_by(Message.ticket_id)
        ).all()
    )
    last_message = dict(
        db.session.execute(select(Message.ticket_id, func.max(Message.created_at)).group_by(Message.ticket_id)).all()
    )
    for t in db.session.scalars(select(Ticket)):
        clocks = slas[t.id]
        assert set(clocks) == {"first_response", "resolution"}
        assert t.version == 1 and t.triage is False and len(t.title) <= 200
        assert t.created_at <= t.last_activity_at <= now
        reply = first_reply.get(t.id)
        if reply is not None:
            assert t.created_at < reply <= t.last_activity_at
            assert clocks["first_response"].state in ("met", "missed")
            assert clocks["first_response"].stopped_at == reply
        if t.id in last_message:
            assert last_message[t.id] <= t.last_activity_at
        if t.status in (states.RESOLVED, states.CLOSED):
            res = clocks["resolution"]
            assert res.state in ("met", "missed") and res.due_at is None and t.sla_due_at is None
            assert res.stopped_at == (t.resolved_at or t.closed_at)
            if t.resolved_at and t.closed_at:
                assert (reply or t.created_at) < t.resolved_at <= t.closed_at
        else:
            assert t.resolved_at is None and t.closed_at is None
            running = [c.due_at for c in clocks.values() if c.state == "running"]
            assert t.sla_due_at == (min(running) if running else None)
            if t.status == states.WAITING:
                assert clocks["resolution"].state == "paused"
            if t.status != states.NEW:
                assert t.assignee_id is not None
    kinds = set(db.session.scalars(select(SlaEvent.kind).distinct()))
    assert {"started", "met", "missed"} <= kinds


def test_staff_see_only_their_department(seeded):
    staff = db.session.scalars(select(User).where(User.username == "seed-staff-welfare-1")).one()
    page = list_tickets(db.session, staff, TicketFilters(per_page=200))
    mine = db.session.scalar(select(func.count()).select_from(Ticket).where(Ticket.department_id == "welfare"))
    assert page.total == mine > 0
    assert {t.department_id for t in page.rows} == {"welfare"}
    head = db.session.scalars(select(User).where(User.username == "seed-manager-health")).one()
    assert {t.department_id for t in list_tickets(db.session, head, TicketFilters(per_page=200)).rows} == {
        "health-medical"
    }
    desk = db.session.scalars(select(User).where(User.username == "seed-manager")).one()
    assert list_tickets(db.session, desk, TicketFilters()).total == N


def test_running_twice_adds_without_collisions(seeded, ctx, clock):
    again = seed(db.session, clock.now(), ctx.config["SWAT"], 50, rng_seed=42, years=1)
    assert again.users_created == 0 and again.tickets == 50
    # The report facts followed both loads (triggers on this path).
    assert report_facts.check(db.session) == []
    assert count(Ticket) == N + 50
    assert db.session.scalar(select(func.count(func.distinct(Ticket.number)))) == N + 50
    # Filing after seeding continues the counter instead of reusing a seeded number.
    counters = dict(db.session.execute(select(TicketCounter.year, TicketCounter.last_number)).all())
    for year, last in counters.items():
        numbers = db.session.scalars(select(Ticket.number).where(Ticket.number.like(f"{year}-%")))
        assert max(int(n.split("-")[1]) for n in numbers) == last


def test_refused_in_production(ctx, clock):
    settings = dict(ctx.config["SWAT"], env="production")
    with pytest.raises(SeedRefused, match="production"):
        seed(db.session, clock.now(), settings, 10, rng_seed=1, years=1)
    assert count(Ticket) == 0 and count(User) == 0


def test_old_consultations_are_settled(seeded, clock):
    """A steady-state desk: what was filed months ago is resolved or closed, bar a few."""
    from datetime import timedelta

    cutoff = clock.now() - timedelta(days=90)
    old = db.session.execute(
        select(Ticket.status, func.count()).where(Ticket.created_at < cutoff).group_by(Ticket.status)
    ).all()
    total = sum(n for _, n in old)
    still_open = sum(n for s, n in old if s in states.OPEN_STATUSES)
    assert total > 100 and still_open <= 0.03 * total
    closed = sum(n for s, n in old if s == states.CLOSED)
    assert closed >= 0.9 * total


def test_bulk_load_with_workers(ctx, clock, monkeypatch):
    """The large-seed path: worker processes, and on PostgreSQL one transaction with the
    indexes and foreign keys rebuilt after; the rows come out the same shape."""
    import swat.devdata.seed as seeding

    monkeypatch.setattr(seeding, "BULK_MIN", 1000)
    postgres = db.session.get_bind().dialect.name == "postgresql"
    report = seed(
        db.session,
        clock.now(),
        ctx.config["SWAT"],
        1200,
        rng_seed=5,
        years=2,
        batch_size=500,
        workers=2 if postgres else 0,
    )
    assert report.tickets == count(Ticket) == 1200 and report.bulk == postgres
    assert count(TicketSla) == 2400
    assert db.session.scalar(select(func.count(func.distinct(Message.id)))) == count(Message)
    replied = set(db.session.scalars(select(TicketEvent.new_value).where(TicketEvent.kind == "replied")))
    assert replied <= {str(i) for i in db.session.scalars(select(Message.id))}
    # With the triggers paused for the bulk load, the facts were rebuilt to match the rows.
    assert report_facts.stored(db.session) and report_facts.check(db.session) == []
    # Every seeded ticket has its search document, as the services would write it.
    assert search_index.check(db.session.connection()).ok
    if postgres:
        from sqlalchemy import text

        names = set(db.session.scalars(text("SELECT indexname FROM pg_indexes WHERE tablename = 'tickets'")))
        assert "ix_tickets_created_at" in names
        names = set(db.session.scalars(text("SELECT indexname FROM pg_indexes WHERE tablename = 'search_documents'")))
        assert {"ix_search_documents_terms", "ix_search_documents_internal_terms"} <= names
        fks = db.session.scalar(
            text("SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND conrelid = 'ticket_events'::regclass")
        )
        assert fks == 2
        # The loaded pages are marked all-visible: index-only scans need not read the table.
        visible, pages = db.session.execute(
            text("SELECT relallvisible, relpages FROM pg_class WHERE oid = 'tickets'::regclass")
        ).one()
        assert pages > 0 and visible == pages


def test_a_bulk_load_whose_vacuum_fails_is_still_reported_done(ctx, clock, monkeypatch):
    """The VACUUM runs after the load's commit: when it cannot run (cancelled, a lock it
    would wait for), the rows stay and the seed says so, instead of failing as if nothing had
    been loaded (run again, it would load as many once more)."""
    from sqlalchemy.exc import OperationalError

    import swat.devdata.seed as seeding
    from swat.devdata import load

    def cancelled(session):
        raise OperationalError("VACUUM", {}, Exception("canceling statement due to lock timeout"))

    monkeypatch.setattr(seeding, "BULK_MIN", 1000)
    monkeypatch.setattr(load, "vacuum_after_load", cancelled)
    postgres = db.session.get_bind().dialect.name == "postgresql"
    report = seed(db.session, clock.now(), ctx.config["SWAT"], 1200, rng_seed=7, years=2, batch_size=500, workers=0)
    assert count(Ticket) == report.tickets == 1200
    if postgres:  # only a bulk load (PostgreSQL) vacuums
        assert "lock timeout" in report.vacuum_error
        assert "VACUUM ANALYZE did not run" in report.summary()
    else:
        assert report.vacuum_error == "" and "warning" not in report.summary()
