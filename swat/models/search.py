"""The search index: one document of tokens per consultation (see domain.search).

On PostgreSQL a table of two `tsvector` columns with GIN indexes: what everyone who may
open the ticket may find (title, body, replies, the requester's name and department,
file names) and what only the desk may find (internal notes and their files). On SQLite
the same name is an FTS5 table (title, public, internal; rowid = the ticket's id) that the
migration creates and this model does not describe.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, SmallInteger, Text
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from .base import Base


class TermVector(TypeDecorator):
    """A `tsvector` on PostgreSQL (text elsewhere, where the index lives in FTS5)."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect):
        return dialect.type_descriptor(TSVECTOR() if dialect.name == "postgresql" else Text())


class SearchDocument(Base):
    __tablename__ = "search_documents"
    __table_args__ = (
        Index("ix_search_documents_terms", "terms", postgresql_using="gin"),
        Index("ix_search_documents_internal_terms", "internal_terms", postgresql_using="gin"),
    )

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    # A long document is kept in parts (services/search_index.py: a tsvector holds 16,383
    # positions and 256 per token); most have one.
    part: Mapped[int] = mapped_column(SmallInteger, primary_key=True, default=0)
    terms: Mapped[str] = mapped_column(TermVector)
    internal_terms: Mapped[str | None] = mapped_column(TermVector, nullable=True)
