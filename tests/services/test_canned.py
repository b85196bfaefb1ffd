"""Canned replies: who keeps which, what a reply box offers, placeholders, and the use count."""

import pytest
from sqlalchemy import select

from swat.domain.errors import Forbidden, NotFound, ValidationError
from swat.extensions import db
from swat.models import CannedReply
from swat.services import canned, tickets


def save(users, clock, who, **kw):
    values = {"reply_id": None, "title": "お礼", "body": "ありがとうございます。", "shared": False, "theme_id": None}
    values.update(kw)
    reply = canned.save(db.session, users[who], clock.now(), **values)
    db.session.commit()
    return reply


def test_the_lead_keeps_shared_ones_and_each_member_their_own(users, clock):
    shared = save(users, clock, "lead", title="受付の連絡", shared=True)
    own = save(users, clock, "agent", title="自分の締め")
    with pytest.raises(Forbidden):
        canned.save(
            db.session, users["agent"], clock.now(), reply_id=None, title="x", body="y", shared=True, theme_id=None
        )
    with pytest.raises(Forbidden):
        canned.save(
            db.session, users["agent"], clock.now(), reply_id=shared.id, title="x", body="y", shared=True, theme_id=None
        )
    with pytest.raises(NotFound):  # another member's own reply is as if it did not exist
        canned.delete(db.session, users["agent2"], own.id)
    with pytest.raises(Forbidden):
        canned.listing(db.session, users["staff_health"])
    assert [r.title for r in canned.listing(db.session, users["agent"])] == ["受付の連絡", "自分の締め"]
    assert [r.title for r in canned.listing(db.session, users["agent2"])] == ["受付の連絡"]


def test_an_unknown_placeholder_is_refused_and_names_the_ones_there_are(users, clock):
    with pytest.raises(ValidationError) as refused:
        save(users, clock, "agent", body="{相談者}様 {部署名} について")
    assert refused.value.field == "body" and refused.value.params["found"] == "{部署名}"
    assert "{相談者}" in refused.value.params["known"] and "{回答希望日}" in refused.value.params["known"]
    assert db.session.scalars(select(CannedReply)).all() == []


def test_a_reply_box_offers_the_tickets_theme_and_fills_in_its_placeholders(make_ticket, users, clock):
    from datetime import date

    t = make_ticket(theme="telework", due_date=date(2026, 12, 10))
    tickets.claim_ticket(db.session, users["agent2"], clock.now(), t)
    db.session.commit()
    save(
        users,
        clock,
        "lead",
        title="テレワーク案内",
        shared=True,
        theme_id="telework",
        body="{相談者}様\n{番号}「{件名}」の件、{担当者}が{回答希望日}までに回答します（{today}）。",
    )
    save(users, clock, "lead", title="医療向け", shared=True, theme_id="healthcare")
    save(users, clock, "agent", title="agentの", body="{requester}")
    save(users, clock, "agent2", title="共通の締め")

    got = canned.offered(db.session, users["agent2"], t, clock.now(), "Staff Health", "Agent2")

    assert [o.title for o in got] == ["テレワーク案内", "共通の締め"]  # its theme first; not others' own
    assert got[0].text == (
        f"Staff Health様\n{t.number}「{t.title}」の件、Agent2が2026年12月10日までに回答します（2026年11月25日）。"
    )
    assert canned.offered(db.session, users["staff_health"], t, clock.now(), "x", "y") == []


def test_uses_count_once_per_reply_and_only_what_the_sender_may_use(users, clock):
    shared = save(users, clock, "lead", title="共有", shared=True)
    other = save(users, clock, "agent2", title="他人の")
    canned.count_uses(db.session, users["agent"], [shared.id, shared.id, other.id])
    canned.count_uses(db.session, users["agent2"], [shared.id])
    db.session.commit()
    db.session.expire_all()
    assert (db.session.get(CannedReply, shared.id).uses, db.session.get(CannedReply, other.id).uses) == (2, 0)
