"""How `swat seed` puts its rows into the database: ids handed out ahead, PostgreSQL COPY or
SQLite executemany per batch, and for a bulk load the indexes, foreign keys and triggers of
the six tables set aside first and rebuilt after.

Nothing here commits; devdata.seed decides where the transactions end.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from ..models import ReportFact, ReportMonth, ReportTimeBucket, ReportTimeCount
from .life import TABLES


class Ids:
    """Primary keys handed out ahead of the insert (children refer to them): from the
    table's sequence on PostgreSQL, after max(id) on SQLite (one writer at a time there)."""

    def __init__(self, session: Session, table: str, postgres: bool) -> None:
        self.session, self.table, self.postgres = session, table, postgres
        self.pool: list[int] = []
        self.pos = 0

    def take(self, k: int) -> None:
        """Make sure k ids are ready (call before a batch)."""
        left = len(self.pool) - self.pos
        if left >= k:
            return
        need = max(k - left, 1000)
        if self.postgres:
            fresh = list(
                self.session.execute(
                    text(f"SELECT nextval(pg_get_serial_sequence('{self.table}', 'id')) FROM generate_series(1, :n)"),
                    {"n": need},
                ).scalars()
            )
        else:
            top = max(
                self.session.scalar(text(f"SELECT max(id) FROM {self.table}")) or 0, self.pool[-1] if self.pool else 0
            )
            fresh = list(range(top + 1, top + 1 + need))
        self.pool = self.pool[self.pos :] + fresh
        self.pos = 0

    def next(self) -> int:
        i = self.pool[self.pos]
        self.pos += 1
        return i


COLUMNS = {
    "tickets": (
        "id",
        "number",
        "title",
        "body",
        "status",
        "priority",
        "theme_id",
        "department_id",
        "requester_id",
        "assignee_id",
        "due_date",
        "created_at",
        "updated_at",
        "last_activity_at",
        "resolved_at",
        "closed_at",
        "sla_due_at",
        "triage",
        "submission_token",
        "version",
    ),
    "ticket_initiatives": ("ticket_id", "initiative_id", "position"),
    "messages": ("id", "ticket_id", "author_id", "internal", "body", "created_at"),
    "ticket_events": ("ticket_id", "actor_id", "at", "kind", "old_value", "new_value", "internal"),
    "ticket_slas": (
        "ticket_id",
        "target",
        "target_minutes",
        "used_minutes",
        "state",
        "running_since",
        "due_at",
        "stopped_at",
        "next_check_at",
        "department_id",
    ),
    "sla_events": ("ticket_id", "target", "kind", "at", "used_minutes", "target_minutes", "due_at", "note"),
}
assert tuple(COLUMNS) == TABLES


def sqlite_value(v):
    # The format SQLAlchemy's SQLite DateTime uses (naive UTC), so stored values compare right.
    if isinstance(v, datetime):
        return v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(v, date):
        return v.isoformat()
    return v


def write(session: Session, postgres: bool, batch: dict) -> None:
    raw = session.connection().connection.driver_connection
    if raw is None:
        raise RuntimeError("the bulk load needs the driver's own connection")
    cur = raw.cursor()
    try:
        if postgres:
            # Generated data: a crash may lose the last batches, never corrupt them.
            cur.execute("SET LOCAL synchronous_commit = off")
        for table, cols in COLUMNS.items():
            data = batch[table]
            if not data:
                continue
            if postgres:
                with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as cp:
                    cp.write(data)
            else:
                sql_ = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
                cur.executemany(sql_, [tuple(map(sqlite_value, row)) for row in data])
    finally:
        cur.close()


def drop_for_load(session: Session) -> tuple[Sequence[Any], Sequence[Any]]:
    """Drop the seeded tables' plain indexes and outgoing foreign keys, and pause their
    triggers; returns the definitions.

    Primary keys and unique constraints stay (they guard the load itself). DDL is
    transactional: a failed seed rolls back to the indexes as they were. Until the commit,
    the tables are locked for everyone else.
    """
    tables = list(TABLES)
    indexes = session.execute(
        text(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "WHERE i.indrelid = ANY(CAST(:t AS regclass[])) AND NOT i.indisunique AND NOT i.indisprimary "
            "ORDER BY i.indexrelid"
        ),
        {"t": tables},
    ).all()
    fks = session.execute(
        text(
            "SELECT conrelid::regclass::text, quote_ident(conname), pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = ANY(CAST(:t AS regclass[])) AND contype = 'f' ORDER BY oid"
        ),
        {"t": tables},
    ).all()
    for table in tables:  # statement triggers (report facts) are caught up once at the end instead
        session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
    for table, name, _ in fks:
        session.execute(text(f"ALTER TABLE {table} DROP CONSTRAINT {name}"))
    for name, _ in indexes:
        session.execute(text(f"DROP INDEX {name}"))
    return indexes, fks


def restore_after_load(session: Session, indexes: Sequence[Any], fks: Sequence[Any]) -> None:
    """Build the dropped indexes again, re-add (and so re-check) the foreign keys, turn the
    triggers back on and rebuild what they would have maintained (report facts)."""
    from ..services.report_facts import rebuild

    session.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
    for _, definition in indexes:
        session.execute(text(definition))
    for table, name, definition in fks:
        session.execute(text(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}"))
    for table in TABLES:
        session.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
        session.execute(text(f"ANALYZE {table}"))  # plans for the rebuild's joins see the new rows
    rebuild(session)
    # The report tables the rebuild has just filled: without statistics their reads are
    # planned for a handful of rows (/reports spent 0.3 s of PostgreSQL sorting them on disk
    # at 1,000,000 tickets until autovacuum came round).
    for model in (ReportFact, ReportMonth, ReportTimeBucket, ReportTimeCount):
        session.execute(text(f"ANALYZE {model.__tablename__}"))


def vacuum_after_load(session: Session) -> None:
    """Mark the pages a bulk load wrote all-visible, and analyse them (PostgreSQL, after the
    load's commit: VACUUM runs outside a transaction). Until then every index-only scan of
    the new rows also reads the table: the queue's bounded count of 10,001 open
    consultations cost 12 ms of PostgreSQL CPU at 1,000,000 instead of 2 (Heap Fetches:
    10,001), until autovacuum came round to tables it had never seen."""
    tables = [
        *TABLES,
        "search_documents",
        *(m.__tablename__ for m in (ReportFact, ReportMonth, ReportTimeBucket, ReportTimeCount)),
    ]
    bind = session.get_bind()
    if isinstance(bind, Connection) and bind.in_transaction():
        # The session lives inside a transaction of its caller's, which still holds the
        # load's table locks: a VACUUM on another connection would wait for it for ever.
        return
    with bind.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # Behind another session's lock (another load, an index build), give up rather than wait.
        conn.execute(text("SET lock_timeout = '30s'"))
        conn.execute(text(f"VACUUM (ANALYZE) {', '.join(tables)}"))


def block(session: Session, table: str, n: int) -> range:
    """n consecutive ids from the table's sequence (bulk load only: the table is locked
    against inserts, so nobody else draws from the sequence meanwhile)."""
    last = session.scalar(
        text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"nextval(pg_get_serial_sequence('{table}', 'id')) + :n - 1)"
        ),
        {"n": n},
    )
    return range(last - n + 1, last + 1)
