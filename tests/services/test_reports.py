"""Report figures against an independent oracle: the definitions applied row by row in Python.

The fixture is built through the real services with a moving clock (filing, replies,
waiting, resolving, reopening, closing over two months), so the stored facts are the
ones the product writes; the oracle then reads plain rows and counts by hand.
"""

import random
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from swat.domain import reports as rd
from swat.extensions import db
from swat.models import Ticket, TicketEvent, TicketSla, User
from swat.models.report import COUNTERS
from swat.services import report_breakdowns, report_facts, report_times, reports, routing, tickets

JST = ZoneInfo("Asia/Tokyo")


@pytest.fixture
def history(users, clock, store, limits):
    rng = random.Random(7)
    clock.set(datetime(2026, 9, 28, 9, 30, tzinfo=JST))
    requesters = ["staff_health", "staff_health2", "staff_welfare"]
    made = []
    for _ in range(45):
        clock.advance(hours=rng.choice([10, 20, 30, 50, 70]))
        t = tickets.file_consultation(
            db.session,
            users[rng.choice(requesters)],
            clock.now(),
            title="相談",
            body="本文",
            theme_id=rng.choice([None, "telework", "healthcare"]),
            initiative_ids=rng.choice([[], [], ["sns-consultation"], ["smartphone-apps", "cashless"]]),
            priority=rng.choice(["urgent", "high", "normal", "low"]),
            due_date=None,
            files=[],
            store=store,
            limits=limits,
        )
        db.session.commit()
        made.append(t)
        for older in rng.sample(made, min(3, len(made))):
            db.session.refresh(older)
            step = rng.random()
            agent = users[rng.choice(["agent", "agent2"])]
            try:
                if older.status == "new":
                    tickets.claim_ticket(db.session, agent, clock.now(), older)
                elif older.status in ("assigned", "in_progress") and step < 0.4:
                    tickets.add_reply(db.session, agent, clock.now(), older, "回答", [], store, limits)
                elif older.status in ("assigned", "in_progress") and step < 0.55:
                    tickets.change_status(db.session, agent, clock.now(), older, "waiting")
                elif older.status == "waiting":
                    tickets.change_status(db.session, agent, clock.now(), older, "in_progress")
                elif older.status in ("assigned", "in_progress"):
                    tickets.change_status(db.session, agent, clock.now(), older, "resolved")
                elif older.status == "resolved" and step < 0.3:
                    tickets.reopen_ticket(db.session, agent, clock.now(), older)
                elif older.status == "resolved":
                    tickets.close_ticket(db.session, agent, clock.now(), older)
                # Every breakdown key changes now and then: urgency, assignee, theme and initiatives.
                if older.status in ("assigned", "in_progress", "waiting") and rng.random() < 0.3:
                    tickets.change_priority(db.session, agent, clock.now(), older, rng.choice(["urgent", "low"]))
                    tickets.assign_ticket(
                        db.session, users["lead"], clock.now(), older, users[rng.choice(["agent", "agent2"])].id
                    )
                    routing.decide_triage(
                        db.session,
                        users["lead"],
                        clock.now(),
                        older,
                        theme_id=rng.choice(["data", "telework", None]),
                        initiative_ids=rng.choice([[], ["drones"], ["cashless", "smart-school"]]),
                        assignee_id=older.assignee_id,
                    )
                db.session.commit()
            except Exception:
                db.session.rollback()
    clock.advance(hours=5)
    return clock.now()


def oracle(actor, period, now):
    start, end = period.bounds()
    rows = [
        t
        for t in db.session.scalars(select(Ticket))
        if actor.role != "manager" or actor.department_id in (None, t.department_id)
    ]
    ids = {t.id for t in rows}
    f = {
        "opened": sum(start <= t.created_at < end for t in rows),
        "resolved": sum(t.resolved_at is not None and start <= t.resolved_at < end for t in rows),
        "backlog": sum(
            t.created_at < end
            and not (t.resolved_at and t.resolved_at < end)
            and not (t.closed_at and t.closed_at < end)
            for t in rows
        ),
    }
    clocks = [c for c in db.session.scalars(select(TicketSla)) if c.ticket_id in ids]
    for target, prefix in (("first_response", "fr"), ("resolution", "res")):
        ended = [
            c for c in clocks if c.target == target and c.state in ("met", "missed") and start <= c.stopped_at < end
        ]
        overdue = [
            c for c in clocks if c.target == target and c.state == "running" and start <= c.due_at < min(end, now)
        ]
        f[f"{prefix}_due"] = len(ended) + len(overdue)
        f[f"{prefix}_met"] = sum(c.state == "met" for c in ended)
        used = [c.used_minutes for c in ended]
        for p, name in ((0.5, "median"), (0.9, "p90")):
            value = rd.percentile(used, p)
            f[f"{prefix}_{name}_h"] = None if value is None else round(value / 60, 1)
    f["reopened"] = sum(
        1
        for e in db.session.scalars(select(TicketEvent))
        if e.ticket_id in ids
        and e.kind == "status"
        and e.old_value in ("resolved", "closed")
        and e.new_value in ("new", "assigned", "in_progress", "waiting")
        and start <= e.at < end
    )
    return f


# The desk-wide times of whole months come from report_time_counts, part months from the
# clocks: the last range is part of September, all of October and part of November.
@pytest.mark.parametrize(
    "period",
    [
        rd.month(2026, 10),
        rd.month(2026, 11),
        rd.fiscal_quarter(2026, 3),
        rd.fiscal_year(2026),
        rd.date_range(date(2026, 10, 15), date(2026, 11, 3)),
        rd.date_range(date(2026, 9, 29), date(2026, 11, 20)),
    ],
)
@pytest.mark.parametrize("who", ["manager", "manager_health"])
def test_figures_match_the_oracle(history, users, period, who):
    actor = db.session.get(User, users[who].id)
    got = reports.figures(db.session, actor, period, history)
    want = oracle(actor, period, history)
    assert want["opened"] > 0 or period.kind == "range"
    for key, value in want.items():
        assert getattr(got, key) == value, key


@pytest.mark.parametrize("case", range(40))
def test_the_database_finds_the_same_percentiles(ctx, case):
    """report_times.ranked ranks (key, value, count) rows in SQL, each key on its own; per key it
    must give what the plain percentile gives over the values spelled out, repeated values
    and a value split over several rows included."""
    from sqlalchemy import literal, union_all

    rng = random.Random(case)
    rows = [
        (rng.choice("abc"), rng.randint(0, 60 if case % 2 else 100_000), rng.randint(1, 4))
        for _ in range(rng.randint(1, 60))
    ]
    counts = union_all(
        *[select(literal(k).label("k"), literal(v).label("v"), literal(n).label("n")) for k, v, n in rows]
    )
    want = {}
    for k in sorted({k for k, _, _ in rows}):
        values = [v for key, v, n in rows if key == k for _ in range(n)]
        want[k] = (rd.percentile(values, 0.5), rd.percentile(values, 0.9))
    assert report_times.ranked(db.session, counts) == want


def test_fourteen_clocks_give_the_plain_p90(ctx):
    """A count where (n - 1) x 9 / 10 and (n - 1) x 0.9 differ in the last bit: the p90 must
    still be the plain percentile's, or 9 minutes shows as 0.1 h on one page and 0.2 h on
    another."""
    from sqlalchemy import literal, union_all

    values = [0] * 11 + [2, 12, 12]
    counts = union_all(*[select(literal("").label("k"), literal(v).label("v"), literal(1).label("n")) for v in values])
    assert report_times.ranked(db.session, counts) == {"": (rd.percentile(values, 0.5), rd.percentile(values, 0.9))}


def test_minute_counts_follow_any_change_to_a_clock(history):
    """Whatever a statement changes on stopped clocks, the triggers keep the minute counts
    equal to the clocks: minutes, stop time (across a month), state, the target itself,
    several rows at once, deletion."""
    from sqlalchemy import delete, update

    def agree():
        assert report_facts.stored_time_counts(db.session) == report_facts.computed_time_counts(db.session)

    stopped = db.session.scalars(
        select(TicketSla).where(TicketSla.state.in_(("met", "missed"))).order_by(TicketSla.ticket_id, TicketSla.target)
    ).all()
    assert len(stopped) >= 6
    keys = [(c.ticket_id, c.target) for c in stopped]

    def where(i):
        return (TicketSla.ticket_id == keys[i][0]) & (TicketSla.target == keys[i][1])

    agree()
    db.session.execute(update(TicketSla).where(where(0)).values(used_minutes=TicketSla.used_minutes + 7))
    agree()
    db.session.execute(update(TicketSla).where(where(1)).values(stopped_at=datetime(2026, 12, 1, 0, 30, tzinfo=JST)))
    agree()
    db.session.execute(update(TicketSla).where(where(2)).values(state="running"))
    agree()
    db.session.execute(update(TicketSla).where(where(3)).values(target="legacy"))
    keys[3] = (keys[3][0], "legacy")
    agree()
    db.session.execute(
        update(TicketSla).where(TicketSla.state.in_(("met", "missed"))).values(used_minutes=TicketSla.used_minutes * 2)
    )
    agree()
    db.session.execute(delete(TicketSla).where(where(4)))
    agree()
    db.session.rollback()


def test_no_clocks_no_percentiles(ctx):
    from sqlalchemy import literal

    empty = select(literal(1).label("v"), literal(1).label("n")).where(literal(1) == 0)
    assert report_times.median_p90(db.session, empty) == (None, None)


def test_stored_facts_match_the_tickets(history):
    """The triggers kept report_facts equal to a fresh computation through every change."""
    kinds = set(db.session.scalars(select(TicketEvent.kind)))
    assert {"priority", "assigned", "theme", "initiatives", "claimed", "replied"} <= kinds
    assert report_facts.stored(db.session)
    assert report_facts.check(db.session) == []
    before = report_facts.stored(db.session)
    report_facts.rebuild(db.session)
    assert report_facts.stored(db.session) == before


def oracle_keys(dimension):
    """A ticket's keys in one breakdown, read off its plain columns (initiative: its links)."""
    from swat.models import TicketInitiative

    links = {}
    for link in db.session.scalars(select(TicketInitiative)):
        links.setdefault(link.ticket_id, []).append(link.initiative_id)
    return {
        "department": lambda t: [t.department_id],
        "theme": lambda t: [t.theme_id or ""],
        "priority": lambda t: [str(t.priority)],
        "member": lambda t: [str(t.assignee_id or "")],
        "initiative": lambda t: links.get(t.id, []),
    }[dimension]


def breakdown_oracle(actor, period, now, dimension):
    """Per breakdown key, the same definitions applied by hand to the rows of that key."""
    keys_of = oracle_keys(dimension)
    start, end = period.bounds()
    tickets_ = [
        t
        for t in db.session.scalars(select(Ticket))
        if actor.role != "manager" or actor.department_id in (None, t.department_id)
    ]
    clocks = {}
    for c in db.session.scalars(select(TicketSla)):
        clocks.setdefault(c.ticket_id, []).append(c)
    events = {}
    for e in db.session.scalars(select(TicketEvent)):
        events.setdefault(e.ticket_id, []).append(e)
    out = {}
    for t in tickets_:
        for key in keys_of(t):
            row = out.setdefault(
                key,
                {
                    "opened": 0,
                    "resolved": 0,
                    "backlog": 0,
                    "fr_met": 0,
                    "fr_due": 0,
                    "res_met": 0,
                    "res_due": 0,
                    "res_used": [],
                    "reopened": 0,
                },
            )
            row["opened"] += start <= t.created_at < end
            row["resolved"] += t.resolved_at is not None and start <= t.resolved_at < end
            row["backlog"] += (
                t.created_at < end
                and not (t.resolved_at and t.resolved_at < end)
                and not (t.closed_at and t.closed_at < end)
            )
            for c in clocks.get(t.id, []):
                prefix = "fr" if c.target == "first_response" else "res"
                ended = c.state in ("met", "missed") and start <= c.stopped_at < end
                overdue = c.state == "running" and start <= c.due_at < min(end, now)
                row[f"{prefix}_due"] += ended or overdue
                row[f"{prefix}_met"] += ended and c.state == "met"
                if ended and prefix == "res":
                    row["res_used"].append(c.used_minutes)
            row["reopened"] += sum(
                1
                for e in events.get(t.id, [])
                if e.kind == "status"
                and e.old_value in ("resolved", "closed")
                and start <= e.at < end
                and e.new_value in ("new", "assigned", "in_progress", "waiting")
            )
    for row in out.values():
        used = row.pop("res_used")
        row["res_mean_h"] = round(sum(used) / len(used) / 60, 1) if used else None
    return {k: v for k, v in out.items() if v["opened"] or v["resolved"] or v["backlog"] or v["fr_due"] or v["res_due"]}


@pytest.mark.parametrize(
    "period", [rd.month(2026, 11), rd.fiscal_year(2026), rd.date_range(date(2026, 10, 15), date(2026, 11, 3))]
)
@pytest.mark.parametrize("who", ["manager", "manager_health"])
def test_breakdowns_match_the_oracle(history, users, period, who):
    actor = db.session.get(User, users[who].id)
    got = report_breakdowns.breakdowns(db.session, actor, period, history)
    for dimension in reports.DIMENSIONS:
        want = breakdown_oracle(actor, period, history, dimension)
        have = {
            r["key"]: {
                k: r[k]
                for k in (
                    "opened",
                    "resolved",
                    "backlog",
                    "fr_met",
                    "fr_due",
                    "res_met",
                    "res_due",
                    "res_mean_h",
                    "reopened",
                )
            }
            for r in got[dimension]
        }
        # A clock overdue now belongs to an open ticket, so its key always has a backlog row.
        assert have == want, dimension


def test_scoped_manager_sees_a_subset(history, users):
    period = rd.fiscal_year(2026)
    everyone = reports.figures(db.session, db.session.get(User, users["manager"].id), period, history)
    health = reports.figures(db.session, db.session.get(User, users["manager_health"].id), period, history)
    assert 0 < health.opened < everyone.opened


def test_breakdowns_add_up_to_the_totals(history, users):
    actor = db.session.get(User, users["manager"].id)
    period = rd.month(2026, 11)
    total = reports.figures(db.session, actor, period, history)
    for dim in ("department", "theme", "priority", "member"):
        rows = report_breakdowns.breakdown(db.session, actor, period, dim, history)
        assert sum(r["opened"] for r in rows) == total.opened, dim
        assert sum(r["backlog"] for r in rows) == total.backlog, dim


def test_age_buckets_count_open_tickets(history, users):
    actor = db.session.get(User, users["manager"].id)
    ages = reports.ages(db.session, actor, history)
    open_count = sum(
        t.status in ("new", "assigned", "in_progress", "waiting") for t in db.session.scalars(select(Ticket))
    )
    assert sum(ages.values()) == open_count
    assert set(ages) == {"0-2", "3-5", "6-10", "11-20", "21+"}


def test_facts_command_finds_and_repairs_drift(history, app):
    """`swat reports facts` says the facts agree; after a manual change it reports the
    difference and exits 1, and --rebuild repairs it."""
    from sqlalchemy import update

    from swat.models import ReportFact

    db.session.commit()
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["reports", "facts"])
    assert ok.exit_code == 0 and "agree" in ok.output
    db.session.execute(update(ReportFact).where(ReportFact.dim == "all").values(opened=ReportFact.opened + 1))
    db.session.commit()
    bad = runner.invoke(args=["reports", "facts", "--check"])
    assert bad.exit_code == 1 and "differ" in bad.output
    fixed = runner.invoke(args=["reports", "facts", "--rebuild"])
    assert fixed.exit_code == 0 and "rebuilt" in fixed.output
    assert runner.invoke(args=["reports", "facts"]).exit_code == 0


def test_facts_command_checks_the_time_counts(history, app):
    """The per-month minute counts are checked and rebuilt with the other facts; a changed
    count moves the figures of its month until it is repaired."""
    from sqlalchemy import update

    from swat.models import ReportTimeBucket, ReportTimeCount

    db.session.commit()
    manager = db.session.get(
        User, db.session.scalar(select(User.id).where(User.role == "manager", User.department_id.is_(None)))
    )
    period, now = rd.month(2026, 10), history
    right = reports.figures(db.session, manager, period, now)
    counts = db.session.scalars(
        select(ReportTimeCount).where(
            ReportTimeCount.month == date(2026, 10, 1),
            ReportTimeCount.target == "resolution",
            ReportTimeCount.clocks > 0,
        )
    ).all()
    assert counts, "October has stopped resolution clocks"
    top = max(counts, key=lambda c: c.minutes)
    db.session.execute(
        update(ReportTimeCount)
        .where(
            ReportTimeCount.target == top.target,
            ReportTimeCount.month == top.month,
            ReportTimeCount.minutes == top.minutes,
        )
        .values(clocks=ReportTimeCount.clocks + 50)
    )
    # ... and the bucket those minutes fall in, in one department, as a lost write would leave it.
    bucket = (
        (ReportTimeBucket.target == top.target)
        & (ReportTimeBucket.month == top.month)
        & (ReportTimeBucket.bucket == top.minutes // 64)
    )
    department = db.session.scalars(select(ReportTimeBucket.department_id).where(bucket)).first()
    db.session.execute(
        update(ReportTimeBucket)
        .where(bucket, ReportTimeBucket.department_id == department)
        .values(clocks=ReportTimeBucket.clocks + 50)
    )
    db.session.commit()
    wrong = reports.figures(db.session, manager, period, now)
    assert (wrong.res_median_h, wrong.res_p90_h) != (right.res_median_h, right.res_p90_h)
    runner = app.test_cli_runner()
    bad = runner.invoke(args=["reports", "facts", "--check"])
    assert bad.exit_code == 1 and "2026-10 resolution" in bad.output
    assert runner.invoke(args=["reports", "facts", "--rebuild"]).exit_code == 0
    assert runner.invoke(args=["reports", "facts"]).exit_code == 0
    again = reports.figures(db.session, manager, period, now)
    assert (again.res_median_h, again.res_p90_h) == (right.res_median_h, right.res_p90_h)


def times_oracle(actor, period, dimension):
    """Per breakdown key, median and p90 of the clocks that stopped in the period, by hand."""
    keys_of = oracle_keys(dimension)
    start, end = period.bounds()
    by_id = {
        t.id: t
        for t in db.session.scalars(select(Ticket))
        if actor.role != "manager" or actor.department_id in (None, t.department_id)
    }
    used: dict[tuple, list[int]] = {}
    for c in db.session.scalars(select(TicketSla)):
        t = by_id.get(c.ticket_id)
        if t is None or c.state not in ("met", "missed") or not (start <= c.stopped_at < end):
            continue
        prefix = "fr" if c.target == "first_response" else "res"
        for key in keys_of(t):
            used.setdefault((key, prefix), []).append(c.used_minutes)
    out: dict[str, dict] = {}
    for (key, prefix), values in used.items():
        row = out.setdefault(key, {})
        for p, name in ((0.5, "median"), (0.9, "p90")):
            row[f"{prefix}_{name}_h"] = round(rd.percentile(values, p) / 60, 1)
    return out


@pytest.mark.parametrize("period", [rd.month(2026, 11), rd.fiscal_year(2026)])
@pytest.mark.parametrize("who", ["manager", "manager_health"])
def test_breakdown_times_match_the_oracle(history, users, period, who):
    actor = db.session.get(User, users[who].id)
    checked = 0
    for dimension in reports.DIMENSIONS:
        want = times_oracle(actor, period, dimension)
        got = report_breakdowns.time_percentiles(db.session, actor, period, dimension)
        assert got == want, dimension
        # The page hands over the period's figures: a head's department row is taken from them.
        figures = reports.figures(db.session, actor, period, history, with_ages=False)
        assert report_breakdowns.time_percentiles(db.session, actor, period, dimension, figures) == want, dimension
        checked += sum(len(v) for v in want.values())
    assert checked > 10


def test_monthly_sums_follow_any_change_to_the_facts(history):
    """Whatever a statement changes in report_facts or ticket_slas, the triggers keep
    report_months equal to the facts' monthly sums and report_time_buckets to the clocks'
    per-bucket counts (and so, over the departments, to report_time_counts): counts, the
    day (across a month), the department and the key, several rows at once, deletion,
    insertion."""
    from sqlalchemy import delete, insert, update

    from swat.models import ReportFact

    def agree():
        assert report_facts.stored_months(db.session) == report_facts.months_of(report_facts.stored(db.session))
        buckets = report_facts.stored_buckets(db.session)
        assert buckets == report_facts.computed_buckets(db.session)
        desk: dict[tuple, int] = {}
        for (target, month, _, b), n in buckets.items():
            desk[(target, month, b)] = desk.get((target, month, b), 0) + n
        per_minute: dict[tuple, int] = {}
        for (target, month, minutes), n in report_facts.stored_time_counts(db.session).items():
            per_minute[(target, month, minutes // 64)] = per_minute.get((target, month, minutes // 64), 0) + n
        assert desk == per_minute

    agree()
    assert report_facts.stored_months(db.session)
    some = db.session.scalars(select(ReportFact).where(ReportFact.opened > 0).order_by(ReportFact.day)).all()
    first, last = some[0], some[-1]

    def one(f):
        return (
            (ReportFact.dim == f.dim)
            & (ReportFact.day == f.day)
            & (ReportFact.department_id == f.department_id)
            & (ReportFact.key == f.key)
        )

    db.session.execute(update(ReportFact).where(one(first)).values(opened=ReportFact.opened + 3))
    agree()
    db.session.execute(update(ReportFact).where(one(last)).values(day=date(2027, 1, 31), department_id="education"))
    agree()
    db.session.execute(update(ReportFact).where(ReportFact.dim == "theme").values(key="moved-" + ReportFact.key))
    agree()
    db.session.execute(delete(ReportFact).where(ReportFact.dim == "priority", ReportFact.key == "0"))
    agree()
    db.session.execute(
        insert(ReportFact).values(
            dim="all", day=date(2026, 10, 5), department_id="welfare", key="zz", **dict.fromkeys(COUNTERS, 2)
        )
    )
    agree()
    assert report_facts.stored_buckets(db.session)
    stopped = TicketSla.state.in_(("met", "missed"))
    db.session.execute(update(TicketSla).where(stopped).values(used_minutes=TicketSla.used_minutes * 3 + 61))
    agree()
    db.session.execute(
        update(TicketSla).where(stopped, TicketSla.target == "resolution").values(department_id="education")
    )
    agree()
    db.session.execute(update(TicketSla).where(TicketSla.target == "first_response", stopped).values(state="void"))
    agree()
    db.session.execute(delete(TicketSla).where(TicketSla.target == "resolution"))
    agree()
    db.session.rollback()


@pytest.mark.parametrize("case", range(12))
def test_bucketed_percentiles_are_the_plain_ones(users, case):
    """The desk-wide median and p90 of whole months, found through the 64-minute buckets
    (kept per department), are the plain percentiles of every clock's minutes: ranks at a
    bucket's edge, several months, several departments, repeated values, a single clock."""
    from sqlalchemy import insert

    rng = random.Random(100 + case)
    months = [date(2026, m, 1) for m in (4, 5, 6)]
    counts: dict[tuple, int] = {}
    for _ in range(1 if case == 0 else rng.randint(2, 400)):
        spread = rng.choice([64, 130, 5_000, 80_000])
        key = (rng.choice(months), rng.randint(0, spread))
        counts[key] = counts.get(key, 0) + rng.randint(1, 3)
    clocks = [(m, v) for (m, v), n in counts.items() for _ in range(n)]
    departments = ["health-medical", "welfare", "education"]
    requester = users["staff_health"].id
    rows = []
    for i, (m, _) in enumerate(clocks, start=1):
        at = datetime(m.year, m.month, 10, 3, 0, tzinfo=UTC)
        rows.append(
            {
                "id": i,
                "number": f"2026-{i:05d}",
                "title": "相談",
                "body": "本文",
                "status": "resolved",
                "priority": 2,
                "department_id": departments[i % 3],
                "requester_id": requester,
                "created_at": at,
                "updated_at": at,
                "last_activity_at": at,
                "resolved_at": at,
            }
        )
    db.session.execute(insert(Ticket), rows)
    db.session.execute(
        insert(TicketSla),
        [
            {
                "ticket_id": r["id"],
                "target": "resolution",
                "department_id": r["department_id"],
                "target_minutes": 60,
                "used_minutes": v,
                "state": "met",
                "stopped_at": r["resolved_at"],
            }
            for r, (_, v) in zip(rows, clocks, strict=True)
        ],
    )
    assert report_facts.stored_buckets(db.session) == report_facts.computed_buckets(db.session)
    values = [v for (_, v), n in counts.items() for _ in range(n)]
    period = rd.fiscal_quarter(2026, 1)
    got = report_times.desk_times(db.session, period, ("first_response", "resolution"))
    assert got == {
        "resolution": (rd.percentile(values, 0.5), rd.percentile(values, 0.9)),
        "first_response": (None, None),
    }

    # Several periods read together (a month beside the one before it; months with part
    # months at either end; one with no whole month) give each period's own figures.
    def oracle(p):
        vs = [v for (m, v), n in counts.items() for _ in range(n) if p.start <= m.replace(day=10) < p.end]
        return (rd.percentile(vs, 0.5), rd.percentile(vs, 0.9)) if vs else (None, None)

    groups = [
        (rd.month(2026, 5), rd.month(2026, 4)),
        (rd.month(2026, 6), rd.month(2026, 4)),
        (rd.Period("range", date(2026, 4, 5), date(2026, 6, 15)), period, rd.month(2026, 6)),
        (rd.Period("range", date(2026, 5, 2), date(2026, 5, 20)), rd.month(2026, 5)),
    ]
    for periods in groups:
        together = report_times.desk_times_of(db.session, periods, ("first_response", "resolution"))
        # Each period's figures are the oracle's (no first-response clock was stopped).
        assert together == [{"resolution": oracle(p), "first_response": (None, None)} for p in periods]


def test_drill_downs_list_exactly_the_tickets_counted_across_a_year_start(users, clock, store, limits):
    """The lists behind opened, resolved and backlog, around the start of FY2026 (the
    previous year's backlog is the consultations open at 2026-04-01 00:00 Tokyo): reopened
    ones count by how they stand now, one resolved exactly at the instant was still in the
    backlog before it, one filed exactly then was not. Each list is the oracle's set, its
    size the report's figure; the stored left_backlog_at is domain.reports.left_backlog_at."""
    from swat.services import listing

    agent, staff = users["agent"], users["staff_health"]
    edge = datetime(2026, 4, 1, tzinfo=JST)

    def at(month, day, hour=10, minute=0, second=0):
        return datetime(2026, month, day, hour, minute, second, tzinfo=JST)

    def file(when):
        clock.set(when)
        t = tickets.file_consultation(
            db.session, staff, when, title="相談", body="本文", theme_id=None, initiative_ids=[],
            priority="normal", due_date=None, files=[], store=store, limits=limits,
        )  # fmt: skip
        db.session.commit()
        return t

    def step(when, t, action):
        clock.set(when)
        if action == "claim":
            tickets.claim_ticket(db.session, agent, when, t)
        elif action == "reopen":
            tickets.reopen_ticket(db.session, staff, when, t)
        else:
            tickets.change_status(db.session, agent, when, t, action)
        db.session.commit()

    lives = [
        (at(3, 10), []),  # still open
        (at(3, 10), [(at(3, 11), "claim"), (at(3, 20), "resolved")]),
        (at(3, 10), [(at(3, 11), "claim"), (at(3, 20), "resolved"), (at(4, 10), "reopen"), (at(4, 20), "resolved")]),
        (at(3, 10), [(at(3, 11), "claim"), (at(4, 5), "resolved"), (at(4, 12), "closed")]),
        (at(3, 10), [(at(3, 11), "claim"), (at(3, 25), "resolved"), (at(4, 2), "closed")]),
        (at(3, 12), [(at(3, 13), "claim"), (edge, "resolved")]),  # left exactly at the year's start
        (edge, []),  # filed exactly at the year's start
        (at(3, 31, 23, 59, 59), []),
        (at(3, 15), [(at(4, 3), "closed")]),  # closed, never resolved
        (at(3, 15), [(at(3, 28), "closed"), (at(4, 2), "reopen")]),  # reopened: open again
        (at(3, 15), [(at(3, 28), "closed"), (at(4, 2), "reopen"), (at(4, 6), "closed")]),
        (at(2, 20), [(at(2, 21), "claim"), (at(3, 1), "resolved"), (at(3, 5), "reopen"), (at(3, 9), "resolved")]),
        (at(4, 8), [(at(4, 9), "claim"), (at(4, 15), "resolved"), (at(4, 20), "reopen")]),
    ]
    made = [(file(filed), steps) for filed, steps in lives]
    for t, steps in made:
        for when, action in steps:
            step(when, t, action)
    clock.set(at(11, 30))
    rows = list(db.session.scalars(select(Ticket)))
    for t in rows:
        db.session.refresh(t)
        assert t.left_backlog_at == rd.left_backlog_at(t.resolved_at, t.closed_at), t.number
    manager = db.session.get(User, users["manager"].id)
    periods = [rd.fiscal_year(2025), rd.fiscal_year(2026), rd.month(2026, 3), rd.month(2026, 4)]
    periods.append(rd.date_range(date(2026, 3, 20), date(2026, 4, 4)))
    for period in periods:
        want = oracle_sets(rows, period)
        got_figures = reports.figures(db.session, manager, period, clock.now(), with_ages=False)
        for measure, sort in [(m, "activity") for m in reports.MEASURES] + [("backlog", "due"), ("backlog", "number")]:
            f = listing.TicketFilters(period=period.key(), measure=measure, per_page=200, sort=sort, descending=True)
            page = listing.list_tickets(db.session, manager, f)
            assert {t.number for t in page.rows} == want[measure], (period.key(), measure, sort)
            assert page.total == len(want[measure]) == getattr(got_figures, measure), (period.key(), measure)
    previous = oracle_sets(rows, rd.fiscal_year(2025))["backlog"]
    assert len(previous) == 8
    aged = reports.ages(db.session, manager, clock.now(), at=edge)
    assert sum(aged.values()) == len(previous)


def oracle_sets(rows, period):
    """The numbers of the tickets behind each count, by the definitions (reports.py)."""
    start, end = period.bounds()
    return {
        "opened": {t.number for t in rows if start <= t.created_at < end},
        "resolved": {t.number for t in rows if t.resolved_at is not None and start <= t.resolved_at < end},
        "backlog": {
            t.number
            for t in rows
            if t.created_at < end
            and not (t.resolved_at and t.resolved_at < end)
            and not (t.closed_at and t.closed_at < end)
        },
    }
