"""The one place a request reaches the database session and ends its transaction.

Views in `swat.web` never touch the session or the models: they call a
service with `session()` and end the request's one transaction with
`committed()`. Nothing a failed action wrote survives it: any error rolls the
whole transaction back, and a concurrent change the ORM notices (a stale
version counter) becomes the domain's `Conflict`, which a view shows like any
other refusal.

On SQLite a page that only reads (GET, HEAD, OPTIONS) must not hold the
database's one write lock, or the web workers take turns: its transactions
begin deferred, and WAL lets them read beside a writer. Everything else (a
form sent, a command, a scheduler job, a test calling a service) begins with
the write lock taken, so writers queue on it (busy_timeout) instead of failing.
A deferred transaction cannot queue for the lock later (SQLite refuses the
upgrade at once when another writer holds the lock or has committed since it
began reading), so a read that writes either lets the write go (the last-seen
time) or writes in a transaction of its own that begins with the lock.
PostgreSQL has no such lock; there all of this changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from flask import g, has_request_context, request
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from .domain.errors import Conflict
from .extensions import db

log = logging.getLogger(__name__)
T = TypeVar("T")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SQLITE_BUSY = 5  # the primary code; SQLITE_BUSY_SNAPSHOT (517) shares it in its low byte


def session() -> Session:
    """The request's (or command's) session, to hand to a service."""
    return db.session()


def rollback() -> None:
    """Drop everything the current transaction wrote (an error page, a refused request)."""
    db.session.rollback()


def begin_statement() -> str:
    """How an SQLite transaction begins now: deferred in a page that only reads, else with the write lock."""
    return "BEGIN" if _reads_only() else "BEGIN IMMEDIATE"


def _reads_only() -> bool:
    return has_request_context() and request.method in SAFE_METHODS and not g.get("swat_writing")


def _deferred() -> bool:
    """The session's transactions begin deferred (SQLite, a page that only reads)."""
    return _reads_only() and db.session.get_bind().dialect.name == "sqlite"


def _lost_to_writer(exc: OperationalError) -> bool:
    code = getattr(exc.orig, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == SQLITE_BUSY


def commit_if_changed() -> bool:
    """Commit what a read left changed (the last-seen time of a session); True if it did.

    Best effort: in a page that reads on SQLite, a writer that holds the lock or
    committed meanwhile wins, and the change is dropped (rolled back) rather than
    waited for; the next request tries again. A page that failed here would be worse.
    """
    if not db.session.dirty:
        return False
    deferred = _deferred()
    try:
        db.session.commit()
    except OperationalError as exc:
        if not (deferred and _lost_to_writer(exc)):
            raise
        db.session.rollback()
        log.debug("a read's small write gave way to a concurrent writer: %s", exc.orig)
        return False
    return True


def commit_changes(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call a service that writes only when it must (it returns something true when it did) and commit that.

    In a page that reads on SQLite the call first runs in the read's transaction,
    so that nothing is locked when there is nothing to write; if the write then
    loses to a concurrent writer, it runs again in a transaction of its own that
    waits for the write lock, so the change is kept all the same.
    """
    deferred = _deferred()
    try:
        result = fn(*args, **kwargs)
        if result:
            db.session.commit()
    except OperationalError as exc:
        db.session.rollback()
        if not (deferred and _lost_to_writer(exc)):
            raise
        log.debug("a read's write waits for the write lock in a transaction of its own: %s", exc.orig)
        with committed():
            result = fn(*args, **kwargs)
    return result


@contextmanager
def committed() -> Iterator[Session]:
    """Run a block of service calls as the request's transaction: commit at the end, or roll all of it back.

    A `DomainError` raised inside propagates after the rollback, so the view can
    show it; a lost race on a versioned row is raised as `Conflict`. In a page that
    reads on SQLite the block gets a transaction of its own that begins with the
    write lock (what was read before is read again), so it waits for other writers
    like a form would.
    """
    writing = _deferred()
    if writing:
        db.session.commit()  # ends the read; it wrote nothing (the last-seen time is committed apart)
        g.swat_writing = True
    try:
        yield db.session()
        db.session.commit()
    except StaleDataError as exc:
        db.session.rollback()
        # The message as a literal, so that the catalog extraction (-k Conflict) keeps it.
        raise Conflict("Someone else changed this consultation at the same time. Check it and try again.") from exc
    except BaseException:
        db.session.rollback()
        raise
    finally:
        if writing:
            g.pop("swat_writing", None)
