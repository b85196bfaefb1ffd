"""A SWAT member's day at a glance: the counts at the top of their queue, each a link to it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import false, func, or_, select
from sqlalchemy.orm import Session

from ..domain import permissions, states
from ..models import Ticket
from . import statements
from .listing import my_themes, sla_clause
from .visibility import ticket_scope


@dataclass(frozen=True)
class MyDay:
    """Counts of the member's own open consultations, those of them due later today and
    overdue (the nearest SLA clock), those waiting for the requester, and the unassigned
    ones of the themes they work on."""

    mine_open: int
    due_today: int
    overdue: int
    waiting: int
    unassigned_mine: int


def my_day(session: Session, actor, now: datetime) -> MyDay | None:
    """The counts, in one statement over the member's own and their themes' unassigned open
    consultations (a member's workload, not the desk); None for who works no queue."""
    if not permissions.can_work_queue(actor):
        return None
    themes = my_themes(session, actor)
    mine = Ticket.assignee_id == actor.id
    theirs = (Ticket.assignee_id.is_(None) & Ticket.theme_id.in_(themes)) if themes else false()
    counts = select(
        func.count().filter(mine),
        func.count().filter(mine & sla_clause("today", now)),
        func.count().filter(mine & sla_clause("overdue", now)),
        func.count().filter(mine & (Ticket.status == states.WAITING)),
        func.count().filter(theirs),
    ).where(Ticket.status.in_(states.OPEN_STATUSES), ticket_scope(actor), or_(mine, theirs))
    return MyDay(*statements.read(session, counts).one())
