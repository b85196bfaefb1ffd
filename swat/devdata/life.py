"""What `swat seed` writes about one consultation: its texts, when it was filed, and its life.

`generate` turns a batch of planned filings into rows for the six tables, living each
consultation through the app's own steps (claim or hand-out, reply, waiting for the
requester, resolve, close) with the SLA clocks of domain.sla on the real business calendar,
cut off at `now`. It runs in worker processes on PostgreSQL, so it takes plain data (a
`Plan`) and returns either tuples (SQLite executemany) or ready COPY text (PostgreSQL).

The life model keeps a steady-state desk: most consultations are answered within days,
about one in eight takes weeks, resolved ones are closed (by the requester or, after a week,
by the desk), and a requester who never answers gets the consultation closed after two
weeks. So the open backlog is a few weeks of filings, and only a handful of long-stalled
consultations stay open for months.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from zoneinfo import ZoneInfo

from ..domain import sla as clock
from ..domain import states
from ..domain.text import normalize_for_search

TOKYO = ZoneInfo("Asia/Tokyo")
POOL = 1024  # ready-made title/body texts per theme (formatting and folding each is the slow part)
PRIORITY_CUM = list(accumulate([5, 20, 60, 15]))  # urgent, high, normal, low (rank 0..3)
# Tokyo hour of filing: office hours, a dip at lunch, a few early and late ones.
HOUR_WEIGHTS = {
    7: 1,
    8: 4,
    9: 12,
    10: 16,
    11: 15,
    12: 6,
    13: 13,
    14: 15,
    15: 14,
    16: 13,
    17: 8,
    18: 4,
    19: 2,
    20: 1,
    21: 1,
}
WEEKEND_WEIGHT = 0.05  # a closed day gets this share of a business day's filings
NO_THEME_SHARE = 0.2
MAX_MESSAGES = 3  # per consultation: the answer, the requester's follow-up, a second answer
DAY = 525  # business minutes in a desk day (09:00-17:45)

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
]
GIVEN = ["太郎", "花子", "健一", "美咲", "大輔", "由美", "翔太", "陽子", "直樹", "恵", "拓也", "真理子"]

TOPICS = {  # theme -> (services, technologies)
    "mobility": (
        ["公用車の運行管理", "オンデマンド交通の実証", "駐車場の満空情報", "観光地の混雑対策"],
        ["AIオンデマンドバス", "MaaSアプリ", "IoTセンサー", "自動運転バス"],
    ),
    "healthcare": (
        ["保健所の健康観察", "ワクチン接種の予約受付", "陽性者への療養案内", "入院調整", "宿泊療養施設の運営"],
        ["チャットボット", "AI音声認識", "オンライン診療", "ＨＥＲ－ＳＹＳ連携", "自動架電システム"],
    ),
    "three-less": (
        ["飲食店の感染防止認証", "イベントの来場者管理", "窓口の混雑緩和", "会議のオンライン化"],
        ["大阪コロナ追跡システム", "ＱＲコード", "予約システム", "Web会議"],
    ),
    "telework": (
        ["職員の在宅勤務", "庁内会議", "テレワーク端末の貸出", "時差出勤の管理"],
        ["VPN", "Web会議", "シンクライアント", "クラウドストレージ"],
    ),
    "ict-governance": (
        ["システム調達", "個人情報の取り扱い", "クラウド利用の審査", "情報セキュリティ対策"],
        ["クラウドサービス", "生成AI", "外部委託先の管理", "多要素認証"],
    ),
    "citizen-services": (
        ["府民からの問い合わせ対応", "補助金の電子申請", "営業時間短縮協力金の審査", "各種証明書の発行"],
        ["LINE公式アカウント", "ＬＩＮＥ", "電子申請システム", "AI-OCR", "RPA"],
    ),
    "data": (
        ["感染状況の集計", "オープンデータの公開", "統計データの可視化", "部局間のデータ共有"],
        ["ダッシュボード", "BIツール", "オープンデータ", "データ連携基盤"],
    ),
}
GENERIC = (
    ["業務のデジタル化", "窓口業務", "庁内の事務作業", "府民向けの周知"],
    ["RPA", "クラウドサービス", "タブレット端末", "チャットボット"],
)
TARGETS = ["府民", "高齢者", "保護者", "事業者", "医療機関", "職員", "児童・生徒"]
PROBLEMS = [
    "入力作業の負担",
    "電話がつながらない問題",
    "紙の書類が多い問題",
    "集計の遅れ",
    "セキュリティ上の懸念",
    "費用の見積もり",
    "調達の進め方",
    "アカウントの管理",
]
TITLES = [
    "{service}の{tech}化について相談したい",
    "{target}向けに{tech}を導入したい",
    "{service}における{problem}を解消したい",
    "{tech}の調達手続きと{problem}について",
    "{service}で{tech}を使えるか教えてください",
    "【至急】{service}の{problem}について",
]
SENTENCES = [
    "現在、{service}では{problem}が大きな課題になっています。",
    "{tech}を活用して改善できないか検討しています。",
    "他の自治体や府内の部局で{tech}を導入した事例があれば教えてください。",
    "{target}への影響も考慮したうえで、月末までに方針を決める必要があります。",
    "予算は今年度の補正予算で確保する予定です。概算の費用感についても助言をお願いします。",
    "個人情報を扱うため、ICTガバナンスの観点から注意点を確認したいです。",
    "担当者は{n}名で、現在はすべて手作業で対応しています。",
]
DESK_REPLIES = [
    "ご相談ありがとうございます。{tech}の導入事例を取りまとめてお送りします。",
    "関係部局の事例を確認しました。一度オンラインで打ち合わせをさせてください。",
    "{problem}については、ICTガバナンス部会の見解を確認のうえご連絡します。",
    "{service}での{tech}の活用について、手順と留意点を添付の資料にまとめました。",
]
FOLLOW_UPS = [
    "ありがとうございます。資料を確認して部内で検討します。",
    "打ち合わせの候補日を送ります。よろしくお願いします。",
    "追加で質問です。{tech}の運用体制はどのようにされていますか。",
    "部内で確認しました。{target}向けの説明資料もいただけますか。",
]


def _fill(template: str, rng: random.Random, topic: tuple[list[str], list[str]]) -> str:
    return template.format(
        service=rng.choice(topic[0]),
        tech=rng.choice(topic[1]),
        target=rng.choice(TARGETS),
        problem=rng.choice(PROBLEMS),
        n=rng.randint(2, 12),
    )


def _esc(s: str) -> str:
    """Text as a COPY (text format) field."""
    return s.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")


def text_pools(rng: random.Random, themes: list[str]):
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


def fiscal_start(now: datetime, years: int) -> datetime:
    """April 1st (Tokyo) of the fiscal year `years - 1` before the current one."""
    local = now.astimezone(TOKYO)
    fy = local.year if local.month >= 4 else local.year - 1
    return datetime(fy - years + 1, 4, 1, tzinfo=TOKYO)


def created_times(rng: random.Random, cal, start: datetime, now: datetime, n: int) -> list[datetime]:
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


class _Memo:
    """The business calendar with `due` remembered: a ticket asks for the same start again
    (the clocks start together; the escalation levels of a running clock share its start)."""

    def __init__(self, cal) -> None:
        self._due, self.memo, self.elapsed = cal.due, {}, cal.elapsed

    def due(self, start: datetime, minutes: int) -> datetime:
        key = (start, minutes)
        got = self.memo.get(key)
        if got is None:
            got = self.memo[key] = self._due(start, minutes)
        return got


@dataclass
class _Rules:  # what services.sla.level_instants reads
    calendar: _Memo
    warn_ratio: float


@dataclass
class Plan:
    """Everything a batch needs besides its own filings: picklable plain data."""

    now: datetime
    calendar: object
    warn_ratio: float
    policies: list[clock.Policy]
    departments: list[str]
    dep_cum: list[int]
    themes: list[str]
    theme_cum: list[int]
    staff: dict[str, list[int]]
    by_theme: dict[str | None, list[tuple[int, str]]]
    agents: list[tuple[int, str]]
    lead: tuple[int, str]
    inits: list[str]
    inits_by_theme: dict[str, list[str]]
    pools: dict[str | None, list[tuple[str, str, str]]]
    desk: list[str]
    follow: list[str]
    copy: bool = False  # COPY text instead of tuples

    def __post_init__(self) -> None:
        if self.copy:  # escaped once here, not per row
            self.pools = {k: [f"{_esc(a)}\t{_esc(b)}\t{_esc(c)}" for a, b, c in v] for k, v in self.pools.items()}
            self.desk = [_esc(s) for s in self.desk]
            self.follow = [_esc(s) for s in self.follow]


TABLES = ("tickets", "ticket_initiatives", "messages", "ticket_events", "ticket_slas", "sla_events")


def generate(plan: Plan, filed: list[datetime], numbers: list[str], tids, mids, rng_seed: str):
    """Rows for one batch of filings: ({table: tuples or COPY text}, {table: row count}).

    `tids` are the tickets' ids (one each), `mids` at least MAX_MESSAGES ids per ticket for
    the replies. The same inputs give the same rows.
    """
    from ..services.sla import level_instants

    rng = random.Random(rng_seed)
    rnd, expo = rng.random, rng.expovariate
    cal = _Memo(plan.calendar)
    due, rules, now, copy = cal.due, _Rules(cal, plan.warn_ratio), plan.now, plan.copy
    start, stop, pause, resume, void = clock.start, clock.stop, clock.pause, clock.resume, clock.void
    FR, RES, RUNNING = clock.FIRST_RESPONSE, clock.RESOLUTION, clock.RUNNING
    NEW, ASSIGNED, IN_PROGRESS, WAITING = states.NEW, states.ASSIGNED, states.IN_PROGRESS, states.WAITING
    RESOLVED, CLOSED = states.RESOLVED, states.CLOSED
    departments, dep_cum, themes, theme_cum = plan.departments, plan.dep_cum, plan.themes, plan.theme_cum
    dep_total, theme_total, n_deps, n_themes = dep_cum[-1], theme_cum[-1], len(departments), len(themes)
    pools, desk_texts, follow_texts, inits = plan.pools, plan.desk, plan.follow, plan.inits
    lead_id = plan.lead[0]
    two_min = timedelta(minutes=2)
    mids = iter(mids)
    out: dict[str, list] = {t: [] for t in TABLES}
    t_out, i_out, m_out = out["tickets"].append, out["ticket_initiatives"].append, out["messages"].append
    e_out, c_out, s_out = out["ticket_events"].append, out["ticket_slas"].append, out["sla_events"].append

    NULL = "\\N"

    def ts(v) -> str:
        return NULL if v is None else str(v)

    if copy:

        def ev(tid, actor, at, kind, old, new):
            e_out(f"{tid}\t{actor}\t{at}\t{kind}\t{old}\t{new}\tf\n")

        def msg(mid, tid, author, body, at):
            m_out(f"{mid}\t{tid}\t{author}\tf\t{body}\t{at}\n")
    else:

        def ev(tid, actor, at, kind, old, new):
            e_out((tid, actor, at, kind, old, str(new), False))

        def msg(mid, tid, author, body, at):
            m_out((mid, tid, author, False, body, at))

    for k, created in enumerate(filed):
        number, tid = numbers[k], tids[k]
        dep = departments[min(bisect_right(dep_cum, rnd() * dep_total), n_deps - 1)]
        people = plan.staff[dep]
        requester = people[int(rnd() * len(people))]
        theme = (
            None if rnd() < NO_THEME_SHARE else themes[min(bisect_right(theme_cum, rnd() * theme_total), n_themes - 1)]
        )
        prio = min(bisect_right(PRIORITY_CUM, rnd() * 100), 3)
        pol = plan.policies[prio]
        fr, res = pol.first_response, pol.resolution
        text = pools[theme][int(rnd() * POOL)]
        skilled = plan.by_theme.get(theme) or plan.agents
        agent, agent_name = skilled[int(rnd() * len(skilled))]
        choices = plan.inits_by_theme.get(theme) or inits
        r = rnd()
        if choices and r < 0.5:
            picked = [choices[int(rnd() * len(choices))]]
            if r < 0.15 and len(choices) > 1:
                other = choices[int(rnd() * len(choices))]
                if other != picked[0]:
                    picked.append(other)
            for pos, iid in enumerate(picked):
                i_out(f"{tid}\t{iid}\t{pos}\n" if copy else (tid, iid, pos))
        slow = 5 if rnd() < 0.12 else 1  # a consultation that takes weeks (procurement, governance)

        ev(tid, requester, created, "created", "", number)
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
                ev(tid, requester, t, "status", NEW, CLOSED)
                status, closed_at, last = CLOSED, t, t
                break
            t = due(created, int(expo(1.0 / (0.15 * fr))))
            if t > now:
                break
            if rnd() < 0.7:
                ev(tid, agent, t, "claimed", NEW, agent_name)
            else:  # the lead hands it out
                ev(tid, lead_id, t, "status", NEW, ASSIGNED)
                ev(tid, lead_id, t, "assigned", "", agent_name)
            status, assignee, last = ASSIGNED, agent, t
            t = due(t, int(expo(1.0 / (0.5 * fr)) * (4 if rnd() < 0.05 else 1)) + 1)
            if t > now:
                break
            ev(tid, agent, t, "status", ASSIGNED, IN_PROGRESS)
            mid = next(mids)
            msg(mid, tid, agent, desk_texts[int(rnd() * 256)], t)
            ev(tid, agent, t, "replied", "", mid)
            step = stop(cal, clocks, (FR,), t)
            steps.append(step)
            clocks = step.clocks
            status, last = IN_PROGRESS, t
            if rnd() < 0.3:  # the desk waits for the requester
                t = t + two_min
                if t > now:
                    break
                ev(tid, agent, t, "status", IN_PROGRESS, WAITING)
                step = pause(cal, clocks, t)
                steps.append(step)
                clocks = step.clocks
                status, last = WAITING, t
                if rnd() < 0.04:  # and never hears back: the desk closes it after two weeks
                    t = due(t, 10 * DAY)
                    if t > now:
                        break
                    v = void(clocks, FR, t)
                    step = stop(cal, v.clocks, (RES,), t)
                    steps += (v, step)
                    clocks = step.clocks
                    ev(tid, agent, t, "status", WAITING, CLOSED)
                    status, closed_at, last = CLOSED, t, t
                    break
                t = due(t, int(expo(1.0 / 400)) + 5)
                if t > now:
                    break
                mid = next(mids)
                msg(mid, tid, requester, follow_texts[int(rnd() * 256)], t)
                ev(tid, requester, t, "requester_replied", "", mid)
                ev(tid, requester, t, "status", WAITING, IN_PROGRESS)
                step = resume(cal, clocks, t)
                steps.append(step)
                clocks = step.clocks
                status, last = IN_PROGRESS, t
            if rnd() < 0.003:  # stalled: nobody touches it again
                break
            if rnd() < 0.4:  # a second answer
                t = due(t, int(expo(1.0 / (0.3 * res)) * slow) + 10)
                if t > now:
                    break
                mid = next(mids)
                msg(mid, tid, agent, desk_texts[int(rnd() * 256)], t)
                ev(tid, agent, t, "replied", "", mid)
                last = t
            t = due(t, int(expo(1.0 / (0.35 * res)) * slow) + 15)
            if t > now:
                break
            v = void(clocks, FR, t)
            step = stop(cal, v.clocks, (RES,), t)
            steps += (v, step)
            clocks = step.clocks
            ev(tid, agent, t, "status", IN_PROGRESS, RESOLVED)
            status, resolved_at, last = RESOLVED, t, t
            r = rnd()
            if r < 0.97:  # the requester confirms; else the desk closes it after a week
                by_requester = r < 0.6
                t = due(t, int(expo(1.0 / 800)) + 5 if by_requester else 5 * DAY)
                if t > now:
                    break
                ev(tid, requester if by_requester else agent, t, "status", RESOLVED, CLOSED)
                status, closed_at, last = CLOSED, t, t
            break

        sla_due = None
        for s in steps:
            for e in s.events:
                if copy:
                    s_out(
                        f"{tid}\t{e.target}\t{e.kind}\t{e.at}\t{e.used_minutes}\t{e.target_minutes}\t"
                        f"{ts(e.due_at)}\t{e.note}\n"
                    )
                else:
                    s_out((tid, e.target, e.kind, e.at, e.used_minutes, e.target_minutes, e.due_at, e.note))
        for c in clocks.values():
            check = None
            if c.state == RUNNING:
                check = min(level_instants(rules, c).values())
                if sla_due is None or c.due_at < sla_due:
                    sla_due = c.due_at
            if copy:
                c_out(
                    f"{tid}\t{c.target}\t{c.target_minutes}\t{c.used_minutes}\t{c.state}\t{ts(c.running_since)}\t"
                    f"{ts(c.due_at)}\t{ts(c.stopped_at)}\t{ts(check)}\t{dep}\n"
                )
            else:
                c_out(
                    (
                        tid,
                        c.target,
                        c.target_minutes,
                        c.used_minutes,
                        c.state,
                        c.running_since,
                        c.due_at,
                        c.stopped_at,
                        check,
                        dep,
                    )
                )
        due_date = (created + timedelta(days=7 + int(rnd() * 40))).astimezone(TOKYO).date() if rnd() < 0.25 else None
        if copy:
            t_out(
                f"{tid}\t{number}\t{text}\t{status}\t{prio}\t{theme or NULL}\t{dep}\t{requester}\t"
                f"{ts(assignee)}\t{ts(due_date)}\t{created}\t{last}\t{last}\t{ts(resolved_at)}\t"
                f"{ts(closed_at)}\t{ts(sla_due)}\tf\t\\N\t1\n"
            )
        else:
            t_out(
                (
                    tid,
                    number,
                    *text,
                    status,
                    prio,
                    theme,
                    dep,
                    requester,
                    assignee,
                    due_date,
                    created,
                    last,
                    last,
                    resolved_at,
                    closed_at,
                    sla_due,
                    False,
                    None,
                    1,
                )
            )
    counts = {t: len(v) for t, v in out.items()}
    if copy:
        return {t: "".join(v).encode() for t, v in out.items()}, counts
    return out, counts
