#!/usr/bin/env python
"""How fast `swat seed` loads consultations, end to end, on a fresh database.

    .venv/bin/python bench/seed_bench.py [--tickets 200000] [--database-url URL] [--record]

Every run from scratch, through the real command line: (re)creates the PostgreSQL database
named in --database-url (through the `postgres` maintenance database; a fresh SQLite file in
a temporary folder without it), runs `swat db upgrade` and `swat reference load` with
SWAT_DATABASE_URL set, then times `swat seed --tickets N` (the wall time of the whole
command, process start included, next to the rate the command reports). It then prints the
rows per ticket by table and the share of open tickets by age, and with --record appends
them to bench/SEED.md. The PostgreSQL database is dropped at the end unless --keep is given.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, drop_postgres, recreate_postgres  # noqa: E402

SWAT = str(ROOT / ".venv" / "bin" / "swat")
RESULTS = ROOT / "bench" / "SEED.md"
TABLES = ("tickets", "ticket_initiatives", "messages", "ticket_events", "ticket_slas", "sla_events")
OPEN = "('new', 'assigned', 'in_progress', 'waiting')"
AGES = [(0, 14), (14, 30), (30, 60), (60, 90), (90, 180), (180, 10000)]


def swat(url: str, *args: str) -> str:
    env = dict(os.environ, SWAT_DATABASE_URL=url)
    env.pop("SWAT_CONFIG", None)
    done = subprocess.run([SWAT, *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"swat {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def query(url: str, sql: str) -> list[tuple]:
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            return conn.execute(sql).fetchall()
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    with psycopg.connect(dbname=u.database, host=u.host, port=u.port, user=u.username, password=u.password) as c:
        return c.execute(sql).fetchall()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tickets", type=int, default=200_000)
    ap.add_argument("--database-url", default="", help="postgresql+psycopg://.../SCRATCH_DB (dropped, recreated)")
    ap.add_argument("--record", action="store_true", help="append the result to bench/SEED.md")
    ap.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    a = ap.parse_args()
    tmp = None
    if a.database_url:
        recreate_postgres(a.database_url)
        url, engine = a.database_url, "PostgreSQL"
    else:
        tmp = tempfile.mkdtemp(prefix="swat-seed-bench-")
        url, engine = f"sqlite:///{tmp}/seed.db", "SQLite"
    try:
        swat(url, "db", "upgrade")
        swat(url, "reference", "load")
        t0 = time.perf_counter()
        out = swat(url, "seed", "--tickets", str(a.tickets))
        wall = time.perf_counter() - t0
        summary = out.strip().splitlines()[-1]
        counts = {t: query(url, f"SELECT count(*) FROM {t}")[0][0] for t in TABLES}
        age = (
            "extract(epoch from now() - created_at) / 86400"
            if engine == "PostgreSQL"
            else "julianday('now') - julianday(created_at)"
        )
        by_age = []
        for lo, hi in AGES:
            n, o, r = query(
                url,
                f"SELECT count(*), sum(CASE WHEN status IN {OPEN} THEN 1 ELSE 0 END), "
                f"sum(CASE WHEN status = 'resolved' THEN 1 ELSE 0 END) FROM tickets "
                f"WHERE {age} >= {lo} AND {age} < {hi}",
            )[0]
            by_age.append((lo, hi, n, o or 0, r or 0))
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
        elif not a.keep:
            drop_postgres(a.database_url)
    n = counts["tickets"]
    lines = [
        f"### {engine}, {a.tickets:,} tickets ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)",
        "",
        f"- command: `.venv/bin/python bench/seed_bench.py --tickets {a.tickets}"
        + (" --database-url postgresql+psycopg://.../swat_seedbench`" if a.database_url else "`"),
        f"- `swat seed` said: {summary}",
        f"- wall time of the whole command: {wall:.1f} s = **{a.tickets / wall:,.0f} tickets/s**",
        f"- machine: {platform.machine()}, {os.cpu_count()} CPUs, load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} (after the run)",
        "- rows per ticket: "
        + ", ".join(f"{t} {counts[t] / n:.2f}" for t in TABLES)
        + f"; total {sum(counts.values()) / n:.2f}",
        "",
        "| filed (days ago) | tickets | open | resolved, not closed |",
        "|---|---:|---:|---:|",
    ]
    for lo, hi, k, o, r in by_age:
        label = f"{lo}+" if hi > 5000 else f"{lo}-{hi}"
        lines.append(f"| {label} | {k:,} | {100 * o / max(k, 1):.1f}% | {100 * r / max(k, 1):.1f}% |")
    text = "\n".join(lines) + "\n"
    print(text)
    if a.record:
        with RESULTS.open("a", encoding="utf-8") as f:
            f.write("\n" + text)


if __name__ == "__main__":
    main()
