"""Related consultations, and a duplicate merged into its original.

Linking marks two consultations as related: each page lists the other (to those who may see
it), both histories say so. Merging ends a duplicate: its conversation and files move to the
original (each post keeps its author and time and says where it came from; the duplicate's
request becomes a post of the original), it is closed with its SLA clocks void, both
histories say so, both requesters are told, and the reports count the original only
(migration 0021 leaves a merged consultation out of the facts). A merge is final: the
duplicate takes no more replies or changes, and its page sends the reader to the original.

Only consultations of one department are merged: what moves is then seen by exactly the
people who saw it before. Consultations of two departments can be linked instead.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, joinedload

from ..domain import mentions, permissions, states
from ..domain.errors import Conflict, Forbidden, ValidationError
from ..models import Attachment, Draft, Message, Ticket, TicketLink, User
from . import drafts, notify, search_index, sla
from .history import record
from .statements import rows_matched
from .visibility import ticket_scope

LINKED, UNLINKED = "linked", "unlinked"
MERGED_INTO, MERGED_FROM = "merged_into", "merged_from"
# The notification both requesters (and the original's assignee) get.
MERGED = "merged"
# How many related consultations one consultation lists.
MAX_LINKS = 50


def _check_desk(actor: User) -> None:
    if not permissions.can_link_tickets(actor):
        raise Forbidden("You cannot change this consultation.")


def not_merged(ticket: Ticket) -> None:
    """Refuse any change to a duplicate merged into another consultation."""
    if ticket.merged_into_id is not None:
        raise Conflict("This consultation was merged into another one: continue there.")


def _other(session: Session, actor: User, ticket: Ticket, number: str) -> Ticket:
    """The consultation the actor named (its number, with or without #), if they may see it."""
    # As typed with an input method too: full-width digits and hyphen fold to ASCII.
    wanted = unicodedata.normalize("NFKC", number or "").strip().lstrip("#").strip()
    if not wanted:
        raise ValidationError("Enter the number of the other consultation.", field="number")
    if not mentions.is_number(wanted):
        raise ValidationError("Enter a consultation number such as 2026-00042.", field="number")
    other = session.scalars(
        select(Ticket).where(Ticket.number == wanted, ticket_scope(actor)).options(joinedload(Ticket.requester))
    ).one_or_none()
    if other is None:
        raise ValidationError("There is no consultation %(number)s that you may see.", field="number", number=wanted)
    if other.id == ticket.id:
        raise ValidationError("Choose another consultation than this one.", field="number")
    return other


def _touch(ticket: Ticket, now: datetime) -> None:
    ticket.updated_at = now
    ticket.last_activity_at = now


def link_tickets(session: Session, actor: User, now: datetime, ticket: Ticket, number: str) -> Ticket:
    """Mark `ticket` and the consultation numbered `number` as related; returns the other.
    Each history says so, internally when they belong to two departments (a department's
    staff do not learn of another department's consultation)."""
    _check_desk(actor)
    not_merged(ticket)
    other = _other(session, actor, ticket, number)
    not_merged(other)
    exists = session.get(TicketLink, (ticket.id, other.id))
    if exists is not None:
        raise ValidationError("These consultations are already related.", field="number")
    for side in (ticket, other):
        if len(_links_of(session, side.id)) >= MAX_LINKS:
            raise ValidationError("A consultation can have at most %(n)d related ones.", field="number", n=MAX_LINKS)
    internal = ticket.department_id != other.department_id
    for a, b in ((ticket, other), (other, ticket)):
        session.add(TicketLink(ticket_id=a.id, linked_id=b.id, created_by_id=actor.id, created_at=now))
        record(session, a, actor, now, LINKED, new=b.number, internal=internal)
    # Only the consultation worked on moves in the lists; the other's history says it.
    _touch(ticket, now)
    session.flush()
    return other


def _links_of(session: Session, ticket_id: int) -> list[int]:
    return list(session.scalars(select(TicketLink.linked_id).where(TicketLink.ticket_id == ticket_id)))


def unlink_tickets(session: Session, actor: User, now: datetime, ticket: Ticket, number: str) -> Ticket:
    """Undo link_tickets; returns the other consultation."""
    _check_desk(actor)
    not_merged(ticket)
    other = _other(session, actor, ticket, number)
    not_merged(other)
    gone = rows_matched(
        session,
        delete(TicketLink).where(
            ((TicketLink.ticket_id == ticket.id) & (TicketLink.linked_id == other.id))
            | ((TicketLink.ticket_id == other.id) & (TicketLink.linked_id == ticket.id))
        ),
    )
    if not gone:
        raise ValidationError("These consultations are not related.", field="number")
    internal = ticket.department_id != other.department_id
    for a, b in ((ticket, other), (other, ticket)):
        record(session, a, actor, now, UNLINKED, new=b.number, internal=internal)
    _touch(ticket, now)
    session.flush()
    return other


def related(session: Session, actor, ticket: Ticket) -> list[Ticket]:
    """The consultations related to this one that the actor may see, by number."""
    return list(
        session.scalars(
            select(Ticket)
            .join(TicketLink, TicketLink.linked_id == Ticket.id)
            .where(TicketLink.ticket_id == ticket.id, ticket_scope(actor))
            .order_by(Ticket.id)
            .limit(MAX_LINKS)
        )
    )


def merged_into_this(session: Session, ticket: Ticket) -> list[Ticket]:
    """The duplicates merged into this consultation (of its department: see the module)."""
    return list(session.scalars(select(Ticket).where(Ticket.merged_into_id == ticket.id).order_by(Ticket.id)))


def merge_target(session: Session, actor: User, duplicate: Ticket, number: str) -> Ticket:
    """The original the duplicate would be merged into, if the merge is allowed (what the
    page shows to confirm before merging); the refusal otherwise."""
    _check_desk(actor)
    not_merged(duplicate)
    original = _other(session, actor, duplicate, number)
    if original.merged_into_id is not None:
        raise ValidationError(
            "%(number)s was itself merged into another consultation: merge into that one.",
            field="number",
            number=original.number,
        )
    if original.department_id != duplicate.department_id:
        raise ValidationError(
            "Only consultations of the same department can be merged: relate them instead.", field="number"
        )
    if not states.is_open(original.status):
        # Its request would land on a consultation no queue shows.
        raise ValidationError(
            "%(number)s is resolved or closed: reopen it first, then merge into it.",
            field="number",
            number=original.number,
        )
    return original


def _lock_in_order(session: Session, *pair: Ticket) -> None:
    """Both rows locked in id order before either is written (PostgreSQL): two merges of the
    same pair in opposite directions wait for each other instead of deadlocking, and the
    second then finds the first done (its version check or not_merged refuses it)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    ids = sorted(t.id for t in pair)
    session.execute(select(Ticket.id).where(Ticket.id.in_(ids)).order_by(Ticket.id).with_for_update(key_share=True))


def merge_ticket(session: Session, actor: User, now: datetime, duplicate: Ticket, number: str) -> Ticket:
    """Merge `duplicate` into the consultation numbered `number` (the original); returns it.
    See the module for what a merge does."""
    original = merge_target(session, actor, duplicate, number)
    _lock_in_order(session, duplicate, original)
    _move_conversation(session, duplicate, original)
    _move_links(session, duplicate, original, now)
    _move_drafts(session, duplicate, original)
    # Duplicates merged into this one before now point to the original too.
    session.execute(
        update(Ticket)
        .where(Ticket.merged_into_id == duplicate.id)
        .values(merged_into_id=original.id)
        .execution_options(synchronize_session=False)
    )
    duplicate.merged_into_id = original.id
    duplicate.triage = False
    old = duplicate.status
    if old != states.CLOSED:
        duplicate.status = states.CLOSED
        duplicate.closed_at = now
        record(session, duplicate, actor, now, "status", old=old, new=states.CLOSED)
    sla.on_merged(session, duplicate, now)
    record(session, duplicate, actor, now, MERGED_INTO, new=original.number)
    record(session, original, actor, now, MERGED_FROM, new=duplicate.number)
    _touch(duplicate, now)
    _touch(original, now)
    session.flush()
    search_index.refresh(session, duplicate.id)
    search_index.refresh(session, original.id)
    params = notify.ticket_params(original, duplicate=duplicate.number, duplicate_title=duplicate.title)
    notify.notify(
        session,
        now,
        [i for i in (duplicate.requester_id, original.requester_id, original.assignee_id) if i is not None],
        MERGED,
        original,
        params,
        exclude=actor.id,
    )
    return original


def _move_links(session: Session, duplicate: Ticket, original: Ticket, now: datetime) -> None:
    """The duplicate's related consultations become the original's (each pair once)."""
    have = set(_links_of(session, original.id)) | {original.id}
    moved = [i for i in _links_of(session, duplicate.id) if i not in have]
    session.execute(
        delete(TicketLink)
        .where((TicketLink.ticket_id == duplicate.id) | (TicketLink.linked_id == duplicate.id))
        .execution_options(synchronize_session=False)
    )
    for other in moved:
        for a, b in ((original.id, other), (other, original.id)):
            session.add(TicketLink(ticket_id=a, linked_id=b, created_by_id=None, created_at=now))


def _move_drafts(session: Session, duplicate: Ticket, original: Ticket) -> None:
    """What anyone was typing on the duplicate goes on in the original's box (after what they
    may have typed there already), so that nothing typed is lost."""
    theirs = {(d.user_id, d.kind): d for d in session.scalars(select(Draft).where(Draft.ticket_id == original.id))}
    for d in session.scalars(select(Draft).where(Draft.ticket_id == duplicate.id)).all():
        kept = theirs.get((d.user_id, d.kind))
        if kept is not None:
            kept.body = f"{kept.body}\n\n{d.body}"[: drafts.BODY_MAX]
            session.delete(d)
        else:
            d.ticket_id = original.id
    session.flush()


def _move_conversation(session: Session, duplicate: Ticket, original: Ticket) -> None:
    """The duplicate's request becomes a post of the original (by its requester, at its
    time, with its files); its replies, notes and their files move as they are. Each says
    which consultation it came from."""
    request = Message(
        ticket_id=original.id,
        author_id=duplicate.requester_id,
        internal=False,
        body=duplicate.body,
        created_at=duplicate.created_at,
        merged_from_id=duplicate.id,
    )
    session.add(request)
    session.flush()
    # One statement each: a file filed with the request goes with the request's post.
    session.execute(
        update(Attachment)
        .where(Attachment.ticket_id == duplicate.id)
        .values(ticket_id=original.id, message_id=func.coalesce(Attachment.message_id, request.id))
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Message)
        .where(Message.ticket_id == duplicate.id)
        .values(ticket_id=original.id, merged_from_id=func.coalesce(Message.merged_from_id, duplicate.id))
        .execution_options(synchronize_session=False)
    )


def carry_over(session: Session, actor: User, now: datetime, ticket: Ticket, kind: str, body: str) -> Ticket | None:
    """What the actor typed for a consultation merged into another meanwhile, kept as their
    draft on the original (after a draft they may have there); returns the original, or
    None when the consultation is not merged (or the original is not theirs to see)."""
    session.refresh(ticket)
    if ticket.merged_into_id is None:
        return None
    original = session.scalars(
        select(Ticket).where(Ticket.id == ticket.merged_into_id, ticket_scope(actor))
    ).one_or_none()
    if original is None:
        return None
    kept = drafts.of(session, actor, original.id).get(kind)
    text = f"{kept.body}\n\n{body}" if kept is not None and kept.body.strip() else body
    drafts.keep(session, actor, now, original, kind, text[: drafts.BODY_MAX])
    return original
