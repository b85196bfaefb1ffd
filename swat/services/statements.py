"""The few SQL statements whose spelling or result type needs a word, in one place.

`insert_or_nothing` is the "create this row once" insert on either database (PostgreSQL and
SQLite both spell it ON CONFLICT DO NOTHING, through their own dialect's insert). `rows_matched`
is how a conditional UPDATE tells its caller whether it won: the number of rows it matched.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import CursorResult
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert, UpdateBase

from ..models import Base


def insert_or_nothing(session: Session, model: type[Base], values: Mapping[str, Any]) -> Insert:
    """INSERT of one row that does nothing when a unique key already holds it."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model).values(**values).on_conflict_do_nothing()
    return sqlite.insert(model).values(**values).on_conflict_do_nothing()


def rows_matched(session: Session, statement: UpdateBase) -> int:
    """Run an UPDATE or DELETE and return how many rows its WHERE matched."""
    result = session.execute(statement)
    if not isinstance(result, CursorResult):  # an UPDATE/DELETE always yields a cursor result
        raise TypeError(f"expected a cursor result, got {type(result).__name__}")
    return result.rowcount
