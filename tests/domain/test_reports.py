"""Report periods, buckets, percentiles and CSV cells."""

from datetime import date

import pytest

from swat.domain.reports import (
    PeriodError,
    age_bucket,
    date_range,
    fiscal_quarter,
    fiscal_year,
    fiscal_year_of,
    month,
    parse_period,
    parse_range,
    percentile,
    periods_between,
    reiwa,
    safe_cell,
    whole_months,
)


def test_fiscal_years_start_in_april_and_read_in_reiwa():
    assert fiscal_year_of(date(2021, 3, 31)) == 2020 and fiscal_year_of(date(2021, 4, 1)) == 2021
    fy = fiscal_year(2026)
    assert (fy.start, fy.end) == (date(2026, 4, 1), date(2027, 4, 1))
    assert fy.label_ja() == "令和8年度（2026年度）" and fy.label_en() == "FY2026 (Reiwa 8)"
    assert reiwa(2019) == "令和元" and fiscal_year(2019).label_ja() == "令和元年度（2019年度）"
    with pytest.raises(ValueError):
        reiwa(2018)


def test_quarters_months_and_previous_periods():
    q3 = fiscal_quarter(2026, 3)
    assert (q3.start, q3.end) == (date(2026, 10, 1), date(2027, 1, 1))
    assert q3.previous() == fiscal_quarter(2026, 2)
    assert fiscal_quarter(2026, 1).previous() == fiscal_quarter(2025, 4)
    assert fiscal_quarter(2026, 4).start == date(2027, 1, 1)
    assert month(2026, 1).previous() == month(2025, 12)
    assert fiscal_year(2026).previous() == fiscal_year(2025)
    r = date_range(date(2026, 4, 1), date(2026, 4, 10))
    assert r.days == 10 and r.previous() == date_range(date(2026, 3, 22), date(2026, 3, 31))


@pytest.mark.parametrize(
    "period",
    [month(2026, 11), fiscal_quarter(2026, 3), fiscal_year(2026), date_range(date(2026, 4, 1), date(2026, 6, 30))],
)
def test_period_keys_round_trip(period):
    assert parse_period(period.key()) == period


@pytest.mark.parametrize(
    "bad", ["", "2026", "2026-13", "FY-1", "FYabc", "FY2026-Q5", "2026-05-01..2026-04-01", "2020-01-01..2027-01-01"]
)
def test_bad_periods_are_refused(bad):
    with pytest.raises(ValueError):
        parse_period(bad)


@pytest.mark.parametrize(
    "text, reason",
    [
        ("2026-13", "form"),
        ("next year", "form"),
        ("2026-02-30..2026-03-01", "form"),
        ("2026-05-01..2026-04-01", "order"),
        ("2020-01-01..2027-01-01", "too_long"),
        ("FY2019", "outside"),  # the year before it is before April 2019
        ("2100-04", "outside"),
        ("FY2100", "outside"),
    ],
)
def test_a_refused_period_says_why(text, reason):
    with pytest.raises(PeriodError) as refused:
        parse_period(text)
    assert refused.value.reason == reason


def test_a_range_from_two_days():
    assert parse_range("2026-11-02", " 2026-11-15 ") == date_range(date(2026, 11, 2), date(2026, 11, 15))
    for first, last, reason in [
        ("", "2026-11-15", "form"),
        ("2026-11-02", "x", "form"),
        ("2026-11-15", "2026-11-02", "order"),
    ]:
        with pytest.raises(PeriodError) as refused:
            parse_range(first, last)
        assert refused.value.reason == reason
    with pytest.raises(PeriodError):
        parse_range("2026-11-01..2026-11-02", "2026-11-03")


def test_the_periods_between_two_days_are_every_one_that_holds_one_of_them_newest_first():
    found = periods_between(date(2025, 2, 10), date(2026, 5, 3))
    assert [p.key() for p in found["fy"]] == ["FY2026", "FY2025", "FY2024"]
    assert [p.key() for p in found["quarter"]] == [
        "FY2026-Q1",
        "FY2025-Q4",
        "FY2025-Q3",
        "FY2025-Q2",
        "FY2025-Q1",
        "FY2024-Q4",
    ]
    assert [p.key() for p in found["month"]][:3] == ["2026-05", "2026-04", "2026-03"]
    assert found["month"][-1].key() == "2025-02" and len(found["month"]) == 16
    # Only what can be shown: nothing whose previous period starts before April 2019.
    early = periods_between(date(2019, 4, 10), date(2019, 8, 1))
    assert early["fy"] == [] and [p.key() for p in early["quarter"]] == ["FY2019-Q2"]
    assert [p.key() for p in early["month"]] == ["2019-08", "2019-07", "2019-06", "2019-05"]


def test_bounds_are_tokyo_midnights():
    start, end = month(2026, 4).bounds()
    assert start.isoformat() == "2026-04-01T00:00:00+09:00" and end.isoformat() == "2026-05-01T00:00:00+09:00"


@pytest.mark.parametrize(
    "days, bucket",
    [(0, "0-2"), (2, "0-2"), (3, "3-5"), (10, "6-10"), (11, "11-20"), (20, "11-20"), (21, "21+"), (400, "21+")],
)
def test_age_buckets(days, bucket):
    assert age_bucket(days) == bucket


@pytest.mark.parametrize(
    "start, end, months",
    [
        (date(2026, 4, 1), date(2027, 4, 1), (date(2026, 4, 1), date(2027, 4, 1))),  # a fiscal year
        (date(2026, 11, 1), date(2026, 12, 1), (date(2026, 11, 1), date(2026, 12, 1))),  # a month
        (date(2026, 9, 29), date(2026, 11, 21), (date(2026, 10, 1), date(2026, 11, 1))),  # a part either side
        (date(2026, 10, 15), date(2026, 11, 4), None),  # no whole month
        (date(2026, 12, 2), date(2027, 2, 1), (date(2027, 1, 1), date(2027, 2, 1))),  # over the new year
    ],
)
def test_whole_months_inside_a_span(start, end, months):
    assert whole_months(start, end) == months


def test_percentiles_interpolate_like_postgresql():
    assert percentile([], 0.5) is None
    assert percentile([7], 0.9) == 7
    assert percentile([1, 2, 3, 4], 0.5) == 2.5
    assert percentile(list(range(1, 11)), 0.9) == pytest.approx(9.1)


@pytest.mark.parametrize(
    "cell, safe",
    [
        ("=1+1", "'=1+1"),
        ("+81", "'+81"),
        ("-3", "'-3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("普通の文字", "普通の文字"),
        (-3, -3),
    ],
)
def test_csv_cells_are_neutralised(cell, safe):
    assert safe_cell(cell) == safe
