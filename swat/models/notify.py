"""Escalations, in-app notifications and the outbox of messages to deliver."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base

if TYPE_CHECKING:
    from .user import User


class Escalation(Base):
    """One level of one SLA target of one ticket, fired once (the UNIQUE constraint
    makes that hold with several schedulers and after restarts)."""

    __tablename__ = "escalations"
    __table_args__ = (
        UniqueConstraint("ticket_id", "target", "level", name="uq_escalations_ticket_target_level"),
        Index("ix_escalations_open", "acknowledged_at", "last_notified_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    target: Mapped[str] = mapped_column(String(16))
    # 1: warning to the assignee, 2: breach to the SWAT lead, 3: twice the target to the CIO
    level: Mapped[int] = mapped_column(Integer)
    fired_at: Mapped[datetime]
    last_notified_at: Mapped[datetime]
    times_notified: Mapped[int] = mapped_column(Integer, default=1)
    acknowledged_at: Mapped[datetime | None] = mapped_column(nullable=True)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    remark: Mapped[str] = mapped_column(String(500), default="")

    acknowledged_by: Mapped[User | None] = relationship(lazy="raise")


class Notification(Base):
    """A line in a user's bell list."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_read", "user_id", "read_at", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), nullable=True)
    escalation_id: Mapped[int | None] = mapped_column(ForeignKey("escalations.id", ondelete="CASCADE"), nullable=True)
    params: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None] = mapped_column(nullable=True)


class OutboxMessage(Base):
    """A message to deliver (e-mail or chat webhook), written in the same transaction as
    the event it tells of; the delivery job sends it, retrying with backoff."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "sent_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))  # "email" or "webhook"
    recipient: Mapped[str] = mapped_column(String(500))
    locale: Mapped[str] = mapped_column(String(8), default="ja")
    kind: Mapped[str] = mapped_column(String(32))
    params: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_until: Mapped[datetime | None] = mapped_column(nullable=True)
    claim_token: Mapped[str | None] = mapped_column(String(40), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)
    failed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # A message that gave up and that an admin chose not to send (the status page; audited).
    discarded_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_error: Mapped[str] = mapped_column(String(500), default="")


class ReportMailing(Base):
    """One summary e-mail of one period to one reader (the weekly summary to managers).

    The row is inserted with ON CONFLICT DO NOTHING under the UNIQUE constraint and the
    outbox message is written only by the transaction whose insert created it, so a
    summary goes out once per (kind, period, reader) with any number of schedulers."""

    __tablename__ = "report_mailings"
    __table_args__ = (UniqueConstraint("kind", "period_key", "user_id", name="uq_report_mailings_kind_period_user"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    period_key: Mapped[str] = mapped_column(String(32))  # a reports Period.key(), e.g. 2026-11-16..2026-11-22
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id", ondelete="SET NULL"), nullable=True)
