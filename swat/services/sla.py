"""SLA clocks on real tickets: policies from config/reference/sla.yaml, state in
ticket_slas, every step in the append-only sla_events log.

The ticket services call the `on_*` hooks inside their own transaction, so a
status change and its clock events are committed together or not at all.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Protocol, cast

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.orm import Session

from ..domain import lifecycle, states
from ..domain import sla as timers
from ..domain.calendar import BusinessCalendar
from ..models import SlaEvent, Ticket, TicketSla
from . import documents, statements
from .reference_yaml import ReferenceDataError, read_yaml_file

DOC_NAME = "sla"
FILE_NAME = "sla.yaml"


class SlaRules:
    def __init__(self, doc: dict) -> None:
        self.calendar = BusinessCalendar.from_config(doc.get("calendar") or {})
        self.policies = {
            p: timers.Policy(int(v["first_response"]), int(v["resolution"])) for p, v in doc["policies"].items()
        }
        self.warn_ratio = float(doc.get("warn_ratio", 0.75))
        escalation = doc.get("escalation") or {}
        self.renotify_minutes = int(escalation.get("renotify_minutes", 120))
        self.cio_usernames = list(escalation.get("cio") or [])

    def policy_for(self, rank: int) -> timers.Policy:
        return self.policies[states.PRIORITIES[rank]]


def read_sla(directory: str | Path) -> dict:
    """sla.yaml, checked: raises ReferenceDataError("sla.yaml", item, reason)."""
    doc = read_yaml_file(directory, FILE_NAME)
    if not isinstance(doc, dict):
        raise ReferenceDataError(FILE_NAME, "", "the file must be a mapping")
    unknown = set(doc) - {"calendar", "policies", "warn_ratio", "escalation"}
    if unknown:
        raise ReferenceDataError(FILE_NAME, sorted(unknown)[0], "unknown key")
    policies = doc.get("policies")
    if not isinstance(policies, dict):
        raise ReferenceDataError(FILE_NAME, "policies", "expected one entry per priority")
    for p in states.PRIORITIES:
        entry = policies.get(p)
        if not isinstance(entry, dict) or set(entry) != {"first_response", "resolution"}:
            raise ReferenceDataError(FILE_NAME, f"policies.{p}", "expected first_response and resolution")
        for k, v in entry.items():
            if isinstance(v, bool) or not isinstance(v, int) or not 0 < v <= 525 * 365:
                raise ReferenceDataError(FILE_NAME, f"policies.{p}.{k}", "expected a positive number of minutes")
    extra = set(policies) - set(states.PRIORITIES)
    if extra:
        raise ReferenceDataError(FILE_NAME, f"policies.{sorted(extra)[0]}", "no such priority")
    ratio = doc.get("warn_ratio", 0.75)
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0 < ratio < 1:
        raise ReferenceDataError(FILE_NAME, "warn_ratio", "expected a number between 0 and 1")
    escalation = doc.get("escalation") or {}
    if not isinstance(escalation, dict) or set(escalation) - {"renotify_minutes", "cio"}:
        raise ReferenceDataError(FILE_NAME, "escalation", "expected renotify_minutes and cio")
    minutes = escalation.get("renotify_minutes", 120)
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 1:
        raise ReferenceDataError(FILE_NAME, "escalation.renotify_minutes", "expected a positive number of minutes")
    if not isinstance(escalation.get("cio", []), list):
        raise ReferenceDataError(FILE_NAME, "escalation.cio", "expected a list of user names")
    try:
        SlaRules(doc)
    except (ValueError, TypeError) as exc:
        raise ReferenceDataError(FILE_NAME, "calendar", str(exc))
    return doc


def load_sla(session: Session, directory: str | Path, now: datetime) -> bool:
    """Store sla.yaml if it changed; True when it did. Flushes, never commits."""
    return documents.store(session, DOC_NAME, read_sla(directory), now)


def current(session: Session) -> SlaRules | None:
    """The loaded SLA rules (built once per version and cached), or None before the first load."""
    return documents.compiled(session, DOC_NAME, SlaRules)


def _load(session: Session, ticket: Ticket) -> dict[str, timers.SlaTimer]:
    rows = session.scalars(select(TicketSla).where(TicketSla.ticket_id == ticket.id)).all()
    return {
        r.target: timers.SlaTimer(
            r.target, r.target_minutes, r.used_minutes, r.state, r.running_since, r.due_at, r.stopped_at
        )
        for r in rows
    }


WARN, BREACH, DOUBLE = 1, 2, 3


class _Due(Protocol):
    def due(self, start: datetime, minutes: int) -> datetime: ...


class EscalationRules(Protocol):
    """What the escalation instants need of the SLA rules (the seed passes its own, memoised)."""

    @property
    def calendar(self) -> _Due: ...
    @property
    def warn_ratio(self) -> float: ...


class RunningTimer(Protocol):
    """A stored clock row or a domain SlaTimer: the fields the escalation instants read."""

    @property
    def state(self) -> str: ...
    @property
    def running_since(self) -> datetime | None: ...
    @property
    def used_minutes(self) -> int: ...
    @property
    def target_minutes(self) -> int: ...


def level_instants(rules: EscalationRules, row: RunningTimer) -> dict[int, datetime]:
    """When a running clock reaches each escalation level: the warning share of its
    target, the target itself, and twice the target."""
    if row.state != timers.RUNNING or row.running_since is None:
        return {}
    cal, since, used, target = rules.calendar, row.running_since, row.used_minutes, row.target_minutes
    warn = -(-int(rules.warn_ratio * target * 100) // 100)  # whole minutes, rounded up
    return {
        WARN: cal.due(since, max(0, warn - used)),
        BREACH: cal.due(since, max(0, target - used)),
        DOUBLE: cal.due(since, max(0, 2 * target - used)),
    }


def refresh_next_check(session: Session, rules: SlaRules, row: TicketSla, fired: set[int] | None = None) -> None:
    """When the sweep next looks at this clock: its first escalation level not fired yet
    (`fired`, when the caller knows it: none for a new ticket)."""
    from ..models import Escalation

    if fired is None:
        fired = set(
            session.scalars(
                select(Escalation.level).where(Escalation.ticket_id == row.ticket_id, Escalation.target == row.target)
            )
        )
    pending = [t for level, t in level_instants(rules, row).items() if level not in fired]
    row.next_check_at = min(pending) if pending else None


def _save(session: Session, rules: SlaRules, ticket: Ticket, step: timers.Step, new: bool = False) -> None:
    existing = (
        {} if new else {r.target: r for r in session.scalars(select(TicketSla).where(TicketSla.ticket_id == ticket.id))}
    )
    for target, c in step.clocks.items():
        row = existing.get(target)
        if row is None:
            row = TicketSla(ticket_id=ticket.id, target=target, department_id=ticket.department_id)
            session.add(row)
        row.target_minutes, row.used_minutes, row.state = c.target_minutes, c.used_minutes, c.state
        row.running_since, row.due_at, row.stopped_at = c.running_since, c.due_at, c.stopped_at
        refresh_next_check(session, rules, row, set() if new else None)
    if step.events:
        # All of the step's events in one INSERT (the log is only appended to).
        session.execute(
            _INSERT_EVENTS,
            [
                {
                    "ticket_id": ticket.id,
                    "target": e.target,
                    "kind": e.kind,
                    "at": e.at,
                    "used_minutes": e.used_minutes,
                    "target_minutes": e.target_minutes,
                    "due_at": e.due_at,
                    "note": e.note,
                }
                for e in step.events
            ],
        )
    ticket.sla_due_at = _due(step)


_INSERT_EVENTS = insert(cast(Table, SlaEvent.__table__))


def _due(step: timers.Step) -> datetime | None:
    dues = [c.due_at for c in step.clocks.values() if c.state == timers.RUNNING and c.due_at is not None]
    return min(dues) if dues else None


class Started:
    """The clocks a new ticket of some priority starts with, worked out before the ticket is
    written (so its row is inserted with its SLA due time)."""

    def __init__(self, rules: SlaRules, step: timers.Step) -> None:
        self.rules, self.step = rules, step
        self.due_at = _due(step)


def start(session: Session, rank: int, now: datetime) -> Started | None:
    """The clocks a ticket of this priority filed now starts with; None before the rules are loaded."""
    rules = current(session)
    if rules is None:
        return None
    return Started(rules, timers.start(rules.calendar, rules.policy_for(rank), now))


def on_created(session: Session, ticket: Ticket, now: datetime, started: Started | None = None) -> None:
    """Start a new ticket's clocks (`started`: worked out already by `start` for its priority and `now`)."""
    if started is None:
        started = start(session, ticket.priority, now)
        if started is None:
            return
    # A new ticket has no clocks and no escalations yet: nothing to read back.
    _save(session, started.rules, ticket, started.step, new=True)


def on_desk_reply(session: Session, ticket: Ticket, now: datetime) -> None:
    """The first reply to the requester meets the first-response target."""
    rules = current(session)
    if rules is None:
        return
    step = lifecycle.after_desk_reply(rules.calendar, _load(session, ticket), now)
    if step.events:
        _save(session, rules, ticket, step)


def on_status(session: Session, ticket: Ticket, old: str, new: str, now: datetime) -> None:
    rules = current(session)
    if rules is None:
        return
    clocks = _load(session, ticket)
    if not clocks:
        return
    step = lifecycle.after_status(rules.calendar, clocks, old, new, now)
    if step.events:
        _save(session, rules, ticket, step)


def on_merged(session: Session, ticket: Ticket, now: datetime) -> None:
    """A duplicate merged into its original: its clocks stop as void (domain.sla.void_all)."""
    rules = current(session)
    clocks = _load(session, ticket)
    if rules is None or not clocks:
        return
    step = timers.void_all(clocks, now)
    if step.events:
        _save(session, rules, ticket, step)


def on_priority(session: Session, ticket: Ticket, now: datetime) -> None:
    """Targets recomputed from the start for the new priority; used minutes count."""
    rules = current(session)
    if rules is None:
        return
    clocks = _load(session, ticket)
    if clocks:
        step = timers.change_policy(rules.calendar, clocks, rules.policy_for(ticket.priority), now)
        if step.events:
            _save(session, rules, ticket, step)


class SlaView:
    """What a list or a ticket page shows of one SLA timer."""

    def __init__(
        self, target: str, state: str, remaining: int | None, target_minutes: int, used: int, due_at: datetime | None
    ) -> None:
        self.target, self.state, self.remaining = target, state, remaining
        self.target_minutes, self.used, self.due_at = target_minutes, used, due_at


# Built once: constructing the statement cost more than running it for a page of tickets.
_VIEWS = (
    select(
        TicketSla.ticket_id,
        TicketSla.target,
        TicketSla.target_minutes,
        TicketSla.used_minutes,
        TicketSla.state,
        TicketSla.running_since,
        TicketSla.due_at,
        TicketSla.stopped_at,
    )
    .where(TicketSla.ticket_id.in_(bindparam("ids", expanding=True)))
    .order_by(TicketSla.ticket_id, TicketSla.target)
)


def views(session: Session, ticket_ids: list[int], now: datetime) -> dict[int, list[SlaView]]:
    """Each ticket's clocks as shown to people (time left, at risk, breached), in one query."""
    rules = current(session)
    if rules is None or not ticket_ids:
        return {}
    out: dict[int, list[SlaView]] = {}
    # Plain rows, not entities: the page only reads them.
    rows = statements.read(session, _VIEWS, {"ids": ticket_ids}).all()
    calendar, warn_ratio = rules.calendar, rules.warn_ratio
    for ticket_id, target, target_minutes, used_minutes, state, running_since, due_at, stopped_at in rows:
        c = timers.SlaTimer(target, target_minutes, used_minutes, state, running_since, due_at, stopped_at)
        left = timers.remaining(calendar, c, now)
        used = target_minutes - left if left is not None else used_minutes
        out.setdefault(ticket_id, []).append(
            SlaView(target, timers.status_with(c, left, warn_ratio), left, target_minutes, used, due_at)
        )
    return out


def nearest(views_of_ticket: list[SlaView]) -> SlaView | None:
    # The first of the clocks with the least time left (ties keep the list's order).
    best = min(((v.remaining, i) for i, v in enumerate(views_of_ticket) if v.remaining is not None), default=None)
    return views_of_ticket[best[1]] if best is not None else None
