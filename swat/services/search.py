"""Finding consultations: what a query matches, in what order, and the snippet each hit shows.

The condition is on the ticket's id, so it combines with the list's filters and with
visibility.ticket_scope() like any other; internal notes are searched for the desk only
(permissions.can_see_internal), the same rule that shows them. Query text means what
domain.search.parse_query says; the index is written by services.search_index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import (
    ColumnElement,
    Select,
    Text,
    and_,
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
    at_least: bool  # `value` is a lower bound (COUNT_CAP, or what Matches.count found)


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


def newest_matching(session: Session, actor, query: Query, limit: int) -> Select:
    """The ids of the newest documents this query's words find, straight from the index
    (the tickets' own filters and scope are for the caller to apply)."""
    if session.get_bind().dialect.name == "postgresql":
        wanted, _ = _postgres(actor, query.terms, [])
        sd = SearchDocument.__table__.c
        return select(sd.ticket_id.label("id")).distinct().where(*wanted).order_by(sd.ticket_id.desc()).limit(limit)
    fw, _ = _sqlite(actor, query.terms, [])
    return (
        select(_FTS.c.rowid.label("id"))
        .select_from(_FTS)
        .where(_fts_match(fw or ""))
        .order_by(_FTS.c.rowid.desc())
        .limit(limit)
    )


# --- PostgreSQL: a list's matches newest first, with bounded work --------------------------
#
# A word of two or more characters is a phrase of tokens, so every document the index offers
# must be read to check the positions, and a common word is offered by hundreds of thousands.
# A list therefore checks its newest tickets first, one by one (a check reads that ticket's
# document by its key): the work is bounded by the tickets checked, however common the words.
# Words that check finds rarely are looked up in the index instead, for a range of ids sized
# from what the check saw (the index's hits read for that range only), newest first.

# The newest tickets of a list checked first, to see how common the words are.
PROBE = 400
# At most this many tickets checked one by one for a request.
WALK_BUDGET = 4000
# Below this share of the tickets checked, the words are looked up in the index (whole).
RARE = 0.005


class Matches:
    """The matches of a list (PostgreSQL), found newest first as far as asked: `found` holds
    every match whose id is at least `cursor` (all of them once `done`)."""

    def __init__(self, session: Session, actor, query: Query, plain: Select) -> None:
        self.session, self.actor, self.query = session, actor, query
        self.plain = plain.with_only_columns(Ticket.id).order_by(None)
        self.numbers = _numbers(session, query)
        self.found: list[int] = []
        self.cursor: int | None = None
        self.top: int | None = None
        self.done = False
        self.examined = 0
        self.rare = False

    def _check(self, n: int) -> None:
        """Check the next `n` tickets of the list one by one."""
        stmt = self.plain.add_columns(Ticket.number)
        if self.cursor is not None:
            stmt = stmt.where(Ticket.id < self.cursor)
        w = stmt.order_by(Ticket.id.desc()).limit(n).subquery()
        ok = _row_match(self.actor, self.query, self.numbers, w)
        rows = self.session.execute(select(w.c.id, ok).order_by(w.c.id.desc())).all()
        if rows:
            self.top = rows[0][0] if self.top is None else self.top
            self.cursor = rows[-1][0]
        self.examined += len(rows)
        self.found.extend(tid for tid, hit in rows if hit)
        if len(rows) < n:
            self.done = True

    def _look_up(self, want: int, low: int) -> None:
        """The newest `want` matches with ids in [low, cursor), from the index."""
        stmt = self.plain.where(
            matches(self.session, self.actor, self.query, below=self.cursor, low=low), Ticket.id >= low
        )
        if self.cursor is not None:
            stmt = stmt.where(Ticket.id < self.cursor)
        ids = list(self.session.scalars(stmt.order_by(Ticket.id.desc()).limit(want)))
        self.found.extend(ids)
        if len(ids) == want:
            self.cursor = ids[-1]
        else:
            self.cursor = low
            self.done = low <= 0

    def fill(self, want: int, index: bool = True) -> None:
        """Find at least `want` matches (all, if the list has fewer); without `index`, only as
        far as checking tickets one by one goes within the budget."""
        while len(self.found) < want and not self.done:
            if not self.examined and self.cursor is None:
                self._check(PROBE)
                self.rare = len(self.found) < RARE * self.examined
                continue
            need = want - len(self.found)
            if not self.rare and self.examined < WALK_BUDGET:
                share = max(len(self.found) / max(self.examined, 1), RARE)
                self._check(min(WALK_BUDGET - self.examined, max(PROBE, int(need / share * 1.2) + 1)))
                continue
            if not index:
                return
            if self.rare or not self.found or self.top is None or self.cursor is None:
                self._look_up(need, 0)
                continue
            # Matches per id so far: an id range expected to hold what is missing, with room.
            # (at least as many ids again as seen so far, so the ranges grow).
            seen = self.top - self.cursor + 1
            span = max(seen, int(need * seen / len(self.found) * 1.5) + 1)
            self._look_up(need, max(0, self.cursor - span))

    def count(self) -> Count:
        """The number of matches: exact when the list was checked whole or the words are rare
        (the index finds them cheaply), else at least what was found (a lower bound)."""
        self.fill(COUNT_CAP + 1, index=False)
        n = len(self.found)
        if not self.done and self.rare and n <= COUNT_CAP:
            below = self.plain.where(matches(self.session, self.actor, self.query, below=self.cursor))
            if self.cursor is not None:
                below = below.where(Ticket.id < self.cursor)
            n += self.session.execute(
                select(func.count()).select_from(below.limit(COUNT_CAP + 1 - n).subquery())
            ).scalar_one()
            return Count(min(n, COUNT_CAP), n > COUNT_CAP)
        if self.done or n > COUNT_CAP:
            return Count(min(n, COUNT_CAP), n > COUNT_CAP)
        return Count(n, True)

    def relevance_page(self, offset: int, limit: int) -> list[int]:
        """relevance_page's order, from the matches found newest first."""
        head = (
            list(self.session.scalars(self.plain.where(Ticket.number.in_(self.numbers)).order_by(Ticket.id.desc())))
            if self.numbers
            else []
        )
        page = head[offset : offset + limit]
        if len(page) == limit:
            return page
        # The pool: the newest RELEVANCE_POOL matches, of the tickets checked one by one when the
        # words are common (the newest WALK_BUDGET of the list: a word in every other ticket and
        # one in every fiftieth cost alike); from the index when they are rare.
        self.fill(RELEVANCE_POOL, index=self.rare)
        heads = set(head)
        pool = self.found[:RELEVANCE_POOL]
        score = _scores(self.session, self.actor, self.query, [i for i in pool if i not in heads])
        ranked = sorted((i for i in pool if i not in heads), key=lambda i: (-score.get(i, 0.0), -i))
        skip = max(0, offset - len(head))
        page += ranked[skip : skip + limit - len(page)]
        if len(page) == limit:
            return page
        # Past the ranked ones: the other matches, newest first, each exactly once.
        skip = max(0, offset - len(head) - len(ranked))
        rest = limit - len(page)
        self.fill(len(pool) + len(head) + skip + rest)
        beyond = [i for i in self.found[len(pool) :] if i not in heads]
        return page + beyond[skip : skip + rest]


def _row_match(actor, query: Query, numbers: list[str], w) -> ColumnElement[bool]:
    """The query's condition on the tickets of `w` (id, number), each checked by reading its
    documents by key (a scalar subquery per word: never a join over the index's hits)."""
    sd = SearchDocument.__table__
    wanted, unwanted = _postgres(actor, query.terms, query.excluded)

    def anywhere(cond: ColumnElement[bool]) -> ColumnElement[bool]:
        found = select(func.bool_or(cond)).where(sd.c.ticket_id == w.c.id).correlate(w).scalar_subquery()
        return func.coalesce(found, false())

    conds = [anywhere(c) for c in wanted]
    if unwanted is not None:
        conds.append(~anywhere(unwanted))
    text_hit = and_(*conds) if conds else None
    if numbers:
        number_hit = w.c.number.in_(numbers)
        return number_hit if text_hit is None else or_(number_hit, text_hit)
    return text_hit if text_hit is not None else false()


def _scores(session: Session, actor, query: Query, ids: list[int]) -> dict[int, float]:
    """The relevance of each of these tickets' documents (as _ranked scores them)."""
    if not query.terms or not ids:
        return {}
    sd = SearchDocument.__table__.c
    tsq = cast(literal(" & ".join(_tsquery(t) for t in query.terms), Text), TSQUERY)
    rows = session.execute(
        select(sd.ticket_id, func.max(func.ts_rank(sd.terms, tsq))).where(sd.ticket_id.in_(ids)).group_by(sd.ticket_id)
    )
    return {tid: float(s) for tid, s in rows}
