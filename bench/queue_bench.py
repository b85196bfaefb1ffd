#!/usr/bin/env python
"""A repeatable benchmark of the SWAT queue with a realistic number of tickets.

    .venv/bin/python bench/queue_bench.py [--tickets 100000] [--database-url URL] [--repeat 20] [--record]

What it does, every run from scratch:

1. builds the app with `create_app()` on a fresh database: a new SQLite file in a temporary
   folder, or (with --database-url postgresql+psycopg://.../NAME) the PostgreSQL database NAME,
   dropped and created again through the `postgres` maintenance database;
2. applies the real Alembic migrations and loads the reference data (departments, themes,
   routing and SLA rules);
3. seeds N consultations with the generator of `swat seed` (bench/_common.seed_consultations:
   the `seed-*` cast, two fiscal years of filings with their history, replies and SLA timers;
   --batch tickets per batch, --seed its random seed), and refreshes planner statistics the
   way the database would on its own (PostgreSQL: VACUUM ANALYZE, as autovacuum would after a
   bulk load; SQLite: nothing, as the app never runs ANALYZE -- see --analyze);
4. signs in through /login as a seeded agent, a seeded staff member and a seeded lead with the Flask test
   client (CSRF token included; bench/_common.Browser) and measures, per page, the server time
   around `client.get` (2 warm-ups, then --repeat runs: median and p90) and the SQL statements
   per request (bench/_common.StatementLog, a `before_cursor_execute` listener), and the CPU
   time of the process around the same call (time.process_time: the server's own cost, which
   the load of a shared machine changes much less than the wall time);
5. prints a Markdown table and, with --record, writes it into bench/RESULTS.md under the
   engine's heading (the rest of the file, "Findings" included, is left alone).

--explain also prints the plan of every SELECT on tickets each page runs (PostgreSQL:
EXPLAIN (ANALYZE, BUFFERS); SQLite: EXPLAIN QUERY PLAN), for investigating a slow page, and
--after-load-sql "CREATE INDEX ..." tries an index without touching the app (an experiment:
such a run is not a baseline and says so in its output). Before each page the client signs in
again, so no request carries the once-a-minute session UPDATE (see Findings in RESULTS.md).
The PostgreSQL database is dropped at the end unless --keep is given; so is the SQLite folder.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# The benchmark configures the app through create_app() overrides only.
os.environ.pop("SWAT_CONFIG", None)
os.environ.pop("SWAT_DATABASE_URL", None)

from _common import (  # noqa: E402
    HASH_METHOD,
    ROOT,
    WARMUPS,
    Browser,
    Measurement,
    StatementLog,
    drop_postgres,
    explain,
    machine_facts,
    measure,
    recreate_postgres,
    refresh_statistics,
    seed_consultations,
)
from sqlalchemy import func, select  # noqa: E402

from swat.app import create_app  # noqa: E402
from swat.devdata.seed import SEED_PASSWORD  # noqa: E402
from swat.domain import states  # noqa: E402
from swat.domain.tz import TOKYO  # noqa: E402
from swat.extensions import db  # noqa: E402
from swat.models import Message, Ticket, TicketEvent, User  # noqa: E402
from swat.services.reference import load_reference  # noqa: E402
from swat.services.routing_rules import load_routing  # noqa: E402
from swat.services.sla import load_sla  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
SEED = 20200401
# Who the pages are measured as: accounts of the seeded cast.
AGENT = "seed-agent-01"
LEAD = "seed-lead-1"
STAFF_DEPARTMENT = "health-medical"
STAFF = f"seed-staff-{STAFF_DEPARTMENT}-1"


# --- reporting -----------------------------------------------------------------------------


def table(measurements: list[Measurement]) -> str:
    lines = [
        "| page | as | rows shown | matching | CPU ms (median) | median ms | p90 ms | SQL statements | SQL ms (median) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in measurements:
        total = f"{m.total:,}" if m.total is not None else "—"
        rows = str(m.rows) if m.rows is not None else "—"
        lines.append(
            f"| `{m.url}` | {m.who} | {rows} | {total} | {m.cpu_median:.1f} | {m.median:.1f} | {m.p90:.1f} | "
            f"{m.statement_text} | {statistics.median(m.sql_ms):.1f} |"
        )
    return "\n".join(lines)


def section(
    engine_name: str,
    args,
    command: str,
    facts: dict,
    load: dict,
    stats: str,
    phases: dict,
    measurements: list[Measurement],
) -> str:
    rate = load["tickets"] / load["seconds"] if load["seconds"] else 0.0
    lines = [
        f"## {engine_name}",
        "",
        f"- date: {datetime.now(UTC).astimezone(TOKYO):%Y-%m-%d %H:%M %Z}",
        f"- command: `{command}`",
        f"- tickets: {load['tickets']:,} (plus {load['messages']:,} messages and {load['events']:,} history events), "
        f"{len(measurements)} pages, {WARMUPS} warm-ups then {args.repeat} timed requests each",
        f"- data: `swat seed`'s generator, batches of {args.batch}, seed {args.seed}: {load['summary']} "
        f"(= {rate:,.0f} tickets/s)",
        f"- setup: migrations {phases['migrate']:.1f} s, reference data {phases['reference']:.1f} s; "
        f"{phases['users']} users; statistics after the load: {stats}",
    ]
    for statement in args.after_load_sql:
        lines.append(f"- **experiment**, run after the load: `{statement}`")
    for key, value in facts.items():
        lines.append(f"- {key}: {value}")
    lines += ["", table(measurements), ""]
    return "\n".join(lines)


HEADER = """# SWAT queue benchmark

`bench/queue_bench.py` builds a fresh database with the real migrations, reference data, a cast of
users and N generated Japanese consultations, signs in through `/login` with the Flask test client
and times the pages a SWAT member and department staff use most. Each run starts from scratch,
so the figures can be compared between commits. See the docstring of the script for the details.

```sh
.venv/bin/python bench/queue_bench.py --tickets 100000 --record
.venv/bin/python bench/queue_bench.py --tickets 100000 --record \\
    --database-url postgresql+psycopg://postgres@127.0.0.1:5432/swat_bench
```

Columns: *CPU ms* is the process CPU time (`time.process_time()`) around `client.get()`, the
server's own cost of the request whatever else the machine is doing; *median/p90 ms* is the wall
time around it (routing, sign-in check, queries, template rendering; no network or WSGI server); *SQL statements* counts every statement the engine
sent for one request (`before_cursor_execute`; on SQLite this includes the app's `BEGIN IMMEDIATE`);
*SQL ms* is the time spent inside `cursor.execute` (on SQLite rows are produced lazily, so part of
the query time shows up in fetching rather than here); *matching* is the total the page reports.
Sections between the `bench:` markers are rewritten by `--record`; the rest of this file is not.
"""


def record(engine_key: str, body: str) -> None:
    start, end = f"<!-- bench:{engine_key}:start -->", f"<!-- bench:{engine_key}:end -->"
    block = f"{start}\n{body.rstrip()}\n{end}\n"
    content = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else HEADER
    if start in content and end in content:
        before, rest = content.split(start, 1)
        after = rest.split(end, 1)[1].lstrip("\n")
        content = before + block + ("\n" + after if after else "")
    elif "\n## Findings" in content:
        before, after = content.split("\n## Findings", 1)
        content = before.rstrip("\n") + "\n\n" + block + "\n## Findings" + after
    else:
        content = content.rstrip("\n") + "\n\n" + block
    RESULTS.write_text(content, encoding="utf-8")


# --- main ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tickets", type=int, default=100_000)
    p.add_argument(
        "--database-url",
        default="",
        help="postgresql+psycopg://user@host:port/NAME (NAME is dropped "
        "and created again); default: a new SQLite file in a temporary folder",
    )
    p.add_argument("--repeat", type=int, default=20)
    p.add_argument("--batch", type=int, default=5000, help="tickets per batch of the seed")
    p.add_argument(
        "--analyze",
        choices=("auto", "yes", "no"),
        default="auto",
        help="refresh planner statistics after the load (auto: PostgreSQL yes, SQLite no)",
    )
    p.add_argument("--record", action="store_true", help="write the results into bench/RESULTS.md")
    p.add_argument("--explain", action="store_true", help="print the plan of every ticket query of every page")
    p.add_argument("--keep", action="store_true", help="keep the database (and temporary folder) afterwards")
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument(
        "--after-load-sql",
        action="append",
        default=[],
        metavar="SQL",
        help="run this statement after the load, before the statistics (repeatable): for trying an "
        "index without changing the app; such a run is an experiment, not a baseline",
    )
    args = p.parse_args(argv)
    command = shlex.join([".venv/bin/python", "bench/queue_bench.py", *(argv if argv is not None else sys.argv[1:])])

    tmp = Path(tempfile.mkdtemp(prefix="swat-bench-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    is_pg = url.startswith("postgresql")
    if is_pg:
        name = recreate_postgres(url)
        print(f"database {name}: dropped and created", flush=True)
    app = create_app(
        {
            "database_url": url,
            "instance_path": str(tmp / "instance"),
            "attachment_dir": str(tmp / "att"),
            "password_hash_method": HASH_METHOD,
        }
    )
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    phases: dict = {}
    try:
        with app.app_context():
            from flask_migrate import upgrade

            t0 = time.perf_counter()
            upgrade()
            phases["migrate"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            reference = app.config["SWAT"]["reference_dir"]
            load_reference(db.session, reference)
            load_routing(db.session, reference, now)
            load_sla(db.session, reference, now)
            db.session.commit()
            phases["reference"] = time.perf_counter() - t0

            print(f"seeding {args.tickets:,} tickets …", flush=True)
            report = seed_consultations(
                db.session, now, app.config["SWAT"], args.tickets, rng_seed=args.seed, batch_size=args.batch
            )
            load = {
                "tickets": report.tickets,
                "messages": db.session.scalar(select(func.count()).select_from(Message)),
                "events": db.session.scalar(select(func.count()).select_from(TicketEvent)),
                "seconds": report.seconds,
                "summary": report.summary(),
            }
            phases["users"] = db.session.scalar(select(func.count()).select_from(User))
            db.session.remove()
            print(load["summary"], flush=True)
            for statement in args.after_load_sql:
                t0 = time.perf_counter()
                with db.engine.begin() as conn:
                    conn.exec_driver_sql(statement)
                print(f"after load: {statement} ({time.perf_counter() - t0:.1f} s)", flush=True)
            t0 = time.perf_counter()
            stats = refresh_statistics(db.engine, args.analyze)
            print(f"statistics: {stats} ({time.perf_counter() - t0:.1f} s)", flush=True)
            open_first = db.session.scalar(
                select(Ticket.number)
                .where(Ticket.status.in_(states.OPEN_STATUSES))
                .order_by(Ticket.priority, Ticket.created_at, Ticket.id)
                .limit(1)
            )
            db.session.remove()
            facts = machine_facts(db.engine)
            engine = db.engine

        log = StatementLog(engine)
        agent, staff, lead = Browser(app), Browser(app), Browser(app)
        who_agent, who_staff = "agent", f"staff ({STAFF_DEPARTMENT})"
        pages = [
            ("/queue", who_agent, agent, AGENT),
            ("/queue?sort=activity&dir=desc", who_agent, agent, AGENT),
            ("/queue?q=LINE", who_agent, agent, AGENT),
            ("/queue?theme=healthcare&status=new", who_agent, agent, AGENT),
            ("/queue?page=100", who_agent, agent, AGENT),
            # Not in the brief's list: the same first page with 4x the rows, to show that the
            # number of statements does not grow with the rows shown.
            ("/queue?per_page=200", who_agent, agent, AGENT),
            ("/consultations", who_staff, staff, STAFF),
            (f"/tickets/{open_first}", who_agent, agent, AGENT),
            ("/notifications", who_agent, agent, AGENT),
            ("/triage", "lead", lead, LEAD),
        ]
        measurements = []
        for page_url, who, browser, username in pages:
            # A fresh sign-in before each page: the session's last_seen_at is then less than a
            # minute old for the whole page, so no request carries the once-a-minute session
            # UPDATE and the statement counts do not depend on how long the run has taken.
            browser.login(username, SEED_PASSWORD)
            m = measure(browser, log, page_url, page_url, who, args.repeat)
            measurements.append(m)
            print(
                f"  {page_url:40s} {m.cpu_median:8.1f} ms CPU {m.median:8.1f} ms median {m.p90:8.1f} ms p90  "
                f"{m.statement_text:>5} statements",
                flush=True,
            )
        engine_name = "PostgreSQL" if is_pg else "SQLite"
        print()
        body = section(engine_name, args, command, facts, load, stats, phases, measurements)
        print(body)
        if args.explain:
            for m in measurements:
                print(explain(engine, m))
        if args.record:
            record("postgresql" if is_pg else "sqlite", body)
            print(f"recorded in {RESULTS.relative_to(ROOT)}")
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if args.keep:
            print(f"kept: {url}  (instance folder {tmp})")
        else:
            if is_pg:
                drop_postgres(url)
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
