"""Working on many at once: one action applied to the consultations chosen in the queue.

Each consultation goes through the same service as one changed on its own page (its own
events, notifications and clocks), in a savepoint of its own: one that cannot take the
action is refused alone, with its number and the reason, and the others keep theirs. What
was applied is committed together at the end of the request.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain import permissions
from ..domain.errors import DomainError, Forbidden, NotFound, ValidationError
from ..models import Escalation, Ticket, User
from . import canned, escalation, tickets
from .attachments import Limits
from .storage import AttachmentStore
from .visibility import ticket_scope

# At most this many consultations in one request (a queue page holds 50 by default).
MAX_TICKETS = 200
ACTIONS = ("assign", "status", "priority", "canned", "acknowledge")


@dataclass
class BulkResult:
    done: list[str] = field(default_factory=list)
    refused: list[tuple[str, DomainError]] = field(default_factory=list)


def apply(
    session: Session,
    actor: User,
    now: datetime,
    numbers: Sequence[str],
    action: str,
    value: str,
    store: AttachmentStore,
    limits: Limits,
    remark: str = "",
) -> BulkResult:
    """Apply `action` with `value` to each consultation numbered in `numbers` that the actor
    may see: assign (a member's id, or "" for nobody), status, priority, canned (a canned
    reply's id, sent as a reply with its placeholders filled in for each), acknowledge (the
    escalations of each that the actor may acknowledge, with `remark`)."""
    if not permissions.can_work_queue(actor):
        raise Forbidden("Only SWAT members can work on several consultations at once.")
    if action not in ACTIONS:
        raise ValidationError("Choose what to do with the chosen consultations.", field="action")
    wanted = list(dict.fromkeys(n for n in numbers if isinstance(n, str) and 0 < len(n) <= 20))
    if not wanted:
        raise ValidationError("Choose the consultations first.", field="tickets")
    if len(wanted) > MAX_TICKETS:
        raise ValidationError("At most %(max)d consultations at once.", field="tickets", max=MAX_TICKETS)
    step = _step(session, actor, now, action, value, remark, store, limits)
    found = {t.number: t for t in session.scalars(select(Ticket).where(Ticket.number.in_(wanted), ticket_scope(actor)))}
    result = BulkResult()
    # Not history.batched: a refused ticket's savepoint must take its events back with it.
    for number in wanted:
        ticket = found.get(number)
        if ticket is None:
            result.refused.append((number, NotFound("This consultation was not found.")))
            continue
        try:
            with session.begin_nested():
                step(ticket)
                session.flush()
            result.done.append(number)
        except DomainError as exc:
            session.expire(ticket)
            result.refused.append((number, exc))
    return result


def _step(
    session: Session,
    actor: User,
    now: datetime,
    action: str,
    value: str,
    remark: str,
    store: AttachmentStore,
    limits: Limits,
) -> Callable[[Ticket], object]:
    """The change one consultation gets, with the value checked once for all of them."""
    if action == "assign":
        if value and not (value.isascii() and value.isdigit() and len(value) <= 9):
            raise ValidationError("Choose an active SWAT member.", field="value")
        member = int(value) if value else None
        return lambda t: tickets.assign_ticket(session, actor, now, t, member)
    if action == "status":
        return lambda t: tickets.change_status(session, actor, now, t, value)
    if action == "priority":
        return lambda t: tickets.change_priority(session, actor, now, t, value)
    if action == "acknowledge":
        if len(remark.strip()) > escalation.REMARK_MAX:
            raise ValidationError(
                "The text can be at most %(max)d characters.", field="remark", max=escalation.REMARK_MAX
            )
        return lambda t: _acknowledge(session, actor, now, t, remark)
    reply = canned.usable(session, actor, value)
    return lambda t: _send_canned(session, actor, now, t, reply, store, limits)


def _send_canned(session: Session, actor: User, now: datetime, ticket: Ticket, reply, store, limits) -> None:
    requester = session.get_one(User, ticket.requester_id)
    assignee = session.get(User, ticket.assignee_id) if ticket.assignee_id else None
    values = canned.fill(ticket, now, requester.display_name, assignee.display_name if assignee else actor.display_name)
    tickets.add_reply(session, actor, now, ticket, canned.expand(reply.body, values), [], store, limits)
    canned.count_uses(session, actor, [reply.id])


def _acknowledge(session: Session, actor: User, now: datetime, ticket: Ticket, remark: str) -> None:
    """Every escalation of the ticket still waiting that the actor may acknowledge."""
    waiting = session.scalars(
        select(Escalation.id).where(Escalation.ticket_id == ticket.id, Escalation.acknowledged_at.is_(None))
    ).all()
    done = 0
    for esc_id in waiting:
        try:
            with session.begin_nested():
                escalation.acknowledge(session, actor, now, esc_id, remark)
            done += 1
        except NotFound:
            continue  # not one the actor was told of
    if not done:
        raise ValidationError("Nothing here waits for you to acknowledge.", field="action")
