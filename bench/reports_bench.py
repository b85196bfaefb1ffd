#!/usr/bin/env python
"""A repeatable benchmark of /reports (and the queue) on data made by `swat seed`.

    .venv/bin/python bench/reports_bench.py [--tickets 1000000] [--database-url URL] [--reuse]
                                            [--repeat 10] [--record]

1. builds the app with `create_app()` on a fresh database (a new SQLite file in a temporary
   folder, or the PostgreSQL database named in --database-url, dropped and created again),
   applies the real migrations and loads the reference data; with --reuse and a PostgreSQL
   database that already holds seeded tickets, it keeps them (no re-seeding);
2. seeds N consultations with the generator of `swat seed` (bench/_common.seed_consultations:
   two fiscal years, events, replies, SLA clocks; the report facts follow through the database
   triggers), then refreshes planner statistics (PostgreSQL: VACUUM ANALYZE, as autovacuum
   would after a bulk load);
3. creates a desk-wide manager, a department manager, an agent and a staff member through
   `services.accounts.create_user`, signs in through /login with the Flask test client, and times
   each page server-side (2 warm-ups, then --repeat requests: median and p90), with its SQL count;
4. prints a Markdown table and with --record writes it into bench/REPORTS.md under the engine's
   heading. The PostgreSQL database is dropped at the end unless --keep (or --reuse) is given.

The clock is the machine's: the fiscal-year report is the current fiscal year, compared with
the previous one, with all five breakdowns, the trend and the age buckets.
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
    measure,
    record_section,
    recreate_postgres,
    refresh_statistics,
    seed_consultations,
)
from sqlalchemy import func, select, update  # noqa: E402

from swat.app import create_app  # noqa: E402
from swat.domain import reports as rd  # noqa: E402
from swat.domain.tz import TOKYO  # noqa: E402
from swat.extensions import db  # noqa: E402
from swat.models import ReportFact, Ticket, User  # noqa: E402
from swat.services import accounts  # noqa: E402
from swat.services.reference import load_reference  # noqa: E402
from swat.services.routing_rules import load_routing  # noqa: E402
from swat.services.sla import load_sla  # noqa: E402

RESULTS = ROOT / "bench" / "REPORTS.md"
HEADER = """# Reports benchmark

`bench/reports_bench.py` seeds N consultations with `swat seed` (the real generator: two fiscal
years of filings, history, replies and SLA clocks) on a fresh database with the real migrations,
signs in through `/login` with the Flask test client and times the report pages, the exports and
the queue. *median/p90 ms* is the server time around `client.get()` (queries and template
rendering; no network). Sections between the `bench:` markers are rewritten by `--record`.

```sh
.venv/bin/python bench/reports_bench.py --tickets 100000 --record
.venv/bin/python bench/reports_bench.py --tickets 1000000 --record \\
    --database-url postgresql+psycopg://postgres@127.0.0.1:5432/swat_bench_reports
```
"""

BENCH_USERS = [  # username, role, department
    ("bench-manager", "manager", None),
    ("bench-head", "manager", "health-medical"),
    ("bench-agent", "agent", None),
    ("bench-staff", "staff", "health-medical"),
]


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
    # A reused database remembers the queue filters of the last run: forget them, so "the
    # queue's first page" is the plain one again and not a redirect to those filters.
    db.session.execute(update(User).where(User.username.in_([u for u, _, _ in BENCH_USERS])).values(queue_query=""))
    db.session.commit()


def pages(fy_key: str, month_key: str, prev_key: str) -> list[tuple[str, str, str]]:
    return [
        ("fiscal-year report, all breakdowns", f"/reports?period={fy_key}", "bench-manager"),
        ("fiscal-year report, one department", f"/reports?period={fy_key}", "bench-head"),
        ("month report", f"/reports?period={month_key}", "bench-manager"),
        ("fiscal-year workbook (XLSX, all tables)", f"/reports/export.xlsx?period={fy_key}", "bench-manager"),
        ("breakdown CSV", f"/reports/export.csv?period={fy_key}&table=member", "bench-manager"),
        ("fiscal-year report + median/p90 by theme", f"/reports?period={fy_key}&times=theme", "bench-manager"),
        (
            "fiscal-year report + median/p90 by initiative",
            f"/reports?period={fy_key}&times=initiative",
            "bench-manager",
        ),
        ("fiscal-year report + median/p90 by department", f"/reports?period={fy_key}&times=department", "bench-head"),
        (
            "drill-down: opened in the year",
            f"/consultations?per_page=200&period={fy_key}&measure=opened",
            "bench-manager",
        ),
        (
            "drill-down: resolved in the year",
            f"/consultations?per_page=200&period={fy_key}&measure=resolved",
            "bench-manager",
        ),
        (
            "drill-down: backlog at the year's end",
            f"/consultations?per_page=200&period={fy_key}&measure=backlog",
            "bench-manager",
        ),
        (
            "drill-down: backlog at the previous year's end",
            f"/consultations?per_page=200&period={prev_key}&measure=backlog",
            "bench-manager",
        ),
        (
            "drill-down: one theme's opened, by number",
            f"/consultations?per_page=200&period={fy_key}&measure=opened&theme=healthcare&sort=number&dir=desc",
            "bench-manager",
        ),
        ("queue, first page", "/queue", "bench-agent"),
        ("queue, open and urgent", "/queue?priority=urgent", "bench-agent"),
        ("staff: own department's list", "/consultations", "bench-staff"),
    ]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tickets", type=int, default=100_000)
    p.add_argument("--database-url", default="")
    p.add_argument("--repeat", type=int, default=10)
    p.add_argument(
        "--reuse",
        action="store_true",
        help="keep an already seeded database (PostgreSQL, or a SQLite file named by URL)",
    )
    p.add_argument("--keep", action="store_true")
    p.add_argument("--record", action="store_true")
    args = p.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="swat-reports-bench-"))
    pg = args.database_url.startswith("postgresql")
    named_sqlite = args.database_url.startswith("sqlite:///")
    url = args.database_url if pg or named_sqlite else f"sqlite:///{tmp / 'bench.db'}"
    if pg and not args.reuse:
        recreate_postgres(url)
    if named_sqlite and not args.reuse:
        sqlite_file = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{sqlite_file}{suffix}").unlink(missing_ok=True)
    app = create_app(
        {
            "database_url": url,
            "instance_path": str(tmp / "instance"),
            "attachment_dir": str(tmp / "att"),
            "password_hash_method": HASH_METHOD,
        }
    )
    now = datetime.now(UTC)
    seeded = {"seconds": 0.0, "tickets": 0, "note": "reused"}
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
                seeded = {"seconds": time.perf_counter() - t0, "tickets": report.tickets, "note": report.summary()}
            _users(now)
            stats = refresh_statistics(db.engine, "auto")
            total = db.session.scalar(select(func.count()).select_from(Ticket))
            facts = db.session.scalar(select(func.count()).select_from(ReportFact))
            open_now = db.session.scalar(
                select(func.count())
                .select_from(Ticket)
                .where(Ticket.status.in_(("new", "assigned", "in_progress", "waiting")))
            )
            db.session.remove()
            machine = machine_facts(db.engine)
        today = now.astimezone(TOKYO).date()
        fy = rd.fiscal_year(rd.fiscal_year_of(today))
        month = rd.month(today.year, today.month).previous()
        log = StatementLog(_engine(app))
        browser = Browser(app)
        results = []
        for label, page, who in pages(fy.key(), month.key(), fy.previous().key()):
            browser.client = app.test_client()  # a fresh sign-in per page
            browser.login(who)
            m = measure(browser, log, label, page, who, args.repeat)
            results.append(m)
            print(
                f"{label:45s} {m.median:8.1f} ms median  {m.p90:8.1f} p90  "
                f"{statistics.median(m.cpu_ms):8.1f} CPU  {m.statement_text} statements",
                flush=True,
            )
        engine_name = "PostgreSQL" if pg else "SQLite"
        body = "\n".join(
            [
                f"## {engine_name}, {total:,} tickets",
                "",
                f"- date: {datetime.now(UTC).astimezone(TOKYO):%Y-%m-%d %H:%M %Z}",
                f"- command: `{shlex.join(['.venv/bin/python', 'bench/reports_bench.py', *(argv or sys.argv[1:])])}`",
                f"- seed: {seeded['note']}; statistics after the load: {stats}",
                f"- {open_now:,} consultations open now; report_facts holds {facts:,} rows",
                f"- periods: {fy.key()} (vs {fy.previous().key()}) and {month.key()}; {WARMUPS} warm-ups, "
                f"then {args.repeat} timed requests per page",
                *[f"- {k}: {v}" for k, v in machine.items()],
                "",
                "| page | as | median ms | p90 ms | CPU ms (median) | SQL statements | SQL ms (median) |",
                "|---|---|---:|---:|---:|---:|---:|",
                *[
                    f"| {m.label} (`{m.url}`) | {m.who} | {m.median:.1f} | {m.p90:.1f} | "
                    f"{statistics.median(m.cpu_ms):.1f} | {m.statement_text} | {statistics.median(m.sql_ms):.1f} |"
                    for m in results
                ],
                "",
            ]
        )
        print(body)
        if args.record:
            record(f"{engine_name.lower()}-{total}", body)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        shutil.rmtree(tmp, ignore_errors=True)
        if pg and not (args.keep or args.reuse):
            drop_postgres(url)
    return 0


def _engine(app):
    with app.app_context():
        return db.engine


def record(key: str, body: str) -> None:
    record_section(RESULTS, HEADER, key, body)


if __name__ == "__main__":
    raise SystemExit(main())
