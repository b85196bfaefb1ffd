"""The SLA clock on real consultations: started, met, paused, resumed, recomputed, logged."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from swat.extensions import db
from swat.models import SlaEvent, TicketSla
from swat.services import tickets

JST = ZoneInfo("Asia/Tokyo")


def at(text):
    return datetime.fromisoformat(text).replace(tzinfo=JST)


def clocks(ticket):
    db.session.expire_all()
    return {r.target: r for r in db.session.scalars(select(TicketSla).where(TicketSla.ticket_id == ticket.id))}


def log(ticket):
    return [
        (e.target, e.kind, e.used_minutes)
        for e in db.session.scalars(select(SlaEvent).where(SlaEvent.ticket_id == ticket.id).order_by(SlaEvent.id))
    ]


@pytest.fixture
def run(users, clock, store, limits):
    def step(when, fn, actor, *args):
        """Do `fn` as `actor` at `when` (Tokyo time) and commit."""
        clock.set(at(when))
        result = fn(db.session, actor, clock.now(), *args)
        db.session.commit()
        return result

    return step


def test_a_consultations_clock_from_filing_to_reopening(make_ticket, users, clock, run, store, limits):
    clock.set(at("2026-11-25T10:00"))
    t = make_ticket(priority="normal")
    c = clocks(t)
    assert c["first_response"].due_at == at("2026-11-26T10:00")  # 525 business minutes
    assert c["resolution"].due_at == at("2026-12-02T10:00")  # 5 business days
    assert t.sla_due_at == at("2026-11-26T10:00")
    run("2026-11-25T10:30", tickets.claim_ticket, users["agent"], t)
    run("2026-11-25T11:00", tickets.add_reply, users["agent"], t, "回答します", [], store, limits)
    c = clocks(t)
    assert (c["first_response"].state, c["first_response"].used_minutes) == ("met", 60)
    run("2026-11-25T11:30", tickets.change_status, users["agent"], t, "in_progress")
    run("2026-11-25T12:00", tickets.change_status, users["agent"], t, "waiting")
    c = clocks(t)
    assert (c["resolution"].state, c["resolution"].used_minutes, c["resolution"].due_at) == ("paused", 120, None)
    assert t.sla_due_at is None  # nothing runs while the desk waits
    # two days later the requester answers: the clock resumes where it stopped
    run("2026-11-27T10:00", tickets.add_reply, users["staff_health"], t, "回答です", [], store, limits)
    c = clocks(t)
    assert c["resolution"].state == "running" and c["resolution"].due_at == at("2026-12-03T16:45")
    # urgent now: the target is recomputed from the start; the 180 minutes used count
    run("2026-11-27T11:00", tickets.change_priority, users["agent"], t, "urgent")
    c = clocks(t)
    assert (c["resolution"].target_minutes, c["resolution"].due_at) == (525, at("2026-11-27T16:45"))
    run("2026-11-27T12:00", tickets.change_status, users["agent"], t, "resolved")
    c = clocks(t)
    assert (c["resolution"].state, c["resolution"].used_minutes) == ("met", 240)
    run("2026-11-30T09:00", tickets.reopen_ticket, users["staff_health"], t)
    c = clocks(t)
    assert c["resolution"].state == "running" and c["resolution"].due_at == at("2026-11-30T13:45")
    assert c["first_response"].state == "met"  # answered once is answered
    assert log(t) == [
        ("first_response", "started", 0),
        ("resolution", "started", 0),
        ("first_response", "met", 60),
        ("resolution", "paused", 120),
        ("resolution", "resumed", 120),
        ("resolution", "target_changed", 180),
        ("resolution", "met", 240),
        ("resolution", "resumed", 240),
    ]


def test_late_answers_are_recorded_as_missed(make_ticket, users, clock, run, store, limits):
    clock.set(at("2026-11-25T10:00"))
    t = make_ticket(priority="urgent")  # first response within 60 business minutes
    run("2026-11-25T11:30", tickets.claim_ticket, users["agent"], t)
    run("2026-11-25T11:31", tickets.add_reply, users["agent"], t, "遅くなりました", [], store, limits)
    assert (clocks(t)["first_response"].state, clocks(t)["first_response"].used_minutes) == ("missed", 91)


def test_business_time_skips_nights_weekends_and_holidays(make_ticket, users, clock, run, store, limits):
    clock.set(at("2026-09-18T17:15"))  # a Friday before the September holidays
    t = make_ticket(priority="urgent")
    assert clocks(t)["first_response"].due_at == at("2026-09-24T09:30")


def test_internal_notes_do_not_count_as_a_response(make_ticket, users, clock, run, store, limits):
    clock.set(at("2026-11-25T10:00"))
    t = make_ticket()
    run("2026-11-25T10:10", tickets.add_internal_note, users["agent"], t, "メモ", [], store, limits)
    assert clocks(t)["first_response"].state == "running"


def test_cli_business_time(app):
    runner = app.test_cli_runner()
    r = runner.invoke(args=["sla", "due", "--start", "2026-09-18T17:15:00+09:00", "--minutes", "60"])
    assert r.exit_code == 0 and r.stdout.strip() == "2026-09-24T09:30:00+09:00"
    r = runner.invoke(
        args=["sla", "elapsed", "--start", "2026-09-18T17:15:00+09:00", "--end", "2026-09-24T09:30:00+09:00"]
    )
    assert r.exit_code == 0 and r.stdout.strip() == "60"
    # A target of 0 business minutes is due at once, even after closing time.
    r = runner.invoke(args=["sla", "due", "--start", "2026-09-18T18:59:00+09:00", "--minutes", "0"])
    assert r.exit_code == 0 and r.stdout.strip() == "2026-09-18T18:59:00+09:00"
    r = runner.invoke(args=["sla", "due", "--start", "yesterday", "--minutes", "5"])
    assert r.exit_code == 2 and "ISO 8601" in r.output


def test_resolving_without_a_reply_voids_the_first_response(make_ticket, users, clock, run, store, limits):
    clock.set(at("2026-11-25T10:00"))
    t = make_ticket()
    run("2026-11-25T10:30", tickets.change_status, users["agent"], t, "resolved")
    c = clocks(t)
    assert (c["first_response"].state, c["resolution"].state) == ("void", "met")
    run("2026-11-25T11:00", tickets.reopen_ticket, users["staff_health"], t)
    c = clocks(t)
    assert (c["first_response"].state, c["resolution"].state) == ("running", "running")
