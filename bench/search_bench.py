#!/usr/bin/env python
"""A repeatable benchmark of search (the n-gram index) against the trigram design it replaced.

    .venv/bin/python bench/search_bench.py [--tickets 100000] [--database-url URL] [--repeat 10]
                                           [--record] [--keep] [--reuse] [--explain-file PATH]

1. builds the app with `create_app()` on a fresh database (a new SQLite file in a temporary
   folder, or the PostgreSQL database named in --database-url, dropped and created again),
   applies the real migrations and loads the reference data; with --reuse a database that
   already holds the seeded tickets keeps them (no re-seeding);
2. seeds N consultations with the generator of `swat seed` (bench/_common.seed_consultations;
   it writes the search documents too), refreshes planner statistics (PostgreSQL: VACUUM
   ANALYZE), then times a separate `search_index.rebuild(conn)` over every ticket (what
   `swat search reindex` runs) and reads the size of the index and of `tickets` for scale;
3. approach A (kept): the search pages. It signs in through /login with the Flask test client
   as an agent (the desk: /queue, the default open statuses and all statuses) and as a staff
   member (/consultations: their department), and times the first page of results for each
   query class (chosen from the seeded texts, printed with its share of a sample of
   tickets), in the default order (relevance) and sort=priority: 2 warm-ups, then --repeat
   requests; p50/p95 of the wall time and of this process's CPU time (time.process_time:
   Python only, the PostgreSQL server's CPU is not in it), and the total the page shows;
4. approach B (the previous design) on the same data: LIKE '%word%' on a folded copy of
   title + body (NFKC + casefold), a scratch table `search_trgm` with a pg_trgm GIN index on
   PostgreSQL, and on SQLite an FTS5 `trigram` table plus a plain table scanned by LIKE;
   its build time and size, and the same query classes as raw SQL (the first 50 ids, newest
   first, and a count bounded at 10,001), next to approach A's raw SQL (the condition of
   services.search.matches(), same shape), so the two are compared like for like;
5. prints Markdown and with --record writes it into bench/SEARCH.md under the engine's
   heading. The PostgreSQL database is dropped at the end unless --keep (or --reuse) is given.

The seeded texts are made of a small vocabulary, none of whose words is in fewer than 0.1 %
of the tickets; when the sample has no such word, a made-up word is added to the body of one
ticket in 2,000 (before the timed rebuild, so both indexes hold it) and the run says so.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import statistics
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.pop("SWAT_CONFIG", None)
os.environ.pop("SWAT_DATABASE_URL", None)

from _common import (  # noqa: E402
    HASH_METHOD,
    PASSWORD,
    ROOT,
    WARMUPS,
    Browser,
    StatementLog,
    drop_postgres,
    machine_facts,
    record_section,
    recreate_postgres,
    refresh_statistics,
    seed_consultations,
)
from sqlalchemy import func, select, text, update  # noqa: E402

from swat.app import create_app  # noqa: E402
from swat.domain.search import fold, parse_query  # noqa: E402
from swat.domain.tz import TOKYO  # noqa: E402
from swat.extensions import db  # noqa: E402
from swat.models import Ticket, User  # noqa: E402
from swat.services import accounts, search, search_index  # noqa: E402
from swat.services.reference import load_reference  # noqa: E402
from swat.services.routing_rules import load_routing  # noqa: E402
from swat.services.sla import load_sla  # noqa: E402

RESULTS = ROOT / "bench" / "SEARCH.md"
HEADER = """# Search benchmark

Sections between the `bench:` markers are rewritten by `bench/search_bench.py --record`.
"""

BENCH_USERS = [  # username, role, department
    ("bench-agent", "agent", None),
    ("bench-staff", "staff", "health-medical"),
]
STAFF_DEPARTMENT = "health-medical"
SAMPLE = 20_000  # tickets read to choose the words and measure their share
PLANTED_WORD = "量子鍵配送"
PLANTED_SENTENCE = "\n量子鍵配送の実証についても伺いたいです。"
PLANT_EVERY = 2000
FIRST_PAGE = 50
TARGET_MS = 150.0
SLOW_REPEAT = 3
_COUNT_P = re.compile(r'<p class="count"[^>]*>(.*?)</p>', re.S)
_RUN = re.compile(r"[\u4e00-\u9fff\u3005]+|[\u30a1-\u30fa\u30fc]+|[A-Za-z0-9]{3,}")
_KANJI = re.compile(r"[\u4e00-\u9fff]")


# --- setup ---------------------------------------------------------------------------------


def _users(now) -> None:
    for username, role, department in BENCH_USERS:
        if db.session.scalar(select(User.id).where(User.username == username)) is None:
            accounts.create_user(
                db.session,
                now,
                username=username,
                password=PASSWORD,
                role=role,
                display_name=username,
                department_id=department,
                hash_method=HASH_METHOD,
            )
    db.session.execute(update(User).where(User.username.in_([u for u, _, _ in BENCH_USERS])).values(queue_query=""))
    db.session.commit()


def _plant_rare() -> int:
    """Add the made-up word to one ticket body in PLANT_EVERY (idempotent); how many hold it."""
    db.session.execute(
        text("UPDATE tickets SET body = body || :s WHERE id % :k = 7 AND body NOT LIKE :w"),
        {"s": PLANTED_SENTENCE, "k": PLANT_EVERY, "w": f"%{PLANTED_WORD}%"},
    )
    db.session.commit()
    return db.session.scalar(text("SELECT count(*) FROM tickets WHERE body LIKE :w"), {"w": f"%{PLANTED_WORD}%"})


def _sizes(pg: bool) -> dict[str, int]:
    """Bytes of the search index (table and indexes) and of tickets."""
    out: dict[str, int] = {}
    if pg:
        q = db.session.scalar
        out["search_documents heap"] = q(text("SELECT pg_relation_size('search_documents')"))
        out["search_documents TOAST"] = q(
            text(
                "SELECT coalesce(pg_total_relation_size(reltoastrelid), 0) FROM pg_class "
                "WHERE oid = 'search_documents'::regclass"
            )
        )
        for name in ("pk_search_documents", "ix_search_documents_terms", "ix_search_documents_internal_terms"):
            out[name] = q(text("SELECT coalesce(pg_relation_size(to_regclass(:n)), 0)"), {"n": name})
        out["search_documents total"] = q(text("SELECT pg_total_relation_size('search_documents')"))
        out["tickets heap"] = q(text("SELECT pg_relation_size('tickets')"))
        out["tickets TOAST"] = q(
            text(
                "SELECT coalesce(pg_total_relation_size(reltoastrelid), 0) FROM pg_class "
                "WHERE oid = 'tickets'::regclass"
            )
        )
        out["tickets with its indexes"] = q(text("SELECT pg_total_relation_size('tickets')"))
        return out
    rows = db.session.execute(
        text("SELECT name, sum(pgsize) FROM dbstat WHERE name LIKE 'search_documents%' GROUP BY name ORDER BY name")
    ).all()
    for name, size in rows:
        out[name] = size
    out["search_documents total"] = sum(s for _, s in rows)
    out["tickets table"] = db.session.scalar(text("SELECT sum(pgsize) FROM dbstat WHERE name = 'tickets'"))
    out["tickets with its indexes"] = db.session.scalar(
        text("SELECT sum(pgsize) FROM dbstat WHERE name IN (SELECT name FROM sqlite_master WHERE tbl_name = 'tickets')")
    )
    out["database file"] = db.session.scalar(
        text("SELECT page_count * page_size FROM pragma_page_count, pragma_page_size")
    )
    return out


# --- the query classes ---------------------------------------------------------------------


@dataclass
class QueryClass:
    key: str
    label: str
    q: str
    note: str
    trigram_terms: list[str]  # approach B: LIKE '%t%' for each (folded NFKC + casefold)
    trigram_excluded: list[str]
    trigram_note: str = ""


def _old_fold(s: str) -> str:
    """The previous design's folding: NFKC and case folding, nothing else."""
    return unicodedata.normalize("NFKC", s).casefold()


def _sample() -> tuple[list[str], list[str]]:
    """The texts of a document (title, body, replies, requester; NFKC only) of about SAMPLE
    tickets, and the same folded as search folds them."""
    top = db.session.scalar(select(func.max(Ticket.id))) or 0
    step = max(1, top // SAMPLE)
    rows = db.session.execute(
        text(
            "SELECT t.id, t.title, t.body, u.display_name FROM tickets t JOIN users u ON u.id = t.requester_id "
            "WHERE t.id % :k = :r ORDER BY t.id"
        ),
        {"k": step, "r": 3 % step},
    ).all()
    docs = {tid: [title, body, name] for tid, title, body, name in rows}
    for tid, body in db.session.execute(
        text("SELECT ticket_id, body FROM messages WHERE ticket_id % :k = :r ORDER BY ticket_id, id"),
        {"k": step, "r": 3 % step},
    ):
        if tid in docs:
            docs[tid].append(body)
    raw = [unicodedata.normalize("NFKC", "\n".join(parts)) for parts in docs.values()]
    return raw, [fold(d) for d in raw]


def choose_queries() -> tuple[list[QueryClass], int]:
    """The query classes, from the words of a sample of the seeded tickets."""
    raw, folded = _sample()
    n = len(raw)
    runs: Counter[str] = Counter()
    kanji: Counter[str] = Counter()
    pairs: Counter[str] = Counter()
    doc_runs = []
    for d in raw:
        found = set(_RUN.findall(d))
        doc_runs.append(found)
        runs.update(found)
        kanji.update(set(_KANJI.findall(d)))
        pairs.update({r[i : i + 2] for r in found if _KANJI.match(r) for i in range(len(r) - 1)})

    def share(*words: str, without: str = "") -> float:
        ws = [fold(w) for w in words]
        x = fold(without) if without else None
        return sum(1 for d in folded if all(w in d for w in ws) and not (x and x in d)) / n

    one = "保" if kanji.get("保", 0) else kanji.most_common(1)[0][0]
    two = "保健" if pairs.get("保健", 0) else pairs.most_common(1)[0][0]
    if runs.get("ワクチン", 0) / n > 0.05:
        common = "ワクチン"
    else:
        common = next(w for w, c in runs.most_common() if len(w) >= 3 and c / n > 0.05)
    rare_candidates = [(w, c) for w, c in runs.items() if len(w) >= 2 and c / n < 0.001]
    rare = min(rare_candidates, key=lambda wc: (wc[1], wc[0]))[0] if rare_candidates else None
    with_common = [found for found in doc_runs if common in found]
    co: Counter[str] = Counter()
    for found in with_common:
        co.update(w for w in found if len(w) >= 2 and w not in common and common not in w)
    second = next(w for w, c in co.most_common() if c < 0.9 * len(with_common) and runs[w] / n > 0.05)
    body = next(d for d in raw if common in d)
    at = body.index(common)
    phrase = body[at : at + len(common) + 5].split("\n")[0]
    staff_count = db.session.scalar(
        text("SELECT count(*) FROM tickets WHERE department_id = :d AND length(number) = 10"),
        {"d": STAFF_DEPARTMENT},
    )
    # A number of the usual form (YYYY-NNNNN); a year with more than 99,999 filings also has
    # six-digit sequences (YYYY-NNNNNN), measured as a class of their own when the seed made some.
    number = db.session.scalar(
        text(
            "SELECT number FROM tickets WHERE department_id = :d AND length(number) = 10 ORDER BY id LIMIT 1 OFFSET :o"
        ),
        {"d": STAFF_DEPARTMENT, "o": staff_count // 2},
    )
    long_number = db.session.scalar(
        text("SELECT number FROM tickets WHERE department_id = :d AND length(number) > 10 ORDER BY id DESC LIMIT 1"),
        {"d": STAFF_DEPARTMENT},
    )
    seq = str(int(number.split("-")[1]))
    classes = [
        QueryClass("one", "one character", one, f"{share(one):.1%}", [_old_fold(one)], []),
        QueryClass("two", "two characters", two, f"{share(two):.1%}", [_old_fold(two)], []),
        QueryClass("common", "common word", common, f"{share(common):.1%}", [_old_fold(common)], []),
        QueryClass(
            "multi",
            "two words (AND)",
            f"{common} {second}",
            f"{share(common, second):.1%} (each: {share(common):.1%}, {share(second):.1%})",
            [_old_fold(common), _old_fold(second)],
            [],
        ),
        QueryClass("phrase", "quoted phrase", f'"{phrase}"', f"{share(phrase):.1%}", [_old_fold(phrase)], []),
        QueryClass(
            "exclude",
            "exclusion",
            f"{common} -{second}",
            f"{share(common, without=second):.1%}",
            [_old_fold(common)],
            [_old_fold(second)],
        ),
        QueryClass(
            "number",
            "ticket number",
            number,
            "one ticket, of the staff member's department",
            [_old_fold(number)],
            [],
            "B: the number is not in title + body",
        ),
        QueryClass(
            "number-seq",
            "ticket number without the year",
            seq,
            "that sequence number in each year",
            [_old_fold(seq)],
            [],
            "B: the digits anywhere in the text",
        ),
    ]
    if long_number is not None:
        classes.append(
            QueryClass(
                "number-6",
                "ticket number, six-digit sequence",
                long_number,
                "one ticket, of the staff member's department",
                [_old_fold(long_number)],
                [],
                "B: not in title + body",
            )
        )
    if rare is not None:
        classes.insert(3, QueryClass("rare", "rare word", rare, f"{share(rare):.2%}", [_old_fold(rare)], []))
    return classes, n


def rare_class(planted: int, total: int) -> QueryClass:
    return QueryClass(
        "rare",
        "rare word",
        PLANTED_WORD,
        f"{planted / max(total, 1):.3%} (planted in {planted:,} bodies: the seed has no word under 0.1 %)",
        [_old_fold(PLANTED_WORD)],
        [],
    )


# --- measuring the pages -------------------------------------------------------------------


@dataclass
class PageTiming:
    page: str
    cls: QueryClass
    order: str
    url: str
    wall_ms: list[float]
    cpu_ms: list[float]
    statements: int
    sql_ms: float
    shown: str
    at_least: bool
    rows: int
    last_statements: list

    @property
    def p50(self) -> float:
        return statistics.median(self.wall_ms)

    @property
    def p95(self) -> float:
        return _p95(self.wall_ms)

    @property
    def cpu50(self) -> float:
        return statistics.median(self.cpu_ms)

    @property
    def cpu95(self) -> float:
        return _p95(self.cpu_ms)


def _p95(xs: list[float]) -> float:
    if len(xs) < 2:
        return xs[0]
    return statistics.quantiles(xs, n=20, method="inclusive")[18]


def time_page(
    browser: Browser, log: StatementLog, page: str, cls: QueryClass, order: str, url: str, repeat: int, slow_ms: float
):
    wall, cpu = [], []
    body = ""
    i = 0
    while i < WARMUPS + repeat:
        log.reset()
        with browser.app.app_context():
            c0 = time.process_time()
            t0 = time.perf_counter()
            response = browser.client.get(url)
            data = response.get_data()
            elapsed = time.perf_counter() - t0
            spent = time.process_time() - c0
        if response.status_code != 200:
            raise SystemExit(f"{url}: HTTP {response.status_code}")
        body = data.decode()
        if i == 0 and elapsed * 1000 > slow_ms:
            repeat = min(repeat, SLOW_REPEAT)  # a slow line: fewer timed requests (the n column)
        if i >= WARMUPS:
            wall.append(elapsed * 1000)
            cpu.append(spent * 1000)
        i += 1
    m = _COUNT_P.search(body)
    shown = re.sub(r"<[^>]+>", "", m.group(1)).split("\n")[0].strip() if m else "?"
    rows = body.split("<tbody>", 1)[1].split("</tbody>", 1)[0].count("<tr") if "<tbody>" in body else 0
    at_least = "以上" in shown or "or more" in shown
    return PageTiming(
        page,
        cls,
        order,
        url,
        wall,
        cpu,
        len(log.statements),
        sum(s[2] for s in log.statements) * 1000,
        shown,
        at_least,
        rows,
        list(log.statements),
    )


PAGES = [  # label, path, extra arguments, who
    ("queue (open)", "/queue", "", "bench-agent"),
    ("queue (all statuses)", "/queue", "status=&", "bench-agent"),
    ("consultations (staff)", "/consultations", "", "bench-staff"),
]


# --- raw SQL: approach A (the index) and B (trigram / LIKE) -----------------------------------


def _timed(fn, repeat: int) -> tuple[list[float], object]:
    out = None
    times = []
    for i in range(WARMUPS + repeat):
        t0 = time.perf_counter()
        out = fn()
        if i >= WARMUPS:
            times.append((time.perf_counter() - t0) * 1000)
    return times, out


def raw_a(agent, cls: QueryClass, repeat: int):
    """First 50 ids newest first, and the bounded count, under services.search.matches()."""
    query = parse_query(cls.q)
    cond = search.matches(db.session, agent, query)
    first = select(Ticket.id).where(cond).order_by(Ticket.id.desc()).limit(FIRST_PAGE)
    counted = select(func.count()).select_from(select(Ticket.id).where(cond).limit(search.COUNT_CAP + 1).subquery())

    def run():
        ids = list(db.session.scalars(first))
        return ids, db.session.scalar(counted)

    times, (ids, n) = _timed(run, repeat)
    return times, n, ids, (first, counted)


def _like(s: str) -> tuple[str, str]:
    """The LIKE pattern of a word, and its ESCAPE clause: only when the word needs one, since
    an ESCAPE clause keeps SQLite's FTS5 trigram table from using its index (a full scan)."""
    if not any(c in s for c in "\\%_"):
        return f"%{s}%", ""
    return "%" + s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%", " ESCAPE '\\'"


def raw_b(table: str, key: str, cls: QueryClass, repeat: int, fts: bool = False):
    conds, params = [], {}
    for i, t in enumerate(cls.trigram_terms):
        params[f"w{i}"], escape = _like(t)
        conds.append(f"folded LIKE :w{i}{escape}")
    for i, t in enumerate(cls.trigram_excluded):
        params[f"x{i}"], escape = _like(t)
        conds.append(f"folded NOT LIKE :x{i}{escape}")
    where = " AND ".join(conds)
    first = text(f"SELECT {key} FROM {table} WHERE {where} ORDER BY {key} DESC LIMIT {FIRST_PAGE}")
    counted = text(f"SELECT count(*) FROM (SELECT {key} FROM {table} WHERE {where} LIMIT {search.COUNT_CAP + 1}) s")

    def run():
        ids = list(db.session.execute(first, params).scalars())
        return ids, db.session.execute(counted, params).scalar()

    times, (ids, n) = _timed(run, repeat)
    return times, n, ids, (first, counted, params)


def build_trigram(pg: bool) -> dict[str, float]:
    """The previous design's folded copy of title + body, in scratch tables; seconds and bytes."""
    out: dict[str, float] = {}
    conn = db.session.connection()
    conn.execute(text("DROP TABLE IF EXISTS search_trgm"))
    conn.execute(text("DROP TABLE IF EXISTS search_plain"))
    if pg:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        conn.execute(text("CREATE TABLE search_trgm (ticket_id integer PRIMARY KEY, folded text NOT NULL)"))
    else:
        conn.execute(text("CREATE VIRTUAL TABLE search_trgm USING fts5(folded, tokenize = 'trigram')"))
        conn.execute(text("CREATE TABLE search_plain (ticket_id INTEGER PRIMARY KEY, folded TEXT NOT NULL)"))
    db.session.commit()
    t0 = time.perf_counter()
    last = 0
    while True:
        rows = db.session.execute(
            text("SELECT id, title, body FROM tickets WHERE id > :last ORDER BY id LIMIT 5000"), {"last": last}
        ).all()
        if not rows:
            break
        data = [{"id": i, "f": _old_fold(f"{t}\n{b}")} for i, t, b in rows]
        if pg:
            db.session.execute(text("INSERT INTO search_trgm (ticket_id, folded) VALUES (:id, :f)"), data)
        else:
            db.session.execute(text("INSERT INTO search_trgm (rowid, folded) VALUES (:id, :f)"), data)
            db.session.execute(text("INSERT INTO search_plain (ticket_id, folded) VALUES (:id, :f)"), data)
        last = rows[-1][0]
    db.session.commit()
    out["fill s"] = time.perf_counter() - t0
    if pg:
        t0 = time.perf_counter()
        db.session.execute(text("CREATE INDEX ix_search_trgm ON search_trgm USING gin (folded gin_trgm_ops)"))
        db.session.commit()
        out["GIN index s"] = time.perf_counter() - t0
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("VACUUM ANALYZE search_trgm"))
        q = db.session.scalar
        out["heap bytes"] = q(text("SELECT pg_relation_size('search_trgm')"))
        out["TOAST bytes"] = q(
            text(
                "SELECT coalesce(pg_total_relation_size(reltoastrelid), 0) FROM pg_class "
                "WHERE oid = 'search_trgm'::regclass"
            )
        )
        out["GIN bytes"] = q(text("SELECT pg_relation_size('ix_search_trgm')"))
        out["total bytes"] = q(text("SELECT pg_total_relation_size('search_trgm')"))
    else:
        rows = db.session.execute(
            text("SELECT name, sum(pgsize) FROM dbstat WHERE name LIKE 'search_trgm%' GROUP BY name")
        ).all()
        out["FTS5 trigram bytes"] = sum(s for _, s in rows)
        out["plain copy bytes"] = db.session.scalar(text("SELECT sum(pgsize) FROM dbstat WHERE name = 'search_plain'"))
    return out


def explain_pg(statement, params) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of a statement built with SQLAlchemy (params None) or text()."""
    shown = params
    try:
        with db.engine.connect() as conn:
            if params is None:
                compiled = statement.compile(dialect=db.engine.dialect, compile_kwargs={"render_postcompile": True})
                shown = compiled.params
                rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + str(compiled), compiled.params)
            else:
                rows = conn.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + str(statement)), params)
            out = "\n".join(str(r[0]) for r in rows)
            conn.rollback()
    except Exception as e:  # a plan that cannot be shown must not lose the run's figures
        out = f"(no plan: {e.__class__.__name__}: {str(e).splitlines()[0]})"
    return f"{statement}\n-- params: {shown!r}\n{out}"


def explain_statements(statements) -> str:
    out = []
    with db.engine.connect() as conn:
        for statement, params, seconds in statements:
            if not statement.lstrip().upper().startswith("SELECT") or "tickets" not in statement:
                continue
            try:
                result = conn.exec_driver_sql(
                    "EXPLAIN (ANALYZE, BUFFERS) " + statement, params if params is not None else ()
                )
                plan = "\n".join(str(r[0]) for r in result)
            except Exception as e:  # as in explain_pg
                conn.rollback()
                plan = f"(no plan: {e.__class__.__name__}: {str(e).splitlines()[0]})"
            out.append(f"-- {seconds * 1000:.1f} ms in cursor.execute\n{statement}\n-- params: {params!r}\n" + plan)
        conn.rollback()
    return "\n\n".join(out)


# --- main ----------------------------------------------------------------------------------


def _mb(n: float) -> str:
    return f"{n / 1024 / 1024:,.1f} MB"


def _ms(xs: list[float]) -> tuple[float, float]:
    return statistics.median(xs), _p95(xs)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tickets", type=int, default=100_000)
    p.add_argument("--database-url", default="", help="PostgreSQL (or sqlite:///file); default a temporary SQLite file")
    p.add_argument("--repeat", type=int, default=10)
    p.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    p.add_argument("--keep", action="store_true")
    p.add_argument("--record", action="store_true")
    p.add_argument(
        "--slow-ms",
        type=float,
        default=2000.0,
        help=f"a page whose first warm-up takes longer is timed {SLOW_REPEAT} times instead of --repeat",
    )
    p.add_argument("--explain-file", default="", help="write EXPLAIN ANALYZE of slow pages here (PostgreSQL)")
    args = p.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="swat-search-bench-"))
    pg = args.database_url.startswith("postgresql")
    sqlite_file = args.database_url.startswith("sqlite:///")
    url = args.database_url if (pg or sqlite_file) else f"sqlite:///{tmp / 'bench.db'}"
    if pg and not args.reuse:
        recreate_postgres(url)
    if sqlite_file and not args.reuse:
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    app = create_app(
        {
            "database_url": url,
            "instance_path": str(tmp / "instance"),
            "attachment_dir": str(tmp / "att"),
            "password_hash_method": HASH_METHOD,
        }
    )
    now = datetime.now(UTC)
    seeded = {"seconds": 0.0, "note": "reused"}
    lines: list[str] = []
    explains: list[str] = []

    def say(s: str = "") -> None:
        print(s, flush=True)
        lines.append(s)

    try:
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            reference = app.config["SWAT"]["reference_dir"]
            load_reference(db.session, reference)
            load_routing(db.session, reference, now)
            load_sla(db.session, reference, now)
            db.session.commit()
            have = db.session.scalar(select(func.count()).select_from(Ticket)) or 0
            if not (args.reuse and have >= args.tickets):
                t0 = time.perf_counter()
                report = seed_consultations(db.session, now, app.config["SWAT"], args.tickets - have)
                seeded = {"seconds": time.perf_counter() - t0, "note": report.summary()}
            _users(now)
            total = db.session.scalar(select(func.count()).select_from(Ticket))
            print(f"seeded: {seeded['note']}", flush=True)
            classes, sampled = choose_queries()
            planted = 0
            if not any(c.key == "rare" for c in classes):
                planted = _plant_rare()
                classes.insert(3, rare_class(planted, total))
            messages = db.session.scalar(text("SELECT count(*) FROM messages"))
            db.session.remove()
            stats = refresh_statistics(db.engine, "auto")
            # 1. The index build: a rebuild over every ticket, as `swat search reindex` runs it.
            with db.engine.connect() as conn:
                c0, t0 = time.process_time(), time.perf_counter()
                documents = search_index.rebuild(conn)
                conn.commit()
                build_s, build_cpu = time.perf_counter() - t0, time.process_time() - c0
            t0 = time.perf_counter()
            if pg:
                with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(text("VACUUM ANALYZE search_documents"))
            vacuum_s = time.perf_counter() - t0
            print(f"rebuild: {documents:,} documents in {build_s:.1f} s", flush=True)
            sizes = _sizes(pg)
            # 4. (built here, timed below) approach B on the same tickets.
            trgm = build_trigram(pg)
            print(f"trigram: {trgm}", flush=True)
            if pg:
                refresh_statistics(db.engine, "auto")
            db.session.remove()
            machine = machine_facts(db.engine)
            counts = dict(db.session.execute(text("SELECT status, count(*) FROM tickets GROUP BY status")).all())
            staff_tickets = db.session.scalar(
                text("SELECT count(*) FROM tickets WHERE department_id = :d"), {"d": STAFF_DEPARTMENT}
            )
            db.session.remove()

        engine_name = "PostgreSQL" if pg else "SQLite"
        say(f"## {engine_name}, {total:,} tickets")
        say()
        say(f"- date: {datetime.now(UTC).astimezone(TOKYO):%Y-%m-%d %H:%M %Z}")
        shown = [re.sub(r"^sqlite:///.*", "sqlite:///FILE", a) for a in (argv or sys.argv[1:])]
        say(f"- command: `{shlex.join(['.venv/bin/python', 'bench/search_bench.py', *shown])}`")
        say(f"- seed: {seeded['note']}; statistics after the load: {stats}")
        say(
            f"- {messages:,} replies; statuses: "
            + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items()))
            + f"; the staff member's department ({STAFF_DEPARTMENT}) has {staff_tickets:,}"
        )
        say(
            f"- {WARMUPS} warm-ups, then {args.repeat} timed requests (or queries) per line, {SLOW_REPEAT} "
            f"for a page whose first warm-up took over {args.slow_ms:,.0f} ms (column n); p95 by linear "
            "interpolation (of 10 values: between the two largest)"
        )
        for k, v in machine.items():
            say(f"- {k}: {v}")
        say()
        say("### Index build and size")
        say()
        say("| | A: n-gram documents | B: folded title + body, trigram |")
        say("|---|---|---|")
        b_build = trgm["fill s"] + trgm.get("GIN index s", 0.0)
        b_detail = (
            f"{b_build:.1f} s (copy {trgm['fill s']:.1f} s, GIN {trgm['GIN index s']:.1f} s)"
            if pg
            else f"{b_build:.1f} s (both tables filled together)"
        )
        say(
            f"| build | `search_index.rebuild` {build_s:.1f} s wall, {build_cpu:.1f} s Python CPU, "
            f"{documents:,} documents{f'; then VACUUM ANALYZE {vacuum_s:.1f} s' if pg else ''} | {b_detail} |"
        )
        a_size = "; ".join(f"{k} {_mb(v)}" for k, v in sizes.items() if k.startswith(("search", "pk_", "ix_")))
        if pg:
            b_size = (
                f"total {_mb(trgm['total bytes'])} (heap {_mb(trgm['heap bytes'])}, TOAST {_mb(trgm['TOAST bytes'])}, "
                f"GIN {_mb(trgm['GIN bytes'])})"
            )
        else:
            b_size = f"FTS5 trigram {_mb(trgm['FTS5 trigram bytes'])}; plain copy {_mb(trgm['plain copy bytes'])}"
        say(f"| size | {a_size} | {b_size} |")
        t_size = "; ".join(f"{k} {_mb(v)}" for k, v in sizes.items() if k.startswith(("tickets", "database")))
        say(f"| for scale | {t_size} | |")
        say(
            "| holds | title (weighted), body, replies, requester's name and department, file names; "
            "internal notes apart | title and body only |"
        )
        say()
        say(f"### Query classes (shares of {sampled:,} sampled tickets' title, body, replies and requester)")
        say()
        say("| class | query | share |")
        say("|---|---|---|")
        for c in classes:
            say(f"| {c.label} | `{c.q}` | {c.note} |")
        say()

        # 2. The pages.
        log = StatementLog(_engine(app))
        browser = Browser(app)
        results: list[PageTiming] = []
        for label, path, extra, who in PAGES:
            browser.client = app.test_client()
            browser.login(who)
            for c in classes:
                for order, sort in (("relevance", ""), ("priority", "&sort=priority")):
                    u = f"{path}?{extra}q={quote(c.q)}{sort}"
                    m = time_page(browser, log, label, c, order, u, args.repeat, args.slow_ms)
                    results.append(m)
                    print(
                        f"{label:22s} {c.key:10s} {order:9s} p50 {m.p50:7.1f} p95 {m.p95:7.1f} "
                        f"cpu {m.cpu50:6.1f} ms  {m.statements} stmts  {m.shown}",
                        flush=True,
                    )
        say("### A: first page of results, server-side (wall and this process's CPU, ms)")
        say()
        say(
            "| page | class | order | n | p50 | p95 | CPU p50 | CPU p95 | SQL stmts | SQL ms | rows | total shown | p95 < 150 |"
        )
        say("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
        for m in results:
            say(
                f"| {m.page} | {m.cls.label} | {m.order} | {len(m.wall_ms)} | {m.p50:.1f} | {m.p95:.1f} | {m.cpu50:.1f} | {m.cpu95:.1f} | "
                f"{m.statements} | {m.sql_ms:.1f} | {m.rows} | {m.shown}{' (lower bound)' if m.at_least else ''} | "
                f"{'yes' if m.p95 < TARGET_MS else '**no**'} |"
            )
        say()

        # 3. Raw SQL, A against B, as the desk (no visibility condition: the desk sees all).
        with app.app_context():
            agent = db.session.scalar(select(User).where(User.username == "bench-agent"))
            raw_rows = []
            for c in classes:
                ta, na, ids_a, stmts_a = raw_a(agent, c, args.repeat)
                tb, nb, ids_b, stmts_b = raw_b("search_trgm", "ticket_id" if pg else "rowid", c, args.repeat)
                row = [c, ta, na, tb, nb, len(set(ids_a) & set(ids_b))]
                if not pg:
                    tc, nc, _, _ = raw_b("search_plain", "ticket_id", c, args.repeat)
                    row += [tc, nc]
                raw_rows.append(row)
                print(
                    f"raw {c.key:10s} A p50 {statistics.median(ta):7.1f} ms n={na:>6}  "
                    f"B p50 {statistics.median(tb):7.1f} ms n={nb:>6}",
                    flush=True,
                )
                if pg and args.explain_file and (_p95(ta) > TARGET_MS or _p95(tb) > TARGET_MS):
                    explains.append(f"## raw A, {c.label} `{c.q}`\n" + explain_pg(stmts_a[0], None))
                    explains.append(f"## raw A count, {c.label} `{c.q}`\n" + explain_pg(stmts_a[1], None))
                    explains.append(f"## raw B, {c.label} `{c.q}`\n" + explain_pg(stmts_b[0], stmts_b[2]))
                    explains.append(f"## raw B count, {c.label} `{c.q}`\n" + explain_pg(stmts_b[1], stmts_b[2]))
            db.session.remove()
        say("### A against B: raw SQL, first 50 ids newest first + count bounded at 10,001 (ms, both queries)")
        say()
        if pg:
            say("| class | A p50 | A p95 | A count | B (pg_trgm) p50 | B p95 | B count | same first 50 ids |")
            say("|---|---:|---:|---:|---:|---:|---:|---:|")
        else:
            say(
                "| class | A p50 | A p95 | A count | B (FTS5 trigram) p50 | B p95 | B count | same first 50 ids "
                "| B' (LIKE scan) p50 | B' p95 | B' count |"
            )
            say("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for row in raw_rows:
            c, ta, na, tb, nb, same = row[:6]
            a50, a95 = _ms(ta)
            b50, b95 = _ms(tb)
            cells = [
                f"{c.label}{' (' + c.trigram_note + ')' if c.trigram_note else ''}",
                f"{a50:.1f}",
                f"{a95:.1f}",
                _cap(na),
                f"{b50:.1f}",
                f"{b95:.1f}",
                _cap(nb),
                str(same),
            ]
            if not pg:
                c50, c95 = _ms(row[6])
                cells += [f"{c50:.1f}", f"{c95:.1f}", _cap(row[7])]
            say("| " + " | ".join(cells) + " |")
        say()
        if pg and args.explain_file:
            slow = sorted((m for m in results if m.p95 >= TARGET_MS), key=lambda m: -m.p95)[:6]
            with app.app_context():
                for m in slow:
                    explains.append(
                        f"## page {m.page}, {m.cls.label}, {m.order}: p95 {m.p95:.1f} ms ({m.url})\n"
                        + explain_statements(m.last_statements)
                    )
                db.session.remove()
            Path(args.explain_file).write_text("\n\n".join(explains) + "\n", encoding="utf-8")
            print(f"EXPLAIN ANALYZE of {len(explains)} statements in {args.explain_file}")
        if planted:
            say(f"The rare word `{PLANTED_WORD}` was added to {planted:,} ticket bodies before the index build.")
            say()
        body = "\n".join(lines)
        if args.record:
            record(f"{engine_name.lower()}-{total}", body)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if args.keep and not (pg or sqlite_file):
            print(f"kept: {url}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
        if pg and not (args.keep or args.reuse):
            drop_postgres(url)
    return 0


def _cap(n: int) -> str:
    return f"{search.COUNT_CAP:,}+" if n > search.COUNT_CAP else f"{n:,}"


def _engine(app):
    with app.app_context():
        return db.engine


def record(key: str, body: str) -> None:
    record_section(RESULTS, HEADER, key, body)


if __name__ == "__main__":
    raise SystemExit(main())
