"""Answering in one step: a desk reply sent with a status change, from the ticket page."""

from sqlalchemy import select

from swat.extensions import db
from swat.models import Message, Notification, Ticket
from swat.services import tickets
from tests.web.test_conflicts import stamp


def test_send_and_resolve_in_one_submit_tells_the_requester_once(auth, make_ticket, users, clock):
    t = make_ticket()
    tickets.claim_ticket(db.session, users["agent"], clock.now(), t)
    db.session.commit()
    db.session.query(Notification).delete()
    db.session.commit()
    b = auth.login("agent")
    page = b.get(f"/tickets/{t.number}").get_data(as_text=True)
    assert 'value="waiting">送信して「相談者の回答待ち」にする' in page
    assert 'value="resolved">送信して「解決済」にする' in page

    r = b.post(
        f"/tickets/{t.number}/reply", {"body": "手順書をお送りします。", "then_status": "resolved", **stamp(page)}
    )

    assert r.status_code == 302
    assert "返信を送信し、状態を「解決済」にしました。" in b.get(r.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Ticket, t.id).status == "resolved"
    bell = db.session.scalars(select(Notification)).all()
    assert [(n.user_id, n.kind) for n in bell] == [(users["staff_health"].id, "reply")]


def test_the_requester_has_no_status_buttons_and_cannot_send_one(auth, make_ticket):
    t = make_ticket()
    b = auth.login("staff_health")
    page = b.get(f"/tickets/{t.number}").get_data(as_text=True)
    assert 'name="then_status"' not in page
    r = b.post(f"/tickets/{t.number}/reply", {"body": "解決にしたい", "then_status": "resolved"})
    assert r.status_code == 400 and "この相談を変更する権限がありません。" in r.get_data(as_text=True)
    assert b.post(f"/tickets/{t.number}/reply", {"body": "x", "then_status": "closed"}).status_code == 400
    db.session.expire_all()
    assert db.session.get(Ticket, t.id).status == "new"
    assert db.session.scalars(select(Message)).all() == []


def test_a_reply_and_status_from_an_out_of_date_page_keeps_the_text_and_sends_nothing(
    app, auth, make_ticket, users, clock, store, limits
):
    t = make_ticket()
    tickets.claim_ticket(db.session, users["agent"], clock.now(), t)
    db.session.commit()
    b = auth.login("agent")
    page = stamp(b.get(f"/tickets/{t.number}").get_data(as_text=True))
    tickets.add_reply(db.session, users["staff_health"], clock.now(), t, "やはり別の件も", [], store, limits)
    db.session.commit()

    r = b.post(f"/tickets/{t.number}/reply", {"body": "これで解決です", "then_status": "resolved", **page})

    assert r.status_code == 409
    html = r.get_data(as_text=True)
    assert "このページを開いた後に、この相談は変更されました" in html and "これで解決です</textarea>" in html
    db.session.expire_all()
    assert db.session.get(Ticket, t.id).status == "assigned"
    assert [m.body for m in db.session.scalars(select(Message))] == ["やはり別の件も"]
