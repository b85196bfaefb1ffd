#!/usr/bin/env python
"""The mixed load of issue 13: many signed-in users at once, reads and writes, offered at a fixed rate.

    .venv/bin/python bench/mixed_load.py --instance-path DIR [--database-url URL] \\
        [--users 200] [--rate 50] [--duration 600] [--max-requests 40000] \\
        [--workers 4] [--worker-class sync] [--threads 1] [--out FILE.json]
    .venv/bin/python bench/mixed_load.py --base http://127.0.0.1:PORT --server-pid PID --database-url URL ...

The database must already hold the desk (`swat db upgrade && swat reference load && swat seed
--tickets N`). What a run does, in this order:

1. **Accounts.** Creates the run's users if they are missing (`mixload-*`, through the app's
   own `services.accounts.create_user`, with a cheap password hash as `swat seed` uses): about
   20 % SWAT members with two themes each, 2 % leads, 4 % managers (half desk-wide, half with a
   department) and the rest department staff spread over every department. Samples ticket
   numbers from the database for the reads, and open tickets per department for the replies.
2. **Server.** Without --base it starts its own gunicorn from this checkout
   (`gunicorn 'swat.app:create_app()'` with --workers/--worker-class/--threads, bound to a free
   port on 127.0.0.1, SWAT_INSTANCE_PATH and SWAT_DATABASE_URL in its environment) and stops it
   at the end by its PID. With --base it uses a running server; --server-pid (its gunicorn
   master) lets it sample the workers.
3. **Sign-in.** Every user signs in through /login with the form's CSRF token and keeps their
   own session cookie (updated from every Set-Cookie, as a browser does) and CSRF token.
4. **Warm-up** (--warmup seconds of the same mix at the same rate; not counted in the figures,
   its writes verified with the others), then the **measured load**: an open loop. Requests
   are offered at --rate per second (evenly spaced, or --arrivals poisson) whatever the
   server's response times, for --duration seconds or --max-requests requests, whichever
   comes first; each is handed to a pool of up to --max-inflight client threads (http.client,
   one connection per request). A request's latency is counted from the moment it was due to
   be sent, so time spent waiting for a free client thread is included (no coordinated
   omission); its service time from the moment it was sent. A request that waited longer than
   --timeout for a thread is not sent and counts as a timeout ("expired").
   The mix (--mix reads,writes,uploads; default 80,15,5):
   - reads, by role: SWAT members and leads open /queue with random filters, sorts, pages and
     search words, ticket pages, /consultations, /notifications, /team, and leads /triage and
     /reports; staff open their department's /consultations (also with search words), its
     ticket pages and /notifications; managers open /reports for several periods, the
     drill-down lists behind its figures, /consultations and ticket pages;
   - writes: replies (SWAT members to any open consultation, staff to their department's),
     internal notes by SWAT members, and new consultations filed by staff (--filing-share of
     the writes); each carries a marker unique to the run and the request (MX<run>-<n>);
   - uploads: a reply with a small text file named after its marker.
5. **Drain and verify.** Waits for the requests in flight (bounded by twice --timeout), samples the
   workers again, waits until they are idle, then checks every write in the database by its
   marker: each acknowledged one (302 to the ticket) must be there exactly once, on the
   ticket it was sent to (a filing: under the number its redirect named; an upload: with its
   file on that message); a refused or timed-out one may be there at most once.
6. **Report**: offered and completed rates, p50/p95/p99 per kind, per class (page, list,
   search, write) and overall, every status, 5xx and timeouts with their URLs, the slowest
   requests, worker RSS at start and end (growth %), the workers' CPU per request and the
   machine's load, and the issue's targets with a verdict. Markdown on stdout, everything
   (each request included) as JSON in --out.

Only 127.0.0.1/localhost is ever contacted; everything is bounded in time and count.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import platform
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PASSWORD = "mixload-password-2026"
HASH_METHOD = "pbkdf2:sha256:1000"  # cheap, as `swat seed` hashes its fake accounts
PREFIX = "mixload"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
CLK_TCK = os.sysconf("SC_CLK_TCK")
OPEN_STATUSES = ("new", "assigned", "in_progress", "waiting")
SORTS = ("priority", "created", "activity", "due", "sla", "number")
PRIORITIES = ("urgent", "high", "normal", "low")
WORDS = (
    "保健",
    "ワクチン",
    "LINE",
    "テレワーク",
    "電話",
    "予約",
    "チャットボット",
    "申請",
    "オンライン",
    "データ",
    "はんこ",
    "窓口",
)
CLASSES = {
    "ticket": "page",
    "notifications": "page",
    "triage": "page",
    "team": "page",
    "reports": "page",
    "queue": "list",
    "consultations": "list",
    "drilldown": "list",
    "queue_search": "search",
    "consultations_search": "search",
    "reply": "write",
    "note": "write",
    "filing": "write",
    "upload": "write",
}
WRITE_KINDS = ("reply", "note", "filing", "upload")
TARGETS = {"page": (500, 1500), "list": (1000, None), "search": (1000, None)}  # p95, p99 in ms
TOKYO = timezone(timedelta(hours=9))


def check_local(url: str) -> None:
    host = urllib.parse.urlsplit(url).hostname
    if host not in ("127.0.0.1", "localhost"):
        raise SystemExit(f"refusing a target that is not on this machine's loopback: {url!r}")


def pct(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile of sorted values."""
    if not values:
        return None
    k = max(0, min(len(values) - 1, math.ceil(p / 100 * len(values)) - 1))
    return values[k]


# --- the database: accounts, tickets to work on, verification ---------------------------------


def open_app(instance_path: str | None, database_url: str | None):
    """The app on the same settings the server gets (through the environment), for the
    accounts and the ticket sample; returns (app, database URL as the app resolved it)."""
    if instance_path:
        os.environ["SWAT_INSTANCE_PATH"] = instance_path
    if database_url:
        os.environ["SWAT_DATABASE_URL"] = database_url
    from swat.app import create_app

    app = create_app()
    return app, app.config["SQLALCHEMY_DATABASE_URI"]


def plan_users(n: int, departments: list[str], themes: list[str]) -> list[dict]:
    n_agents = max(2, round(n * 0.20))
    n_leads = max(1, round(n * 0.02))
    n_managers = max(2, round(n * 0.04))
    n_staff = max(len(departments), n - n_agents - n_leads - n_managers)
    desk = "smart-city" if "smart-city" in departments else None
    plan = []
    for i in range(n_agents):
        skills = [themes[i % len(themes)], themes[(i + 3) % len(themes)]] if themes else []
        plan.append({"username": f"{PREFIX}-agent-{i + 1:03d}", "role": "agent", "department": desk, "themes": skills})
    for i in range(n_leads):
        plan.append({"username": f"{PREFIX}-lead-{i + 1:03d}", "role": "lead", "department": desk, "themes": []})
    for i in range(n_managers):
        dep = None if i % 2 == 0 else departments[(i // 2) % len(departments)]
        plan.append({"username": f"{PREFIX}-manager-{i + 1:03d}", "role": "manager", "department": dep, "themes": []})
    for i in range(n_staff):
        dep = departments[i % len(departments)]
        plan.append({"username": f"{PREFIX}-staff-{i + 1:03d}", "role": "staff", "department": dep, "themes": []})
    return plan


def prepare_database(app, n_users: int, rng: random.Random, sample_size: int, open_per_department: int) -> dict:
    """Create the missing accounts; sample ticket numbers (any status, for reads) and open
    tickets per department (for replies)."""
    from sqlalchemy import text

    from swat.extensions import db
    from swat.services.accounts import create_user

    with app.app_context():
        s = db.session
        departments = [r[0] for r in s.execute(text("SELECT id FROM departments ORDER BY id"))]
        themes = [r[0] for r in s.execute(text("SELECT id FROM themes ORDER BY id"))]
        if not departments:
            raise SystemExit("the database has no departments: run `swat db upgrade && swat reference load` first")
        plan = plan_users(n_users, departments, themes)
        existing = {
            r[0] for r in s.execute(text("SELECT username FROM users WHERE username LIKE :p"), {"p": f"{PREFIX}-%"})
        }
        now = app.extensions["swat.clock"].now()
        created = 0
        for u in plan:
            if u["username"] in existing:
                continue
            create_user(
                s,
                now,
                username=u["username"],
                password=PASSWORD,
                role=u["role"],
                display_name=u["username"],
                department_id=u["department"],
                theme_ids=u["themes"],
                hash_method=HASH_METHOD,
                # the load's own accounts: no change-password step before their first page
                must_change_password=False,
            )
            created += 1
        s.commit()
        lo, hi, total = s.execute(text("SELECT min(id), max(id), count(*) FROM tickets")).one()
        if not total:
            raise SystemExit("the database has no tickets: run `swat seed --tickets N` first")
        ids = sorted({rng.randint(lo, hi) for _ in range(sample_size * 2)})[: sample_size * 2]
        sample: list[tuple[str, str]] = []
        for i in range(0, len(ids), 1000):
            chunk = ids[i : i + 1000]
            rows = s.execute(
                text(f"SELECT number, department_id FROM tickets WHERE id IN ({','.join(str(x) for x in chunk)})")
            ).all()
            sample.extend((r[0], r[1]) for r in rows)
        rng.shuffle(sample)
        sample = sample[:sample_size]
        open_by_dep: dict[str, list[str]] = {}
        statuses = ",".join(f"'{x}'" for x in OPEN_STATUSES)
        for dep in departments:
            rows = s.execute(
                text(
                    f"SELECT number FROM tickets WHERE department_id = :d AND status IN ({statuses}) "
                    "ORDER BY id DESC LIMIT :k"
                ),
                {"d": dep, "k": open_per_department},
            ).all()
            open_by_dep[dep] = [r[0] for r in rows]
        db.session.remove()
    return {
        "plan": plan,
        "created": created,
        "departments": departments,
        "themes": themes,
        "tickets_total": total,
        "sample": sample,
        "open_by_dep": open_by_dep,
    }


def verify_writes(app, run: str, writes: list[dict]) -> dict:
    """Every write of the run, looked up by its marker (SQL on messages, attachments, tickets)."""
    from sqlalchemy import text

    from swat.extensions import db

    pattern = f"%MX{run}-%"
    marker_re = re.compile(rf"MX{run}-(\d+)")
    with app.app_context():
        s = db.session
        msgs = s.execute(
            text(
                "SELECT m.id, m.body, m.internal, t.number FROM messages m JOIN tickets t ON t.id = m.ticket_id "
                "WHERE m.body LIKE :p"
            ),
            {"p": pattern},
        ).all()
        files = s.execute(
            text("SELECT a.filename, a.message_id FROM attachments a WHERE a.filename LIKE :p"), {"p": pattern}
        ).all()
        tickets = s.execute(text("SELECT number, title FROM tickets WHERE title LIKE :p"), {"p": pattern}).all()
        db.session.remove()
    found_msgs: dict[int, list] = {}
    for mid, body, internal, number in msgs:
        for m in set(marker_re.findall(body)):
            found_msgs.setdefault(int(m), []).append((mid, bool(internal), number))
    found_files: dict[int, list] = {}
    for filename, mid in files:
        m = marker_re.search(filename)
        if m:
            found_files.setdefault(int(m.group(1)), []).append(mid)
    found_tickets: dict[int, list] = {}
    for number, title in tickets:
        m = marker_re.search(title)
        if m:
            found_tickets.setdefault(int(m.group(1)), []).append(number)

    out = {
        "acknowledged": 0,
        "acknowledged_once": 0,
        "lost": [],
        "doubled": [],
        "wrong_place": [],
        "not_acknowledged": 0,
        "not_acknowledged_found_once": [],
        "not_acknowledged_doubled": [],
        "by_kind": {},
    }
    known = set()
    for w in writes:
        seq = w["seq"]
        known.add(seq)
        kind = w["kind"]
        if kind == "filing":
            hits = found_tickets.get(seq, [])
            place_ok = len(hits) == 1 and w.get("location_number") in (None, hits[0])
        else:
            hits = found_msgs.get(seq, [])
            place_ok = len(hits) == 1 and hits[0][2] == w["ticket"] and hits[0][1] == (kind == "note")
            if kind == "upload" and len(hits) == 1:
                place_ok = place_ok and found_files.get(seq, []) == [hits[0][0]]
        k = out["by_kind"].setdefault(kind, {"acknowledged": 0, "found_once": 0, "refused": 0, "timed_out": 0})
        brief = {"seq": seq, "kind": kind, "ticket": w.get("ticket"), "status": w["status"], "found": len(hits)}
        if w["ok"]:
            out["acknowledged"] += 1
            k["acknowledged"] += 1
            if not hits:
                out["lost"].append(brief)
            elif len(hits) > 1 or (kind == "upload" and len(found_files.get(seq, [])) > 1):
                out["doubled"].append(brief)
            elif not place_ok:
                out["wrong_place"].append(brief)
            else:
                out["acknowledged_once"] += 1
                k["found_once"] += 1
        else:
            out["not_acknowledged"] += 1
            k["timed_out" if w["status"] in ("timeout", "expired", "error") else "refused"] += 1
            if len(hits) == 1:
                out["not_acknowledged_found_once"].append(brief)
            elif len(hits) > 1:
                out["not_acknowledged_doubled"].append(brief)
    stray = sorted((set(found_msgs) | set(found_tickets) | set(found_files)) - known)
    out["stray_markers"] = stray[:50]
    return out


# --- the server ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def worker_pids(master: int) -> list[int]:
    try:
        with open(f"/proc/{master}/task/{master}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def proc_sample(pid: int) -> dict | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return {"rss_kb": rss, "cpu_ticks": int(fields[11]) + int(fields[12])}
    except (OSError, StopIteration):
        return None


def machine_busy() -> tuple[int, int]:
    with open("/proc/stat") as f:
        vals = [int(x) for x in f.readline().split()[1:]]
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0)
    return sum(vals) - idle, sum(vals)


def start_gunicorn(a, port: int, log_path: Path) -> subprocess.Popen:
    gunicorn = Path(sys.executable).parent / "gunicorn"
    exe = str(gunicorn) if gunicorn.exists() else shutil.which("gunicorn")
    if not exe:
        raise SystemExit("gunicorn not found next to this Python or on PATH")
    cmd = [
        exe,
        "--workers",
        str(a.workers),
        "--worker-class",
        a.worker_class,
        "--threads",
        str(a.threads),
        "--bind",
        f"127.0.0.1:{port}",
        "--timeout",
        str(a.worker_timeout),
        "--graceful-timeout",
        "20",
        "--backlog",
        "2048",
        "swat.app:create_app()",
    ]
    env = dict(os.environ)
    log = open(log_path, "ab")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited with {proc.returncode}; see {log_path}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/login")
            conn.getresponse().read()
            conn.close()
            if len(worker_pids(proc.pid)) >= a.workers:
                return proc
        except OSError:
            pass
        time.sleep(0.3)
    stop_gunicorn(proc)
    raise SystemExit(f"gunicorn did not come up within 90 s; see {log_path}")


def stop_gunicorn(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=40)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


class Sampler(threading.Thread):
    """RSS and CPU of the gunicorn workers (children of the master), once a second."""

    def __init__(self, master: int | None, interval: float = 1.0) -> None:
        super().__init__(daemon=True)
        self.master, self.interval = master, interval
        self.stop_ev = threading.Event()
        self.series: list[dict] = []

    def snapshot(self) -> dict:
        workers = {}
        for pid in worker_pids(self.master) if self.master else []:
            st = proc_sample(pid)
            if st:
                workers[pid] = st
        busy, total = machine_busy()
        return {"t": time.time(), "workers": workers, "machine_busy": busy, "machine_total": total}

    def run(self) -> None:
        while not self.stop_ev.wait(self.interval):
            self.series.append(self.snapshot())

    def stop(self) -> None:
        self.stop_ev.set()
        self.join()


def database_cpu_ticks(app) -> dict[int, int] | None:
    """CPU ticks of the PostgreSQL backends serving this database (same machine), by pid;
    None on SQLite, where the database's work is inside the workers."""
    from sqlalchemy import text

    from swat.extensions import db

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            return None
        pids = [
            r[0]
            for r in db.session.execute(
                text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
            )
        ]
        db.session.remove()
    return {pid: st["cpu_ticks"] for pid in pids if (st := proc_sample(pid))}


def wait_idle(master: int | None, max_wait: float = 300.0) -> float:
    """Until the workers used at most 2 CPU ticks in one second (requests still running on
    the server after a client timeout have ended), bounded by max_wait."""
    if not master:
        time.sleep(2)
        return 2.0
    t0 = time.monotonic()

    def ticks() -> int:
        return sum((proc_sample(p) or {"cpu_ticks": 0})["cpu_ticks"] for p in worker_pids(master))

    last = ticks()
    while time.monotonic() - t0 < max_wait:
        time.sleep(1.0)
        now = ticks()
        if now - last <= 2:
            break
        last = now
    return round(time.monotonic() - t0, 1)


# --- the simulated users -------------------------------------------------------------------


@dataclass
class User:
    username: str
    role: str
    department: str | None
    cookies: dict[str, str] = field(default_factory=dict)
    csrf: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def desk(self) -> bool:
        return self.role in ("agent", "lead")


class Client:
    """http.client requests to one loopback server, with a user's cookies."""

    def __init__(self, base: str, timeout: float) -> None:
        u = urllib.parse.urlsplit(base)
        self.host, self.port = u.hostname or "127.0.0.1", u.port or 80
        self.base = base.rstrip("/")
        self.timeout = timeout

    def request(self, user: User, method: str, path: str, body: bytes | None = None, ctype: str | None = None):
        with user.lock:
            cookie = "; ".join(f"{k}={v}" for k, v in user.cookies.items())
        headers = {"User-Agent": "swat-mixed-load", "Accept": "text/html", "Accept-Encoding": "identity"}
        if cookie:
            headers["Cookie"] = cookie
        if body is not None:
            headers["Content-Type"] = ctype or "application/x-www-form-urlencoded"
            headers["Referer"] = self.base + path
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            set_cookies = resp.msg.get_all("Set-Cookie") or []
            status, location = resp.status, resp.getheader("Location", "")
        finally:
            conn.close()
        if set_cookies:
            with user.lock:
                for sc in set_cookies:
                    first, _, attrs = sc.partition(";")
                    name, _, value = first.strip().partition("=")
                    gone = "max-age=0" in attrs.lower() or re.search(r"expires=[^;]*1970", attrs, re.I)
                    if gone or not value:
                        user.cookies.pop(name, None)
                    else:
                        user.cookies[name] = value
        return status, location, data

    def get(self, user: User, path: str, follow: int = 3):
        """A GET that follows same-site redirects (as a browser would), returning the last answer."""
        status, location, data = self.request(user, "GET", path)
        while follow > 0 and status in (301, 302, 303, 307, 308) and location:
            loc = urllib.parse.urlsplit(location)
            if loc.hostname not in (None, "127.0.0.1", "localhost"):
                break
            path = loc.path + (f"?{loc.query}" if loc.query else "")
            status, location, data = self.request(user, "GET", path)
            follow -= 1
        return status, location, data


def sign_in(client: Client, user: User) -> None:
    status, _, data = client.get(user, "/login")
    m = CSRF_RE.search(data.decode("utf-8", "replace"))
    if status != 200 or not m:
        raise RuntimeError(f"/login gave {status} without a CSRF token")
    form = urllib.parse.urlencode(
        {"username": user.username, "password": PASSWORD, "csrf_token": m.group(1), "next": ""}
    )
    status, location, _ = client.request(user, "POST", "/login", form.encode())
    if status != 302:
        raise RuntimeError(f"sign-in of {user.username} gave {status}")
    status, _, data = client.get(user, location or "/")
    m = CSRF_RE.search(data.decode("utf-8", "replace"))
    if status != 200 or not m:
        raise RuntimeError(f"{user.username}'s first page gave {status} without a CSRF token")
    user.csrf = m.group(1)


def multipart(fields: dict[str, str], files: list[tuple[str, str, bytes, str]]) -> tuple[bytes, str]:
    boundary = "----mixload" + secrets.token_hex(12)
    parts = []
    for k, v in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode())
    for name, filename, content, ctype in files:
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        parts.append(f"{head}Content-Type: {ctype}\r\n\r\n".encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


# --- the mix -------------------------------------------------------------------------------


def fiscal_periods(today) -> list[str]:
    fy = today.year if today.month >= 4 else today.year - 1
    q = ((today.month - 4) % 12) // 3 + 1
    return ["", f"FY{fy}", f"FY{fy - 1}", f"FY{fy}-Q{q}", f"{today.year}-{today.month:02d}"]


class Mix:
    """Chooses each request: who, what, where (deterministic for a given --seed)."""

    def __init__(self, a, users: list[User], db: dict, run: str) -> None:
        self.rng = random.Random(a.seed)
        self.users = users
        self.by_role: dict[str, list[User]] = {}
        for u in users:
            self.by_role.setdefault(u.role, []).append(u)
        self.staff_with_open = [u for u in self.by_role.get("staff", []) if db["open_by_dep"].get(u.department)]
        self.desk = self.by_role.get("agent", []) + self.by_role.get("lead", [])
        self.sample = db["sample"]
        self.sample_by_dep: dict[str, list[str]] = {}
        for number, dep in self.sample:
            self.sample_by_dep.setdefault(dep, []).append(number)
        self.open_by_dep = db["open_by_dep"]
        self.open_all = [n for ns in self.open_by_dep.values() for n in ns]
        self.departments = db["departments"]
        self.themes = db["themes"]
        self.periods = fiscal_periods(datetime.now(TOKYO).date())
        reads, writes, uploads = a.mix
        total = reads + writes + uploads
        self.p_read, self.p_write = reads / total, (reads + writes) / total
        self.filing_share = a.filing_share
        self.run = run
        self.seq = 0
        self.lock = threading.Lock()

    def next_seq(self) -> int:
        with self.lock:
            self.seq += 1
            return self.seq

    def add_filed(self, number: str, department: str) -> None:
        with self.lock:
            self.open_by_dep.setdefault(department, []).append(number)
            self.open_all.append(number)
            self.sample_by_dep.setdefault(department, []).append(number)

    def choose(self, reads_only: bool = False) -> tuple[User, str, dict]:
        r = self.rng.random()
        if reads_only or r < self.p_read:
            return self._read()
        if r < self.p_write:
            return self._write(upload=False)
        return self._write(upload=True)

    # reads
    def _ticket_for(self, user: User) -> str:
        if user.role == "staff" or (user.role == "manager" and user.department):
            pool = self.sample_by_dep.get(user.department or "") or self.open_by_dep.get(user.department or "") or []
            if pool:
                return self.rng.choice(pool)
        return self.rng.choice(self.sample)[0]

    def _queue_query(self, search: bool) -> str:
        rng = self.rng
        q: list[tuple[str, str]] = []
        if rng.random() < 0.3:
            q.append(("status", rng.choice(OPEN_STATUSES)))
        if rng.random() < 0.25 and self.themes:
            q.append(("theme", rng.choice(self.themes)))
        if rng.random() < 0.25:
            q.append(("department", rng.choice(self.departments)))
        if rng.random() < 0.2:
            q.append(("assignee", rng.choice(("me", "none"))))
        if rng.random() < 0.15:
            q.append(("priority", rng.choice(PRIORITIES)))
        if rng.random() < 0.5:
            q.append(("sort", rng.choice(SORTS)))
            if rng.random() < 0.5:
                q.append(("dir", "desc"))
        if rng.random() < 0.2:
            q.append(("page", str(rng.choice((2, 3, 5, 10)))))
        if search:
            words = rng.sample(WORDS, 2 if rng.random() < 0.25 else 1)
            q.append(("q", " ".join(words)))
        return urllib.parse.urlencode(q)

    def _read(self) -> tuple[User, str, dict]:
        rng = self.rng
        user = rng.choice(self.users)
        x = rng.random()
        if user.desk:
            lead = user.role == "lead"
            if x < 0.35:
                qs = self._queue_query(False)
                return user, "queue", {"path": "/queue" + (f"?{qs}" if qs else "")}
            if x < 0.50:
                return user, "queue_search", {"path": "/queue?" + self._queue_query(True)}
            if x < 0.80:
                return user, "ticket", {"path": f"/tickets/{self._ticket_for(user)}"}
            if x < 0.85:
                return user, "consultations", {"path": "/consultations"}
            if x < 0.93:
                return user, "notifications", {"path": "/notifications"}
            if lead and x < 0.97:
                return user, "triage", {"path": "/triage"}
            if lead:
                return user, "reports", {"path": "/reports"}
            return user, "team", {"path": "/team"}
        if user.role == "manager":
            if x < 0.35:
                period = rng.choice(self.periods)
                return user, "reports", {"path": "/reports" + (f"?period={period}" if period else "")}
            if x < 0.45:
                period = rng.choice(self.periods[1:3])
                measure = rng.choice(("opened", "resolved", "backlog"))
                per_page = rng.choice((50, 200))
                return (
                    user,
                    "drilldown",
                    {"path": f"/consultations?per_page={per_page}&period={period}&measure={measure}"},
                )
            if x < 0.65:
                return user, "consultations", {"path": "/consultations"}
            if x < 0.90:
                return user, "ticket", {"path": f"/tickets/{self._ticket_for(user)}"}
            return user, "notifications", {"path": "/notifications"}
        # department staff
        if x < 0.25:
            qs = []
            if rng.random() < 0.3:
                qs.append(("status", rng.choice(OPEN_STATUSES)))
            if rng.random() < 0.3:
                qs.append(("sort", rng.choice(SORTS)))
            if rng.random() < 0.15:
                qs.append(("page", "2"))
            path = "/consultations" + (f"?{urllib.parse.urlencode(qs)}" if qs else "")
            return user, "consultations", {"path": path}
        if x < 0.35:
            return user, "consultations_search", {"path": "/consultations?q=" + urllib.parse.quote(rng.choice(WORDS))}
        if x < 0.85:
            return user, "ticket", {"path": f"/tickets/{self._ticket_for(user)}"}
        return user, "notifications", {"path": "/notifications"}

    # writes
    def _write(self, upload: bool) -> tuple[User, str, dict]:
        rng = self.rng
        seq = self.next_seq()
        marker = f"MX{self.run}-{seq:06d}"
        if not upload and rng.random() < self.filing_share:
            user = rng.choice(self.by_role["staff"])
            return (
                user,
                "filing",
                {
                    "seq": seq,
                    "marker": marker,
                    "path": "/consultations/new",
                    "title": f"負荷試験の相談 {marker}",
                    "body": f"保健所の電話がつながらない件で、LINEのチャットボットによる予約受付を検討しています。{marker}",
                },
            )
        as_requester = bool(self.staff_with_open) and rng.random() < 0.4
        if as_requester:
            user = rng.choice(self.staff_with_open)
            number = rng.choice(self.open_by_dep[user.department or ""])
        else:
            user = rng.choice(self.desk)
            number = rng.choice(self.open_all)
        if upload:
            return user, "upload", {"seq": seq, "marker": marker, "ticket": number, "path": f"/tickets/{number}/reply"}
        if not as_requester and rng.random() < 0.25:
            return user, "note", {"seq": seq, "marker": marker, "ticket": number, "path": f"/tickets/{number}/note"}
        return user, "reply", {"seq": seq, "marker": marker, "ticket": number, "path": f"/tickets/{number}/reply"}


# --- one request ---------------------------------------------------------------------------

FILED_RE = re.compile(r"/tickets/(\d{4}-\d+)$")


def execute(client: Client, mix: Mix, user: User, kind: str, spec: dict, due: float, t0: float) -> dict:
    sent = time.perf_counter()
    rec = {"kind": kind, "user": user.username, "path": spec["path"], "due_s": round(due - t0, 3)}
    if kind in WRITE_KINDS:
        rec["seq"], rec["ticket"], rec["ok"] = spec["seq"], spec.get("ticket"), False
    location = ""
    try:
        if sent - due > client.timeout:
            # Waited longer for a free client thread than a user would wait for the answer:
            # given up without being sent (the client is the bottleneck; see --max-inflight).
            rec["status"] = "expired"
        elif kind in WRITE_KINDS:
            marker = spec["marker"]
            if kind == "filing":
                form = {
                    "csrf_token": user.csrf,
                    "title": spec["title"],
                    "body": spec["body"],
                    "theme": "",
                    "priority": "normal",
                    "due_date": "",
                    "submission_token": f"{marker}-{secrets.token_hex(8)}",
                }
                status, location, _ = client.request(user, "POST", spec["path"], urllib.parse.urlencode(form).encode())
            elif kind == "note":
                form = {"csrf_token": user.csrf, "note-body": f"内部メモ（負荷試験）: 類似事例を確認中。[{marker}]"}
                status, location, _ = client.request(user, "POST", spec["path"], urllib.parse.urlencode(form).encode())
            elif kind == "reply":
                text = (
                    "ご回答ありがとうございます。追加の資料を確認しました。"
                    if user.role == "staff"
                    else "ご相談ありがとうございます。担当から手順をご案内します。"
                )
                form = {"csrf_token": user.csrf, "body": f"{text}[{marker}]"}
                status, location, _ = client.request(user, "POST", spec["path"], urllib.parse.urlencode(form).encode())
            else:  # upload
                content = f"負荷試験の添付ファイル {marker}\n".encode() * 8
                body, ctype = multipart(
                    {"csrf_token": user.csrf, "body": f"資料を添付します。[{marker}]"},
                    [("attachments", f"{marker}-資料.txt", content, "text/plain")],
                )
                status, location, _ = client.request(user, "POST", spec["path"], body, ctype)
            if kind == "filing":
                m = FILED_RE.search(urllib.parse.urlsplit(location).path) if location else None
                rec["ok"] = status == 302 and m is not None
                if rec["ok"] and m:
                    rec["location_number"] = m.group(1)
                    mix.add_filed(m.group(1), user.department or "")
            else:
                rec["ok"] = status == 302 and urllib.parse.urlsplit(location).path == f"/tickets/{spec['ticket']}"
        else:
            status, location, data = client.get(user, spec["path"])
            rec["bytes"] = len(data)
        if rec.get("status") != "expired":
            rec["status"] = status
    except TimeoutError:
        rec["status"], rec["ok"] = "timeout", False
    except OSError as exc:
        rec["status"], rec["ok"] = "error", False
        rec["error"] = type(exc).__name__
    done = time.perf_counter()
    rec["latency_ms"] = round((done - due) * 1000, 1)
    rec["service_ms"] = round((done - sent) * 1000, 1)
    rec["wait_ms"] = round((sent - due) * 1000, 1)
    rec["done_s"] = round(done - t0, 3)
    return rec


def offer(a, client: Client, mix: Mix, seconds: float, max_requests: int, reads_only: bool, pool) -> tuple[list, float]:
    """The open loop: requests due at fixed times (or Poisson arrivals), sent whatever the answers."""
    records: list[dict] = []
    futures = []
    rec_lock = threading.Lock()
    arrivals = random.Random(a.seed + 1)
    t0 = time.perf_counter()
    due = t0
    n = 0
    while n < max_requests:
        gap = arrivals.expovariate(a.rate) if a.arrivals == "poisson" else 1.0 / a.rate
        due = t0 + n / a.rate if a.arrivals == "uniform" else due + gap
        if due - t0 >= seconds:
            break
        user, kind, spec = mix.choose(reads_only)
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)

        def job(user=user, kind=kind, spec=spec, due=due):
            rec = execute(client, mix, user, kind, spec, due, t0)
            with rec_lock:
                records.append(rec)

        futures.append(pool.submit(job))
        n += 1
    offered_window = time.perf_counter() - t0
    # Requests not yet sent expire on their own (see execute); those in flight end within two
    # socket timeouts (connecting, then each read), so the drain is bounded.
    drain_deadline = time.monotonic() + 2 * a.timeout + 10
    abandoned = 0
    for f in futures:
        try:
            f.result(timeout=max(0.1, drain_deadline - time.monotonic()))
        except FutureTimeout:
            abandoned += 1
    with rec_lock:
        done = list(records)
    if abandoned:
        print(f"warning: {abandoned} requests still running after the drain; left out", flush=True)
    return done, offered_window


# --- the report ----------------------------------------------------------------------------


def stats(recs: list[dict]) -> dict:
    lat = sorted(r["latency_ms"] for r in recs if isinstance(r["status"], int))
    svc = sorted(r["service_ms"] for r in recs if isinstance(r["status"], int))
    statuses: dict[str, int] = {}
    for r in recs:
        statuses[str(r["status"])] = statuses.get(str(r["status"]), 0) + 1
    return {
        "n": len(recs),
        "statuses": statuses,
        "p50_ms": pct(lat, 50),
        "p95_ms": pct(lat, 95),
        "p99_ms": pct(lat, 99),
        "max_ms": lat[-1] if lat else None,
        "service_p50_ms": pct(svc, 50),
        "service_p95_ms": pct(svc, 95),
    }


def memory(start: dict, end: dict, series: list[dict]) -> dict:
    per = {}
    for pid, st in start["workers"].items():
        if pid in end["workers"]:
            e = end["workers"][pid]
            per[pid] = {
                "start_mb": round(st["rss_kb"] / 1024, 1),
                "end_mb": round(e["rss_kb"] / 1024, 1),
                "growth_pct": round((e["rss_kb"] / st["rss_kb"] - 1) * 100, 1),
                "cpu_s": round((e["cpu_ticks"] - st["cpu_ticks"]) / CLK_TCK, 2),
            }
    s_sum = sum(w["rss_kb"] for w in start["workers"].values())
    e_sum = sum(w["rss_kb"] for pid, w in end["workers"].items() if pid in start["workers"])
    return {
        "workers": per,
        "workers_at_start": sorted(start["workers"]),
        "workers_at_end": sorted(end["workers"]),
        "replaced_workers": sorted(set(start["workers"]) ^ set(end["workers"])),
        "sum_start_mb": round(s_sum / 1024, 1),
        "sum_end_mb": round(e_sum / 1024, 1),
        "sum_growth_pct": round((e_sum / s_sum - 1) * 100, 1) if s_sum else None,
        "max_growth_pct": max((w["growth_pct"] for w in per.values()), default=None),
        "cpu_s": round(sum(w["cpu_s"] for w in per.values()), 2),
        # the workers' summed RSS at each tenth of the run: growing to the end, or levelling off?
        "sum_by_tenth_mb": [
            round(
                sum(w["rss_kb"] for w in series[min(len(series) - 1, i * len(series) // 10)]["workers"].values()) / 1024
            )
            for i in range(11)
        ]
        if series
        else [],
    }


def fmt(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:,.0f}" if v >= 100 else f"{v:.1f}"
    return str(v)


def render(result: dict) -> str:
    m, s = result["meta"], result["summary"]
    out = [f"## Mixed load, {m['date_utc']}", ""]
    out.append(
        f"{m['users']} users, mix {m['mix']} (reads/writes/uploads, filings {m['filing_share']:.0%} of writes), "
        f"{m['rate']} req/s offered ({m['arrivals']}) for {m['duration_s']} s (max {m['max_requests']}), "
        f"server: {m['server']}; {m['tickets_total']:,} tickets on {m['database']}; "
        f"{m['nproc']} cores, load average {m['loadavg_start']} at start, {m['loadavg_end']} at end."
    )
    out.append("")
    o = s["overall"]
    out.append(
        f"- offered **{s['offered']}** requests in {s['offered_window_s']} s = **{s['offered_rate']} req/s**; "
        f"completed {s['completed']} (within the window {s['completed_in_window']}), "
        f"**{s['completed_rate']} req/s** completed over {s['completion_span_s']} s"
    )
    out.append(
        f"- responses 5xx: **{s['5xx']}**, timeouts: **{s['timeouts']}** ({s['expired']} of them never sent: no free client thread within the timeout), connection errors: {s['errors']}, "
        f"4xx: {s['4xx']}"
    )
    out.append(
        f"- latency from when each request was due (service time in brackets): p50 {fmt(o['p50_ms'])} "
        f"({fmt(o['service_p50_ms'])}), p95 {fmt(o['p95_ms'])} ({fmt(o['service_p95_ms'])}), p99 {fmt(o['p99_ms'])} ms"
    )
    mem = s.get("memory")
    if mem and mem.get("workers"):
        out.append(
            f"- workers' RSS {mem['sum_start_mb']} MB → {mem['sum_end_mb']} MB (sum, {fmt(mem['sum_growth_pct'])} %), "
            f"largest growth of one worker {fmt(mem['max_growth_pct'])} %, summed RSS by tenth of the run "
            f"{' → '.join(str(x) for x in mem['sum_by_tenth_mb'])} MB; replaced workers: {mem['replaced_workers'] or 'none'}; "
            f"workers' CPU {mem['cpu_s']} s = {s['cpu_ms_per_request']} ms per completed request, "
            f"{s['worker_cores_busy']} cores busy on average; machine {s['machine_busy_pct']} % busy"
        )
    if "database_cpu_s" in s:
        out.append(
            f"- PostgreSQL backends of this database: {s['database_cpu_s']} s CPU = "
            f"{s['database_cpu_ms_per_request']} ms per completed request"
        )
    out.append(f"- the driver's own CPU: {s['driver_cpu_s']} s")
    v = s["verification"]
    if v:
        out.append(
            f"- writes (warm-up included): {v['acknowledged']} acknowledged, {v['acknowledged_once']} found exactly once where sent; "
            f"lost **{len(v['lost'])}**, doubled **{len(v['doubled'])}**, wrong place {len(v['wrong_place'])}; "
            f"{v['not_acknowledged']} not acknowledged ({len(v['not_acknowledged_found_once'])} of them found once, "
            f"{len(v['not_acknowledged_doubled'])} twice or more); stray markers {len(v['stray_markers'])}"
        )
    out += ["", "| kind | class | n | statuses | p50 ms | p95 ms | p99 ms | max ms | service p50 | service p95 |"]
    out.append("|---|---|--:|---|--:|--:|--:|--:|--:|--:|")
    for kind, st in sorted(s["by_kind"].items(), key=lambda kv: (CLASSES[kv[0]], kv[0])):
        sts = ", ".join(f"{k}×{n}" for k, n in sorted(st["statuses"].items()))
        out.append(
            f"| {kind} | {CLASSES[kind]} | {st['n']} | {sts} | {fmt(st['p50_ms'])} | {fmt(st['p95_ms'])} | "
            f"{fmt(st['p99_ms'])} | {fmt(st['max_ms'])} | {fmt(st['service_p50_ms'])} | {fmt(st['service_p95_ms'])} |"
        )
    for cls, st in sorted(s["by_class"].items()):
        out.append(
            f"| **{cls}** | | {st['n']} | | {fmt(st['p50_ms'])} | {fmt(st['p95_ms'])} | {fmt(st['p99_ms'])} | "
            f"{fmt(st['max_ms'])} | {fmt(st['service_p50_ms'])} | {fmt(st['service_p95_ms'])} |"
        )
    out.append(
        f"| **all** | | {o['n']} | | {fmt(o['p50_ms'])} | {fmt(o['p95_ms'])} | {fmt(o['p99_ms'])} | {fmt(o['max_ms'])} | "
        f"{fmt(o['service_p50_ms'])} | {fmt(o['service_p95_ms'])} |"
    )
    out += ["", "| target (issue 13) | measured | held |", "|---|---|---|"]
    for name, measured, held in s["targets"]:
        out.append(f"| {name} | {measured} | {'yes' if held else '**no**'} |")
    if s["failures"]:
        out += ["", "Responses 5xx, timeouts and errors (first 20):", ""]
        out += [
            f"- {r['kind']} `{r['path']}` → {r['status']} after {fmt(r['latency_ms'])} ms" for r in s["failures"][:20]
        ]
    out += ["", "Slowest requests:", ""]
    out += [f"- {r['kind']} `{r['path']}` → {r['status']}, {fmt(r['latency_ms'])} ms" for r in s["slowest"]]
    return "\n".join(out) + "\n"


def summarize(records, window, mem, sampler_end, sampler_start, verification, driver_cpu) -> dict:
    by_kind: dict[str, list] = {}
    by_class: dict[str, list] = {}
    for r in records:
        by_kind.setdefault(r["kind"], []).append(r)
        by_class.setdefault(CLASSES[r["kind"]], []).append(r)
    completed = [r for r in records if isinstance(r["status"], int)]
    span = max((r["done_s"] for r in records), default=window)
    n5 = [r for r in records if isinstance(r["status"], int) and r["status"] >= 500]
    timeouts = [r for r in records if r["status"] in ("timeout", "expired")]
    errors = [r for r in records if r["status"] == "error"]
    overall = stats(records)
    s = {
        "offered": len(records),
        "offered_window_s": round(window, 1),
        "offered_rate": round(len(records) / window, 1) if window else None,
        "completed": len(completed),
        "completed_in_window": sum(1 for r in completed if r["done_s"] <= window),
        "completion_span_s": round(span, 1),
        "completed_rate": round(len(completed) / span, 1) if span else None,
        "5xx": len(n5),
        "4xx": sum(1 for r in completed if 400 <= r["status"] < 500),
        "timeouts": len(timeouts),
        "expired": sum(1 for r in records if r["status"] == "expired"),
        "errors": len(errors),
        "overall": overall,
        "by_kind": {k: stats(v) for k, v in by_kind.items()},
        "by_class": {k: stats(v) for k, v in by_class.items()},
        "failures": [
            {k: r.get(k) for k in ("kind", "path", "status", "latency_ms")}
            for r in sorted(n5 + timeouts + errors, key=lambda r: r["due_s"])
        ],
        "slowest": [
            {k: r.get(k) for k in ("kind", "path", "status", "latency_ms")}
            for r in sorted(records, key=lambda r: -r["latency_ms"])[:15]
        ],
        "memory": mem,
        "verification": verification,
        "driver_cpu_s": round(driver_cpu, 1),
    }
    if mem and mem.get("workers"):
        s["cpu_ms_per_request"] = round(mem["cpu_s"] * 1000 / max(1, len(completed)), 1)
        wall = sampler_end["t"] - sampler_start["t"]
        s["worker_cores_busy"] = round(mem["cpu_s"] / wall, 2) if wall else None
    busy = sampler_end["machine_busy"] - sampler_start["machine_busy"]
    total = sampler_end["machine_total"] - sampler_start["machine_total"]
    s["machine_busy_pct"] = round(busy / total * 100) if total else None
    targets = [
        ("0 responses 5xx", str(len(n5)), not n5),
        ("no timeouts", str(len(timeouts)), not timeouts),
    ]
    if verification:
        lost, doubled = len(verification["lost"]) + len(verification["wrong_place"]), len(verification["doubled"])
        targets.append(
            (
                "nothing acknowledged lost or doubled",
                f"{lost} lost/misplaced, {doubled} doubled",
                not lost and not doubled,
            )
        )
    for cls, (p95, p99) in TARGETS.items():
        st = s["by_class"].get(cls)
        if not st:
            continue
        targets.append((f"{cls} p95 < {p95} ms", fmt(st["p95_ms"]), (st["p95_ms"] or 0) < p95))
        if p99:
            targets.append((f"{cls} p99 < {p99} ms", fmt(st["p99_ms"]), (st["p99_ms"] or 0) < p99))
    if mem and mem.get("workers"):
        targets.append(
            (
                "worker memory growth < 10 %",
                f"{fmt(mem['max_growth_pct'])} % (largest worker)",
                (mem["max_growth_pct"] or 0) < 10,
            )
        )
    offered_ok = s["completed_rate"] is not None and s["completed_rate"] >= 0.95 * s["offered_rate"]
    targets.append(
        ("completed rate ≥ 95 % of offered", f"{s['completed_rate']} of {s['offered_rate']} req/s", offered_ok)
    )
    s["targets"] = targets
    return s


# --- main ----------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", default="", help="a running server (loopback only); default: start gunicorn")
    ap.add_argument("--server-pid", type=int, default=0, help="with --base: the gunicorn master, to sample its workers")
    ap.add_argument("--instance-path", default="", help="SWAT_INSTANCE_PATH for the server and the set-up")
    ap.add_argument("--database-url", default="", help="SWAT_DATABASE_URL (empty: the instance's SQLite file)")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--worker-class", default="sync", help="gunicorn worker class: sync or gthread")
    ap.add_argument("--threads", type=int, default=1, help="threads per worker (gthread)")
    ap.add_argument("--worker-timeout", type=int, default=60, help="gunicorn --timeout")
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--rate", type=float, default=50.0, help="requests offered per second")
    ap.add_argument("--duration", type=float, default=600.0, help="seconds of offered load")
    ap.add_argument("--max-requests", type=int, default=40000, help="cap on the requests offered")
    ap.add_argument(
        "--warmup", type=float, default=10.0, help="seconds of the mix at --rate before measuring (0: none)"
    )
    ap.add_argument("--arrivals", choices=("uniform", "poisson"), default="uniform")
    ap.add_argument("--mix", default="80,15,5", help="percent reads,writes,uploads")
    ap.add_argument("--filing-share", type=float, default=0.35, help="share of the writes that are new filings")
    ap.add_argument("--timeout", type=float, default=30.0, help="per-request timeout, seconds")
    ap.add_argument("--max-inflight", type=int, default=400, help="client threads (requests in flight at most)")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--sample", type=int, default=3000, help="ticket numbers sampled for the reads")
    ap.add_argument("--out", default="", help="JSON file (default: $TMPDIR/swat-mixload/mixload-<time>.json)")
    a = ap.parse_args()
    a.mix = tuple(float(x) for x in a.mix.split(","))
    if len(a.mix) != 3:
        raise SystemExit("--mix takes three numbers: reads,writes,uploads")
    if a.rate <= 0 or a.duration <= 0 or a.max_requests <= 0:
        raise SystemExit("--rate, --duration and --max-requests must be positive")
    if a.base:
        check_local(a.base)

    out_dir = Path(tempfile.gettempdir()) / "swat-mixload"
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    out_path = Path(a.out) if a.out else out_dir / f"mixload-{stamp}.json"
    run = secrets.token_hex(3).upper()
    rng = random.Random(a.seed)

    t_setup = time.perf_counter()
    app, database_url = open_app(a.instance_path or None, a.database_url or None)
    db = prepare_database(app, a.users, rng, a.sample, 200)
    print(
        f"set-up: {len(db['plan'])} users ({db['created']} created), {db['tickets_total']:,} tickets, "
        f"{len(db['sample'])} sampled, {sum(len(v) for v in db['open_by_dep'].values())} open ones for replies "
        f"({time.perf_counter() - t_setup:.1f} s); run marker MX{run}",
        flush=True,
    )

    proc = None
    master = a.server_pid or None
    if not a.base:
        port = free_port()
        log_path = out_dir / f"gunicorn-{stamp}.log"
        proc = start_gunicorn(a, port, log_path)
        master = proc.pid
        a.base = f"http://127.0.0.1:{port}"
        server = f"gunicorn {a.workers} × {a.worker_class}" + (f" ({a.threads} threads)" if a.threads > 1 else "")
        server += f", --timeout {a.worker_timeout}, started by the driver (log {log_path.name})"
        print(f"gunicorn master {master} on {a.base}", flush=True)
    else:
        server = f"running server at {a.base}" + (f" (master {master})" if master else " (workers not sampled)")
    try:
        client = Client(a.base, a.timeout)
        users = [User(u["username"], u["role"], u["department"]) for u in db["plan"]]
        t_login = time.perf_counter()
        with ThreadPoolExecutor(max_workers=4) as ex:
            list(ex.map(lambda u: sign_in(client, u), users))
        print(f"signed in {len(users)} users in {time.perf_counter() - t_login:.1f} s", flush=True)
        mix = Mix(a, users, db, run)
        with ThreadPoolExecutor(max_workers=a.max_inflight) as pool:
            warm: list[dict] = []
            if a.warmup > 0:
                warm, _ = offer(a, client, mix, a.warmup, a.max_requests, False, pool)
                good = sum(1 for r in warm if r["status"] in (200, 302))
                print(f"warm-up: {len(warm)} requests, {good} answered 200/302 (not counted)", flush=True)
            sampler = Sampler(master)
            db_cpu_start = database_cpu_ticks(app)
            start = sampler.snapshot()
            sampler.start()
            cpu0 = sum(os.times()[:2])
            load_start = " / ".join(f"{x:.2f}" for x in os.getloadavg())
            records, window = offer(a, client, mix, a.duration, a.max_requests, False, pool)
            end = sampler.snapshot()
            db_cpu_end = database_cpu_ticks(app)
            sampler.stop()
            driver_cpu = sum(os.times()[:2]) - cpu0
        load_end = " / ".join(f"{x:.2f}" for x in os.getloadavg())
        mem = memory(start, end, sampler.series) if master else None
        idle = wait_idle(master)
        writes = sorted((r for r in warm + records if r["kind"] in WRITE_KINDS), key=lambda r: r["seq"])
        verification = verify_writes(app, run, writes)
        print(f"drained (workers idle after {idle} s), verified {len(writes)} writes (warm-up included)", flush=True)
    finally:
        if proc is not None:
            stop_gunicorn(proc)

    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    summary = summarize(records, window, mem, end, start, verification, driver_cpu)
    if db_cpu_start is not None and db_cpu_end is not None:
        # backends that came and went during the run are missed; new ones count from their start
        ticks = sum(t - db_cpu_start.get(pid, 0) for pid, t in db_cpu_end.items())
        summary["database_cpu_s"] = round(ticks / CLK_TCK, 2)
        summary["database_cpu_ms_per_request"] = round(ticks / CLK_TCK * 1000 / max(1, summary["completed"]), 1)
    meta = {
        "date_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "run_marker": f"MX{run}",
        "users": len(users),
        "roles": {r: sum(1 for u in users if u.role == r) for r in ("agent", "lead", "manager", "staff")},
        "mix": "/".join(f"{x:g}" for x in a.mix),
        "filing_share": a.filing_share,
        "rate": a.rate,
        "arrivals": a.arrivals,
        "duration_s": a.duration,
        "max_requests": a.max_requests,
        "warmup_s": a.warmup,
        "timeout_s": a.timeout,
        "max_inflight": a.max_inflight,
        "server": server,
        "database": f"{url.get_backend_name()} {url.database}",
        "tickets_total": db["tickets_total"],
        "nproc": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "loadavg_start": load_start,
        "loadavg_end": load_end,
        "command": " ".join(sys.argv),
    }
    result = {"meta": meta, "summary": summary, "requests": records}
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(result, ensure_ascii=False, indent=1, default=str))
    print()
    print(render(result))
    print(f"(every request in {out_path})")


if __name__ == "__main__":
    main()
