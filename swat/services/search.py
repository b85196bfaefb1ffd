"""Finding consultations: what a query matches, in what order, and the snippet each hit shows.

The condition is on the ticket's id, so it combines with the list's filters and with
visibility.ticket_scope() like any other; internal notes are searched for the desk only
(permissions.can_see_internal), the same rule that shows them. Query text means what
domain.search.parse_query says; the index is written by services.search_index.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    ColumnElement,
    Select,
    Text,
    and_,
    cast,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.orm import Session

from ..domain import permissions
from ..domain.search import Query, Term, snippet, ticket_numbers
from ..models import Attachment, Message, SearchDocument, Ticket, TicketCounter, User
from .search_index import FTS_GAP, fts_token
from .visibility import visible_files, visible_messages

# Beyond this many matches a list says 「10,000件以上」 and counts exactly on request.
COUNT_CAP = 10_000


def _pg_literal(token: str) -> str:
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


def _tsquery(t: Term) -> str:
    """A phrase of the term's tokens at their distances (PostgreSQL tsquery syntax)."""
    parts: list[str] = []
    prev = None
    last = len(t.tokens) - 1
    for i, (offset, token) in enumerate(t.tokens):
        lit = _pg_literal(token) + (":*" if t.prefix and i == last else "")
        if prev is not None:
            d = offset - prev
            parts.append("<->" if d == 1 else f"<{d}>")
        parts.append(lit)
        prev = offset
    return "(" + " ".join(parts) + ")"


def _fts_phrase(t: Term) -> str:
    """The term as an FTS5 phrase (a gap token where the term has white space)."""
    words: list[str] = []
    prev = None
    for offset, token in t.tokens:
        if prev is not None and offset > prev + 1:
            words.append(FTS_GAP)
        words.append(fts_token(token))
        prev = offset
    return '"' + " ".join(words) + '"' + (" *" if t.prefix else "")


def _postgres(actor, terms: list[Term], excluded: list[Term]) -> tuple[ColumnElement[bool] | None, ...]:
    desk = permissions.can_see_internal(actor)
    sd = SearchDocument.__table__.c

    def hit(tsq: str) -> ColumnElement[bool]:
        q = cast(literal(tsq, Text), TSQUERY)
        found = sd.terms.op("@@")(q)
        return or_(found, sd.internal_terms.op("@@")(q)) if desk else found

    wanted = None
    if terms:
        if desk:
            wanted = and_(*(hit(_tsquery(t)) for t in terms))
        else:
            wanted = hit(" & ".join(_tsquery(t) for t in terms))
    unwanted = hit(" | ".join(_tsquery(t) for t in excluded)) if excluded else None
    return wanted, unwanted


def _sqlite(actor, terms: list[Term], excluded: list[Term]) -> tuple[str | None, str | None]:
    scope = "" if permissions.can_see_internal(actor) else "{title public} : "
    wanted = scope + "(" + " AND ".join(_fts_phrase(t) for t in terms) + ")" if terms else None
    unwanted = scope + "(" + " OR ".join(_fts_phrase(t) for t in excluded) + ")" if excluded else None
    return wanted, unwanted


def _fts_ids(expr: str) -> Select:
    return select(literal_column("rowid")).select_from(text("search_documents")).where(_fts_match(expr))


def _fts_match(expr: str) -> ColumnElement[bool]:
    return literal_column("search_documents").op("MATCH")(literal(expr, Text))


def _numbers(session: Session, query: Query) -> list[str]:
    if query.number is None:
        return []
    years = list(session.scalars(select(TicketCounter.year).order_by(TicketCounter.year)))
    return ticket_numbers(query.number, years)


def matches(session: Session, actor, query: Query) -> ColumnElement[bool]:
    """The tickets this query finds (to combine with ticket_scope and the list's filters)."""
    numbers = _numbers(session, query)
    conds: list[ColumnElement[bool]] = []
    if session.get_bind().dialect.name == "postgresql":
        wanted, unwanted = _postgres(actor, query.terms, query.excluded)
        if wanted is not None:
            conds.append(Ticket.id.in_(select(SearchDocument.ticket_id).where(wanted)))
        if unwanted is not None:
            conds.append(Ticket.id.not_in(select(SearchDocument.ticket_id).where(unwanted)))
    else:
        fw, fu = _sqlite(actor, query.terms, query.excluded)
        if fw is not None:
            conds.append(Ticket.id.in_(_fts_ids(fw)))
        if fu is not None:
            conds.append(Ticket.id.not_in(_fts_ids(fu)))
    text_hit = and_(*conds) if conds else None
    if numbers:
        number_hit = Ticket.number.in_(numbers)
        return number_hit if text_hit is None else or_(number_hit, text_hit)
    return text_hit if text_hit is not None else false()


def by_relevance(session: Session, actor, query: Query, stmt: Select) -> Select:
    """`stmt` (over tickets, already filtered by `matches`) ordered by relevance: a typed
    ticket number first, then the weight of the words (in the title above elsewhere), then
    the newest.

    The ranked matches drive the query (an inner join from the index to the tickets), so
    only the matches are ranked and the tickets are reached by their key.
    """
    numbers = _numbers(session, query)
    parts: list[Select] = []
    if query.terms:
        if session.get_bind().dialect.name == "postgresql":
            wanted, _ = _postgres(actor, query.terms, [])
            tsq = " & ".join(_tsquery(t) for t in query.terms)
            parts.append(
                select(
                    SearchDocument.ticket_id.label("rid"),
                    func.ts_rank(SearchDocument.__table__.c.terms, cast(literal(tsq, Text), TSQUERY)).label("score"),
                ).where(wanted if wanted is not None else false())
            )
        else:
            fw, _ = _sqlite(actor, query.terms, [])
            parts.append(
                select(
                    literal_column("rowid").label("rid"),
                    (-literal_column("bm25(search_documents, 10.0, 1.0, 1.0)")).label("score"),
                )
                .select_from(text("search_documents"))
                .where(_fts_match(fw or ""))
            )
    if numbers:
        parts.append(select(Ticket.id.label("rid"), literal(1e9).label("score")).where(Ticket.number.in_(numbers)))
    if not parts:  # only words to leave out: the newest first
        return stmt.order_by(Ticket.id.desc())
    ranked = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery()
    best = (
        select(ranked.c.rid, func.max(ranked.c.score).label("score")).group_by(ranked.c.rid).subquery()
        if len(parts) > 1
        else ranked
    )
    return stmt.join(best, best.c.rid == Ticket.id).order_by(best.c.score.desc(), Ticket.id.desc())


@dataclass
class Count:
    value: int
    at_least: bool  # more than COUNT_CAP matched; `value` is the cap


def count(session: Session, stmt: Select, exact: bool = False) -> Count:
    """How many rows `stmt` (over tickets) yields, counted up to COUNT_CAP unless `exact`."""
    ids = stmt.with_only_columns(Ticket.id).order_by(None)
    if exact:
        return Count(session.execute(select(func.count()).select_from(ids.subquery())).scalar_one(), False)
    n = session.execute(select(func.count()).select_from(ids.limit(COUNT_CAP + 1).subquery())).scalar_one()
    return Count(min(n, COUNT_CAP), n > COUNT_CAP)


def snippets(session: Session, actor, tickets: list[Ticket], query: Query) -> dict[int, list[tuple[str, bool]]]:
    """For each ticket of a result page, a piece of where the words were found, marked."""
    words = query.words
    if not words or not tickets:
        return {}
    out: dict[int, list[tuple[str, bool]]] = {}
    rest: list[int] = []
    for t in tickets:
        found = snippet(t.body, words)
        if found:
            out[t.id] = found
        else:
            rest.append(t.id)
    if not rest:
        return out
    rows = session.execute(
        select(Message.ticket_id, Message.body)
        .where(Message.ticket_id.in_(rest), visible_messages(actor))
        .order_by(Message.ticket_id, Message.id)
    )
    for tid, body in rows:
        if tid not in out and (found := snippet(body, words)):
            out[tid] = found
    left = [tid for tid in rest if tid not in out]
    if left:
        files = session.execute(
            select(Attachment.ticket_id, Attachment.filename)
            .where(Attachment.ticket_id.in_(left), visible_files(actor))
            .order_by(Attachment.id)
        )
        for tid, name in files:
            if tid not in out and (found := snippet(name, words)):
                out[tid] = found
    unfound = [t for t in tickets if t.id not in out]
    if unfound:
        names = dict(
            session.execute(
                select(User.id, User.display_name).where(User.id.in_({t.requester_id for t in unfound}))
            ).all()
        )
        for t in unfound:
            if found := snippet(names.get(t.requester_id, ""), words):
                out[t.id] = found
    return out


def newest_matching(session: Session, actor, query: Query, limit: int) -> Select:
    """The ids of the newest documents this query's words find, straight from the index
    (the tickets' own filters and scope are for the caller to apply)."""
    if session.get_bind().dialect.name == "postgresql":
        wanted, _ = _postgres(actor, query.terms, [])
        sd = SearchDocument.__table__.c
        return (
            select(sd.ticket_id.label("id"))
            .where(wanted if wanted is not None else false())
            .order_by(sd.ticket_id.desc())
            .limit(limit)
        )
    fw, _ = _sqlite(actor, query.terms, [])
    return (
        select(literal_column("rowid").label("id"))
        .select_from(text("search_documents"))
        .where(_fts_match(fw or ""))
        .order_by(literal_column("rowid").desc())
        .limit(limit)
    )
