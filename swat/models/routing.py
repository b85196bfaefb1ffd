"""Routing: the loaded rules, proposals per ticket, and members' absences."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base
from .reference import ID
from .user import User


class ReferenceDocument(Base):
    """A reference file stored whole (routing rules with the catalog texts they need),
    so every worker routes with the same rules and a reload reaches all of them."""

    __tablename__ = "reference_documents"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    content: Mapped[str] = mapped_column(Text)
    checksum: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[datetime]


class RoutingProposal(Base):
    """What the desk proposed for a ticket when it was filed, and why."""

    __tablename__ = "routing_proposals"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    theme_id: Mapped[str | None] = mapped_column(ID, ForeignKey("themes.id"), nullable=True)
    # JSON lists: initiative ids, department ids (横展開), reasons [{target, keywords, score}]
    initiative_ids: Mapped[str] = mapped_column(Text, default="[]")
    department_ids: Mapped[str] = mapped_column(Text, default="[]")
    reasons: Mapped[str] = mapped_column(Text, default="[]")
    panel_id: Mapped[str | None] = mapped_column(ID, ForeignKey("governance_bodies.id"), nullable=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    confident: Mapped[bool] = mapped_column(Boolean, default=False)
    # Why the ticket waits in triage: "unsure", "nobody_fits", "" when applied
    triage_reason: Mapped[str] = mapped_column(String(32), default="")
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)

    member: Mapped[User | None] = relationship(foreign_keys=[member_id], lazy="raise")


class MemberAbsence(Base):
    """A period a SWAT member is away (both dates included); assignment skips them."""

    __tablename__ = "member_absences"
    __table_args__ = (Index("ix_member_absences_user_dates", "user_id", "starts_on", "ends_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime]
