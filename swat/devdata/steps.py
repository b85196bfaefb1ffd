"""One seeded consultation worked the way the services work it, as rows.

`Life` has one method per use case of services.tickets that `swat seed` plays (filing,
claim, hand-out by the lead, status changes, the desk's and the requester's replies) and
writes what that use case writes. It holds no randomness: devdata.life decides what happens
when, this module only how.
"""

from __future__ import annotations

from datetime import datetime

from ..domain import lifecycle, states
from ..domain import sla as timers


class Rows:
    """The event and message rows of a batch, as tuples or as COPY text lines."""

    def __init__(self, out: dict[str, list], copy: bool) -> None:
        self.events, self.messages, self.copy = out["ticket_events"].append, out["messages"].append, copy

    def event(self, tid: int, actor: int, at: datetime, kind: str, old: str, new: object) -> None:
        # As services.history.record writes it (values as text), not internal.
        if self.copy:
            self.events(f"{tid}\t{actor}\t{at}\t{kind}\t{old}\t{new}\tf\n")
        else:
            self.events((tid, actor, at, kind, old, str(new), False))

    def message(self, mid: int, tid: int, author: int, body: str, at: datetime) -> None:
        if self.copy:
            self.messages(f"{mid}\t{tid}\t{author}\tf\t{body}\t{at}\n")
        else:
            self.messages((mid, tid, author, False, body, at))


class Life:
    """One consultation as the services would work it, step by step.

    Each method is one use case of services.tickets and writes what it writes: the status
    comes from the transition table (domain.states.transition, which refuses a step the
    table does not allow), the SLA timers from domain.lifecycle, and the history events
    carry the same kinds and values (`created`, `claimed`, `assigned`, `status`, `replied`,
    `requester_replied`). tests/devdata replays seeded lives through the services and
    compares the rows.
    """

    __slots__ = ("rows", "cal", "tid", "status", "assignee", "last", "resolved_at", "closed_at", "clocks", "sla")

    def __init__(self, rows: Rows, cal, tid: int, number: str, requester: int, at: datetime, policy) -> None:
        """file_consultation: the `created` event, and both timers started."""
        self.rows, self.cal, self.tid = rows, cal, tid
        self.status: str = states.NEW
        self.assignee: int | None = None
        self.last: datetime = at
        self.resolved_at: datetime | None = None
        self.closed_at: datetime | None = None
        rows.event(tid, requester, at, "created", "", number)
        step = timers.start(cal, policy, at)
        self.clocks, self.sla = step.clocks, list(step.events)

    def _timers(self, step: timers.Step) -> None:
        self.clocks = step.clocks
        self.sla += step.events

    def _set_status(self, actor: int, at: datetime, action: str, side: str) -> None:
        """services.tickets._set_status: the `status` event, the times, the timers."""
        old = self.status
        new = states.transition(old, action, side, has_assignee=self.assignee is not None)
        if new == old:
            return
        if new == states.RESOLVED:
            self.resolved_at = at
        elif new == states.CLOSED:
            self.closed_at = at
        elif old in (states.RESOLVED, states.CLOSED):
            self.resolved_at = self.closed_at = None
        self.rows.event(self.tid, actor, at, "status", old, new)
        self._timers(lifecycle.after_status(self.cal, self.clocks, old, new, at))
        self.status = new

    def claim(self, agent: int, name: str, at: datetime) -> None:
        """claim_ticket: assigned to the agent, one `claimed` event (no `status` event)."""
        old = self.status
        self.status = states.transition(old, "claim", states.DESK)
        self.rows.event(self.tid, agent, at, "claimed", old, name)
        self.assignee, self.last = agent, at

    def hand_out(self, lead: int, agent: int, name: str, at: datetime) -> None:
        """assign_ticket by the lead on a new consultation: the `status` event (new to
        assigned) first, then `assigned`, from nobody to the agent."""
        self.assignee = agent
        self._set_status(lead, at, "assign", states.DESK)
        self.rows.event(self.tid, lead, at, "assigned", "", name)
        self.last = at

    def change_status(self, actor: int, at: datetime, action: str, side: str = states.DESK) -> None:
        """change_status: one action of the transition table."""
        self._set_status(actor, at, action, side)
        self.last = at

    def desk_reply(self, agent: int, at: datetime, mid: int, body: str) -> None:
        """add_reply by the desk: the message, `replied`, and the first answer meets the
        first-response target."""
        self.rows.message(mid, self.tid, agent, body, at)
        self.rows.event(self.tid, agent, at, "replied", "", mid)
        self._timers(lifecycle.after_desk_reply(self.cal, self.clocks, at))
        self.last = at

    def requester_reply(self, requester: int, at: datetime, mid: int, body: str) -> None:
        """add_reply by the requester: the message, `requester_replied`, and out of waiting."""
        self.rows.message(mid, self.tid, requester, body, at)
        self.rows.event(self.tid, requester, at, "requester_replied", "", mid)
        if self.status == states.WAITING:
            self._set_status(requester, at, "requester_replied", states.REQUESTER)
        self.last = at
