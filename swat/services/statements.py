"""The few SQL statements whose spelling or result type needs a word, in one place.

`insert_or_nothing` is the "create this row once" insert on either database (PostgreSQL and
SQLite both spell it ON CONFLICT DO NOTHING, through their own dialect's insert), `insert_or_update`
its "create this row or change the one there" sibling (ON CONFLICT DO UPDATE). `rows_matched`
is how a conditional UPDATE tells its caller whether it won: the number of rows it matched.
`transaction_memo` is where a service keeps, for the rest of one transaction, what it read or
wrote in it (so it is not asked for again). `read` runs a SELECT of plain columns without the
ORM's handling of its rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import CursorResult, Executable
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, scoped_session
from sqlalchemy.sql.dml import Insert, UpdateBase

from ..models import Base


def insert_or_nothing(session: Session, model: type[Base], values: Mapping[str, Any]) -> Insert:
    """INSERT of one row that does nothing when a unique key already holds it."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model).values(**values).on_conflict_do_nothing()
    return sqlite.insert(model).values(**values).on_conflict_do_nothing()


def insert_or_update(
    session: Session, model: type[Base], values: Mapping[str, Any], key: list[str], changes: Mapping[str, Any]
) -> Insert:
    """INSERT of one row that, when the unique `key` already holds one, applies `changes` to
    that row instead (their expressions read the row there, as an UPDATE's would)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(model).values(**values).on_conflict_do_update(index_elements=key, set_=changes)


def rows_matched(session: Session, statement: UpdateBase) -> int:
    """Run an UPDATE or DELETE and return how many rows its WHERE matched."""
    result = session.execute(statement)
    if not isinstance(result, CursorResult):  # an UPDATE/DELETE always yields a cursor result
        raise TypeError(f"expected a cursor result, got {type(result).__name__}")
    return result.rowcount


def transaction_memo(session: Session, key: str) -> dict[Any, Any]:
    """A dict kept under `key` for the session's current transaction: empty again in the next."""
    real = session() if isinstance(session, scoped_session) else session
    transaction = real.get_transaction()
    held = real.info.get(key)
    if held is None or transaction is None or held[0] is not transaction:
        if transaction is None:
            # Nothing began yet: what is kept belongs to the transaction that begins now.
            transaction = real.begin()
        held = real.info[key] = (transaction, {})
    return held[1]


def read(session: Session, statement: Executable, params: Mapping[str, Any] | None = None) -> CursorResult:
    """Run a SELECT of plain columns (no mapped entities) on the session's connection, in its
    transaction, after flushing what the session holds unwritten as session.execute would:
    without the ORM's handling of the result, which cost a third of a small list query."""
    real = session() if isinstance(session, scoped_session) else session
    if real.autoflush and (real.new or real.dirty or real.deleted):
        real.flush()
    return real.connection().execute(statement, params or {})
