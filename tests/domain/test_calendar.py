"""The working calendar: fixed cases from the issue, and properties against a minute-by-minute reference."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import cache

import jpholiday
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swat.domain.calendar import TOKYO, BusinessCalendar, format_instant, parse_instant

CAL = BusinessCalendar()
DAY = 525


def jst(*args: int) -> datetime:
    return datetime(*args, tzinfo=TOKYO)


# -- fixed examples ---------------------------------------------------------------------------


def test_silver_week_2026_from_the_issue():
    # Fri 17:15 has 30 minutes left; Mon 21 敬老の日, Tue 22 国民の休日, Wed 23 秋分の日.
    start = jst(2026, 9, 18, 17, 15)
    assert CAL.due(start, 60) == jst(2026, 9, 24, 9, 30)
    assert CAL.elapsed(start, jst(2026, 9, 24, 9, 30)) == 60
    assert [CAL.is_business_day(date(2026, 9, d)) for d in range(18, 25)] == [
        True,
        False,
        False,
        False,
        False,
        False,
        True,
    ]


def test_golden_week_2026():
    closed = {
        date(2026, 4, 29),
        date(2026, 5, 2),
        date(2026, 5, 3),
        date(2026, 5, 4),
        date(2026, 5, 5),
        date(2026, 5, 6),
    }  # 5/6 is the 振替休日 for 憲法記念日 on a Sunday
    for n in range(14):
        d = date(2026, 4, 27) + timedelta(days=n)
        assert CAL.is_business_day(d) == (d not in closed and d.weekday() < 5), d
    assert CAL.due(jst(2026, 4, 28, 17, 0), 60) == jst(2026, 4, 30, 9, 15)
    assert CAL.due(jst(2026, 5, 1, 17, 30), 30) == jst(2026, 5, 7, 9, 15)


def test_year_end_break():
    assert CAL.due(jst(2026, 12, 28, 17, 0), 60) == jst(2027, 1, 4, 9, 15)
    assert not any(CAL.is_business_day(date(2026, 12, 29) + timedelta(days=n)) for n in range(6))
    assert CAL.is_business_day(date(2027, 1, 4))  # Monday
    assert BusinessCalendar(year_end=None).is_business_day(date(2026, 12, 29))


def test_olympic_moves_2020():
    for d in (date(2020, 7, 23), date(2020, 7, 24), date(2020, 8, 10)):
        assert not CAL.is_business_day(d), d
    # The days the holidays would normally have fallen on are working days.
    for d in (date(2020, 7, 20), date(2020, 8, 11), date(2020, 10, 12)):
        assert CAL.is_business_day(d), d
    assert CAL.due(jst(2020, 7, 22, 17, 0), 60) == jst(2020, 7, 27, 9, 15)


def test_olympic_moves_2021():
    for d in (date(2021, 7, 22), date(2021, 7, 23), date(2021, 8, 9)):
        assert not CAL.is_business_day(d), d
    for d in (date(2021, 7, 19), date(2021, 8, 11), date(2021, 10, 11)):
        assert CAL.is_business_day(d), d


def test_weekend():
    assert CAL.due(jst(2026, 11, 6, 17, 40), 10) == jst(2026, 11, 9, 9, 5)
    assert CAL.due(jst(2026, 11, 7, 12, 0), 0) == jst(2026, 11, 7, 12, 0)  # a target of 0 is due at once
    assert CAL.elapsed(jst(2026, 11, 7, 0, 0), jst(2026, 11, 8, 23, 59)) == 0


def test_extra_closed_and_extra_open():
    cal = BusinessCalendar(extra_closed=[date(2026, 11, 9)], extra_open=[date(2026, 11, 7)])
    assert not cal.is_business_day(date(2026, 11, 9))
    assert cal.is_business_day(date(2026, 11, 7))  # a Saturday duty day
    assert cal.due(jst(2026, 11, 6, 17, 40), 10) == jst(2026, 11, 7, 9, 5)
    assert cal.due(jst(2026, 11, 7, 17, 40), 10) == jst(2026, 11, 10, 9, 5)
    with pytest.raises(ValueError, match="2026-11-09"):
        BusinessCalendar(extra_closed=[date(2026, 11, 9)], extra_open=[date(2026, 11, 9)])


def test_elapsed_across_a_holiday():
    # Tue 2026-11-03 文化の日: Mon 17:00 -> Wed 10:00 is 45 + 60 minutes.
    assert CAL.elapsed(jst(2026, 11, 2, 17, 0), jst(2026, 11, 4, 10, 0)) == 105
    assert CAL.elapsed(jst(2026, 11, 4, 10, 0), jst(2026, 11, 2, 17, 0)) == 0


def test_boundaries_and_closing_time():
    assert CAL.day_minutes() == DAY
    assert CAL.due(jst(2026, 9, 18, 9, 0), DAY) == jst(2026, 9, 18, 17, 45)  # may be closing time
    assert CAL.due(jst(2026, 9, 18, 9, 0), DAY + 1) == jst(2026, 9, 24, 9, 1)
    # A target of 0 is due at once, open or closed (18:59 does not wait for the next opening).
    assert CAL.due(jst(2026, 9, 18, 17, 45), 0) == jst(2026, 9, 18, 17, 45)
    assert CAL.due(jst(2026, 9, 18, 17, 44, 59), 0) == jst(2026, 9, 18, 17, 44, 59)
    assert CAL.due(jst(2026, 9, 18, 8, 0), 0) == jst(2026, 9, 18, 8, 0)
    assert CAL.due(jst(2026, 9, 18, 18, 59), 0) == jst(2026, 9, 18, 18, 59)
    assert CAL.due(datetime(2026, 9, 18, 9, 59, tzinfo=UTC), 0) == jst(2026, 9, 18, 18, 59)
    assert CAL.elapsed(jst(2026, 9, 18, 0, 0), jst(2026, 9, 19, 0, 0)) == DAY


def test_seconds_accrue_continuously():
    start = jst(2026, 9, 18, 9, 0, 30)
    assert CAL.due(start, 1) == jst(2026, 9, 18, 9, 1, 30)
    assert CAL.elapsed(start, jst(2026, 9, 18, 9, 1, 29)) == 0  # floored
    assert CAL.elapsed(start, jst(2026, 9, 18, 9, 1, 30)) == 1
    # 30 seconds are left on Friday; the rest of the minute is Thursday's first 30 seconds.
    assert CAL.due(jst(2026, 9, 18, 17, 44, 30), 1) == jst(2026, 9, 24, 9, 0, 30)
    assert CAL.due(jst(2026, 9, 18, 9, 0, 0, 250), 2) == jst(2026, 9, 18, 9, 2, 0, 250)


def test_any_zone_in_tokyo_out():
    start = datetime(2026, 9, 18, 8, 15, tzinfo=UTC)  # 17:15 JST
    got = CAL.due(start, 60)
    assert got == jst(2026, 9, 24, 9, 30) and got.utcoffset() == timedelta(hours=9)
    assert CAL.elapsed(start, datetime(2026, 9, 24, 9, 30, tzinfo=timezone(timedelta(hours=9)))) == 60


def test_bad_arguments():
    with pytest.raises(ValueError, match="aware"):
        CAL.due(datetime(2026, 9, 18, 9, 0), 1)
    with pytest.raises(ValueError, match="aware"):
        CAL.elapsed(jst(2026, 9, 18, 9, 0), datetime(2026, 9, 18, 10, 0))
    with pytest.raises(ValueError, match=">= 0"):
        CAL.due(jst(2026, 9, 18, 9, 0), -1)
    with pytest.raises(TypeError):
        CAL.due(jst(2026, 9, 18, 9, 0), 1.5)
    with pytest.raises(TypeError):
        CAL.is_business_day(jst(2026, 9, 18, 9, 0))
    with pytest.raises(ValueError, match="before"):
        BusinessCalendar(opens=time(18, 0), closes=time(9, 0))
    with pytest.raises(ValueError, match="zone"):
        BusinessCalendar(tz="Asia/Nowhere")
    with pytest.raises(ValueError, match="year_end"):
        BusinessCalendar(year_end=((2, 30), (1, 3)))


def test_other_hours_and_a_wrapping_free_year_end():
    cal = BusinessCalendar(opens=time(8, 30), closes=time(17, 15), year_end=((12, 29), (12, 31)))
    assert cal.day_minutes() == 525
    assert cal.is_business_day(date(2027, 1, 4)) and not cal.is_business_day(date(2026, 12, 31))
    assert cal.due(jst(2026, 12, 28, 17, 0), 30) == jst(2027, 1, 4, 8, 45)  # 1/1 is 元日; 1/2-3 a weekend


def test_years_outside_the_table_extend_it():
    cal = BusinessCalendar()
    assert cal.due(jst(2026, 9, 18, 17, 15), 60) == jst(2026, 9, 24, 9, 30)
    start = jst(2026, 9, 18, 9, 0)
    far = cal.due(start, 3 * 245 * DAY)  # about three years on, past the table built so far
    assert far.year == 2029 and cal.elapsed(start, far) == 3 * 245 * DAY
    assert cal.due(jst(2017, 12, 28, 17, 0), 60) == jst(2018, 1, 4, 9, 15)
    assert cal.elapsed(jst(2017, 12, 28, 17, 0), jst(2026, 9, 24, 9, 30)) > 2000 * DAY


# -- from_config ------------------------------------------------------------------------------


def test_from_config_defaults_and_values():
    assert CAL.due(jst(2026, 9, 18, 17, 15), 60) == BusinessCalendar.from_config({}).due(jst(2026, 9, 18, 17, 15), 60)
    cal = BusinessCalendar.from_config(
        {
            "opens": "08:30",
            "closes": "17:15",
            "timezone": "Asia/Tokyo",
            "year_end_closed": [],
            "extra_closed_dates": ["2026-12-28", date(2026, 12, 25)],
            "extra_open_dates": ["2026-12-29"],
        }
    )
    assert cal.opens == time(8, 30) and cal.closes == time(17, 15) and cal.year_end is None
    assert not cal.is_business_day(date(2026, 12, 28)) and not cal.is_business_day(date(2026, 12, 25))
    assert cal.is_business_day(date(2026, 12, 29)) and cal.is_business_day(date(2026, 12, 30))
    assert BusinessCalendar.from_config({"year_end_closed": ["12-28", "01-04"]}).year_end == ((12, 28), (1, 4))


@pytest.mark.parametrize(
    "data, key",
    [
        ({"open": "09:00"}, "'open'"),
        ({"opens": "9:00"}, "opens"),
        ({"closes": 1065}, "closes"),  # YAML's reading of an unquoted 17:45
        ({"opens": "25:00"}, "opens"),
        ({"opens": "18:00"}, "before"),
        ({"timezone": "Mars/Olympus"}, "zone"),
        ({"timezone": 9}, "timezone"),
        ({"year_end_closed": ["12-29"]}, "year_end_closed"),
        ({"year_end_closed": ["12-29", "1-3"]}, "year_end_closed"),
        ({"year_end_closed": ["12-29", "02-30"]}, "year_end_closed"),
        ({"year_end_closed": "12-29..01-03"}, "year_end_closed"),
        ({"extra_closed_dates": "2026-12-28"}, "extra_closed_dates"),
        ({"extra_closed_dates": ["2026-02-30"]}, "extra_closed_dates"),
        ({"extra_open_dates": ["20261228"]}, "extra_open_dates"),
        ({"extra_open_dates": [datetime(2026, 12, 28)]}, "extra_open_dates"),
        ({"extra_closed_dates": ["2026-12-28"], "extra_open_dates": ["2026-12-28"]}, "both"),
    ],
)
def test_from_config_rejects(data, key):
    with pytest.raises(ValueError, match=key):
        BusinessCalendar.from_config(data)


# -- parse / format ---------------------------------------------------------------------------


def test_parse_and_format_instant():
    assert parse_instant("2026-09-24T09:30") == jst(2026, 9, 24, 9, 30)
    assert parse_instant(" 2026-09-24T00:30:00Z ") == jst(2026, 9, 24, 9, 30)
    assert parse_instant("2026-09-24T09:30:00+09:00").utcoffset() == timedelta(hours=9)
    assert format_instant(jst(2026, 9, 24, 9, 30)) == "2026-09-24T09:30:00+09:00"
    assert format_instant(datetime(2026, 9, 24, 0, 30, 5, 999999, tzinfo=UTC)) == "2026-09-24T09:30:05+09:00"
    assert format_instant(parse_instant("2026-09-24T09:30")) == "2026-09-24T09:30:00+09:00"
    with pytest.raises(ValueError):
        parse_instant("next thursday")
    with pytest.raises(ValueError):
        format_instant(datetime(2026, 9, 24, 9, 30))


# -- the reference: one minute at a time, in Tokyo wall-clock minutes (Tokyo has no DST) ----------

BASE = datetime(2019, 12, 1)  # naive Tokyo wall time; minute index 0
OPEN_MIN, CLOSE_MIN = 9 * 60, 17 * 60 + 45


@cache
def ref_open_day(day_index: int) -> bool:
    d = (BASE + timedelta(days=day_index)).date()
    year_end = (d.month == 12 and d.day >= 29) or (d.month == 1 and d.day <= 3)
    return d.weekday() < 5 and not year_end and not jpholiday.is_holiday(d)


def ref_open_minute(i: int) -> bool:
    day, minute = divmod(i, 1440)
    return OPEN_MIN <= minute < CLOSE_MIN and ref_open_day(day)


def ref_due(i: int, minutes: int) -> int:
    for _ in range(minutes):
        while not ref_open_minute(i):
            i += 1
        i += 1
    return i


def ref_elapsed(i: int, j: int) -> int:
    return sum(1 for k in range(i, j) if ref_open_minute(k))


def to_dt(i: int) -> datetime:
    return (BASE + timedelta(minutes=i)).replace(tzinfo=TOKYO)


def index(dt: datetime) -> int:
    return (dt.astimezone(TOKYO).replace(tzinfo=None) - BASE) // timedelta(minutes=1)


FIRST = index(jst(2020, 1, 1))
LAST = index(jst(2027, 12, 31, 23, 59))
# Dates where the rules bite: Golden Week, year-end, the Olympic moves, 2026's Silver Week.
ANCHORS = [
    index(jst(*d))
    for d in [
        (2020, 4, 28),
        (2020, 7, 21),
        (2020, 8, 7),
        (2020, 10, 9),
        (2020, 12, 28),
        (2021, 4, 28),
        (2021, 7, 20),
        (2021, 8, 6),
        (2021, 10, 8),
        (2021, 12, 28),
        (2022, 12, 28),
        (2023, 4, 28),
        (2024, 12, 27),
        (2025, 5, 2),
        (2026, 4, 28),
        (2026, 9, 18),
        (2026, 12, 28),
        (2027, 12, 28),
    ]
]

minute_starts = st.one_of(
    st.integers(FIRST, LAST),
    st.builds(lambda a, off: a + off, st.sampled_from(ANCHORS), st.integers(-2 * 1440, 4 * 1440)),
    # Right at opening or closing time, and a minute either side.
    st.builds(
        lambda day, m: FIRST + day * 1440 + m,
        st.integers(0, (LAST - FIRST) // 1440),
        st.sampled_from([OPEN_MIN - 1, OPEN_MIN, OPEN_MIN + 1, CLOSE_MIN - 1, CLOSE_MIN, CLOSE_MIN + 1]),
    ),
)


@settings(max_examples=300, deadline=None, database=None)
@given(start=minute_starts, minutes=st.integers(0, 3 * DAY))
def test_due_matches_the_minute_by_minute_reference(start, minutes):
    assert CAL.due(to_dt(start), minutes) == to_dt(ref_due(start, minutes))


@settings(max_examples=300, deadline=None, database=None)
@given(start=minute_starts, span=st.integers(-1440, 8 * 1440))
def test_elapsed_matches_the_minute_by_minute_reference(start, span):
    expected = ref_elapsed(start, start + span) if span > 0 else 0
    assert CAL.elapsed(to_dt(start), to_dt(start + span)) == expected


# Any instant, to the microsecond, 2020-2027.
instants = st.builds(lambda i, us: to_dt(i) + timedelta(microseconds=us), minute_starts, st.integers(0, 60_000_000 - 1))


@settings(max_examples=300, deadline=None, database=None)
@given(start=instants, minutes=st.integers(0, 60 * DAY))
def test_due_and_elapsed_are_inverse_over_long_spans(start, minutes):
    got = CAL.due(start, minutes)
    assert got >= start and got.utcoffset() == timedelta(hours=9)
    assert CAL.elapsed(start, got) == minutes
    if minutes:
        local = got.time()
        assert CAL.is_business_day(got.date()) and time(9, 0) <= local <= time(17, 45)
        # The earliest such instant: a microsecond earlier, a minute has not yet passed.
        assert CAL.elapsed(start, got - timedelta(microseconds=1)) == minutes - 1
    else:
        assert got == start


@settings(max_examples=300, deadline=None, database=None)
@given(start=instants, span_us=st.integers(-86_400_000_000, 10 * 86_400_000_000), minutes=st.integers(1, 3 * DAY))
def test_due_is_at_or_before_end_exactly_when_enough_time_elapsed(start, span_us, minutes):
    end = start + timedelta(microseconds=span_us)
    assert (CAL.due(start, minutes) <= end) == (CAL.elapsed(start, end) >= minutes)
