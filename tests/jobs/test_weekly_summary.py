"""The weekly summary to managers: figures against hand-counted expectations, scope,
exactly once (reruns, two schedulers at once), language, and the mail on real SMTP.

The fixture is two weeks of consultations filed, answered and resolved through the real
services with a moving clock; the expected figures below were counted by hand from the
working calendar (09:00-17:45, 525 business minutes a day) and the SLA policies
(normal 525/2625, high 240/1575, urgent 60/525 business minutes), not by the reports code.
"""

import json
import threading
from datetime import datetime
from email.header import decode_header, make_header
from zoneinfo import ZoneInfo

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from swat import messages
from swat.domain import reports as rd
from swat.extensions import db
from swat.jobs.delivery import deliver
from swat.jobs.runner import WEEKLY_SUMMARY_AT, _weekly_summary_is_due, run_weekly_summary
from swat.models import OutboxMessage, ReportMailing, User
from swat.services import tickets
from swat.services.weekly_summary import KIND, last_week, send_weekly_summaries, week_of

JST = ZoneInfo("Asia/Tokyo")
WEEK = "2026-11-16..2026-11-22"
MONDAY_MORNING = datetime(2026, 11, 23, 8, 30, tzinfo=JST)  # a holiday, but a Monday all the same
BASE = "https://swat.pref.example.jp"
NO_AGES = {"0-2": 0, "3-5": 0, "6-10": 0, "11-20": 0, "21+": 0}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=JST)


@pytest.fixture
def weeks(users, clock, store, limits):
    """Two weeks of consultations in two departments (H: health-medical, W: welfare).

    Week before (11-09..11-15):
      H1 normal, filed Mon 10:00, answered Mon 11:00 (60 min, met), resolved Wed 10:00 (1050 min, met)
      W1 normal, filed Tue 10:00, answered Thu 10:00 (1050 > 525, missed), still open;
         its resolution clock falls due Tue 11-17 10:00 and runs on (overdue in last week)
    Last week (11-16..11-22):
      H2 urgent, filed Mon 09:30, answered 10:00 (30 min, met), resolved 15:30 (360 min, met)
      H3 normal, filed Tue 09:45, answered Wed 11:00 (600 > 525, missed), resolved Fri 10:30 (1620, met)
      H4 normal, filed Thu 14:00, never answered: due Fri 14:00, overdue; open
      W2 high, filed Wed 10:00, answered 15:00 (300 > 240, missed), resolved Thu 10:15 (540, met)
      W3 normal, filed Fri 16:00, open; its first response is due after the week
    """
    agent = users["agent"]

    def file(when, who, priority="normal"):
        clock.set(at(when))
        t = tickets.file_consultation(
            db.session,
            users[who],
            clock.now(),
            title="相談",
            body="本文",
            theme_id=None,
            initiative_ids=[],
            priority=priority,
            due_date=None,
            files=[],
            store=store,
            limits=limits,
        )
        db.session.commit()
        return t

    def answer(t, when):
        clock.set(at(when))
        db.session.refresh(t)
        if t.assignee_id is None:
            tickets.claim_ticket(db.session, agent, clock.now(), t)
        tickets.add_reply(db.session, agent, clock.now(), t, "回答します", [], store, limits)
        db.session.commit()

    def resolve(t, when):
        clock.set(at(when))
        db.session.refresh(t)
        tickets.change_status(db.session, agent, clock.now(), t, "resolved")
        db.session.commit()

    h1 = file("2026-11-09T10:00", "staff_health")
    answer(h1, "2026-11-09T11:00")
    w1 = file("2026-11-10T10:00", "staff_welfare")
    resolve(h1, "2026-11-11T10:00")
    answer(w1, "2026-11-12T10:00")
    h2 = file("2026-11-16T09:30", "staff_health", "urgent")
    answer(h2, "2026-11-16T10:00")
    resolve(h2, "2026-11-16T15:30")
    h3 = file("2026-11-17T09:45", "staff_health2")
    w2 = file("2026-11-18T10:00", "staff_welfare", "high")
    answer(h3, "2026-11-18T11:00")
    answer(w2, "2026-11-18T15:00")
    file("2026-11-19T14:00", "staff_health")  # H4
    resolve(w2, "2026-11-19T10:15")
    file("2026-11-20T16:00", "staff_welfare")  # W3
    resolve(h3, "2026-11-20T10:30")
    for name, address, locale in (
        ("manager", "cio@pref.example.jp", ""),
        ("manager_health", "kenko-bucho@pref.example.jp", "en"),
    ):
        u = db.session.get(User, users[name].id)
        u.email, u.locale = address, locale
    db.session.commit()
    clock.set(MONDAY_MORNING)
    return users


DESK = {
    "current": {
        "opened": 5,
        "resolved": 3,
        "backlog": 3,
        "fr_compliance": 25.0,
        "res_compliance": 75.0,
        "res_median_h": 9.0,
        "ages": {**NO_AGES, "0-2": 2, "6-10": 1},
    },
    "previous": {
        "opened": 2,
        "resolved": 1,
        "backlog": 1,
        "fr_compliance": 50.0,
        "res_compliance": 100.0,
        "res_median_h": 17.5,
        "ages": {**NO_AGES, "3-5": 1},
    },
}
HEALTH = {
    "current": {
        "opened": 3,
        "resolved": 2,
        "backlog": 1,
        "fr_compliance": 33.3,
        "res_compliance": 100.0,
        "res_median_h": 16.5,
        "ages": {**NO_AGES, "0-2": 1},
    },
    "previous": {
        "opened": 1,
        "resolved": 1,
        "backlog": 0,
        "fr_compliance": 100.0,
        "res_compliance": 100.0,
        "res_median_h": 17.5,
        "ages": NO_AGES,
    },
}


def mails(to=None):
    stmt = select(OutboxMessage).where(OutboxMessage.kind == KIND).order_by(OutboxMessage.id)
    if to:
        stmt = stmt.where(OutboxMessage.recipient == to)
    return db.session.scalars(stmt).all()


def send(clock, week=None):
    result = send_weekly_summaries(db.session, clock.now(), BASE, week)
    db.session.commit()
    return result


def test_last_week_is_monday_to_sunday_in_tokyo():
    assert last_week(MONDAY_MORNING).key() == WEEK
    assert last_week(at("2026-11-29T23:59")).key() == WEEK  # any day of the next week
    assert last_week(at("2026-11-30T00:00")).key() == "2026-11-23..2026-11-29"
    assert week_of(at("2026-11-22T12:00").date()).key() == WEEK  # Sunday belongs to the week before


def test_desk_wide_manager_gets_the_hand_counted_figures(weeks, clock):
    assert send(clock).queued == 2
    (mail,) = mails("cio@pref.example.jp")
    params = json.loads(mail.params)
    assert params["period"] == WEEK and params["department"] is None
    assert params["current"] == DESK["current"]
    assert params["previous"] == DESK["previous"]
    assert params["link"] == f"{BASE}/reports?period={WEEK}"
    assert rd.parse_period(params["link"].split("period=")[1]) == rd.date_range(
        at("2026-11-16").date(), at("2026-11-22").date()
    )
    # open consultations at the week's end, by age, add up to the backlog
    assert sum(params["current"]["ages"].values()) == params["current"]["backlog"]


def test_a_department_head_sees_only_their_department(weeks, clock):
    send(clock)
    (mail,) = mails("kenko-bucho@pref.example.jp")
    params = json.loads(mail.params)
    assert params["department"]["ja"] == "健康医療部"
    assert params["current"] == HEALTH["current"]
    assert params["previous"] == HEALTH["previous"]


def test_the_reports_page_link_opens_that_week(weeks, clock, auth, browser):
    send(clock)
    link = json.loads(mails("cio@pref.example.jp")[0].params)["link"]
    auth.login("manager")
    r = browser.get(link.removeprefix(BASE))
    assert r.status_code == 200
    assert "2026年11月16日〜2026年11月22日" in r.get_data(as_text=True)


def test_running_again_later_in_the_week_sends_nothing_more(weeks, clock):
    assert send(clock).queued == 2
    clock.set(at("2026-11-27T15:00"))
    again = send(clock)
    assert (again.queued, again.already) == (0, 2)
    assert len(mails()) == 2
    assert db.session.scalar(select(func.count()).select_from(ReportMailing)) == 2
    # the next week is a new summary
    clock.set(at("2026-11-30T08:30"))
    assert send(clock).week == "2026-11-23..2026-11-29"
    assert len(mails()) == 4


def test_two_schedulers_at_once_send_each_manager_one_mail(app, weeks, clock):
    barrier = threading.Barrier(2)
    errors, results = [], []

    def run():
        with app.app_context():
            try:
                barrier.wait()
                results.append(send_weekly_summaries(db.session, clock.now(), BASE).queued)
                db.session.commit()
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
                db.session.rollback()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sorted(results) == [0, 2]
    db.session.expire_all()
    assert sorted(m.recipient for m in mails()) == ["cio@pref.example.jp", "kenko-bucho@pref.example.jp"]
    rows = db.session.scalars(select(ReportMailing)).all()
    assert {(r.period_key, r.user_id) for r in rows} == {
        (WEEK, weeks["manager"].id),
        (WEEK, weeks["manager_health"].id),
    }
    assert all(r.outbox_id is not None for r in rows)


def test_who_gets_nothing(weeks, clock):
    """A deactivated manager, one who turned the summary or e-mail off, one without an
    address, and everyone who is not a manager."""
    from swat.services import accounts

    gone = db.session.get(User, weeks["manager_health"].id)
    gone.active = False
    for name, role, dep, tweak in (
        ("muted", "manager", None, {"muted_kinds": "reply,weekly_summary"}),
        ("no-mail", "manager", "welfare", {"notify_email": False}),
        ("no-address", "manager", None, {"email": ""}),
        ("a-lead", "lead", "smart-city", {}),
    ):
        u = accounts.create_user(
            db.session,
            clock.now(),
            username=name,
            password="long password 1",
            role=role,
            department_id=dep,
            hash_method="pbkdf2:sha256:1000",
        )
        u.email = f"{name}@pref.example.jp"
        for key, value in tweak.items():
            setattr(u, key, value)
    for name in ("agent", "admin", "staff_health"):
        db.session.get(User, weeks[name].id).email = f"{name}@pref.example.jp"
    db.session.commit()
    send(clock)
    assert [m.recipient for m in mails()] == ["cio@pref.example.jp"]


def test_english_readers_get_english_and_japanese_readers_japanese(weeks, clock):
    send(clock)
    english = mails("kenko-bucho@pref.example.jp")[0]
    japanese = mails("cio@pref.example.jp")[0]
    assert english.locale == "en" and japanese.locale == "ja"
    with force_locale("en"):
        subject = messages.subject(english.kind, english.params)
        body = messages.body(english.kind, english.params, "")
    assert subject == "Weekly summary 2026-11-16 – 2026-11-22: Department of Health and Medical Care"
    assert "Opened: 3 (previous week: 1)" in body
    assert "First-response compliance: 33.3% (previous week: 100.0%)" in body
    assert "Resolution, median (business hours): 16.5 hours (previous week: 17.5 hours)" in body
    assert "Backlog at the week's end: 1 (previous week: 0)" in body
    assert "Open consultations at the week's end, by age (business days)" in body
    assert "0-2: 1 (previous week: 0)" in body
    assert "period" not in body.replace("?period=", "")  # it speaks of the week
    assert f"{BASE}/reports?period={WEEK}" in body
    assert not any("\u3040" <= ch <= "\u30ff" for ch in subject + body)  # no kana
    with force_locale("ja"):
        subject = messages.subject(japanese.kind, japanese.params)
        body = messages.body(japanese.kind, japanese.params, "")
    assert "2026年11月16日〜2026年11月22日" in subject and "全部局" in subject
    assert "受付件数" in body and "週の終わりの未完了件数：3（前週 1）" in body and "初回回答の期限遵守率" in body
    assert "解決時間の中央値（開庁時間）：9.0時間（前週 17.5時間）" in body
    assert "週の終わりに未完了だった相談の経過日数（開庁日）" in body and "期末" not in body


@pytest.fixture
def smtp(smtp, app):
    """The loopback SMTP server of tests/fixtures/smtp.py, with the desk's address for links."""
    app.config["SWAT"]["base_url"] = BASE  # put back by the server fixture
    return smtp


def test_the_summary_arrives_over_smtp_once(app, weeks, clock, smtp):
    result = run_weekly_summary(app)
    assert (result.week, result.queued) == (WEEK, 2)
    assert run_weekly_summary(app).queued == 0
    assert deliver(clock.now())["sent"] == 2
    assert deliver(clock.now())["sent"] == 0
    got = {rcpts[0]: msg for rcpts, msg in smtp.messages}
    assert set(got) == {"cio@pref.example.jp", "kenko-bucho@pref.example.jp"}
    english = got["kenko-bucho@pref.example.jp"]
    assert (
        str(make_header(decode_header(english["Subject"])))
        == "[SWAT] Weekly summary 2026-11-16 – 2026-11-22: Department of Health and Medical Care"
    )
    text = english.get_body(preferencelist=("plain",)).get_content()
    assert "Backlog at the week's end: 1 (previous week: 0)" in text
    assert "Resolution, median (business hours): 16.5 hours (previous week: 17.5 hours)" in text
    assert f"{BASE}/reports?period={WEEK}" in text and "/tickets/" not in text
    # The same in HTML, its links to the desk as links; no consultation's thread.
    html = english.get_body(preferencelist=("html",)).get_content()
    assert f'<a href="{BASE}/reports?period={WEEK}"' in html and "Backlog at the week&#39;s end" in html
    assert "In-Reply-To" not in english and english["Auto-Submitted"] == "auto-generated"
    japanese = got["cio@pref.example.jp"]
    assert "2026年11月16日〜2026年11月22日" in str(make_header(decode_header(japanese["Subject"])))
    assert "受付件数" in japanese.get_body(preferencelist=("plain",)).get_content()


def test_commands_send_last_week_or_a_chosen_week_once(app, weeks, clock):
    cli = app.test_cli_runner()
    r = cli.invoke(args=["reports", "mail-weekly"])
    assert r.exit_code == 0, r.output
    assert f"weekly summary {WEEK}: 2 queued, 0 sent before" in r.output
    r = cli.invoke(args=["jobs", "run"])
    assert r.exit_code == 0, r.output
    assert f"weekly summary {WEEK}: 0 queued, 2 sent before" in r.output
    r = cli.invoke(args=["reports", "mail-weekly", "--week", "2026-11-11"])
    assert r.exit_code == 0 and "weekly summary 2026-11-09..2026-11-15: 2 queued" in r.output
    r = cli.invoke(args=["reports", "mail-weekly", "--week", "2026-11-23"])
    assert r.exit_code == 1 and "has not ended yet" in r.output
    r = cli.invoke(args=["reports", "mail-weekly", "--week", "next week"])
    assert r.exit_code == 2
    db.session.expire_all()
    assert len(mails()) == 4


def test_scheduled_monday_0830_tokyo_and_caught_up_after_a_missed_monday():
    from apscheduler.triggers.cron import CronTrigger

    trigger = CronTrigger(timezone=JST, **WEEKLY_SUMMARY_AT)
    assert trigger.get_next_fire_time(None, at("2026-11-25T10:00")) == at("2026-11-30T08:30")
    assert not _weekly_summary_is_due(at("2026-11-30T08:29"))
    assert _weekly_summary_is_due(at("2026-11-30T08:30"))
    assert _weekly_summary_is_due(at("2026-12-02T03:00"))


def test_managers_can_turn_the_summary_off(weeks, clock, auth, browser):
    from swat.services.notify import KINDS

    browser_ = auth.login("manager")
    page = browser_.get("/settings/notifications").get_data(as_text=True)
    assert 'value="weekly_summary" checked' in page
    r = browser_.post("/settings/notifications", {"inapp": "y", "email": "y", "kinds": list(KINDS)})
    assert r.status_code == 302
    db.session.expire_all()
    assert "weekly_summary" in db.session.get(User, weeks["manager"].id).muted_kinds
    send(clock)
    assert [m.recipient for m in mails()] == ["kenko-bucho@pref.example.jp"]


def test_the_summary_choice_is_for_managers_only(users, auth, browser):
    auth.login("staff_health")
    assert "weekly_summary" not in browser.get("/settings/notifications").get_data(as_text=True)
