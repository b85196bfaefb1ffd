"""Who may see what: tickets, and the internal content inside them, as SQL for every query.

`ticket_scope()` is the only filter list pages, counts, search, files and
history use, and `get_visible_ticket()` applies the very same filter to a
single ticket, so a ticket that does not show up in a list cannot be opened
either; a hidden ticket looks exactly like a missing one.

Inside a visible ticket, internal notes, internal events and the files attached
to them are for those `permissions.can_see_internal` lets in (the desk and
desk-wide managers); `visible_messages()`, `visible_events()` and
`visible_files()` are that rule as filters, and `get_visible_file()` applies it
to one download, so a hidden file cannot be listed or fetched.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, bindparam, exists, or_, select, true
from sqlalchemy.orm import Session, aliased

from ..domain import permissions
from ..domain.errors import NotFound
from ..models import Attachment, Message, Notification, Ticket, TicketEvent

# The largest id either database stores in an integer column: beyond it, nothing exists.
MAX_ID = 2**31 - 1


def ticket_scope(actor) -> ColumnElement[bool]:
    department = permissions.department_scope(actor)
    if department is None:
        return true()
    return Ticket.department_id == department


# The same rule for a statement built once and run for many actors: the department as a
# parameter. A prebuilt statement has a form without the condition (an actor who sees every
# ticket) and one with bound_ticket_scope(); scope_binding(actor) says which and binds it.
SCOPE_PARAM = "scope_department"


def bound_ticket_scope() -> ColumnElement[bool]:
    """ticket_scope() with the department as the parameter SCOPE_PARAM."""
    return Ticket.department_id == bindparam(SCOPE_PARAM)


def scope_binding(actor) -> dict[str, str] | None:
    """None when the actor sees every ticket (the statement's form without the scope);
    otherwise the parameter of bound_ticket_scope()."""
    department = permissions.department_scope(actor)
    return None if department is None else {SCOPE_PARAM: department}


def bound_notification_scope(scoped: bool) -> ColumnElement[bool]:
    """A user's own notifications that are about no ticket or about a ticket they may see.

    The ticket rule is asked per notification, through the ticket's primary key (EXISTS),
    never as "the ids of every ticket in scope": that list is all tickets for the desk and
    a whole department's for its head, and reading it per unread notification made the
    bell cost hundreds of milliseconds at a million tickets.

    For a prebuilt statement: the user is the parameter "scope_user" and, when `scoped`, the
    department is SCOPE_PARAM (scope_binding(actor) says which form and binds it)."""
    own = Notification.user_id == bindparam("scope_user")
    if not scoped:
        return own
    ticket = aliased(Ticket)  # its own name: the caller may join tickets too
    about_visible_ticket = exists().where(
        ticket.id == Notification.ticket_id, ticket.department_id == bindparam(SCOPE_PARAM)
    )
    return own & or_(Notification.ticket_id.is_(None), about_visible_ticket)


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


def visible_messages(actor) -> ColumnElement[bool]:
    """The messages of a visible ticket the actor may read: internal notes for the desk side only."""
    return true() if permissions.can_see_internal(actor) else Message.internal.is_(False)


def visible_events(actor) -> ColumnElement[bool]:
    """The history events the actor may read: internal ones (routing, triage, notes) for the desk side only."""
    return true() if permissions.can_see_internal(actor) else TicketEvent.internal.is_(False)


def visible_files(actor) -> ColumnElement[bool]:
    """The files the actor may list and download: those of internal notes for the desk side only."""
    return true() if permissions.can_see_internal(actor) else Attachment.internal.is_(False)


def get_visible_file(session: Session, actor, ticket: Ticket, file_id: int) -> Attachment:
    """A file of this (visible) ticket that the actor may download; NotFound otherwise, hidden or missing alike."""
    if not 0 < file_id <= MAX_ID:
        raise NotFound()
    attachment = session.scalar(
        select(Attachment).where(Attachment.id == file_id, Attachment.ticket_id == ticket.id, visible_files(actor))
    )
    if attachment is None:
        raise NotFound()
    return attachment
