"""Working a consultation: claim, assign, status, priority, replies, internal notes.

Every function takes the session, the acting user and `now`, checks the
rules, writes rows plus a TicketEvent in the same transaction and flushes;
the caller (a view, a command, a job) commits once at its boundary.
Filing lives in filing.py; `file_consultation` and the upload `Limits` are
re-exported here, so a caller files and works a ticket through this one module.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from ..domain import mentions as domain_mentions
from ..domain import permissions, states
from ..domain.errors import Conflict, Forbidden, NotFound, ValidationError
from ..models import Message, Ticket, TicketEvent, User
from . import drafts, notify, search_index, sla
from .attachments import Limits, save_files
from .filing import clean_body, file_consultation, parse_priority
from .history import record
from .merge import not_merged
from .statements import rows_matched
from .storage import AttachmentStore, Upload

__all__ = [
    "Limits",
    "add_internal_note",
    "add_reply",
    "assign_ticket",
    "change_priority",
    "Stale",
    "change_status",
    "check_current",
    "claim_ticket",
    "close_ticket",
    "file_consultation",
    "find_ticket",
    "reopen_ticket",
    "set_assignee",
]


# History events that change nothing a change could be made over (check_current).
UNCHANGING_EVENTS = ("escalation_acknowledged",)
# How much of a note a mention's message quotes.
NOTE_EXCERPT = 200


def _touch(ticket: Ticket, now: datetime) -> None:
    ticket.updated_at = now
    ticket.last_activity_at = now


class Stale(Conflict):
    """A change sent from a page rendered before someone changed the ticket: refused, with
    the changes the sender did not see (`changes`, oldest first)."""

    def __init__(self, message: str, changes: list[TicketEvent]) -> None:
        super().__init__(message)
        self.changes = changes


def check_current(session: Session, actor: User, ticket: Ticket, seen: int | None) -> None:
    """Refuse a change made from a page whose newest history event was `seen` when the
    ticket has changed since in a way the actor can see: Stale lists those changes.

    Every change to a ticket records an event (history.record), so the events after the
    page's newest are what the page did not show. The row's version counter is not the
    test: it also moves for changes the actor may not see (an internal note, for a
    requester: that refuses nothing and reveals nothing) and stays put for a change that
    leaves the row's columns as they were. It still guards the write: of two changes that
    both pass this check at once, the second update fails on the counter (a Conflict).
    `seen` None: the form carried no stamp (a client that sends none), nothing to compare.
    """
    if seen is None:
        return
    changes = select(TicketEvent).where(
        TicketEvent.ticket_id == ticket.id,
        TicketEvent.id > seen,
        # An escalation acknowledged says nothing of the ticket's state: it refuses nothing.
        TicketEvent.kind.not_in(UNCHANGING_EVENTS),
    )
    if not permissions.can_see_internal(actor):
        changes = changes.where(TicketEvent.internal.is_(False))
    found = list(
        session.scalars(changes.options(joinedload(TicketEvent.actor)).order_by(TicketEvent.at, TicketEvent.id))
    )
    if found:
        for e in found:
            session.expunge(e)  # kept as read: the refusal rolls the transaction back
        raise Stale(
            "This consultation was changed after you opened this page, so your change was not made. "
            "Check what changed, then try again.",
            found,
        )


def claim_ticket(session: Session, actor: User, now: datetime, ticket: Ticket) -> Ticket:
    """Take an unassigned new ticket. Of two members claiming at once exactly one wins.

    The claim is one conditional UPDATE (… WHERE assignee_id IS NULL); the
    loser's UPDATE matches no row and gets Conflict naming the winner.
    """
    if not permissions.can_work_queue(actor):
        raise Forbidden("Only SWAT members can claim consultations.")
    if ticket.assignee_id is not None:
        _already_taken(session, ticket)
    states.transition(ticket.status, "claim", states.DESK)
    matched = rows_matched(
        session,
        update(Ticket)
        .where(Ticket.id == ticket.id, Ticket.assignee_id.is_(None), Ticket.status == states.NEW)
        .values(
            assignee_id=actor.id,
            status=states.ASSIGNED,
            version=Ticket.version + 1,
            updated_at=now,
            last_activity_at=now,
        )
        .execution_options(synchronize_session=False),
    )
    session.expire(ticket)
    if matched != 1:
        _already_taken(session, ticket)
    actor.last_assigned_at = now
    ticket.triage = False  # someone took it: it no longer waits for the lead
    record(session, ticket, actor, now, "claimed", old=states.NEW, new=actor.display_name)
    session.flush()
    return ticket


def _already_taken(session: Session, ticket: Ticket) -> None:
    holder = session.get(User, ticket.assignee_id) if ticket.assignee_id else None
    if holder is None:
        raise Conflict("This consultation was changed by someone else. Reload and try again.")
    raise Conflict("%(name)s has already taken this consultation.", name=holder.display_name)


def assign_ticket(session: Session, actor: User, now: datetime, ticket: Ticket, assignee_id: int | None) -> Ticket:
    """A SWAT member hands the ticket to a member (or back to the queue with None)."""
    if not permissions.can_assign_others(actor):
        raise Forbidden("Only SWAT members can assign consultations.")
    return set_assignee(session, actor, now, ticket, assignee_id)


def set_assignee(
    session: Session, actor: User | None, now: datetime, ticket: Ticket, assignee_id: int | None
) -> Ticket:
    """Give the ticket to an active SWAT member, or to nobody; status and history follow
    the transition table. `actor` None is the desk itself (routing)."""
    if assignee_id is None:
        if ticket.assignee_id is None:
            return ticket
        new_status = states.transition(ticket.status, "unassign", states.DESK)
        old = _name(session, ticket.assignee_id)
        ticket.assignee_id = None
        _set_status(session, ticket, actor, now, new_status)
        record(session, ticket, actor, now, "assigned", old=old, new="")
        _touch(ticket, now)
        session.flush()
        return ticket
    assignee = session.get(User, assignee_id)
    if assignee is None or not assignee.active or not permissions.is_assignable(assignee):
        raise ValidationError("Choose an active SWAT member.", field="assignee")
    if ticket.assignee_id == assignee.id:
        return ticket
    new_status = states.transition(ticket.status, "assign", states.DESK)
    old = _name(session, ticket.assignee_id)
    ticket.assignee_id = assignee.id
    ticket.triage = False
    assignee.last_assigned_at = now
    if ticket.status == states.NEW:
        _set_status(session, ticket, actor, now, new_status)
    record(session, ticket, actor, now, "assigned", old=old, new=assignee.display_name)
    notify.notify(
        session,
        now,
        [assignee.id],
        "assigned",
        ticket,
        notify.ticket_params(ticket),
        exclude=actor.id if actor else None,
    )
    _touch(ticket, now)
    session.flush()
    return ticket


def _name(session: Session, user_id: int | None) -> str:
    if user_id is None:
        return ""
    user = session.get(User, user_id)
    return user.display_name if user else ""


def _set_status(session: Session, ticket: Ticket, actor, now: datetime, new_status: str, tell: bool = True) -> None:
    """Move the ticket to `new_status` with its history and clocks; `tell` the requester of
    it (not when the change is part of a reply that tells them already)."""
    if new_status == ticket.status:
        return
    old = ticket.status
    ticket.status = new_status
    if new_status == states.RESOLVED:
        ticket.resolved_at = now
    elif new_status == states.CLOSED:
        ticket.closed_at = now
    elif old in (states.RESOLVED, states.CLOSED):
        ticket.resolved_at = None
        ticket.closed_at = None
    record(session, ticket, actor, now, "status", old=old, new=new_status)
    sla.on_status(session, ticket, old, new_status, now)
    if tell:
        notify.notify(
            session,
            now,
            [ticket.requester_id],
            "status",
            ticket,
            notify.ticket_params(ticket, old=old, new=new_status),
            exclude=actor.id if actor else None,
        )


def change_status(session: Session, actor: User, now: datetime, ticket: Ticket, target: str) -> Ticket:
    """Move the ticket to `target` if the transition table allows it for the actor. The
    requester reopening or closing it is told to the desk (its assignee, else the leads)."""
    old = ticket.status
    side = _move(session, actor, now, ticket, target, tell=True)
    if side == states.REQUESTER and ticket.status != old:
        notify.tell_desk_of_requester(session, now, actor, ticket, old=old, new=ticket.status)
    session.flush()
    return ticket


def _move(session: Session, actor: User, now: datetime, ticket: Ticket, target: str, tell: bool) -> str:
    """The status change itself (checks, history, clocks); returns the actor's side."""
    not_merged(ticket)
    if target not in states.STATUSES:
        raise ValidationError("Choose a valid status.", field="status")
    if permissions.is_desk(actor):
        side = states.DESK
    elif permissions.can_act_as_requester(actor, ticket.department_id):
        side = states.REQUESTER
    else:
        raise Forbidden("You cannot change this consultation.")
    if target == states.CLOSED:
        action = "close"
    elif ticket.status in (states.RESOLVED, states.CLOSED) and target in (states.IN_PROGRESS, states.NEW):
        action = "reopen"
    else:
        if side != states.DESK:
            raise Forbidden("You cannot change this consultation.")
        action = states.action_for_target(ticket.status, target, side)
    new_status = states.transition(ticket.status, action, side, has_assignee=ticket.assignee_id is not None)
    _set_status(session, ticket, actor, now, new_status, tell=tell)
    _touch(ticket, now)
    return side


def change_priority(session: Session, actor: User, now: datetime, ticket: Ticket, priority: str) -> Ticket:
    """The desk changes the urgency; the SLA targets are recomputed from the start."""
    if not permissions.is_desk(actor):
        raise Forbidden("You cannot change this consultation.")
    not_merged(ticket)
    rank = parse_priority(priority)
    if rank == ticket.priority:
        return ticket
    old = states.PRIORITIES[ticket.priority]
    ticket.priority = rank
    record(session, ticket, actor, now, "priority", old=old, new=states.PRIORITIES[rank])
    sla.on_priority(session, ticket, now)
    _touch(ticket, now)
    session.flush()
    return ticket


def close_ticket(session: Session, actor: User, now: datetime, ticket: Ticket) -> Ticket:
    return change_status(session, actor, now, ticket, states.CLOSED)


def reopen_ticket(session: Session, actor: User, now: datetime, ticket: Ticket) -> Ticket:
    return change_status(session, actor, now, ticket, states.IN_PROGRESS)


def add_reply(
    session: Session,
    actor: User,
    now: datetime,
    ticket: Ticket,
    body: str,
    files: Iterable[Upload],
    store: AttachmentStore,
    limits: Limits,
    then_status: str | None = None,
) -> Message:
    """A post the requester sees: the desk's answer, or the requester's follow-up.

    The desk may set the status with it (`then_status`, e.g. waiting or resolved): one
    change, one message to the requester that says both. A requester's reply while the desk
    waits for them hands the ticket back (waiting -> in progress); it is told to the
    assignee, or to the leads while nobody is assigned. Closed or resolved tickets must be
    reopened first.
    """
    files = [f for f in files if f.filename]
    desk = permissions.is_desk(actor)
    if not desk and not permissions.can_act_as_requester(actor, ticket.department_id):
        raise Forbidden("You cannot reply to this consultation.")
    not_merged(ticket)
    if not states.is_open(ticket.status):
        raise ValidationError("Reopen the consultation before replying.", field="body")
    if then_status and not desk:
        raise Forbidden("You cannot change this consultation.")
    body = clean_body(body, allow_empty=bool(files))
    message = Message(ticket_id=ticket.id, author_id=actor.id, internal=False, body=body, created_at=now)
    session.add(message)
    session.flush()
    saved = save_files(session, store, limits, ticket, message, actor, now, files, internal=False)
    record(session, ticket, actor, now, "replied" if desk else "requester_replied", new=message.id)
    old = ticket.status
    if saved:
        session.flush()  # the files' ids, for the links in the e-mail
    # What the e-mail quotes: the text and the files (their ids make the download links).
    said = {"text": body, "files": [a.filename for a in saved], "file_ids": [a.id for a in saved]}
    if desk:
        sla.on_desk_reply(session, ticket, now)
        if then_status and then_status != ticket.status:
            _move(session, actor, now, ticket, then_status, tell=False)
        changed = {"old": old, "new": ticket.status} if ticket.status != old else {}
        notify.notify(
            session,
            now,
            [ticket.requester_id],
            "reply",
            ticket,
            notify.ticket_params(ticket, author=actor.display_name, **said, **changed),
            exclude=actor.id,
        )
    else:
        if ticket.status == states.WAITING:
            moved = states.transition(ticket.status, "requester_replied", states.REQUESTER)
            _set_status(session, ticket, actor, now, moved, tell=False)
        changed = {"old": old, "new": ticket.status} if ticket.status != old else {}
        notify.tell_desk_of_requester(session, now, actor, ticket, reply=True, **said, **changed)
    _touch(ticket, now)
    search_index.refresh(session, ticket.id)
    drafts.discard(session, actor, ticket, "reply")  # sent: the draft has done its work
    return message


def add_internal_note(
    session: Session,
    actor: User,
    now: datetime,
    ticket: Ticket,
    body: str,
    files: Iterable[Upload],
    store: AttachmentStore,
    limits: Limits,
    mentions: bool = True,
) -> Message:
    """A note for the desk only: never shown to requesters anywhere. `mentions`: tell the
    members it names with @ (not for text someone outside the desk wrote)."""
    if not permissions.is_desk(actor):
        # Requesters are told nothing about notes, not even that they exist.
        raise NotFound()
    not_merged(ticket)
    files = [f for f in files if f.filename]
    body = clean_body(body, allow_empty=bool(files))
    message = Message(ticket_id=ticket.id, author_id=actor.id, internal=True, body=body, created_at=now)
    session.add(message)
    session.flush()
    save_files(session, store, limits, ticket, message, actor, now, files, internal=True)
    record(session, ticket, actor, now, "note_added", new=message.id, internal=True)
    named = notify.mentioned_members(session, domain_mentions.mentioned(body)) if mentions else {}
    if named:
        excerpt = body if len(body) <= NOTE_EXCERPT else body[:NOTE_EXCERPT] + "…"
        params = notify.ticket_params(ticket, author=actor.display_name, excerpt=excerpt)
        notify.notify(
            session, now, [uid for uid, _ in named.values()], notify.MENTION, ticket, params, exclude=actor.id
        )
    ticket.updated_at = now
    search_index.refresh(session, ticket.id)
    drafts.discard(session, actor, ticket, "note")
    return message


def find_ticket(session: Session, ticket_id: int) -> Ticket:
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound()
    return ticket
