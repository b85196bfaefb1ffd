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
