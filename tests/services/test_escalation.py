"""Warnings and escalations along the governance chain, each exactly once."""

import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from swat.domain.errors import NotFound, ValidationError
from swat.extensions import db
from swat.models import Escalation, Notification, OutboxMessage, SlaEvent, User
from swat.services import accounts, escalation, tickets

JST = ZoneInfo("Asia/Tokyo")


def at(text):
    return datetime.fromisoformat(text).replace(tzinfo=JST)


def fired():
    return sorted((e.target, e.level) for e in db.session.scalars(select(Escalation)))


def told(user):
    return [
        (n.kind, n.params)
        for n in db.session.scalars(
            select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
        )
    ]


@pytest.fixture
def cio(ctx, clock):
    u = accounts.create_user(
        db.session,
        clock.now(),
        username="cio",
        password="long password 1",
        role="manager",
        department_id=None,
        display_name="CIO",
        email="cio@example.jp",
        hash_method="pbkdf2:sha256:1000",
    )
    db.session.commit()
    return u


@pytest.fixture
def urgent(make_ticket, users, clock):
    """Filed Wednesday 10:00; first response due in 60 business minutes; claimed by agent."""
    clock.set(at("2026-11-25T10:00"))
    t = make_ticket(priority="urgent")
    tickets.claim_ticket(db.session, users["agent"], clock.now(), t)
    db.session.commit()
    return t


def sweep(when, clock):
    clock.set(at(when))
    result = escalation.sweep(db.session, clock.now())
    db.session.commit()
    return result


def test_warning_breach_and_cio_each_fire_once(urgent, users, cio, clock):
    assert sweep("2026-11-25T10:44", clock).fired == 0
    assert sweep("2026-11-25T10:45", clock).fired == 1  # 75 % of 60 minutes
    assert fired() == [("first_response", 1)]
    assert [k for k, _ in told(users["agent"])] == ["escalation"]  # the assignee is warned
    assert sweep("2026-11-25T10:50", clock).fired == 0
    assert sweep("2026-11-25T11:00", clock).fired == 1  # breached: the lead is told
    assert [k for k, _ in told(users["lead"])] == ["escalation"]
    assert sweep("2026-11-25T12:00", clock).fired == 1  # twice the target: the CIO
    assert [k for k, _ in told(cio)] == ["escalation"]
    assert fired() == [("first_response", 1), ("first_response", 2), ("first_response", 3)]
    assert sweep("2026-11-25T12:01", clock).fired == 0
    kinds = [
        e.kind
        for e in db.session.scalars(select(SlaEvent).where(SlaEvent.ticket_id == urgent.id).order_by(SlaEvent.id))
    ]
    assert kinds[-3:] == ["warned", "breached", "escalated"]
    # e-mail for those with an address, through the outbox
    assert (
        db.session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.recipient == "cio@example.jp")
        )
        == 1
    )


def test_nothing_fires_while_paused_or_after_the_answer(urgent, users, clock, store, limits):
    clock.set(at("2026-11-25T10:30"))
    tickets.add_reply(db.session, users["agent"], clock.now(), urgent, "回答", [], store, limits)
    db.session.commit()
    sweep("2026-11-25T17:00", clock)
    assert ("first_response", 1) not in fired()


def test_business_hours_only(urgent, clock):
    clock.set(at("2026-11-25T10:00"))
    sweep("2026-11-25T20:00", clock)  # evening: 465 business minutes have passed, not 600
    # first response (60) is past twice its target; resolution (525) only past its 75 % mark
    assert fired() == [("first_response", 1), ("first_response", 2), ("first_response", 3), ("resolution", 1)]


def test_unacknowledged_escalations_are_told_again_until_acknowledged(urgent, users, clock):
    sweep("2026-11-25T11:00", clock)
    lead_before = len(told(users["lead"]))
    assert sweep("2026-11-25T12:59", clock).renotified == 0
    assert sweep("2026-11-25T13:00", clock).renotified >= 1  # 120 minutes later
    assert len(told(users["lead"])) > lead_before
    esc = db.session.scalar(select(Escalation).where(Escalation.level == 2))
    with pytest.raises(NotFound):  # not theirs: answered as if it did not exist
        escalation.acknowledge(db.session, users["staff_health"], clock.now(), esc.id, "見ました")
    escalation.acknowledge(db.session, users["lead"], clock.now(), esc.id, "対応を指示しました")
    db.session.commit()
    with pytest.raises(ValidationError):
        escalation.acknowledge(db.session, users["lead"], clock.now(), esc.id, "again")
    count = len(told(users["lead"]))
    sweep("2026-11-25T16:00", clock)
    assert len(told(users["lead"])) == count
    esc = db.session.get(Escalation, esc.id)
    assert (esc.acknowledged_by_id, esc.remark) == (users["lead"].id, "対応を指示しました")


def test_two_schedulers_at_once_fire_each_level_once(app, urgent, users, cio, clock):
    clock.set(at("2026-11-25T12:00"))
    db.session.commit()
    barrier = threading.Barrier(2)
    errors = []

    def run():
        with app.app_context():
            try:
                barrier.wait()
                escalation.sweep(db.session, clock.now())
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
    db.session.expire_all()
    assert fired() == [("first_response", 1), ("first_response", 2), ("first_response", 3)]
    assert len(told(users["agent"])) == 1 and len(told(users["lead"])) == 1 and len(told(cio)) == 1


def test_muted_kinds_and_channels_are_respected(urgent, users, clock):
    lead = db.session.get(User, users["lead"].id)
    lead.muted_kinds = "escalation"
    db.session.commit()
    sweep("2026-11-25T11:00", clock)
    assert told(users["lead"]) == []


def test_a_department_scoped_manager_is_never_told_of_other_departments(urgent, users, clock):
    """The CIO step falls back to desk-wide managers, never to a department head who cannot
    open the ticket (SECURITY.md: one department seeing another's data)."""
    scoped = accounts.create_user(
        db.session,
        clock.now(),
        username="welfare-head",
        password="long password 1",
        role="manager",
        department_id="welfare",
        hash_method="pbkdf2:sha256:1000",
    )
    db.session.commit()
    sweep("2026-11-25T12:00", clock)  # twice the target: the CIO step
    assert told(scoped) == []
    assert [k for k, _ in told(users["manager"])].count("escalation") >= 1


def test_a_level_never_fires_to_nobody(urgent, users, clock):
    agent = db.session.get(User, users["agent"].id)
    agent.active = False  # the assignee left
    db.session.commit()
    sweep("2026-11-25T10:45", clock)
    assert [k for k, _ in told(users["lead"])] == ["escalation"]  # the warning went up the chain


def test_acknowledging_reads_the_alerts_of_that_escalation_only(urgent, users, clock):
    sweep("2026-11-25T11:00", clock)
    levels = {e.level: e.id for e in db.session.scalars(select(Escalation))}
    assert {1, 2} <= set(levels)

    def unread(user, escalation_id):
        return db.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(
                Notification.user_id == user.id,
                Notification.escalation_id == escalation_id,
                Notification.read_at.is_(None),
            )
        )

    # The warning went to the assignee, the breach to the lead.
    assert unread(users["lead"], levels[2]) == 1 and unread(users["agent"], levels[1]) == 1
    escalation.acknowledge(db.session, users["lead"], clock.now(), levels[2], "確認しました")
    db.session.commit()
    assert unread(users["lead"], levels[2]) == 0
    assert unread(users["agent"], levels[1]) == 1  # someone else's alert of another level stays


def test_one_sweep_sends_each_recipient_one_digest_and_the_chat_one_post(
    app, make_ticket, users, cio, clock, monkeypatch
):
    """Many consultations late at once: one e-mail per recipient and one chat post for the
    sweep, each listing every ticket; the bell keeps one entry per ticket and level."""
    monkeypatch.setitem(app.config["SWAT"], "webhook_url", "http://127.0.0.1:9/hook")
    lead = db.session.get(User, users["lead"].id)
    lead.email = "lead@example.jp"
    clock.set(at("2026-11-25T10:00"))
    late = [make_ticket(title=f"至急の相談{i}", priority="urgent") for i in range(6)]
    db.session.commit()

    sweep("2026-11-25T12:30", clock)  # every first response 90 minutes over (level 3: the CIO too)

    mail = db.session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "email")).all()
    assert sorted(m.recipient for m in mail) == ["cio@example.jp", "lead@example.jp"]
    assert {m.kind for m in mail} == {"escalation_digest"}
    import json

    to_lead = json.loads(next(m.params for m in mail if m.recipient == "lead@example.jp"))
    assert {i["number"] for i in to_lead["items"]} == {t.number for t in late}
    assert to_lead["count"] == len(late) <= len(to_lead["items"])  # consultations, each maybe at two levels
    assert all(i["used"] - i["target_minutes"] == 90 and i["assignee"] == "" for i in to_lead["items"])
    chat = db.session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "webhook")).all()
    assert len(chat) == 1 and chat[0].kind == "escalation_digest"
    bell = [p for k, p in told(users["lead"]) if k == "escalation"]
    assert len(bell) == len(to_lead["items"])  # one per ticket and level, not one per sweep

    # The next sweep with nothing new sends nothing more.
    sweep("2026-11-25T12:31", clock)
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == len(mail) + len(chat)
