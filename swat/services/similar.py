"""Similar past consultations, found by content through the search index.

Shown on a ticket's page to the desk, with the desk's last answer, so a question asked
before is answered alike. The candidates are the newest consultations that share one of
this one's content words (domain.search.key_words: its longest runs of kanji, katakana or
Latin), one indexed look-up per word, bounded; they are ranked by how much of their text
they share with this one, whatever their theme (or without one).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session

from ..domain import permissions, states
from ..domain.search import bigram_set, fold, key_words, term
from ..models import Message, Theme, Ticket, User
from . import search, statements
from .listing import Named
from .visibility import bound_ticket_scope, scope_binding

# How many content words are looked up, the newest tickets kept per word, and how much
# of each text is compared: bounded work per page view, whatever the size of the archive.
SIMILAR_WORDS = 5
SIMILAR_PER_WORD = 10
SIMILAR_TEXT = 120
# Each word is first looked for in the newest WALK consultations, read in order, and only
# if it is not found often enough there, any of its matches in the whole index: a word's
# newest matches in the whole index would make PostgreSQL recheck the positions of every
# document holding it (51,839 rows, 0.4 s, for one word at 1,000,000 tickets).
WALK = 2_000
MIN_SCORE = 0.1


@dataclass(frozen=True, slots=True)
class SimilarTicket:
    """What the page shows of a similar consultation (plain values, not a mapped Ticket)."""

    id: int
    number: str
    title: str
    status: str
    theme: Named | None


@dataclass
class Similar:
    ticket: SimilarTicket
    score: float
    answer: str


@lru_cache(maxsize=1)
def _newest_id() -> Select:
    return select(func.max(Ticket.id))


@lru_cache(maxsize=2)
def _pool_statement(scoped: bool) -> Select:
    """The candidates as plain rows with the compared part of the body only: a page of
    candidates as mapped tickets with whole bodies cost more than finding them."""
    stmt = (
        select(
            Ticket.id,
            Ticket.number,
            Ticket.title,
            func.substr(Ticket.body, 1, SIMILAR_TEXT),
            Ticket.status,
            Theme.id,
            Theme.name,
            Theme.name_en,
        )
        .outerjoin(Theme, Ticket.theme_id == Theme.id)
        # A duplicate merged into another is not a case of its own (its original is).
        .where(Ticket.id.in_(bindparam("ids", expanding=True)), Ticket.merged_into_id.is_(None))
    )
    return stmt.where(bound_ticket_scope()) if scoped else stmt


@lru_cache(maxsize=1)
def _answers_statement() -> Select:
    return (
        select(Message.ticket_id, Message.body)
        .join(User, Message.author_id == User.id)
        .where(
            Message.ticket_id.in_(bindparam("ids", expanding=True)),
            Message.internal.is_(False),
            User.role != permissions.STAFF,
        )
        .order_by(Message.created_at, Message.id)
    )


@lru_cache(maxsize=256)
def _compared(text: str) -> frozenset[str]:
    """The two-character pieces a candidate is compared by: the same newest consultations are
    candidates of many pages (a common word's newest matches), and folding them cost as much
    as finding them. Bounded: 256 texts of at most SIMILAR_TEXT characters and a title (about
    10 MB at the longest titles)."""
    return frozenset(bigram_set(fold(text)))


def similar_tickets(session: Session, actor, ticket: Ticket, limit: int = 5) -> list[Similar]:
    """Up to `limit` past consultations like this one, resolved ones first, with the desk's answer."""
    if not permissions.is_desk(actor) and not permissions.can_see_internal(actor):
        return []
    engine = session.get_bind().dialect.name
    text = ticket.title + " " + ticket.body[:SIMILAR_TEXT]
    newest = session.scalar(_newest_id()) or 0
    terms = [t for t in map(term, key_words(text, SIMILAR_WORDS)) if t is not None]
    if not terms:
        return []
    # One more than kept: this ticket itself is among the newest. Every word's newest in one
    # statement: among the newest WALK consultations when there are more.
    want = SIMILAR_PER_WORD + 1
    walked = newest > WALK
    found: list[list[int]] = [[] for _ in terms]
    each = search.newest_matching_each(actor, engine, terms, want, newest - WALK if walked else None)
    for k, tid in statements.read(session, *each):
        found[k].append(tid)
    ids: set[int] = set()
    for t, mine_found in zip(terms, found, strict=True):
        if walked and len(mine_found) < want:
            # Not often among the newest: any of its matches in the whole index (twice as
            # many rows, as a long consultation's parts may repeat an id), not the newest
            # ones, whose choice would check every document holding the word.
            more = session.scalars(*search.newest_matching(actor, engine, t, 2 * want, any_order=True))
            mine_found += [i for i in dict.fromkeys(more) if i not in mine_found][: want - len(mine_found)]
        ids.update(mine_found)
    ids.discard(ticket.id)
    if not ids:
        return []
    scope = scope_binding(actor)
    pool = statements.read(session, _pool_statement(scope is not None), {"ids": sorted(ids), **(scope or {})}).all()
    mine = bigram_set(fold(text))
    scored = []
    for oid, number, title, body, status, theme_id, theme_name, theme_en in pool:
        theirs = _compared(title + " " + body)
        score = len(mine & theirs) / max(1, min(len(mine), len(theirs)))
        if score >= MIN_SCORE:
            done = status in (states.RESOLVED, states.CLOSED)
            scored.append(
                (
                    not done,
                    -score,
                    -oid,
                    SimilarTicket(
                        oid, number, title, status, Named(theme_id, theme_name, theme_en) if theme_id else None
                    ),
                )
            )
    scored.sort(key=lambda x: x[:3])
    chosen = [s[3] for s in scored[:limit]]
    answers = {}
    if chosen:
        rows = statements.read(session, _answers_statement(), {"ids": [c.id for c in chosen]})
        for tid, body in rows:
            answers[tid] = body  # the desk's last answer wins
    return [Similar(s[3], -s[1], answers.get(s[3].id, "")) for s in scored[:limit]]
