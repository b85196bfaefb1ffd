"""A member's saved views of the SWAT queue (named sets of filters)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class QueueView(Base):
    """A named queue query string of one user. The UNIQUE constraint keeps names unique per
    user even when two saves race; it also serves the per-user lookups (user_id leads)."""

    __tablename__ = "queue_views"
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_queue_views_user_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(60))
    # The canonical query string (services.queue_views.canonical_query), without "?".
    query: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime]
