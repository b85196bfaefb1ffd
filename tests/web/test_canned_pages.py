"""Canned replies through the pages: kept on /canned, inserted from the reply box (with or
without script), sent with a status change, counted."""

import html as html_lib
import re

from sqlalchemy import select

from swat.extensions import db
from swat.models import CannedReply, Message, Ticket
from swat.services import canned, tickets
from tests.web.test_conflicts import stamp


def test_a_member_keeps_their_own_and_a_bad_placeholder_is_explained(auth):
    b = auth.login("agent")
    page = b.get("/canned").get_data(as_text=True)
    assert "定型文を追加" in page and 'name="shared"' not in page  # sharing is the lead's
    r = b.post("/canned", {"title": "締め", "body": "{相談者}様 {部署} よろしくお願いします。", "theme": ""})
    assert r.status_code == 400
    text = html_lib.unescape(r.get_data(as_text=True))
    assert "使えない差し込み項目です：{部署}。" in text and 'aria-invalid="true"' in text
    assert "{部署} よろしくお願いします。" in text  # what was typed is kept
    r = b.post("/canned", {"title": "締め", "body": "{相談者}様 よろしくお願いします。", "theme": "", "shared": "y"})
    assert "共有の定型文を管理できるのはSWAT班長のみです。" in r.get_data(as_text=True)
    assert (
        b.post("/canned", {"title": "締め", "body": "{相談者}様 よろしくお願いします。", "theme": ""}).status_code
        == 302
    )
    assert "締め" in b.get("/canned").get_data(as_text=True)
    assert auth.login("staff_health").get("/canned").status_code == 403


def test_inserted_without_script_sent_with_a_status_and_counted(auth, make_ticket, users, clock):
    t = make_ticket()
    tickets.claim_ticket(db.session, users["agent"], clock.now(), t)
    reply = canned.save(
        db.session,
        users["lead"],
        clock.now(),
        reply_id=None,
        title="追加情報のお願い",
        body="{相談者}様\n{番号}について、利用人数を教えてください。",
        shared=True,
        theme_id=None,
    )
    db.session.commit()
    b = auth.login("agent")
    page = b.get(f"/tickets/{t.number}").get_data(as_text=True)
    option = re.search(r'<option value="(\d+)" data-text="([^"]*)">追加情報のお願い</option>', page)
    assert (
        option
        and html_lib.unescape(option.group(2)) == f"Staff Health様\n{t.number}について、利用人数を教えてください。"
    )

    filled = b.get(f"/tickets/{t.number}?canned={reply.id}").get_data(as_text=True)
    box = re.search(r'<textarea id="body"[^>]*>\s*([^<]*)</textarea>', filled).group(1)
    assert html_lib.unescape(box) == f"Staff Health様\n{t.number}について、利用人数を教えてください。"
    assert f'name="canned_used" value="{reply.id}"' in filled

    r = b.post(
        f"/tickets/{t.number}/reply",
        {"body": html_lib.unescape(box), "canned_used": str(reply.id), "then_status": "waiting", **stamp(filled)},
    )
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Ticket, t.id).status == "waiting"
    assert db.session.scalars(select(Message.body)).all() == [
        f"Staff Health様\n{t.number}について、利用人数を教えてください。"
    ]
    assert db.session.get(CannedReply, reply.id).uses == 1
    lead = auth.login("lead").get("/canned").get_data(as_text=True)
    assert re.search(r'追加情報のお願い.*?<td class="num">1</td>', lead, re.S)


def test_a_requester_is_offered_nothing_and_a_bad_choice_is_a_bad_request(auth, make_ticket, users, clock):
    t = make_ticket()
    canned.save(
        db.session, users["lead"], clock.now(), reply_id=None, title="共有", body="x", shared=True, theme_id=None
    )
    db.session.commit()
    staff = auth.login("staff_health")
    assert "canned-pick" not in staff.get(f"/tickets/{t.number}").get_data(as_text=True)
    agent = auth.login("agent")
    assert agent.get(f"/tickets/{t.number}?canned=x").status_code == 400
    assert agent.get(f"/tickets/{t.number}?canned=999").status_code == 200  # not one of its own: nothing inserted
