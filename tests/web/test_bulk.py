"""Working on many at once from the queue: tick rows, choose an action, apply; each ticket gets
its own event and notification, and one that cannot take it is refused alone with the reason."""

from sqlalchemy import func, select

from swat.extensions import db
from swat.models import CannedReply, Message, Notification, Ticket, TicketEvent
from swat.services import canned, tickets
from tests.web.test_escalations import breaches, late_tickets


def fresh(t):
    db.session.expire_all()
    return db.session.get(Ticket, t.id)


def test_assign_three_at_once_each_with_its_event_and_notification(auth, make_ticket, users):
    made = [make_ticket(title=f"件{i}") for i in range(3)]
    b = auth.login("agent")
    queue = b.get("/queue").get_data(as_text=True)
    assert 'id="bulk"' in queue and queue.count('form="bulk"') >= 3
    r = b.post(
        "/queue/bulk",
        {
            "t": [t.number for t in made],
            "action": "assign",
            "assign_value": str(users["agent2"].id),
            "back": "status=open",
        },
    )
    assert r.status_code == 302 and r.headers["Location"].endswith("/queue?status=open")
    assert "3件の相談に適用しました。" in b.get(r.headers["Location"]).get_data(as_text=True)
    assert all(fresh(t).assignee_id == users["agent2"].id for t in made)
    for t in made:
        kinds = db.session.scalars(select(TicketEvent.kind).where(TicketEvent.ticket_id == t.id)).all()
        assert kinds.count("assigned") == 1
    told = db.session.scalars(select(Notification.ticket_id).where(Notification.user_id == users["agent2"].id)).all()
    assert sorted(told) == sorted(t.id for t in made)


def test_a_partial_failure_names_the_ticket_and_keeps_the_rest(auth, make_ticket, users, clock):
    ok, fresh_one = make_ticket(title="担当あり"), make_ticket(title="新規のまま")
    tickets.claim_ticket(db.session, users["agent"], clock.now(), ok)
    db.session.commit()
    b = auth.login("agent")
    r = b.post(
        "/queue/bulk", {"t": [ok.number, fresh_one.number, "2026-99999"], "action": "status", "status_value": "waiting"}
    )
    page = b.get(r.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert "1件の相談に適用しました。" in page
    assert f"{fresh_one.number}：現在の状態では、この相談にその操作は行えません。" in page
    assert "2026-99999：この相談は見つかりません。" in page
    assert fresh(ok).status == "waiting" and fresh(fresh_one).status == "new"


def test_a_canned_reply_to_several_is_filled_in_for_each(auth, make_ticket, users, clock):
    a = make_ticket(title="A")
    b_ = make_ticket("staff_welfare", title="B")
    reply = canned.save(
        db.session,
        users["lead"],
        clock.now(),
        reply_id=None,
        title="受付",
        body="{相談者}様 {番号}を受け付けました。",
        shared=True,
        theme_id=None,
    )
    db.session.commit()
    agent = auth.login("agent")
    agent.post("/queue/bulk", {"t": [a.number, b_.number], "action": "canned", "canned_value": str(reply.id)})
    bodies = sorted(db.session.scalars(select(Message.body)).all())
    assert bodies == sorted(
        [f"Staff Health様 {a.number}を受け付けました。", f"Staff Welfare様 {b_.number}を受け付けました。"]
    )
    db.session.expire_all()
    assert db.session.get(CannedReply, reply.id).uses == 2
    assert db.session.scalar(select(func.count()).select_from(Notification).where(Notification.kind == "reply")) == 2


def test_the_lead_acknowledges_the_escalations_of_several_rows(auth, make_ticket, users, clock):
    first, second = late_tickets(make_ticket, users, clock, 2)
    lead = auth.login("lead")
    r = lead.post("/queue/bulk", {"t": [first.number, second.number], "action": "acknowledge", "remark": "指示済み"})
    assert "2件の相談に適用しました。" in lead.get(r.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    assert all(breaches(t)[0].acknowledged_by_id == users["lead"].id for t in (first, second))
    assert breaches(first)[0].remark == "指示済み"


def test_only_desk_members_get_the_checkboxes_and_the_action(auth, make_ticket):
    t = make_ticket()
    manager = auth.login("manager")
    assert 'id="bulk"' not in manager.get("/queue?status=open").get_data(as_text=True)
    r = manager.post("/queue/bulk", {"t": [t.number], "action": "priority", "priority_value": "urgent"})
    page = manager.get(r.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert "複数の相談をまとめて操作できるのはSWATメンバーのみです。" in page
    assert fresh(t).priority == 2
    agent = auth.login("agent")
    r = agent.post("/queue/bulk", {"action": "priority", "priority_value": "urgent"}, follow_redirects=True)
    assert "先に相談を選択してください。" in r.get_data(as_text=True)
    r = agent.post("/queue/bulk", {"t": [t.number], "action": "delete"}, follow_redirects=True)
    assert "選択した相談への操作を選んでください。" in r.get_data(as_text=True)
