"""Report periods and the small rules reports share: fiscal years (April start, shown
as 令和 and Western years), quarters, months, age buckets, percentiles and safe CSV cells.

Plain Python: the report queries (services) and the tests' independent oracles both
build on these definitions, so "the same period" means the same thing everywhere.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from . import states
from .tz import TOKYO

REIWA_START = 2019  # 令和元年 = 2019

# Age of open consultations in business days: (label, lowest, highest or None).
AGE_BUCKETS = (("0-2", 0, 2), ("3-5", 3, 5), ("6-10", 6, 10), ("11-20", 11, 20), ("21+", 21, None))

# What the report facts count as "reopened" and "left the backlog", defined once here. Two
# places write these in SQL and cite this block: the triggers that keep report_facts
# (migration 0008, spelled out as applied) and the independent recomputation behind
# `swat reports facts --check` and `--rebuild` (services/report_facts.py, built from these
# constants). A change here needs both, and a migration.
REOPEN_EVENT_KIND = "status"
REOPENED_FROM = (states.RESOLVED, states.CLOSED)
REOPENED_TO = states.OPEN_STATUSES


def is_reopening(kind: str, old_value: str | None, new_value: str | None) -> bool:
    """A consultation is reopened when a status event takes it from resolved or closed back
    to an open status (new, assigned, in progress, waiting). Each such event counts once, on
    the Tokyo day of the event, so a ticket reopened twice counts twice."""
    return kind == REOPEN_EVENT_KIND and old_value in REOPENED_FROM and new_value in REOPENED_TO


def left_backlog_at(resolved_at: datetime | None, closed_at: datetime | None) -> datetime | None:
    """When a consultation left the backlog: the earlier of its resolution and its closing
    (whichever is set), None while it has neither. The backlog at the start of a day is the
    consultations filed before it minus those that left it before it. Reopening clears both
    instants, so a reopened consultation is back in the backlog and leaves it again when it
    is next resolved or closed: each consultation has at most one exit, its latest."""
    if resolved_at is None or closed_at is None:
        return resolved_at or closed_at
    return min(resolved_at, closed_at)


def fiscal_year_of(d: date) -> int:
    """FY2020 = 2020-04-01 … 2021-03-31."""
    return d.year if d.month >= 4 else d.year - 1


def reiwa(year: int) -> str:
    """令和 label of a (fiscal) year: 2019 -> 令和元, 2026 -> 令和8."""
    n = year - REIWA_START + 1
    if n < 1:
        raise ValueError("before 令和")
    return "令和元" if n == 1 else f"令和{n}"


@dataclass(frozen=True)
class Period:
    """A span of dates [start, end) in Tokyo, of a kind: month, quarter, fy or range."""

    kind: str
    start: date
    end: date  # exclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def bounds(self) -> tuple[datetime, datetime]:
        """The span as aware instants: Tokyo midnight to Tokyo midnight."""
        return (datetime.combine(self.start, time(0), TOKYO), datetime.combine(self.end, time(0), TOKYO))

    def previous(self) -> Period:
        """The period before, of the same kind (a range: the same number of days before)."""
        if self.kind == "month":
            prev_end = self.start
            prev_start = (self.start.replace(day=1) - timedelta(days=1)).replace(day=1)
            return Period("month", prev_start, prev_end)
        if self.kind == "quarter":
            return Period("quarter", _add_months(self.start, -3), self.start)
        if self.kind == "fy":
            return Period("fy", self.start.replace(year=self.start.year - 1), self.start)
        return Period("range", self.start - timedelta(days=self.days), self.start)

    def key(self) -> str:
        """A compact, parseable id: 2026-11, 2026-Q3 (fiscal), FY2026, 2026-04-01..2026-06-30."""
        if self.kind == "month":
            return f"{self.start.year}-{self.start.month:02d}"
        if self.kind == "quarter":
            return f"FY{fiscal_year_of(self.start)}-Q{_fiscal_quarter(self.start)}"
        if self.kind == "fy":
            return f"FY{self.start.year}"
        return f"{self.start.isoformat()}..{(self.end - timedelta(days=1)).isoformat()}"

    def label_ja(self) -> str:
        if self.kind == "month":
            return f"{self.start.year}年{self.start.month}月"
        if self.kind == "quarter":
            fy = fiscal_year_of(self.start)
            return f"{reiwa(fy)}年度（{fy}年度）第{_fiscal_quarter(self.start)}四半期"
        if self.kind == "fy":
            return f"{reiwa(self.start.year)}年度（{self.start.year}年度）"
        last = self.end - timedelta(days=1)
        return f"{self.start.year}年{self.start.month}月{self.start.day}日〜{last.year}年{last.month}月{last.day}日"

    def label_en(self) -> str:
        if self.kind == "month":
            return self.start.strftime("%B %Y")
        if self.kind == "quarter":
            fy = fiscal_year_of(self.start)
            return f"FY{fy} ({reiwa(fy).replace('令和元', 'Reiwa 1').replace('令和', 'Reiwa ')}) Q{_fiscal_quarter(self.start)}"
        if self.kind == "fy":
            fy = self.start.year
            return f"FY{fy} ({reiwa(fy).replace('令和元', 'Reiwa 1').replace('令和', 'Reiwa ')})"
        last = self.end - timedelta(days=1)
        return f"{self.start.isoformat()} – {last.isoformat()}"


def _add_months(d: date, months: int) -> date:
    m = d.month - 1 + months
    return date(d.year + m // 12, m % 12 + 1, 1)


def whole_months(start: date, end: date) -> tuple[date, date] | None:
    """The calendar months wholly inside [start, end), as (first day, first day after), or
    None when there is none."""
    first = start if start.day == 1 else _add_months(start.replace(day=1), 1)
    after = end.replace(day=1)
    return (first, after) if first < after else None


def _fiscal_quarter(d: date) -> int:
    return ((d.month - 4) % 12) // 3 + 1


def month(year: int, month_: int) -> Period:
    start = date(year, month_, 1)
    return Period("month", start, _add_months(start, 1))


def fiscal_quarter(fy: int, quarter: int) -> Period:
    if quarter not in (1, 2, 3, 4):
        raise ValueError("a fiscal quarter is 1 to 4")
    start = _add_months(date(fy, 4, 1), 3 * (quarter - 1))
    return Period("quarter", start, _add_months(start, 3))


def fiscal_year(fy: int) -> Period:
    return Period("fy", date(fy, 4, 1), date(fy + 1, 4, 1))


class PeriodError(ValueError):
    """A period the reports cannot show, with why: `reason` is one of REASONS, so the page
    can say what to change in the reader's language."""

    REASONS = ("form", "order", "too_long", "outside")

    def __init__(self, reason: str, text: str = "") -> None:
        super().__init__(f"{reason}: {text!r}")
        self.reason = reason


MAX_RANGE_DAYS = 366 * 5


def date_range(first: date, last: date) -> Period:
    """Both days included."""
    if last < first:
        raise PeriodError("order", f"{first}..{last}")
    if (last - first).days > MAX_RANGE_DAYS:
        raise PeriodError("too_long", f"{first}..{last}")
    return Period("range", first, last + timedelta(days=1))


# The periods a report can cover: from FY2019 (令和元年度, the first fiscal year the labels
# name) to FY2099. A report shows its period beside the one before, so both must lie inside.
FIRST_DAY = date(2019, 4, 1)
LAST_DAY = date(2100, 3, 31)


def parse_period(text: str) -> Period:
    """Read a Period.key(): 2026-11, FY2026-Q3, FY2026, 2026-04-01..2026-06-30.

    PeriodError (a ValueError) for anything else, and for a period that (with the one before
    it) does not lie between FIRST_DAY and LAST_DAY: a page, an export or a drill-down list
    never has to handle the edges of the calendar (FY1, 0001-01, 9999-12-31). Its reason says
    which: not one of the forms, a range ending before it starts, a range over five years,
    or outside the supported days.
    """
    text = (text or "").strip()
    try:
        period = _parse(text)
    except PeriodError:
        raise
    except (ValueError, OverflowError) as exc:
        raise PeriodError("form", text) from exc
    if period is None:
        raise PeriodError("form", text)
    if period.end > LAST_DAY + timedelta(days=1):
        raise PeriodError("outside", text)
    try:
        earlier = period.previous()
    except (ValueError, OverflowError) as exc:
        raise PeriodError("outside", text) from exc
    if earlier.start < FIRST_DAY:
        raise PeriodError("outside", text)
    return period


def parse_range(first: str, last: str) -> Period:
    """The days from `first` to `last` (ISO dates, both included) as parse_period reads them:
    the same rules and the same PeriodError reasons."""
    first, last = (first or "").strip(), (last or "").strip()
    if not first or not last or ".." in first + last:
        raise PeriodError("form", f"{first}..{last}")
    return parse_period(f"{first}..{last}")


def supported(period: Period) -> bool:
    """The period can be shown: parse_period reads its key back (with the one before it, it
    lies between FIRST_DAY and LAST_DAY)."""
    try:
        return parse_period(period.key()) == period
    except PeriodError:
        return False


def _parse(text: str) -> Period | None:
    if ".." in text:
        a, b = text.split("..", 1)
        return date_range(date.fromisoformat(a), date.fromisoformat(b))
    if text.startswith("FY") and "-Q" in text:
        fy, q = text[2:].split("-Q", 1)
        return fiscal_quarter(int(fy), int(q))
    if text.startswith("FY"):
        return fiscal_year(int(text[2:]))
    y, m = text.split("-", 1)
    if len(y) == 4 and 1 <= int(m) <= 12:
        return month(int(y), int(m))
    return None


def periods_between(first: date, last: date) -> dict[str, list[Period]]:
    """Every fiscal year, fiscal quarter and month that holds a day from `first` to `last`
    and can be shown (supported), newest first: what a report's picker offers when the
    data starts on `first` and `last` is today."""
    first, last = min(first, last), max(first, last)
    fys = range(fiscal_year_of(first), fiscal_year_of(last) + 1)
    out: dict[str, list[Period]] = {
        "fy": [fiscal_year(fy) for fy in fys],
        "quarter": [fiscal_quarter(fy, q) for fy in fys for q in (1, 2, 3, 4)],
        "month": [],
    }
    m = first.replace(day=1)
    while m <= last:
        out["month"].append(month(m.year, m.month))
        m = _add_months(m, 1)
    return {
        kind: [p for p in reversed(periods) if p.start <= last and p.end > first and supported(p)]
        for kind, periods in out.items()
    }


def age_bucket(business_days: int) -> str:
    for label, lo, hi in AGE_BUCKETS:
        if business_days >= lo and (hi is None or business_days <= hi):
            return label
    return AGE_BUCKETS[0][0]


def percentile(values: Sequence[float], p: float) -> float | None:
    """Linear interpolation between closest ranks (PostgreSQL's percentile_cont)."""
    if not values:
        return None
    xs = sorted(values)
    if len(xs) == 1:
        return float(xs[0])
    pos = (len(xs) - 1) * p
    lo, hi = math.floor(pos), math.ceil(pos)
    return float(xs[lo] + (xs[hi] - xs[lo]) * (pos - lo))


_UNWRITABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def safe_cell(value: object) -> object:
    """A cell that spreadsheet programs will not run as a formula (ASVS 1.2.10): text
    starting with = + - @ tab or CR gets a leading apostrophe. Control characters that
    XLSX cannot hold (text stored before the desk refused them) become U+FFFD."""
    if not isinstance(value, str):
        return value
    value = _UNWRITABLE.sub("\ufffd", value)
    if value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
