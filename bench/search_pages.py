#!/usr/bin/env python
"""Time the first page of search results on an existing database, without seeding or rebuilding.

    .venv/bin/python bench/search_pages.py --database-url URL [--repeat 5] [--only staff] [--explain]

The pages and query classes of bench/search_bench.py (the queue, open and all statuses, as a
desk member; a department's consultations as its staff member), signed in as the `swat seed`
cast (seed-agent-01, seed-staff-health-medical-1; password swat-seed-2026), in the default
order (relevance) and sort=priority: 2 warm-ups, then --repeat requests; p50/p95 of the wall
time, the statements and their time, and the total the page shows. Prints Markdown.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.pop("SWAT_CONFIG", None)
os.environ.pop("SWAT_DATABASE_URL", None)

from _common import HASH_METHOD, WARMUPS, Browser, StatementLog  # noqa: E402

from swat.app import create_app  # noqa: E402
from swat.extensions import db  # noqa: E402

SEED_PASSWORD = "swat-seed-2026"
CLASSES = [  # label, query
    ("one character", "保"),
    ("two characters", "保健"),
    ("common word", "ICT"),
    ("two words (AND)", "ICT 個人情報"),
    ("quoted phrase", '"ICTガバナンス"'),
    ("exclusion", "ICT -個人情報"),
    ("ticket number", "2026-00116"),
]
PAGES = [  # key, label, path, extra arguments, who
    ("open", "queue (open)", "/queue", "", "seed-agent-01"),
    ("all", "queue (all statuses)", "/queue", "status=&", "seed-agent-01"),
    ("staff", "consultations (staff)", "/consultations", "", "seed-staff-health-medical-1"),
]
_COUNT_P = re.compile(r'<p class="count"[^>]*>(.*?)</p>', re.S)


def _p95(xs: list[float]) -> float:
    return xs[0] if len(xs) < 2 else statistics.quantiles(xs, n=20, method="inclusive")[18]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--database-url", required=True)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--only", default="", help="comma-separated page keys: open, all, staff")
    p.add_argument("--classes", default="", help="comma-separated query texts instead of the default classes")
    p.add_argument("--sorts", default="relevance,priority")
    p.add_argument("--statements", action="store_true", help="print each statement's time of the last request")
    args = p.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="swat-search-pages-"))
    app = create_app(
        {
            "database_url": args.database_url,
            "instance_path": str(tmp / "instance"),
            "attachment_dir": str(tmp / "att"),
            "password_hash_method": HASH_METHOD,
        }
    )
    with app.app_context():
        log = StatementLog(db.engine)
    classes = [(q, q) for q in args.classes.split(",")] if args.classes else CLASSES
    only = set(args.only.split(",")) if args.only else {k for k, *_ in PAGES}
    print("| page | class | order | p50 | p95 | stmts | SQL ms | rows | total shown |")
    print("|---|---|---|---:|---:|---:|---:|---:|---|")
    for key, label, path, extra, who in PAGES:
        if key not in only:
            continue
        browser = Browser(app)
        browser.login(who, SEED_PASSWORD)
        for cl, q in classes:
            for order in args.sorts.split(","):
                sort = "" if order == "relevance" else f"&sort={order}"
                url = f"{path}?{extra}q={quote(q)}{sort}"
                wall, sql = [], []
                body = ""
                for i in range(WARMUPS + args.repeat):
                    log.reset()
                    with app.app_context():
                        t0 = time.perf_counter()
                        response = browser.client.get(url)
                        body = response.get_data(as_text=True)
                        elapsed = (time.perf_counter() - t0) * 1000
                    if response.status_code != 200:
                        raise SystemExit(f"{url}: HTTP {response.status_code}")
                    if i >= WARMUPS:
                        wall.append(elapsed)
                        sql.append(sum(s[2] for s in log.statements) * 1000)
                m = _COUNT_P.search(body)
                shown = re.sub(r"<[^>]+>", "", m.group(1)).split("\n")[0].strip() if m else "?"
                rows = body.split("<tbody>", 1)[1].split("</tbody>", 1)[0].count("<tr") if "<tbody>" in body else 0
                print(
                    f"| {label} | {cl} | {order} | {statistics.median(wall):.1f} | {_p95(wall):.1f} | "
                    f"{len(log.statements)} | {statistics.median(sql):.1f} | {rows} | {shown} |",
                    flush=True,
                )
                if args.statements:
                    for stmt, params, secs in log.statements:
                        if secs * 1000 > 5:
                            print(f"    {secs * 1000:8.1f} ms  {' '.join(stmt.split())[:300]}  {params!r:.200}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
