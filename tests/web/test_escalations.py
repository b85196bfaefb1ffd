"""Acknowledging escalations: many at once from the bell, each in the ticket's history and on
its page where the assignee sees it, and a badge on the queue row while one waits."""

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from swat.extensions import db
from swat.models import Escalation
from swat.services import escalation, tickets

JST = ZoneInfo("Asia/Tokyo")


def late_tickets(make_ticket, users, clock, n):
    """n urgent consultations claimed by the agent, their first response breached (the lead told)."""
    clock.set(datetime(2026, 11, 25, 10, 0, tzinfo=JST))
    made = []
    for i in range(n):
        t = make_ticket(title=f"至急{i}", priority="urgent")
        tickets.claim_ticket(db.session, users["agent"], clock.now(), t)
        made.append(t)
    db.session.commit()
    clock.set(datetime(2026, 11, 25, 11, 5, tzinfo=JST))
    escalation.sweep(db.session, clock.now())
    db.session.commit()
    return made


def breaches(t):
    return db.session.scalars(select(Escalation).where(Escalation.ticket_id == t.id, Escalation.level == 2)).all()


def test_the_lead_acknowledges_several_at_once_and_the_assignee_sees_who(auth, make_ticket, users, clock):
    first, second, third = late_tickets(make_ticket, users, clock, 3)
    agent = auth.login("agent")
    queue = agent.get("/queue").get_data(as_text=True)
    assert queue.count("エスカレーション未確認") == 3

    lead = auth.login("lead")
    page = lead.get("/notifications").get_data(as_text=True)
    assert 'id="ack-many"' in page and "選択したものを確認済みにする" in page
    chosen = [str(breaches(t)[0].id) for t in (first, second)]
    r = lead.post("/escalations/acknowledge", {"escalation": chosen, "remark": "担当に至急対応を指示"})
    assert r.status_code == 302
    assert "2件のエスカレーションを確認済みにしました。" in lead.get("/notifications").get_data(as_text=True)
    db.session.expire_all()
    assert all(breaches(t)[0].acknowledged_by_id == users["lead"].id for t in (first, second))
    assert breaches(third)[0].acknowledged_at is None

    agent = auth.login("agent")
    html = agent.get(f"/tickets/{first.number}").get_data(as_text=True)
    assert "Leadが確認済み" in html and "担当に至急対応を指示" in html
    history = html.split('class="history"', 1)[1]
    assert "エスカレーションを確認済みにしました" in history and "（担当に至急対応を指示）" in history
    # The warnings to the agent are still open on the first two; the third has its breach too.
    queue = agent.get("/queue").get_data(as_text=True)
    row = queue.split(f'data-number="{third.number}"', 1)[1].split("</tr>", 1)[0]
    assert "エスカレーション未確認" in row


def test_a_partial_failure_says_which_and_why_and_keeps_the_rest(auth, make_ticket, users, clock):
    first, second = late_tickets(make_ticket, users, clock, 2)
    done = breaches(first)[0]
    escalation.acknowledge(db.session, users["lead"], clock.now(), done.id, "先に確認")
    db.session.commit()
    lead = auth.login("lead")
    ids = [str(done.id), str(breaches(second)[0].id), "999999"]
    lead.post("/escalations/acknowledge", {"escalation": ids, "remark": ""})
    page = lead.get("/notifications").get_data(as_text=True)
    assert "1件のエスカレーションを確認済みにしました。" in page
    assert f"{first.number}：このエスカレーションは確認済みです。" in page
    assert "選択したエスカレーションのうち1件は、あなたが確認済みにできるものではありません。" in page
    db.session.expire_all()
    assert breaches(second)[0].acknowledged_by_id == users["lead"].id
    assert "999999" not in page and "Not found" not in page


def test_escalations_not_the_readers_are_refused_without_naming_them(auth, make_ticket, users, clock):
    (t,) = late_tickets(make_ticket, users, clock, 1)
    breach = breaches(t)[0]  # told to the lead, not to agent2
    other = auth.login("agent2")
    other.post("/escalations/acknowledge", {"escalation": [str(breach.id)], "remark": ""})
    page = other.get("/notifications").get_data(as_text=True)
    assert "選択したエスカレーションのうち1件は、あなたが確認済みにできるものではありません。" in page
    assert t.number not in page
    db.session.expire_all()
    assert breaches(t)[0].acknowledged_at is None


def test_a_remark_too_long_is_said_once_and_nothing_is_acknowledged(auth, make_ticket, users, clock):
    first, second = late_tickets(make_ticket, users, clock, 2)
    lead = auth.login("lead")
    ids = [str(breaches(t)[0].id) for t in (first, second)]
    r = lead.post("/escalations/acknowledge", {"escalation": ids, "remark": "あ" * 501}, follow_redirects=True)
    assert r.get_data(as_text=True).count("500文字以内") == 1
    db.session.expire_all()
    assert breaches(first)[0].acknowledged_at is None and breaches(second)[0].acknowledged_at is None


def test_a_scoped_manager_sees_no_escalation_badge(auth, make_ticket, users, clock):
    late_tickets(make_ticket, users, clock, 1)
    queue = auth.login("manager_health").get("/queue?status=open").get_data(as_text=True)
    assert "エスカレーション未確認" not in queue


def test_nothing_ticked_or_a_bad_id_is_refused_clearly(auth, make_ticket, users, clock):
    late_tickets(make_ticket, users, clock, 2)
    lead = auth.login("lead")
    for form in ({}, {"escalation": ["x"]}, {"escalation": ["1" * 20]}):
        r = lead.post("/escalations/acknowledge", form, follow_redirects=True)
        assert "確認済みにするエスカレーションを選択してください。" in r.get_data(as_text=True)
    assert all(e.acknowledged_at is None for e in db.session.scalars(select(Escalation)))
