"""Correcting what a consultation is about, and taking one that waits for triage.

A desk member changes the theme and related catalog entries on the ticket itself (each
change an event in the history; the report facts follow the ticket's row, so the reports'
theme breakdown moves it; similar consultations and the routing's evidence are read by
content and need nothing). Claiming a consultation that waits for triage decides its
triage too: it takes the proposal's theme and entries, or the theme the member chose,
and never leaves the ticket out of triage without a theme.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain import permissions
from ..domain.errors import Forbidden, ValidationError
from ..models import Initiative, RoutingProposal, Ticket, User
from . import routing, tickets
from .filing import MAX_INITIATIVES, check_initiatives, check_theme
from .history import record
from .merge import not_merged


def reclassify(
    session: Session,
    actor: User,
    now: datetime,
    ticket: Ticket,
    *,
    theme_id: str | None,
    initiative_ids: Sequence[str],
) -> Ticket:
    """A desk member sets the ticket's theme (or none) and related initiatives, open or not
    (a closed consultation counted under the wrong theme is corrected too). A theme or
    entry the ticket has that was retired since may stay; one newly chosen must be active.
    One waiting for triage still waits: who takes it is the lead's decision, or a claim's."""
    if not permissions.is_desk(actor):
        raise Forbidden("Only SWAT members can change the theme and related initiatives.")
    not_merged(ticket)
    # What the ticket has already stays choosable when it has been retired since; anything
    # newly chosen must be in the active catalog.
    theme = ticket.theme_id if (theme_id or None) == ticket.theme_id else check_theme(session, theme_id)
    current = routing.linked_initiatives(session, ticket.id)
    wanted = list(dict.fromkeys(i for i in initiative_ids if i))
    added = set(check_initiatives(session, [i for i in wanted if i not in current]))
    ids = [i for i in wanted if i in current or i in added]
    if len(ids) > MAX_INITIATIVES:
        raise ValidationError("Choose at most %(max)d initiatives.", field="initiatives", max=MAX_INITIATIVES)
    if routing.classify(session, actor, now, ticket, theme, ids, current):
        ticket.updated_at = now
    session.flush()
    return ticket


def claim(session: Session, actor: User, now: datetime, ticket: Ticket, theme_id: str | None = None) -> Ticket:
    """Take an unassigned new ticket (tickets.claim_ticket: of two at once one wins). One
    that waits for triage is decided by the claim: its theme is the one chosen, else the
    ticket's own, else the proposal's, with the proposal's entries (those still active)
    unless it has entries of its own; with no theme at all the claim is refused and asks
    for one."""
    if not ticket.triage:
        return tickets.claim_ticket(session, actor, now, ticket)
    proposal = session.get(RoutingProposal, ticket.id)
    theme = check_theme(session, theme_id) or ticket.theme_id or (proposal.theme_id if proposal else None)
    if theme is None:
        raise ValidationError(
            "Choose the consultation's theme to take it: it waits for triage without one.", field="theme"
        )
    current = routing.linked_initiatives(session, ticket.id)
    ids = current or (_still_active(session, json.loads(proposal.initiative_ids or "[]")) if proposal else [])
    tickets.claim_ticket(session, actor, now, ticket)  # takes it out of triage
    routing.classify(session, actor, now, ticket, theme, ids, current)
    if proposal is not None and proposal.decided_at is None:
        proposal.decided_at, proposal.decided_by_id = now, actor.id
    record(session, ticket, actor, now, "triaged", new=theme, internal=True)
    session.flush()
    return ticket


def _still_active(session: Session, ids: Sequence[str]) -> list[str]:
    """These catalog entries, in their order, without those deactivated since (at most MAX_INITIATIVES)."""
    wanted = [i for i in dict.fromkeys(ids) if isinstance(i, str) and i]
    if not wanted:
        return []
    active = set(session.scalars(select(Initiative.id).where(Initiative.id.in_(wanted), Initiative.active)))
    return [i for i in wanted if i in active][:MAX_INITIATIVES]
