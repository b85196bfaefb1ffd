"""Whether the parts the desk depends on answer (for load balancers and monitoring)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ..models import Department, ReferenceDocument

# The reference documents a `swat reference load` stores, without which pages fall back to
# slower reads (catalog) or routing and SLA clocks have no rules.
REFERENCE_DOCUMENTS = ("catalog", "routing", "sla")


def check_database(session: Session) -> None:
    """Ask the database a trivial question; raises the driver's error if it does not answer."""
    session.execute(text("SELECT 1"))


@lru_cache(maxsize=4)
def migration_head(migrations: str) -> str:
    """The newest migration the code ships (read once per process)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(Path(migrations))).get_current_head() or ""


class Reason(str):
    """One reason not to serve: in English as a string (for /readyz and the log), with a `code`
    and its `params` for a page to say it in the reader's language."""

    code: str
    params: dict[str, str]

    def __new__(cls, text: str, code: str, **params: str) -> Reason:
        reason = super().__new__(cls, text)
        reason.code, reason.params = code, params
        return reason


def readiness(session: Session, migrations: str) -> list[Reason]:
    """Why this process should not be sent traffic yet: the database does not answer, its
    schema is not at the code's migration head, or the reference data was never loaded.
    Empty when ready."""
    try:
        check_database(session)
    except SQLAlchemyError as exc:
        session.rollback()
        error = type(exc.__cause__ or exc).__name__
        return [Reason(f"database: not reachable ({error})", "database", error=error)]
    head = migration_head(migrations)
    try:
        current = session.scalar(text("SELECT version_num FROM alembic_version")) or ""
    except SQLAlchemyError:
        session.rollback()
        return [
            Reason(f"migrations: the database has none; run `swat db upgrade` (head {head})", "no_schema", head=head)
        ]
    if current != head:
        return [
            Reason(
                f"migrations: the database is at {current or 'none'}, the code at {head}; run `swat db upgrade`",
                "schema_behind",
                current=current or "—",
                head=head,
            )
        ]
    stored = set(session.scalars(select(ReferenceDocument.name)))
    missing = ", ".join(name for name in REFERENCE_DOCUMENTS if name not in stored)
    if missing:
        return [
            Reason(
                f"reference data: not loaded ({missing}); run `swat reference load`", "no_reference", missing=missing
            )
        ]
    if not session.scalar(select(func.count()).select_from(Department)):
        return [Reason("reference data: no departments; run `swat reference load`", "no_departments")]
    return []
