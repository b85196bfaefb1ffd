"""The permission rule of domain.permissions as SQL, for every list query.

`ticket_scope()` is the only filter list pages, counts, search, files and
history use, and `get_visible_ticket()` applies the very same filter to a
single ticket, so a ticket that does not show up in a list cannot be opened
either; a hidden ticket looks exactly like a missing one.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session

from ..domain import permissions
from ..domain.errors import NotFound
from ..models import Ticket


def ticket_scope(actor) -> ColumnElement[bool]:
    department = permissions.department_scope(actor)
    if department is None:
        return true()
    return Ticket.department_id == department


def get_visible_ticket(session: Session, actor, number: str, *options) -> Ticket:
    """The ticket with this number if the actor may see it; NotFound otherwise."""
    if not isinstance(number, str) or len(number) > 20:
        raise NotFound()
    stmt = select(Ticket).where(Ticket.number == number, ticket_scope(actor))
    if options:
        stmt = stmt.options(*options)
    ticket = session.scalars(stmt).one_or_none()
    if ticket is None:
        raise NotFound()
    return ticket
