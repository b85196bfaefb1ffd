"""Nothing happens without the right person hearing of it: what the requester does reaches the
desk (the assignee, or the leads while nobody is assigned), and one action is one message."""

import io

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from swat import messages
from swat.domain.errors import Forbidden, InvalidTransition
from swat.extensions import db
from swat.models import Notification, OutboxMessage, TicketEvent
from swat.services import tickets
from swat.services.storage import Upload


def told(users):
    """Each notification as (who, what the bell says), oldest first."""
    names = {u.id: name for name, u in users.items()}
    rows = db.session.scalars(select(Notification).order_by(Notification.id))
    with force_locale("ja"):
        return [(names[n.user_id], messages.subject(n.kind, n.params)) for n in rows]


def forget():
    db.session.query(Notification).delete()
    db.session.query(OutboxMessage).delete()
    db.session.commit()


@pytest.fixture
def claimed(make_ticket, users, clock):
    t = make_ticket()
    tickets.claim_ticket(db.session, users["agent"], clock.now(), t)
    db.session.commit()
    forget()
    return t


def test_a_requester_reply_reaches_the_assignee_alone(claimed, users, clock, store, limits):
    tickets.add_reply(db.session, users["staff_health"], clock.now(), claimed, "追加の質問です", [], store, limits)
    db.session.commit()
    assert told(users) == [("agent", f"{claimed.number}: 相談者から返信がありました")]


def test_a_reply_with_a_file_while_waiting_is_one_message_that_says_both(claimed, users, clock, store, limits, app):
    tickets.change_status(db.session, users["agent"], clock.now(), claimed, "waiting")
    users["agent"].email = "agent@pref.example.jp"
    db.session.commit()
    forget()
    upload = Upload("回答資料.xlsx", io.BytesIO(b"data"))
    tickets.add_reply(
        db.session, users["staff_health"], clock.now(), claimed, "資料を付けます", [upload], store, limits
    )
    db.session.commit()

    assert told(users) == [("agent", f"{claimed.number}: 相談者から返信がありました（状態：対応中）")]
    mail = db.session.scalar(select(OutboxMessage).where(OutboxMessage.channel == "email"))
    assert mail.recipient == "agent@pref.example.jp"
    with force_locale("ja"):
        text = messages.body(mail.kind, mail.params, "https://desk.example/tickets/x")
    assert "相談者から返信がありました（状態：対応中）" in text and "回答資料.xlsx" in text and "Staff Health" in text


def test_while_nobody_is_assigned_the_leads_and_the_team_chat_hear_of_it(
    app, make_ticket, users, clock, store, limits, monkeypatch
):
    monkeypatch.setitem(app.config["SWAT"], "webhook_url", "http://127.0.0.1:9/hook")
    t = make_ticket()
    forget()
    tickets.add_reply(db.session, users["staff_health"], clock.now(), t, "急ぎです", [], store, limits)
    db.session.commit()
    assert told(users) == [("lead", f"{t.number}: 相談者から返信がありました")]
    chat = db.session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "webhook")).all()
    assert [m.kind for m in chat] == ["requester"]


def test_without_a_chat_webhook_nothing_is_queued_for_one(make_ticket, users, clock, store, limits):
    t = make_ticket()
    forget()
    tickets.add_reply(db.session, users["staff_health"], clock.now(), t, "急ぎです", [], store, limits)
    db.session.commit()
    assert told(users) == [("lead", f"{t.number}: 相談者から返信がありました")]
    assert db.session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "webhook")).all() == []


def test_reopening_and_closing_by_the_requester_reach_the_assignee(claimed, users, clock):
    tickets.change_status(db.session, users["agent"], clock.now(), claimed, "resolved")
    db.session.commit()
    forget()
    tickets.reopen_ticket(db.session, users["staff_health"], clock.now(), claimed)
    tickets.close_ticket(db.session, users["staff_health"], clock.now(), claimed)
    db.session.commit()
    assert told(users) == [
        ("agent", f"{claimed.number}: 相談者が相談を再開しました（状態：対応中）"),
        ("agent", f"{claimed.number}: 相談者が相談を完了しました"),
    ]


def test_a_desk_reply_that_sets_the_status_tells_the_requester_once_and_says_both(claimed, users, clock, store, limits):
    tickets.add_reply(
        db.session,
        users["agent"],
        clock.now(),
        claimed,
        "こちらで解決します",
        [],
        store,
        limits,
        then_status="resolved",
    )
    db.session.commit()

    assert told(users) == [("staff_health", f"{claimed.number}: SWATチームから回答がありました（状態：解決済）")]
    kinds = [e.kind for e in db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == claimed.id))]
    assert kinds[-2:] == ["replied", "status"] and claimed.status == "resolved"


def test_a_status_the_transitions_do_not_allow_sends_nothing(claimed, users, clock, store, limits):
    with pytest.raises(InvalidTransition):
        tickets.add_reply(db.session, users["agent"], clock.now(), claimed, "x", [], store, limits, then_status="new")
    db.session.rollback()
    assert told(users) == [] and claimed.status == "assigned"


def test_a_requester_cannot_set_the_status_with_a_reply(claimed, users, clock, store, limits):
    with pytest.raises(Forbidden):
        tickets.add_reply(
            db.session, users["staff_health"], clock.now(), claimed, "x", [], store, limits, then_status="resolved"
        )


def test_an_assignee_switched_off_hands_the_news_to_the_leads(claimed, users, clock, store, limits):
    users["agent"].active = False
    db.session.commit()
    tickets.add_reply(db.session, users["staff_health"], clock.now(), claimed, "まだですか", [], store, limits)
    db.session.commit()
    assert told(users) == [("lead", f"{claimed.number}: 相談者から返信がありました")]
