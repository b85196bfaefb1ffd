"""What a consultation's steps do to its SLA timers, defined once.

The desk's services (services.sla, called by services.tickets) and the generated data of
swat.devdata both step the timers through these two functions, so a seeded consultation
and a worked one cannot disagree about the rules. A status change itself comes from the
transition table (domain.states.transition); this module says what follows from it:

- resolved or closed: a first response never given is void, the resolution timer stops;
- waiting for the requester: the running timers pause;
- reopened (out of resolved or closed): resolution counts on from where it stopped, and a
  void first response with it;
- out of waiting otherwise: the paused timers resume;
- the desk's reply to the requester meets the first-response target.

Any other change leaves the timers as they are (a Step without events).
"""

from __future__ import annotations

from datetime import datetime

from . import sla, states

ENDED = (states.RESOLVED, states.CLOSED)


def after_status(cal: sla.Calendar, clocks: dict[str, sla.SlaTimer], old: str, new: str, at: datetime) -> sla.Step:
    """The timers after the status went from `old` to `new` at `at` (see the module rules)."""
    if new in ENDED:
        voided = sla.void(clocks, sla.FIRST_RESPONSE, at)
        stopped = sla.stop(cal, voided.clocks, (sla.RESOLUTION,), at)
        return sla.Step(stopped.clocks, voided.events + stopped.events)
    if new == states.WAITING:
        return sla.pause(cal, clocks, at)
    if old in ENDED:
        first = clocks.get(sla.FIRST_RESPONSE)
        void_first = first is not None and first.state == sla.VOID
        targets = (sla.RESOLUTION, sla.FIRST_RESPONSE) if void_first else (sla.RESOLUTION,)
        return sla.resume(cal, clocks, at, targets, include_stopped=True)
    if old == states.WAITING:
        return sla.resume(cal, clocks, at)
    return sla.Step(dict(clocks))


def after_desk_reply(cal: sla.Calendar, clocks: dict[str, sla.SlaTimer], at: datetime) -> sla.Step:
    """The timers after the desk answered the requester: the first answer meets (or, late,
    misses) the first-response target; later answers change nothing."""
    return sla.stop(cal, clocks, (sla.FIRST_RESPONSE,), at)
