"""The desk's working calendar and business-time arithmetic (the SLA clock's ruler).

Holiday source: `jpholiday` (pure Python, MIT, no dependencies). It and python-holidays
(country "JP") were checked against each other for every day of 2016-2027 and agree: both
have 振替休日 and 国民の休日 (2026-09-22), the 2020 Olympic moves (海の日 7/23, スポーツの日
7/24, 山の日 8/10; 7/20, 8/11 and 10/12 working days) and the 2021 ones (7/22, 7/23, 8/8 plus
the 8/9 substitute; 10/11 a working day). jpholiday wins because it does only Japan, brings
no transitive dependencies (python-holidays needs python-dateutil and ships every country).
Its price: a date's first look-up costs about 0.1 ms (then cached for the process), so the
first use of a year costs ~30 ms; python-holidays builds a year in ~6 ms.

Semantics, in one place:
- An instant is an aware datetime; a naive one is refused (ValueError). Answers are aware
  datetimes in the calendar's zone (Asia/Tokyo by default).
- The desk is open during the half-open window [opens, closes) of each business day, so an
  instant exactly at closing time is closed. Business time accrues continuously, to the
  microsecond, while the desk is open.
- `due(start, m)` is the earliest instant at which m business minutes have passed since
  `start`. For m > 0 that can be exactly closing time (525 minutes from 09:00 is 17:45 the
  same day). For m == 0 it is `start` itself when the desk is open, otherwise the next
  opening instant.
- `elapsed(start, end)` is the business time in [start, end], floored to whole minutes;
  0 when end <= start. `elapsed(s, due(s, m)) == m` for every m, and for m >= 1,
  `due(s, m) <= e` exactly when `elapsed(s, e) >= m`.
- A day's window is taken in the calendar's wall time and measured in real time, so in a
  zone with daylight saving a changeover day is an hour shorter or longer; Asia/Tokyo has none.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jpholiday

from .tz import TOKYO

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_MINUTE_US = 60_000_000

MonthDay = tuple[int, int]


@dataclass(frozen=True, slots=True)
class _Table:
    """Business days of whole years [first_year, last_year], as epoch microseconds.

    `before[i]` / `through[i]` are the business microseconds from the table's start to
    day i's opening / closing, so the business time before any instant in range is one
    bisect away and `due` never walks the days.
    """

    first_year: int
    last_year: int
    opens: list[int]
    closes: list[int]
    before: list[int]
    through: list[int]


def _us(dt: datetime) -> int:
    return (dt - _EPOCH) // _US


def _aware(dt: datetime, name: str) -> datetime:
    if not isinstance(dt, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(dt).__name__}")
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (naive: {dt.isoformat()})")
    return dt


def _plain_date(d: object, name: str) -> date:
    if isinstance(d, datetime) or not isinstance(d, date):
        raise TypeError(f"{name} must hold dates, not {type(d).__name__}")
    return d


def _month_day(md: MonthDay, name: str) -> MonthDay:
    try:
        month, day = md
        date(2000, month, day)  # a leap year, so 02-29 is allowed
    except (TypeError, ValueError):
        raise ValueError(f"{name}: {md!r} is not a (month, day) pair")
    return (month, day)


class BusinessCalendar:
    """Opening hours, closed days, and business time between instants.

    Closed: Saturdays, Sundays, Japanese national holidays (jpholiday, substitute holidays
    and 国民の休日 included), the year-end break (inclusive, may wrap over New Year; None
    for none) and `extra_closed`. `extra_open` dates are business days whatever else
    applies; a date may not be in both.
    """

    def __init__(
        self,
        opens: time = time(9, 0),
        closes: time = time(17, 45),
        tz: str = "Asia/Tokyo",
        year_end: tuple[MonthDay, MonthDay] | None = ((12, 29), (1, 3)),
        extra_closed: Iterable[date] = (),
        extra_open: Iterable[date] = (),
    ) -> None:
        for name, t in (("opens", opens), ("closes", closes)):
            if not isinstance(t, time) or t.tzinfo is not None or t.second or t.microsecond:
                raise ValueError(f"{name} must be a naive time on a whole minute, got {t!r}")
        if not opens < closes:
            raise ValueError(f"opens ({opens:%H:%M}) must be before closes ({closes:%H:%M})")
        try:
            self._tz = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise ValueError(f"unknown time zone {tz!r}")
        if year_end is not None:
            try:
                first, last = year_end
            except (TypeError, ValueError):
                raise ValueError(f"year_end must be ((month, day), (month, day)) or None, got {year_end!r}")
            year_end = (_month_day(first, "year_end"), _month_day(last, "year_end"))
        self.opens, self.closes, self.tz, self.year_end = opens, closes, tz, year_end
        self.extra_closed = frozenset(_plain_date(d, "extra_closed") for d in extra_closed)
        self.extra_open = frozenset(_plain_date(d, "extra_open") for d in extra_open)
        both = self.extra_closed & self.extra_open
        if both:
            raise ValueError(f"dates both closed and open: {', '.join(sorted(map(str, both)))}")
        self._table: _Table | None = None

    def __repr__(self) -> str:
        return (
            f"BusinessCalendar(opens={self.opens:%H:%M}, closes={self.closes:%H:%M}, tz={self.tz!r}, "
            f"year_end={self.year_end!r}, extra_closed={len(self.extra_closed)}, "
            f"extra_open={len(self.extra_open)})"
        )

    # -- days ------------------------------------------------------------------------------

    def _in_year_end(self, d: date) -> bool:
        if self.year_end is None:
            return False
        first, last = self.year_end
        md = (d.month, d.day)
        if first <= last:
            return first <= md <= last
        return md >= first or md <= last  # wraps over New Year

    def is_business_day(self, d: date) -> bool:
        """Whether the desk opens on local date `d` (a date, not a datetime)."""
        d = _plain_date(d, "d")
        if d in self.extra_open:
            return True
        if d in self.extra_closed or d.weekday() >= 5 or self._in_year_end(d):
            return False
        return not jpholiday.is_holiday(d)

    def day_minutes(self) -> int:
        """Minutes from opening to closing on an ordinary business day (525 by default)."""
        return (self.closes.hour * 60 + self.closes.minute) - (self.opens.hour * 60 + self.opens.minute)

    def _build(self, first_year: int, last_year: int) -> _Table:
        opens: list[int] = []
        closes: list[int] = []
        before: list[int] = []
        through: list[int] = []
        total = 0
        d, end = date(first_year, 1, 1), date(last_year, 12, 31)
        one_day = timedelta(days=1)
        while True:
            if self.is_business_day(d):
                o = _us(datetime.combine(d, self.opens, tzinfo=self._tz))
                c = _us(datetime.combine(d, self.closes, tzinfo=self._tz))
                opens.append(o)
                closes.append(c)
                before.append(total)
                total += c - o
                through.append(total)
            if d == end:
                break
            d += one_day
        return _Table(first_year, last_year, opens, closes, before, through)

    def _covering(self, first_year: int, last_year: int) -> _Table:
        """A table that covers the given years; built or widened (with a margin) on demand.

        The table is replaced whole, never mutated, so concurrent readers stay consistent.
        """
        table = self._table
        if table is not None and table.first_year <= first_year and last_year <= table.last_year:
            return table
        lo, hi = first_year - 1, last_year + 1
        if table is not None:
            lo, hi = min(lo, table.first_year), max(hi, table.last_year)
        lo, hi = max(lo, 1), min(hi, 9998)  # jpholiday and datetime stop at 9999
        if first_year < lo or last_year > hi:
            raise OverflowError("business time beyond the years 1-9998")
        table = self._table = self._build(lo, hi)
        return table

    def _local_year(self, dt: datetime) -> int:
        return dt.astimezone(self._tz).year

    @staticmethod
    def _business_before(table: _Table, t: int) -> int:
        """Business microseconds from the table's start up to instant `t` (epoch µs)."""
        i = bisect_right(table.opens, t) - 1
        if i < 0:
            return 0
        return table.before[i] + min(t - table.opens[i], table.closes[i] - table.opens[i])

    def _out(self, t: int) -> datetime:
        return (_EPOCH + timedelta(microseconds=t)).astimezone(self._tz)

    # -- business time ---------------------------------------------------------------------

    def due(self, start: datetime, minutes: int) -> datetime:
        """The earliest instant at which `minutes` business minutes have passed since `start`.

        `minutes` is a whole number >= 0. With 0 the answer is `start` itself, open or closed:
        no time has to pass (a target of 0 is due at once). With more it is the instant the
        last minute is used up, which may be exactly closing time. The answer is aware, in the
        calendar's zone.
        """
        _aware(start, "start")
        if isinstance(minutes, bool) or not isinstance(minutes, int):
            raise TypeError(f"minutes must be an int, not {type(minutes).__name__}")
        if minutes < 0:
            raise ValueError(f"minutes must be >= 0, got {minutes}")
        if minutes == 0:
            return start.astimezone(self._tz)
        s = _us(start)
        year = self._local_year(start)
        last_year = year
        while True:
            table = self._covering(year, last_year)
            target = self._business_before(table, s) + minutes * _MINUTE_US
            j = bisect_left(table.through, target)  # the first day that reaches it
            if j < len(table.through):
                return self._out(table.opens[j] + (target - table.before[j]))
            # Past the table's end: widen it by at least its own span and look again.
            last_year = table.last_year + max(2, table.last_year - table.first_year)

    def elapsed(self, start: datetime, end: datetime) -> int:
        """Business minutes between `start` and `end`, floored to whole minutes; 0 if end <= start."""
        _aware(start, "start")
        _aware(end, "end")
        s, e = _us(start), _us(end)
        if e <= s:
            return 0
        table = self._covering(self._local_year(start), self._local_year(end))
        return (self._business_before(table, e) - self._business_before(table, s)) // _MINUTE_US

    # -- configuration ---------------------------------------------------------------------

    CONFIG_KEYS = ("opens", "closes", "timezone", "year_end_closed", "extra_closed_dates", "extra_open_dates")

    @classmethod
    def from_config(cls, data: Mapping[str, Any]) -> BusinessCalendar:
        """A calendar from settings or reference data; every key optional, defaults as above.

        opens/closes "HH:MM" (or a time), timezone an IANA name, year_end_closed
        ["MM-DD", "MM-DD"] or [] for no break, extra_closed_dates / extra_open_dates lists of
        "YYYY-MM-DD" (or dates, as YAML and TOML load them). Anything else is a ValueError
        that names the key.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"calendar config must be a mapping, not {type(data).__name__}")
        unknown = [k for k in data if k not in cls.CONFIG_KEYS]
        if unknown:
            raise ValueError(f"calendar config: unknown key {unknown[0]!r} (known: {', '.join(cls.CONFIG_KEYS)})")
        kwargs: dict[str, Any] = {}
        for key in ("opens", "closes"):
            if key in data:
                kwargs[key] = _config_time(key, data[key])
        if "timezone" in data:
            if not isinstance(data["timezone"], str):
                raise ValueError(f"calendar config: timezone must be a string, got {data['timezone']!r}")
            kwargs["tz"] = data["timezone"]
        if "year_end_closed" in data:
            kwargs["year_end"] = _config_year_end(data["year_end_closed"])
        for key, arg in (("extra_closed_dates", "extra_closed"), ("extra_open_dates", "extra_open")):
            if key in data:
                kwargs[arg] = _config_dates(key, data[key])
        try:
            return cls(**kwargs)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"calendar config: {exc}")


_HHMM = re.compile(r"(\d{2}):(\d{2})")
_MMDD = re.compile(r"(\d{2})-(\d{2})")


def _config_time(key: str, value: object) -> time:
    if isinstance(value, time):
        return value
    m = _HHMM.fullmatch(value) if isinstance(value, str) else None
    if m is None or int(m[1]) > 23 or int(m[2]) > 59:
        # An unquoted 17:45 in YAML arrives as the integer 1065 (base 60).
        raise ValueError(f'calendar config: {key} must be "HH:MM" (quoted in YAML), got {value!r}')
    return time(int(m[1]), int(m[2]))


def _config_year_end(value: object) -> tuple[MonthDay, MonthDay] | None:
    if isinstance(value, list | tuple) and not value:
        return None
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueError(f'calendar config: year_end_closed must be ["MM-DD", "MM-DD"] or [], got {value!r}')
    out = []
    for item in value:
        m = _MMDD.fullmatch(item) if isinstance(item, str) else None
        if m is None:
            raise ValueError(f'calendar config: year_end_closed items must be "MM-DD", got {item!r}')
        out.append(_month_day((int(m[1]), int(m[2])), "calendar config: year_end_closed"))
    return (out[0], out[1])


def _config_dates(key: str, value: object) -> list[date]:
    if not isinstance(value, list | tuple):
        raise ValueError(f'calendar config: {key} must be a list of "YYYY-MM-DD", got {value!r}')
    out = []
    for item in value:
        if isinstance(item, date) and not isinstance(item, datetime):
            out.append(item)
            continue
        try:
            if not isinstance(item, str) or len(item) != 10:
                raise ValueError
            out.append(date.fromisoformat(item))
        except ValueError:
            raise ValueError(f'calendar config: {key} items must be "YYYY-MM-DD", got {item!r}')
    return out


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant ("2026-09-24T09:30", "…+09:00", "…Z"); naive text is Asia/Tokyo time.

    Raises ValueError on anything else. A bare date means its midnight.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_instant needs a string, not {type(text).__name__}")
    try:
        dt = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"not an ISO 8601 date-time: {text!r}")
    return dt.replace(tzinfo=TOKYO) if dt.tzinfo is None else dt


def format_instant(dt: datetime) -> str:
    """ISO 8601 in Asia/Tokyo to the second, e.g. "2026-09-24T09:30:00+09:00".

    Fractions of a second are cut, not rounded. Naive input is a ValueError.
    """
    return _aware(dt, "dt").astimezone(TOKYO).isoformat(timespec="seconds")
