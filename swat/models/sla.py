"""SLA: each ticket's clocks as they stand, and the append-only log of their changes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..domain import sla
from .base import Base, one_of


class TicketSla(Base):
    """The current state of one SLA clock of a ticket (first response or resolution).

    Derived from the append-only SlaEvent log and kept here so the queue and
    reports read it without recomputing.
    """

    __tablename__ = "ticket_slas"
    __table_args__ = (
        Index("ix_ticket_slas_state_due", "state", "due_at"),
        Index("ix_ticket_slas_next_check", "next_check_at"),
        Index(
            "ix_ticket_slas_target_stopped",
            "target",
            "stopped_at",
            postgresql_include=["state", "used_minutes", "department_id"],
        ),
        # A department head's time figures: that department's clocks only.
        Index(
            "ix_ticket_slas_department_stopped",
            "department_id",
            "target",
            "stopped_at",
            postgresql_include=["state", "used_minutes"],
        ),
        one_of("state", sla.STATES),
    )

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    target: Mapped[str] = mapped_column(String(16), primary_key=True)
    # The ticket's department (it never changes), so a department's time figures need no join.
    department_id: Mapped[str] = mapped_column(String(64), server_default="")
    target_minutes: Mapped[int] = mapped_column(Integer)
    used_minutes: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(16))
    running_since: Mapped[datetime | None] = mapped_column(nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(nullable=True)
    stopped_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # When the scheduler must look at this clock next (the next escalation level not yet
    # fired: warning, breach, twice the target); None when nothing is left to fire.
    next_check_at: Mapped[datetime | None] = mapped_column(nullable=True)


class SlaEvent(Base):
    """Append-only: every start, pause, resume, met/missed and target change of a clock."""

    __tablename__ = "sla_events"
    __table_args__ = (Index("ix_sla_events_ticket_at", "ticket_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    target: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]
    used_minutes: Mapped[int] = mapped_column(Integer)
    target_minutes: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime | None] = mapped_column(nullable=True)
    note: Mapped[str] = mapped_column(String(200), default="")
