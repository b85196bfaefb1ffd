"""The bell, acknowledging an escalation, and choosing what to be told."""

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from swat.extensions import db
from swat.models import Escalation, Notification, OutboxMessage, User
from swat.services import escalation, tickets

JST = ZoneInfo("Asia/Tokyo")


def test_requester_sees_the_reply_in_the_bell(make_ticket, users, clock, store, limits, auth, browser):
    t = make_ticket()
    tickets.claim_ticket(db.session, users["agent"], clock.now(), t)
    tickets.add_reply(db.session, users["agent"], clock.now(), t, "回答します", [], store, limits)
    db.session.commit()
    auth.login("staff_health")
    html = browser.get("/consultations").get_data(as_text=True)
    assert "未読1件" in html
    page = browser.get("/notifications").get_data(as_text=True)
    assert f"{t.number}: SWATチームから回答がありました" in page
    browser.post("/notifications/read")
    assert "未読" not in browser.get("/consultations").get_data(as_text=True)
    # colleagues of the same department are not told of someone else's consultation
    assert db.session.scalars(select(Notification).where(Notification.user_id == users["staff_health2"].id)).all() == []


def test_lead_acknowledges_an_escalation_from_the_bell(make_ticket, users, clock, auth, browser):
    clock.set(datetime(2026, 11, 25, 10, 0, tzinfo=JST))
    t = make_ticket(priority="urgent")
    db.session.commit()
    clock.set(datetime(2026, 11, 25, 11, 0, tzinfo=JST))
    escalation.sweep(db.session, clock.now())
    db.session.commit()
    auth.login("lead")
    page = browser.get("/notifications").get_data(as_text=True)
    assert f"{t.number}：初回回答の期限を超過しました" in page
    esc = db.session.scalar(select(Escalation).where(Escalation.level == 2))
    r = browser.post(f"/escalations/{esc.id}/acknowledge", {"remark": "担当に連絡済み"})
    assert r.status_code == 302
    assert "担当に連絡済み" in browser.get("/notifications").get_data(as_text=True)
    browser.logout()
    auth.login("staff_health")
    assert browser.post(f"/escalations/{esc.id}/acknowledge", {"remark": "x"}).status_code == 404
    db.session.expire_all()
    assert db.session.get(Escalation, esc.id).acknowledged_by_id == users["lead"].id


def test_preferences_choose_channels_and_kinds(make_ticket, users, clock, store, limits, auth, browser):
    u = db.session.get(User, users["staff_health"].id)
    u.email = "kenko@pref.example.jp"
    db.session.commit()
    auth.login("staff_health")
    r = browser.post("/settings/notifications", {"inapp": "y", "kinds": ["reply"]})  # no e-mail; replies only
    assert r.status_code == 302
    t = make_ticket()
    tickets.claim_ticket(db.session, users["agent"], clock.now(), t)
    tickets.add_reply(db.session, users["agent"], clock.now(), t, "回答", [], store, limits)
    tickets.change_status(db.session, users["agent"], clock.now(), t, "in_progress")
    db.session.commit()
    kinds = [
        n.kind for n in db.session.scalars(select(Notification).where(Notification.user_id == users["staff_health"].id))
    ]
    assert kinds == ["reply"]
    assert db.session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "email")).all() == []


def test_a_moved_requester_no_longer_hears_or_sees_their_old_departments_tickets(
    make_ticket, users, clock, store, limits, auth, browser
):
    from swat.services import accounts

    t = make_ticket()
    tickets.claim_ticket(db.session, users["agent"], clock.now(), t)
    tickets.add_reply(db.session, users["agent"], clock.now(), t, "回答", [], store, limits)
    db.session.commit()
    me = db.session.get(User, users["staff_health"].id)
    accounts.update_user(
        db.session,
        clock.now(),
        me,
        role="staff",
        display_name=me.display_name,
        department_id="welfare",
        theme_ids=[],
        active=True,
    )
    db.session.commit()
    tickets.change_status(db.session, users["agent"], clock.now(), t, "resolved")
    db.session.commit()
    kinds = [n.kind for n in db.session.scalars(select(Notification).where(Notification.user_id == me.id))]
    assert kinds == ["reply"]  # told before the move, not after
    auth.login("staff_health")
    page = browser.get("/notifications").get_data(as_text=True)
    assert t.number not in page and "未読" not in page


def test_claiming_a_ticket_takes_it_out_of_triage(make_ticket, users, clock):
    from swat.services import routing

    t = make_ticket(title="相談です", body="よろしくお願いします。")
    routing.route_new_ticket(db.session, t, clock.now(), auto_apply=True)
    db.session.commit()
    assert t.triage
    tickets.claim_ticket(db.session, users["agent"], clock.now(), t)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(type(t), t.id).triage is False


def test_preferences_refuse_a_kind_the_person_cannot_choose(users, auth, browser):
    auth.login("agent")
    r = browser.post("/settings/notifications", {"inapp": "y", "kinds": ["reply", "weekly_summary"]})
    assert r.status_code == 302
    assert "不明な通知の種類です：weekly_summary" in browser.get("/settings/notifications").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, users["agent"].id).muted_kinds == ""
