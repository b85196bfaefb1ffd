"""What the lead reads to route consultations: the triage list and the routing rules page.

The decision itself is `routing.decide_triage`; this module gathers what the
lead needs to make it, so the pages need no queries of their own.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, bindparam, func, select
from sqlalchemy.orm import Session, aliased

from ..domain import permissions, states
from ..domain.errors import Forbidden
from ..domain.routing import Rules
from ..models import Department, Initiative, RoutingProposal, Theme, Ticket, User
from . import catalog, routing_rules, statements, team
from .routing_explain import Explanation, read_explanation

# A page of decisions: each carries its own form with every theme, catalog entry and member,
# so a long backlog is read a page at a time, most urgent and oldest first.
TRIAGE_PAGE = 20


# The triage list shows this much of a consultation's text (and marks a longer one).
EXCERPT = 300


@dataclass(frozen=True, slots=True)
class Requester:
    display_name: str


@dataclass(frozen=True, slots=True)
class WaitingTicket:
    """What the triage list shows of a waiting consultation (plain values read in one query,
    not a mapped Ticket with its relations); `body` is its first EXCERPT + 1 characters."""

    id: int
    number: str
    title: str
    body: str
    priority: int
    created_at: datetime
    theme_id: str | None
    department: catalog.CatalogName
    requester: Requester


@dataclass(frozen=True, slots=True)
class WaitingProposal:
    """What the triage list shows of routing's proposal for it."""

    triage_reason: str
    confidence: float
    theme_id: str | None
    member_id: int | None


@dataclass(frozen=True)
class TriageItem:
    """A consultation waiting for triage, its proposal (if routing ran) and the proposal's lists, decoded."""

    ticket: WaitingTicket
    proposal: WaitingProposal | None
    initiatives: list[str]
    departments: list[str]
    explanation: Explanation  # the keyword reasons and what the confidence rests on


@dataclass(frozen=True)
class TriagePage:
    """The waiting consultations, most urgent and oldest first, and the choices the lead routes them with."""

    items: list[TriageItem]
    total: int  # every consultation waiting for triage, on all pages
    page: int
    per_page: int
    themes: Sequence[catalog.CatalogName]
    initiatives: Sequence[catalog.CatalogName]
    members: Sequence[team.Member]
    departments: Mapping[str, catalog.CatalogName]

    # What the list's pager reads (as listing.Page).
    at_least = False

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def theme_by_id(self) -> dict[str, catalog.CatalogName]:
        return {t.id: t for t in self.themes}

    @property
    def initiative_by_id(self) -> dict[str, catalog.CatalogName]:
        return {i.id: i for i in self.initiatives}


_WAITING = (Ticket.triage.is_(True), Ticket.status.in_(states.OPEN_STATUSES))
_requester = aliased(User)
_PAGE = (
    select(
        Ticket.id,
        Ticket.number,
        Ticket.title,
        func.substr(Ticket.body, 1, EXCERPT + 1),
        Ticket.priority,
        Ticket.created_at,
        Ticket.theme_id,
        Department.id,
        Department.name,
        Department.name_en,
        _requester.display_name,
        RoutingProposal.ticket_id,
        RoutingProposal.triage_reason,
        RoutingProposal.confidence,
        RoutingProposal.theme_id,
        RoutingProposal.member_id,
        RoutingProposal.initiative_ids,
        RoutingProposal.department_ids,
        RoutingProposal.reasons,
    )
    .join(Department, Ticket.department_id == Department.id)
    .join(_requester, Ticket.requester_id == _requester.id)
    .outerjoin(RoutingProposal, RoutingProposal.ticket_id == Ticket.id)
    .where(*_WAITING)
    .order_by(Ticket.priority, Ticket.created_at, Ticket.id)
    .limit(bindparam("limit", type_=Integer))
    .offset(bindparam("offset", type_=Integer))
)


def _item(row) -> TriageItem:
    """One row of _PAGE, in its columns' order."""
    (tid, number, title, body, priority, created_at, theme_id, dep_id, dep_name, dep_en, requester) = row[:11]
    ticket = WaitingTicket(
        tid,
        number,
        title,
        body,
        priority,
        created_at,
        theme_id,
        catalog.CatalogName(dep_id, dep_name, dep_en),
        Requester(requester),
    )
    proposed, reason, confidence, p_theme, member, initiatives, departments, reasons = row[11:]
    if proposed is None:
        return TriageItem(ticket=ticket, proposal=None, initiatives=[], departments=[], explanation=Explanation())
    return TriageItem(
        ticket=ticket,
        proposal=WaitingProposal(reason, confidence, p_theme, member),
        initiatives=json.loads(initiatives),
        departments=json.loads(departments),
        explanation=read_explanation(reasons),
    )


def triage_page(session: Session, actor: User, page: int = 1) -> TriagePage:
    """One page (TRIAGE_PAGE) of the open consultations in triage, for the lead; Forbidden
    for anyone else. A page past the last shows the last.

    Each ticket comes with its department and requester loaded; the choices
    are the active themes, initiatives and assignable members.
    """
    if not permissions.can_triage(actor):
        raise Forbidden("Only the SWAT lead can decide triage.")
    total = session.scalar(select(func.count()).select_from(Ticket).where(*_WAITING)) or 0
    page = max(1, min(page, -(-total // TRIAGE_PAGE) or 1))
    rows = statements.read(session, _PAGE, {"limit": TRIAGE_PAGE, "offset": (page - 1) * TRIAGE_PAGE})
    stored = catalog.stored_catalog(session)  # the choices as the last reference load left them
    return TriagePage(
        items=[_item(row) for row in rows],
        total=total,
        page=page,
        per_page=TRIAGE_PAGE,
        themes=stored.active_themes,
        initiatives=stored.active_initiatives,
        members=team.assignable_members(session),
        departments={d.id: d for d in stored.departments},
    )


@dataclass(frozen=True)
class RulesPage:
    """The loaded routing rules as the lead reads them, with the names they refer to (None before any load)."""

    rules: Rules | None
    doc: dict | None
    themes: Mapping[str, Theme]
    initiatives: Mapping[str, Initiative]
    members: Sequence[User]


def rules_page(session: Session, actor: User) -> RulesPage:
    """The current routing rules, every theme and initiative by id, and the members' skills; for who may edit routing."""
    if not permissions.can_edit_routing(actor):
        raise Forbidden("You do not have permission to open this page.")
    loaded = routing_rules.current_rules(session)
    if loaded is None:
        return RulesPage(rules=None, doc=None, themes={}, initiatives={}, members=[])
    rules, doc = loaded
    return RulesPage(
        rules=rules,
        doc=doc,
        themes=catalog.themes_by_id(session),
        initiatives=catalog.initiatives_by_id(session),
        members=team.members_with_themes(session),
    )
