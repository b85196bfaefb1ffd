"""What a report covers: the trend up to today, the periods the picker offers, and whose
consultations it counts."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from swat.domain import reports as rd
from swat.extensions import db
from swat.services import reports, tickets

JST = ZoneInfo("Asia/Tokyo")


def test_the_trend_stops_at_today(make_ticket, users, clock):
    """A fiscal year in progress (today is 2026-11-25) is drawn up to today: no step for the
    months to come, the last one cut at today, its backlog the one of now."""
    clock.set(datetime(2026, 6, 10, 10, 0, tzinfo=JST))
    june = make_ticket("staff_health")
    clock.set(datetime(2026, 11, 24, 10, 0, tzinfo=JST))
    make_ticket("staff_welfare")
    tickets.claim_ticket(db.session, users["agent"], clock.now(), june)
    tickets.change_status(db.session, users["agent"], clock.now(), june, "resolved")
    db.session.commit()
    clock.set(datetime(2026, 11, 25, 10, 0, tzinfo=JST))
    manager = users["manager"]

    steps = reports.trend(db.session, manager, rd.fiscal_year(2026), clock.now())
    assert [s["start"] for s in steps] == [date(2026, m, 1) for m in range(4, 12)]
    assert steps[-1]["end"] == date(2026, 11, 26)  # through today
    assert [(s["opened"], s["resolved"], s["backlog"]) for s in steps] == [
        (0, 0, 0),
        (0, 0, 0),
        (1, 0, 1),
        (0, 0, 1),
        (0, 0, 1),
        (0, 0, 1),
        (0, 0, 1),
        (1, 1, 1),
    ]

    weeks = reports.trend(db.session, manager, rd.month(2026, 11), clock.now())
    assert [(s["start"], s["end"]) for s in weeks][-2:] == [
        (date(2026, 11, 16), date(2026, 11, 23)),
        (date(2026, 11, 23), date(2026, 11, 26)),
    ]
    # A period that has not begun has nothing to draw; one that has ended is drawn whole.
    assert reports.trend(db.session, manager, rd.fiscal_year(2027), clock.now()) == []
    ended = reports.trend(db.session, manager, rd.fiscal_year(2025), clock.now())
    assert len(ended) == 12 and ended[-1]["end"] == date(2026, 4, 1)
    # Just after midnight the new day is today.
    clock.set(datetime(2026, 11, 26, 0, 0, tzinfo=JST) + timedelta(seconds=1))
    assert reports.trend(db.session, manager, rd.month(2026, 11), clock.now())[-1]["end"] == date(2026, 11, 27)


def test_the_periods_offered_start_with_the_first_data_in_the_readers_scope(make_ticket, users, clock):
    from swat.services import report_periods

    manager, head = users["manager"], users["manager_health"]
    today = date(2026, 11, 25)
    # Nothing filed yet: this fiscal year, quarter and month.
    assert report_periods.first_month(db.session, manager) is None
    empty = report_periods.choices(db.session, manager, today)
    assert [p.key() for group in empty.values() for p in group] == ["FY2026", "FY2026-Q3", "2026-11"]
    clock.set(datetime(2025, 3, 31, 23, 30, tzinfo=JST))  # the last half hour of FY2024
    make_ticket("staff_welfare")
    clock.set(datetime(2026, 10, 1, 0, 0, tzinfo=JST))
    make_ticket("staff_health")
    assert report_periods.first_month(db.session, manager) == date(2025, 3, 1)
    assert report_periods.first_month(db.session, head) == date(2026, 10, 1)
    offered = report_periods.choices(db.session, manager, today)
    assert [p.key() for p in offered["fy"]] == ["FY2026", "FY2025", "FY2024"]
    assert offered["quarter"][-1].key() == "FY2024-Q4" and offered["month"][-1].key() == "2025-03"
    own = report_periods.choices(db.session, head, today)
    assert [p.key() for p in own["fy"]] == ["FY2026"] and [p.key() for p in own["month"]] == ["2026-11", "2026-10"]


def test_the_scope_names_a_department_head_s_department_in_both_languages(users):
    from swat.services import report_periods

    assert report_periods.scope(db.session, users["manager"]) is None
    assert report_periods.scope(db.session, users["lead"]) is None
    head = report_periods.scope(db.session, users["manager_health"])
    assert (head.id, head.name, head.name_en) == (
        "health-medical",
        "健康医療部",
        "Department of Health and Medical Care",
    )
