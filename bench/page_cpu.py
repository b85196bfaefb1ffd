#!/usr/bin/env python
"""What each page costs in CPU, and whether that grows with the number of consultations.

    .venv/bin/python bench/page_cpu.py --database-url URL [--database-url URL ...] [--repeat 50] [--record]

Each URL names a desk already seeded with `swat seed --tickets N` (its `seed-*` users and
their password are the generator's): the same pages are measured on each, so one table shows
a page at 10,000, 100,000 and 1,000,000 tickets side by side. Nothing is seeded or dropped;
the filings it measures stay in the database (as a day's filings would).

For every page: 3 warm-ups, then --repeat requests through the Flask test client (one app
context per request, as a server), signed in through /login as the seeded user the page is
for. Figures per request:
- *app CPU*: this process's CPU time (time.process_time) over the timed requests, divided by
  their number. On SQLite the database works inside this process, so it is included.
- *database CPU* (PostgreSQL): the CPU time of the server processes behind this process's
  connections (utime+stime from /proc/<pid>/stat of each pg_backend_pid(); the database runs
  on the same host), over the same requests, divided by their number. Clock ticks are 10 ms,
  so over 50 requests the resolution is 0.2 ms.
- *wall p50 / p95*: the time around client.get() of each request (no network).
- *statements*: the SQL statements of the last request.

The pages: the queue's first page as a SWAT member (default, open and urgent, by SLA due, a
search word), a ticket page with its similar consultations (a closed consultation of the
healthcare theme with replies), a department's list as its staff, the bell's page, the lead's
triage list, /reports for the fiscal year beside the previous one as a manager, and filing a
consultation (POST, with routing, SLA clocks, history and outbox; --filings of them).

With --record the table goes into bench/PAGES.md between markers named after the set of
databases measured (the rest of the file stays).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.pop("SWAT_CONFIG", None)
os.environ.pop("SWAT_DATABASE_URL", None)

from _common import ROOT, StatementLog, machine_facts, record_section  # noqa: E402
from sqlalchemy import event, func, select  # noqa: E402

from swat.app import create_app  # noqa: E402
from swat.devdata.seed import SEED_PASSWORD  # noqa: E402
from swat.extensions import db  # noqa: E402
from swat.models import Message, Ticket  # noqa: E402

RESULTS = ROOT / "bench" / "PAGES.md"
HEADER = """# CPU per page at 10,000, 100,000 and 1,000,000 consultations

`bench/page_cpu.py` measures the same pages on desks of different sizes (see its docstring for
what each column is). A page's cost must not grow with the number of consultations.
"""
WARMUPS = 3
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
TOKEN_RE = re.compile(r'name="submission_token"[^>]*value="([^"]*)"')
CLK_TCK = os.sysconf("SC_CLK_TCK")


class Backends:
    """The PostgreSQL server processes behind the app's connections, and their CPU time."""

    def __init__(self, engine) -> None:
        self.pids: set[int] = set()
        if engine.dialect.name == "postgresql":
            event.listen(engine, "connect", self._connected)

    def _connected(self, dbapi_connection, record) -> None:
        cur = dbapi_connection.cursor()
        cur.execute("SELECT pg_backend_pid()")
        self.pids.add(cur.fetchone()[0])
        cur.close()
        dbapi_connection.commit()

    def cpu_seconds(self) -> float:
        total = 0
        for pid in list(self.pids):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
        return total / CLK_TCK


class Client:
    def __init__(self, app) -> None:
        self.app = app
        self.client = app.test_client()

    def request(self, method: str, url: str, **kwargs):
        with self.app.app_context():
            response = getattr(self.client, method)(url, **kwargs)
            response.get_data()
            return response

    def login(self, username: str) -> None:
        page = self.request("get", "/login").get_data(as_text=True)
        response = self.request(
            "post",
            "/login",
            data={"username": username, "password": SEED_PASSWORD, "csrf_token": CSRF_RE.search(page).group(1)},
        )
        if response.status_code != 302:
            raise SystemExit(f"sign-in as {username} failed ({response.status_code}): is this a `swat seed` desk?")


def _sample_ticket(app) -> str:
    with app.app_context():
        replies = select(func.count()).select_from(Message).where(Message.ticket_id == Ticket.id).scalar_subquery()
        number = db.session.scalar(
            select(Ticket.number)
            .where(Ticket.status == "closed", Ticket.theme_id == "healthcare", replies == 3)
            .order_by(Ticket.id)
            .limit(1)
        )
        return number or db.session.scalar(select(Ticket.number).order_by(Ticket.id.desc()).limit(1))


def _timed(client: Client, backends: Backends, log: StatementLog, n: int, send) -> dict:
    for _ in range(WARMUPS):
        send()
    walls = []
    c0, b0 = time.process_time(), backends.cpu_seconds()
    for _ in range(n):
        log.reset()
        t0 = time.perf_counter()
        send()
        walls.append((time.perf_counter() - t0) * 1000)
    app_cpu = (time.process_time() - c0) * 1000 / n
    db_cpu = (backends.cpu_seconds() - b0) * 1000 / n
    walls.sort()
    return {
        "app": app_cpu,
        "db": db_cpu,
        "p50": statistics.median(walls),
        "p95": walls[min(len(walls) - 1, int(round(0.95 * (len(walls) - 1))))],
        "statements": len(log.statements),
    }


def measure_desk(url: str, repeat: int, filings: int) -> tuple[str, int, dict[str, dict], dict[str, str]]:
    app = create_app({"database_url": url, "env": "development", "secret_key": "bench-page-cpu"})
    engine = None
    with app.app_context():
        engine = db.engine
        tickets = db.session.scalar(select(func.count()).select_from(Ticket))
        engine_name = engine.dialect.name
        db.session.remove()  # its transaction ends before machine_facts opens a connection of its own
        facts = machine_facts(engine)
    backends = Backends(engine)
    engine.dispose()  # connections from here on are new, so Backends sees each one open
    log = StatementLog(engine)
    number = _sample_ticket(app)
    pages = [
        ("queue, first page", "seed-agent-01", "/queue"),
        ("queue, open and urgent", "seed-agent-01", "/queue?priority=urgent"),
        ("queue, by SLA due", "seed-agent-01", "/queue?sort=sla"),
        ("queue, a search word", "seed-agent-01", "/queue?q=ワクチン"),
        ("ticket page with similar consultations", "seed-agent-01", f"/tickets/{number}"),
        ("a department's list, as its staff", "seed-staff-health-medical-1", "/consultations"),
        ("notifications", "seed-agent-01", "/notifications"),
        ("triage list", "seed-lead-1", "/triage"),
        ("reports: the fiscal year beside the previous one", "seed-manager", "/reports"),
    ]
    out: dict[str, dict] = {}
    for label, who, path in pages:
        client = Client(app)
        client.login(who)
        # The queue remembers filters: forget the last page's (a bare /queue would redirect
        # to them), then the first visit writes this page's and the timed ones write nothing.
        if path.startswith("/queue"):
            client.request("get", "/queue?reset=1")
        if client.request("get", path).status_code != 200:
            raise SystemExit(f"{path}: not 200")
        out[label] = _timed(client, backends, log, repeat, lambda c=client, p=path: c.request("get", p)) | {
            "url": path,
            "who": who,
        }
    client = Client(app)
    client.login("seed-staff-health-medical-1")
    counter = iter(range(10**6))

    def file_one():
        form = client.request("get", "/consultations/new").get_data(as_text=True)
        i = next(counter)
        data = {
            "csrf_token": CSRF_RE.search(form).group(1),
            "submission_token": TOKEN_RE.search(form).group(1),
            "title": f"ワクチン接種の予約システムについて（計測 {i}）",
            "body": f"保健所の業務負担を減らすため、ワクチン接種の予約をオンライン申請にしたい。計測 {i}。",
            "priority": "normal",
            "theme": "",
        }
        log.reset()
        response = client.request("post", "/consultations/new", data=data)
        if response.status_code != 302:
            raise SystemExit(f"filing: HTTP {response.status_code}")

    # Filing: the form's GET is part of each round but not of the figure (timed separately).
    get_only = _timed(client, backends, log, filings, lambda: client.request("get", "/consultations/new"))
    both = _timed(client, backends, log, filings, file_one)
    out["filing a consultation (POST)"] = {
        "app": both["app"] - get_only["app"],
        "db": both["db"] - get_only["db"],
        "p50": both["p50"] - get_only["p50"],
        "p95": both["p95"] - get_only["p95"],
        "statements": both["statements"],
        "url": "POST /consultations/new",
        "who": "seed-staff-health-medical-1",
    }
    return engine_name, tickets, out, facts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", action="append", required=True)
    ap.add_argument("--repeat", type=int, default=50)
    ap.add_argument("--filings", type=int, default=20)
    ap.add_argument("--record", action="store_true")
    args = ap.parse_args()
    desks = []
    for url in args.database_url:
        print(f"measuring {url.rsplit('/', 1)[-1]} ...", file=sys.stderr)
        desks.append(measure_desk(url, args.repeat, args.filings))
    labels = list(desks[0][2])
    heads = [f"{name} {n:,}" for name, n, _, _ in desks]
    lines = [
        "| page | as | "
        + " | ".join(f"{h}: app CPU / db CPU ms" for h in heads)
        + " | "
        + " | ".join(f"{h}: wall p50 / p95 ms" for h in heads)
        + " | statements |",
        "|---|---|" + "---:|" * (2 * len(desks)) + "---|",
    ]
    for label in labels:
        rows = [d[2][label] for d in desks]
        cpu = " | ".join(f"{r['app']:.1f} / {r['db']:.1f}" for r in rows)
        wall = " | ".join(f"{r['p50']:.1f} / {r['p95']:.1f}" for r in rows)
        stmts = " / ".join(str(r["statements"]) for r in rows)
        lines.append(f"| {label} (`{rows[0]['url']}`) | {rows[0]['who']} | {cpu} | {wall} | {stmts} |")
    facts = desks[0][3]
    cmd = (
        ".venv/bin/python bench/page_cpu.py "
        + " ".join(f"--database-url {u}" for u in args.database_url)
        + f" --repeat {args.repeat} --filings {args.filings}"
        + (" --record" if args.record else "")
    )
    body = "\n".join(
        [
            f"## {', '.join(heads)}",
            "",
            f"- date: {time.strftime('%Y-%m-%d %H:%M %Z')}",
            f"- command: `{cmd}`",
            f"- {WARMUPS} warm-ups, then {args.repeat} requests per page ({args.filings} filings)",
            *[f"- {k}: {v}" for k, v in facts.items()],
            "",
            *lines,
        ]
    )
    print(body)
    if args.record:
        key = "-".join(f"{name}{n}" for name, n, _, _ in desks)
        record_section(RESULTS, HEADER, key, body)


if __name__ == "__main__":
    main()
