"""Keeping the search index: each consultation's document of tokens, written in the
transaction that changes what it holds, rebuilt in batches by `swat search reindex`.

A document holds, on the side everyone who may open the ticket may find: the title
(weighted, for relevance), the body, every reply, the requester's name and department and
the names of their files; on the desk's side: internal notes and the names of their files.
The tokens come from domain.search; this module writes them as PostgreSQL's `tsvector`
or as FTS5 text, and nothing else knows either format.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import BindParameter, Connection, bindparam, text
from sqlalchemy.orm import Session

from ..domain.search import Gram, fold, grams

# PostgreSQL keeps positions up to 16,383 and 256 of them per token: a long document is
# stored in parts (see _parts). The text indexed per ticket is bounded (about 100 pages).
PART_POSITIONS = 16_000
PART_PER_TOKEN = 250
PART_OVERLAP = 64
MAX_INDEXED_CHARS = 200_000
# FTS5's `ascii` tokenizer splits at ASCII punctuation and space: those characters travel
# as private-use characters, and a gap between runs is a token of its own.
_ASCII_SAFE = {c: chr(0xE000 + c) for c in range(0x80) if not chr(c).isalnum()}
FTS_GAP = "\ue100"


@dataclass
class Texts:
    """What one consultation's document is made of (stored text, as typed)."""

    title: str = ""
    public: list[str] = field(default_factory=list)
    internal: list[str] = field(default_factory=list)


@dataclass
class Tokens:
    title: list[Gram]
    public: list[Gram]
    internal: list[Gram]


def tokens_of(texts: Texts) -> Tokens:
    """The document's tokens: title first, then the public texts, then the internal ones."""
    budget = MAX_INDEXED_CHARS
    title, pos = grams(fold(texts.title[:budget]))
    budget -= len(texts.title)
    public: list[Gram] = []
    for t in texts.public:
        if budget <= 0:
            break
        g, pos = grams(fold(t[:budget]), pos)
        public.extend(g)
        budget -= len(t)
    internal: list[Gram] = []
    ipos = 1
    for t in texts.internal:
        if budget <= 0:
            break
        g, ipos = grams(fold(t[:budget]), ipos)
        internal.extend(g)
        budget -= len(t)
    return Tokens(title, public, internal)


def _tsvector(grams: Iterable[tuple[int, str, str]]) -> str:
    """A tsvector literal of (position, token, weight): 'token':1A,5 …  (A marks the title)."""
    positions: dict[str, list[str]] = defaultdict(list)
    for pos, token, weight in grams:
        positions[token].append(f"{pos}{weight}")
    return " ".join(
        "'" + tok.replace("\\", "\\\\").replace("'", "''") + "':" + ",".join(p) for tok, p in positions.items()
    )


def _parts(grams: list[tuple[int, str, str]]) -> list[list[tuple[int, str, str]]]:
    """A stream of tokens cut into parts a tsvector holds whole (positions up to 16,383,
    256 per token), each counted again from 1 and repeating the last PART_OVERLAP places
    of the one before, so a phrase of up to that many characters is never cut."""
    parts: list[list[tuple[int, str, str]]] = []
    cur: list[tuple[int, str, str]] = []
    counts: Counter[str] = Counter()
    start = 0
    for g in grams:
        pos, token, _ = g
        if cur and (pos - start >= PART_POSITIONS or counts[token] >= PART_PER_TOKEN):
            parts.append(cur)
            cur = [k for k in cur if k[0] > pos - PART_OVERLAP]
            counts = Counter(k[1] for k in cur)
        if not cur:
            start = pos
        else:
            start = cur[0][0]
        cur.append(g)
        counts[token] += 1
    if cur:
        parts.append(cur)
    return [[(p - part[0][0] + 1, t, w) for p, t, w in part] for part in parts]


def _pg_rows(tid: int, d: Tokens) -> list[dict]:
    """The rows of one document on PostgreSQL: part 0, 1, … of the public and internal texts."""
    public = _parts([(p, t, "A") for p, t in d.title] + [(p, t, "") for p, t in d.public])
    internal = _parts([(p, t, "") for p, t in d.internal])
    return [
        {
            "id": tid,
            "part": i,
            "terms": _tsvector(public[i]) if i < len(public) else "",
            "internal": _tsvector(internal[i]) if i < len(internal) else None,
        }
        for i in range(max(1, len(public), len(internal)))
    ]


def _fts(gs: list[Gram]) -> str:
    """FTS5 text: the tokens in order, gap tokens wherever positions skip."""
    out: list[str] = []
    last = None
    for pos, token in gs:
        if last is not None and pos > last + 1:
            # One gap token per skipped place: a space within a text is one, the step from one
            # text to the next two, so a phrase never runs from a body into a name.
            out.extend([FTS_GAP] * (pos - last - 1))
        out.append(fts_token(token))
        last = pos
    return " ".join(out)


def fts_token(token: str) -> str:
    """A token as FTS5 text (ASCII punctuation moved to private-use characters)."""
    return token if token.isalnum() else token.translate(_ASCII_SAFE)


_SOURCES = (("messages", "body"), ("attachments", "filename"))


def _texts(
    conn: Connection, ticket_ids: list[int], sources: tuple[tuple[str, str], ...] = _SOURCES
) -> dict[int, Texts]:
    """The stored texts of these tickets, in the order a document holds them (`sources`:
    the tables of texts beside the ticket's own that may hold any for them)."""
    out: dict[int, Texts] = {}
    ids: BindParameter[list[int]] = bindparam("ids", expanding=True)
    rows = conn.execute(
        text(
            "SELECT t.id, t.title, t.body, u.display_name, d.name FROM tickets t "
            "JOIN users u ON u.id = t.requester_id JOIN departments d ON d.id = t.department_id "
            "WHERE t.id IN :ids"
        ).bindparams(ids),
        {"ids": ticket_ids},
    )
    for tid, title, body, requester, department in rows:
        out[tid] = Texts(title=title, public=[body, requester, department])
    # Every message, then every file name, each on the side its visibility puts it.
    for table, column in sources:
        for tid, internal, value in conn.execute(
            text(
                f"SELECT ticket_id, internal, {column} FROM {table} WHERE ticket_id IN :ids ORDER BY ticket_id, id"
            ).bindparams(ids),
            {"ids": ticket_ids},
        ):
            if tid in out:
                (out[tid].internal if internal else out[tid].public).append(value)
    return out


def _write(conn: Connection, docs: dict[int, Tokens], fresh: bool = False) -> None:
    """Replace the documents of these tickets (insert only when `fresh`: the index is empty)."""
    if not docs:
        return
    ids = list(docs)
    if conn.dialect.name == "postgresql":
        # Replaced whole: index_tickets locks the tickets first, so two transactions writing
        # one ticket's document do it one after the other.
        if not fresh:
            conn.execute(
                text("DELETE FROM search_documents WHERE ticket_id IN :ids").bindparams(
                    bindparam("ids", expanding=True)
                ),
                {"ids": ids},
            )
        conn.execute(
            text(
                "INSERT INTO search_documents (ticket_id, part, terms, internal_terms) "
                "VALUES (:id, :part, CAST(:terms AS tsvector), CAST(:internal AS tsvector))"
            ),
            [row for tid, d in docs.items() for row in _pg_rows(tid, d)],
        )
        return
    if not fresh:
        conn.execute(
            text("DELETE FROM search_documents WHERE rowid IN :ids").bindparams(bindparam("ids", expanding=True)),
            {"ids": ids},
        )
    conn.execute(
        text("INSERT INTO search_documents (rowid, title, public, internal) VALUES (:id, :title, :public, :internal)"),
        [
            {"id": tid, "title": _fts(d.title), "public": _fts(d.public), "internal": _fts(d.internal)}
            for tid, d in docs.items()
        ],
    )


def index_tickets(conn: Connection, ticket_ids: list[int], fresh: bool = False) -> int:
    """Write the documents of these tickets from what is stored now; how many were written.

    On PostgreSQL the tickets are locked first (a change to a ticket holds its row already),
    so a document is always read after the last committed change to what it holds: a rename
    of the requester beside a reply waits for the reply and then includes it. The lock is
    FOR NO KEY UPDATE, the one an UPDATE of the ticket takes: FOR UPDATE would also wait for
    the key-share lock a new message's foreign key holds, and two replies at once on one
    ticket, each holding that and asking for the other's, deadlocked.
    """
    if not fresh and conn.dialect.name == "postgresql":
        conn.execute(
            text("SELECT id FROM tickets WHERE id IN :ids ORDER BY id FOR NO KEY UPDATE").bindparams(
                bindparam("ids", expanding=True)
            ),
            {"ids": ticket_ids},
        )
    texts = _texts(conn, ticket_ids)
    _write(conn, {tid: tokens_of(t) for tid, t in texts.items()}, fresh=fresh)
    return len(texts)


def refresh(session: Session, ticket_id: int, new: bool = False, with_files: bool = True) -> None:
    """Bring one ticket's document up to date, in the transaction that changed the ticket.

    For a new ticket (`new`: filed in this transaction; `with_files`: with files) on
    PostgreSQL the requester's row is locked (shared) first: a rename of the requester at
    the same moment either waits for the filing and then rewrites its document too, or
    commits first and the filing reads the new name.
    """
    session.flush()
    conn = session.connection()
    if not new:
        index_tickets(conn, [ticket_id])
        return
    postgresql = conn.dialect.name == "postgresql"
    if postgresql:
        conn.execute(
            text("SELECT 1 FROM users WHERE id = (SELECT requester_id FROM tickets WHERE id = :id) FOR SHARE"),
            {"id": ticket_id},
        )
    # A ticket filed in this transaction has no replies yet, nor files unless it was filed
    # with some. No other transaction sees it, so it is not locked; on PostgreSQL no document
    # can exist for it (a document's key refers to its ticket), so none is cleared first.
    texts = _texts(conn, [ticket_id], _SOURCES[1:] if with_files else ())
    _write(conn, {tid: tokens_of(t) for tid, t in texts.items()}, fresh=postgresql)


def _clear(conn: Connection) -> None:
    # DELETE, not TRUNCATE: searches go on reading the old index until the rebuild commits.
    conn.execute(text("DELETE FROM search_documents"))


def _id_batches(execute, batch: int, after: int = 0, condition: str = "", **params) -> Iterator[list[int]]:
    """The ticket ids (after `after`, matching `condition`) in ascending batches; `execute`
    is a connection's or a session's, called afresh for each batch (a caller may commit
    between them)."""
    where = f"{condition} AND " if condition else ""
    last = after
    while ids := list(
        execute(
            text(f"SELECT id FROM tickets WHERE {where}id > :last ORDER BY id LIMIT :n"),
            {**params, "last": last, "n": batch},
        ).scalars()
    ):
        yield ids
        last = ids[-1]


def rebuild(conn: Connection, batch: int = 2000, progress: Callable[[int], None] | None = None) -> int:
    """Rebuild the whole index from the tickets; the number of documents written."""
    _clear(conn)
    done = 0
    for ids in _id_batches(conn.execute, batch):
        done += index_tickets(conn, ids, fresh=True)
        if progress:
            progress(done)
    _optimize(conn)
    return done


def _optimize(conn: Connection) -> None:
    """SQLite: merge FTS5's index segments after a bulk write (a third smaller, and faster)."""
    if conn.dialect.name == "sqlite":
        conn.execute(text("INSERT INTO search_documents(search_documents) VALUES ('optimize')"))


@dataclass
class Check:
    tickets: int
    missing: list[int]  # tickets without a document
    orphaned: list[int]  # documents without a ticket
    stale: list[int]  # documents that differ from the tickets' texts (in the sample compared)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.orphaned or self.stale)


def check(conn: Connection, batch: int = 2000, limit: int = 100) -> Check:
    """Compare the index with the tickets: every ticket has its document and each says what
    the ticket holds now (lists are cut at `limit` ids)."""
    key = "ticket_id" if conn.dialect.name == "postgresql" else "rowid"
    tickets = conn.execute(text("SELECT count(*) FROM tickets")).scalar_one()
    missing = list(
        conn.execute(
            text(f"SELECT id FROM tickets WHERE id NOT IN (SELECT {key} FROM search_documents) ORDER BY id LIMIT :n"),
            {"n": limit},
        ).scalars()
    )
    orphaned = list(
        conn.execute(
            text(f"SELECT {key} FROM search_documents WHERE {key} NOT IN (SELECT id FROM tickets) LIMIT :n"),
            {"n": limit},
        ).scalars()
    )
    stale: list[int] = []
    for ids in _id_batches(conn.execute, batch):
        stale.extend(_differing(conn, ids))
        if len(stale) >= limit:
            break
    return Check(tickets, missing, orphaned, stale[:limit])


def _differing(conn: Connection, ids: list[int]) -> list[int]:
    want = {tid: tokens_of(t) for tid, t in _texts(conn, ids).items()}
    sel: BindParameter[list[int]] = bindparam("ids", expanding=True)
    out = []
    if conn.dialect.name == "postgresql":
        expected = [row for tid, d in want.items() for row in _pg_rows(tid, d)]
        # The expected literals as PostgreSQL prints them, to compare with what is stored.
        normal = conn.execute(
            text(
                "SELECT CAST(CAST(t AS tsvector) AS text), CAST(CAST(i AS tsvector) AS text) "
                "FROM unnest(CAST(:t AS text[]), CAST(:i AS text[])) WITH ORDINALITY AS v(t, i, n) ORDER BY n"
            ),
            {"t": [r["terms"] for r in expected], "i": [r["internal"] for r in expected]},
        ).all()
        wanted: dict[int, list[tuple]] = defaultdict(list)
        for r, (terms, internal) in zip(expected, normal, strict=True):
            wanted[r["id"]].append((r["part"], terms, internal))
        stored: dict[int, list[tuple]] = defaultdict(list)
        for tid, part, terms, internal in conn.execute(
            text(
                "SELECT ticket_id, part, CAST(terms AS text), CAST(internal_terms AS text) FROM search_documents "
                "WHERE ticket_id IN :ids ORDER BY ticket_id, part"
            ).bindparams(sel),
            {"ids": ids},
        ):
            stored[tid].append((part, terms, internal))
        return [tid for tid in want if tid in stored and stored[tid] != wanted[tid]]
    rows = conn.execute(
        text("SELECT rowid, title, public, internal FROM search_documents WHERE rowid IN :ids").bindparams(sel),
        {"ids": ids},
    )
    have_fts = {tid: (a, b, c) for tid, a, b, c in rows}
    for tid, d in want.items():
        if tid in have_fts and have_fts[tid] != (_fts(d.title), _fts(d.public), _fts(d.internal)):
            out.append(tid)
    return out


def reindex_requester(session: Session, user_id: int, batch: int = 2000) -> None:
    """Rewrite the documents of a requester's consultations (their name is found in them)."""
    _reindex_where(session, "requester_id = :v", user_id, batch)


def reindex_department(session: Session, department_id: str, batch: int = 2000) -> None:
    """Rewrite the documents of a department's consultations (its name is found in them)."""
    _reindex_where(session, "department_id = :v", department_id, batch)


def _reindex_where(session: Session, condition: str, value, batch: int) -> None:
    session.flush()
    conn = session.connection()
    for ids in _id_batches(conn.execute, batch, condition=condition, v=value):
        index_tickets(conn, ids)


_GIN = {
    "ix_search_documents_terms": "terms",
    "ix_search_documents_internal_terms": "internal_terms",
}


def index_after(session: Session, after_id: int, bulk: bool = False, batch: int = 2000) -> int:
    """Write the documents of the tickets after `after_id` (new ones, without a document yet).

    A bulk load (PostgreSQL, one transaction) builds the GIN indexes once at the end;
    otherwise each batch is committed, like the load before it.
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    if bulk and postgres:
        for name in _GIN:
            session.execute(text(f"DROP INDEX IF EXISTS {name}"))
    done = 0
    for ids in _id_batches(session.execute, batch, after=after_id):
        done += index_tickets(session.connection(), ids, fresh=True)
        if not bulk:
            session.commit()
    if done:
        _optimize(session.connection())
    if bulk and postgres:
        for name, column in _GIN.items():
            session.execute(text(f"CREATE INDEX {name} ON search_documents USING gin ({column})"))
        session.execute(text("ANALYZE search_documents"))
    return done
