"""The one place a request reaches the database session and ends its transaction.

Views in `swat.web` never touch the session or the models: they call a
service with `session()` and end the request's one transaction with
`committed()`. Nothing a failed action wrote survives it: any error rolls the
whole transaction back, and a concurrent change the ORM notices (a stale
version counter) becomes the domain's `Conflict`, which a view shows like any
other refusal.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from .domain.errors import Conflict
from .extensions import db


def session() -> Session:
    """The request's (or command's) session, to hand to a service."""
    return db.session()


def rollback() -> None:
    """Drop everything the current transaction wrote (an error page, a refused request)."""
    db.session.rollback()


def commit() -> None:
    """End the transaction after a service said it changed something (a read that wrote a little).

    A request that wrote nothing should not commit: the commit expires what the session
    loaded (the signed-in user among it) and, on SQLite, ends and restarts its transaction.
    If the commit fails, the request's teardown rolls back.
    """
    db.session.commit()


def commit_if_changed() -> bool:
    """Commit what a read left changed (the last-seen time of a session); True if it did."""
    if not db.session.dirty:
        return False
    db.session.commit()
    return True


@contextmanager
def committed() -> Iterator[Session]:
    """Run a block of service calls as the request's transaction: commit at the end, or roll all of it back.

    A `DomainError` raised inside propagates after the rollback, so the view can
    show it; a lost race on a versioned row is raised as `Conflict`.
    """
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
