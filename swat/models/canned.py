"""What a desk member writes with: canned replies (定型文), shared or their own, and the drafts
of what they have typed and not sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base
from .reference import ID


class CannedReply(Base):
    """A shared reply (owner None, kept by the team leads) or one member's own, for every
    theme or for one; `uses` counts the replies sent with it (services.canned)."""

    __tablename__ = "canned_replies"
    __table_args__ = (Index("ix_canned_replies_owner_title", "owner_id", "title"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=True)
    theme_id: Mapped[str | None] = mapped_column(ID, ForeignKey("themes.id"), nullable=True)
    uses: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Draft(Base):
    """What a member has typed in a reply or an internal note and not sent: kept per user,
    consultation and kind ("reply", "note") until it is sent or discarded."""

    __tablename__ = "drafts"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]
