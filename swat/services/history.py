"""A ticket's history: the one way a change to a ticket writes its event.

Every use case that changes a ticket (filing, working it, routing) calls `record` in the
same transaction as the change, so the history is never behind the ticket.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from ..models import Ticket, TicketEvent

_PENDING = "swat.history.pending"
_INSERT = insert(cast(Table, TicketEvent.__table__))


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
    row = {
        "ticket_id": ticket.id,
        "actor_id": actor.id if actor else None,
        "at": at,
        "kind": kind,
        "old_value": "" if old is None else str(old),
        "new_value": "" if new is None else str(new),
        "internal": internal,
    }
    pending = session.info.get(_PENDING)
    if pending is not None:
        pending.append(row)
    else:
        session.add(TicketEvent(**row))


@contextmanager
def batched(session: Session) -> Iterator[None]:
    """The events recorded inside the block are written when it ends, in one INSERT of all
    their rows (in the order recorded), instead of one statement each. Nothing inside may
    read them back before that; a block inside another is part of the outer one. The rows
    are a plain list, not session objects: an event recorded inside a savepoint that is
    rolled back would still be written, so nothing records inside one within the block."""
    if _PENDING in session.info:
        yield
        return
    rows: list[dict] = []
    session.info[_PENDING] = rows
    try:
        yield
    finally:
        del session.info[_PENDING]
    if rows:
        session.execute(_INSERT, rows)
