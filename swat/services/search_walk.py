"""PostgreSQL: a list's matches newest first, with bounded work (services.search is the rest).

A word of two or more characters is a phrase of tokens, so every document the index offers
must be read to check the positions, and a common word is offered by hundreds of thousands.
A list therefore checks its newest tickets first, one by one (a check reads that ticket's
document by its key): the work is bounded by the tickets checked, however common the words.
Words that check finds rarely are looked up in the index whole, if the index holds them in
few documents; otherwise (a word common in the archive but missing from the newest tickets,
as after a day of near-identical filings) for ranges of ids sized from what the check saw
(the index's hits read for that range only), newest first.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    Text,
    and_,
    any_,
    bindparam,
    cast,
    false,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSQUERY
from sqlalchemy.orm import Session
from sqlalchemy.sql.util import ClauseAdapter

from ..domain import permissions
from ..domain.search import Query
from ..models import SearchDocument, Ticket
from . import search, statements
from .search import Count, _numbers, _postgres, _tokens_tsquery, _tsquery, matches

# The newest tickets of a list checked first, to see how common the words are.
PROBE = 400
# At most this many tickets checked one by one by each step of a request (its count, a page
# in another order than relevance).
WALK_BUDGET = 4000
# Below this share of the tickets checked, the words are looked up in the index (whole)...
RARE = 0.005
# ...if it holds all of their tokens in at most this many documents (the phrase check reads
# each of them): the newest tickets checked say how common the words are in this list lately,
# the index how much looking them up whole would read.
RARE_DOCUMENTS = 2000
# What a list can be sorted by (services.listing.SORTS), and the number a check reads.
_ORDER_COLUMNS = (
    Ticket.number,
    Ticket.priority,
    Ticket.created_at,
    Ticket.last_activity_at,
    Ticket.due_date,
    Ticket.sla_due_at,
)


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
        self._few: bool | None = None

    def _check(self, n: int) -> None:
        """Check the next `n` tickets of the list one by one."""
        stmt = self.plain.add_columns(Ticket.number)
        if self.cursor is not None:
            stmt = stmt.where(Ticket.id < self.cursor)
        w = stmt.order_by(Ticket.id.desc()).limit(n).subquery()
        ok = _row_match(self.actor, self.query, self.numbers, w)
        rows = statements.read(self.session, select(w.c.id, ok).order_by(w.c.id.desc())).all()
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
        ids = list(statements.read(self.session, stmt.order_by(Ticket.id.desc()).limit(want)).scalars())
        self.found.extend(ids)
        if len(ids) == want:
            self.cursor = ids[-1]
        else:
            self.cursor = low
            self.done = low <= 0

    def fill(self, want: int, index: bool | None = True) -> None:
        """Find at least `want` matches (all, if the list has fewer); with `index` False, only
        as far as checking tickets one by one goes within the budget; None: the index only
        for words found rarely (decided once the newest tickets have been checked)."""
        while len(self.found) < want and not self.done:
            if not self.examined and self.cursor is None:
                self._probe()
                continue
            need = want - len(self.found)
            if not self.rare and self.examined < WALK_BUDGET:
                share = max(len(self.found) / max(self.examined, 1), RARE)
                self._check(min(WALK_BUDGET - self.examined, max(PROBE, int(need / share * 1.2) + 1)))
                if self.examined >= WALK_BUDGET:
                    # Judged again on the whole walk, not the probe's few hits: a word in a few
                    # tickets per thousand is counted and ranked from the index, the same way
                    # whatever the newest few hundred happen to hold.
                    self.rare = not self.done and len(self.found) < RARE * self.examined and self._few_holders()
                continue
            if not (self.rare if index is None else index):
                return
            if self.rare or self.top is None or self.cursor is None:
                self._look_up(need, 0)
                continue
            # Matches per id so far: an id range expected to hold what is missing, with room
            # (at least as many ids again as seen so far, so the ranges grow; only that when
            # none has been found: the words are common in the index, not among the newest).
            seen = self.top - self.cursor + 1
            span = max(seen, int(need * seen / len(self.found) * 1.5) + 1) if self.found else seen
            self._look_up(need, max(0, self.cursor - span))

    def _probe(self) -> None:
        """Check the newest PROBE tickets: how common the words are lately."""
        self._check(PROBE)
        self.rare = not self.done and len(self.found) < RARE * self.examined and self._few_holders()

    def _few_holders(self) -> bool:
        """Whether the documents that hold every token of any one of the words number at
        most RARE_DOCUMENTS altogether (counted up to one more, from the index alone): then
        looking each word up in the whole index is cheap. A query without words (a number,
        exclusions only) is judged by the tickets checked alone.

        Words missing from the newest tickets but held by more documents are found in
        ranges of ids instead: every match still comes, newest first, but the count is a
        lower bound and "best match" ranks the ones found among the tickets checked."""
        if self._few is None:
            if not self.query.terms:
                self._few = True
            else:
                word = " | ".join(_tokens_tsquery(t) for t in self.query.terms)
                held = self.session.scalar(
                    _holders_statement(permissions.can_see_internal(self.actor)),
                    {"word": word, "cap": RARE_DOCUMENTS + 1},
                )
                self._few = (held or 0) <= RARE_DOCUMENTS
        return self._few

    def count(self) -> Count:
        """The number of matches: exact when the list was checked whole or the words are rare
        (the index finds them cheaply), else at least what was found (a lower bound)."""
        self.fill(search.COUNT_CAP + 1, index=False)
        n = len(self.found)
        if not self.done and self.rare and n <= search.COUNT_CAP:
            below = self.plain.where(matches(self.session, self.actor, self.query, below=self.cursor))
            if self.cursor is not None:
                below = below.where(Ticket.id < self.cursor)
            n += self.session.execute(
                select(func.count()).select_from(below.limit(search.COUNT_CAP + 1 - n).subquery())
            ).scalar_one()
            return Count(min(n, search.COUNT_CAP), n > search.COUNT_CAP)
        if self.done or n > search.COUNT_CAP:
            return Count(min(n, search.COUNT_CAP), n > search.COUNT_CAP)
        return Count(n, True)

    def ordered_page(self, order: Sequence[ColumnElement], offset: int, limit: int) -> list[int] | None:
        """One page of the matches in a list's own order (its sort columns), or None when the
        index should find them instead: the words are rare (a look-up reads few documents),
        or checking the list's tickets in that order one by one would take more than
        WALK_BUDGET checks.

        Every match is found when the list was checked whole (its matches are sorted); else
        the list is read in its order and each ticket checked by key, as many as the share
        of matches among the newest tickets says the page needs, so a common word sorted by
        urgency or due date reads a few thousand documents, not every one holding it."""
        if not self.examined and self.cursor is None:
            self._probe()
        if self.done:
            if not self.found:
                return []
            # The list's own filters and scope again: a ticket moved out of it since it was
            # checked (another department, another status) is not shown.
            ids = self.plain.where(Ticket.id == any_(bindparam("found", self.found, type_=ARRAY(Integer))))
            return list(statements.read(self.session, ids.order_by(*order).offset(offset).limit(limit)).scalars())
        if self.rare:
            return None
        want = offset + limit
        share = max(len(self.found) / max(self.examined, 1), RARE)
        if want / share > WALK_BUDGET:
            return None  # the page lies deeper than the walk would reach: the index, at once
        hits: dict[int, None] = {}  # in order, each once (a ticket moving between chunks)
        checked = 0
        while len(hits) < want:
            n = min(WALK_BUDGET - checked, max(PROBE, int((want - len(hits)) / share * 1.3) + 1))
            if n <= 0:
                return None
            # The chunk's rows with the columns they are sorted by, sorted again outside (the
            # order of a subquery's rows is not kept; a window's row number would make the
            # planner sort the whole list instead of keeping its top rows).
            w = self.plain.add_columns(*_ORDER_COLUMNS).order_by(*order).offset(checked).limit(n).subquery()
            ok = _row_match(self.actor, self.query, self.numbers, w)
            again = [ClauseAdapter(w).traverse(o) for o in order]
            rows = statements.read(self.session, select(w.c.id, ok).order_by(*again)).all()
            hits.update((tid, None) for tid, hit in rows if hit)
            checked += len(rows)
            if len(rows) < n:
                break
        return list(hits)[offset:want]

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
        # The pool: the newest search.RELEVANCE_POOL matches, of the tickets checked one by one when the
        # words are common (the newest WALK_BUDGET of the list: a word in every other ticket and
        # one in every fiftieth cost alike); from the index when they are rare.
        self.fill(search.RELEVANCE_POOL, index=None)
        heads = set(head)
        pool = self.found[: search.RELEVANCE_POOL]
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


@lru_cache(maxsize=2)
def _holders_statement(desk: bool) -> Select:
    """How many documents hold the tokens (up to `cap`); the desk's include internal notes."""
    sd = SearchDocument.__table__.c
    word = cast(bindparam("word", type_=Text), TSQUERY)
    hit: ColumnElement[bool] = sd.terms.op("@@")(word)
    if desk:
        hit = or_(hit, sd.internal_terms.op("@@")(word))
    held = select(sd.ticket_id).where(hit).limit(bindparam("cap", type_=Integer)).subquery()
    return select(func.count()).select_from(held)


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
    rows = statements.read(
        session,
        # The ids as one array: an IN list of a few hundred values is a statement text of its own each time.
        select(sd.ticket_id, func.max(func.ts_rank(sd.terms, tsq)))
        .where(sd.ticket_id == any_(bindparam("ids", ids, type_=ARRAY(Integer))))
        .group_by(sd.ticket_id),
    )
    return {tid: float(s) for tid, s in rows}
