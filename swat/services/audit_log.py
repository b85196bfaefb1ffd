"""Reading the audit trail: the events a query asks for, newest first, a page at a time or
all of them for an export. Who may read it is the caller's check (`can_view_audit`)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from ..domain.audit import AuditQuery
from ..models import AuditEvent, User

# An export holds at most this many events (narrow the filters for more).
EXPORT_MAX = 100_000


@dataclass(frozen=True)
class AuditPage:
    """One page of events, with the total that matched."""

    events: Sequence[AuditEvent]
    total: int
    page: int
    pages: int


def _accounts_named(name: str):
    return select(User.id).where(func.lower(User.username) == name.lower()).scalar_subquery()


def _filtered(query: AuditQuery) -> Select:
    stmt = select(AuditEvent)
    if query.user:
        # The account of that user name, or a failed sign-in typed with it.
        stmt = stmt.where(or_(AuditEvent.subject_id == _accounts_named(query.user), _typed_name(query.user)))
    if query.actor:
        stmt = stmt.where(AuditEvent.actor_id == _accounts_named(query.actor))
    if query.kind:
        stmt = stmt.where(AuditEvent.kind == query.kind)
    if query.start is not None:
        stmt = stmt.where(AuditEvent.at >= query.start)
    if query.end is not None:
        stmt = stmt.where(AuditEvent.at < query.end)
    return stmt


def _typed_name(name: str):
    """A failed sign-in of a name nobody has (its `after` holds the name as typed)."""
    text = json.dumps({"username": name}, ensure_ascii=False)[1:-1]  # '"username": "..."'
    return (AuditEvent.subject_id.is_(None)) & func.lower(AuditEvent.after).contains(text.lower(), autoescape=True)


def list_events(session: Session, query: AuditQuery, page: int = 1, per_page: int = 50) -> AuditPage:
    """The events matching `query`, newest first, one page of them (a page past the end is empty)."""
    page = max(1, page)
    stmt = _filtered(query)
    total = session.scalar(select(func.count()).select_from(stmt.with_only_columns(AuditEvent.id).subquery())) or 0
    rows = session.scalars(
        stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return AuditPage(events=rows, total=total, page=page, pages=max(1, -(-total // per_page)))


def all_events(session: Session, query: AuditQuery) -> Iterator[AuditEvent]:
    """Every event matching `query` (at most EXPORT_MAX), newest first, for an export."""
    stmt = _filtered(query).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(EXPORT_MAX)
    yield from session.scalars(stmt.execution_options(yield_per=1000))


def values(event: AuditEvent) -> tuple[dict[str, Any], dict[str, Any]]:
    """An event's before and after, read back from their JSON."""

    def read(text: str) -> dict[str, Any]:
        try:
            found = json.loads(text or "{}")
        except ValueError:
            return {}
        return found if isinstance(found, dict) else {}

    return read(event.before), read(event.after)
