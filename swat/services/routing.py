"""Routing on filing, assignment that knows people, and triage (similar past cases: similar.py).

The rules come from config/reference/routing.yaml (routing_rules.py stores them, with the
catalog texts they need, as one document in the database, so every worker routes alike and
a reload reaches them all). `route_new_ticket()` applies a confident proposal at once
(theme, initiatives, assignee) and sends anything else to the lead's triage list; a ticket
never ends with nobody silently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Date, Select, String, and_, bindparam, case, delete, exists, func, insert, select
from sqlalchemy.orm import Session

from ..domain import permissions, states
from ..domain.errors import Forbidden, ValidationError
from ..domain.routing import Proposal, Rules, similar_examples
from ..domain.routing_examples import SimilarExample
from ..domain.tz import TOKYO
from ..models import (
    Initiative,
    MemberAbsence,
    RoutingProposal,
    Theme,
    Ticket,
    TicketInitiative,
    User,
)
from ..models.user import user_themes
from . import history, notify
from .filing import filed_now
from .history import record
from .routing_explain import routed_payload, stored_reasons
from .routing_rules import current_rules
from .tickets import set_assignee

# --- assignment -------------------------------------------------------------


@dataclass
class Candidate:
    user_id: int
    username: str
    display_name: str
    load: float
    open_count: int
    cap: int
    last_assigned_at: datetime | None


def candidates(session: Session, rules: Rules, theme_id: str, now: datetime) -> list[Candidate]:
    """Members who could take a ticket of this theme now, best first.

    Only active SWAT members with the theme as a skill, not away today and
    below their cap of open tickets; ordered by open load weighted by
    priority, then by who has waited longest since their last assignment.
    """
    today = now.astimezone(TOKYO).date()
    out = []
    for uid, username, name, last, load, count in session.execute(
        _candidates_statement(rules), {"theme_id": theme_id, "today": today}
    ):
        cap = int(rules.members.get(username, {}).get("cap", rules.default_cap))
        if count >= cap:
            continue
        out.append(Candidate(uid, username, name, float(load), int(count), cap, last))
    far_past = datetime.min.replace(tzinfo=TOKYO)
    out.sort(key=lambda c: (c.load, c.last_assigned_at or far_past, c.user_id))
    return out


# The statement of `candidates` for the rules it was last built for (their priority
# weights are in it): built once per version of the rules, not once per filing.
_candidates_built: tuple[Rules, Select] | None = None


def _candidates_statement(rules: Rules) -> Select:
    global _candidates_built
    built = _candidates_built
    if built is not None and built[0] is rules:
        return built[1]
    today = bindparam("today", type_=Date)
    weight = case(
        (Ticket.id.is_(None), 0.0),  # the outer join's empty row of a member with no tickets
        *[(Ticket.priority == rank, rules.priority_weights[name]) for name, rank in states.PRIORITY_RANK.items()],
        else_=1.0,
    )
    away = exists().where(
        MemberAbsence.user_id == User.id, MemberAbsence.starts_on <= today, MemberAbsence.ends_on >= today
    )
    stmt = (
        select(
            User.id,
            User.username,
            User.display_name,
            User.last_assigned_at,
            func.coalesce(func.sum(weight), 0.0),
            func.count(Ticket.id),
        )
        .join(
            user_themes,
            and_(user_themes.c.user_id == User.id, user_themes.c.theme_id == bindparam("theme_id", type_=String)),
        )
        .outerjoin(Ticket, and_(Ticket.assignee_id == User.id, Ticket.status.in_(states.OPEN_STATUSES)))
        .where(User.active, User.role.in_(permissions.ASSIGNABLE_ROLES), ~away)
        .group_by(User.id, User.username, User.display_name, User.last_assigned_at)
    )
    _candidates_built = (rules, stmt)
    return stmt


def _departments(doc: dict, initiative_ids: list[str]) -> list[str]:
    seen: list[str] = []
    for iid in initiative_ids:
        for dep in doc["initiative_departments"].get(iid, []):
            if dep not in seen:
                seen.append(dep)
    return seen


def linked_initiatives(session: Session, ticket_id: int) -> list[str]:
    """The ids of the catalog entries linked to the ticket, in their order."""
    return list(
        session.scalars(
            select(TicketInitiative.initiative_id)
            .where(TicketInitiative.ticket_id == ticket_id)
            .order_by(TicketInitiative.position)
        )
    )


def route_new_ticket(session: Session, ticket: Ticket, now: datetime, auto_apply: bool = True) -> RoutingProposal:
    """Propose theme, initiatives, departments, panel and member for a new ticket.

    A confident proposal with a member who fits is applied at once; otherwise
    the ticket is marked for triage with the reason. A theme or initiatives
    the requester chose are kept and count as certain.
    """
    # Its history events are written together when it is done.
    with history.batched(session):
        return _route_new_ticket(session, ticket, now, auto_apply)


def _route_new_ticket(session: Session, ticket: Ticket, now: datetime, auto_apply: bool) -> RoutingProposal:
    from ..domain.routing import route

    chosen_inits = filed_now(session, ticket.id)
    if chosen_inits is None:
        # Not filed in this transaction: it may have been routed already (a repeated
        # submission of the same form), and its initiatives are read back.
        existing = session.get(RoutingProposal, ticket.id)
        if existing is not None:
            return existing
        chosen_inits = linked_initiatives(session, ticket.id)
    loaded = current_rules(session)
    if loaded is None:
        proposal = RoutingProposal(
            ticket_id=ticket.id, theme_id=ticket.theme_id, confident=False, triage_reason="unsure", created_at=now
        )
        session.add(proposal)
        ticket.triage = True
        record(session, ticket, None, now, "triage", new="unsure", internal=True)
        notify.notify_roles(
            session, now, permissions.TRIAGE_LEADS, "triage", ticket, notify.ticket_params(ticket, reason="unsure")
        )
        session.flush()
        return proposal
    rules, doc = loaded
    p = route(ticket.title, ticket.body, rules)
    theme_id = ticket.theme_id or p.theme
    # The requester's own theme is certain; otherwise the scorer's confidence decides, the
    # very number the desk is shown (routing_confidence.py).
    chosen = bool(ticket.theme_id)
    confidence = 1.0 if chosen else p.confidence
    confident = chosen or p.confident
    init_ids = chosen_inits or p.initiatives
    pick = candidates(session, rules, theme_id, now)[:1] if theme_id else []
    member = pick[0] if pick else None
    proposal = RoutingProposal(
        ticket_id=ticket.id,
        theme_id=theme_id,
        initiative_ids=json.dumps(init_ids),
        department_ids=json.dumps(_departments(doc, init_ids)),
        reasons=stored_reasons(p, rules.threshold, chosen, confidence, _examples(ticket, rules, p)),
        panel_id=doc["theme_panels"].get(theme_id) if theme_id else None,
        member_id=member.user_id if member else None,
        confidence=confidence,
        confident=confident,
        created_at=now,
    )
    session.add(proposal)
    record(
        session,
        ticket,
        None,
        now,
        "routed",
        new=routed_payload(p, theme_id, init_ids, member.display_name if member else "", confidence, chosen),
        internal=True,
    )
    if auto_apply and confident and member is not None:
        _apply(session, None, now, ticket, theme_id, init_ids, member.user_id, current=chosen_inits)
    else:
        proposal.triage_reason = "unsure" if not confident else ("nobody_fits" if member is None else "review")
        ticket.triage = True
        record(session, ticket, None, now, "triage", new=proposal.triage_reason, internal=True)
        notify.notify_roles(
            session,
            now,
            permissions.TRIAGE_LEADS,
            "triage",
            ticket,
            notify.ticket_params(ticket, reason=proposal.triage_reason),
        )
    session.flush()
    return proposal


# How alike a labelled example must be to be named beside a proposal (idf-weighted cosine of
# character n-grams: most consultations have one above 0.15).
EXAMPLE_FLOOR = 0.1


def _examples(ticket: Ticket, rules: Rules, p: Proposal) -> list[SimilarExample]:
    """The labelled examples most like the consultation, when something is proposed (with no
    keyword, nothing is, and examples alike only in their greetings would explain nothing)."""
    return similar_examples(ticket.title, ticket.body, rules, 3, EXAMPLE_FLOOR) if p.reasons else []


def _apply(
    session: Session,
    actor,
    now: datetime,
    ticket: Ticket,
    theme_id: str | None,
    initiative_ids: list[str],
    assignee_id: int | None,
    current: list[str] | None = None,
) -> None:
    """`current`: the ticket's initiatives now, when the caller has just read them."""
    classify(session, actor, now, ticket, theme_id, initiative_ids, current)
    if assignee_id != ticket.assignee_id:
        set_assignee(session, actor, now, ticket, assignee_id)
    ticket.triage = False
    ticket.updated_at = now


def classify(
    session: Session,
    actor,
    now: datetime,
    ticket: Ticket,
    theme_id: str | None,
    initiative_ids: list[str],
    current: list[str] | None = None,
) -> bool:
    """Set the ticket's theme and related initiatives (checked by the caller), each change
    in the history; the report facts follow the row (the database's triggers). Returns
    whether anything changed. `current`: its initiatives now, when the caller has read them."""
    changed = False
    if theme_id != ticket.theme_id:
        old = ticket.theme_id or ""
        ticket.theme_id = theme_id
        record(session, ticket, actor, now, "theme", old=old, new=theme_id or "")
        changed = True
    if current is None:
        current = linked_initiatives(session, ticket.id)
    if current != list(initiative_ids):
        filed_now(session, ticket.id)  # what filing remembered of them is no longer so
        session.execute(delete(TicketInitiative).where(TicketInitiative.ticket_id == ticket.id))
        if initiative_ids:
            session.execute(
                insert(TicketInitiative),
                [
                    {"ticket_id": ticket.id, "initiative_id": iid, "position": pos}
                    for pos, iid in enumerate(initiative_ids)
                ],
            )
        record(session, ticket, actor, now, "initiatives", old=",".join(current), new=",".join(initiative_ids))
        changed = True
    return changed


def decide_triage(
    session: Session,
    actor: User,
    now: datetime,
    ticket: Ticket,
    *,
    theme_id: str | None,
    initiative_ids: list[str],
    assignee_id: int | None,
) -> Ticket:
    """The lead's one-step decision: theme, initiatives and assignee, then out of triage."""
    if not permissions.can_triage(actor):
        raise Forbidden("Only the SWAT lead can decide triage.")
    if theme_id:
        theme = session.get(Theme, theme_id)
        if theme is None or not theme.active:
            raise ValidationError("Choose a valid theme.", field="theme")
    ids = list(dict.fromkeys(i for i in initiative_ids if i))
    if ids and set(session.scalars(select(Initiative.id).where(Initiative.id.in_(ids), Initiative.active))) != set(ids):
        raise ValidationError("Choose valid initiatives.", field="initiatives")
    if not states.is_open(ticket.status):
        raise ValidationError("This consultation is no longer open.", field="theme")
    _apply(session, actor, now, ticket, theme_id or None, ids, assignee_id)
    proposal = session.get(RoutingProposal, ticket.id)
    if proposal is not None:
        proposal.decided_at, proposal.decided_by_id = now, actor.id
    record(session, ticket, actor, now, "triaged", new=theme_id or "", internal=True)
    session.flush()
    return ticket
