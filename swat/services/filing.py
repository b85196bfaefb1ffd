"""Filing a consultation: the form's choices, the checks, the number and the one unit written.

The text and priority rules a consultation is filed with (`clean_body`, `parse_priority`,
the length limits) hold for the later replies and priority changes too; tickets.py takes
them from here. Like every use case, filing takes the session, the actor and `now`, writes
its rows and events and flushes; the caller commits once at its boundary.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..domain import permissions, states
from ..domain.errors import Conflict, Forbidden, ValidationError
from ..domain.sla import FIRST_RESPONSE
from ..domain.tz import TOKYO
from ..models import Initiative, Theme, Ticket, TicketCounter, TicketInitiative, User
from . import notify, search_index, sla
from .attachments import Limits, save_files
from .history import record
from .statements import insert_or_update, transaction_memo
from .storage import AttachmentStore, Upload

TITLE_MAX = 200
BODY_MAX = 20000
MAX_INITIATIVES = 5
# A form sent again with the title and text of a consultation its requester filed within
# this time is asked about before it is filed (the browser's back button, a second tab).
DUPLICATE_WINDOW = timedelta(hours=24)


class Duplicate(Conflict):
    """The requester filed a consultation with this title and text a moment ago: its number
    and when (`number`, `filed_at`), for the form to ask whether to file another."""

    def __init__(self, message: str, number: str, filed_at: datetime) -> None:
        super().__init__(message, number=number)
        self.number = number
        self.filed_at = filed_at


_LINE_BREAKS = re.compile(r"[\t\n\r\v\f\x1c-\x1e\x85\u2028\u2029]+")


def clean_title(title: str) -> str:
    # One line, without white space at its ends; what is typed inside (an ideographic
    # space, two spaces) is kept as typed.
    title = _LINE_BREAKS.sub(" ", title or "").strip()
    if not title:
        raise ValidationError("Enter a title.", field="title")
    if len(title) > TITLE_MAX:
        raise ValidationError("The title can be at most %(max)d characters.", field="title", max=TITLE_MAX)
    return title


def clean_body(body: str, field: str = "body", allow_empty: bool = False) -> str:
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


def check_theme(session: Session, theme_id: str | None) -> str | None:
    if not theme_id:
        return None
    theme = session.get(Theme, theme_id)
    if theme is None or not theme.active:
        raise ValidationError("Choose a valid theme.", field="theme")
    return theme_id


def check_initiatives(session: Session, ids: Sequence[str]) -> list[str]:
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
    # One statement: the year's first filing creates its row (at most once, even with two
    # first filings at once), every later one adds one to it.
    bumped = session.execute(
        insert_or_update(
            session,
            TicketCounter,
            {"year": year, "last_number": 1},
            key=["year"],
            changes={"last_number": TicketCounter.last_number + 1},
        ).returning(TicketCounter.last_number)
    ).scalar_one()
    return f"{year}-{bumped:05d}"


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
    ask_if_duplicate: bool = False,
) -> Ticket:
    """File a consultation for the actor's department, with its files, as one unit.

    A repeated submission_token returns the ticket the first submission made,
    so a double-clicked form makes one ticket, even when both arrive at once. With
    `ask_if_duplicate` (a form the requester filled in), a consultation of the same
    title and text that the requester filed within DUPLICATE_WINDOW raises Duplicate
    instead: the form asks whether a second one is meant. The requester is sent a receipt
    by e-mail (notification kind "receipt"), however the consultation was filed.
    """
    if not permissions.can_file(actor):
        raise Forbidden("Only department staff can file consultations.")
    existing = _submitted(session, submission_token)
    if existing is not None:
        if existing.requester_id != actor.id:
            raise Conflict("This form was already used. Open a new form.")
        return existing
    title = clean_title(title)
    body = clean_body(body)
    if ask_if_duplicate:
        earlier = recent_duplicate(session, actor, now, title, body)
        if earlier is not None:
            raise Duplicate(
                "You already filed a consultation with this title and text as %(number)s.",
                earlier.number,
                earlier.created_at,
            )
    rank = parse_priority(priority)
    theme_id = check_theme(session, theme_id)
    initiative_ids = check_initiatives(session, initiative_ids)
    if due_date is not None and due_date < now.astimezone(TOKYO).date():
        raise ValidationError("The answer-by date cannot be in the past.", field="due_date")
    # The clocks are worked out first, so the ticket's row is written with its SLA due time.
    clocks = sla.start(session, rank, now)

    try:
        # In a savepoint: of two submissions of one form racing past the check above, the
        # second fails on the token's UNIQUE index, takes back its number and gets the first's ticket.
        with session.begin_nested():
            ticket = _insert_ticket(
                session,
                actor,
                now,
                title,
                body,
                rank,
                theme_id,
                initiative_ids,
                due_date,
                submission_token,
                clocks.due_at if clocks else None,
            )
    except IntegrityError:
        existing = _submitted(session, submission_token)
        if existing is None or existing.requester_id != actor.id:
            raise
        return existing
    record(session, ticket, actor, now, "created", new=ticket.number)
    if clocks is not None:
        sla.on_created(session, ticket, now, clocks)
    saved = save_files(session, store, limits, ticket, None, actor, now, files, internal=False)
    search_index.refresh(session, ticket.id, new=True, with_files=bool(saved))
    mark_filed(session, ticket.id, initiative_ids)
    _send_receipt(session, actor, now, ticket, clocks)
    return ticket


def _send_receipt(session: Session, actor: User, now: datetime, ticket: Ticket, clocks: sla.Started | None) -> None:
    """The requester's receipt (by e-mail only, unless they turned it off): the number, what
    happens next and when the first response is due."""
    first = clocks.step.clocks.get(FIRST_RESPONSE) if clocks is not None else None
    due = {"first_due": first.due_at.isoformat()} if first is not None and first.due_at is not None else {}
    notify.notify(session, now, [actor.id], notify.RECEIPT, ticket, notify.ticket_params(ticket, **due))


_FILED = "swat.filing.filed"


def mark_filed(session: Session, ticket_id: int, initiative_ids: list[str]) -> None:
    """Remember, for the rest of this transaction, that the ticket was filed in it and with
    which initiatives (routing then reads neither back)."""
    transaction_memo(session, _FILED)[ticket_id] = list(initiative_ids)


def filed_now(session: Session, ticket_id: int) -> list[str] | None:
    """The initiatives of a ticket filed in this transaction and not routed or re-linked
    since (asked once: the answer is forgotten); None for any other ticket."""
    return transaction_memo(session, _FILED).pop(ticket_id, None)


def recent_duplicate(session: Session, actor: User, now: datetime, title: str, body: str) -> Ticket | None:
    """The newest consultation the actor filed within DUPLICATE_WINDOW with this title and
    text (as cleaned for filing), or None."""
    return session.scalars(
        select(Ticket)
        .where(
            Ticket.requester_id == actor.id,
            # Their department's: one filed before they moved is not theirs to open any more.
            Ticket.department_id == actor.department_id,
            Ticket.created_at >= now - DUPLICATE_WINDOW,
            Ticket.title == title,
            Ticket.body == body,
        )
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(1)
    ).first()


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
    sla_due_at: datetime | None,
) -> Ticket:
    ticket = Ticket(
        number=next_number(session, now),
        title=title,
        body=body,
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
        sla_due_at=sla_due_at,
    )
    session.add(ticket)
    session.flush()
    for pos, iid in enumerate(initiative_ids):
        session.add(TicketInitiative(ticket_id=ticket.id, initiative_id=iid, position=pos))
    session.flush()
    return ticket


def filing_options(session: Session) -> tuple[Sequence[Theme], Sequence[Initiative]]:
    """The active themes and catalog initiatives a requester can choose from when filing, in catalog order."""
    themes = session.scalars(select(Theme).where(Theme.active).order_by(Theme.sort_order)).all()
    initiatives = session.scalars(
        select(Initiative).where(Initiative.active).order_by(Initiative.category, Initiative.sort_order)
    ).all()
    return themes, initiatives
