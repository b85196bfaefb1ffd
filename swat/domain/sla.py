"""The SLA clock: first-response and resolution targets in business minutes.

Pure functions over a small state per target. Every change returns the
events it caused (started, paused, resumed, met, target_changed), so the
append-only event log can explain any figure later, and the stored state
(used minutes, running since, due instant) is derived from the same steps.

Rules:
- both clocks start when the consultation is filed;
- the first reply to the requester meets the first-response target;
- both clocks pause while the desk waits for the requester and resume when
  the consultation leaves that status;
- resolving (or closing) stops the resolution clock; a first response that
  was never given is void (neither met nor missed); reopening resumes
  resolution, and a void first response with it;
- a priority change recomputes the targets from the start: the minutes
  already used count against the new target.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

FIRST_RESPONSE = "first_response"
RESOLUTION = "resolution"
TARGETS = (FIRST_RESPONSE, RESOLUTION)

RUNNING = "running"
PAUSED = "paused"
MET = "met"  # stopped in time
MISSED = "missed"  # stopped after its due time
VOID = "void"  # first response never given: the consultation ended without one
STATES = (RUNNING, PAUSED, MET, MISSED, VOID)


class Calendar(Protocol):
    def due(self, start: datetime, minutes: int) -> datetime: ...
    def elapsed(self, start: datetime, end: datetime) -> int: ...


@dataclass(frozen=True)
class Policy:
    """Targets for one priority, in business minutes."""

    first_response: int
    resolution: int

    def minutes(self, target: str) -> int:
        return self.first_response if target == FIRST_RESPONSE else self.resolution


@dataclass(frozen=True)
class SlaTimer:
    """The state of one SLA target's timer on one ticket (first response or resolution).

    Not to be confused with swat.domain.clock.Clock, the time source: this is what the
    rules below step forward, and what ticket_slas stores."""

    target: str
    target_minutes: int
    used_minutes: int = 0
    state: str = RUNNING
    running_since: datetime | None = None
    due_at: datetime | None = None
    stopped_at: datetime | None = None


@dataclass(frozen=True)
class Event:
    target: str
    kind: str
    at: datetime
    used_minutes: int
    target_minutes: int
    due_at: datetime | None = None
    note: str = ""


@dataclass
class Step:
    clocks: dict[str, SlaTimer]
    events: list[Event] = field(default_factory=list)


def _due(cal: Calendar, since: datetime, target: int, used: int) -> datetime:
    return cal.due(since, max(0, target - used))


def start(cal: Calendar, policy: Policy, at: datetime) -> Step:
    clocks, events = {}, []
    for target in TARGETS:
        minutes = policy.minutes(target)
        c = SlaTimer(target, minutes, 0, RUNNING, at, _due(cal, at, minutes, 0))
        clocks[target] = c
        events.append(Event(target, "started", at, 0, minutes, c.due_at))
    return Step(clocks, events)


def _used_now(cal: Calendar, c: SlaTimer, at: datetime) -> int:
    if c.state == RUNNING and c.running_since is not None:
        return c.used_minutes + cal.elapsed(c.running_since, at)
    return c.used_minutes


def stop(cal: Calendar, clocks: dict[str, SlaTimer], targets: tuple[str, ...], at: datetime) -> Step:
    """Stop the named clocks that are still counting (met, or missed when past due)."""
    out, events = dict(clocks), []
    for t in targets:
        c = clocks.get(t)
        if c is None or c.state not in (RUNNING, PAUSED):
            continue
        used = _used_now(cal, c, at)
        state = MET if used <= c.target_minutes else MISSED
        out[t] = replace(c, used_minutes=used, state=state, running_since=None, due_at=None, stopped_at=at)
        events.append(Event(t, "met" if state == MET else "missed", at, used, c.target_minutes))
    return Step(out, events)


def void(clocks: dict[str, SlaTimer], target: str, at: datetime) -> Step:
    """A target that no longer applies (resolved or closed without a first response)."""
    out, events = dict(clocks), []
    c = clocks.get(target)
    if c is not None and c.state in (RUNNING, PAUSED):
        out[target] = replace(c, state=VOID, running_since=None, due_at=None, stopped_at=at)
        events.append(Event(target, "void", at, c.used_minutes, c.target_minutes))
    return Step(out, events)


def void_all(clocks: dict[str, SlaTimer], at: datetime) -> Step:
    """No target applies any more (the consultation was merged into another): every clock
    that is not void already stops as void, a met or missed one too, so that no report
    counts it; the original's clocks answer for the consultation."""
    out, events = dict(clocks), []
    for t, c in clocks.items():
        if c.state != VOID:
            stopped = c.stopped_at or at
            out[t] = replace(c, state=VOID, running_since=None, due_at=None, stopped_at=stopped)
            events.append(Event(t, "void", at, c.used_minutes, c.target_minutes))
    return Step(out, events)


def pause(cal: Calendar, clocks: dict[str, SlaTimer], at: datetime) -> Step:
    out, events = dict(clocks), []
    for t, c in clocks.items():
        if c.state == RUNNING:
            used = _used_now(cal, c, at)
            out[t] = replace(c, used_minutes=used, state=PAUSED, running_since=None, due_at=None)
            events.append(Event(t, "paused", at, used, c.target_minutes))
    return Step(out, events)


def resume(
    cal: Calendar,
    clocks: dict[str, SlaTimer],
    at: datetime,
    targets: tuple[str, ...] = TARGETS,
    include_stopped: bool = False,
) -> Step:
    """Resume paused clocks (and, on reopen, stopped ones) from `at`."""
    out, events = dict(clocks), []
    for t in targets:
        c = clocks.get(t)
        if c is None:
            continue
        if c.state == PAUSED or (include_stopped and c.state in (MET, MISSED, VOID)):
            due = _due(cal, at, c.target_minutes, c.used_minutes)
            out[t] = replace(c, state=RUNNING, running_since=at, due_at=due, stopped_at=None)
            events.append(Event(t, "resumed", at, c.used_minutes, c.target_minutes, due))
    return Step(out, events)


def change_policy(cal: Calendar, clocks: dict[str, SlaTimer], policy: Policy, at: datetime) -> Step:
    """New targets for the clocks still counting, from the start: used minutes are kept."""
    out, events = dict(clocks), []
    for t, c in clocks.items():
        minutes = policy.minutes(t)
        if minutes == c.target_minutes or c.state in (MET, MISSED, VOID):
            continue  # a stopped clock's outcome is history
        used = _used_now(cal, c, at)
        if c.state == RUNNING:
            new = replace(
                c, target_minutes=minutes, used_minutes=used, running_since=at, due_at=_due(cal, at, minutes, used)
            )
        else:
            new = replace(c, target_minutes=minutes)
        out[t] = new
        events.append(Event(t, "target_changed", at, used, minutes, new.due_at, note=f"{c.target_minutes}->{minutes}"))
    return Step(out, events)


def remaining(cal: Calendar, c: SlaTimer, now: datetime) -> int | None:
    """Business minutes left before the due time (negative when overdue); None unless running."""
    if c.state != RUNNING or c.due_at is None:
        return None
    if now <= c.due_at:
        return cal.elapsed(now, c.due_at)
    return -cal.elapsed(c.due_at, now)


def status(cal: Calendar, c: SlaTimer, now: datetime, warn_ratio: float) -> str:
    """ "ok", "at_risk" (past warn_ratio of the target), "breached", or the stopped state."""
    return status_with(c, remaining(cal, c, now), warn_ratio)


def status_with(c: SlaTimer, left: int | None, warn_ratio: float) -> str:
    """`status` for a timer whose `remaining` minutes are already known."""
    if left is None:
        return c.state
    if left < 0:
        return "breached"
    used = c.target_minutes - left
    return "at_risk" if used >= warn_ratio * c.target_minutes else "ok"
