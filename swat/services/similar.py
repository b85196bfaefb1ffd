"""Similar past consultations: the newest tickets of the same theme or initiatives, ranked by text.

Shown on a ticket's page to the desk, with the desk's last answer, so a question asked
before is answered alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..domain import permissions, states
from ..domain.routing import bigrams, fold
from ..models import Message, Ticket, TicketInitiative, User
from .visibility import ticket_scope

# The newest tickets of the same theme or initiatives that are compared, and how
# much of each text: bounded work per page view, whatever the size of the archive.
SIMILAR_POOL = 200
SIMILAR_TEXT = 120


@dataclass
class Similar:
    ticket: Ticket
    score: float
    answer: str


def similar_tickets(session: Session, actor, ticket: Ticket, limit: int = 5) -> list[Similar]:
    """Up to `limit` past consultations like this one, resolved ones first, with the desk's answer.

    Candidates are the newest tickets sharing the theme or an initiative
    (indexed look-ups, bounded), ranked by text similarity.
    """
    if not permissions.is_desk(actor) and not permissions.can_see_internal(actor):
        return []
    init_ids = list(
        session.scalars(select(TicketInitiative.initiative_id).where(TicketInitiative.ticket_id == ticket.id))
    )
    conds = []
    if ticket.theme_id:
        conds.append(Ticket.theme_id == ticket.theme_id)
    if init_ids:
        conds.append(
            Ticket.id.in_(select(TicketInitiative.ticket_id).where(TicketInitiative.initiative_id.in_(init_ids)))
        )
    if not conds:
        return []
    pool = session.scalars(
        select(Ticket)
        .where(or_(*conds), Ticket.id != ticket.id, ticket_scope(actor))
        .order_by(Ticket.id.desc())
        .limit(SIMILAR_POOL)
    ).all()
    if not pool:
        return []
    mine = bigrams(fold(ticket.title + " " + ticket.body[:SIMILAR_TEXT]))
    scored = []
    for other in pool:
        theirs = bigrams(fold(other.title + " " + other.body[:SIMILAR_TEXT]))
        overlap = sum((mine & theirs).values())
        score = overlap / max(1, min(sum(mine.values()), sum(theirs.values())))
        if score > 0.05:
            done = other.status in (states.RESOLVED, states.CLOSED)
            scored.append((not done, -score, other))
    scored.sort(key=lambda x: (x[0], x[1], -x[2].id))
    chosen = [s[2] for s in scored[:limit]]
    answers = {}
    if chosen:
        rows = session.execute(
            select(Message.ticket_id, Message.body)
            .join(User, Message.author_id == User.id)
            .where(
                Message.ticket_id.in_([c.id for c in chosen]),
                Message.internal.is_(False),
                User.role != permissions.STAFF,
            )
            .order_by(Message.created_at, Message.id)
        )
        for tid, body in rows:
            answers[tid] = body  # the desk's last answer wins
    return [Similar(c, -s, answers.get(c.id, "")) for (_, s, c) in scored[:limit]]
