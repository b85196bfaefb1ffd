"""Filing and working consultations: the desk's use cases.

Every function takes the session, the acting user and `now`, checks the
rules, writes rows plus a TicketEvent in the same transaction and flushes;
the caller (a view, a command, a job) commits once at its boundary.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..domain import permissions, states
from ..domain.errors import Conflict, Forbidden, NotFound, ValidationError
from ..domain.text import normalize_for_search
from ..domain.tz import TOKYO
from ..models import (
    Attachment,
    Initiative,
    Message,
    Theme,
    Ticket,
    TicketCounter,
    TicketEvent,
    TicketInitiative,
    User,
)
from . import notify, sla
from .statements import insert_or_nothing, rows_matched
from .storage import AttachmentStore, TooLarge, Upload

TITLE_MAX = 200
BODY_MAX = 20000
MAX_INITIATIVES = 5


class Limits:
    """Upload limits from settings, passed in by the caller."""

    def __init__(self, max_bytes: int, max_files: int) -> None:
        self.max_bytes = max_bytes
        self.max_files = max_files


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


def _touch(ticket: Ticket, now: datetime) -> None:
    ticket.updated_at = now
    ticket.last_activity_at = now


def _clean_title(title: str) -> str:
    title = " ".join((title or "").split())
    if not title:
        raise ValidationError("Enter a title.", field="title")
    if len(title) > TITLE_MAX:
        raise ValidationError("The title can be at most %(max)d characters.", field="title", max=TITLE_MAX)
    return title


def _clean_body(body: str, field: str = "body", allow_empty: bool = False) -> str:
    body = (body or "").replace("\r\n", "\n").strip()
    if not body and not allow_empty:
        raise ValidationError("Enter the details.", field=field)
    if len(body) > BODY_MAX:
        raise ValidationError("The text can be at most %(max)d characters.", field=field, max=BODY_MAX)
    return body


def parse_priority(value: str | int) -> int:
    if isinstance(value, int) and 0 <= value < len(states.PRIORITIES):
        return value
    if value in states.PRIORITY_RANK:
        return states.PRIORITY_RANK[value]
    raise ValidationError("Choose a valid priority.", field="priority")


def _check_theme(session: Session, theme_id: str | None) -> str | None:
    if not theme_id:
        return None
    theme = session.get(Theme, theme_id)
    if theme is None or not theme.active:
        raise ValidationError("Choose a valid theme.", field="theme")
    return theme_id


def _check_initiatives(session: Session, ids: Sequence[str]) -> list[str]:
    ids = list(dict.fromkeys(i for i in ids if i))
    if len(ids) > MAX_INITIATIVES:
        raise ValidationError("Choose at most %(max)d initiatives.", field="initiatives", max=MAX_INITIATIVES)
    if ids:
        found = set(session.scalars(select(Initiative.id).where(Initiative.id.in_(ids), Initiative.active)))
        if found != set(ids):
            raise ValidationError("Choose valid initiatives.", field="initiatives")
    return ids


def next_number(session: Session, now: datetime) -> str:
    """A readable, never reused ticket number: the year in Tokyo and a counter (2026-00042).

    The counter row is updated in the filing transaction, so concurrent filings
    queue on it and no two tickets share a number.
    """
    year = now.astimezone(TOKYO).year
    # The year's row is created at most once, even by two first filings at once.
    session.execute(insert_or_nothing(session, TicketCounter, {"year": year, "last_number": 0}))
    bumped = session.execute(
        update(TicketCounter)
        .where(TicketCounter.year == year)
        .values(last_number=TicketCounter.last_number + 1)
        .returning(TicketCounter.last_number)
    ).scalar_one()
    return f"{year}-{bumped:05d}"


def _save_files(
    session: Session,
    store: AttachmentStore,
    limits: Limits,
    ticket: Ticket,
    message: Message | None,
    actor,
    now: datetime,
    files: Iterable[Upload],
    internal: bool,
) -> list[Attachment]:
    files = [f for f in files if f.filename]
    if len(files) > limits.max_files:
        raise ValidationError("Attach at most %(max)d files at a time.", field="attachments", max=limits.max_files)
    saved = []
    for upload in files:
        name = _clean_filename(upload.filename)
        try:
            key, size, sha = store.save(session, upload.stream, limits.max_bytes)
        except TooLarge:
            raise ValidationError(
                "“%(name)s” is larger than %(limit)s.",
                field="attachments",
                name=name,
                limit=_human_size(limits.max_bytes),
            )
        att = Attachment(
            ticket_id=ticket.id,
            message_id=message.id if message else None,
            internal=internal,
            filename=name,
            storage_key=key,
            content_type=_safe_type(upload.content_type),
            size_bytes=size,
            sha256=sha,
            uploaded_by_id=actor.id,
            created_at=now,
        )
        session.add(att)
        saved.append(att)
        record(session, ticket, actor, now, "attachment_added", new=name, internal=internal)
    return saved


def _clean_filename(name: str) -> str:
    # Keep the name as the user gave it (Japanese included) for display only;
    # drop any path and control characters. It never becomes a path on disk.
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if ord(c) >= 0x20 and ord(c) != 0x7F).strip()
    return (name or "file")[:255]


def _safe_type(declared: str | None) -> str:
    declared = (declared or "").split(";")[0].strip().lower()
    if len(declared) > 100 or "/" not in declared:
        return "application/octet-stream"
    return declared


def _human_size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):g} MB"
    return f"{n / 1024:g} KB"


def file_consultation(
    session: Session,
    actor: User,
    now: datetime,
    *,
    title: str,
    body: str,
    theme_id: str | None,
    initiative_ids: Sequence[str],
    priority: str,
    due_date: date | None,
    files: Iterable[Upload],
    store: AttachmentStore,
    limits: Limits,
    submission_token: str | None = None,
) -> Ticket:
    """File a consultation for the actor's department, with its files, as one unit.

    A repeated submission_token returns the ticket the first submission made,
    so a double-clicked form makes one ticket, even when both arrive at once.
    """
    if not permissions.can_file(actor):
        raise Forbidden("Only department staff can file consultations.")
    existing = _submitted(session, submission_token)
    if existing is not None:
        if existing.requester_id != actor.id:
            raise Conflict("This form was already used. Open a new form.")
        return existing
    title = _clean_title(title)
    body = _clean_body(body)
    rank = parse_priority(priority)
    theme_id = _check_theme(session, theme_id)
    initiative_ids = _check_initiatives(session, initiative_ids)
    if due_date is not None and due_date < now.astimezone(TOKYO).date():
        raise ValidationError("The answer-by date cannot be in the past.", field="due_date")

    try:
        # In a savepoint: of two submissions of one form racing past the check above, the
        # second fails on the token's UNIQUE index, takes back its number and gets the first's ticket.
        with session.begin_nested():
            ticket = _insert_ticket(
                session, actor, now, title, body, rank, theme_id, initiative_ids, due_date, submission_token
            )
    except IntegrityError:
        existing = _submitted(session, submission_token)
        if existing is None or existing.requester_id != actor.id:
            raise
        return existing
    record(session, ticket, actor, now, "created", new=ticket.number)
    sla.on_created(session, ticket, now)
    _save_files(session, store, limits, ticket, None, actor, now, files, internal=False)
    session.flush()
    return ticket


def _submitted(session: Session, submission_token: str | None) -> Ticket | None:
    if not submission_token:
        return None
    return session.scalars(select(Ticket).where(Ticket.submission_token == submission_token)).one_or_none()


def _insert_ticket(
    session: Session,
    actor: User,
    now: datetime,
    title: str,
    body: str,
    rank: int,
    theme_id: str | None,
    initiative_ids: list[str],
    due_date: date | None,
    submission_token: str | None,
) -> Ticket:
    ticket = Ticket(
        number=next_number(session, now),
        title=title,
        body=body,
        search_text=normalize_for_search(f"{title}\n{body}"),
        status=states.NEW,
        priority=rank,
        theme_id=theme_id,
        department_id=actor.department_id,
        requester_id=actor.id,
        due_date=due_date,
        created_at=now,
        updated_at=now,
        last_activity_at=now,
        submission_token=submission_token or None,
    )
    session.add(ticket)
    session.flush()
    for pos, iid in enumerate(initiative_ids):
        session.add(TicketInitiative(ticket_id=ticket.id, initiative_id=iid, position=pos))
    session.flush()
    return ticket


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


def _set_status(session: Session, ticket: Ticket, actor, now: datetime, new_status: str) -> None:
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
    """Move the ticket to `target` if the transition table allows it for the actor."""
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
    _set_status(session, ticket, actor, now, new_status)
    _touch(ticket, now)
    session.flush()
    return ticket


def change_priority(session: Session, actor: User, now: datetime, ticket: Ticket, priority: str) -> Ticket:
    """The desk changes the urgency; the SLA targets are recomputed from the start."""
    if not permissions.is_desk(actor):
        raise Forbidden("You cannot change this consultation.")
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
) -> Message:
    """A post the requester sees: the desk's answer, or the requester's follow-up.

    A requester's reply while the desk waits for them hands the ticket back
    (waiting -> in progress). Closed or resolved tickets must be reopened first.
    """
    files = [f for f in files if f.filename]
    desk = permissions.is_desk(actor)
    if not desk and not permissions.can_act_as_requester(actor, ticket.department_id):
        raise Forbidden("You cannot reply to this consultation.")
    if not states.is_open(ticket.status):
        raise ValidationError("Reopen the consultation before replying.", field="body")
    body = _clean_body(body, allow_empty=bool(files))
    message = Message(ticket_id=ticket.id, author_id=actor.id, internal=False, body=body, created_at=now)
    session.add(message)
    session.flush()
    _save_files(session, store, limits, ticket, message, actor, now, files, internal=False)
    record(session, ticket, actor, now, "replied" if desk else "requester_replied", new=message.id)
    if desk:
        sla.on_desk_reply(session, ticket, now)
        notify.notify(
            session,
            now,
            [ticket.requester_id],
            "reply",
            ticket,
            notify.ticket_params(ticket, author=actor.display_name),
            exclude=actor.id,
        )
    if not desk and ticket.status == states.WAITING:
        _set_status(
            session, ticket, actor, now, states.transition(ticket.status, "requester_replied", states.REQUESTER)
        )
    _touch(ticket, now)
    session.flush()
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
) -> Message:
    """A note for the desk only: never shown to requesters anywhere."""
    if not permissions.is_desk(actor):
        # Requesters are told nothing about notes, not even that they exist.
        raise NotFound()
    files = [f for f in files if f.filename]
    body = _clean_body(body, allow_empty=bool(files))
    message = Message(ticket_id=ticket.id, author_id=actor.id, internal=True, body=body, created_at=now)
    session.add(message)
    session.flush()
    _save_files(session, store, limits, ticket, message, actor, now, files, internal=True)
    record(session, ticket, actor, now, "note_added", new=message.id, internal=True)
    ticket.updated_at = now
    session.flush()
    return message


def filing_options(session: Session) -> tuple[Sequence[Theme], Sequence[Initiative]]:
    """The active themes and catalog initiatives a requester can choose from when filing, in catalog order."""
    themes = session.scalars(select(Theme).where(Theme.active).order_by(Theme.sort_order)).all()
    initiatives = session.scalars(
        select(Initiative).where(Initiative.active).order_by(Initiative.category, Initiative.sort_order)
    ).all()
    return themes, initiatives


def find_ticket(session: Session, ticket_id: int) -> Ticket:
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound()
    return ticket
