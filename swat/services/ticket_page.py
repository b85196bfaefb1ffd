"""Everything one consultation's page shows, for one actor, read in a fixed number of queries."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session, joinedload, selectinload

from ..domain import mentions, permissions, states
from ..domain.errors import NotFound
from ..models import (
    Attachment,
    Initiative,
    Message,
    RoutingProposal,
    Theme,
    Ticket,
    TicketEvent,
    TicketInitiative,
)
from . import catalog, escalation, merge, notify, sla, team
from .listing import Named
from .routing_explain import Explanation, read_explanation, read_routed
from .similar import Similar, similar_tickets
from .sla import SlaView
from .visibility import bound_ticket_scope, scope_binding, ticket_scope


@dataclass
class DeskInfo:
    """What the desk knows that helps: the proposal and its reasons, the catalog entries
    and their departments, the panel and escalation chain, similar cases."""

    proposal: RoutingProposal | None
    explanation: Explanation  # the proposal's keyword reasons and what its confidence rests on
    initiatives: list[Initiative]
    proposed: bool  # the entries are the proposal's, not yet linked to the ticket
    panel: Any
    chain: Sequence[catalog.ChainStep]
    similar: list[Similar]
    # The routing's evidence from past cases: the themes of the similar consultations (found
    # by content through the search index, whatever their theme), most frequent first.
    similar_themes: list[tuple[Named, int]]
    theme_by_id: dict[str, Theme]  # at least every theme the explanation and the history name
    init_by_id: dict[str, Initiative]  # at least every catalog entry the reasons and the history name


@dataclass(frozen=True)
class Refs:
    """What the messages mention that the page links: desk members named with @ in internal
    notes (user name -> (id, display name)) and consultations named with # that the reader
    may open. Anything else mentioned stays text."""

    members: dict[str, tuple[int, str]]
    tickets: frozenset[str]


NO_REFS = Refs({}, frozenset())


@dataclass
class TicketPage:
    """One ticket as one actor may see it, and what that actor may do on it."""

    ticket: Ticket
    messages: Sequence[Message]
    events: Sequence[TicketEvent]
    files: Sequence[Attachment]
    by_message: dict[int | None, list[Attachment]]  # files per message id; None: filed with the ticket
    show_internal: bool
    desk: bool
    requester_side: bool
    can_claim: bool
    can_close: bool
    can_reopen: bool
    can_reply: bool
    status_targets: list[str]  # the statuses the actor may move the ticket to (desk only)
    members: Sequence[team.Member]  # whom the ticket can be handed to (desk only)
    sla_clocks: list[SlaView]
    info: DeskInfo | None  # the routing and catalog panel (those who see internal content only)
    refs: Refs = NO_REFS
    escalations: Sequence[Any] = ()  # the SLA's escalations and who acknowledged them (desk only)
    # Merges and links (services.merge): the original this duplicate was merged into, the
    # duplicates merged into this one (by id: the posts that came from each say so), and
    # the related consultations the actor may see.
    merged_into: Ticket | None = None
    duplicates: dict[int, Ticket] = field(default_factory=dict)
    related: Sequence[Ticket] = ()
    can_link: bool = False


@lru_cache(maxsize=2)
def _ticket_statement(scoped: bool) -> Select:
    """The ticket by its number, with what it points to (department, theme and its panel,
    requester, assignee) joined in its own query and its catalog links, a list, in one query
    more each level; built once per form (building it, loader options and all, cost more
    than running it). Scoped: within the actor's department (visibility.ticket_scope)."""
    stmt = (
        select(Ticket)
        .where(Ticket.number == bindparam("number"))
        .options(
            joinedload(Ticket.department, innerjoin=True),
            joinedload(Ticket.theme).joinedload(Theme.panel),
            joinedload(Ticket.requester, innerjoin=True),
            joinedload(Ticket.assignee),
            selectinload(Ticket.initiative_links)
            .selectinload(TicketInitiative.initiative)
            .selectinload(Initiative.departments),
        )
    )
    return stmt.where(bound_ticket_scope()) if scoped else stmt


def load_ticket(session: Session, actor, number: str) -> Ticket:
    """The visible ticket with everything its page shows about it loaded; NotFound otherwise
    (the same rule as visibility.get_visible_ticket)."""
    if not isinstance(number, str) or len(number) > 20:
        raise NotFound()
    scope = scope_binding(actor)
    ticket = session.scalars(_ticket_statement(scope is not None), {"number": number, **(scope or {})}).one_or_none()
    if ticket is None:
        raise NotFound()
    return ticket


@lru_cache(maxsize=2)
def _thread_statements(internal: bool) -> tuple[Select, Select, Select]:
    """The ticket's messages, history events and files as the actor may see them (internal
    ones for the desk side only: visibility.visible_messages and its siblings), built once."""
    messages = (
        select(Message)
        .where(Message.ticket_id == bindparam("ticket"))
        .options(joinedload(Message.author, innerjoin=True))
        .order_by(Message.created_at, Message.id)
    )
    events = (
        select(TicketEvent)
        .where(TicketEvent.ticket_id == bindparam("ticket"))
        .options(joinedload(TicketEvent.actor))
        .order_by(TicketEvent.at, TicketEvent.id)
    )
    files = (
        select(Attachment)
        .where(Attachment.ticket_id == bindparam("ticket"))
        .order_by(Attachment.created_at, Attachment.id)
    )
    if not internal:
        messages = messages.where(Message.internal.is_(False))
        events = events.where(TicketEvent.internal.is_(False))
        files = files.where(Attachment.internal.is_(False))
    return messages, events, files


def ticket_page(session: Session, actor, number: str, now: datetime) -> TicketPage:
    """The page of the ticket with this number for this actor; NotFound if they may not see it.

    Internal notes, events and files appear only for those the visibility rule
    lets in; the routing and catalog side panel (`info`) likewise. The actions
    offered are exactly the ones the services would accept from this actor now.
    """
    ticket = load_ticket(session, actor, number)
    internal = permissions.can_see_internal(actor)
    on_ticket = {"ticket": ticket.id}
    messages_of, events_of, files_of = _thread_statements(internal)
    messages = session.scalars(messages_of, on_ticket).all()
    events = session.scalars(events_of, on_ticket).all()
    files = session.scalars(files_of, on_ticket).all()
    by_message: dict[int | None, list[Attachment]] = {}
    for f in files:
        by_message.setdefault(f.message_id, []).append(f)
    desk = permissions.is_desk(actor)
    requester_side = permissions.can_act_as_requester(actor, ticket.department_id)
    merged_into = session.get(Ticket, ticket.merged_into_id) if ticket.merged_into_id is not None else None
    # A merged duplicate takes no more changes: its page sends the reader to the original.
    speaks = (desk or requester_side) and merged_into is None
    return TicketPage(
        ticket=ticket,
        messages=messages,
        events=events,
        files=files,
        by_message=by_message,
        show_internal=internal,
        desk=desk,
        requester_side=requester_side,
        can_claim=speaks and desk and ticket.status == states.NEW and ticket.assignee_id is None,
        can_close=speaks and ticket.status != states.CLOSED,
        can_reopen=speaks and ticket.status in (states.RESOLVED, states.CLOSED),
        can_reply=speaks and states.is_open(ticket.status),
        status_targets=list(states.target_statuses(ticket.status, permissions.side_of(actor)))
        if desk and speaks
        else [],
        members=team.assignable_members(session) if desk else [],
        sla_clocks=sla.views(session, [ticket.id], now).get(ticket.id, []),
        info=_desk_info(session, actor, ticket, events) if internal else None,
        refs=_refs(session, actor, ticket.body, messages, events),
        escalations=escalation.of_ticket(session, ticket.id) if desk else (),
        merged_into=merged_into,
        duplicates={t.id: t for t in merge.merged_into_this(session, ticket)},
        related=merge.related(session, actor, ticket),
        can_link=speaks and permissions.can_link_tickets(actor),
    )


# History events whose value is another consultation's number, which the page links.
NUMBER_EVENTS = (merge.LINKED, merge.UNLINKED, merge.MERGED_INTO, merge.MERGED_FROM)


def _refs(session: Session, actor, body: str, messages: Sequence[Message], events: Sequence[TicketEvent]) -> Refs:
    """The mentions the page links (a query each, only when the text mentions any), and the
    consultations its history names."""
    numbers = {n for text in (body, *(m.body for m in messages)) for n in mentions.referenced(text)}
    numbers.update(e.new_value for e in events if e.kind in NUMBER_EVENTS)
    names = {n for m in messages if m.internal for n in mentions.mentioned(m.body)}
    if not numbers and not names:
        return NO_REFS
    visible = (
        frozenset(
            session.scalars(select(Ticket.number).where(Ticket.number.in_(sorted(numbers)[:50]), ticket_scope(actor)))
        )
        if numbers
        else frozenset()
    )
    return Refs(notify.mentioned_members(session, names) if names else {}, visible)


def _desk_info(session: Session, actor, ticket: Ticket, events: Sequence[TicketEvent]) -> DeskInfo:
    proposal = session.get(RoutingProposal, ticket.id)
    explanation = read_explanation(proposal.reasons) if proposal else Explanation()
    linked = [link.initiative for link in ticket.initiative_links]
    proposed: list[Initiative] = []
    if not linked and proposal:
        ids = json.loads(proposal.initiative_ids)
        if ids:
            found = {
                i.id: i
                for i in session.scalars(
                    select(Initiative).where(Initiative.id.in_(ids)).options(selectinload(Initiative.departments))
                )
            }
            proposed = [found[i] for i in ids if i in found]
    # The themes and catalog entries the reasons and the history name (by id), read only if
    # the ticket's own do not already include them.
    theme_ids: set[str] = set()
    initiative_ids: set[str] = set()
    for reason in explanation.reasons:
        kind, _, target = str(reason.get("target", "")).partition(":")
        (theme_ids if kind == "theme" else initiative_ids).add(target)
    if explanation.runner_up:
        theme_ids.add(explanation.runner_up)
    theme_ids.update(e["theme"] for e in explanation.examples)
    if proposal is not None and proposal.theme_id:
        theme_ids.add(proposal.theme_id)
    for e in events:
        if e.kind == "theme":
            theme_ids.update(v for v in (e.old_value, e.new_value) if v)
        elif e.kind == "routed":  # what was proposed, named in the history
            routed = read_routed(e.new_value)
            theme_ids.update([routed.theme] if routed.theme else [])
            initiative_ids.update(routed.initiatives)
    similar = similar_tickets(session, actor, ticket)
    counts = Counter(s.ticket.theme for s in similar if s.ticket.theme)
    theme_by_id = {ticket.theme.id: ticket.theme} if ticket.theme else {}
    init_by_id = {i.id: i for i in linked + proposed}
    if theme_ids - theme_by_id.keys():
        theme_by_id.update((t.id, t) for t in session.scalars(select(Theme).where(Theme.id.in_(theme_ids))))
    if initiative_ids - init_by_id.keys():
        init_by_id.update(
            (i.id, i) for i in session.scalars(select(Initiative).where(Initiative.id.in_(initiative_ids)))
        )
    return DeskInfo(
        proposal=proposal,
        explanation=explanation,
        initiatives=linked or proposed,
        proposed=not linked,
        panel=ticket.theme.panel if ticket.theme else None,
        chain=catalog.stored_catalog(session).escalation,
        similar=similar,
        similar_themes=sorted(counts.items(), key=lambda kv: (-kv[1], kv[0].id)),
        theme_by_id=theme_by_id,
        init_by_id=init_by_id,
    )
