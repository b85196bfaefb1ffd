"""What a report can cover and whose consultations it counts: the periods with data that
the page offers, and the department a department head's report is limited to."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain import permissions
from ..domain import reports as rdomain
from ..models import Department, ReportMonth
from .catalog import CatalogName


def first_month(session: Session, actor) -> date | None:
    """The first day of the earliest month with any stored fact in the actor's scope (their
    department's, or the desk's), None when nothing was ever filed. One read of the monthly
    sums' key (dim 'all' first), however many consultations there are."""
    stmt = select(func.min(ReportMonth.month)).where(ReportMonth.dim == "all", ReportMonth.key == "")
    department = permissions.department_scope(actor)
    if department is not None:
        stmt = stmt.where(ReportMonth.department_id == department)
    found = session.scalar(stmt)
    if found is None:
        return None
    return found if isinstance(found, date) else date.fromisoformat(str(found))


def choices(session: Session, actor, today: date) -> dict[str, list[rdomain.Period]]:
    """Every fiscal year, fiscal quarter and month from the first with data in the actor's
    scope up to the one holding today, newest first (domain.reports.periods_between); with
    no data yet, today's. Each one can be shown (the period before it included)."""
    return rdomain.periods_between(first_month(session, actor) or today, today)


def scope(session: Session, actor) -> CatalogName | None:
    """The department the actor's reports count (a department head's own, named as the
    catalog names it, in both languages), or None for the whole desk."""
    department = permissions.department_scope(actor)
    if department is None:
        return None
    found = session.get(Department, department)
    if found is None:  # a department removed from the catalog: still say which
        return CatalogName(department, department, "")
    return CatalogName(found.id, found.name, found.name_en or "", found.short_name or "")
