"""Mail the desk received: one row per message, whatever became of it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, one_of

# filed: a new consultation; reply: a post on one; held: waits for the lead's review;
# ignored: written by a machine (auto-reply, bounce, list); refused: too large or unreadable,
# answered with a mail saying why; attached and discarded: what the lead did with a held one.
INBOUND_STATUSES = ("filed", "reply", "held", "ignored", "refused", "attached", "discarded")


class InboundMail(Base):
    """A received message. Its Message-ID is UNIQUE: however many fetchers read the mailbox,
    and however often one is restarted halfway, each message is taken in once."""

    __tablename__ = "inbound_mails"
    __table_args__ = (
        one_of("status", INBOUND_STATUSES),
        Index("ix_inbound_mails_status_received", "status", "received_at"),
        Index("ix_inbound_mails_sender_received", "sender", "received_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    # The digest of the message as received: a different message that reuses a Message-ID
    # is taken in under "<id>#<digest>" instead of being taken for the first one again.
    raw_sha256: Mapped[str] = mapped_column(String(64), default="")
    received_at: Mapped[datetime]
    mail_date: Mapped[datetime | None] = mapped_column(nullable=True)
    source: Mapped[str] = mapped_column(String(16))  # "ingest" (a file or standard input) or "imap"
    sender: Mapped[str] = mapped_column(String(254), default="")
    sender_name: Mapped[str] = mapped_column(String(200), default="")
    subject: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(16))
    # Why it was held, ignored or refused (a code the pages put in words).
    reason: Mapped[str] = mapped_column(String(32), default="")
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"), nullable=True, index=True
    )
    post_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"), nullable=True)
    # The message as received (an .eml in the attachment store), kept while the row is.
    raw_key: Mapped[str | None] = mapped_column(String(100), nullable=True)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(nullable=True)
