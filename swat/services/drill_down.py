"""The consultations behind a report's count, whole, for its export: the drill-down list's
own statement (listing.matching: the reader's scope, the list's filters and the figure's
clause, so the file holds exactly the tickets the list and the count do), read in one
query with what each row names, in number order, up to EXPORT_MAX rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from ..models import Department, Theme, Ticket, User
from . import listing
from .catalog import CatalogName

# The most rows one export holds: a fiscal year's filings at a large desk fit; past it the
# file says how many there were and that it holds the first ones.
EXPORT_MAX = 10_000


@dataclass(frozen=True, slots=True)
class ExportRow:
    number: str
    title: str
    department: CatalogName
    theme: CatalogName | None
    status: str
    priority: int
    requester: str
    assignee: str | None
    created_at: datetime
    resolved_at: datetime | None
    last_activity_at: datetime


@dataclass
class Export:
    rows: list[ExportRow]
    total: int  # every ticket of the list; more than len(rows) when the file holds the first EXPORT_MAX


def is_drill_down(f: listing.TicketFilters) -> bool:
    """The filters name a report figure that can be read (a measure and a period)."""
    return listing.drill_down_of(f) is not None


def drill_down_export(session: Session, actor, f: listing.TicketFilters, limit: int = EXPORT_MAX) -> Export:
    """The tickets of the drill-down list these filters make, for the actor, oldest number
    first: ValueError when the filters name no report figure (an export of a whole desk's
    list is not what this is for)."""
    if not is_drill_down(f):
        raise ValueError("not a drill-down: a period and a measure are needed")
    base = listing.matching(session, actor, f)
    total = session.scalar(select(func.count()).select_from(base.with_only_columns(Ticket.id).subquery()))
    requester, assignee = aliased(User), aliased(User)
    stmt = (
        base.with_only_columns(
            Ticket.number,
            Ticket.title,
            Department.id,
            Department.name,
            Department.name_en,
            Theme.id,
            Theme.name,
            Theme.name_en,
            Ticket.status,
            Ticket.priority,
            requester.display_name,
            assignee.display_name,
            Ticket.created_at,
            Ticket.resolved_at,
            Ticket.last_activity_at,
        )
        .join(Department, Ticket.department_id == Department.id)
        .outerjoin(Theme, Ticket.theme_id == Theme.id)
        .join(requester, Ticket.requester_id == requester.id)
        .outerjoin(assignee, Ticket.assignee_id == assignee.id)
        .order_by(Ticket.id)
        .limit(limit)
    )
    rows = [
        ExportRow(
            r[0],
            r[1],
            CatalogName(r[2], r[3], r[4] or ""),
            CatalogName(r[5], r[6], r[7] or "") if r[5] is not None else None,
            r[8],
            r[9],
            r[10],
            r[11],
            r[12],
            r[13],
            r[14],
        )
        for r in session.execute(stmt)
    ]
    return Export(rows, int(total or 0))
