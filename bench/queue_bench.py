#!/usr/bin/env python
"""A repeatable benchmark of the SWAT queue with a realistic number of tickets.

    .venv/bin/python bench/queue_bench.py [--tickets 100000] [--database-url URL] [--repeat 20] [--record]

What it does, every run from scratch:

1. builds the app with `create_app()` on a fresh database: a new SQLite file in a temporary
   folder, or (with --database-url postgresql+psycopg://.../NAME) the PostgreSQL database NAME,
   dropped and created again through the `postgres` maintenance database;
2. applies the real Alembic migrations, loads the reference data and creates a cast of users
   through `services.accounts.create_user` (100 staff across the 12 departments, 10 agents,
   a lead, a manager and an admin);
3. bulk-inserts N tickets with SQLAlchemy Core executemany in batches (2 messages and 3 history
   events per ticket), sets ticket_counters, and refreshes planner statistics the way the
   database would on its own (PostgreSQL: VACUUM ANALYZE, as autovacuum would after a bulk
   load; SQLite: nothing, as the app never runs ANALYZE -- see --analyze);
4. signs in through /login with the Flask test client (CSRF token included) and measures, per
   page, the server time around `client.get` (2 warm-ups, then --repeat runs: median and p90)
   and the SQL statements per request (a `before_cursor_execute` listener);
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
import platform
import random
import re
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# The benchmark configures the app through create_app() overrides only.
os.environ.pop("SWAT_CONFIG", None)
os.environ.pop("SWAT_DATABASE_URL", None)

from sqlalchemy import event, func, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from swat.app import create_app  # noqa: E402
from swat.domain import states  # noqa: E402
from swat.domain.text import normalize_for_search  # noqa: E402
from swat.extensions import db  # noqa: E402
from swat.models import Message, Ticket, TicketCounter, TicketEvent, User  # noqa: E402
from swat.services import accounts  # noqa: E402
from swat.services.reference import load_reference  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
TOKYO = ZoneInfo("Asia/Tokyo")
PASSWORD = "bench-password-2026"
HASH_METHOD = "pbkdf2:sha256:1000"
WARMUPS = 2
SEED = 20200401
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
COUNT_RE = re.compile(r'<p class="count">\D*(\d+)')

# --- the cast ------------------------------------------------------------------------------

DEPARTMENTS = [  # id, share of the tickets (weights), staff accounts
    ("smart-city", 5, 8),
    ("health-medical", 25, 10),
    ("crisis-management", 6, 8),
    ("police", 4, 8),
    ("welfare", 12, 9),
    ("education", 12, 9),
    ("commerce-labor", 8, 8),
    ("urban-development", 5, 8),
    ("environment-agriculture", 5, 8),
    ("finance", 4, 8),
    ("accounting", 4, 8),
    ("general-affairs", 10, 8),
]
THEMES = ["mobility", "healthcare", "three-less", "telework", "ict-governance", "citizen-services", "data"]
THEME_WEIGHTS = [4, 22, 18, 14, 10, 18, 8]
NO_THEME_SHARE = 0.2
AGENT_SKILLS = [
    ["healthcare", "citizen-services"],
    ["telework"],
    ["three-less", "data"],
    ["ict-governance"],
    ["mobility", "data"],
    ["healthcare"],
    ["citizen-services"],
    ["three-less"],
    ["telework", "ict-governance"],
    ["data"],
]
SURNAMES = [
    "佐藤",
    "鈴木",
    "高橋",
    "田中",
    "伊藤",
    "渡辺",
    "山本",
    "中村",
    "小林",
    "加藤",
    "吉田",
    "山田",
    "松本",
    "井上",
    "木村",
    "林",
    "清水",
    "山崎",
    "森",
    "池田",
    "橋本",
    "阿部",
    "石川",
    "前田",
]
GIVEN = [
    "太郎",
    "花子",
    "健一",
    "美咲",
    "大輔",
    "由美",
    "翔太",
    "陽子",
    "直樹",
    "恵",
    "拓也",
    "真理子",
    "浩二",
    "彩",
    "誠",
    "裕子",
]

# --- ticket content ------------------------------------------------------------------------

STATUS_WEIGHTS = {  # about 30% open
    states.NEW: 8,
    states.ASSIGNED: 6,
    states.IN_PROGRESS: 11,
    states.WAITING: 5,
    states.RESOLVED: 25,
    states.CLOSED: 45,
}
PRIORITY_WEIGHTS = [5, 20, 60, 15]  # urgent, high, normal, low (rank 0..3)
SERVICES = [
    "保健所の健康観察",
    "ワクチン接種の予約受付",
    "陽性者への療養案内",
    "職員の在宅勤務",
    "学校のオンライン授業",
    "補助金の電子申請",
    "府民からの問い合わせ対応",
    "会議の議事録作成",
    "公用車の運行管理",
    "イベントの来場者管理",
    "飲食店の感染防止認証",
    "宿泊療養施設の運営",
    "営業時間短縮協力金の審査",
    "入院調整",
]
TECHS = [
    "チャットボット",
    "RPA",
    "AI-OCR",
    "AI音声認識",
    "Web会議",
    "電子申請システム",
    "ダッシュボード",
    "クラウドサービス",
    "タブレット端末",
    "オープンデータ",
    "5G",
    "ドローン",
    "ＱＲコード",
]
TARGETS = ["府民", "高齢者", "保護者", "事業者", "医療機関", "職員", "児童・生徒", "観光客"]
PROBLEMS = [
    "入力作業の負担",
    "電話がつながらない問題",
    "紙の書類が多い問題",
    "集計の遅れ",
    "セキュリティ上の懸念",
    "個人情報の取り扱い",
    "費用の見積もり",
    "調達の進め方",
    "アカウントの管理",
    "通信環境の不安定さ",
]
TITLES = [
    "{service}の{tech}化について相談したい",
    "{target}向けに{tech}を導入したい",
    "{service}における{problem}を解消したい",
    "{tech}の調達手続きと{problem}について",
    "テレワーク時の{problem}について教えてください",
    "{service}のデータを{tech}で可視化したい",
    "{target}対応の{service}で{tech}を使えるか",
]
LINE_TITLES = [  # a few in full-width, as people type them
    "ＬＩＮＥ公式アカウントで{service}を受け付けたい",
    "LINEを使った{target}からの相談窓口の開設について",
]
LINE_TITLE_SHARE = 0.06
SENTENCES = [
    "現在、{service}では{problem}が大きな課題になっています。",
    "{tech}を活用して改善できないか検討しています。",
    "他の自治体や府内の部局で{tech}を導入した事例があれば教えてください。",
    "{target}への影響も考慮したうえで、月末までに方針を決める必要があります。",
    "予算は今年度の補正予算で確保する予定です。概算の費用感についても助言をお願いします。",
    "個人情報を扱うため、ICTガバナンスの観点から注意点を確認したいです。",
    "担当者は{n}名で、現在はすべて手作業で対応しています。",
    "急ぎではありませんが、次の会議までに論点を整理しておきたいです。",
]
LINE_SENTENCE = "LINEで{target}からの相談を受け付けている事例があれば参考にしたいです。"
LINE_SENTENCE_SHARE = 0.05
DESK_REPLIES = [
    "ご相談ありがとうございます。{tech}の導入事例を取りまとめてお送りします。",
    "関係部局の事例を確認しました。一度オンラインで打ち合わせをさせてください。",
    "{problem}については、ICTガバナンス部会の見解を確認のうえご連絡します。",
]
REQUESTER_REPLIES = [
    "ありがとうございます。資料を確認して部内で検討します。",
    "打ち合わせの候補日を送ります。よろしくお願いします。",
    "追加で質問です。{tech}の運用体制はどのようにされていますか。",
]
INTERNAL_NOTES = ["過去の類似案件と同じ対応でよさそう。", "{tech}はベンダー比較表を参照。", "部会に諮るか要検討。"]


@dataclass
class Cast:
    staff_by_department: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    agents: list[tuple[int, str]] = field(default_factory=list)  # agents and the lead: (id, display name)
    agent_username: str = ""
    staff_username: str = ""
    staff_department: str = ""


# --- database setup ------------------------------------------------------------------------


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


def make_cast(session, now: datetime, rng: random.Random) -> Cast:
    cast = Cast()
    made = []

    def person() -> str:
        return f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}"

    for dep, _weight, count in DEPARTMENTS:
        for i in range(1, count + 1):
            u = accounts.create_user(
                session,
                now,
                username=f"staff-{dep}-{i:02d}",
                password=PASSWORD,
                role="staff",
                display_name=person(),
                department_id=dep,
                hash_method=HASH_METHOD,
            )
            made.append(u)
            cast.staff_by_department.setdefault(dep, []).append((u.id, u.display_name))
    for i, skills in enumerate(AGENT_SKILLS, start=1):
        u = accounts.create_user(
            session,
            now,
            username=f"agent{i:02d}",
            password=PASSWORD,
            role="agent",
            display_name=f"{person()}（SWAT）",
            department_id="smart-city",
            theme_ids=skills,
            hash_method=HASH_METHOD,
        )
        cast.agents.append((u.id, u.display_name))
    lead = accounts.create_user(
        session,
        now,
        username="lead",
        password=PASSWORD,
        role="lead",
        display_name=f"{person()}（リーダー）",
        department_id="smart-city",
        theme_ids=["ict-governance"],
        hash_method=HASH_METHOD,
    )
    cast.agents.append((lead.id, lead.display_name))
    accounts.create_user(
        session,
        now,
        username="manager",
        password=PASSWORD,
        role="manager",
        display_name=f"{person()}（統括）",
        hash_method=HASH_METHOD,
    )
    accounts.create_user(
        session,
        now,
        username="admin",
        password=PASSWORD,
        role="admin",
        display_name="システム管理者",
        hash_method=HASH_METHOD,
    )
    cast.agent_username = "agent01"
    cast.staff_department = "health-medical"
    cast.staff_username = "staff-health-medical-01"
    return cast


# --- the bulk load -------------------------------------------------------------------------


def _fill(template: str, rng: random.Random) -> str:
    return template.format(
        service=rng.choice(SERVICES),
        tech=rng.choice(TECHS),
        target=rng.choice(TARGETS),
        problem=rng.choice(PROBLEMS),
        n=rng.randint(2, 12),
    )


def _content(rng: random.Random) -> tuple[str, str]:
    if rng.random() < LINE_TITLE_SHARE:
        title = _fill(rng.choice(LINE_TITLES), rng)
    else:
        title = _fill(rng.choice(TITLES), rng)
    sentences = [_fill(s, rng) for s in rng.sample(SENTENCES, rng.randint(2, 4))]
    if rng.random() < LINE_SENTENCE_SHARE:
        sentences.insert(1, _fill(LINE_SENTENCE, rng))
    body = "\n".join(sentences)
    assert len(title) <= 200
    return title, body


def _between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    if end <= start:
        return start
    return start + timedelta(seconds=rng.uniform(0, (end - start).total_seconds()))


def _created_times(n: int, now: datetime, rng: random.Random) -> list[tuple[datetime, str]]:
    """(created_at, status) for n tickets, oldest first: closed ones over two years, open ones recent."""
    statuses = rng.choices(list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()), k=n)
    two_years = 2 * 365 * 86400
    out = []
    for status in statuses:
        if states.is_open(status):
            # Open consultations are mostly recent: an exponential tail over the last ~4 months.
            age = min(rng.expovariate(1 / (30 * 86400)), 180 * 86400)
        else:
            age = rng.uniform(3 * 86400, two_years)
        out.append((now - timedelta(seconds=age), status))
    out.sort(key=lambda x: x[0])
    return out


def bulk_load(app, cast: Cast, n: int, batch: int, now: datetime, rng: random.Random) -> dict:
    """Insert n tickets (+2 messages, +3 events each) with Core executemany; returns timings."""
    engine = db.engine
    dep_ids = [d for d, _w, _c in DEPARTMENTS]
    dep_weights = [w for _d, w, _c in DEPARTMENTS]
    plan = _created_times(n, now, rng)
    counters: dict[int, int] = {}
    t_tickets = t_children = 0.0
    tickets, messages, events = [], [], []
    n_messages = n_events = 0

    def flush(conn) -> None:
        nonlocal t_tickets, t_children
        t0 = time.perf_counter()
        if tickets:
            conn.execute(insert(Ticket.__table__), tickets)
        t1 = time.perf_counter()
        if messages:
            conn.execute(insert(Message.__table__), messages)
        if events:
            conn.execute(insert(TicketEvent.__table__), events)
        t_tickets += t1 - t0
        t_children += time.perf_counter() - t1
        tickets.clear()
        messages.clear()
        events.clear()

    started = time.perf_counter()
    for tid, (created, status) in enumerate(plan, start=1):
        year = created.astimezone(TOKYO).year
        counters[year] = counters.get(year, 0) + 1
        dep = rng.choices(dep_ids, weights=dep_weights)[0]
        requester_id, requester_name = rng.choice(cast.staff_by_department[dep])
        assignee = None if status == states.NEW else rng.choice(cast.agents)
        priority = rng.choices(range(4), weights=PRIORITY_WEIGHTS)[0]
        theme = None if rng.random() < NO_THEME_SHARE else rng.choices(THEMES, weights=THEME_WEIGHTS)[0]
        title, body = _content(rng)
        resolved_at = closed_at = None
        if status in (states.RESOLVED, states.CLOSED):
            resolved_at = min(created + timedelta(hours=rng.uniform(2, 20 * 24)), now)
            if status == states.CLOSED:
                closed_at = min(resolved_at + timedelta(hours=rng.uniform(0, 7 * 24)), now)
            last = closed_at or resolved_at
        else:
            last = _between(rng, created, now)
        due = None
        if rng.random() < 0.3:
            due = (created + timedelta(days=rng.randint(7, 60))).astimezone(TOKYO).date()
        tickets.append(
            {
                "id": tid,
                "number": f"{year}-{counters[year]:06d}",
                "title": title,
                "body": body,
                "search_text": normalize_for_search(f"{title}\n{body}"),
                "status": status,
                "priority": priority,
                "theme_id": theme,
                "department_id": dep,
                "requester_id": requester_id,
                "assignee_id": assignee[0] if assignee else None,
                "due_date": due,
                "created_at": created,
                "updated_at": last,
                "last_activity_at": last,
                "resolved_at": resolved_at,
                "closed_at": closed_at,
                "submission_token": None,
                "version": 1,
            }
        )
        # Two posts and three history events: filed, taken, then a reply each way (or, for a new
        # ticket nobody took yet, the requester's follow-up and a desk member's internal note).
        t1 = _between(rng, created, last)
        t2 = _between(rng, t1, last)
        mid = 2 * tid - 1
        if assignee is None:
            helper = rng.choice(cast.agents)
            messages.append(
                {
                    "id": mid,
                    "ticket_id": tid,
                    "author_id": requester_id,
                    "internal": False,
                    "body": _fill(rng.choice(REQUESTER_REPLIES), rng),
                    "created_at": t1,
                }
            )
            messages.append(
                {
                    "id": mid + 1,
                    "ticket_id": tid,
                    "author_id": helper[0],
                    "internal": True,
                    "body": _fill(rng.choice(INTERNAL_NOTES), rng),
                    "created_at": t2,
                }
            )
            ev = [
                ("created", requester_id, created, "", "", False),
                ("requester_replied", requester_id, t1, "", str(mid), False),
                ("note_added", helper[0], t2, "", str(mid + 1), True),
            ]
        else:
            messages.append(
                {
                    "id": mid,
                    "ticket_id": tid,
                    "author_id": assignee[0],
                    "internal": False,
                    "body": _fill(rng.choice(DESK_REPLIES), rng),
                    "created_at": t1,
                }
            )
            messages.append(
                {
                    "id": mid + 1,
                    "ticket_id": tid,
                    "author_id": requester_id,
                    "internal": False,
                    "body": _fill(rng.choice(REQUESTER_REPLIES), rng),
                    "created_at": t2,
                }
            )
            claimed = _between(rng, created, t1)
            ev = [
                ("created", requester_id, created, "", "", False),
                ("claimed", assignee[0], claimed, states.NEW, assignee[1], False),
                ("replied", assignee[0], t1, "", str(mid), False),
            ]
        for k, (kind, actor, at, old, new, internal) in enumerate(ev):
            events.append(
                {
                    "id": 3 * tid - 2 + k,
                    "ticket_id": tid,
                    "actor_id": actor,
                    "at": at,
                    "kind": kind,
                    "old_value": old,
                    "new_value": new,
                    "internal": internal,
                }
            )
        n_messages += 2
        n_events += 3
        if len(tickets) >= batch:
            with engine.begin() as conn:
                flush(conn)
    with engine.begin() as conn:
        flush(conn)
        conn.execute(
            insert(TicketCounter.__table__), [{"year": y, "last_number": c} for y, c in sorted(counters.items())]
        )
        if engine.dialect.name == "postgresql":
            # Explicit ids were inserted: move the sequences past them so the app's inserts work.
            for table in ("tickets", "messages", "ticket_events"):
                conn.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
                )
    total = time.perf_counter() - started
    return {
        "tickets": n,
        "messages": n_messages,
        "events": n_events,
        "seconds": total,
        "ticket_insert_seconds": t_tickets,
        "child_insert_seconds": t_children,
    }


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
    """Every statement the engine sends, with the time spent in cursor.execute."""

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

    def login(self, username: str) -> None:
        page = self.get("/login")
        match = CSRF_RE.search(page.get_data(as_text=True))
        if not match:
            raise SystemExit("no CSRF token on /login")
        with self.app.app_context():
            response = self.client.post(
                "/login", data={"username": username, "password": PASSWORD, "csrf_token": match.group(1), "next": ""}
            )
        if response.status_code != 302:
            raise SystemExit(f"sign-in as {username} failed: {response.status_code}")


@dataclass
class Measurement:
    label: str
    url: str
    who: str
    times_ms: list[float]
    statements: list[int]
    sql_ms: list[float]
    rows: int | None
    total: int | None
    last_statements: list[tuple[str, object, float]]

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms)

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
    times, counts, sql_times = [], [], []
    response = None
    for i in range(WARMUPS + repeat):
        log.reset()
        with browser.app.app_context():
            t0 = time.perf_counter()
            response = browser.client.get(url)
            data = response.get_data()
            elapsed = time.perf_counter() - t0
        body = data.decode() if response.mimetype.startswith("text/") else ""
        if response.status_code != 200:
            raise SystemExit(f"{url}: HTTP {response.status_code}")
        if i >= WARMUPS:
            times.append(elapsed * 1000)
            counts.append(len(log.statements))
            sql_times.append(sum(s[2] for s in log.statements) * 1000)
    rows = body.count("<tr>") - 1 if "<tbody>" in body else None
    match = COUNT_RE.search(body)
    return Measurement(
        label, url, who, times, counts, sql_times, rows, int(match.group(1)) if match else None, list(log.statements)
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


# --- reporting -----------------------------------------------------------------------------


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


def table(measurements: list[Measurement]) -> str:
    lines = [
        "| page | as | rows shown | matching | median ms | p90 ms | SQL statements | SQL ms (median) |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for m in measurements:
        total = f"{m.total:,}" if m.total is not None else "—"
        rows = str(m.rows) if m.rows is not None else "—"
        lines.append(
            f"| `{m.url}` | {m.who} | {rows} | {total} | {m.median:.1f} | {m.p90:.1f} | "
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
    rate = load["tickets"] / load["seconds"]
    rows = load["tickets"] + load["messages"] + load["events"]
    lines = [
        f"## {engine_name}",
        "",
        f"- date: {datetime.now(UTC).astimezone(TOKYO):%Y-%m-%d %H:%M %Z}",
        f"- command: `{command}`",
        f"- tickets: {load['tickets']:,} (plus {load['messages']:,} messages and {load['events']:,} history events), "
        f"{len(measurements)} pages, {WARMUPS} warm-ups then {args.repeat} timed requests each",
        f"- bulk load: {load['seconds']:.1f} s = {rate:,.0f} tickets/s ({rows / load['seconds']:,.0f} rows/s; "
        f"Core executemany, batches of {args.batch}); tickets alone {load['ticket_insert_seconds']:.1f} s, "
        f"messages+events {load['child_insert_seconds']:.1f} s, the rest is generating the rows in Python",
        f"- setup: migrations {phases['migrate']:.1f} s, reference data {phases['reference']:.1f} s, "
        f"{phases['users']} users {phases['users_seconds']:.1f} s; statistics after the load: {stats}",
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

Columns: *median/p90 ms* is the wall time around `client.get()` (routing, sign-in check, queries,
template rendering; no network or WSGI server); *SQL statements* counts every statement the engine
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
    p.add_argument("--batch", type=int, default=5000, help="rows per executemany batch")
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
    rng = random.Random(args.seed)
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    phases: dict = {}
    try:
        with app.app_context():
            from flask_migrate import upgrade

            t0 = time.perf_counter()
            upgrade()
            phases["migrate"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            load_reference(db.session, app.config["SWAT"]["reference_dir"])
            db.session.commit()
            phases["reference"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            cast = make_cast(db.session, now - timedelta(days=800), rng)
            db.session.commit()
            phases["users"] = db.session.scalar(select(func.count()).select_from(User))
            phases["users_seconds"] = time.perf_counter() - t0
            db.session.remove()

            print(f"loading {args.tickets:,} tickets …", flush=True)
            load = bulk_load(app, cast, args.tickets, args.batch, now, rng)
            print(f"loaded in {load['seconds']:.1f} s ({load['tickets'] / load['seconds']:,.0f} tickets/s)", flush=True)
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
        agent, staff = Browser(app), Browser(app)
        who_agent, who_staff = "agent", f"staff ({cast.staff_department})"
        pages = [
            ("/queue", who_agent, agent, cast.agent_username),
            ("/queue?sort=activity&dir=desc", who_agent, agent, cast.agent_username),
            ("/queue?q=LINE", who_agent, agent, cast.agent_username),
            ("/queue?theme=healthcare&status=new", who_agent, agent, cast.agent_username),
            ("/queue?page=100", who_agent, agent, cast.agent_username),
            # Not in the brief's list: the same first page with 4x the rows, to show that the
            # number of statements does not grow with the rows shown.
            ("/queue?per_page=200", who_agent, agent, cast.agent_username),
            ("/consultations", who_staff, staff, cast.staff_username),
            (f"/tickets/{open_first}", who_agent, agent, cast.agent_username),
        ]
        measurements = []
        for page_url, who, browser, username in pages:
            # A fresh sign-in before each page: the session's last_seen_at is then less than a
            # minute old for the whole page, so no request carries the once-a-minute session
            # UPDATE and the statement counts do not depend on how long the run has taken.
            browser.login(username)
            m = measure(browser, log, page_url, page_url, who, args.repeat)
            measurements.append(m)
            print(
                f"  {page_url:40s} {m.median:8.1f} ms median {m.p90:8.1f} ms p90  {m.statement_text:>5} statements",
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
