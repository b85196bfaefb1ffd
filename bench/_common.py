"""What the benchmarks share: scratch databases, the seeded data, the signed-in test client
and the statement counter, and the facts about the machine a figure was measured on.

Every benchmark that needs consultations gets them from `seed_consultations`, which is the
generator of `swat seed` (swat.devdata.seed, the API the command calls), so the figures of
the queue, the reports and the seed itself are all measured on the same kind of data.
"""

from __future__ import annotations

import os
import platform
import re
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import event, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

PASSWORD = "bench-password-2026"  # of the accounts a benchmark makes for itself
HASH_METHOD = "pbkdf2:sha256:1000"
WARMUPS = 2
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
COUNT_RE = re.compile(r'<p class="count"[^>]*>\D*(\d+)')


# --- scratch databases ---------------------------------------------------------------------


def _pg_connect_kwargs(url) -> dict:
    kw = {"dbname": "postgres", "autocommit": True}
    for key, attr in (("host", "host"), ("port", "port"), ("user", "username"), ("password", "password")):
        if getattr(url, attr):
            kw[key] = getattr(url, attr)
    return kw


def recreate_postgres(database_url: str) -> str:
    """Drop and create the named database through the `postgres` database; returns its name."""
    import psycopg
    from psycopg import sql

    url = make_url(database_url)
    name = url.database
    if not name or name in ("postgres", "template0", "template1"):
        raise SystemExit(f"refusing to drop and recreate the database {name!r}; name a scratch database")
    with psycopg.connect(**_pg_connect_kwargs(url)) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name


def drop_postgres(database_url: str) -> None:
    import psycopg
    from psycopg import sql

    url = make_url(database_url)
    with psycopg.connect(**_pg_connect_kwargs(url)) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(url.database)))


# --- the data ------------------------------------------------------------------------------


def seed_consultations(session, now: datetime, settings, n: int, rng_seed: int = 42, batch_size: int | None = None):
    """n consultations from `swat seed`'s generator (two fiscal years up to `now`, with their
    history, replies and SLA timers, and the `seed-*` cast); returns its SeedReport.

    Commits as the command does (see swat.devdata.seed.seed)."""
    from swat.devdata import seed

    kw = {} if batch_size is None else {"batch_size": batch_size}
    return seed.seed(session, now, settings, n, rng_seed=rng_seed, years=2, **kw)


def refresh_statistics(engine, mode: str) -> str:
    dialect = engine.dialect.name
    if mode == "no" or (mode == "auto" and dialect == "sqlite"):
        return "none"
    if dialect == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        return "VACUUM ANALYZE"
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return "ANALYZE"


# --- measuring -----------------------------------------------------------------------------


class StatementLog:
    """The statement counter: every statement the engine sends, with the time spent in
    cursor.execute (as the suite's query counter, plus the times)."""

    def __init__(self, engine) -> None:
        self.statements: list[tuple[str, object, float]] = []
        self._started: list[float] = []
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        self._started.append(time.perf_counter())
        self.statements.append((statement, parameters, 0.0))

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        started = self._started.pop()
        stmt, params, _ = self.statements[-1]
        self.statements[-1] = (stmt, params, time.perf_counter() - started)

    def reset(self) -> None:
        self.statements = []
        self._started = []


class Browser:
    """The Flask test client, one app context (one DB session) per request, like a server."""

    def __init__(self, app) -> None:
        self.app = app
        self.client = app.test_client()

    def get(self, url: str):
        with self.app.app_context():
            response = self.client.get(url)
            response.get_data()
            return response

    def login(self, username: str, password: str = PASSWORD) -> None:
        page = self.get("/login")
        match = CSRF_RE.search(page.get_data(as_text=True))
        if not match:
            raise SystemExit("no CSRF token on /login")
        with self.app.app_context():
            response = self.client.post(
                "/login", data={"username": username, "password": password, "csrf_token": match.group(1), "next": ""}
            )
        if response.status_code != 302:
            raise SystemExit(f"sign-in as {username} failed: {response.status_code}")


@dataclass
class Measurement:
    label: str
    url: str
    who: str
    times_ms: list[float]
    cpu_ms: list[float]
    statements: list[int]
    sql_ms: list[float]
    rows: int | None
    total: int | None
    last_statements: list[tuple[str, object, float]]

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu_ms)

    @property
    def p90(self) -> float:
        if len(self.times_ms) < 2:
            return self.times_ms[0]
        return statistics.quantiles(self.times_ms, n=10, method="inclusive")[8]

    @property
    def statement_text(self) -> str:
        lo, hi = min(self.statements), max(self.statements)
        return str(lo) if lo == hi else f"{lo}–{hi}"


def measure(browser: Browser, log: StatementLog, label: str, url: str, who: str, repeat: int) -> Measurement:
    times, cpu_times, counts, sql_times = [], [], [], []
    response = None
    for i in range(WARMUPS + repeat):
        log.reset()
        with browser.app.app_context():
            c0, t0 = time.process_time(), time.perf_counter()
            response = browser.client.get(url)
            data = response.get_data()
            elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
        body = data.decode() if response.mimetype.startswith("text/") else ""
        if response.status_code != 200:
            raise SystemExit(f"{url}: HTTP {response.status_code}")
        if i >= WARMUPS:
            times.append(elapsed * 1000)
            cpu_times.append(cpu * 1000)
            counts.append(len(log.statements))
            sql_times.append(sum(s[2] for s in log.statements) * 1000)
    # The rows of the page's table body (the queue's rows carry attributes: <tr data-number=...>).
    rows = body.split("<tbody>", 1)[1].split("</tbody>", 1)[0].count("<tr") if "<tbody>" in body else None
    match = COUNT_RE.search(body)
    return Measurement(
        label,
        url,
        who,
        times,
        cpu_times,
        counts,
        sql_times,
        rows,
        int(match.group(1)) if match else None,
        list(log.statements),
    )


def explain(engine, m: Measurement) -> str:
    """The plan of every SELECT on tickets the page ran (the last measured request)."""
    out = [f"### {m.label}  ({m.url})"]
    pg = engine.dialect.name == "postgresql"
    with engine.connect() as conn:
        for statement, params, seconds in m.last_statements:
            if not statement.lstrip().upper().startswith("SELECT") or "tickets" not in statement:
                continue
            prefix = "EXPLAIN (ANALYZE, BUFFERS) " if pg else "EXPLAIN QUERY PLAN "
            result = conn.exec_driver_sql(prefix + statement, params if params is not None else ())
            lines = ["\t".join(str(c) for c in row) for row in result]
            out.append(
                f"-- {seconds * 1000:.1f} ms in cursor.execute\n{statement}\n-- params: {params!r}\n"
                + "\n".join(lines)
                + "\n"
            )
        conn.rollback()
    return "\n".join(out)


# --- the machine ---------------------------------------------------------------------------


def source_state() -> str:
    """The commit measured, and whether files outside bench/ differed from it (read-only git)."""
    import subprocess

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "--no-optional-locks", *args], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout

    try:
        commit = git("rev-parse", "--short", "HEAD").strip()
        changed = [line[3:] for line in git("status", "--porcelain").splitlines() if not line[3:].startswith("bench/")]
    except (OSError, subprocess.CalledProcessError):
        return "unknown (no git)"
    if not changed:
        return f"{commit}, no uncommitted changes outside bench/"
    return f"{commit} plus uncommitted changes in {len(changed)} file(s) outside bench/: " + ", ".join(changed[:8])


def machine_facts(engine) -> dict[str, str]:
    import sqlalchemy

    facts = {"source": source_state()}
    try:
        facts["nproc"] = str(len(os.sched_getaffinity(0)))
    except AttributeError:
        facts["nproc"] = str(os.cpu_count())
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
        facts["cpu"] = model.group(1).strip() if model else platform.processor()
        mem = re.search(r"^MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
        if mem:
            facts["memory"] = f"{int(mem.group(1)) / 1024 / 1024:.1f} GiB"
    except OSError:
        facts["cpu"] = platform.processor()
    facts["os"] = platform.platform()
    facts["load average at the start of the measurements"] = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    facts["python"] = platform.python_version()
    facts["sqlalchemy"] = sqlalchemy.__version__
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            import psycopg

            facts["database"] = "PostgreSQL " + conn.execute(text("SHOW server_version")).scalar()
            settings = {
                k: conn.execute(text(f"SHOW {k}")).scalar()
                for k in ("shared_buffers", "work_mem", "effective_cache_size", "jit")
            }
            facts["database settings"] = ", ".join(f"{k}={v}" for k, v in settings.items()) + " (same host, TCP)"
            facts["driver"] = f"psycopg {psycopg.__version__}"
        else:
            facts["database"] = "SQLite " + conn.execute(text("SELECT sqlite_version()")).scalar()
            facts["database settings"] = "WAL, synchronous=FULL, foreign_keys=ON (the app's own PRAGMAs), temp-dir file"
    return facts


# --- recording -----------------------------------------------------------------------------


def record_section(path: Path, header: str, key: str, body: str) -> None:
    """Write `body` between the `bench:<key>` markers of the results file (created with
    `header`), replacing what was there; the rest of the file stays as it is."""
    start, end = f"<!-- bench:{key}:start -->", f"<!-- bench:{key}:end -->"
    block = f"{start}\n{body.rstrip()}\n{end}\n"
    content = path.read_text(encoding="utf-8") if path.exists() else header
    if start in content and end in content:
        before, rest = content.split(start, 1)
        after = rest.split(end, 1)[1].lstrip("\n")
        content = before + block + ("\n" + after if after else "")
    else:
        content = content.rstrip("\n") + "\n\n" + block
    path.write_text(content, encoding="utf-8")
