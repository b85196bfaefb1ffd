"""What a status change or the desk's reply does to the SLA timers (no app, no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from swat.domain import lifecycle, states
from swat.domain import sla as timers

T0 = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
POLICY = timers.Policy(first_response=60, resolution=600)


class Wall:
    """A calendar where every minute is a business minute."""

    def due(self, start: datetime, minutes: int) -> datetime:
        return start + timedelta(minutes=minutes)

    def elapsed(self, start: datetime, end: datetime) -> int:
        return int((end - start).total_seconds() // 60)


CAL = Wall()


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def kinds(step: timers.Step) -> list[tuple[str, str]]:
    return [(e.target, e.kind) for e in step.events]


def started():
    return timers.start(CAL, POLICY, T0).clocks


def test_moves_that_leave_the_timers_alone():
    clocks = started()
    for old, new in [(states.NEW, states.ASSIGNED), (states.ASSIGNED, states.IN_PROGRESS)]:
        step = lifecycle.after_status(CAL, clocks, old, new, at(5))
        assert step.events == [] and step.clocks == clocks


def test_the_first_reply_meets_the_first_response_and_later_ones_change_nothing():
    step = lifecycle.after_desk_reply(CAL, started(), at(30))
    assert kinds(step) == [("first_response", "met")]
    assert lifecycle.after_desk_reply(CAL, step.clocks, at(90)).events == []


def test_waiting_pauses_and_the_answer_resumes():
    waiting = lifecycle.after_status(CAL, started(), states.IN_PROGRESS, states.WAITING, at(10))
    assert kinds(waiting) == [("first_response", "paused"), ("resolution", "paused")]
    back = lifecycle.after_status(CAL, waiting.clocks, states.WAITING, states.IN_PROGRESS, at(100))
    assert kinds(back) == [("first_response", "resumed"), ("resolution", "resumed")]
    assert back.clocks["resolution"].due_at == at(100 + 600 - 10)


def test_resolving_without_an_answer_voids_the_first_response_and_reopening_revives_it():
    done = lifecycle.after_status(CAL, started(), states.ASSIGNED, states.RESOLVED, at(20))
    assert kinds(done) == [("first_response", "void"), ("resolution", "met")]
    again = lifecycle.after_status(CAL, done.clocks, states.RESOLVED, states.IN_PROGRESS, at(50))
    assert kinds(again) == [("resolution", "resumed"), ("first_response", "resumed")]
    # Closing a resolved consultation: nothing is counting any more.
    assert lifecycle.after_status(CAL, done.clocks, states.RESOLVED, states.CLOSED, at(60)).events == []


def test_reopening_after_an_answer_resumes_resolution_only():
    answered = lifecycle.after_desk_reply(CAL, started(), at(30)).clocks
    done = lifecycle.after_status(CAL, answered, states.IN_PROGRESS, states.RESOLVED, at(700))
    assert kinds(done) == [("resolution", "missed")]
    again = lifecycle.after_status(CAL, done.clocks, states.RESOLVED, states.IN_PROGRESS, at(800))
    assert kinds(again) == [("resolution", "resumed")]
    assert again.clocks["first_response"].state == timers.MET
