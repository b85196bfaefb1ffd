"""What `swat seed` writes about one consultation: its texts, when it was filed, and its life.

`generate` turns a batch of planned filings into rows for the six tables, living each
consultation through the app's own steps (claim or hand-out, reply, waiting for the
requester, resolve, close), cut off at `now`. Each step is taken the way the services take
it (devdata.steps): the status by the transition table of domain.states, the SLA timers by
domain.lifecycle on the real business calendar. It runs in worker processes on PostgreSQL,
so it takes plain data (a `Plan`) and returns either tuples (SQLite executemany) or ready
COPY text (PostgreSQL).

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
from typing import Any

from ..domain import sla as timers
from ..domain import states
from ..domain.tz import TOKYO
from .steps import Life, Rows
from .texts import POOL

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


def _esc(s: str) -> str:
    """Text as a COPY (text format) field."""
    return s.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")


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
        self._due, self.elapsed = cal.due, cal.elapsed
        self.memo: dict[tuple[datetime, int], datetime] = {}

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
    policies: list[timers.Policy]
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
    # (title, body) per theme; with `copy`, each already joined as COPY text
    pools: dict[str | None, list[Any]]
    desk: list[str]
    follow: list[str]
    copy: bool = False  # COPY text instead of tuples

    def __post_init__(self) -> None:
        if self.copy:  # escaped once here, not per row
            self.pools = {k: [f"{_esc(a)}\t{_esc(b)}" for a, b in v] for k, v in self.pools.items()}
            self.desk = [_esc(s) for s in self.desk]
            self.follow = [_esc(s) for s in self.follow]


TABLES = ("tickets", "ticket_initiatives", "messages", "ticket_events", "ticket_slas", "sla_events")
NULL = "\\N"  # COPY's NULL


def _ts(v) -> str:
    return NULL if v is None else str(v)


def generate(plan: Plan, filed: list[datetime], numbers: list[str], tids, mids, rng_seed: str):
    """Rows for one batch of filings: ({table: tuples or COPY text}, {table: row count}).

    `tids` are the tickets' ids (one each), `mids` at least MAX_MESSAGES ids per ticket for
    the replies. The same inputs give the same rows. This decides what happens when (at
    random, with the desk's rhythm); `steps.Life` does each step the way the services do.
    """
    from ..services.sla import level_instants

    rng = random.Random(rng_seed)
    rnd, expo = rng.random, rng.expovariate
    cal = _Memo(plan.calendar)
    due, rules, now, copy = cal.due, _Rules(cal, plan.warn_ratio), plan.now, plan.copy
    RUNNING, DESK, REQUESTER = timers.RUNNING, states.DESK, states.REQUESTER
    departments, dep_cum, themes, theme_cum = plan.departments, plan.dep_cum, plan.themes, plan.theme_cum
    dep_total, theme_total, n_deps, n_themes = dep_cum[-1], theme_cum[-1], len(departments), len(themes)
    pools, desk_texts, follow_texts, inits = plan.pools, plan.desk, plan.follow, plan.inits
    lead_id = plan.lead[0]
    two_min = timedelta(minutes=2)
    mids = iter(mids)
    out: dict[str, list] = {t: [] for t in TABLES}
    rows = Rows(out, copy)
    t_out, i_out = out["tickets"].append, out["ticket_initiatives"].append
    c_out, s_out = out["ticket_slas"].append, out["sla_events"].append

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
        choices = (plan.inits_by_theme.get(theme) if theme else None) or inits
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

        life = Life(rows, cal, tid, number, requester, created, pol)
        while True:  # the consultation's life, cut off at `now`
            if rnd() < 0.03:  # withdrawn by the requester before anyone answered
                t = due(created, int(expo(2.0 / fr)) + 1)
                if t <= now:
                    life.change_status(requester, t, "close", REQUESTER)
                break
            t = due(created, int(expo(1.0 / (0.15 * fr))))
            if t > now:
                break
            if rnd() < 0.7:
                life.claim(agent, agent_name, t)
            else:  # the lead hands it out
                life.hand_out(lead_id, agent, agent_name, t)
            t = due(t, int(expo(1.0 / (0.5 * fr)) * (4 if rnd() < 0.05 else 1)) + 1)
            if t > now:
                break
            life.change_status(agent, t, "start")
            life.desk_reply(agent, t, next(mids), desk_texts[int(rnd() * 256)])
            if rnd() < 0.3:  # the desk waits for the requester
                t = t + two_min
                if t > now:
                    break
                life.change_status(agent, t, "wait")
                if rnd() < 0.04:  # and never hears back: the desk closes it after two weeks
                    t = due(t, 10 * DAY)
                    if t <= now:
                        life.change_status(agent, t, "close")
                    break
                t = due(t, int(expo(1.0 / 400)) + 5)
                if t > now:
                    break
                life.requester_reply(requester, t, next(mids), follow_texts[int(rnd() * 256)])
            if rnd() < 0.003:  # stalled: nobody touches it again
                break
            if rnd() < 0.4:  # a second answer
                t = due(t, int(expo(1.0 / (0.3 * res)) * slow) + 10)
                if t > now:
                    break
                life.desk_reply(agent, t, next(mids), desk_texts[int(rnd() * 256)])
            t = due(t, int(expo(1.0 / (0.35 * res)) * slow) + 15)
            if t > now:
                break
            life.change_status(agent, t, "resolve")
            r = rnd()
            if r < 0.97:  # the requester confirms; else the desk closes it after a week
                by_requester = r < 0.6
                t = due(t, int(expo(1.0 / 800)) + 5 if by_requester else 5 * DAY)
                if t <= now:
                    if by_requester:
                        life.change_status(requester, t, "close", REQUESTER)
                    else:
                        life.change_status(agent, t, "close", DESK)
            break

        for e in life.sla:
            if copy:
                s_out(
                    f"{tid}\t{e.target}\t{e.kind}\t{e.at}\t{e.used_minutes}\t{e.target_minutes}\t"
                    f"{_ts(e.due_at)}\t{e.note}\n"
                )
            else:
                s_out((tid, e.target, e.kind, e.at, e.used_minutes, e.target_minutes, e.due_at, e.note))
        sla_due = None  # as services.sla._save keeps tickets.sla_due_at: the nearest running due
        for c in life.clocks.values():
            check = None
            if c.state == RUNNING:
                check = min(level_instants(rules, c).values())
                if c.due_at is not None and (sla_due is None or c.due_at < sla_due):
                    sla_due = c.due_at
            if copy:
                c_out(
                    f"{tid}\t{c.target}\t{c.target_minutes}\t{c.used_minutes}\t{c.state}\t{_ts(c.running_since)}\t"
                    f"{_ts(c.due_at)}\t{_ts(c.stopped_at)}\t{_ts(check)}\t{dep}\n"
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
        status, assignee, last = life.status, life.assignee, life.last
        resolved_at, closed_at = life.resolved_at, life.closed_at
        if copy:
            t_out(
                f"{tid}\t{number}\t{text}\t{status}\t{prio}\t{theme or NULL}\t{dep}\t{requester}\t"
                f"{_ts(assignee)}\t{_ts(due_date)}\t{created}\t{last}\t{last}\t{_ts(resolved_at)}\t"
                f"{_ts(closed_at)}\t{_ts(sla_due)}\tf\t\\N\t1\n"
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
