"""Held mail through the pages: the lead files it for a department, adds it to a consultation
or discards it; nobody else opens the list; a second lead acting on the same mail is told."""

import html as html_lib

from sqlalchemy import select

from swat.extensions import db
from swat.models import Attachment, InboundMail, Message, Notification, Ticket
from swat.services.mail_intake import IntakeSettings, ingest
from tests.services.test_mail_intake import mail

CONFIG = IntakeSettings(domain="pref.example.jp", max_bytes=2_000_000, max_per_hour=30)


def held(clock, store, limits, **kw) -> InboundMail:
    raw = mail(
        sender="stranger@example.com",
        name="外部 太郎",
        subject="保健所からの転送です",
        body=kw.pop("body", "発熱外来の予約システムについて相談したいです。"),
        files=[("接種予定者一覧.xlsx", b"PK\x03\x04 sheet", "application/vnd.ms-excel")],
        **kw,
    )
    outcome = ingest(db.session, raw, clock.now(), store=store, limits=limits, config=CONFIG)
    db.session.commit()
    assert outcome.status == "held"
    return db.session.get(InboundMail, outcome.inbound_id)


def text(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


def test_the_lead_sees_why_and_files_it_for_a_staff_member(auth, users, clock, store, limits):
    row = held(clock, store, limits)
    b = auth.login("lead")
    page = text(b.get("/mail/held"))
    assert "保健所からの転送です" in page and "送信者はこの窓口のアカウントを持っていません" in page
    one = text(b.get(f"/mail/held/{row.id}"))
    assert "発熱外来の予約システムについて相談したいです。" in one and "接種予定者一覧.xlsx" in one
    r = b.post(f"/mail/held/{row.id}/file", {"requester": ""})
    assert r.status_code == 400 and "相談を登録する部局職員を選んでください。" in text(r)
    r = b.post(f"/mail/held/{row.id}/file", {"requester": str(users["staff_health"].id)})
    assert r.status_code == 302
    ticket = db.session.scalars(select(Ticket)).one()
    assert (ticket.department_id, ticket.requester_id, ticket.title) == (
        "health-medical",
        users["staff_health"].id,
        "保健所からの転送です",
    )
    names = set(db.session.scalars(select(Attachment.filename).where(Attachment.ticket_id == ticket.id)))
    assert names == {"接種予定者一覧.xlsx", "original.eml"}
    assert f"{ticket.number}として登録しました" in text(b.get("/mail/held"))
    # Dealt with: gone from the list, and a second action is refused with words.
    assert "保健所からの転送です" not in text(b.get("/mail/held")).split("</h1>", 1)[1].split("<footer", 1)[0]
    # A second lead acting from a page opened before: told, nothing changes.
    r = b.post(f"/mail/held/{row.id}/discard", {})
    assert r.status_code == 302
    assert "このメールは既に他の人が処理しました。" in text(b.get("/mail/held"))
    db.session.refresh(row)
    assert row.status == "filed"


def test_adding_it_to_a_consultation_makes_an_internal_note(auth, users, clock, store, limits, make_ticket):
    ticket = make_ticket()
    row = held(clock, store, limits, message_id="<attach@example.com>", body="発熱外来の予約システム @lead さんへ")
    b = auth.login("lead")
    r = b.post(f"/mail/held/{row.id}/attach", {"number": "2026-99999"})
    assert r.status_code == 400 and "相談 2026-99999 はありません。" in text(r)
    r = b.post(f"/mail/held/{row.id}/attach", {"number": ticket.number})
    assert r.status_code == 302
    note = db.session.scalars(select(Message).where(Message.ticket_id == ticket.id)).one()
    assert note.internal is True and "発熱外来の予約システム" in note.body
    assert note.body.startswith("From: 外部 太郎 <stranger@example.com>")
    # An outsider's @name tells nobody.
    assert db.session.scalars(select(Notification).where(Notification.kind == "mention")).all() == []
    # The requester sees nothing of it.
    page = text(auth.login("staff_health").get(f"/tickets/{ticket.number}"))
    assert "発熱外来の予約システム" not in page and "original.eml" not in page


def test_discarding_and_who_may_open_the_list(auth, users, clock, store, limits):
    row = held(clock, store, limits, message_id="<discard@example.com>")
    for who in ("staff_health", "agent", "manager"):
        b = auth.login(who)
        assert b.get("/mail/held").status_code == 403
        assert b.get(f"/mail/held/{row.id}").status_code == 403
        for action in ("file", "attach", "discard"):
            assert b.post(f"/mail/held/{row.id}/{action}", {"requester": "1", "number": "x"}).status_code == 403
    db.session.refresh(row)
    assert row.status == "held"
    b = auth.login("admin")
    assert b.post(f"/mail/held/{row.id}/discard", {}).status_code == 302
    db.session.refresh(row)
    assert (row.status, row.reviewed_by_id) == ("discarded", users["admin"].id)
    assert "確認待ちのメールはありません。" in text(b.get("/mail/held"))


def test_a_held_mail_over_the_limits_is_filed_with_the_files_that_fit(auth, users, clock, store, limits):
    files = [(f"資料{i}.txt", b"x", "text/plain") for i in range(limits.max_files + 2)]
    raw = mail(sender="stranger@example.com", name="", subject="資料が多い", files=files)
    row = db.session.get(
        InboundMail,
        ingest(db.session, raw, clock.now(), store=store, limits=limits, config=CONFIG).inbound_id,
    )
    db.session.commit()
    b = auth.login("lead")
    assert "2件のファイルが投稿の上限を超えているため" in text(b.get(f"/mail/held/{row.id}"))
    assert b.post(f"/mail/held/{row.id}/file", {"requester": str(users["staff_health"].id)}).status_code == 302
    ticket = db.session.scalars(select(Ticket)).one()
    names = db.session.scalars(select(Attachment.filename).where(Attachment.ticket_id == ticket.id)).all()
    assert sorted(names) == sorted([f"資料{i}.txt" for i in range(limits.max_files)] + ["original.eml"])
