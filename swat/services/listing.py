"""Ticket lists: the SWAT queue and a department's consultations.

One query builder serves both, always filtered by visibility.ticket_scope(),
so a list never shows (or counts) a ticket its reader could not open. Rows
come with their department, theme, requester and assignee in the same query
(no query per row).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, literal, select
from sqlalchemy.orm import Session, aliased

from ..domain import permissions, states
from ..domain.search import parse_query
from ..domain.tz import TOKYO
from ..models import Department, Initiative, Theme, Ticket, TicketInitiative, User
from ..models.user import user_themes
from . import catalog, search, search_walk, statements
from .visibility import ticket_scope

SORTS = {
    "priority": (Ticket.priority, Ticket.created_at, Ticket.id),
    "created": (Ticket.created_at, Ticket.id),
    "activity": (Ticket.last_activity_at, Ticket.id),
    "due": (Ticket.due_date, Ticket.id),
    "sla": (Ticket.sla_due_at, Ticket.id),
    "number": (Ticket.id,),
    # Best match first (services.search.by_relevance); without search words, the newest.
    "relevance": (Ticket.id,),
}
MAX_QUERY = 200


@dataclass
class TicketFilters:
    statuses: list[str] = field(default_factory=list)
    theme: str = ""
    department: str = ""
    # "" any, "me", "none" (unassigned), or a user id as text
    assignee: str = ""
    priority: str = ""
    q: str = ""
    initiative: str = ""
    # Drill-down from a report: the tickets behind a count ("opened", "resolved" or
    # "backlog") of a period key (see domain.reports.parse_period).
    period: str = ""
    measure: str = ""
    sort: str = "priority"
    descending: bool = False
    page: int = 1
    per_page: int = 50
    # Count every match exactly (beyond search.COUNT_CAP, and however common the words).
    exact_count: bool = False
    # The nearest SLA clock: "today" (due later today, Tokyo), "overdue" (due before `at`).
    sla: str = ""
    at: datetime | None = None


@dataclass
class Page:
    rows: list[ListRow]
    total: int
    page: int
    per_page: int
    # True when `total` is a lower bound (more than search.COUNT_CAP matched, or on PostgreSQL
    # the words are common and only the newest tickets were checked): 「10,000件以上」.
    at_least: bool = False
    # Per ticket id, where the search words were found (pieces of text, marked or not).
    snippets: dict[int, list[tuple[str, bool]]] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        """The number of pages; past the counting bound, at least one more while pages are full."""
        known = max(1, -(-self.total // self.per_page))
        if self.at_least and len(self.rows) == self.per_page:
            return max(known, self.page + 1)
        return max(known, self.page) if self.at_least else known


def assignee_id(value: str) -> int | None:
    """A user id given as an assignee filter (ASCII digits that fit an id), else None."""
    return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None


def filter_options(session: Session) -> tuple[Sequence[Named], Sequence[Named]]:
    """Every theme and department, in catalog order: the choices of the queue's filters, from
    the catalog as the last reference load stored it (from the tables before any such load)."""
    stored = catalog.stored_catalog(session)
    return stored.themes, stored.departments


def filtered_by(session: Session, f: TicketFilters) -> dict[str, Any]:
    """What each catalog or assignee filter in force names: the row, or None ("none" or unknown).

    An assignee is only named if they are a SWAT member: an id in the address never
    reveals anyone else's name.
    """
    out: dict[str, Any] = {}
    for arg, model in (("department", Department), ("theme", Theme), ("initiative", Initiative)):
        value = getattr(f, arg)
        if value:
            out[arg] = session.get(model, value) if value != "none" else None
    if f.assignee:
        user_id = assignee_id(f.assignee)
        user = session.get(User, user_id) if user_id is not None else None
        out["assignee"] = user if user is not None and permissions.is_assignable(user) else None
    return out


def _filtered(session: Session, actor, f: TicketFilters) -> Select:
    """The list's tickets: its scope and filters, without its search words."""
    stmt = select(Ticket).where(ticket_scope(actor))
    statuses = [s for s in f.statuses if s in states.STATUSES]
    if statuses:
        stmt = stmt.where(Ticket.status.in_(statuses))
    if f.theme == "none":
        stmt = stmt.where(Ticket.theme_id.is_(None))
    elif f.theme == "mine":
        stmt = stmt.where(Ticket.theme_id.in_(my_themes(session, actor)))
    elif f.theme:
        stmt = stmt.where(Ticket.theme_id == f.theme)
    if f.department:
        stmt = stmt.where(Ticket.department_id == f.department)
    if f.assignee == "me":
        stmt = stmt.where(Ticket.assignee_id == actor.id)
    elif f.assignee == "none":
        stmt = stmt.where(Ticket.assignee_id.is_(None))
    elif (user_id := assignee_id(f.assignee)) is not None:
        stmt = stmt.where(Ticket.assignee_id == user_id)
    if f.priority in states.PRIORITY_RANK:
        stmt = stmt.where(Ticket.priority == states.PRIORITY_RANK[f.priority])
    if f.initiative == "none":
        stmt = stmt.where(~Ticket.id.in_(select(TicketInitiative.ticket_id)))
    elif f.initiative:
        stmt = stmt.where(
            Ticket.id.in_(select(TicketInitiative.ticket_id).where(TicketInitiative.initiative_id == f.initiative))
        )
    if f.sla in ("today", "overdue") and f.at is not None:
        stmt = stmt.where(sla_clause(f.sla, f.at))
    if (drill := drill_down_of(f)) is not None:
        from .reports import measure_clause

        stmt = stmt.where(measure_clause(*drill))
    return stmt


def matching(session: Session, actor, f: TicketFilters) -> Select:
    """Every ticket of the list these filters make for the actor (its scope, its filters, a
    report figure's clause and its search words), unordered and unpaged: the list whole, as
    an export reads it."""
    plain = _filtered(session, actor, f)
    query = parse_query(f.q, MAX_QUERY)
    return plain.where(search.matches(session, actor, query)) if query else plain


def my_themes(session: Session, actor) -> list[str]:
    """The themes the actor works on (a member's skills)."""
    return list(session.scalars(select(user_themes.c.theme_id).where(user_themes.c.user_id == actor.id)))


def sla_clause(which: str, at: datetime) -> ColumnElement[bool]:
    """The nearest running SLA clock due later today (Tokyo's date) or already due."""
    if which == "overdue":
        return Ticket.sla_due_at < at
    tomorrow = datetime.combine(at.astimezone(TOKYO).date() + timedelta(days=1), time(), tzinfo=TOKYO)
    return (Ticket.sla_due_at >= at) & (Ticket.sla_due_at < tomorrow)


def drill_down_of(f: TicketFilters):
    """The report figure the filters name, (measure, period), or None (a period that cannot
    be read, or a measure that is not one, is ignored)."""
    from ..domain.reports import parse_period
    from .reports import MEASURES

    if not (f.period and f.measure in MEASURES):
        return None
    try:
        return f.measure, parse_period(f.period)
    except ValueError:
        return None


def list_tickets(session: Session, actor, f: TicketFilters) -> Page:
    """One page of the tickets the actor may see, filtered and sorted, with its total."""
    plain = _filtered(session, actor, f)
    query = parse_query(f.q, MAX_QUERY)
    base = plain.where(search.matches(session, actor, query)) if query else plain
    # PostgreSQL: the matches found newest first, so that neither the count nor the
    # relevance page reads every document a common word is in (see search_walk.Matches).
    found = (
        search_walk.Matches(session, actor, query, plain)
        if query and session.get_bind().dialect.name == "postgresql"
        else None
    )
    counted = found.count() if found is not None and not f.exact_count else search.count(session, base, f.exact_count)
    total = counted.value
    per_page = max(1, min(f.per_page, 200))
    pages = max(1, -(-total // per_page))
    # Past the counting bound the last page is not known: any page may be asked for.
    page = max(1, f.page if counted.at_least else min(f.page, pages))
    if f.sort == "relevance":
        offset = (page - 1) * per_page
        ids = (
            found.relevance_page(offset, per_page)
            if found is not None
            else search.relevance_page(session, actor, query, base, offset, per_page)
        )
        rows = _rows(session, ids, with_body=bool(query.terms))
        total, at_least = _shown_total(total, counted.at_least, page, per_page, len(rows))
        return Page(rows, total, page, per_page, at_least, search.snippets(session, actor, rows, query))
    cols = SORTS.get(f.sort, SORTS["priority"])
    # First the page's ids (filters, order and offset over narrow index columns only),
    # then those rows with their joins: sorting whole rows of a large queue is what costs.
    source: Any = Ticket
    drill = drill_down_of(f)
    if drill is not None and drill[0] == "backlog" and session.get_bind().dialect.name == "postgresql":
        # A backlog at an instant is at most the consultations open then: on PostgreSQL found
        # whole by its GiST index (models.ticket.backlog_span), then sorted. Left to itself
        # the planner walks the list's order (latest activity) expecting the matches spread
        # evenly, and a past year's backlog lies far down it (resolved soon after). The
        # subquery's OFFSET keeps the two steps apart. SQLite has no such index and walks.
        backlog = base.with_only_columns(*dict.fromkeys((Ticket.id, *cols))).offset(0).subquery()
        source = aliased(Ticket, backlog)
    order: list[ColumnElement[Any]] = [
        getattr(source, c.key).desc() if f.descending else getattr(source, c.key).asc() for c in cols
    ]
    if f.sort == "due":
        order.insert(0, source.due_date.is_(None))  # undated last, both directions
    elif f.sort == "sla":
        order.insert(0, source.sla_due_at.is_(None))  # no running clock last
    walked = (
        found.ordered_page(order, (page - 1) * per_page, per_page) if found is not None and source is Ticket else None
    )
    if walked is not None:
        ids = walked
    else:
        ids_query = base.with_only_columns(Ticket.id) if source is Ticket else select(source.id)
        ids = list(session.scalars(ids_query.order_by(*order).limit(per_page).offset((page - 1) * per_page)))
    rows = _rows(session, ids, with_body=bool(query.terms))
    total, at_least = _shown_total(total, counted.at_least, page, per_page, len(rows))
    return Page(rows, total, page, per_page, at_least, search.snippets(session, actor, rows, query))


def _shown_total(total: int, at_least: bool, page: int, per_page: int, shown: int) -> tuple[int, bool]:
    """The count a page shows: a lower bound is never below the rows up to this page, and
    a page that is not full (the last one) makes it exact."""
    if not at_least:
        return total, False
    upto = (page - 1) * per_page + shown
    if shown < per_page and (shown or page == 1):
        return upto, False
    return max(total, upto), True


# A catalog item as a list row names it: the catalog's own (localized() reads name and name_en).
Named = catalog.CatalogName


@dataclass(frozen=True, slots=True)
class Person:
    id: int
    display_name: str


@dataclass(frozen=True, slots=True)
class ListRow:
    """What a list row shows of a consultation: plain values read in one query, not a
    mapped Ticket (building 50 of those with their four relations cost more than the query)."""

    id: int
    number: str
    title: str
    status: str
    priority: int
    created_at: datetime
    last_activity_at: datetime
    due_date: date | None
    department_id: str
    department: Named
    theme: Named | None
    requester_id: int
    requester: Person
    assignee: Person | None
    # Only for a search's snippets; empty otherwise.
    body: str = ""


@lru_cache(maxsize=2)
def _rows_statement(with_body: bool) -> Select:
    """The list rows' query, built once (building it, aliases and all, cost more than running it)."""
    assignee = aliased(User)
    requester = aliased(User)
    return (
        select(
            Ticket.id,
            Ticket.number,
            Ticket.title,
            Ticket.status,
            Ticket.priority,
            Ticket.created_at,
            Ticket.last_activity_at,
            Ticket.due_date,
            Ticket.department_id,
            Department.name,
            Department.name_en,
            Ticket.theme_id,
            Theme.name,
            Theme.name_en,
            Ticket.requester_id,
            requester.display_name,
            Ticket.assignee_id,
            assignee.display_name,
            Ticket.body if with_body else literal(""),
        )
        .where(Ticket.id.in_(bindparam("ids", expanding=True)))
        .join(Department, Ticket.department_id == Department.id)
        .outerjoin(Theme, Ticket.theme_id == Theme.id)
        .join(requester, Ticket.requester_id == requester.id)
        .outerjoin(assignee, Ticket.assignee_id == assignee.id)
    )


def _rows(session: Session, ids: list[int], with_body: bool = False) -> list[ListRow]:
    """The tickets with these ids, in this order, with what a list row shows, in one query
    (the body only for a search's snippets)."""
    if not ids:
        return []
    by_id = {}
    # The columns as _rows_statement lists them: the ticket's first 9 (the last is its
    # department's id), the department's name and name_en, the theme's id, name and name_en,
    # the requester's and the assignee's id and name, the body.
    for r in statements.read(session, _rows_statement(with_body), {"ids": ids}):
        # (mypy cannot count the starred slice's values: ListRow's first 9 fields)
        by_id[r[0]] = ListRow(  # type: ignore[call-arg]
            *r[:9],
            Named(*r[8:11]),
            Named(*r[11:14]) if r[11] is not None else None,
            r[14],
            Person(*r[14:16]),
            Person(*r[16:18]) if r[16] is not None else None,
            r[18] or "",
        )
    return [by_id[i] for i in ids if i in by_id]


def list_row(session: Session, actor, number: str) -> ListRow | None:
    """One ticket as a list row shows it, if the actor may see it (else None)."""
    from ..domain.errors import NotFound
    from .visibility import get_visible_ticket

    try:
        ticket = get_visible_ticket(session, actor, number)
    except NotFound:
        return None
    rows = _rows(session, [ticket.id])
    return rows[0] if rows else None
