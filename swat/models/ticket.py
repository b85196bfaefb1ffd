"""Consultations (tickets), their conversation, files and history."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Computed, Date, ForeignKey, Index, Integer, String, Text, false, func, literal_column
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..domain import states
from .base import Base, engine_only, one_of
from .reference import ID, Department, Initiative, Theme
from .user import User

# When a consultation left the backlog, as domain.reports.left_backlog_at defines it: the
# earlier of its resolution and its closing, whichever is set (NULL while neither is). The
# same CASE as the report triggers' (migration 0008); migration 0015 spells it out as applied.
LEFT_BACKLOG_AT = (
    "CASE WHEN resolved_at IS NULL THEN closed_at "
    "WHEN closed_at IS NULL OR resolved_at <= closed_at THEN resolved_at "
    "ELSE closed_at END"
)


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_status_priority_created", "status", "priority", "created_at", "id"),
        Index("ix_tickets_status_activity", "status", "last_activity_at"),
        Index("ix_tickets_department_status", "department_id", "status", "last_activity_at"),
        # A department's list, newest activity first, without sorting the department's tickets.
        Index("ix_tickets_department_activity", "department_id", "last_activity_at", "id"),
        # The desk's lists by latest activity (a report's drill-down, /consultations for a
        # desk-wide manager): the first page is read off the index, filters applied on the way.
        Index("ix_tickets_activity", "last_activity_at", "id"),
        Index("ix_tickets_assignee_status", "assignee_id", "status"),
        Index("ix_tickets_theme_status", "theme_id", "status"),
        # Reports count by filing date; on PostgreSQL the index carries the columns they
        # group by, so counting is an index-only scan instead of reading whole tickets.
        Index(
            "ix_tickets_created_at",
            "created_at",
            postgresql_include=[
                "resolved_at",
                "closed_at",
                "department_id",
                "theme_id",
                "priority",
                "assignee_id",
                "status",
            ],
        ),
        Index("ix_tickets_resolved_at", "resolved_at"),
        # The backlog at an instant E on SQLite (on PostgreSQL see backlog_span below): filed
        # before E and not out of the backlog before E, ranges on left_backlog_at.
        engine_only(Index("ix_tickets_left_backlog", "left_backlog_at", "created_at"), "sqlite"),
        Index("ix_tickets_triage", "triage", "created_at"),
        # A requester's consultations by filing time (filing.recent_duplicate; migration 0018).
        Index("ix_tickets_requester_created", "requester_id", "created_at"),
        Index("ix_tickets_status_sla_due", "status", "sla_due_at"),
        Index("ix_tickets_merged_into", "merged_into_id"),
        one_of("status", states.STATUSES),
        one_of("priority", range(len(states.PRIORITIES))),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    # Rank in domain.states.PRIORITIES: 0 urgent ... 3 low (sorts and indexes well).
    priority: Mapped[int] = mapped_column(Integer)
    theme_id: Mapped[str | None] = mapped_column(ID, ForeignKey("themes.id"), nullable=True)
    department_id: Mapped[str] = mapped_column(ID, ForeignKey("departments.id"))
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    due_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    last_activity_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None] = mapped_column(nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # Computed by the database on every write, never set here (see LEFT_BACKLOG_AT). Stored
    # on PostgreSQL; SQLite can only add a virtual one to an existing table (migration 0015).
    left_backlog_at: Mapped[datetime | None] = mapped_column(Computed(LEFT_BACKLOG_AT, persisted=True), nullable=True)
    # The nearest due instant among the running SLA clocks (None when none runs).
    sla_due_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # Waiting for the SWAT lead to decide theme, initiatives and assignee.
    triage: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Idempotency key from the filing form: a double submit makes one ticket.
    submission_token: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The original this duplicate was merged into (services.merge); its facts leave the
    # reports (migration 0021). A number, not a foreign key (see that migration).
    merged_into_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The Message-ID of the mail the consultation was filed by (with its angle brackets):
    # every notice about it refers to that mail too, so the requester's client threads them.
    mail_thread_id: Mapped[str | None] = mapped_column(String(255), nullable=True)

    __mapper_args__ = {"version_id_col": version}

    theme: Mapped[Theme | None] = relationship(lazy="raise")
    department: Mapped[Department] = relationship(lazy="raise")
    requester: Mapped[User] = relationship(foreign_keys=[requester_id], lazy="raise")
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id], lazy="raise")
    initiative_links: Mapped[list[TicketInitiative]] = relationship(
        lazy="raise", order_by="TicketInitiative.position", cascade="all, delete-orphan"
    )


def backlog_span(created_at, left_backlog_at):
    """(filed, left the backlog] as a PostgreSQL range, unbounded while still in it: the
    range contains E exactly when the consultation was in the backlog at E. Empty if the
    two are out of order (it was in no backlog)."""
    return func.tstzrange(func.least(created_at, left_backlog_at), left_backlog_at, literal_column("'(]'"))


# The backlog at an instant on PostgreSQL: containment in the span, read off a GiST index
# whose statistics give the planner the backlog's true size (two open ranges on two
# B-tree columns look to it like a quarter of all consultations).
engine_only(
    Index(
        "ix_tickets_backlog_span",
        backlog_span(Ticket.__table__.c.created_at, Ticket.__table__.c.left_backlog_at),
        postgresql_using="gist",
    ),
    "postgresql",
)


class TicketInitiative(Base):
    __tablename__ = "ticket_initiatives"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    initiative_id: Mapped[str] = mapped_column(ID, ForeignKey("initiatives.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    initiative: Mapped[Initiative] = relationship(lazy="raise")


class TicketCounter(Base):
    """The last ticket number handed out per year, for readable numbers (2026-00042)."""

    __tablename__ = "ticket_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class Message(Base):
    """One post in a ticket's conversation: the request, a reply, or an internal note."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_ticket_created", "ticket_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    # The duplicate this post came from, when one was merged into this ticket (services.merge).
    merged_from_id: Mapped[int | None] = mapped_column(Integer, nullable=True)

    author: Mapped[User] = relationship(lazy="raise")


class Attachment(Base):
    """An uploaded file. The display name is kept as given (日本語 names too);
    the stored file has a generated name, never derived from user input."""

    __tablename__ = "attachments"
    __table_args__ = (Index("ix_attachments_ticket", "ticket_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), nullable=True)
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    filename: Mapped[str] = mapped_column(String(255))
    storage_key: Mapped[str] = mapped_column(String(100), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]

    uploaded_by: Mapped[User] = relationship(lazy="raise")


class TicketEvent(Base):
    """One change to a ticket: who, when, what, before and after. Append-only."""

    __tablename__ = "ticket_events"
    __table_args__ = (Index("ix_ticket_events_ticket_at", "ticket_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(32))
    old_value: Mapped[str] = mapped_column(Text, default="")
    new_value: Mapped[str] = mapped_column(Text, default="")
    internal: Mapped[bool] = mapped_column(Boolean, default=False)

    actor: Mapped[User | None] = relationship(lazy="raise")


class TicketLink(Base):
    """Two consultations marked as related: one row each way, so either lists the other."""

    __tablename__ = "ticket_links"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    linked_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime]
