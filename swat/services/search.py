"""Finding consultations: what a query matches, in what order, and the snippet each hit shows.

The condition is on the ticket's id, so it combines with the list's filters and with
visibility.ticket_scope() like any other; internal notes are searched for the desk only
(permissions.can_see_internal), the same rule that shows them. Query text means what
domain.search.parse_query says; the index is written by services.search_index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    Text,
    and_,
    bindparam,
    cast,
    column,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
    union_all,
)
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.orm import Session

from ..domain import permissions
from ..domain.search import Query, Term, snippet, ticket_numbers
from ..models import Attachment, Message, SearchDocument, Ticket, TicketCounter, User
from .search_index import FTS_GAP, fts_token
from .visibility import visible_files, visible_messages

# The FTS5 table on SQLite (not a model: see models/search.py), by its rowid (= the ticket's id).
_FTS = table("search_documents", column("rowid"))
# How many of the newest matches a search ranks by relevance (the rest follow, newest first).
RELEVANCE_POOL = 2000
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


def _tokens_tsquery(t: Term) -> str:
    """Every token of the term, in any order and at any distance (PostgreSQL tsquery syntax):
    what the index finds without reading a document, the documents its phrase check reads."""
    last = len(t.tokens) - 1
    return (
        "("
        + " & ".join(_pg_literal(tok) + (":*" if t.prefix and i == last else "") for i, (_, tok) in enumerate(t.tokens))
        + ")"
    )


def _fts_phrase(t: Term) -> str:
    """The term as an FTS5 phrase (a gap token where the term has white space)."""
    words: list[str] = []
    prev = None
    for offset, token in t.tokens:
        if prev is not None and offset > prev + 1:
            words.extend([FTS_GAP] * (offset - prev - 1))
        words.append(fts_token(token))
        prev = offset
    return '"' + " ".join(words) + '"' + (" *" if t.prefix else "")


def _postgres(
    actor, terms: list[Term], excluded: list[Term], sd=None
) -> tuple[list[ColumnElement[bool]], ColumnElement[bool] | None]:
    """Per word, the condition on a document's part that finds it (a long document is kept in
    parts, so each word is looked up by itself), and the one that finds any excluded word."""
    desk = permissions.can_see_internal(actor)
    sd = SearchDocument.__table__.c if sd is None else sd

    def hit(tsq: str) -> ColumnElement[bool]:
        q = cast(literal(tsq, Text), TSQUERY)
        found = sd.terms.op("@@")(q)
        return or_(found, sd.internal_terms.op("@@")(q)) if desk else found

    wanted = [hit(_tsquery(t)) for t in terms]
    unwanted = hit(" | ".join(_tsquery(t) for t in excluded)) if excluded else None
    return wanted, unwanted


def _sqlite(actor, terms: list[Term], excluded: list[Term]) -> tuple[str | None, str | None]:
    scope = "" if permissions.can_see_internal(actor) else "{title public} : "
    wanted = scope + "(" + " AND ".join(_fts_phrase(t) for t in terms) + ")" if terms else None
    unwanted = scope + "(" + " OR ".join(_fts_phrase(t) for t in excluded) + ")" if excluded else None
    return wanted, unwanted


def _fts_ids(expr: str) -> Select:
    return select(_FTS.c.rowid).select_from(_FTS).where(_fts_match(expr))


def _fts_match(expr: str) -> ColumnElement[bool]:
    return literal_column("search_documents").op("MATCH")(literal(expr, Text))


def _numbers(session: Session, query: Query) -> list[str]:
    if query.number is None:
        return []
    years = list(session.scalars(select(TicketCounter.year).order_by(TicketCounter.year)))
    return ticket_numbers(query.number, years)


def matches(session: Session, actor, query: Query, below: int | None = None, low: int = 0) -> ColumnElement[bool]:
    """The tickets this query finds (to combine with ticket_scope and the list's filters).

    On PostgreSQL `below` (and `low`) bound the ids looked up in the index, so that the index's
    hits are read for that range only (the caller bounds Ticket.id the same way).
    """
    numbers = _numbers(session, query)
    conds: list[ColumnElement[bool]] = []
    if session.get_bind().dialect.name == "postgresql":
        wanted, unwanted = _postgres(actor, query.terms, query.excluded)
        docs = SearchDocument.ticket_id
        ranged = [docs < below, docs >= low] if below is not None else []
        if numbers and len(wanted) == 1 and unwanted is None:
            # A number typed alone: its tickets and the text hits as one set, so that each
            # side keeps its index (an OR of the two would read every ticket).
            return Ticket.id.in_(
                union_all(
                    select(Ticket.id).where(Ticket.number.in_(numbers)),
                    select(SearchDocument.ticket_id).where(wanted[0], *ranged),
                )
            )
        for cond in wanted:
            conds.append(Ticket.id.in_(select(SearchDocument.ticket_id).where(cond, *ranged)))
        if unwanted is not None:
            # NOT EXISTS per candidate, not NOT IN of every document with the word.
            conds.append(
                ~select(SearchDocument.ticket_id).where(SearchDocument.ticket_id == Ticket.id, unwanted).exists()
            )
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


def relevance_page(session: Session, actor, query: Query, stmt: Select, offset: int, limit: int) -> list[int]:
    """One page of `stmt`'s ids (over tickets, already filtered by `matches`) by relevance:
    a typed ticket number first, then the weight of the words (in the title above elsewhere),
    then the newest.

    Ranking is bounded: the newest RELEVANCE_POOL matches are ranked; the matches beyond
    them follow, newest first. A word found in half the archive costs what a rare one does.
    """
    ids = stmt.with_only_columns(Ticket.id).order_by(None)
    numbers = _numbers(session, query)
    head = list(session.scalars(ids.where(Ticket.number.in_(numbers)).order_by(Ticket.id.desc()))) if numbers else []
    page = head[offset : offset + limit]
    if len(page) == limit:
        return page
    pool = ids.order_by(Ticket.id.desc()).limit(RELEVANCE_POOL).subquery()
    ranked = _ranked(session, actor, query, pool, exclude=head)
    skip = max(0, offset - len(head))
    page += list(session.scalars(ranked.offset(skip).limit(limit - len(page))))
    if len(page) == limit:
        return page
    pool_size = session.scalar(select(func.count()).select_from(pool)) or 0
    if pool_size < RELEVANCE_POOL:
        return page
    # Past the ranked ones: the other matches, newest first, each exactly once. Without the
    # number hits, the newest `ranked_size` of them are the ranked ones.
    in_pool = (session.scalar(select(func.count()).select_from(pool).where(pool.c.id.in_(head))) or 0) if head else 0
    ranked_size = pool_size - in_pool
    rest = ids.where(Ticket.number.not_in(numbers)) if numbers else ids
    skip = ranked_size + max(0, offset - len(head) - ranked_size)
    return page + list(session.scalars(rest.order_by(Ticket.id.desc()).offset(skip).limit(limit - len(page))))


def _ranked(session: Session, actor, query: Query, pool, exclude: list[int]) -> Select:
    """The pool's ids but `exclude`, best score first (without words: the newest first)."""
    if not query.terms:
        return select(pool.c.id).where(pool.c.id.not_in(exclude)).order_by(pool.c.id.desc())
    if session.get_bind().dialect.name == "postgresql":
        tsq = " & ".join(_tsquery(t) for t in query.terms)
        score = func.ts_rank(SearchDocument.__table__.c.terms, cast(literal(tsq, Text), TSQUERY))
        return (
            select(SearchDocument.ticket_id)
            .where(SearchDocument.ticket_id.in_(select(pool.c.id)), SearchDocument.ticket_id.not_in(exclude))
            .group_by(SearchDocument.ticket_id)
            .order_by(func.max(score).desc(), SearchDocument.ticket_id.desc())
        )
    fw, _ = _sqlite(actor, query.terms, [])
    inner = (
        select(_FTS.c.rowid.label("rid"), literal_column("bm25(search_documents, 10.0, 1.0, 1.0)").label("score"))
        .select_from(_FTS)
        # "+ 0": the full-text match drives the query (bm25 needs it), the pool only filters.
        .where(_fts_match(fw or ""), (_FTS.c.rowid + 0).in_(select(pool.c.id)))
        .subquery()
    )
    return select(inner.c.rid).where(inner.c.rid.not_in(exclude)).order_by(inner.c.score, inner.c.rid.desc())


@dataclass
class Count:
    value: int
    at_least: bool  # `value` is a lower bound (COUNT_CAP, or what search_walk.Matches.count found)


def count(session: Session, stmt: Select, exact: bool = False) -> Count:
    """How many rows `stmt` (over tickets) yields, counted up to COUNT_CAP unless `exact`."""
    ids = stmt.with_only_columns(Ticket.id).order_by(None)
    if exact:
        return Count(session.execute(select(func.count()).select_from(ids.subquery())).scalar_one(), False)
    n = session.execute(select(func.count()).select_from(ids.limit(COUNT_CAP + 1).subquery())).scalar_one()
    return Count(min(n, COUNT_CAP), n > COUNT_CAP)


class ListedTicket(Protocol):
    """What snippets() reads of a result row (services.listing.ListRow)."""

    @property
    def id(self) -> int: ...
    @property
    def body(self) -> str: ...
    @property
    def requester_id(self) -> int: ...


def snippets(
    session: Session, actor, tickets: Sequence[ListedTicket], query: Query
) -> dict[int, list[tuple[str, bool]]]:
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


def newest_matching(actor, engine: str, t: Term, limit: int, above: int | None = None, any_order: bool = False):
    """The statement and its parameters that give the ids of the newest documents this word
    finds, straight from the index (the tickets' own filters and scope are for the caller to
    apply); with `above`, only among the documents of tickets with a larger id, read newest
    first (for a bounded walk over the newest: a common word is found at once, a rare one
    costs the whole walk).

    With `any_order` on PostgreSQL: any `limit` documents, in the order the index's pages
    come (an id may come twice, once per part of a long consultation). PostgreSQL then
    stops at the first `limit` that pass the phrase check instead of checking every
    document holding the words to keep the newest.

    The statements are built once per form (building one cost more than running it); the
    word, the bound and the limit are parameters."""
    desk = permissions.can_see_internal(actor)
    params: dict = {"limit": limit}
    if above is not None and not any_order:
        params["above"] = above
    if engine == "postgresql":
        params["word"] = _tsquery(t)
        form = "any" if any_order else ("newest" if above is None else "walk")
    else:
        params["word"] = _sqlite(actor, [t], [])[0]
        form = "newest" if any_order or above is None else "walk"
    return _newest_statement(engine, desk, form), params


@lru_cache(maxsize=12)
def _newest_statement(engine: str, desk: bool, form: str) -> Select:
    above = bindparam("above", type_=Integer) if form == "walk" else None
    return _newest_branch(engine, desk, form, bindparam("word", type_=Text), bindparam("limit", type_=Integer), above)


def _newest_branch(engine: str, desk: bool, form: str, word_param, limit, above) -> Select:
    """newest_matching's statement for one word (its parameter `word_param`), at most
    `limit` ids, above `above` (an expression) for the walk."""
    if engine == "postgresql":
        word = cast(word_param, TSQUERY)

        def hit(sd) -> ColumnElement[bool]:
            found = sd.terms.op("@@")(word)
            return or_(found, sd.internal_terms.op("@@")(word)) if desk else found

        sd = SearchDocument.__table__.c
        if form == "any":
            return select(sd.ticket_id.label("id")).where(hit(sd)).limit(limit)
        if form == "newest":
            return select(sd.ticket_id.label("id")).distinct().where(hit(sd)).order_by(sd.ticket_id.desc()).limit(limit)
        # The newest documents walked in order, each checked until `limit` are found: the GIN
        # index would hand over every match of a common word, each rechecked for its
        # positions, before the newest could be kept. OFFSET 0 keeps the walk from being
        # planned as that index scan.
        newest = select(SearchDocument).where(sd.ticket_id > above).order_by(sd.ticket_id.desc()).offset(0).subquery()
        return (
            select(newest.c.ticket_id.label("id"))
            .distinct()
            .where(hit(newest.c))
            .order_by(newest.c.ticket_id.desc())
            .limit(limit)
        )
    match = literal_column("search_documents").op("MATCH")(word_param)
    stmt = select(_FTS.c.rowid.label("id")).select_from(_FTS).where(match)
    if form == "walk":
        stmt = stmt.where(_FTS.c.rowid > above)
    return stmt.order_by(_FTS.c.rowid.desc()).limit(limit)


def newest_matching_each(actor, engine: str, terms: Sequence[Term], limit: int, above: int | None = None):
    """newest_matching for several words in one statement: rows (k, id), the k-th word's
    newest `limit` documents (with `above`, among the documents of tickets with a larger
    id, read newest first). The statement is built once per form and number of words."""
    desk = permissions.can_see_internal(actor)
    params: dict = {"limit": limit}
    for k, t in enumerate(terms):
        params[f"word_{k}"] = _tsquery(t) if engine == "postgresql" else _sqlite(actor, [t], [])[0]
    if above is not None:
        params["above"] = above
    return _newest_each_statement(engine, desk, len(terms), above is not None), params


@lru_cache(maxsize=24)
def _newest_each_statement(engine: str, desk: bool, n: int, walked: bool):
    limit = bindparam("limit", type_=Integer)
    above = bindparam("above", type_=Integer) if walked else None
    form = "walk" if walked else "newest"
    branches = []
    for k in range(n):
        one = _newest_branch(engine, desk, form, bindparam(f"word_{k}", type_=Text), limit, above).subquery()
        branches.append(select(literal(k).label("k"), one.c.id))
    return union_all(*branches)
