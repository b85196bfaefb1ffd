"""Mail to the desk: who sent it and which consultation it names, and whether it may be taken
in as it is (services.mail_intake decides what becomes of it)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain import mail_ids
from ..domain.mail_parse import ParsedMail
from ..models import InboundMail, Ticket, User
from .attachments import Limits

if TYPE_CHECKING:
    from .mail_intake import IntakeSettings


def sender_account(session: Session, address: str) -> User | None:
    """The one active account with this address (case as typed does not matter)."""
    if not address:
        return None
    found = session.scalars(
        select(User).where(User.active, func.lower(User.email) == address.lower()).order_by(User.id).limit(2)
    ).all()
    return found[0] if len(found) == 1 else None


def why_held(
    session: Session, mail: ParsedMail, user: User | None, row: InboundMail, now: datetime, config: IntakeSettings
) -> str:
    if not mail.sender:
        return "no_sender"
    if config.trusted_authserv_id and not authenticated(mail, config.trusted_authserv_id):
        return "not_authenticated"
    if from_sender(session, row, now) >= config.max_per_hour:
        return "too_many"
    return "" if user is not None else "unknown_sender"


# Held as not the sender's own: such mail does not count against the sender.
NOT_THEIRS = ("not_authenticated", "no_sender")


def _last_hour(row: InboundMail, now: datetime):
    return (
        InboundMail.sender == row.sender,
        InboundMail.received_at > now - timedelta(hours=1),
        InboundMail.id != row.id,
    )


def from_sender(session: Session, row: InboundMail, now: datetime) -> int:
    """How many messages this sender sent in the last hour that were theirs: everything but
    machines' mail and mail held as forged (which must not lock the real sender out). Held
    ones count, so a sender looping past the limit stays held."""
    return (
        session.scalar(
            select(func.count())
            .select_from(InboundMail)
            .where(
                *_last_hour(row, now),
                InboundMail.status != "ignored",
                ~((InboundMail.status == "held") & InboundMail.reason.in_(NOT_THEIRS)),
            )
        )
        or 0
    )


def refusals_told(session: Session, row: InboundMail, now: datetime) -> int:
    """How many refusals this sender was answered in the last hour (the rows of refused mail
    from their account; a refusal of unconfirmed mail answers nobody and sets no account)."""
    return (
        session.scalar(
            select(func.count())
            .select_from(InboundMail)
            .where(*_last_hour(row, now), InboundMail.status == "refused", InboundMail.user_id.is_not(None))
        )
        or 0
    )


def authenticated(mail: ParsedMail, authserv_id: str) -> bool:
    """The trusted receiving server says the From domain is the sender's: DMARC passed, or
    SPF or DKIM passed for a domain aligned with From's, and no DMARC failure. Every header
    with that authserv-id is read (a server may write one per check): RFC 8601 section 5
    has the receiving server remove any such header that came with the message."""
    mine = [a for a in mail.authentication if a.authserv_id.lower() == authserv_id.lower()]
    if not mine or "@" not in mail.sender:
        return False
    domain = mail.sender.rsplit("@", 1)[1]
    if any(a.dmarc == "fail" for a in mine):
        return False
    return any(
        (a.dmarc == "pass" and (not a.header_from or aligned(a.header_from, domain)))
        or (a.spf == "pass" and aligned(a.spf_domain, domain))
        or (a.dkim == "pass" and any(aligned(d, domain) for d in a.dkim_domains))
        for a in mine
    )


def aligned(checked: str, domain: str) -> bool:
    """DMARC's relaxed alignment, near enough: the same domain or one under the other."""
    checked, domain = checked.lower().strip("."), domain.lower().strip(".")
    return bool(checked) and (checked == domain or checked.endswith("." + domain) or domain.endswith("." + checked))


def named_ticket(session: Session, mail: ParsedMail, domain: str) -> Ticket | None:
    """The consultation the mail replies to: by the desk's own ids in In-Reply-To and
    References, or a mail the desk took in earlier, then by the subject's tag; a merged
    duplicate is followed to its original."""
    refs = [*mail.in_reply_to, *reversed(mail.references)]
    ticket = None
    for number in mail_ids.numbers_referenced(refs, domain):
        ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one_or_none()
        if ticket is not None:
            break
    if ticket is None and refs:
        earlier = [r.strip("<>")[:255] for r in refs]
        ticket_id = session.scalar(
            select(InboundMail.ticket_id)
            .where(InboundMail.message_id.in_(earlier), InboundMail.ticket_id.is_not(None))
            .order_by(InboundMail.id.desc())
            .limit(1)
        )
        ticket = session.get(Ticket, ticket_id) if ticket_id else None
    if ticket is None:
        tagged = mail_ids.number_in_subject(mail.subject)
        if tagged:
            ticket = session.scalars(select(Ticket).where(Ticket.number == tagged)).one_or_none()
    for _step in range(5):  # a chain of merges ends at the original
        if ticket is None or ticket.merged_into_id is None:
            break
        ticket = session.get(Ticket, ticket.merged_into_id)
    return ticket


def too_much(mail: ParsedMail, limits: Limits) -> dict | None:
    """The web form's limits, checked before anything is written."""
    if len(mail.files) > limits.max_files:
        return {"reason": "too_many_files", "max": limits.max_files}
    for f in mail.files:
        if len(f.data) > limits.max_bytes:
            return {"reason": "file_too_large", "name": f.filename, "max": limits.max_bytes}
    return None
