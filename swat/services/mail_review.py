"""Mail held for review: the lead files it for a department, attaches it to a consultation or
discards it. Each held message is dealt with once: the first of two leads to act wins, the
other is told it was done (a conditional UPDATE of its status)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..domain import permissions
from ..domain.errors import Conflict, Forbidden, NotFound, ValidationError
from ..domain.mail_parse import ParsedMail, parse
from ..models import Department, InboundMail, Ticket, User
from . import history, tickets
from .attachments import Limits
from .mail_intake import IntakeSettings, body_of, file_mail, keep_original
from .statements import rows_matched
from .storage import AttachmentStore, Upload

PAGE_SIZE = 50


@dataclass(frozen=True)
class HeldList:
    """One page of the held mail, oldest first (nothing waits unseen behind newer mail),
    and how many there are in all."""

    mails: Sequence[InboundMail]
    total: int
    page: int
    pages: int


@dataclass(frozen=True)
class HeldMail:
    """A held message and what it says (read again from the message as received)."""

    row: InboundMail
    mail: ParsedMail
    raw: bytes


def _check(actor) -> None:
    if not permissions.can_review_mail(actor):
        raise Forbidden("Only the SWAT lead reviews held mail.")


def held_mails(session: Session, actor, page: int = 1) -> HeldList:
    """What waits for review, a page at a time, oldest first (the order it came in)."""
    _check(actor)
    total = session.scalar(select(func.count()).select_from(InboundMail).where(InboundMail.status == "held")) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages)
    mails = session.scalars(
        select(InboundMail)
        .where(InboundMail.status == "held")
        .order_by(InboundMail.received_at, InboundMail.id)
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    ).all()
    return HeldList(mails, total, page, pages)


def held_mail(session: Session, actor, mail_id: int, store: AttachmentStore) -> HeldMail:
    _check(actor)
    row = session.get(InboundMail, mail_id)
    if row is None or not row.raw_key:
        raise NotFound()
    if row.status != "held":
        raise Conflict("Someone has already dealt with this mail.")
    raw = store.path_for(row.raw_key).read_bytes()
    return HeldMail(row, parse(raw), raw)


def requesters(session: Session) -> list[tuple[User, Department]]:
    """Whom a held mail can be filed for: active staff with a department, by department."""
    rows = session.execute(
        select(User, Department)
        .join(Department, Department.id == User.department_id)
        .where(User.active, User.role == permissions.STAFF)
        .order_by(Department.sort_order, User.display_name, User.id)
    )
    return [(u, d) for u, d in rows]


def fitting_files(mail: ParsedMail, limits: Limits) -> tuple[list[Upload], int]:
    """The mail's files that a post takes (the web form's limits), and how many are left out:
    those stay in the message as received, original.eml, on the consultation."""
    # Attachments first, inline images (a signature's logo) after.
    ordered = sorted(mail.files, key=lambda f: f.inline)
    fit = [f for f in ordered if len(f.data) <= limits.max_bytes][: limits.max_files]
    return [Upload(f.filename, io.BytesIO(f.data), f.content_type) for f in fit], len(mail.files) - len(fit)


def _take(session: Session, actor, now: datetime, mail_id: int, status: str) -> None:
    """Mark the held message dealt with, or refuse if someone else did first."""
    done = rows_matched(
        session,
        update(InboundMail)
        .where(InboundMail.id == mail_id, InboundMail.status == "held")
        .values(status=status, reviewed_by_id=actor.id, reviewed_at=now)
        .execution_options(synchronize_session=False),
    )
    if done != 1:
        raise Conflict("Someone has already dealt with this mail.")


def file_held(
    session: Session,
    actor,
    now: datetime,
    mail_id: int,
    requester_id: int | None,
    store: AttachmentStore,
    limits: Limits,
    config: IntakeSettings,
) -> Ticket:
    """File the held mail as a consultation of this staff member (their department's)."""
    held = held_mail(session, actor, mail_id, store)
    requester = session.get(User, requester_id) if requester_id else None
    if requester is None or not requester.active or not permissions.can_file(requester):
        raise ValidationError("Choose the staff member the consultation is filed for.", field="requester")
    _take(session, actor, now, mail_id, "filed")
    mail = held.mail
    files = fitting_files(mail, limits)[0]
    ticket, _key = file_mail(
        session, requester, now, mail, held.raw, files, store, limits, config.routing_auto_apply, actor
    )
    held.row.ticket_id = ticket.id
    return ticket


def attach_held(
    session: Session, actor, now: datetime, mail_id: int, number: str, store: AttachmentStore, limits: Limits
) -> Ticket:
    """Put the held mail on a consultation as an internal note (its sender is nobody the
    requester knows of), with its files and the message as received."""
    held = held_mail(session, actor, mail_id, store)
    ticket = session.scalars(select(Ticket).where(Ticket.number == (number or "").strip())).one_or_none()
    if ticket is None:
        raise ValidationError("There is no consultation %(number)s.", field="number", number=(number or "").strip())
    _take(session, actor, now, mail_id, "attached")
    mail = held.mail
    who = f"{mail.sender_name} <{mail.sender}>" if mail.sender_name else mail.sender
    text = body_of(f"From: {who}\nSubject: {mail.subject}\n\n{mail.text}")
    with history.batched(session):
        # An outsider's "@name" is text: it tells nobody.
        note = tickets.add_internal_note(
            session, actor, now, ticket, text, fitting_files(mail, limits)[0], store, limits, mentions=False
        )
        keep_original(session, store, held.raw, ticket, note, actor, now)
    held.row.ticket_id, held.row.post_id = ticket.id, note.id
    return ticket


def discard_held(session: Session, actor, now: datetime, mail_id: int, store: AttachmentStore) -> None:
    """Nothing is filed; the row stays (the sender and subject, for the record)."""
    held_mail(session, actor, mail_id, store)
    _take(session, actor, now, mail_id, "discarded")
