"""Bulk generator of realistic consultations (`swat seed`) for benchmarks and report work.

Tickets come with everything the app itself would have written: the history (ticket_events),
the replies (messages), related initiatives, and the SLA facts (ticket_slas, sla_events)
computed by the real business calendar and the real clock functions of domain.sla, so a
report over seeded data reads the same facts as over real data. Rows go in with
PostgreSQL COPY (psycopg `cursor.copy()`) or, on SQLite, DB-API executemany, in batches.
"""

from __future__ import annotations

import random
import time
from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, text, update
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from ..domain import sla as clock
from ..domain import states
from ..domain.text import normalize_for_search
from ..models import Department, Initiative, Theme, TicketCounter, User
from ..models.reference import initiative_themes
from ..models.user import user_themes
from . import sla

TOKYO = ZoneInfo("Asia/Tokyo")
BATCH = 5000
# The seeded accounts are fake: they share one password, hashed once with a cheap method so
# creating the cast costs nothing. Sign in as any `seed-*` user with it on a dev database.
SEED_PASSWORD = "swat-seed-2026"
HASH_METHOD = "pbkdf2:sha256:1000"
POOL = 1024  # ready-made title/body texts per theme (formatting and folding each is the slow part)

DEPARTMENT_WEIGHTS = {"smart-city": 5, "health-medical": 25, "crisis-management": 6, "police": 4, "welfare": 12,
                      "education": 12, "commerce-labor": 8, "urban-development": 5, "environment-agriculture": 5,
                      "finance": 4, "accounting": 4, "general-affairs": 10}
THEME_WEIGHTS = {"mobility": 4, "healthcare": 22, "three-less": 18, "telework": 14, "ict-governance": 10,
                 "citizen-services": 18, "data": 8}
NO_THEME_SHARE = 0.2
PRIORITY_CUM = list(accumulate([5, 20, 60, 15]))  # urgent, high, normal, low (rank 0..3)
# Tokyo hour of filing: office hours, a dip at lunch, a few early and late ones.
HOUR_WEIGHTS = {7: 1, 8: 4, 9: 12, 10: 16, 11: 15, 12: 6, 13: 13, 14: 15, 15: 14, 16: 13, 17: 8, 18: 4, 19: 2,
                20: 1, 21: 1}
WEEKEND_WEIGHT = 0.05  # a closed day gets this share of a business day's filings

SURNAMES = ["佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤", "吉田", "山田",
            "松本", "井上", "木村", "林", "清水", "山崎", "森", "池田"]
GIVEN = ["太郎", "花子", "健一", "美咲", "大輔", "由美", "翔太", "陽子", "直樹", "恵", "拓也", "真理子"]

TOPICS = {  # theme -> (services, technologies)
    "mobility": (["公用車の運行管理", "オンデマンド交通の実証", "駐車場の満空情報", "観光地の混雑対策"],
                 ["AIオンデマンドバス", "MaaSアプリ", "IoTセンサー", "自動運転バス"]),
    "healthcare": (["保健所の健康観察", "ワクチン接種の予約受付", "陽性者への療養案内", "入院調整", "宿泊療養施設の運営"],
                   ["チャットボット", "AI音声認識", "オンライン診療", "ＨＥＲ－ＳＹＳ連携", "自動架電システム"]),
    "three-less": (["飲食店の感染防止認証", "イベントの来場者管理", "窓口の混雑緩和", "会議のオンライン化"],
                   ["大阪コロナ追跡システム", "ＱＲコード", "予約システム", "Web会議"]),
    "telework": (["職員の在宅勤務", "庁内会議", "テレワーク端末の貸出", "時差出勤の管理"],
                 ["VPN", "Web会議", "シンクライアント", "クラウドストレージ"]),
    "ict-governance": (["システム調達", "個人情報の取り扱い", "クラウド利用の審査", "情報セキュリティ対策"],
                       ["クラウドサービス", "生成AI", "外部委託先の管理", "多要素認証"]),
    "citizen-services": (["府民からの問い合わせ対応", "補助金の電子申請", "営業時間短縮協力金の審査", "各種証明書の発行"],
                         ["LINE公式アカウント", "ＬＩＮＥ", "電子申請システム", "AI-OCR", "RPA"]),
    "data": (["感染状況の集計", "オープンデータの公開", "統計データの可視化", "部局間のデータ共有"],
             ["ダッシュボード", "BIツール", "オープンデータ", "データ連携基盤"]),
}
GENERIC = (["業務のデジタル化", "窓口業務", "庁内の事務作業", "府民向けの周知"],
           ["RPA", "クラウドサービス", "タブレット端末", "チャットボット"])
TARGETS = ["府民", "高齢者", "保護者", "事業者", "医療機関", "職員", "児童・生徒"]
PROBLEMS = ["入力作業の負担", "電話がつながらない問題", "紙の書類が多い問題", "集計の遅れ", "セキュリティ上の懸念",
            "費用の見積もり", "調達の進め方", "アカウントの管理"]
TITLES = ["{service}の{tech}化について相談したい", "{target}向けに{tech}を導入したい",
          "{service}における{problem}を解消したい", "{tech}の調達手続きと{problem}について",
          "{service}で{tech}を使えるか教えてください", "【至急】{service}の{problem}について"]
SENTENCES = ["現在、{service}では{problem}が大きな課題になっています。", "{tech}を活用して改善できないか検討しています。",
             "他の自治体や府内の部局で{tech}を導入した事例があれば教えてください。",
             "{target}への影響も考慮したうえで、月末までに方針を決める必要があります。",
             "予算は今年度の補正予算で確保する予定です。概算の費用感についても助言をお願いします。",
             "個人情報を扱うため、ICTガバナンスの観点から注意点を確認したいです。",
             "担当者は{n}名で、現在はすべて手作業で対応しています。"]
DESK_REPLIES = ["ご相談ありがとうございます。{tech}の導入事例を取りまとめてお送りします。",
                "関係部局の事例を確認しました。一度オンラインで打ち合わせをさせてください。",
                "{problem}については、ICTガバナンス部会の見解を確認のうえご連絡します。",
                "{service}での{tech}の活用について、手順と留意点を添付の資料にまとめました。"]
FOLLOW_UPS = ["ありがとうございます。資料を確認して部内で検討します。", "打ち合わせの候補日を送ります。よろしくお願いします。",
              "追加で質問です。{tech}の運用体制はどのようにされていますか。", "部内で確認しました。{target}向けの説明資料もいただけますか。"]


class SeedRefused(Exception):
    """Seeding is not allowed here (production, or no reference data)."""


@dataclass
class SeedReport:
    tickets: int = 0
    rows: int = 0
    users_created: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        rate = self.tickets / self.seconds if self.seconds else 0.0
        return (f"seeded {self.tickets:,} tickets in {self.seconds:.1f} s "
                f"({rate:,.0f} tickets/s; {self.rows:,} rows)")


@dataclass
class _Cast:
    staff: dict[str, list[int]]            # department -> staff ids
    agents: list[tuple[int, str]]          # (id, display name): agents and leads
    by_theme: dict[str, list[tuple[int, str]]]
    leads: list[tuple[int, str]]


# --- the cast -------------------------------------------------------------------------------

def _ensure_cast(session: Session, now: datetime, departments: list[str], themes: list[str]) -> tuple[_Cast, int]:
    """The `seed-*` accounts, created if missing (idempotent by username); committed."""
    rng = random.Random(7)
    pw = generate_password_hash(SEED_PASSWORD, method=HASH_METHOD)
    desk_dep = "smart-city" if "smart-city" in departments else None
    health = "health-medical" if "health-medical" in departments else departments[0]

    def person() -> str:
        return f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}"

    wanted: list[tuple[str, str, str, str | None, list[str]]] = []
    for dep in departments:
        for i in range(1, 6):
            wanted.append((f"seed-staff-{dep}-{i}", person(), "staff", dep, []))
    n = len(themes)
    for i in range(12):
        skills = [themes[i % n], themes[(i + 3) % n]] + ([themes[(i + 5) % n]] if i % 3 == 0 else [])
        wanted.append((f"seed-agent-{i + 1:02d}", f"{person()}（SWAT）", "agent", desk_dep, list(dict.fromkeys(skills))))
    for i in range(2):
        skills = list(dict.fromkeys([t for t in ("ict-governance",) if t in themes] + [themes[(2 * i + 1) % n]]))
        wanted.append((f"seed-lead-{i + 1}", f"{person()}（リーダー）", "lead", desk_dep, skills))
    wanted.append(("seed-manager", f"{person()}（統括）", "manager", None, []))
    wanted.append(("seed-manager-health", f"{person()}（部長）", "manager", health, []))

    existing = dict(session.execute(select(User.username, User.id).where(User.username.like("seed-%"))).all())
    created = 0
    for username, name, role, dep, skills in wanted:
        if username in existing:
            continue
        uid = session.execute(insert(User).values(
            username=username, display_name=name, email="", password_hash=pw, role=role, department_id=dep,
            active=True, locale="", created_at=now).returning(User.id)).scalar_one()
        if skills:
            session.execute(insert(user_themes), [{"user_id": uid, "theme_id": t} for t in skills])
        existing[username] = uid
        created += 1
    session.commit()

    rows = session.execute(select(User.id, User.username, User.display_name, User.role, User.department_id)
                           .where(User.username.like("seed-%"), User.active).order_by(User.id)).all()
    skills_of: dict[int, list[str]] = {}
    for uid, tid in session.execute(select(user_themes.c.user_id, user_themes.c.theme_id)
                                    .where(user_themes.c.user_id.in_([r.id for r in rows]))):
        skills_of.setdefault(uid, []).append(tid)
    cast = _Cast({}, [], {}, [])
    for r in rows:
        if r.role == "staff" and r.department_id:
            cast.staff.setdefault(r.department_id, []).append(r.id)
        elif r.role in ("agent", "lead"):
            cast.agents.append((r.id, r.display_name))
            if r.role == "lead":
                cast.leads.append((r.id, r.display_name))
            for t in skills_of.get(r.id, []):
                cast.by_theme.setdefault(t, []).append((r.id, r.display_name))
    return cast, created


# --- texts ----------------------------------------------------------------------------------

def _fill(template: str, rng: random.Random, topic: tuple[list[str], list[str]]) -> str:
    return template.format(service=rng.choice(topic[0]), tech=rng.choice(topic[1]), target=rng.choice(TARGETS),
                           problem=rng.choice(PROBLEMS), n=rng.randint(2, 12))


def _text_pools(rng: random.Random, themes: list[str]):
    """Ready-made (title, body, search_text) per theme, and reply texts, picked per ticket."""
    pools: dict[str | None, list[tuple[str, str, str]]] = {}
    for theme in [None, *themes]:
        topic = TOPICS.get(theme or "", GENERIC)
        pool = []
        for _ in range(POOL):
            title = _fill(rng.choice(TITLES), rng, topic)[:200]
            body = "\n".join(_fill(s, rng, topic) for s in rng.sample(SENTENCES, rng.randint(2, 4)))
            pool.append((title, body, normalize_for_search(f"{title}\n{body}")))
        pools[theme] = pool
    desk = [_fill(rng.choice(DESK_REPLIES), rng, TOPICS[rng.choice(list(TOPICS))]) for _ in range(256)]
    follow = [_fill(rng.choice(FOLLOW_UPS), rng, TOPICS[rng.choice(list(TOPICS))]) for _ in range(256)]
    return pools, desk, follow


# --- when ----------------------------------------------------------------------------------

def fiscal_start(now: datetime, years: int) -> datetime:
    """April 1st (Tokyo) of the fiscal year `years - 1` before the current one."""
    local = now.astimezone(TOKYO)
    fy = local.year if local.month >= 4 else local.year - 1
    return datetime(fy - years + 1, 4, 1, tzinfo=TOKYO)


def _created_times(rng: random.Random, cal, start: datetime, now: datetime, n: int) -> list[datetime]:
    """n filing instants between start and now, oldest first: business days and office hours
    much more likely than nights and closed days."""
    days: list[date] = []
    weights: list[float] = []
    d, last = start.date(), now.astimezone(TOKYO).date()
    while d <= last:
        days.append(d)
        weights.append(1.0 if cal.is_business_day(d) else WEEKEND_WEIGHT)
        d += timedelta(days=1)
    hours = list(HOUR_WEIGHTS)
    picked_days = rng.choices(days, cum_weights=list(accumulate(weights)), k=n)
    picked_hours = rng.choices(hours, cum_weights=list(accumulate(HOUR_WEIGHTS.values())), k=n)
    out = []
    rnd = rng.random
    for d, h in zip(picked_days, picked_hours, strict=True):
        t = datetime(d.year, d.month, d.day, h, tzinfo=TOKYO) + timedelta(seconds=int(rnd() * 3600))
        t = t.astimezone(UTC)
        if t >= now:
            t = now - timedelta(seconds=int(rnd() * 7200) + 60)
        out.append(t)
    out.sort()
    return out


# --- ids and numbers ------------------------------------------------------------------------

class _Ids:
    """Primary keys handed out ahead of the insert (children refer to them): from the
    table's sequence on PostgreSQL, after max(id) on SQLite (one writer at a time there)."""

    def __init__(self, session: Session, table: str, postgres: bool) -> None:
        self.session, self.table, self.postgres = session, table, postgres
        self.pool: list[int] = []
        self.pos = 0

    def take(self, k: int) -> None:
        """Make sure k ids are ready (call before a batch)."""
        left = len(self.pool) - self.pos
        if left >= k:
            return
        need = max(k - left, 1000)
        if self.postgres:
            fresh = list(self.session.execute(text(
                f"SELECT nextval(pg_get_serial_sequence('{self.table}', 'id')) FROM generate_series(1, :n)"),
                {"n": need}).scalars())
        else:
            top = max(self.session.scalar(text(f"SELECT max(id) FROM {self.table}")) or 0,
                      self.pool[-1] if self.pool else 0)
            fresh = list(range(top + 1, top + 1 + need))
        self.pool = self.pool[self.pos:] + fresh
        self.pos = 0

    def next(self) -> int:
        i = self.pool[self.pos]
        self.pos += 1
        return i


def _reserve_numbers(session: Session, counts: dict[int, int], postgres: bool) -> dict[int, int]:
    """Bump ticket_counters by each year's count up front, as filing does one at a time, so
    no filing made meanwhile or later gets a seeded number; returns each year's first number."""
    if postgres:
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert
    first = {}
    for year, k in sorted(counts.items()):
        session.execute(upsert(TicketCounter).values(year=year, last_number=0).on_conflict_do_nothing())
        last = session.execute(update(TicketCounter).where(TicketCounter.year == year)
                               .values(last_number=TicketCounter.last_number + k)
                               .returning(TicketCounter.last_number)).scalar_one()
        first[year] = last - k + 1
    session.commit()
    return first


# --- writing --------------------------------------------------------------------------------

COLUMNS = {
    "tickets": ("id", "number", "title", "body", "search_text", "status", "priority", "theme_id", "department_id",
                "requester_id", "assignee_id", "due_date", "created_at", "updated_at", "last_activity_at",
                "resolved_at", "closed_at", "sla_due_at", "triage", "submission_token", "version"),
    "ticket_initiatives": ("ticket_id", "initiative_id", "position"),
    "messages": ("id", "ticket_id", "author_id", "internal", "body", "created_at"),
    "ticket_events": ("ticket_id", "actor_id", "at", "kind", "old_value", "new_value", "internal"),
    "ticket_slas": ("ticket_id", "target", "target_minutes", "used_minutes", "state", "running_since", "due_at",
                    "stopped_at", "next_check_at"),
    "sla_events": ("ticket_id", "target", "kind", "at", "used_minutes", "target_minutes", "due_at", "note"),
}


def _sqlite_value(v):
    # The format SQLAlchemy's SQLite DateTime uses (naive UTC), so stored values compare right.
    if isinstance(v, datetime):
        return v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(v, date):
        return v.isoformat()
    return v


def _write(session: Session, postgres: bool, batch: dict[str, list[tuple]]) -> int:
    raw = session.connection().connection.driver_connection
    rows = 0
    cur = raw.cursor()
    try:
        if postgres:
            # Generated data: a crash may lose the last batches, never corrupt them.
            cur.execute("SET LOCAL synchronous_commit = off")
        for table, cols in COLUMNS.items():
            data = batch[table]
            rows += len(data)
            if not data:
                continue
            if postgres:
                with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as cp:
                    for row in data:
                        cp.write_row(row)
            else:
                sql_ = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
                cur.executemany(sql_, [tuple(map(_sqlite_value, row)) for row in data])
    finally:
        cur.close()
    return rows


# --- the consultations ----------------------------------------------------------------------

def seed(session: Session, now: datetime, settings, tickets: int, rng_seed: int = 42, years: int = 2,
         progress=None, batch_size: int = BATCH) -> SeedReport:
    """Add `tickets` realistic consultations filed over the last `years` fiscal years up to `now`.

    Deterministic for a given rng_seed and database state. Refuses (SeedRefused) in
    production and when the reference data (departments, SLA rules) is not loaded.

    The one exception to the one-transaction rule: this COMMITS, in batches of `batch_size`
    tickets, because a million rows in one transaction is impractical. Each batch is all or
    nothing (a failure rolls back the batch in progress; earlier batches stay). Running it
    again only adds: the `seed-*` cast is created once (by username), ticket numbers are
    reserved up front in ticket_counters (the way filing bumps them) and ids come from the
    tables' sequences, so nothing collides with earlier runs or with the app's own filings.
    `progress(done, total)` is called after each batch.
    """
    if settings.get("env") == "production":
        raise SeedRefused("refusing to seed a production database (settings env is 'production')")
    if tickets < 0 or years < 1:
        raise SeedRefused("--tickets must be >= 0 and --years >= 1")
    departments = list(session.scalars(select(Department.id).where(Department.active)
                                       .order_by(Department.sort_order, Department.id)))
    themes = list(session.scalars(select(Theme.id).where(Theme.active).order_by(Theme.sort_order, Theme.id)))
    rules = sla.current(session)
    if not departments or not themes or rules is None:
        raise SeedRefused("reference data is not loaded (no departments, themes or SLA rules): "
                          "run `swat reference load` first")
    started = time.perf_counter()
    postgres = session.get_bind().dialect.name == "postgresql"
    cast, users_created = _ensure_cast(session, now, departments, themes)
    report = SeedReport(users_created=users_created)

    rng = random.Random(rng_seed)
    cal = rules.calendar
    planned = _created_times(rng, cal, fiscal_start(now, years), now, tickets)
    per_year: dict[int, int] = {}
    years_of = [t.astimezone(TOKYO).year for t in planned]
    for y in years_of:
        per_year[y] = per_year.get(y, 0) + 1
    next_seq = _reserve_numbers(session, per_year, postgres)

    inits = list(session.scalars(select(Initiative.id).where(Initiative.active).order_by(Initiative.sort_order)))
    inits_by_theme: dict[str, list[str]] = {}
    for iid, tid in session.execute(select(initiative_themes.c.initiative_id, initiative_themes.c.theme_id)):
        if iid in inits:
            inits_by_theme.setdefault(tid, []).append(iid)
    pools, desk_texts, follow_texts = _text_pools(rng, themes)
    dep_cum = list(accumulate(DEPARTMENT_WEIGHTS.get(d, 5) for d in departments))
    theme_cum = list(accumulate(THEME_WEIGHTS.get(t, 5) for t in themes))
    policies = [rules.policy_for(rank) for rank in range(len(states.PRIORITIES))]
    staff = {d: cast.staff.get(d) or cast.staff[next(iter(cast.staff))] for d in departments}
    lead = cast.leads[0] if cast.leads else cast.agents[0]

    tids, mids = _Ids(session, "tickets", postgres), _Ids(session, "messages", postgres)
    rnd, expo, due = rng.random, rng.expovariate, cal.due
    start, stop, pause, resume, void = clock.start, clock.stop, clock.pause, clock.resume, clock.void
    FR, RES, RUNNING = clock.FIRST_RESPONSE, clock.RESOLUTION, clock.RUNNING
    NEW, ASSIGNED, IN_PROGRESS, WAITING = states.NEW, states.ASSIGNED, states.IN_PROGRESS, states.WAITING
    RESOLVED, CLOSED = states.RESOLVED, states.CLOSED
    two_min = timedelta(minutes=2)
    dep_total, theme_total, n_deps, n_themes = dep_cum[-1], theme_cum[-1], len(departments), len(themes)

    for b0 in range(0, tickets, batch_size):
        b1 = min(tickets, b0 + batch_size)
        tids.take(b1 - b0)
        mids.take(3 * (b1 - b0))
        out: dict[str, list[tuple]] = {k: [] for k in COLUMNS}
        t_rows, i_rows, m_rows = out["tickets"], out["ticket_initiatives"], out["messages"]
        e_rows, c_rows, s_rows = out["ticket_events"], out["ticket_slas"], out["sla_events"]
        ev, msg, sev = e_rows.append, m_rows.append, s_rows.append
        for k in range(b0, b1):
            created, year = planned[k], years_of[k]
            seq = next_seq[year]
            next_seq[year] = seq + 1
            number = f"{year}-{seq:05d}"
            tid = tids.next()
            dep = departments[min(bisect_right(dep_cum, rnd() * dep_total), n_deps - 1)]
            people = staff[dep]
            requester = people[int(rnd() * len(people))]
            theme = None if rnd() < NO_THEME_SHARE else themes[min(bisect_right(theme_cum, rnd() * theme_total),
                                                                     n_themes - 1)]
            prio = min(bisect_right(PRIORITY_CUM, rnd() * 100), 3)
            pol = policies[prio]
            fr, res = pol.first_response, pol.resolution
            title, body, search = pools[theme][int(rnd() * POOL)]
            skilled = cast.by_theme.get(theme) or cast.agents
            agent, agent_name = skilled[int(rnd() * len(skilled))]
            choices = inits_by_theme.get(theme) or inits
            r = rnd()
            if choices and r < 0.5:
                picked = [choices[int(rnd() * len(choices))]]
                if r < 0.15 and len(choices) > 1:
                    other = choices[int(rnd() * len(choices))]
                    if other != picked[0]:
                        picked.append(other)
                for pos, iid in enumerate(picked):
                    i_rows.append((tid, iid, pos))

            ev((tid, requester, created, "created", "", number, False))
            step = start(cal, pol, created)
            clocks = step.clocks
            steps = [step]
            status, assignee, last = NEW, None, created
            resolved_at = closed_at = None
            while True:  # the consultation's life, cut off at `now`
                if rnd() < 0.03:  # withdrawn by the requester before anyone answered
                    t = due(created, int(expo(2.0 / fr)) + 1)
                    if t > now:
                        break
                    v = void(clocks, FR, t)
                    step = stop(cal, v.clocks, (RES,), t)
                    steps += (v, step)
                    clocks = step.clocks
                    ev((tid, requester, t, "status", NEW, CLOSED, False))
                    status, closed_at, last = CLOSED, t, t
                    break
                t = due(created, int(expo(1.0 / (0.15 * fr))))
                if t > now:
                    break
                if rnd() < 0.7:
                    ev((tid, agent, t, "claimed", NEW, agent_name, False))
                else:  # the lead hands it out
                    ev((tid, lead[0], t, "status", NEW, ASSIGNED, False))
                    ev((tid, lead[0], t, "assigned", "", agent_name, False))
                status, assignee, last = ASSIGNED, agent, t
                t = due(t, int(expo(1.0 / (0.5 * fr)) * (4 if rnd() < 0.05 else 1)) + 1)
                if t > now:
                    break
                ev((tid, agent, t, "status", ASSIGNED, IN_PROGRESS, False))
                mid = mids.next()
                msg((mid, tid, agent, False, desk_texts[int(rnd() * 256)], t))
                ev((tid, agent, t, "replied", "", str(mid), False))
                step = stop(cal, clocks, (FR,), t)
                steps.append(step)
                clocks = step.clocks
                status, last = IN_PROGRESS, t
                if rnd() < 0.3:  # the desk waits for the requester
                    t = t + two_min
                    if t > now:
                        break
                    ev((tid, agent, t, "status", IN_PROGRESS, WAITING, False))
                    step = pause(cal, clocks, t)
                    steps.append(step)
                    clocks = step.clocks
                    status, last = WAITING, t
                    if rnd() < 0.04:  # and never hears back
                        break
                    t = due(t, int(expo(1.0 / 400)) + 5)
                    if t > now:
                        break
                    mid = mids.next()
                    msg((mid, tid, requester, False, follow_texts[int(rnd() * 256)], t))
                    ev((tid, requester, t, "requester_replied", "", str(mid), False))
                    ev((tid, requester, t, "status", WAITING, IN_PROGRESS, False))
                    step = resume(cal, clocks, t)
                    steps.append(step)
                    clocks = step.clocks
                    status, last = IN_PROGRESS, t
                if rnd() < 0.01:  # stalled
                    break
                if rnd() < 0.4:  # a second answer
                    t = due(t, int(expo(1.0 / (0.3 * res))) + 10)
                    if t > now:
                        break
                    mid = mids.next()
                    msg((mid, tid, agent, False, desk_texts[int(rnd() * 256)], t))
                    ev((tid, agent, t, "replied", "", str(mid), False))
                    last = t
                t = due(t, int(expo(1.0 / (0.35 * res))) + 15)
                if t > now:
                    break
                v = void(clocks, FR, t)
                step = stop(cal, v.clocks, (RES,), t)
                steps += (v, step)
                clocks = step.clocks
                ev((tid, agent, t, "status", IN_PROGRESS, RESOLVED, False))
                status, resolved_at, last = RESOLVED, t, t
                if rnd() < 0.85:
                    t = due(t, int(expo(1.0 / 800)) + 5)
                    if t > now:
                        break
                    ev((tid, requester if rnd() < 0.6 else agent, t, "status", RESOLVED, CLOSED, False))
                    status, closed_at, last = CLOSED, t, t
                break

            sla_due = None
            for s in steps:
                for e in s.events:
                    sev((tid, e.target, e.kind, e.at, e.used_minutes, e.target_minutes, e.due_at, e.note))
            for c in clocks.values():
                check = None
                if c.state == RUNNING:
                    check = min(sla.level_instants(rules, c).values())
                    if sla_due is None or c.due_at < sla_due:
                        sla_due = c.due_at
                c_rows.append((tid, c.target, c.target_minutes, c.used_minutes, c.state, c.running_since, c.due_at,
                               c.stopped_at, check))
            due_date = (created + timedelta(days=7 + int(rnd() * 40))).astimezone(TOKYO).date() if rnd() < 0.25 \
                else None
            t_rows.append((tid, number, title, body, search, status, prio, theme, dep, requester, assignee, due_date,
                           created, last, last, resolved_at, closed_at, sla_due, False, None, 1))
        try:
            report.rows += _write(session, postgres, out)
            session.commit()
        except BaseException:
            session.rollback()
            raise
        report.tickets = b1
        if progress is not None:
            progress(b1, tickets)
    report.seconds = time.perf_counter() - started
    return report

