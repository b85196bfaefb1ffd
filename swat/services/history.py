"""A ticket's history: the one way a change to a ticket writes its event.

Every use case that changes a ticket (filing, working it, routing) calls `record` in the
same transaction as the change, so the history is never behind the ticket.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from ..models import Ticket, TicketEvent


def record(
    session: Session,
    ticket: Ticket,
    actor,
    at: datetime,
    kind: str,
    old: object = "",
    new: object = "",
    internal: bool = False,
) -> None:
    """Append one history event. Every change to a ticket calls this."""
    session.add(
        TicketEvent(
            ticket_id=ticket.id,
            actor_id=actor.id if actor else None,
            at=at,
            kind=kind,
            old_value="" if old is None else str(old),
            new_value="" if new is None else str(new),
            internal=internal,
        )
    )
