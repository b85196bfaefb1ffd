"""Declarative base and shared column types."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import CheckConstraint, DateTime, Index, MetaData
from sqlalchemy.orm import DeclarativeBase, registry
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """An instant stored as UTC and always read back as an aware UTC datetime.

    PostgreSQL keeps it in a timestamptz; SQLite has no time zones, so the
    value is stored as naive UTC and made aware again on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass an aware UTC datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    # One registry carries the naming convention and the type map, so Flask-SQLAlchemy's
    # subclass of this base inherits both.
    registry = registry(metadata=MetaData(naming_convention=NAMING), type_annotation_map={datetime: UTCDateTime()})


def one_of(column: str, values: Iterable[str | int]) -> CheckConstraint:
    """CHECK (column IN (values)), named ck_<table>_<column> by the naming convention.

    The values come from the domain's constants (states, roles, SLA states), so the model
    says what the domain allows; the migration that added the constraint (0012) spells the
    same values out literally, as it was applied."""
    listed = ", ".join(f"'{v}'" if isinstance(v, str) else str(int(v)) for v in values)
    return CheckConstraint(f"{column} IN ({listed})", name=column)


# On SQLite the search index is an FTS5 table (and its shadow tables) that the migrations
# create and the models do not describe (models/search.py).
SQLITE_SEARCH_TABLE = "search_documents"


# Indexes that exist on one engine only, by name: the engine's name.
ENGINE_ONLY_INDEXES: dict[str, str] = {}


def engine_only(index: Index, dialect_name: str) -> Index:
    """An index made on this engine only, by create_all and by the migrations alike (the
    schema comparison leaves it out on the other engines)."""
    ENGINE_ONLY_INDEXES[str(index.name)] = dialect_name
    return index.ddl_if(dialect=dialect_name)


def include_object_for(dialect_name: str):
    """An Alembic include_object hook for this engine."""

    def include(obj, name, type_, reflected, compare_to):
        if dialect_name == "sqlite" and (name or "").startswith(SQLITE_SEARCH_TABLE):
            return False
        if type_ == "index" and ENGINE_ONLY_INDEXES.get(name, dialect_name) != dialect_name:
            return False
        table = getattr(obj, "table", None)
        return not (
            dialect_name == "sqlite" and type_ == "index" and table is not None and table.name == SQLITE_SEARCH_TABLE
        )

    return include
