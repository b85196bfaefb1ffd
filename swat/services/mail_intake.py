"""Mail to the desk: one received message filed, threaded as a reply, held, ignored or refused.

`ingest` takes the raw message and does all of it in the caller's transaction, which the
caller commits once (the `swat mail ingest` command, the IMAP fetcher). The message's row
in `inbound_mails` is written first under its UNIQUE Message-ID: a second delivery of the
same message (two fetchers, a fetcher restarted halfway, an MTA retrying) waits for the
first and then finds it, and takes nothing in twice.

Who may do what is the web's rule: a staff member's new mail files a consultation for
their department; a reply from someone who may reply to the consultation it names (its
requester's side, or any desk member) is a reply the requester sees (a desk member's mail
is never silently internal); anything else is held for the lead's review. Mail written by
a machine (auto-replies, bounces, lists) never files or replies, so nothing loops.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..domain import mail_ids, permissions, states
from ..domain.errors import DomainError
from ..domain.mail_parse import ParsedMail, parse
from ..models import InboundMail, Message, OutboxMessage, Ticket, User
from . import filing, history, mail_checks, passwords, routing, tickets
from .attachments import Limits, save_files
from .notify import outbox_row
from .storage import AttachmentStore, Upload

ORIGINAL_NAME = "original.eml"
# Statuses of what `ingest` did (the InboundMail statuses it writes, and "duplicate": this
# message was taken in before).
FILED, REPLY, HELD, IGNORED, REFUSED, DUPLICATE = "filed", "reply", "held", "ignored", "refused", "duplicate"
# A mail's time of receipt older than this is not believed for the clocks (a mailbox
# read after a long outage still starts them at the fetch).
RECEIPT_TRUST = timedelta(days=3)
REFUSAL_KIND = "mail_refused"
# A sender is told of at most this many refused mails an hour.
REFUSALS_PER_HOUR = 3
_PREFIXES = re.compile(r"^\s*((re|fw|fwd|aw|wg|返信|転送)\s*[:：]\s*|\[swat\]\s*)+", re.IGNORECASE)


@dataclass(frozen=True)
class IntakeSettings:
    """What intake needs from the settings (the caller reads them; services read no Flask)."""

    domain: str  # of the desk's own Message-IDs: domain_of(mail_from)
    max_bytes: int  # the largest message taken in (max_request_bytes, as the web form)
    max_per_hour: int  # mail_max_per_hour
    trusted_authserv_id: str = ""  # mail_trusted_authserv_id: "" reads no Authentication-Results
    routing_auto_apply: bool = True
    # The desk's own addresses (mail_from, mail_inbound_address): mail from them is its own
    # notice come back, never taken in.
    own_addresses: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, s) -> IntakeSettings:
        return cls(
            domain=mail_ids.domain_of(s["mail_from"]),
            max_bytes=int(s["max_request_bytes"]),
            max_per_hour=int(s["mail_max_per_hour"]),
            trusted_authserv_id=s["mail_trusted_authserv_id"],
            routing_auto_apply=bool(s["routing_auto_apply"]),
            own_addresses=tuple(a.strip().lower() for a in (s["mail_from"], s["mail_inbound_address"]) if a.strip()),
        )


@dataclass(frozen=True)
class Outcome:
    """What became of one message: a status above, why (a reason code for held, ignored and
    refused), the consultation's number when it has one, and its inbound_mails row."""

    status: str
    reason: str = ""
    number: str | None = None
    inbound_id: int | None = None


def ingest(
    session: Session,
    raw: bytes,
    now: datetime,
    *,
    store: AttachmentStore,
    limits: Limits,
    config: IntakeSettings,
    source: str = "ingest",
    received_at: datetime | None = None,
    size: int | None = None,
) -> Outcome:
    """Take one received message in; the caller commits. `size`: the message's size when
    only its header was read (a mailbox's message over the limit is not downloaded)."""
    size = max(size or 0, len(raw))
    if size > config.max_bytes:
        return _refuse_oversized(session, raw, now, config, source, size)
    mail = parse(raw)
    passwords.spend_links_in(session, now, raw, mail.text)  # nobody at the desk may use one
    row = _claim(session, mail, content_digest(raw), now, source, len(raw))
    if row is None:
        return Outcome(DUPLICATE)
    if mail.automatic:
        if mail.automatic == "bounce":
            _mark_bounced(session, mail, now)
        return _close(row, IGNORED, mail.automatic)
    if mail.sender and mail.sender in config.own_addresses:
        return _close(row, IGNORED, "from_desk")
    user = mail_checks.sender_account(session, mail.sender)
    row.user_id = user.id if user else None
    held = mail_checks.why_held(session, mail, user, row, now, config)
    if held or user is None:
        return _hold(session, row, raw, store, held or "unknown_sender")
    if mail.looks_automatic:  # only its subject says so: a person may have written it
        return _hold(session, row, raw, store, "looks_automatic")
    if mail_ids.internal_referenced([*mail.in_reply_to, *mail.references], config.domain) or (
        mail_ids.desk_only_subject(mail.subject)
    ):
        return _hold(session, row, raw, store, "internal_notice")
    ticket = mail_checks.named_ticket(session, mail, config.domain)
    refusal = mail_checks.too_much(mail, limits)
    if refusal:
        return _refuse(session, row, user, mail, now, refusal)
    if ticket is not None:
        if not (permissions.is_desk(user) or permissions.can_act_as_requester(user, ticket.department_id)):
            return _hold(session, row, raw, store, "not_allowed")
        # Never a whole quoted block as a post: what trimming left, or the files alone.
        text = "" if mail.nothing_new else mail.reply_text
        if not text.strip() and not any(not f.inline for f in mail.files):  # a logo says nothing
            return _hold(session, row, raw, store, "empty_reply")
        return _reply(session, row, raw, mail, text, user, ticket, now, store, limits)
    if not permissions.can_file(user):
        return _hold(session, row, raw, store, "not_staff")
    clock_start = _receipt(now, received_at or mail.received)
    return _file(session, row, raw, mail, user, clock_start, store, limits, config)


_WHO_WHAT = re.compile(rb"^(from|to|cc|subject|date|message-id)\s*:", re.IGNORECASE)


def content_digest(raw: bytes) -> str:
    """The digest of what the sender wrote: the body and the From, To, Cc, Subject, Date and
    Message-ID lines, without the trace the servers on the way add (Received, Delivered-To,
    Authentication-Results, ...), so one message delivered by two routes is one message."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = raw.partition(b"\n\n")
    digest = hashlib.sha256()
    keep = False
    for line in head.splitlines():
        if line[:1] in (b" ", b"\t"):
            if keep:
                digest.update(line.strip() + b" ")
            continue
        keep = bool(_WHO_WHAT.match(line))
        if keep:
            digest.update(b"\n" + line.strip() + b" ")
    digest.update(b"\n\n" + body)
    return digest.hexdigest()


def _claim(
    session: Session, mail: ParsedMail, digest: str, now: datetime, source: str, size: int
) -> InboundMail | None:
    """The message's row, written first; None when this message was taken in before. A
    different message that reuses a Message-ID (scan-to-mail devices do) is taken in under
    its id and digest."""
    message_id = mail.message_id[:255]
    for attempt in range(2):
        row = InboundMail(
            message_id=message_id,
            raw_sha256=digest,
            received_at=now,
            mail_date=mail.date,
            source=source,
            sender=mail.sender[:254],
            sender_name=mail.sender_name[:200],
            subject=mail.subject[:500],
            status=HELD,
            reason="",
            size_bytes=size,
        )
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
            return row
        except IntegrityError:
            earlier = session.scalar(select(InboundMail.raw_sha256).where(InboundMail.message_id == message_id))
            if attempt or earlier in (None, digest):
                return None
            message_id = f"{mail.message_id[:180]}#{digest[:40]}"
    return None


def _close(row: InboundMail, status: str, reason: str = "", number: str | None = None) -> Outcome:
    row.status = status
    row.reason = reason[:32]
    return Outcome(status, reason, number, row.id)


def _receipt(now: datetime, received_at: datetime | None) -> datetime:
    if received_at is None or received_at > now or received_at < now - RECEIPT_TRUST:
        return now
    return received_at


def uploads_of(mail: ParsedMail) -> list[Upload]:
    return [Upload(f.filename, io.BytesIO(f.data), f.content_type) for f in mail.files]


def keep_original(
    session: Session, store: AttachmentStore, raw: bytes, ticket: Ticket, post: Message | None, user: User, now
) -> str:
    """The message as received, an .eml on the consultation only the desk sees."""
    original = Upload(ORIGINAL_NAME, io.BytesIO(raw), "message/rfc822")
    saved = save_files(session, store, Limits(len(raw) + 1, 1), ticket, post, user, now, [original], internal=True)
    return saved[0].storage_key


def body_of(text: str) -> str:
    """The text as a post takes it: at most the post's length (the .eml keeps the rest)."""
    text = text.strip()
    if len(text) > filing.BODY_MAX:
        marker = "\n…"
        text = text[: filing.BODY_MAX - len(marker)] + marker
    return text


def title_of(mail: ParsedMail) -> str:
    title = _PREFIXES.sub("", mail.subject).strip()
    if not title:
        first = next((line.strip() for line in mail.text.splitlines() if line.strip()), "")
        title = first[:60] or mail.sender
    return title[: filing.TITLE_MAX]


def file_mail(
    session: Session,
    requester: User,
    at: datetime,
    mail: ParsedMail,
    raw: bytes,
    files: list[Upload],
    store: AttachmentStore,
    limits: Limits,
    auto_apply: bool,
    kept_by: User,
) -> tuple[Ticket, str]:
    """A consultation of `requester` from a mail, filed and routed as a filed one is, the
    mail kept as received (uploaded by `kept_by`); returns it and the .eml's storage key.
    Used by the intake and by the lead filing a held mail."""
    with history.batched(session):
        ticket = filing.file_consultation(
            session,
            requester,
            at,
            title=title_of(mail),
            body=body_of(mail.text) or title_of(mail),
            theme_id=None,
            initiative_ids=[],
            priority="normal",
            due_date=None,
            files=files,
            store=store,
            limits=limits,
        )
        ticket.mail_thread_id = f"<{mail.message_id}>"[:255]
        key = keep_original(session, store, raw, ticket, None, kept_by, at)
        routing.route_new_ticket(session, ticket, at, auto_apply=auto_apply)
    return ticket, key


def _file(
    session: Session,
    row: InboundMail,
    raw: bytes,
    mail: ParsedMail,
    user: User,
    at: datetime,
    store: AttachmentStore,
    limits: Limits,
    config: IntakeSettings,
) -> Outcome:
    """A new consultation from a staff member's mail."""
    try:
        with session.begin_nested():
            ticket, row.raw_key = file_mail(
                session, user, at, mail, raw, uploads_of(mail), store, limits, config.routing_auto_apply, user
            )
    except DomainError as exc:
        return _refuse(session, row, user, mail, row.received_at, _invalid(exc))
    row.ticket_id = ticket.id
    return _close(row, FILED, number=ticket.number)


def _reply(
    session: Session,
    row: InboundMail,
    raw: bytes,
    mail: ParsedMail,
    text: str,
    user: User,
    ticket: Ticket,
    now: datetime,
    store: AttachmentStore,
    limits: Limits,
) -> Outcome:
    """A reply the requester sees (from the requester's side or the desk), reopening a
    resolved or closed consultation as replying on the page would after 'reopen'."""
    try:
        with session.begin_nested(), history.batched(session):
            if not states.is_open(ticket.status):
                tickets.reopen_ticket(session, user, now, ticket)
            post = tickets.add_reply(session, user, now, ticket, body_of(text), uploads_of(mail), store, limits)
            row.raw_key = keep_original(session, store, raw, ticket, post, user, now)
    except DomainError as exc:
        return _refuse(session, row, user, mail, now, _invalid(exc))
    row.ticket_id, row.post_id = ticket.id, post.id
    return _close(row, REPLY, number=ticket.number)


def _invalid(exc: DomainError) -> dict:
    """A rule the message broke, as its message id and values (put in words when sent)."""
    values = {k: v if isinstance(v, int | float) else str(v) for k, v in exc.params.items()}
    return {"reason": "invalid", "message": exc.message, "values": values}


def _hold(session: Session, row: InboundMail, raw: bytes, store: AttachmentStore, reason: str) -> Outcome:
    """Kept for the lead's review, the message as received beside its row."""
    key, _size, _sha = store.save(session, io.BytesIO(raw), len(raw) + 1)
    row.raw_key = key
    return _close(row, HELD, reason)


def _refuse(session: Session, row: InboundMail, user: User, mail: ParsedMail, now: datetime, why: dict) -> Outcome:
    """Nothing is filed; the sender (a known account) gets a mail saying what was refused,
    at most REFUSALS_PER_HOUR an hour."""
    if user.email and mail_checks.refusals_told(session, row, now) < REFUSALS_PER_HOUR:
        params = json.dumps({"subject": mail.subject[:200], **why}, ensure_ascii=False)
        row_values = outbox_row("email", user.email, user.locale or "ja", REFUSAL_KIND, params, now)
        session.execute(insert(OutboxMessage).values(**row_values))
    return _close(row, REFUSED, str(why["reason"]))


def _refuse_oversized(
    session: Session, raw: bytes, now: datetime, config: IntakeSettings, source: str, size: int
) -> Outcome:
    """A message over the limit: its headers only are read; a known sender is told."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    mail = parse(head + b"\r\n\r\n")  # without a Message-ID, the headers' digest names it
    claimed = _claim(session, mail, content_digest(raw), now, source, size)
    if claimed is None:
        return Outcome(DUPLICATE)
    user = mail_checks.sender_account(session, mail.sender) if not mail.automatic else None
    # The answer goes only where a filing would: a known, confirmed sender, and not again
    # and again (a forged From must not make the desk mail someone over and over).
    if user is None or mail_checks.why_held(session, mail, user, claimed, now, config):
        return _close(claimed, REFUSED, "too_large")
    claimed.user_id = user.id
    return _refuse(session, claimed, user, mail, now, {"reason": "too_large", "max": config.max_bytes})


def _mark_bounced(session: Session, mail: ParsedMail, now: datetime) -> None:
    """Mail to these addresses came back: their accounts say so on the admin page."""
    addresses = sorted({a.lower() for a in mail.bounced if a})[:20]
    if not addresses:
        return
    session.execute(
        update(User)
        .where(func.lower(User.email).in_(addresses))
        .values(mail_bounced_at=now, mail_bounce_reason=(mail.subject or "")[:300])
        .execution_options(synchronize_session=False)
    )


def hold_unreadable(
    session: Session, raw: bytes, now: datetime, store: AttachmentStore, source: str, size: int | None = None
) -> Outcome:
    """A message taking which failed (a fault of the desk, or a byte the database refuses):
    kept for the lead's review under its digest, so it is not lost and does not stop the
    mailbox behind it."""
    digest = hashlib.sha256(raw).hexdigest()
    passwords.spend_links_in(session, now, raw)  # held for review: nobody may use a link in it
    row = InboundMail(
        message_id=f"sha256.{digest}@swat-desk.invalid",
        raw_sha256=digest,
        received_at=now,
        source=source,
        sender="",
        sender_name="",
        subject="",
        status=HELD,
        reason="",
        size_bytes=max(size or 0, len(raw)),
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return Outcome(DUPLICATE)
    return _hold(session, row, raw, store, "unreadable")
